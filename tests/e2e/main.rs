//! End-to-end tests: the real server on loopback against the mock upstream (and real plugins).
//!
//! One test binary; each module covers one area.

mod harness;

mod demo;
mod management;
mod operations;
mod proxy_core;
mod reload;
mod resp;
mod streaming;
mod usage;
