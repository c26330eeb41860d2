//! Plugins in Python and JavaScript: the examples under `examples/plugins/`, built from source
//! with their toolchains and loaded into a running switchyard from its plugins folder — the
//! HMAC access provider (allow, deny, a hot swap under traffic) and the header/cookie session
//! extractor (the session it produces, and affinity on it) — and `switchyard plugin check` on
//! each with its default settings.
//!
//! Every test here builds a plugin with its toolchain: the slow tier (`#[ignore]`d, run by
//! `.ci/run` with `cargo test -p switchyard --test e2e -- --ignored scaffold:: polyglot::`).

pub(crate) mod toolchain;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use switchyard::test_util::clock::Clock;
use switchyard::test_util::session::{SessionIds, SessionKind};
use switchyard_mock::MockUpstream;

use crate::harness::plugins::{cache_dir, config, drop_file, status_of, warm_cache};
use crate::harness::{Proxy, WAIT, messages};
use crate::scaffold::check;
use toolchain::{Build, js_example_dir, python_example_dir};

/// The limits the guides recommend for an instance of a Python or JavaScript plugin.
pub(crate) const LARGE_GUEST_LIMITS: &str =
    "      limits: { memory-mib: 256, deadline-ms: 1000 }\n";

/// The Python example `hmac-auth`, built.
pub(crate) fn hmac_auth() -> PathBuf {
    toolchain::python(&Build {
        dir: &python_example_dir(),
        world: "access-provider",
        wit: "../../../wit",
        name: "hmac-auth",
    })
}

/// The JavaScript example `session-header`, built.
pub(crate) fn session_header() -> PathBuf {
    toolchain::javascript(
        &Build {
            dir: &js_example_dir(),
            world: "session-extractor",
            wit: "../../../wit",
            name: "session-header",
        },
        "session.js",
    )
}

/// `hmac-auth` built with another `VERSION` (a copy of its sources with that line changed).
fn hmac_auth_version(version: &str) -> PathBuf {
    let copy = tempfile::tempdir().unwrap();
    for file in ["app.py", "signature.py"] {
        let text = std::fs::read_to_string(python_example_dir().join(file)).unwrap();
        let text = if file == "app.py" {
            assert!(
                text.contains("VERSION = \"1.0.0\""),
                "app.py declares its version"
            );
            text.replace("VERSION = \"1.0.0\"", &format!("VERSION = \"{version}\""))
        } else {
            text
        };
        std::fs::write(copy.path().join(file), text).unwrap();
    }
    let wit = copy.path().join("wit");
    std::fs::create_dir(&wit).unwrap();
    for (file, text) in switchyard::test_util::cli::scaffold::WIT_FILES {
        std::fs::write(wit.join(file), text).unwrap();
    }
    toolchain::python(&Build {
        dir: copy.path(),
        world: "access-provider",
        wit: "wit",
        name: &format!("hmac-auth-{version}"),
    })
}

/// The `x-hmac-*` headers of a request to `target` (a path with an optional `?query`) signed
/// by `key_id` with `secret` at `at`, claiming the body of [`post`] (a `GET` claims an empty
/// body).
fn signature(
    key_id: &str,
    secret: &str,
    method: &str,
    target: &str,
    at: SystemTime,
) -> Vec<(&'static str, String)> {
    let timestamp = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let body = if method == "GET" {
        Vec::new()
    } else {
        serde_json::to_vec(&messages("claude-sonnet-4")).unwrap()
    };
    let content = hex::encode(<Sha256 as sha2::Digest>::digest(&body));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{method}\n{path}\n{query}\n{timestamp}\n{content}").as_bytes());
    vec![
        ("x-hmac-key-id", key_id.to_owned()),
        ("x-hmac-timestamp", timestamp),
        ("x-hmac-content-sha256", content),
        ("x-hmac-signature", hex::encode(mac.finalize().into_bytes())),
    ]
}

/// The `auth.providers` entry of `hmac-auth` the tests use.
const SIGNED: &str = "    - name: signed\n      type: hmac-auth\n      config: { keys: { alice: s3cret, bob: b0b }, paths: { bob: [/v1/models] } }\n";

/// A plugins folder holding `files` (name, component), each compiled into the shared cache
/// first (as a long-running proxy would have it).
async fn plugins_folder(files: &[(&str, &Path)]) -> tempfile::TempDir {
    let plugins = tempfile::tempdir().unwrap();
    for (name, path) in files {
        let bytes = std::fs::read(path).unwrap();
        warm_cache(&bytes).await;
        std::fs::write(plugins.path().join(name), bytes).unwrap();
    }
    plugins
}

