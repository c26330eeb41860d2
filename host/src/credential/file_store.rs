//! Credentials as JSON files directly inside `auth-dir`.
//!
//! `type` `claude`, `codex`, `gemini` and `openai-compatibility` (with `base_url`) carrying an
//! `api_key`, an `access_token` or an `oauth2` object (see `oauth_file`) are used, and `vertex`
//! service accounts (see `vertex_file`); the reference's OAuth kinds are reported as unsupported.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use std::sync::atomic::{AtomicUsize, Ordering};

use http::{HeaderName, HeaderValue};
use parking_lot::{Mutex, MutexGuard, RwLock};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use url::Url;

use super::{Credential, CredentialId, CredentialSource, ProviderKind, Secret, index_of};
use crate::config::{
    CompatProtocol, DEFAULT_CREDENTIAL_WEIGHT, MAX_CREDENTIAL_WEIGHT, ModelAlias, ProxyUrl,
};
use crate::confined_dir::{ConfinedDir, EntryKind};

/// Legacy dash keys renamed to snake_case on load and save; an existing snake_case key wins.
const LEGACY_KEYS: &[(&str, &str)] = &[
    ("api-key", "api_key"),
    ("base-url", "base_url"),
    ("disable-cooling", "disable_cooling"),
    ("excluded-models", "excluded_models"),
    ("proxy-url", "proxy_url"),
    ("request-retry", "request_retry"),
];

/// Errors of the file store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The credential has nothing to write (it did not come from a file).
    #[error("nothing to persist for {0}")]
    NothingToPersist(CredentialId),
    /// Reading or writing failed.
    #[error("auth file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The id is empty or escapes the folder.
    #[error("invalid credential id {0:?}")]
    InvalidId(String),
}

/// The credentials one listing found: what [`crate::CredentialStore::list`] returns.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct CredentialListing {
    /// Usable credentials, by file name.
    pub credentials: Vec<Credential>,
    /// Files skipped, each with the reason (unsupported type, bad JSON, missing secret).
    pub skipped: Vec<(PathBuf, String)>,
    /// SHA-256 over every file's name and content: equal when nothing changed.
    pub fingerprint: [u8; 32],
}

/// The `auth-dir` folder.
///
/// The runtime holds one store (`Runtime::auth_files`) whose folder follows `auth-dir` across
/// reloads, so every write of the management API goes through one lock: writes of one file
/// never interleave. Reads take no lock.
#[derive(Debug)]
pub struct FileStore {
    dir: RwLock<PathBuf>,
    writes: WriteLock,
}

/// Serialises a store's writes, and counts those waiting.
#[derive(Debug, Default)]
struct WriteLock {
    lock: Mutex<()>,
    waiting: AtomicUsize,
}

impl WriteLock {
    fn lock(&self) -> MutexGuard<'_, ()> {
        if let Some(guard) = self.lock.try_lock() {
            return guard;
        }
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let guard = self.lock.lock();
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        guard
    }
}

