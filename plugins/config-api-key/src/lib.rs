//! `config-api-key`: switchyard's embedded access provider.
//!
//! Admits a request when it carries one of the configured client API keys, looked up exactly
//! as CLIProxyAPI does: `Authorization` (with an optional `Bearer ` prefix), `X-Goog-Api-Key`,
//! `X-Api-Key`, the query parameter `key`, then `auth_token`. The first candidate that matches
//! a key wins; the principal is the key and the metadata `source` says where it was found.
//!
//! Settings: `{"api-keys": ["key-1", "key-2"]}`. Keys are trimmed; empty ones and duplicates
//! are dropped. Comparison runs in constant time (see `key_set`). An instance without keys
//! answers `not-handled`: it has nothing to check, so the rest of the chain decides (the host
//! warns about it when the config loads).

pub mod credential;
pub mod key_set;

// The code `wit_bindgen` generates declares exports and uses `unsafe` for the canonical ABI.
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code, missing_docs)]
mod component {
    use std::cell::RefCell;

    use crate::credential::{Candidates, HEADER_NAMES};
    use crate::key_set::KeySet;

    wit_bindgen::generate!({
        world: "access-provider",
        path: "../../wit",
    });

    use exports::switchyard::plugin::access::{Grant, Guest, Outcome, ProviderInfo};
    use switchyard::plugin::types::RequestHead;

    thread_local! {
        /// The keys of this live instance, set by `configure`.
        static KEYS: RefCell<KeySet> = RefCell::new(KeySet::default());
    }

    struct ConfigApiKey;

    impl Guest for ConfigApiKey {
        fn describe() -> ProviderInfo {
            ProviderInfo {
                name: "config-api-key".to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                header_names: Some(HEADER_NAMES.iter().map(|n| (*n).to_owned()).collect()),
            }
        }

        fn configure(settings_json: String) -> Result<(), String> {
            let keys = KeySet::from_settings(&settings_json)?;
            KEYS.with(|slot| *slot.borrow_mut() = keys);
            Ok(())
        }

        fn authenticate(head: RequestHead) -> Outcome {
            if KEYS.with(|keys| keys.borrow().is_empty()) {
                return Outcome::NotHandled;
            }
            let candidates = Candidates::from_request(&head.headers, &head.query);
            if candidates.is_empty() {
                return Outcome::NoCredentials;
            }
            KEYS.with(|keys| {
                let keys = keys.borrow();
                for (source, value) in candidates.in_order() {
                    if let Some(key) = keys.find(value) {
                        return Outcome::Allow(Grant {
                            principal: key.to_owned(),
                            metadata: vec![("source".to_owned(), source.to_owned())],
                        });
                    }
                }
                Outcome::InvalidCredential
            })
        }
    }

    export!(ConfigApiKey);
}
