//! Library-level tests of the plugin host and the access chain with real components:
//! the embedded `config-api-key` and the test guests of `plugins/testing/` (built here).

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use switchyard::test_util::access::{
    AccessChain, AccessError, AccessFuture, AccessOutcome, AccessProvider, ProviderRegistry,
    ProviderType, RequestHead,
};
use switchyard::test_util::chain::{PrepareCause, PrepareError};
use switchyard::test_util::clock::ManualClock;
use switchyard::test_util::config::{Config, InstanceConfig, PluginLimits};
use switchyard::test_util::plugin::{
    Fault, HostOptions, Plugin, PluginError, PluginHost, PluginOrigin, PluginWorld,
};

use crate::harness::guests;
use crate::harness::{instance, plugin_host, shared_plugin_cache};
use crate::wasm_guest;

struct Fixture {
    host: PluginHost,
    clock: Arc<ManualClock>,
    registry: ProviderRegistry,
}

/// A host with the embedded plugins and the `misbehave` guest installed.
async fn fixture() -> Fixture {
    let clock = Arc::new(ManualClock::default());
    let host = plugin_host(clock.clone(), &[guests::MISBEHAVE]).await;
    Fixture {
        host,
        clock,
        registry: ProviderRegistry::new(),
    }
}

fn keys(name: &str, keys: &[&str]) -> InstanceConfig {
    instance(
        name,
        "config-api-key",
        serde_json::json!({ "api-keys": keys }),
    )
}

fn head(headers: &[(&str, &str)], query: &str) -> RequestHead {
    head_from(headers, query, IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)))
}

/// A request head from the client address `client`.
fn head_from(headers: &[(&str, &str)], query: &str, client: IpAddr) -> RequestHead {
    RequestHead::new(
        "POST",
        "/v1/chat/completions",
        query,
        headers.iter().map(|(n, v)| (n.to_string(), v.to_string())),
        Some(client),
        SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
    )
}

/// A trapping request from the client `198.51.100.<n>`.
fn panic_from(n: u8) -> RequestHead {
    head_from(
        &[("x-misbehave", "panic")],
        "",
        IpAddr::V4(Ipv4Addr::new(198, 51, 100, n)),
    )
}

impl Fixture {
    async fn chain(&self, instances: &[InstanceConfig]) -> AccessChain {
        self.try_chain(instances).await.unwrap()
    }

    async fn try_chain(&self, instances: &[InstanceConfig]) -> Result<AccessChain, PrepareError> {
        AccessChain::prepare(
            instances,
            &PluginLimits::default(),
            &self.registry,
            &self.host,
            None,
        )
        .await
    }
}

/// The principal and `source` of an allowed request.
async fn allowed(chain: &AccessChain, head: &RequestHead) -> (String, String, Option<String>) {
    let principal = chain
        .authenticate(head)
        .await
        .unwrap_or_else(|e| panic!("refused: {e}"))
        .expect("a non-empty chain");
    let source = principal.metadata("source").map(str::to_owned);
    (principal.provider, principal.principal, source)
}

async fn refused(chain: &AccessChain, head: &RequestHead) -> AccessError {
    chain
        .authenticate(head)
        .await
        .expect_err("expected a refusal")
}

fn body(error: &AccessError) -> serde_json::Value {
    serde_json::from_slice(&error.body("req-1")).unwrap()
}

#[tokio::test]
async fn config_api_key_checks_every_location_in_order() {
    let f = fixture().await;
    let chain = f
        .chain(&[keys("config-inline", &["sk-a", "sk-b", "Basic literal"])])
        .await;
    // (headers, query, the key found, its source)
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str, &'a str);
    let cases: &[Case<'_>] = &[
        (
            &[("authorization", "Bearer sk-a")],
            "",
            "sk-a",
            "authorization",
        ),
        (
            &[("authorization", "bearer   sk-b ")],
            "",
            "sk-b",
            "authorization",
        ),
        (&[("authorization", "sk-a")], "", "sk-a", "authorization"),
        (
            &[("authorization", "Basic literal")],
            "",
            "Basic literal",
            "authorization",
        ),
        (&[("x-goog-api-key", "sk-b")], "", "sk-b", "x-goog-api-key"),
        (&[("X-Api-Key", "sk-a")], "", "sk-a", "x-api-key"),
        (&[], "key=sk-b", "sk-b", "query-key"),
        (&[], "foo=1&auth_token=sk-a", "sk-a", "query-auth-token"),
        // A wrong earlier candidate does not hide a right later one.
        (
            &[("authorization", "Bearer nope"), ("x-api-key", "sk-b")],
            "",
            "sk-b",
            "x-api-key",
        ),
        // The first matching candidate in lookup order wins.
        (&[("x-api-key", "sk-b")], "key=sk-a", "sk-b", "x-api-key"),
    ];
    for (headers, query, key, source) in cases {
        let (provider, principal, found) = allowed(&chain, &head(headers, query)).await;
        assert_eq!(provider, "config-inline");
        assert_eq!(principal, *key, "{headers:?} {query}");
        assert_eq!(found.as_deref(), Some(*source), "{headers:?} {query}");
    }
}

#[tokio::test]
async fn config_api_key_refuses_missing_and_wrong_keys() {
    let f = fixture().await;
    let chain = f.chain(&[keys("config-inline", &["sk-a"])]).await;

    let missing = refused(&chain, &head(&[("accept", "*/*")], "")).await;
    assert_eq!(missing, AccessError::MissingCredential);
    assert_eq!(missing.status(), 401);
    assert_eq!(
        body(&missing),
        serde_json::json!({"error": "Missing API key"})
    );
    // Empty values are no credentials.
    let empty = refused(&chain, &head(&[("x-api-key", "")], "key=")).await;
    assert_eq!(empty, AccessError::MissingCredential);

    for (headers, query) in [
        (&[("authorization", "Bearer sk-b")][..], ""),
        (&[("authorization", "Basic sk-a")][..], ""),
        (&[("authorization", "SK-A")][..], ""),
        (&[][..], "key=sk-a%20"),
        (&[("x-goog-api-key", "sk-")][..], ""),
    ] {
        let invalid = refused(&chain, &head(headers, query)).await;
        assert_eq!(
            invalid,
            AccessError::InvalidCredential,
            "{headers:?} {query}"
        );
        assert_eq!(invalid.status(), 401);
        assert_eq!(
            body(&invalid),
            serde_json::json!({"error": "Invalid API key"})
        );
    }
}

