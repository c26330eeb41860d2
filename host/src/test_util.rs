//! The internals switchyard's own end-to-end tests, benchmarks and examples drive directly
//! (plugin hosts, chains, stores, the server), compiled only with the `test-util` feature.
//!
//! Not part of the embedding API: hidden from the documentation and free to change in any
//! release. The package turns the feature on for its own tests, benchmarks and examples through
//! a dev-dependency on itself; an embedding program never needs it.

/// Access providers and the access chain.
pub mod access {
    pub use crate::access::{
        AccessChain, AccessError, AccessFuture, AccessOutcome, AccessProvider, ProviderRegistry,
        ProviderType, RequestHead,
    };
}

/// Session affinity and its caches.
pub mod affinity {
    pub use crate::affinity::{PickOutcome, SessionAffinity, SessionCache};

    /// The session cache contract.
    pub mod cache {
        pub use crate::affinity::cache::BindingLimit;
    }

    /// The in-process session cache.
    pub mod memory {
        pub use crate::affinity::memory::MemoryCache;
    }

    /// The Redis session cache.
    pub mod redis {
        pub use crate::affinity::redis::RedisCache;
    }
}

/// The generic plugin-role chain.
pub mod chain {
    pub use crate::chain::{PrepareCause, PrepareError};
}

/// The `switchyard` command's code.
#[cfg(feature = "cli")]
pub mod cli {
    /// The `plugin new` templates.
    pub mod scaffold {
        pub use crate::cli::scaffold::WIT_FILES;
    }
}

/// Clocks.
pub mod clock {
    pub use crate::clock::{Clock, ManualClock, SystemClock};
}

/// The configuration model.
pub mod config {
    pub use crate::config::{Config, InstanceConfig, OnFault, PluginLimits, PluginsConfig};
}

/// Credentials, their state and their selection.
pub mod credential {
    pub use crate::credential::{CredentialId, Secret};

    /// Which credentials can serve a request.
    pub mod availability {
        pub use crate::credential::availability::available;
    }

    /// Who a failure is blamed on.
    pub mod blame {
        pub use crate::credential::blame::Blame;
    }

    /// A credential a pick considers.
    pub mod candidate {
        pub use crate::credential::candidate::Candidate;
    }

    /// Credentials from the configuration.
    pub mod config_source {
        pub use crate::credential::config_source::credentials;
    }

    /// Cooldowns after failures.
    pub mod cooldown {
        pub use crate::credential::cooldown::Failure;
    }

    /// Selection strategies.
    pub mod selector {
        pub use crate::credential::selector::{PickRequest, RoundRobin, RoundRobinCursors};
    }

    /// Per-credential state.
    pub mod state {
        pub use crate::credential::state::{CredentialState, StateTable};
    }
}

/// Generations: one configuration's prepared world.
pub mod generation {
    pub use crate::generation::PrepareError;
}

/// The live-event hub behind `GET /v0/management/events`.
pub mod events {
    pub use crate::events::{Event, EventHub, EventKind, HubFull, Subscription};
}

/// The management API.
pub mod management {
    /// The usage report.
    pub mod report {
        pub use crate::management::report::render;
    }
}

/// Metrics.
pub mod metrics {
    pub use crate::metrics::{Metrics, Table};
}

/// Models.
pub mod model {
    /// Tracked models.
    pub mod tracked {
        pub use crate::model::tracked::{TrackedModels, Tracking};
    }
}

/// The WebAssembly plugin host.
pub mod plugin {
    pub use crate::plugin::{
        Fault, FaultPolicy, HostOptions, InstanceUse, Plugin, PluginCatalog, PluginError,
        PluginHost, PluginOrigin, PluginSource, PluginStatus, PluginWorld, RequestHead,
        ServiceState,
    };
}

/// The proxy.
pub mod proxy {
    /// The upstream HTTP clients.
    pub mod client_pool {
        pub use crate::proxy::client_pool::install_crypto_provider;
    }
}

/// The shared Redis store.
pub mod redis_store {
    pub use crate::redis_store::{RedisOptions, RedisStore, RedisTarget, StoreSecret};
}

/// The runtime.
pub mod runtime {
    pub use crate::runtime::{ReloadStatus, Runtime};
}

/// The server.
pub mod server {
    pub use crate::server::{RunningServer, ServerError, ServerOptions};
}

/// Token credentials.
pub mod token {
    pub use crate::token::{TokenCells, TokenPolicy, TokenSource, TokenStatus};
    pub use switchyard_oauth::Lifetime;
}

/// Sessions and extractors.
pub mod session {
    pub use crate::session::{
        ExtractorChain, ExtractorFuture, ExtractorRegistry, SessionExtractor, SessionIds,
        SessionKind,
    };
}
