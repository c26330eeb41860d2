//! Choosing one credential among the available ones.

mod fill_first;
mod round_robin;
mod weighted_round_robin;

use std::fmt::Debug;

pub(crate) use fill_first::FillFirst;
pub use round_robin::{RoundRobin, RoundRobinCursors};
pub(crate) use weighted_round_robin::{WeightedCredits, WeightedRoundRobin};

use super::availability::Available;
use super::candidate::Candidate;

/// What a selector knows about the request it picks for.
#[derive(Debug, Clone, Copy)]
pub struct PickRequest<'a> {
    /// `provider:model`: the key of the round-robin cursor and the weighted credits.
    pub route_key: &'a str,
    /// The provider serving the model (`mixed` when several do).
    pub provider: &'a str,
    /// The model as routed (no prefix, no thinking suffix).
    pub model: &'a str,
}

/// A strategy for choosing a credential. Session affinity wraps another selector.
pub trait Selector: Send + Sync + Debug {
    /// Chooses one of `available` (never empty).
    fn pick<'c>(&self, request: &PickRequest<'_>, available: &Available<'c>) -> &'c Candidate;

    /// Whether this strategy may ever choose `candidate`: the others are left out before
    /// availability is judged, so they are neither picked nor kept by a session binding
    /// (weighted round-robin leaves out weight 0). The default: every candidate.
    fn may_choose(&self, _candidate: &Candidate) -> bool {
        true
    }

    /// Stops background work (a replaced selector is stopped). The default has none.
    fn stop(&self) {}
}
