//! The data of one live instance's store: its empty WASI context, its resource limiter, the
//! `host` interface it imports, and the capture of its standard output and error.
//!
//! The `host` interface is linked by hand rather than through the generated bindings: the
//! generated `log` would lift (copy onto the host) the guest's whole message and field list
//! before any host code runs, so a guest could make the host allocate its memory size many
//! times over (every field pointing at the same huge string). Here `log` receives views into
//! guest memory ([`WasmStr`], [`WasmList`]): an oversized field list is refused from its length
//! alone, a message is checked in place (UTF-8 validation, no copy), and only the at most
//! [`MESSAGE_CAPACITY`] bytes kept are copied.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, ResourceTable, WasmList, WasmStr};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::LogLevel;

/// Most bytes of standard output and error kept per call.
const OUTPUT_CAPACITY: usize = 4096;
/// Longest log message kept, in bytes (longer ones are cut).
const MESSAGE_CAPACITY: usize = 2048;
/// Longest log message accepted, in bytes: a longer one refuses the record.
pub(crate) const MAX_MESSAGE_BYTES: usize = 64 << 10;
/// Most fields accepted per log record: more refuse the record.
pub(crate) const MAX_FIELDS: usize = 16;
/// Most log records kept per call.
const MAX_RECORDS_PER_CALL: u32 = 32;
/// Most core instances a live instance may create (a Python component has a few dozen).
const MAX_INSTANCES: usize = 100;
/// Most linear memories of a live instance.
const MAX_MEMORIES: usize = 8;
/// Most tables of a live instance.
const MAX_TABLES: usize = 32;
/// Most elements of one table.
const MAX_TABLE_ELEMENTS: usize = 1 << 17;

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

/// Who a log record comes from, and what the host refused of that configured instance's logs.
#[derive(Debug)]
pub(crate) struct LogOrigin {
    /// The plugin type.
    pub(crate) kind: String,
    /// The configured instance.
    pub(crate) instance: String,
    /// Log records refused for being over [`MAX_MESSAGE_BYTES`] or [`MAX_FIELDS`].
    pub(crate) log_refused: AtomicU64,
}

impl LogOrigin {
    /// The origin of records of `instance`, an instance of the type `kind`.
    pub(crate) fn new(kind: &str, instance: &str) -> LogOrigin {
        LogOrigin {
            kind: kind.to_owned(),
            instance: instance.to_owned(),
            log_refused: AtomicU64::new(0),
        }
    }
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

/// Whether the guest log at `level` would be emitted.
fn log_enabled(level: LogLevel) -> bool {
    match level {
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
    }
}

/// Links the `host` interface (`log-enabled`, `log`) into `linker`.
pub(crate) fn add_host_to_linker(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    let mut host = linker.instance("switchyard:plugin/host@0.1.0")?;
    host.func_wrap("log-enabled", |_store, (level,): (LogLevel,)| {
        Ok((log_enabled(level),))
    })?;
    host.func_wrap(
        "log",
        |store: StoreContextMut<'_, PluginState>,
         (level, message, fields): (LogLevel, WasmStr, WasmList<(WasmStr, WasmStr)>)| {
            log(store, level, &message, &fields)
        },
    )?;
    Ok(())
}

/// What the guest's `log` call leaves once checked: the kept message and rendered fields.
struct Record {
    message: String,
    fields: String,
}

/// The host's `log`: checks the record in guest memory, copies what is kept, emits it.
fn log(
    mut store: StoreContextMut<'_, PluginState>,
    level: LogLevel,
    message: &WasmStr,
    fields: &WasmList<(WasmStr, WasmStr)>,
) -> wasmtime::Result<()> {
    {
        let state = store.data_mut();
        state.records += 1;
        if state.records > MAX_RECORDS_PER_CALL {
            return Ok(());
        }
    }
    let record = match read_record(&mut store, message, fields) {
        Ok(record) => record,
        Err(reason) => {
            let origin = &store.data().origin;
            origin.log_refused.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(plugin = %origin.kind, instance = %origin.instance, "plugin log record refused: {reason}");
            return Ok(());
        }
    };
    let origin = &store.data().origin;
    let (kind, instance) = (&origin.kind, &origin.instance);
    let (message, rendered) = (&record.message, &record.fields);
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

/// Reads a log record out of guest memory, copying at most [`MESSAGE_CAPACITY`] bytes of
/// message and of rendered fields; `Err` names the limit a record is over (or why it is
/// invalid).
fn read_record(
    store: &mut StoreContextMut<'_, PluginState>,
    message: &WasmStr,
    fields: &WasmList<(WasmStr, WasmStr)>,
) -> Result<Record, String> {
    if fields.len() > MAX_FIELDS {
        return Err(format!(
            "{} fields, over the limit of {MAX_FIELDS}",
            fields.len()
        ));
    }
    // A view of guest memory (UTF-8 guests: validated in place, not copied).
    let text = message.to_str(&*store).map_err(|e| e.to_string())?;
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(format!(
            "a message of {} bytes, over the limit of {MAX_MESSAGE_BYTES}",
            text.len()
        ));
    }
    let message = cut(&text, MESSAGE_CAPACITY);
    let mut rendered = String::new();
    for index in 0..fields.len() {
        let Some(Ok((key, value))) = fields.get(&mut *store, index) else {
            return Err("an invalid field list".to_owned());
        };
        let key = key.to_str(&*store).map_err(|e| e.to_string())?;
        let value = value.to_str(&*store).map_err(|e| e.to_string())?;
        if !rendered.is_empty() {
            rendered.push(' ');
        }
        let room = MESSAGE_CAPACITY.saturating_sub(rendered.len());
        let value = format!("{:?}", cut(&value, room));
        rendered.push_str(&cut(&key, room));
        rendered.push('=');
        rendered.push_str(&value);
        if rendered.len() >= MESSAGE_CAPACITY {
            break;
        }
    }
    truncate(&mut rendered, MESSAGE_CAPACITY);
    Ok(Record {
        message,
        fields: rendered,
    })
}

/// A copy of at most `max` bytes of `text` (cut on a character boundary, marked with `…`).
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
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

/// Caps the linear memories of a live instance together (`plugins.limits.memory-mib`), and its
/// core instances, memories, tables and table elements.
///
/// Refusing to grow makes `memory.grow` fail inside the guest; a guest that cannot go on
/// without the memory traps, and the flag set here turns that trap into a memory fault.
pub(crate) struct MemoryLimiter {
    /// The most bytes of all memories together.
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
        let total = self
            .total_bytes
            .saturating_add(desired.saturating_sub(current));
        if total > self.max_bytes {
            self.exceeded = true;
            return Ok(false);
        }
        self.total_bytes = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
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
