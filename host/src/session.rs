//! Session identification: recognising which conversation a request belongs to. Keeping a
//! conversation on its credential is [`crate::affinity`]'s part.
//!
//! - [`Extractor`] is what a configured extractor instance does: answer a request with an
//!   optional [`SessionIds`]. Native extractors implement it; Wasm plugin instances are adapted
//!   to it ([`WasmExtractor`]).
//! - [`ExtractorRole`] is the role the generic [`crate::chain`] machine builds from:
//!   [`ExtractorRegistry`] holds extractor *types* by name, [`ExtractorChain`] is one
//!   generation's chain, prepared from `Config::routing.session_extractors` off the request
//!   path.
//! - [`ExtractorChain::extract`] is the per-request policy.

pub mod chain;
pub mod extractor;
pub mod id;
pub mod role;
pub mod wasm;

pub use chain::{ExtractorChain, ExtractorEntry};
pub use extractor::{Extractor, ExtractorFuture};
pub use id::{SessionIds, SessionKind};
pub use role::{ExtractorFactory, ExtractorRegistry, ExtractorRole, ExtractorState, ExtractorType};
pub use wasm::WasmExtractor;
