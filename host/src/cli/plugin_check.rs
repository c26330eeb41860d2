//! `switchyard plugin check`: load a plugin file, configure an instance, make one call (or
//! several), and print what it answered and what it cost (start time, call times, memory).

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use super::logging;
use crate::access::{AccessOutcome, AccessProvider, WasmProvider};
use crate::config::{InstanceConfig, LogFormat, PluginLimits, PluginsConfig};
use crate::plugin::{
    Fault, HostOptions, Plugin, PluginError, PluginHost, PluginOrigin, PluginWorld, RequestHead,
};
use crate::session::{SessionExtractor, SessionIds, SessionKind, WasmExtractor};

/// One trial: the settings for `configure` and the sample request.
#[derive(Debug, Clone)]
pub(super) struct Trial {
    /// Settings handed to `configure` (an object; `{}` for none).
    pub settings: serde_json::Value,
    /// The sample request's head.
    pub head: RequestHead,
    /// The sample request's body, for a session extractor that wants it (empty when `None`).
    pub body: Option<Vec<u8>>,
    /// The deadline and memory cap of the calls.
    pub limits: PluginLimits,
    /// How many times to make the call (at least once); the answer is the first call's.
    pub calls: u32,
}

/// What the plugin answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TrialAnswer {
    /// An access provider's outcome.
    Access(AccessOutcome),
    /// A session extractor's result.
    Session(Option<SessionIds>),
}

/// The result of a trial.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub(super) struct TrialReport {
    /// The answer.
    pub answer: TrialAnswer,
    /// How long the first call took (into a configured live instance).
    pub call_time: Duration,
    /// How long each call took, in order (the first is `call_time`).
    pub call_times: Vec<Duration>,
    /// How long creating the configured instance took: instantiating the component and
    /// applying the settings (what a new live instance costs).
    pub start_time: Duration,
    /// The largest linear memory of the live instance, in bytes (see
    /// [`crate::plugin::InstanceStats::memory_bytes`]).
    pub memory_bytes: u64,
}

/// Why a trial did not produce an answer.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub(super) enum TrialError {
    /// `configure` rejected the settings.
    #[error("rejected its settings: {0}")]
    Rejected(String),
    /// The instance could not be started or configured (a trap, the deadline, the memory cap).
    #[error("could not start an instance: {0}")]
    Start(String),
    /// The call faulted.
    #[error("the call faulted: {0}")]
    Fault(Fault),
}

impl TrialError {
    /// The exit code of `switchyard plugin check`: 2 for rejected settings, 3 for a fault.
    pub(super) fn exit_code(&self) -> u8 {
        match self {
            TrialError::Rejected(_) => 2,
            TrialError::Start(_) | TrialError::Fault(_) => 3,
        }
    }
}

impl From<PluginError> for TrialError {
    fn from(error: PluginError) -> TrialError {
        match error {
            PluginError::Rejected(message) => TrialError::Rejected(message),
            other => TrialError::Start(other.to_string()),
        }
    }
}

/// Configures an instance of `plugin` in `host` with the trial's settings and makes one call
/// with its request, as the proxy would (only the header fields the plugin declares):
/// `authenticate` for an access provider, `extract` for a session extractor.
async fn trial_plugin(
    host: &PluginHost,
    plugin: &Plugin,
    trial: &Trial,
) -> Result<TrialReport, TrialError> {
    let config = InstanceConfig {
        name: "check".to_owned(),
        kind: plugin.name().to_owned(),
        settings: trial.settings.clone(),
        limits: Some(trial.limits),
        on_fault: crate::config::OnFault::Deny,
    };
    let calls = trial.calls.max(1);
    let mut call_times = Vec::with_capacity(calls as usize);
    let started = Instant::now();
    let (answer, start_time, stats) = match plugin.world() {
        PluginWorld::AccessProvider => {
            let provider = WasmProvider::new(host.instance(plugin, &config, &trial.limits).await?);
            let start_time = started.elapsed();
            let mut first = None;
            for _ in 0..calls {
                let started = Instant::now();
                let outcome = provider.call(&trial.head).await;
                call_times.push(started.elapsed());
                let outcome = outcome.map_err(TrialError::Fault)?;
                first.get_or_insert(outcome);
            }
            let answer = TrialAnswer::Access(first.expect("one call"));
            (answer, start_time, provider.stats())
        }
        PluginWorld::SessionExtractor => {
            let extractor =
                WasmExtractor::new(host.instance(plugin, &config, &trial.limits).await?);
            let start_time = started.elapsed();
            let body = plugin
                .needs_body()
                .then(|| trial.body.as_deref().unwrap_or_default());
            let mut first = None;
            for _ in 0..calls {
                let started = Instant::now();
                let found = extractor.call(&trial.head, body).await;
                call_times.push(started.elapsed());
                let found = found.map_err(TrialError::Fault)?;
                first.get_or_insert(found);
            }
            let answer = TrialAnswer::Session(first.expect("one call"));
            (answer, start_time, extractor.stats())
        }
    };
    Ok(TrialReport {
        answer,
        call_time: call_times[0],
        call_times,
        start_time,
        memory_bytes: stats.map_or(0, |s| s.memory_bytes),
    })
}

