//! Smooth weighted round-robin over the highest available priority tier (the reference's
//! `weighted-round-robin`, nginx's algorithm): every pick adds each candidate's `weight` to its
//! credit, chooses the largest credit (the lowest id on a tie) and takes the tier's total weight
//! from the chosen one. Weights 5, 1, 1 give a, a, b, a, c, a, a, then again.
//!
//! Credits are kept per `provider:model` and per credential, so a candidate that is briefly
//! missing from the tier (cooling down, already tried by this request) keeps its credit and the
//! others are not reset; the whole table of a route is reset when a credential's weight
//! changes. Weight-0 credentials are never chosen ([`Selector::may_choose`]).

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use super::{Available, Candidate, PickRequest, Selector};
use crate::credential::CredentialId;

/// At most this many routes are kept; the table is cleared when a new one would exceed it (as
/// [`super::RoundRobinCursors`] does).
const MAX_ROUTES: usize = 4096;
/// Credits of one route beyond this many are pruned to the current tier's, so credentials that
/// are gone for good do not accumulate.
const MAX_CREDITS_PER_ROUTE: usize = 1024;

/// One credential's standing in a route.
#[derive(Debug)]
struct Credit {
    id: CredentialId,
    weight: u32,
    current: i64,
}

/// The credits of one route, sorted by credential id.
#[derive(Debug, Default)]
struct RouteCredits {
    credits: Vec<Credit>,
}

impl RouteCredits {
    fn position(&self, id: &CredentialId) -> Result<usize, usize> {
        self.credits.binary_search_by(|c| c.id.cmp(id))
    }

    /// Brings the table in line with `tier`: a new credential starts at 0; a changed weight
    /// resets every credit. Allocates only when a credential is new to the route.
    fn prepare(&mut self, tier: &[&Candidate]) {
        let mut changed = false;
        for candidate in tier {
            let credential = &candidate.credential;
            match self.position(&credential.id) {
                Ok(at) => {
                    let credit = &mut self.credits[at];
                    if credit.weight != credential.weight {
                        credit.weight = credential.weight;
                        changed = true;
                    }
                }
                Err(at) => self.credits.insert(
                    at,
                    Credit {
                        id: credential.id.clone(),
                        weight: credential.weight,
                        current: 0,
                    },
                ),
            }
        }
        if changed {
            for credit in &mut self.credits {
                credit.current = 0;
            }
        }
        if self.credits.len() > MAX_CREDITS_PER_ROUTE {
            self.credits
                .retain(|credit| tier.iter().any(|c| c.credential.id == credit.id));
        }
    }

    /// One smooth-weighted step over `tier` (prepared): the index of the chosen candidate, or
    /// `None` when no candidate has a positive weight.
    fn step(&mut self, tier: &[&Candidate]) -> Option<usize> {
        let mut total: i64 = 0;
        let mut best: Option<(usize, usize, i64)> = None;
        for (index, candidate) in tier.iter().enumerate() {
            let weight = i64::from(candidate.credential.weight);
            if weight == 0 {
                continue;
            }
            let Ok(at) = self.position(&candidate.credential.id) else {
                continue;
            };
            let credit = &mut self.credits[at];
            credit.current = credit.current.saturating_add(weight);
            total = total.saturating_add(weight);
            if best.is_none_or(|(_, _, current)| credit.current > current) {
                best = Some((index, at, credit.current));
            }
        }
        let (index, at, _) = best?;
        let credit = &mut self.credits[at];
        credit.current = credit.current.saturating_sub(total);
        Some(index)
    }
}

/// The credits of every `provider:model`, shared by successive selectors so a reload keeps
/// the rotation where it was.
#[derive(Debug, Default)]
pub struct WeightedCredits {
    routes: Mutex<HashMap<String, RouteCredits>>,
}

impl WeightedCredits {
    /// The index in `tier` of the next pick for `key`.
    fn next(&self, key: &str, tier: &[&Candidate]) -> Option<usize> {
        let mut routes = self.routes.lock();
        if !routes.contains_key(key) {
            if routes.len() >= MAX_ROUTES {
                routes.clear();
            }
            routes.insert(key.to_owned(), RouteCredits::default());
        }
        let route = routes.get_mut(key).expect("inserted above");
        route.prepare(tier);
        route.step(tier)
    }

    /// How many routes have credits (for tests of the bound).
    #[cfg(test)]
    fn routes(&self) -> usize {
        self.routes.lock().len()
    }
}

/// Chooses in proportion to the credentials' weights (`weighted-round-robin`).
#[derive(Debug, Clone)]
pub(crate) struct WeightedRoundRobin {
    credits: Arc<WeightedCredits>,
}

impl WeightedRoundRobin {
    /// A selector over shared credits.
    pub(crate) fn new(credits: Arc<WeightedCredits>) -> Self {
        WeightedRoundRobin { credits }
    }
}

impl Selector for WeightedRoundRobin {
    fn pick<'c>(&self, request: &PickRequest<'_>, available: &Available<'c>) -> &'c Candidate {
        let tier = &available.top_tier;
        if tier.len() == 1 {
            return tier[0];
        }
        // Every candidate has a positive weight when `may_choose` filtered them; the first
        // one is a safe answer should a caller not have.
        let index = self.credits.next(request.route_key, tier).unwrap_or(0);
        tier[index]
    }