#[tokio::test]
async fn two_instances_of_one_type_keep_their_own_keys() {
    let f = fixture().await;
    let chain = f
        .chain(&[keys("team-a", &["sk-a"]), keys("team-b", &["sk-b"])])
        .await;
    let (provider, principal, _) = allowed(&chain, &head(&[("x-api-key", "sk-a")], "")).await;
    assert_eq!((provider.as_str(), principal.as_str()), ("team-a", "sk-a"));
    let (provider, principal, _) = allowed(&chain, &head(&[("x-api-key", "sk-b")], "")).await;
    assert_eq!((provider.as_str(), principal.as_str()), ("team-b", "sk-b"));
    assert_eq!(
        refused(&chain, &head(&[("x-api-key", "sk-c")], "")).await,
        AccessError::InvalidCredential
    );
}

/// A native provider: `x-token` must equal the setting `token`.
struct TokenProvider {
    token: String,
}

impl AccessProvider for TokenProvider {
    fn authenticate<'a>(&'a self, head: &'a RequestHead) -> AccessFuture<'a> {
        Box::pin(async move {
            Ok(match head.header("x-token") {
                None => AccessOutcome::NoCredentials,
                Some(token) if token == self.token => AccessOutcome::Allow {
                    principal: format!("token:{token}"),
                    metadata: vec![],
                },
                Some(_) => AccessOutcome::InvalidCredential,
            })
        })
    }
}

fn register_token(registry: &ProviderRegistry) {
    registry.register_native("header-token", |config: &InstanceConfig| {
        let token = config.settings["token"]
            .as_str()
            .ok_or("token must be a string")?
            .to_owned();
        Ok(Arc::new(TokenProvider { token }) as Arc<dyn AccessProvider>)
    });
}

#[tokio::test]
async fn native_and_wasm_providers_in_both_orders() {
    let f = fixture().await;
    register_token(&f.registry);
    let native = instance(
        "tokens",
        "header-token",
        serde_json::json!({"token": "t-1"}),
    );
    let wasm = keys("keys", &["sk-a"]);
    for chain in [
        f.chain(&[native.clone(), wasm.clone()]).await,
        f.chain(&[wasm.clone(), native.clone()]).await,
    ] {
        let (provider, principal, _) = allowed(&chain, &head(&[("x-token", "t-1")], "")).await;
        assert_eq!(
            (provider.as_str(), principal.as_str()),
            ("tokens", "token:t-1")
        );
        let (provider, _, _) = allowed(&chain, &head(&[("x-api-key", "sk-a")], "")).await;
        assert_eq!(provider, "keys");
        // Invalid from either provider wins over the other's missing credentials.
        for headers in [[("x-token", "wrong")], [("x-api-key", "wrong")]] {
            assert_eq!(
                refused(&chain, &head(&headers, "")).await,
                AccessError::InvalidCredential
            );
        }
        assert_eq!(
            refused(&chain, &head(&[], "")).await,
            AccessError::MissingCredential
        );
    }
    // Both accept different credentials in one request: the first in chain order wins.
    let both = head(&[("x-token", "t-1"), ("x-api-key", "sk-a")], "");
    let chain = f.chain(&[wasm.clone(), native.clone()]).await;
    assert_eq!(allowed(&chain, &both).await.0, "keys");
    let chain = f.chain(&[native, wasm]).await;
    assert_eq!(allowed(&chain, &both).await.0, "tokens");
}

#[tokio::test]
async fn new_settings_reconfigure_without_recompiling() {
    let f = fixture().await;
    let before = f.host.stats();
    let first = f.chain(&[keys("config-inline", &["sk-old"])]).await;
    allowed(&first, &head(&[("x-api-key", "sk-old")], "")).await;

    let second = first
        .prepare_next_instances(&[keys("config-inline", &["sk-new"])], &f)
        .await;
    allowed(&second, &head(&[("x-api-key", "sk-new")], "")).await;
    assert_eq!(
        refused(&second, &head(&[("x-api-key", "sk-old")], "")).await,
        AccessError::InvalidCredential
    );
    // The old generation still answers with its own keys.
    allowed(&first, &head(&[("x-api-key", "sk-old")], "")).await;
    assert_eq!(
        f.host.stats(),
        before,
        "nothing was compiled or loaded again"
    );

    // An unchanged instance is reused as it is by the next generation.
    let third = second
        .prepare_next_instances(
            &[keys("config-inline", &["sk-new"]), keys("other", &["x"])],
            &f,
        )
        .await;
    assert!(Arc::ptr_eq(
        second.entries()[0].instance(),
        third.entries()[0].instance()
    ));
    assert!(!Arc::ptr_eq(
        first.entries()[0].instance(),
        second.entries()[0].instance()
    ));
}

trait PrepareNext {
    async fn prepare_next_instances(
        &self,
        instances: &[InstanceConfig],
        f: &Fixture,
    ) -> AccessChain;
}

impl PrepareNext for AccessChain {
    async fn prepare_next_instances(
        &self,
        instances: &[InstanceConfig],
        f: &Fixture,
    ) -> AccessChain {
        AccessChain::prepare(
            instances,
            &PluginLimits::default(),
            &f.registry,
            &f.host,
            Some(self),
        )
        .await
        .unwrap()
    }
}

