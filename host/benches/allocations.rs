//! Heap allocations per proxied request on the serving thread: a counting global allocator
//! (counting only on the thread that switched it on), switchyard served on one current-thread
//! runtime, the mock upstream on its own thread, and a client on a third thread sending small
//! Messages requests on one keep-alive connection.
//!
//! `cargo bench -p switchyard --bench allocations [-- --out PATH --requests N]` prints the
//! figures and writes them as JSON (default `target/bench/allocations.json`); `--trace N` also
//! prints where the allocations of N more requests come from.
//!
//! The config says `server.runtime: work-stealing`: the server then runs on the runtime it is
//! started in, so every task of a request runs on the serving thread (`per-core` would serve on
//! threads of its own, which count nothing).
// The one `unsafe` here: a global allocator must be an `unsafe impl` of `GlobalAlloc`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::backtrace::Backtrace;
use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::mpsc as std_mpsc;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use switchyard::test_util::server::{RunningServer, ServerOptions};
use tokio::sync::{mpsc, oneshot};

/// The client key switchyard accepts.
const CLIENT_KEY: &str = "alloc-bench-client-key";

/// Requests sent before counting starts (connections, pools and caches warm).
const WARM_UP: u32 = 300;

/// The counting allocator: the system allocator, plus a count of the calls (and bytes) made
/// on a thread that switched counting on.
struct CountingAllocator;

thread_local! {
    /// Whether this thread counts its allocations.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    /// Allocations (`alloc`, `alloc_zeroed`, `realloc`) counted on this thread.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    /// Bytes those allocations asked for (a `realloc` counts its new size).
    static BYTES: Cell<u64> = const { Cell::new(0) };
}

thread_local! {
    /// Whether this thread keeps a backtrace of each counted allocation (`--trace`).
    static TRACING: Cell<bool> = const { Cell::new(false) };
    /// Set while a backtrace is being taken (which allocates itself).
    static IN_TRACE: Cell<bool> = const { Cell::new(false) };
    /// The backtraces kept while tracing.
    static TRACES: RefCell<Vec<Backtrace>> = const { RefCell::new(Vec::new()) };
}

/// Counts one allocation of `size` bytes when this thread counts. Never allocates unless
/// tracing: the counters are const-initialised cells without destructors.
fn record(size: usize) {
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        let _ = BYTES.try_with(|n| n.set(n.get() + size as u64));
        if TRACING.try_with(Cell::get).unwrap_or(false)
            && !IN_TRACE.try_with(|t| t.replace(true)).unwrap_or(true)
        {
            let trace = Backtrace::force_capture();
            let _ = TRACES.try_with(|traces| traces.borrow_mut().push(trace));
            let _ = IN_TRACE.try_with(|t| t.set(false));
        }
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; `record` only touches
// const-initialised thread-locals and never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: as `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        // SAFETY: as `alloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as `alloc`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// This thread's counts so far.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    allocations: u64,
    bytes: u64,
}

impl Counts {
    /// This thread's counts now.
    fn now() -> Counts {
        Counts {
            allocations: ALLOCATIONS.with(Cell::get),
            bytes: BYTES.with(Cell::get),
        }
    }

    /// What was counted between `earlier` and `self`.
    fn since(self, earlier: Counts) -> Counts {
        Counts {
            allocations: self.allocations - earlier.allocations,
            bytes: self.bytes - earlier.bytes,
        }
    }
}

/// One measured request shape.
struct Case {
    /// Its name in the output.
    name: &'static str,
    /// The Messages body.
    body: &'static [u8],
    /// Session affinity on (the standard extractor reads every request).
    affinity: bool,
}

/// The request of the bench crate's `scenario::small_request`.
const SMALL: &[u8] = br#"{"model":"claude-sonnet-4","max_tokens":16,"messages":[{"role":"user","content":"Hello, how are you?"}]}"#;

/// The same, streamed (the mock sends its default 5 chunks at once).
const SMALL_STREAM: &[u8] = br#"{"model":"claude-sonnet-4","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"Hello, how are you?"}]}"#;

const CASES: &[Case] = &[
    Case {
        name: "small",
        body: SMALL,
        affinity: false,
    },
    Case {
        name: "small_stream",
        body: SMALL_STREAM,
        affinity: false,
    },
    Case {
        name: "small_affinity",
        body: SMALL,
        affinity: true,
    },
];

