//! Outbound HTTP clients: one per distinct outbound proxy, connect timeout and serving core,
//! each with its own connection pool, kept across reloads so warm connections survive.
//!
//! Upstream calls go through an [`UpstreamClient`] (hyper's client unless there is an outbound
//! proxy); token endpoints through reqwest.

use std::collections::HashMap;
use std::sync::Once;
use std::time::Duration;

use parking_lot::RwLock;

use super::upstream_client::{POOL_IDLE_TIMEOUT, UpstreamClient, tls_config};
use crate::config::{Config, ProxyUrl};
use crate::credential::Credential;

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
    /// reqwest clients: token endpoints, and upstream calls through an outbound proxy.
    clients: RwLock<HashMap<ClientKey, reqwest::Client>>,
    /// The clients of upstream calls.
    upstream: RwLock<HashMap<ClientKey, UpstreamClient>>,
}

impl ClientPool {
    /// The reqwest client for `credential` under `config` (its own proxy, else the global
    /// one), for its token endpoint.
    pub fn client_for(
        &self,
        credential: &Credential,
        config: &Config,
    ) -> Result<reqwest::Client, ClientError> {
        self.reqwest_client(key_for(credential, config))
    }

    /// The client of `credential`'s upstream calls under `config`: hyper's client for a
    /// direct connection, reqwest's through an outbound proxy.
    pub(crate) fn upstream_for(
        &self,
        credential: &Credential,
        config: &Config,
    ) -> Result<UpstreamClient, ClientError> {
        let key = key_for(credential, config);
        if let Some(client) = self.upstream.read().get(&key) {
            return Ok(client.clone());
        }
        let client = match key.proxy {
            Some(_) => UpstreamClient::via_proxy(self.reqwest_client(key.clone())?),
            None => {
                let tls = tls_config(Vec::new()).map_err(|e| ClientError(e.to_string()))?;
                UpstreamClient::direct(key.connect_timeout, tls)
            }
        };
        Ok(self.upstream.write().entry(key).or_insert(client).clone())
    }

    fn reqwest_client(&self, key: ClientKey) -> Result<reqwest::Client, ClientError> {
        if let Some(client) = self.clients.read().get(&key) {
            return Ok(client.clone());
        }
        let client = build(&key)?;
        Ok(self.clients.write().entry(key).or_insert(client).clone())
    }
}

/// What decides the client of `credential` under `config`, on this thread.
fn key_for(credential: &Credential, config: &Config) -> ClientKey {
    let proxy = match credential.proxy_url.as_ref().or(config.proxy_url.as_ref()) {
        Some(ProxyUrl::Via(url)) => Some(url.clone()),
        Some(ProxyUrl::Direct) | None => None,
    };
    ClientKey {
        proxy,
        connect_timeout: config.upstream_timeouts.connect,
        core: crate::serving_core::current(),
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::credential::testing::credential;

    #[tokio::test]
    async fn upstream_calls_go_through_reqwest_only_behind_an_outbound_proxy() {
        let config = Config::parse("", None, PathBuf::from(".")).unwrap().config;
        let pool = ClientPool::default();
        let direct = credential("direct", 0);
        let mut proxied = credential("proxied", 0);
        proxied.proxy_url = Some(ProxyUrl::Via(
            url::Url::parse("socks5://127.0.0.1:1080").unwrap(),
        ));
        assert!(!pool.upstream_for(&direct, &config).unwrap().is_proxied());
        assert!(pool.upstream_for(&proxied, &config).unwrap().is_proxied());

        // The global proxy applies, and `direct` on a credential overrides it.
        let config = Config::parse(
            "proxy-url: http://127.0.0.1:3128\n",
            None,
            PathBuf::from("."),
        )
        .unwrap()
        .config;
        assert!(pool.upstream_for(&direct, &config).unwrap().is_proxied());
        let mut opted_out = credential("opted-out", 0);
        opted_out.proxy_url = Some(ProxyUrl::Direct);
        assert!(!pool.upstream_for(&opted_out, &config).unwrap().is_proxied());
    }
}
