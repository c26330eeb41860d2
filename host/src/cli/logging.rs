//! Where the command's log lines go: stderr, as text or JSON, at the level `RUST_LOG` or the
//! config's `debug` asks for.

use crate::config::LogFormat;

/// Logs go to stderr in `format`; the level comes from `RUST_LOG`, else `debug: true`, else
/// info. Text is coloured only when stderr is a terminal (and `NO_COLOR` is unset); JSON is one
/// object per line: `timestamp`, `level`, `message`, the event's fields, `target`, and `span`
/// (the request's `request_id`, `method` and `path`).
pub(super) fn init(debug: bool, format: LogFormat) {
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
