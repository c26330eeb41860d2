//! Rotating refresh tokens shared by replicas: through one Redis (a fenced lock per credential
//! and the newest set sealed in Redis), with one shared `auth-dir` or a folder each; and two
//! processes without Redis, which the rotation gives away.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde_json::{Value, json};
use switchyard_mock::MockUpstream;

use crate::harness::{Proxy, WAIT, chat};
use crate::redis_server::RedisServer;
use crate::tokens::{credential_entry, fast_policy, start};

/// The OAuth client of these tests (a public client: no secret).
const CLIENT: &str = "operator-app";

/// The auth file's name, and so the credential's id.
const FILE: &str = "gateway-oauth.json";

/// Rotations the replicas go through.
const ROTATIONS: u64 = 20;

/// An `openai-compatibility` auth file on the mock with a rotating refresh token.
fn refresh_file(mock: &MockUpstream, refresh_token: &str) -> Value {
    json!({
        "type": "openai-compatibility",
        "base_url": format!("{}/v1", mock.base_url()),
        "note": "kept across rewrites",
        "models": [{"name": "gpt-4o"}],
        "oauth2": {
            "grant": "refresh_token",
            "refresh_token": refresh_token,
            "token_url": mock.token_url(),
            "client_id": CLIENT,
        }
    })
}

