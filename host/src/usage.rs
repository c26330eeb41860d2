//! Usage records (reference §8.3): with `usage-statistics-enabled`, every finished proxied
//! request produces one record — when it arrived, how long it took, which credential answered,
//! the model, the endpoint, the upstream's token counts (cached tokens included), whether it
//! failed, and who the client was. Records feed the totals of `GET /v0/management/usage` and,
//! when the management API is enabled, the Redis-protocol feed (see [`crate::resp`]).

pub mod aggregate;
pub mod caller;
pub mod feed;
pub mod meter;
pub mod record;
pub mod tokens;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use parking_lot::Mutex;

pub use aggregate::{Summary, Totals};
pub use caller::Caller;
pub use feed::Feed;
pub use meter::Meter;
pub use record::{Tokens, UsageRecord};

/// Where usage records go: the running totals and the feed.
#[derive(Debug, Default)]
pub struct UsageHub {
    summary: Mutex<Summary>,
    /// Records waiting for Redis-protocol clients.
    pub feed: Feed,
    /// The management API is on regardless of the config (a password from the command line or
    /// the environment), so the feed is too.
    feed_always_on: AtomicBool,
}

impl UsageHub {
    /// Adds `record` to the totals, and to the feed when `to_feed`.
    pub fn record(&self, record: &UsageRecord, to_feed: bool, now: SystemTime) {
        self.summary.lock().add(record);
        if to_feed {
            let payload = serde_json::to_string(record).expect("records serialize");
            self.feed.publish(payload.into(), now);
        }
    }

    /// The totals so far.
    pub fn summary(&self) -> Summary {
        self.summary.lock().clone()
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
}
