//! Outbound HTTP clients: one per distinct outbound proxy, each with its own connection pool,
//! kept across reloads so warm connections survive.

use std::collections::HashMap;
use std::sync::Once;
use std::time::Duration;

use parking_lot::RwLock;

use crate::config::{Config, ProxyUrl};
use crate::credential::Credential;

/// How long an idle upstream connection is kept.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// What makes two credentials need different clients.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ClientKey {
    proxy: Option<url::Url>,
    connect_timeout: Duration,
    /// The per-core serving thread asking ([`crate::serving_core`]): each core has its own
    /// pool, so a connection is only ever driven by the thread that uses it.
    core: Option<usize>,
}

/// Errors building a client.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the upstream HTTP client: {0}")]
pub struct ClientError(String);

/// The shared outbound clients.
#[derive(Debug, Default)]
pub struct ClientPool {
    clients: RwLock<HashMap<ClientKey, reqwest::Client>>,
}

impl ClientPool {
    /// The client for `credential` under `config` (its own proxy, else the global one).
    pub fn client_for(
        &self,
        credential: &Credential,
        config: &Config,
    ) -> Result<reqwest::Client, ClientError> {
        let proxy = match credential.proxy_url.as_ref().or(config.proxy_url.as_ref()) {
            Some(ProxyUrl::Via(url)) => Some(url.clone()),
            Some(ProxyUrl::Direct) | None => None,
        };
        let key = ClientKey {
            proxy,
            connect_timeout: config.upstream_timeouts.connect,
            core: crate::serving_core::current(),
        };
        if let Some(client) = self.clients.read().get(&key) {
            return Ok(client.clone());
        }
        let client = build(&key)?;
        Ok(self.clients.write().entry(key).or_insert(client).clone())
    }
}

fn build(key: &ClientKey) -> Result<reqwest::Client, ClientError> {
    install_crypto_provider();
    let mut builder = reqwest::Client::builder()
        .connect_timeout(key.connect_timeout)
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .tcp_nodelay(true)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy();
    if let Some(url) = &key.proxy {
        let proxy = reqwest::Proxy::all(url.as_str()).map_err(|e| ClientError(e.to_string()))?;
        builder = builder.proxy(proxy);
    }
    builder.build().map_err(|e| ClientError(e.to_string()))
}

/// rustls needs one process-wide crypto provider; switchyard uses ring.
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Fails only when another provider is already installed, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
