//! Wiring: load the config, build the first generation, listen, serve, shut down gracefully.

mod activity;
mod body_deadline;
mod connection;
mod connection_gate;
mod cors;
mod per_core;
mod prefixed;
mod request_id;
pub(crate) mod request_log;
mod router;
pub(crate) mod secret_files;
mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::access::ProviderRegistry;
use crate::affinity::SessionStore;
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConfigError, LoadedConfig, LogFormat, ServingMode};
use crate::credential::store::CredentialStore;
use crate::generation::PrepareError;
use crate::hooks::Hooks;
use crate::management::{Management, Passwords};
use crate::plugin::{HostOptions, PluginError, PluginHost};
use crate::reload::{self, ConfigWatcher, ReloadError};
use crate::runtime::Runtime;
use crate::secret;
use crate::session::ExtractorRegistry;

pub(crate) use body_deadline::BodyReadTimedOut;
pub(crate) use request_id::RequestId;
pub(crate) use tls::TlsError;

/// How long in-flight requests get to finish after a shutdown signal, by default.
pub(crate) const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Starts the plugin host for `config` with the embedded plugins installed. The plugins folder
/// is staged with the first generation (and again by every reload).
async fn start_plugins(config: &Config, clock: Arc<dyn Clock>) -> Result<PluginHost, PluginError> {
    let mut options = HostOptions::from_config(&config.plugins);
    options.clock = clock;
    let host = PluginHost::new(options)?;
    host.load_embedded().await?;
    Ok(host)
}

