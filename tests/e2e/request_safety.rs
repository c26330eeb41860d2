//! One client cannot hurt the others (architecture: Trust boundaries): model names never reach an upstream path,
//! a request's own errors cool no credential, one request cools at most a few, and a proxy
//! without client authentication serves only this machine.

use std::time::Duration;

use serde_json::{Value, json};
use switchyard_mock::{Fault, MockUpstream};

use crate::harness::{Proxy, chat, messages, provider_keys as keys};

fn gemini_body() -> Value {
    json!({ "contents": [{ "role": "user", "parts": [{ "text": "Hello" }] }] })
}

/// The metric line `name` (without labels) as a number.
async fn metric(proxy: &Proxy, name: &str) -> u64 {
    let page = proxy.metrics().await;
    page.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{page}"))
}

#[tokio::test]
async fn gemini_model_names_cannot_walk_the_upstream_path() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&format!(
        "gemini-api-key:\n  - api-key: g\n    base-url: {}\n    excluded-models: [gemini-2.5-pro]\n",
        mock.base_url()
    ))
    .await;
    for action in ["generateContent", "streamGenerateContent", "countTokens"] {
        for model in [
            "gemini-x%2F..%2Fgemini-2.5-pro",
            "gemini-x%2F%2e%2e%2Fgemini-2.5-pro",
            "gemini-x%2F%2E%2E%2Fgemini-2.5-pro",
            "gemini-2.5-flash%3Falt=x",
            "gemini-2.5-flash%23frag",
            "gemini-2.5-flash%252F..",
            "gemini-2.5-flash%5C..",
            "gemini-2.5-flash%0A",
            "..",
        ] {
            // The `v1` twin of each route (google-genai's default) is checked the same way.
            for version in ["v1beta", "v1"] {
                let path = format!("/{version}/models/{model}:{action}");
                let reply = proxy.post(&path, &gemini_body()).await;
                assert_eq!(reply.status, 400, "{path}: {}", reply.text());
                assert_eq!(
                    reply.json()["error"]["type"],
                    "invalid_request_error",
                    "{path}"
                );
            }
        }
    }
    // A name longer than 256 bytes, and one only the family rule would serve with a bad charset.
    let long = format!("/v1beta/models/gemini-{}:generateContent", "x".repeat(300));
    assert_eq!(proxy.post(&long, &gemini_body()).await.status, 400);
    let odd = "/v1beta/models/gemini-2.5-flash@evil:generateContent";
    assert_eq!(proxy.post(odd, &gemini_body()).await.status, 502);
    assert_eq!(mock.request_count(), 0, "no request reached the upstream");
    // The excluded model stays excluded; a plain family name still routes.
    let excluded = "/v1beta/models/GEMINI-2.5-PRO:generateContent";
    assert_eq!(proxy.post(excluded, &gemini_body()).await.status, 502);
    let fine = "/v1beta/models/gemini-2.5-flash:generateContent";
    assert_eq!(proxy.post(fine, &gemini_body()).await.status, 200);
    assert_eq!(
        mock.requests()[0].path,
        "/v1beta/models/gemini-2.5-flash:generateContent"
    );
    let fine_v1 = "/v1/models/gemini-2.5-flash:generateContent";
    assert_eq!(proxy.post(fine_v1, &gemini_body()).await.status, 200);
    assert_eq!(
        mock.requests()[1].path,
        "/v1beta/models/gemini-2.5-flash:generateContent"
    );
}

#[tokio::test]
async fn body_model_names_are_checked_before_a_credential_is_chosen() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&keys("claude-api-key", &mock.base_url(), &["a"])).await;
    for model in [
        "claude-x/../y",
        "claude-x?y",
        "claude-x#y",
        "claude-x%2e",
        "claude-x\\y",
        "claude-\u{1}",
    ] {
        let reply = proxy.post("/v1/messages", &messages(model)).await;
        assert_eq!(reply.status, 400, "{model:?}: {}", reply.text());
    }
    let huge = format!("claude-{}", "x".repeat(20_000));
    assert_eq!(
        proxy.post("/v1/messages", &messages(&huge)).await.status,
        400
    );
    assert_eq!(mock.request_count(), 0);
}

