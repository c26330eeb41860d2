//! Every token cell of the process, by credential id: made, kept and stopped as generations
//! are swapped in.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use super::TokenSource;
use super::cell::{Learned, TokenCell};
use super::env::Env;
use super::fetch::Endpoint;
use super::policy::TokenPolicy;
use super::status::TokenStatus;
use crate::clock::Clock;
use crate::credential::state::StateTable;
use crate::credential::store::CredentialStore;
use crate::credential::{CredentialId, Secret};
use crate::generation::Generation;
use crate::proxy::client_pool::ClientPool;

/// The process's token cells: one per token credential of the serving generation.
#[derive(Debug, Default)]
pub struct TokenCells {
    cells: RwLock<HashMap<CredentialId, Arc<TokenCell>>>,
    policy: RwLock<TokenPolicy>,
}

/// What [`TokenCells::sync`] needs from the runtime.
pub(crate) struct SyncInputs<'a> {
    /// The generation now serving.
    pub generation: &'a Generation,
    /// The outbound clients (a token endpoint is called through the credential's).
    pub clients: &'a ClientPool,
    /// The time source.
    pub clock: &'a Arc<dyn Clock>,
    /// The credential states.
    pub states: &'a StateTable,
    /// Where refreshed sets are written back.
    pub store: &'a Arc<dyn CredentialStore>,
}

impl TokenCells {
    /// The cell of the credential `id`, if it is a token credential of the serving generation.
    pub(crate) fn cell(&self, id: &CredentialId) -> Option<Arc<TokenCell>> {
        self.cells.read().get(id).cloned()
    }

    /// The renewal timing in force.
    pub fn policy(&self) -> TokenPolicy {
        *self.policy.read()
    }

    /// Replaces the renewal timing (tests shorten the lifetimes); applies from the next swap.
    pub fn set_policy(&self, policy: TokenPolicy) {
        *self.policy.write() = policy;
    }

    /// Makes the cells match the generation: a new cell (its task started) for each enabled
    /// token credential without one, the same cell (with the new generation's settings) for one
    /// whose token source is unchanged, and the others stopped. A rotating credential whose
    /// definition carries a newer set than its cell (a file another replica wrote) teaches it.
    pub(crate) fn sync(&self, inputs: SyncInputs<'_>) {
        let policy = self.policy();
        let generation = inputs.generation;
        let config = &generation.config;
        let mut next: HashMap<CredentialId, Arc<TokenCell>> = HashMap::new();
        let mut cells = self.cells.write();
        for credential in generation.registry.credentials() {
            let Secret::Managed(source) = &credential.secret else {
                continue;
            };
            if credential.disabled {
                continue;
            }
            let client = match inputs.clients.client_for(credential, config) {
                Ok(client) => client,
                Err(e) => {
                    tracing::warn!(credential = %credential.id, "no client for the token endpoint: {e}");
                    continue;
                }
            };
            let env = Env {
                endpoint: Endpoint {
                    client,
                    first_byte: config.upstream_timeouts.first_byte,
                    idle: config.upstream_timeouts.idle,
                    lifetime: policy.lifetime,
                },
                policy,
                clock: inputs.clock.clone(),
                state: inputs.states.state_for(&credential.id),
                credential: credential.clone(),
                store: inputs.store.clone(),
                auth_dir: config.auth_dir.clone(),
                shared: generation.store.clone().filter(|_| source.rotates()),
            };
            let cell = match cells.remove(&credential.id) {
                Some(cell) if cell.source == *source => {
                    cell.set_env(env);
                    learn_stored(&cell, source);
                    cell
                }
                other => {
                    if let Some(old) = other {
                        old.stop();
                    }
                    TokenCell::new(credential.id.clone(), source.clone(), env)
                }
            };
            cell.start();
            next.insert(credential.id.clone(), cell);
        }
        for (_, old) in cells.drain() {
            old.stop();
            old.env().state.set_token_unavailable(None);
        }
        *cells = next;
    }

    /// Every cell's status, by credential id.
    pub(crate) fn statuses(&self) -> Vec<(CredentialId, TokenStatus)> {
        let mut out: Vec<_> = self
            .cells
            .read()
            .iter()
            .map(|(id, cell)| (id.clone(), cell.status()))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Stops every renewal task (the server shuts down).
    pub(crate) fn stop(&self) {
        for cell in self.cells.read().values() {
            cell.stop();
        }
    }
}

/// A rotating credential's definition carries a set newer than its cell's: another replica
/// (or the operator) wrote it.
fn learn_stored(cell: &TokenCell, source: &TokenSource) {
    let TokenSource::RefreshToken { stored, .. } = source else {
        return;
    };
    let newer = match cell.current_set() {
        Some(current) => {
            stored.expires_at > current.set.expires_at
                && stored.refresh_token != current.set.refresh_token
        }
        None => stored.refresh_token.is_some() && cell.refresh_token() != stored.refresh_token,
    };
    if newer {
        let issued_at = cell.env().clock.now();
        cell.learn(stored.clone(), issued_at, Learned::Shared);
    }
}
