//! The mock's OAuth authority: who may get tokens (service accounts, clients), the tokens it
//! issued and their validity, and what it counted. The token endpoint ([`crate::token_endpoint`])
//! and the model routes consult it; [`crate::MockUpstream`] steers it.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::watch;

use crate::recorder::WaitTimeout;

/// Every access token the mock issues starts with this; a bearer with it must be one it issued.
pub(crate) const ACCESS_TOKEN_PREFIX: &str = "mock-at-";

/// Every refresh token the mock issues starts with this.
const REFRESH_TOKEN_PREFIX: &str = "mock-rt-";

/// The lifetime of the tokens issued until [`TokenAuthority::set_lifetime`] says otherwise.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// What the token endpoint and the model routes did with tokens (see
/// [`crate::MockUpstream::token_stats`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenStats {
    /// Successful JWT-bearer grants (service accounts).
    pub jwt_grants: u64,
    /// Successful client-credentials grants.
    pub client_credentials_grants: u64,
    /// Successful refresh-token grants.
    pub refresh_grants: u64,
    /// Refresh grants rejected because the refresh token had already been used.
    pub invalid_grants: u64,
    /// 401s on model routes for a bearer the mock did not accept: unknown, expired or
    /// invalidated `mock-at-` tokens, and anything but an issued token on a Vertex route.
    pub rejected_bearers: u64,
    /// Clients that authenticated with `Authorization: Basic` (successfully).
    pub basic_auth: u64,
    /// Clients that authenticated with `client_id` and `client_secret` in the form.
    pub post_auth: u64,
    /// The `scope` of the last successful grant that had one.
    pub last_scope: Option<String>,
    /// The `audience` of the last successful client-credentials grant that had one.
    pub last_audience: Option<String>,
}

impl TokenStats {
    /// Successful grants of every kind.
    pub fn grants(&self) -> u64 {
        self.jwt_grants + self.client_credentials_grants + self.refresh_grants
    }
}

/// The grant that produced a token set, for the counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GrantKind {
    /// JWT bearer (RFC 7523).
    JwtBearer,
    /// Client credentials (RFC 6749 §4.4).
    ClientCredentials,
    /// Refresh token (RFC 6749 §6).
    RefreshToken,
}

/// How a client authenticated at the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClientAuthMethod {
    /// `Authorization: Basic`.
    Basic,
    /// `client_id` and `client_secret` form fields.
    Post,
    /// A public client: `client_id` only.
    None,
}

/// A freshly issued token set.
pub(crate) struct IssuedTokens {
    /// The access token.
    pub(crate) access_token: String,
    /// Its lifetime in whole seconds.
    pub(crate) expires_in: u64,
    /// The new refresh token (refresh grant only).
    pub(crate) refresh_token: Option<String>,
}

/// Why a refresh token was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RefreshRejection {
    /// It was redeemed before (rotation invalidates it).
    AlreadyUsed,
    /// The mock never issued it.
    Unknown,
    /// It was issued to another client.
    OtherClient,
}

/// A known OAuth client.
struct Client {
    /// `None`: a public client (no secret).
    secret: Option<String>,
}

/// An issued access token.
struct AccessToken {
    /// The service-account email or client id it stands for.
    subject: String,
    /// When it stops being valid.
    expires_at: Instant,
    /// Invalidated by [`TokenAuthority::expire_access_tokens`].
    invalidated: bool,
}

/// An issued refresh token.
struct RefreshToken {
    client_id: String,
    used: bool,
}

/// Everything behind the authority's lock.
struct Ledger {
    service_accounts: HashMap<String, Vec<u8>>,
    clients: HashMap<String, Client>,
    access_tokens: HashMap<String, AccessToken>,
    refresh_tokens: HashMap<String, RefreshToken>,
    latest_refresh_token: HashMap<String, String>,
    lifetime: Duration,
    last_serial: u64,
    stats: TokenStats,
}

impl Ledger {
    fn next_serial(&mut self) -> u64 {
        self.last_serial += 1;
        self.last_serial
    }