#[tokio::test]
async fn configured_names_with_slashes_colons_and_ats_still_route() {
    let mock = MockUpstream::start().await.unwrap();
    let base = mock.base_url();
    let proxy = Proxy::start(&format!(
        "openai-compatibility:\n  - name: local\n    base-url: {base}/v1\n    api-key-entries: [{{api-key: o}}]\n    models:\n      - name: meta-llama/Llama-3\n      - name: llama3.1:8b\n      - name: ft:gpt-4o-mini:org::id\n\
         claude-api-key:\n  - api-key: c\n    base-url: {base}\n    models:\n      - {{name: claude-sonnet-4-5@20250929, alias: sonnet@pinned}}\n\
         gemini-api-key:\n  - api-key: g\n    base-url: {base}\n    models:\n      - {{name: gemini-2.5-pro, alias: team/gem@1}}\n"
    ))
    .await;
    for model in [
        "meta-llama/Llama-3",
        "llama3.1:8b",
        "ft:gpt-4o-mini:org::id",
    ] {
        let reply = proxy.post("/v1/chat/completions", &chat(model)).await;
        assert_eq!(reply.status, 200, "{model}: {}", reply.text());
        let sent = mock.requests().last().unwrap().body_json().unwrap();
        assert_eq!(sent["model"], model);
    }
    let reply = proxy.post("/v1/messages", &messages("sonnet@pinned")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let sent = mock.requests().last().unwrap().body_json().unwrap();
    assert_eq!(sent["model"], "claude-sonnet-4-5@20250929");
    let reply = proxy
        .post(
            "/v1beta/models/team%2Fgem@1:generateContent",
            &gemini_body(),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        mock.requests().last().unwrap().path,
        "/v1beta/models/gemini-2.5-pro:generateContent"
    );
}

#[tokio::test]
async fn errors_that_echo_the_request_cool_nothing() {
    let mock = MockUpstream::builder()
        .unknown_fields(["model_not_supported"])
        .start()
        .await
        .unwrap();
    let base = mock.base_url();
    let proxy = Proxy::start(&format!(
        "{}{}{}",
        keys("claude-api-key", &base, &["c1", "c2", "c3"]),
        keys("codex-api-key", &format!("{base}/v1"), &["o1", "o2"]),
        keys("gemini-api-key", &base, &["g1", "g2"]),
    ))
    .await;
    let poisoned = |mut body: Value| {
        body["model_not_supported"] = json!(1);
        body
    };
    let responses = json!({ "model": "gpt-5", "input": "Hello" });
    let gemini = "/v1beta/models/gemini-2.5-pro:generateContent";
    for _ in 0..20 {
        let reply = proxy
            .post("/v1/messages", &poisoned(messages("claude-sonnet-4")))
            .await;
        assert_eq!(reply.status, 400, "{}", reply.text());
        assert!(reply.text().contains("model_not_supported: Extra inputs"));
        let reply = proxy
            .post("/v1/responses", &poisoned(responses.clone()))
            .await;
        assert_eq!(reply.status, 400, "{}", reply.text());
        let reply = proxy.post(gemini, &poisoned(gemini_body())).await;
        assert_eq!(reply.status, 400, "{}", reply.text());
    }
    // One attempt per request: the request's fault is not retried elsewhere.
    assert_eq!(mock.request_count(), 60);
    let now = proxy.runtime().clock.now();
    for credential in proxy.runtime().generation().registry.credentials() {
        let state = proxy.runtime().states.state_for(&credential.id);
        for model in ["claude-sonnet-4", "gpt-5", "gemini-2.5-pro"] {
            assert_eq!(state.block(model, now), None, "{} {model}", credential.id);
        }
    }
    // Every credential still serves.
    let mut served = std::collections::BTreeSet::new();
    for _ in 0..3 {
        let reply = proxy.claude_turn().await;
        assert_eq!(reply.status, 200);
        served.insert(reply.credential());
    }
    assert_eq!(served.len(), 3, "{served:?}");
}

#[tokio::test]
async fn a_structured_model_not_found_moves_that_model_off_that_credential() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&format!(
        "openai-compatibility:\n  - name: local\n    base-url: {}/v1\n    api-key-entries: [{{api-key: a}}, {{api-key: b}}]\n    models: [{{name: m1}}, {{name: m2}}]\n",
        mock.base_url()
    ))
    .await;
    // The mock's OpenAI 404 carries `"code":"model_not_found"`.
    mock.set_fault("a", Fault::status(404).times(1));
    for _ in 0..4 {
        let reply = proxy.post("/v1/chat/completions", &chat("m1")).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.credential(), "b");
    }
    assert_eq!(
        mock.request_count_for("a"),
        1,
        "m1 left credential a after its 404"
    );
    // The other model still uses both credentials.
    let mut served = std::collections::BTreeSet::new();
    for _ in 0..2 {
        served.insert(
            proxy
                .post("/v1/chat/completions", &chat("m2"))
                .await
                .credential(),
        );
    }
    assert_eq!(served.len(), 2);
    // Twelve hours later m1 is back on a.
    proxy.clock.advance(Duration::from_secs(12 * 3600));
    let mut served = std::collections::BTreeSet::new();
    for _ in 0..2 {
        served.insert(
            proxy
                .post("/v1/chat/completions", &chat("m1"))
                .await
                .credential(),
        );
    }
    assert_eq!(served.len(), 2);
}

