//! Added latency at one client: p50 and p99 through each switchyard process and nginx, minus
//! direct.

use anyhow::Result;

use super::interleaved::{self, Leg};
use super::{NginxListener, Role, Setup, small_request};
use crate::report::Summary;

/// Interleaves `rounds` rounds of `requests` sequential requests per target.
pub(crate) async fn run(
    setup: &Setup,
    rounds: u32,
    requests: u32,
    summary: &mut Summary,
) -> Result<()> {
    let (roles, legs): (Vec<Role>, Vec<Leg<'_>>) = setup
        .legs(&small_request(), NginxListener::Buffered)
        .into_iter()
        .unzip();
    let latencies = interleaved::latency("latency", &legs, rounds, requests).await?;
    for (role, (p50, p99)) in roles.iter().zip(interleaved::added_over_first(&latencies)) {
        match role {
            Role::Direct => {}
            Role::Switchyard(variant) => {
                let figures = summary.process_mut(*variant);
                (figures.added_latency_p50_us, figures.added_latency_p99_us) =
                    (Some(p50), Some(p99));
            }
            Role::Nginx => summary.set_shared(|s| {
                (s.nginx_added_latency_p50_us, s.nginx_added_latency_p99_us) =
                    (Some(p50), Some(p99));
            }),
        }
    }
    Ok(())
}