impl FileStore {
    /// A store over `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileStore {
            dir: RwLock::new(dir.into()),
            writes: WriteLock::default(),
        }
    }

    /// The folder.
    pub fn dir(&self) -> PathBuf {
        self.dir.read().clone()
    }

    /// Moves the store to `dir` (a reload changed `auth-dir`); writes in progress finish in
    /// the folder they started in.
    pub fn set_dir(&self, dir: impl Into<PathBuf>) {
        *self.dir.write() = dir.into();
    }

    /// Runs `write` with the store's write lock held, after every other write of the store
    /// and before the next: for writes the store has no method for (an uploaded file, a
    /// removal). `write` gets the folder. Blocks: call it off the async runtime.
    pub fn locked<T>(&self, write: impl FnOnce(&Path) -> T) -> T {
        let _guard = self.writes.lock();
        write(&self.dir())
    }

    /// Holds the write lock until the guard is dropped: the store's writes wait meanwhile.
    pub fn lock_writes(&self) -> MutexGuard<'_, ()> {
        self.writes.lock()
    }

    /// Writes waiting for the write lock at this moment.
    pub fn writes_waiting(&self) -> usize {
        self.writes.waiting.load(Ordering::SeqCst)
    }

    /// Creates the folder with mode 0700 when it is missing.
    pub fn ensure_dir(&self) -> io::Result<()> {
        ensure_private_dir(&self.dir())
    }

    /// Every `*.json` file directly inside the folder, parsed. A missing folder lists nothing.
    ///
    /// Files are opened beneath the folder ([`ConfinedDir`]): a symlink that stays inside it
    /// is read, one that leads outside is skipped with the reason (and never read).
    pub fn list(&self) -> io::Result<CredentialListing> {
        let mut listing = CredentialListing::default();
        let folder = self.dir();
        let dir = match ConfinedDir::open(&folder) {
            Ok(dir) => dir,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(listing),
            Err(e) => return Err(e),
        };
        let mut fingerprint = Sha256::new();
        for name in json_names(&dir)? {
            let path = folder.join(&name);
            let read = dir.read(&name);
            fingerprint.update(path.as_os_str().as_encoded_bytes());
            fingerprint.update([0]);
            if let Ok(bytes) = &read {
                fingerprint.update(Sha256::digest(bytes));
            }
            match read {
                Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => {}
                Ok(bytes) => match parse_file(&path, &bytes) {
                    Ok(credential) => listing.credentials.push(credential),
                    Err(reason) => listing.skipped.push((path, reason)),
                },
                Err(e) => listing.skipped.push((path, e.to_string())),
            }
        }
        listing.fingerprint = fingerprint.finalize().into();
        Ok(listing)
    }

    /// The auth files (as [`FileStore::list`] finds them) that the group or others may read,
    /// with their permission bits. Files that cannot be opened are left out.
    pub fn readable_by_others(&self) -> io::Result<Vec<(PathBuf, u32)>> {
        let folder = self.dir();
        let dir = match ConfinedDir::open(&folder) {
            Ok(dir) => dir,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut exposed = Vec::new();
        for name in json_names(&dir)? {
            let Ok(meta) = dir.open_file(&name).and_then(|f| f.metadata()) else {
                continue;
            };
            let mode = meta.permissions().mode() & 0o7777;
            if readable_by_others(mode) {
                exposed.push((folder.join(&name), mode));
            }
        }
        Ok(exposed)
    }

    /// Writes a file credential back: its metadata with `disabled` set. Unchanged JSON (compared
    /// semantically) leaves the file untouched; a disabled credential whose file is gone is not
    /// re-created (returns `None`). New files get mode 0600; the write is atomic.
    pub fn save(&self, credential: &Credential) -> Result<Option<PathBuf>, StoreError> {
        let Some(metadata) = &credential.metadata else {
            return Err(StoreError::NothingToPersist(credential.id.clone()));
        };
        let _guard = self.writes.lock();
        let folder = self.dir();
        let path = path_of(&folder, credential)?;
        let name = path
            .file_name()
            .filter(|_| path.parent() == Some(folder.as_path()))
            .ok_or_else(|| StoreError::InvalidId(path.display().to_string()))?
            .to_owned();
        let io_error = |source| StoreError::Io {
            path: path.clone(),
            source,
        };
        let dir = match ConfinedDir::open(&folder) {
            Ok(dir) => Some(dir),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_error(e)),
        };
        let current = match dir.as_ref().map(|d| d.open_file(&name)) {
            None => None,
            Some(Err(e)) if e.kind() == io::ErrorKind::NotFound => None,
            Some(Err(e)) => return Err(io_error(e)),
            Some(Ok(file)) => Some(file),
        };
        if credential.disabled && current.is_none() {
            return Ok(None);
        }
        let mut metadata = metadata.clone();
        normalize_legacy_keys(&mut metadata);
        metadata.insert("disabled".to_owned(), Value::Bool(credential.disabled));
        let bytes = serde_json::to_vec(&metadata).expect("JSON maps serialize");
        let mode = match current {
            Some(mut file) => {
                let mut text = Vec::new();
                file.read_to_end(&mut text).map_err(io_error)?;
                if json_equal_bytes(&text, &bytes) || holds_later_token_set(&text, &metadata) {
                    return Ok(Some(path));
                }
                file.metadata().map_err(io_error)?.permissions().mode() & 0o7777
            }
            None => 0o600,
        };
        let dir = match dir {
            Some(dir) => dir,
            None => {
                ensure_private_dir(&folder).map_err(io_error)?;
                ConfinedDir::open(&folder).map_err(io_error)?
            }
        };
        dir.write(&name, &bytes, mode).map_err(io_error)?;
        Ok(Some(path))
    }

    /// Removes the file of `id`; a missing file is not an error. A symlink leading outside the
    /// folder is refused (and kept).
    pub fn delete(&self, id: &str) -> Result<(), StoreError> {
        let _guard = self.writes.lock();
        let folder = self.dir();
        let path = path_for_id(&folder, id)?;
        let result = ConfinedDir::open(&folder)
            .and_then(|dir| dir.remove(path.file_name().unwrap_or_default()));
        match result {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StoreError::Io { path, source }),
        }
    }
}

