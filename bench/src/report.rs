//! The results: a table on stdout and `target/bench/summary.json`.

use std::path::Path;

use anyhow::Result;
use serde_json::{Value, json};

use crate::variant::Variant;

/// The allocation bound's column in the table: [`crate::scenario::micro::MAX_ALLOCATIONS_PER_REQUEST`]
/// (a test keeps the two equal).
const ALLOCATION_BOUND: &str = "≤ 127";

/// Every figure of one run; `None` when a part did not run.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    pub added_latency_p50_us: Option<f64>,
    pub added_latency_p99_us: Option<f64>,
    pub nginx_added_latency_p50_us: Option<f64>,
    pub nginx_added_latency_p99_us: Option<f64>,
    pub rps_direct: Option<f64>,
    pub rps_switchyard: Option<f64>,
    pub rps_nginx: Option<f64>,
    pub cpu_us_per_request_mock: Option<f64>,
    pub cpu_us_per_request_switchyard: Option<f64>,
    pub cpu_us_per_request_nginx: Option<f64>,
    pub stream_added_ttfb_us: Option<f64>,
    pub streams_concurrent: Option<u64>,
    pub streams_failed: Option<u64>,
    pub rss_idle_mb: Option<f64>,
    pub rss_streams_mb: Option<f64>,
    pub swap_failed_requests: Option<u64>,
    pub swap_latency_ms: Option<f64>,
    pub cache_hit_rate_affinity: Option<f64>,
    pub cache_hit_rate_round_robin: Option<f64>,
    pub plugin_call_median_ns: Option<f64>,
    pub extraction_wasm_over_native: Option<f64>,
    pub affinity_pick_median_ns: Option<f64>,
    pub redis_added_latency_p50_us: Option<f64>,
    pub redis_added_latency_p99_us: Option<f64>,
    pub rps_memory_store: Option<f64>,
    pub rps_redis_store: Option<f64>,
    pub rps_redis_two_replicas: Option<f64>,
    pub translated_added_latency_p50_us: Option<f64>,
    pub translated_added_latency_p99_us: Option<f64>,
    pub translated_passthrough_added_latency_p50_us: Option<f64>,
    pub translated_passthrough_added_latency_p99_us: Option<f64>,
    pub rps_translated: Option<f64>,
    pub rps_translated_passthrough: Option<f64>,
    pub cpu_us_per_request_translated: Option<f64>,
    pub cpu_us_per_request_translated_passthrough: Option<f64>,
    pub token_added_latency_p50_us: Option<f64>,
    pub token_added_latency_p99_us: Option<f64>,
    pub token_api_key_added_latency_p50_us: Option<f64>,
    pub token_api_key_added_latency_p99_us: Option<f64>,
    pub rps_token: Option<f64>,
    pub rps_token_api_key: Option<f64>,
    pub cpu_us_per_request_token: Option<f64>,
    pub cpu_us_per_request_token_api_key: Option<f64>,
    pub console_rps: Option<f64>,
    pub cpu_percent_no_console: Option<f64>,
    pub cpu_percent_one_console: Option<f64>,
    pub console_event_delay_p50_us: Option<f64>,
    pub console_event_delay_p99_us: Option<f64>,
    pub console_events_missing: Option<u64>,
    pub allocations_per_request: Option<f64>,
    pub allocated_bytes_per_request: Option<f64>,
    pub allocations_per_stream_request: Option<f64>,
    pub allocated_bytes_per_stream_request: Option<f64>,
    pub agent_request_bytes: Option<u64>,
    pub agent_direct_latency_p50_us: Option<f64>,
    pub agent_direct_latency_p99_us: Option<f64>,
    pub agent_added_latency_p50_us: Option<f64>,
    pub agent_added_latency_p99_us: Option<f64>,
    pub agent_nginx_added_latency_p50_us: Option<f64>,
    pub agent_nginx_added_latency_p99_us: Option<f64>,
    pub agent_rps_direct: Option<f64>,
    pub agent_rps_switchyard: Option<f64>,
    pub agent_rps_nginx: Option<f64>,
    pub agent_cpu_us_per_request_mock: Option<f64>,
    pub agent_cpu_us_per_request_switchyard: Option<f64>,
    pub agent_cpu_us_per_request_nginx: Option<f64>,
    pub commit: String,
    /// The other switchyard processes measured in the same rounds, each with its own figures.
    pub variants: Vec<VariantFigures>,
}