/// The arguments of `plugin check`.
#[derive(Debug, clap::Args)]
pub(super) struct CheckArgs {
    /// The component file (`*.wasm`).
    file: PathBuf,
    /// Settings handed to `configure`: JSON (YAML works too), or @FILE to read them.
    #[arg(long = "config", value_name = "JSON|@FILE", default_value = "{}")]
    settings: String,
    /// A header of the sample request, `Name: value`; repeatable.
    #[arg(long = "header", short = 'H', value_name = "K:V")]
    headers: Vec<String>,
    /// The sample request's path, with an optional `?query`.
    #[arg(long, default_value = "/v1/chat/completions")]
    path: String,
    /// The sample request's body, for a session extractor: @FILE, or the text itself.
    #[arg(long, value_name = "TEXT|@FILE")]
    body: Option<String>,
    /// The compiled-component cache (default: the default of `plugins.cache-dir`, so a
    /// checked plugin loads from the cache in the server too).
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// The deadline of each call, as `limits.deadline-ms` of an instance.
    #[arg(long, value_name = "MS")]
    deadline_ms: Option<u64>,
    /// The memory cap of each live instance, as `limits.memory-mib` of an instance.
    #[arg(long, value_name = "MIB")]
    memory_mib: Option<u64>,
    /// Make the call this many times into the same live instance and print the median and
    /// the 99th percentile of the call time.
    #[arg(long, value_name = "N", default_value_t = 1)]
    calls: u32,
}

