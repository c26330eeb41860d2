//! Upstream credentials: one record type for config keys and auth files alike,
//! their runtime state (cooldowns per model), and how one is chosen for a request.

pub(crate) mod availability;
pub(crate) mod blame;
pub(crate) mod candidate;
pub(crate) mod config_source;
pub(crate) mod cooldown;
pub(crate) mod file_store;
pub(crate) mod oauth_file;
pub(crate) mod selector;
pub(crate) mod shared_cooldown;
pub(crate) mod state;
pub(crate) mod store;
pub(crate) mod vertex;
pub(crate) mod vertex_file;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use http::{HeaderName, HeaderValue};
use sha2::{Digest, Sha256};
use url::Url;

use crate::config::{CompatProtocol, ModelAlias, ProxyUrl};
use crate::protocol::Protocol;

pub use vertex::VertexTarget;

/// A credential's stable id: `claude:apikey:0123456789ab` for config keys, the file name for
/// auth files. Equal on every machine for the same config.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CredentialId(Arc<str>);

impl CredentialId {
    /// Wraps an id string.
    pub fn new(id: impl Into<Arc<str>>) -> Self {
        CredentialId(id.into())
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CredentialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The upstream API family a credential belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// Anthropic Messages API.
    Claude,
    /// OpenAI Responses API with an OpenAI key (`codex-api-key`).
    Codex,
    /// Gemini `generateContent` API.
    Gemini,
    /// Any OpenAI-compatible endpoint (`openai-compatibility`).
    OpenAiCompatibility,
    /// Google Vertex AI: Gemini models, and Claude models through Anthropic's Vertex
    /// publisher (`vertex` auth files, `vertex-api-key`).
    Vertex,
}

impl ProviderKind {
    /// The provider name used in ids, logs and the management API.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Claude => "claude",
            ProviderKind::Codex => "codex",
            ProviderKind::Gemini => "gemini",
            ProviderKind::OpenAiCompatibility => "openai-compatibility",
            ProviderKind::Vertex => "vertex",
        }
    }

    /// Parses an auth file's `type`.
    pub fn from_type(text: &str) -> Option<Self> {
        match text {
            "claude" => Some(ProviderKind::Claude),
            "codex" => Some(ProviderKind::Codex),
            "gemini" => Some(ProviderKind::Gemini),
            "openai-compatibility" => Some(ProviderKind::OpenAiCompatibility),
            "vertex" => Some(ProviderKind::Vertex),
            _ => None,
        }
    }

    /// Whether this provider serves requests in `protocol`. Vertex speaks Gemini, and Anthropic
    /// Messages for Claude models: see [`Credential::speaks`], which knows the model.
    pub fn speaks(self, protocol: Protocol) -> bool {
        match self {
            ProviderKind::Vertex => {
                matches!(protocol, Protocol::Gemini | Protocol::ClaudeMessages)
            }
            ProviderKind::Claude => protocol == Protocol::ClaudeMessages,
            ProviderKind::Codex => protocol == Protocol::OpenAiResponses,
            ProviderKind::Gemini => protocol == Protocol::Gemini,
            ProviderKind::OpenAiCompatibility => {
                matches!(protocol, Protocol::OpenAiChat | Protocol::OpenAiResponses)
            }
        }
    }

    /// The base URL used when a credential gives none.
    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            ProviderKind::Claude => Some("https://api.anthropic.com"),
            ProviderKind::Codex => Some("https://api.openai.com/v1"),
            ProviderKind::Gemini => Some("https://generativelanguage.googleapis.com"),
            ProviderKind::OpenAiCompatibility | ProviderKind::Vertex => None,
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The secret a credential authenticates with upstream. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// An API key (`x-api-key` for Claude, `x-goog-api-key` for Gemini, Bearer otherwise).
    ApiKey(String),
    /// An OAuth-style access token, always sent as `Authorization: Bearer`.
    AccessToken(String),
    /// A bearer token switchyard mints and renews itself ([`crate::token`]).
    Managed(Arc<crate::token::TokenSource>),
    /// No secret (an OpenAI-compatible endpoint that needs none).
    None,
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Secret::ApiKey(_) => "ApiKey(<redacted>)",
            Secret::AccessToken(_) => "AccessToken(<redacted>)",
            Secret::Managed(source) => return write!(f, "Managed({})", source.grant()),
            Secret::None => "None",
        })
    }
}

