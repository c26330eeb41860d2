//! Session identification: recognising which conversation a request belongs to (the extractor
//! chain). Keeping a conversation on its credential is [`crate::affinity`]'s part.
//!
//! - [`Extractor`] is what a configured extractor instance does: answer a request with an
//!   optional [`SessionIds`]. Native extractors implement it; Wasm plugin instances are adapted
//!   to it ([`WasmExtractor`]).
//! - [`ExtractorRegistry`] holds extractor *types* by name: native factories or Wasm plugins.
//! - [`ExtractorChain`] is one generation's chain, prepared from
//!   `Config::routing.session_extractors` off the request path and used per request.

pub mod chain;
pub mod extractor;
pub mod extractor_registry;
pub mod id;
pub mod prepare_error;
pub mod wasm;

pub use chain::{ExtractorChain, ExtractorEntry};
pub use extractor::{Extractor, ExtractorFuture};
pub use extractor_registry::{ExtractorFactory, ExtractorRegistry, ExtractorType};
pub use id::{SessionIds, SessionKind};
pub use prepare_error::PrepareError;
pub use wasm::WasmExtractor;
