//! From the raw serde structs to a typed [`Config`], with the key path and line of every problem.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use saphyr_parser::Parser;
use url::Url;

use crate::plugin::FaultPolicy;

use super::client_keys::{self, ReservedName};
use super::line_index::{LineIndex, join_key};
use super::raw::{
    RawConfig, RawInstance, RawLimits, RawModel, RawOAuthClient, RawProviderKey, RawQuarantine,
    RawRouting,
};
use super::{
    ApiKeyEntry, CONFIG_API_KEY_TYPE, CONFIG_INLINE_NAME, CompatProtocol, Config, ConfigError,
    ConfigSource, ConfigWarning, CorsConfig, DEFAULT_CREDENTIAL_WEIGHT, InstanceConfig,
    LoadedConfig, MAX_CREDENTIAL_WEIGHT, ManagementConfig, ModelAlias, OnFault, OpenAiCompatConfig,
    PluginLimits, PluginsConfig, ProviderKeyConfig, ProxyUrl, RetryConfig, RoutingConfig,
    SESSION_STANDARD_TYPE, ServerConfig, SessionStoreConfig, Strategy, StreamingConfig, TlsConfig,
    UpstreamTimeouts, go_duration,
};
use super::{LogFormat, ServingMode};
use crate::client_address::TrustedProxies;
use crate::redis_store::StoreSecret;
use switchyard_oauth::{AuthMethod, ClientCredentials};

/// Default `routing.session-affinity-ttl`.
const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(3600);
/// Default `body-limit-mb`.
const DEFAULT_BODY_LIMIT_MB: u64 = 64;
/// The longest `server.*-timeout-ms`: one day.
const MAX_SERVER_TIMEOUT_MS: u64 = 86_400_000;
/// The largest `streaming.max-event-mib`.
const MAX_EVENT_MIB: u64 = 4096;
/// The longest duration any config key may give; longer ones are clamped with a warning, so
/// adding one to the current time can never overflow.
pub(super) const MAX_CONFIG_DURATION: Duration = Duration::from_secs(30 * 86_400);

/// Parses and validates `text`.
pub(super) fn validate(text: &str, source: ConfigSource) -> Result<LoadedConfig, ConfigError> {
    let mut ctx = Context {
        file: source
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "<inline>".to_owned()),
        lines: LineIndex::default(),
        warnings: Vec::new(),
    };
    check_syntax(text, &ctx.file)?;
    ctx.lines = LineIndex::build(text);
    let raw = ctx.deserialize(text)?;
    let config = ctx.build(raw, source)?;
    Ok(LoadedConfig {
        config,
        warnings: ctx.warnings,
    })
}

/// Rejects text that is not YAML, with the parser's line and column; `file` names the text in
/// the error.
pub(crate) fn check_syntax(text: &str, file: &str) -> Result<(), ConfigError> {
    for event in Parser::new_from_str(text) {
        if let Err(error) = event {
            return Err(ConfigError::Syntax {
                file: file.to_owned(),
                line: Some(error.marker().line()),
                // saphyr counts columns from 0.
                column: Some(error.marker().col() + 1),
                message: error.info().to_owned(),
            });
        }
    }
    Ok(())
}

struct Context {
    file: String,
    lines: LineIndex,
    warnings: Vec<ConfigWarning>,
}

impl Context {
    fn invalid(&self, key: &str, message: impl Into<String>) -> ConfigError {
        let position = self.lines.position_of(key);
        ConfigError::Invalid {
            file: self.file.clone(),
            line: position.map(|(line, _)| line),
            column: position.map(|(_, column)| column),
            key: key.to_owned(),
            message: message.into(),
        }
    }

    fn warn(&mut self, key: &str, message: impl Into<String>) {
        self.warnings.push(ConfigWarning {
            key: key.to_owned(),
            line: self.lines.line_of(key),
            message: message.into(),
        });
    }

    fn deserialize(&mut self, text: &str) -> Result<RawConfig, ConfigError> {
        let has_content = text.lines().any(|line| {
            let line = line.trim();
            !line.is_empty() && !line.starts_with('#') && line != "---"
        });
        if !has_content {
            return Ok(RawConfig::default());
        }
        let mut unknown = Vec::new();
        let yaml = serde_yaml_ng::Deserializer::from_str(text);
        let mut record = |path: serde_ignored::Path<'_>| unknown.push(ignored_path(&path));
        let tracked = serde_ignored::Deserializer::new(yaml, &mut record);
        let raw = serde_path_to_error::deserialize(tracked).map_err(|error| {
            let key = error.path().to_string();
            let inner = error.into_inner();
            // serde_yaml_ng's location is 1-based.
            let (line, column) = match inner.location() {
                Some(at) => (Some(at.line()), Some(at.column())),
                None => {
                    let position = self.lines.position_of(&key);
                    (position.map(|p| p.0), position.map(|p| p.1))
                }
            };
            let message = inner.to_string();
            let message = match message.rfind(" at line ") {
                Some(cut) => message[..cut].to_owned(),
                None => message,
            };
            // serde_yaml_ng prefixes its own path; the key is reported separately.
            let message = message
                .strip_prefix(&format!("{key}: "))
                .map(str::to_owned)
                .unwrap_or(message);
            ConfigError::Invalid {
                file: self.file.clone(),
                line,
                column,
                key: if key == "." { String::new() } else { key },
                message,
            }
        })?;
        for key in unknown {
            self.warn(&key, "unknown key, ignored");
        }
        Ok(raw)
    }

    fn build(&mut self, raw: RawConfig, source: ConfigSource) -> Result<Config, ConfigError> {
        let dir = source.dir.clone();
        let plugins = self.plugins(&raw, &dir)?;
        let routing = self.routing(&raw, &plugins.limits)?;
        let (access_providers, api_keys) =
            self.access_providers(&raw, &normalize_keys(&raw.api_keys), &plugins.limits)?;
        let tls = self.tls(&raw, &dir)?;
        let body_limit_mb = raw.body_limit_mb.unwrap_or(DEFAULT_BODY_LIMIT_MB);
        if body_limit_mb == 0 || body_limit_mb > 4096 {
            return Err(self.invalid("body-limit-mb", "must be between 1 and 4096"));
        }
        let defaults = UpstreamTimeouts::default();
        let timeouts = &raw.upstream_timeouts;
        let upstream_timeouts = UpstreamTimeouts {
            connect: self.millis(
                "upstream-timeouts.connect-ms",
                timeouts.connect_ms,
                defaults.connect,
            )?,
            first_byte: self.millis(
                "upstream-timeouts.first-byte-ms",
                timeouts.first_byte_ms,
                defaults.first_byte,
            )?,
            idle: self.millis("upstream-timeouts.idle-ms", timeouts.idle_ms, defaults.idle)?,
        };
        let server = self.server(&raw)?;
        let max_event_bytes = match raw.streaming.max_event_mib {
            None => Some((super::DEFAULT_MAX_EVENT_MIB << 20) as usize),
            Some(0) => None,
            Some(mib) if mib > MAX_EVENT_MIB => {
                return Err(self.invalid(
                    "streaming.max-event-mib",
                    format!("must be at most {MAX_EVENT_MIB} (0 disables the limit)"),
                ));
            }
            Some(mib) => Some((mib << 20) as usize),
        };
        let mut claude_keys = Vec::new();
        let mut codex_keys = Vec::new();
        let mut gemini_keys = Vec::new();
        for (list, entries, out) in [
            ("claude-api-key", &raw.claude_api_key, &mut claude_keys),
            ("codex-api-key", &raw.codex_api_key, &mut codex_keys),
            ("gemini-api-key", &raw.gemini_api_key, &mut gemini_keys),
        ] {
            for (i, entry) in entries.iter().enumerate() {
                let key = format!("{list}[{i}]");
                if let Some(entry) = self.provider_key(&key, entry)? {
                    out.push(entry);
                }
            }
        }
        let mut vertex_keys = Vec::new();
        for (i, entry) in raw.vertex_api_key.iter().enumerate() {
            let key = format!("vertex-api-key[{i}]");
            if let Some(entry) = self.vertex_key(&key, entry)? {
                vertex_keys.push(entry);
            }
        }
        let mut openai_compatibility = Vec::new();
        for (i, entry) in raw.openai_compatibility.iter().enumerate() {
            if let Some(entry) = self.openai_compat(&format!("openai-compatibility[{i}]"), entry)? {
                openai_compatibility.push(entry);
            }
        }
        Ok(Config {
            host: raw.host.trim().to_owned(),
            port: raw.port,
            tls,
            management: ManagementConfig {
                allow_remote: raw.remote_management.allow_remote,
                secret_key: raw.remote_management.secret_key.trim().to_owned(),
                disable_control_panel: raw.remote_management.disable_control_panel,
            },
            auth_dir: resolve_path(&dir, &raw.auth_dir, "auths"),
            api_keys,
            debug: raw.debug,
            log_format: LogFormat::parse(&raw.log_format).ok_or_else(|| {
                self.invalid(
                    "log-format",
                    format!("unknown format {:?} (use text or json)", raw.log_format),
                )
            })?,
            usage_statistics_enabled: raw.usage_statistics_enabled,
            proxy_url: self.proxy_url("proxy-url", &raw.proxy_url)?,
            passthrough_headers: raw.passthrough_headers,
            retry: RetryConfig {
                request_retry: clamp_count(raw.request_retry),
                max_retry_credentials: clamp_count(raw.max_retry_credentials),
                max_retry_interval: self.at_most_max_duration(
                    "max-retry-interval",
                    Duration::from_secs(raw.max_retry_interval.max(0) as u64),
                ),
                max_cooldowns_per_request: self.count(
                    "max-cooldowns-per-request",
                    raw.max_cooldowns_per_request,
                    super::DEFAULT_MAX_COOLDOWNS_PER_REQUEST,
                )?,
            },
            disable_cooling: raw.disable_cooling,
            routing,
            streaming: StreamingConfig {
                keepalive: (raw.streaming.keepalive_seconds > 0).then(|| {
                    self.at_most_max_duration(
                        "streaming.keepalive-seconds",
                        Duration::from_secs(raw.streaming.keepalive_seconds as u64),
                    )
                }),
                bootstrap_retries: self.bootstrap_retries(raw.streaming.bootstrap_retries),
                max_event_bytes,
            },
            claude_keys,
            codex_keys,
            gemini_keys,
            vertex_keys,
            openai_compatibility,
            access_providers,
            allow_unauthenticated: raw.allow_unauthenticated,
            plugins,
            body_limit_bytes: (body_limit_mb << 20) as usize,
            upstream_timeouts,
            cors: CorsConfig {
                allow_origins: raw
                    .cors
                    .allow_origins
                    .iter()
                    .map(|o| o.trim().trim_end_matches('/').to_owned())
                    .filter(|o| !o.is_empty())
                    .collect(),
            },
            server,
            trusted_proxies: self.trusted_proxies(&raw.trusted_proxies)?,
            metrics_public: raw.metrics.public,
            source,
        })
    }

