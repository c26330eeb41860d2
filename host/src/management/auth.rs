//! Who may use the management API (reference §5.2, design §2 "Who is local"), shared by HTTP
//! and the Redis-protocol port so both count failures against the same bans.
//!
//! The decision, in order: a banned address gets 403; a client that is not local gets 403
//! unless `allow-remote` (or `MANAGEMENT_PASSWORD`) is on; with no secret usable by this client,
//! 403; no key, 401 (a failure); then the key is checked against the local password (local
//! clients only), the `MANAGEMENT_PASSWORD` secret, and the config's bcrypt hash; no match is a
//! failure and 401. Five failures ban the address for thirty minutes.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::Arc;

use http::HeaderMap;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::ban::BanTable;
use super::error::ManagementError;
use super::secret;
use crate::clock::Clock;
use crate::config::Config;

/// Successful bcrypt checks remembered (as digests), so a client does not pay ~50 ms per call.
const VERIFIED_CACHE: usize = 8;

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
pub struct Gate {
    passwords: Passwords,
    bans: BanTable,
    clock: Arc<dyn Clock>,
    verified: Mutex<VecDeque<[u8; 32]>>,
}

impl Gate {
    /// A gate with these passwords, timing bans on `clock`.
    pub fn new(passwords: Passwords, clock: Arc<dyn Clock>) -> Self {
        Gate {
            passwords: Passwords {
                local: passwords.local.filter(|p| !p.is_empty()),
                env: passwords.env.filter(|p| !p.is_empty()),
            },
            bans: BanTable::default(),
            clock,
            verified: Mutex::new(VecDeque::new()),
        }
    }

    /// Whether the management API exists at all: some secret is configured.
    pub fn enabled(&self, config: &Config) -> bool {
        !config.management.secret_key.is_empty()
            || self.passwords.env.is_some()
            || self.passwords.local.is_some()
    }

    /// Whether a password given at start (not the config) enables the API.
    pub fn always_enabled(&self) -> bool {
        self.passwords.env.is_some() || self.passwords.local.is_some()
    }

    /// How long `ip` stays banned, if it is.
    pub fn banned(&self, ip: IpAddr) -> Option<std::time::Duration> {
        self.bans.banned(ip, self.clock.now())
    }

    /// Checks `key` from the client at `ip` under `config`.
    pub async fn check(
        &self,
        config: &Config,
        ip: IpAddr,
        key: &str,
    ) -> Result<(), ManagementError> {
        let now = self.clock.now();
        if let Some(remaining) = self.bans.banned(ip, now) {
            return Err(ManagementError::Banned(remaining));
        }
        let local = is_local(ip);
        let env = self.passwords.env.as_deref();
        if !local && !config.management.allow_remote && env.is_none() {
            return Err(ManagementError::RemoteDisabled);
        }
        let stored = config.management.secret_key.as_str();
        let local_password = self.passwords.local.as_deref().filter(|_| local);
        if stored.is_empty() && env.is_none() && local_password.is_none() {
            return Err(ManagementError::KeyNotSet);
        }
        if key.is_empty() {
            self.bans.fail(ip, now);
            return Err(ManagementError::MissingKey);
        }
        let accepted = local_password.is_some_and(|p| same(key, p))
            || env.is_some_and(|p| same(key, p))
            || (!stored.is_empty() && self.verify_stored(key, stored).await);
        if accepted {
            self.bans.reset(ip);
            Ok(())
        } else {
            self.bans.fail(ip, self.clock.now());
            Err(ManagementError::InvalidKey)
        }
    }

    /// bcrypt (off the async workers), with a small cache of recent successes.
    async fn verify_stored(&self, key: &str, stored: &str) -> bool {
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
            return true;
        }
        let (key, stored) = (key.to_owned(), stored.to_owned());
        let ok = tokio::task::spawn_blocking(move || secret::verify(&key, &stored))
            .await
            .unwrap_or(false);
        if ok {
            let mut verified = self.verified.lock();
            if verified.len() >= VERIFIED_CACHE {
                verified.pop_front();
            }
            verified.push_back(digest);
        }
        ok
    }
}

/// Whether the TCP peer is this machine: `127.0.0.1`, `::1` or `::ffff:127.0.0.1` exactly.
/// Forwarding headers never count.
pub fn is_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4 == std::net::Ipv4Addr::LOCALHOST,
        IpAddr::V6(v6) => {
            v6 == std::net::Ipv6Addr::LOCALHOST
                || v6.to_ipv4_mapped() == Some(std::net::Ipv4Addr::LOCALHOST)
        }
    }
}

/// The key a request carries: `Authorization: Bearer <key>` (the rest after the first space,
/// untrimmed), another `Authorization` value whole, else `X-Management-Key`.
pub fn key_from_headers(headers: &HeaderMap) -> String {
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

/// Constant-time equality (of SHA-256 digests, so the length does not leak either).
pub fn same(a: &str, b: &str) -> bool {
    let a = Sha256::digest(a.as_bytes());
    let b = Sha256::digest(b.as_bytes());
    a.ct_eq(&b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_peers_are_local() {
        for local in ["127.0.0.1", "::1", "::ffff:127.0.0.1"] {
            assert!(is_local(local.parse().unwrap()), "{local}");
        }
        for remote in ["127.0.0.2", "10.0.0.1", "::ffff:127.0.0.2", "::2"] {
            assert!(!is_local(remote.parse().unwrap()), "{remote}");
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
