//! The embedding API: everything a Rust program needs to run switchyard inside itself.
//!
//! Every item is re-exported at the crate root; the guides in `docs/` (`sdk-usage.md`,
//! `sdk-access.md`, `sdk-watcher.md`) walk through them.
//!
//! | concept | items |
//! |---|---|
//! | build and run | [`Switchyard`], [`SwitchyardBuilder`], [`SdkError`], [`Router`] |
//! | config in code | [`SdkConfig`], [`InstanceSpec`], [`Upstream`], [`Strategy`], [`Config`], [`LoadedConfig`], [`ConfigWarning`], [`ConfigError`], [`LogFormat`], [`ServingMode`] |
//! | config changes | [`Switchyard::apply_config`], [`Switchyard::refresh`], [`Switchyard::enable_watcher`], [`ReloadStatus`], [`ApplyError`] |
//! | access providers | [`AccessProvider`], [`AccessFuture`], [`AccessOutcome`], [`RequestHead`], [`AccessProviderFactory`], [`InstanceConfig`], [`Fault`], [`secrets_equal`] |
//! | session extractors | [`SessionExtractor`], [`ExtractorFuture`], [`SessionIds`], [`SessionKind`], [`SessionExtractorFactory`] |
//! | stores | [`CredentialStore`], [`CredentialListing`], [`Credential`], [`CredentialId`], [`ProviderKind`], [`SessionStore`], [`SessionCache`], [`BindingStats`] |
//! | observing | [`Hooks`], [`UsageRecord`], [`Tokens`], [`fingerprint`] |
//!
//! The public surface is exactly these items (and their methods and fields); the crate's other
//! modules are private. The `cli` module (the `switchyard` binary's code, `cli` feature) and the
//! `test_util` module (internals for switchyard's own tests and benchmarks, `test-util` feature)
//! are hidden from the documentation and may change in any release. Types that may gain fields
//! or variants are `#[non_exhaustive]`.

mod builder;
mod error;
mod sdk_config;
mod secret;
mod switchyard;

pub use builder::SwitchyardBuilder;
pub use error::{ApplyError, SdkError};
pub use sdk_config::{InstanceSpec, SdkConfig, Upstream};
pub use secret::secrets_equal;
pub use switchyard::Switchyard;

pub use crate::access::{AccessFuture, AccessOutcome, AccessProvider, AccessProviderFactory};
pub use crate::affinity::SessionStore;
pub use crate::affinity::cache::{BindingStats, SessionCache};
pub use crate::config::{
    Config, ConfigError, ConfigWarning, InstanceConfig, LoadedConfig, LogFormat, ServingMode,
    Strategy,
};
pub use crate::credential::file_store::CredentialListing;
pub use crate::credential::store::CredentialStore;
pub use crate::credential::{Credential, CredentialId, ProviderKind, VertexTarget};
pub use crate::hooks::Hooks;
pub use crate::plugin::{Fault, RequestHead};
pub use crate::runtime::ReloadStatus;
pub use crate::session::{
    ExtractorFuture, SessionExtractor, SessionExtractorFactory, SessionIds, SessionKind,
};
pub use crate::usage::{Tokens, UsageRecord, fingerprint};
/// The axum router type [`Switchyard::router`] returns (axum 0.8), to mount in the program's app.
pub use axum::Router;
/// A boxed, sendable future: what [`CredentialStore`] and [`SessionCache`] methods return.
pub use futures_util::future::BoxFuture;

/// The guides' code blocks run as doc tests.
#[cfg(doctest)]
mod guides {
    #[doc = include_str!("../../docs/sdk-usage.md")]
    struct Usage;
    #[doc = include_str!("../../docs/sdk-access.md")]
    struct Access;
    #[doc = include_str!("../../docs/sdk-watcher.md")]
    struct Watcher;
}
