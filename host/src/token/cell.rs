//! One token credential's token: the current set, the one task that renews it, and what
//! requests wait on.
//!
//! Requests read the current token without waiting ([`TokenCell::bearer`]). The task renews it
//! ahead of expiry ([`super::policy::TokenPolicy::renew_at`]); a request that finds no valid
//! token wakes the task and waits for its next attempt (single flight: one renewal however
//! many requests wait). A 401 revokes the token the request used ([`TokenCell::rejected`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use arc_swap::{ArcSwap, ArcSwapOption};
use parking_lot::Mutex;
use switchyard_oauth::TokenSet;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::TokenSource;
use super::env::Env;
use super::issued::Issued;
use super::status::TokenStatus;
use crate::credential::CredentialId;
use crate::credential::state::TokenUnavailable;

/// The token of one credential, kept across reloads while the credential's token source stays
/// the same.
#[derive(Debug)]
pub(crate) struct TokenCell {
    /// The credential.
    pub id: CredentialId,
    /// How tokens are obtained.
    pub source: Arc<TokenSource>,
    current: ArcSwapOption<Issued>,
    /// Sets with a serial up to this one were refused upstream (401): not used again.
    revoked: AtomicU64,
    serial: AtomicU64,
    /// The newest refresh token known (rotating credentials).
    refresh_token: Mutex<Option<String>>,
    /// The shared store's version of the current set (0: not from the store).
    shared_version: AtomicU64,
    /// Asks the task to look again (a request found no valid token, or a 401).
    wake: Notify,
    /// Counts finished renewal attempts; waiting requests watch it.
    attempts: watch::Sender<u64>,
    status: Mutex<TokenStatus>,
    env: ArcSwap<Env>,
    stop: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

/// Why a request got no token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NoToken(pub String);

impl TokenCell {
    /// A cell for `source` (not renewing until [`TokenCell::start`]). A refresh credential
    /// starts from the set its definition carries.
    pub(crate) fn new(id: CredentialId, source: Arc<TokenSource>, env: Env) -> Arc<TokenCell> {
        let cell = Arc::new(TokenCell {
            id,
            status: Mutex::new(TokenStatus::new(source.grant())),
            source: source.clone(),
            current: ArcSwapOption::empty(),
            revoked: AtomicU64::new(0),
            serial: AtomicU64::new(0),
            refresh_token: Mutex::new(None),
            shared_version: AtomicU64::new(0),
            wake: Notify::new(),
            attempts: watch::channel(0).0,
            env: ArcSwap::from_pointee(env),
            stop: watch::channel(false).0,
            task: Mutex::new(None),
        });
        if let TokenSource::RefreshToken { stored, .. } = source.as_ref() {
            cell.learn(stored.clone(), stored_issue_time(stored), Learned::Stored);
        }
        cell
    }

    /// Starts the renewal task with `spawn` (once; later calls do nothing): `spawn` gets the
    /// cell and the stop signal and returns the task.
    pub(crate) fn start(
        self: &Arc<Self>,
        spawn: impl FnOnce(Arc<TokenCell>, watch::Receiver<bool>) -> Option<JoinHandle<()>>,
    ) {
        let mut task = self.task.lock();
        if task.is_none() {
            *task = spawn(self.clone(), self.stop.subscribe());
        }
    }

    /// Stops the renewal task (the credential left the config).
    pub(crate) fn stop(&self) {
        self.stop.send_replace(true);
        self.wake.notify_one();
    }

    /// What the cell works with now.
    pub(crate) fn env(&self) -> Arc<Env> {
        self.env.load_full()
    }

    /// Replaces what the cell works with (a new generation).
    pub(crate) fn set_env(&self, env: Env) {
        self.env.store(Arc::new(env));
    }

    /// The current set when it may be used at `now`: not expired, not refused upstream.
    pub(crate) fn usable(&self, now: SystemTime) -> Option<Arc<Issued>> {
        let current = self.current.load_full()?;
        (current.serial > self.revoked.load(Ordering::Acquire) && current.set.expires_at > now)
            .then_some(current)
    }

    /// The token for a request at `now`: at once when one is valid (waking the task when it is
    /// due for renewal), else after the task's next attempt, waiting at most `wait`.
    pub(crate) async fn bearer(
        &self,
        now: SystemTime,
        wait: Duration,
    ) -> Result<Arc<Issued>, NoToken> {
        if let Some(token) = self.usable(now) {
            let policy = self.env.load().policy;
            if now >= policy.renew_at(token.issued_at, token.set.expires_at) {
                self.wake.notify_one();
            }
            return Ok(token);
        }
        self.status.lock().waited += 1;
        self.wait_for_token(wait).await
    }

