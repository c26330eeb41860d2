//! Who may call the proxy (design §2 "Access", reference §2): a chain of access-provider
//! instances, each native Rust or a WebAssembly plugin.
//!
//! - [`Provider`] is what a configured instance does: answer a [`RequestHead`] with an
//!   [`Outcome`]. Native providers implement it; Wasm plugin instances are adapted to it.
//! - [`ProviderRegistry`] holds provider *types* by name (the reference SDK's `Register`):
//!   native factories or Wasm plugins, in registration order, with an exclusive option.
//! - [`AccessChain`] is one generation's chain, prepared from `Config::access_providers` off
//!   the request path ([`AccessChain::prepare`]) and then used per request
//!   ([`AccessChain::authenticate`]).

mod chain;
mod error;
mod outcome;
mod provider;
mod registry;
mod wasm;

pub use chain::{AccessChain, ChainEntry};
pub use error::{AccessError, PrepareError};
pub use outcome::{Outcome, Principal};
pub use provider::{Provider, ProviderFuture};
pub use registry::{NativeFactory, ProviderRegistry, ProviderType};
pub use wasm::WasmProvider;

pub use crate::plugin::RequestHead;
