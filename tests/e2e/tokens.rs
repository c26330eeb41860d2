//! Token credentials against the mock's OAuth token endpoint: Vertex AI service accounts (JWT
//! bearer), OAuth2 client credentials, and rotating refresh tokens — minting, renewal ahead of
//! expiry, failover while the token endpoint is down, and the one renewal a 401 gets.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::{Value, json};
use switchyard::test_util::token::{Lifetime, TokenPolicy};
use switchyard_mock::{Fault, MockUpstream};
use switchyard_oauth::ServiceAccountKey;

use crate::harness::{Proxy, Reply, WAIT, chat};

/// The management password of these tests' proxies.
pub(crate) const PASSWORD: &str = "token-admin";

/// The committed test-only service-account key.
const KEY_JSON: &str = include_str!("../fixtures/oauth/service-account.json");

/// A Gemini model every Vertex credential serves.
const GEMINI: &str = "gemini-2.5-flash";

/// A policy that believes lifetimes down to 1 s and backs off 100 ms to 400 ms, so tests see
/// renewals and recoveries in seconds.
pub(crate) fn fast_policy() -> TokenPolicy {
    TokenPolicy {
        lifetime: Lifetime {
            min: Duration::from_secs(1),
            ..Lifetime::default()
        },
        backoff_min: Duration::from_millis(100),
        backoff_max: Duration::from_millis(400),
        ..TokenPolicy::default()
    }
}

/// Starts a proxy on `yaml` with the management password and `policy`.
pub(crate) async fn start(yaml: &str, policy: TokenPolicy) -> Proxy {
    Proxy::start_with(yaml, |o| {
        o.with_local_password(PASSWORD).with_token_policy(policy)
    })
    .await
}

/// The test key with its `token_uri` on the mock, and the mock trusting it.
fn service_account(mock: &MockUpstream) -> (Value, String) {
    let mut key: Value = serde_json::from_str(KEY_JSON).unwrap();
    key["token_uri"] = json!(mock.token_url());
    let parsed = ServiceAccountKey::from_json(&key).unwrap();
    mock.register_service_account(
        parsed.client_email.clone(),
        parsed.public_key_der().to_vec(),
    );
    (key, parsed.client_email)
}

/// A Vertex auth file for `key` on the mock, with `extra` fields.
fn vertex_file(mock: &MockUpstream, key: &Value, extra: Value) -> Value {
    let mut file = json!({
        "type": "vertex",
        "service_account": key,
        "project_id": key["project_id"],
        "email": key["client_email"],
        "location": "europe-west4",
        "base_url": mock.base_url(),
    });
    for (k, v) in extra.as_object().unwrap() {
        file[k] = v.clone();
    }
    file
}

/// Writes `json` as `auth_dir/name` (0600).
fn write_auth_file(auth_dir: &Path, name: &str, json: &Value) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(auth_dir).unwrap();
    let path = auth_dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(json).unwrap()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// A folder holding one Vertex auth file `name` (with `extra` fields) for the test key on
/// `mock`: the folder (kept while the value lives), its path, and the key's email.
struct VertexFolder {
    _dir: tempfile::TempDir,
    auths: std::path::PathBuf,
    email: String,
}

fn vertex_folder(mock: &MockUpstream, name: &str, extra: Value) -> VertexFolder {
    let (key, email) = service_account(mock);
    let dir = tempfile::tempdir().unwrap();
    let auths = dir.path().join("auths");
    write_auth_file(&auths, name, &vertex_file(mock, &key, extra));
    VertexFolder {
        _dir: dir,
        auths,
        email,
    }
}

/// A config whose `auth-dir` is `dir`, plus `rest`.
fn config_with_auth_dir(dir: &Path, rest: &str) -> String {
    format!("auth-dir: {}\n{rest}", dir.display())
}

/// A Gemini generateContent request through the proxy.
async fn gemini(proxy: &Proxy) -> Reply {
    proxy
        .post(
            &format!("/v1beta/models/{GEMINI}:generateContent"),
            &json!({"contents": [{"role": "user", "parts": [{"text": "hello vertex"}]}]}),
        )
        .await
}

