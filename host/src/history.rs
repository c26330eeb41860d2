//! The last 15 minutes of proxied requests, in 10 s windows: what `GET
//! /v0/management/history` reports (requests, errors, tokens, latency quantiles).
//!
//! A ring of [`BUCKETS`] slots indexed by `unix_seconds / 10 % 90`; each slot is stamped with
//! the start of the window it counts, so a slot left from an earlier lap (or from a later one,
//! after the clock went back) reads as empty and is cleared by its next recording. Memory is
//! fixed when the process starts: 90 slots of about 2.9 KB (4 counters, and 3 latency
//! histograms of 240 four-byte counters each), about 260 KB in all. Recording a finished
//! request is a few relaxed atomic adds, without allocation; the first recording of a window
//! takes its slot's lock to clear it.

pub(crate) mod bucket;
pub(crate) mod latency_histogram;

use std::time::{Duration, SystemTime};

use bucket::Bucket;
pub(crate) use bucket::Counts;

/// The length of one window, in seconds.
pub(crate) const BUCKET_SECONDS: u64 = 10;
/// How many windows the history keeps: 15 minutes.
pub(crate) const BUCKETS: usize = 90;

/// One finished proxied request, as the history counts it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sample {
    /// From arrival to the last byte of the answer.
    pub(crate) latency: Duration,
    /// How long the upstream that answered took to answer (`None`: no upstream answered).
    pub(crate) upstream: Option<Duration>,
    /// The answer's status was ≥ 400, or the request failed on the way.
    pub(crate) failed: bool,
    /// Prompt tokens the upstream reported (0 when its usage was not read).
    pub(crate) input_tokens: u64,
    /// Generated tokens the upstream reported.
    pub(crate) output_tokens: u64,
}

/// One window of the history as read.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    /// When the window starts.
    pub(crate) start: SystemTime,
    /// Its counts (`None`: nothing finished in it).
    pub(crate) counts: Option<Counts>,
}

/// The ring of windows.
#[derive(Debug)]
pub(crate) struct History {
    slots: Box<[Bucket]>,
}

impl Default for History {
    fn default() -> Self {
        History {
            slots: (0..BUCKETS).map(|_| Bucket::default()).collect(),
        }
    }
}

impl History {
    /// Counts `sample`, a request that finished at `at`.
    pub(crate) fn record(&self, at: SystemTime, sample: &Sample) {
        let window = window_of(at);
        self.slot(window).record(window * BUCKET_SECONDS, sample);
    }

    /// The last `count` windows up to the one holding `now` (at most [`BUCKETS`]), oldest
    /// first.
    pub(crate) fn read(&self, now: SystemTime, count: usize) -> Vec<Window> {
        let current = window_of(now);
        let count = count.min(BUCKETS) as u64;
        (0..count)
            .rev()
            .filter_map(|back| current.checked_sub(back))
            .map(|window| {
                let start = window * BUCKET_SECONDS;
                Window {
                    start: SystemTime::UNIX_EPOCH + Duration::from_secs(start),
                    counts: self.slot(window).read(start),
                }
            })
            .collect()
    }

    fn slot(&self, window: u64) -> &Bucket {
        &self.slots[(window % BUCKETS as u64) as usize]
    }
}

