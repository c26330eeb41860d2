//! Whether a file of a trusted folder (the plugins folder, the compiled-component cache) may be
//! trusted: not writable by group or others, and (for the cache) owned by the proxy's user.
//! The files themselves are opened beneath their folder with [`crate::confined_dir`].

use std::os::unix::fs::MetadataExt;

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
