//! The `switchyard` command (built with the `cli` feature): the code behind it is the
//! library's `cli` module.

use std::process::ExitCode;

use switchyard::cli::build_info::HeadEntry;

/// mimalloc: the proxy allocates and frees many small buffers per request; glibc's allocator
/// spent about a tenth of the CPU time of a benchmark run on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Where the checkout's `HEAD` stood when this binary was built (`host/build.rs` names its
/// reflog; only this file reads it, so a commit recompiles the binary, not the library).
const BUILT_FROM: Option<HeadEntry> =
    HeadEntry::from_reflog(include_bytes!(env!("SWITCHYARD_GIT_REFLOG")));

fn main() -> ExitCode {
    switchyard::cli::build_info::record(BUILT_FROM);
    switchyard::cli::run()
}
