//! The management API under `/v0/management`: read and change the
//! running proxy's config, keys, credentials and routing, and read its usage.
//!
//! Every route answers 404 unless a management secret exists (`remote-management.secret-key`,
//! `MANAGEMENT_PASSWORD`, or `--password`); requests pass the [`auth::Gate`] first. Every
//! write edits `config.yaml` (or an auth file) atomically — keeping comments, key order and the
//! `auth:` block — through the same reload pipeline as a file edit, before it answers: the next
//! generation is prepared from the new text, then the file is written, then the generation is
//! committed; a change the config validation or the preparation refuses is never written. The
//! path-valued keys (`auth-dir`, `plugins.dir`, `plugins.cache-dir`, `tls.cert`, `tls.key`)
//! are file-only: a write that changes one is refused ([`path_keys`]).

pub(crate) mod api_keys;
pub(crate) mod auth;
pub(crate) mod auth_files;
pub(crate) mod ban;
pub(crate) mod config_credential;
pub(crate) mod config_file;
pub(crate) mod console;
pub(crate) mod credentials;
pub(crate) mod error;
pub(crate) mod events;
pub(crate) mod history;
pub(crate) mod masked_secret;
pub(crate) mod path_keys;
pub(crate) mod plugins;
pub(crate) mod provider_keys;
pub(crate) mod report;
pub(crate) mod sessions;
pub(crate) mod setting;
pub(crate) mod vertex;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http::HeaderValue;
use tokio::sync::Mutex;

pub(crate) use auth::{Gate, Passwords};
pub(crate) use error::ManagementError;

use crate::atomic_file;
use crate::build_info;
use crate::client_address::{self, ClientAddress};
use crate::config::yaml_edit::EditError;
use crate::config::{self, Config};
use crate::reload;
use crate::runtime::Runtime;
use crate::secret;

/// The mount point.
pub(crate) const PREFIX: &str = "/v0/management";

/// The management API's state: the runtime it manages, the gate, and a lock that serializes
/// writes.
#[derive(Debug)]
pub(crate) struct Management {
    /// The running proxy.
    pub runtime: Arc<Runtime>,
    /// Authentication and bans (shared with the Redis-protocol port).
    pub gate: Gate,
    writes: Mutex<()>,
    resp_idle_timeout: Option<Duration>,
    event_keepalive: Duration,
}

impl Management {
    /// Management of `runtime`, with the passwords given at start.
    pub(crate) fn new(runtime: Arc<Runtime>, passwords: Passwords) -> Self {
        let gate = Gate::new(passwords, runtime.clock.clone(), runtime.metrics.clone());
        runtime.usage.set_feed_always_on(gate.always_enabled());
        Management {
            runtime,
            gate,
            writes: Mutex::new(()),
            resp_idle_timeout: None,
            event_keepalive: events::KEEPALIVE,
        }
    }

    /// The same, with RESP connections closed after `timeout` without a command (instead of
    /// the RESP port's default; tests shorten it).
    pub(crate) fn with_resp_idle_timeout(mut self, timeout: Duration) -> Self {
        self.resp_idle_timeout = Some(timeout);
        self
    }

    /// The same, with a keepalive comment on a quiet event stream after `interval`.
    pub(crate) fn with_event_keepalive(mut self, interval: Duration) -> Self {
        self.event_keepalive = interval;
        self
    }

    /// How long an event stream stays quiet before a keepalive comment.
    pub(crate) fn event_keepalive(&self) -> Duration {
        self.event_keepalive
    }

    /// How long a RESP connection that is not subscribed may stay without a command (`None`:
    /// the RESP port's default).
    pub(crate) fn resp_idle_timeout(&self) -> Option<Duration> {
        self.resp_idle_timeout
    }

    /// Whether the management API (and the usage feed) is on for the current config.
    pub(crate) fn enabled(&self) -> bool {
        self.gate.enabled(&self.runtime.generation().config)
    }

    /// Checks a key from `client` against the current config.
    pub(crate) async fn authenticate(
        &self,
        client: ClientAddress,
        key: &str,
    ) -> Result<(), ManagementError> {
        self.log_in(client, key).await.map(|_| ())
    }

    /// Checks a key from `client` against the current config and returns the fingerprint the login
    /// depends on ([`Gate::fingerprint`]). A key that matched a legacy hash of a long secret
    /// gets its new hash written to `config.yaml` (through the config write path) first.
    pub(crate) async fn log_in(
        &self,
        client: ClientAddress,
        key: &str,
    ) -> Result<[u8; 32], ManagementError> {
        let mut config = self.runtime.generation().config.clone();
        if !self.gate.enabled(&config) {
            return Err(ManagementError::Disabled);
        }
        let granted = self.gate.check(&config, client, key).await?;
        if let Some(legacy) = granted.legacy_hash {
            self.replace_legacy_hash(&legacy, key).await;
            config = self.runtime.generation().config.clone();
        }
        self.gate
            .fingerprint(&config, client)
            .ok_or(ManagementError::Disabled)
    }

