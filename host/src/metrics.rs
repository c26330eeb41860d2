//! Prometheus metrics: counters the request path bumps, rendered as the text exposition format
//! for `GET /metrics`.
//!
//! Families: `switchyard_requests_total{route,status,credential}`,
//! `switchyard_upstream_latency_seconds{provider}` (histogram, time to the upstream's response
//! head, or its first payload for streams), `switchyard_reload_generation`,
//! `switchyard_reload_attempts_total`, `switchyard_reload_failures_total`, with
//! `usage-statistics-enabled` `switchyard_usage_tokens_total{kind}`, and the session-affinity
//! `switchyard_session_picks_total{outcome}` and `switchyard_session_bindings`, the shared
//! store's `switchyard_session_store_degraded` and `switchyard_session_store_errors_total`, and
//! per plugin instance (access providers and session extractors)
//! `switchyard_plugin_calls_total`, `switchyard_plugin_faults_total` and
//! `switchyard_plugin_quarantines_total{instance,type}`, and per session-extractor instance
//! `switchyard_session_extractor_skipped_total{instance,type}`; the bounded tables' sizes
//! `switchyard_model_states`, `switchyard_usage_models` (and `switchyard_session_bindings`), their
//! `switchyard_table_evictions_total{table}`, and `switchyard_retry_after_clamped_total`. Other
//! subsystems add their families in [`render`].

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use crate::plugin::InstanceStats;
use crate::runtime::Runtime;

/// Upper bounds of the latency histogram's buckets, in seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// Request counts per credential id.
type ByCredential = HashMap<Arc<str>, u64>;

/// A table whose size the config bounds (label of `switchyard_table_evictions_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// Per-credential model states (cooldowns), `switchyard_model_states`.
    ModelStates,
    /// Usage totals by model, `switchyard_usage_models`.
    UsageModels,
    /// Session bindings, `switchyard_session_bindings`.
    SessionBindings,
}

impl Table {
    const ALL: [Table; 3] = [
        Table::ModelStates,
        Table::UsageModels,
        Table::SessionBindings,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Table::ModelStates => "model_states",
            Table::UsageModels => "usage_models",
            Table::SessionBindings => "session_bindings",
        }
    }
}

/// The counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// (route, status) → credential id (empty: none) → count. Looked up by reference, so
    /// counting allocates only for a new label set.
    requests: Mutex<HashMap<(&'static str, u16), ByCredential>>,
    latency: Mutex<BTreeMap<&'static str, Histogram>>,
    /// Entries evicted to keep each [`Table`] within its bound, by `Table as usize`.
    evictions: [AtomicU64; 3],
    /// Upstream `Retry-After` values cut to the longest wait switchyard honours.
    retry_after_clamped: AtomicU64,
}

