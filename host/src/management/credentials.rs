//! `GET /v0/management/credentials`: every credential of the serving generation (config lists,
//! auth files, a program's store) with its state, and for token credentials the token's expiry,
//! last renewal and last error — never a token, key or secret.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::Management;
use crate::credential::state::StateSnapshot;
use crate::credential::{Credential, CredentialSource, Secret};
use crate::token::TokenStatus;
use crate::usage::record::rfc3339;

/// The route.
pub(crate) fn routes() -> Router<Arc<Management>> {
    Router::new().route("/credentials", get(list))
}

/// `{"credentials": [...]}` in id order, then the auth files that were skipped (state `error`).
async fn list(State(management): State<Arc<Management>>) -> Json<Value> {
    let runtime = &management.runtime;
    let generation = runtime.generation();
    let now = runtime.clock.now();
    let tokens: HashMap<_, _> = runtime.tokens.statuses().into_iter().collect();
    let mut out: Vec<Value> = generation
        .registry
        .credentials()
        .map(|credential| {
            let state = runtime.states.state_for(&credential.id).snapshot();
            entry(credential, &state, tokens.get(&credential.id), now)
        })
        .collect();
    for (path, reason) in &generation.skipped_files {
        out.push(json!({
            "id": path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            "source": format!("file:{}", path.display()),
            "state": "error",
            "message": reason,
        }));
    }
    Json(json!({ "credentials": out }))
}

/// One credential's entry.
fn entry(
    credential: &Credential,
    state: &StateSnapshot,
    token: Option<&TokenStatus>,
    now: SystemTime,
) -> Value {
    let mut cooldowns = Map::new();
    let mut models: Vec<_> = state.models.iter().collect();
    models.sort_by(|a, b| a.0.cmp(b.0));
    for (model, model_state) in models {
        if let Some(until) = model_state.next_retry_after.filter(|until| *until > now) {
            cooldowns.insert(
                model.clone(),
                json!({
                    "until": rfc3339(until),
                    "quota": model_state.quota,
                    "status": model_state.last_status,
                }),
            );
        }
    }
    let token_block = state.token_unavailable.as_ref().filter(|t| t.until > now);
    let last_error = last_error(state, token);
    // A config credential is disabled by the pattern `"*"` in its `excluded-models`.
    let disabled = credential.disabled
        || credential
            .excluded_models
            .iter()
            .any(|pattern| pattern == super::config_credential::EVERY_MODEL);
    let (state_name, message) = if disabled {
        ("disabled", None)
    } else if let Some(block) = token_block {
        ("token_unavailable", Some(block.message.clone()))
    } else if !cooldowns.is_empty() {
        ("cooling", None)
    } else {
        ("active", None)
    };
    let mut object = json!({
        "id": credential.id.as_str(),
        "index": credential.index,
        "kind": credential.provider.as_str(),
        "auth": auth_kind(&credential.secret),
        "source": source(&credential.source),
        "label": credential.label,
        "prefix": credential.prefix,
        "priority": credential.priority,
        "weight": credential.weight,
        "state": state_name,
        "successes": state.successes,
        "failures": state.failures,
        "cooldowns": cooldowns,
    });
    let map = object.as_object_mut().expect("an object");
    if let Some(message) = message {
        map.insert("message".into(), json!(message));
    }
    if let Some(block) = token_block {
        map.insert("until".into(), json!(rfc3339(block.until)));
    }
    if let Some(token) = token {
        map.insert("token".into(), token_entry(token, now));
    }
    if let Some(last_error) = last_error {
        map.insert("last_error".into(), json!(last_error));
    }
    object
}

/// What failed last, where it still stands: each model whose last attempt failed, with the
/// upstream's status (`claude-sonnet-4: upstream 429`, `…: unreachable`), else the token's
/// last renewal error; `None` when nothing stands failed.
fn last_error(state: &StateSnapshot, token: Option<&TokenStatus>) -> Option<String> {
    let mut failed: Vec<String> = state
        .models
        .iter()
        .filter(|(_, model)| model.failed)
        .map(|(name, model)| match model.last_status {
            Some(status) => format!("{name}: upstream {status}"),
            None => format!("{name}: unreachable"),
        })
        .collect();
    failed.sort();
    if !failed.is_empty() {
        return Some(failed.join(", "));
    }
    token.and_then(|t| t.last_error.clone())
}

/// How the credential authenticates upstream (the kind, never the secret).
fn auth_kind(secret: &Secret) -> &'static str {
    match secret {
        Secret::ApiKey(_) => "api-key",
        Secret::AccessToken(_) => "access-token",
        Secret::Managed(source) => source.grant(),
        Secret::None => "none",
    }
}

fn source(source: &CredentialSource) -> String {
    match source {
        CredentialSource::Config { entry } => format!("config:{entry}"),
        CredentialSource::File { path } => format!("file:{}", path.display()),
        CredentialSource::Store => "store".to_owned(),
    }
}

/// A token cell's status.
fn token_entry(token: &TokenStatus, now: SystemTime) -> Value {
    let time = |t: Option<SystemTime>| t.map(rfc3339);
    json!({
        "grant": token.grant,
        "expires_at": time(token.expires_at),
        "seconds_to_expiry": token
            .expires_at
            .map(|at| at.duration_since(now).map(|d| d.as_secs()).unwrap_or(0)),
        "last_renewal": time(token.last_renewal),
        "last_failure": time(token.last_failure),
        "last_error": token.last_error,
        "renewals_ok": token.renewals_ok,
        "renewals_failed": token.renewals_failed,
        "adopted": token.adopted,
        "requests_waited": token.waited,
    })
}
