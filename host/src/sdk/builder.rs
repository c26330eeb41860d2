//! [`SwitchyardBuilder`]: what an embedded switchyard is made of, before it starts; and
//! [`Switchyard::builder`], where building starts.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{SdkConfig, SdkError, Switchyard};
use crate::access::{AccessProviderFactory, ProviderRegistry};
use crate::affinity::SessionStore;
use crate::config::{LoadedConfig, LogFormat};
use crate::credential::store::CredentialStore;
use crate::hooks::Hooks;
use crate::server::{self, DEFAULT_SHUTDOWN_GRACE, ServerOptions};
use crate::session::{ExtractorRegistry, SessionExtractorFactory};

/// Builds a [`Switchyard`]; from [`Switchyard::builder`].
///
/// Give it a config ([`SwitchyardBuilder::config`] or [`SwitchyardBuilder::config_file`]),
/// register native types and plug in stores and hooks, then [`SwitchyardBuilder::build`].
#[must_use]
pub struct SwitchyardBuilder {
    config: Option<Source>,
    providers: ProviderRegistry,
    extractors: ExtractorRegistry,
    credential_store: Option<Arc<dyn CredentialStore>>,
    session_store: Option<Arc<dyn SessionStore>>,
    hooks: Option<Arc<dyn Hooks>>,
    watch: bool,
    shutdown_grace: Duration,
    management_password: Option<String>,
    local_password: Option<String>,
    log_format: Option<LogFormat>,
}

enum Source {
    Sdk(Box<SdkConfig>),
    File(PathBuf),
    Loaded(Box<LoadedConfig>),
}

impl std::fmt::Debug for SwitchyardBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SwitchyardBuilder")
            .field("providers", &self.providers)
            .field("extractors", &self.extractors)
            .field("watch", &self.watch)
            .finish_non_exhaustive()
    }
}

impl Switchyard {
    /// Starts building an embedded switchyard.
    pub fn builder() -> SwitchyardBuilder {
        SwitchyardBuilder {
            config: None,
            providers: ProviderRegistry::new(),
            extractors: ExtractorRegistry::new(),
            credential_store: None,
            session_store: None,
            hooks: None,
            watch: true,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            management_password: None,
            local_password: None,
            log_format: None,
        }
    }
}

impl SwitchyardBuilder {
    /// Configures from code. Such an instance changes config only through
    /// [`Switchyard::apply_config`] (there is no file to watch).
    pub fn config(mut self, config: SdkConfig) -> SwitchyardBuilder {
        self.config = Some(Source::Sdk(Box::new(config)));
        self
    }

    /// Configures from a `config.yaml` (any CLIProxyAPI config loads; unknown keys are
    /// warnings). The file, `auth-dir` and `plugins.dir` are watched unless
    /// [`SwitchyardBuilder::watch`] turns that off.
    pub fn config_file(mut self, path: impl Into<PathBuf>) -> SwitchyardBuilder {
        self.config = Some(Source::File(path.into()));
        self
    }

    /// Configures from a config file already read with [`Config::load`](crate::Config::load),
    /// as [`SwitchyardBuilder::config_file`] without reading the file again: for a program
    /// that sets its logging up from the config's `debug` and `log-format` before building.
    /// The warnings are logged at [`SwitchyardBuilder::build`]; the file (when the config
    /// came from one) is watched as with `config_file`.
    pub fn loaded_config(mut self, loaded: LoadedConfig) -> SwitchyardBuilder {
        self.config = Some(Source::Loaded(Box::new(loaded)));
        self
    }

    /// Registers a native access-provider type under `kind`: config instances naming it
    /// (`auth.providers[].type`) are built by `factory`, beside the Wasm plugin types, in one
    /// chain. A native type takes precedence over a plugin declaring the same name.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use switchyard::{
    ///     AccessFuture, AccessOutcome, AccessProvider, InstanceConfig, RequestHead, Switchyard,
    /// };
    ///
    /// struct Everyone;
    ///
    /// impl AccessProvider for Everyone {
    ///     fn authenticate<'a>(&'a self, _head: &'a RequestHead) -> AccessFuture<'a> {
    ///         Box::pin(async {
    ///             Ok(AccessOutcome::Allow { principal: "anyone".into(), metadata: vec![] })
    ///         })
    ///     }
    /// }
    ///
    /// let builder = Switchyard::builder().register_access_provider("everyone", |_: &InstanceConfig| {
    ///     Ok(Arc::new(Everyone) as Arc<dyn AccessProvider>)
    /// });
    /// ```
    pub fn register_access_provider(self, kind: &str, factory: impl AccessProviderFactory) -> Self {
        self.providers.register_native(kind, factory);
        self
    }

