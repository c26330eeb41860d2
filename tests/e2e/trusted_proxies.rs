//! Who the client is behind a reverse proxy (`trusted-proxies`): the management gate, its
//! bans, the access chain's request head and `/metrics` use the resolved address; a trusted
//! proxy is never local; forwarding headers from any other peer are ignored.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::{Value, json};
use switchyard::{
    AccessFuture, AccessOutcome, AccessProvider, InstanceConfig, InstanceSpec, RequestHead,
    SdkConfig, Switchyard, Upstream,
};
use switchyard_mock::MockUpstream;

use crate::harness::{Proxy, Reply, client, messages, read};

const SECRET: &str = "proxy-admin";
const LOCAL_PASSWORD: &str = "local-only";

/// A management `GET /config` from this machine, with `X-Forwarded-For: forwarded` when given.
async fn config_call(proxy: &Proxy, key: Option<&str>, forwarded: Option<&str>) -> Reply {
    let mut request = proxy.request(Method::GET, "/v0/management/config");
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    if let Some(forwarded) = forwarded {
        request = request.header("x-forwarded-for", forwarded);
    }
    read(request.send().await.expect("request sent")).await
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_remote() {
    let proxy = Proxy::start_with(
        &format!(
            "trusted-proxies: [127.0.0.1/32]\nremote-management:\n  allow-remote: false\n  secret-key: {SECRET}\n"
        ),
        |options| options.with_local_password(LOCAL_PASSWORD),
    )
    .await;
    let remote = json!({ "error": "remote management disabled" });
    // The forwarded client is remote: neither the key nor the local password opens the API.
    for key in [SECRET, LOCAL_PASSWORD] {
        let reply = config_call(&proxy, Some(key), Some("203.0.113.9")).await;
        assert_eq!((reply.status, reply.json()), (403, remote.clone()), "{key}");
    }
    // Without the header, the proxy itself is the client, and it is not local either.
    let reply = config_call(&proxy, Some(SECRET), None).await;
    assert_eq!((reply.status, reply.json()), (403, remote));
    // Metrics answer as for a remote client.
    let metrics = proxy
        .request(Method::GET, "/metrics")
        .bearer_auth(SECRET)
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 403);
}

#[tokio::test]
async fn wrong_keys_through_a_trusted_proxy_ban_the_forwarded_client_only() {
    let proxy = Proxy::start(&format!(
        "trusted-proxies: [127.0.0.1/32, 10.0.0.0/8]\nremote-management:\n  allow-remote: true\n  secret-key: {SECRET}\n"
    ))
    .await;
    // The rightmost hop not in the list is the client: 203.0.113.9 (10.0.0.7 is trusted).
    let chain = "198.51.100.7, 203.0.113.9, 10.0.0.7";
    for _ in 0..5 {
        let reply = config_call(&proxy, Some("wrong"), Some(chain)).await;
        assert_eq!(reply.status, 401, "{}", reply.text());
    }
    // 203.0.113.9 is banned, even with the right key and behind another trusted hop.
    for banned_chain in [chain, "203.0.113.9"] {
        let banned = config_call(&proxy, Some(SECRET), Some(banned_chain)).await;
        assert_eq!(banned.status, 403, "{}", banned.text());
        assert!(banned.text().contains("banned"), "{}", banned.text());
    }
    // The other forwarded addresses, and the proxy's own address, are not banned.
    for other in ["198.51.100.7", "198.51.100.7, 10.0.0.7", "10.0.0.7"] {
        let reply = config_call(&proxy, Some(SECRET), Some(other)).await;
        assert_eq!(reply.status, 200, "{other}: {}", reply.text());
    }
    let direct = config_call(&proxy, Some(SECRET), None).await;
    assert_eq!(direct.status, 200, "{}", direct.text());
}

#[tokio::test]
async fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
    let proxy = Proxy::start(&format!(
        "trusted-proxies: [10.0.0.0/8]\nremote-management:\n  allow-remote: false\n  secret-key: {SECRET}\n"
    ))
    .await;
    // 127.0.0.1 is not in the list: it is local whatever it forwards.
    let reply = config_call(&proxy, Some(SECRET), Some("203.0.113.9")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    for _ in 0..5 {
        let reply = config_call(&proxy, Some("wrong"), Some("203.0.113.9")).await;
        assert_eq!(reply.status, 401);
    }
    // The ban is on the peer: 127.0.0.1 is banned whatever it forwards now.
    for forwarded in [None, Some("198.51.100.7")] {
        let reply = config_call(&proxy, Some(SECRET), forwarded).await;
        assert_eq!(reply.status, 403, "{}", reply.text());
        assert!(reply.text().contains("banned"), "{}", reply.text());
    }
}

