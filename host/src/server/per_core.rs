//! `server.runtime: per-core`: one single-threaded tokio runtime per core, each running its
//! own accept loop, so a connection and every request on it stay on one thread (no task
//! hand-offs between threads, upstream connections in a pool of the same core).
//!
//! Each core accepts on its own socket of the port (`SO_REUSEPORT`; the kernel spreads new
//! connections over them) when the server bound the address itself, or on a clone of the
//! listener a program passed in. What the cores share stays process-wide: the generation,
//! credential states, bindings, the connection gate (`server.max-connections` counts every
//! core's connections), plugin limits and token renewal.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::connection::{self, Service};

/// The listen backlog of each socket (tokio's `TcpListener::bind` uses the same).
const BACKLOG: u32 = 1024;

/// A listening socket on `addr` that other sockets of this process may join
/// (`SO_REUSEPORT`). Needs a tokio runtime (the socket is registered with it, then handed
/// back as a standard listener).
pub(super) fn bind_shared(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)?.into_std()
}

/// Starts one serving thread per core on `listener`: the first core accepts on it, the others
/// on sockets joined to its address (`joinable`: it was bound with [`bind_shared`]) or on
/// clones of it. The returned task ends when every core has stopped (after `service.stop`
/// and the drain).
pub(super) fn spawn(
    listener: std::net::TcpListener,
    joinable: bool,
    service: Service,
) -> std::io::Result<JoinHandle<()>> {
    let addr = listener.local_addr()?;
    let mut listeners = vec![listener];
    for _ in 1..crate::serving_core::count() {
        listeners.push(match joinable {
            true => bind_shared(addr)?,
            false => listeners[0].try_clone()?,
        });
    }
    let mut stopped = Vec::with_capacity(listeners.len());
    for (index, listener) in listeners.into_iter().enumerate() {
        let (done, on_done) = oneshot::channel::<()>();
        let service = service.clone();
        std::thread::Builder::new()
            .name(format!("switchyard-core-{index}"))
            .spawn(move || run(index, listener, service, done))?;
        stopped.push(on_done);
    }
    Ok(tokio::spawn(async move {
        for core in stopped {
            // The sender is dropped when the core's thread ends, however it ends.
            let _ = core.await;
        }
    }))
}

/// One core: its runtime, its accept loop, until the server stops. A connection still open
/// after the drain is closed with the runtime.
fn run(index: usize, listener: std::net::TcpListener, service: Service, done: oneshot::Sender<()>) {
    crate::serving_core::enter(index);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!("serving thread {index} cannot start its runtime: {error}");
            return;
        }
    };
    runtime.block_on(async move {
        match TcpListener::from_std(listener) {
            Ok(listener) => connection::serve(listener, service).await,
            Err(error) => tracing::error!("serving thread {index} cannot listen: {error}"),
        }
    });
    runtime.shutdown_background();
    drop(done);
}
