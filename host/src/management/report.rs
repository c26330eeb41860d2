//! Reports: `GET /v0/management/usage` (usage totals), `GET /v0/management/reload` (what the
//! last reloads did, and which changes wait for a restart) and `GET /metrics` (Prometheus text,
//! with the management key, or open to all with `metrics.public: true`): the counters of
//! [`Metrics`](crate::metrics::Metrics) and what the runtime reports beside them.

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, header};

use super::{Management, ManagementError, auth, client_of};
use crate::metrics::{Table, escape, family};
use crate::plugin::InstanceStats;
use crate::runtime::Runtime;
use crate::usage::Summary;

/// The report routes under `/v0/management`.
pub(crate) fn routes() -> Router<Arc<Management>> {
    Router::new()
        .route("/usage", get(usage))
        .route("/reload", get(reload))
}

/// `GET /v0/management/reload`: `{"generation", "attempts", "failures", "last-error",
/// "restart-required", "history"}`, where `history` holds the last 20 attempts, newest first,
/// each `{"at": RFC 3339, "ok": bool, "generation": n, "error": string or null}`.
async fn reload(State(management): State<Arc<Management>>) -> Json<serde_json::Value> {
    let status = management.runtime.reload_status().borrow().clone();
    let history: Vec<serde_json::Value> = management
        .runtime
        .reload_history()
        .into_iter()
        .map(|attempt| {
            serde_json::json!({
                "at": crate::rfc3339::format_millis(attempt.at),
                "ok": attempt.ok,
                "generation": attempt.generation,
                "error": attempt.error,
            })
        })
        .collect();
    Json(serde_json::json!({
        "generation": status.generation,
        "attempts": status.attempts,
        "failures": status.failures,
        "last-error": status.last_error,
        "restart-required": status.restart_required,
        "history": history,
    }))
}

/// `GET /v0/management/usage`: `{"total", "by-credential", "by-model"}`.
async fn usage(State(management): State<Arc<Management>>) -> Json<Summary> {
    Json(management.runtime.usage.summary())
}

/// `GET /metrics`: the management key is needed (from local clients too) unless
/// `metrics.public: true`.
pub(crate) async fn metrics(
    State(management): State<Arc<Management>>,
    request: Request,
) -> Result<Response, ManagementError> {
    let config = management.runtime.generation().config.clone();
    if !config.metrics_public {
        let client = client_of(&request, &config);
        let key = auth::key_from_headers(request.headers());
        management.authenticate(client, &key).await?;
    }
    let mut response = render(&management.runtime).await.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}

/// Token renewals by credential and result, and each token's seconds to expiry.
fn render_tokens(runtime: &Runtime, out: &mut String) {
    let statuses = runtime.tokens.statuses();
    family(
        out,
        "switchyard_token_renewals_total",
        "counter",
        "Token renewals of token credentials by result: ok (a token from the token endpoint), failed, adopted (another replica's newer set).",
    );
    for (id, status) in &statuses {
        let id = escape(id.as_str());
        for (result, value) in [
            ("ok", status.renewals_ok),
            ("failed", status.renewals_failed),
            ("adopted", status.adopted),
        ] {
            let _ = writeln!(
                out,
                "switchyard_token_renewals_total{{credential=\"{id}\",result=\"{result}\"}} {value}"
            );
        }
    }
    family(
        out,
        "switchyard_token_expiry_seconds",
        "gauge",
        "Seconds until the current token of a token credential expires (0: expired or none).",
    );
    let now = runtime.clock.now();
    for (id, status) in &statuses {
        let left = status
            .expires_at
            .and_then(|at| at.duration_since(now).ok())
            .map_or(0, |d| d.as_secs());
        let _ = writeln!(
            out,
            "switchyard_token_expiry_seconds{{credential=\"{}\"}} {left}",
            escape(id.as_str())
        );
    }
}

