//! What the proxy has learned about each credential at run time: cooldowns per model and
//! success / failure counts. Keyed by credential id, so it survives a config reload.
//!
//! A state keeps an entry per model it failed on. Names the config or the built-in lists give
//! are kept freely; any other name goes through the process-wide [`TrackedModels`], which has
//! the table forget it when it is evicted (see [`crate::model::tracked`]).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwapOption;
use parking_lot::{Mutex, RwLock};

use super::CredentialId;
use super::cooldown::{self, Failure};
use super::shared_cooldown::{CooldownChange, CooldownListener, SharedCooldown};
use crate::events::{EventHub, EventKind};
use crate::metrics::Table;
use crate::model::tracked::{ForgetModel, TrackedModels, Tracking};

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
    /// Set while a token credential has no valid token: every model is blocked.
    pub token_unavailable: Option<TokenUnavailable>,
}

/// A token credential without a valid token ([`crate::token`]): reason `token_unavailable`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenUnavailable {
    /// When the next renewal is tried.
    pub until: SystemTime,
    /// Why (never a token or a secret).
    pub message: String,
}

/// The mutable state of one credential.
///
/// A state made with `default()` (outside a [`StateTable`]) keeps every model freely.
#[derive(Debug, Default)]
pub struct CredentialState {
    inner: Mutex<Inner>,
    /// Set for states of a [`StateTable`]: the id, the table's listener slot and tracked names.
    share: Option<Share>,
}

#[derive(Debug, Default)]
struct Inner {
    snapshot: StateSnapshot,
    /// The models whose entries were admitted through [`TrackedModels`] (dropped when it
    /// evicts them).
    unlisted: HashSet<String>,
}

impl Inner {
    /// The entry for `model`, created when missing; marked as admitted through the tracked
    /// names when `tracking` is [`Tracking::Unlisted`], unmarked when a list names it.
    fn entry(&mut self, model: &str, tracking: Tracking) -> &mut ModelState {
        match tracking {
            Tracking::Listed => {
                self.unlisted.remove(model);
            }
            Tracking::Unlisted if !self.snapshot.models.contains_key(model) => {
                self.unlisted.insert(model.to_owned());
            }
            Tracking::Unlisted => {}
        }
        self.snapshot.models.entry(model.to_owned()).or_default()
    }

    fn forget(&mut self, model: &str) -> bool {
        self.unlisted.remove(model) && self.snapshot.models.remove(model).is_some()
    }
}

#[derive(Debug)]
struct Share {
    id: CredentialId,
    listener: Arc<ListenerSlot>,
    tracked: Arc<TrackedModels>,
    events: Arc<EventHub>,
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

    /// Tells the event hub that this credential's state changed (`model`: for one model).
    fn announce(
        &self,
        state: &str,
        model: Option<&str>,
        until: Option<SystemTime>,
        reason: Option<&str>,
    ) {
        self.events.publish(EventKind::Credential, || {
            let mut event = serde_json::json!({ "id": self.id.as_str(), "state": state });
            if let Some(model) = model {
                event["model"] = model.into();
            }
            if let Some(until) = until {
                event["until"] = crate::rfc3339::format(until).into();
            }
            if let Some(reason) = reason {
                event["reason"] = reason.into();
            }
            event.to_string()
        });
    }
}

/// Why a model cools down, for the event: `quota`, `upstream <status>` or `unreachable`.
fn cooldown_reason(state: &ModelState) -> String {
    match (state.quota, state.last_status) {
        (true, _) => "quota".to_owned(),
        (false, Some(status)) => format!("upstream {status}"),
        (false, None) => "unreachable".to_owned(),
    }
}

impl CredentialState {
    /// The block on `model` at `now`, if any.
    pub fn block(&self, model: &str, now: SystemTime) -> Option<Block> {
        let inner = self.inner.lock();
        if let Some(token) = &inner.snapshot.token_unavailable
            && token.until > now
        {
            return Some(Block {
                until: token.until,
                quota: false,
            });
        }
        let state = inner.snapshot.models.get(model)?;
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
        inner.snapshot.successes += 1;
        let Some(state) = inner.snapshot.models.get_mut(model) else {
            return;
        };
        let cleared = state.next_retry_after.is_some() || state.backoff_level > 0;
        *state = ModelState::default();
        // Told under the lock, so the listener sees one credential's changes in order.
        if cleared && let Some(share) = &self.share {
            share.notify(model, None);
            share.announce("active", Some(model), None, None);
        }
    }

