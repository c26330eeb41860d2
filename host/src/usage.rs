//! Usage records: with `usage-statistics-enabled`, every finished proxied
//! request produces one record — when it arrived, how long it took, which credential answered,
//! the model, the endpoint, the upstream's token counts (cached tokens included), whether it
//! failed, and who the client was. Records feed the totals of `GET /v0/management/usage` and,
//! when the management API is enabled, the Redis-protocol feed (see [`crate::resp`]).
//!
//! The totals by model keep names a list gives freely; other names go through the
//! process-wide [`TrackedModels`] and are dropped when it evicts them.

pub(crate) mod aggregate;
pub(crate) mod caller;
pub(crate) mod feed;
pub(crate) mod meter;
pub(crate) mod record;
pub(crate) mod tokens;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::SystemTime;

use parking_lot::Mutex;

pub(crate) use aggregate::Summary;
pub(crate) use caller::Caller;
pub(crate) use feed::Feed;
pub(crate) use meter::Meter;
pub use record::{Tokens, UsageRecord, fingerprint};

use crate::events::{EventHub, EventKind};
use crate::metrics::Table;
use crate::model::tracked::{ForgetModel, TrackedModels, Tracking};

/// Where usage records go: the running totals and the feed.
#[derive(Debug)]
pub struct UsageHub {
    totals: Mutex<Kept>,
    tracked: Arc<TrackedModels>,
    /// Records waiting for Redis-protocol clients.
    pub feed: Feed,
    /// The management API is on regardless of the config (a password from the command line or
    /// the environment), so the feed is too.
    feed_always_on: AtomicBool,
    /// Where every record also goes as a `usage` event.
    events: Arc<EventHub>,
}

/// The totals, and the models in them that were admitted through the tracked names.
#[derive(Debug, Default)]
struct Kept {
    summary: Summary,
    unlisted: HashSet<String>,
}

impl ForgetModel for UsageHub {
    fn forget(&self, model: &str) -> u64 {
        let mut kept = self.totals.lock();
        let forgotten = kept.unlisted.remove(model) && kept.summary.forget_model(model);
        u64::from(forgotten)
    }
}

impl UsageHub {
    /// An empty hub whose totals admit unlisted model names through `tracked`.
    pub fn new(tracked: Arc<TrackedModels>) -> Arc<Self> {
        Self::with_events(tracked, Arc::default())
    }

    /// The same, publishing every record as a `usage` event to `events`.
    pub fn with_events(tracked: Arc<TrackedModels>, events: Arc<EventHub>) -> Arc<Self> {
        let hub = Arc::new(UsageHub {
            totals: Mutex::default(),
            tracked: tracked.clone(),
            feed: Feed::default(),
            feed_always_on: AtomicBool::new(false),
            events,
        });
        let weak: Weak<dyn ForgetModel> = Arc::downgrade(&hub) as Weak<dyn ForgetModel>;
        tracked.register(Table::UsageModels, weak);
        hub
    }

    /// Adds `record` to the totals, and to the feed when `to_feed`. `tracking` says whether a
    /// list names `record.model` (else it is admitted through the tracked names).
    pub fn record(&self, record: &UsageRecord, tracking: Tracking, to_feed: bool, now: SystemTime) {
        let add = || {
            let mut kept = self.totals.lock();
            match tracking {
                Tracking::Listed => {
                    kept.unlisted.remove(&record.model);
                }
                Tracking::Unlisted if !kept.summary.by_model.contains_key(&record.model) => {
                    kept.unlisted.insert(record.model.clone());
                }
                Tracking::Unlisted => {}
            }
            kept.summary.add(record);
        };
        match tracking {
            Tracking::Listed => add(),
            Tracking::Unlisted => self.tracked.admit(&record.model, add),
        }
        if to_feed {
            let payload = serde_json::to_string(record).expect("records serialize");
            self.feed.publish(payload.into(), now);
        }
        self.events.publish(EventKind::Usage, || {
            serde_json::to_string(record).expect("records serialize")
        });
    }

    /// The totals so far.
    pub fn summary(&self) -> Summary {
        self.totals.lock().summary.clone()
    }

    /// How many models the totals by model hold (the `switchyard_usage_models` gauge).
    pub fn models(&self) -> usize {
        self.totals.lock().summary.by_model.len()
    }

    /// Marks the management API as enabled whatever the config says (see
    /// [`UsageHub::feed_enabled`]).
    pub fn set_feed_always_on(&self, on: bool) {
        self.feed_always_on.store(on, Ordering::Relaxed);
    }

    /// Whether records go to the feed: the management API is enabled (a `secret-key` in the
    /// config, or a password given at start).
    pub fn feed_enabled(&self, config_secret: &str) -> bool {
        !config_secret.is_empty() || self.feed_always_on.load(Ordering::Relaxed)
    }

    /// Whether `config` feeds records to the feed: usage statistics are on and so is the
    /// management API.
    pub fn feeds(&self, config: &crate::config::Config) -> bool {
        config.usage_statistics_enabled && self.feed_enabled(&config.management.secret_key)
    }

    /// Applies a change of config from `before` to `after`: when the feed turns off, its queue
    /// is emptied and its subscribers are disconnected.
    pub fn reconfigure(&self, before: &crate::config::Config, after: &crate::config::Config) {
        if self.feeds(before) && !self.feeds(after) {
            self.feed.clear();
        }
    }
}
