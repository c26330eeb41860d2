//! `switchyard-mock`: the mock upstream as a standalone server, for benchmarks (say, against
//! nginx) and manual use. Serves until Ctrl-C.

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
    println!("switchyard-mock listening on {}", mock.base_url());
    if let Err(error) = tokio::signal::ctrl_c().await {
        eprintln!("switchyard-mock: cannot wait for Ctrl-C: {error}");
    }
    mock.shutdown().await;
    ExitCode::SUCCESS
}
