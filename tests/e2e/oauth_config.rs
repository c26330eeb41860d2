//! OAuth client credentials in the provider lists of the management API: the client secret is
//! masked in answers, and a masked value sent back keeps the stored secret in `config.yaml`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Proxy, Reply, read};

const SECRET: &str = "s3cret-admin";
const CLIENT_SECRET: &str = "cs-0123456789";
/// Nothing listens there: no token is ever fetched in these tests.
const TOKEN_URL: &str = "http://127.0.0.1:9/token";

async fn admin(proxy: &Proxy, method: Method, path: &str, body: Option<Value>) -> Reply {
    let mut request = proxy
        .request(method, &format!("/v0/management{path}"))
        .bearer_auth(SECRET);
    if let Some(body) = body {
        request = request.json(&body);
    }
    read(request.send().await.expect("request sent")).await
}

fn config_text(proxy: &Proxy) -> String {
    std::fs::read_to_string(proxy.config_path()).unwrap()
}

fn oauth_block(indent: &str) -> String {
    format!(
        "{indent}oauth:\n{indent}  token-url: {TOKEN_URL}\n{indent}  client-id: app-1\n\
         {indent}  client-secret: {CLIENT_SECRET}\n{indent}  scope: api.default\n"
    )
}

async fn start() -> Proxy {
    Proxy::start(&format!(
        "remote-management:\n  secret-key: {SECRET}\n\
         codex-api-key:\n  - base-url: http://127.0.0.1:9/v1\n{}\
         openai-compatibility:\n  - name: azure\n    base-url: http://127.0.0.1:9/openai/v1\n\
         \x20   models: [{{name: gpt-4o}}]\n{}",
        oauth_block("    "),
        oauth_block("    "),
    ))
    .await
}

#[tokio::test]
async fn provider_lists_mask_the_client_secret_and_a_masked_patch_keeps_it() {
    let proxy = start().await;
    for (list, path) in [
        ("codex-api-key", "/codex-api-key"),
        ("openai-compatibility", "/openai-compatibility"),
    ] {
        let listed = admin(&proxy, Method::GET, path, None).await;
        assert_eq!(listed.status, 200, "{}", listed.text());
        let oauth = listed.json()[list][0]["oauth"].clone();
        assert_eq!(
            oauth,
            json!({
                "token-url": TOKEN_URL,
                "client-id": "app-1",
                "client-secret": "****6789",
                "scope": "api.default",
            }),
            "{list}"
        );
        assert!(!listed.text().contains(CLIENT_SECRET));

        // The masked value sent back with another change keeps the secret.
        let patched = admin(
            &proxy,
            Method::PATCH,
            path,
            Some(json!({
                "index": 0,
                "value": { "oauth": { "client-secret": "****6789", "scope": format!("{list}.read") } },
            })),
        )
        .await;
        assert_eq!(patched.status, 200, "{}", patched.text());
        let text = config_text(&proxy);
        assert_eq!(text.matches(CLIENT_SECRET).count(), 2, "{text}");
        assert!(text.contains(&format!("scope: {list}.read")), "{text}");
        assert!(!text.contains("****"), "{text}");

        // A mask of no stored secret is refused and nothing is written.
        let refused = admin(
            &proxy,
            Method::PATCH,
            path,
            Some(json!({ "index": 0, "value": { "oauth": { "client-secret": "****0000" } } })),
        )
        .await;
        assert_eq!(refused.status, 400, "{}", refused.text());
        assert_eq!(config_text(&proxy), text);
    }
}

#[tokio::test]
async fn a_put_of_the_listed_entries_keeps_the_secret_and_a_new_one_replaces_it() {
    let proxy = start().await;
    let listed = admin(&proxy, Method::GET, "/codex-api-key", None)
        .await
        .json();
    let mut items = listed["codex-api-key"].clone();
    items[0]["priority"] = json!(2);
    let put = admin(&proxy, Method::PUT, "/codex-api-key", Some(items.clone())).await;
    assert_eq!(put.status, 200, "{}", put.text());
    let text = config_text(&proxy);
    assert_eq!(text.matches(CLIENT_SECRET).count(), 2, "{text}");
    assert!(!text.contains("****"), "{text}");
    assert!(text.contains("priority: 2"), "{text}");

    let patched = admin(
        &proxy,
        Method::PATCH,
        "/codex-api-key",
        Some(json!({ "index": 0, "value": { "oauth": { "client-secret": "cs-rotated-4242" } } })),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.text());
    let text = config_text(&proxy);
    assert!(text.contains("cs-rotated-4242"), "{text}");
    assert_eq!(
        text.matches(CLIENT_SECRET).count(),
        1,
        "the other list's is kept"
    );
    let listed = admin(&proxy, Method::GET, "/codex-api-key", None)
        .await
        .json();
    assert_eq!(
        listed["codex-api-key"][0]["oauth"]["client-secret"],
        "****4242"
    );

    // An oauth entry sent with an api-key too is refused by validation; the file stays.
    items[0]["api-key"] = json!("sk-1");
    items[0]["oauth"]["client-secret"] = json!("cs-rotated-4242");
    let both = admin(&proxy, Method::PUT, "/codex-api-key", Some(items)).await;
    assert_eq!(both.status, 422, "{}", both.text());
    assert!(both.text().contains("not both"), "{}", both.text());
    assert_eq!(config_text(&proxy), text);
}
