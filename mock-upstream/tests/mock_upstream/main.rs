//! End-to-end tests of the mock upstream over real HTTP on loopback (one test binary).

mod binary;
mod fault;
mod oauth;
mod prompt_cache;
mod protocol;
mod recording;
mod sdk_types;
mod support;
mod tools;
mod vertex;
