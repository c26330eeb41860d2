//! Library-level tests of the session-extractor chain with real components: the embedded
//! `session-standard`, the `session-echo` test guest (its answer is chosen by the request) and,
//! for header filtering, the `misbehave` access provider.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::json;
use switchyard::test_util::access::{AccessChain, ProviderRegistry};
use switchyard::test_util::chain::{PrepareCause, PrepareError};
use switchyard::test_util::clock::ManualClock;
use switchyard::test_util::config::{Config, InstanceConfig, PluginLimits};
use switchyard::test_util::plugin::{
    Fault, PluginError, PluginHost, PluginOrigin, PluginWorld, RequestHead,
};
use switchyard::test_util::session::{
    ExtractorChain, ExtractorFuture, ExtractorRegistry, SessionExtractor, SessionIds, SessionKind,
};

use crate::harness::{guests, instance, plugin_host};

struct Fixture {
    host: PluginHost,
    clock: Arc<ManualClock>,
    registry: ExtractorRegistry,
}

/// A host with the embedded plugins, `session-echo` and `misbehave` installed.
async fn fixture() -> Fixture {
    let clock = Arc::new(ManualClock::default());
    let host = plugin_host(clock.clone(), &[guests::MISBEHAVE, guests::SESSION_ECHO]).await;
    Fixture {
        host,
        clock,
        registry: ExtractorRegistry::new(),
    }
}

fn standard() -> InstanceConfig {
    instance("standard", "session-standard", json!({}))
}

fn echo(name: &str, prefix: &str) -> InstanceConfig {
    instance(name, "session-echo", json!({ "prefix": prefix }))
}

fn head(headers: &[(&str, &str)]) -> RequestHead {
    RequestHead::new(
        "POST",
        "/v1/messages",
        "",
        headers.iter().map(|(n, v)| (n.to_string(), v.to_string())),
        Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_000),
    )
}

/// A one-turn conversation without an explicit id: the standard extractor derives
/// `msg:6f3af82650710693` from it.
fn hello() -> Vec<u8> {
    json!({ "model": "m", "messages": [{ "role": "user", "content": "Hello world" }] })
        .to_string()
        .into_bytes()
}

impl Fixture {
    async fn chain(&self, instances: &[InstanceConfig]) -> ExtractorChain {
        self.try_chain(instances).await.unwrap()
    }

    async fn try_chain(
        &self,
        instances: &[InstanceConfig],
    ) -> Result<ExtractorChain, PrepareError> {
        ExtractorChain::prepare(
            instances,
            &PluginLimits::default(),
            &self.registry,
            &self.host,
            None,
        )
        .await
    }
}

fn session(primary: &str, fallback: Option<&str>, kind: SessionKind) -> Option<SessionIds> {
    Some(SessionIds {
        primary: primary.to_owned(),
        fallback: fallback.map(str::to_owned),
        kind,
    })
}

#[tokio::test]
async fn session_standard_is_embedded_and_describes_itself() {
    let f = fixture().await;
    let plugin = f.host.plugin("session-standard").unwrap();
    assert_eq!(plugin.origin(), &PluginOrigin::Embedded);
    assert_eq!(plugin.world(), PluginWorld::SessionExtractor);
    assert!(plugin.needs_body());
    let names: Vec<&str> = plugin
        .header_filter()
        .names()
        .unwrap()
        .iter()
        .map(|n| &**n)
        .collect();
    assert_eq!(names, session_standard::extract::HEADER_NAMES);
    let echo = f.host.plugin("session-echo").unwrap();
    assert!(!echo.needs_body());
    assert!(echo.header_filter().names().is_none());
    let keys = f.host.plugin("config-api-key").unwrap();
    let names: Vec<&str> = keys
        .header_filter()
        .names()
        .unwrap()
        .iter()
        .map(|n| &**n)
        .collect();
    assert_eq!(names, ["authorization", "x-goog-api-key", "x-api-key"]);
}