/// Raises the soft open-file limit to the hard limit, so thousands of concurrent streams fit.
/// Returns the new soft limit.
pub(crate) fn raise_open_file_limit() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// Why the server did not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The config file is missing or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The first generation could not be built.
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    /// The first generation could not be prepared for another reason (a plugin file's).
    #[error(transparent)]
    Reload(Box<ReloadError>),
    /// The plugin host could not start, or an embedded plugin did not load.
    #[error("plugins: {0}")]
    Plugins(#[from] PluginError),
    /// The TLS certificate or key cannot be used.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The config file cannot be watched.
    #[error("cannot watch the config file: {0}")]
    Watch(#[from] notify::Error),
    /// Binding the listen address failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
}

impl From<ReloadError> for ServerError {
    fn from(error: ReloadError) -> Self {
        match error {
            ReloadError::Config(error) => ServerError::Config(error),
            ReloadError::Prepare(error) => ServerError::Prepare(error),
            other => ServerError::Reload(Box::new(other)),
        }
    }
}

/// How to start a server.
#[derive(Debug)]
#[non_exhaustive]
pub struct ServerOptions {
    /// The config: a file to load, or an already loaded one.
    pub config: ConfigInput,
    /// The time source (tests pass a [`crate::clock::ManualClock`]).
    pub clock: Arc<dyn Clock>,
    /// Serve on this listener instead of binding `host:port`.
    pub listener: Option<std::net::TcpListener>,
    /// How long in-flight requests get to finish after a shutdown signal.
    pub shutdown_grace: Duration,
    /// Watch the config file, `auth-dir` and `plugins.dir` and reload on changes (when the
    /// config has a file).
    pub watch: bool,
    /// Management passwords that do not come from the config (`--password`,
    /// `MANAGEMENT_PASSWORD`).
    pub passwords: Passwords,
    /// Access-provider types beside the embedded and folder plugins (native Rust providers).
    pub providers: ProviderRegistry,
    /// Session-extractor types beside the embedded and folder plugins (native Rust extractors).
    pub extractors: ExtractorRegistry,
    /// Where credentials beyond the config's key lists come from; `None` reads `auth-dir`.
    pub credential_store: Option<Arc<dyn CredentialStore>>,
    /// Opens session-binding caches; `None` keeps them in memory (or in the configured Redis).
    pub session_store: Option<Arc<dyn SessionStore>>,
    /// The embedding program's observers.
    pub hooks: Option<Arc<dyn Hooks>>,
    /// How long a RESP connection that is not subscribed may stay without a command
    /// ([`crate::resp::IDLE_TIMEOUT`]; tests shorten it).
    pub resp_idle_timeout: Duration,
    /// How long a management event stream stays quiet before a keepalive comment.
    pub event_keepalive: Duration,
    /// The config's `log-format` the program set its logging up with; a reload that changes
    /// it then reports that it applies after a restart. `None`: logging is not set up from
    /// the config (an embedding program's own, or a command-line flag).
    pub log_format: Option<LogFormat>,
    /// When token credentials renew their tokens ([`crate::token::TokenPolicy`]; tests
    /// shorten the lifetimes).
    pub token_policy: crate::token::TokenPolicy,
}

/// Where the config comes from.
#[derive(Debug)]
pub enum ConfigInput {
    /// A YAML file.
    File(PathBuf),
    /// A config already loaded.
    Loaded(Box<LoadedConfig>),
}

impl ServerOptions {
    /// Options for the config file at `path`, the real clock, binding `host:port`.
    pub fn from_file(path: impl Into<PathBuf>) -> Self {
        Self::new(ConfigInput::File(path.into()))
    }

    /// Options for an already loaded config.
    pub fn from_config(config: LoadedConfig) -> Self {
        Self::new(ConfigInput::Loaded(Box::new(config)))
    }

    fn new(config: ConfigInput) -> Self {
        ServerOptions {
            config,
            clock: Arc::new(SystemClock),
            listener: None,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            watch: true,
            passwords: Passwords::default(),
            providers: ProviderRegistry::new(),
            extractors: ExtractorRegistry::new(),
            credential_store: None,
            session_store: None,
            hooks: None,
            resp_idle_timeout: crate::resp::IDLE_TIMEOUT,
            event_keepalive: crate::management::events::KEEPALIVE,
            log_format: None,
            token_policy: Default::default(),
        }
    }

    /// Renews tokens by `policy` instead of the defaults (tests accept short lifetimes).
    pub fn with_token_policy(mut self, policy: crate::token::TokenPolicy) -> Self {
        self.token_policy = policy;
        self
    }

    /// Logging was set up with the config's `log-format` `format`: a reload that changes it
    /// asks for a restart (`restart-required`).
    pub fn with_log_format(mut self, format: LogFormat) -> Self {
        self.log_format = Some(format);
        self
    }

    /// Closes RESP connections that are not subscribed after `timeout` without a command.
    pub fn with_resp_idle_timeout(mut self, timeout: Duration) -> Self {
        self.resp_idle_timeout = timeout;
        self
    }

    /// Sends a keepalive comment on a quiet management event stream after `interval` instead
    /// of the default 15 s (tests shorten it).
    pub fn with_event_keepalive(mut self, interval: Duration) -> Self {
        self.event_keepalive = interval;
        self
    }

    /// `--password`: a management password accepted from local clients only, enough on its own
    /// to enable the management API.
    pub fn with_local_password(mut self, password: impl Into<String>) -> Self {
        self.passwords.local = Some(password.into());
        self
    }

    /// `MANAGEMENT_PASSWORD`: a management secret for every client; it also allows non-local
    /// clients (as `remote-management.allow-remote: true`).
    pub fn with_management_password(mut self, password: impl Into<String>) -> Self {
        self.passwords.env = Some(password.into());
        self
    }

    /// Uses `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Uses `providers` for access-provider types (register native providers in it first).
    pub fn with_providers(mut self, providers: ProviderRegistry) -> Self {
        self.providers = providers;
        self
    }

    /// Uses `extractors` for session-extractor types (register native extractors in it first).
    pub fn with_extractors(mut self, extractors: ExtractorRegistry) -> Self {
        self.extractors = extractors;
        self
    }

    /// Turns file watching (hot reload) on or off.
    pub fn with_watch(mut self, watch: bool) -> Self {
        self.watch = watch;
        self
    }

    /// Sets how long in-flight requests get to finish after a shutdown signal.
    pub fn with_shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Serves on `listener` instead of binding the configured address.
    pub fn with_listener(mut self, listener: std::net::TcpListener) -> Self {
        self.listener = Some(listener);
        self
    }
}

/// A server that is accepting connections.
#[derive(Debug)]
pub struct RunningServer {
    local_addr: SocketAddr,
    runtime: Arc<Runtime>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    watcher: Option<ConfigWatcher>,
}

impl RunningServer {
    /// Loads the config, prepares the first generation and starts listening.
    pub async fn start(mut options: ServerOptions) -> Result<RunningServer, ServerError> {
        let listener = options.listener.take();
        let watch_files = options.watch;
        let grace = options.shutdown_grace;
        let booted = boot(options).await?;
        let bound_from = listener.is_none().then(|| {
            let config = booted.runtime.generation().config.clone();
            (config.host.clone(), config.port)
        });
        let mode = booted.runtime.generation().config.server.runtime;
        let listener = bind(listener, &booted.listen, mode).await?;
        let watcher = match &booted.config_path {
            Some(path) if watch_files => {
                Some(ConfigWatcher::spawn(booted.runtime.clone(), path.clone())?)
            }
            _ => None,
        };
        let serving = booted.serve(listener, bound_from, grace)?;
        Ok(RunningServer {
            local_addr: serving.local_addr,
            runtime: booted.runtime,
            stop: serving.stop,
            task: serving.task,
            watcher,
        })
    }

    /// The address the server listens on (the real port when the config says 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The server's runtime (current generation, credential states, clock).
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// Stops accepting, lets in-flight requests finish (up to the grace period), then returns.
    pub async fn shutdown(self) {
        if let Some(watcher) = self.watcher {
            watcher.stop();
        }
        let _ = self.stop.send(true);
        // Event streams never finish on their own: end them so the drain does not wait.
        self.runtime.events.close_all();
        let _ = self.task.await;
        self.runtime.stop();
    }

    /// Runs until `signal` completes, then shuts down gracefully.
    pub async fn run_until(self, signal: impl std::future::Future<Output = ()>) {
        signal.await;
        self.shutdown().await;
    }
}

/// A server ready to serve: its runtime with the first generation swapped in, and the router.
pub(crate) struct Booted {
    /// The runtime.
    pub(crate) runtime: Arc<Runtime>,
    /// The management API's state (shared with the RESP feed).
    pub(crate) management: Arc<Management>,
    /// The whole HTTP application.
    pub(crate) app: axum::Router,
    /// The TLS acceptor, when `tls.enable`.
    pub(crate) tls: Option<tokio_rustls::TlsAcceptor>,
    /// The config file, when the config came from one.
    pub(crate) config_path: Option<PathBuf>,
    /// The configured `host:port`.
    pub(crate) listen: String,
}

/// An accept loop running on a listener.
pub(crate) struct Serving {
    /// Where it listens.
    pub(crate) local_addr: SocketAddr,
    /// Set to true to stop accepting and drain.
    pub(crate) stop: watch::Sender<bool>,
    /// The accept loop; it ends after the drain.
    pub(crate) task: JoinHandle<()>,
}

/// Loads the config, starts the plugin host and prepares and installs the first generation;
/// nothing listens yet (`options.listener` and `options.watch` are not used here).
pub(crate) async fn boot(options: ServerOptions) -> Result<Booted, ServerError> {
    let mut loaded = match options.config {
        ConfigInput::File(path) => Config::load(&path)?,
        ConfigInput::Loaded(loaded) => *loaded,
    };
    if let Some(path) = loaded.config.source.path.clone()
        && !secret::is_hashed(&loaded.config.management.secret_key)
        && !loaded.config.management.secret_key.is_empty()
    {
        // A plaintext secret-key is replaced by its bcrypt hash in the file.
        match secret::hash_in_file(&path) {
            Ok(true) => loaded = Config::load(&path)?,
            Ok(false) => {}
            Err(error) => tracing::warn!("cannot hash remote-management.secret-key: {error}"),
        }
    }
    for warning in &loaded.warnings {
        tracing::warn!("config: {warning}");
    }
    let config = loaded.config;
    secret_files::warn_readable(
        config.source.path.as_deref(),
        options
            .credential_store
            .is_none()
            .then_some(config.auth_dir.as_path()),
    );
    let plugins = start_plugins(&config, options.clock.clone()).await?;
    let mut runtime = Runtime::new(options.clock, plugins, options.providers)
        .with_extractors(options.extractors)
        .with_session_store(options.session_store)
        .with_hooks(options.hooks)
        .with_log_format(options.log_format);
    if let Some(store) = options.credential_store {
        runtime = runtime.with_credential_store(store);
    }
    runtime.tokens.set_policy(options.token_policy);
    let runtime = Arc::new(runtime);
    // A plugin file that does not load is logged and left out; an instance naming a type
    // nobody provides stops the start.
    let first = {
        let _guard = runtime.reload_guard().await;
        reload::prepare_config(&runtime, config).await?
    };
    let listen = first.config().listen_addr();
    let tls = match first.config().tls.enable {
        true => Some(tls::acceptor(&first.config().tls)?),
        false => None,
    };
    let config_path = first.config().source.path.clone();
    reload::commit(&runtime, first);
    let management = Arc::new(
        Management::new(runtime.clone(), options.passwords)
            .with_resp_idle_timeout(options.resp_idle_timeout)
            .with_event_keepalive(options.event_keepalive),
    );
    let app = router::app(runtime.clone(), management.clone());
    Ok(Booted {
        runtime,
        management,
        app,
        tls,
        config_path,
        listen,
    })
}

/// `listener`, or a new one bound to `listen`: for `server.runtime: per-core` with
/// `SO_REUSEPORT`, so each core's socket can join its port.
pub(crate) async fn bind(
    listener: Option<std::net::TcpListener>,
    listen: &str,
    mode: ServingMode,
) -> Result<std::net::TcpListener, ServerError> {
    let failed = |source| ServerError::Bind {
        addr: listen.to_owned(),
        source,
    };
    if let Some(listener) = listener {
        return Ok(listener);
    }
    match mode {
        ServingMode::WorkStealing => TcpListener::bind(listen)
            .await
            .and_then(TcpListener::into_std)
            .map_err(failed),
        ServingMode::PerCore => {
            // As `TcpListener::bind`: the first address that binds.
            let mut last = None;
            for addr in tokio::net::lookup_host(listen).await.map_err(failed)? {
                match per_core::bind_shared(addr) {
                    Ok(listener) => return Ok(listener),
                    Err(error) => last = Some(error),
                }
            }
            Err(failed(last.unwrap_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "the address resolves to nothing",
                )
            })))
        }
    }
}