/// The number of the window holding `time` (Unix seconds / 10; 0 before the epoch).
fn window_of(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs() / BUCKET_SECONDS)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// A time `seconds` after a round start (a multiple of 10 s, and of the ring's 900 s).
    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + seconds)
    }

    fn sample(latency_ms: u64, upstream_ms: Option<u64>, failed: bool) -> Sample {
        Sample {
            latency: Duration::from_millis(latency_ms),
            upstream: upstream_ms.map(Duration::from_millis),
            failed,
            input_tokens: 10,
            output_tokens: 3,
        }
    }

    /// `(requests, errors)` of each window read at `now`, oldest first.
    fn requests(history: &History, now: SystemTime) -> Vec<(u64, u64)> {
        history
            .read(now, BUCKETS)
            .iter()
            .map(|w| w.counts.as_ref().map_or((0, 0), |c| (c.requests, c.errors)))
            .collect()
    }

    #[test]
    fn a_window_counts_requests_errors_tokens_and_latencies() {
        let history = History::default();
        history.record(at(3), &sample(50, Some(40), false));
        history.record(at(9), &sample(30, None, true));
        let windows = history.read(at(9), BUCKETS);
        assert_eq!(windows.len(), BUCKETS);
        let last = windows.last().unwrap();
        assert_eq!(last.start, at(0));
        assert_eq!(windows[0].start, at(0) - Duration::from_secs(890));
        let counts = last.counts.as_ref().unwrap();
        assert_eq!((counts.requests, counts.errors), (2, 1));
        assert_eq!((counts.input_tokens, counts.output_tokens), (20, 6));
        // Both requests count in the whole latency; only the one an upstream answered in the
        // upstream and added ones.
        assert_eq!(counts.latency.total(), 2);
        assert_eq!(counts.upstream.total(), 1);
        let near = |d: Option<Duration>, ms: f64| {
            let d = d.unwrap().as_secs_f64() * 1e3;
            (d - ms).abs() <= ms / 16.0
        };
        assert!(near(counts.upstream.quantile(0.5), 40.0));
        assert!(near(counts.added.quantile(0.5), 10.0));
        assert!(near(counts.latency.quantile(1.0), 50.0));
        assert!(near(counts.latency.quantile(0.5), 30.0));
        assert!(windows[..BUCKETS - 1].iter().all(|w| w.counts.is_none()));
    }

    #[test]
    fn the_next_window_moves_earlier_ones_back() {
        let history = History::default();
        history.record(at(5), &sample(1, None, false));
        history.record(at(10), &sample(1, None, false));
        history.record(at(19), &sample(1, None, true));
        let seen = requests(&history, at(19));
        assert_eq!(seen[BUCKETS - 2..], [(1, 0), (2, 1)]);
        let seen = requests(&history, at(20));
        assert_eq!(seen[BUCKETS - 3..], [(1, 0), (2, 1), (0, 0)]);
        // Fewer windows: the newest ones.
        let last_two = history.read(at(20), 2);
        assert_eq!(last_two.len(), 2);
        assert_eq!(last_two[0].start, at(10));
        assert_eq!(last_two[0].counts.as_ref().unwrap().requests, 2);
    }

    #[test]
    fn windows_older_than_fifteen_minutes_read_as_empty_and_are_replaced() {
        let history = History::default();
        history.record(at(0), &sample(1, None, false));
        // 890 s later the window is the oldest one kept; at 900 s it is gone.
        assert_eq!(requests(&history, at(899))[0], (1, 0));
        assert_eq!(requests(&history, at(900)), vec![(0, 0); BUCKETS]);
        // The same slot, one lap later: the old count is cleared, not added to.
        history.record(at(905), &sample(1, None, true));
        let seen = requests(&history, at(905));
        assert_eq!(seen[BUCKETS - 1], (1, 1));
        assert_eq!(seen.iter().map(|s| s.0).sum::<u64>(), 1);
        let counts = history.read(at(905), 1).pop().unwrap().counts.unwrap();
        assert_eq!(counts.latency.total(), 1);
        assert_eq!(counts.input_tokens, 10);
    }

    #[test]
    fn a_clock_that_jumps_forward_finds_an_empty_history() {
        let history = History::default();
        for second in (0..900).step_by(10) {
            history.record(at(second), &sample(1, None, false));
        }
        assert_eq!(requests(&history, at(899)), vec![(1, 0); BUCKETS]);
        // An hour later, nothing of it is recent.
        assert_eq!(requests(&history, at(4_500)), vec![(0, 0); BUCKETS]);
        history.record(at(4_500), &sample(1, None, false));
        let seen = requests(&history, at(4_500));
        assert_eq!(seen.iter().map(|s| s.0).sum::<u64>(), 1);
    }

    #[test]
    fn a_clock_that_goes_back_reads_and_counts_its_own_windows() {
        let history = History::default();
        history.record(at(100), &sample(1, None, false));
        history.record(at(200), &sample(1, None, false));
        // Back by 150 s: the 200 s window is in the future and not shown; the 100 s one is.
        let seen = history.read(at(50), BUCKETS);
        assert!(seen.iter().all(|w| w.counts.is_none()));
        let seen = history.read(at(105), BUCKETS);
        assert_eq!(seen.last().unwrap().counts.as_ref().unwrap().requests, 1);
        assert_eq!(
            seen.iter()
                .filter_map(|w| w.counts.as_ref())
                .map(|c| c.requests)
                .sum::<u64>(),
            1
        );
        // Back by more than the ring: the window at 200 s − 900 s shares the 200 s slot,
        // which is cleared for it rather than added to.
        history.record(at(200) - Duration::from_secs(900), &sample(1, None, true));
        let before = requests(&history, at(200) - Duration::from_secs(900));
        assert_eq!(before[BUCKETS - 1], (1, 1));
        assert_eq!(requests(&history, at(200))[BUCKETS - 1], (0, 0));
    }

    #[test]
    fn threads_recording_at_once_lose_nothing() {
        let history = Arc::new(History::default());
        let threads = 4;
        let per_thread = 5_000u64;
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let history = history.clone();
                std::thread::spawn(move || {
                    for i in 0..per_thread {
                        // Every thread crosses into the next window halfway through, so
                        // the rollover races with recordings.
                        let second = if i < per_thread / 2 { 5 } else { 15 };
                        history.record(at(second), &sample(1 + t, Some(1), i % 10 == 0));
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        let seen = requests(&history, at(15));
        let half = threads * per_thread / 2;
        assert_eq!(seen[BUCKETS - 2..], [(half, half / 10), (half, half / 10)]);
        let counts = history.read(at(15), 1).pop().unwrap().counts.unwrap();
        assert_eq!(counts.latency.total(), half);
        assert_eq!(counts.upstream.total(), half);
        assert_eq!(counts.input_tokens, 10 * half);
    }

    #[test]
    fn memory_is_bounded_as_documented() {
        let bytes = std::mem::size_of::<Bucket>() * BUCKETS;
        assert!(bytes <= 270_000, "{bytes} bytes");
        assert!(
            bytes >= 250_000,
            "{bytes} bytes: update the module's figure"
        );
    }
}
