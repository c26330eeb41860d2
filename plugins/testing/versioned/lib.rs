//! A test access provider built in two versions (`versioned-v1`, `versioned-v2`: the same source,
//! the package version differs) so the hot-swap tests can tell which one answers.
//!
//! Both declare the type `versioned` and admit every request as `versioned`, except a request
//! with the header `x-version-probe`, which gets `409 {"error":"version <package version>"}`.
//! The setting `reject` makes `configure` fail with its value.

#![cfg(target_arch = "wasm32")]
// The generated bindings use `unsafe` for the canonical ABI.
#![allow(unsafe_code, missing_docs)]

wit_bindgen::generate!({
    world: "access-provider",
    path: "../../../../wit",
});

use exports::switchyard::plugin::access::{Denial, Grant, Guest, Outcome, ProviderInfo};
use switchyard::plugin::types::RequestHead;

struct Versioned;

impl Guest for Versioned {
    fn describe() -> ProviderInfo {
        ProviderInfo {
            name: "versioned".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            header_names: Some(vec!["x-version-probe".to_owned()]),
        }
    }

    fn configure(settings_json: String) -> Result<(), String> {
        let value: serde_json::Value =
            serde_json::from_str(&settings_json).map_err(|e| e.to_string())?;
        match value.get("reject").and_then(|v| v.as_str()) {
            Some(message) => Err(message.to_owned()),
            None => Ok(()),
        }
    }

    fn authenticate(head: RequestHead) -> Outcome {
        if head
            .headers
            .iter()
            .any(|(name, _)| name == "x-version-probe")
        {
            return Outcome::Deny(Denial {
                status: 409,
                message: format!("version {}", env!("CARGO_PKG_VERSION")),
            });
        }
        Outcome::Allow(Grant {
            principal: "versioned".to_owned(),
            metadata: vec![],
        })
    }
}

export!(Versioned);
