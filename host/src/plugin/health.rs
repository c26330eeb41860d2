//! Fault accounting of one configured instance: the calls and faults of the recent window,
//! and the quarantine.
//!
//! An instance is quarantined by its fault *rate*, not by a fault count, and each client
//! address counts for a few faults at most: a client that makes a plugin trap on purpose
//! (malformed input the plugin does not expect) cannot quarantine it for everyone else. Faults
//! the host caused (an instance that could not start under load, a wait for a free call slot)
//! are not recorded here at all.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime};

use crate::client_address::AddressGroup;

/// When faults quarantine an instance (`plugins.quarantine.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultPolicy {
    /// Calls the instance must have had within `window` before it can be quarantined.
    pub min_calls: usize,
    /// Share of those calls, in thousandths, that must have faulted (counted faults only).
    pub fault_ratio_permille: u32,
    /// The window calls and faults are counted in.
    pub window: Duration,
    /// How long a quarantined instance is skipped.
    pub quarantine: Duration,
    /// Most faults counted per client address (IPv6 per /64) within `window`.
    pub max_faults_per_address: usize,
}

impl Default for FaultPolicy {
    /// At least 10 calls and at least half of them faulted in 60 s, at most 3 faults counted
    /// per client address, quarantine the instance for 30 s.
    fn default() -> FaultPolicy {
        FaultPolicy {
            min_calls: 10,
            fault_ratio_permille: 500,
            window: Duration::from_secs(60),
            quarantine: Duration::from_secs(30),
            max_faults_per_address: 3,
        }
    }
}

/// The recent calls and counted faults, and the quarantine, of one configured instance.
///
/// Calls are kept as per-second counts (at most `window` seconds of them); counted faults one
/// by one, with their client's address group (at most `max_faults_per_address` per group).
#[derive(Debug, Default)]
pub(crate) struct Health {
    /// (unix second, calls in it), oldest first.
    calls: VecDeque<(u64, u64)>,
    /// Sum of the counts in `calls`.
    call_total: u64,
    /// Counted faults, oldest first.
    faults: VecDeque<(SystemTime, Option<AddressGroup>)>,
    /// Counted faults in `faults` per address group (`None`: the address is unknown).
    per_address: HashMap<Option<AddressGroup>, usize>,
    quarantined_until: Option<SystemTime>,
}

