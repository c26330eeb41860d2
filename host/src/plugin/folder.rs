//! The plugins folder as the host last saw it: each `*.wasm` file directly in `plugins.dir`,
//! what it loaded as, and the catalog staged from it for the next generation.
//!
//! Files are compiled only when new or changed (by size, modification time and inode; then by
//! content hash), on a blocking thread, so a reload never recompiles what it already has and
//! never compiles on the request path. A file whose size or modification time changes while it
//! is read is being written: it is left for the next scan (the write's own event triggers one).
//!
//! The folder is trusted only as far as the config says: files are opened beneath it (a
//! symlink leading out of it is refused), a file over `plugins.max-file-mib` or a folder or
//! file writable by group or others is refused, and a file declaring the type of an embedded
//! plugin is refused unless `plugins.allow-override` lists that type.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::{Plugin, PluginCatalog, PluginHost, PluginOrigin, file_trust};
use crate::config::PluginsConfig;
use crate::confined_dir::ConfinedDir;

/// What the host knows about its plugin sources: the embedded plugins and the folder's files.
#[derive(Default)]
pub(crate) struct Sources {
    /// The embedded plugins, as [`PluginHost::load_embedded`] loaded them.
    pub(crate) embedded: Vec<Plugin>,
    /// The plugins folder of the serving generation (`None`: folder plugins are disabled).
    pub(crate) serving_folder: Option<PathBuf>,
    /// The plugins folder of the last staging (another one than the serving folder when a
    /// reload that changed `plugins.dir` failed).
    pub(crate) staged_folder: Option<PathBuf>,
    /// Every `*.wasm` file of the folders scanned since the last swap (the serving folder and
    /// the one a failed reload staged, if another), by path.
    pub(crate) files: BTreeMap<PathBuf, FileRecord>,
}

impl Sources {
    /// The records of the files directly in `folder`.
    pub(crate) fn files_in<'a>(
        &'a self,
        folder: &'a Path,
    ) -> impl Iterator<Item = (&'a PathBuf, &'a FileRecord)> + 'a {
        self.files
            .iter()
            .filter(move |(path, _)| path.parent() == Some(folder))
    }
}

/// One file of the plugins folder.
#[derive(Clone)]
pub(crate) struct FileRecord {
    /// Size, modification time and inode when it was read.
    stamp: FileStamp,
    /// SHA-256 of the content read.
    pub(crate) sha256: [u8; 32],
    /// The plugin it loaded as, or why it did not.
    pub(crate) loaded: Result<Plugin, String>,
    /// Why it is not used although it loaded: another file declares the same type.
    pub(crate) conflict: Option<String>,
    /// Why the last reload that staged this content was not applied (rejected settings...).
    pub(crate) rejected: Option<String>,
}

/// What tells a changed file from an unchanged one without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
    /// Permission bits and owner: a `chmod` or `chown` is a change (it may lift a refusal).
    mode: u32,
    uid: u32,
}

impl FileStamp {
    fn of(metadata: &std::fs::Metadata) -> FileStamp {
        use std::os::unix::fs::MetadataExt;
        FileStamp {
            len: metadata.len(),
            modified: metadata.modified().ok(),
            inode: metadata.ino(),
            mode: metadata.mode(),
            uid: metadata.uid(),
        }
    }
}

/// The catalog staged for the next generation by [`PluginHost::stage`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct StagedPlugins {
    /// The embedded plugins (and any installed through the library), with the folder's
    /// plugins over them.
    pub catalog: PluginCatalog,
    /// Plugins loaded by this scan (files that are new or changed).
    pub loaded: Vec<Plugin>,
    /// Files this scan found unusable (new or changed ones that do not load, or that declare a
    /// type another file declares), with the reason.
    pub failed: Vec<(PathBuf, String)>,
}

/// Whether `path` names a plugin file: `*.wasm`. (Being a regular file is checked apart.)
pub(crate) fn is_plugin_file(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == "wasm")
}

/// The `*.wasm` entries directly in `dir` with their stamps, sorted; none when `dir` is
/// missing or unreadable. The stamp is the file's as opened beneath `dir`, or the entry's own
/// (not followed) when it cannot be opened so (a symlink out of the folder); directories are
/// left out.
fn list(dir: &Path) -> Vec<(PathBuf, FileStamp)> {
    let (Ok(entries), Ok(confined)) = (std::fs::read_dir(dir), ConfinedDir::open(dir)) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let path = entry.path();
            if !is_plugin_file(&path) {
                return None;
            }
            let metadata = match confined.open_file(&entry.file_name()) {
                Ok(file) => file.metadata().ok()?,
                Err(_) => std::fs::symlink_metadata(&path).ok()?,
            };
            (!metadata.is_dir()).then(|| (path, FileStamp::of(&metadata)))
        })
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