/// The access chain of a config file (`auth.providers` and `api-keys`), reusing the unchanged
/// instances of `previous`.
async fn config_chain(f: &Fixture, yaml: &str, previous: Option<&AccessChain>) -> AccessChain {
    let config = Config::parse(yaml, None, std::env::temp_dir())
        .unwrap()
        .config;
    let limits = &config.plugins.limits;
    AccessChain::prepare(
        &config.access_providers,
        limits,
        &f.registry,
        &f.host,
        previous,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_config_file_becomes_a_chain() {
    let f = fixture().await;
    // No config-api-key instance: the top-level keys become `config-inline`, last.
    let yaml = r#"
api-keys: [" sk-top ", "sk-top"]
auth:
  providers:
    - name: odd
      type: misbehave
      config: { mode: not-handled }
"#;
    let chain = config_chain(&f, yaml, None).await;
    let names: Vec<_> = chain.entries().iter().map(|e| e.name()).collect();
    assert_eq!(names, ["odd", "config-inline"]);
    let (provider, principal, _) = allowed(&chain, &head(&[("x-api-key", "sk-top")], "")).await;
    assert_eq!(
        (provider.as_str(), principal.as_str()),
        ("config-inline", "sk-top")
    );

    // A config-api-key instance is authoritative: the top-level list is not a second instance.
    let with_partners = format!(
        "{yaml}    - name: partners\n      type: config-api-key\n      api-keys: [sk-partner]\n"
    );
    let partners = config_chain(&f, &with_partners, None).await;
    let names: Vec<_> = partners.entries().iter().map(|e| e.name()).collect();
    assert_eq!(names, ["odd", "partners"]);
    let (provider, _, _) = allowed(&partners, &head(&[], "key=sk-partner")).await;
    assert_eq!(provider, "partners");
    assert_eq!(
        refused(&partners, &head(&[("x-api-key", "sk-top")], "")).await,
        AccessError::InvalidCredential
    );

    // A reload with other keys: a new chain, nothing compiled, the unchanged instance reused.
    let compiled = f.host.stats();
    let next = config_chain(&f, &yaml.replace("sk-top", "sk-top-2"), Some(&chain)).await;
    allowed(&next, &head(&[], "key=sk-top-2")).await;
    assert!(Arc::ptr_eq(
        chain.entries()[0].instance(),
        next.entries()[0].instance()
    ));
    assert_eq!(f.host.stats(), compiled);
}

#[tokio::test]
async fn config_api_key_without_keys_answers_not_handled() {
    let f = fixture().await;
    // Alone it has nothing to compare a key with: not "invalid", the chain ends as missing.
    let chain = f.chain(&[keys("empty", &[])]).await;
    for (headers, query) in [
        (&[("authorization", "Bearer sk-x")][..], ""),
        (&[][..], "key=x"),
    ] {
        assert_eq!(
            refused(&chain, &head(headers, query)).await,
            AccessError::MissingCredential,
            "{headers:?} {query}"
        );
    }
    // Before another instance, that one decides.
    let chain = f
        .chain(&[keys("empty", &[" "]), keys("team", &["sk-a"])])
        .await;
    let (provider, _, _) = allowed(&chain, &head(&[("x-api-key", "sk-a")], "")).await;
    assert_eq!(provider, "team");
}

#[tokio::test]
async fn an_empty_chain_lets_everything_through() {
    let chain = AccessChain::default();
    assert!(chain.is_empty());
    assert_eq!(chain.authenticate(&head(&[], "")).await, Ok(None));
}

#[tokio::test]
async fn preparing_reports_unknown_types_and_rejected_settings() {
    let f = fixture().await;
    let error = f
        .try_chain(&[instance("mystery", "no-such-type", serde_json::json!({}))])
        .await
        .unwrap_err();
    assert!(
        matches!(&error, PrepareError { instance, cause: PrepareCause::UnknownType { .. }, .. } if instance == "mystery")
    );
    let message = error.to_string();
    assert!(
        message.contains("mystery") && message.contains("no-such-type"),
        "{message}"
    );
    assert!(
        message.contains("config-api-key"),
        "lists the known types: {message}"
    );

    let error = f
        .try_chain(&[instance(
            "bad-keys",
            "config-api-key",
            serde_json::json!({"api-keys": "sk-a"}),
        )])
        .await
        .unwrap_err();
    assert!(
        matches!(&error, PrepareError { cause: PrepareCause::Plugin(PluginError::Rejected(m)), .. } if m.contains("list of strings")),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .starts_with("access provider bad-keys (config-api-key)")
    );

    let error = f
        .try_chain(&[instance(
            "picky",
            "misbehave",
            serde_json::json!({"reject": "no thanks"}),
        )])
        .await
        .unwrap_err();
    assert!(error.to_string().contains("no thanks"), "{error}");

    register_token(&f.registry);
    let error = f
        .try_chain(&[instance("tokens", "header-token", serde_json::json!({}))])
        .await
        .unwrap_err();
    assert!(matches!(error.cause, PrepareCause::Native(_)), "{error}");
}

#[tokio::test]
async fn registry_order_replacement_and_exclusive() {
    let f = fixture().await;
    let registry = &f.registry;
    register_token(registry);
    registry.register_native("second", |_: &InstanceConfig| {
        Ok(Arc::new(TokenProvider { token: "2".into() }) as Arc<dyn AccessProvider>)
    });
    registry.register_native("  ", |_: &InstanceConfig| Err("never".to_owned()));
    let names = |r: &ProviderRegistry| -> Vec<String> {
        r.registered().into_iter().map(|(n, _)| n).collect()
    };
    assert_eq!(names(registry), ["header-token", "second"]);
    // Re-registering keeps the position.
    register_token(registry);
    assert_eq!(names(registry), ["header-token", "second"]);
    // A registered type shadows an installed plugin of the same name.
    registry.register_native("config-api-key", |_: &InstanceConfig| {
        Ok(Arc::new(TokenProvider {
            token: "native".into(),
        }) as Arc<dyn AccessProvider>)
    });
    let chain = f.chain(&[keys("k", &["sk-a"])]).await;
    assert_eq!(
        allowed(&chain, &head(&[("x-token", "native")], "")).await.1,
        "token:native"
    );
    assert!(registry.unregister("config-api-key").is_some());
    let chain = f.chain(&[keys("k", &["sk-a"])]).await;
    assert_eq!(
        allowed(&chain, &head(&[("x-api-key", "sk-a")], "")).await.1,
        "sk-a"
    );

    // Exclusive: only instances of that type remain while it is registered.
    registry.set_exclusive("second");
    assert_eq!(names(registry), ["second"]);
    let all = [
        keys("k", &["sk-a"]),
        instance("s", "second", serde_json::json!({})),
    ];
    let chain = f.chain(&all).await;
    assert_eq!(chain.entries().len(), 1);
    assert_eq!(chain.entries()[0].name(), "s");
    // An exclusive type that is not registered is ignored.
    registry.unregister("second");
    let chain = f.chain(&all[..1]).await;
    assert_eq!(chain.entries().len(), 1);
    registry.clear_exclusive();
    assert_eq!(names(registry), ["header-token"]);

    // A session extractor is not an access provider.
    let echo = f
        .host
        .load(guests::SESSION_ECHO.bytes(), PluginOrigin::Bytes)
        .await
        .unwrap();
    assert_eq!(echo.world(), PluginWorld::SessionExtractor);
    assert!(matches!(
        registry.register_plugin(echo),
        Err(PluginError::WrongWorld { .. })
    ));
    // A Wasm plugin can be registered explicitly too.
    let provider = f.host.plugin("misbehave").unwrap();
    registry.register_plugin(provider).unwrap();
    assert!(matches!(
        registry.get("misbehave"),
        Some(ProviderType::Wasm(_))
    ));
}

fn misbehave(name: &str, settings: serde_json::Value) -> InstanceConfig {
    instance(name, "misbehave", settings)
}

#[tokio::test]
async fn every_outcome_maps_to_its_response() {
    let f = fixture().await;
    let chain = f
        .chain(&[misbehave("odd", serde_json::json!({"principal": "p"}))])
        .await;
    let mode = |m: &str| head(&[("x-misbehave", m)], "");

    let principal = chain.authenticate(&mode("allow")).await.unwrap().unwrap();
    assert_eq!(principal.principal, "p");
    assert_eq!(principal.metadata("client"), Some("203.0.113.7"));
    assert_eq!(principal.metadata("arrival"), Some("1700000000123"));

    let denied = refused(&chain, &mode("deny")).await;
    assert_eq!(denied.status(), 451);
    assert_eq!(
        body(&denied),
        serde_json::json!({"error": "denied by misbehave"})
    );

    let error = refused(&chain, &mode("error")).await;
    assert_eq!(error.status(), 500);
    assert_eq!(
        body(&error),
        serde_json::json!({"error": "misbehave error"})
    );

    let bad = refused(&chain, &mode("bad-deny")).await;
    assert_eq!(bad.status(), 500);

    assert_eq!(
        refused(&chain, &mode("not-handled")).await,
        AccessError::MissingCredential
    );
    assert_eq!(
        refused(&chain, &mode("no-credentials")).await,
        AccessError::MissingCredential
    );
    assert_eq!(
        refused(&chain, &mode("invalid")).await,
        AccessError::InvalidCredential
    );

    // Output and logs do not disturb the host.
    assert_eq!(
        refused(&chain, &mode("print")).await,
        AccessError::MissingCredential
    );
    assert_eq!(
        refused(&chain, &mode("log")).await,
        AccessError::MissingCredential
    );

    // A deny ends the chain even when a later provider would allow.
    let chain = f
        .chain(&[
            misbehave("deny-first", serde_json::json!({"mode": "deny"})),
            keys("keys", &["sk-a"]),
        ])
        .await;
    assert_eq!(
        refused(&chain, &head(&[("x-api-key", "sk-a")], ""))
            .await
            .status(),
        451
    );
}

#[tokio::test]
async fn two_instances_of_one_plugin_do_not_share_state() {
    let f = fixture().await;
    let chain = f
        .chain(&[
            misbehave("one", serde_json::json!({"mode": "not-handled"})),
            misbehave("two", serde_json::json!({"principal": "second"})),
        ])
        .await;
    for call in 1..=3 {
        let principal = chain.authenticate(&head(&[], "")).await.unwrap().unwrap();
        assert_eq!(principal.provider, "two");
        assert_eq!(principal.principal, "second");
        // The live instance of "two" counts only its own calls.
        assert_eq!(principal.metadata("calls"), Some(call.to_string().as_str()));
    }
}

fn fault_of(error: AccessError) -> Fault {
    assert_eq!(error.status(), 503);
    match error {
        AccessError::Fault { fault, .. } => fault,
        other => panic!("expected a fault, got {other:?}"),
    }
}

#[tokio::test]
async fn faults_fail_closed_and_the_host_stays_healthy() {
    let f = fixture().await;
    let mut limited = misbehave("odd", serde_json::json!({}));
    limited.limits = Some(PluginLimits {
        deadline: Duration::from_millis(50),
        memory_bytes: 64 << 20,
        ..PluginLimits::default()
    });
    let chain = f.chain(&[limited, keys("keys", &["sk-a"])]).await;
    let mode = |m: &str| head(&[("x-misbehave", m), ("x-api-key", "sk-a")], "");

    let error = refused(&chain, &mode("loop")).await;
    assert_eq!(
        body(&error),
        serde_json::json!({"error": {
            "message": "access check failed (request req-1)",
            "type": "server_error",
            "code": "plugin_fault",
        }})
    );
    assert_eq!(fault_of(error), Fault::Deadline(Duration::from_millis(50)));
    assert_eq!(
        fault_of(refused(&chain, &mode("sleep")).await),
        Fault::Deadline(Duration::from_millis(50))
    );
    assert_eq!(
        fault_of(refused(&chain, &mode("alloc")).await),
        Fault::Memory(64 << 20)
    );
    let trap = fault_of(refused(&chain, &mode("panic")).await);
    assert!(
        matches!(&trap, Fault::Trap(m) if m.contains("unreachable")),
        "{trap:?}"
    );
    // Five faults within 60 s would quarantine the instance: this one comes later.
    f.clock.advance(Duration::from_secs(61));
    // Unbounded recursion exhausts the guest's (shadow) stack: a trap, whichever stack ends first.
    let overflow = fault_of(refused(&chain, &mode("recurse")).await);
    assert!(matches!(&overflow, Fault::Trap(_)), "{overflow:?}");

    // Still serving: the faulty live instances were replaced.
    let principal = chain.authenticate(&mode("allow")).await.unwrap().unwrap();
    assert_eq!(principal.provider, "odd");
    let stats = chain.entries()[0].stats().unwrap();
    assert_eq!(stats.faults, 5);
    assert_eq!(stats.calls, 6);
    assert_eq!(stats.quarantines, 0);
    assert_eq!(stats.quarantined_until, None);
    assert!(stats.instantiations >= 6, "{stats:?}");
}

#[tokio::test]
async fn repeated_faults_quarantine_until_the_clock_moves_on() {
    let f = fixture().await;
    let chain = f.chain(&[misbehave("odd", serde_json::json!({}))]).await;
    let fine = head(&[], "");
    // Ten calls: five good ones and five faults from five addresses.
    for n in 1..=4 {
        assert!(chain.authenticate(&fine).await.is_ok());
        assert!(matches!(
            fault_of(refused(&chain, &panic_from(n)).await),
            Fault::Trap(_)
        ));
        f.clock.advance(Duration::from_secs(1));
    }
    assert!(
        chain.authenticate(&fine).await.is_ok(),
        "4 faults of 9 calls do not quarantine"
    );
    assert!(matches!(
        fault_of(refused(&chain, &panic_from(5)).await),
        Fault::Trap(_)
    ));

    // Half of 10 calls within 60 s faulted: quarantined for 30 s, even a good request fails
    // closed.
    let quarantined = fault_of(refused(&chain, &fine).await);
    assert!(
        matches!(quarantined, Fault::Quarantined(_)),
        "{quarantined:?}"
    );
    let stats = chain.entries()[0].stats().unwrap();
    assert_eq!((stats.faults, stats.quarantines), (5, 1));
    assert!(stats.quarantined_until.is_some());

    f.clock.advance(Duration::from_secs(29));
    assert!(matches!(
        fault_of(refused(&chain, &fine).await),
        Fault::Quarantined(_)
    ));
    f.clock.advance(Duration::from_secs(1));
    let principal = chain.authenticate(&fine).await.unwrap().unwrap();
    assert_eq!(principal.provider, "odd");
    assert_eq!(chain.entries()[0].stats().unwrap().quarantined_until, None);
}

#[tokio::test]
async fn faults_spread_over_more_than_a_minute_do_not_quarantine() {
    let f = fixture().await;
    let chain = f.chain(&[misbehave("odd", serde_json::json!({}))]).await;
    for n in 0..16 {
        assert!(matches!(
            fault_of(refused(&chain, &panic_from(n)).await),
            Fault::Trap(_)
        ));
        f.clock.advance(Duration::from_secs(8));
    }
    assert!(chain.authenticate(&head(&[], "")).await.is_ok());
    assert_eq!(chain.entries()[0].stats().unwrap().quarantines, 0);
}

#[tokio::test]
async fn the_compiled_component_cache_survives_restarts_and_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let bytes = guests::SESSION_ECHO.bytes();
    let new_host = || {
        PluginHost::new(HostOptions {
            cache_dir: Some(cache.clone()),
            ..HostOptions::default()
        })
        .unwrap()
    };

    let host = new_host();
    let plugin = host.load(bytes.clone(), PluginOrigin::Bytes).await.unwrap();
    assert_eq!((host.stats().compiled, host.stats().cache_hits), (1, 0));
    assert_eq!(plugin.name(), "session-echo");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }
    let entries: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    let name = entry.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with(&hex::encode(plugin.content_hash())),
        "{name}"
    );

    // Another host (a restart) loads it from the cache.
    let host = new_host();
    host.load(bytes.clone(), PluginOrigin::Bytes).await.unwrap();
    assert_eq!((host.stats().compiled, host.stats().cache_hits), (0, 1));

    // A damaged entry is compiled again and rewritten.
    let mut data = std::fs::read(entry).unwrap();
    let middle = data.len() / 2;
    data[middle] ^= 0xff;
    std::fs::write(entry, &data).unwrap();
    let host = new_host();
    host.load(bytes.clone(), PluginOrigin::Bytes).await.unwrap();
    assert_eq!((host.stats().compiled, host.stats().cache_hits), (1, 0));
    std::fs::write(entry, b"short").unwrap();
    let host = new_host();
    host.load(bytes.clone(), PluginOrigin::Bytes).await.unwrap();
    assert_eq!((host.stats().compiled, host.stats().cache_hits), (1, 0));
    let host = new_host();
    host.load(bytes, PluginOrigin::Bytes).await.unwrap();
    assert_eq!((host.stats().compiled, host.stats().cache_hits), (0, 1));
}