    /// What a login from `client` depends on under the current config (`None`: the API is
    /// off or closed to `client`).
    pub(crate) fn fingerprint(&self, client: ClientAddress) -> Option<[u8; 32]> {
        self.gate
            .fingerprint(&self.runtime.generation().config, client)
    }

    /// Writes a new hash of `key` over `legacy` in `config.yaml` (unless the file's secret
    /// changed meanwhile) and reloads. A failure is logged; the login stands.
    async fn replace_legacy_hash(&self, legacy: &str, key: &str) {
        let new_hash = match self.gate.hash(key).await {
            Ok(hash) => hash,
            Err(error) => {
                tracing::warn!("cannot re-hash remote-management.secret-key: {error}");
                return;
            }
        };
        let result = self
            .edit_config(
                |text| match secret::replace_hash_in_text(text, legacy, &new_hash) {
                    Ok(Some(replaced)) => Ok(replaced),
                    Ok(None) => Ok(text.to_owned()),
                    Err(error) => Err(ManagementError::InvalidConfig(error.to_string())),
                },
            )
            .await;
        match result {
            Ok(()) => tracing::info!(
                "remote-management.secret-key: a legacy hash of a long secret was replaced"
            ),
            Err(error) => tracing::warn!(
                "remote-management.secret-key matched a legacy hash that cannot be replaced: {error}"
            ),
        }
    }

    /// The config file of the running generation.
    pub(crate) fn config_path(&self) -> Result<PathBuf, ManagementError> {
        self.runtime
            .generation()
            .config
            .source
            .path
            .clone()
            .ok_or(ManagementError::NoConfigFile)
    }

    /// The config file's text.
    pub(crate) async fn config_text(&self) -> Result<String, ManagementError> {
        let path = self.config_path()?;
        read_config(&path).await
    }

    /// Edits `config.yaml` with `edit` (old text → new text), then validates, prepares, writes
    /// and commits as [`Management::replace_config`] does.
    pub(crate) async fn edit_config(
        &self,
        edit: impl FnOnce(&str) -> Result<String, ManagementError>,
    ) -> Result<(), ManagementError> {
        let _write = self.writes.lock().await;
        let path = self.config_path()?;
        let old = read_config(&path).await?;
        let new = edit(&old)?;
        self.write_and_reload(&path, &old, new).await
    }

    /// Replaces `config.yaml` with `text`: a plaintext secret is hashed, the result must load as
    /// a config and prepare as the next generation; only then is it written atomically and the
    /// prepared generation committed. A refused change leaves the file untouched.
    pub(crate) async fn replace_config(&self, text: String) -> Result<(), ManagementError> {
        let _write = self.writes.lock().await;
        let path = self.config_path()?;
        let old = match tokio::fs::read_to_string(&path).await {
            Ok(old) => old,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(ManagementError::WriteFailed(e.to_string())),
        };
        self.write_and_reload(&path, &old, text).await
    }

    async fn write_and_reload(
        &self,
        path: &Path,
        old: &str,
        new: String,
    ) -> Result<(), ManagementError> {
        let file = path.display().to_string();
        let new = tokio::task::spawn_blocking(move || match secret::hash_in_text(&new) {
            Ok(Some(hashed)) => Ok(hashed),
            Ok(None) => Ok(new),
            // The parser's own error, with its line and column.
            Err(secret::SecretError::Edit(EditError::Syntax(message))) => {
                Err(match config::check_syntax(&new, &file) {
                    Err(error) => ManagementError::Config(error),
                    Ok(()) => ManagementError::InvalidYaml(message),
                })
            }
            Err(error) => Err(ManagementError::InvalidConfig(error.to_string())),
        })
        .await
        .map_err(|e| ManagementError::WriteFailed(e.to_string()))??;
        let dir = path.parent().map(Path::to_owned).unwrap_or_default();
        let after = Config::parse(&new, Some(path.to_owned()), dir.clone())
            .map_err(ManagementError::Config)?
            .config;
        // The file's own values are the reference; a file that is gone, empty or no longer
        // loads falls back to the running ones.
        let before = match old.trim() {
            "" => None,
            text => Config::parse(text, Some(path.to_owned()), dir).ok(),
        }
        .map_or_else(|| (*self.runtime.generation().config).clone(), |l| l.config);
        let changed = path_keys::changed(&before, &after);
        if !changed.is_empty() {
            tracing::warn!(
                keys = changed.join(", "),
                "management write refused: path-valued keys are file-only"
            );
            return Err(ManagementError::PathKeysAreFileOnly(changed));
        }
        if new == old {
            return Ok(());
        }
        // Prepare from the new text before writing it: a change the preparation refuses never
        // reaches the file. The reload guard is held from the preparation to the commit, so a
        // file-watcher reload runs before or after, never between.
        let _reload = self.runtime.reload_guard().await;
        let prepared = reload::prepare(
            &self.runtime,
            reload::Source::Text {
                text: new.clone(),
                path: path.to_owned(),
            },
        )
        .await;
        if prepared.is_ok() {
            write_file(path, new.as_bytes()).await?;
        }
        reload::finish(
            &self.runtime,
            prepared,
            "config written and applied",
            "management write refused",
        )
        .map(|_| ())
        .map_err(|error| match error {
            reload::ReloadError::Config(error) => ManagementError::Config(error),
            other => ManagementError::InvalidConfig(other.to_string()),
        })
    }

