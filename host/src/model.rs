//! Models: how a requested model name resolves to the credentials that serve it.

pub(crate) mod builtin;
pub(crate) mod name;
pub(crate) mod pattern;
pub(crate) mod registry;
pub(crate) mod safe_name;
pub(crate) mod tracked;

pub(crate) use registry::{ModelRegistry, Resolution};