/// Posts a Messages request to `path` with `headers`: (status, body).
async fn post(proxy: &Proxy, path: &str, headers: &[(&str, String)]) -> (u16, String) {
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let reply = proxy
        .post_with(path, &messages("claude-sonnet-4"), &headers)
        .await;
    (reply.status, reply.text())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow tier: builds guests with cargo/componentize-py/npm"]
async fn the_python_hmac_provider_allows_and_denies() {
    let mock = MockUpstream::start().await.unwrap();
    let plugins = plugins_folder(&[("hmac-auth.wasm", &hmac_auth())]).await;
    let providers = format!("{SIGNED}{LARGE_GUEST_LIMITS}");
    let proxy = Proxy::start(&config(&mock, plugins.path(), "", &providers)).await;
    let now = proxy.clock.now();
    let path = "/v1/messages";

    let (status, body) = post(&proxy, path, &[]).await;
    assert_eq!(
        (status, body.as_str()),
        (401, r#"{"error":"Missing API key"}"#)
    );

    let alice = signature("alice", "s3cret", "POST", path, now);
    let (status, body) = post(&proxy, path, &alice).await;
    assert_eq!(status, 200, "{body}");

    // The query is signed too.
    let with_query = signature("alice", "s3cret", "POST", "/v1/messages?beta=true", now);
    let (status, body) = post(&proxy, "/v1/messages?beta=true", &with_query).await;
    assert_eq!(status, 200, "{body}");

    // A wrong secret, or a signature made for another path, query or body hash, is an
    // invalid credential.
    let mut other_body = alice.clone();
    other_body[2].1 = hex::encode(<Sha256 as sha2::Digest>::digest(b"other"));
    for (target, headers) in [
        (path, signature("alice", "guess", "POST", path, now)),
        (
            path,
            signature("alice", "s3cret", "POST", "/v1/models", now),
        ),
        (path, signature("mallory", "s3cret", "POST", path, now)),
        ("/v1/messages?beta=false", with_query.clone()),
        (path, other_body),
    ] {
        let (status, body) = post(&proxy, target, &headers).await;
        assert_eq!(
            (status, body.as_str()),
            (401, r#"{"error":"Invalid API key"}"#),
            "{target}"
        );
    }

    // Bytes that are not UTF-8 (the host hands them over as U+FFFD) and a timestamp of
    // non-ASCII digits are invalid credentials, not a trap: no fault, no 503.
    for (name, value) in [
        ("x-hmac-signature", &b"\xe9"[..]),
        ("x-hmac-timestamp", "\u{b2}".as_bytes()),
        ("x-hmac-content-sha256", &b"\xff\xfe"[..]),
    ] {
        let mut request = proxy
            .request(reqwest::Method::POST, path)
            .json(&messages("claude-sonnet-4"));
        for (header, text) in &alice {
            if *header != name {
                request = request.header(*header, text);
            }
        }
        let request = request.header(
            name,
            reqwest::header::HeaderValue::from_bytes(value).unwrap(),
        );
        let reply = request.send().await.unwrap();
        assert_eq!(reply.status(), 401, "{name}");
        assert_eq!(
            reply.text().await.unwrap(),
            r#"{"error":"Invalid API key"}"#
        );
    }

    // `paths` limits bob to the model list: a deny with the plugin's status and message.
    let bob = signature("bob", "b0b", "POST", path, now);
    let (status, body) = post(&proxy, path, &bob).await;
    assert_eq!(
        (status, body.as_str()),
        (403, r#"{"error":"key bob may not call /v1/messages"}"#)
    );
    let mut models = proxy.request(reqwest::Method::GET, "/v1/models");
    for (name, value) in signature("bob", "b0b", "GET", "/v1/models", now) {
        models = models.header(name, value);
    }
    assert_eq!(models.send().await.unwrap().status(), 200);

    // Ten minutes later (by the proxy's clock, which stamps each request's arrival time) the
    // same signature is stale: denied with the plugin's message.
    proxy.clock.advance(Duration::from_secs(600));
    let (status, body) = post(&proxy, path, &alice).await;
    assert_eq!(status, 401, "{body}");
    let message = serde_json::from_str::<serde_json::Value>(&body).unwrap()["error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.starts_with("signature timestamp is 60")
            && message.ends_with("(at most 60 s allowed)"),
        "{message}"
    );
    let fresh = signature("alice", "s3cret", "POST", path, proxy.clock.now());
    assert_eq!(post(&proxy, path, &fresh).await.0, 200);

    let status = status_of(&proxy, "hmac-auth.wasm");
    assert_eq!(status.version.as_deref(), Some("1.0.0"));
    assert_eq!(status.faults, 0, "{status:?}");

    // One request at a time: every call reused the one pooled live instance configured when
    // the generation was prepared; its interpreter's memory fits well inside the limit.
    let generation = proxy.runtime().generation();
    let entry = &generation.access.entries()[0];
    assert_eq!(entry.name(), "signed");
    let stats = entry.stats().expect("a Wasm provider");
    assert_eq!((stats.instantiations, stats.calls), (1, 15), "{stats:?}");
    assert!(
        (1 << 20..256 << 20).contains(&stats.memory_bytes),
        "{stats:?}"
    );
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow tier: builds guests with cargo/componentize-py/npm"]
async fn the_python_provider_is_swapped_under_traffic() {
    let mock = MockUpstream::start().await.unwrap();
    let (v1, v2) = (hmac_auth(), hmac_auth_version("1.1.0"));
    let plugins = plugins_folder(&[("hmac-auth.wasm", &v1)]).await;
    warm_cache(&std::fs::read(&v2).unwrap()).await;
    let providers = format!("{SIGNED}{LARGE_GUEST_LIMITS}");
    let proxy = Arc::new(Proxy::start(&config(&mock, plugins.path(), "", &providers)).await);
    assert_eq!(
        status_of(&proxy, "hmac-auth.wasm").version.as_deref(),
        Some("1.0.0")
    );

    // Signed requests one after another while the file is replaced.
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = tokio::spawn({
        let (proxy, stop) = (proxy.clone(), stop.clone());
        async move {
            let mut statuses = Vec::new();
            while !stop.load(Ordering::Acquire) {
                let headers =
                    signature("alice", "s3cret", "POST", "/v1/messages", proxy.clock.now());
                statuses.push(post(&proxy, "/v1/messages", &headers).await);
            }
            statuses
        }
    });
    let before = proxy.runtime().reload_status().borrow().generation;
    let swapped = drop_file(
        &proxy,
        plugins.path(),
        "hmac-auth.wasm",
        &std::fs::read(&v2).unwrap(),
    )
    .await;
    let swapped = proxy
        .wait_reload(|s| s.generation > before || s.attempts > swapped.attempts)
        .await;
    assert_eq!(swapped.generation, before + 1, "{swapped:?}");
    assert_eq!(
        status_of(&proxy, "hmac-auth.wasm").version.as_deref(),
        Some("1.1.0")
    );
    // The new version answers.
    let headers = signature("alice", "s3cret", "POST", "/v1/messages", proxy.clock.now());
    assert_eq!(post(&proxy, "/v1/messages", &headers).await.0, 200);
    stop.store(true, Ordering::Release);
    let statuses = tokio::time::timeout(WAIT, traffic).await.unwrap().unwrap();
    assert!(!statuses.is_empty());
    let failed: Vec<_> = statuses
        .iter()
        .filter(|(status, _)| *status != 200)
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} failed: {failed:?}",
        failed.len(),
        statuses.len()
    );
    Arc::into_inner(proxy).unwrap().shutdown().await;
}

/// `routing` with the JavaScript extractor first and the standard one after it, over four
/// credentials.
fn affinity_config(mock: &MockUpstream, plugins: &Path) -> String {
    let mut yaml = format!(
        "plugins:\n  dir: {}\n  cache-dir: {}\nrouting:\n  session-affinity: true\n  session-extractors:\n    - name: conversations\n      type: session-header\n      config: {{ cookie: sid, prefix: 'web:' }}\n{LARGE_GUEST_LIMITS}    - type: session-standard\nclaude-api-key:\n",
        plugins.display(),
        cache_dir().display(),
    );
    for i in 0..4 {
        yaml.push_str(&format!(
            "  - api-key: k{i}\n    base-url: {}\n",
            mock.base_url()
        ));
    }
    yaml
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow tier: builds guests with cargo/componentize-py/npm"]
async fn the_javascript_extractor_names_the_session() {
    let mock = MockUpstream::start().await.unwrap();
    let plugins = plugins_folder(&[("session-header.wasm", &session_header())]).await;
    let proxy = Proxy::start(&affinity_config(&mock, plugins.path())).await;

    // The session it produces, from the running generation's chain.
    let extract = |headers: &[(&str, &str)]| {
        let head = switchyard::test_util::access::RequestHead::new(
            "POST",
            "/v1/messages",
            "",
            headers.iter().map(|(n, v)| (n.to_string(), v.to_string())),
            None,
            SystemTime::now(),
        );
        let generation = proxy.runtime().generation();
        async move {
            generation
                .extractors
                .extract(&head, br#"{"messages":[{"role":"user","content":"hi"}]}"#)
                .await
        }
    };
    let explicit = |primary: &str| {
        Some(SessionIds {
            primary: primary.to_owned(),
            fallback: None,
            kind: SessionKind::Explicit,
        })
    };
    assert_eq!(
        extract(&[("x-conversation-id", "c-1")]).await,
        explicit("web:c-1")
    );
    assert_eq!(
        extract(&[("cookie", "theme=dark; sid=c-2")]).await,
        explicit("web:c-2")
    );
    assert_eq!(
        extract(&[("x-conversation-id", "c-1"), ("cookie", "sid=c-2")]).await,
        explicit("web:c-1"),
        "the header wins over the cookie"
    );
    // Neither: the standard extractor's message hash.
    let derived = extract(&[("cookie", "other=1")]).await.unwrap();
    assert_eq!(derived.kind, SessionKind::Derived);

    // Over HTTP: requests of one named conversation go to one credential however their
    // messages differ; the message hash alone would spread them.
    let turn = |topic: String, headers: Vec<(&'static str, String)>| {
        let proxy = &proxy;
        async move {
            let body = json!({
                "model": "claude-sonnet-4",
                "max_tokens": 8,
                "messages": [{ "role": "user", "content": topic }],
            });
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            let reply = proxy.post_with("/v1/messages", &body, &headers).await;
            assert_eq!(reply.status, 200, "{}", reply.text());
            reply.credential()
        }
    };
    for (name, value) in [("x-conversation-id", "c-1"), ("cookie", "sid=c-2")] {
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..6 {
            seen.insert(turn(format!("topic {i}"), vec![(name, value.to_owned())]).await);
        }
        assert_eq!(seen.len(), 1, "{name}: {seen:?}");
    }
    let mut anonymous = std::collections::BTreeSet::new();
    for i in 0..6 {
        anonymous.insert(turn(format!("topic {i}"), Vec::new()).await);
    }
    assert!(anonymous.len() > 1, "{anonymous:?}");

    let status = status_of(&proxy, "session-header.wasm");
    assert_eq!(
        (status.version.as_deref(), status.faults),
        (Some("1.0.0"), 0),
        "{status:?}"
    );
    proxy.shutdown().await;
}

#[test]
#[ignore = "slow tier: builds guests with cargo/componentize-py/npm"]
fn the_examples_pass_plugin_check_with_their_default_settings() {
    for (file, name, answer) in [
        (hmac_auth(), "hmac-auth", "outcome    no-credentials"),
        (session_header(), "session-header", "session    none"),
    ] {
        // No `--config`: the settings `{}`, and the default limits.
        let (code, out) = check(&file, &[]);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains(&format!("plugin     {name} 1.0.0")), "{out}");
        assert!(out.contains("configure  ok"), "{out}");
        assert!(out.contains(answer), "{out}");
    }
    let (code, out) = check(&session_header(), &["-H", "cookie: conversation=abc"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("session    explicit primary=\"abc\""), "{out}");

    // `plugin check` stamps its sample request (`POST /v1/chat/completions` unless `--path`
    // says otherwise) with the current time: a fresh signature.
    let signed: Vec<String> = signature(
        "alice",
        "s3cret",
        "POST",
        "/v1/chat/completions",
        SystemTime::now(),
    )
    .into_iter()
    .map(|(name, value)| format!("{name}: {value}"))
    .collect();
    let mut args = vec!["--config", r#"{"keys":{"alice":"s3cret"}}"#];
    for header in &signed {
        args.extend(["-H", header]);
    }
    let (code, out) = check(&hmac_auth(), &args);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("outcome    allow principal=\"alice\" scheme=\"hmac-sha256\""),
        "{out}"
    );
    let (code, out) = check(&hmac_auth(), &["--config", r#"{"keys":{"a":""}}"#]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("keys must map key ids to non-empty secrets"),
        "{out}"
    );
}
