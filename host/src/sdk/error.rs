//! What can go wrong when embedding switchyard. Each error keeps the typed error below it as
//! its source, and the `is_*` helpers name the common cases without matching on it.

use std::error::Error;

use crate::config::ConfigError;
use crate::generation::PrepareError;
use crate::plugin::PluginError;
use crate::reload::ReloadError;
use crate::server::ServerError;

/// Why a [`crate::Switchyard`] could not be built, serve, or watch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SdkError {
    /// The builder was given neither an [`crate::SdkConfig`] nor a config file.
    #[error("no config: call SwitchyardBuilder::config or SwitchyardBuilder::config_file")]
    NoConfig,
    /// The config is invalid (its key path and line are in the error).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The first generation, the plugins, TLS or the listener could not be set up.
    #[error("{0}")]
    Start(#[source] Box<ServerError>),
    /// The listener handed to [`crate::Switchyard::serve`] (or the one bound by
    /// [`crate::Switchyard::listen`]) cannot be used.
    #[error("cannot use the listener: {0}")]
    Listener(#[source] std::io::Error),
    /// [`crate::Switchyard::serve`] or [`crate::Switchyard::listen`] was called while the
    /// instance is already serving.
    #[error("already serving on {0}")]
    AlreadyServing(std::net::SocketAddr),
    /// The watcher needs a config file, and this instance was built from an
    /// [`crate::SdkConfig`]: apply changes with [`crate::Switchyard::apply_config`].
    #[error("no config file to watch (built from an SdkConfig)")]
    NoConfigFile,
    /// The config file's folder cannot be watched.
    #[error("cannot watch the config file: {0}")]
    Watch(#[source] notify::Error),
}

impl SdkError {
    /// The config is invalid.
    pub fn is_config(&self) -> bool {
        matches!(self, SdkError::Config(_))
    }

    /// The plugin host or a plugin file could not be set up.
    pub fn is_plugins(&self) -> bool {
        matches!(self.server_error(), Some(ServerError::Plugins(_)))
    }

    /// Why the first generation could not be prepared (an unknown plugin type, a rejected
    /// setting, the credential store, the session store's URL, …), when that is what failed.
    pub fn prepare_error(&self) -> Option<&PrepareError> {
        match self.server_error()? {
            ServerError::Prepare(error) => Some(error),
            _ => None,
        }
    }

    /// The server's own error, when starting failed.
    pub fn server_error(&self) -> Option<&ServerError> {
        match self {
            SdkError::Start(error) => Some(error),
            _ => None,
        }
    }
}

impl From<ServerError> for SdkError {
    fn from(error: ServerError) -> SdkError {
        match error {
            ServerError::Config(error) => SdkError::Config(error),
            ServerError::Watch(error) => SdkError::Watch(error),
            other => SdkError::Start(Box::new(other)),
        }
    }
}

/// Why a config change was not applied; the running generation keeps serving.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// The config is invalid (its key path is in the error).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The config is valid but its generation could not be prepared (an instance names an
    /// unknown type, a provider rejected its settings, the credential store failed, …), or
    /// there is nothing to apply it from. The source is the typed error, usually a
    /// `ReloadError`: see [`ApplyError::reload_error`] and [`ApplyError::prepare_error`].
    #[error("{0}")]
    Rejected(#[source] Box<dyn Error + Send + Sync>),
}

impl ApplyError {
    /// The config is invalid.
    pub fn is_config(&self) -> bool {
        matches!(self, ApplyError::Config(_))
    }

    /// The reload's own error, when preparing the generation failed.
    pub fn reload_error(&self) -> Option<&ReloadError> {
        match self {
            ApplyError::Rejected(error) => error.downcast_ref(),
            ApplyError::Config(_) => None,
        }
    }

    /// Why the generation could not be prepared, when that is what failed.
    pub fn prepare_error(&self) -> Option<&PrepareError> {
        match self.reload_error()? {
            ReloadError::Prepare(error) | ReloadError::PluginGone { source: error, .. } => {
                Some(error)
            }
            _ => None,
        }
    }

    /// A plugin failed: its file did not load, or an instance of it could not be configured.
    pub fn is_plugin(&self) -> bool {
        matches!(self.reload_error(), Some(ReloadError::PluginFiles(_)))
            || self
                .prepare_error()
                .is_some_and(|error| plugin_error(error).is_some())
    }
}

impl From<ReloadError> for ApplyError {
    fn from(error: ReloadError) -> ApplyError {
        match error {
            ReloadError::Config(error) => ApplyError::Config(error),
            other => ApplyError::Rejected(Box::new(other)),
        }
    }
}

/// The plugin error somewhere among the causes of `error`.
fn plugin_error(error: &PrepareError) -> Option<&PluginError> {
    let mut source: Option<&(dyn Error + 'static)> = Some(error);
    while let Some(inner) = source {
        if let Some(plugin) = inner.downcast_ref::<PluginError>() {
            return Some(plugin);
        }
        source = inner.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{PrepareCause, PrepareError as InstanceError};

    fn rejected_by_plugin() -> ApplyError {
        let instance = InstanceError {
            role: "access provider",
            instance: "teams".into(),
            kind: "team-keys".into(),
            cause: PrepareCause::Plugin(PluginError::Read(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "gone",
            ))),
        };
        ApplyError::from(ReloadError::Prepare(PrepareError::Chain(instance)))
    }

    #[test]
    fn a_rejected_change_keeps_its_typed_causes() {
        let error = rejected_by_plugin();
        assert!(error.is_plugin() && !error.is_config());
        assert!(matches!(
            error.prepare_error(),
            Some(PrepareError::Chain(_))
        ));
        // The message is the one the reload gave; the causes below it stay reachable.
        assert!(
            error.to_string().contains("could not read the file: gone"),
            "{error}"
        );
        let mut source = error.source();
        let mut io = None;
        while let Some(inner) = source {
            io = io.or(inner.downcast_ref::<std::io::Error>());
            source = inner.source();
        }
        assert_eq!(
            io.map(std::io::Error::kind),
            Some(std::io::ErrorKind::NotFound)
        );
    }
}
