//! Session affinity: keeping a conversation on the credential it started on, so the upstream
//! prompt cache stays warm. Which conversation a request belongs to is [`crate::session`]'s
//! part; this module keeps the bindings and picks by them.
//!
//! [`SessionAffinity`] is the selector: it wraps the strategy's selector (round-robin,
//! fill-first or weighted round-robin) and keeps each session on the credential it was bound to.
//!
//! Pick: a live binding whose credential is available (in any priority tier) is reused; a
//! binding whose credential is not available is moved to what the wrapped selector picks; a new
//! turn inherits the binding of its fallback id; otherwise the wrapped selector's pick becomes
//! the binding. A credential the wrapped selector may never choose (weight 0 under weighted
//! round-robin) is not available, so a binding to it moves too.
//! Result feedback keeps bindings honest: a success refreshes a binding only while
//! it still points at that credential, a failure removes it only while it does.
//!
//! Bindings live in a [`SessionCache`]: in memory ([`memory::MemoryCache`]) or in the shared
//! Redis store ([`redis::RedisCache`]); a program embedding switchyard opens its own through a
//! [`SessionStore`].

pub(crate) mod cache;
pub(crate) mod memory;
pub(crate) mod redis;
pub(crate) mod store;

pub use cache::SessionCache;
pub use store::SessionStore;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::credential::CredentialId;
use crate::credential::availability::Available;
use crate::credential::candidate::Candidate;
use crate::credential::selector::{PickRequest, Selector};
use crate::session::SessionIds;

/// Counters of affinity decisions; they survive selector rebuilds.
#[derive(Debug, Default)]
pub struct AffinityCounters {
    /// Picks that reused a live binding.
    pub hits: AtomicU64,
    /// Picks that created a new binding.
    pub misses: AtomicU64,
    /// Picks that moved a binding because its credential was unavailable.
    pub rebinds: AtomicU64,
    /// Picks that inherited the binding of the fallback id.
    pub inherited: AtomicU64,
}

/// How a pick was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickOutcome {
    /// No session: the wrapped selector picked.
    NoSession,
    /// The binding's credential.
    Hit,
    /// The bound credential was unavailable; the session moved.
    Rebound,
    /// A new turn took its previous turn's binding.
    Inherited,
    /// A new binding.
    Miss,
}

impl PickOutcome {
    /// The outcome in a log line: `none`, `hit`, `rebind`, `inherit`, `miss`.
    pub fn as_str(self) -> &'static str {
        match self {
            PickOutcome::NoSession => "none",
            PickOutcome::Hit => "hit",
            PickOutcome::Rebound => "rebind",
            PickOutcome::Inherited => "inherit",
            PickOutcome::Miss => "miss",
        }
    }
}

/// Session affinity over a wrapped selector and a [`SessionCache`].
#[derive(Debug)]
pub struct SessionAffinity {
    inner: Arc<dyn Selector>,
    cache: Arc<dyn SessionCache>,
    counters: Arc<AffinityCounters>,
}

impl SessionAffinity {
    /// Affinity over `inner`, with bindings in `cache`.
    pub fn new(
        inner: Arc<dyn Selector>,
        cache: Arc<dyn SessionCache>,
        counters: Arc<AffinityCounters>,
    ) -> Self {
        SessionAffinity {
            inner,
            cache,
            counters,
        }
    }

    /// The bindings.
    pub fn cache(&self) -> &Arc<dyn SessionCache> {
        &self.cache
    }

    /// Chooses a credential for `request`, binding its session.
    pub async fn pick<'c>(
        &self,
        request: &PickRequest<'_>,
        session: Option<&SessionIds>,
        available: &Available<'c>,
    ) -> (&'c Candidate, PickOutcome) {
        let Some(session) = session else {
            return (self.inner.pick(request, available), PickOutcome::NoSession);
        };
        let key = binding_key(request, &session.primary);
        let find = |id: &CredentialId| {
            available
                .all
                .iter()
                .copied()
                .find(|c| c.credential.id == *id)
        };
        if let Some(bound) = self.cache.get_and_refresh(&key).await {
            if let Some(candidate) = find(&bound) {
                self.counters.hits.fetch_add(1, Ordering::Relaxed);
                return (candidate, PickOutcome::Hit);
            }
            let candidate = self.inner.pick(request, available);
            self.cache.set(&key, &candidate.credential.id).await;
            self.counters.rebinds.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(session = %short(&session.primary), from = %bound, to = %candidate.credential.id, "session-affinity: bound credential unavailable, rebound");
            return (candidate, PickOutcome::Rebound);
        }
        if let Some(fallback) = session
            .fallback
            .as_deref()
            .filter(|f| *f != session.primary)
            && let Some(bound) = self.cache.get(&binding_key(request, fallback)).await
            && let Some(candidate) = find(&bound)
        {
            self.cache.set(&key, &candidate.credential.id).await;
            self.counters.inherited.fetch_add(1, Ordering::Relaxed);
            return (candidate, PickOutcome::Inherited);
        }
        let candidate = self.inner.pick(request, available);
        self.cache.set(&key, &candidate.credential.id).await;
        self.counters.misses.fetch_add(1, Ordering::Relaxed);
        (candidate, PickOutcome::Miss)
    }

    /// Feeds an attempt's result back: a success refreshes the bindings still pointing at
    /// `credential`; a failure removes them.
    pub async fn feedback(
        &self,
        request: &PickRequest<'_>,
        session: &SessionIds,
        credential: &CredentialId,
        success: bool,
    ) {
        let mut keys = vec![binding_key(request, &session.primary)];
        if let Some(fallback) = session
            .fallback
            .as_deref()
            .filter(|f| *f != session.primary)
        {
            keys.push(binding_key(request, fallback));
        }
        for key in &keys {
            if success {
                self.cache.touch(key, credential).await;
            } else {
                self.cache.compare_and_delete(key, credential).await;
            }
        }
    }

    /// Drops every binding to `credential` (removed or disabled).
    pub async fn invalidate_credential(&self, credential: &CredentialId) {
        self.cache.invalidate_credential(credential).await;
    }

    /// Stops the cache's background work.
    pub fn stop(&self) {
        self.cache.stop();
    }
}

