//! Single-value settings: `GET` answers `{"<key>": value}`, `PUT` and `PATCH`
//! take `{"value": …}` of the setting's type and write it to `config.yaml`.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use serde_json::{Value, json};

use super::{Management, ManagementError, json_body, ok};
use crate::config::yaml_edit::{self, path};
use crate::config::{Config, Strategy};

/// A value's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Int,
    /// A routing strategy name, normalized (`rr` → `round-robin`).
    Strategy,
}

/// One setting: its route under `/v0/management`, its key path, its type and how to read it
/// from the running config.
struct Setting {
    route: &'static str,
    key: &'static [&'static str],
    kind: Kind,
    read: fn(&Config) -> Value,
}

const SETTINGS: &[Setting] = &[
    Setting {
        route: "/routing/strategy",
        key: &["routing", "strategy"],
        kind: Kind::Strategy,
        read: |c| json!(c.routing.strategy.as_str()),
    },
    Setting {
        route: "/routing/session-affinity",
        key: &["routing", "session-affinity"],
        kind: Kind::Bool,
        read: |c| json!(c.routing.session_affinity),
    },
    Setting {
        route: "/request-retry",
        key: &["request-retry"],
        kind: Kind::Int,
        read: |c| json!(c.retry.request_retry),
    },
    Setting {
        route: "/max-retry-interval",
        key: &["max-retry-interval"],
        kind: Kind::Int,
        read: |c| json!(c.retry.max_retry_interval.as_secs()),
    },
    Setting {
        route: "/max-retry-credentials",
        key: &["max-retry-credentials"],
        kind: Kind::Int,
        read: |c| json!(c.retry.max_retry_credentials),
    },
    Setting {
        route: "/disable-cooling",
        key: &["disable-cooling"],
        kind: Kind::Bool,
        read: |c| json!(c.disable_cooling),
    },
    Setting {
        route: "/usage-statistics-enabled",
        key: &["usage-statistics-enabled"],
        kind: Kind::Bool,
        read: |c| json!(c.usage_statistics_enabled),
    },
    Setting {
        route: "/debug",
        key: &["debug"],
        kind: Kind::Bool,
        read: |c| json!(c.debug),
    },
    Setting {
        route: "/passthrough-headers",
        key: &["passthrough-headers"],
        kind: Kind::Bool,
        read: |c| json!(c.passthrough_headers),
    },
];

/// The setting routes.
pub(crate) fn routes() -> Router<Arc<Management>> {
    let mut router = Router::new();
    for setting in SETTINGS {
        router = router.route(
            setting.route,
            get(move |state| read(state, setting))
                .put(move |state, body| write(state, setting, body))
                .patch(move |state, body| write(state, setting, body)),
        );
    }
    router
}

async fn read(State(management): State<Arc<Management>>, setting: &'static Setting) -> Response {
    let config = management.runtime.generation().config.clone();
    let name = setting.key[setting.key.len() - 1];
    let mut body = serde_json::Map::new();
    body.insert(name.to_owned(), (setting.read)(&config));
    Json(Value::Object(body)).into_response()
}

async fn write(
    State(management): State<Arc<Management>>,
    setting: &'static Setting,
    body: Bytes,
) -> Result<Response, ManagementError> {
    let body = json_body(&body)?;
    let invalid = || ManagementError::BadRequest("invalid body".into());
    let value = body.get("value").ok_or_else(invalid)?;
    let value = match setting.kind {
        Kind::Bool => Value::Bool(value.as_bool().ok_or_else(invalid)?),
        Kind::Int => json!(value.as_i64().ok_or_else(invalid)?),
        Kind::Strategy => {
            let text = value.as_str().ok_or_else(invalid)?;
            let strategy = Strategy::parse(text)
                .ok_or_else(|| ManagementError::BadRequest("invalid strategy".into()))?;
            json!(strategy.as_str())
        }
    };
    management
        .edit_config(|text| {
            let mut text = yaml_edit::set(text, &path(setting.key), &value)?;
            if setting.route == "/routing/session-affinity" {
                // The deprecated alias is OR-ed in; drop it so the new value is the value.
                text =
                    yaml_edit::remove(&text, &path(&["routing", "claude-code-session-affinity"]))?;
            }
            Ok(text)
        })
        .await?;
    Ok(ok())
}
