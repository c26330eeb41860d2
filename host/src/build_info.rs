//! What this build of switchyard is: its version, the commit it was built from and that
//! commit's date, as `host/build.rs` found them (`unknown` when built outside a git checkout).
//! The management API sends them as `X-CPA-VERSION`, `X-CPA-COMMIT` and `X-CPA-BUILD-DATE`.

/// The crate version (`0.1.0`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The full hash of the commit built, or `unknown`.
pub const COMMIT: &str = env!("SWITCHYARD_GIT_COMMIT");

/// The commit's date in UTC (`2026-12-01T09:30:00Z`), or `unknown`.
pub const BUILD_DATE: &str = env!("SWITCHYARD_BUILD_DATE");
