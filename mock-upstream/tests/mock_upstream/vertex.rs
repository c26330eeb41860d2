//! The Vertex AI routes: issued bearer tokens required under a project and location, the
//! Anthropic publisher's `rawPredict` rules, and the project-less API-key route.

use serde_json::{Value, json};
use switchyard_mock::{Fault, MockUpstream};

use crate::oauth::{jwt_access_token, mock_with_service_account};
use crate::support::{JsonBody, client, header, json_of, mock, parse_sse, read_stream};

/// The path prefix of a publisher's models in project `p1`, location `us-east5`.
fn publisher(mock: &MockUpstream, name: &str) -> String {
    format!(
        "{}/v1/projects/p1/locations/us-east5/publishers/{name}/models",
        mock.base_url()
    )
}

fn gemini_body() -> Value {
    json!({"contents": [{"role": "user", "parts": [{"text": "hello vertex"}]}]})
}

fn vertex_claude_body(stream: Option<bool>) -> Value {
    let mut body = json!({
        "anthropic_version": "vertex-2023-10-16",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hello claude"}],
    });
    if let Some(stream) = stream {
        body["stream"] = json!(stream);
    }
    body
}

async fn post_bearer(url: &str, token: &str, body: &Value) -> reqwest::Response {
    client()
        .post(url)
        .bearer_auth(token)
        .json_body(body)
        .send()
        .await
        .expect("sending")
}

