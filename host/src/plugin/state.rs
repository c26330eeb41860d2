//! The data of one live instance's store: its empty WASI context, its memory limiter, the
//! `host` interface it imports, and the capture of its standard output and error.

use std::sync::Arc;

use parking_lot::Mutex;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::{Host, LogLevel};

/// Most bytes of standard output and error kept per call.
const OUTPUT_CAPACITY: usize = 4096;
/// Longest log message kept, in bytes.
const MESSAGE_CAPACITY: usize = 2048;
/// Most fields kept per log record.
const MAX_FIELDS: usize = 16;
/// Most log records kept per call.
const MAX_RECORDS_PER_CALL: u32 = 32;

/// The store data of one live instance.
pub(crate) struct PluginState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) output: GuestOutput,
    /// The plugin type and instance name, attached to log records.
    origin: Arc<LogOrigin>,
    records: u32,
}

/// Who a log record comes from.
#[derive(Debug)]
pub(crate) struct LogOrigin {
    /// The plugin type.
    pub(crate) kind: String,
    /// The configured instance.
    pub(crate) instance: String,
}

impl PluginState {
    /// A state with an empty WASI context: no preopens, environment, arguments, sockets or
    /// name lookup; stdin closed; stdout and stderr captured.
    pub(crate) fn new(origin: Arc<LogOrigin>, memory_bytes: u64) -> PluginState {
        let output = GuestOutput::default();
        let wasi = WasiCtx::builder()
            .stdout(output.clone())
            .stderr(output.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        PluginState {
            wasi,
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(memory_bytes),
            output,
            origin,
            records: 0,
        }
    }

    /// Resets the per-call bookkeeping before a call.
    pub(crate) fn begin_call(&mut self) {
        self.limiter.exceeded = false;
        self.records = 0;
    }
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl Host for PluginState {
    fn log_enabled(&mut self, level: LogLevel) -> wasmtime::Result<bool> {
        Ok(match level {
            LogLevel::Trace => {
                tracing::enabled!(target: "switchyard::plugin::guest", tracing::Level::TRACE)
            }
            LogLevel::Debug => {
                tracing::enabled!(target: "switchyard::plugin::guest", tracing::Level::DEBUG)
            }
            LogLevel::Info => {
                tracing::enabled!(target: "switchyard::plugin::guest", tracing::Level::INFO)
            }
            LogLevel::Warn => {
                tracing::enabled!(target: "switchyard::plugin::guest", tracing::Level::WARN)
            }
            LogLevel::Error => {
                tracing::enabled!(target: "switchyard::plugin::guest", tracing::Level::ERROR)
            }
        })
    }

    fn log(
        &mut self,
        level: LogLevel,
        mut message: String,
        fields: Vec<(String, String)>,
    ) -> wasmtime::Result<()> {
        self.records += 1;
        if self.records > MAX_RECORDS_PER_CALL {
            return Ok(());
        }
        truncate(&mut message, MESSAGE_CAPACITY);
        let mut rendered = String::new();
        for (key, value) in fields.iter().take(MAX_FIELDS) {
            if !rendered.is_empty() {
                rendered.push(' ');
            }
            rendered.push_str(&format!("{key}={value:?}"));
        }
        truncate(&mut rendered, MESSAGE_CAPACITY);
        let (kind, instance) = (&self.origin.kind, &self.origin.instance);
        macro_rules! emit {
            ($level:expr) => {
                tracing::event!(target: "switchyard::plugin::guest", $level, plugin = %kind, instance = %instance, fields = %rendered, "{message}")
            };
        }
        match level {
            LogLevel::Trace => emit!(tracing::Level::TRACE),
            LogLevel::Debug => emit!(tracing::Level::DEBUG),
            LogLevel::Info => emit!(tracing::Level::INFO),
            LogLevel::Warn => emit!(tracing::Level::WARN),
            LogLevel::Error => emit!(tracing::Level::ERROR),
        }
        Ok(())
    }
}

/// Cuts `text` to at most `max` bytes on a character boundary.
fn truncate(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
}

/// Caps each linear memory of a live instance (`plugins.limits.memory-mib`).
///
/// Refusing to grow makes `memory.grow` fail inside the guest; a guest that cannot go on
/// without the memory traps, and the flag set here turns that trap into a memory fault.
pub(crate) struct MemoryLimiter {
    max_bytes: usize,
    /// Whether a growth was refused during the current call.
    pub(crate) exceeded: bool,
    /// The size of all linear memories of the store together, in bytes.
    pub(crate) total_bytes: usize,
}

impl MemoryLimiter {
    fn new(max_bytes: u64) -> MemoryLimiter {
        MemoryLimiter {
            max_bytes: usize::try_from(max_bytes).unwrap_or(usize::MAX),
            exceeded: false,
            total_bytes: 0,
        }
    }
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.exceeded = true;
            return Ok(false);
        }
        self.total_bytes = self
            .total_bytes
            .saturating_add(desired.saturating_sub(current));
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 20)
    }
}

/// What a live instance wrote to its standard output and error, kept up to a small size and
/// handed to the host's log after each call.
#[derive(Clone, Default)]
pub(crate) struct GuestOutput {
    buffer: Arc<OutputBuffer>,
}

/// The bytes written, and whether there are any (checked without the lock after each call).
#[derive(Default)]
struct OutputBuffer {
    written: std::sync::atomic::AtomicBool,
    bytes: Mutex<Vec<u8>>,
}

impl GuestOutput {
    /// Takes what was written since the last call, lossily decoded.
    pub(crate) fn take(&self) -> Option<String> {
        if !self
            .buffer
            .written
            .swap(false, std::sync::atomic::Ordering::AcqRel)
        {
            return None;
        }
        let mut bytes = self.buffer.bytes.lock();
        let text = String::from_utf8_lossy(&bytes).trim_end().to_owned();
        bytes.clear();
        Some(text)
    }
}

impl wasmtime_wasi::cli::IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl wasmtime_wasi::cli::StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(OutputWriter(self.buffer.clone()))
    }
}

/// The writer behind [`GuestOutput`]: accepts everything, keeps the first
/// [`OUTPUT_CAPACITY`] bytes.
struct OutputWriter(Arc<OutputBuffer>);

impl tokio::io::AsyncWrite for OutputWriter {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let mut bytes = self.0.bytes.lock();
        let room = OUTPUT_CAPACITY.saturating_sub(bytes.len());
        bytes.extend_from_slice(&data[..data.len().min(room)]);
        self.0
            .written
            .store(true, std::sync::atomic::Ordering::Release);
        std::task::Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}
