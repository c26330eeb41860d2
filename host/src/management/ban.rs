//! Failed management logins per client address group ([`AddressGroup`]: IPv4 addresses one by
//! one, IPv6 per /64): five failures ban the group for thirty minutes (loopback included), on the
//! injectable clock.
//!
//! The ban check and the counting of a failure are one step: before a key is checked, the
//! caller reserves an attempt ([`BanTable::reserve`]), which counts as a failure unless it is
//! settled as a success. A group may have at most five failures and attempts in flight together;
//! more attempts wait until one settles, then either go ahead or meet the ban. So two hundred
//! concurrent wrong keys from one address cost five checks, not two hundred.
//!
//! The table forgets entries in amortised O(1): every entry has one place in a rotating queue,
//! and each new failure or entry looks at two queue places (forgetting idle entries, and the
//! oldest unbanned ones beyond [`MAX_ENTRIES`]).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::client_address::AddressGroup;
use crate::metrics::{LimitCounters, Metrics};

/// Failures that trigger a ban.
pub(crate) const MAX_FAILURES: u32 = 5;
/// How long a ban lasts.
pub(crate) const BAN_DURATION: Duration = Duration::from_secs(30 * 60);
/// Entries idle this long (and not banned) are forgotten.
const IDLE_FORGET: Duration = Duration::from_secs(2 * 3600);
/// Beyond this many entries, the oldest entries that are not banned are forgotten early.
pub(crate) const MAX_ENTRIES: usize = 65_536;
/// Queue places looked at per new failure or entry.
const SWEEP_STEP: usize = 2;

/// The failure counters.
#[derive(Debug, Default)]
pub(crate) struct BanTable {
    state: Mutex<State>,
    /// Counts bans started (`switchyard_management_bans_total`).
    metrics: Option<Arc<Metrics>>,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<AddressGroup, Entry>,
    /// Every entry once, tagged with its serial (places of forgotten entries are stale).
    order: VecDeque<(AddressGroup, u64)>,
    next_serial: u64,
}

#[derive(Debug)]
struct Entry {
    serial: u64,
    failures: u32,
    in_flight: u32,
    banned_until: Option<SystemTime>,
    last: SystemTime,
    /// Woken when an attempt of this group settles.
    settled: Arc<Notify>,
}

/// What [`State::try_reserve`] found.
enum Reservation {
    Reserved,
    Banned(Duration),
    /// Five failures and attempts in flight: wait for one to settle.
    Busy(Arc<Notify>),
}

/// A reserved attempt: a failure unless [`Attempt::succeeded`] is called (dropping it, for
/// example when the client goes away mid-check, counts as a failure).
#[derive(Debug)]
#[must_use = "an attempt counts as a failure unless it succeeded"]
pub(crate) struct Attempt<'a> {
    table: &'a BanTable,
    group: AddressGroup,
    now: SystemTime,
    settled: bool,
}

impl Attempt<'_> {
    /// The key was right: the group's failures are forgotten.
    pub(crate) fn succeeded(mut self) {
        self.settled = true;
        self.table.settle(self.group, self.now, true);
    }

    /// The key was wrong (the same as dropping the attempt).
    pub(crate) fn failed(self) {}
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.table.settle(self.group, self.now, false);
        }
    }
}

impl BanTable {
    /// A table that counts its bans in `metrics`.
    pub(crate) fn with_metrics(metrics: Arc<Metrics>) -> Self {
        BanTable {
            state: Mutex::default(),
            metrics: Some(metrics),
        }
    }

    /// How long `ip`'s group stays banned, if it is; an expired ban is lifted (and its count
    /// reset).
    pub(crate) fn banned(&self, ip: IpAddr, now: SystemTime) -> Option<Duration> {
        let mut state = self.state.lock();
        let entry = state.entries.get_mut(&AddressGroup::of(ip))?;
        entry.ban_left(now)
    }

