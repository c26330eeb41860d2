//! The usage feed over the Redis protocol, on the main port: a connection whose
//! first byte is a RESP type prefix (`*`, `$`, `+`, `-`, `:`) is served here instead of by HTTP,
//! so `redis-cli` can pull usage records.
//!
//! Commands: `AUTH [user] password` (the management key, with the same checks and ban counters as
//! the HTTP management API), `LPOP usage [count]` / `RPOP usage [count]` (both pop the oldest
//! records, kept for 60 s), `SUBSCRIBE usage` (first `{"support_refresh":true}`, as the
//! reference sends it, then records as they happen; while a subscriber is connected, records go
//! to it instead of the queue), `PING`, `QUIT`. Turning the feed off (the management API or
//! `usage-statistics-enabled`) empties the queue and ends the subscriptions. Any other command before
//! `AUTH` gets `-NOAUTH Authentication required.` (not a failed login, unlike the reference).
//! Input that is not RESP gets `-ERR protocol error` and the connection closes.
//!
//! Nothing is given before `AUTH`: with the management API off, the first command gets `-ERR`
//! and the connection closes; a command before `AUTH` has at most 3 elements of at most 1 KiB
//! (checked from the declared lengths, else `-ERR` and close); one command at most is read
//! ahead of the one being answered; a connection that is not subscribed closes after
//! [`IDLE_TIMEOUT`] without a command. A session that logged in ends (`-ERR`, close) as soon as
//! the management secrets or enablement differ from those at `AUTH` (a fingerprint compared on
//! every command, every reload and before every message).
//!
//! With TLS on, nothing is sniffed before the handshake (no plaintext on a TLS port): a
//! connection whose handshake negotiated no ALPN protocol is sniffed after it, so
//! `redis-cli --tls` works, while HTTP clients (which negotiate `h2` or `http/1.1`) go straight
//! to HTTP.

pub(crate) mod codec;
pub(crate) mod connection;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use crate::management::Management;

/// How long a connection that is not subscribed may stay without a command.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Whether a connection that starts with `byte` speaks RESP.
pub(crate) fn is_resp_start(byte: u8) -> bool {
    matches!(byte, b'*' | b'$' | b'+' | b'-' | b':')
}

/// Serves one RESP connection from `peer` until it closes, errs, or `stop` turns true.
pub(crate) async fn serve<I>(
    io: I,
    peer: SocketAddr,
    management: Arc<Management>,
    stop: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Send + 'static,
{
    connection::Connection::new(peer, management)
        .run(io, stop)
        .await;
}
