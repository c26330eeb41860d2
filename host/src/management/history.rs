//! `GET /v0/management/history`: the last 15 minutes of proxied requests in 10 s windows
//! (see [`crate::history`]), oldest first.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use serde_json::{Value, json};

use super::{Management, ManagementError};
use crate::history::latency_histogram::Distribution;
use crate::history::{BUCKET_SECONDS, BUCKETS, Window};
use crate::rfc3339;

/// The history route under `/v0/management`.
pub(crate) fn routes() -> Router<Arc<Management>> {
    Router::new().route("/history", get(history))
}

/// `GET /history[?buckets=N]` → `{"bucket_seconds":10,"buckets":[{"start","requests","errors",
/// "input_tokens","output_tokens","latency_ms":{"p50","p99"},"upstream_ms":{…},
/// "added_ms":{…}}, …]}`: the last N windows (1 to 90, default 90), the current one last.
async fn history(
    State(management): State<Arc<Management>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ManagementError> {
    let count = match query.get("buckets") {
        None => BUCKETS,
        Some(text) => text
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=BUCKETS).contains(n))
            .ok_or_else(|| {
                ManagementError::BadRequest(format!(
                    "buckets must be a whole number from 1 to {BUCKETS}"
                ))
            })?,
    };
    let runtime = &management.runtime;
    let windows = runtime.metrics.history.read(runtime.clock.now(), count);
    Ok(Json(json!({
        "bucket_seconds": BUCKET_SECONDS,
        "buckets": windows.iter().map(window).collect::<Vec<_>>(),
    })))
}

/// One window as JSON; an empty one has zeros and null quantiles.
fn window(window: &Window) -> Value {
    let (requests, errors, input_tokens, output_tokens) = match &window.counts {
        Some(c) => (c.requests, c.errors, c.input_tokens, c.output_tokens),
        None => (0, 0, 0, 0),
    };
    let counts = window.counts.as_ref();
    json!({
        "start": rfc3339::format(window.start),
        "requests": requests,
        "errors": errors,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "latency_ms": quantiles(counts.map(|c| &c.latency)),
        "upstream_ms": quantiles(counts.map(|c| &c.upstream)),
        "added_ms": quantiles(counts.map(|c| &c.added)),
    })
}

/// `{"p50","p99"}` in milliseconds (microsecond precision), null without durations.
fn quantiles(distribution: Option<&Distribution>) -> Value {
    let at = |q: f64| distribution.and_then(|d| d.quantile(q)).map(milliseconds);
    json!({ "p50": at(0.5), "p99": at(0.99) })
}

/// `duration` in milliseconds, rounded to the microsecond.
fn milliseconds(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1e6).round() / 1e3
}