    fn new_refresh_token(&mut self, client_id: &str) -> String {
        let token = format!("{REFRESH_TOKEN_PREFIX}{}", self.next_serial());
        self.refresh_tokens.insert(
            token.clone(),
            RefreshToken {
                client_id: client_id.to_owned(),
                used: false,
            },
        );
        self.latest_refresh_token
            .insert(client_id.to_owned(), token.clone());
        token
    }

    fn new_access_token(&mut self, subject: &str) -> (String, u64) {
        let token = format!("{ACCESS_TOKEN_PREFIX}{}", self.next_serial());
        self.access_tokens.insert(
            token.clone(),
            AccessToken {
                subject: subject.to_owned(),
                expires_at: Instant::now() + self.lifetime,
                invalidated: false,
            },
        );
        (token, self.lifetime.as_secs())
    }
}

/// The authority. Locks only for in-memory bookkeeping, never across an await; requests with
/// an API key never touch it.
pub(crate) struct TokenAuthority {
    token_url: String,
    ledger: Mutex<Ledger>,
    /// The status the token endpoint answers with while "down" (0: up).
    endpoint_status: AtomicU16,
    /// Bumped after every successful grant, waking [`TokenAuthority::wait_for_grants`].
    granted: watch::Sender<()>,
}

impl fmt::Debug for TokenAuthority {
    // Tokens and secrets stay out of Debug output.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("TokenAuthority")
            .field("token_url", &self.token_url)
            .field("stats", &self.ledger.lock().stats)
            .finish_non_exhaustive()
    }
}

impl TokenAuthority {
    /// An authority whose token endpoint is `token_url` (the `aud` assertions must name).
    pub(crate) fn new(token_url: String) -> Self {
        TokenAuthority {
            token_url,
            ledger: Mutex::new(Ledger {
                service_accounts: HashMap::new(),
                clients: HashMap::new(),
                access_tokens: HashMap::new(),
                refresh_tokens: HashMap::new(),
                latest_refresh_token: HashMap::new(),
                lifetime: DEFAULT_LIFETIME,
                last_serial: 0,
                stats: TokenStats::default(),
            }),
            endpoint_status: AtomicU16::new(0),
            granted: watch::Sender::new(()),
        }
    }

    /// The token endpoint's URL.
    pub(crate) fn token_url(&self) -> &str {
        &self.token_url
    }

    /// Trusts `public_key_der` (an RSA public key, PKCS#1 DER) for assertions issued by `email`.
    pub(crate) fn register_service_account(&self, email: String, public_key_der: Vec<u8>) {
        self.ledger
            .lock()
            .service_accounts
            .insert(email, public_key_der);
    }

    /// The public key registered for `email`.
    pub(crate) fn service_account_key(&self, email: &str) -> Option<Vec<u8>> {
        self.ledger.lock().service_accounts.get(email).cloned()
    }

    /// Registers (or replaces) a client; `secret: None` makes it a public client.
    pub(crate) fn register_client(&self, client_id: String, secret: Option<String>) {
        self.ledger
            .lock()
            .clients
            .insert(client_id, Client { secret });
    }

    /// `None` for an unknown client, `Some(None)` for a public one, else its secret.
    pub(crate) fn client_secret(&self, client_id: &str) -> Option<Option<String>> {
        self.ledger
            .lock()
            .clients
            .get(client_id)
            .map(|client| client.secret.clone())
    }

    /// A fresh valid refresh token for `client_id` (registered as a public client if unknown).
    pub(crate) fn issue_refresh_token(&self, client_id: &str) -> String {
        let mut ledger = self.ledger.lock();
        ledger
            .clients
            .entry(client_id.to_owned())
            .or_insert(Client { secret: None });
        ledger.new_refresh_token(client_id)
    }

    /// The refresh token most recently issued to `client_id` (by the control API or a rotation).
    pub(crate) fn latest_refresh_token(&self, client_id: &str) -> Option<String> {
        self.ledger
            .lock()
            .latest_refresh_token
            .get(client_id)
            .cloned()
    }

    /// The lifetime of tokens issued from now on (whole seconds, at least one).
    pub(crate) fn set_lifetime(&self, lifetime: Duration) {
        self.ledger.lock().lifetime = Duration::from_secs(lifetime.as_secs().max(1));
    }

