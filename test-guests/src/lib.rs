//! The test guests: components of the `plugins/` workspace (`plugins/testing/*`, and
//! `jwt-hs256`, a first-party plugin that is not embedded) that the tests load.
//!
//! The build script builds them for `wasm32-wasip2` and defines, per guest, a constant
//! `<NAME>_COMPONENT` with the path of its component file, and the macro `foreach_guest!`,
//! which calls a macro once per guest with `(NAME, "package", NAME_COMPONENT)`. A test crate
//! defines an item per guest with it and denies dead code, so a guest no test uses is an
//! error (the pattern of wasmtime's `test-programs-artifacts`).

include!(concat!(env!("OUT_DIR"), "/guests.rs"));
