//! The `switchyard` command.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use clap::{Parser, Subcommand};
use switchyard::Switchyard;
use switchyard::access::{Outcome, RequestHead};
use switchyard::build_info::HeadEntry;
use switchyard::cli::plugin_check::{Trial, TrialAnswer, TrialError};
use switchyard::config::{Config, ConfigError, LogFormat, PluginLimits, PluginsConfig};
use switchyard::plugin::{HostOptions, PluginHost, PluginOrigin, PluginWorld};
use switchyard::session::SessionKind;

/// mimalloc: the proxy allocates and frees many small buffers per request; glibc's allocator
/// spent about a tenth of the CPU time of a benchmark run on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// An LLM API proxy: many upstream credentials, session affinity, Wasm plugins.
#[derive(Debug, Parser)]
#[command(name = "switchyard", version)]
struct Cli {
    /// The config file.
    #[arg(long, default_value = "config.yaml")]
    config: PathBuf,
    /// A management API password accepted from local clients only (enough on its own to
    /// enable the management API). Visible to every user of the machine in the process list:
    /// prefer `--password-file` or `SWITCHYARD_LOCAL_PASSWORD`. `MANAGEMENT_PASSWORD` in the
    /// environment is a secret for every client.
    #[arg(long, conflicts_with = "password_file")]
    password: Option<String>,
    /// The local-only password, read from a file (its first line).
    #[arg(long, value_name = "PATH")]
    password_file: Option<PathBuf>,
    /// How log lines are written to stderr: `text` (coloured only on a terminal) or `json` (one
    /// object per line). Overrides `log-format` in the config.
    #[arg(long, value_name = "FORMAT", global = true, value_parser = parse_log_format)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the proxy (the default).
    Serve,
    /// Run a self-contained demo: a mock upstream with fake credentials behind the proxy.
    Demo {
        /// The port to listen on (0 picks a free one).
        #[arg(long, default_value_t = 8317)]
        port: u16,
    },
    /// Tools for plugin authors.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
}

#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// Load and type-check a plugin file, configure it, and make one sample call.
    ///
    /// Exit codes: 0 fine, 1 the file does not load or matches no plugin world, 2 the plugin
    /// rejected its settings, 3 a call faulted (trap, deadline, memory).
    Check(CheckArgs),
    /// Write a ready-to-build plugin skeleton into a new folder NAME, and print how to build it.
    New(NewArgs),
}

#[derive(Debug, clap::Args)]
struct NewArgs {
    /// What the plugin is: an access provider or a session-id extractor.
    #[arg(long, value_enum)]
    world: NewWorld,
    /// The language of the skeleton.
    #[arg(long = "lang", value_enum)]
    language: NewLanguage,
    /// The plugin's type name (lowercase letters, digits and `-`), also the folder's name.
    name: String,
    /// Where to create the folder.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
}

/// `--world` of `plugin new`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum NewWorld {
    /// An access provider (world `access-provider`).
    Access,
    /// A session-id extractor (world `session-extractor`).
    Session,
}

/// `--lang` of `plugin new`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum NewLanguage {
    /// Rust (`wit-bindgen`, target `wasm32-wasip2`).
    Rust,
    /// Python (`componentize-py`).
    Python,
    /// JavaScript (`componentize-js`).
    Js,
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
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

/// Where the checkout's `HEAD` stood when this binary was built (`host/build.rs` names its
/// reflog; only this file reads it, so a commit recompiles the binary, not the library).
const BUILT_FROM: Option<HeadEntry> =
    HeadEntry::from_reflog(include_bytes!(env!("SWITCHYARD_GIT_REFLOG")));

