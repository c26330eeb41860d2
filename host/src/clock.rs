//! Time as the proxy sees it: a trait so tests can move it forward instead of waiting.

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// A source of wall-clock time.
///
/// Cooldowns, bans and TTLs read the time through this trait; [`ManualClock`] lets tests advance
/// it. Wall time (not `Instant`) because cooldown deadlines are shared between replicas.
pub trait Clock: Send + Sync + Debug {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Real time plus an offset that only grows: tests call [`ManualClock::advance`] to jump past a
/// cooldown or a ban.
#[derive(Debug, Default)]
pub struct ManualClock {
    offset_ms: AtomicU64,
}

impl ManualClock {
    /// A clock that starts at the real time.
    pub fn new() -> Self {
        ManualClock::default()
    }

    /// Moves this clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        saturating_add(
            SystemTime::now(),
            Duration::from_millis(self.offset_ms.load(Ordering::SeqCst)),
        )
    }
}

/// The longest span [`saturating_add`] adds when the exact sum does not fit.
const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 86_400);

/// `time + by`, never panicking: when the sum does not fit in a [`SystemTime`], a time about a
/// century after `time` (or `time` itself, should even that not fit). Cooldown ends, bans and
/// TTL expiries are computed with it.
pub(crate) fn saturating_add(time: SystemTime, by: Duration) -> SystemTime {
    time.checked_add(by)
        .or_else(|| time.checked_add(by.min(FAR_FUTURE)))
        .unwrap_or(time)
}

/// Milliseconds since the Unix epoch of `time` (0 before the epoch).
pub(crate) fn unix_millis(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_forward() {
        let clock = ManualClock::new();
        let before = clock.now();
        clock.advance(Duration::from_secs(1800));
        let moved = clock.now().duration_since(before).unwrap();
        assert!(moved >= Duration::from_secs(1800));
    }

    #[test]
    fn saturating_add_never_panics() {
        let now = SystemTime::now();
        assert_eq!(
            saturating_add(now, Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
        assert_eq!(saturating_add(now, Duration::MAX), now + FAR_FUTURE);
        assert!(saturating_add(now, Duration::from_secs(u64::MAX / 2)) > now);
    }
}
