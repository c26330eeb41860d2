//! What lives for the whole process, across config generations: the current generation and
//! the reload status, the [`Shared`] part generations are prepared from (clock, credential
//! states, cursors, plugin host, registries, stores), usage, and the upstream connection pools.

use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::watch;

use crate::access::ProviderRegistry;
use crate::affinity::SessionStore;
use crate::clock::Clock;
use crate::config::LogFormat;
use crate::credential::file_store::FileStore;
use crate::credential::state::StateTable;
use crate::credential::store::{AuthDirStore, CredentialStore};
use crate::events::{EventHub, EventKind};
use crate::generation::Generation;
use crate::hooks::Hooks;
use crate::metrics::Metrics;
use crate::model::tracked::{DEFAULT_MAX_TRACKED_MODELS, TrackedModels};
use crate::plugin::{InstanceUse, PluginHost, PluginStatus};
use crate::proxy::client_pool::ClientPool;
use crate::redis_store::RedisStore;
use crate::reload::history::{ReloadAttempt, ReloadHistory};
use crate::session::ExtractorRegistry;
use crate::shared::Shared;
use crate::token::TokenCells;
use crate::token::cells::SyncInputs;
use crate::usage::UsageHub;

/// The process-wide state of one server: the serving generation, the reload status, the
/// [`Shared`] part a generation is prepared from (reached through `Deref`: `runtime.clock` is
/// `runtime.shared().clock`), and what only swaps and requests use.
pub struct Runtime {
    generation: ArcSwap<Generation>,
    status: watch::Sender<ReloadStatus>,
    history: ReloadHistory,
    shared: Shared,
    /// Outbound HTTP clients.
    pub clients: ClientPool,
    /// Held while a reload prepares and swaps, so reloads never interleave.
    reload_lock: tokio::sync::Mutex<()>,
    /// Usage totals and the usage feed.
    pub usage: Arc<UsageHub>,
    /// The unlisted model names the credential states and usage totals may hold
    /// (`routing.max-tracked-models`).
    pub tracked_models: Arc<TrackedModels>,
    /// The files of the serving generation's `auth-dir`, as the management API writes them:
    /// one store, so its writes are serialised.
    pub auth_files: Arc<FileStore>,
    /// The embedding program's observers, when set.
    pub hooks: Option<Arc<dyn Hooks>>,
    /// The bearer tokens of token credentials, one cell per credential.
    pub tokens: Arc<TokenCells>,
}

impl Runtime {
    /// A runtime serving an empty generation (number 0) until the first [`Runtime::swap`].
    pub fn new(clock: Arc<dyn Clock>, plugins: PluginHost, providers: ProviderRegistry) -> Self {
        let metrics = Arc::new(Metrics::default());
        let tracked_models = Arc::new(TrackedModels::new(
            DEFAULT_MAX_TRACKED_MODELS,
            metrics.clone(),
        ));
        let auth_files = Arc::new(FileStore::new(std::path::PathBuf::new()));
        let events = Arc::new(EventHub::default());
        plugins.set_events(events.clone());
        Runtime {
            generation: ArcSwap::from_pointee(Generation::empty()),
            status: watch::channel(ReloadStatus::default()).0,
            history: ReloadHistory::default(),
            shared: Shared {
                clock,
                states: StateTable::with_events(tracked_models.clone(), events.clone()),
                cursors: Arc::default(),
                weighted_credits: Arc::default(),
                affinity_counters: Arc::default(),
                plugins,
                providers,
                extractors: ExtractorRegistry::new(),
                metrics,
                events: events.clone(),
                credential_store: Arc::new(AuthDirStore::new(auth_files.clone())),
                session_store: None,
                listening: Default::default(),
                log_format: None,
            },
            clients: ClientPool::default(),
            reload_lock: tokio::sync::Mutex::new(()),
            usage: UsageHub::with_events(tracked_models.clone(), events),
            tracked_models,
            auth_files,
            hooks: None,
            tokens: Arc::default(),
        }
    }

    /// The part a generation is prepared from.
    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// Logging was set up with the config's `log-format` `format` (`None`: not from the
    /// config); a later config with another one reports it in `restart_required`.
    pub fn with_log_format(mut self, format: Option<LogFormat>) -> Self {
        self.shared.log_format = format;
        self
    }

    /// Lists credentials from `store` instead of `auth-dir`'s files.
    pub fn with_credential_store(mut self, store: Arc<dyn CredentialStore>) -> Self {
        self.shared.credential_store = store;
        self
    }

    /// Opens session-binding caches with `store` instead of in memory.
    pub fn with_session_store(mut self, store: Option<Arc<dyn SessionStore>>) -> Self {
        self.shared.session_store = store;
        self
    }

    /// Reports credential changes and request results to `hooks`.
    pub fn with_hooks(mut self, hooks: Option<Arc<dyn Hooks>>) -> Self {
        self.hooks = hooks;
        self
    }

    /// Uses `extractors` for session-extractor types (register native extractors in it first).
    pub fn with_extractors(mut self, extractors: ExtractorRegistry) -> Self {
        self.shared.extractors = extractors;
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
        self.tokens.sync(SyncInputs {
            generation: &current,
            clients: &self.clients,
            clock: &self.clock,
            states: &self.states,
            store: &self.credential_store,
        });
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
                self.listening_addrs()
            );
        }
        self.status.send_modify(|status| {
            status.generation = number;
            status.attempts += 1;
            status.last_error = None;
            status.restart_required = restart_required;
        });
        self.history.record(ReloadAttempt {
            at: self.clock.now(),
            ok: true,
            generation: number,
            error: None,
        });
        self.announce_reload();
        number
    }

    /// Stops background work that outlives requests: the serving generation's selector and
    /// session cache (its expiry sweeps) and the shared store's connection tasks.
    pub fn stop(&self) {
        let generation = self.generation.load();
        self.tokens.stop();
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
        let mut generation = 0;
        self.status.send_modify(|status| {
            status.attempts += 1;
            if let Some(error) = &error {
                status.failures += 1;
                status.last_error = Some(error.clone());
            }
            generation = status.generation;
        });
        self.history.record(ReloadAttempt {
            at: self.clock.now(),
            ok: error.is_none(),
            generation,
            error,
        });
        self.announce_reload();
    }

    /// Publishes a `reload` event with the status after an attempt.
    fn announce_reload(&self) {
        self.events.publish(EventKind::Reload, || {
            let status = self.status.borrow();
            serde_json::json!({
                "generation": status.generation,
                "failures": status.failures,
                "last_error": status.last_error,
            })
            .to_string()
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

    /// The last reload attempts (at most [`crate::reload::history::CAPACITY`]), newest first.
    pub(crate) fn reload_history(&self) -> Vec<ReloadAttempt> {
        self.history.newest_first()
    }
}

impl std::ops::Deref for Runtime {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.shared
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("generation", &self.generation.load().number)
            .field("states", &self.shared.states)
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
