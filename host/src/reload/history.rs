//! The last reload attempts, newest first, for `GET /v0/management/reload`: a fixed ring of
//! [`CAPACITY`] entries fed wherever the reload status changes.

use std::collections::VecDeque;
use std::time::SystemTime;

use parking_lot::Mutex;

/// How many attempts the history keeps.
pub(crate) const CAPACITY: usize = 20;

/// One reload attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReloadAttempt {
    /// When it ended.
    pub(crate) at: SystemTime,
    /// Whether the running generation is the one it asked for (applied or unchanged).
    pub(crate) ok: bool,
    /// The generation serving after it.
    pub(crate) generation: u64,
    /// Why it was refused (`None` when it was not).
    pub(crate) error: Option<String>,
}

/// The last [`CAPACITY`] attempts; the oldest one is dropped for a new one.
#[derive(Debug, Default)]
pub(crate) struct ReloadHistory {
    attempts: Mutex<VecDeque<ReloadAttempt>>,
}

impl ReloadHistory {
    /// Adds `attempt` as the newest.
    pub(crate) fn record(&self, attempt: ReloadAttempt) {
        let mut attempts = self.attempts.lock();
        if attempts.len() == CAPACITY {
            attempts.pop_back();
        }
        attempts.push_front(attempt);
    }

    /// The attempts kept, newest first.
    pub(crate) fn newest_first(&self) -> Vec<ReloadAttempt> {
        self.attempts.lock().iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(generation: u64) -> ReloadAttempt {
        ReloadAttempt {
            at: SystemTime::UNIX_EPOCH,
            ok: true,
            generation,
            error: None,
        }
    }

    #[test]
    fn keeps_the_newest_twenty_newest_first() {
        let history = ReloadHistory::default();
        for generation in 1..=25 {
            history.record(attempt(generation));
        }
        let kept: Vec<u64> = history
            .newest_first()
            .iter()
            .map(|a| a.generation)
            .collect();
        assert_eq!(kept, (6..=25).rev().collect::<Vec<_>>());
    }
}
