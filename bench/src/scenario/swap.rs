//! Plugin swap under load: a configured access provider's file is replaced while ~1,000
//! requests per second flow; counts failed requests and times the new version's first answer.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};

use super::{CLIENT_KEY, config_yaml};
use crate::load;
use crate::processes;
use crate::report::Summary;
use crate::wasm_guest;

/// Measured swaps (after one that warms the compile cache).
const SWAPS: usize = 6;

/// Swaps `versioned` v1 ↔ v2 under load and fills the swap figures.
pub(crate) async fn run(bin: &Path, work: &Path, summary: &mut Summary) -> Result<()> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let guests = wasm_guest::build(
        &repo.join("plugins"),
        &repo.join("target/plugins"),
        &["versioned-v1", "versioned-v2"],
    )
    .map_err(anyhow::Error::msg)?;
    let versions = [std::fs::read(&guests[0])?, std::fs::read(&guests[1])?];
    let mock = processes::mock(bin, 1, 0)?;
    let plugins = work.join("plugins");
    std::fs::create_dir_all(&plugins)?;
    let file = plugins.join("versioned.wasm");
    std::fs::write(&file, &versions[0])?;
    let config = work.join("swap.yaml");
    std::fs::write(
        &config,
        format!(
            "plugins:\n  dir: {}\n  cache-dir: {}\nauth:\n  providers:\n    - name: gate\n      type: versioned\n{}",
            plugins.display(),
            work.join("cache").display(),
            config_yaml(&format!("http://{}", mock.addr), false)
        ),
    )?;
    let switchyard = processes::switchyard(bin, &config)?;
    let traffic = Traffic::start(switchyard.addr);
    let mut latencies = Vec::new();
    for swap in 0..=SWAPS {
        let (bytes, expected) = match swap % 2 {
            0 => (&versions[1], "version 2.0.0"),
            _ => (&versions[0], "version 1.0.0"),
        };
        std::fs::write(&file, bytes)?;
        let complete = Instant::now();
        let mut probe = load::connect(switchyard.addr).await?;
        loop {
            if probe_version(&mut probe, switchyard.addr).await? == expected {
                break;
            }
            if complete.elapsed() > Duration::from_secs(30) {
                bail!("{expected} did not answer within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        if swap > 0 {
            latencies.push(complete.elapsed());
        }
    }
    let (sent, failed) = traffic.stop().await;
    latencies.sort();
    let median = latencies[latencies.len() / 2];
    println!(
        "plugin swap: {SWAPS} swaps, {sent} requests ({failed} failed), new version after median {median:?} (min {:?}, max {:?})",
        latencies[0],
        latencies[latencies.len() - 1]
    );
    summary.swap_failed_requests = Some(failed);
    summary.swap_latency_ms = Some(median.as_secs_f64() * 1000.0);
    Ok(())
}

/// The version a probe request gets (`version 1.0.0`), from the plugin's 409 answer.
async fn probe_version(
    sender: &mut hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    addr: std::net::SocketAddr,
) -> Result<String> {
    sender.ready().await?;
    let request = http::Request::post("/v1/messages")
        .header("host", addr.to_string())
        .header("x-version-probe", "1")
        .body(Full::new(super::small_request().body))?;
    let response = sender.send_request(request).await?;
    let body = response.into_body().collect().await?.to_bytes();
    let value: serde_json::Value = serde_json::from_slice(&body).context("probe answer")?;
    Ok(value["error"].as_str().unwrap_or_default().to_owned())
}

/// Clients sending ~1,000 requests per second in all (16 keep-alive connections, one request
/// every 16 ms each) and counting failures.
struct Traffic {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Connections of the traffic.
const CONNECTIONS: usize = 16;

impl Traffic {
    fn start(addr: std::net::SocketAddr) -> Traffic {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let target = load::Target {
            name: "switchyard",
            addr,
            headers: vec![(
                http::HeaderName::from_static("x-api-key"),
                http::HeaderValue::from_static(CLIENT_KEY),
            )],
        };
        let tasks = (0..CONNECTIONS)
            .map(|_| {
                let (stop, sent, failed, target) =
                    (stop.clone(), sent.clone(), failed.clone(), target.clone());
                tokio::spawn(async move {
                    let spec = super::small_request();
                    let mut ticks =
                        tokio::time::interval(Duration::from_millis(CONNECTIONS as u64));
                    let mut sender = None;
                    while !stop.load(Ordering::Relaxed) {
                        ticks.tick().await;
                        sent.fetch_add(1, Ordering::Relaxed);
                        if sender.is_none() {
                            sender = load::connect(target.addr).await.ok();
                        }
                        let ok = match sender.as_mut() {
                            Some(s) => load::once(s, &target, &spec).await.is_ok(),
                            None => false,
                        };
                        if !ok {
                            failed.fetch_add(1, Ordering::Relaxed);
                            sender = None;
                        }
                    }
                })
            })
            .collect();
        Traffic {
            stop,
            sent,
            failed,
            tasks,
        }
    }

    async fn stop(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            let _ = task.await;
        }
        (
            self.sent.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }
}