impl Health {
    /// `Err(until)` while quarantined at `now`; a quarantine that ended is lifted.
    pub(crate) fn admit(&mut self, now: SystemTime) -> Result<(), SystemTime> {
        match self.quarantined_until {
            Some(until) if now < until => Err(until),
            Some(_) => {
                self.quarantined_until = None;
                self.clear();
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Records a call that reached the plugin at `now`.
    pub(crate) fn record_call(&mut self, now: SystemTime, policy: &FaultPolicy) {
        self.forget_before(now, policy);
        let second = unix_second(now);
        match self.calls.back_mut() {
            Some((last, count)) if *last == second => *count += 1,
            _ => self.calls.push_back((second, 1)),
        }
        self.call_total += 1;
    }

    /// Records a fault the plugin caused at `now` for a client in `client`; returns the end of
    /// the quarantine it starts, if it does. Past `max_faults_per_address` faults of one
    /// address group within the window, the fault is not counted.
    pub(crate) fn record_fault(
        &mut self,
        now: SystemTime,
        client: Option<AddressGroup>,
        policy: &FaultPolicy,
    ) -> Option<SystemTime> {
        self.forget_before(now, policy);
        let counted = self.per_address.entry(client).or_insert(0);
        if *counted >= policy.max_faults_per_address {
            return None;
        }
        *counted += 1;
        self.faults.push_back((now, client));
        let faults = self.faults.len() as u64;
        let over_ratio =
            faults * 1000 >= self.call_total * u64::from(policy.fault_ratio_permille.max(1));
        if self.call_total >= policy.min_calls.max(1) as u64
            && over_ratio
            && self.quarantined_until.is_none()
        {
            let until = crate::clock::saturating_add(now, policy.quarantine);
            self.quarantined_until = Some(until);
            self.clear();
            return Some(until);
        }
        None
    }

    /// The end of the current quarantine, if the instance is quarantined at `now`.
    pub(crate) fn quarantined_until(&self, now: SystemTime) -> Option<SystemTime> {
        self.quarantined_until.filter(|until| now < *until)
    }

    /// Drops the calls and faults that left the window ending at `now`.
    fn forget_before(&mut self, now: SystemTime, policy: &FaultPolicy) {
        let horizon = now
            .checked_sub(policy.window)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let horizon_second = unix_second(horizon);
        while let Some(&(second, count)) = self.calls.front()
            && second <= horizon_second
        {
            self.calls.pop_front();
            self.call_total -= count;
        }
        while let Some(&(at, client)) = self.faults.front()
            && at <= horizon
        {
            self.faults.pop_front();
            if let Some(counted) = self.per_address.get_mut(&client) {
                *counted -= 1;
                if *counted == 0 {
                    self.per_address.remove(&client);
                }
            }
        }
    }

    fn clear(&mut self) {
        self.calls.clear();
        self.call_total = 0;
        self.faults.clear();
        self.per_address.clear();
    }
}

fn unix_second(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(ip: &str) -> Option<AddressGroup> {
        Some(AddressGroup::of(ip.parse().unwrap()))
    }

    fn start() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000)
    }

    #[test]
    fn half_of_ten_calls_faulting_from_several_addresses_quarantines() {
        let policy = FaultPolicy::default();
        let mut health = Health::default();
        let mut quarantined = None;
        for i in 0..10u64 {
            let now = start() + Duration::from_secs(i);
            health.record_call(now, &policy);
            if i % 2 == 1 {
                let ip = format!("192.0.2.{i}");
                let started = health.record_fault(now, group(&ip), &policy);
                assert_eq!(started.is_some(), i == 9, "call {i}");
                quarantined = quarantined.or(started);
            }
        }
        let until = quarantined.expect("5 faults of 10 calls from 5 addresses");
        assert_eq!(until, start() + Duration::from_secs(9 + 30));
        assert_eq!(health.admit(start() + Duration::from_secs(37)), Err(until));
        assert_eq!(health.admit(until), Ok(()));
        assert_eq!(health.quarantined_until(until), None);
    }

    #[test]
    fn one_address_counts_for_three_faults_at_most() {
        let policy = FaultPolicy::default();
        let mut health = Health::default();
        for i in 0..20u64 {
            let now = start() + Duration::from_millis(i);
            health.record_call(now, &policy);
            assert_eq!(health.record_fault(now, group("192.0.2.1"), &policy), None);
        }
        assert_eq!(health.faults.len(), 3);
        // IPv6 addresses of one /64 are one client.
        for i in 0..20u64 {
            let now = start() + Duration::from_millis(100 + i);
            health.record_call(now, &policy);
            let ip = format!("2001:db8::{i:x}");
            assert_eq!(health.record_fault(now, group(&ip), &policy), None);
        }
        assert_eq!(health.faults.len(), 6);
    }

    #[test]
    fn fewer_than_min_calls_never_quarantine() {
        let policy = FaultPolicy::default();
        let mut health = Health::default();
        for i in 0..9u64 {
            let now = start() + Duration::from_secs(i);
            health.record_call(now, &policy);
            let ip = format!("192.0.2.{i}");
            assert_eq!(health.record_fault(now, group(&ip), &policy), None);
        }
    }

    #[test]
    fn calls_and_faults_leave_the_window() {
        let policy = FaultPolicy::default();
        let mut health = Health::default();
        for i in 0..9u64 {
            let now = start() + Duration::from_secs(i);
            health.record_call(now, &policy);
            health.record_fault(now, group(&format!("192.0.2.{i}")), &policy);
        }
        // 70 s later the nine faulting calls are gone: one more fault of one call is 100 %
        // of the window, but under min-calls.
        let later = start() + Duration::from_secs(70);
        health.record_call(later, &policy);
        assert_eq!(
            health.record_fault(later, group("192.0.2.99"), &policy),
            None
        );
        assert_eq!(health.call_total, 1);
        assert_eq!(health.faults.len(), 1);
        assert!(health.per_address.len() == 1);
    }

    #[test]
    fn good_calls_dilute_faults() {
        let policy = FaultPolicy::default();
        let mut health = Health::default();
        for i in 0..100u64 {
            let now = start() + Duration::from_millis(i * 10);
            health.record_call(now, &policy);
            if i % 3 == 0 {
                let ip = format!("198.51.100.{i}");
                assert_eq!(health.record_fault(now, group(&ip), &policy), None);
            }
        }
    }
}
