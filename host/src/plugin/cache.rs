//! The on-disk cache of compiled components (`plugins.cache-dir`).
//!
//! A component is compiled once per content: the artifact is stored under a name made of
//! the SHA-256 of the component bytes, the wasmtime version and a hash of the engine's
//! compilation settings, so another wasmtime or another engine setting never loads a stale
//! artifact. Files are written to a temporary name and renamed into place, end with the
//! SHA-256 of the artifact, and live in a folder of mode 0700. An entry that is unreadable,
//! truncated or rejected by wasmtime is compiled again and rewritten.
//!
//! Loading an entry runs its machine code, so the folder must be the proxy user's alone: a
//! folder not owned by that user, or writable by group or others, is refused (the host does
//! not start); an entry that is a symlink out of the folder, not owned by that user, or
//! writable by group or others is ignored and compiled again.

mod artifact;

use std::hash::{Hash, Hasher};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::Engine;

use super::file_trust;
use crate::confined_dir::ConfinedDir;
use wasmtime::component::Component;

/// Length of the digest trailer of a cache file.
const TRAILER: usize = 32;

/// A compiled-component cache folder.
#[derive(Debug)]
pub(crate) struct ComponentCache {
    dir: PathBuf,
    /// `<wasmtime version>-<engine settings hash>`: the part of every entry name that is not
    /// the content hash.
    engine_key: String,
}

/// Whether a component came from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compiled {
    /// Loaded from a cache entry.
    Cached,
    /// Compiled now (and stored, when a cache is configured).
    Fresh,
}

impl ComponentCache {
    /// Opens (creating it with mode 0700 if needed) the cache folder `dir` for `engine`.
    pub(crate) fn open(dir: &Path, engine: &Engine) -> std::io::Result<ComponentCache> {
        create_private_dir(dir)?;
        let mut hasher = DigestHasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let settings = hex::encode(&hasher.0.finalize()[..8]);
        Ok(ComponentCache {
            dir: dir.to_owned(),
            engine_key: format!("{}-{settings}", env!("SWITCHYARD_WASMTIME_VERSION")),
        })
    }

    /// The compiled form of the component `bytes` (whose SHA-256 is `content_hash`), from
    /// the cache when a valid entry exists, else compiled and stored.
    pub(crate) fn load_or_compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        content_hash: &[u8; 32],
    ) -> wasmtime::Result<(Component, Compiled)> {
        let path = self.entry_path(content_hash);
        if let Some(component) = self.load(engine, &path) {
            return Ok((component, Compiled::Cached));
        }
        let artifact = engine.precompile_component(bytes)?;
        if let Err(error) = self.store(&path, &artifact) {
            tracing::warn!(path = %path.display(), %error, "could not write the compiled-component cache");
        }
        Ok((artifact::deserialize(engine, &artifact)?, Compiled::Fresh))
    }

    /// The file of the entry for `content_hash`.
    pub(crate) fn entry_path(&self, content_hash: &[u8; 32]) -> PathBuf {
        self.dir.join(format!(
            "{}-{}.cwasm",
            hex::encode(content_hash),
            self.engine_key
        ))
    }

    /// The component of a valid entry at `path`; an invalid entry is removed, one that is
    /// not trusted (see the module doc) is ignored.
    fn load(&self, engine: &Engine, path: &Path) -> Option<Component> {
        let data = match read_trusted(&self.dir, path) {
            Ok(data) => data?,
            Err(reason) => {
                tracing::warn!(path = %path.display(), "ignoring a compiled-component cache entry: {reason}");
                return None;
            }
        };
        let valid = data.len() > TRAILER && {
            let (artifact, digest) = data.split_at(data.len() - TRAILER);
            Sha256::digest(artifact).as_slice() == digest
        };
        let component = if valid {
            artifact::deserialize(engine, &data[..data.len() - TRAILER]).ok()
        } else {
            None
        };
        if component.is_none() {
            tracing::warn!(path = %path.display(), "discarding an invalid compiled-component cache entry");
            let _ = std::fs::remove_file(path);
        }
        component
    }

    /// Writes `artifact` and its digest to `path` atomically (temporary file, then rename).
    fn store(&self, path: &Path, artifact: &[u8]) -> std::io::Result<()> {
        static SEQUENCE: AtomicU64 = AtomicU64::new(0);
        let temporary = self.dir.join(format!(
            ".tmp-{}-{}",
            std::process::id(),
            SEQUENCE.fetch_add(1, Ordering::Relaxed)
        ));
        let result = (|| {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&temporary)?;
            file.write_all(artifact)?;
            file.write_all(&Sha256::digest(artifact))?;
            file.sync_all()?;
            std::fs::rename(&temporary, path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        result
    }
}

/// The bytes of the entry `path` in the cache folder `dir`, opened beneath it: `Ok(None)` when
/// there is none, `Err` why it is not trusted.
fn read_trusted(dir: &Path, path: &Path) -> Result<Option<Vec<u8>>, String> {
    let Some(name) = path.file_name() else {
        return Ok(None);
    };
    let confined = ConfinedDir::open(dir).map_err(|e| e.to_string())?;
    let file = match confined.open_file(name) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error.to_string()),
    };
    let metadata = file.metadata().map_err(|e| e.to_string())?;
    if !metadata.is_file() {
        return Err("not a regular file".to_owned());
    }
    file_trust::owned_by_us(&metadata, "the entry")?;
    file_trust::not_shared_writable(&metadata, "the entry")?;
    let mut data = Vec::with_capacity(metadata.len() as usize);
    (&file).read_to_end(&mut data).map_err(|e| e.to_string())?;
    Ok(Some(data))
}

/// Creates `dir` (and its parents) and makes it private to this user (0700). A folder owned by
/// another user, or writable by group or others, is refused.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    let metadata = std::fs::metadata(dir)?;
    file_trust::owned_by_us(&metadata, "the folder")
        .and_then(|()| file_trust::not_shared_writable(&metadata, "the folder"))
        .map_err(std::io::Error::other)?;
    if metadata.permissions().mode() & 0o777 != 0o700 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Feeds `Hash` input into SHA-256, for a hash that is stable across processes.
struct DigestHasher(Sha256);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes(digest[..8].try_into().unwrap())
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}
