//! Callbacks a program embedding switchyard installs to observe it: credentials appearing or
//! changing, and the result of every proxied request.

use crate::credential::{Credential, CredentialId};
use crate::usage::UsageRecord;

/// Observers of a running switchyard, installed with [`crate::SwitchyardBuilder::hooks`].
///
/// Every method has an empty default, so a program implements only what it needs. They are
/// called synchronously on switchyard's tasks: keep them quick, and hand slow work (a database
/// write) to a channel or a task of your own.
///
/// # Example
///
/// ```
/// use switchyard::{Hooks, UsageRecord};
///
/// struct PrintUsage;
///
/// impl Hooks for PrintUsage {
///     fn request_result(&self, record: &UsageRecord) {
///         println!(
///             "{} {} via {}: {} tokens",
///             record.status, record.model, record.credential, record.tokens.total_tokens
///         );
///     }
/// }
/// ```
pub trait Hooks: Send + Sync + 'static {
    /// A credential that the previous generation did not have is now in service (at start,
    /// every credential is new). Called when its generation is swapped in.
    fn credential_registered(&self, credential: &Credential) {
        let _ = credential;
    }

    /// A credential kept its id but changed (its key, models, priority, disabled flag, …).
    /// Called when the generation holding the new definition is swapped in.
    fn credential_updated(&self, credential: &Credential) {
        let _ = credential;
    }

    /// A credential is no longer in the serving generation.
    fn credential_removed(&self, id: &CredentialId) {
        let _ = id;
    }

    /// A proxied request finished: its status, model, credential, latency and token counts
    /// (read from the upstream's usage block, streamed or not). Called whether or not
    /// `usage-statistics-enabled` is set, once the response's last byte is sent (or the
    /// client went away).
    fn request_result(&self, record: &UsageRecord) {
        let _ = record;
    }
}

/// Reports to `hooks` how the credentials of `after` differ from those of `before`.
pub(crate) fn report_credentials(
    hooks: &dyn Hooks,
    before: &crate::model::ModelRegistry,
    after: &crate::model::ModelRegistry,
) {
    for credential in after.credentials() {
        match before.credential(&credential.id) {
            None => hooks.credential_registered(credential),
            Some(old) if !old.same_definition(credential) => hooks.credential_updated(credential),
            Some(_) => {}
        }
    }
    for old in before.credentials() {
        if after.credential(&old.id).is_none() {
            hooks.credential_removed(&old.id);
        }
    }
}

impl std::fmt::Debug for dyn Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hooks")
    }
}