/// Where a credential was defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// An entry of a config list, such as `claude-api-key[2]`.
    Config {
        /// The entry's key path.
        entry: String,
    },
    /// A JSON file in `auth-dir`.
    File {
        /// The file.
        path: PathBuf,
    },
    /// A program-supplied [`store::CredentialStore`] (see [`Credential::from_json`]).
    Store,
}

/// One upstream credential. Immutable; its runtime state (cooldowns, counts) is kept apart,
/// keyed by the id, so it survives a reload. `Debug` shows no secret (of the auth file's JSON,
/// only its keys).
#[derive(Clone)]
#[non_exhaustive]
pub struct Credential {
    /// Stable id.
    pub id: CredentialId,
    /// Short stable index: the first 8 bytes of SHA-256 of the id, as 16 hex digits.
    pub index: String,
    /// The provider family.
    pub provider: ProviderKind,
    /// For `openai-compatibility`: the entry's `name`.
    pub compat_name: Option<String>,
    /// Display label.
    pub label: String,
    /// Model namespace (`prefix/model`).
    pub prefix: Option<String>,
    /// Higher is preferred.
    pub priority: i32,
    /// Share of requests under `weighted-round-robin`, 0 to 1,000,000; 0 is never chosen by
    /// it. Other strategies
    /// ignore it.
    pub weight: u32,
    /// Operator-disabled: never selected.
    pub disabled: bool,
    /// Upstream base URL.
    pub base_url: Url,
    /// How it authenticates upstream.
    pub secret: Secret,
    /// Extra headers sent upstream.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Models served; empty serves the provider's built-in list and family.
    pub models: Vec<ModelAlias>,
    /// Lower-cased model patterns never served.
    pub excluded_models: Vec<String>,
    /// Outbound proxy for this credential.
    pub proxy_url: Option<ProxyUrl>,
    /// Where it was defined.
    pub source: CredentialSource,
    /// Per-credential `request_retry` override.
    pub request_retry: Option<u32>,
    /// Per-credential `disable_cooling` override.
    pub disable_cooling: Option<bool>,
    /// Immutable string attributes (`path`, `source`, `note`, …).
    pub attributes: BTreeMap<String, String>,
    /// The auth file's JSON (file credentials only); what the file store writes back.
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// For `openai-compatibility`: which OpenAI API the upstream speaks.
    pub compat_protocol: CompatProtocol,
    /// For a Vertex service account: the project and location its URLs name (`None` for a
    /// `vertex-api-key` entry, whose URLs name neither).
    pub vertex: Option<VertexTarget>,
    /// Parsed upstream URLs of the fixed endpoints, built on first use.
    pub(crate) urls: UrlCache,
    /// The header that authenticates it upstream, built on first use.
    pub(crate) auth_header: AuthHeaderCache,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let metadata_keys = self
            .metadata
            .as_ref()
            .map(|m| m.keys().map(String::as_str).collect::<Vec<_>>());
        f.debug_struct("Credential")
            .field("id", &self.id)
            .field("provider", &self.provider)
            .field("compat_name", &self.compat_name)
            .field("label", &self.label)
            .field("prefix", &self.prefix)
            .field("priority", &self.priority)
            .field("weight", &self.weight)
            .field("disabled", &self.disabled)
            .field("base_url", &self.base_url.as_str())
            .field("secret", &self.secret)
            .field(
                "header_names",
                &self
                    .headers
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("models", &self.models)
            .field("excluded_models", &self.excluded_models)
            .field(
                "proxy_url",
                &self.proxy_url.as_ref().map(proxy_without_password),
            )
            .field("source", &self.source)
            .field("attributes", &self.attributes)
            .field("metadata_keys", &metadata_keys)
            .field("compat_protocol", &self.compat_protocol)
            .field("vertex", &self.vertex)
            .finish_non_exhaustive()
    }
}

/// A proxy setting for `Debug`: the URL without its password.
fn proxy_without_password(proxy: &ProxyUrl) -> String {
    match proxy {
        ProxyUrl::Direct => "direct".to_owned(),
        ProxyUrl::Via(url) => {
            let mut shown = url.clone();
            if shown.password().is_some() {
                let _ = shown.set_password(Some("redacted"));
            }
            shown.to_string()
        }
    }
}