    /// `streaming.bootstrap-retries`: negative is 0 (off), more than
    /// [`super::MAX_BOOTSTRAP_RETRIES`] is that many, with a warning.
    fn bootstrap_retries(&mut self, value: i64) -> u32 {
        let max = super::MAX_BOOTSTRAP_RETRIES;
        if value > i64::from(max) {
            self.warn(
                "streaming.bootstrap-retries",
                format!("{value} is more than the {max} allowed, using {max}"),
            );
            return max;
        }
        clamp_count(value)
    }

    /// `trusted-proxies`: each entry an address or CIDR block.
    fn trusted_proxies(&self, entries: &[String]) -> Result<TrustedProxies, ConfigError> {
        for (i, entry) in entries.iter().enumerate() {
            if let Err(error) = TrustedProxies::parse([entry.as_str()]) {
                return Err(self.invalid(&format!("trusted-proxies[{i}]"), error.to_string()));
            }
        }
        TrustedProxies::parse(entries.iter().map(String::as_str))
            .map_err(|error| self.invalid("trusted-proxies", error.to_string()))
    }

    /// `server.*`: each key absent keeps its default, `0` disables its limit.
    fn server(&self, raw: &RawConfig) -> Result<ServerConfig, ConfigError> {
        let defaults = ServerConfig::default();
        let server = &raw.server;
        let timeout = |key: &str, value: Option<u64>, default: Option<Duration>| match value {
            None => Ok(default),
            Some(0) => Ok(None),
            Some(ms) if ms > MAX_SERVER_TIMEOUT_MS => Err(self.invalid(
                key,
                format!("must be at most {MAX_SERVER_TIMEOUT_MS} (one day; 0 disables it)"),
            )),
            Some(ms) => Ok(Some(Duration::from_millis(ms))),
        };
        let count = |value: Option<u64>, default: Option<usize>| match value {
            None => default,
            Some(0) => None,
            Some(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
        };
        Ok(ServerConfig {
            header_read_timeout: timeout(
                "server.header-read-timeout-ms",
                server.header_read_timeout_ms,
                defaults.header_read_timeout,
            )?,
            idle_timeout: timeout(
                "server.idle-timeout-ms",
                server.idle_timeout_ms,
                defaults.idle_timeout,
            )?,
            body_read_timeout: timeout(
                "server.body-read-timeout-ms",
                server.body_read_timeout_ms,
                defaults.body_read_timeout,
            )?,
            max_connections: count(server.max_connections, defaults.max_connections),
            max_connections_per_ip: count(
                server.max_connections_per_ip,
                defaults.max_connections_per_ip,
            ),
            runtime: self.serving_mode(server.runtime.as_deref())?,
        })
    }

    /// `server.runtime`; when absent, [`ServingMode::ENV`] when set, else per-core.
    fn serving_mode(&self, value: Option<&str>) -> Result<ServingMode, ConfigError> {
        let unknown =
            |text: &str| format!("unknown runtime {text:?} (use per-core or work-stealing)");
        match value {
            Some(text) => ServingMode::parse(text)
                .ok_or_else(|| self.invalid("server.runtime", unknown(text))),
            None => match std::env::var(ServingMode::ENV) {
                Ok(text) => ServingMode::parse(&text).ok_or_else(|| {
                    self.invalid(
                        "server.runtime",
                        format!("{}: {}", ServingMode::ENV, unknown(&text)),
                    )
                }),
                Err(_) => Ok(ServingMode::default()),
            },
        }
    }

    fn tls(&self, raw: &RawConfig, dir: &Path) -> Result<TlsConfig, ConfigError> {
        let tls = &raw.tls;
        if tls.enable {
            if tls.cert.trim().is_empty() {
                return Err(self.invalid("tls.cert", "required when tls.enable is true"));
            }
            if tls.key.trim().is_empty() {
                return Err(self.invalid("tls.key", "required when tls.enable is true"));
            }
        }
        Ok(TlsConfig {
            enable: tls.enable,
            cert: resolve_path(dir, &tls.cert, ""),
            key: resolve_path(dir, &tls.key, ""),
        })
    }

    fn plugins(&mut self, raw: &RawConfig, dir: &Path) -> Result<PluginsConfig, ConfigError> {
        let limits = self.limits(
            "plugins.limits",
            &raw.plugins.limits,
            &PluginLimits::default(),
        )?;
        let cache_dir = if raw.plugins.cache_dir.trim().is_empty() {
            default_cache_dir(dir)
        } else {
            resolve_path(dir, &raw.plugins.cache_dir, "")
        };
        let quarantine = self.quarantine(&raw.plugins.quarantine)?;
        let mut allow_override = Vec::new();
        for (i, kind) in raw.plugins.allow_override.iter().enumerate() {
            let kind = kind.trim();
            if ![CONFIG_API_KEY_TYPE, SESSION_STANDARD_TYPE].contains(&kind) {
                return Err(self.invalid(
                    &format!("plugins.allow-override[{i}]"),
                    format!(
                        "{kind:?} is not an embedded plugin type (expected {CONFIG_API_KEY_TYPE} or {SESSION_STANDARD_TYPE})"
                    ),
                ));
            }
            allow_override.push(kind.to_owned());
        }
        let max_file_bytes = match raw.plugins.max_file_mib {
            None => super::DEFAULT_MAX_PLUGIN_FILE_MIB << 20,
            Some(0) => return Err(self.invalid("plugins.max-file-mib", "must be > 0")),
            Some(mib) if mib > 4096 => {
                return Err(self.invalid("plugins.max-file-mib", "must be at most 4096"));
            }
            Some(mib) => mib << 20,
        };
        Ok(PluginsConfig {
            enabled: raw.plugins.enabled.unwrap_or(true),
            dir: resolve_path(dir, &raw.plugins.dir, "plugins"),
            cache_dir,
            limits,
            quarantine,
            allow_override,
            max_file_bytes,
        })
    }

    /// `plugins.quarantine.*`: each key absent keeps its default.
    fn quarantine(&self, raw: &RawQuarantine) -> Result<FaultPolicy, ConfigError> {
        let defaults = FaultPolicy::default();
        let positive = |key: &str, value: Option<u64>, default: u64| match value {
            None => Ok(default),
            Some(0) => Err(self.invalid(&format!("plugins.quarantine.{key}"), "must be > 0")),
            Some(n) if n > 1_000_000 => Err(self.invalid(
                &format!("plugins.quarantine.{key}"),
                "must be at most 1000000",
            )),
            Some(n) => Ok(n),
        };
        let fault_ratio_permille = match raw.fault_ratio {
            None => defaults.fault_ratio_permille,
            Some(ratio) if ratio > 0.0 && ratio <= 1.0 => ((ratio * 1000.0).round() as u32).max(1),
            Some(_) => {
                return Err(self.invalid(
                    "plugins.quarantine.fault-ratio",
                    "must be a number above 0 and at most 1",
                ));
            }
        };
        Ok(FaultPolicy {
            min_calls: positive("min-calls", raw.min_calls, defaults.min_calls as u64)? as usize,
            fault_ratio_permille,
            window: Duration::from_secs(positive(
                "window-s",
                raw.window_s,
                defaults.window.as_secs(),
            )?),
            quarantine: Duration::from_secs(positive(
                "duration-s",
                raw.duration_s,
                defaults.quarantine.as_secs(),
            )?),
            max_faults_per_address: positive(
                "max-faults-per-address",
                raw.max_faults_per_address,
                defaults.max_faults_per_address as u64,
            )? as usize,
        })
    }

    fn limits(
        &mut self,
        key: &str,
        raw: &RawLimits,
        defaults: &PluginLimits,
    ) -> Result<PluginLimits, ConfigError> {
        let deadline = match raw.deadline_ms {
            None => defaults.deadline,
            Some(0) => return Err(self.invalid(&format!("{key}.deadline-ms"), "must be > 0")),
            Some(ms) => {
                self.at_most_max_duration(&format!("{key}.deadline-ms"), Duration::from_millis(ms))
            }
        };
        let memory_bytes = match raw.memory_mib {
            None => defaults.memory_bytes,
            Some(0) => return Err(self.invalid(&format!("{key}.memory-mib"), "must be > 0")),
            Some(mib) if mib > 4096 => {
                return Err(self.invalid(&format!("{key}.memory-mib"), "must be at most 4096"));
            }
            Some(mib) => mib << 20,
        };
        let max_concurrency = match raw.max_concurrency {
            None => defaults.max_concurrency,
            Some(0) => {
                return Err(self.invalid(&format!("{key}.max-concurrency"), "must be > 0"));
            }
            Some(n) if n > 100_000 => {
                return Err(
                    self.invalid(&format!("{key}.max-concurrency"), "must be at most 100000")
                );
            }
            Some(n) => n as usize,
        };
        Ok(PluginLimits {
            deadline,
            memory_bytes,
            max_concurrency,
        })
    }

    fn routing(
        &mut self,
        raw: &RawConfig,
        limits: &PluginLimits,
    ) -> Result<RoutingConfig, ConfigError> {
        let routing = &raw.routing;
        // The reference's rule: a name it does not know is round-robin.
        let strategy = Strategy::parse(&routing.strategy).unwrap_or_else(|| {
            self.warn(
                "routing.strategy",
                format!(
                    "unknown strategy {:?}, using round-robin (expected round-robin, fill-first \
                     or weighted-round-robin)",
                    routing.strategy.trim()
                ),
            );
            Strategy::RoundRobin
        });
        if routing.claude_code_session_affinity {
            self.warn(
                "routing.claude-code-session-affinity",
                "deprecated: use routing.session-affinity",
            );
        }
        let ttl_text = routing.session_affinity_ttl.trim();
        let session_affinity_ttl = if ttl_text.is_empty() {
            DEFAULT_SESSION_TTL
        } else {
            match go_duration::parse(ttl_text) {
                Some(ttl) if !ttl.is_zero() => {
                    self.at_most_max_duration("routing.session-affinity-ttl", ttl)
                }
                _ => {
                    self.warn(
                        "routing.session-affinity-ttl",
                        format!("invalid duration {ttl_text:?}, using 1h"),
                    );
                    DEFAULT_SESSION_TTL
                }
            }
        };
        let session_extractors = match &routing.session_extractors {
            None => vec![InstanceConfig {
                name: SESSION_STANDARD_TYPE.to_owned(),
                kind: SESSION_STANDARD_TYPE.to_owned(),
                settings: serde_json::json!({}),
                limits: None,
                on_fault: OnFault::Deny,
            }],
            Some(list) => self.instances("routing.session-extractors", list, limits)?,
        };
        let store = routing.session_store.trim();
        let session_store = if store.is_empty() || store.eq_ignore_ascii_case("memory") {
            SessionStoreConfig::Memory
        } else if store.starts_with("redis://") || store.starts_with("rediss://") {
            Url::parse(store).map_err(|e| {
                self.invalid("routing.session-store", format!("invalid Redis URL: {e}"))
            })?;
            SessionStoreConfig::Redis(store.to_owned())
        } else {
            return Err(self.invalid(
                "routing.session-store",
                "expected memory or a redis:// / rediss:// URL",
            ));
        };
        let session_store_secret = self.session_store_secret(routing, &session_store)?;
        let session_affinity_max_bindings = self.bound(
            "routing.session-affinity-max-bindings",
            routing.session_affinity_max_bindings,
            crate::affinity::cache::DEFAULT_MAX_BINDINGS,
        )?;
        let max_tracked_models = self.bound(
            "routing.max-tracked-models",
            routing.max_tracked_models,
            crate::model::tracked::DEFAULT_MAX_TRACKED_MODELS,
        )?;
        Ok(RoutingConfig {
            strategy,
            session_affinity: routing.session_affinity || routing.claude_code_session_affinity,
            session_affinity_ttl,
            session_extractors,
            session_store,
            session_store_prefix: routing
                .session_store_prefix
                .clone()
                .unwrap_or_else(|| "switchyard:".to_owned()),
            session_store_secret,
            session_affinity_max_bindings,
            max_tracked_models,
        })
    }

    /// `routing.session-store-secret`: at least 16 characters when set; required for a Redis
    /// that is not on this host (a loopback address or `localhost`).
    fn session_store_secret(
        &self,
        routing: &RawRouting,
        store: &SessionStoreConfig,
    ) -> Result<StoreSecret, ConfigError> {
        const KEY: &str = "routing.session-store-secret";
        let secret = routing.session_store_secret.as_deref().unwrap_or("").trim();
        if !secret.is_empty() && secret.chars().count() < 16 {
            return Err(self.invalid(
                KEY,
                "must be at least 16 characters (e.g. `openssl rand -hex 32`)",
            ));
        }
        if let SessionStoreConfig::Redis(url) = store
            && secret.is_empty()
            && !redis_is_loopback(url)
        {
            return Err(self.invalid(
                KEY,
                "required when routing.session-store is a Redis that is not on this host \
                 (generate one with `openssl rand -hex 32`, the same on every replica)",
            ));
        }
        Ok(StoreSecret::new(secret))
    }

    /// A table bound: `default` when absent, else a positive count.
    fn bound(&self, key: &str, value: Option<u64>, default: usize) -> Result<usize, ConfigError> {
        match value {
            None => Ok(default),
            Some(0) => Err(self.invalid(key, "must be > 0")),
            Some(n) => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        }
    }

    /// `value`, or [`MAX_CONFIG_DURATION`] with a warning naming `key` when it is longer.
    fn at_most_max_duration(&mut self, key: &str, value: Duration) -> Duration {
        if value <= MAX_CONFIG_DURATION {
            return value;
        }
        self.warn(
            key,
            format!(
                "{} is longer than the 30 days allowed, using 30 days",
                go_duration::format_seconds(value.as_secs())
            ),
        );
        MAX_CONFIG_DURATION
    }

    /// `auth.providers` and the top-level `api-keys`, kept in sync (see `client_keys`): the
    /// chain, and the effective top-level list.
    fn access_providers(
        &mut self,
        raw: &RawConfig,
        api_keys: &[String],
        limits: &PluginLimits,
    ) -> Result<(Vec<InstanceConfig>, Vec<String>), ConfigError> {
        let mut chain = self.instances("auth.providers", &raw.auth.providers, limits)?;
        let synced = client_keys::sync(&mut chain, api_keys).map_err(|ReservedName(key)| {
            self.invalid(
                &key,
                format!(
                    "the name {CONFIG_INLINE_NAME} is reserved for the top-level api-keys (when no {CONFIG_API_KEY_TYPE} instance is listed)"
                ),
            )
        })?;
        for (key, message) in synced.warnings {
            self.warn(&key, message);
        }
        Ok((chain, synced.api_keys))
    }

    fn instances(
        &mut self,
        list: &str,
        raw: &[RawInstance],
        limits: &PluginLimits,
    ) -> Result<Vec<InstanceConfig>, ConfigError> {
        let mut names = HashSet::new();
        let mut out = Vec::with_capacity(raw.len());
        for (i, entry) in raw.iter().enumerate() {
            let key = format!("{list}[{i}]");
            let kind = entry.kind.trim();
            if kind.is_empty() {
                return Err(self.invalid(&join_key(&key, "type"), "required"));
            }
            let name = match entry.name.trim() {
                "" => kind.to_owned(),
                name => name.to_owned(),
            };
            if !names.insert(name.clone()) {
                return Err(self.invalid(
                    &join_key(&key, "name"),
                    format!("duplicate instance name {name:?}"),
                ));
            }
            let mut settings = entry
                .config
                .clone()
                .unwrap_or_else(|| serde_json::json!({}));
            if let Some(keys) = &entry.api_keys {
                if kind == CONFIG_API_KEY_TYPE {
                    if !settings.is_object() {
                        return Err(self.invalid(
                            &join_key(&key, "config"),
                            "must be a mapping when api-keys is given beside it",
                        ));
                    }
                    let mut merged = normalize_keys(keys);
                    merged.extend(settings_keys(&settings));
                    set_settings_keys(&mut settings, normalize_keys(&merged));
                } else {
                    self.warn(
                        &join_key(&key, "api-keys"),
                        format!("only {CONFIG_API_KEY_TYPE} instances take api-keys, ignored"),
                    );
                }
            }
            let limits = match &entry.limits {
                None => None,
                Some(own) => Some(self.limits(&join_key(&key, "limits"), own, limits)?),
            };
            let on_fault = match entry.on_fault.as_deref().map(str::trim) {
                None => OnFault::Deny,
                Some(_) if list != "auth.providers" => {
                    return Err(self.invalid(
                        &join_key(&key, "on-fault"),
                        "only auth.providers instances take on-fault (a session extractor that faults is always skipped)",
                    ));
                }
                Some("deny") => OnFault::Deny,
                Some("skip") => OnFault::Skip,
                Some(other) => {
                    return Err(self.invalid(
                        &join_key(&key, "on-fault"),
                        format!("unknown value {other:?} (expected deny or skip)"),
                    ));
                }
            };
            out.push(InstanceConfig {
                name,
                kind: kind.to_owned(),
                settings,
                limits,
                on_fault,
            });
        }
        Ok(out)
    }

    fn provider_key(
        &mut self,
        key: &str,
        raw: &RawProviderKey,
    ) -> Result<Option<ProviderKeyConfig>, ConfigError> {
        let api_key = raw.api_key.trim();
        let oauth = match &raw.oauth {
            None => None,
            Some(_) if !key.starts_with("codex-api-key[") => {
                return Err(self.invalid(
                    &join_key(key, "oauth"),
                    "only codex-api-key and openai-compatibility entries take oauth",
                ));
            }
            Some(_) if !api_key.is_empty() => {
                return Err(self.invalid(
                    &join_key(key, "oauth"),
                    "give either api-key or oauth, not both",
                ));
            }
            Some(oauth) => Some(self.oauth_client(&join_key(key, "oauth"), oauth)?),
        };
        if api_key.is_empty() && oauth.is_none() {
            self.warn(&join_key(key, "api-key"), "entry without api-key, ignored");
            return Ok(None);
        }
        Ok(Some(ProviderKeyConfig {
            api_key: api_key.to_owned(),
            oauth,
            base_url: self.base_url(&join_key(key, "base-url"), &raw.base_url)?,
            prefix: self.prefix(&join_key(key, "prefix"), &raw.prefix)?,
            headers: self.headers(&join_key(key, "headers"), &raw.headers)?,
            models: self.models(&join_key(key, "models"), &raw.models)?,
            excluded_models: normalize_patterns(&raw.excluded_models),
            priority: self.priority(&join_key(key, "priority"), raw.priority)?,
            weight: self
                .weight(&join_key(key, "weight"), raw.weight)?
                .unwrap_or(DEFAULT_CREDENTIAL_WEIGHT),
            proxy_url: self.proxy_url(&join_key(key, "proxy-url"), &raw.proxy_url)?,
        }))
    }

    /// A `vertex-api-key` entry: a provider key whose `base-url` is required (the reference
    /// has no default for it); an entry without one is warned about and ignored.
    fn vertex_key(
        &mut self,
        key: &str,
        raw: &RawProviderKey,
    ) -> Result<Option<ProviderKeyConfig>, ConfigError> {
        let Some(entry) = self.provider_key(key, raw)? else {
            return Ok(None);
        };
        if entry.base_url.is_none() {
            self.warn(
                &join_key(key, "base-url"),
                "entry without base-url, ignored",
            );
            return Ok(None);
        }
        if let Some(claude) = entry
            .models
            .iter()
            .find(|m| crate::credential::vertex::is_claude_model(&m.name))
        {
            self.warn(
                &join_key(key, "models"),
                format!(
                    "{:?}: a vertex-api-key entry reaches Gemini models only (Claude on Vertex takes a service account)",
                    claude.name
                ),
            );
        }
        Ok(Some(entry))
    }

    fn openai_compat(
        &mut self,
        key: &str,
        raw: &super::raw::RawOpenAiCompat,
    ) -> Result<Option<OpenAiCompatConfig>, ConfigError> {
        let name = raw.name.trim();
        if name.is_empty() {
            return Err(self.invalid(&join_key(key, "name"), "required"));
        }
        let Some(base_url) = self.base_url(&join_key(key, "base-url"), &raw.base_url)? else {
            self.warn(
                &join_key(key, "base-url"),
                "entry without base-url, ignored",
            );
            return Ok(None);
        };
        let mut api_key_entries = Vec::new();
        for (i, entry) in raw.api_key_entries.iter().enumerate() {
            let entry_key = format!("{key}.api-key-entries[{i}]");
            let api_key = entry.api_key.trim();
            if api_key.is_empty() {
                self.warn(&join_key(&entry_key, "api-key"), "empty api-key, ignored");
                continue;
            }
            api_key_entries.push(ApiKeyEntry {
                api_key: api_key.to_owned(),
                proxy_url: self.proxy_url(&join_key(&entry_key, "proxy-url"), &entry.proxy_url)?,
                weight: self.weight(&join_key(&entry_key, "weight"), entry.weight)?,
            });
        }
        if !raw.api_keys.is_empty() {
            self.warn(
                &join_key(key, "api-keys"),
                "deprecated: use api-key-entries (the keys are used)",
            );
            for api_key in normalize_keys(&raw.api_keys) {
                api_key_entries.push(ApiKeyEntry {
                    api_key,
                    proxy_url: None,
                    weight: None,
                });
            }
        }
        let oauth = match &raw.oauth {
            None => None,
            Some(_) if !api_key_entries.is_empty() => {
                return Err(self.invalid(
                    &join_key(key, "oauth"),
                    "give either api-key-entries (or api-keys) or oauth, not both",
                ));
            }
            Some(oauth) => Some(self.oauth_client(&join_key(key, "oauth"), oauth)?),
        };
        let models = self.models(&join_key(key, "models"), &raw.models)?;
        if models.is_empty() {
            self.warn(
                &join_key(key, "models"),
                "no models listed: this entry serves none",
            );
        }
        Ok(Some(OpenAiCompatConfig {
            name: name.to_owned(),
            base_url,
            prefix: self.prefix(&join_key(key, "prefix"), &raw.prefix)?,
            headers: self.headers(&join_key(key, "headers"), &raw.headers)?,
            api_key_entries,
            oauth,
            models,
            excluded_models: normalize_patterns(&raw.excluded_models),
            priority: self.priority(&join_key(key, "priority"), raw.priority)?,
            weight: self
                .weight(&join_key(key, "weight"), raw.weight)?
                .unwrap_or(DEFAULT_CREDENTIAL_WEIGHT),
            protocol: match raw.protocol.trim() {
                "" => CompatProtocol::default(),
                text => CompatProtocol::parse(text).ok_or_else(|| {
                    self.invalid(
                        &join_key(key, "protocol"),
                        format!("{text:?}: expected chat, responses or both"),
                    )
                })?,
            },
        }))
    }

    /// An `oauth:` block at `key`: `token-url` (https, or http to loopback), `client-id` and
    /// `client-secret` required, `auth-method` `basic` (default) or `post`.
    fn oauth_client(
        &self,
        key: &str,
        raw: &RawOAuthClient,
    ) -> Result<ClientCredentials, ConfigError> {
        let token_url = match raw.token_url.trim() {
            "" => return Err(self.invalid(&join_key(key, "token-url"), "required")),
            text => super::token_url::parse(text)
                .map_err(|message| self.invalid(&join_key(key, "token-url"), message))?,
        };
        let client_id = raw.client_id.trim();
        if client_id.is_empty() {
            return Err(self.invalid(&join_key(key, "client-id"), "required"));
        }
        let client_secret = raw.client_secret.trim();
        if client_secret.is_empty() {
            return Err(self.invalid(&join_key(key, "client-secret"), "required"));
        }
        let auth_method = match raw.auth_method.trim() {
            "" => AuthMethod::default(),
            text => AuthMethod::parse(&text.to_ascii_lowercase()).ok_or_else(|| {
                self.invalid(
                    &join_key(key, "auth-method"),
                    format!("unknown value {text:?} (expected basic or post)"),
                )
            })?,
        };
        Ok(ClientCredentials {
            token_url,
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            scope: raw.scope.trim().to_owned(),
            audience: raw.audience.trim().to_owned(),
            auth_method,
        })
    }

    fn base_url(&self, key: &str, text: &str) -> Result<Option<Url>, ConfigError> {
        let text = text.trim().trim_end_matches('/');
        if text.is_empty() {
            return Ok(None);
        }
        let url = Url::parse(text).map_err(|e| self.invalid(key, format!("invalid URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(self.invalid(key, "must be an http:// or https:// URL"));
        }
        Ok(Some(url))
    }

    fn proxy_url(&self, key: &str, text: &str) -> Result<Option<ProxyUrl>, ConfigError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        if text.eq_ignore_ascii_case("direct") || text.eq_ignore_ascii_case("none") {
            return Ok(Some(ProxyUrl::Direct));
        }
        let url = Url::parse(text).map_err(|e| self.invalid(key, format!("invalid URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https" | "socks5" | "socks5h") {
            return Err(self.invalid(
                key,
                "expected an http://, https:// or socks5:// URL, or direct",
            ));
        }
        Ok(Some(ProxyUrl::Via(url)))
    }

    fn prefix(&self, key: &str, text: &str) -> Result<Option<String>, ConfigError> {
        let prefix = text.trim().trim_matches('/');
        if prefix.is_empty() {
            return Ok(None);
        }
        if prefix.contains('/') {
            return Err(self.invalid(key, "must not contain '/'"));
        }
        Ok(Some(prefix.to_owned()))
    }

    fn headers(
        &self,
        key: &str,
        raw: &std::collections::BTreeMap<String, String>,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, ConfigError> {
        raw.iter()
            .map(|(name, value)| {
                let entry = join_key(key, name);
                let name = HeaderName::from_bytes(name.trim().as_bytes())
                    .map_err(|_| self.invalid(&entry, "invalid header name"))?;
                let value = HeaderValue::from_str(value.trim())
                    .map_err(|_| self.invalid(&entry, "invalid header value"))?;
                Ok((name, value))
            })
            .collect()
    }

    fn models(&mut self, key: &str, raw: &[RawModel]) -> Result<Vec<ModelAlias>, ConfigError> {
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(raw.len());
        for (i, model) in raw.iter().enumerate() {
            let entry = format!("{key}[{i}]");
            let name = model.name.trim();
            if name.is_empty() {
                return Err(self.invalid(&join_key(&entry, "name"), "required"));
            }
            let alias = match model.alias.trim() {
                "" => name,
                alias => alias,
            };
            if !seen.insert(alias.to_ascii_lowercase()) {
                self.warn(
                    &join_key(&entry, "alias"),
                    format!("duplicate model {alias:?}, ignored"),
                );
                continue;
            }
            out.push(ModelAlias {
                name: name.to_owned(),
                alias: alias.to_owned(),
            });
        }
        Ok(out)
    }

    fn priority(&self, key: &str, value: i64) -> Result<i32, ConfigError> {
        i32::try_from(value).map_err(|_| self.invalid(key, "out of range"))
    }

    /// A credential `weight`: an integer from 0 to [`MAX_CREDENTIAL_WEIGHT`].
    fn weight(&self, key: &str, value: Option<i64>) -> Result<Option<u32>, ConfigError> {
        let Some(value) = value else {
            return Ok(None);
        };
        match u32::try_from(value) {
            Ok(weight) if weight <= MAX_CREDENTIAL_WEIGHT => Ok(Some(weight)),
            _ => Err(self.invalid(
                key,
                format!("must be an integer from 0 to {MAX_CREDENTIAL_WEIGHT}, not {value}"),
            )),
        }
    }

    fn millis(
        &mut self,
        key: &str,
        value: Option<u64>,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        match value {
            None => Ok(default),
            Some(0) => Err(self.invalid(key, "must be > 0")),
            Some(ms) => Ok(self.at_most_max_duration(key, Duration::from_millis(ms))),
        }
    }
}

/// The ignored-key path in the same `a.b[0].c` form serde_path_to_error uses.
fn ignored_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", ignored_path(parent)),
        Path::Map { parent, key } => join_key(&ignored_path(parent), key),
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => ignored_path(parent),
    }
}

/// Trimmed, without empties or duplicates, order kept.
fn normalize_keys(keys: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    keys.iter()
        .map(|k| k.trim())
        .filter(|k| !k.is_empty() && seen.insert(*k))
        .map(str::to_owned)
        .collect()
}

/// Lower-cased, trimmed, without empties or duplicates.
fn normalize_patterns(patterns: &[String]) -> Vec<String> {
    let lowered: Vec<String> = patterns
        .iter()
        .map(|p| p.trim().to_ascii_lowercase())
        .collect();
    normalize_keys(&lowered)
}

/// The `api-keys` strings inside a settings object.
fn settings_keys(settings: &serde_json::Value) -> Vec<String> {
    settings
        .get("api-keys")
        .and_then(|v| v.as_array())
        .map(|keys| {
            keys.iter()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn set_settings_keys(settings: &mut serde_json::Value, keys: Vec<String>) {
    if let Some(object) = settings.as_object_mut() {
        object.insert("api-keys".to_owned(), serde_json::json!(keys));
    }
}

impl Context {
    /// A non-negative count under `key`, `default` when absent.
    fn count(&self, key: &str, value: Option<i64>, default: u32) -> Result<u32, ConfigError> {
        match value {
            None => Ok(default),
            Some(value) => u32::try_from(value)
                .map_err(|_| self.invalid(key, format!("must be between 0 and {}", u32::MAX))),
        }
    }
}

fn clamp_count(value: i64) -> u32 {
    value.clamp(0, i64::from(u32::MAX)) as u32
}

/// `~` expanded, relative paths joined to `dir`, empty replaced by `dir/default`.
fn resolve_path(dir: &Path, text: &str, default: &str) -> PathBuf {
    let text = text.trim();
    if text.is_empty() {
        return if default.is_empty() {
            PathBuf::new()
        } else {
            dir.join(default)
        };
    }
    let expanded = match (text.strip_prefix('~'), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            PathBuf::from(home).join(rest.trim_start_matches('/'))
        }
        _ => PathBuf::from(text),
    };
    if expanded.is_absolute() {
        expanded
    } else {
        dir.join(expanded)
    }
}

/// `$XDG_CACHE_HOME/switchyard`, else `~/.cache/switchyard`, else beside the config.
pub(crate) fn default_cache_dir(dir: &Path) -> PathBuf {
    if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("switchyard");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home).join(".cache").join("switchyard");
    }
    dir.join(".switchyard-cache")
}

/// Whether a Redis URL names this host: `localhost` or a loopback address.
fn redis_is_loopback(url: &str) -> bool {
    match Url::parse(url)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()))
    {
        // `redis:` is not a special scheme: an IPv4 address comes back as a domain.
        Some(url::Host::Domain(name)) => {
            name.eq_ignore_ascii_case("localhost")
                || name
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<LoadedConfig, ConfigError> {
        Config::parse(
            yaml,
            Some(PathBuf::from("/etc/sy/config.yaml")),
            PathBuf::from("/etc/sy"),
        )
    }

    fn error(yaml: &str) -> ConfigError {
        parse(yaml).expect_err("expected an error")
    }

    /// Each `tests/fixtures/config/invalid/<case>.yaml` fails with the error written beside
    /// it in `<case>.err`: the file, the line, the key and the message, as the proxy prints it.
    /// `SWITCHYARD_BLESS=1` rewrites the `.err` files from what the parser says now.
    #[test]
    fn invalid_configs_fail_with_the_error_beside_them() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/config/invalid");
        let bless = std::env::var_os("SWITCHYARD_BLESS").is_some();
        let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
            .collect();
        cases.sort();
        assert!(
            cases.len() >= 20,
            "{} cases in {}",
            cases.len(),
            dir.display()
        );
        let mut mismatches = Vec::new();
        for case in &cases {
            let name = case.file_name().unwrap().to_string_lossy().into_owned();
            let yaml = std::fs::read_to_string(case).unwrap();
            let said = match Config::parse(&yaml, Some(PathBuf::from(&name)), dir.clone()) {
                Ok(_) => "(no error)".to_owned(),
                Err(e) => e.to_string(),
            };
            let golden = case.with_extension("err");
            if bless {
                std::fs::write(&golden, format!("{said}\n")).unwrap();
                continue;
            }
            let expected = std::fs::read_to_string(&golden).unwrap_or_else(|_| {
                panic!(
                    "{} is missing (SWITCHYARD_BLESS=1 writes it)",
                    golden.display()
                )
            });
            if expected.trim_end() != said {
                mismatches.push(format!(
                    "{name}\n  expected: {}\n  said:     {said}",
                    expected.trim_end()
                ));
            }
        }
        assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    }

    #[test]
    fn empty_file_gives_the_defaults() {
        for text in ["", "# only a comment\n", "---\n"] {
            let config = parse(text).unwrap().config;
            assert_eq!(config.port, 0);
            assert_eq!(config.routing.strategy, Strategy::RoundRobin);
            assert_eq!(
                config.routing.session_affinity_ttl,
                Duration::from_secs(3600)
            );
            assert_eq!(config.auth_dir, PathBuf::from("/etc/sy/auths"));
            assert_eq!(config.plugins.dir, PathBuf::from("/etc/sy/plugins"));
            assert_eq!(config.body_limit_bytes, 64 << 20);
            assert_eq!(config.upstream_timeouts, UpstreamTimeouts::default());
            assert_eq!(
                config.routing.session_extractors[0].kind,
                SESSION_STANDARD_TYPE
            );
            assert!(config.access_providers.is_empty());
        }
    }

    #[test]
    fn unknown_keys_are_warnings_with_path_and_line() {
        let loaded = parse(
            "port: 8317\nquota-exceeded:\n  switch-project: true\nremote-management:\n  allow-remote: false\n  panel-github-repository: x\nclaude-api-key:\n  - api-key: k\n    cloak: {}\n",
        )
        .unwrap();
        let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            [
                "line 2: quota-exceeded: unknown key, ignored",
                "line 6: remote-management.panel-github-repository: unknown key, ignored",
                "line 9: claude-api-key[0].cloak: unknown key, ignored",
            ]
        );
        assert_eq!(loaded.config.port, 8317);
    }

    #[test]
    fn disable_control_panel_parses_and_defaults_to_false() {
        let on = parse("remote-management:\n  disable-control-panel: true\n").unwrap();
        assert!(on.warnings.is_empty(), "{:?}", on.warnings);
        assert!(on.config.management.disable_control_panel);
        let default = parse("remote-management:\n  allow-remote: true\n").unwrap();
        assert!(!default.config.management.disable_control_panel);
        let wrong = parse("remote-management:\n  disable-control-panel: maybe\n").unwrap_err();
        assert!(
            wrong
                .to_string()
                .contains("remote-management.disable-control-panel"),
            "{wrong}"
        );
    }

    #[test]
    fn plugin_safety_keys_parse() {
        let config = parse(
            "plugins:\n  allow-override: [config-api-key]\n  max-file-mib: 8\n  quarantine:\n    min-calls: 20\n    fault-ratio: 0.25\n    window-s: 30\n    duration-s: 5\n    max-faults-per-address: 1\n  limits:\n    max-concurrency: 3\nauth:\n  providers:\n    - type: x\n      on-fault: skip\n    - type: y\n",
        )
        .unwrap()
        .config;
        assert_eq!(config.plugins.allow_override, ["config-api-key"]);
        assert_eq!(config.plugins.max_file_bytes, 8 << 20);
        assert_eq!(
            config.plugins.quarantine,
            FaultPolicy {
                min_calls: 20,
                fault_ratio_permille: 250,
                window: Duration::from_secs(30),
                quarantine: Duration::from_secs(5),
                max_faults_per_address: 1,
            }
        );
        assert_eq!(config.plugins.limits.max_concurrency, 3);
        let on_fault: Vec<_> = config.access_providers.iter().map(|i| i.on_fault).collect();
        assert_eq!(on_fault, [OnFault::Skip, OnFault::Deny]);
        let defaults = parse("").unwrap().config.plugins;
        assert_eq!(defaults.quarantine, FaultPolicy::default());
        assert_eq!(defaults.max_file_bytes, 64 << 20);
        assert!(defaults.allow_override.is_empty());
        assert_eq!(
            defaults.limits.max_concurrency,
            2 * std::thread::available_parallelism().unwrap().get()
        );
    }

    #[test]
    fn strategy_aliases() {
        for (text, strategy) in [
            ("ff", Strategy::FillFirst),
            ("FillFirst", Strategy::FillFirst),
            ("fill-first", Strategy::FillFirst),
            ("rr", Strategy::RoundRobin),
            ("roundrobin", Strategy::RoundRobin),
            ("''", Strategy::RoundRobin),
            ("weighted-round-robin", Strategy::WeightedRoundRobin),
            ("WeightedRoundRobin", Strategy::WeightedRoundRobin),
            ("' wrr '", Strategy::WeightedRoundRobin),
        ] {
            let loaded = parse(&format!("routing:\n  strategy: {text}\n")).unwrap();
            assert_eq!(loaded.config.routing.strategy, strategy, "{text}");
            assert!(loaded.warnings.is_empty(), "{text}: {:?}", loaded.warnings);
        }
    }

    #[test]
    fn an_unknown_strategy_is_a_warning_and_round_robin() {
        let loaded = parse("debug: true\nrouting:\n  strategy: random\n").unwrap();
        assert_eq!(loaded.config.routing.strategy, Strategy::RoundRobin);
        let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            [
                "line 3: routing.strategy: unknown strategy \"random\", using round-robin \
              (expected round-robin, fill-first or weighted-round-robin)"
            ]
        );
    }

