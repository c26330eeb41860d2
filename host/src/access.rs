//! Who may call the proxy (architecture: Plugin roles): the access-provider role, a
//! chain of instances each native Rust or a WebAssembly plugin.
//!
//! - [`AccessProvider`] is what a configured instance does: answer a [`RequestHead`] with an
//!   [`AccessOutcome`]. Native providers implement it; Wasm plugin instances are adapted to it
//!   ([`WasmProvider`]).
//! - [`AccessRole`] is the role the generic [`crate::chain`] machine builds from:
//!   [`ProviderRegistry`] holds provider *types* by name (the reference SDK's `Register`),
//!   [`AccessChain`] is one generation's chain, prepared from `Config::access_providers` off
//!   the request path ([`AccessChain::prepare`]).
//! - [`AccessChain::authenticate`] is the per-request policy.

mod chain;
mod error;
mod outcome;
mod provider;
mod role;
mod wasm;

pub use chain::AccessChain;
pub use error::AccessError;
pub use outcome::AccessOutcome;
pub(crate) use outcome::Principal;
pub use provider::{AccessFuture, AccessProvider};
pub(crate) use role::AccessRole;
pub use role::{AccessProviderFactory, ProviderRegistry, ProviderType};
pub(crate) use wasm::WasmProvider;

pub use crate::plugin::RequestHead;
