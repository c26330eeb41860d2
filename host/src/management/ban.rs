//! Failed management logins per client address: five failures ban the address for thirty
//! minutes (loopback included), on the injectable clock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;

/// Failures that trigger a ban.
pub const MAX_FAILURES: u32 = 5;
/// How long a ban lasts.
pub const BAN_DURATION: Duration = Duration::from_secs(30 * 60);
/// Entries idle this long (and not banned) are forgotten.
const IDLE_FORGET: Duration = Duration::from_secs(2 * 3600);
/// Forgetting runs when the table grows past this many entries.
const PRUNE_ABOVE: usize = 1024;

/// The failure counters.
#[derive(Debug, Default)]
pub struct BanTable {
    entries: Mutex<HashMap<IpAddr, Attempts>>,
}

#[derive(Debug, Clone, Copy)]
struct Attempts {
    failures: u32,
    banned_until: Option<SystemTime>,
    last: SystemTime,
}

impl BanTable {
    /// How long `ip` stays banned, if it is; an expired ban is lifted (and its count reset).
    pub fn banned(&self, ip: IpAddr, now: SystemTime) -> Option<Duration> {
        let mut entries = self.entries.lock();
        let entry = entries.get_mut(&ip)?;
        let until = entry.banned_until?;
        match until.duration_since(now) {
            Ok(remaining) if !remaining.is_zero() => Some(remaining),
            _ => {
                entry.banned_until = None;
                entry.failures = 0;
                None
            }
        }
    }

    /// Counts a failure of `ip`; the fifth starts a ban.
    pub fn fail(&self, ip: IpAddr, now: SystemTime) {
        let mut entries = self.entries.lock();
        if entries.len() > PRUNE_ABOVE {
            entries.retain(|_, a| {
                a.banned_until.is_some_and(|until| until > now)
                    || now.duration_since(a.last).unwrap_or_default() < IDLE_FORGET
            });
        }
        let entry = entries.entry(ip).or_insert(Attempts {
            failures: 0,
            banned_until: None,
            last: now,
        });
        entry.last = now;
        entry.failures += 1;
        if entry.failures >= MAX_FAILURES {
            entry.failures = 0;
            entry.banned_until = Some(crate::clock::saturating_add(now, BAN_DURATION));
        }
    }

    /// Forgets the failures of `ip` (after a successful login).
    pub fn reset(&self, ip: IpAddr) {
        self.entries.lock().remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_ban_for_thirty_minutes() {
        let table = BanTable::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        for _ in 0..4 {
            table.fail(ip, t0);
        }
        assert_eq!(table.banned(ip, t0), None);
        table.fail(ip, t0);
        assert_eq!(table.banned(ip, t0), Some(BAN_DURATION));
        let later = t0 + BAN_DURATION - Duration::from_secs(1);
        assert_eq!(table.banned(ip, later), Some(Duration::from_secs(1)));
        assert_eq!(table.banned(ip, t0 + BAN_DURATION), None);
        // The count started over.
        table.fail(ip, t0 + BAN_DURATION);
        assert_eq!(table.banned(ip, t0 + BAN_DURATION), None);
        let other: IpAddr = "::1".parse().unwrap();
        assert_eq!(table.banned(other, t0), None);
    }

    #[test]
    fn success_resets_the_count() {
        let table = BanTable::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let now = SystemTime::UNIX_EPOCH;
        for _ in 0..4 {
            table.fail(ip, now);
        }
        table.reset(ip);
        table.fail(ip, now);
        assert_eq!(table.banned(ip, now), None);
    }
}