/// A variant's switchyard process and its figures: the fields of its own [`Summary`] that
/// describe one switchyard process ([`PER_PROCESS_KEYS`]) plus the shared ones (direct, nginx)
/// of the same rounds, so its ratios compute as the default process's do.
#[derive(Debug)]
pub(crate) struct VariantFigures {
    /// Which variant.
    pub variant: Variant,
    /// Its figures.
    pub figures: Summary,
}

/// The JSON keys that describe one switchyard process: the default process's under these
/// names, each variant's under [`Variant::json_key`].
const PER_PROCESS_KEYS: &[&str] = &[
    "added_latency_p50_us",
    "added_latency_p99_us",
    "added_latency_p50_ratio_vs_nginx",
    "rps_switchyard",
    "rps_ratio_vs_nginx",
    "cpu_us_per_request_switchyard",
    "cpu_per_request_ratio_vs_nginx",
    "stream_added_ttfb_us",
    "streams_failed",
    "rss_idle_mb",
    "rss_streams_mb",
    "agent_added_latency_p50_us",
    "agent_added_latency_p99_us",
    "agent_added_latency_p50_ratio_vs_nginx",
    "agent_rps_switchyard",
    "agent_rps_ratio_vs_nginx",
    "agent_cpu_us_per_request_switchyard",
];

/// The printed rows that describe one switchyard process: a variant's column shows these only.
const PER_PROCESS_ROWS: &[&str] = &[
    "added latency p50 (µs)",
    "added latency p99 (µs)",
    "added p50 / nginx's added p50",
    "rps switchyard, 64 conns",
    "rps switchyard / nginx",
    "CPU per request: switchyard (µs)",
    "CPU per request: switchyard / nginx",
    "stream added TTFB (µs)",
    "streams failed",
    "RSS idle (MB)",
    "RSS with streams open (MB)",
    "agent 100 KB: added p50 / p99 (µs)",
    "agent 100 KB: added p50 / nginx's",
    "agent 100 KB: rps switchyard, 64 conns",
    "agent 100 KB: rps switchyard / nginx",
    "agent 100 KB: CPU per request switchyard (µs)",
];

impl Summary {
    /// A summary with one (empty) set of figures per variant, in their order.
    pub(crate) fn with_variants(variants: &[Variant]) -> Summary {
        Summary {
            variants: variants
                .iter()
                .map(|variant| VariantFigures {
                    variant: variant.clone(),
                    figures: Summary::default(),
                })
                .collect(),
            ..Summary::default()
        }
    }

    /// The figures of switchyard process `variant`: this summary's for the default process
    /// (`None`), variant `i`'s own for `Some(i)`.
    pub(crate) fn process_mut(&mut self, variant: Option<usize>) -> &mut Summary {
        match variant {
            None => self,
            Some(i) => &mut self.variants[i].figures,
        }
    }

    /// Sets a figure shared by every switchyard process of the run (direct's, nginx's) in this
    /// summary and in each variant's, so every process's ratios use it.
    pub(crate) fn set_shared(&mut self, set: impl Fn(&mut Summary)) {
        for variant in &mut self.variants {
            set(&mut variant.figures);
        }
        set(self);
    }

    /// switchyard's added latency (p50) over nginx's, in the same rounds.
    pub(crate) fn added_latency_p50_ratio_vs_nginx(&self) -> Option<f64> {
        Some(self.added_latency_p50_us? / self.nginx_added_latency_p50_us?)
    }

    /// switchyard's CPU per request over nginx's, in the same rounds.
    pub(crate) fn cpu_per_request_ratio_vs_nginx(&self) -> Option<f64> {
        Some(self.cpu_us_per_request_switchyard? / self.cpu_us_per_request_nginx?)
    }

    /// The 100 KB request: switchyard's added latency (p50) over nginx's (request buffering
    /// off), in the same rounds.
    pub(crate) fn agent_added_latency_p50_ratio_vs_nginx(&self) -> Option<f64> {
        Some(self.agent_added_latency_p50_us? / self.agent_nginx_added_latency_p50_us?)
    }

    /// The 100 KB request: switchyard's requests per second over nginx's.
    pub(crate) fn agent_rps_ratio_vs_nginx(&self) -> Option<f64> {
        Some(self.agent_rps_switchyard? / self.agent_rps_nginx?)
    }

    /// switchyard's throughput over nginx's.
    pub(crate) fn rps_ratio_vs_nginx(&self) -> Option<f64> {
        Some(self.rps_switchyard? / self.rps_nginx?)
    }

    /// Translated requests per second over pass-through ones, in the translated scenario's
    /// rounds.
    pub(crate) fn rps_ratio_translated(&self) -> Option<f64> {
        Some(self.rps_translated? / self.rps_translated_passthrough?)
    }

