//! The session-extractor chain of one generation (design §3): which conversation a request
//! belongs to.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::extractor::Extractor;
use super::extractor_registry::{ExtractorFactory, ExtractorRegistry, ExtractorType};
use super::id::normalize_explicit;
use super::prepare_error::PrepareError;
use super::wasm::WasmExtractor;
use super::{SessionIds, SessionKind};
use crate::config::{Config, PluginInstanceConfig, PluginLimits};
use crate::plugin::{InstanceSource, InstanceStats, Plugin, PluginHost, RequestHead};

/// One configured extractor instance of a chain.
#[derive(Clone)]
pub struct ExtractorEntry {
    name: String,
    kind: String,
    extractor: Arc<dyn Extractor>,
    /// The same extractor when it is a Wasm instance: called directly, without boxing a future.
    wasm: Option<Arc<WasmExtractor>>,
    needs_body: bool,
    /// Calls skipped because the extractor faulted or was quarantined; shared with the chains
    /// that reuse this entry.
    skipped: Arc<AtomicU64>,
    /// What the instance was made from; an unchanged instance is reused by the next chain.
    source: Option<InstanceSource<dyn ExtractorFactory>>,
}

impl ExtractorEntry {
    /// An entry for an extractor built outside a config (embedding programs, tests).
    pub fn new(name: &str, kind: &str, extractor: Arc<dyn Extractor>) -> ExtractorEntry {
        ExtractorEntry {
            name: name.to_owned(),
            kind: kind.to_owned(),
            needs_body: extractor.needs_body(),
            extractor,
            wasm: None,
            skipped: Arc::default(),
            source: None,
        }
    }

    /// The instance name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The extractor type.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The extractor.
    pub fn extractor(&self) -> &Arc<dyn Extractor> {
        &self.extractor
    }

    /// Whether the extractor is handed the request body.
    pub fn needs_body(&self) -> bool {
        self.needs_body
    }

    /// Requests for which the extractor was skipped because it faulted or was quarantined.
    pub fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }

    /// The extractor's counters, if it keeps them.
    pub fn stats(&self) -> Option<InstanceStats> {
        self.extractor.stats()
    }

    /// The plugin this is an instance of, when it is a Wasm plugin.
    pub fn plugin(&self) -> Option<&Plugin> {
        self.wasm.as_ref().map(|wasm| wasm.plugin())
    }

    /// Runs the extractor; a fault is counted, logged and read as "no session".
    async fn run(&self, head: &RequestHead, body: &[u8]) -> Option<SessionIds> {
        let body = self.needs_body.then_some(body);
        let result = match &self.wasm {
            Some(wasm) => wasm.call(head, body).await,
            None => self.extractor.extract(head, body).await,
        };
        match result {
            Ok(ids) => ids,
            Err(fault) => {
                self.skipped.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(extractor = %self.name, %fault, "session extractor skipped");
                None
            }
        }
    }
}

impl std::fmt::Debug for ExtractorEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtractorEntry")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("needs_body", &self.needs_body)
            .finish_non_exhaustive()
    }
}

/// The session-extractor instances of one generation, in order.
///
/// Prepared off the request path ([`ExtractorChain::prepare`], fallible), then shared
/// immutably by every request of its generation ([`ExtractorChain::extract`]).
#[derive(Debug, Clone, Default)]
pub struct ExtractorChain {
    entries: Vec<ExtractorEntry>,
}

impl ExtractorChain {
    /// A chain of these entries, in order.
    pub fn new(entries: Vec<ExtractorEntry>) -> ExtractorChain {
        ExtractorChain { entries }
    }

    /// Builds the chain of `config.routing.session_extractors`: each instance's type is
    /// resolved in `registry` (then among `host`'s plugins) and its settings applied (Wasm: a
    /// first live instance is created and configured). Components are never recompiled: a
    /// plugin is compiled when loaded into `host`.
    pub async fn prepare(
        config: &Config,
        registry: &ExtractorRegistry,
        host: &PluginHost,
    ) -> Result<ExtractorChain, PrepareError> {
        Self::prepare_instances(
            &config.routing.session_extractors,
            &config.plugins.limits,
            registry,
            host,
            None,
        )
        .await
    }

    /// Like [`ExtractorChain::prepare`], but an instance whose type, settings and limits are
    /// unchanged from `self` is reused as it is (with its live instances, counters and
    /// quarantine), so a reload only builds what changed.
    pub async fn prepare_next(
        &self,
        config: &Config,
        registry: &ExtractorRegistry,
        host: &PluginHost,
    ) -> Result<ExtractorChain, PrepareError> {
        Self::prepare_instances(
            &config.routing.session_extractors,
            &config.plugins.limits,
            registry,
            host,
            Some(self),
        )
        .await
    }