#[tokio::test]
async fn one_request_cools_at_most_max_cooldowns_per_request_credentials() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&keys(
        "claude-api-key",
        &mock.base_url(),
        &["a", "b", "c", "d"],
    ))
    .await;
    mock.set_fault_for_all(Fault::status(503));
    let reply = proxy.claude_turn().await;
    assert_eq!(reply.status, 503);
    assert_eq!(
        mock.request_count(),
        4,
        "it still fails over to every credential"
    );
    let now = proxy.runtime().clock.now();
    let cooling: Vec<String> = proxy
        .runtime()
        .generation()
        .registry
        .credentials()
        .filter(|c| {
            proxy
                .runtime()
                .states
                .state_for(&c.id)
                .block("claude-sonnet-4", now)
                .is_some()
        })
        .map(|c| c.id.as_str().to_owned())
        .collect();
    assert_eq!(
        cooling.len(),
        2,
        "default max-cooldowns-per-request: {cooling:?}"
    );
    assert_eq!(metric(&proxy, "switchyard_cooldowns_capped_total").await, 2);
    // The two it could not cool keep serving.
    mock.clear_faults();
    for _ in 0..4 {
        let reply = proxy.claude_turn().await;
        assert_eq!(reply.status, 200);
    }
}

#[tokio::test]
async fn max_cooldowns_per_request_is_configurable_and_zero_means_no_cap() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&format!(
        "max-cooldowns-per-request: 0\n{}",
        keys("claude-api-key", &mock.base_url(), &["a", "b", "c"])
    ))
    .await;
    mock.set_fault_for_all(Fault::status(503));
    proxy.claude_turn().await;
    mock.clear_faults();
    // Every credential is cooling now: nothing is tried.
    let reply = proxy.claude_turn().await;
    assert_eq!(reply.status, 503, "{}", reply.text());
    assert_eq!(mock.request_count(), 3);
    let error = Proxy::try_start("max-cooldowns-per-request: -1\n")
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(
        error.contains("config.yaml:4: max-cooldowns-per-request"),
        "{error}"
    );
}

#[tokio::test]
async fn an_unauthenticated_proxy_answers_only_local_hosts_and_listed_origins() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&format!(
        "cors:\n  allow-origins: [http://localhost:3000]\n{}",
        keys("claude-api-key", &mock.base_url(), &["a"])
    ))
    .await;
    let body = messages("claude-sonnet-4");
    for (headers, status, code) in [
        (
            vec![("host", "evil.example")],
            403,
            Some("host_not_allowed"),
        ),
        (
            vec![("host", "evil.example:8317")],
            403,
            Some("host_not_allowed"),
        ),
        (
            vec![("host", "127.0.0.1.nip.io")],
            403,
            Some("host_not_allowed"),
        ),
        (vec![("host", "localhost:8317")], 200, None),
        (vec![("host", "[::1]:8317")], 200, None),
        (
            vec![("origin", "https://evil.example")],
            403,
            Some("origin_not_allowed"),
        ),
        (vec![("origin", "null")], 403, Some("origin_not_allowed")),
        (vec![("origin", "http://localhost:3000")], 200, None),
    ] {
        let reply = proxy.post_with("/v1/messages", &body, &headers).await;
        assert_eq!(reply.status, status, "{headers:?}: {}", reply.text());
        if let Some(code) = code {
            assert_eq!(reply.json()["error"]["code"], code);
        }
    }
    assert_eq!(mock.request_count(), 3);
}

