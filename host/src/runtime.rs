//! What lives for the whole process, across config generations: the current generation, the
//! clock, credential states, round-robin cursors, weighted round-robin credits and the upstream
//! connection pools.

use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::watch;

use crate::access::ProviderRegistry;
use crate::affinity::{AffinityCounters, SessionStore};
use crate::clock::Clock;
use crate::config::LogFormat;
use crate::credential::file_store::FileStore;
use crate::credential::selector::{RoundRobinCursors, WeightedCredits};
use crate::credential::state::StateTable;
use crate::credential::store::{AuthDirStore, CredentialStore};
use crate::generation::Generation;
use crate::hooks::Hooks;
use crate::metrics::Metrics;
use crate::model::tracked::{DEFAULT_MAX_TRACKED_MODELS, TrackedModels};
use crate::plugin::{InstanceUse, PluginHost, PluginStatus};
use crate::proxy::client_pool::ClientPool;
use crate::redis_store::RedisStore;
use crate::session::ExtractorRegistry;
use crate::usage::UsageHub;

/// The process-wide state of one server.
pub struct Runtime {
    generation: ArcSwap<Generation>,
    status: watch::Sender<ReloadStatus>,
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// Cooldowns and counters per credential (shared with the Redis store, which applies other
    /// replicas' cooldowns to it).
    pub states: Arc<StateTable>,
    /// Round-robin positions.
    pub cursors: Arc<RoundRobinCursors>,
    /// Weighted round-robin credits.
    pub weighted_credits: Arc<WeightedCredits>,
    /// Outbound HTTP clients.
    pub clients: ClientPool,
    /// Session-affinity decisions so far.
    pub affinity_counters: Arc<AffinityCounters>,
    /// The WebAssembly plugin host (engine, compiled plugins, live instances).
    pub plugins: PluginHost,
    /// Access-provider types (native and Wasm) that configs can name.
    pub providers: ProviderRegistry,
    /// Session-extractor types registered natively; the plugin host's extractor plugins are
    /// found beside them.
    pub extractors: ExtractorRegistry,
    /// Held while a reload prepares and swaps, so reloads never interleave.
    reload_lock: tokio::sync::Mutex<()>,
    /// Usage totals and the usage feed.
    pub usage: Arc<UsageHub>,
    /// Prometheus counters.
    pub metrics: Arc<Metrics>,
    /// The unlisted model names the credential states and usage totals may hold
    /// (`routing.max-tracked-models`).
    pub tracked_models: Arc<TrackedModels>,
    /// Where credentials beyond the config's key lists come from (`auth-dir` by default).
    pub credential_store: Arc<dyn CredentialStore>,
    /// The files of the serving generation's `auth-dir`, as the management API writes them:
    /// one store, so its writes are serialised.
    pub auth_files: Arc<FileStore>,
    /// Opens the session-binding cache in place of the in-memory one, when set.
    pub session_store: Option<Arc<dyn SessionStore>>,
    /// The embedding program's observers, when set.
    pub hooks: Option<Arc<dyn Hooks>>,
    /// Where the server really listens, once it does.
    listening: parking_lot::RwLock<Listening>,
    /// The config's `log-format` the process's logging was set up with, when it was.
    log_format: Option<LogFormat>,
}

/// The sockets a runtime serves on, and the config values they were bound from.
#[derive(Debug, Clone, Default)]
struct Listening {
    /// The bound addresses.
    addrs: Vec<std::net::SocketAddr>,
    /// `host` and `port` of the config the listener was bound from (`None` for a listener
    /// the program passed in).
    bound_from: Option<(String, u16)>,
}

