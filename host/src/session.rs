//! Session identification: recognising which conversation a request belongs to. Keeping a
//! conversation on its credential is [`crate::affinity`]'s part.
//!
//! - [`SessionExtractor`] is what a configured extractor instance does: answer a request with an
//!   optional [`SessionIds`]. Native extractors implement it; Wasm plugin instances are adapted
//!   to it ([`WasmExtractor`]).
//! - [`ExtractorRole`] is the role the generic [`crate::chain`] machine builds from:
//!   [`ExtractorRegistry`] holds extractor *types* by name, [`ExtractorChain`] is one
//!   generation's chain, prepared from `Config::routing.session_extractors` off the request
//!   path.
//! - [`ExtractorChain::extract`] is the per-request policy.

pub(crate) mod chain;
pub(crate) mod extractor;
pub(crate) mod id;
pub(crate) mod role;
pub(crate) mod wasm;

pub use chain::ExtractorChain;
pub use extractor::{ExtractorFuture, SessionExtractor};
pub use id::{SessionIds, SessionKind};
pub(crate) use role::ExtractorRole;
pub use role::{ExtractorRegistry, SessionExtractorFactory};
pub(crate) use wasm::WasmExtractor;
