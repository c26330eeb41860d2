//! The plugins folder, hot: files added, replaced and removed while traffic flows; broken
//! files reported without disturbing service; `plugins.enabled` / `plugins.dir` on reload.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use switchyard::test_util::plugin::ServiceState;
use switchyard_mock::MockUpstream;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::harness::plugins::{cache_dir, config, drop_file, status_of, warm_cache};
use crate::harness::{Proxy, WAIT, guests, messages};

const GATE: &str = "    - name: gate\n      type: versioned\n";

/// What the `versioned` plugin says about a probe request (`version 1.0.0`, ...), or the
/// status and body when it is something else.
async fn probe(proxy: &Proxy) -> String {
    let reply = proxy
        .post_with(
            "/v1/messages",
            &messages("claude-sonnet-4"),
            &[("x-version-probe", "1")],
        )
        .await;
    match (reply.status, reply.json()["error"].as_str()) {
        (409, Some(message)) => message.to_owned(),
        _ => format!("{} {}", reply.status, reply.text()),
    }
}

/// A request of the traffic: when it started and ended, and what came back.
#[derive(Debug, Clone)]
struct Answer {
    started: Instant,
    finished: Instant,
    /// `Ok(None)`: a normal request answered 200; `Ok(Some(v))`: a probe answered by version
    /// `v`; `Err`: anything else.
    seen: Result<Option<String>, String>,
}

/// Requests at a steady rate until stopped: every other one a probe.
struct Traffic {
    stop: Arc<AtomicBool>,
    answers: Arc<Mutex<Vec<Answer>>>,
    /// Signalled after each answer.
    answered: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Traffic {
    /// Starts `per_second` requests a second against `proxy`.
    fn start(proxy: &Proxy, per_second: u32) -> Traffic {
        let stop = Arc::new(AtomicBool::new(false));
        let answers = Arc::new(Mutex::new(Vec::new()));
        let answered = Arc::new(Notify::new());
        let (client, url) = (proxy.client.clone(), proxy.url("/v1/messages"));
        let task = tokio::spawn({
            let (stop, answers, answered) = (stop.clone(), answers.clone(), answered.clone());
            async move {
                let mut tick = tokio::time::interval(Duration::from_secs(1) / per_second.max(1));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                let mut requests = JoinSet::new();
                let mut n = 0u64;
                while !stop.load(Ordering::Acquire) {
                    tick.tick().await;
                    n += 1;
                    let probe = n.is_multiple_of(2);
                    let (client, url) = (client.clone(), url.clone());
                    let (answers, answered) = (answers.clone(), answered.clone());
                    requests.spawn(async move {
                        let started = Instant::now();
                        let mut request = client.post(url).json(&messages("claude-sonnet-4"));
                        if probe {
                            request = request.header("x-version-probe", "1");
                        }
                        let seen = match request.send().await {
                            Err(error) => Err(format!("request failed: {error}")),
                            Ok(response) => {
                                let status = response.status().as_u16();
                                let body = response.text().await.unwrap_or_default();
                                let version = serde_json::from_str::<serde_json::Value>(&body)
                                    .ok()
                                    .and_then(|v| v["error"].as_str().map(str::to_owned));
                                match (probe, status, version) {
                                    (false, 200, _) => Ok(None),
                                    (true, 409, Some(v)) if v.starts_with("version ") => {
                                        Ok(Some(v))
                                    }
                                    _ => Err(format!("probe={probe} {status} {body}")),
                                }
                            }
                        };
                        answers.lock().push(Answer {
                            started,
                            finished: Instant::now(),
                            seen,
                        });
                        answered.notify_waiters();
                    });
                    while requests.try_join_next().is_some() {}
                }
                while requests.join_next().await.is_some() {}
            }
        });
        Traffic {
            stop,
            answers,
            answered,
            task,
        }
    }

    /// Waits until some answer satisfies `found`; returns the first such answer.
    async fn wait_for(&self, found: impl Fn(&Answer) -> bool) -> Answer {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let next = self.answered.notified();
            tokio::pin!(next);
            next.as_mut().enable();
            if let Some(answer) = self.answers.lock().iter().find(|a| found(a)) {
                return answer.clone();
            }
            tokio::time::timeout_at(deadline, next)
                .await
                .expect("no such answer within the deadline");
        }
    }

