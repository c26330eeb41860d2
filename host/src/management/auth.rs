//! Who may use the management API, shared by HTTP
//! and the Redis-protocol port so both count failures against the same bans.
//!
//! The client is a [`ClientAddress`] resolved through `trusted-proxies`
//! ([`crate::client_address::resolve`]): bans count its address, and only a local one may
//! use `--password`.
//!
//! The decision, in order: a banned address gets 403; a client that is not local gets 403
//! unless `allow-remote` (or `MANAGEMENT_PASSWORD`) is on; with no secret usable by this client,
//! 403; no key, 401 (not a failure: unlike the reference, a request without a key cannot ban
//! anyone); then an attempt is reserved in the ban table ([`BanTable::reserve`], which waits
//! while the address has five failures and attempts in flight, and meets the ban after them),
//! and the key is checked against the local password (local clients only), the
//! `MANAGEMENT_PASSWORD` secret, and the config's bcrypt hash; no match is a failure and 401.
//! Five failures ban the address (IPv6 per /64) for thirty minutes. At most
//! [`BCRYPT_CONCURRENCY`] bcrypt verifications run at once, on the blocking pool.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use http::HeaderMap;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use super::ban::BanTable;
use super::error::ManagementError;
use crate::client_address::ClientAddress;
use crate::clock::Clock;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::secret::{self, Match, same};

/// Successful bcrypt checks remembered (as digests), so a client does not pay ~50 ms per call.
const VERIFIED_CACHE: usize = 8;

/// bcrypt verifications that may run at once (each takes a core for ~50 ms).
pub(crate) const BCRYPT_CONCURRENCY: usize = 2;

/// Secrets that do not come from the config file.
#[derive(Clone, Default)]
pub struct Passwords {
    /// `--password`: accepted from local clients only, enough on its own.
    pub local: Option<String>,
    /// `MANAGEMENT_PASSWORD`: a management secret for every client; forces `allow-remote`.
    pub env: Option<String>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("local", &self.local.as_ref().map(|_| "<redacted>"))
            .field("env", &self.env.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The management API's gate.
#[derive(Debug)]
pub(crate) struct Gate {
    passwords: Passwords,
    bans: BanTable,
    clock: Arc<dyn Clock>,
    verified: Mutex<VecDeque<[u8; 32]>>,
    bcrypt: Arc<Semaphore>,
    metrics: Arc<Metrics>,
}

/// A key the gate accepted.
#[derive(Debug, Default)]
pub(crate) struct Granted {
    /// The config's hash (this one) matched only in the legacy form of a long secret: the
    /// caller should store a new hash of the key.
    pub legacy_hash: Option<String>,
}

/// The secrets a client may use under a config.
struct Usable<'a> {
    stored: &'a str,
    env: Option<&'a str>,
    local_password: Option<&'a str>,
}

impl Gate {
    /// A gate with these passwords, timing bans on `clock`, counting in `metrics`.
    pub(crate) fn new(passwords: Passwords, clock: Arc<dyn Clock>, metrics: Arc<Metrics>) -> Self {
        Gate {
            passwords: Passwords {
                local: passwords.local.filter(|p| !p.is_empty()),
                env: passwords.env.filter(|p| !p.is_empty()),
            },
            bans: BanTable::with_metrics(metrics.clone()),
            clock,
            verified: Mutex::new(VecDeque::new()),
            bcrypt: Arc::new(Semaphore::new(BCRYPT_CONCURRENCY)),
            metrics,
        }
    }

    /// Whether the management API exists at all: some secret is configured.
    pub(crate) fn enabled(&self, config: &Config) -> bool {
        !config.management.secret_key.is_empty()
            || self.passwords.env.is_some()
            || self.passwords.local.is_some()
    }

    /// Whether a password given at start (not the config) enables the API.
    pub(crate) fn always_enabled(&self) -> bool {
        self.passwords.env.is_some() || self.passwords.local.is_some()
    }

    /// How long `ip` stays banned, if it is.
    pub(crate) fn banned(&self, ip: IpAddr) -> Option<std::time::Duration> {
        self.bans.banned(ip, self.clock.now())
    }

