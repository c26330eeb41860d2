//! Fault injection: what a credential does instead of answering normally.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use parking_lot::Mutex;

/// What a faulty credential does with a request. Build one with the constructors on [`Fault`].
///
/// The stream faults (`StreamError`, `StreamStall`, `Close`, `OversizedEvent`) act after
/// `after_chunks` content chunks of a streamed answer, at the moment the next chunk would have
/// been due. On a non-streaming request they act before the response head instead: `StreamError`
/// answers with its status as a plain error response, `StreamStall` never answers, `Close` and
/// `OversizedEvent` drop the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultBehavior {
    /// Answer normally (useful with [`Fault::with_delay`]).
    Answer,
    /// Answer with this status and the protocol's error body (or `body` verbatim), plus a
    /// `Retry-After` header when `retry_after` is set.
    Status {
        /// The HTTP status.
        status: StatusCode,
        /// A body to send instead of the protocol's error shape.
        body: Option<Bytes>,
        /// The `Retry-After` header value.
        retry_after: Option<String>,
    },
    /// Never answer; the request ends when the client goes away (or the mock shuts down).
    Hang,
    /// Stream `after_chunks` chunks, then the protocol's terminal error event, then end.
    StreamError {
        /// Content chunks sent before the error.
        after_chunks: u32,
        /// The status the error event describes (it picks the error type).
        status: StatusCode,
        /// The error message.
        message: String,
    },
    /// Stream `after_chunks` chunks, then send nothing more and keep the connection open.
    StreamStall {
        /// Content chunks sent before the stall.
        after_chunks: u32,
    },
    /// Stream `after_chunks` chunks, then one frame of `bytes` bytes that starts an event and
    /// never ends it (`data: xxx…`, no blank line), then stall like `StreamStall`. With
    /// `after_chunks` 0 the frame is the stream's very first bytes (no opening events).
    OversizedEvent {
        /// Content chunks sent before the endless event.
        after_chunks: u32,
        /// The size of the event's frame.
        bytes: usize,
    },
    /// Stream `after_chunks` chunks, then close the connection abruptly (no terminating chunk).
    Close {
        /// Content chunks sent before the connection is closed.
        after_chunks: u32,
    },
}

/// A fault to inject for a credential (or for all of them): a [`FaultBehavior`], an optional delay
/// of the response head, and an optional limit to the next N requests.
///
/// ```
/// use std::time::Duration;
/// use switchyard_mock::Fault;
///
/// let rate_limited_twice = Fault::status(429).with_retry_after("30").times(2);
/// let slow = Fault::delay(Duration::from_millis(200));
/// let broken_stream = Fault::stream_error_after(3, 529, "overloaded");
/// # let _ = (rate_limited_twice, slow, broken_stream);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    behavior: FaultBehavior,
    head_delay: Duration,
    remaining: Option<u64>,
}

/// Turns a numeric status into a [`StatusCode`].
///
/// # Panics
///
/// When `status` is not in `100..=999`.
fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status)
        .unwrap_or_else(|_| panic!("{status} is not a valid HTTP status (100..=999)"))
}

impl Fault {
    /// A fault with this behavior, no delay, for every request until cleared.
    pub fn new(behavior: FaultBehavior) -> Self {
        Fault {
            behavior,
            head_delay: Duration::ZERO,
            remaining: None,
        }
    }

    /// Answer with `status` and the protocol's error body.
    ///
    /// # Panics
    ///
    /// When `status` is not in `100..=999`.
    pub fn status(status: u16) -> Self {
        Fault::new(FaultBehavior::Status {
            status: status_code(status),
            body: None,
            retry_after: None,
        })
    }

    /// Answer normally, but only after `delay`.
    pub fn delay(delay: Duration) -> Self {
        Fault::new(FaultBehavior::Answer).with_delay(delay)
    }

    /// Never answer.
    pub fn hang() -> Self {
        Fault::new(FaultBehavior::Hang)
    }

    /// Stream `after_chunks` chunks, then the protocol's terminal error event for `status`.
    ///
    /// # Panics
    ///
    /// When `status` is not in `100..=999`.
    pub fn stream_error_after(after_chunks: u32, status: u16, message: impl Into<String>) -> Self {
        Fault::new(FaultBehavior::StreamError {
            after_chunks,
            status: status_code(status),
            message: message.into(),
        })
    }

    /// Stream `after_chunks` chunks, then stall forever.
    pub fn stall_after(after_chunks: u32) -> Self {
        Fault::new(FaultBehavior::StreamStall { after_chunks })
    }

    /// Stream `after_chunks` chunks, then an event of `bytes` bytes that never ends, then stall
    /// (`after_chunks` 0: the event is the stream's first bytes).
    pub fn oversized_event_after(after_chunks: u32, bytes: usize) -> Self {
        Fault::new(FaultBehavior::OversizedEvent {
            after_chunks,
            bytes,
        })
    }

    /// Stream `after_chunks` chunks, then close the connection abruptly.
    pub fn close_after(after_chunks: u32) -> Self {
        Fault::new(FaultBehavior::Close { after_chunks })
    }

