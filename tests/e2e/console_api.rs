//! The management API pieces the console's views read: enabling and disabling a config
//! credential through `excluded-models`, config refusals with their line, plugin call times and
//! quarantine ends, the reload history, and the affinity pick counts of `/sessions`.

use std::time::{Duration, SystemTime};

use reqwest::Method;
use serde_json::{Value, json};
use switchyard_mock::MockUpstream;

use crate::harness::{Proxy, Reply, guests, messages, read, trap_from_four_clients};

const SECRET: &str = "s3cret-admin";

fn managed(extra: &str) -> String {
    format!("remote-management:\n  allow-remote: false\n  secret-key: {SECRET}\n{extra}")
}

/// A local management request with the right key.
async fn admin(proxy: &Proxy, method: Method, path: &str, body: Option<Value>) -> Reply {
    let mut request = proxy
        .client
        .request(method, proxy.url(&format!("/v0/management{path}")))
        .bearer_auth(SECRET);
    if let Some(body) = body {
        request = request.json(&body);
    }
    read(request.send().await.expect("request sent")).await
}

/// `PUT /config.yaml` with `text`.
async fn put_config(proxy: &Proxy, text: String) -> Reply {
    read(
        proxy
            .client
            .put(proxy.url("/v0/management/config.yaml"))
            .bearer_auth(SECRET)
            .body(text)
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn config_text(proxy: &Proxy) -> String {
    std::fs::read_to_string(proxy.config_path()).unwrap()
}

/// The entry of `GET /credentials` whose `field` is `value`.
async fn credential_where(proxy: &Proxy, field: &str, value: &str) -> Value {
    let list = admin(proxy, Method::GET, "/credentials", None).await.json();
    list["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c[field] == value)
        .unwrap_or_else(|| panic!("no credential with {field} {value}: {list}"))
        .clone()
}

/// The `excluded-models` of `claude-api-key[index]` in the config file.
fn excluded_models(proxy: &Proxy, index: usize) -> Value {
    let file: Value = serde_yaml_ng::from_str(&config_text(proxy)).unwrap();
    file["claude-api-key"][index]["excluded-models"].clone()
}

#[tokio::test]
async fn a_config_credential_is_disabled_and_enabled_through_excluded_models() {
    let mock = MockUpstream::start().await.unwrap();
    let base = mock.base_url();
    let proxy = Proxy::start(&managed(&format!(
        "routing:\n  strategy: fill-first\n\
         claude-api-key:\n\
         \x20 # the preferred key\n\
         \x20 - api-key: a\n    base-url: {base}\n    priority: 2\n    excluded-models: [claude-opus-*]\n\
         \x20 - api-key: b\n    base-url: {base}\n    priority: 1\n"
    )))
    .await;
    assert_eq!(proxy.claude_turn().await.credential(), "a");
    let a = credential_where(&proxy, "label", "claude-api-key[0]").await;
    assert_eq!(a["state"], "active");
    let id = a["id"].as_str().unwrap().to_owned();

    let disable = admin(
        &proxy,
        Method::PATCH,
        "/auth-files/status",
        Some(json!({ "name": id, "disabled": true })),
    )
    .await;
    assert_eq!(
        (disable.status, disable.json()),
        (
            200,
            json!({ "status": "ok", "disabled": true, "via": "config:excluded-models" })
        )
    );
    // Applied before the answer: the next request avoids it.
    for _ in 0..3 {
        assert_eq!(proxy.claude_turn().await.credential(), "b");
    }
    assert_eq!(excluded_models(&proxy, 0), json!(["claude-opus-*", "*"]));
    assert_eq!(
        excluded_models(&proxy, 1),
        Value::Null,
        "the other entry untouched"
    );
    assert!(config_text(&proxy).contains("  # the preferred key\n"));
    let a = credential_where(&proxy, "id", &id).await;
    assert_eq!(a["state"], "disabled", "{a}");

    let enable = admin(
        &proxy,
        Method::PATCH,
        "/auth-files/status",
        Some(json!({ "name": id, "disabled": false })),
    )
    .await;
    assert_eq!(
        enable.json(),
        json!({ "status": "ok", "disabled": false, "via": "config:excluded-models" })
    );
    assert_eq!(excluded_models(&proxy, 0), json!(["claude-opus-*"]));
    assert!(config_text(&proxy).contains("  # the preferred key\n"));
    assert_eq!(proxy.claude_turn().await.credential(), "a");
    assert_eq!(credential_where(&proxy, "id", &id).await["state"], "active");

    // An entry without the key gets it, and loses it again.
    let b = credential_where(&proxy, "label", "claude-api-key[1]").await;
    let b_id = b["id"].as_str().unwrap();
    let reply = admin(
        &proxy,
        Method::PATCH,
        "/auth-files/status",
        Some(json!({ "name": b_id, "disabled": true })),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(excluded_models(&proxy, 1), json!(["*"]));
    admin(
        &proxy,
        Method::PATCH,
        "/auth-files/status",
        Some(json!({ "name": b_id, "disabled": false })),
    )
    .await;
    assert_eq!(excluded_models(&proxy, 1), Value::Null);
}

#[tokio::test]
async fn a_file_credential_still_toggles_through_its_file_by_name_or_id() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&managed("")).await;
    let file = json!({ "type": "claude", "api_key": "f1", "base_url": mock.base_url() });
    let upload = read(
        proxy
            .client
            .post(proxy.url("/v0/management/auth-files?name=one.json"))
            .bearer_auth(SECRET)
            .body(file.to_string())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(upload.status, 200, "{}", upload.text());
    let saved = || -> Value {
        serde_json::from_slice(&std::fs::read(proxy.auth_dir().join("one.json")).unwrap()).unwrap()
    };
    let by_name = admin(
        &proxy,
        Method::PATCH,
        "/auth-files/status",
        Some(json!({ "name": "one.json", "disabled": true })),
    )
    .await;
    assert_eq!(
        by_name.json(),
        json!({ "status": "ok", "disabled": true }),
        "no via for a file"
    );
    assert_eq!(saved()["disabled"], true);
    assert_eq!(proxy.claude_turn().await.status, 502, "nothing enabled");
    let entry = credential_where(&proxy, "state", "disabled").await;
    let id = entry["id"].as_str().unwrap();
    let by_id = admin(
        &proxy,
        Method::PATCH,
        "/auth-files/status",
        Some(json!({ "name": id, "disabled": false })),
    )
    .await;
    assert_eq!(by_id.json(), json!({ "status": "ok", "disabled": false }));
    assert_eq!(saved()["disabled"], false);
    assert_eq!(proxy.claude_turn().await.credential(), "f1");
    assert!(!config_text(&proxy).contains("excluded-models"));
}

#[tokio::test]
async fn config_refusals_name_their_line_column_and_key() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&managed(&crate::harness::yaml::claude(&mock, &["a"]))).await;
    let original = config_text(&proxy);
    let generation = proxy.runtime().generation().number;
    let lines = original.lines().count();

    // Line `lines + 2`: a mapping value where none may start.
    let syntax = put_config(&proxy, format!("{original}debug: false\nbad: x: y\n")).await;
    assert_eq!(syntax.status, 400, "{}", syntax.text());
    let body = syntax.json();
    assert_eq!(body["error"], "invalid_yaml");
    assert_eq!(body["line"], lines + 2, "{body}");
    assert_eq!(body["column"], 7, "the second colon: {body}");
    assert!(body.get("key").is_none(), "{body}");

    // A value the validation refuses after parsing, on line `lines + 2`, nested.
    let semantic = put_config(&proxy, format!("{original}plugins:\n  max-file-mib: 0\n")).await;
    assert_eq!(semantic.status, 422, "{}", semantic.text());
    let body = semantic.json();
    assert_eq!(
        (&body["error"], &body["line"], &body["column"], &body["key"]),
        (
            &json!("invalid_config"),
            &json!(lines + 2),
            &json!(3),
            &json!("plugins.max-file-mib")
        ),
        "{body}"
    );

    // A value of the wrong type, found by the deserializer, on line `lines + 1`.
    let typed = put_config(&proxy, format!("{original}body-limit-mb: lots\n")).await;
    assert_eq!(typed.status, 422, "{}", typed.text());
    let body = typed.json();
    assert_eq!(
        (&body["line"], &body["column"], &body["key"]),
        (&json!(lines + 1), &json!(16), &json!("body-limit-mb")),
        "the value's position: {body}"
    );

    assert_eq!(config_text(&proxy), original, "nothing was written");
    assert_eq!(proxy.runtime().generation().number, generation);
    assert_eq!(proxy.claude_turn().await.credential(), "a");
}

/// `YYYY-MM-DDTHH:MM:SSZ` as a time (whole seconds, UTC).
fn parse_utc(text: &str) -> SystemTime {
    let number = |range: std::ops::Range<usize>| text[range].parse::<i64>().unwrap();
    assert_eq!(
        (text.len(), &text[10..11], &text[19..]),
        (20, "T", "Z"),
        "{text}"
    );
    let (year, month, day) = (number(0..4), number(5..7), number(8..10));
    // Days from 1970-01-01 to the date (the proleptic Gregorian calendar).
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * m + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let seconds = days * 86_400 + number(11..13) * 3600 + number(14..16) * 60 + number(17..19);
    SystemTime::UNIX_EPOCH + Duration::from_secs(seconds as u64)
}

#[tokio::test]
async fn plugins_report_their_median_call_time_and_quarantine_end() {
    let mock = MockUpstream::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("misbehave.wasm"), guests::MISBEHAVE.bytes()).unwrap();
    let proxy = Proxy::start(&managed(&format!(
        "plugins:\n  dir: {}\nauth:\n  providers:\n    - name: flaky\n      type: misbehave\n      config: {{mode: panic}}\n{}",
        dir.path().display(),
        crate::harness::yaml::claude(&mock, &["upstream"])
    )))
    .await;
    let plugin = |report: &Value| {
        report["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "misbehave.wasm")
            .unwrap_or_else(|| panic!("{report}"))
            .clone()
    };
    let before = plugin(&admin(&proxy, Method::GET, "/plugins", None).await.json());
    assert_eq!(before["state"], "active", "{before}");
    assert_eq!(before["p50-call-us"], Value::Null, "no call yet: {before}");
    assert!(before.get("quarantined-until").is_none(), "{before}");

    // Traps for four client addresses: quarantined at the tenth call.
    trap_from_four_clients(&proxy, 10).await;
    let until = proxy.runtime().generation().access.entries()[0]
        .stats()
        .unwrap()
        .quarantined_until
        .expect("quarantined");
    let after = plugin(&admin(&proxy, Method::GET, "/plugins", None).await.json());
    assert_eq!(after["state"], "quarantined", "{after}");
    let reported = parse_utc(after["quarantined-until"].as_str().unwrap());
    let whole = until
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(
        reported,
        SystemTime::UNIX_EPOCH + Duration::from_secs(whole),
        "{after}"
    );
    assert!(after["p50-call-us"].as_u64().is_some(), "{after}");
    assert!(
        after["p50-call-us"].as_u64().unwrap() < 1_000_000,
        "a trap takes well under a second: {after}"
    );
}

#[tokio::test]
async fn the_reload_report_keeps_the_last_attempts_newest_first() {
    let mock = MockUpstream::start().await.unwrap();
    let claude = crate::harness::yaml::claude(&mock, &["a"]);
    let proxy = Proxy::start(&managed(&claude)).await;
    let history = |report: &Value| report["history"].as_array().unwrap().clone();
    let first = admin(&proxy, Method::GET, "/reload", None).await.json();
    let entries = history(&first);
    assert_eq!(entries.len(), 1, "{first}");
    assert_eq!(
        (
            &entries[0]["ok"],
            &entries[0]["generation"],
            &entries[0]["error"]
        ),
        (&json!(true), &json!(1), &Value::Null)
    );
    let at = entries[0]["at"].as_str().unwrap();
    assert!(
        at.ends_with('Z') && at.len() == 24,
        "RFC 3339 with milliseconds: {at}"
    );

    proxy
        .rewrite_config(&managed(&format!("{claude}body-limit-mb: 0\n")))
        .await;
    proxy
        .rewrite_config(&managed(&format!("{claude}debug: true\n")))
        .await;
    let report = admin(&proxy, Method::GET, "/reload", None).await.json();
    let entries = history(&report);
    assert_eq!(entries.len(), 3, "{report}");
    assert_eq!(
        (
            &entries[0]["ok"],
            &entries[0]["generation"],
            &entries[0]["error"]
        ),
        (&json!(true), &json!(2), &Value::Null),
        "newest first: {report}"
    );
    assert_eq!(
        (&entries[1]["ok"], &entries[1]["generation"]),
        (&json!(false), &json!(1)),
        "{report}"
    );
    assert!(
        entries[1]["error"]
            .as_str()
            .unwrap()
            .contains("body-limit-mb"),
        "{report}"
    );
    assert_eq!(entries[2]["generation"], 1);
}

#[tokio::test]
async fn sessions_report_affinity_hits_misses_and_rebinds() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&managed(&format!(
        "routing:\n  session-affinity: true\n{}",
        crate::harness::yaml::claude(&mock, &["a", "b"])
    )))
    .await;
    let turn = async || {
        proxy
            .post_with(
                "/v1/messages",
                &messages("claude-sonnet-4"),
                &[("x-session-id", "conversation-1")],
            )
            .await
    };
    let counts = |report: &Value| {
        (
            report["hits"].clone(),
            report["misses"].clone(),
            report["rebinds"].clone(),
        )
    };
    let report = admin(&proxy, Method::GET, "/sessions", None).await.json();
    assert_eq!(counts(&report), (json!(0), json!(0), json!(0)), "{report}");

    let bound = turn().await.credential();
    assert_eq!(turn().await.credential(), bound);
    let report = admin(&proxy, Method::GET, "/sessions", None).await.json();
    assert_eq!(counts(&report), (json!(1), json!(1), json!(0)), "{report}");

    // The bound credential is disabled: the conversation moves.
    let id = credential_where(
        &proxy,
        "label",
        &format!(
            "claude-api-key[{}]",
            ["a", "b"].iter().position(|k| *k == bound).unwrap()
        ),
    )
    .await["id"]
        .clone();
    let disabled = admin(
        &proxy,
        Method::PATCH,
        "/auth-files/status",
        Some(json!({ "name": id, "disabled": true })),
    )
    .await;
    assert_eq!(disabled.status, 200, "{}", disabled.text());
    let moved = turn().await;
    assert_eq!(moved.status, 200, "{}", moved.text());
    assert_ne!(moved.credential(), bound);
    let report = admin(&proxy, Method::GET, "/sessions", None).await.json();
    assert_eq!(
        (counts(&report), &report["inherited"]),
        ((json!(1), json!(1), json!(1)), &json!(0)),
        "{report}"
    );
}