#[tokio::test]
async fn the_standard_extractor_in_wasm_matches_the_native_rules() {
    let f = fixture().await;
    let chain = f.chain(&[standard()]).await;
    let claude_old = "user_abc_account__session_ac980658-63bd-4fb3-97ba-8da64cb1e344";
    let cases: Vec<(Vec<(&str, &str)>, serde_json::Value)> = vec![
        (vec![], json!({ "metadata": { "user_id": claude_old } })),
        (
            vec![],
            json!({ "metadata": { "user_id": r#"{"session_id":"s-1"}"# } }),
        ),
        (vec![("x-session-id", "abc")], json!({})),
        (vec![("X-Claude-Code-Session-Id", " cc ")], json!({})),
        (vec![("session_id", "codex-1")], json!({})),
        (
            vec![("x-session-id", "bad\u{1}")],
            json!({ "prompt_cache_key": "p", "conversation": { "id": "c" } }),
        ),
        (
            vec![],
            json!({ "messages": [
                { "role": "user", "content": "Hello world" },
                { "role": "assistant", "content": "Hi! How can I help?" },
                { "role": "user", "content": "More" },
            ] }),
        ),
        (vec![], json!({})),
    ];
    for (headers, body) in cases {
        let head = head(&headers);
        let body = body.to_string().into_bytes();
        let native = session_standard::extract::extract(head.headers(), Some(&body));
        let expected = native.map(|s| SessionIds {
            primary: s.primary,
            fallback: s.fallback,
            kind: match s.kind {
                session_standard::extract::Kind::Explicit => SessionKind::Explicit,
                session_standard::extract::Kind::Derived => SessionKind::Derived,
            },
        });
        assert_eq!(chain.extract(&head, &body).await, expected, "{headers:?}");
    }
    let turn2 = chain
        .extract(
            &head(&[]),
            json!({ "messages": [
                { "role": "user", "content": "Hello world" },
                { "role": "assistant", "content": "Hi! How can I help?" },
            ] })
            .to_string()
            .as_bytes(),
        )
        .await;
    assert_eq!(
        turn2,
        session(
            "msg:0964de51a03c0514",
            Some("msg:6f3af82650710693"),
            SessionKind::Derived
        )
    );
}

#[tokio::test]
async fn explicit_beats_derived_across_extractors_in_both_orders() {
    let f = fixture().await;
    // The standard extractor derives a hash; the user's extractor names the session.
    let standard_first = f.chain(&[standard(), echo("mine", "")]).await;
    let request = head(&[("x-session", "user-42")]);
    assert_eq!(
        standard_first.extract(&request, &hello()).await,
        session("user-42", None, SessionKind::Explicit)
    );
    // The user's extractor derives; the standard one finds an explicit header.
    let echo_first = f.chain(&[echo("mine", ""), standard()]).await;
    let request = head(&[("x-derived", "d-1"), ("x-session-id", "abc")]);
    assert_eq!(
        echo_first.extract(&request, &hello()).await,
        session("header:abc", None, SessionKind::Explicit)
    );
    // Both derive: the first derived id wins, fallback and all.
    let request = head(&[("x-derived", "d-1"), ("x-fallback", "d-0")]);
    assert_eq!(
        echo_first.extract(&request, &hello()).await,
        session("d-1", Some("d-0"), SessionKind::Derived)
    );
    assert_eq!(
        standard_first.extract(&request, &hello()).await,
        session("msg:6f3af82650710693", None, SessionKind::Derived)
    );
    // Both explicit: the first extractor wins.
    let two = f.chain(&[echo("a", "a:"), echo("b", "b:")]).await;
    assert_eq!(
        two.extract(&head(&[("x-session", "s")]), b"").await,
        session("a:s", None, SessionKind::Explicit)
    );
    // Nothing at all.
    assert_eq!(two.extract(&head(&[]), b"").await, None);
}

#[tokio::test]
async fn invalid_ids_from_a_plugin_are_ignored() {
    let f = fixture().await;
    let chain = f.chain(&[echo("mine", ""), standard()]).await;
    let long = "x".repeat(300);
    for bad in ["   ", long.as_str()] {
        assert_eq!(
            chain.extract(&head(&[("x-session", bad)]), &hello()).await,
            session("msg:6f3af82650710693", None, SessionKind::Derived),
            "{bad:?}"
        );
    }
    assert_eq!(
        chain
            .extract(&head(&[("x-session", "  padded ")]), &hello())
            .await,
        session("padded", None, SessionKind::Explicit)
    );
}

#[tokio::test]
async fn an_extractor_that_faults_is_skipped_and_counted() {
    let f = fixture().await;
    let mut fast = echo("mine", "");
    fast.limits = Some(PluginLimits {
        deadline: Duration::from_millis(50),
        ..PluginLimits::default()
    });
    let chain = f.chain(&[fast, standard()]).await;
    for mode in ["panic", "loop"] {
        let request = head(&[("x-echo", mode), ("x-session-id", "abc")]);
        assert_eq!(
            chain.extract(&request, &hello()).await,
            session("header:abc", None, SessionKind::Explicit),
            "{mode}"
        );
    }
    let mine = &chain.entries()[0];
    assert_eq!(mine.skipped(), 2);
    assert_eq!(mine.stats().unwrap().faults, 2);
    // The instance still answers afterwards.
    assert_eq!(
        chain.extract(&head(&[("x-session", "back")]), b"").await,
        session("back", None, SessionKind::Explicit)
    );

    // Faults in at least half of 10 calls, from several client addresses, quarantine it: it
    // is skipped without being called until the clock moves past the quarantine.
    for n in 0..7 {
        let panic = RequestHead::new(
            "POST",
            "/v1/messages",
            "",
            [("x-echo".to_owned(), "panic".to_owned())],
            Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, n))),
            head(&[]).arrival(),
        );
        chain.extract(&panic, &hello()).await;
    }
    let stats = mine.stats().unwrap();
    assert_eq!((stats.faults, stats.quarantines), (9, 1));
    assert_eq!(
        chain.extract(&head(&[("x-session", "s")]), &hello()).await,
        session("msg:6f3af82650710693", None, SessionKind::Derived)
    );
    assert_eq!(mine.skipped(), 10);
    f.clock.advance(Duration::from_secs(31));
    assert_eq!(
        chain.extract(&head(&[("x-session", "s")]), &hello()).await,
        session("s", None, SessionKind::Explicit)
    );
}

