//! A Wasm access-provider plugin instance adapted to [`Provider`].

use super::provider::{Provider, ProviderFuture};
use super::{Outcome, RequestHead};
use crate::plugin::{AccessProvider, Fault, InstanceStats, Plugin, PluginInstance};

/// A configured instance of an access-provider plugin: a pool of live instances with its
/// settings applied, called with the instance's deadline and memory cap.
pub struct WasmProvider {
    instance: PluginInstance<AccessProvider>,
}

impl WasmProvider {
    pub(crate) fn new(instance: PluginInstance<AccessProvider>) -> WasmProvider {
        WasmProvider { instance }
    }

    /// The plugin this is an instance of.
    pub fn plugin(&self) -> &Plugin {
        self.instance.plugin()
    }

    /// The configured instance's name.
    pub fn name(&self) -> &str {
        self.instance.name()
    }

    /// Calls the plugin's `authenticate` in a live instance, with the header fields it reads.
    pub async fn call(&self, head: &RequestHead) -> Result<Outcome, Fault> {
        self.instance
            .call(head, async |bindings, store, wit| {
                bindings
                    .switchyard_plugin_access()
                    .call_authenticate(store, wit)
                    .await
            })
            .await
            .map(Outcome::from)
    }
}

impl Provider for WasmProvider {
    fn authenticate<'a>(&'a self, head: &'a RequestHead) -> ProviderFuture<'a> {
        Box::pin(self.call(head))
    }

    fn stats(&self) -> Option<InstanceStats> {
        Some(self.instance.stats())
    }
}