    /// Requests per second on the token credential over those on the API key, in the token
    /// scenario's rounds.
    pub(crate) fn rps_ratio_token(&self) -> Option<f64> {
        Some(self.rps_token? / self.rps_token_api_key?)
    }

    /// What a request on the token credential adds over the same request on the API key at
    /// one client, p50 (µs, same rounds).
    pub(crate) fn token_over_api_key_latency_p50_us(&self) -> Option<f64> {
        Some(self.token_added_latency_p50_us? - self.token_api_key_added_latency_p50_us?)
    }

    /// The same at p99.
    pub(crate) fn token_over_api_key_latency_p99_us(&self) -> Option<f64> {
        Some(self.token_added_latency_p99_us? - self.token_api_key_added_latency_p99_us?)
    }

    /// What one console subscriber adds to the proxy's CPU at the console scenario's load, in
    /// percentage points of one core (same rounds).
    pub(crate) fn console_cpu_added_points(&self) -> Option<f64> {
        Some(self.cpu_percent_one_console? - self.cpu_percent_no_console?)
    }

    /// The same as a percentage of the proxy's CPU without a console: the figure issue 21
    /// wants under 1 %.
    pub(crate) fn console_cpu_added_share_percent(&self) -> Option<f64> {
        Some(self.console_cpu_added_points()? / self.cpu_percent_no_console? * 100.0)
    }

    /// The flat JSON object of `target/bench/summary.json`.
    pub(crate) fn to_json(&self) -> Value {
        let mut summary = json!({
            "added_latency_p50_us": self.added_latency_p50_us,
            "added_latency_p99_us": self.added_latency_p99_us,
            "nginx_added_latency_p50_us": self.nginx_added_latency_p50_us,
            "nginx_added_latency_p99_us": self.nginx_added_latency_p99_us,
            "added_latency_p50_ratio_vs_nginx": self.added_latency_p50_ratio_vs_nginx(),
            "rps_direct": self.rps_direct,
            "rps_switchyard": self.rps_switchyard,
            "rps_nginx": self.rps_nginx,
            "rps_ratio_vs_nginx": self.rps_ratio_vs_nginx(),
            "cpu_us_per_request_mock": self.cpu_us_per_request_mock,
            "cpu_us_per_request_switchyard": self.cpu_us_per_request_switchyard,
            "cpu_us_per_request_nginx": self.cpu_us_per_request_nginx,
            "cpu_per_request_ratio_vs_nginx": self.cpu_per_request_ratio_vs_nginx(),
            "stream_added_ttfb_us": self.stream_added_ttfb_us,
            "streams_concurrent": self.streams_concurrent,
            "streams_failed": self.streams_failed,
            "rss_idle_mb": self.rss_idle_mb,
            "rss_streams_mb": self.rss_streams_mb,
            "swap_failed_requests": self.swap_failed_requests,
            "swap_latency_ms": self.swap_latency_ms,
            "cache_hit_rate_affinity": self.cache_hit_rate_affinity,
            "cache_hit_rate_round_robin": self.cache_hit_rate_round_robin,
            "plugin_call_median_ns": self.plugin_call_median_ns,
            "extraction_wasm_over_native": self.extraction_wasm_over_native,
            "affinity_pick_median_ns": self.affinity_pick_median_ns,
            "redis_added_latency_p50_us": self.redis_added_latency_p50_us,
            "redis_added_latency_p99_us": self.redis_added_latency_p99_us,
            "rps_memory_store": self.rps_memory_store,
            "rps_redis_store": self.rps_redis_store,
            "rps_redis_two_replicas": self.rps_redis_two_replicas,
            "translated_added_latency_p50_us": self.translated_added_latency_p50_us,
            "translated_added_latency_p99_us": self.translated_added_latency_p99_us,
            "translated_passthrough_added_latency_p50_us": self.translated_passthrough_added_latency_p50_us,
            "translated_passthrough_added_latency_p99_us": self.translated_passthrough_added_latency_p99_us,
            "rps_translated": self.rps_translated,
            "rps_translated_passthrough": self.rps_translated_passthrough,
            "rps_ratio_translated": self.rps_ratio_translated(),
            "cpu_us_per_request_translated": self.cpu_us_per_request_translated,
            "cpu_us_per_request_translated_passthrough": self.cpu_us_per_request_translated_passthrough,
            "commit": self.commit,
        });
        if let Some(object) = summary.as_object_mut() {
            for part in [
                self.token_json(),
                self.console_json(),
                self.agent_json(),
                self.allocations_json(),
            ] {
                if let Value::Object(part) = part {
                    object.extend(part);
                }
            }
            for variant in &self.variants {
                let figures = variant.figures.to_json();
                for key in PER_PROCESS_KEYS {
                    object.insert(variant.variant.json_key(key), figures[*key].clone());
                }
            }
        }
        summary
    }

