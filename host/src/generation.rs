//! One immutable snapshot of everything a request needs: the config, the credentials and their
//! models, the selector. A reload prepares the next generation completely, then swaps it in.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use crate::access::AccessChain;
use crate::affinity::SessionAffinity;
use crate::affinity::cache::{BindingLimit, SessionCache};
use crate::affinity::memory::MemoryCache;
use crate::affinity::redis::RedisCache;
use crate::config::{Config, SessionStoreConfig, Strategy};
use crate::credential::selector::{FillFirst, RoundRobin, Selector, WeightedRoundRobin};
use crate::credential::{Credential, CredentialId, config_source};
use crate::model::ModelRegistry;
use crate::plugin::PluginCatalog;
use crate::redis_store::{RedisOptions, RedisStore, RedisStoreError, RedisTarget};
use crate::session::ExtractorChain;
use crate::shared::Shared;

/// Why a generation could not be prepared; the running one stays.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// `auth-dir` could not be created or read (or the program's credential store failed).
    #[error("auth-dir {path}: {source}")]
    AuthDir {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A plugin chain (the access providers, the session extractors) could not be built.
    #[error(transparent)]
    Chain(#[from] crate::chain::PrepareError),
    /// The shared session store cannot be used (its URL).
    #[error(transparent)]
    SessionStore(#[from] RedisStoreError),
    /// No access provider while listening beyond loopback.
    #[error(
        "refusing to serve {host:?} without client authentication: set api-keys (or auth.providers), \
         listen on a loopback host, or set allow-unauthenticated: true"
    )]
    Unauthenticated {
        /// The configured host.
        host: String,
    },
}

/// A config generation.
#[derive(Debug)]
pub struct Generation {
    /// 0 before the first config, then 1, 2, … per applied reload.
    pub number: u64,
    /// The config.
    pub config: Arc<Config>,
    /// Credentials and the models they serve.
    pub registry: ModelRegistry,
    /// The plugins this generation's instance types were resolved in; installed as the
    /// host's catalog when the generation is swapped in.
    pub plugins: PluginCatalog,
    /// Who may call the proxy.
    pub access: Arc<AccessChain>,
    /// Which conversation a request belongs to (run only while session affinity is on).
    pub extractors: Arc<ExtractorChain>,
    /// How a credential is chosen.
    pub selector: Arc<dyn Selector>,
    /// Session affinity around the selector, when `routing.session-affinity` is on.
    pub affinity: Option<Arc<SessionAffinity>>,
    /// The shared store (`routing.session-store: redis://…`) holding session bindings and
    /// cooldowns; `None` keeps both in this process.
    pub store: Option<Arc<RedisStore>>,
    /// Credentials of the previous generation that are gone or disabled in this one; their
    /// session bindings are dropped when this generation is installed.
    pub invalidated_credentials: Vec<CredentialId>,
    /// Auth files not used, with the reason.
    pub skipped_files: Vec<(PathBuf, String)>,
    /// The `auth-dir` content this generation was built from.
    pub auth_fingerprint: [u8; 32],
}

impl Generation {
    /// A generation with no credentials, serving nothing.
    pub fn empty() -> Self {
        let config = Config::parse("", None, PathBuf::from("."))
            .expect("the empty config is valid")
            .config;
        Generation {
            number: 0,
            config: Arc::new(config),
            registry: ModelRegistry::default(),
            plugins: PluginCatalog::default(),
            access: Arc::new(AccessChain::default()),
            extractors: Arc::new(ExtractorChain::default()),
            selector: Arc::new(FillFirst),
            affinity: None,
            store: None,
            invalidated_credentials: Vec::new(),
            skipped_files: Vec::new(),
            auth_fingerprint: [0; 32],
        }
    }