    /// Builds a chain from instance configs; `defaults` are the limits of instances without
    /// their own; entries of `previous` are reused when unchanged.
    pub async fn prepare_instances(
        instances: &[PluginInstanceConfig],
        defaults: &PluginLimits,
        registry: &ExtractorRegistry,
        host: &PluginHost,
        previous: Option<&ExtractorChain>,
    ) -> Result<ExtractorChain, PrepareError> {
        let mut entries = Vec::with_capacity(instances.len());
        for config in instances {
            let Some(extractor_type) = registry.resolve(&config.kind, host) else {
                return Err(PrepareError::UnknownType {
                    instance: config.name.clone(),
                    kind: config.kind.clone(),
                    known: registry.known(host),
                });
            };
            let source = match &extractor_type {
                ExtractorType::Native(factory) => InstanceSource::native(config, defaults, factory),
                ExtractorType::Wasm(plugin) => InstanceSource::wasm(config, defaults, plugin),
            };
            let reused =
                previous.and_then(|chain| source.find_in(&chain.entries, |e| e.source.as_ref()));
            if let Some(entry) = reused {
                entries.push(entry.clone());
                continue;
            }
            let (extractor, wasm) = match extractor_type {
                ExtractorType::Native(factory) => {
                    let extractor =
                        factory
                            .build(config)
                            .map_err(|message| PrepareError::Native {
                                instance: config.name.clone(),
                                kind: config.kind.clone(),
                                message,
                            })?;
                    (extractor, None)
                }
                ExtractorType::Wasm(plugin) => {
                    let instance =
                        host.instance(&plugin, config, defaults)
                            .await
                            .map_err(|source| PrepareError::Plugin {
                                instance: config.name.clone(),
                                kind: config.kind.clone(),
                                source,
                            })?;
                    let wasm = Arc::new(WasmExtractor::new(instance));
                    (wasm.clone() as Arc<dyn Extractor>, Some(wasm))
                }
            };
            entries.push(ExtractorEntry {
                name: config.name.clone(),
                kind: config.kind.clone(),
                needs_body: extractor.needs_body(),
                extractor,
                wasm,
                skipped: Arc::default(),
                source: Some(source),
            });
        }
        Ok(ExtractorChain { entries })
    }

    /// The entries in order.
    pub fn entries(&self) -> &[ExtractorEntry] {
        &self.entries
    }

    /// Whether the chain has no extractor (no request has a session).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether any extractor reads the body.
    pub fn needs_body(&self) -> bool {
        self.entries.iter().any(|e| e.needs_body)
    }

    /// Recognises the session of one request: the first **explicit** id any extractor
    /// returns, else the first **derived** one, so a user's extractor is never shadowed by a
    /// computed hash. Extractors run in order until an explicit id is found; each gets `body`
    /// only when it needs the body. An extractor that faults is skipped (fail open) and
    /// counted ([`ExtractorEntry::skipped`]); an id that is not 1..=256 bytes without control
    /// characters (after trimming) is ignored, and an invalid fallback id is dropped.
    pub async fn extract(&self, head: &RequestHead, body: &[u8]) -> Option<SessionIds> {
        let mut derived: Option<SessionIds> = None;
        for entry in &self.entries {
            let Some(ids) = entry.run(head, body).await else {
                continue;
            };
            let Some(ids) = validated(ids) else {
                tracing::debug!(extractor = %entry.name, "session extractor returned an invalid id; ignored");
                continue;
            };
            match ids.kind {
                SessionKind::Explicit => return Some(ids),
                SessionKind::Derived => {
                    derived.get_or_insert(ids);
                }
            }
        }
        derived
    }
}

/// `ids` with its primary and fallback ids trimmed; `None` when the primary id is invalid.
fn validated(ids: SessionIds) -> Option<SessionIds> {
    let primary = normalized(ids.primary)?;
    let fallback = ids.fallback.and_then(normalized);
    Some(SessionIds {
        primary,
        fallback,
        kind: ids.kind,
    })
}

