//! Which per-core serving thread this is (`server.runtime: per-core`): state that must not be
//! shared between cores (upstream connection pools) is kept per core index.

use std::cell::Cell;

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
