//! What a plugin costs the host: compile time (cold, and loaded from the compiled-component
//! cache), memory (resident set) per loaded plugin and per live instance, the time to start a
//! live instance, and call latency. The figures in "What Python and JavaScript guests cost" in
//! `docs/plugins.md` come from this program.
//!
//! ```sh
//! cargo run --release -p switchyard --example guest_costs -- FILE.wasm \
//!     [--instances 16] [--calls 10000] [--config JSON] [-H 'Name: value']... [--body TEXT]
//! ```
//!
//! Memory is read from `/proc/self/status` (Linux): the growth of `VmRSS` while the plugin is
//! loaded, and while `--instances` configured instances (one live instance each) are created
//! and called once.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use clap::Parser;
use switchyard::test_util::access::{AccessChain, ProviderRegistry, RequestHead};
use switchyard::test_util::config::{InstanceConfig, PluginLimits};
use switchyard::test_util::plugin::{HostOptions, PluginHost, PluginOrigin, PluginWorld};
use switchyard::test_util::session::{ExtractorChain, ExtractorRegistry};

/// Measures what a plugin component costs the host.
#[derive(Debug, Parser)]
struct Args {
    /// The component file.
    file: PathBuf,
    /// Configured instances to create (one live instance each).
    #[arg(long, default_value_t = 16)]
    instances: usize,
    /// Calls into one live instance for the latency figures.
    #[arg(long, default_value_t = 10_000)]
    calls: usize,
    /// The settings of every instance (JSON).
    #[arg(long, default_value = "{}")]
    config: String,
    /// A header of the sample request, `Name: value`; repeatable.
    #[arg(short = 'H', long = "header")]
    headers: Vec<String>,
    /// The sample request's body (for an extractor that reads it).
    #[arg(long, default_value = "{}")]
    body: String,
    /// The deadline of each call, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    deadline_ms: u64,
    /// The memory cap of each live instance, in MiB.
    #[arg(long, default_value_t = 256)]
    memory_mib: u64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bytes: Arc<[u8]> = std::fs::read(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?
        .into();
    let cache = tempfile::tempdir()?;
    let options = || HostOptions {
        cache_dir: Some(cache.path().to_owned()),
        ..HostOptions::default()
    };
    println!(
        "file               {} ({:.1} MiB)",
        args.file.display(),
        mib(bytes.len() as u64)
    );

    // Cold: compiled by Cranelift (and stored in the empty cache).
    let cold = {
        let host = PluginHost::new(options())?;
        let started = Instant::now();
        host.load(bytes.clone(), PluginOrigin::Bytes).await?;
        started.elapsed()
    };
    println!("compile, cold      {}", ms(cold));

    // Cached: a fresh host (as after a restart) loads the artifact.
    let host = PluginHost::new(options())?;
    let before_load = rss();
    let started = Instant::now();
    let plugin = host.load(bytes.clone(), PluginOrigin::Bytes).await?;
    let cached = started.elapsed();
    let after_load = rss();
    assert_eq!(host.stats().cache_hits, 1, "loaded from the cache");
    println!("compile, cached    {}", ms(cached));
    println!(
        "loaded plugin      {:+.1} MiB resident (compiled code and memory images)",
        mib_delta(before_load, after_load)
    );
    host.install(plugin.clone());

    let settings: serde_json::Value = serde_json::from_str(&args.config).context("--config")?;
    let limits = PluginLimits {
        deadline: Duration::from_millis(args.deadline_ms),
        memory_bytes: args.memory_mib << 20,
        ..PluginLimits::default()
    };
    let instances: Vec<InstanceConfig> = (0..args.instances.max(1))
        .map(|i| InstanceConfig {
            name: format!("i{i}"),
            kind: plugin.name().to_owned(),
            settings: settings.clone(),
            limits: Some(limits),
            on_fault: switchyard::test_util::config::OnFault::Deny,
        })
        .collect();
    let mut headers = Vec::new();
    for header in &args.headers {
        let (name, value) = header.split_once(':').context("-H Name: value")?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let head = RequestHead::new(
        "POST",
        "/v1/chat/completions",
        "",
        headers,
        Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        SystemTime::now(),
    );
    let body = args.body.as_bytes();

    let before_instances = rss();
    let started = Instant::now();
    let chain = match plugin.world() {
        PluginWorld::AccessProvider => Chain::Access(
            AccessChain::prepare(&instances, &limits, &ProviderRegistry::new(), &host, None)
                .await?,
        ),
        PluginWorld::SessionExtractor => Chain::Session(
            ExtractorChain::prepare(&instances, &limits, &ExtractorRegistry::new(), &host, None)
                .await?,
        ),
    };
    println!(
        "start an instance  {} (instantiate + configure, mean of {})",
        us(started.elapsed() / instances.len() as u32),
        instances.len()
    );
    let body = plugin.needs_body().then_some(body);
    for index in 0..instances.len() {
        chain.call(index, &head, body).await?;
    }
    let after_instances = rss();
    println!(
        "per live instance  {:+.2} MiB resident (after configure and one call; {} instances)",
        mib_delta(before_instances, after_instances) / instances.len() as f64,
        instances.len()
    );

    let mut times = Vec::with_capacity(args.calls);
    for _ in 0..args.calls.max(1) {
        let started = Instant::now();
        chain.call(0, &head, body).await?;
        times.push(started.elapsed());
    }
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "call               median {}, p99 {}, max {} ({} calls into one live instance)",
        us(at(0.5)),
        us(at(0.99)),
        us(times[times.len() - 1]),
        times.len()
    );
    println!(
        "linear memory      {:.1} MiB per live instance (the size of its memories)",
        mib(chain.memory_bytes())
    );
    Ok(())
}

/// The configured instances, of either world.
enum Chain {
    /// Access-provider instances.
    Access(AccessChain),
    /// Session-extractor instances.
    Session(ExtractorChain),
}

impl Chain {
    /// Calls instance `index` once.
    async fn call(
        &self,
        index: usize,
        head: &RequestHead,
        body: Option<&[u8]>,
    ) -> anyhow::Result<()> {
        match self {
            Chain::Access(chain) => {
                chain.entries()[index].instance().authenticate(head).await?;
            }
            Chain::Session(chain) => {
                chain.entries()[index]
                    .instance()
                    .extract(head, body)
                    .await?;
            }
        }
        Ok(())
    }

    /// The largest linear memory of the first instance's live instances.
    fn memory_bytes(&self) -> u64 {
        let stats = match self {
            Chain::Access(chain) => chain.entries()[0].stats(),
            Chain::Session(chain) => chain.entries()[0].stats(),
        };
        stats.map_or(0, |s| s.memory_bytes)
    }
}

/// The resident set of this process, in KiB (0 where `/proc` is missing).
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Bytes in MiB.
fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

/// The difference of two resident sets in KiB, in MiB.
fn mib_delta(before_kib: u64, after_kib: u64) -> f64 {
    (after_kib as f64 - before_kib as f64) / 1024.0
}

/// A duration in milliseconds, for the report.
fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1e3)
}

/// A duration in microseconds, for the report.
fn us(duration: Duration) -> String {
    format!("{:.1} µs", duration.as_secs_f64() * 1e6)
}
