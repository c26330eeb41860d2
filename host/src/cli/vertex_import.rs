//! `switchyard vertex-import KEY.json [--prefix P] [--location L]`: turns a Google
//! service-account JSON key into a Vertex auth file `vertex-<project>.json` in the config's
//! `auth-dir` (mode 0600, written atomically), and prints the file's path.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::confined_dir::ConfinedDir;
use crate::credential::file_store;
use crate::credential::vertex_file;

/// The largest key file read: Google's keys are a few KiB.
const MAX_KEY_BYTES: u64 = 1 << 20;

/// The arguments of `vertex-import`.
#[derive(Debug, clap::Args)]
pub(super) struct ImportArgs {
    /// The service-account JSON key, as Google Cloud downloads it.
    key: PathBuf,
    /// The model namespace of the credential (`prefix/model`).
    #[arg(long)]
    prefix: Option<String>,
    /// The Vertex location (region), such as `us-central1` (the default) or `global`.
    #[arg(long)]
    location: Option<String>,
}

/// Writes the auth file into the `auth-dir` of the config at `config` and prints its path.
pub(super) fn run(args: ImportArgs, config: &Path) -> Result<(), String> {
    let loaded = Config::load(config).map_err(|e| e.to_string())?;
    let key = read_key(&args.key)?;
    let imported = vertex_file::import(&key, args.prefix.as_deref(), args.location.as_deref())
        .map_err(|e| format!("{}: {e}", args.key.display()))?;
    let dir = &loaded.config.auth_dir;
    let path = dir.join(&imported.file_name);
    let write = || -> std::io::Result<()> {
        file_store::ensure_private_dir(dir)?;
        ConfinedDir::open(dir)?.write(imported.file_name.as_ref(), &imported.bytes, 0o600)
    };
    write().map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("{}", path.display());
    Ok(())
}

/// Reads the key file, at most [`MAX_KEY_BYTES`].
fn read_key(path: &Path) -> Result<Vec<u8>, String> {
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(cannot)?
        .take(MAX_KEY_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_KEY_BYTES {
        return Err(format!(
            "{}: larger than {} KiB, not a service-account key",
            path.display(),
            MAX_KEY_BYTES >> 10
        ));
    }
    Ok(bytes)
}
