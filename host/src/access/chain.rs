//! The access chain of one generation (reference §2.3, design §2.2).

use std::sync::Arc;

use super::registry::{NativeFactory, ProviderType};
use super::wasm::WasmProvider;
use super::{
    AccessError, Outcome, PrepareError, Principal, Provider, ProviderRegistry, RequestHead,
};
use crate::config::{Config, PluginInstanceConfig, PluginLimits};
use crate::plugin::{InstanceStats, Plugin, PluginHost};

/// One configured provider instance of a chain.
#[derive(Clone)]
pub struct ChainEntry {
    name: String,
    kind: String,
    provider: Arc<dyn Provider>,
    /// The same provider when it is a Wasm instance: called directly, without boxing a future.
    wasm: Option<Arc<WasmProvider>>,
    /// What the instance was made from; an unchanged instance is reused by the next chain.
    source: Option<Source>,
}

/// The identity of what a chain entry was made from.
#[derive(Clone, PartialEq)]
struct Source {
    config: PluginInstanceConfig,
    defaults: PluginLimits,
    origin: TypeOrigin,
}

#[derive(Clone)]
enum TypeOrigin {
    Native(Arc<dyn NativeFactory>),
    Wasm([u8; 32]),
}

impl PartialEq for TypeOrigin {
    fn eq(&self, other: &TypeOrigin) -> bool {
        match (self, other) {
            (TypeOrigin::Native(a), TypeOrigin::Native(b)) => Arc::ptr_eq(a, b),
            (TypeOrigin::Wasm(a), TypeOrigin::Wasm(b)) => a == b,
            _ => false,
        }
    }
}

impl ChainEntry {
    /// An entry for a provider built outside a config (embedding programs, tests).
    pub fn new(name: &str, kind: &str, provider: Arc<dyn Provider>) -> ChainEntry {
        ChainEntry {
            name: name.to_owned(),
            kind: kind.to_owned(),
            provider,
            wasm: None,
            source: None,
        }
    }

    /// The instance name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The provider type.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The provider.
    pub fn provider(&self) -> &Arc<dyn Provider> {
        &self.provider
    }

    /// The provider's counters, if it keeps them.
    pub fn stats(&self) -> Option<InstanceStats> {
        self.provider.stats()
    }

    /// The plugin this is an instance of, when it is a Wasm plugin.
    pub fn plugin(&self) -> Option<&Plugin> {
        self.wasm.as_ref().map(|wasm| wasm.plugin())
    }
}

impl std::fmt::Debug for ChainEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainEntry")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// The access-provider instances of one generation, in order.
///
/// Prepared off the request path ([`AccessChain::prepare`], fallible), then shared immutably
/// by every request of its generation ([`AccessChain::authenticate`]).
#[derive(Debug, Clone, Default)]
pub struct AccessChain {
    entries: Vec<ChainEntry>,
}

impl AccessChain {
    /// A chain of these entries, in order.
    pub fn new(entries: Vec<ChainEntry>) -> AccessChain {
        AccessChain { entries }
    }

    /// Builds the chain of `config.access_providers`: each instance's type is resolved in
    /// `registry` (then among `host`'s plugins) and its settings applied (Wasm: a first live
    /// instance is created and configured). Components are never recompiled: a plugin is
    /// compiled when loaded into `host`.
    pub async fn prepare(
        config: &Config,
        registry: &ProviderRegistry,
        host: &PluginHost,
    ) -> Result<AccessChain, PrepareError> {
        Self::prepare_instances(
            &config.access_providers,
            &config.plugins.limits,
            registry,
            host,
            None,
        )
        .await
    }

    /// Like [`AccessChain::prepare`], but an instance whose type, settings and limits are
    /// unchanged from `self` is reused as it is (with its live instances, counters and
    /// quarantine), so a reload only builds what changed.
    pub async fn prepare_next(
        &self,
        config: &Config,
        registry: &ProviderRegistry,
        host: &PluginHost,
    ) -> Result<AccessChain, PrepareError> {
        Self::prepare_instances(
            &config.access_providers,
            &config.plugins.limits,
            registry,
            host,
            Some(self),
        )
        .await
    }

