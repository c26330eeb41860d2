//! Hot reload: `config.yaml` and `auth-dir` are watched through their folders (an editor's
//! atomic replace swaps the inode), changes are debounced, and identical content is skipped.
//! The next generation is prepared completely off the request path and swapped in only when it
//! is ready; anything wrong keeps the running generation and is logged with its key and line.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::credential::file_store::FileStore;
use crate::generation::Generation;
use crate::runtime::Runtime;

/// Quiet time after the last file event before reloading.
pub const DEBOUNCE: Duration = Duration::from_millis(150);

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// A new generation with this number is serving.
    Applied(u64),
    /// Neither the config nor the auth files changed.
    Unchanged,
}

/// Why a reload kept the running generation.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The config is unreadable or invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The generation could not be prepared.
    #[error(transparent)]
    Prepare(#[from] crate::generation::PrepareError),
}

/// Reloads from `path`: skips identical content, else prepares and swaps a new generation.
/// The outcome is recorded in [`Runtime::reload_status`].
pub async fn reload(runtime: &Arc<Runtime>, path: &Path) -> Result<ReloadOutcome, ReloadError> {
    match prepare_from_file(runtime, path).await {
        Ok(Some(next)) => {
            let number = runtime.swap(next);
            tracing::info!(generation = number, "config reloaded");
            Ok(ReloadOutcome::Applied(number))
        }
        Ok(None) => {
            runtime.record_reload(None);
            tracing::debug!("reload skipped: nothing changed");
            Ok(ReloadOutcome::Unchanged)
        }
        Err(error) => {
            tracing::error!(
                "reload failed, keeping generation {}: {error}",
                runtime.generation().number
            );
            runtime.record_reload(Some(error.to_string()));
            Err(error)
        }
    }
}

/// The next generation, or `None` when the files are byte-for-byte what the current one was
/// built from.
async fn prepare_from_file(
    runtime: &Runtime,
    path: &Path,
) -> Result<Option<Generation>, ReloadError> {
    let current = runtime.generation();
    let owned_path = path.to_owned();
    let auth_dir = current.config.auth_dir.clone();
    let (text, auth_fingerprint) = tokio::task::spawn_blocking(move || {
        let text = std::fs::read_to_string(&owned_path)
            .map(|text| hash_plaintext_secret(&owned_path, text));
        let auth = FileStore::new(&auth_dir).list().map(|l| l.fingerprint).ok();
        (text, auth)
    })
    .await
    .expect("reading the config does not panic");
    let text = text.map_err(|source| crate::config::ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let hash: [u8; 32] = Sha256::digest(text.as_bytes()).into();
    if hash == current.config.source.content_hash
        && auth_fingerprint == Some(current.auth_fingerprint)
    {
        return Ok(None);
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let dir = absolute.parent().map(Path::to_owned).unwrap_or_default();
    let loaded = Config::parse(&text, Some(absolute), dir)?;
    for warning in &loaded.warnings {
        tracing::warn!("config: {warning}");
    }
    Ok(Some(
        Generation::prepare(loaded.config, runtime, &current).await?,
    ))
}

/// A plaintext `remote-management.secret-key` is replaced by its bcrypt hash in the file (as at
/// start); returns the text to load.
fn hash_plaintext_secret(path: &Path, text: String) -> String {
    match crate::management::secret::hash_in_text(&text) {
        Ok(Some(hashed)) => {
            let mode = crate::atomic_file::mode_of(path).unwrap_or(0o600);
            if let Err(error) = crate::atomic_file::write(path, hashed.as_bytes(), mode) {
                tracing::warn!("cannot write the hashed secret-key back: {error}");
            }
            hashed
        }
        // Not YAML the editor reads: the config parser reports it.
        Ok(None) | Err(_) => text,
    }
}

/// A running watcher; dropping it (or [`ConfigWatcher::stop`]) stops watching.
#[derive(Debug)]
pub struct ConfigWatcher {
    task: JoinHandle<()>,
}

impl ConfigWatcher {
    /// Watches `config_path` and the current `auth-dir`, reloading `runtime` on changes.
    pub fn spawn(runtime: Arc<Runtime>, config_path: PathBuf) -> notify::Result<Self> {
        let (events, mut changes) = mpsc::unbounded_channel::<()>();
        let config_path = std::path::absolute(&config_path).unwrap_or(config_path);
        let config_dir = config_path.parent().map(Path::to_owned).unwrap_or_default();
        let mut auth_dir = runtime.generation().config.auth_dir.clone();
        let filter = Filter {
            config_path: config_path.clone(),
            auth_dir: Arc::new(parking_lot::RwLock::new(auth_dir.clone())),
        };
        let handler_filter = filter.clone();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if let Ok(event) = event
                    && event.paths.iter().any(|p| handler_filter.matters(p))
                {
                    let _ = events.send(());
                }
            })?;
        watcher.watch(&config_dir, RecursiveMode::NonRecursive)?;
        if auth_dir != config_dir {
            // A missing auth-dir is created by the first generation; ignore a failure here.
            let _ = watcher.watch(&auth_dir, RecursiveMode::NonRecursive);
        }
        let task = tokio::spawn(async move {
            while changes.recv().await.is_some() {
                // Debounce: wait until the files have been quiet for a moment.
                while let Ok(Some(())) = tokio::time::timeout(DEBOUNCE, changes.recv()).await {}
                let _ = reload(&runtime, &config_path).await;
                let now_auth = runtime.generation().config.auth_dir.clone();
                if now_auth != auth_dir {
                    if auth_dir != config_dir {
                        let _ = watcher.unwatch(&auth_dir);
                    }
                    if now_auth != config_dir {
                        let _ = watcher.watch(&now_auth, RecursiveMode::NonRecursive);
                    }
                    *filter.auth_dir.write() = now_auth.clone();
                    auth_dir = now_auth;
                }
            }
        });
        Ok(ConfigWatcher { task })
    }

    /// Stops watching.
    pub fn stop(self) {
        self.task.abort();
    }
}

impl Drop for ConfigWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Which paths trigger a reload.
#[derive(Debug, Clone)]
struct Filter {
    config_path: PathBuf,
    auth_dir: Arc<parking_lot::RwLock<PathBuf>>,
}

impl Filter {
    fn matters(&self, path: &Path) -> bool {
        if path == self.config_path {
            return true;
        }
        path.parent() == Some(self.auth_dir.read().as_path())
            && path
                .extension()
                .is_some_and(|ext| ext.eq_ignore_ascii_case("json"))
    }
}
