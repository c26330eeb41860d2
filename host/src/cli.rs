//! The `switchyard` command: its arguments and the code behind each subcommand (`serve`,
//! `demo`, `plugin check`, `plugin new`, `vertex-import`). Compiled only with the `cli` feature; not part of
//! the embedding API (the binary serves through the same [`crate::Switchyard`] builder an
//! embedding program uses).

mod demo;
mod logging;
mod plugin_check;
mod plugin_new;
pub mod scaffold;
mod serve;
mod vertex_import;

/// What the binary records about the checkout it was built from.
pub mod build_info {
    pub use crate::build_info::{HeadEntry, record};
}

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::LogFormat;

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
    /// Turn a Google service-account JSON key into a Vertex AI auth file
    /// (`vertex-<project>.json`, mode 0600) in the config's `auth-dir`; prints its path.
    VertexImport(vertex_import::ImportArgs),
}

#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// Load and type-check a plugin file, configure it, and make one sample call.
    ///
    /// Exit codes: 0 fine, 1 the file does not load or matches no plugin world, 2 the plugin
    /// rejected its settings, 3 a call faulted (trap, deadline, memory).
    Check(plugin_check::CheckArgs),
    /// Write a ready-to-build plugin skeleton into a new folder NAME, and print how to build it.
    New(plugin_new::NewArgs),
}

/// Runs the command the process's arguments name; returns the process's exit code.
pub fn run() -> ExitCode {
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
        Command::Serve => match serve::local_password(
            cli.password,
            cli.password_file.as_deref(),
            std::env::var(serve::LOCAL_PASSWORD_ENV).ok(),
        ) {
            Ok(password) => runtime.block_on(serve::run(cli.config, password, cli.log_format)),
            Err(message) => Err(message),
        },
        Command::Demo { port } => runtime.block_on(demo::run(port, cli.log_format)),
        Command::Plugin {
            command: PluginCommand::Check(args),
        } => return ExitCode::from(runtime.block_on(plugin_check::run(args, cli.log_format))),
        Command::Plugin {
            command: PluginCommand::New(args),
        } => plugin_new::run(args),
        Command::VertexImport(args) => vertex_import::run(args, &cli.config),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("switchyard: {message}");
            ExitCode::FAILURE
        }
    }
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
    fn the_cli_takes_a_password_file_but_not_with_a_password() {
        let cli = Cli::try_parse_from(["switchyard", "--password-file", "/run/secret"]).unwrap();
        assert_eq!(cli.password_file, Some(PathBuf::from("/run/secret")));
        assert!(
            Cli::try_parse_from(["switchyard", "--password", "x", "--password-file", "/p"])
                .is_err()
        );
    }

    #[test]
    fn vertex_import_takes_a_key_a_prefix_and_a_location() {
        let cli = Cli::try_parse_from([
            "switchyard",
            "--config",
            "c.yaml",
            "vertex-import",
            "key.json",
            "--prefix",
            "team",
            "--location",
            "global",
        ])
        .unwrap();
        assert_eq!(cli.config, PathBuf::from("c.yaml"));
        assert!(matches!(cli.command, Some(Command::VertexImport(_))));
        assert!(Cli::try_parse_from(["switchyard", "vertex-import"]).is_err());
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
