//! `{{name}}`: a switchyard access provider (world `access-provider`).
//!
//! Admits a request whose `x-api-token` header holds one of the configured tokens.
//!
//! Settings (the instance's `config` in `config.yaml`, handed to `configure` as JSON):
//! `{"tokens": {"alice": "a-long-random-token"}}`, principal → token. `{}` admits nobody.

// The bindings `wit_bindgen` generates use `unsafe` for the canonical ABI.
#![allow(unsafe_code)]

use std::cell::RefCell;

wit_bindgen::generate!({ world: "access-provider", path: "wit" });

use exports::switchyard::plugin::access::{Grant, Guest, Outcome, ProviderInfo};
use switchyard::plugin::host::log;
use switchyard::plugin::types::{LogLevel, RequestHead};

/// The header this provider reads. Only the headers named in `describe` are copied into the
/// plugin on each call.
const HEADER: &str = "x-api-token";

thread_local! {
    /// (principal, token) pairs of this live instance, set once by `configure`.
    static TOKENS: RefCell<Vec<(String, String)>> = const { RefCell::new(Vec::new()) };
}

struct Plugin;

impl Guest for Plugin {
    fn describe() -> ProviderInfo {
        ProviderInfo {
            name: "{{name}}".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            header_names: Some(vec![HEADER.to_owned()]),
        }
    }

    fn configure(settings_json: String) -> Result<(), String> {
        let settings: serde_json::Value =
            serde_json::from_str(&settings_json).map_err(|e| format!("settings: {e}"))?;
        let settings = settings.as_object().ok_or("settings must be an object")?;
        let mut tokens = Vec::new();
        for (key, value) in settings {
            if key != "tokens" {
                return Err(format!("unknown setting {key:?}"));
            }
            let map = value.as_object().ok_or("tokens must map principals to tokens")?;
            for (principal, token) in map {
                match token.as_str() {
                    Some(token) if !token.is_empty() => {
                        tokens.push((principal.clone(), token.to_owned()));
                    }
                    _ => return Err(format!("tokens.{principal} must be a non-empty string")),
                }
            }
        }
        if tokens.is_empty() {
            log(LogLevel::Warn, "no tokens configured: nobody is admitted", &[]);
        }
        TOKENS.with(|slot| *slot.borrow_mut() = tokens);
        Ok(())
    }

    fn authenticate(head: RequestHead) -> Outcome {
        let Some((_, presented)) = head.headers.iter().find(|(name, _)| name == HEADER) else {
            // Not ours to judge: the next provider in the chain is asked.
            return Outcome::NoCredentials;
        };
        TOKENS.with(|tokens| {
            // Every token is compared, in constant time, so timing reveals nothing.
            let mut found = None;
            for (principal, token) in tokens.borrow().iter() {
                if same(token.as_bytes(), presented.trim().as_bytes()) {
                    found = Some(principal.clone());
                }
            }
            match found {
                Some(principal) => Outcome::Allow(Grant {
                    principal,
                    metadata: vec![("source".to_owned(), HEADER.to_owned())],
                }),
                None => Outcome::InvalidCredential,
            }
        })
    }
}

/// Whether `a` and `b` are equal, in time that depends only on their lengths.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

export!(Plugin);