#[tokio::test]
async fn loading_rejects_what_is_not_a_plugin() {
    let host = PluginHost::new(HostOptions::default()).unwrap();
    let garbage = host.load(&b"not wasm"[..], PluginOrigin::Bytes).await;
    assert!(
        matches!(garbage, Err(PluginError::Compile(_))),
        "{garbage:?}"
    );
    // A core module (the empty module) is not a component.
    let core = host
        .load(&b"\0asm\x01\0\0\0"[..], PluginOrigin::Bytes)
        .await;
    assert!(matches!(core, Err(PluginError::Compile(_))), "{core:?}");
    // A component of no switchyard world (the empty component).
    let empty = host
        .load(&b"\0asm\x0d\0\x01\0"[..], PluginOrigin::Bytes)
        .await;
    assert!(
        matches!(empty, Err(PluginError::NoWorld { .. })),
        "{empty:?}"
    );
}

#[tokio::test]
async fn embedded_plugins_yield_to_plugin_files_of_the_same_name() {
    let f = fixture().await;
    let embedded: Plugin = f.host.plugin("config-api-key").unwrap();
    assert_eq!(embedded.origin(), &PluginOrigin::Embedded);
    assert_eq!(embedded.world(), PluginWorld::AccessProvider);
    assert_eq!(embedded.version(), "0.1.0");

    // The same component "from a file" replaces it; loading the embedded ones again does not
    // take its place back.
    let bytes = std::fs::read(wasm_guest::component_path(
        &PathBuf::from(env!("SWITCHYARD_PLUGINS_TARGET_DIR")),
        "config-api-key",
    ))
    .unwrap();
    let file = f
        .host
        .load(
            bytes,
            PluginOrigin::File("plugins/config-api-key.wasm".into()),
        )
        .await
        .unwrap();
    assert!(f.host.install(file));
    f.host.load_embedded().await.unwrap();
    assert!(matches!(
        f.host.plugin("config-api-key").unwrap().origin(),
        PluginOrigin::File(_)
    ));
}