    /// Registers a native session-extractor type under `kind`, for
    /// `routing.session-extractors[].type`, beside the Wasm plugin types.
    pub fn register_session_extractor(
        self,
        kind: &str,
        factory: impl SessionExtractorFactory,
    ) -> Self {
        self.extractors.register_native(kind, factory);
        self
    }

    /// Lists credentials from `store` instead of `auth-dir`'s files (they join the config's
    /// key lists).
    pub fn credential_store(mut self, store: impl CredentialStore) -> SwitchyardBuilder {
        self.credential_store = Some(Arc::new(store));
        self
    }

    /// Keeps session bindings in the caches `store` opens instead of in memory (a Redis
    /// `routing.session-store` in the config still wins).
    pub fn session_store(mut self, store: impl SessionStore) -> SwitchyardBuilder {
        self.session_store = Some(Arc::new(store));
        self
    }

    /// Reports credential changes and request results to `hooks`.
    pub fn hooks(mut self, hooks: impl Hooks) -> SwitchyardBuilder {
        self.hooks = Some(Arc::new(hooks));
        self
    }

    /// Whether to start watching the config file, `auth-dir` and `plugins.dir` (default
    /// true; only instances built from a file watch). See [`Switchyard::enable_watcher`].
    pub fn watch(mut self, watch: bool) -> SwitchyardBuilder {
        self.watch = watch;
        self
    }

    /// How long in-flight requests get to finish at [`Switchyard::shutdown`] (default 30 s).
    pub fn shutdown_grace(mut self, grace: Duration) -> SwitchyardBuilder {
        self.shutdown_grace = grace;
        self
    }

    /// A management-API password for every client (as the `MANAGEMENT_PASSWORD` variable):
    /// enables `/v0/management` even without `remote-management.secret-key`.
    pub fn management_password(mut self, password: &str) -> SwitchyardBuilder {
        self.management_password = Some(password.to_owned());
        self
    }

    /// A management-API password accepted from local clients only (as the binary's
    /// `--password`): enough on its own to enable `/v0/management`, for loopback clients.
    pub fn local_password(mut self, password: &str) -> SwitchyardBuilder {
        self.local_password = Some(password.to_owned());
        self
    }

    /// Tells switchyard that the program set its logging up with the config's `log-format`
    /// `format`: a reload that changes `log-format` then reports that it applies after a
    /// restart (`restart-required`). Leave it unset when logging does not follow the config.
    pub fn log_format(mut self, format: LogFormat) -> SwitchyardBuilder {
        self.log_format = Some(format);
        self
    }

    /// Validates the config, starts the plugin host and prepares the first generation. Nothing
    /// listens yet: call [`Switchyard::serve`] or [`Switchyard::listen`], or mount
    /// [`Switchyard::router`]. Must be called inside a tokio runtime.
    pub async fn build(self) -> Result<Switchyard, SdkError> {
        let mut options = match self.config {
            None => return Err(SdkError::NoConfig),
            Some(Source::File(path)) => ServerOptions::from_file(path),
            Some(Source::Sdk(config)) => ServerOptions::from_config(config.validate()?),
            Some(Source::Loaded(loaded)) => ServerOptions::from_config(*loaded),
        };
        if let Some(password) = self.management_password {
            options = options.with_management_password(password);
        }
        if let Some(password) = self.local_password {
            options = options.with_local_password(password);
        }
        if let Some(format) = self.log_format {
            options = options.with_log_format(format);
        }
        options = options
            .with_providers(self.providers)
            .with_extractors(self.extractors);
        options.credential_store = self.credential_store;
        options.session_store = self.session_store;
        options.hooks = self.hooks;
        let booted = server::boot(options).await?;
        let switchyard = Switchyard::new(booted, self.shutdown_grace);
        if self.watch && switchyard.config_file().is_some() {
            switchyard.enable_watcher()?;
        }
        Ok(switchyard)
    }
}
