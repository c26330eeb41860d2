//! The per-credential prompt-cache model.

use serde_json::{Value, json};
use switchyard_mock::{CACHE_HEADER, CacheCounts};

use crate::support::{
    IntoJson, JsonBody, chat_body, client, header, json_of, mock, parse_sse, post, read_stream,
};

/// Sends an OpenAI chat turn; returns the reply text, the cache header and the cached tokens.
async fn chat_turn(
    mock: &switchyard_mock::MockUpstream,
    key: &str,
    texts: &[&str],
) -> (String, String, u64) {
    let response = post(
        mock,
        "/v1/chat/completions",
        key,
        &chat_body("m", texts, false),
    )
    .await;
    let cache = header(&response, CACHE_HEADER).unwrap().to_owned();
    let answer: Value = json_of(response).await;
    let reply = answer["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    let cached = answer["usage"]["prompt_tokens_details"]["cached_tokens"]
        .as_u64()
        .unwrap();
    (reply, cache, cached)
}

#[tokio::test]
async fn next_turn_hits_on_the_same_credential_and_misses_elsewhere() {
    let mock = mock().await;
    let (reply, cache, cached) = chat_turn(&mock, "a", &["first question"]).await;
    assert_eq!(
        (cache.as_str(), cached),
        ("none", 0),
        "a first turn has nothing to look up"
    );

    let (_, cache, cached) = chat_turn(&mock, "b", &["first question", &reply, "second"]).await;
    assert_eq!((cache.as_str(), cached), ("miss", 0));

    let (reply2, cache, cached) =
        chat_turn(&mock, "a", &["first question", &reply, "second"]).await;
    assert_eq!(cache, "hit");
    assert!(cached > 0);

    // The third turn continues the second turn's conversation, answered by a.
    let turn3 = ["first question", &reply, "second", &reply2, "third"];
    assert_eq!(chat_turn(&mock, "a", &turn3).await.1, "hit");

    let stats = mock.cache_stats();
    assert_eq!(
        stats.total,
        CacheCounts {
            lookups: 3,
            hits: 2
        }
    );
    assert_eq!(
        stats.per_credential["a"],
        CacheCounts {
            lookups: 2,
            hits: 2
        }
    );
    assert_eq!(
        stats.per_credential["b"],
        CacheCounts {
            lookups: 1,
            hits: 0
        }
    );
    assert_eq!(stats.per_credential["a"].hit_rate(), 1.0);

    mock.reset_cache();
    assert_eq!(mock.cache_stats().total, CacheCounts::default());
    assert_eq!(
        chat_turn(&mock, "a", &turn3).await.1,
        "miss",
        "the cache was emptied"
    );
}

#[tokio::test]
async fn the_reply_is_deterministic_and_its_wording_does_not_matter() {
    let mock = mock().await;
    let (reply, _, _) = chat_turn(&mock, "a", &["same"]).await;
    let (again, _, _) = chat_turn(&mock, "a", &["same"]).await;
    assert_eq!(reply, again);
    // A client that rewrote the assistant text still hits: only the turns it authored count.
    assert_eq!(
        chat_turn(&mock, "a", &["same", "rewritten reply", "next"])
            .await
            .1,
        "hit"
    );
    // A changed user turn is a different conversation.
    assert_eq!(
        chat_turn(&mock, "a", &["other", &reply, "next"]).await.1,
        "miss"
    );
}

#[tokio::test]
async fn every_protocol_hits_on_its_second_turn() {
    let mock = mock().await;

    let first = json!({"model": "claude", "system": "sys", "messages": [{"role": "user", "content": "q1"}]});
    let answer: Value = post(&mock, "/v1/messages", "a", &first)
        .await
        .into_json()
        .await;
    let reply = answer["content"][0]["text"].as_str().unwrap();
    let second = json!({"model": "claude", "system": "sys", "messages": [
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": [{"type": "text", "text": reply}]},
        {"role": "user", "content": "q2"}]});
    let response = post(&mock, "/v1/messages", "a", &second).await;
    assert_eq!(header(&response, CACHE_HEADER), Some("hit"));
    let answer: Value = json_of(response).await;
    assert!(answer["usage"]["cache_read_input_tokens"].as_u64().unwrap() > 0);

    let url = format!("{}/v1beta/models/gem:generateContent", mock.base_url());
    let first = json!({"contents": [{"role": "user", "parts": [{"text": "q1"}]}]});
    let answer: Value = client()
        .post(&url)
        .header("x-goog-api-key", "a")
        .json_body(&first)
        .send()
        .await
        .unwrap()
        .into_json()
        .await;
    let reply = answer["candidates"][0]["content"]["parts"][0]["text"]
        .as_str()
        .unwrap();
    let second = json!({"contents": [
        {"role": "user", "parts": [{"text": "q1"}]},
        {"role": "model", "parts": [{"text": reply}]},
        {"role": "user", "parts": [{"text": "q2"}]}]});
    let response = client()
        .post(&url)
        .header("x-goog-api-key", "a")
        .json_body(&second)
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, CACHE_HEADER), Some("hit"));
    let answer: Value = json_of(response).await;
    assert!(
        answer["usageMetadata"]["cachedContentTokenCount"]
            .as_u64()
            .unwrap()
            > 0
    );

    let first = json!({"model": "gpt-5", "instructions": "sys", "input": "q1"});
    let answer: Value = post(&mock, "/v1/responses", "a", &first)
        .await
        .into_json()
        .await;
    let reply = answer["output"][0]["content"][0]["text"].as_str().unwrap();
    let second = json!({"model": "gpt-5", "instructions": "sys", "input": [
        {"role": "user", "content": "q1"},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": reply}]},
        {"role": "user", "content": [{"type": "input_text", "text": "q2"}]}]});
    let response = post(&mock, "/v1/responses", "a", &second).await;
    assert_eq!(header(&response, CACHE_HEADER), Some("hit"));
    let answer: Value = json_of(response).await;
    assert!(
        answer["usage"]["input_tokens_details"]["cached_tokens"]
            .as_u64()
            .unwrap()
            > 0
    );

    assert_eq!(
        mock.cache_stats().total,
        CacheCounts {
            lookups: 3,
            hits: 3
        }
    );
}