#[tokio::test]
async fn vertex_gemini_routes_serve_an_issued_token_as_its_subject() {
    let (mock, email, key) = mock_with_service_account().await;
    let token = jwt_access_token(&mock, &email, &key).await;
    let google = publisher(&mock, "google");

    let response = post_bearer(
        &format!("{google}/gemini-2.5-pro:generateContent"),
        &token,
        &gemini_body(),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-mock-credential"), Some(email.as_str()));
    let body: Value = json_of(response).await;
    let text = body["candidates"][0]["content"]["parts"][0]["text"]
        .as_str()
        .unwrap();
    assert_eq!(text, format!("mock reply via {email} to: hello vertex"));

    let response = post_bearer(
        &format!("{google}/gemini-2.5-pro:streamGenerateContent?alt=sse"),
        &token,
        &gemini_body(),
    )
    .await;
    assert_eq!(header(&response, "content-type"), Some("text/event-stream"));
    let (streamed, broken) = read_stream(response).await;
    assert!(!broken);
    assert!(!parse_sse(&streamed).is_empty());

    let response = post_bearer(
        &format!("{google}/gemini-2.5-pro:countTokens"),
        &token,
        &gemini_body(),
    )
    .await;
    let counted: Value = json_of(response).await;
    assert!(counted["totalTokens"].as_u64().unwrap() > 0, "{counted}");

    assert_eq!(mock.request_count_for(&email), 3);
    let recorded = mock.requests();
    assert!(
        recorded[0]
            .path
            .starts_with("/v1/projects/p1/locations/us-east5/")
    );
    assert_eq!(recorded[0].credential.as_deref(), Some(email.as_str()));

    // Faults are keyed by the subject.
    mock.set_fault(&email, Fault::status(429).times(1));
    let response = post_bearer(
        &format!("{google}/gemini-2.5-pro:generateContent"),
        &token,
        &gemini_body(),
    )
    .await;
    assert_eq!(response.status(), 429);
}

#[tokio::test]
async fn vertex_claude_raw_predict_whole_and_streamed() {
    let (mock, email, key) = mock_with_service_account().await;
    let token = jwt_access_token(&mock, &email, &key).await;
    let anthropic = publisher(&mock, "anthropic");

    let response = post_bearer(
        &format!("{anthropic}/claude-sonnet-4-5@20250929:rawPredict"),
        &token,
        &vertex_claude_body(None),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = json_of(response).await;
    assert_eq!(body["type"], "message");
    assert_eq!(body["model"], "claude-sonnet-4-5@20250929");
    assert_eq!(
        body["content"][0]["text"],
        format!("mock reply via {email} to: hello claude")
    );

    let response = post_bearer(
        &format!("{anthropic}/claude-sonnet-4-5@20250929:streamRawPredict"),
        &token,
        &vertex_claude_body(Some(true)),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), Some("text/event-stream"));
    let (streamed, broken) = read_stream(response).await;
    assert!(!broken);
    let events = parse_sse(&streamed);
    assert_eq!(events[0].name.as_deref(), Some("message_start"));
    assert_eq!(events.last().unwrap().name.as_deref(), Some("message_stop"));

    let response = post_bearer(
        &format!("{anthropic}/count-tokens:rawPredict"),
        &token,
        &json!({"model": "claude-sonnet-4-5@20250929", "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let counted: Value = json_of(response).await;
    assert!(counted["input_tokens"].as_u64().unwrap() > 0, "{counted}");
}

#[tokio::test]
async fn vertex_claude_body_rules_are_enforced() {
    let (mock, email, key) = mock_with_service_account().await;
    let token = jwt_access_token(&mock, &email, &key).await;
    let anthropic = publisher(&mock, "anthropic");
    let whole = format!("{anthropic}/claude-x@1:rawPredict");
    let streamed = format!("{anthropic}/claude-x@1:streamRawPredict");
    let mut without_version = vertex_claude_body(None);
    without_version
        .as_object_mut()
        .unwrap()
        .remove("anthropic_version");
    let mut old_version = vertex_claude_body(None);
    old_version["anthropic_version"] = json!("2023-06-01");
    let mut with_model = vertex_claude_body(None);
    with_model["model"] = json!("claude-x@1");
    let cases = [
        (&whole, without_version, "anthropic_version"),
        (&whole, old_version, "anthropic_version"),
        (&whole, with_model, "model"),
        (&whole, vertex_claude_body(Some(true)), "stream"),
        (&streamed, vertex_claude_body(None), "stream"),
        (&streamed, vertex_claude_body(Some(false)), "stream"),
    ];
    for (url, body, named) in cases {
        let response = post_bearer(url, &token, &body).await;
        assert_eq!(response.status(), 400, "{named}: {body}");
        let answer: Value = json_of(response).await;
        assert_eq!(answer["error"]["type"], "invalid_request_error", "{answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(named), "{named}: {message}");
    }
}

#[tokio::test]
async fn expired_tokens_get_401_in_each_protocols_shape() {
    let (mock, email, key) = mock_with_service_account().await;
    let token = jwt_access_token(&mock, &email, &key).await;
    let gemini_url = format!(
        "{}/gemini-2.5-pro:generateContent",
        publisher(&mock, "google")
    );
    let claude_url = format!("{}/claude-x@1:rawPredict", publisher(&mock, "anthropic"));
    let chat_url = format!("{}/v1/chat/completions", mock.base_url());
    let chat = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    assert_eq!(
        post_bearer(&gemini_url, &token, &gemini_body())
            .await
            .status(),
        200
    );

    mock.expire_access_tokens();
    let response = post_bearer(&gemini_url, &token, &gemini_body()).await;
    assert_eq!(response.status(), 401);
    let body: Value = json_of(response).await;
    assert_eq!(body["error"]["code"], 401);
    assert_eq!(body["error"]["status"], "UNAUTHENTICATED");
    let response = post_bearer(&claude_url, &token, &vertex_claude_body(None)).await;
    assert_eq!(response.status(), 401);
    let body: Value = json_of(response).await;
    assert_eq!(body["error"]["type"], "authentication_error");
    let response = post_bearer(&chat_url, &token, &chat).await;
    assert_eq!(response.status(), 401);
    let body: Value = json_of(response).await;
    assert_eq!(body["error"]["code"], "invalid_api_key");
    assert_eq!(mock.token_stats().rejected_bearers, 3);
    assert_eq!(
        mock.request_count_for(&email),
        1,
        "refused requests do not count for the subject"
    );

    let fresh = jwt_access_token(&mock, &email, &key).await;
    assert_eq!(
        post_bearer(&gemini_url, &fresh, &gemini_body())
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn vertex_project_routes_refuse_api_keys_and_unknown_tokens() {
    let mock = mock().await;
    let url = format!(
        "{}/gemini-2.5-pro:generateContent",
        publisher(&mock, "google")
    );
    for (name, value) in [
        ("x-goog-api-key", "AIza-key"),
        ("authorization", "Bearer some-api-key"),
        ("authorization", "Bearer mock-at-424242"),
    ] {
        let response = client()
            .post(&url)
            .header(name, value)
            .json_body(&gemini_body())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{name}: {value}");
        let body: Value = json_of(response).await;
        assert_eq!(body["error"]["status"], "UNAUTHENTICATED");
    }
    let response = client()
        .post(&url)
        .json_body(&gemini_body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    // An ordinary route takes API keys as before, but an unknown issued-looking token is refused.
    let messages = format!("{}/v1/messages", mock.base_url());
    let body = json!({"model": "c", "messages": [{"role": "user", "content": "hi"}]});
    let response = client()
        .post(&messages)
        .header("x-api-key", "plain-key")
        .json_body(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = post_bearer(&messages, "mock-at-424242", &body).await;
    assert_eq!(response.status(), 401);
    let answer: Value = json_of(response).await;
    assert_eq!(answer["error"]["type"], "authentication_error");
}

#[tokio::test]
async fn the_projectless_gemini_route_takes_an_api_key_only() {
    let (mock, email, key) = mock_with_service_account().await;
    let url = format!(
        "{}/v1/publishers/google/models/gemini-2.5-flash:generateContent",
        mock.base_url()
    );
    let response = client()
        .post(&url)
        .header("x-goog-api-key", "vertex-key-1")
        .json_body(&gemini_body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-mock-credential"), Some("vertex-key-1"));

    let token = jwt_access_token(&mock, &email, &key).await;
    let response = post_bearer(&url, &token, &gemini_body()).await;
    assert_eq!(response.status(), 401);
    let body: Value = json_of(response).await;
    assert_eq!(body["error"]["status"], "UNAUTHENTICATED");
    let response = client()
        .post(&url)
        .json_body(&gemini_body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}