/// What the bench is asked for on its command line.
struct Args {
    /// Where the JSON goes (`--out`).
    out: PathBuf,
    /// Measured requests per case (`--requests`, at least 1,000).
    requests: u32,
    /// Requests whose allocations are traced after the measurement, to find their sites.
    trace: u32,
}

/// Reads the command line (`cargo bench` adds flags of its own, ignored).
fn args() -> Result<Args> {
    let mut out = std::env::current_dir()?.join("target/bench/allocations.json");
    let mut requests = 2000;
    let mut trace = 0;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => out = args.next().context("--out PATH")?.into(),
            "--requests" => requests = args.next().context("--requests N")?.parse()?,
            "--trace" => trace = args.next().context("--trace N")?.parse()?,
            // `cargo bench` passes `--bench`; filters and other flags do not apply.
            _ => {}
        }
    }
    if requests < 1000 {
        bail!("--requests must be at least 1000");
    }
    Ok(Args {
        out,
        requests,
        trace,
    })
}

fn main() -> Result<()> {
    let args = args()?;
    switchyard::test_util::proxy::client_pool::install_crypto_provider();
    let mock = start_mock()?;
    let mut results = serde_json::Map::new();
    for case in CASES {
        let measured = measure(case, mock.addr, args.requests, args.trace)?;
        let per_request = measured.allocations as f64 / f64::from(args.requests);
        let bytes = measured.bytes as f64 / f64::from(args.requests);
        println!(
            "{:<16} {per_request:>8.1} allocations/request {bytes:>10.0} bytes/request ({} requests)",
            case.name, args.requests
        );
        results.insert(
            case.name.to_owned(),
            json!({ "allocations_per_request": per_request, "bytes_per_request": bytes }),
        );
    }
    results.insert("requests".to_owned(), json!(args.requests));
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(
        &args.out,
        serde_json::to_vec_pretty(&Value::Object(results))?,
    )?;
    println!("wrote {}", args.out.display());
    drop(mock.stop);
    let _ = mock.thread.join();
    Ok(())
}

/// The mock upstream on its own thread and runtime.
struct Mock {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

fn start_mock() -> Result<Mock> {
    let (started, addr) = std_mpsc::channel();
    let (stop, stopped) = oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("mock runtime");
        runtime.block_on(async move {
            let mock = switchyard_mock::MockUpstream::builder()
                .record_requests(false)
                .start()
                .await
                .expect("mock starts");
            let _ = started.send(mock.addr());
            let _ = stopped.await;
            mock.shutdown().await;
        });
    });
    let addr = addr.recv().context("the mock did not start")?;
    Ok(Mock { addr, stop, thread })
}

/// What the serving thread is asked while it serves.
enum Command {
    /// Its counts now.
    Counts(oneshot::Sender<Counts>),
    /// Start keeping a backtrace of each allocation.
    StartTrace(oneshot::Sender<()>),
    /// Stop, and hand over the backtraces kept.
    StopTrace(oneshot::Sender<Vec<Backtrace>>),
}

