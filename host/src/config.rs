//! `config.yaml`: CLIProxyAPI's keys and defaults plus switchyard's own.
//!
//! Loading is two layers: the private serde structs of `raw` mirror the file, then
//! `validate` builds the typed [`Config`], naming the key path and line of anything wrong.
//! Unknown keys never fail a load: they come back as [`ConfigWarning`]s, so a CLIProxyAPI
//! config with keys switchyard does not implement still loads.

pub(crate) mod client_keys;
mod error;
pub(crate) mod go_duration;
mod line_index;
mod raw;
pub(crate) mod token_url;
mod validate;
pub(crate) mod yaml_edit;

pub(crate) use validate::check_syntax;

use std::path::{Path, PathBuf};
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use sha2::{Digest, Sha256};
use url::Url;

pub use error::{ConfigError, ConfigWarning};

/// The type name of the embedded API-key access provider.
pub(crate) const CONFIG_API_KEY_TYPE: &str = "config-api-key";
/// The instance name the top-level `api-keys` list becomes when `auth.providers` has no
/// `config-api-key` instance.
pub(crate) const CONFIG_INLINE_NAME: &str = "config-inline";
/// The type name of the embedded standard session-id extractor.
pub(crate) const SESSION_STANDARD_TYPE: &str = "session-standard";

/// A validated configuration: one generation's worth of settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Listen host; empty means every interface.
    pub host: String,
    /// Listen port; 0 lets the OS pick.
    pub port: u16,
    /// `tls.*`.
    pub tls: TlsConfig,
    /// `remote-management.*`.
    pub management: ManagementConfig,
    /// Folder of credential JSON files (`auth-dir`), resolved to an absolute path.
    pub auth_dir: PathBuf,
    /// Client API keys (`api-keys`), trimmed, without empties or duplicates. When
    /// `auth.providers` lists a `config-api-key` instance, the keys of the first one (which the
    /// top-level list only fills when it has none).
    pub api_keys: Vec<String>,
    /// `debug`: verbose logs.
    pub debug: bool,
    /// `log-format`: how log lines are written (read at start; a change asks for a restart).
    pub log_format: LogFormat,
    /// `usage-statistics-enabled`.
    pub usage_statistics_enabled: bool,
    /// Global outbound proxy (`proxy-url`).
    pub proxy_url: Option<ProxyUrl>,
    /// `passthrough-headers`: forward the upstream's other end-to-end headers.
    pub passthrough_headers: bool,
    /// `request-retry`, `max-retry-credentials`, `max-retry-interval`,
    /// `max-cooldowns-per-request`.
    pub retry: RetryConfig,
    /// `disable-cooling`: never put a failing credential into cooldown.
    pub disable_cooling: bool,
    /// `routing.*`.
    pub routing: RoutingConfig,
    /// `streaming.*`.
    pub streaming: StreamingConfig,
    /// `claude-api-key` entries.
    pub claude_keys: Vec<ProviderKeyConfig>,
    /// `codex-api-key` entries.
    pub codex_keys: Vec<ProviderKeyConfig>,
    /// `gemini-api-key` entries.
    pub gemini_keys: Vec<ProviderKeyConfig>,
    /// `vertex-api-key` entries (Vertex AI with an API key; `base_url` always set).
    pub vertex_keys: Vec<ProviderKeyConfig>,
    /// `openai-compatibility` entries.
    pub openai_compatibility: Vec<OpenAiCompatConfig>,
    /// The access-provider chain in order: `auth.providers`, then the `config-inline` instance
    /// built from `api-keys` (only when there are keys and no `config-api-key` instance).
    pub access_providers: Vec<InstanceConfig>,
    /// `allow-unauthenticated`: serve a non-loopback host with no access provider.
    pub allow_unauthenticated: bool,
    /// `plugins.*`.
    pub plugins: PluginsConfig,
    /// `body-limit-mb`, in bytes.
    pub body_limit_bytes: usize,
    /// `upstream-timeouts.*`.
    pub upstream_timeouts: UpstreamTimeouts,
    /// `cors.*`.
    pub cors: CorsConfig,
    /// `server.*`.
    pub server: ServerConfig,
    /// `trusted-proxies`: peers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: crate::client_address::TrustedProxies,
    /// `metrics.public`: `/metrics` answers without the management key.
    pub metrics_public: bool,
    /// Where this config came from.
    pub source: ConfigSource,
}

