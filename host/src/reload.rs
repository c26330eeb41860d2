//! Hot reload: `config.yaml`, `auth-dir` and `plugins.dir` are watched through their folders
//! (an editor's atomic replace swaps the inode), changes are debounced, and identical content is
//! skipped. The next generation is prepared completely off the request path and swapped in only
//! when it is ready; anything wrong keeps the running generation and is logged with its key and
//! line, or its file and reason.
//!
//! Every reload, whatever triggered it, goes the same way: read the config (parse it only when
//! its bytes changed), stage the plugin catalog for it ([`PluginHost::stage`]: the embedded
//! plugins with the folder's over them; new or changed files are compiled now), and when
//! anything differs from the serving generation, prepare the next generation against the
//! staged catalog and swap both in together. The serving catalog is never changed by a reload
//! that fails.
//!
//! [`PluginHost::stage`]: crate::plugin::PluginHost::stage

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::generation::{Generation, PrepareError};
use crate::plugin::{PluginCatalog, PluginOrigin, is_plugin_file};
use crate::runtime::Runtime;

/// Quiet time after the last file event before reloading.
pub const DEBOUNCE: Duration = Duration::from_millis(150);

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// A new generation with this number is serving.
    Applied(u64),
    /// Neither the config, the auth files nor the plugins changed.
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
    Prepare(#[from] PrepareError),
    /// Plugin files changed, but none of the changes is usable: nothing to apply.
    #[error("{}", failed_files(.0))]
    PluginFiles(Vec<(PathBuf, String)>),
    /// A configured instance names a type that only a plugin file no longer there (or no
    /// longer loading) provided.
    #[error(
        "{source}; it was provided by the plugin file {}, which is gone, changed or outside the plugins folder now{}; the running generation keeps it until the config stops naming {kind:?}",
        file.display(),
        reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default()
    )]
    PluginGone {
        /// The file that provided the type.
        file: PathBuf,
        /// The type.
        kind: String,
        /// Why the file does not provide it now, when it is still there but does not load.
        reason: Option<String>,
        /// The preparation error (naming the instance).
        source: PrepareError,
    },
}

