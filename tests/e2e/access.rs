//! Who may call the proxy: the access chain with the embedded `config-api-key`, native
//! providers registered through the library, plugin faults, and reloads.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use switchyard::test_util::access::{
    AccessFuture, AccessOutcome, AccessProvider, ProviderRegistry, RequestHead,
};
use switchyard::test_util::config::InstanceConfig;
use switchyard_mock::MockUpstream;

use crate::harness::{Proxy, client_from, guests, messages};

fn upstream(mock: &MockUpstream) -> String {
    format!(
        "claude-api-key:\n  - api-key: upstream\n    base-url: {}\n",
        mock.base_url()
    )
}

/// POSTs a message to `/v1/messages` with `client`; the status and the JSON body.
async fn post_from(
    client: &reqwest::Client,
    proxy: &Proxy,
    headers: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let mut request = client
        .post(proxy.url("/v1/messages"))
        .json(&messages("claude-sonnet-4"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let reply = request.send().await.expect("request sent");
    let status = reply.status().as_u16();
    let body = reply.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&body).unwrap_or(json!(String::from_utf8_lossy(&body))),
    )
}

async fn status(proxy: &Proxy, path: &str, headers: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let reply = proxy
        .post_with(path, &messages("claude-sonnet-4"), headers)
        .await;
    let body = serde_json::from_slice(&reply.body).unwrap_or(json!(reply.text()));
    (reply.status, body)
}

#[tokio::test]
async fn config_api_key_accepts_every_credential_location() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&format!("api-keys: [sk-1, ' sk-2 ']\n{}", upstream(&mock))).await;
    for (path, headers) in [
        ("/v1/messages", vec![("authorization", "Bearer sk-1")]),
        ("/v1/messages", vec![("authorization", "bearer sk-2")]),
        ("/v1/messages", vec![("authorization", "sk-1")]),
        ("/v1/messages", vec![("x-api-key", "sk-2")]),
        ("/v1/messages", vec![("x-goog-api-key", "sk-1")]),
        ("/v1/messages?key=sk-1", vec![]),
        ("/v1/messages?auth_token=sk-2", vec![]),
    ] {
        let (code, body) = status(&proxy, path, &headers).await;
        assert_eq!(code, 200, "{path} {headers:?}: {body}");
    }
    assert_eq!(
        status(&proxy, "/v1/messages", &[]).await,
        (401, json!({ "error": "Missing API key" }))
    );
    assert_eq!(
        status(&proxy, "/v1/messages", &[("authorization", "Bearer nope")]).await,
        (401, json!({ "error": "Invalid API key" }))
    );
    assert_eq!(
        status(&proxy, "/v1/messages", &[("authorization", "Basic sk-1")])
            .await
            .0,
        401,
        "a non-Bearer scheme is compared literally"
    );
    // Open routes stay open; the model list is behind the chain.
    assert_eq!(proxy.get("/healthz").await.status, 200);
    assert_eq!(proxy.get("/v1/models").await.status, 401);
    // The client's key never reaches the upstream.
    for request in mock.requests() {
        assert_eq!(request.header("x-api-key"), Some("upstream"));
        assert!(request.header("authorization").is_none());
    }
}

#[tokio::test]
async fn two_instances_of_one_type_with_different_keys() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&format!(
        "auth:\n  providers:\n    - name: team-a\n      type: config-api-key\n      api-keys: [key-a]\n    - name: team-b\n      type: config-api-key\n      config:\n        api-keys: [key-b]\n{}",
        upstream(&mock)
    ))
    .await;
    assert_eq!(
        status(&proxy, "/v1/messages", &[("x-api-key", "key-a")])
            .await
            .0,
        200
    );
    assert_eq!(
        status(&proxy, "/v1/messages", &[("x-api-key", "key-b")])
            .await
            .0,
        200
    );
    assert_eq!(
        status(&proxy, "/v1/messages", &[("x-api-key", "key-c")])
            .await
            .0,
        401
    );
}

/// A native provider: header `x-team-token` must equal the setting `token`; a request without
/// the header is not this provider's business.
struct TeamToken {
    token: String,
}

impl AccessProvider for TeamToken {
    fn authenticate<'a>(&'a self, head: &'a RequestHead) -> AccessFuture<'a> {
        Box::pin(async move {
            Ok(match head.header("x-team-token") {
                None => AccessOutcome::NotHandled,
                Some(token) if token == self.token => AccessOutcome::Allow {
                    principal: "team".to_owned(),
                    metadata: vec![],
                },
                Some(_) => AccessOutcome::Deny {
                    status: 403,
                    message: "wrong team token".to_owned(),
                },
            })
        })
    }
}