/// `tls.*`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsConfig {
    /// Serve HTTPS.
    pub enable: bool,
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// `remote-management.*`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManagementConfig {
    /// Let non-local clients use the management API.
    pub allow_remote: bool,
    /// The secret, plaintext or bcrypt hash; empty disables the management API.
    pub secret_key: String,
    /// `disable-control-panel`: no web console, even where the management API exists (the
    /// API itself is unaffected).
    pub disable_control_panel: bool,
}

/// How a failed request is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    /// `request-retry`: extra rounds over the credentials after a failed round.
    pub request_retry: u32,
    /// `max-retry-credentials`: credentials tried per round, 0 = all.
    pub max_retry_credentials: u32,
    /// `max-retry-interval`: the longest wait for a cooldown before another round; zero never waits.
    pub max_retry_interval: Duration,
    /// `max-cooldowns-per-request`: credentials one client request (all its rounds) may cool
    /// down; past that it still fails over but records no cooldown. 0 = no cap.
    pub max_cooldowns_per_request: u32,
}

/// Default `max-cooldowns-per-request`.
pub(crate) const DEFAULT_MAX_COOLDOWNS_PER_REQUEST: u32 = 2;

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            request_retry: 0,
            max_retry_credentials: 0,
            max_retry_interval: Duration::ZERO,
            max_cooldowns_per_request: DEFAULT_MAX_COOLDOWNS_PER_REQUEST,
        }
    }
}

/// The largest credential `weight` (the reference's bound).
pub(crate) const MAX_CREDENTIAL_WEIGHT: u32 = 1_000_000;
/// The `weight` of a credential that gives none.
pub(crate) const DEFAULT_CREDENTIAL_WEIGHT: u32 = 1;

/// How a credential is chosen among the available ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// Rotate over the credentials (`round-robin`, `roundrobin`, `rr`, or empty).
    #[default]
    RoundRobin,
    /// Always the first available credential (`fill-first`, `fillfirst`, `ff`).
    FillFirst,
    /// Smooth weighted round-robin over the credentials' `weight`s (`weighted-round-robin`,
    /// `weightedroundrobin`, `wrr`); weight-0 credentials are never chosen.
    WeightedRoundRobin,
}

impl Strategy {
    /// The canonical name, as written back to the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::RoundRobin => "round-robin",
            Strategy::FillFirst => "fill-first",
            Strategy::WeightedRoundRobin => "weighted-round-robin",
        }
    }

    /// Parses a strategy name with the reference's aliases; case and surrounding space ignored.
    /// `None` for an unknown name (the config loads it as round-robin, with a warning).
    pub fn parse(text: &str) -> Option<Strategy> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "round-robin" | "roundrobin" | "rr" => Some(Strategy::RoundRobin),
            "fill-first" | "fillfirst" | "ff" => Some(Strategy::FillFirst),
            "weighted-round-robin" | "weightedroundrobin" | "wrr" => {
                Some(Strategy::WeightedRoundRobin)
            }
            _ => None,
        }
    }
}

