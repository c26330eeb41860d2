//! One immutable snapshot of everything a request needs: the config, the credentials and their
//! models, the selector. A reload prepares the next generation completely, then swaps it in.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::{Config, Strategy};
use crate::credential::file_store::FileStore;
use crate::credential::selector::{FillFirst, RoundRobin, Selector};
use crate::credential::{Credential, config_source};
use crate::model::ModelRegistry;
use crate::runtime::Runtime;

/// Why a generation could not be prepared; the running one stays.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// `auth-dir` could not be created or read.
    #[error("auth-dir {path}: {source}")]
    AuthDir {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
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
    /// How a credential is chosen.
    pub selector: Arc<dyn Selector>,
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
            selector: Arc::new(FillFirst),
            skipped_files: Vec::new(),
            auth_fingerprint: [0; 32],
        }
    }

    /// Builds the generation for `config`: reads `auth-dir` (creating it 0700 when missing),
    /// adds the config's credentials, indexes models. `previous` lends its selector when the
    /// routing settings did not change.
    pub fn prepare(
        config: Config,
        runtime: &Runtime,
        previous: &Generation,
    ) -> Result<Generation, PrepareError> {
        if config.access_providers.is_empty()
            && !config.host_is_loopback()
            && !config.allow_unauthenticated
        {
            return Err(PrepareError::Unauthenticated {
                host: config.host.clone(),
            });
        }
        let store = FileStore::new(&config.auth_dir);
        let auth_dir_error = |source| PrepareError::AuthDir {
            path: config.auth_dir.clone(),
            source,
        };
        store.ensure_dir().map_err(auth_dir_error)?;
        let listing = store.list().map_err(auth_dir_error)?;
        for (path, reason) in &listing.skipped {
            tracing::warn!(file = %path.display(), "auth file not used: {reason}");
        }
        let mut credentials: Vec<Credential> = config_source::credentials(&config);
        credentials.extend(listing.credentials);
        let ids: HashSet<_> = credentials.iter().map(|c| c.id.clone()).collect();
        runtime.states.retain(&ids);
        let registry = ModelRegistry::new(
            credentials
                .into_iter()
                .map(|c| {
                    let state = runtime.states.state_for(&c.id);
                    (Arc::new(c), state)
                })
                .collect(),
        );
        let selector =
            if previous.number > 0 && previous.config.routing.strategy == config.routing.strategy {
                previous.selector.clone()
            } else {
                new_selector(config.routing.strategy, runtime)
            };
        Ok(Generation {
            number: 0,
            config: Arc::new(config),
            registry,
            selector,
            skipped_files: listing.skipped,
            auth_fingerprint: listing.fingerprint,
        })
    }
}

fn new_selector(strategy: Strategy, runtime: &Runtime) -> Arc<dyn Selector> {
    match strategy {
        Strategy::RoundRobin => Arc::new(RoundRobin::new(runtime.cursors.clone())),
        Strategy::FillFirst => Arc::new(FillFirst),
    }
}
