//! Bearer tokens switchyard mints and renews itself, for credentials that authenticate with
//! OAuth2 instead of a static key: Vertex AI service accounts (JWT bearer), client credentials,
//! and rotating refresh tokens (`docs/credentials.md`).
//!
//! Each token credential has one [`cell::TokenCell`] per process (kept across reloads while
//! its definition stays): one task renews its token ahead of expiry, requests read the current
//! token without waiting, and while no valid token can be had the credential is blocked with
//! reason `token_unavailable` so requests fail over.

pub(crate) mod cell;
pub(crate) mod cells;
pub(crate) mod env;
pub(crate) mod fetch;
pub(crate) mod issued;
pub(crate) mod persist;
pub(crate) mod policy;
pub(crate) mod renewal;
pub(crate) mod shared_refresh;
pub(crate) mod source;
pub(crate) mod status;

pub use cells::TokenCells;
pub use policy::TokenPolicy;
pub use source::TokenSource;
pub use status::TokenStatus;
