//! Streaming: added time to first byte, then many slow streams held open at once, for each
//! switchyard process.

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

/// TTFB of short streams (direct, then each switchyard process, interleaved), then `count`
/// streams of 20 chunks 250 ms apart through each switchyard process in turn.
pub(crate) async fn run(setup: &Setup, count: usize, summary: &mut Summary) -> Result<()> {
    let switchyards = setup.switchyards();
    let mut targets = vec![setup.direct_target()];
    targets.extend(switchyards.iter().map(|(_, target, _)| target.clone()));
    let short = stream_request(3, 0);
    let mut ttfb: Vec<_> = targets.iter().map(|_| load::histogram()).collect();
    for _ in 0..3 {
        for (target, hist) in targets.iter().zip(&mut ttfb) {
            hist.add(load::first_byte(target, &short, 300).await?)?;
        }
    }
    let p50 = |i: usize| ttfb[i].value_at_quantile(0.5) as f64;
    println!("ttfb direct p50 {} µs", p50(0));

    let slow = stream_request(20, 250);
    for (i, (variant, target, process)) in switchyards.iter().enumerate() {
        println!("ttfb {} p50 {} µs", target.name, p50(i + 1));
        let (streams, rss) = load::hold_streams(target, &slow, count, "message_stop", || async {
            process.rss_mb()
        })
        .await?;
        println!(
            "{count} streams through {}: {} completed, {} failed",
            target.name, streams.completed, streams.failed
        );
        let figures = summary.process_mut(*variant);
        figures.stream_added_ttfb_us = Some(p50(i + 1) - p50(0));
        figures.streams_failed = Some(streams.failed);
        figures.rss_streams_mb = Some(rss?);
    }
    summary.set_shared(|s| s.streams_concurrent = Some(count as u64));
    Ok(())
}
