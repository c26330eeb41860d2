//! Added latency at one client: p50 and p99 through switchyard minus direct.

use anyhow::Result;

use super::{Setup, small_request};
use crate::load;
use crate::report::Summary;

/// Interleaves `rounds` rounds of `requests` sequential requests per target.
pub(crate) async fn run(
    setup: &Setup,
    rounds: u32,
    requests: u32,
    summary: &mut Summary,
) -> Result<()> {
    let spec = small_request();
    let targets = setup.targets();
    let mut hists: Vec<_> = targets.iter().map(|_| load::histogram()).collect();
    for _ in 0..rounds {
        for (target, hist) in targets.iter().zip(&mut hists) {
            hist.add(load::sequential(target, &spec, 200, requests).await?)?;
        }
    }
    for (target, hist) in targets.iter().zip(&hists) {
        println!(
            "latency {:<10} p50 {:>6} µs  p99 {:>6} µs",
            target.name,
            hist.value_at_quantile(0.5),
            hist.value_at_quantile(0.99)
        );
    }
    let q = |name: &str, q: f64| {
        let at = targets.iter().position(|t| t.name == name)?;
        Some(hists[at].value_at_quantile(q) as f64)
    };
    let added = |name: &str, quantile: f64| Some(q(name, quantile)? - q("direct", quantile)?);
    summary.added_latency_p50_us = added("switchyard", 0.5);
    summary.added_latency_p99_us = added("switchyard", 0.99);
    summary.baseline_added_latency_p50_us = added("baseline", 0.5);
    summary.baseline_added_latency_p99_us = added("baseline", 0.99);
    Ok(())
}
