//! One configured instance of a role's chain.

use std::sync::Arc;

use super::{NativeFactory, Role};
use crate::plugin::{InstanceSource, InstanceStats, Plugin};

/// One configured instance of a chain of the role `R`: native or Wasm, with what the role
/// keeps beside it.
pub struct Entry<R: Role> {
    pub(super) name: String,
    pub(super) kind: String,
    pub(super) instance: Arc<R::Native>,
    /// The same instance when it is a Wasm instance, for calls without a boxed future.
    pub(super) wasm: Option<Arc<R::Wasm>>,
    /// The plugin the Wasm instance is of.
    pub(super) plugin: Option<Plugin>,
    pub(super) state: R::State,
    /// What the instance was made from; an unchanged instance is reused by the next chain.
    pub(super) source: Option<InstanceSource<dyn NativeFactory<R>>>,
}

impl<R: Role> Entry<R> {
    /// An entry for an instance built outside a config (embedding programs, tests).
    pub fn new(name: &str, kind: &str, instance: Arc<R::Native>) -> Self {
        Entry {
            name: name.to_owned(),
            kind: kind.to_owned(),
            state: R::state(&instance, None),
            instance,
            wasm: None,
            plugin: None,
            source: None,
        }
    }

    /// This entry with `state` as what the role keeps beside the instance.
    pub fn with_state(mut self, state: R::State) -> Self {
        self.state = state;
        self
    }

    /// The instance name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The type name.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The instance, native or Wasm, as the role's trait object.
    pub fn instance(&self) -> &Arc<R::Native> {
        &self.instance
    }

    /// The instance when it is a Wasm instance.
    pub fn wasm(&self) -> Option<&Arc<R::Wasm>> {
        self.wasm.as_ref()
    }

    /// The plugin this is an instance of, when it is a Wasm instance.
    pub fn plugin(&self) -> Option<&Plugin> {
        self.plugin.as_ref()
    }

    /// What the role keeps beside the instance.
    pub fn state(&self) -> &R::State {
        &self.state
    }

    /// The instance's counters, if it keeps them.
    pub fn stats(&self) -> Option<InstanceStats> {
        R::stats(&self.instance)
    }
}

impl<R: Role> Clone for Entry<R> {
    fn clone(&self) -> Self {
        Entry {
            name: self.name.clone(),
            kind: self.kind.clone(),
            instance: self.instance.clone(),
            wasm: self.wasm.clone(),
            plugin: self.plugin.clone(),
            state: self.state.clone(),
            source: self.source.clone(),
        }
    }
}

impl<R: Role> std::fmt::Debug for Entry<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("role", &R::NAME)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}