    /// A request's upstream refused `used` (401): it is not used again; returns a newer token
    /// (another request's renewal, or one renewed now), waiting at most `wait`.
    pub(crate) async fn rejected(
        &self,
        used: &Issued,
        wait: Duration,
    ) -> Result<Arc<Issued>, NoToken> {
        self.revoked.fetch_max(used.serial, Ordering::AcqRel);
        self.wait_for_token(wait).await
    }

    async fn wait_for_token(&self, wait: Duration) -> Result<Arc<Issued>, NoToken> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut attempts = self.attempts.subscribe();
        loop {
            let now = self.env.load().clock.now();
            if let Some(token) = self.usable(now) {
                return Ok(token);
            }
            self.wake.notify_one();
            match tokio::time::timeout_at(deadline, attempts.changed()).await {
                Ok(Ok(())) => {
                    let now = self.env.load().clock.now();
                    if let Some(token) = self.usable(now) {
                        return Ok(token);
                    }
                    if let Some(error) = self.status.lock().last_error.clone() {
                        return Err(NoToken(error));
                    }
                }
                Ok(Err(_)) => return Err(NoToken("the credential was removed".into())),
                Err(_) => {
                    return Err(NoToken(match self.status.lock().last_error.clone() {
                        Some(error) => error,
                        None => format!("no token within {} ms", wait.as_millis()),
                    }));
                }
            }
        }
    }

    /// Waits until a request or the stop asks the task to look again.
    pub(crate) async fn woken(&self) {
        self.wake.notified().await;
    }

    /// The refresh token to use next (rotating credentials).
    pub(crate) fn refresh_token(&self) -> Option<String> {
        self.refresh_token.lock().clone()
    }

    /// The shared store's version of the current set (0: not from the store).
    pub(crate) fn shared_version(&self) -> u64 {
        self.shared_version.load(Ordering::Acquire)
    }

    /// Records the shared store's version of the set just installed.
    pub(crate) fn set_shared_version(&self, version: u64) {
        self.shared_version.store(version, Ordering::Release);
    }

    /// The current set, usable or not.
    pub(crate) fn current_set(&self) -> Option<Arc<Issued>> {
        self.current.load_full()
    }

    /// Installs `set`, obtained or learned at `issued_at`. A set whose access token cannot be
    /// used still teaches its refresh token. Returns whether it became the current set.
    pub(crate) fn learn(&self, set: TokenSet, issued_at: SystemTime, how: Learned) -> bool {
        if let Some(refresh) = &set.refresh_token {
            *self.refresh_token.lock() = Some(refresh.clone());
        }
        let serial = self.serial.fetch_add(1, Ordering::AcqRel) + 1;
        let expires_at = set.expires_at;
        let Some(issued) = Issued::new(set, issued_at, serial) else {
            return false;
        };
        self.current.store(Some(Arc::new(issued)));
        let env = self.env.load();
        env.state.set_token_unavailable(None);
        let mut status = self.status.lock();
        status.expires_at = Some(expires_at);
        match how {
            Learned::Fetched => {
                status.last_renewal = Some(issued_at);
                status.renewals_ok += 1;
                status.last_error = None;
            }
            Learned::Shared => {
                status.last_renewal = Some(issued_at);
                status.adopted += 1;
                status.last_error = None;
            }
            Learned::Stored => {}
        }
        true
    }

    /// Installs a set the token endpoint gave (or another replica stored); an access token
    /// that cannot be a header is an error.
    pub(crate) fn install(
        &self,
        set: TokenSet,
        now: SystemTime,
        how: Learned,
    ) -> Result<(), String> {
        if self.learn(set, now, how) {
            Ok(())
        } else {
            Err("the token endpoint's access token cannot be sent as a header".to_owned())
        }
    }

    /// Records a failed renewal at `now`; when no valid token is left the credential is
    /// blocked until `retry_at` with `message` (reason `token_unavailable`).
    pub(crate) fn failed(&self, message: String, now: SystemTime, retry_at: SystemTime) {
        let env = self.env.load();
        {
            let mut status = self.status.lock();
            status.renewals_failed += 1;
            status.last_error = Some(message.clone());
            status.last_failure = Some(now);
        }
        if self.usable(now).is_none() {
            env.state.set_token_unavailable(Some(TokenUnavailable {
                until: retry_at,
                message,
            }));
        }
    }

    /// Tells waiting requests that an attempt finished.
    pub(crate) fn attempt_finished(&self) {
        self.attempts.send_modify(|n| *n += 1);
    }

    /// A copy of the status, for reports.
    pub(crate) fn status(&self) -> TokenStatus {
        self.status.lock().clone()
    }
}

/// How a set reached the cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Learned {
    /// From the token endpoint, by this process.
    Fetched,
    /// From another replica, through the shared store (or a file it wrote).
    Shared,
    /// From the credential's definition (the auth file).
    Stored,
}

