//! When tokens are renewed, and how long a failing renewal waits before the next try.

use std::time::{Duration, SystemTime};

use switchyard_oauth::Lifetime;

/// The timing rules of token renewal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenPolicy {
    /// The range a server's `expires_in` is clamped to (60 s to 24 h).
    pub lifetime: Lifetime,
    /// How long before expiry a token is renewed (5 min), or a quarter of its lifetime when
    /// that is shorter.
    pub lead: Duration,
    /// The first wait after a failed renewal (1 s); it doubles per failure.
    pub backoff_min: Duration,
    /// The longest wait after failed renewals (5 min).
    pub backoff_max: Duration,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        TokenPolicy {
            lifetime: Lifetime::default(),
            lead: Duration::from_secs(5 * 60),
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(5 * 60),
        }
    }
}

impl TokenPolicy {
    /// When a token issued at `issued_at` that expires at `expires_at` is renewed.
    pub fn renew_at(&self, issued_at: SystemTime, expires_at: SystemTime) -> SystemTime {
        let lifetime = expires_at.duration_since(issued_at).unwrap_or_default();
        let lead = self.lead.min(lifetime / 4);
        expires_at.checked_sub(lead).unwrap_or(expires_at)
    }

    /// The wait after `failures` consecutive failed renewals (at least one).
    pub fn backoff(&self, failures: u32) -> Duration {
        let doubled = self
            .backoff_min
            .checked_mul(
                1u32.checked_shl(failures.saturating_sub(1))
                    .unwrap_or(u32::MAX),
            )
            .unwrap_or(self.backoff_max);
        doubled.min(self.backoff_max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_leads_by_five_minutes_or_a_quarter_of_the_lifetime() {
        let policy = TokenPolicy::default();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let hour = t0 + Duration::from_secs(3600);
        assert_eq!(policy.renew_at(t0, hour), hour - Duration::from_secs(300));
        let minute = t0 + Duration::from_secs(60);
        assert_eq!(policy.renew_at(t0, minute), t0 + Duration::from_secs(45));
        // An expiry before the issue time renews at once.
        assert_eq!(policy.renew_at(minute, t0), t0);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = TokenPolicy::default();
        let waits: Vec<u64> = (1..=10).map(|n| policy.backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]);
        assert_eq!(policy.backoff(u32::MAX), policy.backoff_max);
    }
}
