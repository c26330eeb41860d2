//! The accept loop: one hyper connection per client (plain or TLS), HTTP/1.1 and h2, with
//! graceful shutdown; connections that speak RESP go to the usage feed ([`crate::resp`]).
//!
//! Limits (`server.*`, read from the generation serving when a connection is accepted, so a
//! reload applies to new connections): the loop stops accepting while `max-connections` are
//! open and closes at once a connection whose address already has `max-connections-per-ip`
//! ([`ConnectionGate`]). hyper runs with a timer: HTTP/1 request heads must arrive within
//! `header-read-timeout-ms`, HTTP/2 connections are pinged every 30 s and closed when a ping
//! goes unanswered for 20 s. A connection must start its first request within the header-read
//! timeout and later ones within `idle-timeout-ms` of the previous response ([`Activity`]), and
//! request bodies must not pause longer than `body-read-timeout-ms` ([`BodyDeadline`]).
//!
//! Sniffing: a plain connection's first byte is peeked (not consumed; up to the header-read
//! timeout, after which a silent connection is closed, or [`SNIFF_TIMEOUT`] when that timeout
//! is off, after which it is HTTP). A TLS connection is never sniffed before its handshake; one
//! that negotiated `h2` or `http/1.1` by ALPN is HTTP, and one without ALPN has its first
//! decrypted byte read and put back in front.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use http_body::Body as _;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::activity::{Activity, Quiet, Tracked};
use super::body_deadline::BodyDeadline;
use super::connection_gate::ConnectionGate;
use super::prefixed::Prefixed;
use crate::config::ServerConfig;
use crate::management::Management;
use crate::metrics::{LimitCounters, Metrics};
use crate::runtime::Runtime;

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long to wait for a connection's first byte to tell RESP from HTTP when
/// `server.header-read-timeout-ms` is off.
pub(super) const SNIFF_TIMEOUT: Duration = Duration::from_secs(10);

/// How often an HTTP/2 connection is pinged.
const H2_PING_INTERVAL: Duration = Duration::from_secs(30);

/// How long an HTTP/2 ping may go unanswered before the connection is closed.
const H2_PING_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a connection told to close for being quiet may take to say goodbye (an HTTP/2
/// GOAWAY) before it is dropped.
const QUIET_CLOSE_GRACE: Duration = Duration::from_secs(1);

/// What every connection task shares.
#[derive(Clone)]
struct Shared {
    app: Router,
    runtime: Arc<Runtime>,
    metrics: Arc<Metrics>,
    management: Arc<Management>,
    stop: watch::Receiver<bool>,
}

/// What an accept loop serves: the application and the state its connections share. One per
/// server; each per-core accept loop gets a clone.
#[derive(Clone)]
pub(super) struct Service {
    /// The TLS acceptor, when `tls.enable`.
    pub(super) tls: Option<TlsAcceptor>,
    /// The whole HTTP application.
    pub(super) app: Router,
    /// The process-wide state.
    pub(super) runtime: Arc<Runtime>,
    /// The management API's state (for RESP connections).
    pub(super) management: Arc<Management>,
    /// The open connections of every accept loop of the server.
    pub(super) gate: Arc<ConnectionGate>,
    /// Turns true at shutdown.
    pub(super) stop: watch::Receiver<bool>,
    /// How long open connections get at shutdown.
    pub(super) grace: Duration,
}

/// Accepts connections on `listener` until `stop` turns true, then waits up to `grace` for
/// the server's open connections.
pub(super) async fn serve(listener: TcpListener, service: Service) {
    let Service {
        tls,
        app,
        runtime,
        management,
        gate,
        mut stop,
        grace,
    } = service;
    let metrics = runtime.metrics.clone();
    let shared = Shared {
        app,
        runtime: runtime.clone(),
        metrics,
        management,
        stop: stop.clone(),
    };
    let mut reloads = runtime.reload_status();
    loop {
        let limits = runtime.generation().config.server;
        tokio::select! {
            () = gate.wait_for_room(limits.max_connections) => {}
            // A reload may change the limit: look again.
            _ = reloads.changed() => continue,
            () = stopped(&mut stop) => break,
        }
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let generation = runtime.generation();
                    let limits = generation.config.server;
                    let admitted = tokio::select! {
                        admitted = gate.admit_within(
                            limits.max_connections,
                            peer.ip(),
                            limits.max_connections_per_ip,
                            &generation.config.trusted_proxies,
                        ) => admitted,
                        () = stopped(&mut stop) => break,
                    };
                    drop(generation);
                    let Ok(admission) = admitted else {
                        tracing::debug!(%peer, "server.max-connections-per-ip open: connection closed");
                        drop(stream);
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let shared = shared.clone();
                    let tls = tls.clone();
                    tokio::spawn(async move {
                        let _admission = admission;
                        match tls {
                            None => serve_plain(stream, peer, limits, shared).await,
                            Some(acceptor) => serve_tls(acceptor, stream, peer, limits, shared).await,
                        }
                    });
                }
                Err(error) => {
                    // Out of descriptors or similar: back off briefly instead of spinning.
                    tracing::warn!("accept failed: {error}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            () = stopped(&mut stop) => break,
        }
    }
    drop(listener);
    // Every loop waits for the server's connections (each serves its own meanwhile).
    tracing::info!(open = gate.open(), "shutting down");
    if tokio::time::timeout(grace, gate.drained()).await.is_err() {
        tracing::warn!("grace period over, closing the remaining connections");
    }
}

/// A plain connection: RESP or HTTP by its first byte.
async fn serve_plain(stream: TcpStream, peer: SocketAddr, limits: ServerConfig, shared: Shared) {
    let sniff = limits.header_read_timeout.unwrap_or(SNIFF_TIMEOUT);
    let mut stop = shared.stop.clone();
    let sniffed = tokio::select! {
        sniffed = sniff_plain(&stream, sniff) => sniffed,
        // Shutting down: a connection that has not said anything yet is just closed.
        () = stopped(&mut stop) => return,
    };
    match sniffed {
        Sniffed::Resp => {
            crate::resp::serve(stream, peer, shared.management, shared.stop).await;
        }
        Sniffed::Http => serve_io(stream, peer, limits, shared).await,
        Sniffed::Silent if limits.header_read_timeout.is_some() => {
            LimitCounters::bump(&shared.metrics.limits.header_read_timeouts);
            tracing::debug!(%peer, "nothing received within server.header-read-timeout-ms");
        }
        Sniffed::Silent => serve_io(stream, peer, limits, shared).await,
    }
}

/// A TLS connection: HTTP by ALPN, else RESP or HTTP by its first decrypted byte.
async fn serve_tls(
    acceptor: TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
    limits: ServerConfig,
    shared: Shared,
) {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(stream)) if stream.get_ref().1.alpn_protocol().is_some() => {
            serve_io(stream, peer, limits, shared).await;
        }
        Ok(Ok(mut stream)) => {
            let sniff = limits.header_read_timeout.unwrap_or(SNIFF_TIMEOUT);
            let mut stop = shared.stop.clone();
            let first = tokio::select! {
                first = read_first(&mut stream, sniff) => first,
                () = stopped(&mut stop) => return,
            };
            let resp_start = first
                .first()
                .is_some_and(|b| crate::resp::is_resp_start(*b));
            let stream = Prefixed::new(first, stream);
            if resp_start {
                crate::resp::serve(stream, peer, shared.management, shared.stop).await;
            } else {
                serve_io(stream, peer, limits, shared).await;
            }
        }
        Ok(Err(error)) => tracing::debug!(%peer, "TLS handshake failed: {error}"),
        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
    }
}