fn registry() -> ProviderRegistry {
    let registry = ProviderRegistry::new();
    registry.register_native("team-token", |config: &InstanceConfig| {
        let token = config.settings["token"]
            .as_str()
            .ok_or("token must be a string")?;
        Ok(Arc::new(TeamToken {
            token: token.to_owned(),
        }) as Arc<dyn AccessProvider>)
    });
    registry
}

#[tokio::test]
async fn a_native_provider_beside_the_wasm_one_in_both_orders() {
    let mock = MockUpstream::start().await.unwrap();
    let native = "    - name: team\n      type: team-token\n      config: {token: t-1}\n";
    let wasm = "    - name: keys\n      type: config-api-key\n      api-keys: [sk-1]\n";
    for order in [[native, wasm], [wasm, native]] {
        let proxy = Proxy::start_with(
            &format!(
                "auth:\n  providers:\n{}{}{}",
                order[0],
                order[1],
                upstream(&mock)
            ),
            |options| options.with_providers(registry()),
        )
        .await;
        assert_eq!(
            status(&proxy, "/v1/messages", &[("x-team-token", "t-1")])
                .await
                .0,
            200
        );
        assert_eq!(
            status(&proxy, "/v1/messages", &[("x-api-key", "sk-1")])
                .await
                .0,
            200
        );
        // Both credentials present, the native one wrong: its deny ends the chain only when
        // it runs first; otherwise the key admits the request before it runs.
        let (code, body) = status(
            &proxy,
            "/v1/messages",
            &[("x-team-token", "t-2"), ("x-api-key", "sk-1")],
        )
        .await;
        if order[0] == native {
            assert_eq!((code, body), (403, json!({ "error": "wrong team token" })));
        } else {
            assert_eq!(code, 200, "{body}");
        }
        assert_eq!(
            status(&proxy, "/v1/messages", &[]).await,
            (401, json!({ "error": "Missing API key" }))
        );
    }
}

#[tokio::test]
async fn key_and_provider_edits_apply_on_reload() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&format!("api-keys: [old]\n{}", upstream(&mock))).await;
    assert_eq!(
        status(&proxy, "/v1/messages", &[("x-api-key", "old")])
            .await
            .0,
        200
    );
    let applied = proxy
        .rewrite_config(&format!("api-keys: [new]\n{}", upstream(&mock)))
        .await;
    assert_eq!(applied.generation, 2);
    assert_eq!(
        status(&proxy, "/v1/messages", &[("x-api-key", "old")])
            .await
            .0,
        401
    );
    assert_eq!(
        status(&proxy, "/v1/messages", &[("x-api-key", "new")])
            .await
            .0,
        200
    );
    proxy
        .rewrite_config(&format!(
            "auth:\n  providers:\n    - name: partners\n      type: config-api-key\n      api-keys: [partner]\n{}",
            upstream(&mock)
        ))
        .await;
    assert_eq!(
        status(&proxy, "/v1/messages", &[("x-api-key", "new")])
            .await
            .0,
        401
    );
    assert_eq!(
        status(&proxy, "/v1/messages", &[("x-api-key", "partner")])
            .await
            .0,
        200
    );
    // A provider of an unknown type keeps the running chain.
    let failed = proxy
        .rewrite_config(&format!(
            "auth:\n  providers:\n    - name: sso\n      type: no-such-plugin\n{}",
            upstream(&mock)
        ))
        .await;
    assert!(failed.last_error.unwrap().contains("no-such-plugin"));
    assert_eq!(
        status(&proxy, "/v1/messages", &[("x-api-key", "partner")])
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn a_faulting_plugin_fails_closed_then_is_quarantined_and_recovers() {
    let mock = MockUpstream::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("misbehave.wasm"), guests::MISBEHAVE.bytes()).unwrap();
    let proxy = Proxy::start(&format!(
        "plugins:\n  dir: {}\n  limits:\n    deadline-ms: 50\nauth:\n  providers:\n    - name: flaky\n      type: misbehave\n      config: {{mode: allow, principal: p}}\n{}",
        dir.path().display(),
        upstream(&mock)
    ))
    .await;
    for _ in 0..5 {
        assert_eq!(status(&proxy, "/v1/messages", &[]).await.0, 200);
    }
    // Five faults from four client addresses (127.0.0.2-5).
    for (i, mode) in ["loop", "alloc", "panic", "recurse", "loop"]
        .iter()
        .enumerate()
    {
        let id = format!("fault-{i}");
        let headers = [("x-misbehave", *mode), ("x-request-id", id.as_str())];
        let client = client_from(2 + (i % 4) as u8);
        let (code, body) = post_from(&client, &proxy, &headers).await;
        assert_eq!(code, 503, "{mode}: {body}");
        // The client learns which request failed, not which instance or why.
        assert_eq!(
            body,
            json!({"error": {
                "message": format!("access check failed (request {id})"),
                "type": "server_error",
                "code": "plugin_fault",
            }})
        );
        assert_eq!(
            proxy.get("/healthz").await.status,
            200,
            "the server stays healthy"
        );
    }
    // Half of ten calls within a minute faulted: quarantined, even for good requests (which
    // the plugin itself would allow).
    let (code, body) = status(&proxy, "/v1/messages", &[]).await;
    assert_eq!(code, 503, "{body}");
    assert_eq!(body["error"]["code"], "plugin_fault", "{body}");
    let stats = proxy.runtime().generation().access.entries()[0]
        .stats()
        .unwrap();
    assert_eq!(stats.faults, 5);
    proxy.clock.advance(Duration::from_secs(31));
    assert_eq!(status(&proxy, "/v1/messages", &[]).await.0, 200);
}