    /// The 100 KB coding-agent scenario's figures (apart, as [`Summary::token_json`]).
    fn agent_json(&self) -> Value {
        json!({
            "agent_request_bytes": self.agent_request_bytes,
            "agent_direct_latency_p50_us": self.agent_direct_latency_p50_us,
            "agent_direct_latency_p99_us": self.agent_direct_latency_p99_us,
            "agent_added_latency_p50_us": self.agent_added_latency_p50_us,
            "agent_added_latency_p99_us": self.agent_added_latency_p99_us,
            "agent_nginx_added_latency_p50_us": self.agent_nginx_added_latency_p50_us,
            "agent_nginx_added_latency_p99_us": self.agent_nginx_added_latency_p99_us,
            "agent_added_latency_p50_ratio_vs_nginx": self.agent_added_latency_p50_ratio_vs_nginx(),
            "agent_rps_direct": self.agent_rps_direct,
            "agent_rps_switchyard": self.agent_rps_switchyard,
            "agent_rps_nginx": self.agent_rps_nginx,
            "agent_rps_ratio_vs_nginx": self.agent_rps_ratio_vs_nginx(),
            "agent_cpu_us_per_request_mock": self.agent_cpu_us_per_request_mock,
            "agent_cpu_us_per_request_switchyard": self.agent_cpu_us_per_request_switchyard,
            "agent_cpu_us_per_request_nginx": self.agent_cpu_us_per_request_nginx,
        })
    }

    /// The token scenario's figures (apart, as one `json!` of every field exceeds the macro
    /// recursion limit).
    fn token_json(&self) -> Value {
        json!({
            "token_added_latency_p50_us": self.token_added_latency_p50_us,
            "token_added_latency_p99_us": self.token_added_latency_p99_us,
            "token_api_key_added_latency_p50_us": self.token_api_key_added_latency_p50_us,
            "token_api_key_added_latency_p99_us": self.token_api_key_added_latency_p99_us,
            "token_over_api_key_latency_p50_us": self.token_over_api_key_latency_p50_us(),
            "token_over_api_key_latency_p99_us": self.token_over_api_key_latency_p99_us(),
            "rps_token": self.rps_token,
            "rps_token_api_key": self.rps_token_api_key,
            "rps_ratio_token": self.rps_ratio_token(),
            "cpu_us_per_request_token": self.cpu_us_per_request_token,
            "cpu_us_per_request_token_api_key": self.cpu_us_per_request_token_api_key,
        })
    }

    /// The console scenario's figures (apart, as [`Summary::token_json`]).
    fn console_json(&self) -> Value {
        json!({
            "console_rps": self.console_rps,
            "cpu_percent_no_console": self.cpu_percent_no_console,
            "cpu_percent_one_console": self.cpu_percent_one_console,
            "console_cpu_added_points": self.console_cpu_added_points(),
            "console_cpu_added_share_percent": self.console_cpu_added_share_percent(),
            "console_event_delay_p50_us": self.console_event_delay_p50_us,
            "console_event_delay_p99_us": self.console_event_delay_p99_us,
            "console_events_missing": self.console_events_missing,
        })
    }

    /// The allocation counts of the micro scenario (apart, as [`Summary::token_json`]).
    fn allocations_json(&self) -> Value {
        json!({
            "allocations_per_request": self.allocations_per_request,
            "allocated_bytes_per_request": self.allocated_bytes_per_request,
            "allocations_per_stream_request": self.allocations_per_stream_request,
            "allocated_bytes_per_stream_request": self.allocated_bytes_per_stream_request,
        })
    }

    /// Prints the table with each target of docs/architecture.md: one value column for the
    /// default switchyard process (and the shared figures), one per variant with the figures of
    /// its own process ([`PER_PROCESS_ROWS`]).
    pub(crate) fn print(&self) {
        let variants: Vec<Vec<(&str, String, &str)>> =
            self.variants.iter().map(|v| v.figures.rows()).collect();
        let default = switchyard::ServingMode::default().as_str();
        print!(
            "\n{:<48} {:>22}",
            "measure",
            format!("switchyard ({default})")
        );
        for variant in &self.variants {
            print!(" {:>14}", variant.variant.label());
        }
        println!("  target");
        for (i, (name, value, target)) in self.rows().into_iter().enumerate() {
            print!("{name:<48} {value:>22}");
            for rows in &variants {
                let own = PER_PROCESS_ROWS.contains(&name);
                print!(" {:>14}", if own { rows[i].1.as_str() } else { "" });
            }
            println!("  {target}");
        }
        println!("commit {}", self.commit);
    }