#[tokio::test]
async fn a_plugins_folder_loads_its_wasm_files_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("b-misbehave.wasm"),
        guests::MISBEHAVE.bytes(),
    )
    .unwrap();
    std::fs::write(dir.path().join("a-echo.wasm"), guests::SESSION_ECHO.bytes()).unwrap();
    std::fs::write(dir.path().join("broken.wasm"), b"nope").unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"ignored").unwrap();
    std::fs::create_dir(dir.path().join("nested.wasm")).unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(
        dir.path().join("sub/deeper.wasm"),
        guests::MISBEHAVE.bytes(),
    )
    .unwrap();

    let host = PluginHost::new(HostOptions::default()).unwrap();
    let (loaded, failed) = host.load_dir(dir.path()).await;
    let names: Vec<_> = loaded.iter().map(|p| p.name()).collect();
    assert_eq!(names, ["session-echo", "misbehave"]);
    assert_eq!(
        loaded[1].origin(),
        &PluginOrigin::File(dir.path().join("b-misbehave.wasm"))
    );
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0, dir.path().join("broken.wasm"));
    assert!(matches!(failed[0].1, PluginError::Compile(_)));

    let (loaded, failed) = host.load_dir(&dir.path().join("missing")).await;
    assert!(loaded.is_empty() && failed.is_empty());
}