impl Runtime {
    /// A runtime serving an empty generation (number 0) until the first [`Runtime::swap`].
    pub fn new(clock: Arc<dyn Clock>, plugins: PluginHost, providers: ProviderRegistry) -> Self {
        let metrics = Arc::new(Metrics::default());
        let tracked_models = Arc::new(TrackedModels::new(
            DEFAULT_MAX_TRACKED_MODELS,
            metrics.clone(),
        ));
        Runtime {
            generation: ArcSwap::from_pointee(Generation::empty()),
            status: watch::channel(ReloadStatus::default()).0,
            clock,
            states: StateTable::new(tracked_models.clone()),
            cursors: Arc::default(),
            weighted_credits: Arc::default(),
            clients: ClientPool::default(),
            affinity_counters: Arc::default(),
            plugins,
            providers,
            extractors: ExtractorRegistry::new(),
            reload_lock: tokio::sync::Mutex::new(()),
            usage: UsageHub::new(tracked_models.clone()),
            tracked_models,
            metrics,
            credential_store: Arc::new(AuthDirStore),
            auth_files: Arc::new(FileStore::new(std::path::PathBuf::new())),
            session_store: None,
            hooks: None,
            listening: Default::default(),
            log_format: None,
        }
    }

    /// Records a listener bound at `addr`; `bound_from` is the config's `host` and `port` when
    /// the server bound it from them. The no-authentication guard checks these real addresses.
    pub fn add_listener(&self, addr: std::net::SocketAddr, bound_from: Option<(String, u16)>) {
        let mut listening = self.listening.write();
        listening.addrs.push(addr);
        if bound_from.is_some() {
            listening.bound_from = bound_from;
        }
    }

    /// Whether every listener accepts only loopback connections (`None` before any listens).
    pub fn listeners_are_loopback(&self) -> Option<bool> {
        let listening = self.listening.read();
        (!listening.addrs.is_empty()).then(|| listening.addrs.iter().all(|a| a.ip().is_loopback()))
    }