/// Whether the file `text` holds an `oauth2` token set that expires later than the one in
/// `metadata`: a set learned late must not replace a newer one another process wrote.
fn holds_later_token_set(text: &[u8], metadata: &Map<String, Value>) -> bool {
    let expiry = |oauth2: Option<&Value>| {
        oauth2
            .and_then(Value::as_object)
            .and_then(|fields| super::oauth_file::expires_at(fields).ok())
    };
    let Ok(Value::Object(current)) = serde_json::from_slice::<Value>(text) else {
        return false;
    };
    match (
        expiry(current.get("oauth2")),
        expiry(metadata.get("oauth2")),
    ) {
        (Some(on_disk), Some(saved)) => on_disk > saved,
        _ => false,
    }
}

/// Creates `dir` with mode 0700 when it is missing.
pub(crate) fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Where `credential` is written in `folder`.
fn path_of(folder: &Path, credential: &Credential) -> Result<PathBuf, StoreError> {
    match &credential.source {
        CredentialSource::File { path } => Ok(path.clone()),
        CredentialSource::Config { .. } | CredentialSource::Store => {
            path_for_id(folder, credential.id.as_str())
        }
    }
}

/// The file of the credential `id` in `folder`: a plain name, no folders.
fn path_for_id(folder: &Path, id: &str) -> Result<PathBuf, StoreError> {
    let id = id.trim();
    if id.is_empty() || id.contains('/') || id.contains('\\') || id == "." || id == ".." {
        return Err(StoreError::InvalidId(id.to_owned()));
    }
    Ok(folder.join(id))
}

/// The names of the folder's `*.json` files and symlinks (any case), sorted.
pub(crate) fn json_names(dir: &ConfinedDir) -> io::Result<Vec<OsString>> {
    Ok(dir
        .entries()?
        .into_iter()
        .filter(|e| matches!(e.kind, EntryKind::File | EntryKind::Symlink))
        .filter(|e| {
            Path::new(&e.name)
                .extension()
                .is_some_and(|ext| ext.eq_ignore_ascii_case("json"))
        })
        .map(|e| e.name)
        .collect())
}

/// Whether permission bits let the group or others read the file.
pub(crate) fn readable_by_others(mode: u32) -> bool {
    mode & 0o044 != 0
}