    /// The table's rows: measure, value (`n/a` when not measured), target.
    fn rows(&self) -> Vec<(&'static str, String, &'static str)> {
        let f =
            |v: Option<f64>, digits: usize| v.map_or("n/a".to_owned(), |v| format!("{v:.digits$}"));
        let u = |v: Option<u64>| v.map_or("n/a".to_owned(), |v| v.to_string());
        let pair = |a: Option<f64>, b: Option<f64>| format!("{} / {}", f(a, 0), f(b, 0));
        vec![
            (
                "added latency p50 (µs)",
                f(self.added_latency_p50_us, 1),
                "≤ 100",
            ),
            (
                "added latency p99 (µs)",
                f(self.added_latency_p99_us, 1),
                "≤ 300",
            ),
            (
                "nginx added latency p50 / p99 (µs)",
                pair(
                    self.nginx_added_latency_p50_us,
                    self.nginx_added_latency_p99_us,
                ),
                "",
            ),
            (
                "added p50 / nginx's added p50",
                f(self.added_latency_p50_ratio_vs_nginx(), 2),
                "≤ 2",
            ),
            ("rps direct, 64 conns", f(self.rps_direct, 0), ""),
            ("rps switchyard, 64 conns", f(self.rps_switchyard, 0), ""),
            ("rps nginx, 64 conns", f(self.rps_nginx, 0), ""),
            (
                "rps switchyard / nginx",
                f(self.rps_ratio_vs_nginx(), 2),
                "≥ 0.8",
            ),
            (
                "CPU per request: mock (µs)",
                f(self.cpu_us_per_request_mock, 1),
                "",
            ),
            (
                "CPU per request: switchyard (µs)",
                f(self.cpu_us_per_request_switchyard, 1),
                "",
            ),
            (
                "CPU per request: nginx (µs)",
                f(self.cpu_us_per_request_nginx, 1),
                "",
            ),
            (
                "CPU per request: switchyard / nginx",
                f(self.cpu_per_request_ratio_vs_nginx(), 2),
                "≤ 1.5",
            ),
            (
                "stream added TTFB (µs)",
                f(self.stream_added_ttfb_us, 1),
                "≤ 200",
            ),
            ("concurrent streams", u(self.streams_concurrent), "1000"),
            ("streams failed", u(self.streams_failed), "0"),
            ("RSS idle (MB)", f(self.rss_idle_mb, 1), "≤ 30"),
            (
                "RSS with streams open (MB)",
                f(self.rss_streams_mb, 1),
                "≤ 150",
            ),
            (
                "plugin swap: failed requests",
                u(self.swap_failed_requests),
                "0",
            ),
            (
                "plugin swap: new version after (ms)",
                f(self.swap_latency_ms, 1),
                "≤ 250",
            ),
            (
                "prompt-cache hit rate, affinity",
                f(self.cache_hit_rate_affinity, 3),
                "≥ 0.95",
            ),
            (
                "prompt-cache hit rate, round-robin",
                f(self.cache_hit_rate_round_robin, 3),
                "≈ 1/8",
            ),
            (
                "access plugin call median (ns)",
                f(self.plugin_call_median_ns, 0),
                "≤ 2000",
            ),
            (
                "extraction 200 KB, Wasm / native",
                f(self.extraction_wasm_over_native, 2),
                "≤ 1.5",
            ),
            (
                "affinity pick median (ns)",
                f(self.affinity_pick_median_ns, 0),
                "",
            ),
            (
                "Redis store over memory, p50 (µs)",
                f(self.redis_added_latency_p50_us, 1),
                "",
            ),
            (
                "Redis store over memory, p99 (µs)",
                f(self.redis_added_latency_p99_us, 1),
                "",
            ),
            (
                "rps memory store, 64 conns",
                f(self.rps_memory_store, 0),
                "",
            ),
            ("rps Redis store, 64 conns", f(self.rps_redis_store, 0), ""),
            (
                "rps Redis store, 2 replicas, 64 conns",
                f(self.rps_redis_two_replicas, 0),
                "",
            ),
            (
                "translated (chat on Claude): added p50 (µs)",
                f(self.translated_added_latency_p50_us, 1),
                "",
            ),
            (
                "translated (chat on Claude): added p99 (µs)",
                f(self.translated_added_latency_p99_us, 1),
                "",
            ),
            (
                "same rounds, pass-through: added p50 (µs)",
                f(self.translated_passthrough_added_latency_p50_us, 1),
                "",
            ),
            (
                "same rounds, pass-through: added p99 (µs)",
                f(self.translated_passthrough_added_latency_p99_us, 1),
                "",
            ),
            ("rps translated, 64 conns", f(self.rps_translated, 0), ""),
            (
                "rps pass-through, same rounds, 64 conns",
                f(self.rps_translated_passthrough, 0),
                "",
            ),
            (
                "rps translated / pass-through",
                f(self.rps_ratio_translated(), 2),
                "",
            ),
            (
                "CPU per request: translated (µs)",
                f(self.cpu_us_per_request_translated, 1),
                "",
            ),
            (
                "CPU per request: pass-through, same rounds (µs)",
                f(self.cpu_us_per_request_translated_passthrough, 1),
                "",
            ),
            (
                "token credential: added p50 (µs)",
                f(self.token_added_latency_p50_us, 1),
                "",
            ),
            (
                "token credential: added p99 (µs)",
                f(self.token_added_latency_p99_us, 1),
                "",
            ),
            (
                "same rounds, API key: added p50 (µs)",
                f(self.token_api_key_added_latency_p50_us, 1),
                "",
            ),
            (
                "same rounds, API key: added p99 (µs)",
                f(self.token_api_key_added_latency_p99_us, 1),
                "",
            ),
            (
                "token over API key, p50 / p99 (µs)",
                format!(
                    "{} / {}",
                    f(self.token_over_api_key_latency_p50_us(), 1),
                    f(self.token_over_api_key_latency_p99_us(), 1)
                ),
                "",
            ),
            ("rps token credential, 64 conns", f(self.rps_token, 0), ""),
            (
                "rps API key, same rounds, 64 conns",
                f(self.rps_token_api_key, 0),
                "",
            ),
            ("rps token / API key", f(self.rps_ratio_token(), 2), ""),
            (
                "CPU per request: token credential (µs)",
                f(self.cpu_us_per_request_token, 1),
                "",
            ),
            (
                "CPU per request: API key, same rounds (µs)",
                f(self.cpu_us_per_request_token_api_key, 1),
                "",
            ),
            (
                "console scenario: proxied req/s (open loop)",
                f(self.console_rps, 0),
                "1000",
            ),
            (
                "proxy CPU, no console (% of a core)",
                f(self.cpu_percent_no_console, 2),
                "",
            ),
            (
                "proxy CPU, one console (% of a core)",
                f(self.cpu_percent_one_console, 2),
                "",
            ),
            (
                "one console adds (points of a core)",
                f(self.console_cpu_added_points(), 2),
                "< 1",
            ),
            (
                "one console adds (% of proxy CPU)",
                f(self.console_cpu_added_share_percent(), 1),
                "",
            ),
            (
                "usage event after answer p50 / p99 (µs)",
                format!(
                    "{} / {}",
                    f(self.console_event_delay_p50_us, 0),
                    f(self.console_event_delay_p99_us, 0)
                ),
                "",
            ),
            ("usage events missing", u(self.console_events_missing), "0"),
            (
                "agent 100 KB: request size (bytes)",
                u(self.agent_request_bytes),
                "",
            ),
            (
                "agent 100 KB: direct p50 / p99 (µs)",
                pair(
                    self.agent_direct_latency_p50_us,
                    self.agent_direct_latency_p99_us,
                ),
                "",
            ),
            (
                "agent 100 KB: added p50 / p99 (µs)",
                pair(
                    self.agent_added_latency_p50_us,
                    self.agent_added_latency_p99_us,
                ),
                "",
            ),
            (
                "agent 100 KB: nginx added p50 / p99 (µs)",
                pair(
                    self.agent_nginx_added_latency_p50_us,
                    self.agent_nginx_added_latency_p99_us,
                ),
                "",
            ),
            (
                "agent 100 KB: added p50 / nginx's",
                f(self.agent_added_latency_p50_ratio_vs_nginx(), 2),
                "≤ 1",
            ),
            (
                "agent 100 KB: rps direct / nginx, 64 conns",
                pair(self.agent_rps_direct, self.agent_rps_nginx),
                "",
            ),
            (
                "agent 100 KB: rps switchyard, 64 conns",
                f(self.agent_rps_switchyard, 0),
                "",
            ),
            (
                "agent 100 KB: rps switchyard / nginx",
                f(self.agent_rps_ratio_vs_nginx(), 2),
                "≥ 1.0",
            ),
            (
                "agent 100 KB: CPU per request mock / nginx (µs)",
                format!(
                    "{} / {}",
                    f(self.agent_cpu_us_per_request_mock, 1),
                    f(self.agent_cpu_us_per_request_nginx, 1)
                ),
                "",
            ),
            (
                "agent 100 KB: CPU per request switchyard (µs)",
                f(self.agent_cpu_us_per_request_switchyard, 1),
                "",
            ),
            (
                "allocations per small request (serving thread)",
                f(self.allocations_per_request, 1),
                ALLOCATION_BOUND,
            ),
            (
                "bytes allocated per small request",
                f(self.allocated_bytes_per_request, 0),
                "",
            ),
            (
                "allocations / bytes per small streamed request",
                format!(
                    "{} / {}",
                    f(self.allocations_per_stream_request, 1),
                    f(self.allocated_bytes_per_stream_request, 0)
                ),
                "",
            ),
        ]
    }

