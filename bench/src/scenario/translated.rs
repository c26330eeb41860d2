//! Translated request: an OpenAI chat completions client on the Claude credentials, so
//! switchyard translates the request to Anthropic Messages and the answer back. Measured in
//! the same interleaved rounds as the pass-through request it mirrors (a Messages client on the
//! same credentials, the request of the latency and throughput scenarios), so the cost of
//! translation is a difference within the run.

use std::time::Duration;

use anyhow::{Result, bail};

use super::{Setup, small_chat_request, small_request};
use crate::load::{self, Spec, Target};
use crate::processes::Process;
use crate::report::Summary;

/// Connections of the throughput rounds, as in the throughput scenario.
const CONNECTIONS: usize = 64;

/// One measured path: where the request goes, what it is, and the process whose CPU it costs.
struct Leg<'a> {
    target: Target,
    spec: Spec,
    process: &'a Process,
}

/// The legs in measuring order: direct (the Messages request to the mock), pass-through
/// (the Messages request through switchyard) and translated (the chat request through
/// switchyard).
fn legs(setup: &Setup) -> [Leg<'_>; 3] {
    [
        Leg {
            target: setup.direct_target(),
            spec: small_request(),
            process: &setup.mock,
        },
        Leg {
            target: setup.switchyard_target("pass-through"),
            spec: small_request(),
            process: &setup.switchyard,
        },
        Leg {
            target: setup.switchyard_target("translated"),
            spec: small_chat_request(),
            process: &setup.switchyard,
        },
    ]
}

/// Checks that the chat request is translated (a chat completion comes back), then
/// interleaves `rounds` latency rounds of `requests` sequential requests and `rounds`
/// throughput rounds of `seconds` at 64 connections over the three legs.
pub(crate) async fn run(
    setup: &Setup,
    rounds: u32,
    requests: u32,
    seconds: Duration,
    summary: &mut Summary,
) -> Result<()> {
    let legs = legs(setup);
    let [_, _, translated] = &legs;
    let answer = load::body(&translated.target, &translated.spec).await?;
    let answer: serde_json::Value = serde_json::from_slice(&answer)?;
    if answer["object"] != "chat.completion" {
        bail!(
            "the chat request on a Claude credential was not answered as a chat completion: {answer}"
        );
    }

    let mut hists: Vec<_> = legs.iter().map(|_| load::histogram()).collect();
    for _ in 0..rounds {
        for (leg, hist) in legs.iter().zip(&mut hists) {
            hist.add(load::sequential(&leg.target, &leg.spec, 200, requests).await?)?;
        }
    }
    for (leg, hist) in legs.iter().zip(&hists) {
        println!(
            "translated scenario, latency {:<12} p50 {:>6} µs  p99 {:>6} µs",
            leg.target.name,
            hist.value_at_quantile(0.5),
            hist.value_at_quantile(0.99)
        );
    }
    let added = |leg: usize, q: f64| {
        Some(hists[leg].value_at_quantile(q) as f64 - hists[0].value_at_quantile(q) as f64)
    };
    summary.translated_passthrough_added_latency_p50_us = added(1, 0.5);
    summary.translated_passthrough_added_latency_p99_us = added(1, 0.99);
    summary.translated_added_latency_p50_us = added(2, 0.5);
    summary.translated_added_latency_p99_us = added(2, 0.99);

    let mut totals = [(0u64, 0u64, Duration::ZERO, Duration::ZERO); 3];
    for _ in 0..rounds {
        for (leg, total) in legs.iter().zip(&mut totals) {
            let cpu_before = leg.process.cpu_time()?;
            let result = load::throughput(&leg.target, &leg.spec, CONNECTIONS, seconds).await?;
            total.0 += result.ok;
            total.1 += result.failed;
            total.2 += result.elapsed;
            total.3 += leg.process.cpu_time()?.saturating_sub(cpu_before);
        }
    }
    let mut figures = [(0.0, 0.0); 3];
    for ((leg, (ok, failed, elapsed, cpu)), figure) in legs.iter().zip(&totals).zip(&mut figures) {
        let rps = *ok as f64 / elapsed.as_secs_f64();
        let cpu_us = cpu.as_secs_f64() * 1e6 / (*ok).max(1) as f64;
        println!(
            "translated scenario, throughput {:<12} {rps:>9.0} req/s ({failed} failed), {cpu_us:.1} µs CPU per request",
            leg.target.name
        );
        *figure = (rps, cpu_us);
    }
    let [_, passthrough, translated] = figures;
    (
        summary.rps_translated_passthrough,
        summary.cpu_us_per_request_translated_passthrough,
    ) = (Some(passthrough.0), Some(passthrough.1));
    (
        summary.rps_translated,
        summary.cpu_us_per_request_translated,
    ) = (Some(translated.0), Some(translated.1));
    Ok(())
}
