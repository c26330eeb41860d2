//! `switchyard plugin new`: a skeleton for each language and world, built with its toolchain
//! and passing `switchyard plugin check` with its default settings; the Rust skeletons are
//! built standalone (their own cargo workspace) and loaded into a running switchyard.
//!
//! The tests that build a skeleton are the slow tier (`#[ignore]`d, run by `.ci/run` with
//! `cargo test -p switchyard --test e2e -- --ignored scaffold:: polyglot::`).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use switchyard::test_util::session::{SessionIds, SessionKind};
use switchyard_mock::MockUpstream;

use crate::harness::plugins::{cache_dir, config};
use crate::harness::{Proxy, messages, switchyard};
use crate::polyglot::toolchain::{self, Build};
use crate::wasm_guest;

/// `switchyard plugin check FILE ARGS…` with the tests' compiled-component cache.
pub(crate) fn check(file: &Path, args: &[&str]) -> (i32, String) {
    let file = file.display().to_string();
    let cache = cache_dir().display().to_string();
    let mut all = vec!["plugin", "check", &file, "--cache-dir", &cache];
    all.extend_from_slice(args);
    let (code, out, err) = switchyard(&all);
    (code, format!("{out}{err}"))
}

/// `switchyard plugin new --world WORLD --lang LANG NAME --dir PARENT`; returns the folder.
fn new(parent: &Path, world: &str, lang: &str, name: &str) -> PathBuf {
    let parent_arg = parent.display().to_string();
    let (code, out, err) = switchyard(&[
        "plugin",
        "new",
        "--world",
        world,
        "--lang",
        lang,
        name,
        "--dir",
        &parent_arg,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let dir = parent.join(name);
    assert!(
        out.contains(&format!("created {}/", dir.display())),
        "{out}"
    );
    assert!(out.contains("build:  cd "), "{out}");
    dir
}

/// The world's WIT name.
fn world_name(world: &str) -> &'static str {
    match world {
        "access" => "access-provider",
        _ => "session-extractor",
    }
}

/// Builds a Rust skeleton standalone (its own workspace, the plugins workspace's lock file so
/// no crate is fetched) into a target folder kept between runs; returns the component.
fn build_rust(dir: &Path, name: &str) -> PathBuf {
    let lock = toolchain::repo().join("plugins/Cargo.lock");
    std::fs::copy(lock, dir.join("Cargo.lock")).unwrap();
    let target = PathBuf::from(env!("SWITCHYARD_PLUGINS_TARGET_DIR")).join("scaffold");
    let built = wasm_guest::build(dir, &target, &[name]).unwrap_or_else(|e| panic!("{e}"));
    built.into_iter().next().unwrap()
}

/// What `plugin check` prints for the sample request each skeleton answers.
fn expect_answer(world: &str, out: &str) {
    let line = match world {
        "access" => "outcome    allow principal=\"alice\" source=\"x-api-token\"",
        _ => "session    explicit primary=\"t:demo-1\"",
    };
    assert!(out.contains(line), "{line:?} missing in:\n{out}");
}

/// Settings and a request that get an answer from a skeleton of `world`.
fn sample(world: &str) -> [&'static str; 4] {
    match world {
        "access" => [
            "--config",
            r#"{"tokens":{"alice":"a-long-random-token"}}"#,
            "--header",
            "x-api-token: a-long-random-token",
        ],
        _ => [
            "--config",
            r#"{"prefix":"t:"}"#,
            "--header",
            "x-conversation: demo-1",
        ],
    }
}

/// Checks a built skeleton: default settings (no answer), the sample, rejected settings.
fn check_skeleton(file: &Path, world: &str, name: &str) {
    let (code, out) = check(file, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("plugin     {name} 0.1.0")), "{out}");
    assert!(
        out.contains(&format!("world      {}", world_name(world))),
        "{out}"
    );
    let none = match world {
        "access" => "outcome    no-credentials",
        _ => "session    none",
    };
    assert!(out.contains(none), "{out}");
    let (code, out) = check(file, &sample(world));
    assert_eq!(code, 0, "{out}");
    expect_answer(world, &out);
    let (code, out) = check(file, &["--config", r#"{"nonsense":1}"#]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("unknown setting"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow tier: builds guests with cargo/componentize-py/npm"]
async fn rust_skeletons_build_standalone_and_serve() {
    let parent = tempfile::tempdir().unwrap();
    let access = new(parent.path(), "access", "rust", "new-rust-access");
    let session = new(parent.path(), "session", "rust", "new-rust-session");
    let access = build_rust(&access, "new-rust-access");
    let session = build_rust(&session, "new-rust-session");
    check_skeleton(&access, "access", "new-rust-access");
    check_skeleton(&session, "session", "new-rust-session");

    // Loaded from the plugins folder of a running switchyard.
    let mock = MockUpstream::start().await.unwrap();
    let plugins = tempfile::tempdir().unwrap();
    std::fs::copy(&access, plugins.path().join("new-rust-access.wasm")).unwrap();
    std::fs::copy(&session, plugins.path().join("new-rust-session.wasm")).unwrap();
    let extra = "routing:\n  session-affinity: true\n  session-extractors:\n    - type: new-rust-session\n      config: { prefix: 't:' }\n    - type: session-standard\n";
    let providers = "    - name: tokens\n      type: new-rust-access\n      config: { tokens: { alice: a-long-random-token } }\n";
    let proxy = Proxy::start(&config(&mock, plugins.path(), extra, providers)).await;
    let call = |headers: &'static [(&'static str, &'static str)]| {
        let proxy = &proxy;
        async move {
            let reply = proxy
                .post_with("/v1/messages", &messages("claude-sonnet-4"), headers)
                .await;
            (reply.status, reply.text())
        }
    };
    assert_eq!(call(&[("x-api-token", "a-long-random-token")]).await.0, 200);
    assert_eq!(
        call(&[("x-api-token", "wrong")]).await,
        (401, r#"{"error":"Invalid API key"}"#.to_owned())
    );
    assert_eq!(
        call(&[]).await,
        (401, r#"{"error":"Missing API key"}"#.to_owned())
    );
    let head = switchyard::test_util::access::RequestHead::new(
        "POST",
        "/v1/messages",
        "",
        [("x-conversation".to_owned(), "demo-1".to_owned())],
        None,
        SystemTime::now(),
    );
    let found = proxy
        .runtime()
        .generation()
        .extractors
        .extract(&head, b"{}")
        .await;
    assert_eq!(
        found,
        Some(SessionIds {
            primary: "t:demo-1".to_owned(),
            fallback: None,
            kind: SessionKind::Explicit,
        })
    );
    proxy.shutdown().await;
}

#[test]
#[ignore = "slow tier: builds guests with cargo/componentize-py/npm"]
fn python_and_javascript_skeletons_build_and_pass_plugin_check() {
    let parent = tempfile::tempdir().unwrap();
    for world in ["access", "session"] {
        let python = format!("new-python-{world}");
        let dir = new(parent.path(), world, "python", &python);
        let built = toolchain::python(&Build {
            dir: &dir,
            world: world_name(world),
            wit: "wit",
            name: &python,
        });
        check_skeleton(&built, world, &python);

        let js = format!("new-js-{world}");
        let dir = new(parent.path(), world, "js", &js);
        let built = toolchain::javascript(
            &Build {
                dir: &dir,
                world: world_name(world),
                wit: "wit",
                name: &js,
            },
            "plugin.js",
        );
        check_skeleton(&built, world, &js);
    }
}

#[test]
fn bad_names_and_occupied_folders_are_refused() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().display().to_string();
    let (code, _, err) = switchyard(&[
        "plugin", "new", "--world", "access", "--lang", "rust", "Bad_Name", "--dir", &dir,
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("not a valid plugin name"), "{err}");
    new(parent.path(), "access", "rust", "taken");
    let (code, _, err) = switchyard(&[
        "plugin", "new", "--world", "session", "--lang", "js", "taken", "--dir", &dir,
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("already exists"), "{err}");
}