#[tokio::test]
async fn allow_unauthenticated_keeps_only_the_origin_rule() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&format!(
        "allow-unauthenticated: true\n{}",
        keys("claude-api-key", &mock.base_url(), &["a"])
    ))
    .await;
    let body = messages("claude-sonnet-4");
    let reply = proxy
        .post_with("/v1/messages", &body, &[("host", "proxy.internal")])
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let reply = proxy
        .post_with("/v1/messages", &body, &[("origin", "https://evil.example")])
        .await;
    assert_eq!(reply.status, 403);
}

#[tokio::test]
async fn authenticated_proxies_do_not_check_host_or_origin() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&format!(
        "api-keys: [sk-1]\n{}",
        keys("claude-api-key", &mock.base_url(), &["a"])
    ))
    .await;
    let reply = proxy
        .post_with(
            "/v1/messages",
            &messages("claude-sonnet-4"),
            &[
                ("authorization", "Bearer sk-1"),
                ("host", "proxy.example"),
                ("origin", "https://app.example"),
            ],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}

#[tokio::test]
async fn the_no_authentication_guard_checks_the_real_listener_on_reload() {
    let mock = MockUpstream::start().await.unwrap();
    let upstream = keys("claude-api-key", &mock.base_url(), &["a"]);
    let proxy = Proxy::start(&format!("api-keys: [sk-1]\n{upstream}")).await;
    // As if the server also listened beyond loopback (a listener the program passed in).
    proxy
        .runtime()
        .add_listener("192.0.2.10:8317".parse().unwrap(), None);
    // The config says loopback, but a real listener is not: removing the keys is refused.
    let status = proxy.rewrite_config(&upstream).await;
    assert_eq!(status.generation, 1);
    let error = status.last_error.expect("refused");
    assert!(error.contains("without client authentication"), "{error}");
    let reply = proxy.claude_turn().await;
    assert_eq!(reply.status, 401, "still authenticated");
}

#[tokio::test]
async fn serving_an_unauthenticated_config_beyond_loopback_is_refused() {
    let listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let error = Proxy::try_start_with("host: 127.0.0.1\n", |options| {
        options.with_listener(listener)
    })
    .await
    .err()
    .expect("refused")
    .to_string();
    assert!(error.contains("without client authentication"), "{error}");
}

#[tokio::test]
async fn a_host_or_port_change_applies_the_rest_and_asks_for_a_restart() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&format!(
        "remote-management:\n  secret-key: mgmt\napi-keys: [sk-1]\n{}",
        keys("claude-api-key", &mock.base_url(), &["a"])
    ))
    .await;
    let status = proxy
        .rewrite_config(&format!(
            "port: 1\nremote-management:\n  secret-key: mgmt\napi-keys: [sk-2]\n{}",
            keys("claude-api-key", &mock.base_url(), &["a"])
        ))
        .await;
    assert_eq!(status.generation, 2, "{:?}", status.last_error);
    assert_eq!(status.restart_required, ["port"]);
    let reply = proxy
        .post_with(
            "/v1/messages",
            &messages("claude-sonnet-4"),
            &[("authorization", "Bearer sk-2")],
        )
        .await;
    assert_eq!(reply.status, 200, "the rest applied");
    let reload = proxy
        .request(reqwest::Method::GET, "/v0/management/reload")
        .header("authorization", "Bearer mgmt")
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(reload["restart-required"], json!(["port"]));
    assert_eq!(reload["generation"], 2);
}