/// Reads the plugin file `path` (directly in its folder) whole, opened beneath the folder:
/// `Err` why it is refused (a symlink out of the folder, not a regular file, writable by group
/// or others, over `max_bytes`); `Ok(None)` when it changed while being read.
fn read_complete(path: &Path, stamp: FileStamp, max_bytes: u64) -> Result<Option<Vec<u8>>, String> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err("is not a file name".to_owned());
    };
    let confined = ConfinedDir::open(dir).map_err(|e| format!("could not open its folder: {e}"))?;
    let file = confined
        .open_file(name)
        .map_err(|e| format!("could not be opened beneath the plugins folder: {e}"))?;
    let metadata = file.metadata().map_err(|e| e.to_string())?;
    if !metadata.is_file() {
        return Err("is not a regular file".to_owned());
    }
    file_trust::not_shared_writable(&metadata, "the file")?;
    if metadata.len() > max_bytes {
        return Err(format!(
            "is {} bytes, over plugins.max-file-mib ({} MiB)",
            metadata.len(),
            max_bytes >> 20
        ));
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    (&file)
        .take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("could not read the file: {e}"))?;
    let after = file.metadata().ok().map(|m| FileStamp::of(&m));
    Ok((after == Some(stamp) && bytes.len() as u64 == stamp.len).then_some(bytes))
}

/// `Err` when the plugins folder `dir` (when it exists) is writable by group or others.
fn check_folder(dir: &Path) -> Result<(), String> {
    match std::fs::metadata(dir) {
        Ok(metadata) => file_trust::not_shared_writable(
            &metadata,
            &format!("the plugins folder {}", dir.display()),
        ),
        Err(_) => Ok(()),
    }
}

impl PluginHost {
    /// Stages the catalog for a generation with the settings `plugins`: the embedded plugins
    /// (and any installed through the library), then, when `plugins.enabled`, every plugin of
    /// `plugins.dir` over them (new or changed files are compiled now, off the request path).
    ///
    /// Nothing is installed: the serving catalog changes only when a generation prepared
    /// against the staged one is swapped in. The folder records (what each file is, for
    /// [`PluginHost::status`]) are updated. Files that do not load are logged here.
    pub async fn stage(&self, plugins: &PluginsConfig) -> StagedPlugins {
        let (embedded, mut previous) = {
            let sources = self.sources.lock();
            let previous: BTreeMap<PathBuf, FileRecord> = sources
                .files_in(&plugins.dir)
                .map(|(path, record)| (path.clone(), record.clone()))
                .collect();
            (sources.embedded.clone(), previous)
        };
        self.sources.lock().staged_folder = plugins.enabled.then(|| plugins.dir.clone());
        let mut staged = StagedPlugins::default();
        let mut files = BTreeMap::new();
        let folder_refused = if plugins.enabled {
            check_folder(&plugins.dir).err()
        } else {
            None
        };
        if let Some(reason) = &folder_refused {
            tracing::error!("no plugin loaded from the plugins folder: {reason}");
            staged.failed.push((plugins.dir.clone(), reason.clone()));
        }
        if plugins.enabled && folder_refused.is_none() {
            let dir = plugins.dir.clone();
            let listed = tokio::task::spawn_blocking(move || list(&dir))
                .await
                .unwrap_or_default();
            for (path, stamp) in listed {
                let record = match previous.remove(&path) {
                    Some(record) if record.stamp == stamp => record,
                    earlier => match self
                        .read_and_load(&path, stamp, earlier.as_ref(), plugins.max_file_bytes)
                        .await
                    {
                        Some((record, false)) => record,
                        Some((record, true)) => {
                            match &record.loaded {
                                Ok(plugin) => staged.loaded.push(plugin.clone()),
                                Err(error) => {
                                    tracing::error!(file = %path.display(), "plugin not loaded: {error}");
                                    self.announce_failed(&path, error);
                                    staged.failed.push((path.clone(), error.clone()));
                                }
                            }
                            record
                        }
                        // Being written: keep what the file was, if anything.
                        None => match earlier {
                            Some(record) => record,
                            None => continue,
                        },
                    },
                };
                files.insert(path, record);
            }
        }

        // The base: whatever is installed that does not come from the folder, and the
        // embedded plugins a folder file no longer overrides.
        let mut catalog: BTreeMap<String, Plugin> = self
            .catalog()
            .iter()
            .filter(|p| !matches!(p.origin(), PluginOrigin::File(_)))
            .map(|p| (p.name().to_owned(), p.clone()))
            .collect();
        let embedded_types: BTreeSet<String> =
            embedded.iter().map(|p| p.name().to_owned()).collect();
        for plugin in embedded {
            catalog.entry(plugin.name().to_owned()).or_insert(plugin);
        }
        let mut declared: BTreeMap<String, PathBuf> = BTreeMap::new();
        for (path, record) in &mut files {
            let Ok(plugin) = &record.loaded else { continue };
            let was = record.conflict.take();
            let refusal = if embedded_types.contains(plugin.name())
                && !plugins.allow_override.iter().any(|t| t == plugin.name())
            {
                Some(format!(
                    "declares the type {:?} of an embedded plugin: a plugins-folder file replaces an embedded plugin only when plugins.allow-override lists its type",
                    plugin.name()
                ))
            } else {
                declared.get(plugin.name()).map(|first| {
                    format!(
                        "declares the type {:?}, which {} declares too (the first file by name is used)",
                        plugin.name(),
                        first.display()
                    )
                })
            };
            if let Some(conflict) = refusal {
                if was.as_ref() != Some(&conflict) {
                    tracing::error!(file = %path.display(), "plugin not used: {conflict}");
                    self.announce_failed(path, &conflict);
                    staged.failed.push((path.clone(), conflict.clone()));
                }
                record.conflict = Some(conflict);
                continue;
            }
            declared.insert(plugin.name().to_owned(), path.clone());
            catalog.insert(plugin.name().to_owned(), plugin.clone());
        }
        if plugins.enabled {
            let mut sources = self.sources.lock();
            sources
                .files
                .retain(|path, _| path.parent() != Some(plugins.dir.as_path()));
            sources.files.extend(files);
        }
        staged.catalog = PluginCatalog::new(catalog.into_values());
        staged
    }

