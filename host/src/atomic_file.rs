//! Writing a file so readers see either the old or the new content, never a mix.
//!
//! The content goes to a temporary file beside the target, created exclusively (`O_CREAT |
//! O_EXCL | O_NOFOLLOW`, under a name nobody can predict, so a symlink or file someone placed
//! there is never followed or truncated), synced, renamed over the target, and the folder is
//! synced after the rename. A target that is a symlink (a `config.yaml` linked from a dotfiles
//! repository or a Kubernetes mount) is written through: the link is resolved and its target
//! replaced, so the link stays a link.

use std::collections::hash_map::RandomState;
use std::ffi::OsStr;
use std::fs::{self, File};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{AtFlags, Mode, OFlags};

/// Symlinks followed at most when resolving the target (as the kernel's `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// Names tried for the temporary file before giving up (each is random, so a clash means
/// someone is placing files there).
const TEMP_ATTEMPTS: usize = 16;

/// Writes `bytes` to `path` through a temporary file in the target's folder and a rename.
///
/// The file gets `mode` (for example `0o600`); the temporary file is created with that mode, so
/// the content is never readable by others, not even for a moment. When `path` is a symlink,
/// its final target is written and the link is kept.
pub(crate) fn write(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let target = resolve_links(path)?;
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let folder = open_dir(dir)?;
    write_in(&folder, name, bytes, mode)
}

/// Writes `bytes` to the entry `name` of the open folder `dir` (a file descriptor opened
/// read-only on a directory) as [`write`] does, without resolving anything: the rename
/// replaces whatever `name` is, a symlink included.
pub(crate) fn write_in(dir: impl AsFd, name: &OsStr, bytes: &[u8], mode: u32) -> io::Result<()> {
    write_in_with(dir.as_fd(), name, bytes, mode, random_temp_name)
}

/// [`write_in`] with the temporary names coming from `temp_name` (called with the target's
/// name until a name is free).
fn write_in_with(
    dir: std::os::fd::BorrowedFd<'_>,
    name: &OsStr,
    bytes: &[u8],
    mode: u32,
    mut temp_name: impl FnMut(&OsStr) -> Vec<u8>,
) -> io::Result<()> {
    if name.is_empty() || name.as_bytes().contains(&b'/') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a plain file name",
        ));
    }
    let (temp, file) = create_temp(dir, name, mode, &mut temp_name)?;
    let result = (|| {
        let mut file = file;
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        rustix::fs::renameat(dir, &temp[..], dir, name)?;
        // The rename itself reaches the disk only when the folder is synced.
        rustix::fs::fsync(dir)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = rustix::fs::unlinkat(dir, &temp[..], AtFlags::empty());
    }
    result
}

/// Creates the temporary file exclusively, never through a symlink, trying fresh names while
/// one is taken.
fn create_temp(
    dir: std::os::fd::BorrowedFd<'_>,
    name: &OsStr,
    mode: u32,
    temp_name: &mut impl FnMut(&OsStr) -> Vec<u8>,
) -> io::Result<(Vec<u8>, File)> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut last = None;
    for _ in 0..TEMP_ATTEMPTS {
        let temp = temp_name(name);
        match rustix::fs::openat(dir, &temp[..], flags, Mode::from_raw_mode(mode & 0o7777)) {
            Ok(fd) => return Ok((temp, File::from(fd))),
            Err(rustix::io::Errno::EXIST) => last = Some(rustix::io::Errno::EXIST),
            Err(error) => return Err(error.into()),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!(
            "no free temporary name beside {} after {TEMP_ATTEMPTS} tries ({})",
            name.to_string_lossy(),
            last.map(io::Error::from)
                .map(|e| e.to_string())
                .unwrap_or_default()
        ),
    ))
}

/// `.<name>.<16 random hex digits>.tmp`: hidden, and not guessable in advance.
fn random_temp_name(name: &OsStr) -> Vec<u8> {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(SEQUENCE.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    let mut temp = b".".to_vec();
    temp.extend_from_slice(name.as_bytes());
    temp.extend_from_slice(format!(".{:016x}.tmp", hasher.finish()).as_bytes());
    temp
}

/// Opens a folder for `*at` calls and `fsync`.
pub(crate) fn open_dir(dir: &Path) -> io::Result<rustix::fd::OwnedFd> {
    Ok(rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// `path` with every symlink in its last component followed (a missing file is its own
/// target, so a new file is created where `path` says).
pub(crate) fn resolve_links(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_owned();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = fs::read_link(&current)?;
                current = match current.parent() {
                    Some(parent) if link.is_relative() => parent.join(link),
                    _ => link,
                };
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{}: too many levels of symbolic links", path.display()),
    ))
}

/// The permission bits of `path` (of its target, when it is a symlink), if it exists.
pub(crate) fn mode_of(path: &Path) -> Option<u32> {
    fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn replaces_content_with_the_given_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        write(&path, b"one", 0o600).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"one");
        assert_eq!(mode_of(&path), Some(0o600));
        write(&path, b"two", 0o644).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(mode_of(&path), Some(0o644));
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1);
    }

    #[test]
    fn a_symlink_placed_at_the_temporary_name_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "precious").unwrap();
        let trap = b".config.yaml.trap.tmp".to_vec();
        symlink(&victim, dir.path().join(OsStr::from_bytes(&trap))).unwrap();
        let folder = open_dir(dir.path()).unwrap();
        let mut names = vec![b".config.yaml.fresh.tmp".to_vec(), trap.clone()];
        write_in_with(
            folder.as_fd(),
            OsStr::new("config.yaml"),
            b"new",
            0o600,
            |_| names.pop().unwrap(),
        )
        .unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(
            fs::read_to_string(dir.path().join("config.yaml")).unwrap(),
            "new"
        );
        let link = dir.path().join(OsStr::from_bytes(&trap));
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(
            names.is_empty(),
            "the taken name was skipped for a fresh one"
        );
    }

    #[test]
    fn temporary_names_differ_every_time() {
        let a = random_temp_name(OsStr::new("c.yaml"));
        let b = random_temp_name(OsStr::new("c.yaml"));
        assert_ne!(a, b);
        assert!(a.starts_with(b".c.yaml.") && a.ends_with(b".tmp"));
    }

    #[test]
    fn a_symlinked_file_is_written_through_and_stays_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("dotfiles");
        fs::create_dir(&real).unwrap();
        fs::write(real.join("config.yaml"), "old").unwrap();
        fs::set_permissions(real.join("config.yaml"), fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("config.yaml");
        // Two hops, the first relative.
        symlink("middle.yaml", &link).unwrap();
        symlink(real.join("config.yaml"), dir.path().join("middle.yaml")).unwrap();
        let mode = mode_of(&link).unwrap();
        write(&link, b"new", mode).unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(real.join("config.yaml")).unwrap(), "new");
        assert_eq!(mode_of(&real.join("config.yaml")), Some(0o640));
        let beside: Vec<_> = fs::read_dir(&real).unwrap().collect();
        assert_eq!(
            beside.len(),
            1,
            "the temporary was created beside the target"
        );
    }
}
