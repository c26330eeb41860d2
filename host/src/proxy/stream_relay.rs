//! Relaying an upstream stream to the client as it arrives.
//!
//! SSE streams are forwarded whole event by whole event: a chunk that ends inside an event
//! forwards what precedes the event and keeps the tail until the event completes, so keep-alive
//! comments and a terminal error event always land between events. Bytes are never re-encoded;
//! a chunk made of complete events is forwarded as the same buffer.
//!
//! The tail of an incomplete event is held up to `streaming.max-event-mib`; past it the stream
//! ends with the protocol's error event. Each chunk is searched for an event end once: only its
//! own bytes and the last three held before it (a blank line split across chunks), never the
//! whole held tail again ([`super::stream_event::last_event_end_since`]).

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use futures_util::future::BoxFuture;
use tokio::time::{Instant, Sleep};

use super::chunk_stream::ChunkStream;
use super::stream_event::{ErrorStyle, last_event_end, last_event_end_since, terminal_error};
use crate::metrics::{LimitCounters, Metrics};

/// A keep-alive comment.
const KEEPALIVE: &[u8] = b": keep-alive\n\n";

/// The cap on an incomplete SSE event (`streaming.max-event-mib`) and where to count
/// oversized events.
#[derive(Debug, Clone)]
pub(crate) struct EventLimit {
    /// The largest incomplete event held, in bytes.
    pub max_bytes: usize,
    /// Counts the events over the cap.
    pub metrics: Arc<Metrics>,
}

/// How a relayed stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StreamEnd {
    /// The upstream finished normally.
    Completed,
    /// The upstream failed or went quiet after the first payload; the client got a terminal
    /// error event.
    Failed(String),
}

/// Sees every payload chunk the relay forwards (not keep-alive comments or the terminal error
/// event) and how the stream ended. Dropped without [`StreamObserver::end`] when the client goes
/// away first.
pub(crate) trait StreamObserver: Send {
    /// One forwarded chunk (for SSE streams: whole events).
    fn chunk(&mut self, chunk: &Bytes);
    /// The stream ended. The work returned, if any, finishes before the client's body ends.
    fn end(self: Box<Self>, end: &StreamEnd) -> Option<BoxFuture<'static, ()>>;
}

/// The relay: a `Stream` of bytes for the client's response body.
pub(crate) struct StreamRelay {
    first: Option<Bytes>,
    upstream: ChunkStream,
    style: ErrorStyle,
    /// The tail of an incomplete event.
    partial: BytesMut,
    /// The cap on `partial`.
    limit: Option<EventLimit>,
    /// `partial` grew past the cap: the stream fails at the next poll.
    oversized: bool,
    idle: Duration,
    idle_deadline: Pin<Box<Sleep>>,
    keepalive: Option<(Duration, Pin<Box<Sleep>>)>,
    done: bool,
    observer: Option<Box<dyn StreamObserver>>,
    /// The observer's work after the end, run before the body ends.
    ending: Option<BoxFuture<'static, ()>>,
}

impl StreamRelay {
    /// Relays `first` then `upstream`, telling `observer` what went out and how it ended.
    /// `idle` ends a quiet stream with an error event; `keepalive` sends comments while the
    /// upstream is quiet (SSE only).
    pub(crate) fn new(
        first: Option<Bytes>,
        upstream: ChunkStream,
        style: ErrorStyle,
        idle: Duration,
        keepalive: Option<Duration>,
        observer: Box<dyn StreamObserver>,
    ) -> Self {
        let now = Instant::now();
        StreamRelay {
            first,
            upstream,
            style,
            partial: BytesMut::new(),
            limit: None,
            oversized: false,
            idle,
            idle_deadline: Box::pin(tokio::time::sleep_until(now + idle)),
            keepalive: keepalive
                .filter(|_| style.is_sse())
                .map(|every| (every, Box::pin(tokio::time::sleep_until(now + every)))),
            done: false,
            observer: Some(observer),
            ending: None,
        }
    }

    /// Caps the incomplete event held at `limit` (SSE streams only).
    pub(crate) fn with_event_limit(mut self, limit: Option<EventLimit>) -> Self {
        self.limit = limit;
        self
    }

    fn finish(&mut self, end: StreamEnd) {
        self.done = true;
        if let Some(observer) = self.observer.take() {
            self.ending = observer.end(&end);
        }
    }

