//! [`SdkConfig`]: the part of `config.yaml` a program sets in code, turned into the same
//! validated [`Config`] a file gives (one validation path, the same key names in errors).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::config::{Config, ConfigError, LoadedConfig, Strategy};

/// The configuration of an embedded switchyard, built in code.
///
/// Each setter names the `config.yaml` key it sets; [`SdkConfig::set`] sets any other key
/// (`request-retry`, `passthrough-headers`, `upstream-timeouts`, …). [`SdkConfig::validate`]
/// turns it into a [`Config`] through the same validation as a file, so an invalid value is
/// reported with its key path (the file is named `<inline>`).
///
/// ```
/// use std::time::Duration;
/// use switchyard::{InstanceSpec, SdkConfig, Upstream};
///
/// let config = SdkConfig::new()
///     .listen("127.0.0.1", 0)
///     .access_provider(InstanceSpec::new("team", "team-token").setting("realm", "a"))
///     .upstream(Upstream::claude("sk-ant-1").base_url("http://127.0.0.1:9"))
///     .session_affinity(Duration::from_secs(600))
///     .set("request-retry", 2);
/// let validated = config.validate().unwrap();
/// assert_eq!(validated.config.access_providers[0].name, "team");
/// assert_eq!(validated.config.retry.request_retry, 2);
///
/// let wrong = SdkConfig::new().set("request-retry", "many").validate().unwrap_err();
/// assert_eq!(wrong.key(), Some("request-retry"));
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct SdkConfig {
    base_dir: PathBuf,
    keys: Map<String, Value>,
    providers: Vec<Value>,
    extractors: Option<Vec<Value>>,
    upstreams: Vec<(&'static str, Value)>,
}

impl Default for SdkConfig {
    fn default() -> Self {
        SdkConfig::new()
    }
}

impl SdkConfig {
    /// A config listening on `127.0.0.1` (port 0: any free port), with no credentials and no
    /// access provider; relative paths resolve against the current directory.
    pub fn new() -> SdkConfig {
        let mut keys = Map::new();
        keys.insert("host".into(), json!("127.0.0.1"));
        keys.insert("port".into(), json!(0));
        SdkConfig {
            base_dir: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            keys,
            providers: Vec::new(),
            extractors: None,
            upstreams: Vec::new(),
        }
    }

    /// `host` and `port`: where [`crate::Switchyard::listen`] binds (an empty host is every
    /// interface). Also decides whether serving without an access provider is allowed: only
    /// on a loopback host, unless [`SdkConfig::allow_unauthenticated`].
    pub fn listen(self, host: &str, port: u16) -> SdkConfig {
        self.set("host", host).set("port", port)
    }

    /// Adds a client key to `api-keys`: the embedded `config-api-key` provider's
    /// `config-inline` instance, last in the chain, or, when an access provider of type
    /// `config-api-key` is listed, the keys of the first one while it has none of its own.
    pub fn api_key(mut self, key: &str) -> SdkConfig {
        let keys = self
            .keys
            .entry("api-keys")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = keys {
            list.push(json!(key));
        }
        self
    }

    /// Appends an access-provider instance to `auth.providers` (chain order is call order).
    pub fn access_provider(mut self, instance: InstanceSpec) -> SdkConfig {
        self.providers.push(instance.into_value());
        self
    }

    /// Appends a session-extractor instance to `routing.session-extractors`. Without any,
    /// the embedded `session-standard` extractor runs alone.
    pub fn session_extractor(mut self, instance: InstanceSpec) -> SdkConfig {
        self.extractors
            .get_or_insert_with(Vec::new)
            .push(instance.into_value());
        self
    }

    /// `routing.strategy`.
    pub fn strategy(self, strategy: Strategy) -> SdkConfig {
        self.set_routing("strategy", json!(strategy.as_str()))
    }

    /// `routing.session-affinity: true` with `routing.session-affinity-ttl`.
    pub fn session_affinity(self, ttl: Duration) -> SdkConfig {
        self.set_routing("session-affinity", json!(true))
            .set_routing("session-affinity-ttl", json!(format!("{}s", ttl.as_secs())))
    }

    /// Adds an upstream credential to the config's key lists (`claude-api-key`, …).
    pub fn upstream(mut self, upstream: Upstream) -> SdkConfig {
        self.upstreams.push((upstream.list, upstream.entry));
        self
    }

    /// `auth-dir`: the folder of credential files the default credential store reads.
    pub fn auth_dir(self, dir: impl Into<PathBuf>) -> SdkConfig {
        let dir = dir.into();
        self.set("auth-dir", dir.to_string_lossy())
    }

    /// `plugins.dir` (and `plugins.enabled: true`): the folder of `*.wasm` plugins.
    pub fn plugins_dir(mut self, dir: impl Into<PathBuf>) -> SdkConfig {
        let plugins = self.object("plugins");
        plugins.insert("enabled".into(), json!(true));
        plugins.insert("dir".into(), json!(dir.into().to_string_lossy()));
        self
    }

    /// `plugins.enabled`: load plugins from the folder (the embedded ones always load).
    pub fn plugins_enabled(mut self, enabled: bool) -> SdkConfig {
        self.object("plugins")
            .insert("enabled".into(), json!(enabled));
        self
    }

    /// `allow-unauthenticated`: serve a non-loopback host with no access provider.
    pub fn allow_unauthenticated(self, allow: bool) -> SdkConfig {
        self.set("allow-unauthenticated", allow)
    }

    /// The folder relative paths (`auth-dir`, `plugins.dir`) resolve against.
    pub fn base_dir(mut self, dir: impl Into<PathBuf>) -> SdkConfig {
        self.base_dir = dir.into();
        self
    }

    /// Sets the top-level `config.yaml` key `key` (kebab-case, as in the file) to `value`,
    /// replacing what an earlier call set. Keys switchyard does not know are warnings, as in a
    /// file.
    pub fn set(mut self, key: &str, value: impl serde::Serialize) -> SdkConfig {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.keys.insert(key.to_owned(), value);
        self
    }

    /// The config as `config.yaml` text.
    pub fn to_yaml(&self) -> String {
        serde_yaml_ng::to_string(&self.to_value()).expect("JSON values serialize as YAML")
    }

    /// Validates the config as a file's: the typed [`Config`] and its warnings, or the first
    /// error with its key path.
    pub fn validate(&self) -> Result<LoadedConfig, ConfigError> {
        Config::parse(&self.to_yaml(), None, self.base_dir.clone())
    }

    fn to_value(&self) -> Value {
        let mut keys = self.keys.clone();
        if !self.providers.is_empty() {
            let auth = object_in(&mut keys, "auth");
            auth.insert("providers".into(), Value::Array(self.providers.clone()));
        }
        if let Some(extractors) = &self.extractors {
            let routing = object_in(&mut keys, "routing");
            routing.insert(
                "session-extractors".into(),
                Value::Array(extractors.clone()),
            );
        }
        for (list, entry) in &self.upstreams {
            let entries = keys
                .entry(*list)
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(entries) = entries {
                entries.push(entry.clone());
            }
        }
        Value::Object(keys)
    }

    fn set_routing(mut self, key: &str, value: Value) -> SdkConfig {
        self.object("routing").insert(key.to_owned(), value);
        self
    }

    fn object(&mut self, key: &str) -> &mut Map<String, Value> {
        object_in(&mut self.keys, key)
    }
}

/// The object at `key` of `map`, made an empty one when missing or not an object.
fn object_in<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let value = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    value.as_object_mut().expect("made an object above")
}

