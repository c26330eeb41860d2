//! [`Switchyard`]: an embedded proxy, serving or ready to serve.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::watch;

use super::{ApplyError, SdkConfig, SdkError};
use crate::config::Config;
use crate::reload::{ConfigWatcher, ReloadOutcome};
use crate::runtime::ReloadStatus;
use crate::server::{self, Booted, Serving};

/// An embedded switchyard: the proxy, its management API and its hot state.
///
/// Built by [`Switchyard::builder`]; then either [`Switchyard::serve`] it on a listener (with
/// switchyard's own connection handling: HTTP/1.1, h2, TLS when configured, the RESP usage
/// feed) or mount [`Switchyard::router`] in the program's own axum app. Config changes come
/// from the watched file or from the program ([`Switchyard::apply_config`]); every change
/// prepares a complete new generation and swaps it in only when it is ready.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use switchyard::{SdkConfig, Switchyard, Upstream};
///
/// let switchyard = Switchyard::builder()
///     .config(
///         SdkConfig::new()
///             .listen("127.0.0.1", 8317)
///             .api_key("sk-client-1")
///             .upstream(Upstream::claude("sk-ant-...")),
///     )
///     .build()
///     .await?;
/// let addr = switchyard.listen().await?;
/// println!("listening on http://{addr}");
/// switchyard.run_until(async { tokio::signal::ctrl_c().await.unwrap() }).await;
/// # Ok(())
/// # }
/// ```
pub struct Switchyard {
    booted: Booted,
    grace: Duration,
    watcher: Mutex<Option<ConfigWatcher>>,
    serving: Mutex<Option<Serving>>,
}

impl std::fmt::Debug for Switchyard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Switchyard")
            .field("generation", &self.generation())
            .field("local_addr", &self.local_addr())
            .field("watching", &self.is_watching())
            .finish_non_exhaustive()
    }
}

impl Switchyard {
    pub(super) fn new(booted: Booted, grace: Duration) -> Switchyard {
        Switchyard {
            booted,
            grace,
            watcher: Mutex::new(None),
            serving: Mutex::new(None),
        }
    }

    /// switchyard's whole HTTP application (proxy routes, `/healthz`, `/metrics`, the
    /// management API) as an axum [`Router`](axum::Router), to merge or nest into the
    /// program's own app.
    ///
    /// Serve the app with `into_make_service_with_connect_info::<SocketAddr>()` so switchyard
    /// sees the TCP peer (local-only management, `127.0.0.1` detection); without it every
    /// client counts as remote. TLS and the RESP usage feed are then the program's business.
    /// Config changes apply to the mounted router too.
    pub fn router(&self) -> super::Router {
        self.booted.app.clone()
    }

    /// Serves on `listener` (already bound) until [`Switchyard::shutdown`]; returns its
    /// address. One listener per instance.
    pub fn serve(&self, listener: std::net::TcpListener) -> Result<SocketAddr, SdkError> {
        self.serve_on(listener, None)
    }

    /// Serves on `listener`, bound from the config's `host` and `port` when `bound_from` says so.
    fn serve_on(
        &self,
        listener: std::net::TcpListener,
        bound_from: Option<(String, u16)>,
    ) -> Result<SocketAddr, SdkError> {
        let mut serving = self.serving.lock();
        if let Some(serving) = serving.as_ref() {
            return Err(SdkError::AlreadyServing(serving.local_addr));
        }
        let started = self.booted.serve(listener, bound_from, self.grace)?;
        let addr = started.local_addr;
        *serving = Some(started);
        Ok(addr)
    }

    /// Binds the configured `host:port` and serves there, as [`Switchyard::serve`]; returns
    /// the address (the real port when the config says 0).
    pub async fn listen(&self) -> Result<SocketAddr, SdkError> {
        if let Some(addr) = self.local_addr() {
            return Err(SdkError::AlreadyServing(addr));
        }
        let config = self.config();
        let listener = server::bind(None, &self.booted.listen, config.server.runtime).await?;
        self.serve_on(listener, Some((config.host.clone(), config.port)))
    }