/// `routing.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingConfig {
    /// `routing.strategy`.
    pub strategy: Strategy,
    /// `routing.session-affinity` (or its deprecated alias `claude-code-session-affinity`).
    pub session_affinity: bool,
    /// `routing.session-affinity-ttl`.
    pub session_affinity_ttl: Duration,
    /// `routing.session-extractors`, in order.
    pub session_extractors: Vec<InstanceConfig>,
    /// `routing.session-store`.
    pub session_store: SessionStoreConfig,
    /// `routing.session-store-prefix`.
    pub session_store_prefix: String,
    /// `routing.session-store-secret`: what cooldown messages in Redis are signed with (unset:
    /// a fixed key, which authenticates nothing; allowed only for a loopback Redis).
    pub session_store_secret: crate::redis_store::StoreSecret,
    /// `routing.session-affinity-max-bindings`: the most session bindings kept (in memory and
    /// in Redis); the oldest is evicted beyond it.
    pub session_affinity_max_bindings: usize,
    /// `routing.max-tracked-models`: the most model names outside the config's and built-in
    /// lists that credential states and usage totals keep (see [`crate::model::tracked`]).
    pub max_tracked_models: usize,
}

/// `log-format`: how the `switchyard` command writes log lines to stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (`text`, the default); coloured only when stderr is a terminal.
    #[default]
    Text,
    /// One JSON object per line (`json`): timestamp, level, target, message, the event's
    /// fields and the request's span (its `request_id`, method and path).
    Json,
}

impl LogFormat {
    /// The name in the config file and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }

    /// Parses `text` or `json` (case and surrounding space ignored; empty is `text`).
    pub fn parse(text: &str) -> Option<LogFormat> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "text" => Some(LogFormat::Text),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }
}

/// Where session bindings and cooldowns live.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SessionStoreConfig {
    /// In this process.
    #[default]
    Memory,
    /// A Redis server, by `redis://` or `rediss://` URL.
    Redis(String),
}

/// `streaming.*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamingConfig {
    /// Interval of `: keep-alive` comments; `None` sends none.
    pub keepalive: Option<Duration>,
    /// `bootstrap-retries`: how many times the whole pick / fail over / retry loop runs again
    /// for a stream that failed before its first byte (at most [`MAX_BOOTSTRAP_RETRIES`]).
    pub bootstrap_retries: u32,
    /// `max-event-mib`, in bytes: the largest incomplete SSE event the relay holds while it
    /// waits for the event's end; `None` (`0`) holds any size.
    pub max_event_bytes: Option<usize>,
}

/// The largest `streaming.bootstrap-retries`: a larger value is this, with a warning (each
/// retry may try every credential again).
pub(crate) const MAX_BOOTSTRAP_RETRIES: u32 = 10;

/// Default `streaming.max-event-mib`.
pub(crate) const DEFAULT_MAX_EVENT_MIB: u64 = 16;

impl Default for StreamingConfig {
    fn default() -> Self {
        StreamingConfig {
            keepalive: None,
            bootstrap_retries: 0,
            max_event_bytes: Some((DEFAULT_MAX_EVENT_MIB << 20) as usize),
        }
    }
}

/// `server.*`: deadlines and limits of client connections. `None` (`0` in the file) disables
/// a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerConfig {
    /// `header-read-timeout-ms`: an HTTP/1 request head must arrive within this (hyper's
    /// clock also runs while a keep-alive connection waits for its next request).
    pub header_read_timeout: Option<Duration>,
    /// `idle-timeout-ms`: a connection with no request in flight for this long is closed
    /// (HTTP/1 and HTTP/2).
    pub idle_timeout: Option<Duration>,
    /// `body-read-timeout-ms`: a longer gap between request-body bytes gets 408.
    pub body_read_timeout: Option<Duration>,
    /// `max-connections`: open connections; past it new ones wait in the listen backlog.
    pub max_connections: Option<usize>,
    /// `max-connections-per-ip`: open connections per client address (IPv6 per /64); a
    /// connection past it is closed at once. Local peers are exempt.
    pub max_connections_per_ip: Option<usize>,
    /// `runtime`: how connections are served (read when the server starts; a change applies
    /// after a restart).
    pub runtime: ServingMode,
}

