//! `switchyard-mock`: the mock upstream as a standalone server, for benchmarks (say, against
//! nginx) and manual use. Serves until Ctrl-C.

use std::fmt;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use switchyard_mock::MockUpstream;

/// A mock LLM upstream speaking the OpenAI, Anthropic and Gemini protocols.
#[derive(Debug, Parser)]
#[command(name = "switchyard-mock", version)]
struct Args {
    /// Address to listen on (port 0: pick a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Content chunks per streamed answer.
    #[arg(long, default_value_t = 5)]
    chunks: u32,
    /// Pause between the chunks of a streamed answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    chunk_interval_ms: u64,
    /// Keep only counters, not the requests themselves (for long benchmarks).
    #[arg(long)]
    no_record: bool,
    /// Tokio worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Registers a confidential OAuth client at start (repeatable): the mock then grants it
    /// access tokens by the client-credentials grant at `{base}/oauth/token` (client
    /// authentication by `Authorization: Basic` or `client_id` and `client_secret` in the
    /// form), valid for one hour; a model request with such a token is answered as the client
    /// id (`x-mock-credential`). The secret is what follows the first `:`.
    #[arg(long = "oauth-client", value_name = "ID:SECRET", value_parser = OAuthClient::parse)]
    oauth_clients: Vec<OAuthClient>,
}

/// A confidential OAuth client given on the command line. Its `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
struct OAuthClient {
    id: String,
    secret: String,
}

impl OAuthClient {
    /// Parses `ID:SECRET`: the id is what precedes the first `:` (non-empty), the secret the
    /// rest (non-empty, may contain `:`).
    fn parse(text: &str) -> Result<OAuthClient, String> {
        let Some((id, secret)) = text.split_once(':') else {
            return Err("expected ID:SECRET (no `:` found)".to_owned());
        };
        if id.is_empty() {
            return Err("the client id before `:` is empty".to_owned());
        }
        if secret.is_empty() {
            return Err(format!("the secret of client {id} is empty"));
        }
        Ok(OAuthClient {
            id: id.to_owned(),
            secret: secret.to_owned(),
        })
    }
}

impl fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClient")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if let Some(threads) = args.threads {
        runtime.worker_threads(threads.max(1));
    }
    let runtime = match runtime.build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("switchyard-mock: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(args))
}

async fn serve(args: Args) -> ExitCode {
    let started = MockUpstream::builder()
        .listen(args.listen)
        .chunks(args.chunks)
        .chunk_interval(Duration::from_millis(args.chunk_interval_ms))
        .record_requests(!args.no_record)
        .start()
        .await;
    let mock = match started {
        Ok(mock) => mock,
        Err(error) => {
            eprintln!("switchyard-mock: cannot listen on {}: {error}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    for client in &args.oauth_clients {
        mock.register_client(&client.id, Some(&client.secret));
    }
    println!("switchyard-mock listening on {}", mock.base_url());
    if let Err(error) = tokio::signal::ctrl_c().await {
        eprintln!("switchyard-mock: cannot wait for Ctrl-C: {error}");
    }
    mock.shutdown().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_oauth_client_is_split_at_the_first_colon() {
        assert_eq!(
            OAuthClient::parse("bench-client:s3cret:with/colons"),
            Ok(OAuthClient {
                id: "bench-client".to_owned(),
                secret: "s3cret:with/colons".to_owned(),
            })
        );
    }

    #[test]
    fn an_oauth_client_needs_an_id_a_colon_and_a_secret() {
        assert!(OAuthClient::parse("bench-client").is_err());
        assert!(OAuthClient::parse(":secret").is_err());
        assert!(OAuthClient::parse("bench-client:").is_err());
    }

    #[test]
    fn the_flag_repeats_and_debug_hides_the_secrets() {
        let args = Args::try_parse_from([
            "switchyard-mock",
            "--oauth-client",
            "a:first-secret",
            "--oauth-client",
            "b:second-secret",
        ])
        .unwrap();
        let ids: Vec<&str> = args.oauth_clients.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        let debug = format!("{args:?}");
        assert!(debug.contains("\"a\""), "{debug}");
        assert!(!debug.contains("first-secret"), "{debug}");
        assert!(!debug.contains("second-secret"), "{debug}");
    }
}