    /// Builds a chain from instance configs; `defaults` are the limits of instances without
    /// their own; entries of `previous` are reused when unchanged.
    pub async fn prepare_instances(
        instances: &[PluginInstanceConfig],
        defaults: &PluginLimits,
        registry: &ProviderRegistry,
        host: &PluginHost,
        previous: Option<&AccessChain>,
    ) -> Result<AccessChain, PrepareError> {
        let exclusive = registry.exclusive(host);
        let mut entries = Vec::with_capacity(instances.len());
        for config in instances {
            if exclusive.as_ref().is_some_and(|kind| *kind != config.kind) {
                continue;
            }
            let Some(provider_type) = registry.resolve(&config.kind, host) else {
                return Err(PrepareError::UnknownType {
                    instance: config.name.clone(),
                    kind: config.kind.clone(),
                    known: registry.known(host),
                });
            };
            let source = Source {
                config: config.clone(),
                defaults: *defaults,
                origin: match &provider_type {
                    ProviderType::Native(factory) => TypeOrigin::Native(factory.clone()),
                    ProviderType::Wasm(plugin) => TypeOrigin::Wasm(plugin.content_hash()),
                },
            };
            let reused = previous.and_then(|chain| {
                chain
                    .entries
                    .iter()
                    .find(|e| e.source.as_ref() == Some(&source))
            });
            let mut wasm = None;
            let provider = match (reused, provider_type) {
                (Some(entry), _) => {
                    wasm = entry.wasm.clone();
                    entry.provider.clone()
                }
                (None, ProviderType::Native(factory)) => {
                    factory
                        .build(config)
                        .map_err(|message| PrepareError::Native {
                            instance: config.name.clone(),
                            kind: config.kind.clone(),
                            message,
                        })?
                }
                (None, ProviderType::Wasm(plugin)) => {
                    let instance = host
                        .access_instance(&plugin, config, defaults)
                        .await
                        .map_err(|source| PrepareError::Plugin {
                            instance: config.name.clone(),
                            kind: config.kind.clone(),
                            source,
                        })?;
                    let provider = Arc::new(WasmProvider::new(instance));
                    wasm = Some(provider.clone());
                    provider as Arc<dyn Provider>
                }
            };
            entries.push(ChainEntry {
                name: config.name.clone(),
                kind: config.kind.clone(),
                provider,
                wasm,
                source: Some(source),
            });
        }
        Ok(AccessChain { entries })
    }

    /// The entries in order.
    pub fn entries(&self) -> &[ChainEntry] {
        &self.entries
    }

    /// Whether the chain has no provider (the server then applies the "who is local" rule).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Decides about one request (reference §2.3).
    ///
    /// `Ok(None)`: the chain is empty, nobody checked the request. `Ok(Some(principal))`: the
    /// first provider that allowed it. Otherwise: the first `deny`, `error` or fault ends the
    /// chain; `not-handled` and `no-credentials` pass to the next provider; when none allowed,
    /// `invalid-credential` from any provider wins over missing credentials.
    pub async fn authenticate(&self, head: &RequestHead) -> Result<Option<Principal>, AccessError> {
        if self.entries.is_empty() {
            return Ok(None);
        }
        let mut invalid = false;
        for entry in &self.entries {
            let outcome =
                entry
                    .provider
                    .authenticate(head)
                    .await
                    .map_err(|fault| AccessError::Fault {
                        provider: entry.name.clone(),
                        fault,
                    })?;
            match outcome {
                Outcome::Allow {
                    principal,
                    metadata,
                } => {
                    if principal.is_empty() {
                        return Err(AccessError::ProviderError {
                            provider: entry.name.clone(),
                            message: "allowed with an empty principal".to_owned(),
                        });
                    }
                    return Ok(Some(Principal {
                        provider: entry.name.clone(),
                        principal,
                        metadata,
                    }));
                }
                Outcome::NotHandled | Outcome::NoCredentials => {}
                Outcome::InvalidCredential => invalid = true,
                Outcome::Deny { status, message } => {
                    return Err(match http::StatusCode::from_u16(status) {
                        Ok(status) if status.is_client_error() || status.is_server_error() => {
                            AccessError::Denied {
                                provider: entry.name.clone(),
                                status,
                                message,
                            }
                        }
                        _ => AccessError::ProviderError {
                            provider: entry.name.clone(),
                            message: format!("denied with status {status}, which is not 400-599"),
                        },
                    });
                }
                Outcome::Error(message) => {
                    return Err(AccessError::ProviderError {
                        provider: entry.name.clone(),
                        message,
                    });
                }
            }
        }
        Err(if invalid {
            AccessError::InvalidCredential
        } else {
            AccessError::MissingCredential
        })
    }
}
