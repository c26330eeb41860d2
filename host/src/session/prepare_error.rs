//! Why an extractor chain could not be prepared from a config.

use crate::plugin::PluginError;

/// Why an extractor chain could not be prepared. Nothing is applied: the running generation
/// keeps its chain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrepareError {
    /// No registered type or installed plugin has the instance's type name.
    #[error("session extractor {instance}: unknown type {kind:?} (known types: {})", known.join(", "))]
    UnknownType {
        /// The instance name.
        instance: String,
        /// The type it names.
        kind: String,
        /// The types that exist.
        known: Vec<String>,
    },
    /// The plugin could not make the instance (rejected settings, start failure...).
    #[error("session extractor {instance} ({kind}) {source}")]
    Plugin {
        /// The instance name.
        instance: String,
        /// Its type.
        kind: String,
        /// What went wrong.
        source: PluginError,
    },
    /// The native factory rejected the instance.
    #[error("session extractor {instance} ({kind}) rejected its settings: {message}")]
    Native {
        /// The instance name.
        instance: String,
        /// Its type.
        kind: String,
        /// The factory's message.
        message: String,
    },
}
