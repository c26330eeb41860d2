//! A test access provider that misbehaves on request, so the host's fault handling can be
//! tested: it loops forever, allocates without bound, panics, overflows its stack, sleeps, or
//! answers any outcome.
//!
//! The behaviour is the request header `x-misbehave`, else the setting `mode`, else `allow`.
//! It declares the header names `x-misbehave` and `x-visible`; mode `headers` allows with the
//! metadata `headers`: the names of the fields it received, comma-separated.
//! Settings: `{"mode": "...", "principal": "...", "reject": "message"}`; `reject` makes
//! `configure` fail with that message.

#![cfg(target_arch = "wasm32")]
// The generated bindings use `unsafe` for the canonical ABI.
#![allow(unsafe_code, missing_docs)]

use std::cell::RefCell;

wit_bindgen::generate!({
    world: "access-provider",
    path: "../../../wit",
});

use exports::switchyard::plugin::access::{Denial, Grant, Guest, Outcome, ProviderInfo};
use switchyard::plugin::host::log;
use switchyard::plugin::types::{LogLevel, RequestHead};

#[derive(Default)]
struct Settings {
    mode: String,
    principal: String,
}

thread_local! {
    static SETTINGS: RefCell<Settings> = RefCell::new(Settings::default());
    static CALLS: RefCell<u64> = const { RefCell::new(0) };
}

struct Misbehave;

impl Guest for Misbehave {
    fn describe() -> ProviderInfo {
        ProviderInfo {
            name: "misbehave".to_owned(),
            version: "0.0.1".to_owned(),
            header_names: Some(vec!["X-Misbehave".to_owned(), "x-visible".to_owned()]),
        }
    }

    fn configure(settings_json: String) -> Result<(), String> {
        let value: serde_json::Value =
            serde_json::from_str(&settings_json).map_err(|e| e.to_string())?;
        if let Some(message) = value.get("reject").and_then(|v| v.as_str()) {
            return Err(message.to_owned());
        }
        let text = |key: &str, default: &str| {
            value
                .get(key)
                .and_then(|v| v.as_str())
                .unwrap_or(default)
                .to_owned()
        };
        SETTINGS.with(|s| {
            *s.borrow_mut() = Settings {
                mode: text("mode", "allow"),
                principal: text("principal", "misbehave"),
            }
        });
        Ok(())
    }

    fn authenticate(head: RequestHead) -> Outcome {
        let calls = CALLS.with(|c| {
            *c.borrow_mut() += 1;
            *c.borrow()
        });
        let (mode, principal) = SETTINGS.with(|s| {
            let s = s.borrow();
            (s.mode.clone(), s.principal.clone())
        });
        let mode = head
            .headers
            .iter()
            .find(|(n, _)| n == "x-misbehave")
            .map(|(_, v)| v.clone())
            .unwrap_or(mode);
        match mode.as_str() {
            "loop" => loop {
                std::hint::black_box(&head);
            },
            "alloc" => {
                let mut grown: Vec<Vec<u8>> = Vec::new();
                loop {
                    grown.push(Vec::with_capacity(16 << 20));
                    std::hint::black_box(&grown);
                }
            }
            "panic" => panic!("misbehave was asked to panic"),
            "recurse" => {
                std::hint::black_box(recurse(std::hint::black_box(1)));
                Outcome::NotHandled
            }
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_secs(3600));
                Outcome::NotHandled
            }
            "print" => {
                println!("to stdout");
                eprintln!("to stderr");
                Outcome::NotHandled
            }
            "log" => {
                log(
                    LogLevel::Info,
                    "hello from misbehave",
                    &[("path".to_owned(), head.path.clone())],
                );
                Outcome::NotHandled
            }
            "headers" => Outcome::Allow(Grant {
                principal,
                metadata: vec![(
                    "headers".to_owned(),
                    head.headers
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                )],
            }),
            "not-handled" => Outcome::NotHandled,
            "no-credentials" => Outcome::NoCredentials,
            "invalid" => Outcome::InvalidCredential,
            "deny" => Outcome::Deny(Denial {
                status: 451,
                message: "denied by misbehave".to_owned(),
            }),
            "bad-deny" => Outcome::Deny(Denial {
                status: 200,
                message: "not an error status".to_owned(),
            }),
            "error" => Outcome::Error("misbehave error".to_owned()),
            _ => Outcome::Allow(Grant {
                principal,
                metadata: vec![
                    ("calls".to_owned(), calls.to_string()),
                    ("client".to_owned(), head.client_address.clone()),
                    ("arrival".to_owned(), head.arrival_time_ms.to_string()),
                ],
            }),
        }
    }
}

/// Recursion without end (until the stack overflows).
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let mut frame = [depth; 32];
    frame[(depth % 32) as usize] = recurse(std::hint::black_box(depth + 1));
    std::hint::black_box(frame).iter().sum()
}

export!(Misbehave);
