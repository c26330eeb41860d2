//! What the proxy has learned about each credential at run time: cooldowns per model and
//! success / failure counts. Keyed by credential id, so it survives a config reload.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::{Mutex, RwLock};

use super::CredentialId;
use super::cooldown::{self, Failure};

/// Why a credential cannot serve a model right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    /// When it becomes available again.
    pub until: SystemTime,
    /// A quota (429) cooldown, as opposed to an error cooldown.
    pub quota: bool,
}

/// One model's state on one credential.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelState {
    /// Blocked until then; `None` = available.
    pub next_retry_after: Option<SystemTime>,
    /// The block is a quota (429) cooldown.
    pub quota: bool,
    /// The 429 backoff level (reset by a success).
    pub backoff_level: u32,
    /// The last failure's upstream status (`None` for unreachable / timeout).
    pub last_status: Option<u16>,
    /// Whether the last attempt failed.
    pub failed: bool,
}

/// A copy of a credential's state for reports.
#[derive(Debug, Clone, Default)]
pub struct StateSnapshot {
    /// Successful upstream calls.
    pub successes: u64,
    /// Failed upstream calls.
    pub failures: u64,
    /// Per-model state.
    pub models: HashMap<String, ModelState>,
}

/// The mutable state of one credential.
#[derive(Debug, Default)]
pub struct CredentialState {
    inner: Mutex<StateSnapshot>,
}

impl CredentialState {
    /// The block on `model` at `now`, if any.
    pub fn block(&self, model: &str, now: SystemTime) -> Option<Block> {
        let inner = self.inner.lock();
        let state = inner.models.get(model)?;
        let until = state.next_retry_after?;
        (until > now).then_some(Block {
            until,
            quota: state.quota,
        })
    }

    /// Records a success on `model`: clears its cooldown and backoff.
    pub fn record_success(&self, model: &str) {
        let mut inner = self.inner.lock();
        inner.successes += 1;
        if let Some(state) = inner.models.get_mut(model) {
            *state = ModelState::default();
        }
    }

    /// Records a failure on `model` and applies the cooldown table unless cooling is disabled.
    /// Returns how long the model is now blocked.
    pub fn record_failure(
        &self,
        model: &str,
        failure: &Failure<'_>,
        now: SystemTime,
        cooling_disabled: bool,
    ) -> Option<Duration> {
        let mut inner = self.inner.lock();
        inner.failures += 1;
        let state = inner.models.entry(model.to_owned()).or_default();
        let decision = cooldown::decide(failure, state.backoff_level);
        state.failed = true;
        state.last_status = failure.status;
        state.quota = decision.quota;
        state.backoff_level = decision.backoff_level;
        state.next_retry_after = match decision.cooldown {
            Some(wait) if !cooling_disabled => Some(now + wait),
            _ => None,
        };
        state
            .next_retry_after
            .map(|_| decision.cooldown.unwrap_or_default())
    }

    /// A copy of the state.
    pub fn snapshot(&self) -> StateSnapshot {
        self.inner.lock().clone()
    }
}

/// The states of all credentials, by id.
#[derive(Debug, Default)]
pub struct StateTable {
    states: RwLock<HashMap<CredentialId, Arc<CredentialState>>>,
}

impl StateTable {
    /// The state of `id`, created empty on first use.
    pub fn state_for(&self, id: &CredentialId) -> Arc<CredentialState> {
        if let Some(state) = self.states.read().get(id) {
            return state.clone();
        }
        self.states.write().entry(id.clone()).or_default().clone()
    }

    /// Forgets the credentials not in `keep` (they were removed from the config).
    pub fn retain(&self, keep: &HashSet<CredentialId>) {
        self.states.write().retain(|id, _| keep.contains(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn status(code: u16) -> Failure<'static> {
        Failure {
            status: Some(code),
            message: "",
            retry_after: None,
        }
    }

    #[test]
    fn failure_blocks_until_the_cooldown_ends() {
        let state = CredentialState::default();
        assert_eq!(
            state.record_failure("m", &status(500), at(1000), false),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            state.block("m", at(1059)),
            Some(Block {
                until: at(1060),
                quota: false
            })
        );
        assert_eq!(state.block("m", at(1060)), None);
        assert_eq!(state.block("other", at(1000)), None);
    }

    #[test]
    fn disabled_cooling_records_but_never_blocks() {
        let state = CredentialState::default();
        assert_eq!(state.record_failure("m", &status(429), at(0), true), None);
        assert_eq!(state.block("m", at(0)), None);
        assert_eq!(state.snapshot().failures, 1);
    }

    #[test]
    fn success_resets_backoff() {
        let state = CredentialState::default();
        state.record_failure("m", &status(429), at(0), false);
        state.record_failure("m", &status(429), at(0), false);
        assert_eq!(state.snapshot().models["m"].backoff_level, 2);
        state.record_success("m");
        assert_eq!(state.snapshot().models["m"], ModelState::default());
        assert_eq!(
            state.record_failure("m", &status(429), at(0), false),
            Some(Duration::from_secs(1))
        );
    }

    #[test]
    fn table_keeps_state_per_id() {
        let table = StateTable::default();
        let a = CredentialId::new("a");
        table
            .state_for(&a)
            .record_failure("m", &status(500), at(0), false);
        assert!(table.state_for(&a).block("m", at(1)).is_some());
        table.retain(&HashSet::new());
        assert!(table.state_for(&a).block("m", at(1)).is_none());
    }
}