    /// Writes the JSON next to the build output.
    pub(crate) fn write(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, serde_json::to_vec_pretty(&self.to_json())?)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use switchyard::ServingMode;

    #[test]
    fn each_variants_figures_reach_the_json_under_its_own_keys_beside_the_defaults() {
        let variants = [
            Variant::baseline(PathBuf::from("/old/switchyard")),
            Variant::runtime(ServingMode::WorkStealing),
        ];
        let mut summary = Summary::with_variants(&variants);
        summary.set_shared(|s| {
            (s.rps_nginx, s.cpu_us_per_request_nginx) = (Some(40_000.0), Some(20.0))
        });
        for (variant, rps, p50) in [
            (None, 30_000.0, 90.0),
            (Some(0), 20_000.0, 150.0),
            (Some(1), 32_000.0, 80.0),
        ] {
            let figures = summary.process_mut(variant);
            figures.rps_switchyard = Some(rps);
            figures.cpu_us_per_request_switchyard = Some(rps / 1000.0);
            figures.added_latency_p50_us = Some(p50);
        }
        summary.process_mut(Some(1)).rss_streams_mb = Some(70.0);
        let json = summary.to_json();
        assert_eq!(json["rps_switchyard"], 30_000.0, "the default keys stay");
        assert_eq!(json["added_latency_p50_us"], 90.0);
        assert_eq!(json["rps_ratio_vs_nginx"], 0.75);
        assert_eq!(json["rps_baseline"], 20_000.0);
        assert_eq!(json["cpu_us_per_request_baseline"], 20.0);
        assert_eq!(json["baseline_added_latency_p50_us"], 150.0);
        assert_eq!(json["baseline_rps_ratio_vs_nginx"], 0.5);
        assert_eq!(json["rps_work_stealing"], 32_000.0);
        assert_eq!(json["work_stealing_added_latency_p50_us"], 80.0);
        assert_eq!(json["work_stealing_rps_ratio_vs_nginx"], 0.8);
        assert_eq!(json["work_stealing_cpu_per_request_ratio_vs_nginx"], 1.6);
        assert_eq!(json["work_stealing_rss_streams_mb"], 70.0);
        assert!(json["baseline_rss_streams_mb"].is_null(), "not measured");
        assert!(json["rss_streams_mb"].is_null(), "the default's own");
        assert!(
            json.get("work_stealing_rps_nginx").is_none(),
            "shared figures appear once"
        );
    }

