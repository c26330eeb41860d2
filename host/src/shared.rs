//! The part of a [`Runtime`](crate::runtime::Runtime) that generations are prepared from and
//! that outlives them: the clock, credential states, selector cursors and credits, the plugin
//! host and the type registries, the credential and session stores, the counters, and where
//! the server listens. It knows nothing of generations, so preparing one reads it without
//! reaching back into the runtime that swaps generations in.

use std::sync::Arc;

use crate::access::ProviderRegistry;
use crate::affinity::{AffinityCounters, SessionStore};
use crate::clock::Clock;
use crate::config::LogFormat;
use crate::credential::selector::{RoundRobinCursors, WeightedCredits};
use crate::credential::state::StateTable;
use crate::credential::store::CredentialStore;
use crate::events::EventHub;
use crate::metrics::Metrics;
use crate::plugin::PluginHost;
use crate::session::ExtractorRegistry;

/// What generations are prepared from, shared by all of them.
pub struct Shared {
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// Cooldowns and counters per credential (shared with the Redis store, which applies other
    /// replicas' cooldowns to it).
    pub states: Arc<StateTable>,
    /// Round-robin positions.
    pub cursors: Arc<RoundRobinCursors>,
    /// Weighted round-robin credits.
    pub weighted_credits: Arc<WeightedCredits>,
    /// Session-affinity decisions so far.
    pub affinity_counters: Arc<AffinityCounters>,
    /// The WebAssembly plugin host (engine, compiled plugins, live instances).
    pub plugins: PluginHost,
    /// Access-provider types (native and Wasm) that configs can name.
    pub providers: ProviderRegistry,
    /// Session-extractor types registered natively; the plugin host's extractor plugins are
    /// found beside them.
    pub extractors: ExtractorRegistry,
    /// Prometheus counters.
    pub metrics: Arc<Metrics>,
    /// Live events (usage, credential, plugin, reload) for `GET /v0/management/events`.
    pub events: Arc<EventHub>,
    /// Where credentials beyond the config's key lists come from (`auth-dir` by default).
    pub credential_store: Arc<dyn CredentialStore>,
    /// Opens the session-binding cache in place of the in-memory one, when set.
    pub session_store: Option<Arc<dyn SessionStore>>,
    /// Where the server really listens, once it does.
    pub(crate) listening: parking_lot::RwLock<Listening>,
    /// The config's `log-format` the process's logging was set up with, when it was.
    pub(crate) log_format: Option<LogFormat>,
}

/// The sockets a runtime serves on, and the config values they were bound from.
#[derive(Debug, Clone, Default)]
pub(crate) struct Listening {
    /// The bound addresses.
    addrs: Vec<std::net::SocketAddr>,
    /// `host` and `port` of the config the listener was bound from (`None` for a listener
    /// the program passed in).
    bound_from: Option<(String, u16)>,
    /// The `server.runtime` the server serves with, once it serves.
    mode: Option<crate::config::ServingMode>,
}

impl Shared {
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
    /// differs from the one logging was set up with, `server.runtime` when it differs from the
    /// one the server serves with.
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
        if listening
            .mode
            .is_some_and(|mode| mode != config.server.runtime)
        {
            keys.push("server.runtime");
        }
        keys
    }

    /// Records that the server serves with `mode` (`server.runtime`): a later config with
    /// another one reports it in [`Shared::restart_required`].
    pub fn set_serving_mode(&self, mode: crate::config::ServingMode) {
        self.listening.write().mode = Some(mode);
    }

    /// The addresses the server listens on.
    pub fn listening_addrs(&self) -> Vec<std::net::SocketAddr> {
        self.listening.read().addrs.clone()
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("states", &self.states)
            .finish_non_exhaustive()
    }
}
