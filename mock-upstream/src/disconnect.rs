//! Noticing that a client abandoned an exchange before the mock finished it.

use std::sync::Arc;

use crate::state::MockState;

/// Lives as long as the mock still owes the client something: while a request waits (a delay, a
/// hang) and, for a stream, until its body has ended. Dropped before [`DisconnectGuard::settle`]
/// (the client went away, so the server dropped the request or body), it counts a disconnect.
#[derive(Debug)]
pub(crate) struct DisconnectGuard {
    state: Arc<MockState>,
    settled: bool,
}

impl DisconnectGuard {
    /// A guard for an exchange that has just begun.
    pub(crate) fn new(state: Arc<MockState>) -> Self {
        DisconnectGuard {
            state,
            settled: false,
        }
    }

    /// The mock has finished with the exchange (answered, ended the stream, or closed the
    /// connection itself): dropping the guard no longer counts a disconnect.
    pub(crate) fn settle(&mut self) {
        self.settled = true;
    }
}

impl Drop for DisconnectGuard {
    fn drop(&mut self) {
        if !self.settled {
            self.state.recorder.record_disconnect();
        }
    }
}
