//! A credential able to serve one request's model, with the upstream name it knows it by.

use std::sync::Arc;

use super::Credential;
use super::state::CredentialState;
use crate::model::tracked::Tracking;

/// One credential that serves the requested model.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The credential.
    pub credential: Arc<Credential>,
    /// The model id to send upstream (the alias resolved, the thinking suffix removed).
    pub upstream_model: Arc<str>,
    /// The credential's runtime state.
    pub state: Arc<CredentialState>,
    /// Whether `upstream_model` comes from a list (the credential's `models` or its provider's
    /// built-in list, exactly) or only from the family rule: how the state may keep it.
    pub tracking: Tracking,
    /// Whether the credential's upstream speaks the client's protocol (no translation): such
    /// candidates are preferred within a priority tier.
    pub native: bool,
}