    #[test]
    fn weights_default_to_one_and_an_api_key_entry_overrides_its_provider() {
        let config = parse(
            "claude-api-key:\n  - api-key: a\n    weight: 5\n  - api-key: b\n    weight: 0\n  - api-key: c\n\
             openai-compatibility:\n  - name: router\n    base-url: http://127.0.0.1:1/v1\n    priority: 2\n    weight: 3\n\
             \x20   api-key-entries:\n      - api-key: x\n        weight: 1000000\n      - api-key: y\n    models: [{name: m}]\n\
             \x20 - name: plain\n    base-url: http://127.0.0.1:1/v1\n    api-key-entries: [{api-key: z}]\n    models: [{name: m}]\n",
        )
        .unwrap()
        .config;
        let weights: Vec<u32> = config.claude_keys.iter().map(|k| k.weight).collect();
        assert_eq!(weights, [5, 0, 1]);
        let router = &config.openai_compatibility[0];
        assert_eq!(router.weight, 3);
        let entries: Vec<_> = router.api_key_entries.iter().map(|e| e.weight).collect();
        assert_eq!(entries, [Some(1_000_000), None]);
        assert_eq!(config.openai_compatibility[1].weight, 1);
    }

    #[test]
    fn api_keys_become_config_inline_after_the_other_instances() {
        let config = parse(
            "api-keys: [' k1 ', k2, '', k1]\nauth:\n  providers:\n    - name: jwt\n      type: jwt-hs256\n      config: {secret: s}\n",
        )
        .unwrap()
        .config;
        assert_eq!(config.api_keys, ["k1", "k2"]);
        let names: Vec<_> = config
            .access_providers
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(names, ["jwt", "config-inline"]);
        assert_eq!(
            config.access_providers[1].settings["api-keys"],
            serde_json::json!(["k1", "k2"])
        );
        assert_eq!(config.access_providers[0].settings["secret"], "s");
        let e =
            error("api-keys: [a]\nauth:\n  providers:\n    - name: config-inline\n      type: x\n");
        assert_eq!(e.key(), Some("auth.providers[0].name"));
        assert_eq!(e.line(), Some(4));
    }

