//! The file watcher: `config.yaml`, `auth-dir` and `plugins.dir` are watched through their
//! folders (an editor's atomic replace swaps the inode), changes are debounced, and each quiet
//! moment runs one [`reload`](super::reload).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::folder_watch::{Change, FolderWatch, Writes};
use super::{DEBOUNCE, reload};
use crate::plugin::is_plugin_file;
use crate::runtime::Runtime;

/// A running watcher; dropping it (or [`ConfigWatcher::stop`]) stops watching.
#[derive(Debug)]
pub(crate) struct ConfigWatcher {
    task: JoinHandle<()>,
}

impl ConfigWatcher {
    /// Watches `config_path`, the current `auth-dir` and (when enabled) `plugins.dir`,
    /// reloading `runtime` on changes. The folders follow the config: after each reload the
    /// watcher moves to the serving generation's `auth-dir` and `plugins.dir`, and also
    /// watches the `plugins.dir` of a reload that failed (copying the missing plugin there
    /// retries it).
    pub(crate) fn spawn(runtime: Arc<Runtime>, config_path: PathBuf) -> notify::Result<Self> {
        let (events, mut changes) = mpsc::unbounded_channel::<()>();
        let config_path = std::path::absolute(&config_path).unwrap_or(config_path);
        let filter = Filter {
            config_path: config_path.clone(),
            dirs: Arc::new(parking_lot::RwLock::new(Dirs::of(&runtime))),
        };
        let handler_filter = filter.clone();
        let mut watcher = FolderWatch::new(move |change| {
            let matters = match change {
                Change::Path(path) => handler_filter.matters(path),
                Change::Lost => true,
            };
            if matters {
                let _ = events.send(());
            }
        })
        .map_err(notify::Error::io)?;
        let config_dir = filter.config_dir();
        watcher
            .watch(&config_dir, filter.writes(&config_dir))
            .map_err(notify::Error::io)?;
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
    pub(crate) fn stop(self) {
        self.task.abort();
    }

    /// Stops watching and waits until the watching task has ended (a reload it was running
    /// is cancelled before its swap, or has completed).
    pub(crate) async fn shutdown(mut self) {
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

    /// Which writes in `dir` to be told of: every write where files are copied in (`auth-dir`,
    /// plugins folders), only finished ones where the config file is alone.
    fn writes(&self, dir: &Path) -> Writes {
        let dirs = self.dirs.read();
        if dirs.auth == dir || dirs.plugins.iter().any(|plugins| plugins == dir) {
            Writes::Each
        } else {
            Writes::WhenClosed
        }
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
    fn sync(&self, watcher: &mut FolderWatch, watched: &mut Vec<PathBuf>) -> Vec<PathBuf> {
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
                watcher.unwatch(dir);
            }
            keep
        });
        let mut added = Vec::new();
        for dir in wanted {
            if !watched.contains(&dir) && watcher.watch(&dir, self.writes(&dir)).is_ok() {
                watched.push(dir.clone());
                added.push(dir);
            }
        }
        added
    }
}