    /// Records a failure on `model` and applies the cooldown table unless cooling is disabled.
    /// Returns how long the model is now blocked. An [`Tracking::Unlisted`] model's entry is
    /// admitted through the table's tracked names.
    pub fn record_failure(
        &self,
        model: &str,
        tracking: Tracking,
        failure: &Failure,
        now: SystemTime,
        cooling_disabled: bool,
    ) -> Option<Duration> {
        match (&self.share, tracking) {
            (Some(share), Tracking::Unlisted) => share.tracked.admit(model, || {
                self.failure_admitted(model, tracking, failure, now, cooling_disabled)
            }),
            _ => self.failure_admitted(model, tracking, failure, now, cooling_disabled),
        }
    }

    fn failure_admitted(
        &self,
        model: &str,
        tracking: Tracking,
        failure: &Failure,
        now: SystemTime,
        cooling_disabled: bool,
    ) -> Option<Duration> {
        let mut inner = self.inner.lock();
        inner.snapshot.failures += 1;
        let state = inner.entry(model, tracking);
        let decision = cooldown::decide(failure, state.backoff_level);
        state.failed = true;
        state.last_status = failure.status;
        state.quota = decision.quota;
        state.backoff_level = decision.backoff_level;
        state.next_retry_after = match decision.cooldown {
            Some(wait) if !cooling_disabled => Some(crate::clock::saturating_add(now, wait)),
            _ => None,
        };
        let shared = state.next_retry_after.map(|until| SharedCooldown {
            until,
            quota: state.quota,
            backoff_level: state.backoff_level,
        });
        if let (Some(share), Some(cooldown)) = (&self.share, shared) {
            share.notify(model, Some(cooldown));
            share.announce(
                "cooling",
                Some(model),
                Some(cooldown.until),
                Some(&cooldown_reason(state)),
            );
        }
        shared.map(|_| decision.cooldown.unwrap_or_default())
    }

    /// Applies a cooldown change another replica made (`None`: a success cleared it). Counts
    /// nothing and tells no listener. A model this state has no entry for is admitted through
    /// the table's tracked names (the other replica's lists are not known here).
    pub fn apply_remote(&self, model: &str, cooldown: Option<SharedCooldown>) {
        let Some(cooldown) = cooldown else {
            self.clear_remote(model);
            return;
        };
        let apply = || {
            let mut inner = self.inner.lock();
            let state = inner.entry(model, Tracking::Unlisted);
            state.next_retry_after = Some(cooldown.until);
            state.quota = cooldown.quota;
            state.backoff_level = cooldown.backoff_level;
        };
        let known = self.inner.lock().snapshot.models.contains_key(model);
        match &self.share {
            Some(share) if !known => share.tracked.admit(model, apply),
            _ => apply(),
        }
    }

    fn clear_remote(&self, model: &str) {
        if let Some(state) = self.inner.lock().snapshot.models.get_mut(model) {
            state.next_retry_after = None;
            state.quota = false;
            state.backoff_level = 0;
            state.failed = false;
        }
    }

    /// Blocks every model until `until` because the credential has no valid token
    /// (`message` says why); `None` lifts the block.
    pub fn set_token_unavailable(&self, unavailable: Option<TokenUnavailable>) {
        let mut inner = self.inner.lock();
        let was_unavailable = inner.snapshot.token_unavailable.is_some();
        if let Some(share) = &self.share {
            match &unavailable {
                Some(token) => share.announce(
                    "token_unavailable",
                    None,
                    Some(token.until),
                    Some(&token.message),
                ),
                None if was_unavailable => share.announce("active", None, None, None),
                None => {}
            }
        }
        inner.snapshot.token_unavailable = unavailable;
    }

    /// A copy of the state.
    pub fn snapshot(&self) -> StateSnapshot {
        self.inner.lock().snapshot.clone()
    }

    /// How many models have an entry.
    pub fn model_count(&self) -> usize {
        self.inner.lock().snapshot.models.len()
    }
}

/// The states of all credentials, by id.
#[derive(Debug)]
pub struct StateTable {
    states: RwLock<HashMap<CredentialId, Arc<CredentialState>>>,
    listener: Arc<ListenerSlot>,
    tracked: Arc<TrackedModels>,
    events: Arc<EventHub>,
}

