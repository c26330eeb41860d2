//! The Redis session store's cost: added latency per request over the memory store at one
//! client (p50, p99), and requests per second at 64 connections: one replica with the memory
//! store, one with Redis, and two replicas sharing one Redis (32 connections each, at once).
//! Skipped when `redis-server` is not installed.
//!
//! Every request carries the same conversation, so each is a binding hit: with Redis, one
//! `get_and_refresh` script before the upstream call and one `touch` script after it.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use http::{HeaderName, HeaderValue};

use super::{CLIENT_KEY, config_yaml, small_request};
use crate::load::{self, Target};
use crate::processes;
use crate::report::Summary;

/// Connections per measurement (split over the replicas).
const CONNECTIONS: usize = 64;

/// Runs the scenario: `rounds` interleaved rounds of `requests` sequential requests per target,
/// then of `seconds` of throughput.
pub(crate) async fn run(
    bin: &Path,
    work: &Path,
    rounds: u32,
    requests: u32,
    seconds: Duration,
    summary: &mut Summary,
) -> Result<()> {
    let Some(redis) = processes::redis_server(work)? else {
        println!("session store: redis-server is not installed; skipped");
        return Ok(());
    };
    let mock = processes::mock(bin, 20, 250)?;
    let mock_url = format!("http://{}", mock.addr);
    let memory_config = work.join("memory-store.yaml");
    std::fs::write(&memory_config, config_yaml(&mock_url, true))?;
    let redis_config = work.join("redis-store.yaml");
    std::fs::write(
        &redis_config,
        config_yaml(&mock_url, true).replace(
            "routing:\n",
            &format!("routing:\n  session-store: redis://{}\n", redis.addr),
        ),
    )?;
    let memory = processes::switchyard(bin, &memory_config)?;
    let replica_a = processes::switchyard(bin, &redis_config)?;
    let replica_b = processes::switchyard(bin, &redis_config)?;
    let target = |name: &'static str, addr| Target {
        name,
        addr,
        headers: vec![(
            HeaderName::from_static("x-api-key"),
            HeaderValue::from_static(CLIENT_KEY),
        )],
    };
    let direct = Target {
        name: "direct",
        addr: mock.addr,
        headers: vec![(
            HeaderName::from_static("x-api-key"),
            HeaderValue::from_static("cred-1"),
        )],
    };
    let (memory, a, b) = (
        target("memory", memory.addr),
        target("redis", replica_a.addr),
        target("redis-b", replica_b.addr),
    );
    let spec = small_request();

    let latency_targets = [&direct, &memory, &a];
    let mut hists: Vec<_> = latency_targets.iter().map(|_| load::histogram()).collect();
    for _ in 0..rounds {
        for (target, hist) in latency_targets.iter().zip(&mut hists) {
            hist.add(load::sequential(target, &spec, 200, requests).await?)?;
        }
    }
    for (target, hist) in latency_targets.iter().zip(&hists) {
        println!(
            "session store latency {:<7} p50 {:>6} µs  p99 {:>6} µs",
            target.name,
            hist.value_at_quantile(0.5),
            hist.value_at_quantile(0.99)
        );
    }
    let q = |i: usize, q: f64| hists[i].value_at_quantile(q) as f64;
    summary.redis_added_latency_p50_us = Some(q(2, 0.5) - q(1, 0.5));
    summary.redis_added_latency_p99_us = Some(q(2, 0.99) - q(1, 0.99));

    let mut totals = [(0u64, 0u64, Duration::ZERO); 3];
    for _ in 0..rounds {
        for (which, total) in totals.iter_mut().enumerate() {
            let results = match which {
                0 => vec![load::throughput(&memory, &spec, CONNECTIONS, seconds).await?],
                1 => vec![load::throughput(&a, &spec, CONNECTIONS, seconds).await?],
                _ => {
                    let (x, y) = tokio::join!(
                        load::throughput(&a, &spec, CONNECTIONS / 2, seconds),
                        load::throughput(&b, &spec, CONNECTIONS / 2, seconds),
                    );
                    vec![x?, y?]
                }
            };
            for result in results {
                total.0 += result.ok;
                total.1 += result.failed;
            }
            total.2 += seconds;
        }
    }
    let names = ["memory, 1 replica", "redis, 1 replica", "redis, 2 replicas"];
    let mut rps = [0.0; 3];
    for (i, (ok, failed, elapsed)) in totals.iter().enumerate() {
        rps[i] = *ok as f64 / elapsed.as_secs_f64();
        println!(
            "session store throughput {:<18} {:>9.0} req/s ({failed} failed)",
            names[i], rps[i]
        );
    }
    summary.rps_memory_store = Some(rps[0]);
    summary.rps_redis_store = Some(rps[1]);
    summary.rps_redis_two_replicas = Some(rps[2]);
    drop(redis);
    Ok(())
}
