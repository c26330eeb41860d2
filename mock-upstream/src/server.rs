//! The accept loop: HTTP/1.1 and HTTP/2 (prior knowledge) connections, and the graceful
//! shutdown.

use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::exchange;
use crate::state::MockState;

/// How long a shutdown waits for open connections to finish before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Pause after a failed `accept` (say, out of file descriptors) before trying again.
const ACCEPT_RETRY: Duration = Duration::from_millis(10);

/// Serves `listener` until the state's shutdown begins, then lets open connections finish (hung
/// requests and stalled streams end at once) for up to [`SHUTDOWN_GRACE`].
pub(crate) async fn serve(listener: TcpListener, state: Arc<MockState>) {
    let builder = auto::Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let shutdown = state.shutdown_begun();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _peer)) => stream,
                    Err(_) => {
                        tokio::time::sleep(ACCEPT_RETRY).await;
                        continue;
                    }
                };
                // Small SSE frames must leave at once.
                let _ = stream.set_nodelay(true);
                let state = Arc::clone(&state);
                let service = service_fn(move |request| exchange::handle(Arc::clone(&state), request));
                let connection = builder
                    .serve_connection(TokioIo::new(stream), service)
                    .into_owned();
                let connection = graceful.watch(connection);
                connections.spawn(async move {
                    // A connection error is a client that went away or a deliberate close.
                    let _ = connection.await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
    connections.shutdown().await;
}
