//! A folder whose files are opened beneath its handle, never outside it.
//!
//! Every name is resolved with `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)` relative to a
//! descriptor of the folder: a symlink that stays inside the folder works (Kubernetes mounts
//! secrets as `x.json → ..data/x.json`), one that leaves it — an absolute target, or `..` past
//! the folder — is refused with [`OutsideFolder`]. Names are single components (no `/`, not `.`
//! or `..`). Used for `auth-dir`, where a management-key holder chooses the names.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::atomic_file;

/// A name resolved to something outside the folder (through a symlink), so it was refused.
#[derive(Debug, thiserror::Error)]
#[error("{name} leads outside {dir} (a symlink out of the folder), refused")]
pub(crate) struct OutsideFolder {
    /// The name asked for.
    pub name: String,
    /// The folder.
    pub dir: PathBuf,
}

/// Whether `error` is an [`OutsideFolder`] refusal.
pub(crate) fn is_outside(error: &io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.is::<OutsideFolder>())
}

/// What a folder entry is, without following it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    /// A regular file.
    File,
    /// A symlink (resolved only when opened, beneath the folder).
    Symlink,
    /// A folder, device, socket or pipe.
    Other,
}

/// One folder entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Its name.
    pub name: OsString,
    /// What it is.
    pub kind: EntryKind,
}

/// An open folder; see the module docs.
#[derive(Debug)]
pub(crate) struct ConfinedDir {
    path: PathBuf,
    fd: OwnedFd,
}

impl ConfinedDir {
    /// Opens the folder at `path` (symlinks in `path` itself are the operator's and followed).
    pub(crate) fn open(path: &Path) -> io::Result<Self> {
        Ok(ConfinedDir {
            path: path.to_owned(),
            fd: atomic_file::open_dir(path)?,
        })
    }

    /// Every entry but `.` and `..`, sorted by name.
    pub(crate) fn entries(&self) -> io::Result<Vec<Entry>> {
        let mut dir = rustix::fs::Dir::read_from(&self.fd)?;
        let mut entries = Vec::new();
        while let Some(entry) = dir.read() {
            let entry = entry?;
            let name = OsStr::from_bytes(entry.file_name().to_bytes());
            if name == "." || name == ".." {
                continue;
            }
            let file_type = match entry.file_type() {
                FileType::Unknown => {
                    match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
                        Ok(stat) => FileType::from_raw_mode(stat.st_mode),
                        Err(Errno::NOENT) => continue,
                        Err(error) => return Err(error.into()),
                    }
                }
                known => known,
            };
            let kind = match file_type {
                FileType::RegularFile => EntryKind::File,
                FileType::Symlink => EntryKind::Symlink,
                _ => EntryKind::Other,
            };
            entries.push(Entry {
                name: name.to_owned(),
                kind,
            });
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    /// Opens `name` for reading; it must resolve, beneath the folder, to a regular file.
    pub(crate) fn open_file(&self, name: &OsStr) -> io::Result<File> {
        let fd = self.beneath(name, OFlags::RDONLY | OFlags::NONBLOCK)?;
        let file = File::from(fd);
        if !file.metadata()?.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a regular file", name.to_string_lossy()),
            ));
        }
        Ok(file)
    }

    /// The content of `name` (see [`ConfinedDir::open_file`]).
    pub(crate) fn read(&self, name: &OsStr) -> io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.open_file(name)?.read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    /// Removes the entry `name`: a file, or a symlink that stays inside the folder (the link
    /// is removed, not its target). A symlink leading outside is refused and left in place.
    pub(crate) fn remove(&self, name: &OsStr) -> io::Result<()> {
        check_name(name)?;
        let stat = rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW)?;
        if FileType::from_raw_mode(stat.st_mode) == FileType::Symlink {
            match self.beneath(name, OFlags::PATH) {
                // A dangling link inside the folder may go.
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
        }
        Ok(rustix::fs::unlinkat(&self.fd, name, AtFlags::empty())?)
    }

    /// Writes `name` atomically with `mode` (see [`atomic_file::write_in`]). A symlink that
    /// stays inside the folder is written through (its target is replaced, the link kept); one
    /// that leaves it is refused.
    pub(crate) fn write(&self, name: &OsStr, bytes: &[u8], mode: u32) -> io::Result<()> {
        check_name(name)?;
        let is_link = match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => FileType::from_raw_mode(stat.st_mode) == FileType::Symlink,
            Err(Errno::NOENT) => false,
            Err(error) => return Err(error.into()),
        };
        if !is_link {
            return atomic_file::write_in(&self.fd, name, bytes, mode);
        }
        let target = self.beneath(name, OFlags::PATH)?;
        let base = fd_path(self.fd.as_fd())?;
        let resolved = fd_path(target.as_fd())?;
        let inside = resolved
            .strip_prefix(&base)
            .map_err(|_| self.outside(name))?;
        let file = inside
            .file_name()
            .ok_or_else(|| self.outside(name))?
            .to_owned();
        match inside.parent().filter(|p| !p.as_os_str().is_empty()) {
            None => atomic_file::write_in(&self.fd, &file, bytes, mode),
            Some(parent) => {
                let folder =
                    self.openat2(parent.as_os_str(), OFlags::RDONLY | OFlags::DIRECTORY, name)?;
                atomic_file::write_in(&folder, &file, bytes, mode)
            }
        }
    }

    /// Opens the single-component `name` beneath the folder.
    fn beneath(&self, name: &OsStr, flags: OFlags) -> io::Result<OwnedFd> {
        check_name(name)?;
        self.openat2(name, flags, name)
    }

    /// `openat2` of `path` beneath the folder; `asked` names the request in a refusal.
    fn openat2(&self, path: &OsStr, flags: OFlags, asked: &OsStr) -> io::Result<OwnedFd> {
        let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
        let flags = flags | OFlags::CLOEXEC;
        let mut result = Err(Errno::AGAIN);
        // EAGAIN: a rename raced the `..` check; the kernel asks to retry.
        for _ in 0..8 {
            result = rustix::fs::openat2(&self.fd, path, flags, Mode::empty(), resolve);
            if !matches!(result, Err(Errno::AGAIN)) {
                break;
            }
        }
        match result {
            Ok(fd) => Ok(fd),
            Err(Errno::XDEV) => Err(self.outside(asked)),
            // Without openat2 (kernels before 5.6; sandboxes whose seccomp filter answers
            // ENOSYS or EPERM for it): no symlink is followed.
            Err(Errno::NOSYS | Errno::PERM) => {
                match rustix::fs::openat(&self.fd, path, flags | OFlags::NOFOLLOW, Mode::empty()) {
                    Ok(fd) if !path.as_bytes().contains(&b'/') => Ok(fd),
                    Ok(_) | Err(Errno::LOOP) => Err(self.outside(asked)),
                    Err(error) => Err(error.into()),
                }
            }
            Err(error) => Err(error.into()),
        }
    }

    fn outside(&self, name: &OsStr) -> io::Error {
        io::Error::new(
            io::ErrorKind::PermissionDenied,
            OutsideFolder {
                name: name.to_string_lossy().into_owned(),
                dir: self.path.clone(),
            },
        )
    }
}

