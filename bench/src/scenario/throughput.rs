//! Requests per second at 64 connections: direct, switchyard, nginx.

use std::time::Duration;

use anyhow::Result;

use super::{Setup, small_request};
use crate::load;
use crate::report::Summary;

/// Connections per target.
const CONNECTIONS: usize = 64;

/// Interleaves `rounds` rounds of `seconds` per target and keeps each target's mean.
pub async fn run(
    setup: &Setup,
    rounds: u32,
    seconds: Duration,
    summary: &mut Summary,
) -> Result<()> {
    let spec = small_request();
    let targets = setup.targets();
    let mut totals = vec![(0u64, 0u64, Duration::ZERO); targets.len()];
    for _ in 0..rounds {
        for (target, total) in targets.iter().zip(&mut totals) {
            let result = load::throughput(target, &spec, CONNECTIONS, seconds).await?;
            total.0 += result.ok;
            total.1 += result.failed;
            total.2 += result.elapsed;
        }
    }
    for (target, (ok, failed, elapsed)) in targets.iter().zip(&totals) {
        let rps = *ok as f64 / elapsed.as_secs_f64();
        println!(
            "throughput {:<10} {rps:>9.0} req/s ({failed} failed)",
            target.name
        );
        match target.name {
            "direct" => summary.rps_direct = Some(rps),
            "switchyard" => summary.rps_switchyard = Some(rps),
            _ => summary.rps_nginx = Some(rps),
        }
    }
    Ok(())
}
