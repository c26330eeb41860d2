//! The reload pipeline: every change of the serving generation — the first one at boot, a
//! file-watcher event, a program's `apply_config`, a management write — goes
//! [`prepare`] (or [`prepare_config`]) → [`Prepared`] → [`commit`].
//!
//! Preparing reads the config (parsing it only when its bytes changed), stages the plugin
//! catalog for it ([`PluginHost::stage`]: the embedded plugins with the folder's over them;
//! new or changed files are compiled now) and, when anything differs from the serving
//! generation, builds the next generation against the staged catalog, completely and off the
//! request path. Nothing of the running proxy changes until [`commit`] swaps the generation and
//! its catalog in together, which cannot fail: anything wrong keeps the running generation and
//! is reported with its key and line, or its file and reason. The management API prepares
//! from the new text before it writes the file, so a change the preparation refuses never
//! reaches the file.
//!
//! [`PluginHost::stage`]: crate::plugin::PluginHost::stage

mod folder_watch;
pub(crate) mod history;
mod watcher;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::generation::{Generation, PrepareError};
use crate::plugin::{PluginCatalog, PluginOrigin, StagedPlugins};
use crate::runtime::Runtime;

pub(crate) use watcher::ConfigWatcher;

/// Quiet time after the last file event before reloading.
pub(crate) const DEBOUNCE: Duration = Duration::from_millis(150);
/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReloadOutcome {
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

/// Where the next generation's config comes from, for [`prepare`].
#[derive(Debug)]
pub(crate) enum Source {
    /// The config file at this path, read now. A plaintext `remote-management.secret-key` in
    /// it is replaced by its hash in the file first.
    File(PathBuf),
    /// `text`, about to become the config file at `path` (a management write, prepared before
    /// the file is written).
    Text {
        /// The new file content.
        text: String,
        /// The config file.
        path: PathBuf,
    },
}

/// A generation prepared completely against a staged plugin catalog, ready for [`commit`];
/// nothing of the running proxy has changed yet.
#[derive(Debug)]
pub(crate) struct Prepared {
    generation: Generation,
}

impl Prepared {
    /// The config the prepared generation serves.
    pub(crate) fn config(&self) -> &Config {
        &self.generation.config
    }
}

/// Prepares the next generation from `source`: `None` when the config and the auth files are
/// byte-for-byte what the serving generation was built from and the staged plugins are the
/// serving ones. The caller holds [`Runtime::reload_guard`] until it commits.
pub(crate) async fn prepare(
    runtime: &Runtime,
    source: Source,
) -> Result<Option<Prepared>, ReloadError> {
    let current = runtime.generation();
    let (text, path) = match source {
        Source::File(path) => {
            let owned_path = path.clone();
            let text = tokio::task::spawn_blocking(move || {
                std::fs::read_to_string(&owned_path)
                    .map(|text| crate::secret::hash_in_read_file(&owned_path, text))
            })
            .await
            .expect("reading the config does not panic")
            .map_err(|source| crate::config::ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            (text, path)
        }
        Source::Text { text, path } => (text, path),
    };
    let hash: [u8; 32] = Sha256::digest(text.as_bytes()).into();
    let config_unchanged = hash == current.config.source.content_hash;
    let config = if config_unchanged {
        (*current.config).clone()
    } else {
        let absolute = std::path::absolute(&path).unwrap_or_else(|_| path.clone());
        let dir = absolute.parent().map(Path::to_owned).unwrap_or_default();
        let loaded = Config::parse(&text, Some(absolute), dir)?;
        for warning in &loaded.warnings {
            tracing::warn!("config: {warning}");
        }
        loaded.config
    };
    let staged = runtime.plugins.stage(&config.plugins).await;
    if config_unchanged && staged.catalog.same_as(&current.plugins) {
        let auth_fingerprint = runtime
            .credential_store
            .list(&current.config.auth_dir)
            .await
            .map(|listing| listing.fingerprint)
            .ok();
        if auth_fingerprint == Some(current.auth_fingerprint) {
            return if staged.failed.is_empty() {
                Ok(None)
            } else {
                Err(ReloadError::PluginFiles(staged.failed))
            };
        }
    }
    prepare_staged(runtime, &current, config, staged)
        .await
        .map(Some)
}

/// Prepares the next generation for `config` (from the program, or loaded at boot), even when
/// nothing changed (so a program's credential store is asked again). The caller holds
/// [`Runtime::reload_guard`] until it commits.
pub(crate) async fn prepare_config(
    runtime: &Runtime,
    config: Config,
) -> Result<Prepared, ReloadError> {
    let current = runtime.generation();
    let staged = runtime.plugins.stage(&config.plugins).await;
    prepare_staged(runtime, &current, config, staged).await
}

/// The generation for `config` against the `staged` catalog, or the reload error explaining
/// why not.
async fn prepare_staged(
    runtime: &Runtime,
    current: &Generation,
    config: Config,
    staged: StagedPlugins,
) -> Result<Prepared, ReloadError> {
    let catalog = staged.catalog.clone();
    match Generation::prepare_with(config, runtime, current, staged.catalog).await {
        Ok(generation) => Ok(Prepared { generation }),
        Err(error) => Err(explain(
            runtime,
            &current.plugins,
            &catalog,
            &staged.failed,
            error,
        )),
    }
}

/// Swaps `prepared` in (with its plugin catalog) and returns its generation number. Cannot
/// fail; the caller still holds [`Runtime::reload_guard`] from the preparation.
pub(crate) fn commit(runtime: &Runtime, prepared: Prepared) -> u64 {
    let current = runtime.generation();
    // The first generation (at boot) adds every plugin: nothing to report.
    if current.number > 0 {
        log_plugin_changes(&current.plugins, &prepared.generation.plugins);
    }
    runtime.swap(prepared.generation)
}

/// Commits what [`prepare`] returned and records the outcome in [`Runtime::reload_status`]:
/// a generation prepared is committed (logged as `applied`), nothing to do is recorded as a
/// skipped attempt, an error as a failure that keeps the running generation (logged after
/// `refused`).
#[expect(
    clippy::result_large_err,
    reason = "the error the async reload functions return as it is (large, and rare)"
)]
pub(crate) fn finish(
    runtime: &Runtime,
    prepared: Result<Option<Prepared>, ReloadError>,
    applied: &str,
    refused: &str,
) -> Result<ReloadOutcome, ReloadError> {
    match prepared {
        Ok(Some(next)) => {
            let number = commit(runtime, next);
            tracing::info!(generation = number, "{applied}");
            Ok(ReloadOutcome::Applied(number))
        }
        Ok(None) => {
            runtime.record_reload(None);
            tracing::debug!("reload skipped: nothing changed");
            Ok(ReloadOutcome::Unchanged)
        }
        Err(error) => {
            tracing::error!(
                "{refused}, keeping generation {}: {error}",
                runtime.generation().number
            );
            runtime.record_reload(Some(error.to_string()));
            Err(error)
        }
    }
}

