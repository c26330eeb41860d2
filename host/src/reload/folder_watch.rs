//! Watching folders for changed files. On Linux through inotify directly, so each folder asks
//! only for the events its files need: the config's folder for files finished (closed after
//! writing), created, deleted or renamed, not for every write, so a log file written next to
//! `config.yaml` (`switchyard > switchyard.log`) wakes nothing per line. Elsewhere through
//! `notify`, which reports every write.

use std::path::Path;

/// Which writes a watched folder reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Writes {
    /// Only a file closed after writing (and creations, deletions, renames): for the config's
    /// folder, where other programs' files (logs) are written all the time.
    WhenClosed,
    /// Every write as well: for folders that files are copied into (`auth-dir`, plugins
    /// folders), so a slow copy keeps postponing the reload until it has finished.
    Each,
}

/// What the watcher tells its handler.
#[derive(Debug, Clone, Copy)]
pub(super) enum Change<'a> {
    /// This file or folder changed.
    Path(&'a Path),
    /// The kernel dropped events (its queue was full): anything may have changed.
    Lost,
}

#[cfg(target_os = "linux")]
pub(super) use inotify_backend::FolderWatch;
#[cfg(not(target_os = "linux"))]
pub(super) use notify_backend::FolderWatch;

#[cfg(target_os = "linux")]
mod inotify_backend {
    use std::collections::HashMap;
    use std::io;
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use futures_util::StreamExt;
    use inotify::{EventMask, Inotify, WatchDescriptor, WatchMask, Watches};
    use tokio::task::JoinHandle;

    use super::{Change, Writes};

    /// The folders watched, by their watch descriptors.
    type Folders = Arc<parking_lot::Mutex<HashMap<WatchDescriptor, PathBuf>>>;

    /// An inotify instance read by a task of the runtime it was created in; dropping it stops
    /// the task and closes the descriptor.
    #[derive(Debug)]
    pub(in crate::reload) struct FolderWatch {
        watches: Watches,
        folders: Folders,
        task: JoinHandle<()>,
    }

    impl FolderWatch {
        /// A watcher of no folder yet that calls `on_change` for each change in the folders
        /// it is then asked to watch. Needs a tokio runtime.
        pub(in crate::reload) fn new(
            on_change: impl Fn(Change<'_>) + Send + 'static,
        ) -> io::Result<FolderWatch> {
            let inotify = Inotify::init()?;
            let watches = inotify.watches();
            let mut events = inotify.into_event_stream([0u8; 4096])?;
            let folders = Folders::default();
            let seen = folders.clone();
            let task = tokio::spawn(async move {
                while let Some(event) = events.next().await {
                    let event = match event {
                        Ok(event) => event,
                        Err(error) => {
                            tracing::warn!("the config watcher stopped: {error}");
                            return;
                        }
                    };
                    if event.mask.contains(EventMask::Q_OVERFLOW) {
                        on_change(Change::Lost);
                        continue;
                    }
                    let path = {
                        let mut folders = seen.lock();
                        if event.mask.contains(EventMask::IGNORED) {
                            // The watch is gone (folder deleted or unwatched).
                            folders.remove(&event.wd);
                            continue;
                        }
                        let Some(folder) = folders.get(&event.wd) else {
                            continue;
                        };
                        match &event.name {
                            Some(name) => folder.join(name),
                            // An event on the watched folder itself (deleted, moved).
                            None => folder.clone(),
                        }
                    };
                    on_change(Change::Path(&path));
                }
            });
            Ok(FolderWatch {
                watches,
                folders,
                task,
            })
        }

        /// Watches the files directly in `folder` (not its subfolders) and the folder itself.
        pub(in crate::reload) fn watch(&mut self, folder: &Path, writes: Writes) -> io::Result<()> {
            let mut mask = WatchMask::CREATE
                | WatchMask::DELETE
                | WatchMask::CLOSE_WRITE
                | WatchMask::MOVED_FROM
                | WatchMask::MOVED_TO
                | WatchMask::ATTRIB
                | WatchMask::DELETE_SELF
                | WatchMask::MOVE_SELF
                | WatchMask::ONLYDIR;
            if writes == Writes::Each {
                mask |= WatchMask::MODIFY;
            }
            let wd = self.watches.add(folder, mask)?;
            self.folders.lock().insert(wd, folder.to_owned());
            Ok(())
        }

        /// Stops watching `folder`.
        pub(in crate::reload) fn unwatch(&mut self, folder: &Path) {
            let wd = {
                let mut folders = self.folders.lock();
                let wd = folders
                    .iter()
                    .find_map(|(wd, watched)| (watched == folder).then(|| wd.clone()));
                if let Some(wd) = &wd {
                    folders.remove(wd);
                }
                wd
            };
            if let Some(wd) = wd {
                // Fails only when the kernel already dropped the watch (folder deleted).
                let _ = self.watches.remove(wd);
            }
        }
    }

