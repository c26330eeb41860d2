//! A deadline between request-body bytes (`server.body-read-timeout-ms`).
//!
//! The clock starts when the handler first waits for the body and restarts with every frame
//! that arrives; a gap longer than the limit ends the body with [`BodyReadTimedOut`] (the proxy
//! routes answer it with 408) and counts it in `/metrics`.

use std::error::Error;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::metrics::{LimitCounters, Metrics};

/// The error a request body ends with when the client paused too long.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("no request-body bytes for {} ms", .timeout.as_millis())]
pub(crate) struct BodyReadTimedOut {
    /// The limit that passed.
    pub(crate) timeout: Duration,
}

impl BodyReadTimedOut {
    /// The [`BodyReadTimedOut`] somewhere in `error`'s chain of sources, if any.
    pub(crate) fn find<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a BodyReadTimedOut> {
        let mut next = Some(error);
        while let Some(error) = next {
            if let Some(found) = error.downcast_ref::<BodyReadTimedOut>() {
                return Some(found);
            }
            next = error.source();
        }
        None
    }
}

/// `B` with a deadline between its frames.
pub(super) struct BodyDeadline<B> {
    inner: B,
    timeout: Duration,
    /// Created when the reader first waits.
    sleep: Option<Pin<Box<Sleep>>>,
    timed_out: bool,
    metrics: Arc<Metrics>,
}

impl<B> BodyDeadline<B> {
    /// `inner`, ended with [`BodyReadTimedOut`] after `timeout` without a frame.
    pub(super) fn new(inner: B, timeout: Duration, metrics: Arc<Metrics>) -> Self {
        BodyDeadline {
            inner,
            timeout,
            sleep: None,
            timed_out: false,
            metrics,
        }
    }
}

impl<B> Body for BodyDeadline<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if this.timed_out {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let next = Instant::now() + this.timeout;
                if let Some(sleep) = &mut this.sleep {
                    sleep.as_mut().reset(next);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(error.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                let timeout = this.timeout;
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.timed_out = true;
                LimitCounters::bump(&this.metrics.limits.body_read_timeouts);
                Poll::Ready(Some(Err(Box::new(BodyReadTimedOut { timeout }))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.timed_out || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::atomic::Ordering;

    use futures_util::StreamExt;
    use http_body_util::{BodyExt, StreamBody};
    use tokio::sync::mpsc;

    use super::*;

    type Chunks = mpsc::UnboundedSender<Result<Frame<Bytes>, Infallible>>;

    type Deadline = BodyDeadline<
        StreamBody<futures_util::stream::BoxStream<'static, Result<Frame<Bytes>, Infallible>>>,
    >;

    fn body(timeout: Duration) -> (Deadline, Chunks, Arc<Metrics>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })
        .boxed();
        let metrics = Arc::new(Metrics::default());
        let body = BodyDeadline::new(StreamBody::new(stream), timeout, metrics.clone());
        (body, tx, metrics)
    }

    fn data(text: &'static str) -> Result<Frame<Bytes>, Infallible> {
        Ok(Frame::data(Bytes::from_static(text.as_bytes())))
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_body_ends_with_the_timeout_error() {
        let (body, tx, metrics) = body(Duration::from_millis(200));
        tx.send(data("{\"model\":")).unwrap();
        let error = body.collect().await.expect_err("timed out");
        let found = BodyReadTimedOut::find(&*error).expect("the timeout error");
        assert_eq!(found.timeout, Duration::from_millis(200));
        assert_eq!(metrics.limits.body_read_timeouts.load(Ordering::Relaxed), 1);
        drop(tx);
    }

    #[tokio::test(start_paused = true)]
    async fn each_frame_restarts_the_clock() {
        let (body, tx, metrics) = body(Duration::from_millis(200));
        let sender = tokio::spawn(async move {
            for _ in 0..10 {
                tokio::time::sleep(Duration::from_millis(150)).await;
                tx.send(data("x")).unwrap();
            }
        });
        let collected = body.collect().await;
        // The sender finished (10 × 150 ms, longer than the limit in total) and hung up.
        let bytes = collected.expect("no timeout").to_bytes();
        assert_eq!(bytes.len(), 10);
        assert_eq!(metrics.limits.body_read_timeouts.load(Ordering::Relaxed), 0);
        sender.await.unwrap();
    }
}