/// A configured plugin instance: an entry of `auth.providers` (access providers) or of
/// `routing.session-extractors` (session extractors), native or Wasm alike.
///
/// ```
/// use switchyard::InstanceSpec;
///
/// let keys = InstanceSpec::new("keys", "config-api-key")
///     .setting("api-keys", ["sk-1", "sk-2"]);
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct InstanceSpec {
    name: String,
    kind: String,
    settings: Map<String, Value>,
}

impl InstanceSpec {
    /// The instance `name` of the type `kind` (a registered native type or a plugin's name).
    pub fn new(name: &str, kind: &str) -> InstanceSpec {
        InstanceSpec {
            name: name.to_owned(),
            kind: kind.to_owned(),
            settings: Map::new(),
        }
    }

    /// Sets one entry of the instance's `config` (what its factory or the plugin's
    /// `configure` receives as JSON).
    pub fn setting(mut self, key: &str, value: impl serde::Serialize) -> InstanceSpec {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.settings.insert(key.to_owned(), value);
        self
    }

    fn into_value(self) -> Value {
        let mut entry = json!({ "name": self.name, "type": self.kind });
        if !self.settings.is_empty() {
            entry["config"] = Value::Object(self.settings);
        }
        entry
    }
}

/// One upstream credential of the config's key lists (`claude-api-key`, `codex-api-key`,
/// `gemini-api-key`, `vertex-api-key`, `openai-compatibility`).
///
/// ```
/// use switchyard::Upstream;
///
/// let claude = Upstream::claude("sk-ant-1").priority(1).weight(3).model("claude-sonnet-4-5", "sonnet");
/// let local = Upstream::openai_compatible("local", "http://127.0.0.1:8000/v1", "none");
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Upstream {
    list: &'static str,
    entry: Value,
}

