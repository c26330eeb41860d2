//! Requests per second at 64 connections: direct, switchyard, nginx; and the CPU time each
//! server process spends per request, which on a small machine decides the ratios (the load
//! generator and the mock share the same cores).

use std::time::Duration;

use anyhow::Result;

use super::{Setup, small_request};
use crate::load;
use crate::report::Summary;

/// Connections per target.
const CONNECTIONS: usize = 64;

/// Interleaves `rounds` rounds of `seconds` per target and keeps each target's mean.
pub(crate) async fn run(
    setup: &Setup,
    rounds: u32,
    seconds: Duration,
    summary: &mut Summary,
) -> Result<()> {
    let spec = small_request();
    let targets = setup.targets();
    let processes = setup.processes();
    let mut totals = vec![(0u64, 0u64, Duration::ZERO, Duration::ZERO); targets.len()];
    for _ in 0..rounds {
        for ((target, process), total) in targets.iter().zip(&processes).zip(&mut totals) {
            let cpu_before = process.cpu_time()?;
            let result = load::throughput(target, &spec, CONNECTIONS, seconds).await?;
            total.0 += result.ok;
            total.1 += result.failed;
            total.2 += result.elapsed;
            total.3 += process.cpu_time()?.saturating_sub(cpu_before);
        }
    }
    for (target, (ok, failed, elapsed, cpu)) in targets.iter().zip(&totals) {
        let rps = *ok as f64 / elapsed.as_secs_f64();
        let cpu_us = cpu.as_secs_f64() * 1e6 / (*ok).max(1) as f64;
        println!(
            "throughput {:<10} {rps:>9.0} req/s ({failed} failed), {cpu_us:.1} µs CPU per request",
            target.name
        );
        match target.name {
            "direct" => {
                (summary.rps_direct, summary.cpu_us_per_request_mock) = (Some(rps), Some(cpu_us))
            }
            "switchyard" => {
                (
                    summary.rps_switchyard,
                    summary.cpu_us_per_request_switchyard,
                ) = (Some(rps), Some(cpu_us))
            }
            "baseline" => {
                (summary.rps_baseline, summary.cpu_us_per_request_baseline) =
                    (Some(rps), Some(cpu_us))
            }
            _ => (summary.rps_nginx, summary.cpu_us_per_request_nginx) = (Some(rps), Some(cpu_us)),
        }
    }
    Ok(())
}
