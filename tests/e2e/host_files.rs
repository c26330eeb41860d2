//! The management key and the machine's files: path-valued keys are file-only, auth files are
//! opened beneath `auth-dir` (symlinks out of it are refused), a symlinked `config.yaml` stays a
//! link, and example client keys shut the proxy routes on a listener beyond loopback.

use std::os::unix::fs::symlink;

use reqwest::Method;
use serde_json::{Value, json};
use switchyard_mock::MockUpstream;

use crate::harness::{Proxy, Reply, messages, read};

const SECRET: &str = "s3cret-admin";

fn managed(extra: &str) -> String {
    format!("remote-management:\n  allow-remote: false\n  secret-key: {SECRET}\n{extra}")
}

/// A local management request with the right key and a raw body.
async fn admin(proxy: &Proxy, method: Method, path: &str, body: Option<String>) -> Reply {
    let mut request = proxy
        .client
        .request(method, proxy.url(&format!("/v0/management{path}")))
        .bearer_auth(SECRET);
    if let Some(body) = body {
        request = request.body(body);
    }
    read(request.send().await.expect("request sent")).await
}

fn claude_file(base: &str, key: &str) -> String {
    json!({ "type": "claude", "api_key": key, "base_url": base }).to_string()
}

fn is_symlink(path: &std::path::Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

#[tokio::test]
async fn path_keys_cannot_be_moved_through_the_management_api() {
    let proxy = Proxy::start(&managed("routing:\n  strategy: fill-first\n")).await;
    let elsewhere = tempfile::tempdir().unwrap();
    let elsewhere = elsewhere.path().display().to_string();
    let original = std::fs::read(proxy.config_path()).unwrap();
    let text = String::from_utf8(original.clone()).unwrap();
    let generation = proxy.runtime().generation().number;
    for (addition, key) in [
        (format!("auth-dir: {elsewhere}\n"), "auth-dir"),
        ("auth-dir: ~/.codex\n".to_owned(), "auth-dir"),
        (format!("plugins:\n  dir: {elsewhere}\n"), "plugins.dir"),
        (
            format!("plugins:\n  cache-dir: {elsewhere}\n"),
            "plugins.cache-dir",
        ),
        (
            format!("tls:\n  cert: {elsewhere}/c.pem\n  key: {elsewhere}/k.pem\n"),
            "tls.cert, tls.key",
        ),
    ] {
        let reply = admin(
            &proxy,
            Method::PUT,
            "/config.yaml",
            Some(format!("{text}{addition}")),
        )
        .await;
        assert_eq!(reply.status, 403, "{addition}: {}", reply.text());
        let body = reply.json();
        assert_eq!(body["error"], "path_keys_are_file_only", "{addition}");
        let message = body["message"].as_str().unwrap();
        assert!(message.starts_with(key), "{addition}: {message}");
        assert_eq!(
            std::fs::read(proxy.config_path()).unwrap(),
            original,
            "{addition}: the file is unchanged, byte for byte"
        );
    }
    assert_eq!(proxy.runtime().generation().number, generation);
    assert_eq!(
        proxy.runtime().generation().config.auth_dir,
        proxy.auth_dir()
    );

    // The same folder spelled another way is no change.
    let same = format!("{text}auth-dir: ./auths/\n");
    let reply = admin(&proxy, Method::PUT, "/config.yaml", Some(same.clone())).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(std::fs::read_to_string(proxy.config_path()).unwrap(), same);

    // Editing the file on disk still moves it, and later API writes keep the new value.
    let moved = format!("{}auth-dir: {elsewhere}\n", text);
    let status = proxy.rewrite_config(&moved).await;
    assert_eq!(status.last_error, None);
    assert_eq!(
        proxy.runtime().generation().config.auth_dir,
        std::path::PathBuf::from(&elsewhere)
    );
    let reply = admin(
        &proxy,
        Method::PUT,
        "/routing/strategy",
        Some(json!({ "value": "round-robin" }).to_string()),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let after = std::fs::read_to_string(proxy.config_path()).unwrap();
    assert!(after.contains(&format!("auth-dir: {elsewhere}")), "{after}");
    assert!(after.contains("strategy: round-robin"), "{after}");
}

#[tokio::test]
async fn auth_file_symlinks_out_of_the_folder_are_refused() {
    let mock = MockUpstream::start().await.unwrap();
    let base = mock.base_url();
    let proxy = Proxy::start(&managed("routing:\n  strategy: fill-first\n")).await;
    let auths = proxy.auth_dir();
    std::fs::create_dir_all(&auths).unwrap();
    let hostname = std::fs::read("/etc/hostname").expect("/etc/hostname exists");
    // A credential outside the folder, and links to it and to /etc/hostname.
    let outside = proxy.dir.path().join("outside.json");
    std::fs::write(&outside, claude_file(&base, "stolen")).unwrap();
    symlink("/etc/hostname", auths.join("x.json")).unwrap();
    symlink("../outside.json", auths.join("up.json")).unwrap();
    // A Kubernetes-style link that stays inside works.
    std::fs::create_dir(auths.join("..data")).unwrap();
    std::fs::write(auths.join("..data/in.json"), claude_file(&base, "inside")).unwrap();
    symlink("..data/in.json", auths.join("in.json")).unwrap();
    let status = proxy
        .wait_reload(|_| {
            proxy
                .runtime()
                .generation()
                .registry
                .credentials()
                .any(|c| c.id.as_str() == "in.json")
        })
        .await;
    assert_eq!(status.last_error, None);
    let ids: Vec<String> = proxy
        .runtime()
        .generation()
        .registry
        .credentials()
        .map(|c| c.id.as_str().to_owned())
        .collect();
    assert_eq!(ids, ["in.json"], "the outside files are no credentials");
    for _ in 0..3 {
        let reply = proxy.claude_turn().await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.credential(), "inside");
    }

    // Listed, as refused.
    let list = admin(&proxy, Method::GET, "/auth-files", None).await.json();
    let files = list["files"].as_array().unwrap();
    let entry = |name: &str| -> Value {
        files
            .iter()
            .find(|f| f["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} listed: {list}"))
    };
    for name in ["x.json", "up.json"] {
        let file = entry(name);
        assert_eq!(file["status"], "error", "{file}");
        assert!(
            file["status_message"]
                .as_str()
                .unwrap()
                .contains("leads outside"),
            "{file}"
        );
        assert_eq!(file["type"], Value::Null, "not read: {file}");
    }
    assert_eq!(entry("in.json")["status"], "active");

    // Not downloaded.
    for name in ["x.json", "up.json"] {
        let reply = admin(
            &proxy,
            Method::GET,
            &format!("/auth-files/download?name={name}"),
            None,
        )
        .await;
        assert_eq!(reply.status, 403, "{name}: {}", reply.text());
        assert_eq!(reply.json()["error"], "outside_auth_dir");
    }
    let inside = admin(
        &proxy,
        Method::GET,
        "/auth-files/download?name=in.json",
        None,
    )
    .await;
    assert_eq!(inside.status, 200);
    assert_eq!(inside.json()["api_key"], "inside");

    // Not written through.
    let upload = admin(
        &proxy,
        Method::POST,
        "/auth-files?name=x.json",
        Some(claude_file(&base, "planted")),
    )
    .await;
    assert_eq!(upload.status, 403, "{}", upload.text());
    assert_eq!(std::fs::read("/etc/hostname").unwrap(), hostname);

    // Not deleted, one by one or all at once.
    let delete = admin(&proxy, Method::DELETE, "/auth-files?name=x.json", None).await;
    assert_eq!(delete.status, 403, "{}", delete.text());
    let all = admin(&proxy, Method::DELETE, "/auth-files?all=true", None).await;
    assert_eq!(all.status, 207, "{}", all.text());
    let body = all.json();
    assert_eq!(body["deleted"], 1, "{body}");
    let refused: Vec<_> = body["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(refused, ["up.json", "x.json"]);
    assert_eq!(std::fs::read("/etc/hostname").unwrap(), hostname);
    assert!(outside.exists());
    assert!(is_symlink(&auths.join("x.json")) && is_symlink(&auths.join("up.json")));
    // The inside link went, its target stayed.
    assert!(!is_symlink(&auths.join("in.json")));
    assert!(auths.join("..data/in.json").exists());
}

#[tokio::test]
async fn a_symlinked_config_yaml_stays_a_link_after_a_management_write() {
    let proxy = Proxy::start(&managed("api-keys: [k1]\n")).await;
    let real_dir = proxy.dir.path().join("dotfiles");
    std::fs::create_dir(&real_dir).unwrap();
    let real = real_dir.join("config.yaml");
    std::fs::rename(proxy.config_path(), &real).unwrap();
    symlink(&real, proxy.config_path()).unwrap();

    let reply = admin(
        &proxy,
        Method::PUT,
        "/api-keys",
        Some(json!(["k1", "k2"]).to_string()),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(is_symlink(&proxy.config_path()), "still a link");
    let text = std::fs::read_to_string(&real).unwrap();
    assert!(text.contains("k2"), "{text}");
    assert_eq!(
        proxy.runtime().generation().config.api_keys,
        ["k1", "k2"],
        "applied"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&real_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["config.yaml"], "no temporary left beside it");
}

/// A Messages request with the client key `key`.
async fn send(proxy: &Proxy, key: &str) -> Reply {
    let auth = format!("Bearer {key}");
    proxy
        .post_with(
            "/v1/messages",
            &messages("claude-sonnet-4"),
            &[("authorization", &auth)],
        )
        .await
}

#[tokio::test]
async fn example_client_keys_shut_the_proxy_beyond_loopback() {
    let mock = MockUpstream::start().await.unwrap();
    let upstream = format!(
        "claude-api-key:\n  - api-key: a\n    base-url: {}\n",
        mock.base_url()
    );
    let example = Proxy::start(&format!("api-keys: [mine, sk-change-me]\n{upstream}")).await;
    let reference = Proxy::start(&format!(
        "auth:\n  providers:\n    - name: team\n      type: config-api-key\n      api-keys: [your-api-key-3]\n{upstream}"
    ))
    .await;
    let own = Proxy::start(&format!("api-keys: [mine]\n{upstream}")).await;
    // On loopback only, the example keys work.
    assert_eq!(send(&example, "sk-change-me").await.status, 200);
    assert_eq!(send(&reference, "your-api-key-3").await.status, 200);

    for proxy in [&example, &reference, &own] {
        // As if the server also listened beyond loopback.
        proxy
            .runtime()
            .add_listener("192.0.2.10:8317".parse().unwrap(), None);
    }
    for (proxy, key) in [
        (&example, "sk-change-me"),
        (&example, "mine"),
        (&reference, "your-api-key-3"),
    ] {
        let reply = send(proxy, key).await;
        assert_eq!(reply.status, 403, "{key}: {}", reply.text());
        assert_eq!(reply.header("x-cpa-safe-mode"), Some("example-api-key"));
        let body = reply.json();
        assert_eq!(body["error"], "unsafe_example_api_key");
        assert!(
            body["message"].as_str().unwrap().starts_with(
                "Proxy API endpoints are disabled because api-keys contains template values."
            ),
            "{body}"
        );
        let models = proxy.get("/v1/models").await;
        assert_eq!(models.status, 403);
    }
    let reply = send(&own, "mine").await;
    assert_eq!(reply.status, 200, "no example key, no safe mode");
    assert_eq!(reply.header("x-cpa-safe-mode"), None);
}
