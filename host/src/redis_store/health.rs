//! Whether Redis is usable: the circuit breaker in front of every call.
//!
//! A connection or timeout failure opens it (the store is *degraded*): calls skip Redis at once
//! and the callers fall back to this process's memory. Only the store's supervisor closes it
//! again, after it has reconnected and resynchronised. Each transition is logged once.

use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No connection yet.
    Starting,
    /// Serving from Redis.
    Up,
    /// Degraded: serving from memory.
    Down,
}

/// The store's health.
#[derive(Debug)]
pub(crate) struct Health {
    /// Read on every call: `true` while calls must skip Redis.
    degraded: AtomicBool,
    phase: Mutex<Phase>,
    changes: watch::Sender<bool>,
    /// The redacted URL, for the log lines.
    target: String,
}

impl Health {
    /// A breaker that starts open (no connection yet), for the store at `target`.
    pub(crate) fn new(target: String) -> Self {
        Health {
            degraded: AtomicBool::new(true),
            phase: Mutex::new(Phase::Starting),
            changes: watch::channel(true).0,
            target,
        }
    }

    /// Whether calls must skip Redis now.
    pub(crate) fn is_degraded(&self) -> bool {
        self.degraded.load(Ordering::Acquire)
    }

    /// Watches the degraded flag.
    pub(crate) fn subscribe(&self) -> watch::Receiver<bool> {
        self.changes.subscribe()
    }

    /// Redis is usable again (or for the first time).
    pub(crate) fn up(&self) {
        let mut phase = self.phase.lock();
        match *phase {
            Phase::Up => return,
            Phase::Starting => {
                tracing::info!(store = %self.target, "session store: connected to Redis");
            }
            Phase::Down => tracing::warn!(
                store = %self.target,
                "session store: Redis is back; bindings and cooldowns are shared again"
            ),
        }
        *phase = Phase::Up;
        self.degraded.store(false, Ordering::Release);
        self.changes.send_replace(false);
    }

    /// Redis failed (`reason`): degrade until the supervisor brings it back.
    pub(crate) fn down(&self, reason: &dyn std::fmt::Display) {
        let mut phase = self.phase.lock();
        match *phase {
            Phase::Down => return,
            Phase::Starting => tracing::warn!(
                store = %self.target,
                "session store: Redis unreachable ({reason}); serving bindings and cooldowns from \
                 this process's memory until it is"
            ),
            Phase::Up => tracing::warn!(
                store = %self.target,
                "session store: Redis failed ({reason}); serving bindings and cooldowns from this \
                 process's memory until it is back"
            ),
        }
        *phase = Phase::Down;
        self.degraded.store(true, Ordering::Release);
        self.changes.send_replace(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_are_reported_once() {
        let health = Health::new("redis://127.0.0.1:1".into());
        let mut changes = health.subscribe();
        assert!(health.is_degraded(), "no connection yet");
        health.up();
        assert!(!health.is_degraded());
        assert!(changes.has_changed().unwrap());
        assert!(!*changes.borrow_and_update());
        health.up();
        assert!(!changes.has_changed().unwrap(), "already up");
        health.down(&"connection refused");
        health.down(&"connection refused");
        assert!(health.is_degraded());
        assert!(*changes.borrow_and_update());
        health.up();
        assert!(!*changes.borrow_and_update());
    }
}
