//! Always the first available credential: the lowest id of the highest priority tier.

use super::{Available, Candidate, PickRequest, Selector};

/// Uses one credential until it fails, then the next (`fill-first`).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FillFirst;

impl Selector for FillFirst {
    fn pick<'c>(&self, _request: &PickRequest<'_>, available: &Available<'c>) -> &'c Candidate {
        available.top_tier[0]
    }
}