    #[test]
    fn the_first_config_api_key_instance_is_authoritative_over_api_keys() {
        // The reference's own example plus a legacy top-level list.
        let text = "api-keys: [legacy]\nauth:\n  providers:\n    - name: jwt\n      type: jwt-hs256\n      config: {secret: s}\n    - name: default\n      type: config-api-key\n      api-keys: [k1, k2]\n    - name: team\n      type: config-api-key\n      config: {api-keys: [t1]}\n";
        let loaded = parse(text).unwrap();
        let config = &loaded.config;
        assert_eq!(
            config.api_keys,
            ["k1", "k2"],
            "the top-level list mirrors it"
        );
        let chain: Vec<_> = config
            .access_providers
            .iter()
            .map(|p| (p.name.as_str(), p.settings["api-keys"].clone()))
            .collect();
        assert_eq!(
            chain,
            [
                ("jwt", serde_json::Value::Null),
                ("default", serde_json::json!(["k1", "k2"])),
                ("team", serde_json::json!(["t1"])),
            ]
        );
        let warning = loaded
            .warnings
            .iter()
            .find(|w| w.key == "api-keys")
            .expect("a warning for the ignored top-level list");
        assert_eq!(warning.line, Some(1));
        assert!(warning.message.contains("auth.providers[1] (\"default\")"));
        assert!(
            warning
                .message
                .contains(&crate::usage::fingerprint("legacy"))
        );
        assert!(!warning.message.contains("legacy"), "{}", warning.message);

        // An empty instance is filled from the top-level list, without a warning.
        let loaded = parse(
            "api-keys: [legacy]\nauth:\n  providers:\n    - name: default\n      type: config-api-key\n      api-keys: []\n",
        )
        .unwrap();
        assert_eq!(loaded.config.api_keys, ["legacy"]);
        assert_eq!(loaded.config.access_providers.len(), 1);
        assert_eq!(
            loaded.config.access_providers[0].settings["api-keys"],
            serde_json::json!(["legacy"])
        );
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    }