/// `server.runtime`: which threads serve connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ServingMode {
    /// `per-core` (the default): one single-threaded runtime per core, each accepting on its
    /// own socket of the listening port (`SO_REUSEPORT`) with its own upstream connection
    /// pool, so a request never changes threads.
    #[default]
    PerCore,
    /// `work-stealing`: every connection is a task of the runtime the server was started in.
    WorkStealing,
}

impl ServingMode {
    /// The environment variable that picks the mode for a config without `server.runtime`
    /// (`per-core` or `work-stealing`; the test suite runs its server modules in both).
    pub const ENV: &'static str = "SWITCHYARD_RUNTIME";

    /// The name in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            ServingMode::PerCore => "per-core",
            ServingMode::WorkStealing => "work-stealing",
        }
    }

    /// Parses `per-core` or `work-stealing` (case and surrounding space ignored).
    pub fn parse(text: &str) -> Option<ServingMode> {
        match text.trim().to_ascii_lowercase().as_str() {
            "per-core" => Some(ServingMode::PerCore),
            "work-stealing" => Some(ServingMode::WorkStealing),
            _ => None,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            header_read_timeout: Some(Duration::from_secs(10)),
            idle_timeout: Some(Duration::from_secs(120)),
            body_read_timeout: Some(Duration::from_secs(60)),
            max_connections: Some(10_000),
            max_connections_per_ip: Some(1_024),
            runtime: ServingMode::PerCore,
        }
    }
}

/// An outbound proxy setting.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProxyUrl {
    /// `direct` or `none`: connect directly even when a global proxy is set.
    Direct,
    /// Go through this proxy (`http`, `https`, `socks5`).
    Via(Url),
}

/// A model a credential serves: `name` upstream, `alias` for clients.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModelAlias {
    /// The upstream model id.
    pub name: String,
    /// The name clients use (the `name` when no alias was given).
    pub alias: String,
}

/// One entry of `claude-api-key`, `codex-api-key`, `gemini-api-key` or `vertex-api-key`.
#[derive(Clone, PartialEq, Eq)]
pub struct ProviderKeyConfig {
    /// The upstream API key (empty when the entry authenticates with `oauth`).
    pub api_key: String,
    /// `oauth`: OAuth2 client credentials the bearer token is minted with, instead of
    /// `api-key` (`codex-api-key` entries only).
    pub oauth: Option<switchyard_oauth::ClientCredentials>,
    /// The upstream base URL; `None` uses the provider's default.
    pub base_url: Option<Url>,
    /// Model namespace: `prefix/model` targets only credentials with this prefix.
    pub prefix: Option<String>,
    /// Extra headers sent upstream with this credential.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Models served; empty serves the provider's built-in list and family.
    pub models: Vec<ModelAlias>,
    /// Lower-cased model patterns (with `*`) this credential never serves.
    pub excluded_models: Vec<String>,
    /// Higher is preferred.
    pub priority: i32,
    /// Share of requests under `weighted-round-robin` (0 = never chosen by it).
    pub weight: u32,
    /// Per-credential outbound proxy.
    pub proxy_url: Option<ProxyUrl>,
}

impl std::fmt::Debug for ProviderKeyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderKeyConfig")
            .field("api_key", &"<redacted>")
            .field(
                "oauth",
                &self
                    .oauth
                    .as_ref()
                    .map(|o| (o.token_url.as_str(), &o.client_id)),
            )
            .field("base_url", &self.base_url)
            .field("prefix", &self.prefix)
            .field("models", &self.models)
            .field("priority", &self.priority)
            .field("weight", &self.weight)
            .finish_non_exhaustive()
    }
}

/// Which OpenAI API an `openai-compatibility` upstream speaks (`protocol:` on the entry or
/// the auth file). Requests in another protocol are translated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CompatProtocol {
    /// Chat completions only (`{base}/chat/completions`), the reference's default.
    #[default]
    Chat,
    /// The Responses API only (`{base}/responses`).
    Responses,
    /// Both: chat requests go to `/chat/completions`, Responses requests to `/responses`.
    Both,
}