/// Prints what the plugin is and what it answered; returns the exit
/// code (0 fine, 1 not loadable, 2 settings rejected, 3 fault).
pub(super) async fn run(args: CheckArgs, log_format: Option<LogFormat>) -> u8 {
    logging::init(false, log_format.unwrap_or_default());
    let fail = |code: u8, message: String| {
        eprintln!("switchyard: {message}");
        code
    };
    let file = args.file.display().to_string();
    let bytes = match std::fs::read(&args.file) {
        Ok(bytes) => bytes,
        Err(error) => return fail(1, format!("{file}: cannot read: {error}")),
    };
    let settings = match read_argument(&args.settings).and_then(|text| parse_settings(&text)) {
        Ok(settings) => settings,
        Err(message) => return fail(2, format!("--config: {message}")),
    };
    let mut headers = Vec::new();
    for header in &args.headers {
        match header.split_once(':') {
            Some((name, value)) if !name.trim().is_empty() => {
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
            _ => return fail(2, format!("--header {header:?}: expected `Name: value`")),
        }
    }
    let body = match args.body.as_deref().map(read_argument).transpose() {
        Ok(body) => body.map(String::into_bytes),
        Err(message) => return fail(2, format!("--body: {message}")),
    };
    let cache_dir = args
        .cache_dir
        .clone()
        .unwrap_or_else(|| PluginsConfig::default_cache_dir(std::path::Path::new(".")));
    let host = match PluginHost::new(HostOptions {
        cache_dir: Some(cache_dir),
        ..HostOptions::default()
    }) {
        Ok(host) => host,
        Err(error) => return fail(1, error.to_string()),
    };
    let started = Instant::now();
    let plugin = match host
        .load(bytes, PluginOrigin::File(args.file.clone()))
        .await
    {
        Ok(plugin) => plugin,
        Err(error) => return fail(1, format!("{file}: {error}")),
    };
    println!("plugin     {} {}", plugin.name(), plugin.version());
    println!("world      {}", world_name(plugin.world()));
    match plugin.header_filter().names() {
        Some(names) => println!("headers    {}", names.join(", ")),
        None => println!("headers    all"),
    }
    println!("file       {file}");
    println!("sha256     {}", hex::encode(plugin.content_hash()));
    let cached = if host.stats().cache_hits > 0 {
        " (from the cache)"
    } else {
        ""
    };
    println!("compiled   {:?}{cached}", started.elapsed());
    let (path, query) = args.path.split_once('?').unwrap_or((&args.path, ""));
    let trial = Trial {
        settings,
        head: RequestHead::new(
            "POST",
            path,
            query,
            headers,
            Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            SystemTime::now(),
        ),
        body,
        limits: limits(&args),
        calls: args.calls,
    };
    match trial_plugin(&host, &plugin, &trial).await {
        Ok(report) => {
            println!("configure  ok");
            match report.answer {
                TrialAnswer::Access(outcome) => {
                    println!("outcome    {}", describe_outcome(&outcome))
                }
                TrialAnswer::Session(None) => println!("session    none"),
                TrialAnswer::Session(Some(ids)) => {
                    let kind = match ids.kind {
                        SessionKind::Explicit => "explicit",
                        SessionKind::Derived => "derived",
                    };
                    let mut line = format!("session    {kind} primary={:?}", ids.primary);
                    if let Some(fallback) = &ids.fallback {
                        line.push_str(&format!(" fallback={fallback:?}"));
                    }
                    println!("{line}");
                }
            }
            println!(
                "started    {:?} (instantiate + configure)",
                report.start_time
            );
            println!("call       {:?}", report.call_time);
            if report.call_times.len() > 1 {
                println!("calls      {}", call_summary(&report.call_times));
            }
            println!(
                "memory     {:.1} MiB linear memory (limit {} MiB)",
                report.memory_bytes as f64 / f64::from(1 << 20),
                trial.limits.memory_bytes >> 20
            );
            0
        }
        Err(error) => {
            if let TrialError::Fault(_) = error {
                println!("configure  ok");
            }
            fail(error.exit_code(), format!("{}: {error}", plugin.name()))
        }
    }
}

/// `N calls: median …, p99 …, max …` of call times.
fn call_summary(times: &[std::time::Duration]) -> String {
    let mut sorted = times.to_vec();
    sorted.sort();
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    format!(
        "{} calls: median {:?}, p99 {:?}, max {:?}",
        sorted.len(),
        at(0.5),
        at(0.99),
        sorted[sorted.len() - 1]
    )
}

/// The call limits of `plugin check`: the defaults of `plugins.limits`, overridden by
/// `--deadline-ms` and `--memory-mib`.
fn limits(args: &CheckArgs) -> PluginLimits {
    let defaults = PluginLimits::default();
    PluginLimits {
        deadline: args
            .deadline_ms
            .map_or(defaults.deadline, std::time::Duration::from_millis),
        memory_bytes: args
            .memory_mib
            .map_or(defaults.memory_bytes, |mib| mib.saturating_mul(1 << 20)),
        ..defaults
    }
}

/// The text of an argument that may be `@FILE`.
fn read_argument(value: &str) -> Result<String, String> {
    match value.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}")),
        None => Ok(value.to_owned()),
    }
}

/// Settings as JSON, else YAML (as they would stand under `config:` in `config.yaml`).
fn parse_settings(text: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(text).or_else(|json_error| {
        serde_yaml_ng::from_str::<serde_json::Value>(text)
            .map_err(|_| format!("not valid JSON: {json_error}"))
    })
}

/// The WIT world's name.
fn world_name(world: PluginWorld) -> &'static str {
    match world {
        PluginWorld::AccessProvider => "access-provider",
        PluginWorld::SessionExtractor => "session-extractor",
    }
}

/// An access outcome on one line.
fn describe_outcome(outcome: &AccessOutcome) -> String {
    match outcome {
        AccessOutcome::Allow {
            principal,
            metadata,
        } => {
            let mut line = format!("allow principal={principal:?}");
            for (key, value) in metadata {
                line.push_str(&format!(" {key}={value:?}"));
            }
            line
        }
        AccessOutcome::NotHandled => "not-handled".to_owned(),
        AccessOutcome::NoCredentials => "no-credentials".to_owned(),
        AccessOutcome::InvalidCredential => "invalid-credential".to_owned(),
        AccessOutcome::Deny { status, message } => {
            format!("deny status={status} message={message:?}")
        }
        AccessOutcome::Error(message) => format!("error {message:?}"),
    }
}
