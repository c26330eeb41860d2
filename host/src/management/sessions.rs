//! `/sessions`: the session-affinity bindings — how many, per credential, where they live — and
//! dropping a credential's bindings.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use super::{Management, ManagementError, ok};
use crate::affinity::cache::BindingStats;
use crate::config::SessionStoreConfig;
use crate::credential::CredentialId;

/// The session routes.
pub(crate) fn routes() -> Router<Arc<Management>> {
    Router::new().route("/sessions", get(report).delete(drop_credential))
}

/// `GET /sessions` →
/// `{"store":"memory|redis","degraded":bool,"bindings":n,"by-credential":{"<id>":n},
/// "hits":n,"misses":n,"rebinds":n,"inherited":n}`: the bindings now, and the affinity picks
/// since start by outcome (a live binding, a new one, a moved one, a previous turn's one).
async fn report(State(management): State<Arc<Management>>) -> Response {
    let generation = management.runtime.generation();
    let stats = match &generation.affinity {
        Some(affinity) => affinity.cache().stats().await,
        None => BindingStats::default(),
    };
    let store = match generation.config.routing.session_store {
        SessionStoreConfig::Memory => "memory",
        SessionStoreConfig::Redis(_) => "redis",
    };
    // Degraded: Redis is unreachable and bindings and cooldowns are served per replica.
    let degraded = generation.store.as_ref().is_some_and(|s| s.degraded());
    let picks = &management.runtime.affinity_counters;
    Json(json!({
        "store": store,
        "degraded": degraded,
        "bindings": stats.bindings,
        "by-credential": stats.by_credential,
        "hits": picks.hits.load(Ordering::Relaxed),
        "misses": picks.misses.load(Ordering::Relaxed),
        "rebinds": picks.rebinds.load(Ordering::Relaxed),
        "inherited": picks.inherited.load(Ordering::Relaxed),
    }))
    .into_response()
}

#[derive(Deserialize)]
struct Target {
    credential: Option<String>,
}

/// `DELETE /sessions?credential=<id>`: drops that credential's bindings.
async fn drop_credential(
    State(management): State<Arc<Management>>,
    Query(target): Query<Target>,
) -> Result<Response, ManagementError> {
    let credential = target
        .credential
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ManagementError::BadRequest("credential is required".into()))?;
    if let Some(affinity) = &management.runtime.generation().affinity {
        affinity
            .invalidate_credential(&CredentialId::new(credential))
            .await;
    }
    Ok(ok())
}
