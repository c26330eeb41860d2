//! The accept loop: one hyper connection per client, HTTP/1.1 and h2, with graceful shutdown.

use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

/// Accepts connections until `stop` turns true, then waits up to `grace` for open ones.
pub(super) async fn serve(
    listener: TcpListener,
    app: Router,
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
                    let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
                        request.extensions_mut().insert(ConnectInfo(peer));
                        app.clone().oneshot(request.map(axum::body::Body::new))
                    });
                    let connection = builder
                        .serve_connection_with_upgrades(TokioIo::new(stream), service)
                        .into_owned();
                    let watched = graceful.watch(connection);
                    tokio::spawn(async move {
                        if let Err(error) = watched.await {
                            tracing::debug!(%peer, "connection ended: {error}");
                        }
                    });
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
    if tokio::time::timeout(grace, graceful.shutdown()).await.is_err() {
        tracing::warn!("grace period over, closing the remaining connections");
    }
}
