//! The session-extractor chain of one generation: which conversation a request
//! belongs to. The per-request policy of the extractor role over the generic [`InstanceChain`].

use std::sync::atomic::Ordering;

use super::id::normalize_explicit;
use super::{ExtractorRole, SessionIds, SessionKind};
use crate::chain::{Entry, InstanceChain};
use crate::plugin::RequestHead;

/// The session-extractor instances of one generation, in order.
///
/// Prepared off the request path ([`InstanceChain::prepare`], fallible), then shared
/// immutably by every request of its generation ([`ExtractorChain::extract`]).
pub type ExtractorChain = InstanceChain<ExtractorRole>;

impl Entry<ExtractorRole> {
    /// Whether the extractor is handed the request body.
    pub fn needs_body(&self) -> bool {
        self.state().needs_body
    }

    /// Requests for which the extractor was skipped because it faulted or was quarantined.
    pub fn skipped(&self) -> u64 {
        self.state().skipped.load(Ordering::Relaxed)
    }

    /// Runs the extractor (a Wasm one directly, without boxing a future); a fault is counted,
    /// logged and read as "no session".
    async fn run(&self, head: &RequestHead, body: &[u8]) -> Option<SessionIds> {
        let body = self.needs_body().then_some(body);
        let result = match self.wasm() {
            Some(wasm) => wasm.call(head, body).await,
            None => self.instance().extract(head, body).await,
        };
        match result {
            Ok(ids) => ids,
            Err(fault) => {
                self.state().skipped.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(extractor = %self.name(), %fault, "session extractor skipped");
                None
            }
        }
    }
}

impl InstanceChain<ExtractorRole> {
    /// Whether any extractor reads the body.
    pub fn needs_body(&self) -> bool {
        self.entries().iter().any(|e| e.needs_body())
    }

    /// Recognises the session of one request: the first **explicit** id any extractor
    /// returns, else the first **derived** one, so a user's extractor is never shadowed by a
    /// computed hash. Extractors run in order until an explicit id is found; each gets `body`
    /// only when it needs the body. An extractor that faults is skipped (fail open) and
    /// counted ([`Entry::skipped`]); an id that is not 1..=256 bytes without control
    /// characters (after trimming) is ignored, and an invalid fallback id is dropped.
    pub async fn extract(&self, head: &RequestHead, body: &[u8]) -> Option<SessionIds> {
        let mut derived: Option<SessionIds> = None;
        for entry in self.entries() {
            let Some(ids) = entry.run(head, body).await else {
                continue;
            };
            let Some(ids) = validated(ids) else {
                tracing::debug!(extractor = %entry.name(), "session extractor returned an invalid id; ignored");
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
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::SystemTime;

    use super::*;
    use crate::plugin::Fault;
    use crate::session::{ExtractorFuture, SessionExtractor};

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

    impl SessionExtractor for Fixed {
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
                .map(|(i, e)| Entry::<ExtractorRole>::new(&format!("e{i}"), "fixed", e.clone()))
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
