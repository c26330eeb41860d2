//! Prompt-cache hit rate: 50 conversations × 10 turns over 8 credentials, with session
//! affinity and with plain round-robin, as the mock's per-credential prompt cache counts them.

use std::path::Path;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use switchyard_mock::MockUpstream;

use super::{CLIENT_KEY, config_yaml};
use crate::load;
use crate::processes;
use crate::report::Summary;

const SESSIONS: usize = 50;
const TURNS: usize = 10;

/// Runs the conversations once with affinity on, once with it off.
pub(crate) async fn run(bin: &Path, work: &Path, summary: &mut Summary) -> Result<()> {
    summary.cache_hit_rate_affinity = Some(hit_rate(bin, work, true).await?);
    summary.cache_hit_rate_round_robin = Some(hit_rate(bin, work, false).await?);
    println!(
        "prompt-cache hit rate: affinity {:.3}, round-robin {:.3}",
        summary.cache_hit_rate_affinity.unwrap_or_default(),
        summary.cache_hit_rate_round_robin.unwrap_or_default()
    );
    Ok(())
}

async fn hit_rate(bin: &Path, work: &Path, affinity: bool) -> Result<f64> {
    let mock = MockUpstream::builder()
        .record_requests(false)
        .start()
        .await?;
    let config = work.join(format!("cache-{affinity}.yaml"));
    std::fs::write(&config, config_yaml(&mock.base_url(), affinity))?;
    let switchyard = processes::switchyard(bin, &config)?;
    let mut sender = load::connect(switchyard.addr).await?;
    let mut conversations: Vec<Vec<Value>> = vec![Vec::new(); SESSIONS];
    // Turn-major order, sessions in a different (fixed pseudo-random) order each turn: the
    // conversations interleave as real clients' would, and a plain rotation does not line up
    // with the session count by accident.
    let mut order: Vec<usize> = (0..SESSIONS).collect();
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for turn in 0..TURNS {
        for i in (1..order.len()).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            order.swap(i, (seed % (i as u64 + 1)) as usize);
        }
        for &session in &order {
            let messages = &mut conversations[session];
            messages.push(json!({ "role": "user", "content": format!("conversation {session}, turn {turn}: tell me more") }));
            let body =
                json!({ "model": "claude-sonnet-4", "max_tokens": 32, "messages": messages });
            let request = http::Request::post("/v1/messages")
                .header("host", switchyard.addr.to_string())
                .header("content-type", "application/json")
                .header("x-api-key", CLIENT_KEY)
                .body(Full::new(Bytes::from(body.to_string())))?;
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let status = response.status();
            let bytes = response.into_body().collect().await?.to_bytes();
            if !status.is_success() {
                bail!(
                    "turn {turn} of {session}: {status} {}",
                    String::from_utf8_lossy(&bytes)
                );
            }
            let reply: Value = serde_json::from_slice(&bytes)?;
            let text = reply["content"][0]["text"].as_str().context("reply text")?;
            messages.push(json!({ "role": "assistant", "content": text }));
        }
    }
    drop(switchyard);
    let stats = mock.cache_stats();
    mock.shutdown().await;
    Ok(stats.total.hit_rate())
}