/// Refuses names that are not one plain component.
fn check_name(name: &OsStr) -> io::Result<()> {
    let bytes = name.as_bytes();
    if bytes.is_empty()
        || bytes.contains(&b'/')
        || bytes.contains(&0)
        || name == "."
        || name == ".."
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid file name {:?}", name.to_string_lossy()),
        ));
    }
    Ok(())
}

/// The path the kernel has for an open descriptor.
fn fd_path(fd: BorrowedFd<'_>) -> io::Result<PathBuf> {
    std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    fn folder() -> (tempfile::TempDir, ConfinedDir) {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir(root.path().join("auths")).unwrap();
        fs::write(root.path().join("secret.json"), "outside").unwrap();
        let dir = ConfinedDir::open(&root.path().join("auths")).unwrap();
        (root, dir)
    }

    #[test]
    fn symlinks_inside_work_and_those_leaving_are_refused() {
        let (root, dir) = folder();
        let auths = root.path().join("auths");
        // The Kubernetes layout: x.json → ..data/x.json, ..data → ..2026_01/.
        fs::create_dir(auths.join("..2026_01")).unwrap();
        fs::write(auths.join("..2026_01/k.json"), "inside").unwrap();
        symlink("..2026_01", auths.join("..data")).unwrap();
        symlink("..data/k.json", auths.join("k.json")).unwrap();
        symlink("../secret.json", auths.join("up.json")).unwrap();
        symlink(root.path().join("secret.json"), auths.join("abs.json")).unwrap();
        symlink("/etc/hostname", auths.join("host.json")).unwrap();
        assert_eq!(dir.read(OsStr::new("k.json")).unwrap(), b"inside");
        for name in ["up.json", "abs.json", "host.json"] {
            let error = dir.read(OsStr::new(name)).unwrap_err();
            assert!(is_outside(&error), "{name}: {error}");
            let error = dir.remove(OsStr::new(name)).unwrap_err();
            assert!(is_outside(&error), "{name}: {error}");
            let error = dir.write(OsStr::new(name), b"x", 0o600).unwrap_err();
            assert!(is_outside(&error), "{name}: {error}");
        }
        assert_eq!(
            fs::read_to_string(root.path().join("secret.json")).unwrap(),
            "outside"
        );
        assert!(fs::symlink_metadata(auths.join("up.json")).is_ok());
        // Writing through the inside link replaces its target and keeps the link.
        dir.write(OsStr::new("k.json"), b"new", 0o600).unwrap();
        assert!(
            fs::symlink_metadata(auths.join("k.json"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(auths.join("..2026_01/k.json")).unwrap(), b"new");
        dir.remove(OsStr::new("k.json")).unwrap();
        assert!(fs::symlink_metadata(auths.join("k.json")).is_err());
        assert_eq!(fs::read(auths.join("..2026_01/k.json")).unwrap(), b"new");
    }

    #[test]
    fn entries_are_listed_without_following_links() {
        let (root, dir) = folder();
        let auths = root.path().join("auths");
        fs::write(auths.join("b.json"), "{}").unwrap();
        symlink("/etc/hostname", auths.join("a.json")).unwrap();
        fs::create_dir(auths.join("c")).unwrap();
        let entries = dir.entries().unwrap();
        let kinds: Vec<_> = entries
            .iter()
            .map(|e| (e.name.to_str().unwrap(), e.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                ("a.json", EntryKind::Symlink),
                ("b.json", EntryKind::File),
                ("c", EntryKind::Other)
            ]
        );
    }

    #[test]
    fn names_are_single_components() {
        let (_root, dir) = folder();
        for name in ["", ".", "..", "../secret.json", "a/b.json"] {
            let error = dir.read(OsStr::new(name)).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "{name}");
        }
    }
}