impl Upstream {
    /// An Anthropic key (`claude-api-key`).
    pub fn claude(api_key: &str) -> Upstream {
        Upstream::keyed("claude-api-key", api_key)
    }

    /// An OpenAI key for the Responses API (`codex-api-key`).
    pub fn codex(api_key: &str) -> Upstream {
        Upstream::keyed("codex-api-key", api_key)
    }

    /// A Gemini key (`gemini-api-key`).
    pub fn gemini(api_key: &str) -> Upstream {
        Upstream::keyed("gemini-api-key", api_key)
    }

    /// A Vertex AI API key (`vertex-api-key`) for the endpoint at `base_url` (required):
    /// Gemini models only.
    pub fn vertex(api_key: &str, base_url: &str) -> Upstream {
        Upstream::keyed("vertex-api-key", api_key).base_url(base_url)
    }

    /// An OpenAI-compatible endpoint (`openai-compatibility`) named `name`, with one key.
    pub fn openai_compatible(name: &str, base_url: &str, api_key: &str) -> Upstream {
        Upstream {
            list: "openai-compatibility",
            entry: json!({
                "name": name,
                "base-url": base_url,
                "api-key-entries": [{ "api-key": api_key }],
            }),
        }
    }

    fn keyed(list: &'static str, api_key: &str) -> Upstream {
        Upstream {
            list,
            entry: json!({ "api-key": api_key }),
        }
    }

    /// `base-url` (a key list entry's; for `openai_compatible`, replaces the given one).
    pub fn base_url(mut self, url: &str) -> Upstream {
        self.entry["base-url"] = json!(url);
        self
    }

    /// `prefix`: `prefix/model` targets only credentials with this prefix.
    pub fn prefix(mut self, prefix: &str) -> Upstream {
        self.entry["prefix"] = json!(prefix);
        self
    }

    /// `priority`: higher tiers are used first.
    pub fn priority(mut self, priority: i32) -> Upstream {
        self.entry["priority"] = json!(priority);
        self
    }

    /// `weight`: the credential's share of requests under `weighted-round-robin` (0 to
    /// 1,000,000; 0 is never chosen by it; other strategies ignore it).
    pub fn weight(mut self, weight: u32) -> Upstream {
        self.entry["weight"] = json!(weight);
        self
    }

    /// Adds a `models` entry: upstream model `name` served to clients as `alias`.
    pub fn model(mut self, name: &str, alias: &str) -> Upstream {
        let models = self
            .entry
            .as_object_mut()
            .expect("entries are objects")
            .entry("models")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(models) = models {
            models.push(json!({ "name": name, "alias": alias }));
        }
        self
    }

    /// Sets any other key of the entry (`headers`, `excluded-models`, `proxy-url`, …).
    pub fn set(mut self, key: &str, value: impl serde::Serialize) -> Upstream {
        self.entry[key] = serde_json::to_value(value).unwrap_or(Value::Null);
        self
    }
}