    /// The end of the body, once the observer's work after the end is done.
    fn poll_ended(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Infallible>>> {
        if let Some(ending) = &mut self.ending {
            std::task::ready!(ending.as_mut().poll(cx));
            self.ending = None;
        }
        Poll::Ready(None)
    }

    /// Forwards a payload chunk.
    fn payload(&mut self, chunk: Bytes) -> Poll<Option<Result<Bytes, Infallible>>> {
        if let Some(observer) = &mut self.observer {
            observer.chunk(&chunk);
        }
        Poll::Ready(Some(Ok(chunk)))
    }

    /// What of `chunk` can go out now: complete events (or everything, for raw streams). Marks
    /// the stream oversized when the held tail passes the cap.
    fn take_complete(&mut self, chunk: Bytes) -> Option<Bytes> {
        if !self.style.is_sse() {
            return Some(chunk);
        }
        let out = if self.partial.is_empty() {
            match last_event_end(&chunk) {
                Some(end) if end == chunk.len() => Some(chunk),
                Some(end) => {
                    self.partial.extend_from_slice(&chunk[end..]);
                    Some(chunk.slice(..end))
                }
                None => {
                    self.partial.extend_from_slice(&chunk);
                    None
                }
            }
        } else {
            let scanned = self.partial.len();
            self.partial.extend_from_slice(&chunk);
            last_event_end_since(&self.partial, scanned)
                .map(|end| self.partial.split_to(end).freeze())
        };
        if let Some(limit) = &self.limit
            && self.partial.len() > limit.max_bytes
        {
            self.oversized = true;
        }
        out
    }

    /// Ends the stream because an event grew past the cap.
    fn fail_oversized(&mut self) -> Poll<Option<Result<Bytes, Infallible>>> {
        let mib = match &self.limit {
            Some(limit) => {
                LimitCounters::bump(&limit.metrics.limits.oversized_events_after_first_byte);
                limit.max_bytes >> 20
            }
            None => 0,
        };
        self.fail(format!(
            "upstream event larger than streaming.max-event-mib ({mib} MiB)"
        ))
    }

    fn fail(&mut self, reason: String) -> Poll<Option<Result<Bytes, Infallible>>> {
        tracing::warn!("stream failed after its first payload: {reason}");
        self.partial.clear();
        let event = terminal_error(self.style, &reason);
        self.finish(StreamEnd::Failed(reason));
        Poll::Ready(Some(Ok(event)))
    }
}

impl Stream for StreamRelay {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return this.poll_ended(cx);
        }
        if this.oversized {
            return this.fail_oversized();
        }
        if let Some(first) = this.first.take()
            && let Some(out) = this.take_complete(first)
        {
            return this.payload(out);
        }
        if this.oversized {
            return this.fail_oversized();
        }
        loop {
            match this.upstream.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    let now = Instant::now();
                    let idle = this.idle;
                    this.idle_deadline.as_mut().reset(now + idle);
                    if let Some((every, timer)) = &mut this.keepalive {
                        timer.as_mut().reset(now + *every);
                    }
                    if let Some(out) = this.take_complete(chunk) {
                        return this.payload(out);
                    }
                    if this.oversized {
                        return this.fail_oversized();
                    }
                }
                Poll::Ready(Some(Err(error))) => {
                    return this.fail(format!("upstream stream error: {error}"));
                }
                Poll::Ready(None) => {
                    let rest = std::mem::take(&mut this.partial).freeze();
                    if !rest.is_empty()
                        && let Some(observer) = &mut this.observer
                    {
                        observer.chunk(&rest);
                    }
                    this.finish(StreamEnd::Completed);
                    return if rest.is_empty() {
                        this.poll_ended(cx)
                    } else {
                        Poll::Ready(Some(Ok(rest)))
                    };
                }
                Poll::Pending => break,
            }
        }
        if this.idle_deadline.as_mut().poll(cx).is_ready() {
            let idle = this.idle.as_millis();
            return this.fail(format!("upstream sent nothing for {idle} ms"));
        }
        if let Some((every, timer)) = &mut this.keepalive
            && timer.as_mut().poll(cx).is_ready()
        {
            let next = Instant::now() + *every;
            timer.as_mut().reset(next);
            if this.partial.is_empty() {
                // Registers the timer's waker for the next tick before returning.
                let _ = timer.as_mut().poll(cx);
                return Poll::Ready(Some(Ok(Bytes::from_static(KEEPALIVE))));
            }
            let _ = timer.as_mut().poll(cx);
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use futures_util::StreamExt;
    use tokio::sync::mpsc;

    use super::*;

    type Sender = mpsc::UnboundedSender<Result<Bytes, super::super::chunk_stream::ChunkError>>;

    /// Keeps how the stream ended.
    struct EndRecorder(Arc<Mutex<Option<StreamEnd>>>);

    impl StreamObserver for EndRecorder {
        fn chunk(&mut self, _: &Bytes) {}

        fn end(self: Box<Self>, end: &StreamEnd) -> Option<BoxFuture<'static, ()>> {
            *self.0.lock().unwrap() = Some(end.clone());
            None
        }
    }

    fn relay(
        first: &'static str,
        style: ErrorStyle,
        keepalive: Option<Duration>,
    ) -> (StreamRelay, Sender, Arc<Mutex<Option<StreamEnd>>>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let upstream: ChunkStream =
            Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|item| (item, rx))
            }));
        let ended = Arc::new(Mutex::new(None));
        let relay = StreamRelay::new(
            Some(Bytes::from_static(first.as_bytes())),
            upstream,
            style,
            Duration::from_secs(30),
            keepalive,
            Box::new(EndRecorder(ended.clone())),
        );
        (relay, tx, ended)
    }

    async fn next(relay: &mut StreamRelay) -> String {
        let bytes = relay.next().await.unwrap().unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn forwards_whole_events_as_they_complete() {
        let (mut relay, tx, ended) = relay("data: 1\n\ndata: 2", ErrorStyle::OpenAi, None);
        assert_eq!(next(&mut relay).await, "data: 1\n\n");
        tx.send(Ok(Bytes::from_static(b"2\n\ndata: [DONE]\n\n")))
            .unwrap();
        assert_eq!(next(&mut relay).await, "data: 22\n\ndata: [DONE]\n\n");
        drop(tx);
        assert!(relay.next().await.is_none());
        assert_eq!(*ended.lock().unwrap(), Some(StreamEnd::Completed));
    }

    #[tokio::test(start_paused = true)]
    async fn whole_chunks_are_forwarded_without_copying() {
        let (mut relay, tx, _) = relay("data: 1\n\n", ErrorStyle::OpenAi, None);
        next(&mut relay).await;
        let chunk = Bytes::from_static(b"data: 2\n\n");
        tx.send(Ok(chunk.clone())).unwrap();
        let out = relay.next().await.unwrap().unwrap();
        assert_eq!(out.as_ptr(), chunk.as_ptr());
    }

    #[tokio::test(start_paused = true)]
    async fn keepalive_comments_fall_between_events() {
        let (mut relay, tx, _) = relay(
            "event: a\ndata: 1\n\n",
            ErrorStyle::Claude,
            Some(Duration::from_secs(5)),
        );
        next(&mut relay).await;
        assert_eq!(next(&mut relay).await, ": keep-alive\n\n");
        tx.send(Ok(Bytes::from_static(b"event: b\ndata: ")))
            .unwrap();
        // Mid-event: no comment until the event completes.
        let pending = tokio::time::timeout(Duration::from_secs(12), relay.next()).await;
        assert!(pending.is_err());
        tx.send(Ok(Bytes::from_static(b"2\n\n"))).unwrap();
        assert_eq!(next(&mut relay).await, "event: b\ndata: 2\n\n");
    }

    #[tokio::test(start_paused = true)]
    async fn idle_upstream_ends_with_the_protocol_error_event() {
        let (mut relay, _tx, ended) = relay("event: a\ndata: 1\n\n", ErrorStyle::Claude, None);
        next(&mut relay).await;
        let error = next(&mut relay).await;
        let data = error
            .strip_prefix("event: error\ndata: ")
            .expect("an error event");
        let value: serde_json::Value = serde_json::from_str(data.trim_end()).unwrap();
        assert_eq!(value["type"], "error");
        assert_eq!(value["error"]["type"], "api_error");
        assert!(relay.next().await.is_none());
        assert!(matches!(*ended.lock().unwrap(), Some(StreamEnd::Failed(_))));
    }

    #[tokio::test(start_paused = true)]
    async fn raw_gemini_streams_pass_chunks_through() {
        let (mut relay, tx, _) = relay("[{\"candidates\":", ErrorStyle::GeminiRaw, None);
        assert_eq!(next(&mut relay).await, "[{\"candidates\":");
        tx.send(Ok(Bytes::from_static(b"[]}]"))).unwrap();
        assert_eq!(next(&mut relay).await, "[]}]");
    }

    fn limited(relay: StreamRelay, max_bytes: usize) -> (StreamRelay, Arc<Metrics>) {
        let metrics = Arc::new(Metrics::default());
        let relay = relay.with_event_limit(Some(EventLimit {
            max_bytes,
            metrics: metrics.clone(),
        }));
        (relay, metrics)
    }

    fn oversized_after_first_byte(metrics: &Metrics) -> u64 {
        metrics
            .limits
            .oversized_events_after_first_byte
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    #[tokio::test(start_paused = true)]
    async fn an_event_past_the_cap_ends_the_stream_with_the_error_event() {
        let (relay, tx, ended) = relay("data: 1\n\n", ErrorStyle::OpenAi, None);
        let (mut relay, metrics) = limited(relay, 64);
        assert_eq!(next(&mut relay).await, "data: 1\n\n");
        tx.send(Ok(Bytes::from(format!("data: {}", "x".repeat(40)))))
            .unwrap();
        tx.send(Ok(Bytes::from("y".repeat(40)))).unwrap();
        let error = next(&mut relay).await;
        assert!(
            error.starts_with(
                "data: {\"error\":{\"message\":\"upstream event larger than streaming.max-event-mib"
            ),
            "{error}"
        );
        assert!(relay.next().await.is_none());
        assert!(matches!(*ended.lock().unwrap(), Some(StreamEnd::Failed(_))));
        assert_eq!(oversized_after_first_byte(&metrics), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn complete_events_before_an_oversized_tail_still_go_out() {
        let first = "event: a\ndata: 1\n\nevent: b\ndata: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
        let (relay, _tx, _) = relay(first, ErrorStyle::Claude, None);
        let (mut relay, metrics) = limited(relay, 32);
        assert_eq!(next(&mut relay).await, "event: a\ndata: 1\n\n");
        assert!(next(&mut relay).await.starts_with("event: error\n"));
        assert!(relay.next().await.is_none());
        assert_eq!(oversized_after_first_byte(&metrics), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn events_up_to_the_cap_pass() {
        let (relay, tx, ended) = relay("data: 1\n\n", ErrorStyle::OpenAi, None);
        let (mut relay, metrics) = limited(relay, 16);
        next(&mut relay).await;
        // 16 bytes held, then the end arrives.
        tx.send(Ok(Bytes::from_static(b"data: 0123456789")))
            .unwrap();
        tx.send(Ok(Bytes::from_static(b"\n\n"))).unwrap();
        assert_eq!(next(&mut relay).await, "data: 0123456789\n\n");
        drop(tx);
        assert!(relay.next().await.is_none());
        assert_eq!(*ended.lock().unwrap(), Some(StreamEnd::Completed));
        assert_eq!(oversized_after_first_byte(&metrics), 0);
    }

    mod framing {
        //! Property: whatever the events and wherever the upstream splits them, the relay
        //! forwards the same bytes, and each chunk it forwards ends at an event boundary.

        use futures_util::FutureExt;
        use proptest::prelude::*;
        use proptest::sample::Index;

        use super::*;

        /// One event: 1–4 non-empty lines (no `\r`, no `\n`), LF or CRLF line ends, and the
        /// blank line that ends it.
        fn event() -> impl Strategy<Value = Vec<u8>> {
            (
                prop::collection::vec("[a-zA-Z0-9 :{}\",\\[\\]]{1,40}", 1..4),
                any::<bool>(),
            )
                .prop_map(|(lines, crlf)| {
                    let eol = if crlf { "\r\n" } else { "\n" };
                    let mut event = String::new();
                    for line in lines {
                        event.push_str(&line);
                        event.push_str(eol);
                    }
                    event.push_str(eol);
                    event.into_bytes()
                })
        }

        /// Events, an optional unterminated tail, and where the upstream cuts the bytes.
        fn upstream() -> impl Strategy<Value = (Vec<Vec<u8>>, Option<String>, Vec<Index>)> {
            (
                prop::collection::vec(event(), 0..24),
                prop::option::of("[a-z: ]{1,20}"),
                prop::collection::vec(any::<Index>(), 0..32),
            )
        }

        /// Runs the relay over `input` cut at `cuts`, feeding one chunk at a time and taking
        /// everything the relay can forward before the next: the chunks it forwards and how it
        /// ended. Checks, after every upstream chunk, that every event complete so far went out
        /// (`boundaries`: where the events end).
        fn relay_chunks(
            input: &[u8],
            cuts: &[Index],
            boundaries: &[usize],
        ) -> (Vec<Bytes>, Option<StreamEnd>) {
            let mut points: Vec<usize> = cuts.iter().map(|i| i.index(input.len() + 1)).collect();
            points.push(0);
            points.push(input.len());
            points.sort_unstable();
            let chunks: Vec<Bytes> = points
                .windows(2)
                .map(|w| Bytes::copy_from_slice(&input[w[0]..w[1]]))
                .collect();
            let (tx, rx) = mpsc::unbounded_channel();
            let upstream: ChunkStream =
                Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
                    rx.recv().await.map(|item| (item, rx))
                }));
            let ended = Arc::new(Mutex::new(None));
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .unwrap();
            let _entered = runtime.enter();
            // The first chunk is the bootstrap's first payload; the rest come from upstream.
            let mut relay = StreamRelay::new(
                Some(chunks[0].clone()),
                upstream,
                ErrorStyle::OpenAi,
                Duration::from_secs(30),
                None,
                Box::new(EndRecorder(ended.clone())),
            )
            .with_event_limit(Some(EventLimit {
                max_bytes: 1 << 20,
                metrics: Arc::new(Metrics::default()),
            }));
            let mut out = Vec::new();
            let mut received = 0;
            for (i, chunk) in chunks.into_iter().enumerate() {
                received += chunk.len();
                if i > 0 {
                    tx.send(Ok(chunk)).unwrap();
                }
                // Everything the relay can forward without waiting.
                while let Some(Some(item)) = relay.next().now_or_never() {
                    out.push(item.unwrap());
                }
                let forwarded: usize = out.iter().map(Bytes::len).sum();
                let complete = boundaries.iter().rev().find(|b| **b <= received).unwrap();
                assert_eq!(
                    forwarded, *complete,
                    "after {received} bytes the complete events end at {complete}"
                );
            }
            drop(tx);
            while let Some(Some(item)) = relay.next().now_or_never() {
                out.push(item.unwrap());
            }
            let end = ended.lock().unwrap().clone();
            (out, end)
        }

        fn check(events: Vec<Vec<u8>>, tail: Option<String>, cuts: Vec<Index>) {
            let mut input = Vec::new();
            let mut boundaries = vec![0];
            for event in &events {
                input.extend_from_slice(event);
                boundaries.push(input.len());
            }
            if let Some(tail) = &tail {
                input.extend_from_slice(tail.as_bytes());
            }
            let (out, end) = relay_chunks(&input, &cuts, &boundaries);
            assert_eq!(end, Some(StreamEnd::Completed));
            let joined: Vec<u8> = out.iter().flat_map(|c| c.iter().copied()).collect();
            assert_eq!(joined, input, "the relay changed the bytes");
            let mut at = 0;
            for (i, chunk) in out.iter().enumerate() {
                assert!(!chunk.is_empty(), "an empty chunk was forwarded");
                at += chunk.len();
                let last = i + 1 == out.len();
                assert!(
                    boundaries.contains(&at) || (last && tail.is_some() && at == input.len()),
                    "chunk {i} ends at {at}, inside an event (boundaries {boundaries:?})"
                );
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn any_split_gives_the_same_events((events, tail, cuts) in upstream()) {
                check(events, tail, cuts);
            }

            #[test]
            fn searching_the_new_bytes_finds_what_a_full_scan_finds(
                (events, tail, cuts) in upstream()
            ) {
                let mut input = Vec::new();
                for event in &events {
                    input.extend_from_slice(event);
                }
                if let Some(tail) = &tail {
                    input.extend_from_slice(tail.as_bytes());
                }
                // Held bytes never contain an event end: start after the last one before a cut.
                for cut in cuts {
                    let cut = cut.index(input.len() + 1);
                    let held_from = last_event_end(&input[..cut]).unwrap_or(0);
                    let held = &input[held_from..];
                    prop_assert_eq!(
                        last_event_end_since(held, cut - held_from),
                        last_event_end(held)
                    );
                }
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(50_000))]

            /// The long-running variant (the stable stand-in for fuzzing the framer):
            /// `cargo test -p switchyard --lib framing -- --ignored`.
            #[test]
            #[ignore = "long-running; run with --ignored"]
            fn any_split_gives_the_same_events_long((events, tail, cuts) in upstream()) {
                check(events, tail, cuts);
            }
        }
    }
}
