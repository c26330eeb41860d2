//! The accept loop: one hyper connection per client (plain or TLS), HTTP/1.1 and h2, with
//! graceful shutdown; connections that speak RESP go to the usage feed ([`crate::resp`]).
//!
//! Sniffing: a plain connection's first byte is peeked (not consumed; up to
//! [`SNIFF_TIMEOUT`], after which it is HTTP). A TLS connection is never sniffed before its
//! handshake; one that negotiated `h2` or `http/1.1` by ALPN is HTTP, and one without ALPN has
//! its first decrypted byte read and put back in front.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::prefixed::Prefixed;
use crate::management::Management;

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long to wait for a connection's first byte to tell RESP from HTTP.
pub(super) const SNIFF_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts connections until `stop` turns true, then waits up to `grace` for open ones.
pub(super) async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Router,
    management: Arc<Management>,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
) {
    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let app = app.clone();
                    let builder = builder.clone();
                    let watcher = graceful.watcher();
                    let resp = (management.clone(), stop.clone());
                    match tls.clone() {
                        None => {
                            tokio::spawn(async move {
                                if peeks_resp(&stream).await {
                                    crate::resp::serve(stream, peer, resp.0, resp.1).await;
                                } else {
                                    serve_io(builder, stream, peer, app, watcher).await;
                                }
                            });
                        }
                        Some(acceptor) => {
                            tokio::spawn(async move {
                                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                                    Ok(Ok(stream)) if stream.get_ref().1.alpn_protocol().is_some() => {
                                        serve_io(builder, stream, peer, app, watcher).await;
                                    }
                                    Ok(Ok(mut stream)) => {
                                        let first = read_first(&mut stream).await;
                                        let resp_start = first.first().is_some_and(|b| crate::resp::is_resp_start(*b));
                                        let stream = Prefixed::new(first, stream);
                                        if resp_start {
                                            crate::resp::serve(stream, peer, resp.0, resp.1).await;
                                        } else {
                                            serve_io(builder, stream, peer, app, watcher).await;
                                        }
                                    }
                                    Ok(Err(error)) => tracing::debug!(%peer, "TLS handshake failed: {error}"),
                                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                                }
                            });
                        }
                    }
                }
                Err(error) => {
                    // Out of descriptors or similar: back off briefly instead of spinning.
                    tracing::warn!("accept failed: {error}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = async { let _ = stop.wait_for(|stopped| *stopped).await; } => break,
        }
    }
    drop(listener);
    tracing::info!(open = graceful.count(), "shutting down");
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("grace period over, closing the remaining connections");
    }
}

/// Whether a plain connection's first byte is a RESP type prefix (peeked, not consumed).
async fn peeks_resp(stream: &TcpStream) -> bool {
    let mut first = [0u8; 1];
    matches!(
        tokio::time::timeout(SNIFF_TIMEOUT, stream.peek(&mut first)).await,
        Ok(Ok(1)) if crate::resp::is_resp_start(first[0])
    )
}

/// Reads a TLS connection's first byte (nothing when it ends or stays quiet).
async fn read_first<I: AsyncRead + Unpin>(stream: &mut I) -> Vec<u8> {
    let mut first = [0u8; 1];
    match tokio::time::timeout(SNIFF_TIMEOUT, stream.read(&mut first)).await {
        Ok(Ok(n)) => first[..n].to_vec(),
        _ => Vec::new(),
    }
}

/// Serves HTTP on one connection until it closes or a graceful shutdown finishes it.
async fn serve_io<I>(
    builder: auto::Builder<TokioExecutor>,
    io: I,
    peer: SocketAddr,
    app: Router,
    watcher: Watcher,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(request.map(axum::body::Body::new))
    });
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    if let Err(error) = watcher.watch(connection.into_owned()).await {
        tracing::debug!(%peer, "connection ended: {error}");
    }
}
