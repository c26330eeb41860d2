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
use super::{Credential, CredentialId};

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

    /// Writes `credential` back (its [`Credential::metadata`], the auth-file JSON): switchyard
    /// calls it when a rotating credential got a new token set. A store must write it
    /// atomically, keep fields it does not know, leave a semantically equal record untouched,
    /// and never replace a record whose `oauth2.expires_at` is later than the one saved (an
    /// older set learned late). The default refuses (`Unsupported`): the set then lives in
    /// memory (and in the shared Redis store) only.
    fn save<'a>(
        &'a self,
        auth_dir: &'a Path,
        credential: &'a Credential,
    ) -> BoxFuture<'a, io::Result<()>> {
        let _ = (auth_dir, credential);
        Box::pin(async { Err(io::ErrorKind::Unsupported.into()) })
    }

    /// Removes the credential `id`; a missing one is not an error. The default refuses
    /// (`Unsupported`).
    fn delete<'a>(
        &'a self,
        auth_dir: &'a Path,
        id: &'a CredentialId,
    ) -> BoxFuture<'a, io::Result<()>> {
        let _ = (auth_dir, id);
        Box::pin(async { Err(io::ErrorKind::Unsupported.into()) })
    }
}

/// The default store: the `*.json` files directly inside `auth-dir`, created with mode 0700
/// when missing. Writes go through the runtime's one [`FileStore`] (its folder follows
/// `auth-dir`), so they are serialised with the management API's.
#[derive(Debug, Clone)]
pub(crate) struct AuthDirStore {
    files: std::sync::Arc<FileStore>,
}

impl AuthDirStore {
    /// The store that writes through `files`.
    pub(crate) fn new(files: std::sync::Arc<FileStore>) -> Self {
        AuthDirStore { files }
    }
}

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

    fn save<'a>(
        &'a self,
        _auth_dir: &'a Path,
        credential: &'a Credential,
    ) -> BoxFuture<'a, io::Result<()>> {
        let files = self.files.clone();
        let credential = credential.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || files.save(&credential).map(drop))
                .await
                .map_err(io::Error::other)?
                .map_err(io::Error::other)
        })
    }

    fn delete<'a>(
        &'a self,
        _auth_dir: &'a Path,
        id: &'a CredentialId,
    ) -> BoxFuture<'a, io::Result<()>> {
        let files = self.files.clone();
        let id = id.as_str().to_owned();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || files.delete(&id))
                .await
                .map_err(io::Error::other)?
                .map_err(io::Error::other)
        })
    }
}