/// `provider::session::model`.
fn binding_key(request: &PickRequest<'_>, session: &str) -> String {
    format!("{}::{session}::{}", request.provider, request.model)
}

/// A session id for logs: the first 8 characters of a long one.
fn short(id: &str) -> String {
    if id.chars().count() > 20 {
        format!("{}...", id.chars().take(8).collect::<String>())
    } else {
        id.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::affinity::memory::MemoryCache;
    use crate::clock::ManualClock;
    use crate::credential::availability::available;
    use crate::credential::blame::Blame;
    use crate::credential::cooldown::Failure;
    use crate::credential::selector::{RoundRobin, RoundRobinCursors};
    use crate::credential::state::CredentialState;
    use crate::credential::testing::credential;
    use crate::session::SessionKind;

    fn candidates(specs: &[(&str, i32)]) -> Vec<Candidate> {
        specs
            .iter()
            .map(|(id, priority)| Candidate {
                credential: Arc::new(credential(id, *priority)),
                upstream_model: Arc::from("m"),
                state: Arc::new(CredentialState::default()),
                tracking: crate::model::tracked::Tracking::Listed,
                native: true,
            })
            .collect()
    }

    fn affinity() -> SessionAffinity {
        let clock = Arc::new(ManualClock::new());
        SessionAffinity::new(
            Arc::new(RoundRobin::new(Arc::new(RoundRobinCursors::default()))),
            Arc::new(MemoryCache::new(Duration::from_secs(3600), clock)),
            Arc::default(),
        )
    }

    fn session(primary: &str, fallback: Option<&str>) -> SessionIds {
        SessionIds {
            primary: primary.into(),
            fallback: fallback.map(Into::into),
            kind: SessionKind::Derived,
        }
    }

    const REQUEST: PickRequest<'static> = PickRequest {
        route_key: "claude:m",
        provider: "claude",
        model: "m",
    };

    async fn pick(
        a: &SessionAffinity,
        all: &[Candidate],
        s: Option<&SessionIds>,
        skip: &[&str],
    ) -> (String, PickOutcome) {
        let avail = available(
            all,
            |c| skip.contains(&c.credential.id.as_str()),
            SystemTime::now(),
        )
        .unwrap();
        let (candidate, outcome) = a.pick(&REQUEST, s, &avail).await;
        (candidate.credential.id.to_string(), outcome)
    }

    #[tokio::test]
    async fn a_session_stays_on_its_credential() {
        let a = affinity();
        let all = candidates(&[("a", 0), ("b", 0), ("c", 0)]);
        let s = session("s1", None);
        let (first, outcome) = pick(&a, &all, Some(&s), &[]).await;
        assert_eq!(outcome, PickOutcome::Miss);
        for _ in 0..5 {
            assert_eq!(
                pick(&a, &all, Some(&s), &[]).await,
                (first.clone(), PickOutcome::Hit)
            );
        }
        // Different sessions spread over the credentials.
        let mut seen = std::collections::BTreeSet::new();
        for n in 0..6 {
            seen.insert(
                pick(&a, &all, Some(&session(&format!("other{n}"), None)), &[])
                    .await
                    .0,
            );
        }
        assert_eq!(seen.len(), 3);
    }

    #[tokio::test]
    async fn an_unavailable_binding_is_moved_and_stays_moved() {
        let a = affinity();
        let all = candidates(&[("a", 0), ("b", 0)]);
        let s = session("s1", None);
        let (first, _) = pick(&a, &all, Some(&s), &[]).await;
        let (moved, outcome) = pick(&a, &all, Some(&s), &[&first]).await;
        assert_eq!(outcome, PickOutcome::Rebound);
        assert_ne!(moved, first);
        assert_eq!(
            pick(&a, &all, Some(&s), &[]).await,
            (moved, PickOutcome::Hit)
        );
    }

    #[tokio::test]
    async fn a_new_turn_inherits_the_previous_binding() {
        let a = affinity();
        let all = candidates(&[("a", 0), ("b", 0), ("c", 0)]);
        let (turn1, _) = pick(&a, &all, Some(&session("short", None)), &[]).await;
        // Move the round-robin cursor so a fresh pick would differ.
        pick(&a, &all, None, &[]).await;
        let turn2 = pick(&a, &all, Some(&session("long", Some("short"))), &[]).await;
        assert_eq!(turn2, (turn1.clone(), PickOutcome::Inherited));
        assert_eq!(
            pick(&a, &all, Some(&session("long", Some("short"))), &[]).await,
            (turn1, PickOutcome::Hit)
        );
    }

    #[tokio::test]
    async fn a_binding_beats_priority_tiers() {
        let a = affinity();
        let all = candidates(&[("low", 0), ("high", 5)]);
        let s = session("s1", None);
        let (first, _) = pick(&a, &all, Some(&s), &[]).await;
        assert_eq!(first, "high");
        // "high" cools down: the session moves to "low".
        all[1].state.record_failure(
            "m",
            crate::model::tracked::Tracking::Listed,
            &Failure {
                blame: Blame::Transient,
                status: Some(500),
                retry_after: None,
            },
            SystemTime::now(),
            false,
        );
        assert_eq!(pick(&a, &all, Some(&s), &[]).await.0, "low");
        // "high" recovers; the session stays where it is, new sessions go to the top tier.
        all[1].state.record_success("m");
        assert_eq!(
            pick(&a, &all, Some(&s), &[]).await,
            ("low".into(), PickOutcome::Hit)
        );
        assert_eq!(
            pick(&a, &all, Some(&session("s2", None)), &[]).await.0,
            "high"
        );
    }

    #[tokio::test]
    async fn feedback_refreshes_or_drops_only_its_own_binding() {
        let a = affinity();
        let all = candidates(&[("a", 0), ("b", 0)]);
        let s = session("s1", None);
        let (first, _) = pick(&a, &all, Some(&s), &[]).await;
        let (second, _) = pick(&a, &all, Some(&s), &[&first]).await;
        // A late failure report for the first credential must not unbind the session.
        a.feedback(&REQUEST, &s, &CredentialId::new(first.clone()), false)
            .await;
        assert_eq!(
            pick(&a, &all, Some(&s), &[]).await,
            (second.clone(), PickOutcome::Hit)
        );
        a.feedback(&REQUEST, &s, &CredentialId::new(second), false)
            .await;
        assert_eq!(pick(&a, &all, Some(&s), &[]).await.1, PickOutcome::Miss);
    }

    #[tokio::test]
    async fn a_binding_to_a_weight_zero_credential_moves_to_a_weighted_pick() {
        use crate::credential::selector::{WeightedCredits, WeightedRoundRobin};
        let inner: Arc<dyn Selector> = Arc::new(WeightedRoundRobin::new(Arc::new(
            WeightedCredits::default(),
        )));
        let a = SessionAffinity::new(
            inner.clone(),
            Arc::new(MemoryCache::new(
                Duration::from_secs(3600),
                Arc::new(ManualClock::new()),
            )),
            Arc::default(),
        );
        let weighted = |weights: &[(&str, u32)]| -> Vec<Candidate> {
            let mut all = candidates(&weights.iter().map(|(id, _)| (*id, 0)).collect::<Vec<_>>());
            for (candidate, (_, weight)) in all.iter_mut().zip(weights) {
                Arc::make_mut(&mut candidate.credential).weight = *weight;
            }
            all
        };
        async fn pick(
            a: &SessionAffinity,
            inner: &Arc<dyn Selector>,
            all: &[Candidate],
        ) -> (String, PickOutcome) {
            let avail = available(all, |c| !inner.may_choose(c), SystemTime::now()).unwrap();
            let (candidate, outcome) = a.pick(&REQUEST, Some(&session("s1", None)), &avail).await;
            (candidate.credential.id.to_string(), outcome)
        }
        let before = weighted(&[("a", 1), ("b", 3), ("c", 1)]);
        assert_eq!(
            pick(&a, &inner, &before).await,
            ("b".into(), PickOutcome::Miss)
        );
        // A reload sets b's weight to 0: the session moves, by weight, and stays moved.
        let after = weighted(&[("a", 1), ("b", 0), ("c", 4)]);
        assert_eq!(
            pick(&a, &inner, &after).await,
            ("c".into(), PickOutcome::Rebound)
        );
        assert_eq!(
            pick(&a, &inner, &after).await,
            ("c".into(), PickOutcome::Hit)
        );
        // b's weight coming back does not move it back.
        assert_eq!(
            pick(&a, &inner, &before).await,
            ("c".into(), PickOutcome::Hit)
        );
    }

    #[tokio::test]
    async fn invalidating_a_credential_drops_its_bindings() {
        let a = affinity();
        let all = candidates(&[("a", 0)]);
        let s = session("s1", None);
        pick(&a, &all, Some(&s), &[]).await;
        a.invalidate_credential(&CredentialId::new("a")).await;
        assert_eq!(pick(&a, &all, Some(&s), &[]).await.1, PickOutcome::Miss);
    }
}