    impl Drop for FolderWatch {
        fn drop(&mut self) {
            self.task.abort();
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod notify_backend {
    use std::io;
    use std::path::Path;

    use notify::{RecursiveMode, Watcher};

    use super::{Change, Writes};

    /// `notify`'s watcher for this platform: every write is reported, whatever [`Writes`] says.
    pub(in crate::reload) struct FolderWatch {
        watcher: notify::RecommendedWatcher,
    }

    impl std::fmt::Debug for FolderWatch {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("FolderWatch")
        }
    }

    impl FolderWatch {
        /// A watcher of no folder yet that calls `on_change` for each change in the folders
        /// it is then asked to watch.
        pub(in crate::reload) fn new(
            on_change: impl Fn(Change<'_>) + Send + 'static,
        ) -> io::Result<FolderWatch> {
            let watcher = notify::recommended_watcher(
                move |event: notify::Result<notify::Event>| match event {
                    Ok(event) if event.need_rescan() => on_change(Change::Lost),
                    Ok(event) => event
                        .paths
                        .iter()
                        .for_each(|path| on_change(Change::Path(path))),
                    Err(_) => {}
                },
            )
            .map_err(io::Error::other)?;
            Ok(FolderWatch { watcher })
        }

        /// Watches the files directly in `folder` (not its subfolders).
        pub(in crate::reload) fn watch(
            &mut self,
            folder: &Path,
            _writes: Writes,
        ) -> io::Result<()> {
            self.watcher
                .watch(folder, RecursiveMode::NonRecursive)
                .map_err(io::Error::other)
        }

        /// Stops watching `folder`.
        pub(in crate::reload) fn unwatch(&mut self, folder: &Path) {
            let _ = self.watcher.unwatch(folder);
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::io::Write;
    use std::path::PathBuf;

    use tokio::sync::mpsc;

    use super::*;

    /// A watcher of `dir` with `writes`, and what it reports (`None`: events were lost).
    fn watching(
        dir: &Path,
        writes: Writes,
    ) -> (FolderWatch, mpsc::UnboundedReceiver<Option<PathBuf>>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut watch = FolderWatch::new(move |change| {
            let _ = tx.send(match change {
                Change::Path(path) => Some(path.to_owned()),
                Change::Lost => None,
            });
        })
        .unwrap();
        watch.watch(dir, writes).unwrap();
        (watch, rx)
    }

    /// What was reported until a new marker file was created in `dir` (inotify keeps the
    /// order), other markers' events left out.
    async fn reported_before_marker(
        dir: &Path,
        rx: &mut mpsc::UnboundedReceiver<Option<PathBuf>>,
    ) -> Vec<PathBuf> {
        static MARKERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = MARKERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let marker = dir.join(format!("marker-{n}"));
        std::fs::write(&marker, b"").unwrap();
        let mut seen = Vec::new();
        loop {
            match rx.recv().await.unwrap() {
                Some(path) if path == marker => return seen,
                Some(path)
                    if path
                        .file_name()
                        .unwrap()
                        .to_string_lossy()
                        .starts_with("marker-") => {}
                Some(path) => seen.push(path),
                None => panic!("events lost"),
            }
        }
    }

    #[tokio::test]
    async fn writes_to_an_open_file_wake_nothing_until_it_is_closed() {
        let dir = tempfile::tempdir().unwrap();
        let (_watch, mut rx) = watching(dir.path(), Writes::WhenClosed);
        let log = dir.path().join("switchyard.log");
        let mut file = std::fs::File::create(&log).unwrap();
        let created = reported_before_marker(dir.path(), &mut rx).await;
        assert_eq!(
            created,
            std::slice::from_ref(&log),
            "the creation is reported"
        );
        for line in 0..100 {
            writeln!(file, "request {line}").unwrap();
        }
        let during = reported_before_marker(dir.path(), &mut rx).await;
        assert!(during.is_empty(), "writes reported: {during:?}");
        drop(file);
        let closed = reported_before_marker(dir.path(), &mut rx).await;
        assert_eq!(closed, [log], "the close after writing is reported");
    }

    #[tokio::test]
    async fn a_folder_files_are_copied_into_reports_each_write() {
        let dir = tempfile::tempdir().unwrap();
        let (_watch, mut rx) = watching(dir.path(), Writes::Each);
        let plugin = dir.path().join("p.wasm");
        let mut file = std::fs::File::create(&plugin).unwrap();
        reported_before_marker(dir.path(), &mut rx).await;
        file.write_all(b"\0asm").unwrap();
        file.flush().unwrap();
        let during = reported_before_marker(dir.path(), &mut rx).await;
        assert_eq!(during, [plugin]);
    }

    #[tokio::test]
    async fn replacing_and_deleting_files_and_the_folder_are_reported() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("watched");
        std::fs::create_dir(&dir).unwrap();
        let (mut watch, mut rx) = watching(&dir, Writes::WhenClosed);
        let config = dir.join("config.yaml");
        // An editor's atomic replace: write a temporary file, rename it over the config.
        let temporary = parent.path().join("config.yaml.tmp");
        std::fs::write(&temporary, b"port: 1\n").unwrap();
        std::fs::rename(&temporary, &config).unwrap();
        assert_eq!(
            reported_before_marker(&dir, &mut rx).await,
            std::slice::from_ref(&config)
        );
        std::fs::remove_file(&config).unwrap();
        assert_eq!(reported_before_marker(&dir, &mut rx).await, [config]);
        // Unwatched: nothing more arrives, and the channel closes with the watcher.
        watch.unwatch(&dir);
        std::fs::write(dir.join("later"), b"").unwrap();
        drop(watch);
        while let Some(change) = rx.recv().await {
            assert_ne!(change, Some(dir.join("later")), "reported after unwatch");
        }
    }
}