fn write_file(dir: &Path, json: &Value) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(FILE);
    std::fs::write(&path, serde_json::to_vec_pretty(json).unwrap()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// The refresh token the file in `dir` holds now.
fn file_refresh_token(dir: &Path) -> String {
    let json: Value = serde_json::from_slice(&std::fs::read(dir.join(FILE)).unwrap()).unwrap();
    assert_eq!(json["note"], "kept across rewrites", "unknown fields kept");
    json["oauth2"]["refresh_token"].as_str().unwrap().to_owned()
}

fn replica_yaml(auth_dir: &Path, redis: &RedisServer) -> String {
    format!(
        "auth-dir: {}\nrouting:\n  session-store: {}\n  session-store-secret: replica-shared-secret\n",
        auth_dir.display(),
        redis.url()
    )
}

/// How many token sets the replica learned: its own renewals and its adoptions.
async fn sets_learned(proxy: &Proxy) -> u64 {
    let entry = credential_entry(proxy, FILE).await;
    entry["token"]["renewals_ok"].as_u64().unwrap() + entry["token"]["adopted"].as_u64().unwrap()
}

/// Runs `ROTATIONS` rotations over `replicas` under load (two clients per replica, each
/// sending requests back to back); every request must succeed.
///
/// A rotation: the mock refuses every access token issued so far, the replicas' requests meet
/// 401s, one replica refreshes and the others take its set. The next rotation starts once every
/// replica has learned the new set and every client has finished a request since (so no
/// request still carries a token from before: the mock refusing a token while a request
/// retries with it is not something a real upstream does).
async fn rotate_under_load(mock: &MockUpstream, replicas: &[Arc<Proxy>]) {
    // Each replica holds a token first: one refresh between them.
    let mut learned = Vec::new();
    for proxy in replicas {
        let reply = proxy.post("/v1/chat/completions", &chat("gpt-4o")).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        learned.push(sets_learned(proxy).await);
    }
    assert_eq!(mock.token_stats().refresh_grants, 1);
    let done = Arc::new(AtomicBool::new(false));
    let clients: Vec<(Arc<Proxy>, Arc<AtomicU64>)> = replicas
        .iter()
        .flat_map(|proxy| (0..2).map(move |_| (proxy.clone(), Arc::new(AtomicU64::new(0)))))
        .collect();
    let workers: Vec<_> = clients
        .iter()
        .map(|(proxy, served)| {
            let (proxy, served, done) = (proxy.clone(), served.clone(), done.clone());
            tokio::spawn(async move {
                while !done.load(Ordering::Relaxed) {
                    let reply = proxy.post("/v1/chat/completions", &chat("gpt-4o")).await;
                    assert_eq!(reply.status, 200, "{}", reply.text());
                    assert_eq!(reply.credential(), CLIENT);
                    served.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for rotation in 1..=ROTATIONS {
        let before = mock.token_stats().refresh_grants;
        mock.expire_access_tokens();
        mock.wait_for_token_grants(before + 1, WAIT).await.unwrap();
        let deadline = tokio::time::Instant::now() + WAIT;
        let waited = |what: &str| {
            assert!(
                tokio::time::Instant::now() < deadline,
                "rotation {rotation}: {what}"
            );
        };
        for (proxy, first) in replicas.iter().zip(&learned) {
            while sets_learned(proxy).await < first + rotation {
                waited("a replica did not learn the new set");
                tokio::task::yield_now().await;
            }
        }
        let counts: Vec<u64> = clients
            .iter()
            .map(|(_, n)| n.load(Ordering::Relaxed))
            .collect();
        for ((_, served), count) in clients.iter().zip(counts) {
            while served.load(Ordering::Relaxed) <= count {
                waited("a client finished no request");
                tokio::task::yield_now().await;
            }
        }
    }
    done.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.expect("no failed request");
    }
    let stats = mock.token_stats();
    assert_eq!(stats.invalid_grants, 0, "{stats:?}");
    assert_eq!(
        stats.refresh_grants,
        ROTATIONS + 1,
        "one refresh per rotation: {stats:?}"
    );
}

async fn replicas(yamls: &[String]) -> Vec<Arc<Proxy>> {
    let mut out = Vec::new();
    for yaml in yamls {
        out.push(Arc::new(start(yaml, fast_policy()).await));
    }
    out
}

#[tokio::test]
async fn three_replicas_sharing_one_auth_dir_rotate_a_refresh_token_through_redis() {
    let mock = MockUpstream::start().await.unwrap();
    let redis = RedisServer::start();
    let first = mock.issue_refresh_token(CLIENT);
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("shared-auths");
    write_file(&shared, &refresh_file(&mock, &first));
    let yaml = replica_yaml(&shared, &redis);
    let replicas = replicas(&[yaml.clone(), yaml.clone(), yaml]).await;
    rotate_under_load(&mock, &replicas).await;
    assert_eq!(
        file_refresh_token(&shared),
        mock.latest_refresh_token(CLIENT).unwrap(),
        "the shared file holds the newest refresh token"
    );
    mock.shutdown().await;
}

#[tokio::test]
async fn replicas_with_their_own_folders_each_write_the_newest_refresh_token() {
    let mock = MockUpstream::start().await.unwrap();
    let redis = RedisServer::start();
    let first = mock.issue_refresh_token(CLIENT);
    let dir = tempfile::tempdir().unwrap();
    let folders: Vec<PathBuf> = (0..3)
        .map(|i| dir.path().join(format!("auths-{i}")))
        .collect();
    for folder in &folders {
        write_file(folder, &refresh_file(&mock, &first));
    }
    let yamls: Vec<String> = folders.iter().map(|f| replica_yaml(f, &redis)).collect();
    let replicas = replicas(&yamls).await;
    rotate_under_load(&mock, &replicas).await;
    let newest = mock.latest_refresh_token(CLIENT).unwrap();
    for folder in &folders {
        assert_eq!(file_refresh_token(folder), newest, "{}", folder.display());
    }
    mock.shutdown().await;
}

#[tokio::test]
async fn two_processes_without_redis_are_caught_by_the_rotation() {
    let mock = MockUpstream::start().await.unwrap();
    let first = mock.issue_refresh_token(CLIENT);
    let dir = tempfile::tempdir().unwrap();
    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    write_file(&a_dir, &refresh_file(&mock, &first));
    let a = start(&format!("auth-dir: {}\n", a_dir.display()), fast_policy()).await;
    // Alone, a process rotates freely and writes each new refresh token back.
    for _ in 0..3 {
        mock.expire_access_tokens();
        let reply = a.post("/v1/chat/completions", &chat("gpt-4o")).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
    let current = mock.latest_refresh_token(CLIENT).unwrap();
    assert_eq!(file_refresh_token(&a_dir), current);
    // A second process starts from a copy of the same file: whichever refreshes second
    // presents a refresh token the first already spent.
    write_file(&b_dir, &refresh_file(&mock, &current));
    let b = start(&format!("auth-dir: {}\n", b_dir.display()), fast_policy()).await;
    let reply = b.post("/v1/chat/completions", &chat("gpt-4o")).await;
    assert_eq!(reply.status, 200, "b refreshed first: {}", reply.text());
    mock.expire_access_tokens();
    let reply = a.post("/v1/chat/completions", &chat("gpt-4o")).await;
    assert_eq!(reply.status, 503, "{}", reply.text());
    assert_eq!(reply.json()["error"]["code"], "token_unavailable");
    assert!(mock.token_stats().invalid_grants >= 1);
    let entry = credential_entry(&a, FILE).await;
    assert_eq!(entry["state"], "token_unavailable", "{entry}");
    let message = entry["message"].as_str().unwrap();
    assert!(
        message.contains("invalid_grant") && message.contains("another process"),
        "{message}"
    );
    assert!(
        !entry.to_string().contains(&current),
        "no token in the answer"
    );
    mock.shutdown().await;
}

#[tokio::test]
async fn a_replica_does_not_refresh_a_shared_credential_while_redis_is_down() {
    let mock = MockUpstream::start().await.unwrap();
    let mut redis = RedisServer::start();
    let first = mock.issue_refresh_token(CLIENT);
    let dir = tempfile::tempdir().unwrap();
    let auths = dir.path().join("auths");
    write_file(&auths, &refresh_file(&mock, &first));
    let proxy = start(&replica_yaml(&auths, &redis), fast_policy()).await;
    let reply = proxy.post("/v1/chat/completions", &chat("gpt-4o")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(mock.token_stats().refresh_grants, 1);
    redis.kill();
    mock.expire_access_tokens();
    let reply = proxy.post("/v1/chat/completions", &chat("gpt-4o")).await;
    assert_eq!(reply.status, 503, "{}", reply.text());
    assert_eq!(reply.json()["error"]["code"], "token_unavailable");
    let entry = credential_entry(&proxy, FILE).await;
    assert_eq!(entry["state"], "token_unavailable", "{entry}");
    assert!(
        entry["message"].as_str().unwrap().contains("Redis store"),
        "{entry}"
    );
    assert_eq!(
        mock.token_stats().refresh_grants,
        1,
        "no refresh without Redis"
    );
    // Redis is back: the next renewal refreshes through it.
    redis.restart();
    mock.wait_for_token_grants(2, WAIT).await.unwrap();
    let reply = proxy.post("/v1/chat/completions", &chat("gpt-4o")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(mock.token_stats().invalid_grants, 0);
    mock.shutdown().await;
}
