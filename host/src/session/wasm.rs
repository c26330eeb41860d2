//! A Wasm session-extractor plugin instance adapted to [`SessionExtractor`].

use super::extractor::{ExtractorFuture, SessionExtractor};
use super::{SessionIds, SessionKind};
use crate::plugin::{
    Fault, InstanceStats, Plugin, PluginInstance, RequestHead, SessionExtractor as SessionWorld,
    WitSessionId, WitSessionKind,
};

/// A configured instance of a session-extractor plugin: a pool of live instances with its
/// settings applied, called with the instance's deadline and memory cap.
pub struct WasmExtractor {
    instance: PluginInstance<SessionWorld>,
}

impl WasmExtractor {
    pub(crate) fn new(instance: PluginInstance<SessionWorld>) -> WasmExtractor {
        WasmExtractor { instance }
    }

    /// The plugin this is an instance of.
    pub fn plugin(&self) -> &Plugin {
        self.instance.plugin()
    }

    /// The configured instance's name.
    pub fn name(&self) -> &str {
        self.instance.name()
    }

    /// Calls the plugin's `extract` in a live instance, with the header fields it reads and
    /// `body` (the caller passes `None` when the plugin does not need the body). The ids are
    /// returned as the plugin gave them (not validated).
    pub async fn call(
        &self,
        head: &RequestHead,
        body: Option<&[u8]>,
    ) -> Result<Option<SessionIds>, Fault> {
        self.instance
            .call(head, async |bindings, store, wit| {
                bindings
                    .switchyard_plugin_session()
                    .call_extract(store, wit, body)
                    .await
            })
            .await
            .map(|ids| ids.map(SessionIds::from))
    }
}

impl From<WitSessionId> for SessionIds {
    fn from(id: WitSessionId) -> SessionIds {
        SessionIds {
            primary: id.primary,
            fallback: id.fallback,
            kind: match id.kind {
                WitSessionKind::Explicit => SessionKind::Explicit,
                WitSessionKind::Derived => SessionKind::Derived,
            },
        }
    }
}

impl SessionExtractor for WasmExtractor {
    fn needs_body(&self) -> bool {
        self.instance.plugin().needs_body()
    }

    fn extract<'a>(&'a self, head: &'a RequestHead, body: Option<&'a [u8]>) -> ExtractorFuture<'a> {
        Box::pin(self.call(head, body))
    }

    fn stats(&self) -> Option<InstanceStats> {
        Some(self.instance.stats())
    }
}