    fn may_choose(&self, candidate: &Candidate) -> bool {
        candidate.credential.weight > 0
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::credential::availability::available;
    use crate::credential::state::CredentialState;
    use crate::credential::testing::credential;

    fn candidates(specs: &[(&str, u32, i32)]) -> Vec<Candidate> {
        specs
            .iter()
            .map(|(id, weight, priority)| {
                let mut credential = credential(id, *priority);
                credential.weight = *weight;
                Candidate {
                    credential: Arc::new(credential),
                    upstream_model: Arc::from("m"),
                    state: Arc::new(CredentialState::default()),
                    tracking: crate::model::tracked::Tracking::Listed,
                    native: true,
                }
            })
            .collect()
    }

    const REQUEST: PickRequest<'static> = PickRequest {
        route_key: "claude:m",
        provider: "claude",
        model: "m",
    };

    /// `n` picks over `all` (minus `skip`), as dispatch makes them.
    fn picks(selector: &WeightedRoundRobin, all: &[Candidate], skip: &[&str], n: usize) -> String {
        (0..n)
            .map(|_| {
                let avail = available(
                    all,
                    |c| skip.contains(&c.credential.id.as_str()) || !selector.may_choose(c),
                    SystemTime::now(),
                )
                .unwrap();
                selector
                    .pick(&REQUEST, &avail)
                    .credential
                    .id
                    .as_str()
                    .to_owned()
            })
            .collect()
    }

    fn selector() -> WeightedRoundRobin {
        WeightedRoundRobin::new(Arc::default())
    }

    #[test]
    fn weights_5_1_1_give_the_smooth_sequence() {
        let s = selector();
        let all = candidates(&[("a", 5, 0), ("b", 1, 0), ("c", 1, 0)]);
        assert_eq!(picks(&s, &all, &[], 14), "aabacaaaabacaa");
    }

    #[test]
    fn equal_weights_rotate_like_round_robin() {
        let s = selector();
        let all = candidates(&[("a", 3, 0), ("b", 3, 0), ("c", 3, 0)]);
        assert_eq!(picks(&s, &all, &[], 6), "abcabc");
    }

    #[test]
    fn a_changed_weight_resets_the_route() {
        let credits = Arc::new(WeightedCredits::default());
        let s = WeightedRoundRobin::new(credits.clone());
        let all = candidates(&[("a", 5, 0), ("b", 1, 0), ("c", 1, 0)]);
        assert_eq!(picks(&s, &all, &[], 3), "aab");
        // A reload makes b heavier: the sequence starts over for the new weights.
        let changed = candidates(&[("a", 5, 0), ("b", 2, 0), ("c", 1, 0)]);
        let fresh = WeightedRoundRobin::new(Arc::default());
        let expected = picks(&fresh, &changed, &[], 8);
        assert_eq!(expected, "abaacaba");
        // The same selector's credits, shared like the runtime shares them.
        assert_eq!(picks(&s, &changed, &[], 8), expected);
    }

    #[test]
    fn a_briefly_missing_candidate_keeps_the_others_credits() {
        let s = selector();
        let all = candidates(&[("a", 5, 0), ("b", 1, 0), ("c", 1, 0)]);
        assert_eq!(picks(&s, &all, &[], 2), "aa");
        // One request retries without a (already tried): b has the larger credit.
        assert_eq!(picks(&s, &all, &["a"], 1), "b");
        // The full tier goes on from where the credits are: c, still owed its turn, comes
        // first (starting over would give "a" twice again), and the shares stay 8:2:2.
        assert_eq!(picks(&s, &all, &[], 12), "caabaaacaaba");
    }

    #[test]
    fn weight_zero_is_never_chosen() {
        let s = selector();
        let all = candidates(&[("a", 0, 0), ("b", 1, 0), ("c", 2, 0)]);
        let sequence = picks(&s, &all, &[], 30);
        assert!(!sequence.contains('a'), "{sequence}");
        assert_eq!(sequence.matches('c').count(), 20);
        // All zero: nothing is available, so the request has no credential at all.
        let none = candidates(&[("a", 0, 0), ("b", 0, 0)]);
        assert!(available(&none, |c| !s.may_choose(c), SystemTime::now()).is_err());
    }

    #[test]
    fn only_the_top_available_tier_is_weighted() {
        let s = selector();
        let all = candidates(&[("a", 1, 5), ("b", 3, 5), ("c", 100, 0)]);
        assert_eq!(picks(&s, &all, &[], 8), "babbbabb");
        // The top tier is gone: the lower tier takes over.
        assert_eq!(picks(&s, &all, &["a", "b"], 3), "ccc");
    }

    #[test]
    fn routes_are_separate_and_bounded() {
        let credits = Arc::new(WeightedCredits::default());
        let all = candidates(&[("a", 2, 0), ("b", 1, 0)]);
        let avail = available(&all, |_| false, SystemTime::now()).unwrap();
        for i in 0..MAX_ROUTES + 10 {
            credits.next(&format!("claude:m{i}"), &avail.top_tier);
        }
        assert!(credits.routes() <= MAX_ROUTES, "{}", credits.routes());
        // A fresh route starts at the beginning of its own sequence.
        assert_eq!(credits.next("claude:other", &avail.top_tier), Some(0));
    }

    #[test]
    fn credits_of_a_route_are_bounded() {
        let mut route = RouteCredits::default();
        let many: Vec<Candidate> = (0..MAX_CREDITS_PER_ROUTE + 50)
            .map(|i| candidates(&[(&format!("k{i:05}"), 1, 0)]).remove(0))
            .collect();
        for candidate in &many {
            route.prepare(&[candidate]);
        }
        assert!(route.credits.len() <= MAX_CREDITS_PER_ROUTE);
    }
}