    /// The secrets `client` may use under `config`, or why it may not use any.
    fn usable<'a>(
        &'a self,
        config: &'a Config,
        client: ClientAddress,
    ) -> Result<Usable<'a>, ManagementError> {
        let local = client.local;
        let env = self.passwords.env.as_deref();
        if !local && !config.management.allow_remote && env.is_none() {
            return Err(ManagementError::RemoteDisabled);
        }
        let stored = config.management.secret_key.as_str();
        let local_password = self.passwords.local.as_deref().filter(|_| local);
        if stored.is_empty() && env.is_none() && local_password.is_none() {
            return Err(ManagementError::KeyNotSet);
        }
        Ok(Usable {
            stored,
            env,
            local_password,
        })
    }

    /// A digest of what a login of `client` depends on under `config`: the
    /// configured hash, `MANAGEMENT_PASSWORD` and (for a local client) `--password`; `None`
    /// when the API is off or closed to this client. A session that logged in ends when this
    /// changes (a cheap SHA-256, no bcrypt).
    pub(crate) fn fingerprint(&self, config: &Config, client: ClientAddress) -> Option<[u8; 32]> {
        if !self.enabled(config) {
            return None;
        }
        let usable = self.usable(config, client).ok()?;
        let mut digest = Sha256::new();
        for part in [Some(usable.stored), usable.env, usable.local_password] {
            match part {
                Some(text) => {
                    digest.update((text.len() as u64 + 1).to_be_bytes());
                    digest.update(text.as_bytes());
                }
                None => digest.update(0u64.to_be_bytes()),
            }
        }
        Some(digest.finalize().into())
    }

    /// Checks `key` from `client` under `config` (bans count `client.ip`).
    pub(crate) async fn check(
        &self,
        config: &Config,
        client: ClientAddress,
        key: &str,
    ) -> Result<Granted, ManagementError> {
        let ip = client.ip;
        if let Some(remaining) = self.bans.banned(ip, self.clock.now()) {
            return Err(ManagementError::Banned(remaining));
        }
        let usable = self.usable(config, client)?;
        if key.is_empty() {
            return Err(ManagementError::MissingKey);
        }
        // From here on this is an attempt: a failure unless it succeeds.
        let attempt = self
            .bans
            .reserve(ip, || self.clock.now())
            .await
            .map_err(ManagementError::Banned)?;
        if usable.local_password.is_some_and(|p| same(key, p))
            || usable.env.is_some_and(|p| same(key, p))
        {
            attempt.succeeded();
            return Ok(Granted::default());
        }
        let outcome = match usable.stored {
            "" => Match::No,
            stored => self.verify_stored(key, stored).await,
        };
        match outcome {
            Match::No => {
                attempt.failed();
                Err(ManagementError::InvalidKey)
            }
            Match::Yes => {
                attempt.succeeded();
                Ok(Granted::default())
            }
            Match::Legacy => {
                attempt.succeeded();
                Ok(Granted {
                    legacy_hash: Some(usable.stored.to_owned()),
                })
            }
        }
    }

    /// The bcrypt hash of `key` for the config (pre-hashed when long), computed under the same
    /// concurrency bound as verifications.
    pub(crate) async fn hash(&self, key: &str) -> Result<String, ManagementError> {
        let permit = self.bcrypt.clone().acquire_owned().await.ok();
        let key = key.to_owned();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            secret::hash(&key)
        })
        .await
        .map_err(|e| ManagementError::WriteFailed(e.to_string()))?
        .map_err(|e| ManagementError::WriteFailed(e.to_string()))
    }

    /// bcrypt (off the async workers, at most [`BCRYPT_CONCURRENCY`] at once), with a small
    /// cache of recent successes.
    async fn verify_stored(&self, key: &str, stored: &str) -> Match {
        let digest: [u8; 32] = Sha256::new()
            .chain_update(stored.as_bytes())
            .chain_update([0])
            .chain_update(key.as_bytes())
            .finalize()
            .into();
        if self
            .verified
            .lock()
            .iter()
            .any(|seen| bool::from(seen.ct_eq(&digest)))
        {
            return Match::Yes;
        }
        // The permit moves into the blocking task: a client that goes away mid-check does not
        // free a slot while its bcrypt still runs.
        let Ok(permit) = self.bcrypt.clone().acquire_owned().await else {
            return Match::No;
        };
        let (key, stored) = (key.to_owned(), stored.to_owned());
        let metrics = self.metrics.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let verification = secret::verify(&key, &stored);
            metrics
                .control
                .bcrypt_verifications
                .fetch_add(u64::from(verification.bcrypt_runs), Ordering::Relaxed);
            verification.outcome
        })
        .await
        .unwrap_or(Match::No);
        if outcome == Match::Yes {
            let mut verified = self.verified.lock();
            if verified.len() >= VERIFIED_CACHE {
                verified.pop_front();
            }
            verified.push_back(digest);
        }
        outcome
    }
}

/// The key a request carries: `Authorization: Bearer <key>` (the rest after the first space,
/// untrimmed), another `Authorization` value whole, else `X-Management-Key`.
pub(crate) fn key_from_headers(headers: &HeaderMap) -> String {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let authorization = header("authorization");
    let key = match authorization.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest,
        _ => authorization,
    };
    if key.is_empty() {
        header("x-management-key").to_owned()
    } else {
        key.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_address::is_loopback_peer;

    #[test]
    fn only_loopback_peers_are_local() {
        for local in ["127.0.0.1", "::1", "::ffff:127.0.0.1"] {
            assert!(is_loopback_peer(local.parse().unwrap()), "{local}");
        }
        for remote in ["127.0.0.2", "10.0.0.1", "::ffff:127.0.0.2", "::2"] {
            assert!(!is_loopback_peer(remote.parse().unwrap()), "{remote}");
        }
    }

    #[test]
    fn keys_come_from_authorization_or_the_management_header() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer  two spaces".parse().unwrap());
        assert_eq!(key_from_headers(&headers), " two spaces");
        headers.insert("authorization", "raw-key".parse().unwrap());
        assert_eq!(key_from_headers(&headers), "raw-key");
        headers.remove("authorization");
        headers.insert("x-management-key", "m".parse().unwrap());
        assert_eq!(key_from_headers(&headers), "m");
        headers.insert("authorization", "bearer ".parse().unwrap());
        assert_eq!(key_from_headers(&headers), "m");
    }
}
