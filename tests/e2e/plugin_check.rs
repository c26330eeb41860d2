//! `switchyard plugin check`: the built binary on good, broken and misbehaving plugin files,
//! with its exit codes (0 fine, 1 not loadable, 2 settings rejected, 3 fault).

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::harness::jwt::{SECRET, mint, unix};
use crate::harness::{guests, switchyard};

/// Runs `switchyard plugin check FILE ARGS...`: (exit code, stdout, stderr).
fn check(file: &Path, args: &[&str]) -> (i32, String, String) {
    let file = file.to_str().expect("a UTF-8 path");
    let all: Vec<&str> = ["plugin", "check", file]
        .into_iter()
        .chain(args.iter().copied())
        .collect();
    switchyard(&all)
}

/// `bytes` written as `name` in `dir`.
fn file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn an_access_provider_is_described_configured_and_called() {
    let jwt = guests::JWT_HS256.path();
    let token = mint(
        &json!({ "sub": "alice", "exp": unix(std::time::SystemTime::now()) + 600 }),
        SECRET,
    );
    let settings = format!(r#"{{"secret":"{SECRET}"}}"#);
    let (code, out, err) = check(
        &jwt,
        &[
            "--config",
            &settings,
            "--header",
            &format!("Authorization: Bearer {token}"),
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    for line in [
        "plugin     jwt-hs256 0.1.0",
        "world      access-provider",
        "headers    authorization",
        "configure  ok",
        "outcome    allow principal=\"alice\" source=\"jwt\"",
        "call       ",
    ] {
        assert!(out.contains(line), "{line:?} missing in:\n{out}");
    }

    // Settings from a file (YAML, as under `config:`); no token: not this provider's business.
    let dir = tempfile::tempdir().unwrap();
    let settings_file = file(
        dir.path(),
        "sso.yaml",
        format!("secret: {SECRET}\n").as_bytes(),
    );
    let (code, out, _) = check(
        &jwt,
        &["--config", &format!("@{}", settings_file.display())],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("outcome    no-credentials"), "{out}");

    // A deny is an answer, not a fault.
    let (code, out, _) = check(&guests::VERSIONED_V2.path(), &["-H", "x-version-probe: 1"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("plugin     versioned 2.0.0")
            && out.contains("outcome    deny status=409 message=\"version 2.0.0\""),
        "{out}"
    );
}

#[test]
fn a_session_extractor_runs_extract() {
    let (code, out, err) = check(&guests::SESSION_ECHO.path(), &["-H", "x-session: abc"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("world      session-extractor"), "{out}");
    assert!(out.contains("session    explicit primary=\"abc\""), "{out}");
    let (code, out, _) = check(&guests::SESSION_ECHO.path(), &[]);
    assert_eq!(code, 0);
    assert!(out.contains("session    none"), "{out}");
}

#[test]
fn exit_codes_tell_what_went_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let misbehave = guests::MISBEHAVE.bytes();

    // 1: does not load, or matches no world.
    for (path, reason) in [
        (
            file(
                dir.path(),
                "truncated.wasm",
                &misbehave[..misbehave.len() / 2],
            ),
            "not a valid WebAssembly component",
        ),
        (
            file(dir.path(), "core.wasm", b"\0asm\x01\0\0\0"),
            "not a valid WebAssembly component",
        ),
        (
            guests::UNKNOWN_WORLD.path(),
            "matches no switchyard plugin world",
        ),
        (dir.path().join("missing.wasm"), "cannot read"),
    ] {
        let (code, out, err) = check(&path, &[]);
        assert_eq!(code, 1, "{}: {out}{err}", path.display());
        assert!(err.contains(reason), "{}: {err}", path.display());
    }

    // 2: settings rejected.
    let jwt = guests::JWT_HS256.path();
    let (code, out, err) = check(&jwt, &[]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        out.contains("plugin     jwt-hs256"),
        "described before configuring: {out}"
    );
    assert!(
        err.contains("rejected its settings: secret is required"),
        "{err}"
    );
    let misbehave_path = file(dir.path(), "misbehave.wasm", &misbehave);
    let (code, _, err) = check(&misbehave_path, &["--config", r#"{"reject":"nope"}"#]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("rejected its settings: nope"), "{err}");
    let (code, _, err) = check(&jwt, &["--config", "{not json"]);
    assert_eq!(code, 2, "{err}");

    // 3: the call faulted.
    for mode in ["panic", "loop", "alloc"] {
        let (code, out, err) = check(&misbehave_path, &["-H", &format!("x-misbehave: {mode}")]);
        assert_eq!(code, 3, "{mode}: {out}{err}");
        assert!(out.contains("configure  ok"), "{out}");
        assert!(err.contains("the call faulted"), "{mode}: {err}");
    }
}
