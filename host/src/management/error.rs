//! Every error the management API answers with, and its HTTP form: the one place where its
//! statuses and bodies are decided. Bodies are `{"error": "..."}` as in the reference, plus a
//! `message` for the config-file errors.

use std::time::Duration;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::json;

use crate::config::{ConfigError, go_duration};

/// A management request that did not succeed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ManagementError {
    /// No management secret exists: the API is not there.
    #[error("not found")]
    Disabled,
    /// Too many failed attempts from this address.
    #[error("IP banned due to too many failed attempts. Try again in {}", go_duration::format_seconds(remaining_seconds(*.0)))]
    Banned(Duration),
    /// A client that is not local, with `allow-remote` off.
    #[error("remote management disabled")]
    RemoteDisabled,
    /// Only a local password exists and the client is not local.
    #[error("remote management key not set")]
    KeyNotSet,
    /// No key in the request.
    #[error("missing management key")]
    MissingKey,
    /// A key that matches no secret.
    #[error("invalid management key")]
    InvalidKey,
    /// The body or query is not what the endpoint takes.
    #[error("{0}")]
    BadRequest(String),
    /// The list item, file or credential is not there.
    #[error("{0}")]
    NotFound(String),
    /// `PUT /config.yaml` with a body that is not YAML.
    #[error("{0}")]
    InvalidYaml(String),
    /// The change would make the config invalid (or the reload refused it); nothing was written.
    #[error("{0}")]
    InvalidConfig(String),
    /// The new config text does not load: `invalid_yaml` (400) for a syntax error,
    /// `invalid_config` (422) otherwise, with the error's line, column and key path when known.
    #[error("{0}")]
    Config(ConfigError),
    /// The config was not loaded from a file, so it cannot be edited.
    #[error("the running config has no file to edit")]
    NoConfigFile,
    /// `config.yaml` is gone.
    #[error("config file not found")]
    ConfigFileMissing,
    /// Reading or writing a file failed.
    #[error("{0}")]
    WriteFailed(String),
    /// The write would change path-valued keys, which only the file on disk may change.
    #[error(
        "{} cannot be changed through the management API: edit the config file on disk",
        .0.join(", ")
    )]
    PathKeysAreFileOnly(Vec<&'static str>),
    /// An auth file name resolves (through a symlink) outside `auth-dir`.
    #[error("{0}")]
    OutsideAuthDir(String),
    /// All event streams are taken (`GET /events`).
    #[error("too many event streams (at most {})", crate::events::MAX_SUBSCRIBERS)]
    TooManyStreams,
}

/// Whole seconds left, rounded to the nearest second as Go's `Duration.Round(time.Second)`.
pub(crate) fn remaining_seconds(remaining: Duration) -> u64 {
    (remaining.as_millis() as u64 + 500) / 1000
}

impl ManagementError {
    /// The HTTP status.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            ManagementError::Disabled
            | ManagementError::NotFound(_)
            | ManagementError::ConfigFileMissing => StatusCode::NOT_FOUND,
            ManagementError::Banned(_)
            | ManagementError::RemoteDisabled
            | ManagementError::KeyNotSet
            | ManagementError::PathKeysAreFileOnly(_)
            | ManagementError::OutsideAuthDir(_) => StatusCode::FORBIDDEN,
            ManagementError::MissingKey | ManagementError::InvalidKey => StatusCode::UNAUTHORIZED,
            ManagementError::BadRequest(_)
            | ManagementError::InvalidYaml(_)
            | ManagementError::Config(ConfigError::Syntax { .. }) => StatusCode::BAD_REQUEST,
            ManagementError::Config(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ManagementError::InvalidConfig(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ManagementError::NoConfigFile => StatusCode::CONFLICT,
            ManagementError::WriteFailed(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ManagementError::TooManyStreams => StatusCode::TOO_MANY_REQUESTS,
        }
    }
}

impl IntoResponse for ManagementError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match &self {
            // The reference answers an unregistered route: no body at all.
            ManagementError::Disabled => return status.into_response(),
            ManagementError::InvalidYaml(message) => {
                json!({ "error": "invalid_yaml", "message": message })
            }
            ManagementError::InvalidConfig(message) => {
                json!({ "error": "invalid_config", "message": message })
            }
            ManagementError::Config(error) => located(error),
            ManagementError::ConfigFileMissing => {
                json!({ "error": "not_found", "message": self.to_string() })
            }
            ManagementError::WriteFailed(message) => {
                json!({ "error": "write_failed", "message": message })
            }
            ManagementError::PathKeysAreFileOnly(_) => {
                json!({ "error": "path_keys_are_file_only", "message": self.to_string() })
            }
            ManagementError::OutsideAuthDir(message) => {
                json!({ "error": "outside_auth_dir", "message": message })
            }
            other => json!({ "error": other.to_string() }),
        };
        (status, Json(body)).into_response()
    }
}

/// `{"error": "invalid_yaml" | "invalid_config", "message", "line"?, "column"?, "key"?}`.
fn located(error: &ConfigError) -> serde_json::Value {
    let code = match error {
        ConfigError::Syntax { .. } => "invalid_yaml",
        _ => "invalid_config",
    };
    let mut body = json!({ "error": code, "message": error.to_string() });
    if let Some(line) = error.line() {
        body["line"] = json!(line);
    }
    if let Some(column) = error.column() {
        body["column"] = json!(column);
    }
    if let Some(key) = error.key().filter(|key| !key.is_empty()) {
        body["key"] = json!(key);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ban_message_uses_go_durations() {
        let error = ManagementError::Banned(Duration::from_millis(1_799_600));
        assert_eq!(
            error.to_string(),
            "IP banned due to too many failed attempts. Try again in 30m0s"
        );
        let error = ManagementError::Banned(Duration::from_millis(4_400));
        assert_eq!(
            error.to_string(),
            "IP banned due to too many failed attempts. Try again in 4s"
        );
        assert_eq!(error.status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn a_config_error_answers_with_its_location() {
        let error = ManagementError::Config(ConfigError::Invalid {
            file: "c.yaml".into(),
            line: Some(4),
            column: Some(3),
            key: "routing.strategy".into(),
            message: "unknown strategy".into(),
        });
        assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            located(match &error {
                ManagementError::Config(inner) => inner,
                _ => unreachable!(),
            }),
            json!({
                "error": "invalid_config",
                "message": "c.yaml:4: routing.strategy: unknown strategy",
                "line": 4,
                "column": 3,
                "key": "routing.strategy",
            })
        );
        let syntax = ManagementError::Config(ConfigError::Syntax {
            file: "c.yaml".into(),
            line: None,
            column: None,
            message: "bad".into(),
        });
        assert_eq!(syntax.status(), StatusCode::BAD_REQUEST);
    }
}
