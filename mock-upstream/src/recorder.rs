//! What the mock saw: recorded requests, counters, and waits on them that wake on the event
//! itself (no polling).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, Method};
use parking_lot::Mutex;
use tokio::sync::watch;

use crate::protocol::Protocol;

/// One request as the mock received it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// 1 for the first request the mock received, then 2, …; also sent back in the
    /// [`crate::SEQUENCE_HEADER`] response header.
    pub sequence: u64,
    /// The HTTP method.
    pub method: Method,
    /// The path, without the query.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// The headers as received (names lower-cased by HTTP parsing).
    pub headers: HeaderMap,
    /// The body bytes.
    pub body: Bytes,
    /// The credential key the request carried, if any.
    pub credential: Option<String>,
    /// The protocol of the endpoint the request was for (`None`: no such endpoint).
    pub protocol: Option<Protocol>,
    /// When the request (head and body) had been received.
    pub received_at: SystemTime,
}

impl RecordedRequest {
    /// A header's value, when present and valid UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The body parsed as JSON, when it is JSON.
    pub fn body_json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// A wait ran out of time before the awaited event happened.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("timed out after {timeout:?} waiting for {expected} {what}; saw {observed}")]
pub struct WaitTimeout {
    /// What was being counted.
    pub what: String,
    /// The count waited for.
    pub expected: u64,
    /// The count when the wait gave up.
    pub observed: u64,
    /// How long the wait lasted.
    pub timeout: Duration,
}

/// Records requests and events and lets tasks wait for them.
#[derive(Debug)]
pub(crate) struct Recorder {
    keep_requests: bool,
    requests: Mutex<Vec<RecordedRequest>>,
    per_credential: Mutex<HashMap<String, u64>>,
    /// The last sequence number handed out.
    last_sequence: AtomicU64,
    /// Requests fully recorded (counted after the request list and per-credential counts, so a
    /// wait that sees it also sees them).
    received: AtomicU64,
    disconnects: AtomicU64,
    open_streams: AtomicU64,
    /// Bumped after every change above, waking the waits.
    changed: watch::Sender<()>,
}

impl Recorder {
    /// A recorder; `keep_requests: false` keeps only the counters (for benchmarks).
    pub(crate) fn new(keep_requests: bool) -> Self {
        Recorder {
            keep_requests,
            requests: Mutex::new(Vec::new()),
            per_credential: Mutex::new(HashMap::new()),
            last_sequence: AtomicU64::new(0),
            received: AtomicU64::new(0),
            disconnects: AtomicU64::new(0),
            open_streams: AtomicU64::new(0),
            changed: watch::Sender::new(()),
        }
    }

    /// Counts (and, when recording, keeps) a request, returning its sequence number.
    pub(crate) fn record(&self, request: RequestParts<'_>) -> u64 {
        let sequence = self.last_sequence.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(credential) = request.credential {
            let mut counts = self.per_credential.lock();
            match counts.get_mut(credential) {
                Some(count) => *count += 1,
                None => {
                    counts.insert(credential.to_owned(), 1);
                }
            }
        }
        if self.keep_requests {
            let recorded = RecordedRequest {
                sequence,
                method: request.method.clone(),
                path: request.path.to_owned(),
                query: request.query.map(str::to_owned),
                headers: request.headers.clone(),
                body: request.body.clone(),
                credential: request.credential.map(str::to_owned),
                protocol: request.protocol,
                received_at: SystemTime::now(),
            };
            self.requests.lock().push(recorded);
        }
        self.received.fetch_add(1, Ordering::SeqCst);
        self.changed.send_replace(());
        sequence
    }

    /// Counts a request or stream the client abandoned before the mock finished it.
    pub(crate) fn record_disconnect(&self) {
        self.disconnects.fetch_add(1, Ordering::SeqCst);
        self.changed.send_replace(());
    }

    /// Counts a streamed body that started.
    pub(crate) fn stream_opened(&self) {
        self.open_streams.fetch_add(1, Ordering::SeqCst);
    }

    /// Counts a streamed body that ended (completed or not).
    pub(crate) fn stream_closed(&self) {
        self.open_streams.fetch_sub(1, Ordering::SeqCst);
    }

    /// The recorded requests, in sequence order.
    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        let mut requests = self.requests.lock().clone();
        requests.sort_by_key(|request| request.sequence);
        requests
    }

    /// Requests received.
    pub(crate) fn request_count(&self) -> u64 {
        self.received.load(Ordering::SeqCst)
    }

    /// Requests received with `credential`.
    pub(crate) fn credential_count(&self, credential: &str) -> u64 {
        self.per_credential
            .lock()
            .get(credential)
            .copied()
            .unwrap_or(0)
    }

    /// Requests received per credential.
    pub(crate) fn credential_counts(&self) -> BTreeMap<String, u64> {
        self.per_credential
            .lock()
            .iter()
            .map(|(credential, count)| (credential.clone(), *count))
            .collect()
    }

    /// Requests and streams abandoned by their client.
    pub(crate) fn disconnect_count(&self) -> u64 {
        self.disconnects.load(Ordering::SeqCst)
    }

    /// Streamed bodies currently open.
    pub(crate) fn open_streams(&self) -> u64 {
        self.open_streams.load(Ordering::SeqCst)
    }

    /// Waits until `count()` reaches `expected`, or fails after `timeout`.
    pub(crate) async fn wait_until(
        &self,
        what: &str,
        expected: u64,
        timeout: Duration,
        count: impl Fn() -> u64,
    ) -> Result<(), WaitTimeout> {
        let mut changes = self.changed.subscribe();
        let reached = tokio::time::timeout(timeout, changes.wait_for(|()| count() >= expected));
        match reached.await {
            Ok(_) => Ok(()),
            Err(_) => Err(WaitTimeout {
                what: what.to_owned(),
                expected,
                observed: count(),
                timeout,
            }),
        }
    }
}

/// The parts of a request the recorder needs, borrowed from the exchange.
pub(crate) struct RequestParts<'a> {
    pub(crate) method: &'a Method,
    pub(crate) path: &'a str,
    pub(crate) query: Option<&'a str>,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) body: &'a Bytes,
    pub(crate) credential: Option<&'a str>,
    pub(crate) protocol: Option<Protocol>,
}