    #[test]
    fn a_config_api_key_instance_without_keys_is_a_warning() {
        let loaded = parse(
            "auth:\n  providers:\n    - name: default\n      type: config-api-key\n    - name: empty\n      type: config-api-key\n      api-keys: ['  ']\n",
        )
        .unwrap();
        let warned: Vec<_> = loaded
            .warnings
            .iter()
            .map(|w| (w.key.as_str(), w.line))
            .collect();
        assert_eq!(
            warned,
            [
                ("auth.providers[0]", Some(3)),
                ("auth.providers[1]", Some(5))
            ]
        );
        assert!(loaded.warnings[0].message.contains("not-handled"));
        assert!(loaded.config.api_keys.is_empty());
    }

    #[test]
    fn session_ttl_and_deprecated_alias() {
        let loaded =
            parse("routing:\n  claude-code-session-affinity: true\n  session-affinity-ttl: 90m\n")
                .unwrap();
        assert!(loaded.config.routing.session_affinity);
        assert_eq!(
            loaded.config.routing.session_affinity_ttl,
            Duration::from_secs(5400)
        );
        assert!(loaded.warnings[0].message.contains("deprecated"));
        let loaded = parse("routing:\n  session-affinity-ttl: -5m\n").unwrap();
        assert_eq!(
            loaded.config.routing.session_affinity_ttl,
            Duration::from_secs(3600)
        );
        assert_eq!(loaded.warnings[0].key, "routing.session-affinity-ttl");
    }