impl ForgetModel for StateTable {
    fn forget(&self, model: &str) -> u64 {
        let states: Vec<_> = self.states.read().values().cloned().collect();
        states
            .iter()
            .map(|state| u64::from(state.inner.lock().forget(model)))
            .sum()
    }
}

impl StateTable {
    /// An empty table whose states admit unlisted models through `tracked` (and forget them
    /// when it evicts them).
    pub fn new(tracked: Arc<TrackedModels>) -> Arc<Self> {
        Self::with_events(tracked, Arc::default())
    }

    /// The same, announcing every state change (cooldown started or ended, token unavailable
    /// or available again) to `events`.
    pub fn with_events(tracked: Arc<TrackedModels>, events: Arc<EventHub>) -> Arc<Self> {
        let table = Arc::new(StateTable {
            states: RwLock::default(),
            listener: Arc::default(),
            tracked: tracked.clone(),
            events,
        });
        let weak: Weak<dyn ForgetModel> = Arc::downgrade(&table) as Weak<dyn ForgetModel>;
        tracked.register(Table::ModelStates, weak);
        table
    }

    /// Model entries over all credentials (the `switchyard_model_states` gauge).
    pub fn model_states(&self) -> usize {
        let states: Vec<_> = self.states.read().values().cloned().collect();
        states.iter().map(|state| state.model_count()).sum()
    }

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
                        tracked: self.tracked.clone(),
                        events: self.events.clone(),
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

