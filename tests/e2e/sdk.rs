//! The embedding API, used the way a program would: only items of the public surface
//! (`switchyard::{Switchyard, SdkConfig, …}`), a real mock upstream on loopback, real
//! requests.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use switchyard::{
    AccessFuture, AccessOutcome, AccessProvider, ApplyError, BindingStats, BoxFuture, Credential,
    CredentialId, CredentialListing, CredentialStore, Hooks, InstanceConfig, InstanceSpec,
    RequestHead, SdkConfig, SessionCache, Switchyard, Upstream, UsageRecord,
};
use switchyard_mock::MockUpstream;
use tokio::sync::mpsc;

use crate::harness::{WAIT, client, messages, read};

/// A native provider: `x-team-key` looked up in a map the program owns.
struct TeamKeys {
    keys: Arc<HashMap<String, String>>,
}

impl AccessProvider for TeamKeys {
    fn authenticate<'a>(&'a self, head: &'a RequestHead) -> AccessFuture<'a> {
        Box::pin(async move {
            Ok(match head.header("x-team-key") {
                None => AccessOutcome::NoCredentials,
                Some(key) => match self.keys.get(key) {
                    Some(team) => AccessOutcome::Allow {
                        principal: team.clone(),
                        metadata: vec![("source".into(), "x-team-key".into())],
                    },
                    None => AccessOutcome::InvalidCredential,
                },
            })
        })
    }
}

/// A builder with the `team-keys` type registered over `keys`.
fn with_team_keys(keys: &[(&str, &str)]) -> switchyard::SwitchyardBuilder {
    let keys: Arc<HashMap<String, String>> = Arc::new(
        keys.iter()
            .map(|(k, t)| (k.to_string(), t.to_string()))
            .collect(),
    );
    Switchyard::builder().register_access_provider("team-keys", move |_: &InstanceConfig| {
        Ok(Arc::new(TeamKeys { keys: keys.clone() }) as Arc<dyn AccessProvider>)
    })
}

/// Credentials as auth-file JSON documents, in memory; `saves` counts the documents switchyard
/// wrote back.
#[derive(Debug, Clone)]
struct MemoryStore(
    Arc<Mutex<Vec<(String, Value)>>>,
    Arc<tokio::sync::watch::Sender<u32>>,
);

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore(Arc::default(), Arc::new(tokio::sync::watch::channel(0).0))
    }
}

impl MemoryStore {
    fn put(&self, id: &str, json: Value) {
        let mut entries = self.0.lock().unwrap();
        entries.retain(|(existing, _)| existing != id);
        entries.push((id.to_owned(), json));
    }

    fn get(&self, id: &str) -> Value {
        let entries = self.0.lock().unwrap();
        entries.iter().find(|(e, _)| e == id).unwrap().1.clone()
    }
}

impl CredentialStore for MemoryStore {
    fn list<'a>(
        &'a self,
        _auth_dir: &'a std::path::Path,
    ) -> BoxFuture<'a, std::io::Result<CredentialListing>> {
        Box::pin(async move {
            let mut listing = CredentialListing::default();
            for (id, json) in self.0.lock().unwrap().iter() {
                match Credential::from_json(id, json) {
                    Ok(credential) => listing.credentials.push(credential),
                    Err(reason) => listing.skipped.push((id.into(), reason)),
                }
            }
            Ok(listing)
        })
    }

    fn save<'a>(
        &'a self,
        _auth_dir: &'a std::path::Path,
        credential: &'a Credential,
    ) -> BoxFuture<'a, std::io::Result<()>> {
        Box::pin(async move {
            let json = Value::Object(credential.metadata.clone().unwrap_or_default());
            self.put(credential.id.as_str(), json);
            self.1.send_modify(|n| *n += 1);
            Ok(())
        })
    }
}

/// What the hooks saw, as events on a channel the test awaits.
#[derive(Debug, PartialEq)]
enum Seen {
    Registered(String),
    Updated(String, i32),
    Removed(String),
    Result(Box<UsageRecord>),
}