    /// Reads and loads one new or changed file: its record, and whether it was loaded now
    /// (false: the content is what `earlier` had). `None` while it is being written.
    async fn read_and_load(
        &self,
        path: &Path,
        stamp: FileStamp,
        earlier: Option<&FileRecord>,
        max_bytes: u64,
    ) -> Option<(FileRecord, bool)> {
        let owned = path.to_owned();
        let read = tokio::task::spawn_blocking(move || read_complete(&owned, stamp, max_bytes))
            .await
            .ok()?;
        let bytes = match read {
            Ok(bytes) => bytes?,
            Err(reason) => {
                return Some((
                    FileRecord {
                        stamp,
                        sha256: [0; 32],
                        loaded: Err(reason),
                        conflict: None,
                        rejected: None,
                    },
                    true,
                ));
            }
        };
        let sha256: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(&bytes).into();
        if let Some(earlier) = earlier
            && earlier.sha256 == sha256
        {
            // Touched, not changed.
            return Some((
                FileRecord {
                    stamp,
                    ..earlier.clone()
                },
                false,
            ));
        }
        let loaded = self
            .load(bytes, PluginOrigin::File(path.to_owned()))
            .await
            .map_err(|e| e.to_string());
        if let Ok(plugin) = &loaded {
            tracing::info!(
                file = %path.display(),
                plugin = plugin.name(),
                version = plugin.version(),
                world = %plugin.world(),
                "plugin loaded"
            );
        }
        Some((
            FileRecord {
                stamp,
                sha256,
                loaded,
                conflict: None,
                rejected: None,
            },
            true,
        ))
    }

    /// Notes that a reload staging `plugin` failed because of it (its instance rejected its
    /// settings, could not start...): shown in its status until a generation with it applies
    /// or the file changes.
    pub fn record_rejection(&self, plugin: &Plugin, reason: &str) {
        let PluginOrigin::File(path) = plugin.origin() else {
            return;
        };
        let mut sources = self.sources.lock();
        if let Some(record) = sources.files.get_mut(path)
            && record.sha256 == plugin.content_hash()
        {
            record.rejected = Some(reason.to_owned());
        }
        drop(sources);
        self.announce_failed(path, reason);
    }

    /// Publishes a `plugin` event: the file at `path` failed (`error` says why).
    fn announce_failed(&self, path: &Path, error: &str) {
        self.announce(|| {
            serde_json::json!({
                "file": path.file_name().map(|name| name.to_string_lossy()),
                "state": "failed",
                "error": error,
            })
        });
    }

    /// The plugins folders to watch: the serving generation's, and the one a failed reload
    /// staged (a plugin copied there next may make the reload succeed).
    pub fn folders(&self) -> Vec<PathBuf> {
        let sources = self.sources.lock();
        let mut folders: Vec<PathBuf> = sources.serving_folder.iter().cloned().collect();
        if let Some(staged) = &sources.staged_folder
            && !folders.contains(staged)
        {
            folders.push(staged.clone());
        }
        folders
    }

    /// Whether the `*.wasm` files of `dir` differ from what the last scan of it saw (a
    /// cheap listing: names, sizes, modification times).
    pub fn folder_changed(&self, dir: &Path) -> bool {
        let listed = list(dir);
        let sources = self.sources.lock();
        let known: Vec<_> = sources
            .files_in(dir)
            .map(|(path, record)| (path.clone(), record.stamp))
            .collect();
        listed != known
    }

    /// Notes the plugins folder of the generation just swapped in, forgets the records of any
    /// other folder, and the rejections of the files whose content `catalog` holds.
    pub(crate) fn commit_sources(&self, catalog: &PluginCatalog, folder: Option<PathBuf>) {
        let mut sources = self.sources.lock();
        sources
            .files
            .retain(|path, _| folder.is_some() && path.parent() == folder.as_deref());
        sources.serving_folder = folder;
        for plugin in catalog.iter() {
            if let PluginOrigin::File(path) = plugin.origin()
                && let Some(record) = sources.files.get_mut(path)
                && record.sha256 == plugin.content_hash()
            {
                record.rejected = None;
            }
        }
    }
}