    /// Stops and returns every answer.
    async fn stop(self) -> Vec<Answer> {
        self.stop.store(true, Ordering::Release);
        self.task.await.unwrap();
        std::mem::take(&mut *self.answers.lock())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_swaps_under_traffic_without_a_failed_request() {
    let mock = MockUpstream::start().await.unwrap();
    let plugins = tempfile::tempdir().unwrap();
    let file = plugins.path().join("versioned.wasm");
    let (v1, v2) = (guests::VERSIONED_V1.bytes(), guests::VERSIONED_V2.bytes());
    warm_cache(&v1).await;
    warm_cache(&v2).await;
    std::fs::write(&file, &v1).unwrap();
    let proxy = Proxy::start(&config(&mock, plugins.path(), "", GATE)).await;
    assert_eq!(probe(&proxy).await, "version 1.0.0");
    let per_second = 1000;
    let traffic = Traffic::start(&proxy, per_second);
    traffic
        .wait_for(|a| a.seen.as_ref().is_ok_and(|v| v.is_some()))
        .await;

    // v1 → v2, written in place as `cp` does.
    let before = proxy.runtime().reload_status().borrow().clone();
    std::fs::write(&file, &v2).unwrap();
    let complete = Instant::now();
    let swapped = proxy
        .wait_reload(|s| s.generation > before.generation)
        .await;
    let swap_time = complete.elapsed();
    let first_v2 = traffic
        .wait_for(|a| {
            a.seen
                .as_ref()
                .is_ok_and(|v| v.as_deref() == Some("version 2.0.0"))
        })
        .await;
    let latency = first_v2.finished.saturating_duration_since(complete);
    eprintln!(
        "plugin swap at {per_second} req/s: generation swapped {swap_time:?} and version 2 answered {latency:?} after its file was complete"
    );
    assert!(latency < Duration::from_secs(2), "{latency:?}");
    assert_eq!(probe(&proxy).await, "version 2.0.0");
    let status = status_of(&proxy, "versioned.wasm");
    assert_eq!(
        (status.state, status.version.as_deref(), status.instances),
        (ServiceState::Active, Some("2.0.0"), vec!["gate".to_owned()])
    );

    // Removed while `gate` names its type: reported, and the last good generation keeps it.
    let attempts = proxy.runtime().reload_status().borrow().attempts;
    std::fs::remove_file(&file).unwrap();
    let removed = proxy.wait_reload(|s| s.attempts > attempts).await;
    assert_eq!(removed.generation, swapped.generation);
    let error = removed.last_error.unwrap();
    assert!(
        error.contains("versioned.wasm") && error.contains("until the config stops naming"),
        "{error}"
    );
    assert_eq!(probe(&proxy).await, "version 2.0.0");
    let status = status_of(&proxy, "versioned.wasm");
    assert_eq!(status.state, ServiceState::Active);
    assert!(status.error.unwrap().contains("removed"));

    // A broken file: reported, changes nothing.
    let attempts = proxy.runtime().reload_status().borrow().attempts;
    std::fs::write(plugins.path().join("broken.wasm"), &v1[..v1.len() / 2]).unwrap();
    let broken = proxy.wait_reload(|s| s.attempts > attempts).await;
    assert_eq!(broken.generation, swapped.generation);
    let status = status_of(&proxy, "broken.wasm");
    assert_eq!(status.state, ServiceState::Failed);
    assert!(
        status
            .error
            .as_deref()
            .unwrap()
            .contains("not a valid WebAssembly component"),
        "{status:?}"
    );
    assert_eq!(probe(&proxy).await, "version 2.0.0");

    let answers = traffic.stop().await;
    let failed: Vec<_> = answers.iter().filter(|a| a.seen.is_err()).collect();
    assert!(
        failed.is_empty(),
        "{} of {} requests failed, such as {:?}",
        failed.len(),
        answers.len(),
        &failed[..failed.len().min(3)]
    );
    assert!(answers.len() > 100, "{} requests", answers.len());
    // Once version 2 has answered, every request started later gets version 2.
    assert!(answers.iter().all(|a| a.started < first_v2.finished
        || a.seen.as_ref().unwrap().as_deref() != Some("version 1.0.0")));
    eprintln!("{} requests, none failed", answers.len());

    // The config stops naming the type: now the removed plugin leaves.
    let applied = proxy
        .rewrite_config(&format!(
            "api-keys: [sk-1]\n{}",
            config(&mock, plugins.path(), "", "")
        ))
        .await;
    assert_eq!(applied.generation, swapped.generation + 1, "{applied:?}");
    assert!(
        proxy
            .runtime()
            .plugin_status()
            .iter()
            .all(|s| s.kind.as_deref() != Some("versioned"))
    );
    let reply = proxy
        .post_with(
            "/v1/messages",
            &messages("claude-sonnet-4"),
            &[("x-api-key", "sk-1")],
        )
        .await;
    assert_eq!(reply.status, 200);
}

async fn key_works(proxy: &Proxy) {
    let reply = proxy
        .post_with(
            "/v1/messages",
            &messages("claude-sonnet-4"),
            &[("x-api-key", "sk-1")],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}

#[tokio::test]
async fn adversarial_files_are_reported_and_disturb_nothing() {
    let mock = MockUpstream::start().await.unwrap();
    let root = tempfile::tempdir().unwrap();
    let plugins = root.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    let yaml = |providers: &str| {
        format!(
            "api-keys: [sk-1]\n{}",
            config(&mock, &plugins, "", providers)
        )
    };
    let proxy = Proxy::start(&yaml("")).await;
    let generation = proxy.runtime().reload_status().borrow().generation;
    let misbehave = guests::MISBEHAVE.bytes();

    let core_module = b"\0asm\x01\0\0\0".to_vec();
    for (name, bytes, reason) in [
        (
            "truncated.wasm",
            misbehave[..misbehave.len() / 3].to_vec(),
            "not a valid WebAssembly component",
        ),
        (
            "core.wasm",
            core_module,
            "not a valid WebAssembly component",
        ),
        (
            "unknown.wasm",
            guests::UNKNOWN_WORLD.bytes(),
            "matches no switchyard plugin world",
        ),
    ] {
        let status = drop_file(&proxy, &plugins, name, &bytes).await;
        assert_eq!(status.generation, generation, "{name} changed nothing");
        let error = status.last_error.unwrap_or_default();
        assert!(
            error.contains(name) && error.contains(reason),
            "{name}: {error}"
        );
        let plugin = status_of(&proxy, name);
        assert_eq!(plugin.state, ServiceState::Failed, "{plugin:?}");
        assert!(plugin.error.unwrap().contains(reason));
        key_works(&proxy).await;
    }

    // Files that are not `*.wasm`, and sub-folders, are none of the host's business.
    std::fs::write(plugins.join("README.txt"), "notes").unwrap();
    std::fs::create_dir(plugins.join("old")).unwrap();
    std::fs::write(plugins.join("old/ignored.wasm"), &misbehave).unwrap();

    // A good plugin: applied, in service without instances.
    let status = drop_file(&proxy, &plugins, "misbehave.wasm", &misbehave).await;
    assert_eq!(status.generation, generation + 1, "{status:?}");
    assert_eq!(
        status_of(&proxy, "misbehave.wasm").state,
        ServiceState::Active
    );
    assert!(
        proxy
            .runtime()
            .plugin_status()
            .iter()
            .all(|s| s.name != "ignored.wasm" && s.name != "README.txt")
    );

    // Settings the plugin rejects: reported on the plugin, the running chain stays.
    let rejected = proxy
        .rewrite_config(&yaml(
            "    - name: picky\n      type: misbehave\n      config: {reject: no thanks}\n",
        ))
        .await;
    assert_eq!(rejected.generation, generation + 1);
    let error = rejected.last_error.unwrap();
    assert!(
        error.contains("picky") && error.contains("rejected its settings: no thanks"),
        "{error}"
    );
    let plugin = status_of(&proxy, "misbehave.wasm");
    assert!(plugin.error.unwrap().contains("instance picky"));
    key_works(&proxy).await;

    // An instance of a type nobody provides: reported, the running chain stays.
    let missing = proxy
        .rewrite_config(&yaml("    - name: sso\n      type: no-such-plugin\n"))
        .await;
    assert_eq!(missing.generation, generation + 1);
    assert!(
        missing
            .last_error
            .unwrap()
            .contains("unknown type \"no-such-plugin\"")
    );
    key_works(&proxy).await;

    // Fixed: applied, and the plugin's rejection note is gone.
    let fixed = proxy
        .rewrite_config(&yaml(
            "    - name: picky\n      type: misbehave\n      config: {mode: not-handled}\n",
        ))
        .await;
    assert_eq!(fixed.generation, generation + 2, "{fixed:?}");
    let plugin = status_of(&proxy, "misbehave.wasm");
    assert_eq!(
        (plugin.error, plugin.instances),
        (None, vec!["picky".to_owned()])
    );
    key_works(&proxy).await;
    assert_eq!(proxy.claude_turn().await.status, 401);
    // Both requests asked `picky` first: the top-level keys' `config-inline` comes last.
    assert_eq!(status_of(&proxy, "misbehave.wasm").calls, 2);
}

#[tokio::test]
async fn plugins_enabled_and_dir_follow_the_config() {
    let mock = MockUpstream::start().await.unwrap();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    std::fs::write(
        a.path().join("versioned.wasm"),
        guests::VERSIONED_V1.bytes(),
    )
    .unwrap();
    std::fs::write(b.path().join("v.wasm"), guests::VERSIONED_V2.bytes()).unwrap();
    let proxy = Proxy::start(&config(&mock, a.path(), "", GATE)).await;
    assert_eq!(probe(&proxy).await, "version 1.0.0");

    // Another folder: its plugin serves.
    let moved = proxy
        .rewrite_config(&config(&mock, b.path(), "", GATE))
        .await;
    assert_eq!(moved.generation, 2, "{moved:?}");
    assert_eq!(probe(&proxy).await, "version 2.0.0");

    // Folder plugins off while `gate` names one: refused, version 2 keeps serving.
    let refused = proxy
        .rewrite_config(&config(&mock, b.path(), "  enabled: false\n", GATE))
        .await;
    assert_eq!(refused.generation, 2);
    assert!(refused.last_error.unwrap().contains("versioned"));
    assert_eq!(probe(&proxy).await, "version 2.0.0");

    // Off, and nothing names them: applied; only the embedded plugin is left.
    let off = proxy
        .rewrite_config(&format!(
            "api-keys: [sk-1]\n{}",
            config(&mock, b.path(), "  enabled: false\n", "")
        ))
        .await;
    assert_eq!(off.generation, 3, "{off:?}");
    let names: Vec<_> = proxy
        .runtime()
        .plugin_status()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["config-api-key", "session-standard"]);

    // On again: and the watcher follows the folder, a file replaced there swaps in.
    let on = proxy
        .rewrite_config(&config(&mock, b.path(), "", GATE))
        .await;
    assert_eq!(on.generation, 4, "{on:?}");
    assert_eq!(probe(&proxy).await, "version 2.0.0");
    let status = drop_file(&proxy, b.path(), "v.wasm", &guests::VERSIONED_V1.bytes()).await;
    assert_eq!(status.generation, 5, "{status:?}");
    assert_eq!(probe(&proxy).await, "version 1.0.0");

    // A new folder that lacks the plugin yet: refused; copying the plugin there retries.
    let c = tempfile::tempdir().unwrap();
    let refused = proxy
        .rewrite_config(&config(&mock, c.path(), "", GATE))
        .await;
    assert_eq!(refused.generation, 5);
    assert!(
        refused
            .last_error
            .unwrap()
            .contains("unknown type \"versioned\"")
    );
    let attempts = proxy.runtime().reload_status().borrow().attempts;
    std::fs::write(
        c.path().join("versioned.wasm"),
        guests::VERSIONED_V2.bytes(),
    )
    .unwrap();
    let applied = proxy
        .wait_reload(|s| s.attempts > attempts && s.generation == 6)
        .await;
    assert_eq!(applied.last_error, None);
    assert_eq!(probe(&proxy).await, "version 2.0.0");
}

#[tokio::test]
async fn the_default_folder_next_to_the_config_is_picked_up_once_created() {
    let mock = MockUpstream::start().await.unwrap();
    let upstream = format!(
        "api-keys: [sk-1]\nplugins:\n  cache-dir: {}\nclaude-api-key:\n  - api-key: upstream\n    base-url: {}\n",
        cache_dir().display(),
        mock.base_url()
    );
    let proxy = Proxy::start(&upstream).await;
    let plugins = proxy.dir.path().join("plugins");
    assert!(!plugins.exists());

    // Created after the start, then filled: the watcher follows.
    std::fs::create_dir(&plugins).unwrap();
    std::fs::write(plugins.join("versioned.wasm"), guests::VERSIONED_V2.bytes()).unwrap();
    proxy
        .wait_reload(|_| {
            proxy
                .runtime()
                .plugin_status()
                .iter()
                .any(|s| s.name == "versioned.wasm" && s.state == ServiceState::Active)
        })
        .await;
    let applied = proxy
        .rewrite_config(&format!("{upstream}auth:\n  providers:\n{GATE}"))
        .await;
    assert!(applied.last_error.is_none(), "{applied:?}");
    assert_eq!(probe(&proxy).await, "version 2.0.0");
}

#[tokio::test]
async fn the_management_api_serves_the_plugin_status() {
    let mock = MockUpstream::start().await.unwrap();
    let plugins = tempfile::tempdir().unwrap();
    std::fs::write(
        plugins.path().join("versioned.wasm"),
        guests::VERSIONED_V1.bytes(),
    )
    .unwrap();
    std::fs::write(plugins.path().join("broken.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(
        plugins.path().join("echo.wasm"),
        guests::SESSION_ECHO.bytes(),
    )
    .unwrap();
    let proxy = Proxy::start(&format!(
        "remote-management:\n  secret-key: admin-secret\nrouting:\n  session-extractors:\n    - name: by-header\n      type: session-echo\n{}",
        config(&mock, plugins.path(), "", GATE)
    ))
    .await;
    let reply = crate::harness::read(
        proxy
            .client
            .get(proxy.url("/v0/management/plugins"))
            .bearer_auth("admin-secret")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = reply.json();
    let plugins = body["plugins"].as_array().unwrap();
    let by_name = |name: &str| plugins.iter().find(|p| p["name"] == name).unwrap().clone();
    let embedded = by_name("config-api-key");
    assert_eq!(
        (&embedded["source"], &embedded["state"], &embedded["world"]),
        (
            &json!("embedded"),
            &json!("active"),
            &json!("access-provider")
        )
    );
    let versioned = by_name("versioned.wasm");
    assert_eq!(versioned["type"], "versioned");
    assert_eq!(versioned["version"], "1.0.0");
    assert_eq!(versioned["source"], "folder");
    assert_eq!(versioned["state"], "active");
    assert_eq!(versioned["instances"], json!(["gate"]));
    assert_eq!(versioned["sha256"].as_str().unwrap().len(), 64);
    assert!(versioned["calls"].is_u64() && versioned["faults"] == 0);
    let echo = by_name("echo.wasm");
    assert_eq!(
        (&echo["world"], &echo["instances"]),
        (&json!("session-extractor"), &json!(["by-header"]))
    );
    let broken = by_name("broken.wasm");
    assert_eq!(
        (&broken["state"], &broken["type"]),
        (&json!("failed"), &Value::Null)
    );
    assert!(
        broken["error"]
            .as_str()
            .unwrap()
            .contains("not a valid WebAssembly component")
    );
}

#[tokio::test]
async fn a_file_written_in_two_steps_is_taken_once_complete() {
    let mock = MockUpstream::start().await.unwrap();
    let plugins = tempfile::tempdir().unwrap();
    let file = plugins.path().join("versioned.wasm");
    std::fs::write(&file, guests::VERSIONED_V1.bytes()).unwrap();
    let proxy = Proxy::start(&config(&mock, plugins.path(), "", GATE)).await;
    let generation = proxy.runtime().reload_status().borrow().generation;

    // The first half of version 2 over version 1, as a slow copy leaves it for a while: not a
    // component, so version 1 keeps serving.
    let v2 = guests::VERSIONED_V2.bytes();
    let (head, tail) = v2.split_at(v2.len() / 2);
    let half_sha = hex::encode(Sha256::digest(head));
    std::fs::write(&file, head).unwrap();
    let status = proxy
        .wait_reload(|_| {
            proxy
                .runtime()
                .plugin_status()
                .iter()
                .any(|p| p.name == "versioned.wasm" && p.sha256 == half_sha)
        })
        .await;
    assert_eq!(status.generation, generation);
    let plugin = status_of(&proxy, "versioned.wasm");
    assert_eq!(plugin.state, ServiceState::Failed);
    assert!(plugin.error.unwrap().contains("version 1.0.0"));
    assert_eq!(probe(&proxy).await, "version 1.0.0");

    // The rest arrives: version 2 swaps in.
    let mut writer = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap();
    std::io::Write::write_all(&mut writer, tail).unwrap();
    drop(writer);
    let applied = proxy.wait_reload(|s| s.generation > generation).await;
    assert_eq!(applied.last_error, None);
    assert_eq!(probe(&proxy).await, "version 2.0.0");
}