impl CompatProtocol {
    /// Reads `chat`, `responses` or `both` (any case).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "chat" => Some(CompatProtocol::Chat),
            "responses" => Some(CompatProtocol::Responses),
            "both" => Some(CompatProtocol::Both),
            _ => None,
        }
    }
}

/// One entry of `openai-compatibility`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenAiCompatConfig {
    /// The provider's name (used in credential ids and logs).
    pub name: String,
    /// The upstream base URL, such as `https://openrouter.ai/api/v1`.
    pub base_url: Url,
    /// Model namespace.
    pub prefix: Option<String>,
    /// Extra headers sent upstream.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// One credential per entry.
    pub api_key_entries: Vec<ApiKeyEntry>,
    /// `oauth`: OAuth2 client credentials, instead of `api-key-entries` (then the entry is one
    /// credential whose bearer token is minted with them).
    pub oauth: Option<switchyard_oauth::ClientCredentials>,
    /// Models served (an entry without models serves none).
    pub models: Vec<ModelAlias>,
    /// Lower-cased model patterns never served.
    pub excluded_models: Vec<String>,
    /// Higher is preferred.
    pub priority: i32,
    /// Share of requests under `weighted-round-robin` of each key (an entry's own `weight`
    /// overrides it).
    pub weight: u32,
    /// Which OpenAI API the upstream speaks (`protocol: chat | responses | both`).
    pub protocol: CompatProtocol,
}

/// One key of an `openai-compatibility` entry.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeyEntry {
    /// The upstream API key.
    pub api_key: String,
    /// Per-key outbound proxy.
    pub proxy_url: Option<ProxyUrl>,
    /// Per-key `weight`, overriding the provider entry's.
    pub weight: Option<u32>,
}

impl std::fmt::Debug for ApiKeyEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyEntry")
            .field("api_key", &"<redacted>")
            .field("proxy_url", &self.proxy_url)
            .field("weight", &self.weight)
            .finish()
    }
}

/// A configured plugin instance (`auth.providers[]`, `routing.session-extractors[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceConfig {
    /// Unique name of the instance within its list.
    pub name: String,
    /// The plugin type (the name the plugin declares).
    pub kind: String,
    /// Settings handed to the plugin's `configure`, as JSON.
    pub settings: serde_json::Value,
    /// Per-instance limits overriding `plugins.limits`.
    pub limits: Option<PluginLimits>,
    /// What a fault of this instance does to the request (`on-fault`, access providers only).
    pub on_fault: OnFault,
}

/// What a fault (trap, deadline, memory, quarantine) of an access provider does to the
/// request: `on-fault` of an `auth.providers` instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnFault {
    /// Fail closed: the request gets 503 (the default).
    #[default]
    Deny,
    /// As if the provider answered `not-handled`: the next provider decides.
    Skip,
}

/// Default `plugins.max-file-mib`.
pub(crate) const DEFAULT_MAX_PLUGIN_FILE_MIB: u64 = 64;

/// `plugins.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginsConfig {
    /// Load plugins from the folder (embedded ones always load).
    pub enabled: bool,
    /// Folder of `*.wasm` files.
    pub dir: PathBuf,
    /// Compiled-component cache folder.
    pub cache_dir: PathBuf,
    /// Default per-call limits.
    pub limits: PluginLimits,
    /// When faults quarantine a configured instance (`plugins.quarantine.*`).
    pub quarantine: crate::plugin::FaultPolicy,
    /// Embedded plugin types a plugins-folder file may replace (`plugins.allow-override`).
    pub allow_override: Vec<String>,
    /// Largest plugin file loaded from the folder, in bytes (`plugins.max-file-mib`).
    pub max_file_bytes: u64,
}