struct Recorder(mpsc::UnboundedSender<Seen>);

impl Hooks for Recorder {
    fn credential_registered(&self, credential: &Credential) {
        let _ = self.0.send(Seen::Registered(credential.id.to_string()));
    }

    fn credential_updated(&self, credential: &Credential) {
        let _ = self.0.send(Seen::Updated(
            credential.id.to_string(),
            credential.priority,
        ));
    }

    fn credential_removed(&self, id: &CredentialId) {
        let _ = self.0.send(Seen::Removed(id.to_string()));
    }

    fn request_result(&self, record: &UsageRecord) {
        let _ = self.0.send(Seen::Result(Box::new(record.clone())));
    }
}

async fn next(events: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    tokio::time::timeout(WAIT, events.recv())
        .await
        .expect("a hook call within the deadline")
        .expect("hooks alive")
}

/// The next credential event, past the results of refused (401) requests.
async fn next_change(events: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    loop {
        match next(events).await {
            Seen::Result(record) => assert_eq!(record.status, 401, "{record:?}"),
            other => return other,
        }
    }
}

fn loopback() -> std::net::TcpListener {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap()
}

async fn post(addr: SocketAddr, headers: &[(&str, &str)]) -> crate::harness::Reply {
    let mut request = client()
        .post(format!("http://{addr}/v1/messages"))
        .json(&messages("claude-sonnet-4"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    read(request.send().await.unwrap()).await
}

#[tokio::test]
async fn a_native_provider_a_custom_store_and_hooks_serve_a_request() {
    let mock = MockUpstream::start().await.unwrap();
    let store = MemoryStore::default();
    let claude = |priority: i32| json!({"type": "claude", "api_key": "sk-mem-1", "base_url": mock.base_url(), "priority": priority});
    store.put("mem-claude", claude(0));
    let (tx, mut events) = mpsc::unbounded_channel();
    let switchyard = with_team_keys(&[("tk-a", "team-a")])
        .config(SdkConfig::new().access_provider(InstanceSpec::new("teams", "team-keys")))
        .credential_store(store.clone())
        .hooks(Recorder(tx))
        .build()
        .await
        .unwrap();
    assert_eq!(switchyard.generation(), 1);
    assert_eq!(
        next(&mut events).await,
        Seen::Registered("mem-claude".into())
    );
    let addr = switchyard.serve(loopback()).unwrap();
    assert_eq!(switchyard.local_addr(), Some(addr));

    let reply = post(addr, &[("x-team-key", "tk-a")]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(mock.request_count_for("sk-mem-1"), 1);
    let Seen::Result(record) = next(&mut events).await else {
        panic!("a request result")
    };
    assert_eq!(record.status, 200);
    assert_eq!(record.credential, "mem-claude");
    // Hooks see the principal's fingerprint (SHA-256, first 8 hex digits), not the principal.
    let digest = <sha2::Sha256 as sha2::Digest>::digest(b"team-a");
    let expected: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(record.api_key, expected);
    assert_eq!(record.model, "claude-sonnet-4");
    assert!(!record.failed);
    assert!(record.tokens.output_tokens > 0, "{record:?}");

    // A key the map does not hold: the chain ends without an allow.
    let reply = post(addr, &[("x-team-key", "tk-nope")]).await;
    assert_eq!(reply.status, 401, "{}", reply.text());
    assert_eq!(mock.request_count_for("sk-mem-1"), 1);

    // The program's store changed: refresh asks it again.
    store.put("mem-claude", claude(5));
    store.put(
        "mem-claude-2",
        json!({"type": "claude", "api_key": "sk-mem-2", "base_url": mock.base_url()}),
    );
    assert_eq!(switchyard.refresh().await.unwrap(), 2);
    let mut seen = vec![
        next_change(&mut events).await,
        next_change(&mut events).await,
    ];
    seen.sort_by_key(|s| format!("{s:?}"));
    assert_eq!(
        seen,
        [
            Seen::Registered("mem-claude-2".into()),
            Seen::Updated("mem-claude".into(), 5),
        ]
    );
    store
        .0
        .lock()
        .unwrap()
        .retain(|(id, _)| id != "mem-claude-2");
    assert_eq!(switchyard.refresh().await.unwrap(), 3);
    assert_eq!(
        next_change(&mut events).await,
        Seen::Removed("mem-claude-2".into())
    );

    switchyard.shutdown().await;
    mock.shutdown().await;
}

#[tokio::test]
async fn the_router_mounts_inside_the_programs_own_axum_app() {
    let mock = MockUpstream::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let switchyard = Switchyard::builder()
        .config(
            SdkConfig::new()
                .base_dir(dir.path())
                .api_key("sk-client")
                .upstream(Upstream::claude("sk-up-1").base_url(&mock.base_url())),
        )
        .build()
        .await
        .unwrap();
    let app = axum::Router::new()
        .route(
            "/app/hello",
            axum::routing::get(|| async { "hello from the app" }),
        )
        .merge(switchyard.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .await
    });
    let own = read(
        client()
            .get(format!("http://{addr}/app/hello"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (own.status, own.text().as_str()),
        (200, "hello from the app")
    );
    let proxied = post(addr, &[("x-api-key", "sk-client")]).await;
    assert_eq!(proxied.status, 200, "{}", proxied.text());
    assert_eq!(mock.request_count_for("sk-up-1"), 1);
    let refused = post(addr, &[]).await;
    assert_eq!(refused.status, 401);
    // switchyard serves nothing itself here.
    assert_eq!(switchyard.local_addr(), None);

    let _ = stop.send(());
    server.await.unwrap().unwrap();
    switchyard.shutdown().await;
    mock.shutdown().await;
}

#[tokio::test]
async fn apply_config_swaps_the_generation_and_a_bad_one_keeps_it() {
    let mock = MockUpstream::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = |key: &str| {
        SdkConfig::new()
            .base_dir(dir.path())
            .api_key(key)
            .upstream(Upstream::claude("sk-up-1").base_url(&mock.base_url()))
    };
    let switchyard = with_team_keys(&[("tk-a", "team-a")])
        .config(config("sk-old"))
        .build()
        .await
        .unwrap();
    let addr = switchyard.serve(loopback()).unwrap();
    assert_eq!(post(addr, &[("x-api-key", "sk-old")]).await.status, 200);
    let mut status = switchyard.reload_status();

    assert_eq!(switchyard.apply_config(config("sk-new")).await.unwrap(), 2);
    let seen = tokio::time::timeout(WAIT, status.wait_for(|s| s.generation == 2))
        .await
        .expect("generation 2 within the deadline")
        .unwrap()
        .clone();
    assert_eq!(seen.failures, 0);
    assert_eq!(post(addr, &[("x-api-key", "sk-old")]).await.status, 401);
    assert_eq!(post(addr, &[("x-api-key", "sk-new")]).await.status, 200);

    // Invalid: the error names the key; generation 2 keeps serving.
    let error = switchyard
        .apply_config(config("sk-new").set("request-retry", "many"))
        .await
        .unwrap_err();
    assert!(
        error.is_config() && error.prepare_error().is_none(),
        "{error}"
    );
    let ApplyError::Config(error) = error else {
        panic!("a config error: {error}")
    };
    assert_eq!(error.key(), Some("request-retry"));
    // Valid, but naming a type nobody provides.
    let error = switchyard
        .apply_config(config("sk-new").access_provider(InstanceSpec::new("x", "no-such-type")))
        .await
        .unwrap_err();
    assert!(matches!(error, ApplyError::Rejected(_)), "{error}");
    assert!(error.to_string().contains("no-such-type"), "{error}");
    // The typed cause is kept: a generation that could not be prepared, for no plugin's fault.
    let prepare = error
        .prepare_error()
        .expect("a prepare error as the source");
    assert!(
        matches!(
            prepare,
            switchyard::test_util::generation::PrepareError::Chain(_)
        ),
        "{prepare:?}"
    );
    assert!(!error.is_config() && !error.is_plugin(), "{error}");
    assert_eq!(switchyard.generation(), 2);
    let failed = status.borrow_and_update().clone();
    assert_eq!((failed.generation, failed.failures), (2, 2));
    assert_eq!(post(addr, &[("x-api-key", "sk-new")]).await.status, 200);

    // The registered native type, added to the chain by a programmatic change.
    let with_teams = config("sk-new").access_provider(InstanceSpec::new("teams", "team-keys"));
    assert_eq!(switchyard.apply_config(with_teams).await.unwrap(), 3);
    assert_eq!(post(addr, &[("x-team-key", "tk-a")]).await.status, 200);
    assert_eq!(post(addr, &[("x-api-key", "sk-new")]).await.status, 200);
    assert_eq!(switchyard.config().access_providers.len(), 2);

    switchyard.shutdown().await;
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_every_task_including_the_watcher_and_the_session_cache() {
    let mock = MockUpstream::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(
        &path,
        format!(
            "host: 127.0.0.1\nport: 0\napi-keys: [sk-client]\nrouting:\n  session-affinity: true\n\
             claude-api-key:\n  - api-key: sk-up-1\n    base-url: {}\n",
            mock.base_url()
        ),
    )
    .unwrap();
    let metrics = tokio::runtime::Handle::current().metrics();
    let baseline = metrics.num_alive_tasks();
    let switchyard = Switchyard::builder()
        .config_file(&path)
        .build()
        .await
        .unwrap();
    assert!(switchyard.is_watching());
    let addr = switchyard.listen().await.unwrap();
    assert!(matches!(
        switchyard.serve(loopback()),
        Err(switchyard::SdkError::AlreadyServing(a)) if a == addr
    ));
    assert_eq!(post(addr, &[("x-api-key", "sk-client")]).await.status, 200);
    assert!(metrics.num_alive_tasks() > baseline);

    switchyard.shutdown().await;
    // Connections to the mock close once the proxy's pools are dropped; wait for it.
    tokio::time::timeout(WAIT, async {
        while metrics.num_alive_tasks() > baseline {
            tokio::task::yield_now().await;
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "{} tasks still alive after shutdown (baseline {baseline})",
            metrics.num_alive_tasks()
        )
    });
    mock.shutdown().await;
}

/// Session bindings in a map the program owns (no expiry: the test reads and edits it).
#[derive(Debug, Default, Clone)]
struct ProgramBindings(Arc<Mutex<HashMap<String, CredentialId>>>);

impl ProgramBindings {
    fn snapshot(&self) -> HashMap<String, CredentialId> {
        self.0.lock().unwrap().clone()
    }
}

impl SessionCache for ProgramBindings {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Option<CredentialId>> {
        Box::pin(async move { self.0.lock().unwrap().get(key).cloned() })
    }

    fn get_and_refresh<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Option<CredentialId>> {
        self.get(key)
    }

    fn set<'a>(&'a self, key: &'a str, credential: &'a CredentialId) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .lock()
                .unwrap()
                .insert(key.to_owned(), credential.clone());
        })
    }

    fn touch<'a>(&'a self, _key: &'a str, _credential: &'a CredentialId) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }

    fn compare_and_delete<'a>(
        &'a self,
        key: &'a str,
        credential: &'a CredentialId,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let mut map = self.0.lock().unwrap();
            if map.get(key) == Some(credential) {
                map.remove(key);
            }
        })
    }

    fn invalidate<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            self.0.lock().unwrap().remove(key);
        })
    }

    fn invalidate_credential<'a>(&'a self, credential: &'a CredentialId) -> BoxFuture<'a, ()> {
        Box::pin(async move { self.0.lock().unwrap().retain(|_, c| c != credential) })
    }

    fn stats(&self) -> BoxFuture<'_, BindingStats> {
        Box::pin(async move {
            let mut stats = BindingStats::default();
            stats.bindings = self.0.lock().unwrap().len();
            stats
        })
    }

    fn stop(&self) {}
}

