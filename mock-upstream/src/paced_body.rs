//! Response bodies: a whole body at once, or a stream paced chunk by chunk that notices when its
//! client goes away.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use tokio::time::Instant;

use crate::disconnect::DisconnectGuard;
use crate::state::MockState;

/// The error a body yields to make the server drop the connection on purpose (hyper closes an
/// HTTP/1 connection without the terminating chunk, or resets an HTTP/2 stream). Also returned by
/// the request handler to close without answering.
#[derive(Clone, Copy, Debug, thiserror::Error)]
#[error("the mock upstream closed the connection on purpose")]
pub(crate) struct DeliberateClose;

/// The body type of every mock response.
pub(crate) type MockBody = UnsyncBoxBody<Bytes, DeliberateClose>;

/// A whole body.
pub(crate) fn full_body(bytes: Bytes) -> MockBody {
    Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// What a stream does after its last scheduled frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// End the body normally.
    Complete,
    /// Send nothing more, keeping the connection open, until the client leaves or the mock
    /// shuts down.
    Stall,
    /// Close the connection abruptly, when the next frame would have been due.
    Close,
}

/// The frames of one stream and their schedule.
#[derive(Debug)]
pub(crate) struct StreamPlan {
    /// Sent at once.
    pub(crate) first: Bytes,
    /// Each sent one interval after the previous frame.
    pub(crate) paced: Vec<Bytes>,
    /// What follows the last frame.
    pub(crate) ending: Ending,
}

/// Counts the stream as open while it lives.
struct OpenStream(Arc<MockState>);

impl OpenStream {
    fn new(state: Arc<MockState>) -> Self {
        state.recorder.stream_opened();
        OpenStream(state)
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.recorder.stream_closed();
    }
}

type ShutdownSignal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A stream in progress.
struct Progress {
    first: Option<Bytes>,
    paced: std::vec::IntoIter<Bytes>,
    ending: Option<Ending>,
    interval: Duration,
    next_due: Instant,
    /// Present when the stream may wait (paced frames or a stall): resolves at shutdown.
    shutdown: Option<ShutdownSignal>,
    guard: DisconnectGuard,
    _open: OpenStream,
}

impl Progress {
    /// The next body item: a frame, the deliberate-close error, or the end.
    async fn next_item(&mut self) -> Option<Result<Frame<Bytes>, DeliberateClose>> {
        if let Some(first) = self.first.take().filter(|first| !first.is_empty()) {
            return Some(Ok(Frame::data(first)));
        }
        if let Some(frame) = self.paced.next() {
            if !self.wait_turn().await {
                return self.close();
            }
            return Some(Ok(Frame::data(frame)));
        }
        match self.ending.take()? {
            Ending::Complete => {
                self.guard.settle();
                None
            }
            Ending::Stall => {
                if let Some(shutdown) = &mut self.shutdown {
                    shutdown.await;
                }
                self.close()
            }
            Ending::Close => {
                self.wait_turn().await;
                // hyper drops what it has not flushed when a body fails; returning `Pending` once
                // lets it flush the frames already sent.
                tokio::task::yield_now().await;
                self.close()
            }
        }
    }

    /// Waits until the next frame is due; `false` when the mock shuts down meanwhile.
    async fn wait_turn(&mut self) -> bool {
        self.next_due += self.interval;
        let Some(shutdown) = &mut self.shutdown else {
            return true;
        };
        tokio::select! {
            () = tokio::time::sleep_until(self.next_due) => true,
            () = shutdown => false,
        }
    }

    /// Ends the body by closing the connection (the mock's doing, not a disconnect).
    fn close(&mut self) -> Option<Result<Frame<Bytes>, DeliberateClose>> {
        self.guard.settle();
        self.ending = None;
        self.paced = Vec::new().into_iter();
        Some(Err(DeliberateClose))
    }
}

/// A streamed body following `plan`: the first frame at once, then one frame per `interval`,
/// then the plan's ending. Dropped before it ends (the client went away), it counts a
/// disconnect through `guard`.
pub(crate) fn paced_body(
    plan: StreamPlan,
    interval: Duration,
    state: &Arc<MockState>,
    guard: DisconnectGuard,
) -> MockBody {
    let may_wait =
        (!interval.is_zero() && !plan.paced.is_empty()) || plan.ending != Ending::Complete;
    let progress = Progress {
        first: Some(plan.first),
        paced: plan.paced.into_iter(),
        ending: Some(plan.ending),
        interval,
        next_due: Instant::now(),
        shutdown: may_wait.then(|| Box::pin(state.shutdown_begun()) as ShutdownSignal),
        guard,
        _open: OpenStream::new(Arc::clone(state)),
    };
    let frames = stream::unfold(progress, |mut progress| async move {
        let item = progress.next_item().await?;
        Some((item, progress))
    });
    StreamBody::new(frames).boxed_unsync()
}
