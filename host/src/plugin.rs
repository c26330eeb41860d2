//! The WebAssembly plugin host (architecture: Plugin roles): one wasmtime engine, one linker per world,
//! components compiled once per content (and cached on disk), type-checked at load, and a
//! small pool of live instances per configured instance, each call bounded by a deadline and
//! a memory cap.
//!
//! A [`PluginHost`] loads components into [`Plugin`]s; the world a component implements
//! (access provider or session extractor) and the type name it declares are read at load.
//! Configured instances are made through [`crate::chain`], for the role whose world the plugin
//! implements (`access` for providers, `session` for extractors).
//!
//! A plugin can never crash, hang or leak into the host: a trap, a deadline or a memory
//! overflow is a [`Fault`] of that call, the live instance it ran in is discarded, and
//! repeated faults quarantine the configured instance ([`FaultPolicy`]). Guests get an empty
//! WASI context: no files, environment, arguments, sockets or standard input; clocks and
//! random work; standard output and error go to the debug log.
//!
//! The async functions of this module and of the access chain run inside a Tokio runtime
//! with its time driver enabled (deadlines use `tokio::time`, compilation a blocking thread).

mod bindings;
mod cache;
mod call_times;
mod catalog;
mod embedded;
mod engine;
mod fault;
mod file_trust;
mod folder;
mod header_filter;
mod health;
mod idle_pool;
mod instance;
mod instance_source;
mod request_head;
mod state;
mod status;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock};
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};

pub use catalog::PluginCatalog;
pub use fault::Fault;
pub(crate) use folder::StagedPlugins;
pub(crate) use header_filter::HeaderFilter;
pub use health::FaultPolicy;
pub(crate) use instance::InstanceStats;
pub(crate) use instance_source::InstanceSource;
pub use request_head::RequestHead;
pub use status::{InstanceUse, PluginSource, PluginStatus, ServiceState};

pub(crate) use folder::is_plugin_file;

pub(crate) use bindings::{
    AccessProvider, Denial, Grant, SessionExtractor, WitOutcome, WitSessionId, WitSessionKind,
};
pub(crate) use instance::{PluginInstance, WorldBindings};

use bindings::{AccessProviderPre, SessionExtractorPre};
use cache::{Compiled, ComponentCache};
use instance::InstanceSpec;
use state::{LogOrigin, PluginState};

use crate::clock::{Clock, SystemClock};
use crate::config::{InstanceConfig, PluginLimits, PluginsConfig};
use crate::events::{EventHub, EventKind};

/// Errors of loading a plugin or creating a configured instance.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PluginError {
    /// The wasmtime engine (its configuration, epoch thread or linker) could not be created.
    #[error("could not create the WebAssembly engine: {0}")]
    Engine(#[source] wasmtime::Error),
    /// The compiled-component cache folder could not be created.
    #[error("could not open the plugin cache folder {path}: {source}")]
    Cache {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A plugin file could not be read.
    #[error("could not read the file: {0}")]
    Read(#[source] std::io::Error),
    /// The file is not a valid component, or failed to compile.
    #[error("not a valid WebAssembly component: {0:#}")]
    Compile(#[source] wasmtime::Error),
    /// The component implements neither plugin world.
    #[error(
        "matches no switchyard plugin world (access-provider: {access}; session-extractor: {session})"
    )]
    NoWorld {
        /// Why it is not an access provider.
        access: String,
        /// Why it is not a session extractor.
        session: String,
    },
    /// The plugin's self-description is unusable.
    #[error("invalid self-description: {0}")]
    Describe(String),
    /// The plugin rejected the settings in `configure`.
    #[error("rejected its settings: {0}")]
    Rejected(String),
    /// A live instance could not be started or configured (trap, deadline, memory).
    #[error("could not start: {0}")]
    Start(#[source] Fault),
    /// The plugin implements a different world than the one asked for.
    #[error("is a {actual}, not a {expected}")]
    WrongWorld {
        /// The world asked for.
        expected: PluginWorld,
        /// The world the plugin implements.
        actual: PluginWorld,
    },
}

/// The WIT worlds a plugin can implement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginWorld {
    /// `access-provider`: decides who may call the proxy.
    AccessProvider,
    /// `session-extractor`: recognises a request's session.
    SessionExtractor,
}

impl std::fmt::Display for PluginWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PluginWorld::AccessProvider => "access provider",
            PluginWorld::SessionExtractor => "session extractor",
        })
    }
}

