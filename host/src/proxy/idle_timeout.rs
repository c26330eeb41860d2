//! A response body relayed from the upstream that fails when the upstream goes quiet for too
//! long between chunks, and keeps the upstream's `Content-Length` when it sent one.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use http_body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// Wraps a chunk stream as an HTTP body; a gap longer than `idle` ends it with a `TimedOut`
/// error.
pub(crate) struct IdleTimeout<S> {
    inner: S,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    length: Option<u64>,
    sent: u64,
}

impl<S> IdleTimeout<S> {
    /// Wraps `inner`; `length` is the body's exact size when known.
    pub(crate) fn new(inner: S, idle: Duration, length: Option<u64>) -> Self {
        IdleTimeout {
            inner,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
            length,
            sent: 0,
        }
    }
}

impl<S, E> http_body::Body for IdleTimeout<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                let next = Instant::now() + self.idle;
                self.deadline.as_mut().reset(next);
                self.sent += chunk.len() as u64;
                if self.length == Some(self.sent) {
                    // With a known length the server stops polling after the last byte; let
                    // the inner stream see its end now (wrappers finish their work on it).
                    let _ = Pin::new(&mut self.inner).poll_next(cx);
                }
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(io::Error::other(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "upstream idle timeout",
                )))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self.length {
            Some(length) => SizeHint::with_exact(length),
            None => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use http_body::Body as _;
    use http_body_util::BodyExt;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn quiet_streams_time_out_and_busy_ones_do_not() {
        let chunks = futures_util::stream::iter([Ok::<_, io::Error>(Bytes::from("a"))])
            .chain(futures_util::stream::pending());
        let mut body = IdleTimeout::new(Box::pin(chunks), Duration::from_secs(5), None);
        let first = body.frame().await.unwrap().unwrap();
        assert_eq!(first.into_data().unwrap(), "a");
        let error = body.frame().await.unwrap().unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test]
    async fn a_known_length_is_kept() {
        let chunks = futures_util::stream::iter([Ok::<_, io::Error>(Bytes::from("abc"))]);
        let body = IdleTimeout::new(chunks, Duration::from_secs(5), Some(3));
        assert_eq!(body.size_hint().exact(), Some(3));
    }
}
