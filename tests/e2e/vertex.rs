//! Vertex AI credentials, host side: `switchyard vertex-import` (the real binary),
//! `POST /v0/management/vertex/import`, and the `/vertex-api-key` management list.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Proxy, Reply, read, switchyard};

const SECRET: &str = "s3cret-admin";

/// The test-only service-account key (`tests/fixtures/oauth`).
const KEY: &str = include_str!("../fixtures/oauth/service-account.json");

/// The client key of [`managed`] configs.
const CLIENT: &str = "t1";

fn managed(extra: &str) -> String {
    format!(
        "remote-management:\n  allow-remote: false\n  secret-key: {SECRET}\n\
         auth:\n  providers:\n    - name: team\n      type: config-api-key\n      api-keys: [{CLIENT}]\n{extra}"
    )
}

/// A local management request with the right key and a raw body.
async fn admin(proxy: &Proxy, method: Method, path: &str, body: Option<String>) -> Reply {
    let mut request = proxy
        .request(method, &format!("/v0/management{path}"))
        .bearer_auth(SECRET);
    if let Some(body) = body {
        request = request.body(body);
    }
    read(request.send().await.expect("request sent")).await
}

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn key() -> Value {
    serde_json::from_str(KEY).unwrap()
}

/// Writes a config whose `auth-dir` is `dir/auths`; returns the config's path.
fn config_in(dir: &Path) -> String {
    let path = dir.join("config.yaml");
    std::fs::write(&path, "auth-dir: auths\n").unwrap();
    path.display().to_string()
}

