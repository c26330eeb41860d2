//! Legs measured in the same interleaved rounds: latency at one connection and throughput at
//! 64, each leg in turn within every round, so a difference between legs is one within the run
//! (every scenario that compares targets).

use std::time::Duration;

use anyhow::Result;

use crate::load::{self, Spec, Target};
use crate::processes::Process;

/// Connections of the throughput rounds.
pub(crate) const CONNECTIONS: usize = 64;

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
    /// Latency p50 and p99 (µs).
    pub latencies: Vec<(f64, f64)>,
    /// Latency p50 and p99 minus the first leg's (µs); the first leg's own are 0.
    pub added: Vec<(f64, f64)>,
    /// Requests per second at 64 connections, and CPU µs per request of the leg's process.
    pub throughput: Vec<(f64, f64)>,
}

/// [`latency`] then [`throughput`] over the same legs (the first is the baseline, usually
/// direct), with each leg's latency as added over the first's.
pub(crate) async fn measure(
    scenario: &str,
    legs: &[Leg<'_>],
    rounds: u32,
    requests: u32,
    seconds: Duration,
) -> Result<Measured> {
    let latencies = latency(scenario, legs, rounds, requests).await?;
    Ok(Measured {
        added: added_over_first(&latencies),
        latencies,
        throughput: throughput(scenario, legs, rounds, seconds).await?,
    })
}

/// `rounds` rounds of `requests` sequential requests on one connection per leg (after 200 of
/// warm-up), the legs in turn within each round; each leg's p50 and p99 (µs) over all rounds,
/// printed under `scenario`.
pub(crate) async fn latency(
    scenario: &str,
    legs: &[Leg<'_>],
    rounds: u32,
    requests: u32,
) -> Result<Vec<(f64, f64)>> {
    let mut hists: Vec<_> = legs.iter().map(|_| load::histogram()).collect();
    for _ in 0..rounds {
        for (leg, hist) in legs.iter().zip(&mut hists) {
            hist.add(load::sequential(&leg.target, &leg.spec, 200, requests).await?)?;
        }
    }
    let mut latencies = Vec::with_capacity(legs.len());
    for (leg, hist) in legs.iter().zip(&hists) {
        let (p50, p99) = (hist.value_at_quantile(0.5), hist.value_at_quantile(0.99));
        println!(
            "{scenario}: latency {:<14} p50 {p50:>6} µs  p99 {p99:>6} µs",
            leg.target.name
        );
        latencies.push((p50 as f64, p99 as f64));
    }
    Ok(latencies)
}

/// Each of `latencies` (p50, p99) minus the first's.
pub(crate) fn added_over_first(latencies: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let Some(&(p50, p99)) = latencies.first() else {
        return Vec::new();
    };
    latencies
        .iter()
        .map(|&(leg_p50, leg_p99)| (leg_p50 - p50, leg_p99 - p99))
        .collect()
}

/// `rounds` rounds of `seconds` at [`CONNECTIONS`] connections per leg, the legs in turn within
/// each round; each leg's requests per second and CPU µs per request of its process, printed
/// under `scenario`.
pub(crate) async fn throughput(
    scenario: &str,
    legs: &[Leg<'_>],
    rounds: u32,
    seconds: Duration,
) -> Result<Vec<(f64, f64)>> {
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
            "{scenario}: throughput {:<14} {rps:>9.0} req/s ({failed} failed), {cpu_us:.1} µs CPU per request",
            leg.target.name
        );
        throughput.push((rps, cpu_us));
    }
    Ok(throughput)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_latency_is_each_leg_over_the_first() {
        let added = added_over_first(&[(100.0, 150.0), (180.0, 260.0), (140.0, 149.0)]);
        assert_eq!(added, vec![(0.0, 0.0), (80.0, 110.0), (40.0, -1.0)]);
        assert!(added_over_first(&[]).is_empty());
    }
}