/// Upstream URLs that depend only on the credential, parsed once instead of per request.
#[derive(Debug, Clone, Default)]
pub(crate) struct UrlCache {
    fixed: Arc<std::sync::OnceLock<Vec<(&'static str, Url)>>>,
    /// The same URLs as `http::Uri`s, what an HTTP client sends (a clone shares the bytes).
    fixed_uris: Arc<std::sync::OnceLock<Vec<(&'static str, http::Uri)>>>,
    /// Vertex: the `…/v1/[projects/{project}/locations/{location}/]publishers` root.
    publishers: Arc<std::sync::OnceLock<Option<Url>>>,
}

impl UrlCache {
    /// The Vertex publishers root, built by `build` on first use.
    pub(crate) fn publishers(&self, build: impl FnOnce() -> Option<Url>) -> Option<Url> {
        self.publishers.get_or_init(build).clone()
    }

    /// The URL of `base` + `path` (one of the fixed `paths`), parsed on first use.
    pub(crate) fn get(&self, base: &Url, paths: &[&'static str], path: &str) -> Option<Url> {
        let urls = self.fixed.get_or_init(|| {
            let base = base.as_str().trim_end_matches('/');
            paths
                .iter()
                .filter_map(|p| Url::parse(&format!("{base}{p}")).ok().map(|u| (*p, u)))
                .collect()
        });
        urls.iter()
            .find(|(p, _)| *p == path)
            .map(|(_, u)| u.clone())
    }

    /// The URL of [`UrlCache::get`] as an `http::Uri`, converted on first use.
    pub(crate) fn get_uri(
        &self,
        base: &Url,
        paths: &[&'static str],
        path: &str,
    ) -> Option<http::Uri> {
        let uris = self.fixed_uris.get_or_init(|| {
            paths
                .iter()
                .filter_map(|p| {
                    let url = self.get(base, paths, p)?;
                    Some((*p, http::Uri::try_from(url.as_str()).ok()?))
                })
                .collect()
        });
        uris.iter()
            .find(|(p, _)| *p == path)
            .map(|(_, u)| u.clone())
    }
}

/// The header that authenticates a credential upstream (`x-api-key: …`,
/// `Authorization: Bearer …`), built once instead of formatted per request. The value is
/// marked sensitive.
#[derive(Debug, Clone, Default)]
pub(crate) struct AuthHeaderCache(Arc<std::sync::OnceLock<Option<(HeaderName, HeaderValue)>>>);

impl AuthHeaderCache {
    /// The header, built by `build` on first use (`None`: the credential sends none itself).
    pub(crate) fn get(
        &self,
        build: impl FnOnce() -> Option<(HeaderName, HeaderValue)>,
    ) -> Option<&(HeaderName, HeaderValue)> {
        self.0.get_or_init(build).as_ref()
    }
}

impl Credential {
    /// Builds a credential from the JSON of an auth file (the same fields `auth-dir` files
    /// have: `type` `claude`, `codex`, `gemini` or `openai-compatibility` with `api_key`,
    /// `access_token` or an `oauth2` object, or `vertex` with `service_account`, and optionally `base_url`, `prefix`, `priority`, `weight`, `disabled`,
    /// `headers`, `models`, `excluded_models`, `proxy_url`, `label`, …), with `id` as its id. For
    /// programs that keep credentials elsewhere than in files ([`store::CredentialStore`]).
    /// The error says what is missing or wrong.
    ///
    /// ```
    /// use switchyard::{Credential, ProviderKind};
    ///
    /// let credential = Credential::from_json(
    ///     "team-a-claude",
    ///     &serde_json::json!({"type": "claude", "api_key": "sk-ant-1", "priority": 2}),
    /// )
    /// .unwrap();
    /// assert_eq!(credential.provider, ProviderKind::Claude);
    /// assert_eq!(credential.id.as_str(), "team-a-claude");
    /// assert!(Credential::from_json("x", &serde_json::json!({"type": "claude"})).is_err());
    /// ```
    pub fn from_json(id: &str, json: &serde_json::Value) -> Result<Credential, String> {
        let bytes = serde_json::to_vec(json).map_err(|e| e.to_string())?;
        let mut credential = file_store::parse_file(std::path::Path::new(id), &bytes)?;
        credential.id = CredentialId::new(id);
        credential.index = index_of(id);
        credential.source = CredentialSource::Store;
        credential.attributes.remove("path");
        credential
            .attributes
            .insert("source_backend".to_owned(), "store".to_owned());
        Ok(credential)
    }

    /// Whether two credentials are defined alike (every field but the runtime caches): a
    /// reload that keeps the id but changes any of them reports the credential as updated.
    pub fn same_definition(&self, other: &Credential) -> bool {
        self.id == other.id
            && self.provider == other.provider
            && self.compat_name == other.compat_name
            && self.label == other.label
            && self.prefix == other.prefix
            && self.priority == other.priority
            && self.weight == other.weight
            && self.disabled == other.disabled
            && self.base_url == other.base_url
            && self.secret == other.secret
            && self.headers == other.headers
            && self.models == other.models
            && self.excluded_models == other.excluded_models
            && self.proxy_url == other.proxy_url
            && self.source == other.source
            && self.request_retry == other.request_retry
            && self.disable_cooling == other.disable_cooling
            && self.attributes == other.attributes
            && self.metadata == other.metadata
            && self.compat_protocol == other.compat_protocol
            && self.vertex == other.vertex
    }

    /// Whether this credential's upstream speaks `protocol` natively (no translation) for
    /// `model` (the upstream model name): Vertex calls Claude models in Anthropic Messages and
    /// the others in Gemini.
    pub fn speaks(&self, protocol: Protocol, model: &str) -> bool {
        match (self.provider, self.compat_protocol) {
            (ProviderKind::Vertex, _) => protocol == vertex::protocol_for(self, model),
            (ProviderKind::OpenAiCompatibility, CompatProtocol::Chat) => {
                protocol == Protocol::OpenAiChat
            }
            (ProviderKind::OpenAiCompatibility, CompatProtocol::Responses) => {
                protocol == Protocol::OpenAiResponses
            }
            (provider, _) => provider.speaks(protocol),
        }
    }

    /// The protocol this credential's upstream is called in for a client of `client` asking
    /// for `model` (the upstream model name): the client's own when the upstream speaks it,
    /// else the upstream's (the request is translated).
    pub(crate) fn upstream_protocol(&self, client: Protocol, model: &str) -> Protocol {
        if self.speaks(client, model) {
            return client;
        }
        match (self.provider, self.compat_protocol) {
            (ProviderKind::Vertex, _) => vertex::protocol_for(self, model),
            (ProviderKind::Claude, _) => Protocol::ClaudeMessages,
            (ProviderKind::Codex, _) => Protocol::OpenAiResponses,
            (ProviderKind::Gemini, _) => Protocol::Gemini,
            (ProviderKind::OpenAiCompatibility, CompatProtocol::Responses) => {
                Protocol::OpenAiResponses
            }
            (ProviderKind::OpenAiCompatibility, _) => Protocol::OpenAiChat,
        }
    }

    /// Whether cooling is disabled for this credential, given the global setting.
    pub fn cooling_disabled(&self, global: bool) -> bool {
        self.disable_cooling.unwrap_or(global)
    }
}

/// The 16-hex-digit index of a credential id.
pub(crate) fn index_of(id: &str) -> String {
    hex::encode(&Sha256::digest(id.as_bytes())[..8])
}

#[cfg(test)]
pub(crate) mod testing {
    //! Credentials for unit tests.

    use super::*;

    /// A Claude API-key credential with the given id and priority.
    pub(crate) fn credential(id: &str, priority: i32) -> Credential {
        Credential {
            id: CredentialId::new(id),
            index: index_of(id),
            provider: ProviderKind::Claude,
            compat_name: None,
            label: id.to_owned(),
            prefix: None,
            priority,
            weight: 1,
            disabled: false,
            base_url: Url::parse("http://127.0.0.1:9").unwrap(),
            secret: Secret::ApiKey(format!("key-{id}")),
            headers: Vec::new(),
            models: Vec::new(),
            excluded_models: Vec::new(),
            proxy_url: None,
            source: CredentialSource::Config {
                entry: "claude-api-key[0]".to_owned(),
            },
            request_retry: None,
            disable_cooling: None,
            attributes: BTreeMap::new(),
            metadata: None,
            compat_protocol: Default::default(),
            vertex: None,
            urls: UrlCache::default(),
            auth_header: Default::default(),
        }
    }
}
