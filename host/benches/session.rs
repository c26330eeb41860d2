//! Session costs: extracting the session of a ~200 KB Claude Code conversation through the
//! embedded `session-standard` component (plugin host, pooled live instance) beside the same
//! rules run natively, and one affinity pick on a warm binding among 8 credentials.
//!
//! `cargo bench -p switchyard --bench session`

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use switchyard::test_util::affinity::memory::MemoryCache;
use switchyard::test_util::affinity::{PickOutcome, SessionAffinity};
use switchyard::test_util::clock::SystemClock;
use switchyard::test_util::config::{Config, InstanceConfig, PluginLimits};
use switchyard::test_util::credential::availability::available;
use switchyard::test_util::credential::candidate::Candidate;
use switchyard::test_util::credential::config_source;
use switchyard::test_util::credential::selector::{PickRequest, RoundRobin, RoundRobinCursors};
use switchyard::test_util::credential::state::CredentialState;
use switchyard::test_util::plugin::{HostOptions, PluginHost, RequestHead};
use switchyard::test_util::session::{ExtractorChain, ExtractorRegistry, SessionIds, SessionKind};

/// A Claude Code request head (15 header fields, none of them a session header).
fn claude_code_head() -> RequestHead {
    let headers = [
        ("host", "127.0.0.1:8317"),
        ("connection", "keep-alive"),
        ("accept", "application/json"),
        ("accept-encoding", "gzip, deflate, br"),
        ("content-type", "application/json"),
        ("content-length", "204800"),
        ("user-agent", "claude-cli/2.0.14 (external, cli)"),
        ("x-api-key", "sk-charlie-0003"),
        ("anthropic-version", "2023-06-01"),
        (
            "anthropic-beta",
            "claude-code-20250219,interleaved-thinking-2025-05-14",
        ),
        ("anthropic-dangerous-direct-browser-access", "true"),
        ("x-app", "cli"),
        ("x-stainless-lang", "js"),
        ("x-stainless-package-version", "0.60.0"),
        ("x-stainless-retry-count", "0"),
    ];
    RequestHead::new(
        "POST",
        "/v1/messages",
        "beta=true",
        headers.iter().map(|(n, v)| (n.to_string(), v.to_string())),
        Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        SystemTime::now(),
    )
}

/// A Claude Code conversation of about `target` bytes: a system prompt, tool definitions, and
/// turns of text, tool calls and tool results (file contents with escapes). With
/// `user_id`, the request names its session in `metadata.user_id` (the JSON form); without,
/// the extractor falls back to the message hash.
fn conversation(target: usize, user_id: bool) -> Vec<u8> {
    let file: String = (0..40)
        .map(|i| format!("    let value_{i} = compute(\"input {i}\", {i}); // step {i}\n"))
        .collect();
    let tools: Vec<_> = (0..16)
        .map(|i| {
            json!({
                "name": format!("Tool{i}"),
                "description": "Reads a file from the local filesystem. ".repeat(12),
                "input_schema": {
                    "type": "object",
                    "properties": {
                        "file_path": { "type": "string", "description": "The absolute path" },
                        "offset": { "type": "number" },
                        "limit": { "type": "number" },
                    },
                    "required": ["file_path"],
                },
            })
        })
        .collect();
    let mut messages = vec![json!({
        "role": "user",
        "content": [{ "type": "text", "text": "Refactor the parser module and add tests." }],
    })];
    let mut body = json!({});
    for turn in 0.. {
        messages.push(json!({
            "role": "assistant",
            "content": [
                { "type": "text", "text": format!("Let me look at file {turn}.") },
                { "type": "tool_use", "id": format!("toolu_{turn:04}"), "name": "Tool0",
                  "input": { "file_path": format!("/src/file_{turn}.rs") } },
            ],
        }));
        messages.push(json!({
            "role": "user",
            "content": [{ "type": "tool_result", "tool_use_id": format!("toolu_{turn:04}"),
                          "content": file }],
        }));
        body = json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 32000,
            "stream": true,
            "system": [
                { "type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude." },
                { "type": "text", "text": "You are an interactive CLI tool. ".repeat(200),
                  "cache_control": { "type": "ephemeral" } },
            ],
            "tools": tools,
            "messages": messages,
        });
        if user_id {
            body["metadata"] = json!({
                "user_id": r#"{"device_id":"4f1e9c0d","account_uuid":"a1b2c3","session_id":"ac980658-63bd-4fb3-97ba-8da64cb1e344"}"#,
            });
        }
        if body.to_string().len() >= target {
            break;
        }
    }
    body.to_string().into_bytes()
}