/// When a stored set was issued, for its renewal time: unknown, so as if its lifetime were the
/// longest the policy allows is not safe; assume it was issued an hour before it expires.
fn stored_issue_time(set: &TokenSet) -> SystemTime {
    set.expires_at
        .checked_sub(Duration::from_secs(3600))
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use switchyard_mock::MockUpstream;
    use switchyard_oauth::{AuthMethod, ClientCredentials};

    use super::*;
    use crate::clock::SystemClock;
    use crate::credential::file_store::FileStore;
    use crate::credential::state::CredentialState;
    use crate::credential::store::AuthDirStore;
    use crate::credential::testing::credential;
    use crate::token::fetch::Endpoint;
    use crate::token::policy::TokenPolicy;

    const WAIT: Duration = Duration::from_secs(10);

    fn client_credentials(mock: &MockUpstream) -> Arc<TokenSource> {
        mock.register_client("app", Some("secret"));
        Arc::new(TokenSource::ClientCredentials(ClientCredentials {
            token_url: url::Url::parse(&mock.token_url()).unwrap(),
            client_id: "app".into(),
            client_secret: "secret".into(),
            scope: String::new(),
            audience: String::new(),
            auth_method: AuthMethod::Basic,
        }))
    }

    fn env(state: Arc<CredentialState>) -> Env {
        crate::proxy::client_pool::install_crypto_provider();
        Env {
            endpoint: Endpoint {
                client: reqwest::Client::builder().no_proxy().build().unwrap(),
                first_byte: WAIT,
                idle: WAIT,
                lifetime: TokenPolicy::default().lifetime,
            },
            policy: TokenPolicy::default(),
            clock: Arc::new(SystemClock),
            state,
            credential: Arc::new(credential("app", 0)),
            store: Arc::new(AuthDirStore::new(Arc::new(FileStore::new(PathBuf::new())))),
            auth_dir: PathBuf::new(),
            shared: None,
        }
    }

    /// A client-credentials cell on `mock` with `state`, its renewal task running.
    fn started(mock: &MockUpstream, state: Arc<CredentialState>) -> Arc<TokenCell> {
        let cell = TokenCell::new(
            CredentialId::new("app"),
            client_credentials(mock),
            env(state),
        );
        cell.start(crate::token::renewal::spawn);
        cell
    }

    #[tokio::test]
    async fn concurrent_requests_share_one_renewal() {
        let mock = MockUpstream::start().await.unwrap();
        let cell = started(&mock, Arc::default());
        let now = SystemTime::now();
        let tokens = futures_util::future::join_all((0..32).map(|_| cell.bearer(now, WAIT))).await;
        let first = tokens[0].as_ref().unwrap().serial;
        assert!(tokens.iter().all(|t| t.as_ref().unwrap().serial == first));
        assert_eq!(mock.token_stats().client_credentials_grants, 1);
        assert_eq!(cell.status().renewals_ok, 1);
        cell.stop();
        mock.shutdown().await;
    }

    #[tokio::test]
    async fn a_refused_token_is_replaced_once_for_all_who_held_it() {
        let mock = MockUpstream::start().await.unwrap();
        let cell = started(&mock, Arc::default());
        let used = cell.bearer(SystemTime::now(), WAIT).await.unwrap();
        let renewed =
            futures_util::future::join_all((0..8).map(|_| cell.rejected(&used, WAIT))).await;
        let serials: Vec<u64> = renewed.iter().map(|t| t.as_ref().unwrap().serial).collect();
        assert!(serials.iter().all(|s| *s == serials[0] && *s > used.serial));
        assert_eq!(mock.token_stats().client_credentials_grants, 2);
        cell.stop();
        mock.shutdown().await;
    }

    #[tokio::test]
    async fn no_token_blocks_the_credential_until_a_renewal_succeeds() {
        let mock = MockUpstream::start().await.unwrap();
        mock.set_token_endpoint_status(Some(503));
        let state = Arc::new(CredentialState::default());
        let cell = started(&mock, state.clone());
        let error = cell.bearer(SystemTime::now(), WAIT).await.unwrap_err();
        assert!(error.0.contains("503"), "{error:?}");
        let blocked = state.snapshot().token_unavailable.expect("blocked");
        assert!(blocked.message.contains("503"));
        assert!(state.block("any-model", SystemTime::now()).is_some());
        mock.set_token_endpoint_status(None);
        mock.wait_for_token_grants(1, WAIT).await.unwrap();
        cell.bearer(SystemTime::now(), WAIT).await.unwrap();
        assert_eq!(state.snapshot().token_unavailable, None);
        assert!(state.block("any-model", SystemTime::now()).is_none());
        cell.stop();
        mock.shutdown().await;
    }
}
