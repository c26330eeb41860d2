//! End-to-end tests: the real server on loopback against the mock upstream (and real plugins).
//!
//! One test binary; each module covers one area.

mod harness;

// The build helper of `host/build.rs`, reused to build the test guests.
use switchyard_guest_build as wasm_guest;

mod access;
mod affinity;
mod console;
mod console_api;
mod demo;
mod events;
mod extractor_chain;
mod history;
mod host_files;
mod jwt;
mod limits;
mod logs;
mod management;
mod model_routes;
mod oauth_config;
mod operations;
mod per_core;
mod plugin_check;
mod plugin_folder;
mod plugin_host;
mod polyglot;
mod proxy_core;
mod redis_server;
mod redis_store;
mod reload;
mod request_safety;
mod resp;
mod scaffold;
mod sdk;
mod sdk_clients;
mod streaming;
mod tables;
mod token_replicas;
mod tokens;
mod translation;
mod trusted_proxies;
mod usage;
mod vertex;
mod wat_guest;
mod weighted_round_robin;