#[derive(Debug, Default, Clone)]
struct Histogram {
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Metrics {
    /// Counts one proxied request answered with `status`, served by `credential` (`None` when
    /// no credential answered).
    pub fn record_request(&self, route: &'static str, status: u16, credential: Option<&str>) {
        let credential = credential.unwrap_or("");
        let mut requests = self.requests.lock();
        let by_credential = requests.entry((route, status)).or_default();
        match by_credential.get_mut(credential) {
            Some(count) => *count += 1,
            None => {
                by_credential.insert(Arc::from(credential), 1);
            }
        }
    }

    /// Records how long `provider`'s upstream took to answer.
    pub fn observe_upstream(&self, provider: &'static str, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let mut latency = self.latency.lock();
        let histogram = latency.entry(provider).or_default();
        histogram.count += 1;
        histogram.sum += seconds;
        if let Some(at) = LATENCY_BUCKETS.iter().position(|le| seconds <= *le) {
            histogram.buckets[at] += 1;
        }
    }

    /// Counts `n` entries evicted from `table` to keep it within its bound.
    pub fn record_evictions(&self, table: Table, n: u64) {
        if n > 0 {
            self.evictions[table as usize].fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Entries evicted from `table` so far.
    pub fn evictions(&self, table: Table) -> u64 {
        self.evictions[table as usize].load(Ordering::Relaxed)
    }

    /// Counts an upstream `Retry-After` that was cut to the longest honoured wait.
    pub fn record_retry_after_clamped(&self) {
        self.retry_after_clamped.fetch_add(1, Ordering::Relaxed);
    }

    /// Upstream `Retry-After` values cut so far.
    pub fn retry_after_clamped(&self) -> u64 {
        self.retry_after_clamped.load(Ordering::Relaxed)
    }

    /// The request counter's value for one label set (for tests and reports).
    pub fn requests(&self, route: &str, status: u16, credential: &str) -> u64 {
        self.requests
            .lock()
            .iter()
            .filter(|((r, s), _)| *r == route && *s == status)
            .filter_map(|(_, by_credential)| by_credential.get(credential))
            .sum()
    }

    fn render_into(&self, out: &mut String) {
        family(
            out,
            "switchyard_requests_total",
            "counter",
            "Proxied requests by route, status and the credential that answered.",
        );
        let mut requests: Vec<_> = self
            .requests
            .lock()
            .iter()
            .flat_map(|((route, status), by_credential)| {
                by_credential
                    .iter()
                    .map(move |(credential, n)| (*route, *status, credential.clone(), *n))
            })
            .collect();
        requests.sort();
        for (route, status, credential, value) in requests {
            let _ = writeln!(
                out,
                "switchyard_requests_total{{route=\"{}\",status=\"{status}\",credential=\"{}\"}} {value}",
                escape(route),
                escape(&credential)
            );
        }
        family(
            out,
            "switchyard_upstream_latency_seconds",
            "histogram",
            "Time until the upstream's response head (first payload for streams), by provider.",
        );
        for (provider, histogram) in self.latency.lock().iter() {
            let mut cumulative = 0;
            for (le, n) in LATENCY_BUCKETS.iter().zip(histogram.buckets) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "switchyard_upstream_latency_seconds_bucket{{provider=\"{provider}\",le=\"{le}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "switchyard_upstream_latency_seconds_bucket{{provider=\"{provider}\",le=\"+Inf\"}} {}",
                histogram.count
            );
            let _ = writeln!(
                out,
                "switchyard_upstream_latency_seconds_sum{{provider=\"{provider}\"}} {}",
                histogram.sum
            );
            let _ = writeln!(
                out,
                "switchyard_upstream_latency_seconds_count{{provider=\"{provider}\"}} {}",
                histogram.count
            );
        }
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
    ] {
        family(&mut out, name, kind, help);
        let _ = writeln!(out, "{name} {value}");
    }
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
            "Times a plugin instance was quarantined after repeated faults.",
            |s| s.quarantines,
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
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let metrics = Metrics::default();
        metrics.record_request("/v1/messages", 200, Some("claude:apikey:1"));
        metrics.record_request("/v1/messages", 200, Some("claude:apikey:1"));
        metrics.record_request("/v1/messages", 502, None);
        metrics.observe_upstream("claude", Duration::from_millis(30));
        metrics.observe_upstream("claude", Duration::from_millis(700));
        let mut out = String::new();
        metrics.render_into(&mut out);
        assert!(out.contains(
            "switchyard_requests_total{route=\"/v1/messages\",status=\"200\",credential=\"claude:apikey:1\"} 2\n"
        ));
        assert!(out.contains(
            "switchyard_requests_total{route=\"/v1/messages\",status=\"502\",credential=\"\"} 1\n"
        ));
        assert!(out.contains(
            "switchyard_upstream_latency_seconds_bucket{provider=\"claude\",le=\"0.05\"} 1\n"
        ));
        assert!(out.contains(
            "switchyard_upstream_latency_seconds_bucket{provider=\"claude\",le=\"1\"} 2\n"
        ));
        assert!(out.contains("switchyard_upstream_latency_seconds_count{provider=\"claude\"} 2\n"));
        assert_eq!(metrics.requests("/v1/messages", 200, "claude:apikey:1"), 2);
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
