//! One chain machine for every plugin role: the configured instances of a role
//! (access providers, session extractors, or the role of a future WIT world), each native Rust
//! or a WebAssembly plugin, prepared off the request path and then shared immutably by every
//! request of their generation.
//!
//! - [`Role`] is what a role supplies: its name and world, the trait its instances answer to,
//!   how a Wasm instance of it is made.
//! - [`TypeRegistry`] holds a role's types by name: native factories ([`NativeFactory`]) or
//!   Wasm plugins, in registration order, with an exclusive option.
//! - [`InstanceChain`] is one generation's chain of a role, [`InstanceChain::prepare`]d from
//!   instance configs (reusing the previous chain's unchanged instances); its [`Entry`]s are
//!   the instances. [`PrepareError`] says why a chain could not be prepared.
//!
//! The per-request policy is the role's: `authenticate` in [`crate::access`], `extract` in
//! [`crate::session`].

mod entry;
mod prepare_error;
mod registry;
mod role;

use std::sync::Arc;

pub(crate) use entry::Entry;
pub use prepare_error::{PrepareCause, PrepareError};
pub(crate) use registry::{InstanceType, NativeFactory, TypeRegistry};
pub(crate) use role::Role;

use crate::config::{InstanceConfig, PluginLimits};
use crate::plugin::{InstanceSource, InstanceUse, PluginHost};

/// The configured instances of the role `R` of one generation, in order.
///
/// Prepared off the request path ([`InstanceChain::prepare`], fallible), then shared immutably
/// by every request of its generation through the role's policy.
pub struct InstanceChain<R: Role> {
    entries: Vec<Entry<R>>,
}

impl<R: Role> InstanceChain<R> {
    /// A chain of these entries, in order.
    pub fn new(entries: Vec<Entry<R>>) -> Self {
        InstanceChain { entries }
    }

    /// Builds the chain of `instances`: each instance's type is resolved in `registry` (then
    /// among `host`'s plugins of the role's world) and its settings applied (Wasm: a first live
    /// instance is created and configured). `defaults` are the limits of instances without
    /// their own. An instance whose type, settings and limits are unchanged from an entry of
    /// `previous` is that entry (with its live instances, counters and quarantine), so a reload
    /// only builds what changed. Components are never recompiled: a plugin is compiled when
    /// loaded into `host`.
    pub async fn prepare(
        instances: &[InstanceConfig],
        defaults: &PluginLimits,
        registry: &TypeRegistry<R>,
        host: &PluginHost,
        previous: Option<&Self>,
    ) -> Result<Self, PrepareError> {
        let exclusive = registry.exclusive(host);
        let mut entries = Vec::with_capacity(instances.len());
        for config in instances {
            if exclusive.as_ref().is_some_and(|kind| *kind != config.kind) {
                continue;
            }
            let fail = |cause| PrepareError {
                role: R::NAME,
                instance: config.name.clone(),
                kind: config.kind.clone(),
                cause,
            };
            let Some(instance_type) = registry.resolve(&config.kind, host) else {
                return Err(fail(PrepareCause::UnknownType {
                    known: registry.known(host),
                }));
            };
            let source = match &instance_type {
                InstanceType::Native(factory) => InstanceSource::native(config, defaults, factory),
                InstanceType::Wasm(plugin) => InstanceSource::wasm(config, defaults, plugin),
            };
            let reused =
                previous.and_then(|chain| source.find_in(&chain.entries, |e| e.source.as_ref()));
            if let Some(entry) = reused {
                entries.push(entry.clone());
                continue;
            }
            let (instance, wasm, plugin) = match instance_type {
                InstanceType::Native(factory) => {
                    let instance = factory
                        .build(config)
                        .map_err(|message| fail(PrepareCause::Native(message)))?;
                    (instance, None, None)
                }
                InstanceType::Wasm(plugin) => {
                    let wasm = R::instantiate(host, &plugin, config, defaults)
                        .await
                        .map_err(|source| fail(PrepareCause::Plugin(source)))?;
                    let wasm = Arc::new(wasm);
                    (R::as_native(wasm.clone()), Some(wasm), Some(plugin))
                }
            };
            entries.push(Entry {
                name: config.name.clone(),
                kind: config.kind.clone(),
                state: R::state(&instance, Some(config)),
                instance,
                wasm,
                plugin,
                source: Some(source),
            });
        }
        Ok(InstanceChain { entries })
    }

    /// The entries in order.
    pub fn entries(&self) -> &[Entry<R>] {
        &self.entries
    }

    /// Whether the chain has no instance.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The Wasm instances with their counters, for [`PluginHost::status`].
    pub fn plugin_uses(&self) -> impl Iterator<Item = InstanceUse> + '_ {
        self.entries.iter().filter_map(|entry| {
            Some(InstanceUse {
                instance: entry.name.clone(),
                plugin: entry.plugin.clone()?,
                stats: entry.stats()?,
            })
        })
    }
}

impl<R: Role> Default for InstanceChain<R> {
    fn default() -> Self {
        InstanceChain::new(Vec::new())
    }
}

impl<R: Role> Clone for InstanceChain<R> {
    fn clone(&self) -> Self {
        InstanceChain::new(self.entries.clone())
    }
}