    /// Invalidates every access token issued so far.
    pub(crate) fn expire_access_tokens(&self) {
        for token in self.ledger.lock().access_tokens.values_mut() {
            token.invalidated = true;
        }
    }

    /// Makes the token endpoint answer `status` (`None`: serve again).
    pub(crate) fn set_endpoint_status(&self, status: Option<u16>) {
        self.endpoint_status
            .store(status.unwrap_or(0), Ordering::SeqCst);
    }

    /// The status the token endpoint answers with while down.
    pub(crate) fn endpoint_status(&self) -> Option<u16> {
        match self.endpoint_status.load(Ordering::SeqCst) {
            0 => None,
            status => Some(status),
        }
    }

    /// Issues an access token for `subject` after a successful grant and counts it; a refresh
    /// grant should use [`TokenAuthority::redeem_refresh_token`] instead.
    pub(crate) fn grant(
        &self,
        kind: GrantKind,
        subject: &str,
        auth: ClientAuthMethod,
        scope: Option<&str>,
        audience: Option<&str>,
    ) -> IssuedTokens {
        let issued = {
            let mut ledger = self.ledger.lock();
            let (access_token, expires_in) = ledger.new_access_token(subject);
            count_grant(&mut ledger.stats, kind, auth, scope, audience);
            IssuedTokens {
                access_token,
                expires_in,
                refresh_token: None,
            }
        };
        self.granted.send_replace(());
        issued
    }

    /// Redeems `refresh_token` for `client_id` (already authenticated): a new access token and
    /// a new refresh token; the redeemed one is used up.
    pub(crate) fn redeem_refresh_token(
        &self,
        refresh_token: &str,
        client_id: &str,
        auth: ClientAuthMethod,
        scope: Option<&str>,
    ) -> Result<IssuedTokens, RefreshRejection> {
        let issued = {
            let mut ledger = self.ledger.lock();
            let rejection = match ledger.refresh_tokens.get_mut(refresh_token) {
                None => Some(RefreshRejection::Unknown),
                Some(stored) if stored.client_id != client_id => {
                    Some(RefreshRejection::OtherClient)
                }
                Some(stored) if stored.used => Some(RefreshRejection::AlreadyUsed),
                Some(stored) => {
                    stored.used = true;
                    None
                }
            };
            if let Some(rejection) = rejection {
                if rejection == RefreshRejection::AlreadyUsed {
                    ledger.stats.invalid_grants += 1;
                }
                return Err(rejection);
            }
            let (access_token, expires_in) = ledger.new_access_token(client_id);
            let refresh_token = ledger.new_refresh_token(client_id);
            count_grant(
                &mut ledger.stats,
                GrantKind::RefreshToken,
                auth,
                scope,
                None,
            );
            IssuedTokens {
                access_token,
                expires_in,
                refresh_token: Some(refresh_token),
            }
        };
        self.granted.send_replace(());
        Ok(issued)
    }

    /// The subject of a valid issued access token; else why not (and the rejection is counted).
    pub(crate) fn subject_of(&self, access_token: &str) -> Result<String, &'static str> {
        self.subject_at(access_token, Instant::now())
    }

    /// [`TokenAuthority::subject_of`] as of `now`.
    fn subject_at(&self, access_token: &str, now: Instant) -> Result<String, &'static str> {
        let mut ledger = self.ledger.lock();
        let verdict = match ledger.access_tokens.get(access_token) {
            None => Err("the access token is not one this server issued"),
            Some(token) if token.invalidated => Err("the access token has been invalidated"),
            Some(token) if now >= token.expires_at => Err("the access token has expired"),
            Some(token) => Ok(token.subject.clone()),
        };
        if verdict.is_err() {
            ledger.stats.rejected_bearers += 1;
        }
        verdict
    }

    /// Counts a model-route 401 for a credential that is no issued token where one is required.
    pub(crate) fn count_rejected_bearer(&self) {
        self.ledger.lock().stats.rejected_bearers += 1;
    }

    /// The counts so far.
    pub(crate) fn stats(&self) -> TokenStats {
        self.ledger.lock().stats.clone()
    }

    /// Waits until at least `count` grants have succeeded.
    pub(crate) async fn wait_for_grants(
        &self,
        count: u64,
        timeout: Duration,
    ) -> Result<(), WaitTimeout> {
        let grants = || self.ledger.lock().stats.grants();
        let mut changes = self.granted.subscribe();
        let reached = tokio::time::timeout(timeout, changes.wait_for(|()| grants() >= count));
        match reached.await {
            Ok(_) => Ok(()),
            Err(_) => Err(WaitTimeout {
                what: "token grants".to_owned(),
                expected: count,
                observed: grants(),
                timeout,
            }),
        }
    }
}