/// The event streams of `GET /v0/management/events`: open now, refused, and ended by a limit.
fn render_events(runtime: &Runtime, out: &mut String) {
    let events = &runtime.events;
    family(
        out,
        "switchyard_event_streams",
        "gauge",
        "Management event streams open now (at most 8).",
    );
    let _ = writeln!(out, "switchyard_event_streams {}", events.subscribers());
    family(
        out,
        "switchyard_event_streams_refused_total",
        "counter",
        "Management event streams refused with 429 because 8 were open.",
    );
    let _ = writeln!(
        out,
        "switchyard_event_streams_refused_total {}",
        events.refused()
    );
    family(
        out,
        "switchyard_event_streams_closed_total",
        "counter",
        "Management event streams ended by a rule: 256 events behind (slow), the management key or enablement changed (revoked).",
    );
    for (reason, value) in [
        ("slow", events.dropped_slow()),
        ("revoked", events.revoked()),
    ] {
        let _ = writeln!(
            out,
            "switchyard_event_streams_closed_total{{reason=\"{reason}\"}} {value}"
        );
    }
}

/// The whole `/metrics` page for `runtime`.
pub async fn render(runtime: &Runtime) -> String {
    let mut out = String::new();
    runtime.metrics.render_into(&mut out);
    let status = runtime.reload_status().borrow().clone();
    for (name, kind, help, value) in [
        (
            "switchyard_reload_generation",
            "gauge",
            "The config generation serving requests.",
            status.generation,
        ),
        (
            "switchyard_reload_attempts_total",
            "counter",
            "Config loads and reloads attempted, including skipped and failed ones.",
            status.attempts,
        ),
        (
            "switchyard_reload_failures_total",
            "counter",
            "Reloads that kept the running generation because of an error.",
            status.failures,
        ),
        (
            "switchyard_usage_feed_dropped_total",
            "counter",
            "Usage records dropped from the full feed queue (oldest first).",
            runtime.usage.feed.dropped(),
        ),
    ] {
        family(&mut out, name, kind, help);
        let _ = writeln!(out, "{name} {value}");
    }
    render_tokens(runtime, &mut out);
    render_events(runtime, &mut out);
    let totals = runtime.usage.summary().total;
    family(
        &mut out,
        "switchyard_usage_tokens_total",
        "counter",
        "Tokens reported by upstreams (with usage-statistics-enabled), by kind.",
    );
    for (kind, value) in [
        ("input", totals.input_tokens),
        ("output", totals.output_tokens),
        ("cached", totals.cached_tokens),
    ] {
        let _ = writeln!(
            out,
            "switchyard_usage_tokens_total{{kind=\"{kind}\"}} {value}"
        );
    }
    let counters = &runtime.affinity_counters;
    family(
        &mut out,
        "switchyard_session_picks_total",
        "counter",
        "Session-affinity picks by outcome: a live binding (hit), a new binding (miss), a moved binding (rebind), a previous turn's binding (inherited).",
    );
    for (outcome, counter) in [
        ("hit", &counters.hits),
        ("miss", &counters.misses),
        ("rebind", &counters.rebinds),
        ("inherited", &counters.inherited),
    ] {
        let _ = writeln!(
            out,
            "switchyard_session_picks_total{{outcome=\"{outcome}\"}} {}",
            counter.load(Ordering::Relaxed)
        );
    }
    let bindings = match &runtime.generation().affinity {
        Some(affinity) => affinity.cache().stats().await.bindings,
        None => 0,
    };
    family(
        &mut out,
        "switchyard_session_bindings",
        "gauge",
        "Live session bindings.",
    );
    let _ = writeln!(out, "switchyard_session_bindings {bindings}");
    render_tables(&mut out, runtime);
    render_session_store(&mut out, runtime);
    let generation = runtime.generation();
    let access = generation
        .access
        .entries()
        .iter()
        .filter_map(|entry| Some((entry.name(), entry.kind(), entry.stats()?)));
    let extractors = generation
        .extractors
        .entries()
        .iter()
        .filter_map(|entry| Some((entry.name(), entry.kind(), entry.stats()?)));
    let instances: Vec<_> = access.chain(extractors).collect();
    for (name, help, value) in [
        (
            "switchyard_plugin_calls_total",
            "Calls into a configured plugin instance (access providers and session extractors), quarantine refusals included.",
            (|s: &InstanceStats| s.calls) as fn(&InstanceStats) -> u64,
        ),
        (
            "switchyard_plugin_faults_total",
            "Plugin calls that trapped, ran past their deadline or memory cap, or failed to start.",
            |s| s.faults,
        ),
        (
            "switchyard_plugin_quarantines_total",
            "Times a plugin instance was quarantined because too many of its recent calls faulted.",
            |s| s.quarantines,
        ),
        (
            "switchyard_plugin_busy_total",
            "Plugin calls refused because all limits.max-concurrency call slots stayed busy for the deadline (503 plugin_busy).",
            |s| s.busy,
        ),
        (
            "switchyard_plugin_log_refused_total",
            "Plugin log records refused for a message or field list over the host's limits.",
            |s| s.log_refused,
        ),
    ] {
        family(&mut out, name, "counter", help);
        for (instance, kind, stats) in &instances {
            let _ = writeln!(
                out,
                "{name}{{instance=\"{}\",type=\"{}\"}} {}",
                escape(instance),
                escape(kind),
                value(stats)
            );
        }
    }
    family(
        &mut out,
        "switchyard_session_extractor_skipped_total",
        "counter",
        "Requests for which a session extractor was skipped because it faulted or was quarantined.",
    );
    for entry in generation.extractors.entries() {
        let _ = writeln!(
            out,
            "switchyard_session_extractor_skipped_total{{instance=\"{}\",type=\"{}\"}} {}",
            escape(entry.name()),
            escape(entry.kind()),
            entry.skipped()
        );
    }
    out
}