    /// Where [`Switchyard::serve`] or [`Switchyard::listen`] serves, once it does.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.serving.lock().as_ref().map(|s| s.local_addr)
    }

    /// The serving generation's number: 1 after the build, +1 per applied change.
    pub fn generation(&self) -> u64 {
        self.booted.runtime.generation().number
    }

    /// The serving generation's validated config.
    pub fn config(&self) -> Arc<Config> {
        self.booted.runtime.generation().config.clone()
    }

    /// Watches changes: the generation number, reload attempts and failures, the last error.
    /// Wait on it (`wait_for`) instead of sleeping after a file change.
    pub fn reload_status(&self) -> watch::Receiver<ReloadStatus> {
        self.booted.runtime.reload_status()
    }

    /// Applies `config`: validates it as a file would be, prepares the next generation
    /// (plugins, access and extractor chains, credentials from the store) and swaps it in.
    /// Returns the new generation number; on error the running generation stays and the
    /// error is also recorded in [`Switchyard::reload_status`].
    ///
    /// A running file watcher still reloads the file on its next change, replacing what was
    /// applied here: [`Switchyard::disable_watcher`] first when the program owns the config.
    pub async fn apply_config(&self, config: SdkConfig) -> Result<u64, ApplyError> {
        let loaded = match config.validate() {
            Ok(loaded) => loaded,
            Err(error) => {
                self.booted.runtime.record_reload(Some(error.to_string()));
                return Err(error.into());
            }
        };
        for warning in &loaded.warnings {
            tracing::warn!("config: {warning}");
        }
        self.apply_validated(loaded.config).await
    }

    /// Applies an already validated [`Config`] (such as [`Switchyard::config`] changed), as
    /// [`Switchyard::apply_config`].
    pub async fn apply_validated(&self, config: Config) -> Result<u64, ApplyError> {
        Ok(crate::reload::apply(&self.booted.runtime, config).await?)
    }

    /// Prepares a new generation from the serving config: asks the credential store again
    /// and restages the plugins folder. For a program whose credential store changed.
    pub async fn refresh(&self) -> Result<u64, ApplyError> {
        let config = (*self.config()).clone();
        self.apply_validated(config).await
    }

    /// Reloads the config file now (as the watcher does on a change): `Ok(None)` when the
    /// file, the credentials and the plugins are unchanged.
    pub async fn reload_file(&self) -> Result<Option<u64>, ApplyError> {
        let path = self.config_file().ok_or_else(|| {
            ApplyError::Rejected("no config file: built from an SdkConfig".into())
        })?;
        match crate::reload::reload(&self.booted.runtime, path).await? {
            ReloadOutcome::Applied(number) => Ok(Some(number)),
            ReloadOutcome::Unchanged => Ok(None),
        }
    }

    /// The config file, when built from one.
    pub fn config_file(&self) -> Option<&Path> {
        self.booted.config_path.as_deref()
    }

    /// Starts watching the config file, `auth-dir` and `plugins.dir` (a no-op when already
    /// watching). Only for instances built from a file.
    pub fn enable_watcher(&self) -> Result<(), SdkError> {
        let path = self.config_file().ok_or(SdkError::NoConfigFile)?.to_owned();
        let mut watcher = self.watcher.lock();
        if watcher.is_none() {
            let spawned =
                ConfigWatcher::spawn(self.booted.runtime.clone(), path).map_err(SdkError::Watch)?;
            *watcher = Some(spawned);
        }
        Ok(())
    }

    /// Stops watching files and waits until the watcher has stopped; changes then come only
    /// from the program.
    pub async fn disable_watcher(&self) {
        let watcher = self.watcher.lock().take();
        if let Some(watcher) = watcher {
            watcher.shutdown().await;
        }
    }

    /// Whether the file watcher runs.
    pub fn is_watching(&self) -> bool {
        self.watcher.lock().is_some()
    }

    /// Shuts down gracefully: stops the watcher, stops accepting, lets in-flight requests
    /// finish (up to the grace period), then stops the selector, the session cache's sweeps
    /// and the shared store's connections. Returns once all of that has ended.
    pub async fn shutdown(self) {
        self.disable_watcher().await;
        let serving = self.serving.lock().take();
        if let Some(serving) = serving {
            let _ = serving.stop.send(true);
            let _ = serving.task.await;
        }
        self.booted.runtime.stop();
    }

    /// Runs until `signal` completes, then [shuts down](Switchyard::shutdown).
    pub async fn run_until(self, signal: impl std::future::Future<Output = ()>) {
        signal.await;
        self.shutdown().await;
    }
}
