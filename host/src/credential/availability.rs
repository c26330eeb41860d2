//! Which candidates may serve a request now.

use std::time::SystemTime;

use super::candidate::Candidate;

/// The candidates that are not cooling down.
#[derive(Debug)]
pub struct Available<'c> {
    /// Every available candidate, in id order.
    pub all: Vec<&'c Candidate>,
    /// The available candidates of the highest priority, in id order; within it, those that
    /// speak the client's protocol when any does (no translation cost).
    pub top_tier: Vec<&'c Candidate>,
}

/// Why no candidate is available.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// Every candidate is in a quota (429) cooldown; the earliest ends at `until`.
    Cooldown {
        /// When the first one becomes available.
        until: SystemTime,
    },
    /// None is left: all were tried, or are blocked for other reasons.
    Exhausted {
        /// When the first blocked one becomes available, if any is blocked.
        until: Option<SystemTime>,
    },
}

/// Splits `candidates` (sorted by id) into the available ones, skipping those `skip` rejects
/// (already tried in this request).
pub fn available<'c>(
    candidates: &'c [Candidate],
    skip: impl Fn(&Candidate) -> bool,
    now: SystemTime,
) -> Result<Available<'c>, Unavailable> {
    let mut all = Vec::with_capacity(candidates.len());
    let mut considered = 0usize;
    let mut quota_blocked = 0usize;
    let mut earliest: Option<SystemTime> = None;
    for candidate in candidates {
        if candidate.credential.disabled || skip(candidate) {
            continue;
        }
        considered += 1;
        match candidate.state.block(&candidate.upstream_model, now) {
            None => all.push(candidate),
            Some(block) => {
                quota_blocked += usize::from(block.quota);
                earliest = Some(earliest.map_or(block.until, |e| e.min(block.until)));
            }
        }
    }
    if all.is_empty() {
        return Err(match earliest {
            Some(until) if considered > 0 && quota_blocked == considered => {
                Unavailable::Cooldown { until }
            }
            until => Unavailable::Exhausted { until },
        });
    }
    let tier = |c: &Candidate| (c.credential.priority, c.native);
    let best = all.iter().map(|c| tier(c)).max().unwrap_or_default();
    let top_tier = all.iter().copied().filter(|c| tier(c) == best).collect();
    Ok(Available { all, top_tier })
}
