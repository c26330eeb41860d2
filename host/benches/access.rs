//! Access-provider call costs: the embedded `config-api-key` component called through the
//! plugin host (pooled live instance) beside the same check in native Rust, and the pool
//! beside instantiating a fresh instance for every call.
//!
//! `cargo bench -p switchyard --bench access`

use std::net::{IpAddr, Ipv4Addr};
use std::time::SystemTime;

use criterion::{Criterion, criterion_group, criterion_main};
use subtle::{ConditionallySelectable, ConstantTimeEq};
use switchyard::test_util::access::{AccessChain, ProviderRegistry, RequestHead};
use switchyard::test_util::config::{InstanceConfig, PluginLimits};
use switchyard::test_util::plugin::{HostOptions, PluginHost};

const KEYS: &[&str] = &[
    "sk-alpha-0001",
    "sk-bravo-0002",
    "sk-charlie-0003",
    "sk-delta-0004",
];

/// A typical request head: a handful of headers, the key as a Bearer token.
fn request() -> RequestHead {
    let headers = [
        ("host", "127.0.0.1:8317"),
        ("user-agent", "claude-cli/1.0.0 (external, cli)"),
        ("content-type", "application/json"),
        ("accept", "application/json"),
        ("anthropic-version", "2023-06-01"),
        ("authorization", "Bearer sk-charlie-0003"),
        ("content-length", "512"),
    ];
    RequestHead::new(
        "POST",
        "/v1/messages",
        "",
        headers.iter().map(|(n, v)| (n.to_string(), v.to_string())),
        Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        SystemTime::now(),
    )
}

/// A realistic Claude Code request head: 15 headers, the key in `x-api-key`.
fn claude_code_request() -> RequestHead {
    let headers = [
        ("host", "127.0.0.1:8317"),
        ("connection", "keep-alive"),
        ("accept", "application/json"),
        ("accept-encoding", "gzip, deflate, br"),
        ("content-type", "application/json"),
        ("content-length", "48211"),
        ("user-agent", "claude-cli/2.0.14 (external, cli)"),
        ("x-api-key", "sk-charlie-0003"),
        ("anthropic-version", "2023-06-01"),
        (
            "anthropic-beta",
            "claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14",
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

/// The same lookup as the component, in native Rust: Bearer extraction, constant-time
/// comparison with every key over the longest key's length.
struct NativeKeys {
    keys: Vec<String>,
    padded: Vec<Vec<u8>>,
    width: usize,
}

impl NativeKeys {
    fn new(keys: &[&str]) -> NativeKeys {
        let width = keys.iter().map(|k| k.len()).max().unwrap_or(0);
        NativeKeys {
            keys: keys.iter().map(|k| k.to_string()).collect(),
            padded: keys
                .iter()
                .map(|k| {
                    let mut padded = k.as_bytes().to_vec();
                    padded.resize(width, 0);
                    padded
                })
                .collect(),
            width,
        }
    }

    fn find(&self, candidate: &str) -> Option<&str> {
        let candidate = candidate.as_bytes();
        let mut padded = vec![0u8; self.width];
        let shown = candidate.len().min(self.width);
        padded[..shown].copy_from_slice(&candidate[..shown]);
        let length = candidate.len() as u64;
        let mut found = subtle::Choice::from(0);
        let mut index = 0u64;
        for (i, (key, bytes)) in self.keys.iter().zip(&self.padded).enumerate() {
            let hit = bytes.as_slice().ct_eq(&padded) & (key.len() as u64).ct_eq(&length) & !found;
            index.conditional_assign(&(i as u64), hit);
            found |= hit;
        }
        bool::from(found).then(|| self.keys[index as usize].as_str())
    }

    fn authenticate(&self, head: &RequestHead) -> Option<(String, Vec<(String, String)>)> {
        let authorization = head.header("authorization").unwrap_or("");
        let token = match authorization.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
            _ => authorization,
        };
        let candidates = [
            ("authorization", token.to_owned()),
            (
                "x-goog-api-key",
                head.header("x-goog-api-key").unwrap_or("").to_owned(),
            ),
            (
                "x-api-key",
                head.header("x-api-key").unwrap_or("").to_owned(),
            ),
            ("query-key", head.query_param("key").unwrap_or_default()),
            (
                "query-auth-token",
                head.query_param("auth_token").unwrap_or_default(),
            ),
        ];
        candidates
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .find_map(|(source, value)| {
                self.find(value).map(|key| {
                    (
                        key.to_owned(),
                        vec![("source".to_owned(), source.to_string())],
                    )
                })
            })
    }
}

fn chain(runtime: &tokio::runtime::Runtime, pool_size: usize) -> AccessChain {
    runtime.block_on(async {
        let host = PluginHost::new(HostOptions {
            pool_size,
            ..HostOptions::default()
        })
        .unwrap();
        host.load_embedded().await.unwrap();
        let instances = [InstanceConfig {
            name: "config-inline".to_owned(),
            kind: "config-api-key".to_owned(),
            settings: serde_json::json!({ "api-keys": KEYS }),
            limits: None,
            on_fault: switchyard::test_util::config::OnFault::Deny,
        }];
        AccessChain::prepare(
            &instances,
            &PluginLimits::default(),
            &ProviderRegistry::new(),
            &host,
            None,
        )
        .await
        .unwrap()
    })
}

fn config_api_key(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let head = request();
    let pooled = chain(&runtime, 8);
    let per_call = chain(&runtime, 0);
    let native = NativeKeys::new(KEYS);
    assert!(native.authenticate(&head).is_some());
    let provider = pooled.entries()[0].instance().clone();
    let per_call_provider = per_call.entries()[0].instance().clone();
    assert!(
        runtime
            .block_on(pooled.authenticate(&head))
            .unwrap()
            .is_some()
    );

    let claude_code = claude_code_request();
    assert_eq!(claude_code.headers().len(), 15);
    assert!(native.authenticate(&claude_code).is_some());

    let minimal = RequestHead::new(
        "POST",
        "/v1/messages",
        "",
        [(
            "authorization".to_owned(),
            "Bearer sk-charlie-0003".to_owned(),
        )],
        None,
        SystemTime::now(),
    );

    // The async benches run their iterations inside one `block_on`, as a server's handler
    // runs inside the runtime.
    let mut group = c.benchmark_group("config-api-key");
    group.bench_function("native", |b| {
        b.iter(|| native.authenticate(std::hint::black_box(&head)))
    });
    group.bench_function("wasm-provider-call", |b| {
        b.to_async(&runtime)
            .iter(|| provider.authenticate(std::hint::black_box(&head)))
    });
    group.bench_function("wasm-provider-call-15-headers", |b| {
        b.to_async(&runtime)
            .iter(|| provider.authenticate(std::hint::black_box(&claude_code)))
    });
    group.bench_function("wasm-provider-call-1-header", |b| {
        b.to_async(&runtime)
            .iter(|| provider.authenticate(std::hint::black_box(&minimal)))
    });
    group.bench_function("wasm-chain", |b| {
        b.to_async(&runtime)
            .iter(|| pooled.authenticate(std::hint::black_box(&head)))
    });
    group.bench_function("wasm-instantiate-per-call", |b| {
        b.to_async(&runtime)
            .iter(|| per_call_provider.authenticate(std::hint::black_box(&head)))
    });
    group.finish();
}

criterion_group!(benches, config_api_key);
criterion_main!(benches);