#[tokio::test]
async fn metrics_need_the_management_key_unless_public() {
    let yaml = format!("remote-management:\n  secret-key: {SECRET}\n");
    let proxy = Proxy::start(&yaml).await;
    let without = proxy.get("/metrics").await;
    assert_eq!(without.status, 401, "{}", without.text());
    let with = read(
        proxy
            .request(Method::GET, "/metrics")
            .bearer_auth(SECRET)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(with.status, 200);
    assert!(
        with.text()
            .contains("switchyard_usage_feed_dropped_total 0")
    );
    let status = proxy
        .rewrite_config(&format!(
            "host: 127.0.0.1\nport: {}\n{yaml}metrics:\n  public: true\n",
            proxy.port()
        ))
        .await;
    assert_eq!(status.failures, 0, "{status:?}");
    let open = proxy.get("/metrics").await;
    assert_eq!(open.status, 200, "{}", open.text());
}

/// A native access provider that lets everyone in and remembers the client address of each
/// request head.
struct SeesClients(Arc<Mutex<Vec<Option<IpAddr>>>>);

impl AccessProvider for SeesClients {
    fn authenticate<'a>(&'a self, head: &'a RequestHead) -> AccessFuture<'a> {
        self.0.lock().unwrap().push(head.client_ip());
        Box::pin(async move {
            Ok(AccessOutcome::Allow {
                principal: "anyone".into(),
                metadata: vec![],
            })
        })
    }
}

#[tokio::test]
async fn the_request_head_names_the_forwarded_client() {
    let mock = MockUpstream::start().await.unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let provider = Arc::new(SeesClients(seen.clone()));
    let dir = tempfile::tempdir().unwrap();
    let switchyard = Switchyard::builder()
        .register_access_provider("sees-clients", move |_: &InstanceConfig| {
            Ok(provider.clone() as Arc<dyn AccessProvider>)
        })
        .config(
            SdkConfig::new()
                .base_dir(dir.path())
                .set("trusted-proxies", json!(["127.0.0.1/32"]))
                .access_provider(InstanceSpec::new("seen", "sees-clients"))
                .upstream(Upstream::claude("sk-up-1").base_url(&mock.base_url())),
        )
        .build()
        .await
        .unwrap();
    let addr: SocketAddr = switchyard
        .serve(std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .unwrap();
    let reply = read(
        client()
            .post(format!("http://{addr}/v1/messages"))
            .header("x-forwarded-for", "198.51.100.7, 203.0.113.9")
            .json(&messages("claude-sonnet-4"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(*seen.lock().unwrap(), vec![Some(ip("203.0.113.9"))]);
    let _: Value = reply.json();
    switchyard.shutdown().await;
    mock.shutdown().await;
}

#[test]
fn the_binary_reads_the_local_password_from_a_file_and_refuses_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let (code, _, stderr) =
        crate::harness::switchyard(&["--password-file", missing.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(stderr.contains("--password-file"), "{stderr}");
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let (code, _, stderr) =
        crate::harness::switchyard(&["--password-file", empty.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(stderr.contains("the first line is empty"), "{stderr}");
    // Not both at once.
    let (code, _, stderr) = crate::harness::switchyard(&[
        "--password",
        "x",
        "--password-file",
        empty.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}

/// Kills the child when the test ends, pass or fail.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary on a loopback config with `args` and `env`, and returns it with its base
/// URL (from its "listening on" line).
fn spawn_binary(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> (Child, String) {
    use std::io::BufRead;
    let config = dir.join("config.yaml");
    std::fs::write(&config, "host: 127.0.0.1\nport: 0\n").unwrap();
    let mut child = Child(
        std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .arg("--config")
            .arg(&config)
            .args(args)
            .envs(env.iter().copied())
            .env_remove("MANAGEMENT_PASSWORD")
            .env("RUST_LOG", "error")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("switchyard starts"),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let first = std::io::BufReader::new(stdout).lines().next();
        let _ = tx.send(first);
    });
    let first = rx
        .recv_timeout(crate::harness::WAIT)
        .expect("listening within the deadline")
        .expect("a line")
        .unwrap();
    let base = first
        .strip_prefix("switchyard listening on ")
        .unwrap_or_else(|| panic!("{first}"))
        .to_owned();
    (child, base)
}

#[tokio::test]
async fn the_local_password_comes_from_a_file_or_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("password");
    std::fs::write(&file, "from-the-file\n").unwrap();
    for (args, env, password) in [
        (
            vec!["--password-file", file.to_str().unwrap()],
            vec![],
            "from-the-file",
        ),
        (
            vec![],
            vec![("SWITCHYARD_LOCAL_PASSWORD", "from-the-env")],
            "from-the-env",
        ),
    ] {
        let (_child, base) = spawn_binary(dir.path(), &args, &env);
        let get = |key: &str| {
            client()
                .get(format!("{base}/v0/management/config"))
                .bearer_auth(key)
                .send()
        };
        assert_eq!(get(password).await.unwrap().status(), 200, "{password}");
        assert_eq!(get("wrong").await.unwrap().status(), 401, "{password}");
    }
}