/// Parses one auth file into a credential, or says why it is skipped.
pub(crate) fn parse_file(path: &Path, bytes: &[u8]) -> Result<Credential, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}"))?;
    let Value::Object(mut metadata) = value else {
        return Err("not a JSON object".to_owned());
    };
    normalize_legacy_keys(&mut metadata);
    let kind = string_field(&metadata, "type").to_ascii_lowercase();
    let provider = ProviderKind::from_type(&kind).ok_or_else(|| {
        if kind.is_empty() {
            "missing type".to_owned()
        } else {
            format!("unsupported type {kind:?} (switchyard uses claude, codex, gemini, openai-compatibility and vertex)")
        }
    })?;
    let vertex = super::vertex_file::read(provider, &metadata)?;
    let secret = match (string_field(&metadata, "api_key"), access_token(&metadata)) {
        _ if let Some(vertex) = &vertex => vertex.secret.clone(),
        (key, _) if !key.is_empty() && metadata.contains_key("oauth2") => {
            return Err("both api_key and oauth2: keep one".to_owned());
        }
        _ if metadata.contains_key("oauth2") => Secret::Managed(std::sync::Arc::new(
            super::oauth_file::token_source(&metadata["oauth2"])?,
        )),
        (key, _) if !key.is_empty() => Secret::ApiKey(key),
        (_, token) if !token.is_empty() => Secret::AccessToken(token),
        _ if provider == ProviderKind::OpenAiCompatibility => Secret::None,
        _ => return Err("no api_key, access_token or oauth2".to_owned()),
    };
    let base_url = match string_field(&metadata, "base_url") {
        _ if let Some(vertex) = &vertex => vertex.base_url.clone(),
        text if !text.is_empty() => {
            Url::parse(text.trim_end_matches('/')).map_err(|e| format!("base_url: {e}"))?
        }
        _ => match provider.default_base_url() {
            Some(default) => Url::parse(default).expect("built-in base URLs parse"),
            None => return Err("openai-compatibility needs base_url".to_owned()),
        },
    };
    let prefix = string_field(&metadata, "prefix")
        .trim_matches('/')
        .to_owned();
    if prefix.contains('/') {
        return Err("prefix must not contain '/'".to_owned());
    }
    let proxy_url = match string_field(&metadata, "proxy_url").as_str() {
        "" => None,
        "direct" | "none" => Some(ProxyUrl::Direct),
        text => Some(ProxyUrl::Via(
            Url::parse(text).map_err(|e| format!("proxy_url: {e}"))?,
        )),
    };
    let id = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let label = ["label", "email", "project_id"]
        .iter()
        .map(|k| string_field(&metadata, k))
        .find(|v| !v.is_empty())
        .unwrap_or_else(|| provider.as_str().to_owned());
    let mut attributes = BTreeMap::from([
        ("path".to_owned(), path.display().to_string()),
        ("source".to_owned(), path.display().to_string()),
        ("source_backend".to_owned(), "file".to_owned()),
    ]);
    for key in ["email", "note"] {
        let value = string_field(&metadata, key);
        if !value.is_empty() {
            attributes.insert(key.to_owned(), value);
        }
    }
    Ok(Credential {
        index: index_of(&id),
        id: CredentialId::new(id),
        provider,
        compat_name: match string_field(&metadata, "name") {
            name if provider == ProviderKind::OpenAiCompatibility && !name.is_empty() => Some(name),
            _ => None,
        },
        label,
        prefix: (!prefix.is_empty()).then_some(prefix),
        priority: int_field(&metadata, "priority").unwrap_or(0) as i32,
        weight: weight_field(&metadata)?,
        disabled: metadata
            .get("disabled")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        base_url,
        secret,
        headers: headers(&metadata),
        models: models(&metadata),
        excluded_models: metadata
            .get("excluded_models")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(Value::as_str)
                    .map(|m| m.trim().to_ascii_lowercase())
                    .filter(|m| !m.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        proxy_url,
        source: CredentialSource::File {
            path: path.to_owned(),
        },
        request_retry: int_field(&metadata, "request_retry")
            .filter(|n| *n >= 0)
            .map(|n| n as u32),
        disable_cooling: bool_field(&metadata, "disable_cooling"),
        attributes,
        compat_protocol: match string_field(&metadata, "protocol").as_str() {
            "" => CompatProtocol::default(),
            text => CompatProtocol::parse(text)
                .ok_or_else(|| format!("protocol {text:?}: expected chat, responses or both"))?,
        },
        metadata: Some(metadata),
        vertex: vertex.map(|vertex| vertex.target),
        urls: Default::default(),
        auth_header: Default::default(),
    })
}

/// Renames legacy dash keys to snake_case; an existing snake_case key wins.
fn normalize_legacy_keys(metadata: &mut Map<String, Value>) {
    for (legacy, canonical) in LEGACY_KEYS {
        if let Some(value) = metadata.remove(*legacy) {
            metadata.entry(canonical.to_string()).or_insert(value);
        }
    }
}

fn string_field(metadata: &Map<String, Value>, key: &str) -> String {
    match metadata.get(key) {
        Some(Value::String(s)) => s.trim().to_owned(),
        _ => String::new(),
    }
}

/// The top-level `access_token`, else `token.access_token`.
fn access_token(metadata: &Map<String, Value>) -> String {
    let top = string_field(metadata, "access_token");
    if !top.is_empty() {
        return top;
    }
    match metadata.get("token") {
        Some(Value::Object(token)) => string_field(token, "access_token"),
        _ => String::new(),
    }
}

