//! The `switchyard` command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use switchyard::config::{Config, ConfigError};
use switchyard::server::{RunningServer, ServerOptions};

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
    /// enable the management API). `MANAGEMENT_PASSWORD` in the environment is a secret for
    /// every client.
    #[arg(long)]
    password: Option<String>,
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
}

fn main() -> ExitCode {
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
        Command::Serve => runtime.block_on(serve(cli.config, cli.password)),
        Command::Demo { port } => runtime.block_on(demo(port)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("switchyard: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(path: PathBuf, password: Option<String>) -> Result<(), String> {
    let loaded = Config::load(&path).map_err(|error| match error {
        ConfigError::Read { .. } => format!(
            "{error} (to start, run `switchyard --config examples/config.yaml`, or copy it to ./config.yaml)"
        ),
        other => other.to_string(),
    })?;
    init_logging(loaded.config.debug);
    if let Err(error) = switchyard::server::raise_open_file_limit() {
        tracing::warn!("cannot raise the open-file limit: {error}");
    }
    let mut options = ServerOptions::from_config(loaded);
    if let Some(password) = password.filter(|p| !p.is_empty()) {
        options = options.with_local_password(password);
    }
    if let Some(secret) = std::env::var("MANAGEMENT_PASSWORD")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
    {
        options = options.with_management_password(secret);
    }
    let server = RunningServer::start(options)
        .await
        .map_err(|e| e.to_string())?;
    println!("switchyard listening on http://{}", server.local_addr());
    server.run_until(shutdown_signal()).await;
    Ok(())
}

async fn demo(port: u16) -> Result<(), String> {
    init_logging(false);
    let demo = switchyard::demo::Demo::start(port)
        .await
        .map_err(|e| format!("{e} (is port {port} taken? try `switchyard demo --port 0`)"))?;
    println!(
        "switchyard listening on http://{}",
        demo.server.local_addr()
    );
    println!("{}", demo.instructions());
    shutdown_signal().await;
    demo.shutdown().await;
    Ok(())
}

/// Logs go to stderr; the level comes from `RUST_LOG`, else `debug: true`, else info.
fn init_logging(debug: bool) {
    let default = if debug { "debug" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
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
