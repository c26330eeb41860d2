//! switchyard: an LLM API proxy that spreads requests over many upstream credentials, keeps each
//! conversation on one credential, cools down failing credentials and fails over, with access
//! control and session recognition as WebAssembly plugins.
//!
//! This crate is also a library a Rust program embeds: build a [`Switchyard`] from a
//! `config.yaml` or an [`SdkConfig`] made in code, register native access providers and
//! session extractors beside the Wasm ones, plug in a [`CredentialStore`], a [`SessionStore`]
//! and [`Hooks`], then serve it on a listener or mount its [`Switchyard::router`] in your own
//! axum app. The [`sdk`] module lists the whole public surface; the guides are in `docs/`.
//!
//! ```no_run
//! # async fn run() -> Result<(), switchyard::SdkError> {
//! use switchyard::{SdkConfig, Switchyard, Upstream};
//!
//! let switchyard = Switchyard::builder()
//!     .config(SdkConfig::new().api_key("sk-client").upstream(Upstream::claude("sk-ant-...")))
//!     .build()
//!     .await?;
//! let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
//! let addr = switchyard.serve(listener)?;
//! println!("serving on http://{addr}");
//! switchyard.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! The `switchyard` binary (`src/main.rs`, the `cli` module) is a thin CLI over the same
//! builder; it and its dependencies (clap, mimalloc, tracing-subscriber, the mock upstream)
//! come with the default `cli` feature, which an embedding program turns off:
//! `switchyard = { version = "…", default-features = false }`.

// Every workspace check, test and clippy run builds the library with `cli` and `test-util`
// (the package's dev-dependency on itself turns `test-util` on), and there the lints below
// hold. Without those features (a plain build of the binary, an embedding program) the
// internals that only `cli` or `test_util` reach are crate-private and partly unused by design.
#![cfg_attr(
    not(all(feature = "cli", feature = "test-util")),
    allow(unreachable_pub, dead_code, unused_imports)
)]

pub mod sdk;
#[doc(inline)]
pub use sdk::*;

mod access;
mod affinity;
mod atomic_file;
mod build_info;
mod chain;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;
mod client_address;
mod clock;
mod config;
mod confined_dir;
mod credential;
mod events;
mod generation;
mod history;
mod hooks;
#[cfg(test)]
mod import_circles;
mod lru;
mod management;
mod metrics;
mod model;
mod plugin;
mod protocol;
mod proxy;
mod redis_store;
mod reload;
mod resp;
mod rfc3339;
mod runtime;
mod secret;
mod server;
mod serving_core;
mod session;
mod shared;
#[cfg(feature = "test-util")]
#[doc(hidden)]
pub mod test_util;
mod token;
mod usage;
