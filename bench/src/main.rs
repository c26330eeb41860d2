//! `switchyard-bench`: measures what switchyard adds on top of its upstream (the targets in docs/architecture.md), with
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
mod variant;

// The guest-building helper of `host/build.rs`, for the swap scenario's test plugins.
use switchyard_guest_build as wasm_guest;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;

use crate::report::Summary;
use crate::variant::Variant;
use switchyard::ServingMode;

/// Benchmark switchyard against the mock upstream and nginx.
#[derive(Debug, Parser)]
#[command(name = "switchyard-bench")]
struct Args {
    /// Rounds of each interleaved measurement.
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// Seconds of each throughput round (the console scenario's legs round it up to whole
    /// 5-second poll periods, at least 10 s).
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
    /// Run only these scenarios (comma-separated; default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Scenario>,
    /// Where to write the JSON summary.
    #[arg(long, default_value = "target/bench/summary.json")]
    out: PathBuf,
    /// Another switchyard binary (an earlier build) measured beside this one, on the same
    /// config, in the same interleaved rounds of the latency, throughput, streams and agent
    /// scenarios.
    #[arg(long)]
    baseline_bin: Option<PathBuf>,
    /// The serving mode (`server.runtime`: per-core or work-stealing) of a second switchyard
    /// process of this build, measured beside the default one (no `server.runtime`) in the
    /// same rounds as `--baseline-bin`, its figures under keys named after the mode. Default:
    /// the mode that is not the default.
    #[arg(long, value_parser = variant::parse_runtime)]
    other_runtime: Option<ServingMode>,
    /// Measure only the default serving mode (no `--other-runtime` process).
    #[arg(long, conflicts_with = "other_runtime")]
    default_runtime_only: bool,
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
    if !args.skip_micro && args.wants(Scenario::Micro) {
        scenario::micro::run(&mut summary)?;
    }
    summary.commit = commit();
    summary.print();
    summary.write(&args.out)?;
    println!("wrote {}", args.out.display());
    Ok(())
}

/// The measurements `--only` can pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Scenario {
    /// Added latency at one client.
    Latency,
    /// Requests per second at 64 connections (switchyard, direct, nginx).
    Throughput,
    /// Streaming: added time to first byte, 1,000 slow streams, memory.
    Streams,
    /// Prompt-cache hit rate with affinity on and off.
    CacheHits,
    /// A plugin swap under load.
    Swap,
    /// The Redis session store against the memory store.
    SessionStore,
    /// The Criterion micro-benchmarks.
    Micro,
    /// A chat completions client on the Claude credentials (translated both ways): added
    /// latency at one client and requests per second at 64 connections, interleaved with the
    /// same request as a Messages client sends it (pass-through).
    Translated,
    /// A token credential (OAuth client credentials on an OpenAI-compatible upstream) against
    /// an API key on the same mock, in the same rounds: added latency at one client, requests
    /// per second and CPU per request at 64 connections (its own mock and switchyard).
    Token,
    /// The console's cost: the proxy's CPU at 1,000 proxied req/s (open loop) with no console
    /// and with one console subscriber (event stream plus polling), in the same rounds, and
    /// the delay from an answer to its `usage` event on the stream.
    Console,
    /// A 100 KB coding-agent Messages request (system prompt and alternating turns, affinity
    /// on): added latency at one client and requests per second at 64 connections, direct,
    /// through switchyard and through nginx with request buffering off.
    Agent,
}

impl Args {
    /// The switchyard processes measured beside the default one.
    fn variants(&self) -> Vec<Variant> {
        let mut variants: Vec<Variant> = self
            .baseline_bin
            .iter()
            .cloned()
            .map(Variant::baseline)
            .collect();
        if !self.default_runtime_only {
            let other = self
                .other_runtime
                .unwrap_or_else(variant::other_than_default);
            variants.push(Variant::runtime(other));
        }
        variants
    }

    /// Whether `scenario` runs.
    fn wants(&self, scenario: Scenario) -> bool {
        self.only.is_empty() || self.only.contains(&scenario)
    }
}

async fn run(args: &Args) -> Result<Summary> {
    let bin = processes::binary_dir()?;
    let work = tempfile::tempdir()?;
    let variants = args.variants();
    let mut summary = Summary::with_variants(&variants);
    let seconds = Duration::from_secs(args.seconds);
    if [
        Scenario::Latency,
        Scenario::Throughput,
        Scenario::Streams,
        Scenario::Translated,
        Scenario::Agent,
    ]
    .iter()
    .any(|s| args.wants(*s))
    {
        let setup =
            scenario::Setup::start(&bin, work.path(), &variants).context("start the processes")?;
        for (variant, _, process) in setup.switchyards() {
            summary.process_mut(variant).rss_idle_mb = Some(process.rss_mb()?);
        }
        if args.wants(Scenario::Latency) {
            scenario::latency::run(&setup, args.rounds, args.requests, &mut summary).await?;
        }
        if args.wants(Scenario::Throughput) {
            scenario::throughput::run(&setup, args.rounds, seconds, &mut summary).await?;
        }
        if args.wants(Scenario::Translated) {
            let (rounds, requests) = (args.rounds, args.requests);
            scenario::translated::run(&setup, rounds, requests, seconds, &mut summary).await?;
        }
        if args.wants(Scenario::Agent) {
            let (rounds, requests) = (args.rounds, args.requests);
            scenario::agent::run(&setup, rounds, requests, seconds, &mut summary).await?;
        }
        if args.wants(Scenario::Streams) {
            scenario::streams::run(&setup, args.streams, &mut summary).await?;
        }
    }
    if args.wants(Scenario::CacheHits) {
        scenario::cache_hits::run(&bin, work.path(), &mut summary).await?;
    }
    if args.wants(Scenario::Swap) {
        scenario::swap::run(&bin, work.path(), &mut summary).await?;
    }
    if args.wants(Scenario::SessionStore) {
        let (rounds, requests) = (args.rounds, args.requests);
        scenario::session_store::run(&bin, work.path(), rounds, requests, seconds, &mut summary)
            .await?;
    }
    if args.wants(Scenario::Token) {
        let (rounds, requests) = (args.rounds, args.requests);
        scenario::token::run(&bin, work.path(), rounds, requests, seconds, &mut summary).await?;
    }
    if args.wants(Scenario::Console) {
        scenario::console::run(&bin, work.path(), args.rounds, seconds, &mut summary).await?;
    }
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
