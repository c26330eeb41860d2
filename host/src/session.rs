//! Session affinity: recognising a conversation (the extractor chain's result) and keeping it
//! on the credential it started on, so the upstream prompt cache stays warm.

pub mod affinity;
pub mod cache;
pub mod id;
pub mod memory_cache;
pub mod redis_cache;

pub use affinity::SessionAffinity;
pub use cache::SessionCache;
pub use id::{SessionIds, SessionKind};