    #[test]
    fn endless_durations_are_clamped_to_thirty_days_with_a_warning() {
        let loaded = parse(
            "routing:\n  session-affinity-ttl: 3000000000000000h\nmax-retry-interval: 9223372036854775807\nstreaming:\n  keepalive-seconds: 9223372036854775807\nupstream-timeouts:\n  idle-ms: 18446744073709551615\nplugins:\n  limits:\n    deadline-ms: 18446744073709551615\n",
        )
        .unwrap();
        let config = &loaded.config;
        assert_eq!(config.routing.session_affinity_ttl, MAX_CONFIG_DURATION);
        assert_eq!(config.retry.max_retry_interval, MAX_CONFIG_DURATION);
        assert_eq!(config.streaming.keepalive, Some(MAX_CONFIG_DURATION));
        assert_eq!(config.upstream_timeouts.idle, MAX_CONFIG_DURATION);
        assert_eq!(config.plugins.limits.deadline, MAX_CONFIG_DURATION);
        let warned: Vec<_> = loaded.warnings.iter().map(|w| w.key.as_str()).collect();
        for key in [
            "routing.session-affinity-ttl",
            "max-retry-interval",
            "streaming.keepalive-seconds",
            "upstream-timeouts.idle-ms",
            "plugins.limits.deadline-ms",
        ] {
            assert!(warned.contains(&key), "{key} in {warned:?}");
        }
        let ttl = &loaded.warnings[warned
            .iter()
            .position(|k| *k == "routing.session-affinity-ttl")
            .unwrap()];
        assert_eq!(ttl.line, Some(2));
        assert!(ttl.message.contains("30 days"), "{}", ttl.message);
        let fine = parse("routing:\n  session-affinity-ttl: 720h\n").unwrap();
        assert!(fine.warnings.is_empty());
    }

