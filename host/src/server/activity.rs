//! One connection's requests in flight, and when it has been quiet for too long.
//!
//! A request is in flight from the moment hyper hands it to the service until its response
//! body is dropped (sent whole, or abandoned). A connection with nothing in flight is idle; it
//! must start its first request within `server.header-read-timeout-ms` of being accepted, and
//! any later one within `server.idle-timeout-ms` of the previous response (HTTP/1 and HTTP/2
//! alike; hyper's own HTTP/1 header clock runs beside it).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Which deadline ended a quiet connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Quiet {
    /// No first request within the header-read timeout.
    NoFirstRequest,
    /// No request within the idle timeout after the last response.
    Idle,
}

/// The requests in flight on one connection.
#[derive(Debug)]
pub(super) struct Activity {
    state: Mutex<State>,
    changed: Notify,
}

#[derive(Debug, Clone, Copy)]
struct State {
    in_flight: usize,
    /// When the connection last became idle (accepted, or its last response ended).
    idle_since: Instant,
    /// Whether a request has started.
    served: bool,
}

/// A request in flight; dropping it ends the request.
#[derive(Debug)]
pub(super) struct InFlight(Arc<Activity>);

impl Activity {
    /// A connection accepted now, with nothing in flight.
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Activity {
            state: Mutex::new(State {
                in_flight: 0,
                idle_since: Instant::now(),
                served: false,
            }),
            changed: Notify::new(),
        })
    }

    /// A request starts.
    pub(super) fn begin(self: &Arc<Self>) -> InFlight {
        {
            let mut state = self.state.lock();
            state.in_flight += 1;
            state.served = true;
        }
        self.changed.notify_waiters();
        InFlight(self.clone())
    }

    /// Returns once the connection has had nothing in flight for `first` (before its first
    /// request) or `idle` (after it); `None` disables that deadline.
    pub(super) async fn quiet(&self, first: Option<Duration>, idle: Option<Duration>) -> Quiet {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let state = *self.state.lock();
            let (limit, reason) = match state.served {
                false => (first, Quiet::NoFirstRequest),
                true => (idle, Quiet::Idle),
            };
            let deadline = match limit {
                Some(limit) if state.in_flight == 0 => state.idle_since + limit,
                _ => {
                    changed.await;
                    continue;
                }
            };
            tokio::select! {
                biased;
                () = &mut changed => {}
                () = tokio::time::sleep_until(deadline) => return reason,
            }
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        {
            let mut state = self.0.state.lock();
            state.in_flight -= 1;
            if state.in_flight == 0 {
                state.idle_since = Instant::now();
            }
        }
        self.0.changed.notify_waiters();
    }
}

/// A response body that keeps its request in flight until it is dropped.
pub(super) struct Tracked<B> {
    body: B,
    _in_flight: InFlight,
}

impl<B> Tracked<B> {
    /// `body`, holding `in_flight`.
    pub(super) fn new(body: B, in_flight: InFlight) -> Self {
        Tracked {
            body,
            _in_flight: in_flight,
        }
    }
}

impl<B> Body for Tracked<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_first_request_has_its_own_deadline() {
        let activity = Activity::new();
        let started = Instant::now();
        let quiet = activity
            .quiet(
                Some(Duration::from_secs(10)),
                Some(Duration::from_secs(120)),
            )
            .await;
        assert_eq!(quiet, Quiet::NoFirstRequest);
        assert_eq!(started.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_in_flight_is_never_idle() {
        let activity = Activity::new();
        let request = activity.begin();
        let waiting = tokio::time::timeout(
            Duration::from_secs(3600),
            activity.quiet(Some(Duration::from_secs(1)), Some(Duration::from_secs(1))),
        )
        .await;
        assert!(waiting.is_err(), "idle while a request was in flight");
        tokio::time::advance(Duration::from_secs(5)).await;
        drop(request);
        let ended = Instant::now();
        let quiet = activity
            .quiet(Some(Duration::from_secs(1)), Some(Duration::from_secs(120)))
            .await;
        assert_eq!(quiet, Quiet::Idle);
        // Counted from the end of the response, not from the accept.
        assert_eq!(ended.elapsed(), Duration::from_secs(120));
    }

    #[tokio::test(start_paused = true)]
    async fn disabled_deadlines_never_fire() {
        let activity = Activity::new();
        let waiting =
            tokio::time::timeout(Duration::from_secs(86_400), activity.quiet(None, None)).await;
        assert!(waiting.is_err());
    }
}
