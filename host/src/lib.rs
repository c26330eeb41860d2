//! switchyard: an LLM API proxy that spreads requests over many upstream credentials, keeps each
//! conversation on one credential, cools down failing credentials and fails over, with access
//! control and session recognition as WebAssembly plugins.
//!
//! The binary (`src/main.rs`) is a thin CLI over this library: [`server::RunningServer::start`]
//! with [`server::ServerOptions`] runs a server.

pub mod access;
pub mod atomic_file;
pub mod clock;
pub mod config;
pub mod credential;
pub mod demo;
pub mod generation;
pub mod management;
pub mod metrics;
pub mod model;
pub mod plugin;
pub mod protocol;
pub mod proxy;
pub mod redis_store;
pub mod resp;
pub mod runtime;
pub mod scaffold;
pub mod server;
pub mod session;
pub mod usage;
pub mod watch;
