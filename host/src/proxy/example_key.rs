//! The example-key safe mode (the reference's `exampleAPIKeySafeModeMiddleware`).
//!
//! A client key copied from an example config (`sk-change-me` from switchyard's, `your-api-key-1`
//! … `your-api-key-3` from the reference's) is public knowledge. While one of them is among the
//! client keys (any `config-api-key` instance) and a real listener accepts connections beyond
//! loopback, the proxy routes answer 403 `unsafe_example_api_key` with
//! `X-CPA-SAFE-MODE: example-api-key`, before any authentication. On loopback only, the
//! example keys work (the quick start uses them).

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use serde_json::{Value, json};

use crate::config::{CONFIG_API_KEY_TYPE, Config};
use crate::runtime::Runtime;

/// The well-known example client keys.
pub(crate) const EXAMPLE_KEYS: &[&str] = &[
    "sk-change-me",
    "your-api-key-1",
    "your-api-key-2",
    "your-api-key-3",
];

/// The example keys among `config`'s client keys (those of every `config-api-key` instance,
/// the top-level `api-keys` included).
pub(crate) fn example_keys_in(config: &Config) -> Vec<&'static str> {
    let mut found: Vec<&'static str> = Vec::new();
    for instance in &config.access_providers {
        if instance.kind != CONFIG_API_KEY_TYPE {
            continue;
        }
        let Some(Value::Array(keys)) = instance.settings.get("api-keys") else {
            continue;
        };
        for key in keys.iter().filter_map(Value::as_str) {
            if let Some(example) = EXAMPLE_KEYS.iter().find(|e| **e == key.trim())
                && !found.contains(example)
            {
                found.push(example);
            }
        }
    }
    found
}

/// Whether the proxy routes are shut: some listener is beyond loopback and `config` holds an
/// example key. Before anything listens (a program serving the router itself) this is off.
pub(crate) fn safe_mode(runtime: &Runtime, config: &Config) -> bool {
    runtime.listeners_are_loopback() == Some(false) && !example_keys_in(config).is_empty()
}

/// The 403 the proxy routes answer in safe mode.
pub(crate) fn refusal() -> Response {
    let mut response = (
        StatusCode::FORBIDDEN,
        Json(json!({
            "error": "unsafe_example_api_key",
            "message": "Proxy API endpoints are disabled because api-keys contains template values. \
                        Replace them with keys of your own in the config file, then retry.",
        })),
    )
        .into_response();
    response.headers_mut().insert(
        "x-cpa-safe-mode",
        HeaderValue::from_static("example-api-key"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn config(yaml: &str) -> Config {
        Config::parse(yaml, None, PathBuf::from("/etc/sy"))
            .unwrap()
            .config
    }

    #[test]
    fn example_keys_are_found_in_every_config_api_key_instance() {
        assert_eq!(
            example_keys_in(&config("api-keys: [mine, sk-change-me]\n")),
            ["sk-change-me"]
        );
        let providers = "auth:\n  providers:\n    - name: team\n      type: config-api-key\n      api-keys: [your-api-key-2, x]\n";
        assert_eq!(example_keys_in(&config(providers)), ["your-api-key-2"]);
        assert!(example_keys_in(&config("api-keys: [sk-change-me-please]\n")).is_empty());
        assert!(example_keys_in(&config("")).is_empty());
    }
}