    /// Applies a change another replica made, to a credential this table knows (a change for
    /// any other id is ignored: it creates nothing).
    pub fn apply(&self, change: &CooldownChange) {
        let state = self.states.read().get(&change.credential).cloned();
        if let Some(state) = state {
            state.apply_remote(&change.model, change.cooldown);
        }
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
    use crate::metrics::Metrics;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn table(capacity: usize) -> Arc<StateTable> {
        StateTable::new(Arc::new(TrackedModels::new(
            capacity,
            Arc::new(Metrics::default()),
        )))
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
            state.record_failure("m", Tracking::Listed, &status(500), at(1000), false),
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
        assert_eq!(
            state.record_failure("m", Tracking::Listed, &status(429), at(0), true),
            None
        );
        assert_eq!(state.block("m", at(0)), None);
        assert_eq!(state.snapshot().failures, 1);
    }

    #[test]
    fn success_resets_backoff() {
        let state = CredentialState::default();
        state.record_failure("m", Tracking::Listed, &status(429), at(0), false);
        state.record_failure("m", Tracking::Listed, &status(429), at(0), false);
        assert_eq!(state.snapshot().models["m"].backoff_level, 2);
        state.record_success("m");
        assert_eq!(state.snapshot().models["m"], ModelState::default());
        assert_eq!(
            state.record_failure("m", Tracking::Listed, &status(429), at(0), false),
            Some(Duration::from_secs(1))
        );
    }

    #[test]
    fn table_keeps_state_per_id() {
        let table = table(10);
        let a = CredentialId::new("a");
        table
            .state_for(&a)
            .record_failure("m", Tracking::Listed, &status(500), at(0), false);
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
        let table = table(10);
        let a = CredentialId::new("a");
        let state = table.state_for(&a);
        // Without a listener nothing is told (the memory store's path).
        state.record_failure("m", Tracking::Listed, &status(500), at(0), false);
        state.record_success("m");
        let recorder = Arc::new(Recorder::default());
        table.set_listener(Some(recorder.clone()));
        state.record_success("m");
        assert!(recorder.0.lock().is_empty(), "nothing to clear");
        state.record_failure("m", Tracking::Listed, &status(429), at(10), false);
        state.record_failure("m", Tracking::Listed, &status(400), at(10), false);
        assert_eq!(
            state.record_failure("m", Tracking::Listed, &status(503), at(10), true),
            None
        );
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
        state.record_failure("m", Tracking::Listed, &status(500), at(0), false);
        assert_eq!(recorder.0.lock().len(), 2);
    }

    #[tokio::test]
    async fn state_changes_are_announced_as_credential_events() {
        let events = Arc::new(EventHub::default());
        let table = StateTable::with_events(
            Arc::new(TrackedModels::new(10, Arc::new(Metrics::default()))),
            events.clone(),
        );
        let mut subscription = events.subscribe().unwrap();
        let state = table.state_for(&CredentialId::new("a"));
        state.record_failure("m", Tracking::Listed, &status(429), at(10), false);
        // A request's own error cools nothing and announces nothing.
        state.record_failure("m", Tracking::Listed, &status(400), at(10), false);
        state.record_success("m");
        state.set_token_unavailable(Some(TokenUnavailable {
            until: at(20),
            message: "renewal failed".into(),
        }));
        state.set_token_unavailable(None);
        state.set_token_unavailable(None);
        let mut seen = Vec::new();
        while let Ok(Some(event)) = tokio::time::timeout(Duration::ZERO, subscription.next()).await
        {
            assert_eq!(event.kind, EventKind::Credential);
            seen.push(serde_json::from_str::<serde_json::Value>(&event.data).unwrap());
        }
        assert_eq!(
            seen,
            [
                serde_json::json!({"id": "a", "state": "cooling", "model": "m",
                    "until": "1970-01-01T00:00:11Z", "reason": "quota"}),
                serde_json::json!({"id": "a", "state": "active", "model": "m"}),
                serde_json::json!({"id": "a", "state": "token_unavailable",
                    "until": "1970-01-01T00:00:20Z", "reason": "renewal failed"}),
                serde_json::json!({"id": "a", "state": "active"}),
            ]
        );
    }

    #[test]
    fn remote_changes_apply_silently() {
        let table = table(10);
        let recorder = Arc::new(Recorder::default());
        table.set_listener(Some(recorder.clone()));
        let b = CredentialId::new("b");
        let state = table.state_for(&b);
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

    const NOT_FOUND: Failure = Failure {
        blame: Blame::Model,
        status: Some(404),
        retry_after: None,
    };

    #[test]
    fn unlisted_models_share_the_tracked_names_and_listed_ones_stay() {
        let metrics = Arc::new(Metrics::default());
        let tracked = Arc::new(TrackedModels::new(3, metrics.clone()));
        let table = StateTable::new(tracked.clone());
        let (a, b) = (CredentialId::new("a"), CredentialId::new("b"));
        let (state_a, state_b) = (table.state_for(&a), table.state_for(&b));
        for i in 0..20 {
            state_a.record_failure("listed", Tracking::Listed, &NOT_FOUND, at(0), false);
            let name = format!("claude-x-{i}");
            state_a.record_failure(&name, Tracking::Unlisted, &NOT_FOUND, at(0), false);
            state_b.record_failure(&name, Tracking::Unlisted, &NOT_FOUND, at(0), false);
        }
        // 3 tracked names on each of 2 credentials, plus the listed one.
        assert_eq!(tracked.len(), 3);
        assert_eq!(table.model_states(), 3 * 2 + 1);
        assert!(state_a.block("listed", at(1)).is_some());
        assert!(state_a.block("claude-x-19", at(1)).is_some());
        assert!(state_b.block("claude-x-0", at(1)).is_none(), "evicted");
        assert_eq!(metrics.evictions(Table::ModelStates), 17 * 2);
        // A name a list gives never counts against the tracked names.
        tracked.set_capacity(1);
        assert_eq!(table.model_states(), 2 + 1);
        assert!(state_a.block("listed", at(1)).is_some());
    }

    #[test]
    fn remote_changes_create_nothing_for_unknown_credentials_and_are_tracked() {
        let tracked = Arc::new(TrackedModels::new(2, Arc::new(Metrics::default())));
        let table = StateTable::new(tracked.clone());
        let known = CredentialId::new("known");
        let state = table.state_for(&known);
        let cooldown = Some(SharedCooldown {
            until: at(100),
            quota: false,
            backoff_level: 0,
        });
        for i in 0..10 {
            for credential in [CredentialId::new(format!("stranger-{i}")), known.clone()] {
                table.apply(&CooldownChange {
                    credential,
                    model: format!("gemini-{i}"),
                    cooldown,
                });
            }
        }
        assert_eq!(table.states.read().len(), 1, "no state for unknown ids");
        assert_eq!(table.model_states(), 2);
        assert!(state.block("gemini-9", at(50)).is_some());
        assert!(state.block("gemini-0", at(50)).is_none());
    }

    #[test]
    fn a_cooldown_past_the_end_of_time_saturates() {
        let state = CredentialState::default();
        let huge = Failure {
            blame: Blame::Quota,
            status: Some(429),
            retry_after: Some(Duration::MAX),
        };
        let now = SystemTime::now();
        assert!(
            state
                .record_failure("m", Tracking::Listed, &huge, now, false)
                .is_some()
        );
        assert!(state.block("m", now).unwrap().until > now);
    }
}