/// A proxy whose only provider is the `misbehave` plugin with `settings` (and `extra` lines
/// appended to the instance).
async fn misbehaving_proxy(
    mock: &MockUpstream,
    dir: &std::path::Path,
    settings: &str,
    extra: &str,
) -> Proxy {
    std::fs::write(dir.join("misbehave.wasm"), guests::MISBEHAVE.bytes()).unwrap();
    Proxy::start(&format!(
        "plugins:\n  dir: {}\nauth:\n  providers:\n    - name: flaky\n      type: misbehave\n      config: {settings}\n{extra}{}",
        dir.display(),
        upstream(mock)
    ))
    .await
}

#[tokio::test]
async fn traps_one_client_provokes_do_not_quarantine_the_provider_for_others() {
    let mock = MockUpstream::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let proxy = misbehaving_proxy(&mock, dir.path(), "{mode: allow, principal: p}", "").await;
    let (good, attacker) = (client_from(1), client_from(2));
    let mut failures = 0;
    for i in 0..500 {
        if post_from(&good, &proxy, &[]).await.0 != 200 {
            failures += 1;
        }
        if i % 10 == 0 {
            let (code, body) = post_from(&attacker, &proxy, &[("x-misbehave", "panic")]).await;
            assert_eq!(code, 503, "{body}");
        }
    }
    let stats = proxy.runtime().generation().access.entries()[0]
        .stats()
        .unwrap();
    assert_eq!(failures, 0, "{stats:?}");
    assert_eq!((stats.faults, stats.quarantines), (50, 0));
    assert_eq!(stats.quarantined_until, None);
}

#[tokio::test]
async fn a_provider_that_traps_for_many_clients_is_quarantined() {
    let mock = MockUpstream::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let proxy = misbehaving_proxy(&mock, dir.path(), "{mode: panic}", "").await;
    let clients: Vec<_> = (2..=5).map(client_from).collect();
    let quarantines = || {
        proxy.runtime().generation().access.entries()[0]
            .stats()
            .unwrap()
            .quarantines
    };
    let mut calls = 0;
    while quarantines() == 0 {
        assert!(calls < 12, "4 addresses x 3 counted faults suffice");
        let (code, body) = post_from(&clients[calls % 4], &proxy, &[]).await;
        assert_eq!(
            (code, &body["error"]["code"]),
            (503, &json!("plugin_fault"))
        );
        calls += 1;
    }
    assert_eq!(
        calls, 10,
        "quarantined at the tenth call, all of them faults"
    );
    let stats = proxy.runtime().generation().access.entries()[0]
        .stats()
        .unwrap();
    assert!(stats.quarantined_until.is_some(), "{stats:?}");
}

#[tokio::test]
async fn on_fault_skip_lets_the_next_provider_decide() {
    let mock = MockUpstream::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let proxy = misbehaving_proxy(
        &mock,
        dir.path(),
        "{mode: panic}",
        "      on-fault: skip\n    - name: keys\n      type: config-api-key\n      api-keys: [sk-1]\n",
    )
    .await;
    let (code, body) = status(&proxy, "/v1/messages", &[("x-api-key", "sk-1")]).await;
    assert_eq!(code, 200, "{body}");
    let (code, body) = status(&proxy, "/v1/messages", &[("x-api-key", "sk-wrong")]).await;
    assert_eq!((code, body), (401, json!({"error": "Invalid API key"})));
    let (code, body) = status(&proxy, "/v1/messages", &[]).await;
    assert_eq!((code, body), (401, json!({"error": "Missing API key"})));
    let stats = proxy.runtime().generation().access.entries()[0]
        .stats()
        .unwrap();
    assert_eq!(
        stats.faults, 3,
        "the skipped provider was called and faulted"
    );
}