impl PluginsConfig {
    /// The default of `plugins.cache-dir`: `$XDG_CACHE_HOME/switchyard`, else
    /// `~/.cache/switchyard`, else `.switchyard-cache` in `config_dir`.
    pub fn default_cache_dir(config_dir: &std::path::Path) -> PathBuf {
        validate::default_cache_dir(config_dir)
    }
}

/// Per-call limits of a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginLimits {
    /// Wall-clock deadline of one call.
    pub deadline: Duration,
    /// Most bytes of all linear memories of a live instance together.
    pub memory_bytes: u64,
    /// Most calls in flight at once in one configured instance; a call that would wait for
    /// one longer than `deadline` gets 503 `plugin_busy`.
    pub max_concurrency: usize,
}

impl PluginLimits {
    /// The default of `max-concurrency`: twice the cores this process may use.
    pub fn default_max_concurrency() -> usize {
        static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        *CORES.get_or_init(|| {
            std::thread::available_parallelism()
                .map(std::num::NonZeroUsize::get)
                .unwrap_or(1)
                .saturating_mul(2)
        })
    }
}

impl Default for PluginLimits {
    fn default() -> Self {
        PluginLimits {
            deadline: Duration::from_millis(100),
            memory_bytes: 128 << 20,
            max_concurrency: PluginLimits::default_max_concurrency(),
        }
    }
}

/// `upstream-timeouts.*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpstreamTimeouts {
    /// Connecting to the upstream.
    pub connect: Duration,
    /// From sending the request to the response head.
    pub first_byte: Duration,
    /// Between two chunks of the response body.
    pub idle: Duration,
}

impl Default for UpstreamTimeouts {
    fn default() -> Self {
        UpstreamTimeouts {
            connect: Duration::from_secs(10),
            first_byte: Duration::from_secs(300),
            idle: Duration::from_secs(300),
        }
    }
}

/// `cors.*`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsConfig {
    /// Origins browsers may call from; `*` allows any.
    pub allow_origins: Vec<String>,
}

impl CorsConfig {
    /// Whether `origin` may call the proxy.
    pub fn allows(&self, origin: &str) -> bool {
        self.allow_origins.iter().any(|o| o == "*" || o == origin)
    }
}

/// Where a config came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigSource {
    /// The file, when loaded from one.
    pub path: Option<PathBuf>,
    /// The folder relative paths are resolved against.
    pub dir: PathBuf,
    /// SHA-256 of the file's bytes (a reload of identical bytes is skipped).
    pub content_hash: [u8; 32],
}

/// A config together with what was ignored or defaulted while loading it.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The config.
    pub config: Config,
    /// Unknown keys and replaced values, each with its path.
    pub warnings: Vec<ConfigWarning>,
}

impl Config {
    /// Reads and validates `path`. Relative paths inside resolve against the file's folder.
    pub fn load(path: &Path) -> Result<LoadedConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        let dir = absolute
            .parent()
            .map(Path::to_owned)
            .unwrap_or_else(|| PathBuf::from("."));
        Self::parse(&text, Some(absolute), dir)
    }

    /// Validates YAML text. `path` names the file in messages; `dir` anchors relative paths.
    pub fn parse(
        text: &str,
        path: Option<PathBuf>,
        dir: PathBuf,
    ) -> Result<LoadedConfig, ConfigError> {
        let source = ConfigSource {
            path,
            dir,
            content_hash: Sha256::digest(text.as_bytes()).into(),
        };
        validate::validate(text, source)
    }

    /// The listen address as `host:port` (an empty host listens on every interface).
    pub fn listen_addr(&self) -> String {
        let host = if self.host.is_empty() {
            "0.0.0.0"
        } else {
            self.host.as_str()
        };
        if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{}", self.port)
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// Whether `host` only accepts connections from this machine.
    pub fn host_is_loopback(&self) -> bool {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}