    /// Reserves an attempt for `ip`'s group, or says how long it stays banned. Waits while the
    /// group has five failures and attempts in flight together; `now` is read after each wait.
    pub(crate) async fn reserve(
        &self,
        ip: IpAddr,
        now: impl Fn() -> SystemTime,
    ) -> Result<Attempt<'_>, Duration> {
        let group = AddressGroup::of(ip);
        loop {
            let first = self.state.lock().try_reserve(group, now());
            let settled = match first {
                Reservation::Reserved => return Ok(self.attempt(group, now())),
                Reservation::Banned(left) => return Err(left),
                Reservation::Busy(settled) => settled,
            };
            let notified = settled.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // Look again now that a settling cannot be missed (the lock is not held while
            // waiting).
            let again = self.state.lock().try_reserve(group, now());
            match again {
                Reservation::Reserved => return Ok(self.attempt(group, now())),
                Reservation::Banned(left) => return Err(left),
                Reservation::Busy(_) => notified.await,
            }
        }
    }

    fn attempt(&self, group: AddressGroup, now: SystemTime) -> Attempt<'_> {
        Attempt {
            table: self,
            group,
            now,
            settled: false,
        }
    }

    /// Entries held now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.state.lock().entries.len()
    }

    fn settle(&self, group: AddressGroup, now: SystemTime, success: bool) {
        let mut guard = self.state.lock();
        let state = &mut *guard;
        let Some(entry) = state.entries.get_mut(&group) else {
            return;
        };
        entry.in_flight = entry.in_flight.saturating_sub(1);
        let settled = entry.settled.clone();
        if success {
            entry.failures = 0;
            if entry.in_flight == 0 && entry.banned_until.is_none() {
                state.entries.remove(&group);
            }
        } else {
            entry.last = now;
            entry.failures += 1;
            if entry.failures >= MAX_FAILURES && entry.banned_until.is_none() {
                entry.failures = 0;
                entry.banned_until = Some(crate::clock::saturating_add(now, BAN_DURATION));
                if let Some(metrics) = &self.metrics {
                    LimitCounters::bump(&metrics.control.bans);
                }
                tracing::warn!(
                    address = ?group,
                    "management: {MAX_FAILURES} wrong keys, address banned for {} minutes",
                    BAN_DURATION.as_secs() / 60
                );
            }
            state.sweep(now);
        }
        drop(guard);
        settled.notify_waiters();
    }
}

impl Entry {
    /// The ban's time left; an expired ban is lifted.
    fn ban_left(&mut self, now: SystemTime) -> Option<Duration> {
        let until = self.banned_until?;
        match until.duration_since(now) {
            Ok(left) if !left.is_zero() => Some(left),
            _ => {
                self.banned_until = None;
                self.failures = 0;
                None
            }
        }
    }

    fn forgettable(&self, now: SystemTime, crowded: bool) -> bool {
        let idle = now.duration_since(self.last).unwrap_or_default() >= IDLE_FORGET;
        let banned = self.banned_until.is_some_and(|until| until > now);
        self.in_flight == 0 && !banned && (idle || crowded)
    }
}

impl State {
    fn try_reserve(&mut self, group: AddressGroup, now: SystemTime) -> Reservation {
        if let Some(entry) = self.entries.get_mut(&group) {
            if let Some(left) = entry.ban_left(now) {
                return Reservation::Banned(left);
            }
            if entry.failures + entry.in_flight >= MAX_FAILURES {
                return Reservation::Busy(entry.settled.clone());
            }
            entry.in_flight += 1;
            return Reservation::Reserved;
        }
        let serial = self.next_serial;
        self.next_serial += 1;
        self.entries.insert(
            group,
            Entry {
                serial,
                failures: 0,
                in_flight: 1,
                banned_until: None,
                last: now,
                settled: Arc::new(Notify::new()),
            },
        );
        self.order.push_back((group, serial));
        self.sweep(now);
        Reservation::Reserved
    }