    #[test]
    fn the_agent_figures_and_their_ratios_to_nginx_reach_the_json() {
        let summary = Summary {
            agent_request_bytes: Some(104_024),
            agent_added_latency_p50_us: Some(300.0),
            agent_nginx_added_latency_p50_us: Some(200.0),
            agent_rps_switchyard: Some(2_400.0),
            agent_rps_nginx: Some(2_000.0),
            agent_cpu_us_per_request_switchyard: Some(150.0),
            ..Summary::default()
        };
        let json = summary.to_json();
        assert_eq!(json["agent_request_bytes"], 104_024);
        assert_eq!(json["agent_added_latency_p50_us"], 300.0);
        assert_eq!(json["agent_added_latency_p50_ratio_vs_nginx"], 1.5);
        assert_eq!(json["agent_rps_ratio_vs_nginx"], 1.2);
        assert_eq!(json["agent_cpu_us_per_request_switchyard"], 150.0);
        assert!(json["agent_rps_direct"].is_null());
    }

    #[test]
    fn every_per_process_key_is_a_key_of_the_json() {
        let json = Summary::default().to_json();
        for key in PER_PROCESS_KEYS {
            assert!(json.get(*key).is_some(), "{key}");
        }
        let rows: Vec<&str> = Summary::default().rows().iter().map(|r| r.0).collect();
        for row in PER_PROCESS_ROWS {
            assert!(rows.contains(row), "{row}");
        }
    }

