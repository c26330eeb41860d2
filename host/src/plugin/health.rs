//! Fault accounting of one configured instance: the fault window and the quarantine.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

/// When repeated faults quarantine an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultPolicy {
    /// Faults within `window` that quarantine the instance.
    pub max_faults: usize,
    /// The window faults are counted in.
    pub window: Duration,
    /// How long a quarantined instance is skipped.
    pub quarantine: Duration,
}

impl Default for FaultPolicy {
    /// 5 faults in 60 s quarantine the instance for 30 s (design §3).
    fn default() -> FaultPolicy {
        FaultPolicy {
            max_faults: 5,
            window: Duration::from_secs(60),
            quarantine: Duration::from_secs(30),
        }
    }
}

/// The recent faults and the quarantine of one configured instance.
#[derive(Debug, Default)]
pub(crate) struct Health {
    faults: VecDeque<SystemTime>,
    quarantined_until: Option<SystemTime>,
}

impl Health {
    /// `Err(until)` while quarantined at `now`; a quarantine that ended is lifted.
    pub(crate) fn admit(&mut self, now: SystemTime) -> Result<(), SystemTime> {
        match self.quarantined_until {
            Some(until) if now < until => Err(until),
            Some(_) => {
                self.quarantined_until = None;
                self.faults.clear();
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Records a fault at `now`; returns the end of the quarantine it starts, if it does.
    pub(crate) fn record_fault(
        &mut self,
        now: SystemTime,
        policy: &FaultPolicy,
    ) -> Option<SystemTime> {
        let horizon = now
            .checked_sub(policy.window)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        while self.faults.front().is_some_and(|t| *t <= horizon) {
            self.faults.pop_front();
        }
        self.faults.push_back(now);
        if self.faults.len() >= policy.max_faults.max(1) && self.quarantined_until.is_none() {
            let until = crate::clock::saturating_add(now, policy.quarantine);
            self.quarantined_until = Some(until);
            self.faults.clear();
            return Some(until);
        }
        None
    }

    /// The end of the current quarantine, if the instance is quarantined at `now`.
    pub(crate) fn quarantined_until(&self, now: SystemTime) -> Option<SystemTime> {
        self.quarantined_until.filter(|until| now < *until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_faults_in_the_window_quarantine() {
        let policy = FaultPolicy::default();
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let mut health = Health::default();
        for i in 0..4 {
            assert_eq!(
                health.record_fault(start + Duration::from_secs(i), &policy),
                None
            );
        }
        let until = health
            .record_fault(start + Duration::from_secs(10), &policy)
            .unwrap();
        assert_eq!(until, start + Duration::from_secs(40));
        assert_eq!(health.admit(start + Duration::from_secs(39)), Err(until));
        assert_eq!(health.admit(until), Ok(()));
        assert_eq!(health.quarantined_until(until), None);
    }

    #[test]
    fn old_faults_leave_the_window() {
        let policy = FaultPolicy::default();
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let mut health = Health::default();
        for i in 0..4 {
            health.record_fault(start + Duration::from_secs(i), &policy);
        }
        // The first four are more than 60 s old by now.
        assert_eq!(
            health.record_fault(start + Duration::from_secs(64), &policy),
            None
        );
        assert_eq!(health.admit(start + Duration::from_secs(64)), Ok(()));
    }
}
