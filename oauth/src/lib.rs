//! OAuth 2.0 token grants for switchyard's upstream credentials, as pure functions: nothing
//! here does I/O. The proxy sends the [`TokenRequest`] it gets, reads at most
//! [`MAX_TOKEN_RESPONSE`] bytes of the answer and hands them to [`parse_token_response`].
//!
//! - [`ServiceAccountKey`]: a Google service-account JSON key; [`TokenRequest::jwt_bearer`]
//!   signs an RS256 assertion with it (RFC 7523).
//! - [`ClientCredentials`]: RFC 6749 §4.4, the client authenticated by HTTP Basic or in the form.
//! - [`RefreshGrant`]: RFC 6749 §6, the refresh token kept when the server rotates it.
//! - [`TokenSet`]: what a grant yields; `expires_in` clamped to a [`Lifetime`] range.
//! - [`Sealer`]: authenticated encryption of a token set for a shared store (AES-256-GCM,
//!   key derived with HKDF-SHA256 from a configured secret).

mod client_credentials;
mod error;
mod jwt_bearer;
mod pem;
mod refresh;
mod request;
mod response;
mod sealed;
mod server_text;
mod service_account;
mod token_set;

pub use client_credentials::{AuthMethod, ClientCredentials};
pub use error::{KeyError, TokenError};
pub use jwt_bearer::{JWT_BEARER_GRANT, assertion};
pub use refresh::RefreshGrant;
pub use request::TokenRequest;
pub use response::{Lifetime, MAX_TOKEN_RESPONSE, parse_token_response};
pub use sealed::Sealer;
pub use service_account::ServiceAccountKey;
pub use token_set::TokenSet;

/// The scope a Vertex AI service account asks for.
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
