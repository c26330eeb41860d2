//! One slot of the history ring: the counts of the requests that finished in one 10 s window,
//! stamped with the window's start so a slot left from an earlier lap reads as empty.

use std::sync::atomic::{AtomicU64, Ordering, fence};

use parking_lot::Mutex;

use super::Sample;
use super::latency_histogram::{Distribution, LatencyHistogram};

/// The stamp of a slot that never counted anything.
const NEVER: u64 = u64::MAX;

/// The counters of one window. Recording is a few relaxed atomic adds; only the first
/// recording of a new window takes the slot's lock, to clear what the previous lap left.
/// (A recording for the slot's old window that races the clearing, which needs the clock to
/// jump by the ring's 15 minutes while it runs, may count in the new window.)
#[derive(Debug)]
pub(crate) struct Bucket {
    /// The window's start (Unix seconds) the counters belong to, or [`NEVER`].
    start: AtomicU64,
    /// Held while the slot is cleared for a new window.
    rollover: Mutex<()>,
    requests: AtomicU64,
    errors: AtomicU64,
    input_tokens: AtomicU64,
    output_tokens: AtomicU64,
    latency: LatencyHistogram,
    upstream: LatencyHistogram,
    added: LatencyHistogram,
}

impl Default for Bucket {
    fn default() -> Self {
        Bucket {
            start: AtomicU64::new(NEVER),
            rollover: Mutex::new(()),
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            input_tokens: AtomicU64::new(0),
            output_tokens: AtomicU64::new(0),
            latency: LatencyHistogram::default(),
            upstream: LatencyHistogram::default(),
            added: LatencyHistogram::default(),
        }
    }
}

/// What a slot held for one window, read at once.
#[derive(Debug, Clone)]
pub(crate) struct Counts {
    /// Requests that finished.
    pub(crate) requests: u64,
    /// Of those, the ones answered with a status ≥ 400 or that failed.
    pub(crate) errors: u64,
    /// Prompt tokens the upstreams reported.
    pub(crate) input_tokens: u64,
    /// Generated tokens the upstreams reported.
    pub(crate) output_tokens: u64,
    /// Whole requests, arrival to last byte.
    pub(crate) latency: Distribution,
    /// The upstream part of the requests an upstream answered.
    pub(crate) upstream: Distribution,
    /// Whole minus upstream, for the requests an upstream answered.
    pub(crate) added: Distribution,
}

impl Bucket {
    /// Counts `sample` in the window starting at `start` (Unix seconds). A slot that holds
    /// another window (an earlier lap, or a later one after the clock went back) is cleared
    /// first.
    pub(crate) fn record(&self, start: u64, sample: &Sample) {
        if self.start.load(Ordering::Acquire) != start {
            self.roll_to(start);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        if sample.failed {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        if sample.input_tokens != 0 {
            self.input_tokens
                .fetch_add(sample.input_tokens, Ordering::Relaxed);
        }
        if sample.output_tokens != 0 {
            self.output_tokens
                .fetch_add(sample.output_tokens, Ordering::Relaxed);
        }
        self.latency.record(sample.latency);
        if let Some(upstream) = sample.upstream {
            self.upstream.record(upstream);
            self.added.record(sample.latency.saturating_sub(upstream));
        }
    }

    /// Clears the slot for the window starting at `start`, unless another recording did.
    fn roll_to(&self, start: u64) {
        let _rollover = self.rollover.lock();
        if self.start.load(Ordering::Acquire) == start {
            return;
        }
        for counter in [
            &self.requests,
            &self.errors,
            &self.input_tokens,
            &self.output_tokens,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
        for histogram in [&self.latency, &self.upstream, &self.added] {
            histogram.clear();
        }
        // Recordings that see the new stamp count after the clearing.
        self.start.store(start, Ordering::Release);
    }

    /// The counts of the window starting at `start`, or `None` when the slot holds another
    /// window (or moved to another one while it was read).
    pub(crate) fn read(&self, start: u64) -> Option<Counts> {
        if self.start.load(Ordering::Acquire) != start {
            return None;
        }
        let counts = Counts {
            requests: self.requests.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            input_tokens: self.input_tokens.load(Ordering::Relaxed),
            output_tokens: self.output_tokens.load(Ordering::Relaxed),
            latency: self.latency.read(),
            upstream: self.upstream.read(),
            added: self.added.read(),
        };
        // The counts read above come before this second look at the stamp.
        fence(Ordering::Acquire);
        (self.start.load(Ordering::Relaxed) == start).then_some(counts)
    }
}
