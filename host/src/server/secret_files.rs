//! The start-up check of the files that hold secrets: `config.yaml` (upstream keys,
//! the management hash) and the auth files. Each one the group or others may read gets one
//! warning naming the file and its mode; nothing is changed or refused.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::credential::file_store::{self, FileStore};

/// Files holding secrets that the group or others may read, with their permission bits:
/// `config` (when given) and the auth files of `auth_dir` (when given).
pub(crate) fn readable_by_others(
    config: Option<&Path>,
    auth_dir: Option<&Path>,
) -> Vec<(PathBuf, u32)> {
    let mut exposed = Vec::new();
    if let Some(config) = config
        && let Ok(meta) = std::fs::metadata(config)
    {
        let mode = meta.permissions().mode() & 0o7777;
        if file_store::readable_by_others(mode) {
            exposed.push((config.to_owned(), mode));
        }
    }
    if let Some(dir) = auth_dir {
        exposed.extend(FileStore::new(dir).readable_by_others().unwrap_or_default());
    }
    exposed
}

/// The warning for one such file.
pub(crate) fn warning(path: &Path, mode: u32) -> String {
    format!(
        "{} holds secrets and is readable by group or others (mode {mode:04o}); chmod 600 it",
        path.display()
    )
}

/// Logs one warning per file holding secrets that the group or others may read.
pub(crate) fn warn_readable(config: Option<&Path>, auth_dir: Option<&Path>) {
    for (path, mode) in readable_by_others(config, auth_dir) {
        tracing::warn!(file = %path.display(), mode = format!("{mode:04o}"), "{}", warning(&path, mode));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn with_mode(path: &Path, mode: u32) {
        fs::write(path, "{}").unwrap();
        // Explicit, whatever the umask.
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn files_others_can_read_are_named_with_their_mode() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.yaml");
        let auths = dir.path().join("auths");
        fs::create_dir(&auths).unwrap();
        with_mode(&config, 0o644);
        with_mode(&auths.join("private.json"), 0o600);
        with_mode(&auths.join("group.json"), 0o640);
        with_mode(&auths.join("notes.txt"), 0o644);
        let found = readable_by_others(Some(&config), Some(&auths));
        assert_eq!(
            found,
            [(config.clone(), 0o644), (auths.join("group.json"), 0o640)]
        );
        let message = warning(&config, 0o644);
        assert!(message.contains(&*config.to_string_lossy()), "{message}");
        assert!(message.contains("mode 0644"), "{message}");
        fs::set_permissions(&config, fs::Permissions::from_mode(0o600)).unwrap();
        fs::set_permissions(auths.join("group.json"), fs::Permissions::from_mode(0o600)).unwrap();
        assert!(readable_by_others(Some(&config), Some(&auths)).is_empty());
        assert!(readable_by_others(None, Some(&dir.path().join("missing"))).is_empty());
    }
}