/// Where a plugin came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginOrigin {
    /// Built with switchyard and embedded in the binary.
    Embedded,
    /// A file of the plugins folder.
    File(PathBuf),
    /// Bytes handed to [`PluginHost::load`] by the embedding program.
    Bytes,
}

/// Settings of a [`PluginHost`].
#[derive(Clone)]
pub struct HostOptions {
    /// Folder of the compiled-component cache; `None` compiles every load.
    pub cache_dir: Option<PathBuf>,
    /// Most idle live instances kept per configured instance, split over the serving cores
    /// (each core keeps its share, rounded up); 0 disables pooling (every call instantiates
    /// and configures a fresh instance: slow, for comparison and debugging).
    pub pool_size: usize,
    /// When repeated faults quarantine an instance.
    pub fault_policy: FaultPolicy,
    /// The clock of fault windows and quarantines.
    pub clock: Arc<dyn Clock>,
}

impl Default for HostOptions {
    /// No disk cache, 8 idle live instances per configured instance, the default fault
    /// policy, the system clock.
    fn default() -> HostOptions {
        HostOptions {
            cache_dir: None,
            pool_size: 8,
            fault_policy: FaultPolicy::default(),
            clock: Arc::new(SystemClock),
        }
    }
}

impl HostOptions {
    /// The options for `plugins.*` of a config (its cache folder and quarantine policy),
    /// defaults otherwise.
    pub fn from_config(plugins: &PluginsConfig) -> HostOptions {
        HostOptions {
            cache_dir: Some(plugins.cache_dir.clone()),
            fault_policy: plugins.quarantine,
            ..HostOptions::default()
        }
    }
}

/// Counters of a [`PluginHost`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct HostStats {
    /// Components compiled by Cranelift.
    pub compiled: u64,
    /// Components loaded from the disk cache.
    pub cache_hits: u64,
}

/// The plugin runtime: engine, linkers, cache, the catalog of installed plugins by type name,
/// and what the host knows about its plugin sources (the embedded plugins, the folder's files).
///
/// Cheap to clone; clones share everything. [`PluginHost::with_catalog`] makes a view with a
/// catalog of its own (for preparing a generation against a staged catalog).
#[derive(Clone)]
pub struct PluginHost {
    core: Arc<HostCore>,
    catalog: Arc<RwLock<PluginCatalog>>,
    sources: Arc<Mutex<folder::Sources>>,
}

/// What plugins and their instances share with the host (not the catalog, which holds the
/// plugins: no reference cycle, so the engine and its epoch thread end with the last user).
pub(crate) struct HostCore {
    engine: Engine,
    access_linker: Linker<PluginState>,
    session_linker: Linker<PluginState>,
    cache: Option<ComponentCache>,
    options: HostOptions,
    compiled: AtomicU64,
    cache_hits: AtomicU64,
    /// Where plugin state changes are announced (set by the runtime that uses the host).
    events: arc_swap::ArcSwapOption<EventHub>,
}

impl PluginHost {
    /// Creates the engine (and its epoch thread), the linkers and the cache folder.
    pub fn new(options: HostOptions) -> Result<PluginHost, PluginError> {
        let engine = engine::new_engine().map_err(PluginError::Engine)?;
        engine::start_epoch_ticker(&engine).map_err(|e| PluginError::Engine(e.into()))?;
        let access_linker = linker(&engine)?;
        let session_linker = linker(&engine)?;
        let cache =
            match &options.cache_dir {
                Some(dir) => Some(ComponentCache::open(dir, &engine).map_err(|source| {
                    PluginError::Cache {
                        path: dir.clone(),
                        source,
                    }
                })?),
                None => None,
            };
        Ok(PluginHost {
            core: Arc::new(HostCore {
                engine,
                access_linker,
                session_linker,
                cache,
                options,
                compiled: AtomicU64::new(0),
                cache_hits: AtomicU64::new(0),
                events: arc_swap::ArcSwapOption::empty(),
            }),
            catalog: Arc::default(),
            sources: Arc::default(),
        })
    }

