//! Where the credentials beyond the config's own key lists come from: a [`CredentialStore`].
//!
//! The default, [`AuthDirStore`], reads the JSON files of `auth-dir`. A program
//! embedding switchyard can supply its own store (for example one backed by its database):
//! every generation asks the store for its credentials while it is prepared, off the request
//! path.

use std::fmt::Debug;
use std::io;
use std::path::Path;

use futures_util::future::BoxFuture;

use super::file_store::{CredentialListing, FileStore};

/// A source of upstream credentials, asked once per generation (at start, on every reload and
/// on every [`crate::Switchyard::apply_config`] or [`crate::Switchyard::refresh`]).
///
/// The credentials it lists join those of the config's key lists (`claude-api-key`, …). Two
/// listings with the same [`CredentialListing::fingerprint`] mean "nothing changed", which lets a file
/// change that touched no credential skip the reload.
///
/// # Example
///
/// A store holding auth-file JSON documents in memory:
///
/// ```
/// use std::sync::Mutex;
/// use switchyard::{BoxFuture, Credential, CredentialListing, CredentialStore};
///
/// #[derive(Debug, Default)]
/// struct Memory(Mutex<Vec<(String, serde_json::Value)>>);
///
/// impl CredentialStore for Memory {
///     fn list<'a>(
///         &'a self,
///         _auth_dir: &'a std::path::Path,
///     ) -> BoxFuture<'a, std::io::Result<CredentialListing>> {
///         Box::pin(async move {
///             let mut listing = CredentialListing::default();
///             for (id, json) in self.0.lock().unwrap().iter() {
///                 match Credential::from_json(id, json) {
///                     Ok(credential) => listing.credentials.push(credential),
///                     Err(reason) => listing.skipped.push((id.into(), reason)),
///                 }
///             }
///             Ok(listing)
///         })
///     }
/// }
/// ```
pub trait CredentialStore: Send + Sync + Debug + 'static {
    /// The credentials the store holds now. `auth_dir` is the config's `auth-dir` (absolute),
    /// for stores that live in a folder; others ignore it. An error keeps the running
    /// generation (a reload fails; the first start fails).
    fn list<'a>(&'a self, auth_dir: &'a Path) -> BoxFuture<'a, io::Result<CredentialListing>>;
}

/// The default store: the `*.json` files directly inside `auth-dir`, created with mode 0700
/// when missing.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct AuthDirStore;

impl CredentialStore for AuthDirStore {
    fn list<'a>(&'a self, auth_dir: &'a Path) -> BoxFuture<'a, io::Result<CredentialListing>> {
        let dir = auth_dir.to_owned();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let store = FileStore::new(&dir);
                store.ensure_dir()?;
                store.list()
            })
            .await
            .map_err(io::Error::other)?
        })
    }
}
