//! `GET /v0/management/history`: requests through the proxy land in the current 10 s window
//! with their errors, tokens and latencies, and move back a window when the clock moves 10 s.

use std::time::{Duration, SystemTime};

use serde_json::Value;
use switchyard_mock::{Fault, MockUpstream};

use crate::harness::{Proxy, Reply, messages, read};

const SECRET: &str = "history-admin";

/// The upstream's delay for every answer, so its part of the latency is known from below.
const UPSTREAM_DELAY: Duration = Duration::from_millis(30);

fn config(mock: &MockUpstream, statistics: bool) -> String {
    format!(
        "usage-statistics-enabled: {statistics}\nremote-management:\n  secret-key: {SECRET}\n\
         claude-api-key:\n  - api-key: a\n    base-url: {}\n",
        mock.base_url()
    )
}

/// `GET /v0/management/history{query}` with `key`.
async fn history_with(proxy: &Proxy, query: &str, key: Option<&str>) -> Reply {
    let mut request = proxy
        .client
        .get(proxy.url(&format!("/v0/management/history{query}")));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    read(request.send().await.expect("request sent")).await
}

/// The history's buckets, after checking the answer's shape.
async fn buckets(proxy: &Proxy, query: &str) -> Vec<Value> {
    let reply = history_with(proxy, query, Some(SECRET)).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["bucket_seconds"], 10);
    let buckets = body["buckets"].as_array().unwrap().clone();
    // Consecutive windows, oldest first.
    let starts: Vec<SystemTime> = buckets.iter().map(start).collect();
    for pair in starts.windows(2) {
        assert_eq!(
            pair[1].duration_since(pair[0]).unwrap(),
            Duration::from_secs(10)
        );
    }
    buckets
}

fn start(bucket: &Value) -> SystemTime {
    let text = bucket["start"].as_str().unwrap();
    parse_start(text)
}

/// Reads `YYYY-MM-DDTHH:MM:SSZ` (the history's own format) as a time.
fn parse_start(text: &str) -> SystemTime {
    let n = |range: std::ops::Range<usize>| text[range].parse::<u64>().unwrap();
    assert_eq!(text.len(), 20, "{text}");
    assert!(text.ends_with('Z'), "{text}");
    let (year, month, day) = (n(0..4), n(5..7), n(8..10));
    // Days since the epoch (proleptic Gregorian, years from 1970).
    let leap = |y: u64| (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let mut days: u64 = (1970..year).map(|y| if leap(y) { 366 } else { 365 }).sum();
    let lengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    for m in 1..month {
        days += lengths[(m - 1) as usize] + u64::from(m == 2 && leap(year));
    }
    days += day - 1;
    let seconds = days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19);
    SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
}

/// The start of the 10 s window holding `time`.
fn window_start(time: SystemTime) -> SystemTime {
    let seconds = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    SystemTime::UNIX_EPOCH + Duration::from_secs(seconds / 10 * 10)
}

fn count(bucket: &Value, field: &str) -> u64 {
    bucket[field].as_u64().unwrap()
}

fn sum(buckets: &[Value], field: &str) -> u64 {
    buckets.iter().map(|b| count(b, field)).sum()
}

