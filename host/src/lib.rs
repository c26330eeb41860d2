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

pub mod sdk;
#[doc(inline)]
pub use sdk::*;

#[doc(hidden)]
pub mod access;
#[doc(hidden)]
pub mod affinity;
#[doc(hidden)]
pub mod atomic_file;
#[doc(hidden)]
pub mod build_info;
#[doc(hidden)]
pub mod chain;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;
#[doc(hidden)]
pub mod client_address;
#[doc(hidden)]
pub mod clock;
#[doc(hidden)]
pub mod config;
#[doc(hidden)]
pub mod confined_dir;
#[doc(hidden)]
pub mod credential;
#[doc(hidden)]
pub mod generation;
#[doc(hidden)]
pub mod hooks;
#[cfg(test)]
mod import_circles;
#[doc(hidden)]
pub mod lru;
#[doc(hidden)]
pub mod management;
#[doc(hidden)]
pub mod metrics;
#[doc(hidden)]
pub mod model;
#[doc(hidden)]
pub mod plugin;
#[doc(hidden)]
pub mod protocol;
#[doc(hidden)]
pub mod proxy;
#[doc(hidden)]
pub mod redis_store;
#[doc(hidden)]
pub mod reload;
#[doc(hidden)]
pub mod resp;
#[doc(hidden)]
pub mod runtime;
#[doc(hidden)]
pub mod secret;
#[doc(hidden)]
pub mod server;
#[doc(hidden)]
pub mod session;
#[doc(hidden)]
pub mod shared;
#[doc(hidden)]
pub mod usage;