#[tokio::test]
async fn a_streamed_turn_is_cached_but_a_broken_stream_is_not() {
    let mock = mock().await;
    let (text, _) = read_stream(
        post(
            &mock,
            "/v1/chat/completions",
            "a",
            &chat_body("m", &["s1"], true),
        )
        .await,
    )
    .await;
    let reply: String = parse_sse(&text)
        .iter()
        .filter(|event| event.data != "[DONE]")
        .filter_map(|event| {
            event.json()["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    let response = post(
        &mock,
        "/v1/chat/completions",
        "a",
        &chat_body("m", &["s1", &reply, "s2"], true),
    )
    .await;
    assert_eq!(header(&response, CACHE_HEADER), Some("hit"));
    read_stream(response).await;

    mock.set_fault("a", switchyard_mock::Fault::close_after(1).times(1));
    let response = post(
        &mock,
        "/v1/chat/completions",
        "a",
        &chat_body("m", &["t1"], true),
    )
    .await;
    let (_, aborted) = read_stream(response).await;
    assert!(aborted);
    assert_eq!(chat_turn(&mock, "a", &["t1", "r", "t2"]).await.1, "miss");
}

#[tokio::test]
async fn affinity_hits_every_later_turn_round_robin_rarely() {
    const CREDENTIALS: [&str; 4] = ["c0", "c1", "c2", "c3"];
    let mock = mock().await;
    let mut turn_counter = 0usize;
    for sticky in [true, false] {
        mock.reset_cache();
        for session in 0..6 {
            let mut texts: Vec<String> = Vec::new();
            for turn in 0..4 {
                texts.push(format!("session {session} sticky {sticky} turn {turn}"));
                let key = if sticky {
                    CREDENTIALS[session % CREDENTIALS.len()]
                } else {
                    turn_counter += 1;
                    CREDENTIALS[turn_counter % CREDENTIALS.len()]
                };
                let borrowed: Vec<&str> = texts.iter().map(String::as_str).collect();
                let (reply, _, _) = chat_turn(&mock, key, &borrowed).await;
                texts.push(reply);
            }
        }
        let total = mock.cache_stats().total;
        assert_eq!(total.lookups, 6 * 3);
        if sticky {
            assert_eq!(total.hits, total.lookups);
        } else {
            assert_eq!(
                total.hits, 0,
                "strict rotation never returns to the previous credential"
            );
        }
    }
}
