//! `{{name}}`: a switchyard session-id extractor (world `session-extractor`).
//!
//! Takes the session from the `x-conversation` header: every request naming the same
//! conversation goes to the same upstream credential.
//!
//! Settings (the instance's `config` in `config.yaml`, handed to `configure` as JSON):
//! `{"prefix": "team-a:"}`, put before every id (default: none).

// The bindings `wit_bindgen` generates use `unsafe` for the canonical ABI.
#![allow(unsafe_code)]

use std::cell::RefCell;

wit_bindgen::generate!({ world: "session-extractor", path: "wit" });

use exports::switchyard::plugin::session::{ExtractorInfo, Guest, SessionId, SessionKind};
use switchyard::plugin::types::RequestHead;

/// The header this extractor reads. Only the headers named in `describe` are copied into the
/// plugin on each call.
const HEADER: &str = "x-conversation";

thread_local! {
    /// The prefix of this live instance, set once by `configure`.
    static PREFIX: RefCell<String> = const { RefCell::new(String::new()) };
}

struct Plugin;

impl Guest for Plugin {
    fn describe() -> ExtractorInfo {
        ExtractorInfo {
            name: "{{name}}".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            // The body is not needed: the host does not copy it into the plugin.
            needs_body: false,
            header_names: Some(vec![HEADER.to_owned()]),
        }
    }

    fn configure(settings_json: String) -> Result<(), String> {
        let settings: serde_json::Value =
            serde_json::from_str(&settings_json).map_err(|e| format!("settings: {e}"))?;
        let settings = settings.as_object().ok_or("settings must be an object")?;
        let mut prefix = String::new();
        for (key, value) in settings {
            match (key.as_str(), value.as_str()) {
                ("prefix", Some(value)) => prefix = value.to_owned(),
                ("prefix", None) => return Err("prefix must be a string".to_owned()),
                _ => return Err(format!("unknown setting {key:?}")),
            }
        }
        PREFIX.with(|slot| *slot.borrow_mut() = prefix);
        Ok(())
    }

    fn extract(head: RequestHead, _body: Option<Vec<u8>>) -> Option<SessionId> {
        let (_, value) = head.headers.iter().find(|(name, _)| name == HEADER)?;
        let value = value.trim();
        if value.is_empty() {
            return None;
        }
        Some(SessionId {
            primary: PREFIX.with(|prefix| format!("{}{value}", prefix.borrow())),
            fallback: None,
            // The client named its session: this id wins over computed (derived) ones.
            kind: SessionKind::Explicit,
        })
    }
}

export!(Plugin);
