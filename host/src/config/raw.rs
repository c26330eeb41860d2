//! The serde layer of `config.yaml`: field names and shapes exactly as users write them.
//!
//! Nothing here is validated beyond what serde checks (types). `super::validate` turns these
//! structs into the typed [`super::Config`]. Every struct takes `#[serde(default)]` so an absent
//! key keeps its default, as the reference does.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub(crate) struct RawConfig {
    pub host: String,
    pub port: u16,
    pub tls: RawTls,
    pub remote_management: RawRemoteManagement,
    pub auth_dir: String,
    pub api_keys: Vec<String>,
    pub debug: bool,
    pub log_format: String,
    pub usage_statistics_enabled: bool,
    pub proxy_url: String,
    pub passthrough_headers: bool,
    pub request_retry: i64,
    pub max_retry_credentials: i64,
    pub max_retry_interval: i64,
    pub max_cooldowns_per_request: Option<i64>,
    pub disable_cooling: bool,
    pub routing: RawRouting,
    pub streaming: RawStreaming,
    pub claude_api_key: Vec<RawProviderKey>,
    pub codex_api_key: Vec<RawProviderKey>,
    pub gemini_api_key: Vec<RawProviderKey>,
    pub vertex_api_key: Vec<RawProviderKey>,
    pub openai_compatibility: Vec<RawOpenAiCompat>,
    pub auth: RawAuth,
    pub allow_unauthenticated: bool,
    pub plugins: RawPlugins,
    pub body_limit_mb: Option<u64>,
    pub upstream_timeouts: RawUpstreamTimeouts,
    pub cors: RawCors,
    pub server: RawServer,
    pub trusted_proxies: Vec<String>,
    pub metrics: RawMetrics,
}

/// `metrics.*`
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub(crate) struct RawMetrics {
    pub public: bool,
}

/// `tls.*`
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub(crate) struct RawTls {
    pub enable: bool,
    pub cert: String,
    pub key: String,
}

/// `remote-management.*`
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub(crate) struct RawRemoteManagement {
    pub allow_remote: bool,
    pub secret_key: String,
    pub disable_control_panel: bool,
}

/// `routing.*`
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub(crate) struct RawRouting {
    pub strategy: String,
    pub session_affinity: bool,
    pub session_affinity_ttl: String,
    pub claude_code_session_affinity: bool,
    pub session_extractors: Option<Vec<RawInstance>>,
    pub session_store: String,
    pub session_store_prefix: Option<String>,
    pub session_store_secret: Option<String>,
    pub session_affinity_max_bindings: Option<u64>,
    pub max_tracked_models: Option<u64>,
}

/// `streaming.*`
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub(crate) struct RawStreaming {
    pub keepalive_seconds: i64,
    pub bootstrap_retries: i64,
    pub max_event_mib: Option<u64>,
}

/// One entry of `claude-api-key`, `codex-api-key`, `gemini-api-key` or `vertex-api-key`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub(crate) struct RawProviderKey {
    pub api_key: String,
    pub base_url: String,
    pub prefix: String,
    pub headers: BTreeMap<String, String>,
    pub models: Vec<RawModel>,
    pub excluded_models: Vec<String>,
    pub priority: i64,
    pub weight: Option<i64>,
    pub proxy_url: String,
    /// OAuth2 client credentials instead of `api-key` (`codex-api-key` only).
    pub oauth: Option<RawOAuthClient>,
}

/// One `{name, alias}` model entry.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub(crate) struct RawModel {
    pub name: String,
    pub alias: String,
}

/// One entry of `openai-compatibility`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub(crate) struct RawOpenAiCompat {
    pub name: String,
    pub base_url: String,
    pub prefix: String,
    pub headers: BTreeMap<String, String>,
    pub api_key_entries: Vec<RawApiKeyEntry>,
    /// The reference's older form: a plain list of keys.
    pub api_keys: Vec<String>,
    pub models: Vec<RawModel>,
    pub excluded_models: Vec<String>,
    pub priority: i64,
    pub weight: Option<i64>,
    /// `chat`, `responses` or `both`: which OpenAI API the upstream speaks.
    pub protocol: String,
    /// OAuth2 client credentials instead of `api-key-entries`.
    pub oauth: Option<RawOAuthClient>,
}

/// `oauth:` of a `codex-api-key` or `openai-compatibility` entry.
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub(crate) struct RawOAuthClient {
    pub token_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub scope: String,
    pub audience: String,
    pub auth_method: String,
}

impl std::fmt::Debug for RawOAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawOAuthClient")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// One entry of `openai-compatibility[].api-key-entries`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub(crate) struct RawApiKeyEntry {
    pub api_key: String,
    pub proxy_url: String,
    pub weight: Option<i64>,
}

/// `auth.*`
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub(crate) struct RawAuth {
    pub providers: Vec<RawInstance>,
}

/// A plugin instance: an entry of `auth.providers` or `routing.session-extractors`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub(crate) struct RawInstance {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub config: Option<serde_json::Value>,
    /// Shorthand for `config: {api-keys: …}` on `config-api-key` instances.
    pub api_keys: Option<Vec<String>>,
    pub limits: Option<RawLimits>,
    /// `deny` or `skip` (access providers only).
    pub on_fault: Option<String>,
    /// The reference's SDK hint; accepted and unused.
    pub sdk: Option<serde_json::Value>,
}

/// `plugins.*`
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub(crate) struct RawPlugins {
    pub enabled: Option<bool>,
    pub dir: String,
    pub cache_dir: String,
    pub limits: RawLimits,
    pub quarantine: RawQuarantine,
    pub allow_override: Vec<String>,
    pub max_file_mib: Option<u64>,
}

/// `plugins.quarantine.*`
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub(crate) struct RawQuarantine {
    pub min_calls: Option<u64>,
    pub fault_ratio: Option<f64>,
    pub window_s: Option<u64>,
    pub duration_s: Option<u64>,
    pub max_faults_per_address: Option<u64>,
}

/// `plugins.limits` or an instance's own `limits`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub(crate) struct RawLimits {
    pub deadline_ms: Option<u64>,
    pub memory_mib: Option<u64>,
    pub max_concurrency: Option<u64>,
}

/// `upstream-timeouts.*`
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub(crate) struct RawUpstreamTimeouts {
    pub connect_ms: Option<u64>,
    pub first_byte_ms: Option<u64>,
    pub idle_ms: Option<u64>,
}

/// `server.*`
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub(crate) struct RawServer {
    pub header_read_timeout_ms: Option<u64>,
    pub idle_timeout_ms: Option<u64>,
    pub body_read_timeout_ms: Option<u64>,
    pub max_connections: Option<u64>,
    pub max_connections_per_ip: Option<u64>,
    pub runtime: Option<String>,
}

/// `cors.*`
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub(crate) struct RawCors {
    pub allow_origins: Vec<String>,
}
