//! The routes three SDKs share: `POST /v1/models/{model}:{action}` (the Gemini API's `v1`,
//! google-genai's default) behaves like its `v1beta` twin, and `GET /v1/models[/{model}]`
//! answers in the caller's shape — Gemini's for a Google key without `Authorization`,
//! Anthropic's for `anthropic-version` or Claude Code, OpenAI's otherwise — with that shape's
//! 404 for an unknown model.

use serde_json::{Value, json};
use switchyard_mock::MockUpstream;

use crate::harness::{Proxy, Reply, read};

const KEY: &str = "sk-routes";

fn config(mock: &str) -> String {
    format!(
        "api-keys: [{KEY}]\n\
         claude-api-key:\n  - api-key: c\n    base-url: {mock}\n\
         codex-api-key:\n  - api-key: o\n    base-url: {mock}/v1\n\
         gemini-api-key:\n  - api-key: g\n    base-url: {mock}\n"
    )
}

fn gemini_body(text: &str) -> Value {
    json!({ "contents": [{ "role": "user", "parts": [{ "text": text }] }] })
}

/// A request to `path` with `headers` (the client key is among them, or in the query).
async fn send(
    proxy: &Proxy,
    method: reqwest::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Reply {
    let mut request = proxy.request(method, path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    read(request.send().await.expect("request sent")).await
}

const GOOGLE: &[(&str, &str)] = &[("x-goog-api-key", KEY)];

#[tokio::test]
async fn gemini_v1_routes_behave_like_their_v1beta_twins() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock.base_url())).await;
    let post = reqwest::Method::POST;
    for version in ["v1beta", "v1"] {
        let generate = send(
            &proxy,
            post.clone(),
            &format!("/{version}/models/gemini-2.5-pro:generateContent"),
            GOOGLE,
            Some(&gemini_body("hello")),
        )
        .await;
        assert_eq!(generate.status, 200, "{version}: {}", generate.text());
        assert_eq!(
            generate.json()["candidates"][0]["content"]["parts"][0]["text"],
            "mock reply via g to: hello",
            "{version}"
        );
        let stream = send(
            &proxy,
            post.clone(),
            &format!("/{version}/models/gemini-2.5-pro:streamGenerateContent?alt=sse"),
            GOOGLE,
            Some(&gemini_body("stream")),
        )
        .await;
        assert_eq!(stream.status, 200, "{version}: {}", stream.text());
        assert_eq!(stream.header("content-type"), Some("text/event-stream"));
        assert!(stream.text().starts_with("data: "), "{}", stream.text());
        // Without alt=sse: Gemini's JSON array.
        let array = send(
            &proxy,
            post.clone(),
            &format!("/{version}/models/gemini-2.5-pro:streamGenerateContent"),
            GOOGLE,
            Some(&gemini_body("array")),
        )
        .await;
        assert_eq!(array.status, 200, "{version}: {}", array.text());
        assert!(array.json().is_array(), "{}", array.text());
        let count = send(
            &proxy,
            post.clone(),
            &format!("/{version}/models/gemini-2.5-pro:countTokens"),
            GOOGLE,
            Some(&gemini_body("count me")),
        )
        .await;
        assert_eq!(count.status, 200, "{version}: {}", count.text());
        assert!(count.json()["totalTokens"].as_u64().unwrap() > 0);
        // The same refusals: an unknown action, a model of another protocol, no key.
        let unknown_action = send(
            &proxy,
            post.clone(),
            &format!("/{version}/models/gemini-2.5-pro:predict"),
            GOOGLE,
            Some(&gemini_body("x")),
        )
        .await;
        assert_eq!(unknown_action.status, 400, "{}", unknown_action.text());
        let claude = send(
            &proxy,
            post.clone(),
            &format!("/{version}/models/claude-sonnet-4:generateContent"),
            GOOGLE,
            Some(&gemini_body("x")),
        )
        .await;
        // A Claude model reached in Gemini's protocol: translated.
        assert_eq!(claude.status, 200, "{}", claude.text());
        assert!(claude.json()["candidates"][0]["content"]["parts"].is_array());
        let no_key = send(
            &proxy,
            post.clone(),
            &format!("/{version}/models/gemini-2.5-pro:generateContent"),
            &[],
            Some(&gemini_body("x")),
        )
        .await;
        assert_eq!(no_key.status, 401, "{}", no_key.text());
        // The key in the query, as some Gemini clients send it.
        let query_key = send(
            &proxy,
            post.clone(),
            &format!("/{version}/models/gemini-2.5-pro:generateContent?key={KEY}"),
            &[],
            Some(&gemini_body("query key")),
        )
        .await;
        assert_eq!(query_key.status, 200, "{}", query_key.text());
    }
    // Both versions reach the upstream on its one (v1beta) path (the Claude model: on
    // Anthropic's, translated).
    let paths: Vec<String> = mock
        .requests()
        .into_iter()
        .map(|r| r.path)
        .filter(|p| p != "/v1/messages")
        .collect();
    let generate = "/v1beta/models/gemini-2.5-pro:generateContent";
    assert_eq!(
        paths.iter().filter(|p| *p == generate).count(),
        4,
        "{paths:?}"
    );
    assert!(
        paths.iter().all(|p| p.starts_with("/v1beta/models/")),
        "{paths:?}"
    );
}

/// `GET path` with `headers`, as JSON with its status.
async fn get(proxy: &Proxy, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let reply = send(proxy, reqwest::Method::GET, path, headers, None).await;
    (reply.status, reply.json())
}

