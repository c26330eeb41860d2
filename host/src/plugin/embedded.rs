//! The first-party plugins built by `host/build.rs` and embedded in the binary.

include!(concat!(env!("OUT_DIR"), "/embedded_plugins.rs"));