#[test]
fn vertex_import_writes_a_private_auth_file_and_prints_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(dir.path());
    let key_path = dir.path().join("key.json");
    std::fs::write(&key_path, KEY).unwrap();
    let (code, stdout, stderr) = switchyard(&[
        "--config",
        &config,
        "vertex-import",
        key_path.to_str().unwrap(),
        "--prefix",
        "team",
        "--location",
        "europe-west4",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let written = dir.path().join("auths").join("vertex-switchyard-test.json");
    assert_eq!(stdout.trim(), written.display().to_string());
    assert_eq!(mode_of(&written), 0o600);
    assert_eq!(mode_of(&dir.path().join("auths")), 0o700);
    let file: Value = serde_json::from_slice(&std::fs::read(&written).unwrap()).unwrap();
    assert_eq!(
        file,
        json!({
            "type": "vertex",
            "service_account": key(),
            "project_id": "switchyard-test",
            "email": key()["client_email"],
            "location": "europe-west4",
            "prefix": "team",
        })
    );
    assert!(!stderr.contains("PRIVATE KEY"));
}

#[test]
fn vertex_import_refuses_what_is_not_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(dir.path());
    let not_json = dir.path().join("key.json");
    std::fs::write(&not_json, "{\"private_key\": \"SECRET-MATERIAL").unwrap();
    let (code, stdout, stderr) = switchyard(&[
        "--config",
        &config,
        "vertex-import",
        not_json.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("not valid JSON"), "{stderr}");
    assert!(!stderr.contains("SECRET-MATERIAL"), "{stderr}");
    let missing = dir.path().join("missing.json");
    let (code, _, stderr) = switchyard(&[
        "--config",
        &config,
        "vertex-import",
        missing.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(stderr.contains("cannot read"), "{stderr}");
    let object = dir.path().join("object.json");
    std::fs::write(&object, "{}").unwrap();
    let (code, _, stderr) = switchyard(&[
        "--config",
        &config,
        "vertex-import",
        object.to_str().unwrap(),
        "--location",
        "evil.example/x",
    ]);
    assert_ne!(code, 0);
    assert!(stderr.contains("location"), "{stderr}");
    assert!(!dir.path().join("auths").exists(), "nothing written");
}

#[tokio::test]
async fn the_management_import_writes_the_file_and_applies_it() {
    let proxy = Proxy::start(&managed("")).await;
    let reply = admin(
        &proxy,
        Method::POST,
        "/vertex/import?location=global&prefix=team",
        Some(KEY.to_owned()),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!({
            "status": "ok",
            "id": "vertex-switchyard-test.json",
            "project_id": "switchyard-test",
            "email": key()["client_email"],
            "location": "global",
        })
    );
    let written = proxy.auth_dir().join("vertex-switchyard-test.json");
    assert_eq!(mode_of(&written), 0o600);
    let file: Value = serde_json::from_slice(&std::fs::read(&written).unwrap()).unwrap();
    assert_eq!(file["service_account"], key());
    assert_eq!(file["prefix"], "team");
    // Applied before the answer: the credential is listed, a Vertex one.
    let files = admin(&proxy, Method::GET, "/auth-files", None).await.json();
    let entry = &files["files"][0];
    assert_eq!(entry["name"], "vertex-switchyard-test.json");
    assert_eq!(entry["provider"], "vertex");
    assert_eq!(entry["status"], "active");
}

#[tokio::test]
async fn the_management_import_refuses_a_bad_key_with_400() {
    let proxy = Proxy::start(&managed("")).await;
    for (body, query, expected) in [
        ("{\"private_key\": \"SECRET-MATERIAL", "", "not valid JSON"),
        ("[1, 2]", "", "not a JSON object"),
        ("{}", "?location=a.b", "location"),
    ] {
        let reply = admin(
            &proxy,
            Method::POST,
            &format!("/vertex/import{query}"),
            Some(body.to_owned()),
        )
        .await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.text());
        let error = reply.json()["error"].as_str().unwrap_or("").to_owned();
        assert!(error.contains(expected), "{body}: {error}");
        assert!(!error.contains("SECRET-MATERIAL"), "{error}");
    }
    let written = std::fs::read_dir(proxy.auth_dir()).map_or(0, |entries| entries.count());
    assert_eq!(written, 0, "nothing written");
}

/// The model ids `/v1/models` lists to the client.
async fn model_ids(proxy: &Proxy) -> Vec<String> {
    let reply = read(
        proxy
            .request(Method::GET, "/v1/models")
            .bearer_auth(CLIENT)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["id"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn the_vertex_api_key_list_is_managed_like_the_others() {
    let proxy = Proxy::start(&managed("")).await;
    let empty = admin(&proxy, Method::GET, "/vertex-api-key", None).await;
    assert_eq!(empty.json(), json!({ "vertex-api-key": [] }));
    assert!(
        !model_ids(&proxy)
            .await
            .contains(&"gemini-2.5-pro".to_owned())
    );

    let entries = json!([
        { "api-key": "v1", "base-url": "https://vertex.example", "prefix": "vx" },
        { "api-key": "v2" },
    ]);
    let reply = admin(
        &proxy,
        Method::PUT,
        "/vertex-api-key",
        Some(entries.to_string()),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        admin(&proxy, Method::GET, "/vertex-api-key", None)
            .await
            .json(),
        json!({ "vertex-api-key": entries })
    );
    // The entry with a base URL serves the Gemini list under its prefix; the other is ignored.
    let ids = model_ids(&proxy).await;
    assert!(ids.contains(&"vx/gemini-2.5-pro".to_owned()), "{ids:?}");
    assert!(!ids.iter().any(|id| id.contains("claude")), "{ids:?}");
    let config = admin(&proxy, Method::GET, "/config", None).await.json();
    assert_eq!(config["vertex-api-key"].as_array().unwrap().len(), 1);

    let reply = admin(
        &proxy,
        Method::PATCH,
        "/vertex-api-key",
        Some(json!({ "match": "v1", "value": { "prefix": "vy" } }).to_string()),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(
        model_ids(&proxy)
            .await
            .contains(&"vy/gemini-2.5-pro".to_owned())
    );
    let reply = admin(&proxy, Method::DELETE, "/vertex-api-key?api-key=v1", None).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let left = admin(&proxy, Method::GET, "/vertex-api-key", None).await;
    assert_eq!(
        left.json(),
        json!({ "vertex-api-key": [{ "api-key": "v2" }] })
    );
    assert!(
        !model_ids(&proxy)
            .await
            .iter()
            .any(|id| id.ends_with("gemini-2.5-pro"))
    );
}