    /// Builds the generation for `config`: the access and session-extractor chains (reusing
    /// `previous`'s unchanged instances), the credentials of the config and of `auth-dir`
    /// (created 0700 when missing), the model index. `previous` lends its selector when the
    /// routing settings did not change. Plugin types resolve in `plugins` (a catalog staged by
    /// [`crate::plugin::PluginHost::stage`]), which becomes the host's catalog only when this
    /// generation is swapped in.
    pub async fn prepare_with(
        config: Config,
        shared: &Shared,
        previous: &Generation,
        plugins: PluginCatalog,
    ) -> Result<Generation, PrepareError> {
        let host = shared.plugins.with_catalog(plugins.clone());
        // The empty generation's chains are empty, so they reuse nothing.
        let defaults = &config.plugins.limits;
        let access = AccessChain::prepare(
            &config.access_providers,
            defaults,
            &shared.providers,
            &host,
            Some(&previous.access),
        )
        .await?;
        let extractors = ExtractorChain::prepare(
            &config.routing.session_extractors,
            defaults,
            &shared.extractors,
            &host,
            Some(&previous.extractors),
        )
        .await?;
        // No authentication: only where nothing but this machine can connect, judged by the
        // sockets really listening (and by the config's host, which a restart would bind).
        let loopback = config.host_is_loopback() && shared.listeners_are_loopback() != Some(false);
        if access.is_empty() && !loopback && !config.allow_unauthenticated {
            return Err(PrepareError::Unauthenticated {
                host: config.host.clone(),
            });
        }
        let listing = shared
            .credential_store
            .list(&config.auth_dir)
            .await
            .map_err(|source| PrepareError::AuthDir {
                path: config.auth_dir.clone(),
                source,
            })?;
        for (path, reason) in &listing.skipped {
            tracing::warn!(file = %path.display(), "auth file not used: {reason}");
        }
        let mut credentials: Vec<Credential> = config_source::credentials(&config);
        credentials.extend(listing.credentials);
        let ids: HashSet<_> = credentials.iter().map(|c| c.id.clone()).collect();
        shared.states.retain(&ids);
        let registry = ModelRegistry::new(
            credentials
                .into_iter()
                .map(|c| {
                    let state = shared.states.state_for(&c.id);
                    (Arc::new(c), state)
                })
                .collect(),
        );
        let store = prepare_store(&config, shared, previous).await?;
        let routing_unchanged = previous.number > 0
            && routing_state(&previous.config) == routing_state(&config)
            && RedisStore::same(previous.store.as_ref(), store.as_ref());
        let (selector, affinity) = if routing_unchanged {
            (previous.selector.clone(), previous.affinity.clone())
        } else {
            let selector = new_selector(config.routing.strategy, shared);
            let affinity = config.routing.session_affinity.then(|| {
                let ttl = config.routing.session_affinity_ttl;
                let limit = BindingLimit::new(
                    config.routing.session_affinity_max_bindings,
                    shared.metrics.clone(),
                );
                let clock = shared.clock.clone();
                let cache: Arc<dyn SessionCache> = match (&store, &shared.session_store) {
                    (Some(store), _) => {
                        Arc::new(RedisCache::with_limit(store.clone(), ttl, clock, limit))
                    }
                    (None, Some(program)) => program.open(ttl),
                    (None, None) => Arc::new(MemoryCache::with_limit(ttl, clock, limit)),
                };
                Arc::new(SessionAffinity::new(
                    selector.clone(),
                    cache,
                    shared.affinity_counters.clone(),
                ))
            });
            (selector, affinity)
        };
        let invalidated_credentials = previous
            .registry
            .credentials()
            .filter(|old| {
                registry
                    .credential(&old.id)
                    .is_none_or(|new| new.disabled && !old.disabled)
            })
            .map(|old| old.id.clone())
            .collect();
        Ok(Generation {
            number: 0,
            config: Arc::new(config),
            registry,
            plugins,
            access: Arc::new(access),
            extractors: Arc::new(extractors),
            selector,
            affinity,
            store,
            invalidated_credentials,
            skipped_files: listing.skipped,
            auth_fingerprint: listing.fingerprint,
        })
    }
}

/// What decides whether the selector (and its bindings) must be rebuilt: strategy, affinity on
/// or off, the parsed TTL (so `1h` and `60m` are equal) and the most bindings.
fn routing_state(config: &Config) -> (Strategy, bool, std::time::Duration, usize) {
    let routing = &config.routing;
    (
        routing.strategy,
        routing.session_affinity,
        routing.session_affinity_ttl,
        routing.session_affinity_max_bindings,
    )
}

/// The shared store `config` names: `previous`'s when it names the same one (its connection and
/// subscription go on), else a new one (connected here, off the request path).
async fn prepare_store(
    config: &Config,
    shared: &Shared,
    previous: &Generation,
) -> Result<Option<Arc<RedisStore>>, PrepareError> {
    let SessionStoreConfig::Redis(url) = &config.routing.session_store else {
        return Ok(None);
    };
    let target = RedisTarget {
        url: url.clone(),
        prefix: config.routing.session_store_prefix.clone(),
        secret: config.routing.session_store_secret.clone(),
    };
    if let Some(store) = &previous.store
        && *store.target() == target
    {
        return Ok(Some(store.clone()));
    }
    let store = RedisStore::connect(
        target,
        RedisOptions::default(),
        shared.states.clone(),
        shared.clock.clone(),
    )
    .await?;
    Ok(Some(Arc::new(store)))
}

fn new_selector(strategy: Strategy, shared: &Shared) -> Arc<dyn Selector> {
    match strategy {
        Strategy::RoundRobin => Arc::new(RoundRobin::new(shared.cursors.clone())),
        Strategy::FillFirst => Arc::new(FillFirst),
        Strategy::WeightedRoundRobin => {
            Arc::new(WeightedRoundRobin::new(shared.weighted_credits.clone()))
        }
    }
}
