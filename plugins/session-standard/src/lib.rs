//! `session-standard`: switchyard's standard session-id extractor.
//!
//! The rules live in plain Rust ([`extract::extract`]) so the host can benchmark them natively
//! against the same code compiled to WebAssembly; on `wasm32` targets this crate also exports
//! the `session-extractor` world of `switchyard:plugin`.

pub mod extract;
pub mod message_hash;
