//! The task that keeps one cell's token fresh.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

use super::TokenSource;
use super::cell::{Learned, TokenCell};
use super::env::Env;

/// The longest the task sleeps before looking again (so a clock jump is noticed).
const MAX_SLEEP: Duration = Duration::from_secs(3600);

/// Starts [`run`] for `cell` on the current runtime (none outside a runtime).
pub(crate) fn spawn(
    cell: Arc<TokenCell>,
    stop: watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    let handle = tokio::runtime::Handle::try_current().ok()?;
    Some(handle.spawn(run(cell, stop)))
}

/// Renews `cell`'s token ahead of expiry until `stop` turns true: sleeps until the renewal
/// time (or until a request wakes it), renews, and after a failure waits the policy's backoff
/// (cut short when the token it still has expires).
pub(crate) async fn run(cell: Arc<TokenCell>, mut stop: watch::Receiver<bool>) {
    let mut failures = 0u32;
    loop {
        if *stop.borrow() {
            return;
        }
        let env = cell.env();
        let now = env.clock.now();
        if let Some(wait) = due_in(&cell, &env, now) {
            tokio::select! {
                () = tokio::time::sleep(wait.min(MAX_SLEEP)) => {}
                () = cell.woken() => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        match renew(&cell, &env, now).await {
            Ok(()) => failures = 0,
            Err(message) => {
                failures = failures.saturating_add(1);
                let mut backoff = env.policy.backoff(failures);
                if let Some(token) = cell.usable(now) {
                    let left = token.set.expires_at.duration_since(now).unwrap_or_default();
                    backoff = backoff.min(left);
                }
                let retry_at = crate::clock::saturating_add(now, backoff);
                tracing::warn!(
                    credential = %cell.id,
                    grant = cell.source.grant(),
                    retry_in_ms = backoff.as_millis() as u64,
                    "token renewal failed: {message}"
                );
                cell.failed(message, now, retry_at);
                cell.attempt_finished();
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
        }
        cell.attempt_finished();
    }
}

/// How long until the cell's token is due for renewal; `None`: now.
fn due_in(cell: &TokenCell, env: &Env, now: SystemTime) -> Option<Duration> {
    let token = cell.usable(now)?;
    let at = env.policy.renew_at(token.issued_at, token.set.expires_at);
    at.duration_since(now).ok().filter(|d| !d.is_zero())
}

/// One renewal at `now`: a new set installed, or why not.
async fn renew(cell: &TokenCell, env: &Env, now: SystemTime) -> Result<(), String> {
    match cell.source.as_ref() {
        TokenSource::RefreshToken { .. } => match &env.shared {
            Some(store) => super::shared_refresh::renew(cell, env, store, now).await,
            None => refresh_alone(cell, env, now).await,
        },
        source => {
            let request = source.request("", now);
            let set = env
                .endpoint
                .fetch(&request, now)
                .await
                .map_err(|e| e.to_string())?;
            cell.install(set, now, Learned::Fetched)
        }
    }
}

/// A rotating credential with no shared store: this process is the only one that may use it.
async fn refresh_alone(cell: &TokenCell, env: &Env, now: SystemTime) -> Result<(), String> {
    let Some(used) = cell.refresh_token() else {
        return Err("no refresh token".to_owned());
    };
    let request = cell.source.request(&used, now);
    match env.endpoint.fetch(&request, now).await {
        Ok(mut set) => {
            if set.refresh_token.is_none() {
                set.refresh_token = Some(used);
            }
            cell.install(set.clone(), now, Learned::Fetched)?;
            super::persist::write_back(env, &set).await;
            Ok(())
        }
        Err(e) if e.is_invalid_grant() => Err(format!(
            "{e}: the refresh token was refused as used or revoked; another process probably \
             refreshed this credential and rotated it (without a shared Redis store, \
             routing.session-store, run one process per rotating credential)"
        )),
        Err(e) => Err(e.to_string()),
    }
}