#[tokio::test]
async fn only_the_declared_headers_reach_a_plugin() {
    let f = fixture().await;
    // `session-echo` declares no header names: it sees every field.
    let chain = f.chain(&[echo("mine", "")]).await;
    let request = head(&[
        ("host", "h"),
        ("x-echo", "headers"),
        ("authorization", "Bearer k"),
        ("x-api-key", "k"),
    ]);
    assert_eq!(
        chain.extract(&request, b"").await.unwrap().primary,
        "host,x-echo,authorization,x-api-key"
    );
    // `misbehave` declares `x-misbehave` and `x-visible`: it sees those only, every
    // occurrence, in arrival order.
    let access = AccessChain::prepare(
        &[instance("m", "misbehave", json!({}))],
        &PluginLimits::default(),
        &ProviderRegistry::new(),
        &f.host,
        None,
    )
    .await
    .unwrap();
    let request = head(&[
        ("host", "h"),
        ("x-visible", "1"),
        ("authorization", "Bearer k"),
        ("X-Misbehave", "headers"),
        ("x-hidden", "2"),
        ("x-visible", "3"),
    ]);
    let principal = access.authenticate(&request).await.unwrap().unwrap();
    assert_eq!(
        principal.metadata("headers"),
        Some("x-visible,x-misbehave,x-visible")
    );
}

#[tokio::test]
async fn only_extractors_that_need_the_body_get_it() {
    let f = fixture().await;
    // `session-echo` answers `body-seen` if it is ever handed a body.
    let chain = f.chain(&[echo("mine", ""), standard()]).await;
    assert!(chain.needs_body());
    assert!(!chain.entries()[0].needs_body());
    assert_eq!(
        chain.extract(&head(&[]), &hello()).await,
        session("msg:6f3af82650710693", None, SessionKind::Derived)
    );
    let echo_only = f.chain(&[echo("mine", "")]).await;
    assert!(!echo_only.needs_body());
    assert_eq!(echo_only.extract(&head(&[]), &hello()).await, None);
}

/// A native extractor: the header `x-tenant` is the explicit session id.
struct Tenant;

impl SessionExtractor for Tenant {
    fn needs_body(&self) -> bool {
        false
    }

    fn extract<'a>(&'a self, head: &'a RequestHead, body: Option<&'a [u8]>) -> ExtractorFuture<'a> {
        assert!(body.is_none());
        let ids = head.header("x-tenant").map(|t| SessionIds {
            primary: format!("tenant:{t}"),
            fallback: None,
            kind: SessionKind::Explicit,
        });
        Box::pin(async move { Ok(ids) })
    }
}

/// A native extractor that always faults.
struct Broken;

impl SessionExtractor for Broken {
    fn extract<'a>(&'a self, _: &'a RequestHead, _: Option<&'a [u8]>) -> ExtractorFuture<'a> {
        Box::pin(async { Err(Fault::Trap("broken".to_owned())) })
    }
}

