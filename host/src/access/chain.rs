//! The access chain of one generation (reference §2.3, design §2.2).

use std::sync::Arc;

use super::registry::{NativeFactory, ProviderType};
use super::wasm::WasmProvider;
use super::{
    AccessError, Outcome, PrepareError, Principal, Provider, ProviderRegistry, RequestHead,
};
use crate::config::{Config, OnFault, PluginInstanceConfig, PluginLimits};
use crate::plugin::{Fault, InstanceSource, InstanceStats, Plugin, PluginHost};

/// One configured provider instance of a chain.
#[derive(Clone)]
pub struct ChainEntry {
    name: String,
    kind: String,
    provider: Arc<dyn Provider>,
    /// What a fault of the provider does to the request.
    on_fault: OnFault,
    /// The same provider when it is a Wasm instance: called directly, without boxing a future.
    wasm: Option<Arc<WasmProvider>>,
    /// What the instance was made from; an unchanged instance is reused by the next chain.
    source: Option<InstanceSource<dyn NativeFactory>>,
}

impl ChainEntry {
    /// An entry for a provider built outside a config (embedding programs, tests).
    pub fn new(name: &str, kind: &str, provider: Arc<dyn Provider>) -> ChainEntry {
        ChainEntry {
            name: name.to_owned(),
            kind: kind.to_owned(),
            provider,
            on_fault: OnFault::Deny,
            wasm: None,
            source: None,
        }
    }

    /// This entry with `on_fault` as what a fault of its provider does.
    pub fn with_on_fault(mut self, on_fault: OnFault) -> ChainEntry {
        self.on_fault = on_fault;
        self
    }

    /// What a fault of the provider does to the request.
    pub fn on_fault(&self) -> OnFault {
        self.on_fault
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
            let source = match &provider_type {
                ProviderType::Native(factory) => InstanceSource::native(config, defaults, factory),
                ProviderType::Wasm(plugin) => InstanceSource::wasm(config, defaults, plugin),
            };
            let reused =
                previous.and_then(|chain| source.find_in(&chain.entries, |e| e.source.as_ref()));
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
                    let instance =
                        host.instance(&plugin, config, defaults)
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
                on_fault: config.on_fault,
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
    /// chain (a fault of a provider with `on-fault: skip` counts as `not-handled` instead,
    /// except a refusal for lack of a free call slot, which always answers 503 `plugin_busy`);
    /// `not-handled` and `no-credentials` pass to the next provider; when none allowed,
    /// `invalid-credential` from any provider wins over missing credentials.
    pub async fn authenticate(&self, head: &RequestHead) -> Result<Option<Principal>, AccessError> {
        if self.entries.is_empty() {
            return Ok(None);
        }
        let mut invalid = false;
        for entry in &self.entries {
            let outcome = match entry.provider.authenticate(head).await {
                Ok(outcome) => outcome,
                Err(fault)
                    if entry.on_fault == OnFault::Skip && !matches!(fault, Fault::Busy(_)) =>
                {
                    tracing::warn!(provider = %entry.name, %fault, "access provider skipped after a fault (on-fault: skip)");
                    Outcome::NotHandled
                }
                Err(fault) => {
                    return Err(AccessError::Fault {
                        provider: entry.name.clone(),
                        fault,
                    });
                }
            };
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
