//! Streaming: added time to first byte, then many slow streams held open at once.

use anyhow::Result;
use bytes::Bytes;

use super::Setup;
use crate::load::{self, Spec};
use crate::report::Summary;

/// A streamed Messages request; the mock paces it by the body's `mock` field.
fn stream_request(chunks: u32, interval_ms: u64) -> Spec {
    Spec {
        path: "/v1/messages",
        body: Bytes::from(format!(
            r#"{{"model":"claude-sonnet-4","max_tokens":64,"stream":true,"messages":[{{"role":"user","content":"Stream to me"}}],"mock":{{"chunks":{chunks},"chunk_interval_ms":{interval_ms}}}}}"#
        )),
    }
}

/// TTFB of short streams (direct vs switchyard), then `count` streams of 20 chunks 250 ms apart.
pub(crate) async fn run(setup: &Setup, count: usize, summary: &mut Summary) -> Result<()> {
    let targets = setup.targets();
    let short = stream_request(3, 0);
    let mut ttfb = [load::histogram(), load::histogram()];
    for _ in 0..3 {
        for (i, target) in targets.iter().take(2).enumerate() {
            ttfb[i].add(load::first_byte(target, &short, 300).await?)?;
        }
    }
    let p50 = |i: usize| ttfb[i].value_at_quantile(0.5) as f64;
    println!(
        "ttfb direct p50 {} µs, switchyard p50 {} µs",
        p50(0),
        p50(1)
    );
    summary.stream_added_ttfb_us = Some(p50(1) - p50(0));

    let slow = stream_request(20, 250);
    let switchyard = &targets[1];
    let (streams, rss) = load::hold_streams(switchyard, &slow, count, "message_stop", || async {
        setup.switchyard.rss_mb()
    })
    .await?;
    println!(
        "{count} streams: {} completed, {} failed",
        streams.completed, streams.failed
    );
    summary.streams_concurrent = Some(count as u64);
    summary.streams_failed = Some(streams.failed);
    summary.rss_streams_mb = Some(rss?);
    Ok(())
}
