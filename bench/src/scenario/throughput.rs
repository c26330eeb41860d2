//! Requests per second at 64 connections: direct, each switchyard process, nginx; and the CPU
//! time each server process spends per request, which on a small machine decides the ratios
//! (the load generator and the mock share the same cores).

use std::time::Duration;

use anyhow::Result;

use super::interleaved::{self, Leg};
use super::{NginxListener, Role, Setup, small_request};
use crate::report::Summary;

/// Interleaves `rounds` rounds of `seconds` per target and keeps each target's mean.
pub(crate) async fn run(
    setup: &Setup,
    rounds: u32,
    seconds: Duration,
    summary: &mut Summary,
) -> Result<()> {
    let (roles, legs): (Vec<Role>, Vec<Leg<'_>>) = setup
        .legs(&small_request(), NginxListener::Buffered)
        .into_iter()
        .unzip();
    let measured = interleaved::throughput("throughput", &legs, rounds, seconds).await?;
    for (role, (rps, cpu_us)) in roles.iter().zip(measured) {
        match role {
            Role::Direct => summary.set_shared(|s| {
                (s.rps_direct, s.cpu_us_per_request_mock) = (Some(rps), Some(cpu_us));
            }),
            Role::Switchyard(variant) => {
                let figures = summary.process_mut(*variant);
                (
                    figures.rps_switchyard,
                    figures.cpu_us_per_request_switchyard,
                ) = (Some(rps), Some(cpu_us));
            }
            Role::Nginx => summary.set_shared(|s| {
                (s.rps_nginx, s.cpu_us_per_request_nginx) = (Some(rps), Some(cpu_us));
            }),
        }
    }
    Ok(())
}