    /// Compiles (or loads from the cache) a component, finds its world and reads its
    /// self-description. Compilation runs on a blocking thread. The plugin is not installed.
    pub async fn load(
        &self,
        bytes: impl Into<Arc<[u8]>>,
        origin: PluginOrigin,
    ) -> Result<Plugin, PluginError> {
        let bytes: Arc<[u8]> = bytes.into();
        let core = self.core.clone();
        let (component, content_hash) = tokio::task::spawn_blocking(move || core.compile(&bytes))
            .await
            .map_err(|e| PluginError::Compile(e.into()))??;
        let access = self
            .core
            .access_linker
            .instantiate_pre(&component)
            .and_then(AccessProviderPre::new);
        let world = match access {
            Ok(pre) => WorldPre::Access(pre),
            Err(access) => match self
                .core
                .session_linker
                .instantiate_pre(&component)
                .and_then(SessionExtractorPre::new)
            {
                Ok(pre) => WorldPre::Session(pre),
                Err(session) => {
                    return Err(PluginError::NoWorld {
                        access: format!("{access:#}"),
                        session: format!("{session:#}"),
                    });
                }
            },
        };
        let described = self.core.describe(&world).await?;
        validate_name(&described.name)?;
        let header_filter = HeaderFilter::from_declared(described.header_names)?;
        Ok(Plugin {
            inner: Arc::new(PluginInner {
                core: self.core.clone(),
                name: described.name,
                version: described.version,
                needs_body: described.needs_body,
                header_filter,
                origin,
                content_hash,
                world,
            }),
        })
    }

    /// Loads the first-party plugins embedded in the binary and installs them (a plugin
    /// already installed from a file keeps precedence). They are also the base of every
    /// catalog [`PluginHost::stage`] stages.
    pub async fn load_embedded(&self) -> Result<Vec<Plugin>, PluginError> {
        let mut loaded = Vec::new();
        for (_package, bytes) in embedded::EMBEDDED {
            let plugin = self.load(*bytes, PluginOrigin::Embedded).await?;
            self.install(plugin.clone());
            loaded.push(plugin);
        }
        self.sources.lock().embedded = loaded.clone();
        Ok(loaded)
    }

