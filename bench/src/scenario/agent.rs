//! The 100 KB coding-agent request ([`request::agent_request`], affinity on): latency at one
//! connection and requests per second at 64, direct, through each switchyard process and
//! through nginx with `proxy_request_buffering off` (so nginx streams the body upstream as
//! switchyard does, rather than spooling it to a temporary file), in the same interleaved
//! rounds.

mod request;

use std::time::Duration;

use anyhow::{Result, bail};

use super::interleaved::{self, Leg};
use super::{NginxListener, Role, Setup};
use crate::load;
use crate::report::Summary;

/// Checks that switchyard answers the request, then interleaves `rounds` latency rounds of
/// `requests` sequential requests and `rounds` throughput rounds of `seconds` at 64
/// connections over every target.
pub(crate) async fn run(
    setup: &Setup,
    rounds: u32,
    requests: u32,
    seconds: Duration,
    summary: &mut Summary,
) -> Result<()> {
    let spec = request::agent_request();
    let answer = load::body(&setup.switchyard_target("switchyard"), &spec).await?;
    let answer: serde_json::Value = serde_json::from_slice(&answer)?;
    if answer["type"] != "message" {
        bail!("the 100 KB request through switchyard was not answered with a message: {answer}");
    }
    let bytes = spec.body.len() as u64;
    println!("agent: a {bytes}-byte Messages request");
    summary.set_shared(|s| s.agent_request_bytes = Some(bytes));

    let (roles, legs): (Vec<Role>, Vec<Leg<'_>>) = setup
        .legs(&spec, NginxListener::Unbuffered)
        .into_iter()
        .unzip();
    let measured = interleaved::measure("agent", &legs, rounds, requests, seconds).await?;
    for (i, role) in roles.iter().enumerate() {
        let ((p50, p99), (rps, cpu_us)) = (measured.added[i], measured.throughput[i]);
        match role {
            Role::Direct => {
                let (direct_p50, direct_p99) = measured.latencies[i];
                summary.set_shared(|s| {
                    (s.agent_direct_latency_p50_us, s.agent_direct_latency_p99_us) =
                        (Some(direct_p50), Some(direct_p99));
                    (s.agent_rps_direct, s.agent_cpu_us_per_request_mock) =
                        (Some(rps), Some(cpu_us));
                });
            }
            Role::Switchyard(variant) => {
                let figures = summary.process_mut(*variant);
                (
                    figures.agent_added_latency_p50_us,
                    figures.agent_added_latency_p99_us,
                ) = (Some(p50), Some(p99));
                (
                    figures.agent_rps_switchyard,
                    figures.agent_cpu_us_per_request_switchyard,
                ) = (Some(rps), Some(cpu_us));
            }
            Role::Nginx => summary.set_shared(|s| {
                (
                    s.agent_nginx_added_latency_p50_us,
                    s.agent_nginx_added_latency_p99_us,
                ) = (Some(p50), Some(p99));
                (s.agent_rps_nginx, s.agent_cpu_us_per_request_nginx) = (Some(rps), Some(cpu_us));
            }),
        }
    }
    Ok(())
}