#[tokio::test]
async fn session_bindings_live_in_the_programs_session_store() {
    let mock = MockUpstream::start().await.unwrap();
    let store = MemoryStore::default();
    for n in ["1", "2"] {
        store.put(
            &format!("mem-{n}"),
            json!({"type": "claude", "api_key": format!("sk-mem-{n}"), "base_url": mock.base_url()}),
        );
    }
    let bindings = ProgramBindings::default();
    let opened = bindings.clone();
    let switchyard = Switchyard::builder()
        .config(
            SdkConfig::new()
                .api_key("client-key")
                .session_affinity(std::time::Duration::from_secs(3600)),
        )
        .credential_store(store)
        .session_store(move |_ttl| Arc::new(opened.clone()) as Arc<dyn SessionCache>)
        .build()
        .await
        .unwrap();
    let addr = switchyard.serve(loopback()).unwrap();
    let conversation = [("x-api-key", "client-key"), ("x-session-id", "conv-7")];

    // The first turn binds the conversation in the program's map.
    let reply = post(addr, &conversation).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let bound = bindings.snapshot();
    assert_eq!(bound.len(), 1, "{bound:?}");
    let (key, first) = bound.into_iter().next().unwrap();
    assert_eq!(mock.request_count_for(&format!("sk-{first}")), 1);

    // The program rebinds it: the next turn follows the program's map.
    let other = CredentialId::new(if first.to_string() == "mem-1" {
        "mem-2"
    } else {
        "mem-1"
    });
    bindings.0.lock().unwrap().insert(key, other.clone());
    for _ in 0..3 {
        let reply = post(addr, &conversation).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
    assert_eq!(mock.request_count_for(&format!("sk-{other}")), 3);
    assert_eq!(mock.request_count_for(&format!("sk-{first}")), 1);
    switchyard.shutdown().await;
}

#[tokio::test]
async fn serve_refuses_a_listener_beyond_loopback_while_nobody_is_authenticated() {
    let dir = tempfile::tempdir().unwrap();
    let switchyard = Switchyard::builder()
        .config(SdkConfig::new().base_dir(dir.path()))
        .build()
        .await
        .unwrap();
    // The config's host is loopback; the socket the program hands over is not.
    let wide = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let error = switchyard.serve(wide).expect_err("refused").to_string();
    assert!(error.contains("without client authentication"), "{error}");
    assert!(switchyard.local_addr().is_none());
    // A loopback listener is fine.
    assert!(switchyard.serve(loopback()).is_ok());
}

#[tokio::test]
async fn a_programs_store_keeps_the_refresh_token_a_rotation_returns() {
    let mock = MockUpstream::start().await.unwrap();
    let first = mock.issue_refresh_token("sdk-app");
    let store = MemoryStore::default();
    store.put(
        "mem-oauth",
        json!({"type": "claude", "base_url": mock.base_url(), "team": "kept", "oauth2": {
            "grant": "refresh_token", "refresh_token": first,
            "token_url": mock.token_url(), "client_id": "sdk-app"}}),
    );
    let mut saves = store.1.subscribe();
    let switchyard = Switchyard::builder()
        .config(SdkConfig::new())
        .credential_store(store.clone())
        .build()
        .await
        .unwrap();
    let addr = switchyard.serve(loopback()).unwrap();
    let reply = post(addr, &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.text().contains("via sdk-app"), "{}", reply.text());
    tokio::time::timeout(WAIT, saves.wait_for(|n| *n >= 1))
        .await
        .expect("the new set saved")
        .unwrap();
    let saved = store.get("mem-oauth");
    let rotated = mock.latest_refresh_token("sdk-app").unwrap();
    assert_ne!(rotated, first);
    assert_eq!(saved["oauth2"]["refresh_token"], rotated.as_str());
    assert!(
        saved["oauth2"]["expires_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(
        saved["team"], "kept",
        "fields the proxy does not know are kept"
    );
    switchyard.shutdown().await;
    mock.shutdown().await;
}