fn main() -> ExitCode {
    switchyard::build_info::record(BUILT_FROM);
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("switchyard: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => match local_password(
            cli.password,
            cli.password_file.as_deref(),
            std::env::var(LOCAL_PASSWORD_ENV).ok(),
        ) {
            Ok(password) => runtime.block_on(serve(cli.config, password, cli.log_format)),
            Err(message) => Err(message),
        },
        Command::Demo { port } => runtime.block_on(demo(port, cli.log_format)),
        Command::Plugin {
            command: PluginCommand::Check(args),
        } => return ExitCode::from(runtime.block_on(plugin_check(args, cli.log_format))),
        Command::Plugin {
            command: PluginCommand::New(args),
        } => plugin_new(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("switchyard: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The environment variable that may hold the local-only password.
const LOCAL_PASSWORD_ENV: &str = "SWITCHYARD_LOCAL_PASSWORD";

/// The local-only password: `--password`, else the first line of `--password-file`, else
/// `SWITCHYARD_LOCAL_PASSWORD` (`env`); empty values count as none, but an empty or unreadable
/// file is an error.
fn local_password(
    argument: Option<String>,
    file: Option<&std::path::Path>,
    env: Option<String>,
) -> Result<Option<String>, String> {
    if let Some(password) = argument.filter(|p| !p.is_empty()) {
        return Ok(Some(password));
    }
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--password-file {}: {e}", path.display()))?;
        let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
        if line.is_empty() {
            return Err(format!(
                "--password-file {}: the first line is empty",
                path.display()
            ));
        }
        return Ok(Some(line.to_owned()));
    }
    Ok(env.filter(|p| !p.is_empty()))
}

async fn serve(
    path: PathBuf,
    password: Option<String>,
    log_format: Option<LogFormat>,
) -> Result<(), String> {
    let loaded = Config::load(&path).map_err(|error| match error {
        ConfigError::Read { .. } => format!(
            "{error} (to start, run `switchyard --config examples/config.yaml`, or copy it to ./config.yaml)"
        ),
        other => other.to_string(),
    })?;
    let from_config = loaded.config.log_format;
    init_logging(loaded.config.debug, log_format.unwrap_or(from_config));
    if let Err(error) = switchyard::server::raise_open_file_limit() {
        tracing::warn!("cannot raise the open-file limit: {error}");
    }
    let mut builder = Switchyard::builder().loaded_config(loaded);
    if log_format.is_none() {
        builder = builder.log_format(from_config);
    }
    if let Some(password) = password.filter(|p| !p.is_empty()) {
        builder = builder.local_password(&password);
    }
    if let Some(secret) = std::env::var("MANAGEMENT_PASSWORD")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
    {
        builder = builder.management_password(&secret);
    }
    let server = builder.build().await.map_err(|e| e.to_string())?;
    let addr = server.listen().await.map_err(|e| e.to_string())?;
    println!("switchyard listening on http://{addr}");
    server.run_until(shutdown_signal()).await;
    Ok(())
}

async fn demo(port: u16, log_format: Option<LogFormat>) -> Result<(), String> {
    init_logging(false, log_format.unwrap_or_default());
    let demo = switchyard::cli::demo::Demo::start(port)
        .await
        .map_err(|e| format!("{e} (is port {port} taken? try `switchyard demo --port 0`)"))?;
    println!("switchyard listening on http://{}", demo.addr);
    println!("{}", demo.instructions());
    shutdown_signal().await;
    demo.shutdown().await;
    Ok(())
}

/// `switchyard plugin check`: prints what the plugin is and what it answered; returns the exit
/// code (0 fine, 1 not loadable, 2 settings rejected, 3 fault).
async fn plugin_check(args: CheckArgs, log_format: Option<LogFormat>) -> u8 {
    init_logging(false, log_format.unwrap_or_default());
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
    match host.trial(&plugin, &trial).await {
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

/// `switchyard plugin new`: writes the skeleton and prints what to do next.
fn plugin_new(args: NewArgs) -> Result<(), String> {
    let world = match args.world {
        NewWorld::Access => PluginWorld::AccessProvider,
        NewWorld::Session => PluginWorld::SessionExtractor,
    };
    let language = match args.language {
        NewLanguage::Rust => switchyard::cli::scaffold::Language::Rust,
        NewLanguage::Python => switchyard::cli::scaffold::Language::Python,
        NewLanguage::Js => switchyard::cli::scaffold::Language::JavaScript,
    };
    let skeleton = switchyard::cli::scaffold::create(&args.dir, &args.name, world, language)
        .map_err(|e| e.to_string())?;
    print!("{}", skeleton.instructions());
    Ok(())
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
fn describe_outcome(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Allow {
            principal,
            metadata,
        } => {
            let mut line = format!("allow principal={principal:?}");
            for (key, value) in metadata {
                line.push_str(&format!(" {key}={value:?}"));
            }
            line
        }
        Outcome::NotHandled => "not-handled".to_owned(),
        Outcome::NoCredentials => "no-credentials".to_owned(),
        Outcome::InvalidCredential => "invalid-credential".to_owned(),
        Outcome::Deny { status, message } => format!("deny status={status} message={message:?}"),
        Outcome::Error(message) => format!("error {message:?}"),
    }
}

/// Logs go to stderr in `format`; the level comes from `RUST_LOG`, else `debug: true`, else
/// info. Text is coloured only when stderr is a terminal (and `NO_COLOR` is unset); JSON is one
/// object per line: `timestamp`, `level`, `message`, the event's fields, `target`, and `span`
/// (the request's `request_id`, `method` and `path`).
fn init_logging(debug: bool, format: LogFormat) {
    let default = if debug { "debug" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(colour_logs()).try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

/// Whether text logs get ANSI colours: stderr is a terminal and `NO_COLOR` is unset or empty.
fn colour_logs() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// `--log-format`: `text` or `json`.
fn parse_log_format(text: &str) -> Result<LogFormat, String> {
    LogFormat::parse(text).ok_or_else(|| format!("unknown log format {text:?} (text or json)"))
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_password_comes_from_the_argument_a_file_or_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("password");
        std::fs::write(&file, "from-file\nignored\n").unwrap();
        let env = || Some("from-env".to_owned());
        assert_eq!(
            local_password(Some("arg".into()), None, env()),
            Ok(Some("arg".into()))
        );
        assert_eq!(
            local_password(None, Some(&file), env()),
            Ok(Some("from-file".into()))
        );
        assert_eq!(
            local_password(None, None, env()),
            Ok(Some("from-env".into()))
        );
        assert_eq!(local_password(None, None, Some(String::new())), Ok(None));
        assert_eq!(local_password(None, None, None), Ok(None));
        std::fs::write(&file, "\n").unwrap();
        assert!(local_password(None, Some(&file), None).is_err());
        let missing = dir.path().join("missing");
        assert!(local_password(None, Some(&missing), env()).is_err());
    }

    #[test]
    fn the_cli_takes_a_password_file_but_not_with_a_password() {
        let cli = Cli::try_parse_from(["switchyard", "--password-file", "/run/secret"]).unwrap();
        assert_eq!(cli.password_file, Some(PathBuf::from("/run/secret")));
        assert!(
            Cli::try_parse_from(["switchyard", "--password", "x", "--password-file", "/p"])
                .is_err()
        );
    }

    #[test]
    fn the_cli_takes_a_log_format_before_or_after_the_command() {
        let cli = Cli::try_parse_from(["switchyard", "--log-format", "json"]).unwrap();
        assert_eq!(cli.log_format, Some(LogFormat::Json));
        let cli = Cli::try_parse_from(["switchyard", "demo", "--log-format", "TEXT"]).unwrap();
        assert_eq!(cli.log_format, Some(LogFormat::Text));
        assert_eq!(
            Cli::try_parse_from(["switchyard"]).unwrap().log_format,
            None
        );
        let error = Cli::try_parse_from(["switchyard", "--log-format", "xml"]).unwrap_err();
        assert!(error.to_string().contains("text or json"), "{error}");
    }
}
