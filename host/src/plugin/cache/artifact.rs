//! The one `unsafe` operation of the plugin host: turning a compiled artifact back into a
//! component.

#![expect(
    unsafe_code,
    reason = "deserializing a compiled component is unsafe; only artifacts of our own cache are read"
)]

use wasmtime::Engine;
use wasmtime::component::Component;

/// Loads a compiled artifact produced by `Engine::precompile_component`.
///
/// Only [`super::ComponentCache`] calls this, with bytes it either produced in this process or
/// read back from its own cache folder after checking their SHA-256 trailer.
pub(super) fn deserialize(engine: &Engine, artifact: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: `Component::deserialize` trusts its input to be an artifact wasmtime produced,
    // as it maps the contained machine code as executable. These bytes were produced by
    // `Engine::precompile_component`, either just now in this process or earlier by
    // switchyard into its cache folder: a folder of mode 0700 (only our user can write it)
    // where each entry is written to a temporary name and renamed into place, is named by
    // the SHA-256 of the component source, the wasmtime version and a hash of the engine's
    // compilation settings, and ends with the SHA-256 of the artifact, which the caller
    // verified. wasmtime also checks the artifact's header and its engine compatibility and
    // rejects a mismatch with an error. The bytes are copied into wasmtime-owned memory, so
    // later changes to the file cannot affect the loaded component.
    unsafe { Component::deserialize(engine, artifact) }
}