/// An int, or a number or string that parses as one.
fn int_field(metadata: &Map<String, Value>, key: &str) -> Option<i64> {
    match metadata.get(key)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The file's `weight`: absent or `null` is 1; otherwise an integer (a JSON number without a
/// fraction, or a string of digits) from 0 to [`MAX_CREDENTIAL_WEIGHT`], else the reason the
/// file is not used.
pub(crate) fn weight_field(metadata: &Map<String, Value>) -> Result<u32, String> {
    let value = match metadata.get("weight") {
        None | Some(Value::Null) => return Ok(DEFAULT_CREDENTIAL_WEIGHT),
        Some(value) => value,
    };
    let parsed = match value {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() <= MAX_CREDENTIAL_WEIGHT as f64)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    parsed
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n <= MAX_CREDENTIAL_WEIGHT)
        .ok_or_else(|| {
            format!("weight {value} is not an integer from 0 to {MAX_CREDENTIAL_WEIGHT}")
        })
}

/// A bool, a bool-like string, or a number.
fn bool_field(metadata: &Map<String, Value>, key: &str) -> Option<bool> {
    match metadata.get(key)? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Some(true),
            "false" | "0" | "no" | "off" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn headers(metadata: &Map<String, Value>) -> Vec<(HeaderName, HeaderValue)> {
    let Some(Value::Object(map)) = metadata.get("headers") else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(name, value)| {
            let name = HeaderName::from_bytes(name.trim().as_bytes()).ok()?;
            let value = HeaderValue::from_str(value.as_str()?.trim()).ok()?;
            Some((name, value))
        })
        .collect()
}

fn models(metadata: &Map<String, Value>) -> Vec<ModelAlias> {
    let Some(Value::Array(list)) = metadata.get("models") else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|entry| {
            let name = entry.get("name")?.as_str()?.trim();
            if name.is_empty() {
                return None;
            }
            let alias = entry
                .get("alias")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .unwrap_or(name);
            Some(ModelAlias {
                name: name.to_owned(),
                alias: alias.to_owned(),
            })
        })
        .collect()
}

/// Whether two JSON documents are equal ignoring key order, whitespace and number spelling
/// (`1` equals `1.0`). Unparsable input is never equal.
pub(crate) fn json_equal_bytes(a: &[u8], b: &[u8]) -> bool {
    match (
        serde_json::from_slice::<Value>(a),
        serde_json::from_slice::<Value>(b),
    ) {
        (Ok(a), Ok(b)) => json_equal(&a, &b),
        _ => false,
    }
}

fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_equal(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::atomic_file;
    use std::os::unix::fs::symlink;

    fn store() -> (tempfile::TempDir, FileStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().join("auths"));
        store.ensure_dir().unwrap();
        (dir, store)
    }

    fn put(store: &FileStore, name: &str, json: &str) -> PathBuf {
        let path = store.dir().join(name);
        fs::write(&path, json).unwrap();
        path
    }

    #[test]
    fn an_auth_file_says_which_openai_api_its_upstream_speaks() {
        let parse = |json: &str| parse_file(Path::new("compat.json"), json.as_bytes());
        let base =
            r#""type":"openai-compatibility","base_url":"http://127.0.0.1:1/v1","api_key":"k""#;
        let default = parse(&format!("{{{base}}}")).unwrap();
        assert_eq!(default.compat_protocol, CompatProtocol::Chat);
        let both = parse(&format!(r#"{{{base},"protocol":"both"}}"#)).unwrap();
        assert_eq!(both.compat_protocol, CompatProtocol::Both);
        assert!(both.speaks(crate::protocol::Protocol::OpenAiResponses, "m"));
        assert!(!default.speaks(crate::protocol::Protocol::OpenAiResponses, "m"));
        let wrong = parse(&format!(r#"{{{base},"protocol":"grpc"}}"#)).unwrap_err();
        assert!(
            wrong.contains("protocol") && wrong.contains("grpc"),
            "{wrong}"
        );
    }

    #[test]
    fn folder_is_created_private() {
        let (_dir, store) = store();
        assert_eq!(atomic_file::mode_of(&store.dir()), Some(0o700));
    }

    #[test]
    fn lists_supported_files_and_reports_the_rest() {
        let (_dir, store) = store();
        put(
            &store,
            "claude-a.json",
            r#"{"type":"claude","api_key":"sk-1","priority":"2","email":"a@x","prefix":"/team/"}"#,
        );
        put(
            &store,
            "compat.json",
            r#"{"type":"openai-compatibility","base-url":"http://127.0.0.1:1/v1","access_token":"t","request-retry":2,"request_retry":0}"#,
        );
        put(&store, "oauth.json", r#"{"type":"gemini-cli","token":{}}"#);
        put(&store, "broken.json", "{");
        put(&store, "notes.txt", "{}");
        fs::create_dir(store.dir().join("nested")).unwrap();
        put(
            &store,
            "nested/inner.json",
            r#"{"type":"claude","api_key":"x"}"#,
        );
        let listing = store.list().unwrap();
        let ids: Vec<_> = listing.credentials.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["claude-a.json", "compat.json"]);
        let claude = &listing.credentials[0];
        assert_eq!(claude.priority, 2);
        assert_eq!(claude.label, "a@x");
        assert_eq!(claude.prefix.as_deref(), Some("team"));
        assert_eq!(claude.secret, Secret::ApiKey("sk-1".into()));
        let compat = &listing.credentials[1];
        assert_eq!(compat.secret, Secret::AccessToken("t".into()));
        assert_eq!(compat.request_retry, Some(0), "the canonical key wins");
        let meta = compat.metadata.as_ref().unwrap();
        assert!(meta.contains_key("base_url") && !meta.contains_key("base-url"));
        let skipped: Vec<_> = listing
            .skipped
            .iter()
            .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(skipped, ["broken.json", "oauth.json"]);
        assert!(listing.skipped[1].1.contains("unsupported type"));
    }

    #[test]
    fn an_auth_file_weight_defaults_to_one_and_a_bad_one_skips_the_file() {
        let (_dir, store) = store();
        for (name, weight) in [
            ("a-none.json", "null"),
            ("b-five.json", "5"),
            ("c-zero.json", "0"),
            ("d-string.json", "\" 7 \""),
            ("e-whole-float.json", "2.0"),
            ("f-max.json", "1000000"),
            ("x-fraction.json", "1.5"),
            ("y-negative.json", "-1"),
            ("z-too-large.json", "1000001"),
            ("z2-word.json", "\"heavy\""),
        ] {
            put(
                &store,
                name,
                &format!(r#"{{"type":"claude","api_key":"k","weight":{weight}}}"#),
            );
        }
        put(
            &store,
            "a-absent.json",
            r#"{"type":"claude","api_key":"k"}"#,
        );
        let listing = store.list().unwrap();
        let used: Vec<_> = listing
            .credentials
            .iter()
            .map(|c| (c.id.as_str(), c.weight))
            .collect();
        assert_eq!(
            used,
            [
                ("a-absent.json", 1),
                ("a-none.json", 1),
                ("b-five.json", 5),
                ("c-zero.json", 0),
                ("d-string.json", 7),
                ("e-whole-float.json", 2),
                ("f-max.json", 1_000_000),
            ]
        );
        let skipped: Vec<_> = listing
            .skipped
            .iter()
            .map(|(p, reason)| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    reason,
                )
            })
            .collect();
        assert_eq!(skipped.len(), 4, "{skipped:?}");
        for (_, reason) in &skipped {
            assert!(
                reason.contains("is not an integer from 0 to 1000000"),
                "{reason}"
            );
        }
        assert_eq!(
            skipped[0].1,
            "weight 1.5 is not an integer from 0 to 1000000"
        );
    }

    #[test]
    fn save_skips_semantically_equal_content() {
        let (_dir, store) = store();
        let path = put(
            &store,
            "c.json",
            "{ \"disabled\": false,\n  \"type\": \"codex\", \"api_key\": \"k\", \"n\": 1.0 }",
        );
        let before = fs::metadata(&path).unwrap().modified().unwrap();
        let credential = store.list().unwrap().credentials.remove(0);
        assert_eq!(store.save(&credential).unwrap(), Some(path.clone()));
        assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), before);
        assert!(fs::read_to_string(&path).unwrap().contains('\n'));
    }

    #[test]
    fn save_rewrites_changes_atomically_and_keeps_the_mode() {
        let (_dir, store) = store();
        let path = put(&store, "c.json", r#"{"type":"codex","api_key":"k"}"#);
        fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
        let mut credential = store.list().unwrap().credentials.remove(0);
        credential.disabled = true;
        store.save(&credential).unwrap();
        let saved: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(saved["disabled"], Value::Bool(true));
        assert_eq!(atomic_file::mode_of(&path), Some(0o640));
    }

    #[test]
    fn new_files_are_0600_and_disabled_ones_are_not_recreated() {
        let (_dir, store) = store();
        let path = put(&store, "c.json", r#"{"type":"claude","api_key":"k"}"#);
        let mut credential = store.list().unwrap().credentials.remove(0);
        fs::remove_file(&path).unwrap();
        credential.disabled = true;
        assert_eq!(store.save(&credential).unwrap(), None);
        assert!(!path.exists());
        credential.disabled = false;
        store.save(&credential).unwrap();
        assert_eq!(atomic_file::mode_of(&path), Some(0o600));
        store.delete("c.json").unwrap();
        store.delete("c.json").unwrap();
        assert!(store.delete("../x.json").is_err());
    }

    #[test]
    fn json_equality_ignores_order_and_number_spelling() {
        assert!(json_equal_bytes(
            br#"{"a":1,"b":[true,null]}"#,
            br#"{"b":[true,null],"a":1.0}"#
        ));
        assert!(!json_equal_bytes(br#"{"a":1}"#, br#"{"a":1,"b":2}"#));
        assert!(!json_equal_bytes(br#"{"a":[1,2]}"#, br#"{"a":[2,1]}"#));
        assert!(!json_equal_bytes(b"{", b"{}"));
    }

    #[test]
    fn symlinks_are_read_only_when_they_stay_inside_the_folder() {
        let (dir, store) = store();
        fs::create_dir(store.dir().join("..data")).unwrap();
        put(
            &store,
            "..data/mounted.json",
            r#"{"type":"claude","api_key":"k"}"#,
        );
        symlink("..data/mounted.json", store.dir().join("mounted.json")).unwrap();
        fs::write(
            dir.path().join("outside.json"),
            r#"{"type":"claude","api_key":"stolen"}"#,
        )
        .unwrap();
        symlink(dir.path().join("outside.json"), store.dir().join("x.json")).unwrap();
        symlink("../outside.json", store.dir().join("y.json")).unwrap();
        let listing = store.list().unwrap();
        let ids: Vec<_> = listing.credentials.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["mounted.json"]);
        let skipped: Vec<_> = listing
            .skipped
            .iter()
            .map(|(p, reason)| (p.file_name().unwrap().to_str().unwrap(), reason.as_str()))
            .collect();
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        for (name, reason) in skipped {
            assert!(reason.contains("leads outside"), "{name}: {reason}");
        }
        let mut credential = listing.credentials[0].clone();
        credential.disabled = true;
        store.save(&credential).unwrap();
        assert!(
            fs::symlink_metadata(store.dir().join("mounted.json"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let saved = fs::read_to_string(store.dir().join("..data/mounted.json")).unwrap();
        assert!(saved.contains("\"disabled\":true"), "{saved}");
        assert!(store.delete("x.json").is_err());
        assert!(dir.path().join("outside.json").exists());
    }

    #[test]
    fn files_others_can_read_are_found() {
        let (_dir, store) = store();
        for (name, mode) in [("a.json", 0o600), ("b.json", 0o640), ("c.json", 0o604)] {
            let path = put(&store, name, "{}");
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        }
        let exposed: Vec<_> = store
            .readable_by_others()
            .unwrap()
            .into_iter()
            .map(|(p, mode)| (p.file_name().unwrap().to_str().unwrap().to_owned(), mode))
            .collect();
        assert_eq!(
            exposed,
            [("b.json".to_owned(), 0o640), ("c.json".to_owned(), 0o604)]
        );
        assert!(!readable_by_others(0o600));
        assert!(!readable_by_others(0o700));
        assert!(readable_by_others(0o640));
        assert!(readable_by_others(0o604));
    }

    #[test]
    fn writes_wait_for_the_lock_and_follow_the_folder() {
        let (dir, store) = store();
        let path = put(&store, "a.json", r#"{"type":"claude","api_key":"k"}"#);
        let mut credential = parse_file(&path, &fs::read(&path).unwrap()).unwrap();
        credential.disabled = true;
        let store = std::sync::Arc::new(store);
        let held = store.lock_writes();
        let writer = {
            let store = store.clone();
            std::thread::spawn(move || store.save(&credential).map(|_| ()))
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while store.writes_waiting() == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the save never waited"
            );
            std::thread::yield_now();
        }
        assert!(!fs::read_to_string(&path).unwrap().contains("disabled"));
        drop(held);
        writer.join().unwrap().unwrap();
        assert!(
            fs::read_to_string(&path)
                .unwrap()
                .contains("\"disabled\":true")
        );
        assert_eq!(store.writes_waiting(), 0);

        let moved = dir.path().join("moved");
        store.set_dir(&moved);
        store
            .locked(|folder| {
                ensure_private_dir(folder)?;
                fs::write(folder.join("b.json"), "{}")
            })
            .unwrap();
        assert!(moved.join("b.json").exists());
        assert_eq!(atomic_file::mode_of(&moved), Some(0o700));
    }

    #[test]
    fn oauth2_files_keep_their_provider_kind_and_bad_ones_say_why() {
        let (_dir, store) = store();
        let oauth2 = r#""oauth2":{"grant":"refresh_token","access_token":"at-secret","refresh_token":"rt-secret","expires_at":1796551200,"token_url":"https://login.example.com/token","client_id":"app","client_secret":"cs-secret"}"#;
        put(
            &store,
            "a-claude.json",
            &format!(r#"{{"type":"claude",{oauth2}}}"#),
        );
        put(
            &store,
            "b-compat.json",
            &format!(
                r#"{{"type":"openai-compatibility","base_url":"https://gw.example.com/v1","name":"gw",{oauth2}}}"#
            ),
        );
        put(
            &store,
            "c-client.json",
            r#"{"type":"codex","oauth2":{"grant":"client_credentials","token_url":"https://login.example.com/token","client_id":"app","client_secret":"cs-secret"}}"#,
        );
        put(
            &store,
            "x-both.json",
            &format!(r#"{{"type":"gemini","api_key":"k-secret",{oauth2}}}"#),
        );
        put(
            &store,
            "y-no-refresh.json",
            r#"{"type":"codex","oauth2":{"grant":"refresh_token","token_url":"https://login.example.com/token","client_id":"app","access_token":"at-secret"}}"#,
        );
        put(&store, "z-nothing.json", r#"{"type":"codex"}"#);
        let listing = store.list().unwrap();
        let used: Vec<_> = listing
            .credentials
            .iter()
            .map(|c| (c.id.as_str(), c.provider, c.secret_grant()))
            .collect();
        assert_eq!(
            used,
            [
                ("a-claude.json", ProviderKind::Claude, Some("refresh_token")),
                (
                    "b-compat.json",
                    ProviderKind::OpenAiCompatibility,
                    Some("refresh_token")
                ),
                (
                    "c-client.json",
                    ProviderKind::Codex,
                    Some("client_credentials")
                ),
            ]
        );
        assert_eq!(
            listing.credentials[1].base_url.as_str(),
            "https://gw.example.com/v1"
        );
        assert!(
            listing.credentials[0]
                .metadata
                .as_ref()
                .unwrap()
                .contains_key("oauth2"),
            "kept for writing back"
        );
        let skipped: Vec<_> = listing
            .skipped
            .iter()
            .map(|(p, reason)| (p.file_name().unwrap().to_str().unwrap(), reason.as_str()))
            .collect();
        assert_eq!(
            skipped,
            [
                ("x-both.json", "both api_key and oauth2: keep one"),
                ("y-no-refresh.json", "oauth2.refresh_token is missing"),
                ("z-nothing.json", "no api_key, access_token or oauth2"),
            ]
        );
        for credential in &listing.credentials {
            let shown = format!("{credential:?}");
            assert!(!shown.contains("-secret"), "{shown}");
            assert!(shown.contains("oauth2"), "metadata keys are shown: {shown}");
        }
    }

    impl Credential {
        fn secret_grant(&self) -> Option<&'static str> {
            match &self.secret {
                Secret::Managed(source) => Some(source.grant()),
                _ => None,
            }
        }
    }

    #[test]
    fn debug_of_an_api_key_file_shows_no_secret() {
        let credential = parse_file(
            Path::new("k.json"),
            br#"{"type":"claude","api_key":"sk-ant-secret","headers":{"x-api-key":"h-secret"},"proxy_url":"http://u:p-secret@127.0.0.1:1"}"#,
        )
        .unwrap();
        let shown = format!("{credential:?}");
        assert!(!shown.contains("-secret"), "{shown}");
        assert!(
            shown.contains("api_key") && shown.contains("x-api-key"),
            "{shown}"
        );
    }
}
