//! Opening files of a trusted folder (the plugins folder, the compiled-component cache)
//! without following a symlink out of it, and the mode and ownership checks on what is opened.
//!
//! A name is resolved beneath the folder's descriptor with `openat2(RESOLVE_BENEATH |
//! RESOLVE_NO_MAGICLINKS)`: a symlink that stays inside the folder works (a Kubernetes-mounted
//! volume), one that leaves it (an absolute target, `..`) is refused. On a kernel without
//! `openat2` (before 5.6) the last component is opened with `O_NOFOLLOW` instead, which refuses
//! every symlink.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use rustix::fs::{Mode, OFlags, ResolveFlags};

/// Opens the folder `dir` (following a symlink in its own path: the operator named it).
pub(crate) fn open_dir(dir: &Path) -> std::io::Result<OwnedFd> {
    Ok(rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// Opens `name` beneath the folder `dir` for reading.
pub(crate) fn open_beneath(dir: &OwnedFd, name: &Path) -> std::io::Result<File> {
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK;
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
    let fd = match rustix::fs::openat2(dir, name, flags, Mode::empty(), resolve) {
        Err(rustix::io::Errno::NOSYS) => {
            rustix::fs::openat(dir, name, flags | OFlags::NOFOLLOW, Mode::empty())?
        }
        Err(rustix::io::Errno::XDEV) => {
            return Err(std::io::Error::other(
                "is a symlink that leads out of its folder",
            ));
        }
        other => other?,
    };
    Ok(File::from(fd))
}

/// `Err` naming the mode when `metadata` is writable by group or others; `what` names it
/// ("the plugins folder /x", "the file").
pub(crate) fn not_shared_writable(metadata: &std::fs::Metadata, what: &str) -> Result<(), String> {
    let mode = metadata.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(format!(
            "{what} is writable by group or others (mode {mode:04o}): refused; make it writable by its owner only (chmod go-w)"
        ));
    }
    Ok(())
}

/// `Err` when `metadata` is not owned by the user this process runs as.
pub(crate) fn owned_by_us(metadata: &std::fs::Metadata, what: &str) -> Result<(), String> {
    let us = rustix::process::geteuid().as_raw();
    if metadata.uid() != us {
        return Err(format!(
            "{what} is owned by uid {}, not by the proxy's user (uid {us}): refused",
            metadata.uid()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn symlinks_inside_work_symlinks_out_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("d");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("a"), b"inside").unwrap();
        std::fs::write(root.path().join("secret"), b"outside").unwrap();
        std::os::unix::fs::symlink("a", dir.join("in")).unwrap();
        std::os::unix::fs::symlink(root.path().join("secret"), dir.join("out")).unwrap();
        std::os::unix::fs::symlink("../secret", dir.join("up")).unwrap();
        let fd = open_dir(&dir).unwrap();
        let read = |name: &str| {
            open_beneath(&fd, Path::new(name))
                .map(|f| std::io::read_to_string(f).unwrap())
                .map_err(|e| e.to_string())
        };
        assert_eq!(read("a").unwrap(), "inside");
        assert_eq!(read("in").unwrap(), "inside");
        assert!(read("out").is_err());
        assert!(read("up").is_err());
    }

    #[test]
    fn writable_by_others_is_refused_naming_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        for (mode, refused) in [(0o600, false), (0o644, false), (0o664, true), (0o606, true)] {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
            let result = not_shared_writable(&std::fs::metadata(&file).unwrap(), "the file");
            assert_eq!(result.is_err(), refused, "{mode:o}");
            if let Err(message) = result {
                assert!(message.contains(&format!("mode {mode:04o}")), "{message}");
            }
        }
        assert!(owned_by_us(&std::fs::metadata(&file).unwrap(), "the file").is_ok());
    }
}