fn folder(dir: &std::path::Path, enabled: bool) -> switchyard::test_util::config::PluginsConfig {
    switchyard::test_util::config::PluginsConfig {
        enabled,
        dir: dir.to_owned(),
        cache_dir: shared_plugin_cache(),
        limits: PluginLimits::default(),
        quarantine: switchyard::test_util::plugin::FaultPolicy::default(),
        allow_override: Vec::new(),
        max_file_bytes: 64 << 20,
    }
}

fn names(catalog: &switchyard::test_util::plugin::PluginCatalog) -> Vec<&str> {
    catalog.iter().map(|p| p.name()).collect()
}

fn config_api_key_bytes() -> Vec<u8> {
    std::fs::read(wasm_guest::component_path(
        &PathBuf::from(env!("SWITCHYARD_PLUGINS_TARGET_DIR")),
        "config-api-key",
    ))
    .unwrap()
}

#[tokio::test]
async fn staging_compiles_new_or_changed_files_only_and_installs_nothing() {
    // No disk cache: every compilation counts.
    let host = PluginHost::new(HostOptions::default()).unwrap();
    host.load_embedded().await.unwrap();
    let embedded = host.stats().compiled;
    let compiled = || host.stats().compiled - embedded;
    let dir = tempfile::tempdir().unwrap();
    let settings = folder(dir.path(), true);
    std::fs::write(dir.path().join("a.wasm"), guests::MISBEHAVE.bytes()).unwrap();

    let staged = host.stage(&settings).await;
    assert_eq!(
        names(&staged.catalog),
        ["config-api-key", "misbehave", "session-standard"]
    );
    assert_eq!((staged.loaded.len(), staged.failed.len()), (1, 0));
    assert_eq!(compiled(), 1);
    assert!(
        host.plugin("misbehave").is_none(),
        "staging installs nothing"
    );

    // Unchanged, and rewritten with the same bytes: not compiled again.
    assert!(host.stage(&settings).await.loaded.is_empty());
    std::fs::write(dir.path().join("a.wasm"), guests::MISBEHAVE.bytes()).unwrap();
    let staged = host.stage(&settings).await;
    assert!(staged.loaded.is_empty() && staged.failed.is_empty());
    assert_eq!(compiled(), 1);

    // A second file declaring the same type: reported once; the first by name serves.
    std::fs::write(dir.path().join("b.wasm"), guests::MISBEHAVE.bytes()).unwrap();
    let staged = host.stage(&settings).await;
    assert_eq!(staged.failed.len(), 1, "{:?}", staged.failed);
    assert_eq!(staged.failed[0].0, dir.path().join("b.wasm"));
    assert!(
        staged.failed[0]
            .1
            .contains("declares the type \"misbehave\"")
    );
    assert_eq!(
        staged.catalog.get("misbehave").unwrap().origin(),
        &PluginOrigin::File(dir.path().join("a.wasm"))
    );
    assert!(host.stage(&settings).await.failed.is_empty());
    std::fs::remove_file(dir.path().join("b.wasm")).unwrap();

    // A file declaring an embedded type is refused with a message: the embedded one serves.
    std::fs::write(dir.path().join("keys.wasm"), config_api_key_bytes()).unwrap();
    let staged = host.stage(&settings).await;
    assert_eq!(
        staged.catalog.get("config-api-key").unwrap().origin(),
        &PluginOrigin::Embedded
    );
    assert_eq!(staged.failed.len(), 1, "{:?}", staged.failed);
    assert_eq!(staged.failed[0].0, dir.path().join("keys.wasm"));
    assert!(
        staged.failed[0].1.contains(
            "declares the type \"config-api-key\" of an embedded plugin: a plugins-folder file replaces an embedded plugin only when plugins.allow-override lists its type"
        ),
        "{:?}",
        staged.failed
    );
    // Unless plugins.allow-override lists the type: then it overrides; removed, the embedded
    // one is back.
    let settings = switchyard::test_util::config::PluginsConfig {
        allow_override: vec!["config-api-key".to_owned()],
        ..settings
    };
    let staged = host.stage(&settings).await;
    assert_eq!(
        staged.catalog.get("config-api-key").unwrap().origin(),
        &PluginOrigin::File(dir.path().join("keys.wasm"))
    );
    std::fs::remove_file(dir.path().join("keys.wasm")).unwrap();
    let staged = host.stage(&settings).await;
    assert_eq!(
        staged.catalog.get("config-api-key").unwrap().origin(),
        &PluginOrigin::Embedded
    );
    assert!(!host.folder_changed(dir.path()));
    std::fs::write(dir.path().join("c.wasm"), b"new").unwrap();
    assert!(host.folder_changed(dir.path()));

    // Folder plugins disabled: the embedded ones only.
    let staged = host.stage(&folder(dir.path(), false)).await;
    assert_eq!(
        names(&staged.catalog),
        ["config-api-key", "session-standard"]
    );
}

