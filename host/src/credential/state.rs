//! What the proxy has learned about each credential at run time: cooldowns per model and
//! success / failure counts. Keyed by credential id, so it survives a config reload.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwapOption;
use parking_lot::{Mutex, RwLock};

use super::CredentialId;
use super::cooldown::{self, Failure};
use super::shared_cooldown::{CooldownChange, CooldownListener, SharedCooldown};

/// Where the table's states report their cooldown changes; empty without a shared store.
type ListenerSlot = ArcSwapOption<Arc<dyn CooldownListener>>;

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
    /// Set for states of a [`StateTable`]: the id and the table's listener slot.
    share: Option<Share>,
}

#[derive(Debug)]
struct Share {
    id: CredentialId,
    listener: Arc<ListenerSlot>,
}

impl Share {
    fn notify(&self, model: &str, cooldown: Option<SharedCooldown>) {
        if let Some(listener) = self.listener.load().as_ref() {
            listener.changed(CooldownChange {
                credential: self.id.clone(),
                model: model.to_owned(),
                cooldown,
            });
        }
    }
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

    /// Records a success on `model`: clears its cooldown and backoff (and tells the listener
    /// when there was one to clear).
    pub fn record_success(&self, model: &str) {
        let mut inner = self.inner.lock();
        inner.successes += 1;
        let Some(state) = inner.models.get_mut(model) else {
            return;
        };
        let cleared = state.next_retry_after.is_some() || state.backoff_level > 0;
        *state = ModelState::default();
        // Told under the lock, so the listener sees one credential's changes in order.
        if cleared && let Some(share) = &self.share {
            share.notify(model, None);
        }
    }

    /// Records a failure on `model` and applies the cooldown table unless cooling is disabled.
    /// Returns how long the model is now blocked.
    pub fn record_failure(
        &self,
        model: &str,
        failure: &Failure,
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
        let shared = state.next_retry_after.map(|until| SharedCooldown {
            until,
            quota: state.quota,
            backoff_level: state.backoff_level,
        });
        if let (Some(share), Some(cooldown)) = (&self.share, shared) {
            share.notify(model, Some(cooldown));
        }
        shared.map(|_| decision.cooldown.unwrap_or_default())
    }

    /// Applies a cooldown change another replica made (`None`: a success cleared it). Counts
    /// nothing and tells no listener.
    pub fn apply_remote(&self, model: &str, cooldown: Option<SharedCooldown>) {
        let mut inner = self.inner.lock();
        match cooldown {
            Some(cooldown) => {
                let state = inner.models.entry(model.to_owned()).or_default();
                state.next_retry_after = Some(cooldown.until);
                state.quota = cooldown.quota;
                state.backoff_level = cooldown.backoff_level;
            }
            None => {
                if let Some(state) = inner.models.get_mut(model) {
                    state.next_retry_after = None;
                    state.quota = false;
                    state.backoff_level = 0;
                    state.failed = false;
                }
            }
        }
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
    listener: Arc<ListenerSlot>,
}

impl StateTable {
    /// The state of `id`, created empty on first use.
    pub fn state_for(&self, id: &CredentialId) -> Arc<CredentialState> {
        if let Some(state) = self.states.read().get(id) {
            return state.clone();
        }
        self.states
            .write()
            .entry(id.clone())
            .or_insert_with(|| {
                Arc::new(CredentialState {
                    inner: Mutex::default(),
                    share: Some(Share {
                        id: id.clone(),
                        listener: self.listener.clone(),
                    }),
                })
            })
            .clone()
    }

    /// Sends every later cooldown change of this table's states to `listener` (the shared
    /// store), or to nobody.
    pub fn set_listener(&self, listener: Option<Arc<dyn CooldownListener>>) {
        self.listener.store(listener.map(Arc::new));
    }

    /// Applies a change another replica made.
    pub fn apply(&self, change: &CooldownChange) {
        self.state_for(&change.credential)
            .apply_remote(&change.model, change.cooldown);
    }

    /// Forgets the credentials not in `keep` (they were removed from the config).
    pub fn retain(&self, keep: &HashSet<CredentialId>) {
        self.states.write().retain(|id, _| keep.contains(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::blame::Blame;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn status(code: u16) -> Failure {
        let blame = match code {
            400 => Blame::Request,
            429 => Blame::Quota,
            _ => Blame::Transient,
        };
        Failure {
            blame,
            status: Some(code),
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

    #[derive(Debug, Default)]
    struct Recorder(Mutex<Vec<CooldownChange>>);

    impl CooldownListener for Recorder {
        fn changed(&self, change: CooldownChange) {
            self.0.lock().push(change);
        }
    }

    #[test]
    fn a_listener_hears_cooldowns_and_the_successes_that_end_them() {
        let table = StateTable::default();
        let a = CredentialId::new("a");
        let state = table.state_for(&a);
        // Without a listener nothing is told (the memory store's path).
        state.record_failure("m", &status(500), at(0), false);
        state.record_success("m");
        let recorder = Arc::new(Recorder::default());
        table.set_listener(Some(recorder.clone()));
        state.record_success("m");
        assert!(recorder.0.lock().is_empty(), "nothing to clear");
        state.record_failure("m", &status(429), at(10), false);
        state.record_failure("m", &status(400), at(10), false);
        assert_eq!(state.record_failure("m", &status(503), at(10), true), None);
        state.record_success("m");
        assert_eq!(
            *recorder.0.lock(),
            [
                CooldownChange {
                    credential: a.clone(),
                    model: "m".into(),
                    cooldown: Some(SharedCooldown {
                        until: at(11),
                        quota: true,
                        backoff_level: 1,
                    }),
                },
                CooldownChange {
                    credential: a.clone(),
                    model: "m".into(),
                    cooldown: None,
                },
            ]
        );
        table.set_listener(None);
        state.record_failure("m", &status(500), at(0), false);
        assert_eq!(recorder.0.lock().len(), 2);
    }

    #[test]
    fn remote_changes_apply_silently() {
        let table = StateTable::default();
        let recorder = Arc::new(Recorder::default());
        table.set_listener(Some(recorder.clone()));
        let b = CredentialId::new("b");
        let cooldown = SharedCooldown {
            until: at(100),
            quota: true,
            backoff_level: 4,
        };
        table.apply(&CooldownChange {
            credential: b.clone(),
            model: "m".into(),
            cooldown: Some(cooldown),
        });
        let state = table.state_for(&b);
        assert_eq!(
            state.block("m", at(50)),
            Some(Block {
                until: at(100),
                quota: true
            })
        );
        assert_eq!(state.snapshot().models["m"].backoff_level, 4);
        assert_eq!(state.snapshot().failures, 0, "not counted here");
        table.apply(&CooldownChange {
            credential: b.clone(),
            model: "m".into(),
            cooldown: None,
        });
        assert_eq!(state.block("m", at(50)), None);
        assert_eq!(state.snapshot().models["m"].backoff_level, 0);
        assert!(recorder.0.lock().is_empty(), "never echoed");
    }
}
