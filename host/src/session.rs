//! Session affinity: recognising a conversation (the extractor chain) and keeping it on the
//! credential it started on, so the upstream prompt cache stays warm.
//!
//! - [`Extractor`] is what a configured extractor instance does: answer a request with an
//!   optional [`SessionIds`]. Native extractors implement it; Wasm plugin instances are adapted
//!   to it ([`WasmExtractor`]).
//! - [`ExtractorRegistry`] holds extractor *types* by name: native factories or Wasm plugins.
//! - [`ExtractorChain`] is one generation's chain, prepared from
//!   `Config::routing.session_extractors` off the request path and used per request.
//! - [`SessionAffinity`] keeps a session on its credential, with bindings in a [`SessionCache`].

pub mod affinity;
pub mod cache;
pub mod extractor;
pub mod extractor_chain;
pub mod extractor_registry;
pub mod id;
pub mod memory_cache;
pub mod prepare_error;
pub mod redis_cache;
pub mod wasm_extractor;

pub use affinity::SessionAffinity;
pub use cache::SessionCache;
pub use extractor::{Extractor, ExtractorFuture};
pub use extractor_chain::{ExtractorChain, ExtractorEntry};
pub use extractor_registry::{ExtractorFactory, ExtractorRegistry, ExtractorType};
pub use id::{SessionIds, SessionKind};
pub use prepare_error::PrepareError;
pub use wasm_extractor::WasmExtractor;
