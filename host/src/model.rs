//! Models: how a requested model name resolves to the credentials that serve it.

pub mod builtin;
pub mod name;
pub mod pattern;
pub mod registry;
pub mod safe_name;
pub mod tracked;

pub use registry::{ModelRegistry, Resolution};