#[tokio::test]
async fn the_status_reports_each_plugin_and_its_state() {
    use switchyard::test_util::plugin::{InstanceUse, PluginSource, ServiceState};

    let host = PluginHost::new(HostOptions {
        cache_dir: Some(shared_plugin_cache()),
        ..HostOptions::default()
    })
    .unwrap();
    host.load_embedded().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let settings = folder(dir.path(), true);
    std::fs::write(dir.path().join("good.wasm"), guests::MISBEHAVE.bytes()).unwrap();
    std::fs::write(dir.path().join("bad.wasm"), b"nope").unwrap();
    let staged = host.stage(&settings).await;
    assert_eq!(staged.failed.len(), 1);
    host.commit(staged.catalog, Some(dir.path().to_owned()));

    let by_name = |name: &str, instances: &[InstanceUse]| {
        host.status(&host.catalog(), instances)
            .into_iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no status for {name}"))
    };
    let embedded = by_name("config-api-key", &[]);
    assert_eq!(
        (embedded.source, embedded.state, embedded.kind.as_deref()),
        (
            PluginSource::Embedded,
            ServiceState::Active,
            Some("config-api-key")
        )
    );
    let bad = by_name("bad.wasm", &[]);
    assert_eq!((bad.state, bad.kind), (ServiceState::Failed, None));
    assert!(
        bad.error
            .unwrap()
            .contains("not a valid WebAssembly component")
    );
    let good = by_name("good.wasm", &[]);
    assert_eq!(
        (good.source, good.state, good.version.as_deref(), good.world),
        (
            PluginSource::Folder,
            ServiceState::Active,
            Some("0.0.1"),
            Some(PluginWorld::AccessProvider)
        )
    );

    // Calls and faults of the serving instances; a quarantine shows.
    let registry = ProviderRegistry::new();
    let chain = AccessChain::prepare(
        &[instance("m", "misbehave", serde_json::json!({}))],
        &PluginLimits::default(),
        &registry,
        &host,
        None,
    )
    .await
    .unwrap();
    chain.authenticate(&head(&[], "")).await.unwrap();
    let uses = |chain: &AccessChain| -> Vec<InstanceUse> {
        chain
            .entries()
            .iter()
            .map(|e| InstanceUse {
                instance: e.name().to_owned(),
                plugin: e.plugin().unwrap().clone(),
                stats: e.stats().unwrap(),
            })
            .collect()
    };
    let good = by_name("good.wasm", &uses(&chain));
    assert_eq!(
        (good.calls, good.faults, good.instances),
        (1, 0, vec!["m".to_owned()])
    );
    for n in 0..9 {
        let _ = chain.authenticate(&panic_from(n)).await;
    }
    let good = by_name("good.wasm", &uses(&chain));
    assert_eq!((good.state, good.faults), (ServiceState::Quarantined, 9));

    // A rejection noted by a failed reload shows until a commit with the plugin.
    let plugin = host.plugin("misbehave").unwrap();
    host.record_rejection(&plugin, "instance x: rejected its settings: no");
    assert!(
        by_name("good.wasm", &[])
            .error
            .unwrap()
            .contains("instance x")
    );
    host.commit(host.catalog(), Some(dir.path().to_owned()));
    assert_eq!(by_name("good.wasm", &[]).error, None);

    // New content staged but not in service: pending, the serving version noted.
    std::fs::write(dir.path().join("good.wasm"), guests::SESSION_ECHO.bytes()).unwrap();
    host.stage(&settings).await;
    let good = by_name("good.wasm", &[]);
    assert_eq!(
        (good.state, good.kind.as_deref()),
        (ServiceState::Pending, Some("session-echo"))
    );
    assert!(good.error.unwrap().contains("version 0.0.1"));

    // Removed while serving: still listed, in service.
    std::fs::remove_file(dir.path().join("good.wasm")).unwrap();
    host.stage(&settings).await;
    let good = by_name("good.wasm", &[]);
    assert_eq!(
        (good.state, good.kind.as_deref()),
        (ServiceState::Active, Some("misbehave"))
    );
    assert!(good.error.unwrap().contains("removed"));
}

/// Installs the component `bytes` in `f`'s host; returns a chain of one instance of it with
/// `limits`.
async fn wat_chain(f: &Fixture, bytes: Vec<u8>, limits: PluginLimits) -> AccessChain {
    let plugin = f.host.load(bytes, PluginOrigin::Bytes).await.unwrap();
    let name = plugin.name().to_owned();
    f.host.install(plugin);
    let mut config = instance("wat", &name, serde_json::json!({}));
    config.limits = Some(limits);
    f.chain(&[config]).await
}

#[tokio::test]
async fn memories_together_over_the_cap_are_a_memory_fault() {
    let f = fixture().await;
    // Three memories besides the main one; each grows by 20 MiB, under the 48 MiB cap alone,
    // 60 MiB together.
    let grow = |m: &str| {
        format!("(if (i32.eq (memory.grow {m} (i32.const 320)) (i32.const -1)) (then unreachable))")
    };
    let guest = crate::wat_guest::access_provider(
        "wat-memories",
        "(memory $a 1) (memory $b 1) (memory $c 1)",
        &format!(
            "{} {} {} (i32.const 192)",
            grow("$a"),
            grow("$b"),
            grow("$c")
        ),
    );
    let chain = wat_chain(
        &f,
        guest,
        PluginLimits {
            memory_bytes: 48 << 20,
            ..PluginLimits::default()
        },
    )
    .await;
    let fault = fault_of(refused(&chain, &head(&[], "")).await);
    assert_eq!(fault, Fault::Memory(48 << 20));
    let stats = chain.entries()[0].stats().unwrap();
    assert_eq!(stats.faults, 1);
    assert!(stats.memory_bytes <= 48 << 20, "{stats:?}");
}

#[tokio::test]
async fn more_memories_than_allowed_cannot_start() {
    let f = fixture().await;
    let memories: String = (0..12).map(|i| format!("(memory $m{i} 1) ")).collect();
    let guest = crate::wat_guest::access_provider("wat-many", &memories, "(i32.const 192)");
    let plugin = f.host.load(guest, PluginOrigin::Bytes).await;
    let error = match plugin {
        Err(error) => error.to_string(),
        Ok(plugin) => {
            f.host.install(plugin);
            f.try_chain(&[instance("wat", "wat-many", serde_json::json!({}))])
                .await
                .expect_err("12 memories are over the limit")
                .to_string()
        }
    };
    assert!(error.contains("memor"), "{error}");
}