/// Returns once `stop` turns true.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// What a plain connection's first byte says.
enum Sniffed {
    /// A RESP type prefix.
    Resp,
    /// Anything else, or the connection ended.
    Http,
    /// Nothing arrived in time.
    Silent,
}

/// Peeks (does not consume) a plain connection's first byte.
async fn sniff_plain(stream: &TcpStream, wait: Duration) -> Sniffed {
    let mut first = [0u8; 1];
    match tokio::time::timeout(wait, stream.peek(&mut first)).await {
        Ok(Ok(1)) if crate::resp::is_resp_start(first[0]) => Sniffed::Resp,
        Err(_) => Sniffed::Silent,
        _ => Sniffed::Http,
    }
}

/// Reads a TLS connection's first byte (nothing when it ends or stays quiet for `wait`).
async fn read_first<I: AsyncRead + Unpin>(stream: &mut I, wait: Duration) -> Vec<u8> {
    let mut first = [0u8; 1];
    match tokio::time::timeout(wait, stream.read(&mut first)).await {
        Ok(Ok(n)) => first[..n].to_vec(),
        _ => Vec::new(),
    }
}

/// The hyper connection builder for `limits`.
fn builder(limits: &ServerConfig) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(H2_PING_INTERVAL)
        .keep_alive_timeout(H2_PING_TIMEOUT);
    builder
}

/// Serves HTTP on one connection until it closes, stays quiet past its deadline, or a graceful
/// shutdown finishes it.
async fn serve_io<I>(io: I, peer: SocketAddr, limits: ServerConfig, shared: Shared)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Shared {
        app,
        runtime,
        metrics,
        mut stop,
        ..
    } = shared;
    let activity = Activity::new();
    let requests = activity.clone();
    let body_metrics = metrics.clone();
    let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
        let in_flight = requests.begin();
        request.extensions_mut().insert(ConnectInfo(peer));
        let body_timeout = runtime.generation().config.server.body_read_timeout;
        let request = request.map(|body| match body_timeout {
            Some(timeout) if !body.is_end_stream() => {
                axum::body::Body::new(BodyDeadline::new(body, timeout, body_metrics.clone()))
            }
            _ => axum::body::Body::new(body),
        });
        let app = app.clone();
        async move {
            let response = app.oneshot(request).await?;
            Ok::<_, std::convert::Infallible>(
                response.map(|body| axum::body::Body::new(Tracked::new(body, in_flight))),
            )
        }
    });
    let builder = builder(&limits);
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    tokio::pin!(connection);
    let quiet = activity.quiet(limits.header_read_timeout, limits.idle_timeout);
    tokio::pin!(quiet);
    let mut counted = false;
    let result = tokio::select! {
        result = connection.as_mut() => result,
        reason = &mut quiet => {
            let counter = match reason {
                Quiet::NoFirstRequest => &metrics.limits.header_read_timeouts,
                Quiet::Idle => &metrics.limits.idle_timeouts,
            };
            LimitCounters::bump(counter);
            counted = true;
            tracing::debug!(%peer, ?reason, "closing a quiet connection");
            connection.as_mut().graceful_shutdown();
            match tokio::time::timeout(QUIET_CLOSE_GRACE, connection.as_mut()).await {
                Ok(result) => result,
                Err(_) => Ok(()),
            }
        }
        () = stopped(&mut stop) => {
            connection.as_mut().graceful_shutdown();
            connection.as_mut().await
        }
    };
    if let Err(error) = result {
        if let Some(error) = error.downcast_ref::<hyper::Error>()
            && !counted
            && error.is_timeout()
            && std::error::Error::source(error).is_none()
        {
            // hyper's HTTP/1 header-read timeout (an HTTP/2 ping timeout has a source).
            LimitCounters::bump(&metrics.limits.header_read_timeouts);
        }
        tracing::debug!(%peer, "connection ended: {error}");
    }
}
