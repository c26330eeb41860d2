//! A Wasm access-provider plugin instance adapted to [`AccessProvider`].

use super::provider::{AccessFuture, AccessProvider};
use super::{AccessOutcome, RequestHead};
use crate::plugin::{AccessProvider as AccessWorld, Fault, InstanceStats, Plugin, PluginInstance};

/// A configured instance of an access-provider plugin: a pool of live instances with its
/// settings applied, called with the instance's deadline and memory cap.
pub struct WasmProvider {
    instance: PluginInstance<AccessWorld>,
}

impl WasmProvider {
    pub(crate) fn new(instance: PluginInstance<AccessWorld>) -> WasmProvider {
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
    pub async fn call(&self, head: &RequestHead) -> Result<AccessOutcome, Fault> {
        self.instance
            .call(head, async |bindings, store, wit| {
                bindings
                    .switchyard_plugin_access()
                    .call_authenticate(store, wit)
                    .await
            })
            .await
            .map(AccessOutcome::from)
    }
}

impl AccessProvider for WasmProvider {
    fn authenticate<'a>(&'a self, head: &'a RequestHead) -> AccessFuture<'a> {
        Box::pin(self.call(head))
    }

    fn stats(&self) -> Option<InstanceStats> {
        Some(self.instance.stats())
    }
}