    /// The config keys whose new values in `config` apply only after a restart: `host` and
    /// `port` when they differ from those the listener was bound from, `log-format` when it
    /// differs from the one logging was set up with.
    pub fn restart_required(&self, config: &crate::config::Config) -> Vec<&'static str> {
        let listening = self.listening.read();
        let mut keys = Vec::new();
        if let Some((host, port)) = &listening.bound_from {
            if *host != config.host {
                keys.push("host");
            }
            if *port != config.port {
                keys.push("port");
            }
        }
        if self
            .log_format
            .is_some_and(|format| format != config.log_format)
        {
            keys.push("log-format");
        }
        keys
    }

    /// Logging was set up with the config's `log-format` `format` (`None`: not from the
    /// config); a later config with another one reports it in `restart_required`.
    pub fn with_log_format(mut self, format: Option<LogFormat>) -> Self {
        self.log_format = format;
        self
    }

    /// Lists credentials from `store` instead of `auth-dir`'s files.
    pub fn with_credential_store(mut self, store: Arc<dyn CredentialStore>) -> Self {
        self.credential_store = store;
        self
    }

    /// Opens session-binding caches with `store` instead of in memory.
    pub fn with_session_store(mut self, store: Option<Arc<dyn SessionStore>>) -> Self {
        self.session_store = store;
        self
    }

    /// Reports credential changes and request results to `hooks`.
    pub fn with_hooks(mut self, hooks: Option<Arc<dyn Hooks>>) -> Self {
        self.hooks = hooks;
        self
    }

    /// Uses `extractors` for session-extractor types (register native extractors in it first).
    pub fn with_extractors(mut self, extractors: ExtractorRegistry) -> Self {
        self.extractors = extractors;
        self
    }

    /// The current generation; a request keeps the one it took until it ends.
    pub fn generation(&self) -> Arc<Generation> {
        self.generation.load_full()
    }

    /// Installs `next` and returns its number. The previous generation's selector is stopped;
    /// requests that hold it finish on it.
    pub fn swap(&self, mut next: Generation) -> u64 {
        let number = self.status.borrow().generation + 1;
        next.number = number;
        let invalidated = std::mem::take(&mut next.invalidated_credentials);
        let folder = &next.config.plugins;
        self.plugins.commit(
            next.plugins.clone(),
            folder.enabled.then(|| folder.dir.clone()),
        );
        self.tracked_models
            .set_capacity(next.config.routing.max_tracked_models);
        let previous = self.generation.swap(Arc::new(next));
        let current = self.generation.load_full();
        self.usage.reconfigure(&previous.config, &current.config);
        self.auth_files.set_dir(current.config.auth_dir.clone());
        if let Some(hooks) = &self.hooks {
            crate::hooks::report_credentials(hooks.as_ref(), &previous.registry, &current.registry);
        }
        if !RedisStore::same(previous.store.as_ref(), current.store.as_ref()) {
            // Cooldown changes go to the new store (or stay local); the old one stops.
            self.states
                .set_listener(current.store.as_ref().map(|store| store.listener()));
            if let Some(old) = &previous.store {
                old.stop();
            }
        }
        if !Arc::ptr_eq(&previous.selector, &current.selector) {
            previous.selector.stop();
        }
        if let Some(old) = &previous.affinity
            && !current
                .affinity
                .as_ref()
                .is_some_and(|new| Arc::ptr_eq(old, new))
        {
            old.stop();
        }
        if let (Some(affinity), false) = (current.affinity.clone(), invalidated.is_empty())
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            handle.spawn(async move {
                for id in &invalidated {
                    affinity.invalidate_credential(id).await;
                }
            });
        }
        let restart_required = self.restart_required(&current.config);
        if !restart_required.is_empty() {
            tracing::warn!(
                "config changes to {} apply only after a restart (listening on {:?})",
                restart_required.join(", "),
                self.listening.read().addrs
            );
        }
        self.status.send_modify(|status| {
            status.generation = number;
            status.attempts += 1;
            status.last_error = None;
            status.restart_required = restart_required;
        });
        number
    }

    /// Stops background work that outlives requests: the serving generation's selector and
    /// session cache (its expiry sweeps) and the shared store's connection tasks.
    pub fn stop(&self) {
        let generation = self.generation.load();
        generation.selector.stop();
        if let Some(affinity) = &generation.affinity {
            affinity.stop();
        }
        if let Some(store) = &generation.store {
            store.stop();
        }
    }

    /// Records a reload that changed nothing (same bytes) or could not be applied.
    pub fn record_reload(&self, error: Option<String>) {
        self.status.send_modify(|status| {
            status.attempts += 1;
            if let Some(error) = error {
                status.failures += 1;
                status.last_error = Some(error);
            }
        });
    }

    /// Waits for (and then holds) the right to prepare and swap a generation: reloads from the
    /// watcher and from the management API run one at a time.
    pub async fn reload_guard(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.reload_lock.lock().await
    }

    /// The status of every plugin (embedded, the plugins folder's files, and any other the
    /// serving generation uses), with the counters of the serving generation's instances
    /// (access providers and session extractors).
    pub fn plugin_status(&self) -> Vec<PluginStatus> {
        let generation = self.generation();
        let instances: Vec<InstanceUse> = generation
            .access
            .plugin_uses()
            .chain(generation.extractors.plugin_uses())
            .collect();
        self.plugins.status(&generation.plugins, &instances)
    }

    /// Watches reloads: the generation number (1 for the first config, +1 per applied reload),
    /// attempts and failures. Tests wait on this instead of sleeping.
    pub fn reload_status(&self) -> watch::Receiver<ReloadStatus> {
        self.status.subscribe()
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("generation", &self.generation.load().number)
            .field("states", &self.states)
            .finish_non_exhaustive()
    }
}

/// What the reloads so far did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReloadStatus {
    /// The current generation number.
    pub generation: u64,
    /// Reload attempts, including the first load, skipped and failed ones.
    pub attempts: u64,
    /// Attempts that kept the running generation because of an error.
    pub failures: u64,
    /// The last failure's message, until a generation is applied.
    pub last_error: Option<String>,
    /// Config keys changed since the listener was bound (`host`, `port`) that take effect only
    /// after a restart.
    pub restart_required: Vec<&'static str>,
}
