//! Legs measured in the same interleaved rounds: latency at one connection and throughput at
//! 64, each leg in turn within every round, so a difference between legs is one within the run
//! (the translated and token scenarios).

use std::time::Duration;

use anyhow::Result;

use crate::load::{self, Spec, Target};
use crate::processes::Process;

/// Connections of the throughput rounds, as in the throughput scenario.
const CONNECTIONS: usize = 64;

/// One measured path: where the request goes, what it is, and the process whose CPU it costs.
pub(crate) struct Leg<'a> {
    /// Where the request goes.
    pub target: Target,
    /// The request.
    pub spec: Spec,
    /// The process that serves it.
    pub process: &'a Process,
}

/// What the rounds measured, per leg in the legs' order.
pub(crate) struct Measured {
    /// Latency p50 and p99 minus the first leg's (µs); the first leg's own are 0.
    pub added: Vec<(f64, f64)>,
    /// Requests per second at 64 connections, and CPU µs per request of the leg's process.
    pub throughput: Vec<(f64, f64)>,
}

/// `rounds` latency rounds of `requests` sequential requests and `rounds` throughput rounds of
/// `seconds` at 64 connections over `legs` (the first is the baseline, usually direct); each
/// figure is printed under `scenario`.
pub(crate) async fn measure(
    scenario: &str,
    legs: &[Leg<'_>],
    rounds: u32,
    requests: u32,
    seconds: Duration,
) -> Result<Measured> {
    let mut hists: Vec<_> = legs.iter().map(|_| load::histogram()).collect();
    for _ in 0..rounds {
        for (leg, hist) in legs.iter().zip(&mut hists) {
            hist.add(load::sequential(&leg.target, &leg.spec, 200, requests).await?)?;
        }
    }
    for (leg, hist) in legs.iter().zip(&hists) {
        println!(
            "{scenario} scenario, latency {:<12} p50 {:>6} µs  p99 {:>6} µs",
            leg.target.name,
            hist.value_at_quantile(0.5),
            hist.value_at_quantile(0.99)
        );
    }
    let over_first = |hist: &hdrhistogram::Histogram<u64>, q: f64| {
        hist.value_at_quantile(q) as f64 - hists[0].value_at_quantile(q) as f64
    };
    let added = hists
        .iter()
        .map(|hist| (over_first(hist, 0.5), over_first(hist, 0.99)))
        .collect();

    let mut totals = vec![(0u64, 0u64, Duration::ZERO, Duration::ZERO); legs.len()];
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
    let mut throughput = Vec::with_capacity(legs.len());
    for (leg, (ok, failed, elapsed, cpu)) in legs.iter().zip(&totals) {
        let rps = *ok as f64 / elapsed.as_secs_f64();
        let cpu_us = cpu.as_secs_f64() * 1e6 / (*ok).max(1) as f64;
        println!(
            "{scenario} scenario, throughput {:<12} {rps:>9.0} req/s ({failed} failed), {cpu_us:.1} µs CPU per request",
            leg.target.name
        );
        throughput.push((rps, cpu_us));
    }
    Ok(Measured { added, throughput })
}