/// The sizes of the tables the config bounds (session bindings are rendered with the other
/// session families), their evictions and the clamped `Retry-After` values.
fn render_tables(out: &mut String, runtime: &Runtime) {
    for (name, help, value) in [
        (
            "switchyard_model_states",
            "Per-credential model states (cooldowns and backoff), all credentials together.",
            runtime.states.model_states(),
        ),
        (
            "switchyard_usage_models",
            "Models in the usage totals (by-model).",
            runtime.usage.models(),
        ),
    ] {
        family(out, name, "gauge", help);
        let _ = writeln!(out, "{name} {value}");
    }
    family(
        out,
        "switchyard_table_evictions_total",
        "counter",
        "Entries evicted to keep a table within its configured bound (routing.max-tracked-models, routing.session-affinity-max-bindings), by table.",
    );
    let metrics = &runtime.metrics;
    for table in Table::ALL {
        let _ = writeln!(
            out,
            "switchyard_table_evictions_total{{table=\"{}\"}} {}",
            table.as_str(),
            metrics.evictions(table)
        );
    }
    family(
        out,
        "switchyard_retry_after_clamped_total",
        "counter",
        "Upstream Retry-After values longer than 24 h, honoured as 24 h.",
    );
    let _ = writeln!(
        out,
        "switchyard_retry_after_clamped_total {}",
        metrics.retry_after_clamped()
    );
}

/// The shared store's health: degraded (1) or not (0; always 0 for the memory store), and its
/// failed calls.
fn render_session_store(out: &mut String, runtime: &Runtime) {
    let generation = runtime.generation();
    let store = generation.store.as_deref();
    family(
        out,
        "switchyard_session_store_degraded",
        "gauge",
        "1 while the Redis session store is unreachable and bindings and cooldowns are served per replica.",
    );
    let degraded = store.is_some_and(|s| s.degraded());
    let _ = writeln!(
        out,
        "switchyard_session_store_degraded {}",
        u8::from(degraded)
    );
    family(
        out,
        "switchyard_session_store_errors_total",
        "counter",
        "Redis session store calls that failed (connection, timeout, error answer).",
    );
    let errors = store.map_or(0, |s| s.errors());
    let _ = writeln!(out, "switchyard_session_store_errors_total {errors}");
    family(
        out,
        "switchyard_session_store_rejected_messages_total",
        "counter",
        "Cooldown messages and keys in Redis ignored: bad or missing MAC (routing.session-store-secret), or unreadable.",
    );
    let rejected = store.map_or(0, |s| s.rejected());
    let _ = writeln!(
        out,
        "switchyard_session_store_rejected_messages_total {rejected}"
    );
}