/// Reloads from the config file at `path`, its `auth-dir` and the plugins folder: skips
/// identical content, else prepares and commits a new generation. The outcome is recorded in
/// [`Runtime::reload_status`]. Reloads run one at a time.
pub(crate) async fn reload(
    runtime: &Arc<Runtime>,
    path: &Path,
) -> Result<ReloadOutcome, ReloadError> {
    let _guard = runtime.reload_guard().await;
    let prepared = prepare(runtime, Source::File(path.to_owned())).await;
    finish(runtime, prepared, "config reloaded", "reload failed")
}

/// Applies `config` (from the program, not from a file): prepares the next generation and
/// commits it, even when nothing changed (so a program's credential store is asked again).
/// Returns the new generation number; an error keeps the running generation. The outcome is
/// recorded in [`Runtime::reload_status`]; reloads run one at a time.
pub(crate) async fn apply(runtime: &Arc<Runtime>, config: Config) -> Result<u64, ReloadError> {
    let _guard = runtime.reload_guard().await;
    let prepared = prepare_config(runtime, config).await.map(Some);
    match finish(runtime, prepared, "config applied", "config not applied")? {
        ReloadOutcome::Applied(number) => Ok(number),
        ReloadOutcome::Unchanged => Ok(runtime.generation().number),
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