fn extraction(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let chain = runtime.block_on(async {
        let host = PluginHost::new(HostOptions {
            cache_dir: Some(
                PathBuf::from(env!("SWITCHYARD_PLUGINS_TARGET_DIR")).join("bench-cache"),
            ),
            ..HostOptions::default()
        })
        .unwrap();
        host.load_embedded().await.unwrap();
        let instances = [InstanceConfig {
            name: "session-standard".to_owned(),
            kind: "session-standard".to_owned(),
            settings: json!({}),
            limits: None,
            on_fault: switchyard::test_util::config::OnFault::Deny,
        }];
        ExtractorChain::prepare(
            &instances,
            &PluginLimits::default(),
            &ExtractorRegistry::new(),
            &host,
            None,
        )
        .await
        .unwrap()
    });
    let head = claude_code_head();

    let mut group = c.benchmark_group("session-standard");
    for (label, user_id) in [("user-id", true), ("message-hash", false)] {
        let body = conversation(200 * 1024, user_id);
        let native = session_standard::extract::extract(head.headers(), Some(&body)).unwrap();
        let wasm = runtime.block_on(chain.extract(&head, &body)).unwrap();
        assert_eq!(wasm.primary, native.primary);
        eprintln!(
            "{label}: body {} bytes, session {}",
            body.len(),
            native.primary
        );
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(format!("native-200k-{label}"), |b| {
            b.iter(|| {
                session_standard::extract::extract(
                    std::hint::black_box(head.headers()),
                    Some(std::hint::black_box(&body)),
                )
            })
        });
        group.bench_function(format!("wasm-200k-{label}"), |b| {
            b.to_async(&runtime)
                .iter(|| chain.extract(std::hint::black_box(&head), std::hint::black_box(&body)))
        });
    }
    group.finish();
}

fn affinity_pick(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let keys: String = (0..8)
        .map(|i| format!("  - api-key: sk-bench-{i}\n"))
        .collect();
    let config = Config::parse(
        &format!("claude-api-key:\n{keys}"),
        None,
        PathBuf::from("."),
    )
    .unwrap()
    .config;
    let mut candidates: Vec<Candidate> = config_source::credentials(&config)
        .into_iter()
        .map(|credential| Candidate {
            credential: Arc::new(credential),
            upstream_model: Arc::from("claude-sonnet-4-5"),
            state: Arc::new(CredentialState::default()),
            tracking: switchyard::test_util::model::tracked::Tracking::Listed,
            native: true,
        })
        .collect();
    candidates.sort_by(|a, b| a.credential.id.cmp(&b.credential.id));
    assert_eq!(candidates.len(), 8);
    let ttl = Duration::from_secs(3600);
    let affinity = SessionAffinity::new(
        Arc::new(RoundRobin::new(Arc::new(RoundRobinCursors::default()))),
        Arc::new(MemoryCache::new(ttl, Arc::new(SystemClock))),
        Arc::default(),
    );
    let request = PickRequest {
        route_key: "claude:claude-sonnet-4-5",
        provider: "claude",
        model: "claude-sonnet-4-5",
    };
    let session = SessionIds {
        primary: "claude:ac980658-63bd-4fb3-97ba-8da64cb1e344".to_owned(),
        fallback: None,
        kind: SessionKind::Explicit,
    };
    // Warm the binding (and a few others, so the cache is not trivially small).
    runtime.block_on(async {
        for i in 0..1000 {
            let other = SessionIds {
                primary: format!("claude:other-{i}"),
                ..session.clone()
            };
            let avail = available(&candidates, |_| false, SystemTime::now()).unwrap();
            affinity.pick(&request, Some(&other), &avail).await;
        }
        let avail = available(&candidates, |_| false, SystemTime::now()).unwrap();
        affinity.pick(&request, Some(&session), &avail).await;
        let (_, outcome) = affinity.pick(&request, Some(&session), &avail).await;
        assert_eq!(outcome, PickOutcome::Hit);
    });

    let mut group = c.benchmark_group("affinity");
    let avail = available(&candidates, |_| false, SystemTime::now()).unwrap();
    group.bench_function("pick-warm-binding-8-candidates", |b| {
        b.to_async(&runtime).iter(|| async {
            let (candidate, _) = affinity
                .pick(&request, Some(std::hint::black_box(&session)), &avail)
                .await;
            std::hint::black_box(candidate.credential.id.as_str().len())
        })
    });
    group.bench_function("availability-and-pick-8-candidates", |b| {
        b.to_async(&runtime).iter(|| async {
            let avail = available(&candidates, |_| false, SystemTime::now()).unwrap();
            let (candidate, _) = affinity
                .pick(&request, Some(std::hint::black_box(&session)), &avail)
                .await;
            std::hint::black_box(candidate.credential.id.as_str().len())
        })
    });
    group.bench_function("availability-only-8-candidates", |b| {
        b.iter(|| {
            let avail = available(&candidates, |_| false, SystemTime::now()).unwrap();
            std::hint::black_box(avail.all.len())
        })
    });
    group.finish();
    affinity.stop();
}

criterion_group!(benches, extraction, affinity_pick);
criterion_main!(benches);
