//! The first-party custom scheme `plugins/jwt-hs256`, dropped into the plugins folder and
//! chained after `config-api-key`: either credential works. Tokens are minted by
//! `harness::jwt` with the same HMAC crates, relative to the proxy's clock (the plugin checks times against the
//! request's arrival time, which comes from that clock).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use switchyard::test_util::clock::Clock;
use switchyard::test_util::plugin::ServiceState;
use switchyard_mock::MockUpstream;

use crate::harness::jwt::{SECRET, mint, unix};
use crate::harness::plugins::config;
use crate::harness::{Proxy, guests, messages};

const SSO: &str = "    - name: sso\n      type: jwt-hs256\n      config:\n        secret: s3cret-s3cret-s3cret-s3cret-0123\n        issuer: https://id.example.com\n        audience: switchyard\n        leeway-seconds: 5\n        principal-claim: email\n";

async fn call(proxy: &Proxy, headers: &[(&str, &str)]) -> (u16, Value) {
    let reply = proxy
        .post_with("/v1/messages", &messages("claude-sonnet-4"), headers)
        .await;
    let body = serde_json::from_slice(&reply.body).unwrap_or(json!(reply.text()));
    (reply.status, body)
}

async fn with_token(proxy: &Proxy, token: &str) -> u16 {
    call(proxy, &[("authorization", &format!("Bearer {token}"))])
        .await
        .0
}

#[tokio::test]
async fn jwt_tokens_and_api_keys_both_admit() {
    let mock = MockUpstream::start().await.unwrap();
    let plugins = tempfile::tempdir().unwrap();
    std::fs::write(
        plugins.path().join("jwt-hs256.wasm"),
        guests::JWT_HS256.bytes(),
    )
    .unwrap();
    let proxy = Proxy::start(&format!(
        "api-keys: [sk-1]\n{}",
        config(&mock, plugins.path(), "", SSO)
    ))
    .await;
    let now = unix(proxy.clock.now());
    let claims = |changes: Value| {
        let mut claims = json!({
            "iss": "https://id.example.com",
            "aud": "switchyard",
            "email": "alice@example.com",
            "exp": now + 300,
            "nbf": now - 10,
        });
        for (key, value) in changes.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(key);
            } else {
                claims[key] = value.clone();
            }
        }
        claims
    };
    let valid = mint(&claims(json!({})), SECRET);

    assert_eq!(with_token(&proxy, &valid).await, 200);
    assert_eq!(call(&proxy, &[("x-api-key", "sk-1")]).await.0, 200);
    assert_eq!(
        with_token(
            &proxy,
            &mint(&claims(json!({"aud": ["other", "switchyard"]})), SECRET)
        )
        .await,
        200,
        "an audience list naming ours"
    );
    assert_eq!(
        with_token(&proxy, &mint(&claims(json!({"exp": now - 2})), SECRET)).await,
        200,
        "expired within the leeway"
    );
    for (case, token) in [
        ("expired", mint(&claims(json!({"exp": now - 60})), SECRET)),
        (
            "not yet valid",
            mint(&claims(json!({"nbf": now + 60})), SECRET),
        ),
        (
            "wrong issuer",
            mint(&claims(json!({"iss": "https://evil.example"})), SECRET),
        ),
        (
            "wrong audience",
            mint(&claims(json!({"aud": "other"})), SECRET),
        ),
        ("no audience", mint(&claims(json!({"aud": null})), SECRET)),
        ("no expiry", mint(&claims(json!({"exp": null})), SECRET)),
        (
            "no principal claim",
            mint(&claims(json!({"email": null})), SECRET),
        ),
        (
            "wrong signature",
            mint(&claims(json!({})), "another-secret-another-secret-00"),
        ),
        (
            "alg none",
            format!(
                "{}.{}.AAAA",
                URL_SAFE_NO_PAD.encode(json!({"alg": "none"}).to_string()),
                URL_SAFE_NO_PAD.encode(claims(json!({})).to_string())
            ),
        ),
    ] {
        assert_eq!(
            call(&proxy, &[("authorization", &format!("Bearer {token}"))]).await,
            (401, json!({ "error": "Invalid API key" })),
            "{case}"
        );
    }
    assert_eq!(
        call(&proxy, &[]).await,
        (401, json!({ "error": "Missing API key" })),
        "no credential at all"
    );
    assert_eq!(
        call(&proxy, &[("authorization", "Bearer sk-wrong")]).await,
        (401, json!({ "error": "Invalid API key" })),
        "a wrong API key is no token, and config-api-key calls it invalid"
    );
    // A wrong token does not stop a right key.
    let (code, _) = call(
        &proxy,
        &[
            ("authorization", "Bearer e30.e30.AAAA"),
            ("x-api-key", "sk-1"),
        ],
    )
    .await;
    assert_eq!(code, 200);

    // The arrival time is the proxy's clock: move it past the expiry and the same token fails.
    proxy.clock.advance(Duration::from_secs(310));
    assert_eq!(with_token(&proxy, &valid).await, 401);

    let status = proxy
        .runtime()
        .plugin_status()
        .into_iter()
        .find(|s| s.name == "jwt-hs256.wasm")
        .unwrap();
    assert_eq!(status.state, ServiceState::Active);
    assert_eq!(status.instances, ["sso"]);
    assert!(status.calls >= 10, "{status:?}");
    assert_eq!(status.faults, 0);
}

#[tokio::test]
async fn bad_jwt_settings_are_rejected_with_a_clear_message() {
    let mock = MockUpstream::start().await.unwrap();
    let plugins = tempfile::tempdir().unwrap();
    std::fs::write(
        plugins.path().join("jwt-hs256.wasm"),
        guests::JWT_HS256.bytes(),
    )
    .unwrap();
    let good = format!(
        "api-keys: [sk-1]\n{}",
        config(&mock, plugins.path(), "", SSO)
    );
    let proxy = Proxy::start(&good).await;
    for (settings, message) in [
        (
            "{secret: short}",
            "secret is 5 bytes; HS256 needs at least 32",
        ),
        ("{}", "secret is required"),
        (
            "{secret: s3cret-s3cret-s3cret-s3cret-0123, issuers: x}",
            "unknown setting \"issuers\"",
        ),
        (
            "{secret: s3cret-s3cret-s3cret-s3cret-0123, leeway-seconds: -5}",
            "leeway-seconds must be a whole number",
        ),
    ] {
        let status = proxy
            .rewrite_config(&format!(
                "api-keys: [sk-1]\n{}",
                config(
                    &mock,
                    plugins.path(),
                    "",
                    &format!("    - name: sso\n      type: jwt-hs256\n      config: {settings}\n")
                )
            ))
            .await;
        assert_eq!(status.generation, 1, "{settings}");
        let error = status.last_error.unwrap();
        assert!(
            error.contains("sso")
                && error.contains("rejected its settings")
                && error.contains(message),
            "{settings}: {error}"
        );
    }
    // The running chain is untouched.
    let now = unix(proxy.clock.now());
    let token = mint(
        &json!({"iss": "https://id.example.com", "aud": "switchyard", "email": "a@b", "exp": now + 60}),
        SECRET,
    );
    assert_eq!(with_token(&proxy, &token).await, 200);
}