    #[test]
    fn table_bounds() {
        let defaults = parse("").unwrap().config.routing;
        assert_eq!(defaults.max_tracked_models, 1000);
        assert_eq!(defaults.session_affinity_max_bindings, 100_000);
        let set = parse("routing:\n  max-tracked-models: 50\n  session-affinity-max-bindings: 7\n")
            .unwrap()
            .config
            .routing;
        assert_eq!(set.max_tracked_models, 50);
        assert_eq!(set.session_affinity_max_bindings, 7);
        for key in ["max-tracked-models", "session-affinity-max-bindings"] {
            let e = error(&format!("routing:\n  {key}: 0\n"));
            assert_eq!(e.key(), Some(format!("routing.{key}").as_str()));
            let e = error(&format!("routing:\n  {key}: lots\n"));
            assert_eq!(e.key(), Some(format!("routing.{key}").as_str()));
        }
    }

    #[test]
    fn provider_entries_are_normalized() {
        let loaded = parse(
            "claude-api-key:\n  - api-key: ' k '\n    base-url: https://api.example.com/\n    prefix: /team/\n    proxy-url: direct\n    headers: {X-Team: a}\n    excluded-models: [' Claude-Opus-* ', '']\n    models:\n      - name: claude-sonnet-4-20250514\n        alias: sonnet\n      - name: claude-opus-4\n  - base-url: https://x\n",
        )
        .unwrap();
        let key = &loaded.config.claude_keys[0];
        assert_eq!(key.api_key, "k");
        assert_eq!(
            key.base_url.as_ref().unwrap().as_str(),
            "https://api.example.com/"
        );
        assert_eq!(key.prefix.as_deref(), Some("team"));
        assert_eq!(key.proxy_url, Some(ProxyUrl::Direct));
        assert_eq!(key.headers[0].0.as_str(), "x-team");
        assert_eq!(key.excluded_models, ["claude-opus-*"]);
        assert_eq!(key.models[1].alias, "claude-opus-4");
        assert_eq!(loaded.config.claude_keys.len(), 1);
        assert_eq!(loaded.warnings[0].key, "claude-api-key[1].api-key");
    }