/// `GET /v0/management/credentials`, the entry of `id`.
pub(crate) async fn credential_entry(proxy: &Proxy, id: &str) -> Value {
    let reply = crate::harness::read(
        proxy
            .request(reqwest::Method::GET, "/v0/management/credentials")
            .bearer_auth(PASSWORD)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let list = reply.json()["credentials"].as_array().unwrap().clone();
    list.into_iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no credential {id} in {}", reply.text()))
}

#[tokio::test]
async fn a_vertex_service_account_mints_one_token_for_many_concurrent_requests() {
    let mock = MockUpstream::start().await.unwrap();
    let VertexFolder { auths, email, _dir } = vertex_folder(
        &mock,
        "vertex-switchyard-test.json",
        json!({"models": [
            {"name": GEMINI},
            {"name": "claude-sonnet-4-5@20250929", "alias": "claude-sonnet-4-5"}
        ]}),
    );
    let proxy = start(&config_with_auth_dir(&auths, ""), TokenPolicy::default()).await;
    let replies = join_all((0..24).map(|_| gemini(&proxy))).await;
    for reply in &replies {
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.credential(), email);
    }
    let stats = mock.token_stats();
    assert_eq!(
        stats.jwt_grants, 1,
        "one token for every request: {stats:?}"
    );
    assert_eq!(stats.rejected_bearers, 0);
    assert_eq!(
        stats.last_scope.as_deref(),
        Some("https://www.googleapis.com/auth/cloud-platform")
    );
    let paths: Vec<String> = mock.requests().iter().map(|r| r.path.clone()).collect();
    assert!(
        paths.iter().all(|p| p
            == &format!(
                "/v1/projects/switchyard-test/locations/europe-west4/publishers/google/models/{GEMINI}:generateContent"
            )),
        "{paths:?}"
    );
    // A Claude model on Vertex: the Messages body through rawPredict, whole and streamed.
    let reply = proxy
        .post(
            "/v1/messages",
            &json!({"model": "claude-sonnet-4-5", "max_tokens": 64,
                    "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["type"], "message");
    let streamed = proxy
        .post(
            "/v1/messages",
            &json!({"model": "claude-sonnet-4-5", "max_tokens": 64, "stream": true,
                    "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(streamed.status, 200, "{}", streamed.text());
    assert!(
        streamed.text().contains("message_stop"),
        "{}",
        streamed.text()
    );
    let last: Vec<String> = mock
        .requests()
        .iter()
        .rev()
        .take(2)
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        last,
        [
            "/v1/projects/switchyard-test/locations/europe-west4/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict",
            "/v1/projects/switchyard-test/locations/europe-west4/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict",
        ]
    );
    assert_eq!(mock.token_stats().jwt_grants, 1);
    let entry = credential_entry(&proxy, "vertex-switchyard-test.json").await;
    assert_eq!(entry["kind"], "vertex");
    assert_eq!(entry["auth"], "jwt_bearer");
    assert_eq!(entry["state"], "active");
    assert_eq!(entry["token"]["renewals_ok"], 1);
    assert!(entry["token"]["expires_at"].is_string(), "{entry}");
    let text = entry.to_string();
    assert!(
        !text.contains("mock-at-") && !text.contains("PRIVATE KEY"),
        "{text}"
    );
    proxy.shutdown().await;
    mock.shutdown().await;
}

/// Sends requests from four clients without a pause until the mock has granted four tokens
/// (three renewals of a 2 s token: about 4.5 s); every request must be answered by `subject`,
/// no request may go out with an expired token, and none may wait for a renewal (only the
/// first token is waited for) on the credential `id` of `proxy`.
async fn renewals_under_load<F, Fut>(
    mock: &MockUpstream,
    proxy: &Proxy,
    id: &str,
    subject: &str,
    send: F,
) where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Reply> + Send,
{
    let done = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (send, done, sent, subject) =
                (send.clone(), done.clone(), sent.clone(), subject.to_owned());
            tokio::spawn(async move {
                while !done.load(Ordering::Relaxed) {
                    let reply = send().await;
                    assert_eq!(reply.status, 200, "{}", reply.text());
                    assert_eq!(reply.credential(), subject);
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    mock.wait_for_token_grants(4, Duration::from_secs(30))
        .await
        .expect("three renewals");
    done.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.expect("no failed request");
    }
    let stats = mock.token_stats();
    assert_eq!(
        stats.rejected_bearers, 0,
        "no request went out with an expired token: {stats:?}"
    );
    assert!(sent.load(Ordering::Relaxed) > 20);
    let entry = credential_entry(proxy, id).await;
    assert!(
        entry["token"]["requests_waited"].as_u64().unwrap() <= 4,
        "renewed ahead of expiry, nobody waits after the first token: {entry}"
    );
}

#[tokio::test]
async fn tokens_are_renewed_before_they_expire_with_no_failed_request() {
    let mock = MockUpstream::start().await.unwrap();
    mock.set_token_lifetime(Duration::from_secs(2));
    let VertexFolder { auths, email, _dir } = vertex_folder(&mock, "vertex-a.json", json!({}));
    let proxy = Arc::new(start(&config_with_auth_dir(&auths, ""), fast_policy()).await);
    let sender = proxy.clone();
    renewals_under_load(&mock, &proxy, "vertex-a.json", &email, move || {
        let proxy = sender.clone();
        async move { gemini(&proxy).await }
    })
    .await;
    let metrics = proxy.metrics().await;
    assert!(
        metrics.contains(
            "switchyard_token_renewals_total{credential=\"vertex-a.json\",result=\"failed\"} 0"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("switchyard_token_expiry_seconds{credential=\"vertex-a.json\"}"));
    mock.shutdown().await;
}

#[tokio::test]
async fn client_credentials_are_renewed_before_they_expire_with_no_failed_request() {
    let mock = MockUpstream::start().await.unwrap();
    mock.set_token_lifetime(Duration::from_secs(2));
    mock.register_client("codex-client", Some("codex-secret"));
    let yaml = format!(
        "codex-api-key:\n  - base-url: {}/v1\n    oauth:\n      token-url: {}\n      client-id: codex-client\n      client-secret: codex-secret\n      auth-method: post\n",
        mock.base_url(),
        mock.token_url()
    );
    let proxy = Arc::new(start(&yaml, fast_policy()).await);
    let id = proxy
        .runtime()
        .generation()
        .registry
        .credentials()
        .next()
        .unwrap()
        .id
        .clone();
    assert!(id.as_str().starts_with("codex:oauth:"), "{id}");
    let sender = proxy.clone();
    renewals_under_load(&mock, &proxy, id.as_str(), "codex-client", move || {
        let proxy = sender.clone();
        async move {
            proxy
                .post(
                    "/v1/responses",
                    &json!({"model": "gpt-5", "input": [{"role": "user", "content": "hi"}]}),
                )
                .await
        }
    })
    .await;
    let stats = mock.token_stats();
    assert_eq!(
        (stats.post_auth, stats.basic_auth),
        (stats.client_credentials_grants, 0)
    );
    let entry = credential_entry(&proxy, id.as_str()).await;
    assert_eq!(entry["auth"], "client_credentials");
    assert!(!entry.to_string().contains("codex-secret"));
    mock.shutdown().await;
}

#[tokio::test]
async fn a_down_token_endpoint_fails_over_and_the_credential_recovers() {
    let mock = MockUpstream::start().await.unwrap();
    mock.set_token_endpoint_status(Some(503));
    let VertexFolder { auths, email, _dir } =
        vertex_folder(&mock, "vertex-a.json", json!({"priority": 5}));
    let yaml = config_with_auth_dir(
        &auths,
        &format!(
            "gemini-api-key:\n  - api-key: fallback-key\n    base-url: {}\n",
            mock.base_url()
        ),
    );
    let proxy = start(&yaml, fast_policy()).await;
    for _ in 0..3 {
        let reply = gemini(&proxy).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.credential(), "fallback-key", "fails over");
    }
    let entry = credential_entry(&proxy, "vertex-a.json").await;
    assert_eq!(entry["state"], "token_unavailable", "{entry}");
    assert!(
        entry["message"].as_str().unwrap().contains("503"),
        "{entry}"
    );
    assert!(entry["token"]["renewals_failed"].as_u64().unwrap() >= 1);
    // The endpoint comes back: the next renewal (backoff ≤ 400 ms) mints a token, and the
    // preferred credential serves again.
    mock.set_token_endpoint_status(None);
    mock.wait_for_token_grants(1, WAIT).await.unwrap();
    let entry = credential_entry(&proxy, "vertex-a.json").await;
    assert_eq!(entry["state"], "active", "{entry}");
    let reply = gemini(&proxy).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.credential(), email);
    proxy.shutdown().await;
    mock.shutdown().await;
}

#[tokio::test]
async fn an_upstream_401_renews_the_token_once_and_retries_on_the_same_credential() {
    let mock = MockUpstream::start().await.unwrap();
    let VertexFolder { auths, email, _dir } = vertex_folder(&mock, "vertex-a.json", json!({}));
    let yaml = config_with_auth_dir(
        &auths,
        &format!(
            "gemini-api-key:\n  - api-key: fallback-key\n    base-url: {}\n    priority: -1\n",
            mock.base_url()
        ),
    );
    let proxy = start(&yaml, TokenPolicy::default()).await;
    assert_eq!(gemini(&proxy).await.credential(), email);
    assert_eq!(mock.token_stats().jwt_grants, 1);
    // The upstream stops accepting the token: one 401, one renewal, the same credential.
    mock.expire_access_tokens();
    let reply = gemini(&proxy).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.credential(), email, "retried on the same credential");
    let stats = mock.token_stats();
    assert_eq!(
        (stats.jwt_grants, stats.rejected_bearers),
        (2, 1),
        "{stats:?}"
    );
    // A credential that keeps answering 401 with a fresh token is renewed once, then the
    // request fails over.
    mock.set_fault(&email, Fault::status(401));
    let reply = gemini(&proxy).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.credential(), "fallback-key");
    assert_eq!(mock.token_stats().jwt_grants, 3, "one renewal, not more");
    proxy.shutdown().await;
    mock.shutdown().await;
}

#[tokio::test]
async fn client_credentials_mint_tokens_for_an_openai_compatible_upstream() {
    let mock = MockUpstream::start().await.unwrap();
    mock.register_client("gateway-client", Some("s3cret/+:"));
    let yaml = |method: &str| {
        format!(
            "openai-compatibility:\n  - name: gateway\n    base-url: {}/v1\n    oauth:\n      token-url: {}\n      client-id: gateway-client\n      client-secret: \"s3cret/+:\"\n      scope: https://cognitiveservices.azure.com/.default\n      auth-method: {method}\n    models:\n      - name: gpt-4o\n",
            mock.base_url(),
            mock.token_url()
        )
    };
    let proxy = start(&yaml("basic"), TokenPolicy::default()).await;
    let body = chat("gpt-4o");
    let replies = join_all((0..8).map(|_| proxy.post("/v1/chat/completions", &body))).await;
    for reply in &replies {
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.credential(), "gateway-client");
    }
    let stats = mock.token_stats();
    assert_eq!(
        (
            stats.client_credentials_grants,
            stats.basic_auth,
            stats.post_auth
        ),
        (1, 1, 0),
        "{stats:?}"
    );
    assert_eq!(
        stats.last_scope.as_deref(),
        Some("https://cognitiveservices.azure.com/.default")
    );
    // 401 → one renewal on the same credential.
    mock.expire_access_tokens();
    let reply = proxy.post("/v1/chat/completions", &chat("gpt-4o")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(mock.token_stats().client_credentials_grants, 2);
    // The secret in the form instead (a reload makes a new cell: a new token).
    proxy.rewrite_config(&yaml("post")).await;
    let reply = proxy.post("/v1/chat/completions", &chat("gpt-4o")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let stats = mock.token_stats();
    assert_eq!((stats.basic_auth, stats.post_auth), (2, 1), "{stats:?}");
    proxy.shutdown().await;
    mock.shutdown().await;
}