/// Starts switchyard for `case` on a serving thread that counts, sends `requests` requests
/// after a warm-up from this thread, and returns what the serving thread allocated for them.
fn measure(case: &Case, mock: SocketAddr, requests: u32, trace: u32) -> Result<Counts> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "host: 127.0.0.1\nport: 0\nserver:\n  runtime: work-stealing\napi-keys: [{CLIENT_KEY}]\nrouting:\n  session-affinity: {}\nclaude-api-key:\n  - api-key: cred-1\n    base-url: http://{mock}\n",
            case.affinity
        ),
    )?;
    let (started, addr) = std_mpsc::channel();
    let (commands, mut received) = mpsc::unbounded_channel::<Command>();
    let serving = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("serving runtime");
        COUNTING.with(|on| on.set(true));
        runtime.block_on(async move {
            let options = ServerOptions::from_file(config).with_watch(false);
            let server = match RunningServer::start(options).await {
                Ok(server) => server,
                Err(e) => {
                    let _ = started.send(Err(e.to_string()));
                    return;
                }
            };
            let _ = started.send(Ok(server.local_addr()));
            while let Some(command) = received.recv().await {
                match command {
                    Command::Counts(reply) => {
                        let _ = reply.send(Counts::now());
                    }
                    Command::StartTrace(reply) => {
                        TRACING.with(|on| on.set(true));
                        let _ = reply.send(());
                    }
                    Command::StopTrace(reply) => {
                        TRACING.with(|on| on.set(false));
                        let _ = reply.send(TRACES.with(|traces| traces.take()));
                    }
                }
            }
            server.shutdown().await;
        });
    });
    let addr = addr
        .recv()
        .context("the serving thread ended")?
        .map_err(anyhow::Error::msg)?;
    let counts = || {
        let (reply, answer) = oneshot::channel();
        let sent = commands.send(Command::Counts(reply));
        async move {
            sent.ok().context("serving thread gone")?;
            answer.await.context("no counts")
        }
    };
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let measured = client.block_on(async {
        let mut sender = connect(addr).await?;
        for _ in 0..WARM_UP {
            send(&mut sender, addr, case.body).await?;
        }
        let before = counts().await?;
        for _ in 0..requests {
            send(&mut sender, addr, case.body).await?;
        }
        let after = counts().await?;
        if trace > 0 {
            let (reply, started) = oneshot::channel();
            commands
                .send(Command::StartTrace(reply))
                .ok()
                .context("serving thread gone")?;
            started.await?;
            for _ in 0..trace {
                send(&mut sender, addr, case.body).await?;
            }
            let (reply, traces) = oneshot::channel();
            commands
                .send(Command::StopTrace(reply))
                .ok()
                .context("serving thread gone")?;
            print_sites(case.name, &traces.await?, trace);
        }
        anyhow::Ok(after.since(before))
    })?;
    drop(commands);
    serving
        .join()
        .map_err(|_| anyhow::anyhow!("serving thread panicked"))?;
    Ok(measured)
}

/// A keep-alive HTTP/1.1 connection to `addr`.
async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

/// Sends one Messages request and reads the whole answer (an error for a non-2xx).
async fn send(
    sender: &mut SendRequest<Full<Bytes>>,
    addr: SocketAddr,
    body: &'static [u8],
) -> Result<()> {
    sender.ready().await?;
    let request = http::Request::post("/v1/messages")
        .header(http::header::HOST, addr.to_string())
        .header(http::header::CONTENT_TYPE, "application/json")
        .header("x-api-key", CLIENT_KEY)
        .body(Full::new(Bytes::from_static(body)))?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    if !status.is_success() {
        bail!(
            "switchyard answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    Ok(())
}

/// Prints where the traced allocations of `requests` requests came from: per site (the
/// innermost frame outside the allocator and the standard library, and the innermost
/// switchyard frame), allocations per request, most first.
fn print_sites(case: &str, traces: &[Backtrace], requests: u32) {
    let mut sites: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for trace in traces {
        let text = trace.to_string();
        let mut frames: Vec<(String, String)> = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if let Some(at) = line.strip_prefix("at ") {
                if let Some(last) = frames.last_mut() {
                    last.1 = at.to_owned();
                }
            } else if let Some((_, symbol)) = line.split_once(": ") {
                frames.push((symbol.to_owned(), String::new()));
            }
        }
        // A frame by its function's short name and its place.
        let show = |(symbol, at): &(String, String)| {
            let name = symbol.split('<').next().unwrap_or(symbol);
            format!("{name} ({at})")
        };
        let leaf = frames
            .iter()
            .find(|(_, at)| !at.is_empty() && !at.contains("/rustc/") && !at.contains("benches/"))
            .map_or("?".to_owned(), show);
        let ours = frames
            .iter()
            .find(|(_, at)| at.contains("host/src/") || at.contains("translate/src/"))
            .map_or("-".to_owned(), show);
        *sites
            .entry(format!("{leaf}\n        in {ours}"))
            .or_default() += 1;
    }
    let mut sites: Vec<_> = sites.into_iter().collect();
    sites.sort_by_key(|site| std::cmp::Reverse(site.1));
    println!(
        "--- {case}: allocation sites over {requests} requests ({} allocations)",
        traces.len()
    );
    for (site, count) in sites {
        println!("{:>7.2}  {site}", count as f64 / f64::from(requests));
    }
}
