//! Why a chain could not be prepared from a config, whatever its role.

use crate::plugin::PluginError;

/// Why a chain could not be prepared: which instance of which role, and the cause. Nothing is
/// applied: the running generation keeps its chains.
#[derive(Debug)]
#[non_exhaustive]
pub struct PrepareError {
    /// The role ([`super::Role::NAME`]), such as `"access provider"`.
    pub role: &'static str,
    /// The instance name.
    pub instance: String,
    /// The type it names.
    pub kind: String,
    /// What went wrong.
    pub cause: PrepareCause,
}

/// What kept an instance from being made.
#[derive(Debug)]
#[non_exhaustive]
pub enum PrepareCause {
    /// No registered type or installed plugin of the role has the instance's type name.
    UnknownType {
        /// The types that exist.
        known: Vec<String>,
    },
    /// The plugin could not make the instance (rejected settings, start failure...).
    Plugin(PluginError),
    /// The native factory rejected the instance's settings, with this message.
    Native(String),
}

impl std::fmt::Display for PrepareError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let PrepareError {
            role,
            instance,
            kind,
            cause,
        } = self;
        match cause {
            PrepareCause::UnknownType { known } => write!(
                f,
                "{role} {instance}: unknown type {kind:?} (known types: {})",
                known.join(", ")
            ),
            PrepareCause::Plugin(source) => write!(f, "{role} {instance} ({kind}) {source}"),
            PrepareCause::Native(message) => {
                write!(
                    f,
                    "{role} {instance} ({kind}) rejected its settings: {message}"
                )
            }
        }
    }
}

impl std::error::Error for PrepareError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            PrepareCause::Plugin(source) => Some(source),
            PrepareCause::UnknownType { .. } | PrepareCause::Native(_) => None,
        }
    }
}
