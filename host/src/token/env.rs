//! What a token cell works with, replaced at every generation swap.

use std::path::PathBuf;
use std::sync::Arc;

use super::fetch::Endpoint;
use super::policy::TokenPolicy;
use crate::clock::Clock;
use crate::credential::Credential;
use crate::credential::state::CredentialState;
use crate::credential::store::CredentialStore;
use crate::redis_store::RedisStore;

/// The generation-dependent part of a token cell.
#[derive(Debug, Clone)]
pub(crate) struct Env {
    /// How the token endpoint is called.
    pub endpoint: Endpoint,
    /// Renewal timing.
    pub policy: TokenPolicy,
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// The credential's state: blocked while no token can be had.
    pub state: Arc<CredentialState>,
    /// The credential as the serving generation defines it (what a refreshed set is written
    /// into).
    pub credential: Arc<Credential>,
    /// Where refreshed sets are written back, and `auth-dir`.
    pub store: Arc<dyn CredentialStore>,
    /// `auth-dir`.
    pub auth_dir: PathBuf,
    /// The store replicas share (rotating credentials take turns through it).
    pub shared: Option<Arc<RedisStore>>,
}
