//! How long a credential rests after a failure.

use std::time::Duration;

use super::blame::Blame;

/// The credential is likely revoked or out of funds.
pub(crate) const AUTH_FAILURE_COOLDOWN: Duration = Duration::from_secs(30 * 60);
/// The model is not there for this credential.
pub(crate) const NOT_FOUND_COOLDOWN: Duration = Duration::from_secs(12 * 3600);
/// 408, 5xx, timeouts, unreachable upstreams.
pub(crate) const TRANSIENT_COOLDOWN: Duration = Duration::from_secs(60);
/// The longest 429 backoff without `Retry-After`.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(30 * 60);

/// What a failed attempt tells the cooldown table.
#[derive(Debug, Clone, Copy)]
pub struct Failure {
    /// Whom the upstream answer blames ([`super::blame::classify`]).
    pub blame: Blame,
    /// The upstream status; `None` when the upstream was unreachable or timed out.
    pub status: Option<u16>,
    /// The upstream's `Retry-After`.
    pub retry_after: Option<Duration>,
}

impl Failure {
    /// A stream that broke after its first payload, or an upstream that could not be reached.
    pub fn transient() -> Self {
        Failure {
            blame: Blame::Transient,
            status: None,
            retry_after: None,
        }
    }
}

/// The decision for one failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decision {
    /// How long the model stays blocked on this credential; `None` = retry at once.
    pub cooldown: Option<Duration>,
    /// Whether this is a quota (429) cooldown: only those produce the `model_cooldown` error.
    pub quota: bool,
    /// The 429 backoff level to store.
    pub backoff_level: u32,
}

/// The cooldown for `failure`, given the credential's current 429 backoff level.
pub(crate) fn decide(failure: &Failure, backoff_level: u32) -> Decision {
    let plain = |cooldown| Decision {
        cooldown,
        quota: false,
        backoff_level,
    };
    match failure.blame {
        Blame::Credential => plain(Some(AUTH_FAILURE_COOLDOWN)),
        Blame::Model => plain(Some(NOT_FOUND_COOLDOWN)),
        Blame::Transient => plain(Some(TRANSIENT_COOLDOWN)),
        Blame::Request | Blame::Token => plain(None),
        Blame::Quota => match failure.retry_after {
            Some(wait) => Decision {
                cooldown: Some(wait),
                quota: true,
                backoff_level,
            },
            None => {
                let (wait, level) = backoff(backoff_level);
                Decision {
                    cooldown: Some(wait),
                    quota: true,
                    backoff_level: level,
                }
            }
        },
    }
}

/// `1 s · 2^level`, at least 1 s; at 30 min it stays there and the level stops growing.
pub(crate) fn backoff(level: u32) -> (Duration, u32) {
    let seconds = 1u64.checked_shl(level).unwrap_or(u64::MAX);
    let wait = Duration::from_secs(seconds.max(1));
    if wait >= MAX_BACKOFF {
        (MAX_BACKOFF, level)
    } else {
        (wait, level + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(blame: Blame) -> Failure {
        Failure {
            blame,
            status: None,
            retry_after: None,
        }
    }

    #[test]
    fn blame_table() {
        for (blame, expected) in [
            (Blame::Credential, Some(AUTH_FAILURE_COOLDOWN)),
            (Blame::Model, Some(NOT_FOUND_COOLDOWN)),
            (Blame::Transient, Some(TRANSIENT_COOLDOWN)),
            (Blame::Request, None),
        ] {
            let decision = decide(&failure(blame), 0);
            assert_eq!(decision.cooldown, expected, "{blame:?}");
            assert!(!decision.quota);
        }
    }

    #[test]
    fn retry_after_wins_for_429() {
        let decision = decide(
            &Failure {
                blame: Blame::Quota,
                status: Some(429),
                retry_after: Some(Duration::from_secs(7)),
            },
            3,
        );
        assert_eq!(decision.cooldown, Some(Duration::from_secs(7)));
        assert!(decision.quota);
        assert_eq!(decision.backoff_level, 3);
    }

    #[test]
    fn backoff_doubles_then_caps_at_thirty_minutes() {
        let mut level = 0;
        let mut waits = Vec::new();
        for _ in 0..13 {
            let decision = decide(&failure(Blame::Quota), level);
            waits.push(decision.cooldown.unwrap().as_secs());
            level = decision.backoff_level;
        }
        assert_eq!(
            waits,
            [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 1800, 1800]
        );
        assert_eq!(level, 11);
    }
}