    /// Loads every `*.wasm` file directly in `dir` (not in subfolders; other files are
    /// ignored), in file-name order. Returns the plugins that loaded and, separately, each
    /// file that did not with the reason. Nothing is installed. A missing folder has no
    /// plugins.
    pub async fn load_dir(
        &self,
        dir: &std::path::Path,
    ) -> (Vec<Plugin>, Vec<(PathBuf, PluginError)>) {
        let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|path| path.extension().is_some_and(|ext| ext == "wasm") && path.is_file())
                .collect(),
            Err(_) => Vec::new(),
        };
        files.sort();
        let (mut loaded, mut failed) = (Vec::new(), Vec::new());
        for path in files {
            let result = match std::fs::read(&path) {
                Ok(bytes) => self.load(bytes, PluginOrigin::File(path.clone())).await,
                Err(error) => Err(PluginError::Read(error)),
            };
            match result {
                Ok(plugin) => loaded.push(plugin),
                Err(error) => failed.push((path, error)),
            }
        }
        (loaded, failed)
    }

    /// Makes `plugin` the one of its type name. An embedded plugin does not replace one
    /// loaded from a file (a file declaring an embedded plugin's name overrides it).
    /// Returns whether it was installed.
    pub fn install(&self, plugin: Plugin) -> bool {
        let mut catalog = self.catalog.write();
        match catalog.with(plugin) {
            Some(next) => {
                *catalog = next;
                true
            }
            None => false,
        }
    }

    /// Removes the plugin of type `name`; returns it.
    pub fn uninstall(&self, name: &str) -> Option<Plugin> {
        let mut catalog = self.catalog.write();
        let (next, removed) = catalog.without(name);
        *catalog = next;
        removed
    }

    /// The installed plugin of type `name`.
    pub fn plugin(&self, name: &str) -> Option<Plugin> {
        self.catalog.read().get(name).cloned()
    }

    /// Every installed plugin, sorted by name.
    pub fn plugins(&self) -> Vec<Plugin> {
        self.catalog.read().iter().cloned().collect()
    }

    /// The installed plugins (a snapshot).
    pub fn catalog(&self) -> PluginCatalog {
        self.catalog.read().clone()
    }

    /// A view of this host (same engine, cache and sources) whose installed plugins are
    /// `catalog`: chains prepared with it resolve types in `catalog`, and installing into it
    /// does not touch this host's catalog.
    pub fn with_catalog(&self, catalog: PluginCatalog) -> PluginHost {
        PluginHost {
            core: self.core.clone(),
            catalog: Arc::new(RwLock::new(catalog)),
            sources: self.sources.clone(),
        }
    }

    /// Makes `catalog` the installed plugins and `folder` the plugins folder in service
    /// (`None`: folder plugins disabled): done when a generation prepared against a staged
    /// catalog is swapped in.
    pub fn commit(&self, catalog: PluginCatalog, folder: Option<PathBuf>) {
        self.commit_sources(&catalog, folder);
        *self.catalog.write() = catalog;
    }

    /// The counters.
    pub fn stats(&self) -> HostStats {
        HostStats {
            compiled: self.core.compiled.load(Ordering::Relaxed),
            cache_hits: self.core.cache_hits.load(Ordering::Relaxed),
        }
    }

    /// Announces plugin state changes (quarantined, recovered, failed) to `events` from now on.
    pub fn set_events(&self, events: Arc<EventHub>) {
        self.core.events.store(Some(events));
    }

    /// Publishes a `plugin` event built from `fields` (a JSON object), when someone listens.
    pub(crate) fn announce(&self, fields: impl FnOnce() -> serde_json::Value) {
        announce(self.core.events.load_full().as_deref(), fields);
    }

    /// The host's options.
    pub fn options(&self) -> &HostOptions {
        &self.core.options
    }

    /// Creates a configured instance of `plugin` (a plugin of the world `B`) from `config`
    /// (settings applied through `configure` to a first live instance now). `defaults` are the
    /// limits when the instance has none of its own.
    pub(crate) async fn instance<B: WorldBindings>(
        &self,
        plugin: &Plugin,
        config: &InstanceConfig,
        defaults: &PluginLimits,
    ) -> Result<PluginInstance<B>, PluginError> {
        let Some(pre) = B::pre(&plugin.inner.world) else {
            return Err(PluginError::WrongWorld {
                expected: B::WORLD,
                actual: plugin.world(),
            });
        };
        PluginInstance::new(plugin.clone(), pre.clone(), self.spec(config, defaults)).await
    }

    fn spec(&self, config: &InstanceConfig, defaults: &PluginLimits) -> InstanceSpec {
        InstanceSpec {
            name: config.name.clone(),
            settings: config.settings.to_string(),
            limits: config.limits.unwrap_or(*defaults),
            pool_size: self.core.options.pool_size,
            policy: self.core.options.fault_policy,
            clock: self.core.options.clock.clone(),
            events: self.core.events.load_full(),
        }
    }
}

/// Publishes a `plugin` event built from `fields` to `events`, when given and someone listens.
pub(crate) fn announce(events: Option<&EventHub>, fields: impl FnOnce() -> serde_json::Value) {
    if let Some(events) = events {
        events.publish(EventKind::Plugin, || fields().to_string());
    }
}

impl HostCore {
    /// A fresh store for one live instance: empty WASI context, memory cap, epoch deadline
    /// trapping.
    pub(crate) fn new_store(
        &self,
        origin: Arc<LogOrigin>,
        limits: &PluginLimits,
    ) -> Store<PluginState> {
        let mut store = Store::new(&self.engine, PluginState::new(origin, limits.memory_bytes));
        store.limiter(|state| &mut state.limiter);
        store.epoch_deadline_trap();
        store.set_epoch_deadline(engine::deadline_ticks(limits.deadline));
        store
    }

    /// Compiles `bytes`, through the cache when there is one.
    fn compile(&self, bytes: &[u8]) -> Result<(Component, [u8; 32]), PluginError> {
        let content_hash: [u8; 32] = Sha256::digest(bytes).into();
        let engine = &self.engine;
        let (component, compiled) = match &self.cache {
            Some(cache) => cache.load_or_compile(engine, bytes, &content_hash),
            None => Component::new(engine, bytes).map(|c| (c, Compiled::Fresh)),
        }
        .map_err(PluginError::Compile)?;
        match compiled {
            Compiled::Cached => self.cache_hits.fetch_add(1, Ordering::Relaxed),
            Compiled::Fresh => self.compiled.fetch_add(1, Ordering::Relaxed),
        };
        Ok((component, content_hash))
    }