/// `plugin file a.wasm not loaded: …; plugin file b.wasm not loaded: …`.
fn failed_files(files: &[(PathBuf, String)]) -> String {
    files
        .iter()
        .map(|(path, reason)| format!("plugin file {} not loaded: {reason}", path.display()))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Reloads from `path` and the plugins folder: skips identical content, else prepares and
/// swaps a new generation. The outcome is recorded in [`Runtime::reload_status`]. Reloads run
/// one at a time.
pub async fn reload(runtime: &Arc<Runtime>, path: &Path) -> Result<ReloadOutcome, ReloadError> {
    let _guard = runtime.reload_guard().await;
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

/// Applies `config` (from the program, not from a file): stages the plugins it names, prepares
/// the next generation and swaps it in, even when nothing changed (so a program's credential
/// store is asked again). Returns the new generation number; an error keeps the running
/// generation. The outcome is recorded in [`Runtime::reload_status`]; reloads run one at a
/// time.
pub async fn apply(runtime: &Arc<Runtime>, config: Config) -> Result<u64, ReloadError> {
    let _guard = runtime.reload_guard().await;
    let current = runtime.generation();
    let staged = runtime.plugins.stage(&config.plugins).await;
    let catalog = staged.catalog.clone();
    match Generation::prepare_with(config, runtime, &current, staged.catalog).await {
        Ok(next) => {
            log_plugin_changes(&current.plugins, &next.plugins);
            let number = runtime.swap(next);
            tracing::info!(generation = number, "config applied");
            Ok(number)
        }
        Err(error) => {
            let error = explain(runtime, &current.plugins, &catalog, &staged.failed, error);
            tracing::error!(
                "config not applied, keeping generation {}: {error}",
                current.number
            );
            runtime.record_reload(Some(error.to_string()));
            Err(error)
        }
    }
}

/// The next generation, or `None` when the config and auth files are byte-for-byte what the
/// current one was built from and the staged plugins are the serving ones.
async fn prepare_from_file(
    runtime: &Runtime,
    path: &Path,
) -> Result<Option<Generation>, ReloadError> {
    let current = runtime.generation();
    let owned_path = path.to_owned();
    let text = tokio::task::spawn_blocking(move || {
        std::fs::read_to_string(&owned_path).map(|text| hash_plaintext_secret(&owned_path, text))
    })
    .await
    .expect("reading the config does not panic");
    let auth_fingerprint = runtime
        .credential_store
        .list(&current.config.auth_dir)
        .await
        .map(|listing| listing.fingerprint)
        .ok();
    let text = text.map_err(|source| crate::config::ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let hash: [u8; 32] = Sha256::digest(text.as_bytes()).into();
    let config_unchanged = hash == current.config.source.content_hash;
    let config = if config_unchanged {
        (*current.config).clone()
    } else {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        let dir = absolute.parent().map(Path::to_owned).unwrap_or_default();
        let loaded = Config::parse(&text, Some(absolute), dir)?;
        for warning in &loaded.warnings {
            tracing::warn!("config: {warning}");
        }
        loaded.config
    };
    let staged = runtime.plugins.stage(&config.plugins).await;
    if config_unchanged
        && auth_fingerprint == Some(current.auth_fingerprint)
        && staged.catalog.same_as(&current.plugins)
    {
        return if staged.failed.is_empty() {
            Ok(None)
        } else {
            Err(ReloadError::PluginFiles(staged.failed))
        };
    }
    let catalog = staged.catalog.clone();
    match Generation::prepare_with(config, runtime, &current, staged.catalog).await {
        Ok(next) => {
            log_plugin_changes(&current.plugins, &next.plugins);
            Ok(Some(next))
        }
        Err(error) => Err(explain(
            runtime,
            &current.plugins,
            &catalog,
            &staged.failed,
            error,
        )),
    }
}

/// Turns a preparation error into the reload error to report, noting it on the plugin at
/// fault: a type that only a plugin file now gone or broken provided, or a plugin whose
/// instance could not be made (rejected settings...).
fn explain(
    runtime: &Runtime,
    serving: &PluginCatalog,
    staged: &PluginCatalog,
    failed: &[(PathBuf, String)],
    error: PrepareError,
) -> ReloadError {
    use crate::chain::PrepareCause;

    let (unknown, rejected) = match &error {
        PrepareError::Chain(chain) => match &chain.cause {
            PrepareCause::UnknownType { .. } => (Some(&chain.kind), None),
            PrepareCause::Plugin(source) => (None, Some((&chain.instance, &chain.kind, source))),
            _ => (None, None),
        },
        _ => (None, None),
    };
    if let Some(kind) = unknown
        && let Some(plugin) = serving.get(kind)
        && let PluginOrigin::File(file) = plugin.origin()
        && staged.get(kind).is_none()
    {
        return ReloadError::PluginGone {
            file: file.clone(),
            kind: kind.clone(),
            reason: failed
                .iter()
                .find(|(path, _)| path == file)
                .map(|(_, reason)| reason.clone()),
            source: error,
        };
    }
    if let Some((instance, kind, source)) = rejected
        && let Some(plugin) = staged.get(kind)
    {
        runtime
            .plugins
            .record_rejection(plugin, &format!("instance {instance}: {source}"));
    }
    ReloadError::Prepare(error)
}

/// Logs which plugin types a swap from `before` to `after` adds, replaces and removes.
fn log_plugin_changes(before: &PluginCatalog, after: &PluginCatalog) {
    for plugin in after.iter() {
        match before.get(plugin.name()) {
            None => tracing::info!(
                plugin = plugin.name(),
                version = plugin.version(),
                "plugin added"
            ),
            Some(old)
                if old.content_hash() != plugin.content_hash()
                    || old.origin() != plugin.origin() =>
            {
                tracing::info!(
                    plugin = plugin.name(),
                    from = old.version(),
                    to = plugin.version(),
                    "plugin replaced"
                )
            }
            Some(_) => {}
        }
    }
    for plugin in before.iter() {
        if after.get(plugin.name()).is_none() {
            tracing::info!(plugin = plugin.name(), "plugin removed");
        }
    }
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
    /// Watches `config_path`, the current `auth-dir` and (when enabled) `plugins.dir`,
    /// reloading `runtime` on changes. The folders follow the config: after each reload the
    /// watcher moves to the serving generation's `auth-dir` and `plugins.dir`, and also
    /// watches the `plugins.dir` of a reload that failed (copying the missing plugin there
    /// retries it).
    pub fn spawn(runtime: Arc<Runtime>, config_path: PathBuf) -> notify::Result<Self> {
        let (events, mut changes) = mpsc::unbounded_channel::<()>();
        let config_path = std::path::absolute(&config_path).unwrap_or(config_path);
        let filter = Filter {
            config_path: config_path.clone(),
            dirs: Arc::new(parking_lot::RwLock::new(Dirs::of(&runtime))),
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
        let config_dir = filter.config_dir();
        watcher.watch(&config_dir, RecursiveMode::NonRecursive)?;
        let mut watched = vec![config_dir];
        filter.sync(&mut watcher, &mut watched);
        let task = tokio::spawn(async move {
            while changes.recv().await.is_some() {
                loop {
                    // Debounce: wait until the files have been quiet for a moment.
                    while let Ok(Some(())) = tokio::time::timeout(DEBOUNCE, changes.recv()).await {}
                    let _ = reload(&runtime, &config_path).await;
                    let dirs = Dirs::of(&runtime);
                    *filter.dirs.write() = dirs.clone();
                    // A plugins folder watched only from now on may have changed since it was
                    // scanned: if so, look once more.
                    let added = filter.sync(&mut watcher, &mut watched);
                    let missed = dirs.plugins.iter().any(|plugins| {
                        added.contains(plugins) && runtime.plugins.folder_changed(plugins)
                    });
                    if !missed {
                        break;
                    }
                }
            }
        });
        Ok(ConfigWatcher { task })
    }

    /// Stops watching.
    pub fn stop(self) {
        self.task.abort();
    }

    /// Stops watching and waits until the watching task has ended (a reload it was running
    /// is cancelled before its swap, or has completed).
    pub async fn shutdown(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for ConfigWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The folders whose files matter besides the config file.
#[derive(Debug, Clone)]
struct Dirs {
    auth: PathBuf,
    /// The serving plugins folder and the last one staged (none while folder plugins are
    /// disabled).
    plugins: Vec<PathBuf>,
}

impl Dirs {
    /// The serving generation's `auth-dir`, and the plugins folders the host watches.
    fn of(runtime: &Runtime) -> Dirs {
        Dirs {
            auth: runtime.generation().config.auth_dir.clone(),
            plugins: runtime.plugins.folders(),
        }
    }
}

/// Which paths trigger a reload, and which folders to watch.
#[derive(Debug, Clone)]
struct Filter {
    config_path: PathBuf,
    dirs: Arc<parking_lot::RwLock<Dirs>>,
}

impl Filter {
    /// The config file, a `*.json` directly in `auth-dir`, a `*.wasm` directly in a plugins
    /// folder, or a plugins folder itself (created, removed, renamed).
    fn matters(&self, path: &Path) -> bool {
        if path == self.config_path {
            return true;
        }
        let dirs = self.dirs.read();
        let parent = path.parent();
        if parent == Some(dirs.auth.as_path())
            && path
                .extension()
                .is_some_and(|ext| ext.eq_ignore_ascii_case("json"))
        {
            return true;
        }
        dirs.plugins.iter().any(|plugins| {
            path == plugins || (parent == Some(plugins.as_path()) && is_plugin_file(path))
        })
    }

    fn config_dir(&self) -> PathBuf {
        self.config_path
            .parent()
            .map(Path::to_owned)
            .unwrap_or_default()
    }

    /// Watches the folders that matter now and unwatches the others (the config's own folder
    /// stays). A folder that does not exist yet, or was deleted, is tried again after the next
    /// reload. Returns the folders added.
    fn sync(
        &self,
        watcher: &mut notify::RecommendedWatcher,
        watched: &mut Vec<PathBuf>,
    ) -> Vec<PathBuf> {
        let config_dir = self.config_dir();
        let mut wanted = vec![config_dir.clone()];
        {
            let dirs = self.dirs.read();
            wanted.push(dirs.auth.clone());
            wanted.extend(dirs.plugins.iter().cloned());
        }
        watched.retain(|dir| {
            // A watched folder that was deleted lost its watch: watch it anew once it is back.
            let keep = *dir == config_dir || (wanted.contains(dir) && dir.is_dir());
            if !keep {
                let _ = watcher.unwatch(dir);
            }
            keep
        });
        let mut added = Vec::new();
        for dir in wanted {
            if !watched.contains(&dir) && watcher.watch(&dir, RecursiveMode::NonRecursive).is_ok() {
                watched.push(dir.clone());
                added.push(dir);
            }
        }
        added
    }
}
