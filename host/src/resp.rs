//! The usage feed over the Redis protocol, on the main port (reference §8): a connection whose
//! first byte is a RESP type prefix (`*`, `$`, `+`, `-`, `:`) is served here instead of by HTTP,
//! so `redis-cli` can pull usage records.
//!
//! Commands: `AUTH [user] password` (the management key, with the same checks and ban counters as
//! the HTTP management API), `LPOP usage [count]` / `RPOP usage [count]` (both pop the oldest
//! records, kept for 60 s), `SUBSCRIBE usage` (records as they happen; while a subscriber is
//! connected, records go to it instead of the queue), `PING`, `QUIT`. Any other command before
//! `AUTH` gets `-NOAUTH Authentication required.` and counts as a failed login. Input that is not
//! RESP gets `-ERR protocol error` and the connection closes; so does a connection when the
//! management API is disabled.
//!
//! With TLS on, nothing is sniffed before the handshake (no plaintext on a TLS port): a
//! connection whose handshake negotiated no ALPN protocol is sniffed after it, so
//! `redis-cli --tls` works, while HTTP clients (which negotiate `h2` or `http/1.1`) go straight
//! to HTTP.

pub mod codec;
pub mod session;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use crate::management::Management;

/// Whether a connection that starts with `byte` speaks RESP.
pub fn is_resp_start(byte: u8) -> bool {
    matches!(byte, b'*' | b'$' | b'+' | b'-' | b':')
}

/// Serves one RESP connection from `peer` until it closes, errs, or `stop` turns true.
pub async fn serve<I>(
    io: I,
    peer: SocketAddr,
    management: Arc<Management>,
    stop: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Send + 'static,
{
    session::Session::new(peer, management).run(io, stop).await;
}
