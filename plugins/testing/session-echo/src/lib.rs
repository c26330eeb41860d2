//! A test session-id extractor whose answer the request chooses, so the host's extractor chain
//! can be tested. It reads every header (`header-names: none`) and never the body.
//!
//! - `x-session: <id>`: the explicit id `<prefix><id>`;
//! - else `x-derived: <id>`: the derived id `<prefix><id>`, with `x-fallback` as its fallback;
//! - else `x-echo: headers`: the explicit id listing the names of the header fields received;
//! - `x-echo: panic` traps, `x-echo: loop` runs past its deadline;
//! - when the host hands it a body anyway, the explicit id `body-seen`.
//!
//! Settings: `{"prefix": "..."}` (default empty); `{"reject": "message"}` rejects them.

#![cfg(target_arch = "wasm32")]
// The generated bindings use `unsafe` for the canonical ABI.
#![allow(unsafe_code, missing_docs)]

use std::cell::RefCell;

wit_bindgen::generate!({
    world: "session-extractor",
    path: "../../../wit",
});

use exports::switchyard::plugin::session::{ExtractorInfo, Guest, SessionId, SessionKind};
use switchyard::plugin::types::RequestHead;

thread_local! {
    static PREFIX: RefCell<String> = const { RefCell::new(String::new()) };
}

struct SessionEcho;

fn header<'a>(head: &'a RequestHead, name: &str) -> Option<&'a str> {
    head.headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn id(primary: String, fallback: Option<String>, kind: SessionKind) -> Option<SessionId> {
    let prefix = PREFIX.with(|p| p.borrow().clone());
    Some(SessionId {
        primary: format!("{prefix}{primary}"),
        fallback,
        kind,
    })
}

impl Guest for SessionEcho {
    fn describe() -> ExtractorInfo {
        ExtractorInfo {
            name: "session-echo".to_owned(),
            version: "0.0.2".to_owned(),
            needs_body: false,
            header_names: None,
        }
    }

    fn configure(settings_json: String) -> Result<(), String> {
        let value: serde_json::Value =
            serde_json::from_str(&settings_json).map_err(|e| e.to_string())?;
        if let Some(message) = value.get("reject").and_then(|v| v.as_str()) {
            return Err(message.to_owned());
        }
        let prefix = value
            .get("prefix")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned();
        PREFIX.with(|p| *p.borrow_mut() = prefix);
        Ok(())
    }

    fn extract(head: RequestHead, body: Option<Vec<u8>>) -> Option<SessionId> {
        if body.is_some() {
            return Some(SessionId {
                primary: "body-seen".to_owned(),
                fallback: None,
                kind: SessionKind::Explicit,
            });
        }
        match header(&head, "x-echo") {
            Some("panic") => panic!("session-echo was asked to panic"),
            Some("loop") => loop {
                std::hint::black_box(&head);
            },
            _ => {}
        }
        if let Some(value) = header(&head, "x-session") {
            return id(value.to_owned(), None, SessionKind::Explicit);
        }
        if let Some(value) = header(&head, "x-derived") {
            let fallback = header(&head, "x-fallback").map(str::to_owned);
            return id(value.to_owned(), fallback, SessionKind::Derived);
        }
        if header(&head, "x-echo") == Some("headers") {
            let names: Vec<&str> = head.headers.iter().map(|(n, _)| n.as_str()).collect();
            return id(names.join(","), None, SessionKind::Explicit);
        }
        None
    }
}

export!(SessionEcho);
