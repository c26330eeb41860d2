//! What can go wrong when embedding switchyard.

use crate::config::ConfigError;
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
    Start(String),
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
    Watch(String),
}

impl From<ServerError> for SdkError {
    fn from(error: ServerError) -> SdkError {
        match error {
            ServerError::Config(error) => SdkError::Config(error),
            ServerError::Watch(error) => SdkError::Watch(error.to_string()),
            other => SdkError::Start(other.to_string()),
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
    /// unknown type, a provider rejected its settings, the credential store failed, …).
    #[error("{0}")]
    Rejected(String),
}

impl From<ReloadError> for ApplyError {
    fn from(error: ReloadError) -> ApplyError {
        match error {
            ReloadError::Config(error) => ApplyError::Config(error),
            other => ApplyError::Rejected(other.to_string()),
        }
    }
}
