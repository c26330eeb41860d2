//! Logs as the `switchyard` command writes them to a pipe: no colour codes, one JSON object per
//! line with `--log-format json` or `log-format: json`, and one `info` line per request.

use serde_json::{Value, json};
use switchyard_mock::MockUpstream;

use crate::harness::{Binary, client, messages, read};

/// The management key of the configs here.
const SECRET: &str = "logs-admin";

/// A streamed Messages request through `binary` with the request id `id` and the session
/// `session`; its status.
async fn stream(binary: &Binary, id: &str, session: &str) -> u16 {
    let mut body = messages("claude-sonnet-4");
    body["stream"] = json!(true);
    let reply = read(
        client()
            .post(format!("{}/v1/messages", binary.base))
            .header("x-request-id", id)
            .header("x-session-id", session)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(reply.text().contains("message_stop"), "{}", reply.text());
    reply.status
}

fn config(mock: &MockUpstream, extra: &str) -> String {
    format!(
        "host: 127.0.0.1\nport: 0\nremote-management:\n  secret-key: {SECRET}\n\
         routing:\n  session-affinity: true\n\
         claude-api-key:\n  - api-key: key-a\n    base-url: {}\n{extra}",
        mock.base_url()
    )
}

#[tokio::test]
async fn text_logs_to_a_pipe_have_no_colour_codes_and_one_line_per_request() {
    let mock = MockUpstream::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut running = Binary::start(dir.path(), &config(&mock, ""), &[]);
    assert_eq!(stream(&running, "text-1", "conversation").await, 200);
    // A 404 is a request too.
    let missing = client()
        .get(format!("{}/no/such/route", running.base))
        .header("x-request-id", "text-2")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    running.wait_for_line("for text-2", |l| {
        l.contains("text-2") && l.contains("request finished")
    });
    assert!(
        running.seen.iter().all(|l| !l.contains("\x1b[")),
        "colour codes in a pipe:\n{}",
        running.seen.join("\n")
    );
    let info_lines = |id: &str| -> Vec<&String> {
        running
            .seen
            .iter()
            .filter(|l| l.contains(&format!("request_id={id}")) && l.contains(" INFO "))
            .collect()
    };
    let summary = info_lines("text-1");
    assert_eq!(summary.len(), 1, "{summary:?}");
    for field in [
        "switchyard::request",
        "request finished",
        "method=\"POST\"",
        "route=\"/v1/messages\"",
        "model=\"claude-sonnet-4\"",
        "status=200",
        "session=\"miss\"",
        "latency_ms=",
    ] {
        assert!(summary[0].contains(field), "{field} in {}", summary[0]);
    }
    let other = info_lines("text-2");
    assert_eq!(other.len(), 1, "{other:?}");
    assert!(other[0].contains("status=404"), "{}", other[0]);
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_with_the_request_summary() {
    let mock = MockUpstream::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The flag wins over the config.
    let mut running = Binary::start(
        dir.path(),
        &config(&mock, "log-format: text\n"),
        &["--log-format", "json"],
    );
    for id in ["json-1", "json-2"] {
        assert_eq!(stream(&running, id, "one-conversation").await, 200);
        running.wait_for_line(&format!("for {id}"), |l| {
            l.contains(id) && l.contains("request finished")
        });
    }
    let lines: Vec<Value> = running
        .seen
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    for line in &lines {
        for key in ["timestamp", "level", "target", "message"] {
            assert!(line[key].is_string(), "{key} in {line}");
        }
    }
    for (id, session) in [("json-1", "miss"), ("json-2", "hit")] {
        let info: Vec<&Value> = lines
            .iter()
            .filter(|l| l["span"]["request_id"] == id && l["level"] == "INFO")
            .collect();
        assert_eq!(info.len(), 1, "one info line for {id}: {info:?}");
        let summary = info[0];
        assert_eq!(summary["target"], "switchyard::request");
        assert_eq!(summary["message"], "request finished");
        assert_eq!(summary["method"], "POST");
        assert_eq!(summary["route"], "/v1/messages");
        assert_eq!(summary["model"], "claude-sonnet-4");
        assert_eq!(summary["status"], 200);
        assert_eq!(summary["session"], session, "{summary}");
        assert!(summary["latency_ms"].is_u64(), "{summary}");
        let id_of_credential = summary["credential"].as_str().unwrap();
        assert!(!id_of_credential.is_empty() && id_of_credential != "-");
        assert_eq!(summary["span"]["path"], "/v1/messages");
    }
}

#[tokio::test]
async fn a_reload_that_changes_the_log_format_asks_for_a_restart() {
    let mock = MockUpstream::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut running = Binary::start(dir.path(), &config(&mock, "log-format: json\n"), &[]);
    // JSON from the config alone.
    assert_eq!(stream(&running, "reload-1", "s").await, 200);
    running.wait_for_line("for reload-1", |l| {
        l.contains("reload-1") && l.contains("request finished")
    });
    assert!(
        running
            .seen
            .iter()
            .all(|l| serde_json::from_str::<Value>(l).is_ok()),
        "{}",
        running.seen.join("\n")
    );
    let temp = dir.path().join(".config.yaml.tmp");
    std::fs::write(&temp, config(&mock, "log-format: text\n")).unwrap();
    std::fs::rename(&temp, dir.path().join("config.yaml")).unwrap();
    let warning = running.wait_for_line("asking for a restart", |l| {
        l.contains("apply only after a restart")
    });
    let warning: Value = serde_json::from_str(&warning).expect("still JSON");
    assert_eq!(warning["level"], "WARN");
    assert!(
        warning["message"].as_str().unwrap().contains("log-format"),
        "{warning}"
    );
    let reload = read(
        client()
            .get(format!("{}/v0/management/reload", running.base))
            .bearer_auth(SECRET)
            .send()
            .await
            .unwrap(),
    )
    .await
    .json();
    assert_eq!(reload["restart-required"], json!(["log-format"]));
    // Still JSON until the restart.
    assert_eq!(stream(&running, "reload-2", "s").await, 200);
    let line = running.wait_for_line("for reload-2", |l| {
        l.contains("reload-2") && l.contains("request finished")
    });
    assert!(serde_json::from_str::<Value>(&line).is_ok(), "{line}");
}
