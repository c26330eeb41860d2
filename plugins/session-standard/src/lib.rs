//! `session-standard`: switchyard's standard session-id extractor.
//!
//! The rules live in plain Rust ([`extract::extract`]) so the host can benchmark them natively
//! against the same code compiled to WebAssembly; on `wasm32` targets this crate also exports
//! the `session-extractor` world of `switchyard:plugin`.
//!
//! Settings: none (`{}`); any key is rejected.

pub mod extract;
pub mod json_scan;
pub mod message_hash;
pub mod settings;

// The code `wit_bindgen` generates declares exports and uses `unsafe` for the canonical ABI.
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code, missing_docs)]
mod component {
    use crate::extract::{self, HEADER_NAMES, Kind};

    wit_bindgen::generate!({
        world: "session-extractor",
        path: "../../wit",
    });

    use exports::switchyard::plugin::session::{ExtractorInfo, Guest, SessionId, SessionKind};
    use switchyard::plugin::types::RequestHead;

    struct SessionStandard;

    impl Guest for SessionStandard {
        fn describe() -> ExtractorInfo {
            ExtractorInfo {
                name: "session-standard".to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                needs_body: true,
                header_names: Some(HEADER_NAMES.iter().map(|n| (*n).to_owned()).collect()),
            }
        }

        fn configure(settings_json: String) -> Result<(), String> {
            crate::settings::check(&settings_json)
        }

        fn extract(head: RequestHead, body: Option<Vec<u8>>) -> Option<SessionId> {
            let session = extract::extract(&head.headers, body.as_deref())?;
            Some(SessionId {
                primary: session.primary,
                fallback: session.fallback,
                kind: match session.kind {
                    Kind::Explicit => SessionKind::Explicit,
                    Kind::Derived => SessionKind::Derived,
                },
            })
        }
    }

    export!(SessionStandard);
}