fn ids(list: &Value, key: &str, field: &str) -> Vec<String> {
    list[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} array in {list}"))
        .iter()
        .map(|m| m[field].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn v1_models_answer_in_the_callers_shape() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock.base_url())).await;
    let bearer = format!("Bearer {KEY}");

    // OpenAI's: every model, as `{object: list, data: [{id, object: model, created, owned_by}]}`.
    let (status, openai) = get(&proxy, "/v1/models", &[("authorization", &bearer)]).await;
    assert_eq!(status, 200);
    assert_eq!(openai["object"], "list");
    let listed = ids(&openai, "data", "id");
    for id in ["claude-sonnet-4", "gpt-5", "gemini-2.5-pro"] {
        assert!(listed.iter().any(|m| m == id), "{id} in {listed:?}");
    }
    assert_eq!(openai["data"][0]["object"], "model");
    // A stray Google key beside Authorization does not change it.
    let (_, still_openai) = get(
        &proxy,
        &format!("/v1/models?key={KEY}"),
        &[("authorization", &bearer), ("x-goog-api-key", KEY)],
    )
    .await;
    assert_eq!(still_openai["object"], "list", "{still_openai}");

    // Gemini's, for x-goog-api-key or ?key= without Authorization: every model (a client of
    // any protocol reaches every model, translated).
    for (path, headers) in [
        ("/v1/models".to_owned(), GOOGLE),
        (format!("/v1/models?key={KEY}"), &[][..]),
    ] {
        let (status, gemini) = get(&proxy, &path, headers).await;
        assert_eq!(status, 200, "{path}: {gemini}");
        let names = ids(&gemini, "models", "name");
        assert!(
            names.contains(&"models/gemini-2.5-pro".to_owned()),
            "{names:?}"
        );
        assert!(
            names.contains(&"models/claude-sonnet-4".to_owned())
                && names.contains(&"models/gpt-5".to_owned()),
            "{names:?}"
        );
        assert!(gemini["models"][0]["supportedGenerationMethods"].is_array());
        assert_eq!(
            gemini,
            get(&proxy, "/v1beta/models", GOOGLE).await.1,
            "the v1beta list"
        );
    }

    // Anthropic's, for anthropic-version or Claude Code's User-Agent: every model too.
    for headers in [
        &[("x-api-key", KEY), ("anthropic-version", "2023-06-01")][..],
        &[
            ("x-api-key", KEY),
            ("user-agent", "claude-cli/2.1.0 (external, cli)"),
        ][..],
    ] {
        let (status, claude) = get(&proxy, "/v1/models", headers).await;
        assert_eq!(status, 200, "{claude}");
        let listed = ids(&claude, "data", "id");
        assert!(listed.contains(&"claude-sonnet-4".to_owned()), "{listed:?}");
        assert!(
            listed.contains(&"gemini-2.5-pro".to_owned()) && listed.contains(&"gpt-5".to_owned()),
            "{listed:?}"
        );
        assert_eq!(claude["data"][0]["type"], "model");
        assert_eq!(claude["has_more"], false);
        assert_eq!(claude["first_id"], claude["data"][0]["id"]);
    }
}

#[tokio::test]
async fn one_model_in_the_callers_shape_or_its_404() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock.base_url())).await;
    let bearer = format!("Bearer {KEY}");
    let openai: &[(&str, &str)] = &[("authorization", &bearer)];
    let claude: &[(&str, &str)] = &[("x-api-key", KEY), ("anthropic-version", "2023-06-01")];

    let (status, model) = get(&proxy, "/v1/models/gpt-5", openai).await;
    assert_eq!(status, 200, "{model}");
    assert_eq!(
        model,
        json!({"id": "gpt-5", "object": "model", "created": model["created"], "owned_by": "codex"})
    );
    assert!(model["created"].is_u64());
    let (status, missing) = get(&proxy, "/v1/models/no-such-model", openai).await;
    assert_eq!(status, 404);
    assert_eq!(missing["error"]["code"], "model_not_found", "{missing}");
    assert_eq!(missing["error"]["type"], "invalid_request_error");

    let (status, model) = get(&proxy, "/v1/models/claude-sonnet-4", claude).await;
    assert_eq!(status, 200, "{model}");
    assert_eq!(model["type"], "model");
    assert_eq!(model["id"], "claude-sonnet-4");
    assert!(model["display_name"].is_string() && model["created_at"].is_string());
    // Any served model is retrievable in Anthropic's shape (it is reachable, translated);
    // an unknown one is Anthropic's 404.
    let (status, model) = get(&proxy, "/v1/models/gpt-5", claude).await;
    assert_eq!(status, 200, "{model}");
    assert_eq!(model["type"], "model");
    let (status, missing) = get(&proxy, "/v1/models/no-such-model", claude).await;
    assert_eq!(status, 404);
    assert_eq!(missing["type"], "error", "{missing}");
    assert_eq!(missing["error"]["type"], "not_found_error");

    for path in [
        "/v1/models/gemini-2.5-pro",
        "/v1/models/models/gemini-2.5-pro",
        "/v1beta/models/gemini-2.5-pro",
    ] {
        let (status, model) = get(&proxy, path, GOOGLE).await;
        assert_eq!(status, 200, "{path}: {model}");
        assert_eq!(model["name"], "models/gemini-2.5-pro", "{path}");
    }
    for path in ["/v1/models/gemini-nope", "/v1beta/models/gemini-nope"] {
        let (status, missing) = get(&proxy, path, GOOGLE).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(missing["error"]["status"], "NOT_FOUND", "{path}: {missing}");
        assert_eq!(missing["error"]["code"], 404);
    }
    // Retrieval needs a key like every other route.
    assert_eq!(get(&proxy, "/v1/models/gpt-5", &[]).await.0, 401);
}