    #[test]
    fn openai_compatibility_entries() {
        let loaded = parse(
            "openai-compatibility:\n  - name: router\n    base-url: https://openrouter.ai/api/v1\n    api-key-entries:\n      - api-key: a\n        proxy-url: socks5://127.0.0.1:1080\n    api-keys: [b]\n    models:\n      - name: moonshotai/kimi-k2\n        alias: kimi\n  - name: nourl\n",
        )
        .unwrap();
        let compat = &loaded.config.openai_compatibility;
        assert_eq!(compat.len(), 1);
        assert_eq!(compat[0].api_key_entries.len(), 2);
        let keys: Vec<_> = loaded.warnings.iter().map(|w| w.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "openai-compatibility[0].api-keys",
                "openai-compatibility[1].base-url"
            ]
        );
        let e = error("openai-compatibility:\n  - base-url: http://x\n");
        assert_eq!(e.key(), Some("openai-compatibility[0].name"));
    }

    #[test]
    fn vertex_api_key_entries_need_a_base_url() {
        let loaded = parse(
            "vertex-api-key:\n  - api-key: v1\n    base-url: https://vertex.example/\n    prefix: team\n\
             \x20   models:\n      - name: gemini-2.5-pro\n        alias: pro\n\
             \x20 - api-key: v2\n  - base-url: https://vertex.example\n",
        )
        .unwrap();
        let keys = &loaded.config.vertex_keys;
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].api_key, "v1");
        assert_eq!(
            keys[0].base_url.as_ref().map(Url::as_str),
            Some("https://vertex.example/")
        );
        assert_eq!(keys[0].prefix.as_deref(), Some("team"));
        assert_eq!(keys[0].models[0].alias, "pro");
        let warned: Vec<_> = loaded
            .warnings
            .iter()
            .map(|w| (w.key.as_str(), w.message.as_str()))
            .collect();
        assert_eq!(
            warned,
            [
                (
                    "vertex-api-key[1].base-url",
                    "entry without base-url, ignored"
                ),
                (
                    "vertex-api-key[2].api-key",
                    "entry without api-key, ignored"
                ),
            ]
        );
        let claude = parse(
            "vertex-api-key:\n  - api-key: v1\n    base-url: https://vertex.example\n\
             \x20   models:\n      - name: claude-sonnet-4-5@20250929\n",
        )
        .unwrap();
        assert_eq!(claude.config.vertex_keys.len(), 1);
        assert_eq!(claude.warnings.len(), 1);
        assert_eq!(claude.warnings[0].key, "vertex-api-key[0].models");
        assert!(claude.warnings[0].message.contains("Gemini models only"));
        let credentials = crate::credential::config_source::credentials(&loaded.config);
        assert_eq!(credentials.len(), 1);
        let vertex = &credentials[0];
        assert_eq!(vertex.provider, crate::credential::ProviderKind::Vertex);
        assert!(vertex.id.as_str().starts_with("vertex:apikey:"));
        assert_eq!(
            vertex.secret,
            crate::credential::Secret::ApiKey("v1".into())
        );
        assert_eq!(vertex.vertex, None);
        assert_eq!(vertex.label, "vertex-api-key[0]");
    }

    #[test]
    fn a_real_cliproxyapi_config_loads() {
        let text = include_str!("../../../examples/cliproxyapi-config.yaml");
        let loaded = parse(text).unwrap();
        assert!(!loaded.warnings.is_empty());
        // Only keys switchyard does not implement are warned about.
        for warning in &loaded.warnings {
            assert_eq!(warning.message, "unknown key, ignored", "{warning:?}");
        }
        assert_eq!(loaded.config.port, 8317);
        let config = &loaded.config;
        assert_eq!(config.routing.strategy, Strategy::WeightedRoundRobin);
        let claude: Vec<u32> = config.claude_keys.iter().map(|k| k.weight).collect();
        assert_eq!(claude, [3, 1]);
        assert_eq!(config.gemini_keys[0].weight, 2);
        let weights: Vec<u32> = crate::credential::config_source::credentials(config)
            .iter()
            .filter(|c| c.compat_name.as_deref() == Some("openrouter"))
            .map(|c| c.weight)
            .collect();
        assert_eq!(weights, [5, 2]);
        // The reference's `default` config-api-key provider, mirrored by the top-level list.
        let names: Vec<_> = loaded
            .config
            .access_providers
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(names, ["default"]);
        assert_eq!(loaded.config.api_keys, ["your-api-key-1", "your-api-key-2"]);
    }

    #[test]
    fn server_limits_have_defaults_and_zero_disables_them() {
        let config = parse("").unwrap().config;
        assert_eq!(config.server, ServerConfig::default());
        assert_eq!(
            config.server.header_read_timeout,
            Some(Duration::from_secs(10))
        );
        assert_eq!(config.server.idle_timeout, Some(Duration::from_secs(120)));
        assert_eq!(
            config.server.body_read_timeout,
            Some(Duration::from_secs(60))
        );
        assert_eq!(config.server.max_connections, Some(10_000));
        assert_eq!(config.server.max_connections_per_ip, Some(1_024));
        assert_eq!(config.streaming.max_event_bytes, Some(16 << 20));

        let config = parse(
            "server:\n  header-read-timeout-ms: 200\n  idle-timeout-ms: 0\n  body-read-timeout-ms: 0\n  max-connections: 0\n  max-connections-per-ip: 8\n  runtime: Work-Stealing\nstreaming:\n  max-event-mib: 0\n",
        )
        .unwrap()
        .config;
        assert_eq!(
            config.server,
            ServerConfig {
                header_read_timeout: Some(Duration::from_millis(200)),
                idle_timeout: None,
                body_read_timeout: None,
                max_connections: None,
                max_connections_per_ip: Some(8),
                runtime: ServingMode::WorkStealing,
            }
        );
        assert_eq!(config.streaming.max_event_bytes, None);
        let config = parse("server:\n  runtime: per-core\n").unwrap().config;
        assert_eq!(config.server.runtime, ServingMode::PerCore);
        let error = parse("server:\n  runtime: threads\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("server.runtime"), "{error}");
        assert!(error.contains("per-core or work-stealing"), "{error}");
        let config = parse("streaming:\n  max-event-mib: 2\n").unwrap().config;
        assert_eq!(config.streaming.max_event_bytes, Some(2 << 20));
    }

    #[test]
    fn trusted_proxies_and_public_metrics_parse() {
        let config = parse("").unwrap().config;
        assert!(config.trusted_proxies.is_empty());
        assert!(!config.metrics_public);
        let config = parse(
            "trusted-proxies: [10.0.0.0/8, '::1/128', 192.0.2.1]\nmetrics:\n  public: true\n",
        )
        .unwrap()
        .config;
        assert!(config.trusted_proxies.contains("10.9.9.9".parse().unwrap()));
        assert!(
            config
                .trusted_proxies
                .contains("192.0.2.1".parse().unwrap())
        );
        assert!(config.metrics_public);
    }

    #[test]
    fn a_remote_redis_needs_a_session_store_secret() {
        let e = error("routing:\n  session-store: redis://redis.internal:6379\n");
        assert_eq!(e.key(), Some("routing.session-store-secret"));
        let e = error("routing:\n  session-store: redis://10.0.0.5\n");
        assert_eq!(e.key(), Some("routing.session-store-secret"));
        let e =
            error("routing:\n  session-store: redis://127.0.0.1\n  session-store-secret: short\n");
        assert_eq!(e.key(), Some("routing.session-store-secret"));
        for url in [
            "redis://127.0.0.1:6379",
            "redis://localhost",
            "redis://[::1]:6379",
        ] {
            assert!(redis_is_loopback(url), "{url}");
        }
        assert!(!redis_is_loopback("rediss://10.1.2.3"));
        assert!(!redis_is_loopback("redis://127.0.0.1.example.com"));
        let config = parse(
            "routing:\n  session-store: redis://10.0.0.5\n  session-store-secret: 0123456789abcdef\n",
        )
        .unwrap()
        .config;
        assert!(config.routing.session_store_secret.is_set());
    }

    #[test]
    fn log_format_is_text_or_json() {
        assert_eq!(parse("").unwrap().config.log_format, LogFormat::Text);
        let config = parse("log-format: JSON\n").unwrap().config;
        assert_eq!(config.log_format, LogFormat::Json);
        let e = error("debug: true\nlog-format: yaml\n");
        assert_eq!(e.key(), Some("log-format"));
        assert_eq!(e.line(), Some(2));
        assert!(e.to_string().contains("text or json"), "{e}");
    }

    #[test]
    fn bootstrap_retries_are_bounded_with_a_warning() {
        let loaded = parse("streaming:\n  bootstrap-retries: 3\n").unwrap();
        assert_eq!(loaded.config.streaming.bootstrap_retries, 3);
        assert!(loaded.warnings.is_empty());
        assert_eq!(
            parse("streaming:\n  bootstrap-retries: -2\n")
                .unwrap()
                .config
                .streaming
                .bootstrap_retries,
            0
        );
        let loaded = parse("streaming:\n  bootstrap-retries: 9223372036854775807\n").unwrap();
        assert_eq!(
            loaded.config.streaming.bootstrap_retries,
            super::super::MAX_BOOTSTRAP_RETRIES
        );
        assert_eq!(loaded.warnings[0].key, "streaming.bootstrap-retries");
        assert_eq!(loaded.warnings[0].line, Some(2));
    }

    const OAUTH: &str = "    oauth:\n      token-url: https://login.example.com/tenant/oauth2/v2.0/token\n      client-id: app-1\n      client-secret: cs-0123456789\n      scope: https://cognitiveservices.azure.com/.default\n";

    #[test]
    fn oauth_on_a_codex_entry_replaces_its_api_key() {
        let loaded = parse(&format!(
            "codex-api-key:\n  - base-url: https://r.openai.azure.com/openai/v1\n{OAUTH}      audience: api://x\n"
        ))
        .unwrap();
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        let entry = &loaded.config.codex_keys[0];
        assert_eq!(entry.api_key, "");
        let oauth = entry.oauth.as_ref().expect("oauth read");
        assert_eq!(
            oauth.token_url.as_str(),
            "https://login.example.com/tenant/oauth2/v2.0/token"
        );
        assert_eq!(oauth.client_id, "app-1");
        assert_eq!(oauth.client_secret, "cs-0123456789");
        assert_eq!(oauth.scope, "https://cognitiveservices.azure.com/.default");
        assert_eq!(oauth.audience, "api://x");
        assert_eq!(oauth.auth_method, AuthMethod::Basic, "basic by default");
        let shown = format!("{entry:?}");
        assert!(!shown.contains("cs-0123456789"), "{shown}");
    }

    #[test]
    fn oauth_on_an_openai_compatibility_entry_replaces_its_key_entries() {
        let config = parse(&format!(
            "openai-compatibility:\n  - name: azure\n    base-url: https://r.openai.azure.com/openai/v1\n    models: [{{name: gpt-4o}}]\n{OAUTH}"
        ))
        .unwrap()
        .config;
        let entry = &config.openai_compatibility[0];
        assert!(entry.api_key_entries.is_empty());
        assert_eq!(entry.oauth.as_ref().unwrap().client_id, "app-1");
        let shown = format!("{config:?}");
        assert!(shown.contains("app-1"), "{shown}");
        assert!(!shown.contains("cs-0123456789"), "{shown}");
    }

    #[test]
    fn oauth_errors_name_the_key_and_line() {
        let codex = |oauth: &str| {
            format!("codex-api-key:\n  - base-url: https://x/v1\n    oauth:\n{oauth}")
        };
        let cases = [
            (
                codex("      client-id: a\n      client-secret: s3cret-value\n"),
                "codex-api-key[0].oauth.token-url",
                Some(3),
                "required",
            ),
            (
                codex(
                    "      token-url: http://login.example.com/t\n      client-id: a\n      client-secret: s3cret-value\n",
                ),
                "codex-api-key[0].oauth.token-url",
                Some(4),
                "must be an https:// URL (http:// only to a loopback address)",
            ),
            (
                codex(
                    "      token-url: https://u:s3cret-value@login.example.com/t\n      client-id: a\n      client-secret: s3cret-value\n",
                ),
                "codex-api-key[0].oauth.token-url",
                Some(4),
                "must not carry a user name or password (use client-id and client-secret)",
            ),
            (
                codex(
                    "      token-url: https://login.example.com/t\n      client-secret: s3cret-value\n",
                ),
                "codex-api-key[0].oauth.client-id",
                Some(3),
                "required",
            ),
            (
                codex(
                    "      token-url: https://login.example.com/t\n      client-id: a\n      client-secret: '  '\n",
                ),
                "codex-api-key[0].oauth.client-secret",
                Some(6),
                "required",
            ),
            (
                format!("codex-api-key:\n  - api-key: sk-1\n{OAUTH}"),
                "codex-api-key[0].oauth",
                Some(3),
                "give either api-key or oauth, not both",
            ),
            (
                format!("gemini-api-key:\n  - base-url: https://x\n{OAUTH}"),
                "gemini-api-key[0].oauth",
                Some(3),
                "only codex-api-key and openai-compatibility entries take oauth",
            ),
            (
                format!(
                    "openai-compatibility:\n  - name: r\n    base-url: https://x/v1\n    api-keys: [k]\n{OAUTH}"
                ),
                "openai-compatibility[0].oauth",
                Some(5),
                "give either api-key-entries (or api-keys) or oauth, not both",
            ),
        ];
        for (yaml, key, line, message) in cases {
            let e = error(&yaml);
            assert_eq!(e.key(), Some(key), "{e}");
            assert_eq!(e.line(), line, "{e}");
            assert!(e.to_string().ends_with(message), "{e}");
            assert!(!e.to_string().contains("s3cret-value"), "{e}");
        }
    }

    #[test]
    fn unknown_keys_inside_oauth_are_warnings() {
        let loaded = parse(&format!(
            "codex-api-key:\n  - base-url: https://x/v1\n{OAUTH}      grant-type: password\n"
        ))
        .unwrap();
        let keys: Vec<_> = loaded.warnings.iter().map(|w| w.key.as_str()).collect();
        assert_eq!(keys, ["codex-api-key[0].oauth.grant-type"]);
        assert_eq!(loaded.warnings[0].line, Some(8));
    }

    #[test]
    fn oauth_auth_method_is_basic_or_post() {
        let yaml = |method: &str| {
            format!(
                "codex-api-key:\n  - base-url: https://x/v1\n{OAUTH}      auth-method: {method}\n"
            )
        };
        let config = parse(&yaml("post")).unwrap().config;
        assert_eq!(
            config.codex_keys[0].oauth.as_ref().unwrap().auth_method,
            AuthMethod::Post
        );
        let e = error(&yaml("private_key_jwt"));
        assert_eq!(e.key(), Some("codex-api-key[0].oauth.auth-method"));
        assert_eq!(e.line(), Some(8));
        assert!(
            e.to_string()
                .ends_with("unknown value \"private_key_jwt\" (expected basic or post)"),
            "{e}"
        );
    }
}