    #[test]
    fn the_token_figures_and_their_comparisons_reach_the_json() {
        let summary = Summary {
            token_added_latency_p50_us: Some(130.0),
            token_added_latency_p99_us: Some(210.0),
            token_api_key_added_latency_p50_us: Some(120.0),
            token_api_key_added_latency_p99_us: Some(200.0),
            rps_token: Some(15_000.0),
            rps_token_api_key: Some(20_000.0),
            cpu_us_per_request_token: Some(75.0),
            cpu_us_per_request_token_api_key: Some(70.0),
            commit: "abc1234".to_owned(),
            ..Summary::default()
        };
        let json = summary.to_json();
        assert_eq!(json["token_added_latency_p50_us"], 130.0);
        assert_eq!(json["token_api_key_added_latency_p99_us"], 200.0);
        assert_eq!(json["token_over_api_key_latency_p50_us"], 10.0);
        assert_eq!(json["token_over_api_key_latency_p99_us"], 10.0);
        assert_eq!(json["rps_token"], 15_000.0);
        assert_eq!(json["rps_ratio_token"], 0.75);
        assert_eq!(json["cpu_us_per_request_token_api_key"], 70.0);
        assert_eq!(json["commit"], "abc1234", "the other fields stay");
        assert!(json["rps_translated"].is_null());
    }

    #[test]
    fn the_console_figures_and_their_difference_reach_the_json() {
        let summary = Summary {
            console_rps: Some(1000.0),
            cpu_percent_no_console: Some(8.0),
            cpu_percent_one_console: Some(8.5),
            console_event_delay_p50_us: Some(150.0),
            console_event_delay_p99_us: Some(900.0),
            console_events_missing: Some(0),
            commit: "abc1234".to_owned(),
            ..Summary::default()
        };
        let json = summary.to_json();
        assert_eq!(json["cpu_percent_no_console"], 8.0);
        assert_eq!(json["cpu_percent_one_console"], 8.5);
        assert_eq!(json["console_cpu_added_points"], 0.5);
        assert_eq!(json["console_cpu_added_share_percent"], 6.25);
        assert_eq!(json["console_event_delay_p99_us"], 900.0);
        assert_eq!(json["console_events_missing"], 0);
        assert_eq!(json["console_rps"], 1000.0);
        assert_eq!(json["commit"], "abc1234", "the other fields stay");
        assert!(json["rps_token"].is_null(), "the token part is still there");
    }

    #[test]
    fn the_table_shows_the_allocation_bound_the_run_checks() {
        assert_eq!(
            ALLOCATION_BOUND,
            format!("≤ {}", crate::scenario::micro::MAX_ALLOCATIONS_PER_REQUEST)
        );
    }

    #[test]
    fn the_allocation_figures_reach_the_json() {
        let summary = Summary {
            allocations_per_request: Some(150.0),
            allocated_bytes_per_request: Some(46_000.0),
            allocations_per_stream_request: Some(178.0),
            allocated_bytes_per_stream_request: Some(43_000.0),
            commit: "abc1234".to_owned(),
            ..Summary::default()
        };
        let json = summary.to_json();
        assert_eq!(json["allocations_per_request"], 150.0);
        assert_eq!(json["allocated_bytes_per_request"], 46_000.0);
        assert_eq!(json["allocations_per_stream_request"], 178.0);
        assert_eq!(json["allocated_bytes_per_stream_request"], 43_000.0);
        assert_eq!(json["commit"], "abc1234", "the other fields stay");
        assert!(
            json["rps_token"].is_null(),
            "the other parts are still there"
        );
    }

    #[test]
    fn console_comparisons_need_both_legs() {
        let summary = Summary {
            cpu_percent_one_console: Some(8.5),
            ..Summary::default()
        };
        let json = summary.to_json();
        assert!(json["console_cpu_added_points"].is_null());
        assert!(json["console_cpu_added_share_percent"].is_null());
    }

    #[test]
    fn token_comparisons_need_both_legs() {
        let summary = Summary {
            token_added_latency_p50_us: Some(130.0),
            rps_token: Some(15_000.0),
            ..Summary::default()
        };
        let json = summary.to_json();
        assert!(json["token_over_api_key_latency_p50_us"].is_null());
        assert!(json["rps_ratio_token"].is_null());
    }
}