#[tokio::test]
async fn a_guest_logging_100_mb_is_refused_and_the_host_copies_none_of_it() {
    let f = fixture().await;
    // 100 MB of NUL (valid UTF-8) at 65536, logged as one message; then a million fields
    // (all the same 1-byte string) in a list at 65536.
    let guest = crate::wat_guest::access_provider(
        "wat-logger",
        "",
        "(if (i32.eq (memory.grow $main (i32.const 1600)) (i32.const -1)) (then unreachable))
         (call $log (i32.const 2) (i32.const 65536) (i32.const 100000000) (i32.const 0) (i32.const 0))
         (call $log (i32.const 2) (i32.const 16) (i32.const 3) (i32.const 65536) (i32.const 1000000))
         (i32.const 192)",
    );
    let chain = wat_chain(
        &f,
        guest,
        PluginLimits {
            memory_bytes: 256 << 20,
            deadline: Duration::from_secs(5),
            ..PluginLimits::default()
        },
    )
    .await;
    let outcome = chain.authenticate(&head(&[], "")).await;
    assert!(
        matches!(outcome, Err(AccessError::MissingCredential)),
        "the call answers not-handled: {outcome:?}"
    );
    let stats = chain.entries()[0].stats().unwrap();
    assert_eq!((stats.faults, stats.log_refused), (0, 2), "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_past_max_concurrency_wait_at_most_the_deadline_then_get_plugin_busy() {
    let f = fixture().await;
    let mut one = misbehave("one", serde_json::json!({}));
    one.limits = Some(PluginLimits {
        deadline: Duration::from_millis(400),
        max_concurrency: 1,
        ..PluginLimits::default()
    });
    let chain = Arc::new(f.chain(&[one]).await);
    // Five calls that each hold the one slot for the whole deadline, at once: the first runs,
    // at most one more gets the slot within its own deadline, the others are refused.
    let calls: Vec<_> = (0..5u8)
        .map(|n| {
            let chain = chain.clone();
            tokio::spawn(async move {
                let sleep = head_from(
                    &[("x-misbehave", "sleep")],
                    "",
                    IpAddr::V4(Ipv4Addr::new(198, 51, 100, n)),
                );
                chain.authenticate(&sleep).await.expect_err("no answer")
            })
        })
        .collect();
    let mut busy = 0;
    for call in calls {
        let error = call.await.unwrap();
        let body = body(&error);
        if fault_of(error.clone()) == Fault::Busy(1) {
            busy += 1;
            assert_eq!(body["error"]["code"], "plugin_busy", "{body}");
        } else {
            assert_eq!(body["error"]["code"], "plugin_fault", "{body}");
        }
    }
    assert!(busy >= 3, "{busy}");
    let stats = chain.entries()[0].stats().unwrap();
    assert_eq!((stats.busy, stats.faults), (busy, 5 - busy), "{stats:?}");
    // A slot frees when its call ends: the next call runs.
    assert!(chain.authenticate(&head(&[], "")).await.is_ok());
}

#[tokio::test]
async fn the_folder_is_trusted_only_as_far_as_the_operator_says() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &std::path::Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    let host = PluginHost::new(HostOptions::default()).unwrap();
    host.load_embedded().await.unwrap();
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("plugins");
    std::fs::create_dir_all(dir.join("inner")).unwrap();
    mode(&dir, 0o755);
    let settings = switchyard::test_util::config::PluginsConfig {
        max_file_bytes: 1 << 20,
        ..folder(&dir, true)
    };
    // A symlink inside the folder works; one leading out of it is refused.
    std::fs::write(dir.join("inner/echo.bin"), guests::SESSION_ECHO.bytes()).unwrap();
    mode(&dir.join("inner/echo.bin"), 0o644);
    std::os::unix::fs::symlink("inner/echo.bin", dir.join("in.wasm")).unwrap();
    std::fs::write(root.path().join("outside.wasm"), guests::MISBEHAVE.bytes()).unwrap();
    std::os::unix::fs::symlink(root.path().join("outside.wasm"), dir.join("out.wasm")).unwrap();
    std::os::unix::fs::symlink("../outside.wasm", dir.join("up.wasm")).unwrap();
    // A file writable by others, and one over plugins.max-file-mib.
    std::fs::write(dir.join("shared.wasm"), guests::VERSIONED_V1.bytes()).unwrap();
    mode(&dir.join("shared.wasm"), 0o666);
    std::fs::write(dir.join("big.wasm"), vec![0u8; 2 << 20]).unwrap();
    mode(&dir.join("big.wasm"), 0o644);

    let staged = host.stage(&settings).await;
    assert_eq!(
        names(&staged.catalog),
        ["config-api-key", "session-echo", "session-standard"]
    );
    let reason = |name: &str| -> String {
        staged
            .failed
            .iter()
            .find(|(path, _)| path == &dir.join(name))
            .unwrap_or_else(|| panic!("{name} refused: {:?}", staged.failed))
            .1
            .clone()
    };
    assert!(
        reason("out.wasm").contains("beneath the plugins folder"),
        "{}",
        reason("out.wasm")
    );
    assert!(
        reason("up.wasm").contains("beneath the plugins folder"),
        "{}",
        reason("up.wasm")
    );
    assert!(reason("shared.wasm").contains("writable by group or others (mode 0666)"));
    assert!(reason("big.wasm").contains("over plugins.max-file-mib (1 MiB)"));
    assert_eq!(staged.failed.len(), 4, "{:?}", staged.failed);

    // Made private, the file is taken at the next scan (a chmod is a change).
    mode(&dir.join("shared.wasm"), 0o644);
    let staged = host.stage(&settings).await;
    assert!(
        staged.catalog.get("versioned").is_some(),
        "{:?}",
        staged.failed
    );

    // A folder writable by group or others: nothing is loaded from it.
    mode(&dir, 0o775);
    let staged = host.stage(&settings).await;
    assert_eq!(
        names(&staged.catalog),
        ["config-api-key", "session-standard"]
    );
    assert_eq!(staged.failed.len(), 1, "{:?}", staged.failed);
    assert_eq!(staged.failed[0].0, dir);
    assert!(
        staged.failed[0].1.contains("mode 0775"),
        "{:?}",
        staged.failed
    );
}

#[tokio::test]
async fn the_cache_folder_and_its_entries_must_be_private_to_the_proxy_user() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let cache = root.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    let options = || HostOptions {
        cache_dir: Some(cache.clone()),
        ..HostOptions::default()
    };
    let error = PluginHost::new(options())
        .err()
        .expect("a shared cache folder is refused");
    assert!(error.to_string().contains("mode 0777"), "{error}");

    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o700)).unwrap();
    let bytes = guests::SESSION_ECHO.bytes();
    let host = PluginHost::new(options()).unwrap();
    host.load(bytes.clone(), PluginOrigin::Bytes).await.unwrap();
    let entry = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .unwrap();
    let reload = || async {
        let host = PluginHost::new(options()).unwrap();
        host.load(bytes.clone(), PluginOrigin::Bytes).await.unwrap();
        (host.stats().compiled, host.stats().cache_hits)
    };
    assert_eq!(reload().await, (0, 1), "a private entry is used");
    // An entry writable by others is ignored and compiled again (and rewritten private).
    std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert_eq!(reload().await, (1, 0));
    assert_eq!(reload().await, (0, 1));
    // An entry owned by another user (only root can make one) is ignored too.
    if rustix::process::geteuid().is_root() {
        std::os::unix::fs::chown(&entry, Some(4242), None).unwrap();
        assert_eq!(reload().await, (1, 0));
    }
}
