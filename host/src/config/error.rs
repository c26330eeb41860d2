//! What can be wrong with a config file, and what is only worth a warning.

use std::fmt;
use std::path::PathBuf;

/// A config that cannot be used. Nothing of it is applied.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid YAML.
    #[error("{file}{}: invalid YAML: {message}", at_line(*line))]
    Syntax {
        /// The file (or `<inline>` for a string).
        file: String,
        /// 1-based line, when known.
        line: Option<usize>,
        /// 1-based column (in characters), when known.
        column: Option<usize>,
        /// The parser's message.
        message: String,
    },
    /// A known key holds a value of the wrong type or an invalid value.
    #[error("{file}{}: {key}: {message}", at_line(*line))]
    Invalid {
        /// The file (or `<inline>` for a string).
        file: String,
        /// 1-based line, when known.
        line: Option<usize>,
        /// 1-based column (in characters) of the value or of its key, when known.
        column: Option<usize>,
        /// The key path, such as `claude-api-key[0].base-url`.
        key: String,
        /// What is wrong.
        message: String,
    },
}

impl ConfigError {
    /// The key path the error is about, if it is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }

    /// The 1-based line the error is about, if known.
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::Syntax { line, .. } | ConfigError::Invalid { line, .. } => *line,
            ConfigError::Read { .. } => None,
        }
    }

    /// The 1-based column the error is about, if known.
    pub fn column(&self) -> Option<usize> {
        match self {
            ConfigError::Syntax { column, .. } | ConfigError::Invalid { column, .. } => *column,
            ConfigError::Read { .. } => None,
        }
    }
}

/// Something in the file that is ignored or replaced by a default; the config still applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The key path, such as `remote-management.disable-control-panel`.
    pub key: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What happens to it.
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}: {}", self.key, self.message),
            None => write!(f, "{}: {}", self.key, self.message),
        }
    }
}

fn at_line(line: Option<usize>) -> String {
    line.map(|line| format!(":{line}")).unwrap_or_default()
}