fn count_grant(
    stats: &mut TokenStats,
    kind: GrantKind,
    auth: ClientAuthMethod,
    scope: Option<&str>,
    audience: Option<&str>,
) {
    match kind {
        GrantKind::JwtBearer => stats.jwt_grants += 1,
        GrantKind::ClientCredentials => stats.client_credentials_grants += 1,
        GrantKind::RefreshToken => stats.refresh_grants += 1,
    }
    match auth {
        ClientAuthMethod::Basic => stats.basic_auth += 1,
        ClientAuthMethod::Post => stats.post_auth += 1,
        ClientAuthMethod::None => {}
    }
    if let Some(scope) = scope {
        stats.last_scope = Some(scope.to_owned());
    }
    if let Some(audience) = audience {
        stats.last_audience = Some(audience.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refresh_token_is_redeemed_once_and_rotates() {
        let authority = TokenAuthority::new("http://x/oauth/token".into());
        let first = authority.issue_refresh_token("app");
        let issued = authority
            .redeem_refresh_token(&first, "app", ClientAuthMethod::None, None)
            .unwrap_or_else(|_| panic!("a fresh refresh token is accepted"));
        let second = issued.refresh_token.expect("a rotated refresh token");
        assert_ne!(second, first);
        assert_eq!(
            authority.latest_refresh_token("app").as_deref(),
            Some(second.as_str())
        );
        assert_eq!(
            authority
                .redeem_refresh_token(&first, "app", ClientAuthMethod::None, None)
                .err(),
            Some(RefreshRejection::AlreadyUsed)
        );
        assert_eq!(
            authority
                .redeem_refresh_token(&second, "other", ClientAuthMethod::None, None)
                .err(),
            Some(RefreshRejection::OtherClient)
        );
        assert_eq!(authority.stats().invalid_grants, 1);
        assert_eq!(authority.stats().refresh_grants, 1);
        assert_eq!(
            authority.subject_of(&issued.access_token).as_deref(),
            Ok("app")
        );
    }

    #[test]
    fn expired_and_invalidated_tokens_are_rejected() {
        let authority = TokenAuthority::new("http://x/oauth/token".into());
        let issued = authority.grant(
            GrantKind::ClientCredentials,
            "svc",
            ClientAuthMethod::Basic,
            None,
            None,
        );
        assert_eq!(
            authority.subject_of(&issued.access_token).as_deref(),
            Ok("svc")
        );
        let after_lifetime = Instant::now() + DEFAULT_LIFETIME;
        assert_eq!(
            authority.subject_at(&issued.access_token, after_lifetime),
            Err("the access token has expired")
        );
        authority.set_lifetime(Duration::from_secs(7200));
        let longer = authority.grant(
            GrantKind::JwtBearer,
            "sa@example.com",
            ClientAuthMethod::None,
            None,
            None,
        );
        assert_eq!(longer.expires_in, 7200);
        assert!(
            authority
                .subject_at(&longer.access_token, after_lifetime)
                .is_ok()
        );
        authority.expire_access_tokens();
        assert!(authority.subject_of(&issued.access_token).is_err());
        assert!(authority.subject_of(&longer.access_token).is_err());
        assert!(authority.subject_of("mock-at-999").is_err());
        assert_eq!(authority.stats().rejected_bearers, 4);
        let debug = format!("{authority:?}");
        assert!(!debug.contains(&issued.access_token), "{debug}");
    }
}