    /// Close the connection without answering.
    pub fn close() -> Self {
        Fault::close_after(0)
    }

    /// For a [`FaultBehavior::Status`] fault: send `body` verbatim instead of the protocol's error
    /// shape. Other behaviors are unchanged.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        if let FaultBehavior::Status { body: slot, .. } = &mut self.behavior {
            *slot = Some(body.into());
        }
        self
    }

    /// For a [`FaultBehavior::Status`] fault: add a `Retry-After: value` header. Other behaviors
    /// are unchanged.
    pub fn with_retry_after(mut self, value: impl Into<String>) -> Self {
        if let FaultBehavior::Status {
            retry_after: slot, ..
        } = &mut self.behavior
        {
            *slot = Some(value.into());
        }
        self
    }

    /// Delay the response head by `delay` before the behavior takes effect.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.head_delay = delay;
        self
    }

    /// Apply to the next `requests` requests only; after that the credential is healthy again.
    pub fn times(mut self, requests: u64) -> Self {
        self.remaining = Some(requests);
        self
    }

    /// What the fault does.
    pub fn behavior(&self) -> &FaultBehavior {
        &self.behavior
    }

    /// How long the response head is delayed.
    pub fn head_delay(&self) -> Duration {
        self.head_delay
    }

    /// How many more requests the fault applies to (`None`: until cleared).
    pub fn remaining(&self) -> Option<u64> {
        self.remaining
    }
}

/// The fault that one request meets: its behavior and head delay.
#[derive(Clone, Debug)]
pub(crate) struct TriggeredFault {
    pub(crate) behavior: FaultBehavior,
    pub(crate) head_delay: Duration,
}

/// The faults currently set.
#[derive(Debug, Default)]
pub(crate) struct FaultTable {
    faults: Mutex<Faults>,
}

#[derive(Debug, Default)]
struct Faults {
    per_credential: HashMap<String, Fault>,
    every_credential: Option<Fault>,
}

impl Faults {
    fn slot(&mut self, credential: Option<&str>) -> Option<&mut Fault> {
        match credential {
            Some(credential) => self.per_credential.get_mut(credential),
            None => self.every_credential.as_mut(),
        }
    }

    fn remove(&mut self, credential: Option<&str>) {
        match credential {
            Some(credential) => {
                self.per_credential.remove(credential);
            }
            None => self.every_credential = None,
        }
    }
}

impl FaultTable {
    /// Sets (replaces) the fault of `credential`, or the fault for every credential when `None`.
    pub(crate) fn set(&self, credential: Option<String>, fault: Fault) {
        let mut faults = self.faults.lock();
        if fault.remaining == Some(0) {
            faults.remove(credential.as_deref());
            return;
        }
        match credential {
            Some(credential) => {
                faults.per_credential.insert(credential, fault);
            }
            None => faults.every_credential = Some(fault),
        }
    }

    /// Removes the fault of `credential` (or the one for every credential when `None`).
    pub(crate) fn clear(&self, credential: Option<&str>) {
        self.faults.lock().remove(credential);
    }

    /// Removes every fault.
    pub(crate) fn clear_all(&self) {
        *self.faults.lock() = Faults::default();
    }

    /// The fault a request from `credential` meets (its own first, else the one for every
    /// credential), counting it against the fault's remaining requests.
    pub(crate) fn trigger(&self, credential: &str) -> Option<TriggeredFault> {
        let mut faults = self.faults.lock();
        let target = if faults.per_credential.contains_key(credential) {
            Some(credential)
        } else if faults.every_credential.is_some() {
            None
        } else {
            return None;
        };
        let fault = faults.slot(target)?;
        let triggered = TriggeredFault {
            behavior: fault.behavior.clone(),
            head_delay: fault.head_delay,
        };
        if let Some(remaining) = &mut fault.remaining {
            *remaining -= 1;
            if *remaining == 0 {
                faults.remove(target);
            }
        }
        Some(triggered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_fault_beats_wildcard_and_times_runs_out() {
        let table = FaultTable::default();
        table.set(None, Fault::status(500));
        table.set(Some("a".into()), Fault::hang().times(1));
        assert_eq!(table.trigger("a").unwrap().behavior, FaultBehavior::Hang);
        assert!(matches!(
            table.trigger("a").unwrap().behavior,
            FaultBehavior::Status { .. }
        ));
        table.clear(None);
        assert!(table.trigger("a").is_none());
    }

    #[test]
    fn status_only_modifiers_leave_other_behaviors_alone() {
        let fault = Fault::hang().with_retry_after("3").with_body("x");
        assert_eq!(fault.behavior(), &FaultBehavior::Hang);
        let fault = Fault::status(429).with_retry_after("3").with_body("x");
        assert_eq!(
            fault.behavior(),
            &FaultBehavior::Status {
                status: StatusCode::TOO_MANY_REQUESTS,
                body: Some(Bytes::from_static(b"x")),
                retry_after: Some("3".into()),
            }
        );
    }
}
