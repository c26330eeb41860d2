//! Prometheus metrics: counters the request path bumps, rendered as the text exposition format
//! for `GET /metrics`.
//!
//! Families: `switchyard_requests_total{route,status,credential}`,
//! `switchyard_upstream_latency_seconds{provider}` (histogram, time to the upstream's response
//! head, or its first payload for streams), `switchyard_reload_generation`,
//! `switchyard_reload_attempts_total`, `switchyard_reload_failures_total`, with
//! `usage-statistics-enabled` `switchyard_usage_tokens_total{kind}`, and the session-affinity
//! `switchyard_session_picks_total{outcome}` and `switchyard_session_bindings`, the shared
//! store's `switchyard_session_store_degraded`, `switchyard_session_store_errors_total` and
//! `switchyard_session_store_rejected_messages_total`, and
//! per plugin instance (access providers and session extractors)
//! `switchyard_plugin_calls_total`, `switchyard_plugin_faults_total`,
//! `switchyard_plugin_quarantines_total`, `switchyard_plugin_busy_total` and
//! `switchyard_plugin_log_refused_total{instance,type}`, and per session-extractor instance
//! `switchyard_session_extractor_skipped_total{instance,type}`. The connection and body limits
//! ([`LimitCounters`]) add `switchyard_connections_open`,
//! `switchyard_connections_refused_total{reason}`, `switchyard_accept_paused_total`,
//! `switchyard_connections_timed_out_total{phase}`, `switchyard_request_body_timeouts_total` and
//! `switchyard_sse_oversized_events_total{phase}`; the bounded tables' sizes
//! `switchyard_model_states`, `switchyard_usage_models` (and `switchyard_session_bindings`), their
//! `switchyard_table_evictions_total{table}`, `switchyard_retry_after_clamped_total` and
//! `switchyard_cooldowns_capped_total`. The management gate and the RESP feed
//! ([`ControlCounters`]) add `switchyard_management_bcrypt_verifications_total`,
//! `switchyard_management_bans_total` and `switchyard_resp_connections_closed_total{reason}`.
//! Other subsystems add their families in
//! [`management::report::render`](crate::management::report::render).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use crate::history::History;

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
    /// Every table.
    pub(crate) const ALL: [Table; 3] = [
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
    /// Failed attempts that recorded no cooldown because their request had used up
    /// `max-cooldowns-per-request`.
    capped_cooldowns: AtomicU64,
    /// Entries evicted to keep each [`Table`] within its bound, by `Table as usize`.
    evictions: [AtomicU64; 3],
    /// Upstream `Retry-After` values cut to the longest wait switchyard honours.
    retry_after_clamped: AtomicU64,
    /// What the connection and body limits did.
    pub limits: LimitCounters,
    /// What the management gate and the RESP feed did.
    pub control: ControlCounters,
    /// The last 15 minutes of proxied requests (`GET /v0/management/history`).
    pub(crate) history: History,
}

/// What the management gate and the RESP feed's limits did.
#[derive(Debug, Default)]
pub struct ControlCounters {
    /// bcrypt verifications of management keys run.
    pub bcrypt_verifications: AtomicU64,
    /// Bans started (after five failed management keys from one address group).
    pub bans: AtomicU64,
    /// RESP connections closed at their first command because the management API is off.
    pub resp_closed_disabled: AtomicU64,
    /// RESP connections closed for a command over the limits before `AUTH`.
    pub resp_closed_oversized: AtomicU64,
    /// RESP connections closed after being idle (not subscribed) too long.
    pub resp_closed_idle: AtomicU64,
    /// Authenticated RESP sessions ended because the management secret or enablement changed.
    pub resp_closed_revoked: AtomicU64,
}

impl ControlCounters {
    fn render_into(&self, out: &mut String) {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        family(
            out,
            "switchyard_management_bcrypt_verifications_total",
            "counter",
            "bcrypt verifications of management keys (at most 2 run at once).",
        );
        let _ = writeln!(
            out,
            "switchyard_management_bcrypt_verifications_total {}",
            read(&self.bcrypt_verifications)
        );
        family(
            out,
            "switchyard_management_bans_total",
            "counter",
            "Client addresses (IPv6 per /64) banned for 30 minutes after 5 failed management keys.",
        );
        let _ = writeln!(out, "switchyard_management_bans_total {}", read(&self.bans));
        family(
            out,
            "switchyard_resp_connections_closed_total",
            "counter",
            "RESP connections closed by a rule: management off (disabled), a command over the limits before AUTH (oversized), idle too long (idle), the secret or enablement changed after AUTH (revoked).",
        );
        for (reason, counter) in [
            ("disabled", &self.resp_closed_disabled),
            ("oversized", &self.resp_closed_oversized),
            ("idle", &self.resp_closed_idle),
            ("revoked", &self.resp_closed_revoked),
        ] {
            let _ = writeln!(
                out,
                "switchyard_resp_connections_closed_total{{reason=\"{reason}\"}} {}",
                read(counter)
            );
        }
    }
}