#[tokio::test]
async fn proxied_requests_fill_the_current_window_and_move_back_with_the_clock() {
    let mock = MockUpstream::start().await.unwrap();
    mock.set_fault("a", Fault::delay(UPSTREAM_DELAY));
    let proxy = Proxy::start(&config(&mock, true)).await;
    let first_window = window_start(proxy.runtime().clock.now());

    let (mut input, mut output) = (0, 0);
    for _ in 0..3 {
        let reply = proxy.claude_turn().await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        let usage = &reply.json()["usage"];
        input += usage["input_tokens"].as_u64().unwrap();
        output += usage["output_tokens"].as_u64().unwrap();
    }
    assert!(input > 0 && output > 0);
    // Two errors: a model no credential serves (no upstream), and an upstream's 400.
    let unknown = proxy.post("/v1/messages", &messages("no-such-model")).await;
    assert!(unknown.status >= 400, "{}", unknown.text());
    mock.set_fault("a", Fault::status(400).with_delay(UPSTREAM_DELAY));
    let refused = proxy.claude_turn().await;
    assert_eq!(refused.status, 400, "{}", refused.text());

    let before = buckets(&proxy, "").await;
    assert_eq!(before.len(), 90);
    // The requests are in the window they finished in: the current one (or, when a real
    // 10 s boundary passed meanwhile, the one before it).
    let (earlier, recent): (Vec<Value>, Vec<Value>) = before
        .iter()
        .cloned()
        .partition(|b| start(b) < first_window);
    assert!(!recent.is_empty() && recent.len() <= 2, "{recent:?}");
    assert_eq!(sum(&recent, "requests"), 5, "{recent:?}");
    assert_eq!(sum(&recent, "errors"), 2, "{recent:?}");
    assert_eq!(sum(&recent, "input_tokens"), input);
    assert_eq!(sum(&recent, "output_tokens"), output);
    for bucket in recent.iter().filter(|b| count(b, "requests") > 0) {
        // Every upstream answer took at least the mock's delay (the reading is within 1/16).
        let upstream = bucket["upstream_ms"]["p50"].as_f64().unwrap();
        assert!(upstream >= 28.0, "{bucket}");
        assert!(
            bucket["latency_ms"]["p99"].as_f64().unwrap() >= 28.0,
            "{bucket}"
        );
        assert!(
            bucket["added_ms"]["p50"].as_f64().unwrap() >= 0.0,
            "{bucket}"
        );
    }
    // Earlier windows are empty: zeros, and no quantiles.
    for bucket in &earlier {
        assert_eq!(count(bucket, "requests"), 0, "{bucket}");
        assert_eq!(count(bucket, "input_tokens"), 0, "{bucket}");
        for latency in ["latency_ms", "upstream_ms", "added_ms"] {
            assert!(bucket[latency]["p50"].is_null(), "{bucket}");
            assert!(bucket[latency]["p99"].is_null(), "{bucket}");
        }
    }
    // The totals agree with the usage report's.
    let usage = read(
        proxy
            .client
            .get(proxy.url("/v0/management/usage"))
            .bearer_auth(SECRET)
            .send()
            .await
            .unwrap(),
    )
    .await
    .json();
    assert_eq!(
        usage["total"]["input_tokens"].as_u64(),
        Some(input),
        "{usage}"
    );

    // Ten seconds later the same windows hold the same counts, one place (or more, should a
    // real boundary pass) further back, and the current window is empty.
    proxy.clock.advance(Duration::from_secs(10));
    let after = buckets(&proxy, "").await;
    assert_eq!(after.len(), 90);
    assert_eq!(count(after.last().unwrap(), "requests"), 0);
    assert!(start(after.last().unwrap()) > start(before.last().unwrap()));
    let busiest = before
        .iter()
        .position(|b| count(b, "requests") > 0)
        .unwrap();
    let moved = after
        .iter()
        .position(|b| start(b) == start(&before[busiest]))
        .unwrap();
    assert!(moved < busiest, "{moved} !< {busiest}");
    assert_eq!(after[moved], before[busiest]);
    assert_eq!(sum(&after, "requests"), 5);

    // Fewer windows: the newest ones; a count out of range is refused.
    let three = buckets(&proxy, "?buckets=3").await;
    assert_eq!(three.len(), 3);
    assert!(start(&three[2]) >= start(after.last().unwrap()));
    for bad in ["0", "91", "x", "-1"] {
        let reply = history_with(&proxy, &format!("?buckets={bad}"), Some(SECRET)).await;
        assert_eq!(reply.status, 400, "{bad}: {}", reply.text());
    }
}

#[tokio::test]
async fn the_history_needs_the_management_key() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock, false)).await;
    assert_eq!(history_with(&proxy, "", None).await.status, 401);
    assert_eq!(history_with(&proxy, "", Some("wrong")).await.status, 401);
    assert_eq!(history_with(&proxy, "", Some(SECRET)).await.status, 200);
}

#[tokio::test]
async fn requests_count_without_usage_statistics_but_their_tokens_do_not() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock, false)).await;
    for _ in 0..2 {
        assert_eq!(proxy.claude_turn().await.status, 200);
    }
    let buckets = buckets(&proxy, "").await;
    assert_eq!(sum(&buckets, "requests"), 2);
    assert_eq!(sum(&buckets, "errors"), 0);
    // Upstream usage blocks are read only with usage statistics (or hooks) on.
    assert_eq!(sum(&buckets, "input_tokens"), 0);
    let current = buckets
        .iter()
        .rev()
        .find(|b| count(b, "requests") > 0)
        .unwrap();
    assert!(current["upstream_ms"]["p50"].is_number(), "{current}");
}