    /// Looks at the next [`SWEEP_STEP`] queue places: stale places and forgettable entries
    /// go, the rest move to the back.
    fn sweep(&mut self, now: SystemTime) {
        for _ in 0..SWEEP_STEP {
            let Some((group, serial)) = self.order.pop_front() else {
                return;
            };
            let crowded = self.entries.len() > MAX_ENTRIES;
            match self.entries.get(&group) {
                Some(entry) if entry.serial == serial => {
                    if entry.forgettable(now, crowded) {
                        self.entries.remove(&group);
                    } else {
                        self.order.push_back((group, serial));
                    }
                }
                // The entry was forgotten (and maybe made again, with its own place).
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;

    use super::*;

    fn t0() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000)
    }

    async fn fail(table: &BanTable, ip: IpAddr, now: SystemTime) {
        table.reserve(ip, || now).await.unwrap().failed();
    }

    #[tokio::test]
    async fn five_failures_ban_for_thirty_minutes() {
        let metrics = Arc::new(Metrics::default());
        let table = BanTable::with_metrics(metrics.clone());
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..4 {
            fail(&table, ip, t0()).await;
        }
        assert_eq!(table.banned(ip, t0()), None);
        fail(&table, ip, t0()).await;
        assert_eq!(table.banned(ip, t0()), Some(BAN_DURATION));
        assert_eq!(
            metrics
                .control
                .bans
                .load(std::sync::atomic::Ordering::Relaxed),
            1
        );
        assert_eq!(
            table.reserve(ip, t0).await.unwrap_err(),
            BAN_DURATION,
            "a reservation meets the ban"
        );
        let later = t0() + BAN_DURATION - Duration::from_secs(1);
        assert_eq!(table.banned(ip, later), Some(Duration::from_secs(1)));
        assert_eq!(table.banned(ip, t0() + BAN_DURATION), None);
        // The count started over.
        fail(&table, ip, t0() + BAN_DURATION).await;
        assert_eq!(table.banned(ip, t0() + BAN_DURATION), None);
        let other: IpAddr = "::1".parse().unwrap();
        assert_eq!(table.banned(other, t0()), None);
    }

    #[tokio::test]
    async fn success_resets_the_count() {
        let table = BanTable::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..4 {
            fail(&table, ip, t0()).await;
        }
        table.reserve(ip, t0).await.unwrap().succeeded();
        fail(&table, ip, t0()).await;
        assert_eq!(table.banned(ip, t0()), None);
    }

    #[tokio::test]
    async fn ipv6_addresses_of_one_64_share_their_count() {
        let table = BanTable::default();
        for n in 1..=5 {
            let ip: IpAddr = format!("2001:db8::{n}").parse().unwrap();
            fail(&table, ip, t0()).await;
        }
        assert!(
            table
                .banned("2001:db8::ffff".parse().unwrap(), t0())
                .is_some()
        );
        assert_eq!(table.banned("2001:db8:0:1::1".parse().unwrap(), t0()), None);
    }

    #[tokio::test]
    async fn at_most_five_attempts_are_in_flight_and_the_rest_meet_the_ban() {
        let table = BanTable::default();
        let ip: IpAddr = "10.0.0.2".parse().unwrap();
        let mut held = Vec::new();
        for _ in 0..5 {
            held.push(table.reserve(ip, t0).await.unwrap());
        }
        // A sixth waits for one of the five to settle.
        let sixth = table.reserve(ip, t0);
        tokio::pin!(sixth);
        assert!(sixth.as_mut().now_or_never().is_none());
        for attempt in held.drain(..) {
            attempt.failed();
        }
        assert_eq!(sixth.await.unwrap_err(), BAN_DURATION);
    }

    #[tokio::test]
    async fn a_waiting_attempt_goes_ahead_when_one_succeeds() {
        let table = BanTable::default();
        let ip: IpAddr = "10.0.0.3".parse().unwrap();
        let mut held = Vec::new();
        for _ in 0..5 {
            held.push(table.reserve(ip, t0).await.unwrap());
        }
        let sixth = table.reserve(ip, t0);
        tokio::pin!(sixth);
        assert!(sixth.as_mut().now_or_never().is_none());
        held.pop().unwrap().succeeded();
        sixth.await.unwrap().failed();
        drop(held);
        // 4 failures after the success, plus the sixth's: a ban.
        assert!(table.banned(ip, t0()).is_some());
    }

    #[tokio::test]
    async fn idle_entries_are_forgotten_a_little_at_a_time() {
        let table = BanTable::default();
        for n in 0..100u32 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + n));
            fail(&table, ip, t0()).await;
        }
        assert_eq!(table.len(), 100);
        let later = t0() + IDLE_FORGET;
        for n in 0..60u32 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0b00_0000 + n));
            fail(&table, ip, later).await;
        }
        // Each new entry and failure looked at two places: the 100 idle ones are gone.
        assert_eq!(table.len(), 60);
    }

    #[tokio::test]
    async fn beyond_the_cap_the_oldest_unbanned_entries_go_first() {
        let table = BanTable::default();
        let banned: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..5 {
            fail(&table, banned, t0()).await;
        }
        for n in 0..(MAX_ENTRIES as u32 + 1000) {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + n));
            fail(&table, ip, t0()).await;
        }
        assert!(table.len() <= MAX_ENTRIES + 1, "{}", table.len());
        assert!(table.banned(banned, t0()).is_some(), "bans are kept");
    }
}