#[tokio::test]
async fn native_extractors_mix_with_plugins() {
    let f = fixture().await;
    f.registry
        .register_native("tenant", |config: &InstanceConfig| {
            if config.settings != json!({}) {
                return Err("tenant takes no settings".to_owned());
            }
            Ok(Arc::new(Tenant) as Arc<dyn SessionExtractor>)
        });
    f.registry.register_native("broken", |_: &InstanceConfig| {
        Ok(Arc::new(Broken) as Arc<dyn SessionExtractor>)
    });
    let chain = f
        .chain(&[
            instance("b", "broken", json!({})),
            standard(),
            instance("t", "tenant", json!({})),
        ])
        .await;
    assert_eq!(
        chain
            .extract(&head(&[("x-tenant", "acme")]), &hello())
            .await,
        session("tenant:acme", None, SessionKind::Explicit)
    );
    assert_eq!(
        chain.extract(&head(&[]), &hello()).await,
        session("msg:6f3af82650710693", None, SessionKind::Derived)
    );
    assert_eq!(chain.entries()[0].skipped(), 2);
    assert!(chain.entries()[0].stats().is_none());

    let rejected = f
        .try_chain(&[instance("t", "tenant", json!({ "x": 1 }))])
        .await
        .unwrap_err();
    assert_eq!(
        rejected.to_string(),
        "session extractor t (tenant) rejected its settings: tenant takes no settings"
    );
    // A registered type shadows a plugin of the same name.
    f.registry
        .register_native("session-echo", |_: &InstanceConfig| {
            Ok(Arc::new(Tenant) as Arc<dyn SessionExtractor>)
        });
    let shadowed = f.chain(&[echo("e", "")]).await;
    assert_eq!(
        shadowed
            .extract(&head(&[("x-tenant", "t"), ("x-session", "s")]), b"")
            .await
            .unwrap()
            .primary,
        "tenant:t"
    );
    assert!(f.registry.unregister("session-echo").is_some());
}

#[tokio::test]
async fn preparing_reports_unknown_types_and_rejected_settings() {
    let f = fixture().await;
    let unknown = f
        .try_chain(&[instance("x", "nope", json!({}))])
        .await
        .unwrap_err();
    assert!(
        matches!(unknown.cause, PrepareCause::UnknownType { .. }),
        "{unknown}"
    );
    assert!(
        unknown.to_string().contains("session-standard"),
        "{unknown}"
    );
    // An access provider is not an extractor type.
    let wrong = f
        .try_chain(&[instance("k", "config-api-key", json!({}))])
        .await
        .unwrap_err();
    assert!(
        matches!(wrong.cause, PrepareCause::UnknownType { .. }),
        "{wrong}"
    );
    let rejected = f
        .try_chain(&[instance("s", "session-standard", json!({ "ttl": 5 }))])
        .await
        .unwrap_err();
    assert!(
        matches!(
            &rejected,
            PrepareError {
                cause: PrepareCause::Plugin(PluginError::Rejected(message)),
                ..
            } if message == "session-standard takes no settings; unknown: ttl"
        ),
        "{rejected}"
    );
    let config = Config::parse("", None, PathBuf::from(".")).unwrap().config;
    let default = ExtractorChain::prepare(
        &config.routing.session_extractors,
        &config.plugins.limits,
        &f.registry,
        &f.host,
        None,
    )
    .await
    .unwrap();
    let kinds: Vec<_> = default.entries().iter().map(|e| e.kind()).collect();
    assert_eq!(kinds, ["session-standard"]);
}

#[tokio::test]
async fn a_new_chain_reuses_unchanged_instances_without_recompiling() {
    let f = fixture().await;
    let compiled = f.host.stats();
    let first = f.chain(&[standard(), echo("mine", "a:")]).await;
    let standard_instantiations = first.entries()[0].stats().unwrap().instantiations;
    let mine_instantiations = first.entries()[1].stats().unwrap().instantiations;
    first.extract(&head(&[("x-session", "s")]), b"").await;

    let second = ExtractorChain::prepare(
        &[standard(), echo("mine", "b:")],
        &PluginLimits::default(),
        &f.registry,
        &f.host,
        Some(&first),
    )
    .await
    .unwrap();
    assert_eq!(f.host.stats(), compiled, "nothing is compiled again");
    // The unchanged instance is the same one (counters carry over); the changed one is new.
    assert_eq!(
        second.entries()[0].stats().unwrap().instantiations,
        standard_instantiations
    );
    assert_eq!(second.entries()[0].stats().unwrap().calls, 1);
    assert_eq!(second.entries()[1].stats().unwrap().calls, 0);
    assert_eq!(mine_instantiations, 1);
    assert_eq!(
        second.extract(&head(&[("x-session", "s")]), b"").await,
        session("b:s", None, SessionKind::Explicit)
    );
    assert_eq!(
        first.extract(&head(&[("x-session", "s")]), b"").await,
        session("a:s", None, SessionKind::Explicit)
    );
}