    /// Calls `describe` in a scratch instance.
    async fn describe(&self, world: &WorldPre) -> Result<Described, PluginError> {
        let limits = PluginLimits::default();
        let origin = Arc::new(LogOrigin::new("(loading)", "(describe)"));
        let mut store = self.new_store(origin, &limits);
        let described = tokio::time::timeout(limits.deadline, async {
            match world {
                WorldPre::Access(pre) => {
                    let bindings = pre.instantiate_async(&mut store).await?;
                    let info = bindings
                        .switchyard_plugin_access()
                        .call_describe(&mut store)
                        .await?;
                    Ok::<_, wasmtime::Error>(Described {
                        name: info.name,
                        version: info.version,
                        needs_body: false,
                        header_names: info.header_names,
                    })
                }
                WorldPre::Session(pre) => {
                    let bindings = pre.instantiate_async(&mut store).await?;
                    let info = bindings
                        .switchyard_plugin_session()
                        .call_describe(&mut store)
                        .await?;
                    Ok(Described {
                        name: info.name,
                        version: info.version,
                        needs_body: info.needs_body,
                        header_names: info.header_names,
                    })
                }
            }
        })
        .await;
        match described {
            Ok(Ok(described)) => Ok(described),
            Ok(Err(error)) => Err(PluginError::Start(Fault::from_call(
                &error,
                store.data().limiter.exceeded,
                &limits,
            ))),
            Err(_) => Err(PluginError::Start(Fault::Deadline(limits.deadline))),
        }
    }
}

/// What a plugin's `describe` said, whatever its world.
struct Described {
    name: String,
    version: String,
    needs_body: bool,
    header_names: Option<Vec<String>>,
}

/// A linker with WASI p2 and the `host` interface, shared by every instance of a world.
fn linker(engine: &Engine) -> Result<Linker<PluginState>, PluginError> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)
        .and_then(|()| state::add_host_to_linker(&mut linker))
        .map_err(PluginError::Engine)?;
    Ok(linker)
}

/// Checks a declared type name: 1 to 64 of lowercase ASCII letters, digits and `-`.
fn validate_name(name: &str) -> Result<(), PluginError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(PluginError::Describe(format!(
            "name {name:?} must be 1 to 64 lowercase ASCII letters, digits or '-'"
        )))
    }
}

/// A loaded plugin: a compiled, type-checked component and what it says about itself.
///
/// Cheap to clone. Configured instances made from it share the compiled code only.
#[derive(Clone)]
pub struct Plugin {
    inner: Arc<PluginInner>,
}

struct PluginInner {
    core: Arc<HostCore>,
    name: String,
    version: String,
    needs_body: bool,
    header_filter: HeaderFilter,
    origin: PluginOrigin,
    content_hash: [u8; 32],
    world: WorldPre,
}

/// The pre-instantiated component of a plugin, by the world it implements.
pub(crate) enum WorldPre {
    Access(AccessProviderPre<PluginState>),
    Session(SessionExtractorPre<PluginState>),
}

impl Plugin {
    /// The type name the plugin declares.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The version the plugin declares.
    pub fn version(&self) -> &str {
        &self.inner.version
    }

    /// The world the plugin implements.
    pub fn world(&self) -> PluginWorld {
        match self.inner.world {
            WorldPre::Access(_) => PluginWorld::AccessProvider,
            WorldPre::Session(_) => PluginWorld::SessionExtractor,
        }
    }

    /// Whether a session extractor wants the request body (always false for providers).
    pub fn needs_body(&self) -> bool {
        self.inner.needs_body
    }

    /// The header fields the plugin receives (its declared `header-names`).
    pub fn header_filter(&self) -> &HeaderFilter {
        &self.inner.header_filter
    }

    /// Where the plugin came from.
    pub fn origin(&self) -> &PluginOrigin {
        &self.inner.origin
    }

    /// SHA-256 of the component bytes.
    pub fn content_hash(&self) -> [u8; 32] {
        self.inner.content_hash
    }

    /// The runtime the plugin was loaded by.
    pub(crate) fn core(&self) -> &HostCore {
        &self.inner.core
    }
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.inner.name)
            .field("version", &self.inner.version)
            .field("world", &self.world())
            .field("header_filter", &self.inner.header_filter)
            .field("origin", &self.inner.origin)
            .field("content_hash", &hex::encode(self.inner.content_hash))
            .finish()
    }
}
