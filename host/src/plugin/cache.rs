//! The on-disk cache of compiled components (`plugins.cache-dir`).
//!
//! A component is compiled once per content: the artifact is stored under a name made of
//! the SHA-256 of the component bytes, the wasmtime version and a hash of the engine's
//! compilation settings, so another wasmtime or another engine setting never loads a stale
//! artifact. Files are written to a temporary name and renamed into place, end with the
//! SHA-256 of the artifact, and live in a folder of mode 0700. An entry that is unreadable,
//! truncated or rejected by wasmtime is compiled again and rewritten.

mod artifact;

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
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

    /// The component of a valid entry at `path`; an invalid entry is removed.
    fn load(&self, engine: &Engine, path: &Path) -> Option<Component> {
        let data = std::fs::read(path).ok()?;
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

/// Creates `dir` (and its parents) and makes it private to this user (0700).
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
        if mode != 0o700 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
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