    /// Applies a change of the files in `auth-dir` (already written) through the reload path.
    pub(crate) async fn reload_auth_files(&self) -> Result<(), ManagementError> {
        let _write = self.writes.lock().await;
        let path = self.config_path()?;
        reload::reload(&self.runtime, &path)
            .await
            .map(|_| ())
            .map_err(|e| ManagementError::InvalidConfig(e.to_string()))
    }
}

/// Reads `config.yaml`.
async fn read_config(path: &Path) -> Result<String, ManagementError> {
    match tokio::fs::read_to_string(path).await {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(ManagementError::ConfigFileMissing)
        }
        Err(e) => Err(ManagementError::WriteFailed(e.to_string())),
    }
}

/// Writes a file atomically, keeping its mode (0600 for a new one).
async fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ManagementError> {
    let (path, bytes) = (path.to_owned(), bytes.to_vec());
    tokio::task::spawn_blocking(move || {
        let mode = atomic_file::mode_of(&path).unwrap_or(0o600);
        atomic_file::write(&path, &bytes, mode)
    })
    .await
    .map_err(|e| ManagementError::WriteFailed(e.to_string()))?
    .map_err(|e| ManagementError::WriteFailed(e.to_string()))
}

impl From<EditError> for ManagementError {
    fn from(error: EditError) -> Self {
        ManagementError::InvalidConfig(error.to_string())
    }
}

/// The `/v0/management` routes, behind the gate.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>(management: Arc<Management>) -> Router<S> {
    Router::new()
        .merge(config_file::routes())
        .merge(setting::routes())
        .merge(api_keys::routes())
        .merge(provider_keys::routes())
        .merge(auth_files::routes())
        .merge(vertex::routes())
        .merge(plugins::routes())
        .merge(report::routes())
        .merge(credentials::routes())
        .merge(sessions::routes())
        .merge(events::routes())
        .merge(history::routes())
        .layer(middleware::from_fn_with_state(management.clone(), guard))
        .with_state(management)
}

/// The TCP peer of a request (`0.0.0.0` — not local — when unknown).
pub(crate) fn peer_ip(request: &Request) -> IpAddr {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip())
}

/// The client of a request, resolved through the running config's `trusted-proxies`.
pub(crate) fn client_of(request: &Request, config: &Config) -> ClientAddress {
    client_address::resolve(peer_ip(request), request.headers(), &config.trusted_proxies)
}

/// Lets a request through the gate, or answers why not.
async fn guard(
    State(management): State<Arc<Management>>,
    request: Request,
    next: Next,
) -> Response {
    let client = client_of(&request, &management.runtime.generation().config);
    let ip = client.ip;
    let key = auth::key_from_headers(request.headers());
    let mut response = match management.authenticate(client, &key).await {
        Ok(()) => next.run(request).await,
        // As if there were no such route.
        Err(ManagementError::Disabled) => return ManagementError::Disabled.into_response(),
        Err(denied) => {
            // The request's summary line has the status; the reason is detail.
            tracing::debug!(%ip, "management request refused: {denied}");
            denied.into_response()
        }
    };
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-switchyard-version", build_info::VERSION),
        // The reference's names, read by its panel and tooling.
        ("x-cpa-version", build_info::VERSION),
        ("x-cpa-commit", build_info::commit()),
        ("x-cpa-build-date", build_info::date()),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    response
}

/// `{"status":"ok"}`.
pub(crate) fn ok() -> Response {
    axum::Json(serde_json::json!({ "status": "ok" })).into_response()
}

/// Parses a JSON body, or 400 `invalid body`.
pub(crate) fn json_body(bytes: &[u8]) -> Result<serde_json::Value, ManagementError> {
    serde_json::from_slice(bytes).map_err(|_| ManagementError::BadRequest("invalid body".into()))
}
