//! `switchyard-bench`: measures what switchyard adds on top of its upstream (design §5), with
//! every figure a ratio or difference taken in the same run.
//!
//! It builds and starts the mock upstream and switchyard as separate processes (and nginx in
//! front of the same mock when nginx is installed), drives them with its own HTTP/1.1 load
//! generator, interleaving the targets in rounds so machine drift hits all of them alike,
//! prints a table and writes `target/bench/summary.json`.

mod load;
mod processes;
mod report;
mod scenario;

/// The guest-building helper of `host/build.rs`, for the swap scenario's test plugins.
#[path = "../../host/build/wasm_guest.rs"]
#[allow(dead_code)]
mod wasm_guest;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;

use crate::report::Summary;

/// Benchmark switchyard against the mock upstream and nginx.
#[derive(Debug, Parser)]
#[command(name = "switchyard-bench")]
struct Args {
    /// Rounds of each interleaved measurement.
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// Seconds of each throughput round.
    #[arg(long, default_value_t = 4)]
    seconds: u64,
    /// Requests per latency round.
    #[arg(long, default_value_t = 2000)]
    requests: u32,
    /// Concurrent slow streams.
    #[arg(long, default_value_t = 1000)]
    streams: usize,
    /// Do not run `cargo build --release` first.
    #[arg(long)]
    skip_build: bool,
    /// Do not run the Criterion micro-benchmarks.
    #[arg(long)]
    skip_micro: bool,
    /// Run only this scenario (`session-store`: the Redis store against the memory store).
    #[arg(long)]
    only: Option<String>,
    /// Where to write the JSON summary.
    #[arg(long, default_value = "target/bench/summary.json")]
    out: PathBuf,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if !args.skip_build {
        processes::build_binaries()?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut summary = runtime.block_on(run(&args))?;
    if !args.skip_micro && args.only.is_none() {
        scenario::micro::run(&mut summary)?;
    }
    summary.commit = commit();
    summary.print();
    summary.write(&args.out)?;
    println!("wrote {}", args.out.display());
    Ok(())
}

async fn run(args: &Args) -> Result<Summary> {
    let bin = processes::binary_dir()?;
    let work = tempfile::tempdir()?;
    let mut summary = Summary::default();
    let seconds = Duration::from_secs(args.seconds);
    if let Some(only) = &args.only {
        match only.as_str() {
            "session-store" => {
                scenario::session_store::run(
                    &bin,
                    work.path(),
                    args.rounds,
                    args.requests,
                    seconds,
                    &mut summary,
                )
                .await?
            }
            other => anyhow::bail!("unknown scenario {other:?} (known: session-store)"),
        }
        return Ok(summary);
    }
    let setup = scenario::Setup::start(&bin, work.path()).context("start the processes")?;
    summary.rss_idle_mb = Some(setup.switchyard.rss_mb()?);
    scenario::latency::run(&setup, args.rounds, args.requests, &mut summary).await?;
    scenario::throughput::run(
        &setup,
        args.rounds,
        Duration::from_secs(args.seconds),
        &mut summary,
    )
    .await?;
    scenario::streams::run(&setup, args.streams, &mut summary).await?;
    drop(setup);
    scenario::cache_hits::run(&bin, work.path(), &mut summary).await?;
    scenario::swap::run(&bin, work.path(), &mut summary).await?;
    scenario::session_store::run(
        &bin,
        work.path(),
        args.rounds,
        args.requests,
        seconds,
        &mut summary,
    )
    .await?;
    Ok(summary)
}

/// The current commit, or `unknown`.
fn commit() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}
