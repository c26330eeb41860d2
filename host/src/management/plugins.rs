//! `/plugins`: the status of every plugin (embedded, the plugins folder's files, and any other
//! the serving generation uses).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;

use super::Management;
use crate::plugin::PluginStatus;

/// The plugin routes.
pub(crate) fn routes() -> Router<Arc<Management>> {
    Router::new().route("/plugins", get(report))
}

/// `GET /plugins` → `{"plugins":[{"name","type","world","version","sha256","source","path",
/// "state","error","instances","calls","faults"}, ...]}` (see [`PluginStatus`]).
async fn report(State(management): State<Arc<Management>>) -> Json<serde_json::Value> {
    let plugins: Vec<PluginStatus> = management.runtime.plugin_status();
    Json(serde_json::json!({ "plugins": plugins }))
}
