//! A test session-id extractor: the header `x-session` is the explicit session id.

#![cfg(target_arch = "wasm32")]
// The generated bindings use `unsafe` for the canonical ABI.
#![allow(unsafe_code, missing_docs)]

wit_bindgen::generate!({
    world: "session-extractor",
    path: "../../../wit",
});

use exports::switchyard::plugin::session::{ExtractorInfo, Guest, SessionId, SessionKind};
use switchyard::plugin::types::RequestHead;

struct SessionEcho;

impl Guest for SessionEcho {
    fn describe() -> ExtractorInfo {
        ExtractorInfo {
            name: "session-echo".to_owned(),
            version: "0.0.1".to_owned(),
            needs_body: false,
        }
    }

    fn configure(_settings_json: String) -> Result<(), String> {
        Ok(())
    }

    fn extract(head: RequestHead, _body: Option<Vec<u8>>) -> Option<SessionId> {
        let (_, value) = head.headers.iter().find(|(n, _)| n == "x-session")?;
        Some(SessionId {
            primary: value.clone(),
            fallback: None,
            kind: SessionKind::Explicit,
        })
    }
}

export!(SessionEcho);
