//! switchyard: an LLM API proxy that spreads requests over many upstream credentials, keeps each
//! conversation on one credential, cools down failing credentials and fails over, with access
//! control and session recognition as WebAssembly plugins.
//!
//! The binary (`src/main.rs`) is a thin CLI over this library.

pub mod access;
pub mod config;
pub mod plugin;
