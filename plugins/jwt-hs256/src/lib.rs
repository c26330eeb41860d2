//! `jwt-hs256`: a switchyard access provider for HS256 JSON Web Tokens (a first-party example of
//! a custom scheme; built like any plugin and dropped into the plugins folder, not embedded).
//!
//! A request with `Authorization: Bearer <jwt>` is admitted when the token's HMAC-SHA256
//! signature matches the configured secret (compared in constant time), `exp` is after and
//! `nbf` (if any) not after the request's arrival time (give or take `leeway-seconds`), `iss`
//! is the configured issuer (if one is set) and `aud` names a configured audience (if one is
//! set; a token with an `aud` is refused when none is). The principal is the value of the
//! claim `principal-claim` (default `sub`).
//!
//! Answers: no `Authorization: Bearer` header, or a bearer value that is not a JWT (such as an
//! API key) → `no-credentials`, so the next provider of the chain decides; a JWT that fails a
//! check → `invalid-credential` (the reason goes to the debug log).
//!
//! Settings: `{"secret": "...", "issuer": "...", "audience": "..." | ["..."],
//! "leeway-seconds": 0, "principal-claim": "sub"}`; only `secret` (at least 32 bytes) is
//! required. Anything else is rejected by `configure` with a message naming the setting.

pub mod settings;
pub mod token;

// The code `wit_bindgen` generates declares exports and uses `unsafe` for the canonical ABI.
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code, missing_docs)]
mod component {
    use std::cell::RefCell;

    use crate::settings::Settings;
    use crate::token::{Verdict, Verifier, bearer};

    wit_bindgen::generate!({
        world: "access-provider",
        path: "../../wit",
    });

    use exports::switchyard::plugin::access::{Grant, Guest, Outcome, ProviderInfo};
    use switchyard::plugin::host::{log, log_enabled};
    use switchyard::plugin::types::{LogLevel, RequestHead};

    thread_local! {
        /// The verifier of this live instance, set by `configure`.
        static VERIFIER: RefCell<Option<Verifier>> = const { RefCell::new(None) };
    }

    struct JwtHs256;

    impl Guest for JwtHs256 {
        fn describe() -> ProviderInfo {
            ProviderInfo {
                name: "jwt-hs256".to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                // Only this header is copied into the plugin on each call.
                header_names: Some(vec!["authorization".to_owned()]),
            }
        }

        fn configure(settings_json: String) -> Result<(), String> {
            let verifier = Verifier::new(Settings::parse(&settings_json)?);
            VERIFIER.with(|slot| *slot.borrow_mut() = Some(verifier));
            Ok(())
        }

        fn authenticate(head: RequestHead) -> Outcome {
            let Some(token) = head
                .headers
                .iter()
                .find(|(name, _)| name == "authorization")
                .and_then(|(_, value)| bearer(value))
            else {
                return Outcome::NoCredentials;
            };
            VERIFIER.with(|slot| {
                let slot = slot.borrow();
                let Some(verifier) = slot.as_ref() else {
                    return Outcome::Error("jwt-hs256 is not configured".to_owned());
                };
                match verifier.verify(token, head.arrival_time_ms) {
                    Verdict::NotAToken => Outcome::NoCredentials,
                    Verdict::Invalid(reason) => {
                        if log_enabled(LogLevel::Debug) {
                            log(
                                LogLevel::Debug,
                                "token refused",
                                &[("reason".to_owned(), reason.as_str().to_owned())],
                            );
                        }
                        Outcome::InvalidCredential
                    }
                    Verdict::Valid {
                        principal,
                        metadata,
                    } => Outcome::Allow(Grant {
                        principal,
                        metadata,
                    }),
                }
            })
        }
    }

    export!(JwtHs256);
}
