//! `server.runtime`: with `per-core`, one accept loop per core, each on its own socket of the
//! port (or on the program's listener), closed at shutdown; `work-stealing` listens once; a
//! reload that changes the mode asks for a restart.

use futures_util::future::join_all;
use switchyard::test_util::server::ServerOptions;
use switchyard_mock::MockUpstream;

use crate::harness::yaml::claude;
use crate::harness::{Proxy, client, messages, read};

/// The sockets listening on `127.0.0.1:port` (from the kernel's table).
fn listening_sockets(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    let local = format!("0100007F:{port:04X}");
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // Field 3 is the state; 0A is LISTEN.
            fields.get(1) == Some(&local.as_str()) && fields.get(3) == Some(&"0A")
        })
        .count()
}

/// A config with `server.runtime: mode`, the client key `sk-client` and credential `a`.
fn config(mock: &MockUpstream, mode: &str) -> String {
    format!(
        "server:\n  runtime: {mode}\napi-keys: [sk-client]\n{}",
        claude(mock, &["a"])
    )
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Sends `count` requests at once, each on a new connection; all must be answered by the mock.
async fn answered_on_new_connections(proxy: &Proxy, count: usize) {
    let url = proxy.url("/v1/messages");
    let replies = join_all((0..count).map(|_| {
        let request = client()
            .post(&url)
            .header("x-api-key", "sk-client")
            .json(&messages("claude-sonnet-4"));
        async move { read(request.send().await.expect("a response")).await }
    }))
    .await;
    for reply in replies {
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.credential(), "a");
    }
}

/// `proxy` listens on `sockets` sockets of its port, answers on new connections, and closes
/// every socket at shutdown.
async fn serves_on_sockets_and_closes_them(proxy: Proxy, sockets: usize) {
    let port = proxy.port();
    assert_eq!(listening_sockets(port), sockets);
    answered_on_new_connections(&proxy, 16).await;
    proxy.shutdown().await;
    assert_eq!(listening_sockets(port), 0, "every socket closed");
}

#[tokio::test]
async fn per_core_listens_once_per_core_on_one_port_and_closes_every_socket_at_shutdown() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock, "per-core")).await;
    // `port: 0`: the first socket got a port, the other cores joined it.
    serves_on_sockets_and_closes_them(proxy, cores()).await;
}

#[tokio::test]
async fn work_stealing_listens_on_one_socket() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock, "work-stealing")).await;
    serves_on_sockets_and_closes_them(proxy, 1).await;
}

#[tokio::test]
async fn every_core_accepts_on_the_listener_a_program_passes() {
    let mock = MockUpstream::start().await.unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = Proxy::start_with(&config(&mock, "per-core"), |options: ServerOptions| {
        options.with_listener(listener)
    })
    .await;
    // One socket, accepted on by every core (no other socket joins the program's port).
    serves_on_sockets_and_closes_them(proxy, 1).await;
}

#[tokio::test]
async fn a_reload_that_changes_the_runtime_asks_for_a_restart_and_keeps_serving() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock, "per-core")).await;
    let status = proxy.rewrite_config(&config(&mock, "work-stealing")).await;
    assert_eq!(status.generation, 2, "{:?}", status.last_error);
    assert_eq!(status.restart_required, ["server.runtime"]);
    assert_eq!(listening_sockets(proxy.port()), cores(), "still per-core");
    answered_on_new_connections(&proxy, 4).await;
    proxy.shutdown().await;
}