impl Booted {
    /// Starts the accept loop on `listener` (bound from the config's `bound_from` host and
    /// port, or passed in by the program); in-flight requests get `grace` at shutdown. Refuses
    /// a listener beyond loopback while the generation authenticates nobody.
    /// With `server.runtime: per-core`, every core accepts on the port: on sockets joined to
    /// it when the server bound it (`bound_from`), else on clones of `listener`.
    pub(crate) fn serve(
        &self,
        listener: std::net::TcpListener,
        bound_from: Option<(String, u16)>,
        grace: Duration,
    ) -> Result<Serving, ServerError> {
        let failed = |source| ServerError::Bind {
            addr: self.listen.clone(),
            source,
        };
        listener.set_nonblocking(true).map_err(failed)?;
        let local_addr = listener.local_addr().map_err(failed)?;
        let generation = self.runtime.generation();
        if generation.access.is_empty()
            && !generation.config.allow_unauthenticated
            && !local_addr.ip().is_loopback()
        {
            return Err(ServerError::Prepare(PrepareError::Unauthenticated {
                host: local_addr.to_string(),
            }));
        }
        let mode = generation.config.server.runtime;
        let joinable = bound_from.is_some();
        self.runtime.add_listener(local_addr, bound_from);
        self.runtime.set_serving_mode(mode);
        let examples = crate::proxy::example_key::example_keys_in(&generation.config);
        if !local_addr.ip().is_loopback() && !examples.is_empty() {
            tracing::warn!(
                "example client keys ({}) on a listener beyond loopback: the proxy routes answer \
                 403 unsafe_example_api_key until they are replaced",
                examples.join(", ")
            );
        }
        let (stop, stopped) = watch::channel(false);
        let service = connection::Service {
            tls: self.tls.clone(),
            app: self.app.clone(),
            runtime: self.runtime.clone(),
            management: self.management.clone(),
            gate: connection_gate::ConnectionGate::new(self.runtime.metrics.clone()),
            stop: stopped,
            grace,
        };
        let (task, threads) = match mode {
            ServingMode::WorkStealing => {
                let listener = TcpListener::from_std(listener).map_err(failed)?;
                (tokio::spawn(connection::serve(listener, service)), 0)
            }
            ServingMode::PerCore => (
                per_core::spawn(listener, joinable, service).map_err(failed)?,
                crate::serving_core::count(),
            ),
        };
        tracing::info!(
            generation = self.runtime.generation().number,
            runtime = mode.as_str(),
            threads,
            "switchyard listening on http://{local_addr}"
        );
        Ok(Serving {
            local_addr,
            stop,
            task,
        })
    }
}