/// What the connection and body limits (`server.*`, `streaming.max-event-mib`) did.
#[derive(Debug, Default)]
pub struct LimitCounters {
    /// Client connections open now (HTTP and RESP).
    pub open_connections: AtomicU64,
    /// Connections closed at once because their address already had
    /// `server.max-connections-per-ip` open.
    pub refused_per_ip: AtomicU64,
    /// Times the accept loop stopped accepting because `server.max-connections` were open.
    pub accept_paused: AtomicU64,
    /// HTTP/1 connections closed because a request head did not arrive within
    /// `server.header-read-timeout-ms`.
    pub header_read_timeouts: AtomicU64,
    /// Connections closed after `server.idle-timeout-ms` without a request in flight.
    pub idle_timeouts: AtomicU64,
    /// Request bodies that stalled longer than `server.body-read-timeout-ms` (408).
    pub body_read_timeouts: AtomicU64,
    /// Upstream SSE events over `streaming.max-event-mib` before the stream's first byte
    /// reached the client (the attempt failed over).
    pub oversized_events_before_first_byte: AtomicU64,
    /// Upstream SSE events over `streaming.max-event-mib` after the first byte (the client got
    /// the protocol's error event).
    pub oversized_events_after_first_byte: AtomicU64,
}

impl LimitCounters {
    /// Adds one to `counter`.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn render_into(&self, out: &mut String) {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        family(
            out,
            "switchyard_connections_open",
            "gauge",
            "Client connections open now (HTTP and RESP).",
        );
        let _ = writeln!(
            out,
            "switchyard_connections_open {}",
            read(&self.open_connections)
        );
        family(
            out,
            "switchyard_connections_refused_total",
            "counter",
            "Client connections closed at once by a limit, by reason.",
        );
        let _ = writeln!(
            out,
            "switchyard_connections_refused_total{{reason=\"max_connections_per_ip\"}} {}",
            read(&self.refused_per_ip)
        );
        family(
            out,
            "switchyard_accept_paused_total",
            "counter",
            "Times the server stopped accepting because server.max-connections were open.",
        );
        let _ = writeln!(
            out,
            "switchyard_accept_paused_total {}",
            read(&self.accept_paused)
        );
        family(
            out,
            "switchyard_connections_timed_out_total",
            "counter",
            "Client connections closed by a deadline: a request head too slow (header_read) or no request for server.idle-timeout-ms (idle).",
        );
        for (phase, counter) in [
            ("header_read", &self.header_read_timeouts),
            ("idle", &self.idle_timeouts),
        ] {
            let _ = writeln!(
                out,
                "switchyard_connections_timed_out_total{{phase=\"{phase}\"}} {}",
                read(counter)
            );
        }
        family(
            out,
            "switchyard_request_body_timeouts_total",
            "counter",
            "Request bodies that stalled longer than server.body-read-timeout-ms (answered 408).",
        );
        let _ = writeln!(
            out,
            "switchyard_request_body_timeouts_total {}",
            read(&self.body_read_timeouts)
        );
        family(
            out,
            "switchyard_sse_oversized_events_total",
            "counter",
            "Upstream SSE events larger than streaming.max-event-mib, before the first byte reached the client (failed over) or after it (error event).",
        );
        for (phase, counter) in [
            (
                "before_first_byte",
                &self.oversized_events_before_first_byte,
            ),
            ("after_first_byte", &self.oversized_events_after_first_byte),
        ] {
            let _ = writeln!(
                out,
                "switchyard_sse_oversized_events_total{{phase=\"{phase}\"}} {}",
                read(counter)
            );
        }
    }
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

    /// Counts a failed attempt that cooled nothing because its request reached
    /// `max-cooldowns-per-request`.
    pub fn count_capped_cooldown(&self) {
        self.capped_cooldowns.fetch_add(1, Ordering::Relaxed);
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

    /// Writes these counters as Prometheus text.
    pub(crate) fn render_into(&self, out: &mut String) {
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
        family(
            out,
            "switchyard_cooldowns_capped_total",
            "counter",
            "Failed attempts that cooled nothing because their request reached max-cooldowns-per-request.",
        );
        let _ = writeln!(
            out,
            "switchyard_cooldowns_capped_total {}",
            self.capped_cooldowns.load(Ordering::Relaxed)
        );
        self.limits.render_into(out);
        self.control.render_into(out);
    }
}

/// Writes the `# HELP` and `# TYPE` lines of a metric family.
pub(crate) fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A label value with `\`, `"` and newlines escaped.
pub(crate) fn escape(value: &str) -> String {
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
        LimitCounters::bump(&metrics.limits.refused_per_ip);
        LimitCounters::bump(&metrics.limits.oversized_events_after_first_byte);
        metrics.limits.open_connections.store(3, Ordering::Relaxed);
        let mut out = String::new();
        metrics.render_into(&mut out);
        for line in [
            "switchyard_connections_open 3\n",
            "switchyard_connections_refused_total{reason=\"max_connections_per_ip\"} 1\n",
            "switchyard_accept_paused_total 0\n",
            "switchyard_connections_timed_out_total{phase=\"idle\"} 0\n",
            "switchyard_request_body_timeouts_total 0\n",
            "switchyard_sse_oversized_events_total{phase=\"after_first_byte\"} 1\n",
            "switchyard_management_bcrypt_verifications_total 0\n",
            "switchyard_management_bans_total 0\n",
            "switchyard_resp_connections_closed_total{reason=\"revoked\"} 0\n",
        ] {
            assert!(out.contains(line), "{line} missing from\n{out}");
        }
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