/// The id after [`normalize_explicit`], reusing its allocation when nothing was trimmed.
fn normalized(id: String) -> Option<String> {
    let trimmed = normalize_explicit(&id)?;
    if trimmed.len() == id.len() {
        Some(id)
    } else {
        Some(trimmed.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::SystemTime;

    use super::*;
    use crate::plugin::Fault;
    use crate::session::extractor::ExtractorFuture;

    /// A native extractor answering a fixed result and recording whether it saw a body.
    struct Fixed {
        answer: Result<Option<SessionIds>, Fault>,
        needs_body: bool,
        calls: AtomicUsize,
        saw_body: parking_lot::Mutex<Vec<bool>>,
    }

    impl Fixed {
        fn new(answer: Result<Option<SessionIds>, Fault>, needs_body: bool) -> Arc<Fixed> {
            Arc::new(Fixed {
                answer,
                needs_body,
                calls: AtomicUsize::new(0),
                saw_body: parking_lot::Mutex::default(),
            })
        }
    }

    impl Extractor for Fixed {
        fn needs_body(&self) -> bool {
            self.needs_body
        }

        fn extract<'a>(
            &'a self,
            _head: &'a RequestHead,
            body: Option<&'a [u8]>,
        ) -> ExtractorFuture<'a> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            self.saw_body.lock().push(body.is_some());
            let answer = self.answer.clone();
            Box::pin(async move { answer })
        }
    }

    fn ids(primary: &str, kind: SessionKind) -> Option<SessionIds> {
        Some(SessionIds {
            primary: primary.to_owned(),
            fallback: None,
            kind,
        })
    }

    fn chain(extractors: &[Arc<Fixed>]) -> ExtractorChain {
        ExtractorChain::new(
            extractors
                .iter()
                .enumerate()
                .map(|(i, e)| ExtractorEntry::new(&format!("e{i}"), "fixed", e.clone()))
                .collect(),
        )
    }

    fn head() -> RequestHead {
        RequestHead::new("POST", "/v1/messages", "", [], None, SystemTime::UNIX_EPOCH)
    }

    fn run(chain: &ExtractorChain) -> Option<SessionIds> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(chain.extract(&head(), b"{}"))
    }

    #[test]
    fn explicit_beats_derived_in_either_order() {
        let derived = Fixed::new(Ok(ids("msg:1", SessionKind::Derived)), true);
        let explicit = Fixed::new(Ok(ids("user:2", SessionKind::Explicit)), true);
        let got = run(&chain(&[derived.clone(), explicit.clone()])).unwrap();
        assert_eq!(got.primary, "user:2");
        let got = run(&chain(&[explicit.clone(), derived.clone()])).unwrap();
        assert_eq!(got.primary, "user:2");
        // The first explicit id ends the chain.
        assert_eq!(derived.calls.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn the_first_of_each_kind_wins() {
        let a = Fixed::new(Ok(ids("a", SessionKind::Derived)), true);
        let b = Fixed::new(Ok(ids("b", SessionKind::Derived)), true);
        assert_eq!(run(&chain(&[a.clone(), b.clone()])).unwrap().primary, "a");
        let c = Fixed::new(Ok(ids("c", SessionKind::Explicit)), true);
        let d = Fixed::new(Ok(ids("d", SessionKind::Explicit)), true);
        assert_eq!(run(&chain(&[a, c, d])).unwrap().primary, "c");
        assert_eq!(run(&chain(&[])), None);
    }

    #[test]
    fn faults_are_skipped_and_counted() {
        let broken = Fixed::new(Err(Fault::Trap("boom".to_owned())), true);
        let derived = Fixed::new(Ok(ids("msg:1", SessionKind::Derived)), true);
        let chain = chain(&[broken, derived]);
        assert_eq!(run(&chain).unwrap().primary, "msg:1");
        assert_eq!(run(&chain).unwrap().primary, "msg:1");
        assert_eq!(chain.entries()[0].skipped(), 2);
        assert_eq!(chain.entries()[1].skipped(), 0);
    }

    #[test]
    fn invalid_ids_are_ignored_and_valid_ones_trimmed() {
        let control = Fixed::new(Ok(ids("bad\u{1}", SessionKind::Explicit)), true);
        let long = Fixed::new(Ok(ids(&"x".repeat(257), SessionKind::Explicit)), true);
        let spaced = Fixed::new(
            Ok(Some(SessionIds {
                primary: "  ok  ".to_owned(),
                fallback: Some("\u{7f}".to_owned()),
                kind: SessionKind::Derived,
            })),
            true,
        );
        let got = run(&chain(&[control, long, spaced])).unwrap();
        assert_eq!(
            got,
            SessionIds {
                primary: "ok".to_owned(),
                fallback: None,
                kind: SessionKind::Derived,
            }
        );
    }

    #[test]
    fn only_extractors_that_need_the_body_get_it() {
        let with = Fixed::new(Ok(None), true);
        let without = Fixed::new(Ok(None), false);
        let chain = chain(&[with.clone(), without.clone()]);
        assert!(chain.needs_body());
        assert_eq!(run(&chain), None);
        assert_eq!(*with.saw_body.lock(), [true]);
        assert_eq!(*without.saw_body.lock(), [false]);
    }
}
