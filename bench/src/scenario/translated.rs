//! Translated request: an OpenAI chat completions client on the Claude credentials, so
//! switchyard translates the request to Anthropic Messages and the answer back. Measured in
//! the same interleaved rounds as the pass-through request it mirrors (a Messages client on the
//! same credentials, the request of the latency and throughput scenarios), so the cost of
//! translation is a difference within the run.

use std::time::Duration;

use anyhow::{Result, bail};

use super::interleaved::{self, Leg};
use super::{Setup, small_chat_request, small_request};
use crate::load;
use crate::report::Summary;

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

    let measured = interleaved::measure("translated", &legs, rounds, requests, seconds).await?;
    let added = |leg: usize| measured.added[leg];
    (
        summary.translated_passthrough_added_latency_p50_us,
        summary.translated_passthrough_added_latency_p99_us,
    ) = (Some(added(1).0), Some(added(1).1));
    (
        summary.translated_added_latency_p50_us,
        summary.translated_added_latency_p99_us,
    ) = (Some(added(2).0), Some(added(2).1));
    let (passthrough, translated) = (measured.throughput[1], measured.throughput[2]);
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