impl<R: Role> std::fmt::Debug for InstanceChain<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceChain")
            .field("entries", &self.entries)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    //! A third role, added by implementing [`Role`] and nothing else: a "tagger" whose
    //! instances may label a request, and whose policy collects every label in chain order.

    use futures_util::future::BoxFuture;

    use super::*;
    use crate::plugin::{
        AccessProvider, Fault, Grant, HostOptions, InstanceStats, Plugin, PluginError,
        PluginInstance, PluginWorld, RequestHead, WitOutcome,
    };

    /// What a tagger instance does: label a request, or not.
    trait Tagger: Send + Sync + 'static {
        fn tag<'a>(&'a self, head: &'a RequestHead)
        -> BoxFuture<'a, Result<Option<String>, Fault>>;
    }

    /// A Wasm tagger. There is no tagger WIT world (a real third role would bring one), so it
    /// borrows the access-provider world: the principal an instance allows is its label.
    struct WasmTagger(PluginInstance<AccessProvider>);

    impl Tagger for WasmTagger {
        fn tag<'a>(
            &'a self,
            head: &'a RequestHead,
        ) -> BoxFuture<'a, Result<Option<String>, Fault>> {
            Box::pin(async move {
                let outcome = self
                    .0
                    .call(head, async |bindings, store, wit| {
                        bindings
                            .switchyard_plugin_access()
                            .call_authenticate(store, wit)
                            .await
                    })
                    .await?;
                Ok(match outcome {
                    WitOutcome::Allow(Grant { principal, .. }) => Some(principal),
                    _ => None,
                })
            })
        }
    }

    struct TaggerRole;

    impl Role for TaggerRole {
        const NAME: &'static str = "tagger";
        const WORLD: PluginWorld = PluginWorld::AccessProvider;
        type Native = dyn Tagger;
        type Wasm = WasmTagger;
        type State = ();

        async fn instantiate(
            host: &PluginHost,
            plugin: &Plugin,
            config: &InstanceConfig,
            defaults: &PluginLimits,
        ) -> Result<WasmTagger, PluginError> {
            host.instance(plugin, config, defaults)
                .await
                .map(WasmTagger)
        }

        fn as_native(wasm: Arc<WasmTagger>) -> Arc<dyn Tagger> {
            wasm
        }

        fn stats(_instance: &dyn Tagger) -> Option<InstanceStats> {
            None
        }

        fn state(_instance: &dyn Tagger, _config: Option<&InstanceConfig>) {}
    }

    /// The tagger role's per-request policy.
    impl InstanceChain<TaggerRole> {
        /// Every label, in chain order; an instance that faults gives none.
        async fn tags(&self, head: &RequestHead) -> Vec<String> {
            let mut tags = Vec::new();
            for entry in self.entries() {
                if let Ok(Some(tag)) = entry.instance().tag(head).await {
                    tags.push(tag);
                }
            }
            tags
        }
    }

    /// A native tagger: always its configured label.
    struct Label(String);

    impl Tagger for Label {
        fn tag<'a>(
            &'a self,
            _head: &'a RequestHead,
        ) -> BoxFuture<'a, Result<Option<String>, Fault>> {
            Box::pin(async move { Ok(Some(self.0.clone())) })
        }
    }

    fn registry() -> TypeRegistry<TaggerRole> {
        let registry = TypeRegistry::new();
        registry.register_native("label", |config: &InstanceConfig| {
            let label = config.settings["label"]
                .as_str()
                .ok_or_else(|| "needs a label".to_owned())?;
            Ok(Arc::new(Label(label.to_owned())) as Arc<dyn Tagger>)
        });
        registry
    }

    fn label(name: &str, label: &str) -> InstanceConfig {
        InstanceConfig {
            name: name.to_owned(),
            kind: "label".to_owned(),
            settings: serde_json::json!({ "label": label }),
            limits: None,
            on_fault: Default::default(),
        }
    }

    fn head() -> RequestHead {
        RequestHead::new("GET", "/", "", [], None, std::time::SystemTime::UNIX_EPOCH)
    }

    #[tokio::test]
    async fn a_third_role_is_a_role_impl_and_its_policy() {
        let host = PluginHost::new(HostOptions::default()).unwrap();
        let registry = registry();
        let defaults = PluginLimits::default();
        let prepare = |instances: Vec<InstanceConfig>, previous| {
            let (registry, host, defaults) = (&registry, &host, &defaults);
            async move { InstanceChain::prepare(&instances, defaults, registry, host, previous).await }
        };

        let first = prepare(vec![label("a", "red"), label("b", "blue")], None)
            .await
            .unwrap();
        assert_eq!(first.tags(&head()).await, ["red", "blue"]);

        // The next chain reuses the unchanged instance and builds the changed one.
        let next = prepare(vec![label("a", "red"), label("b", "green")], Some(&first))
            .await
            .unwrap();
        assert_eq!(next.tags(&head()).await, ["red", "green"]);
        let same =
            |i: usize| Arc::ptr_eq(first.entries()[i].instance(), next.entries()[i].instance());
        assert!(same(0) && !same(1));

        // Preparation errors name the role.
        let mut unknown = label("c", "x");
        unknown.kind = "nope".to_owned();
        let error = prepare(vec![unknown], None).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "tagger c: unknown type \"nope\" (known types: label)"
        );
        let mut bare = label("d", "x");
        bare.settings = serde_json::json!({});
        let error = prepare(vec![bare], None).await.unwrap_err();
        assert!(matches!(error.cause, PrepareCause::Native(_)));
        assert_eq!(
            error.to_string(),
            "tagger d (label) rejected its settings: needs a label"
        );
    }
}
