//! Which per-core serving thread this is (`server.runtime: per-core`): state that must not be
//! shared between cores (upstream connection pools) is kept per core index.

use std::cell::Cell;
use std::num::NonZeroUsize;

thread_local! {
    static CORE: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The index of the per-core serving thread running this code; `None` on any other thread
/// (a work-stealing runtime's workers, the control-plane threads).
pub(crate) fn current() -> Option<usize> {
    CORE.with(Cell::get)
}

/// Marks this thread as per-core serving thread `index`, for as long as it lives.
pub(crate) fn enter(index: usize) {
    CORE.with(|core| core.set(Some(index)));
}

/// How many per-core serving threads a per-core server runs: one per core this process may
/// run on.
pub(crate) fn count() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}
