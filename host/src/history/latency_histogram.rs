//! A latency distribution in a fixed array of atomic counters, for quantiles without a lock.
//!
//! Durations are counted in whole microseconds on a log-linear scale: exact below 16 µs, then
//! 8 equal counters per power of two up to 2³² µs (about 71 minutes; longer durations count in
//! the last counter). A counter spans at most 1/8 of its lower bound, so a quantile read as
//! the middle of its counter is within 1/16 (6.25 %) of the true value. [`COUNTERS`] counters
//! of 4 bytes: 960 bytes per histogram.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Counters per power of two, as a power of two (8 counters).
const SUB_BITS: u32 = 3;
/// Counters per power of two.
const PER_OCTAVE: usize = 1 << SUB_BITS;
/// The highest power of two with its own counters: durations from 2³² µs on share the last.
const TOP_EXPONENT: u32 = 31;

/// How many counters a histogram holds.
pub(crate) const COUNTERS: usize = PER_OCTAVE + (TOP_EXPONENT - SUB_BITS + 1) as usize * PER_OCTAVE;

/// Counts of durations; recording is one atomic add.
#[derive(Debug)]
pub(crate) struct LatencyHistogram {
    counts: [AtomicU32; COUNTERS],
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram {
            counts: std::array::from_fn(|_| AtomicU32::new(0)),
        }
    }
}

impl LatencyHistogram {
    /// Counts one `duration`; returns how many its counter holds now.
    pub(crate) fn record(&self, duration: Duration) -> u32 {
        let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
        self.counts[counter_of(micros)]
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_add(1)
    }

    /// Halves every counter (rounding down), keeping the shape of the distribution: what a
    /// histogram that is never cleared does before a counter can overflow.
    pub(crate) fn halve(&self) {
        for count in &self.counts {
            // A recording between the load and the store may be lost: the counts are a sample.
            count.store(count.load(Ordering::Relaxed) / 2, Ordering::Relaxed);
        }
    }

    /// Sets every counter to zero.
    pub(crate) fn clear(&self) {
        for count in &self.counts {
            count.store(0, Ordering::Relaxed);
        }
    }

    /// The counts as they are now (a recording that runs meanwhile may or may not be in).
    pub(crate) fn read(&self) -> Distribution {
        Distribution {
            counts: std::array::from_fn(|i| self.counts[i].load(Ordering::Relaxed)),
        }
    }
}

/// A copy of a histogram's counts, to read quantiles from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Distribution {
    counts: [u32; COUNTERS],
}

impl Default for Distribution {
    fn default() -> Self {
        Distribution {
            counts: [0; COUNTERS],
        }
    }
}

impl Distribution {
    /// Adds the counts of `other` (the durations of both, together).
    pub(crate) fn add(&mut self, other: &Distribution) {
        for (count, more) in self.counts.iter_mut().zip(other.counts) {
            *count = count.saturating_add(more);
        }
    }

    /// How many durations were counted.
    pub(crate) fn total(&self) -> u64 {
        self.counts.iter().map(|&n| u64::from(n)).sum()
    }

    /// The `q` quantile (0 < `q` ≤ 1) by nearest rank: the middle of the counter that holds
    /// the ⌈q·n⌉-th smallest duration. `None` when nothing was counted.
    pub(crate) fn quantile(&self, q: f64) -> Option<Duration> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0u64;
        for (counter, &n) in self.counts.iter().enumerate() {
            seen += u64::from(n);
            if seen >= rank {
                return Some(middle_of(counter));
            }
        }
        None
    }
}

/// The counter that counts `micros`.
fn counter_of(micros: u64) -> usize {
    if micros < PER_OCTAVE as u64 {
        return micros as usize;
    }
    let exponent = u64::BITS - 1 - micros.leading_zeros();
    if exponent > TOP_EXPONENT {
        return COUNTERS - 1;
    }
    let shift = exponent - SUB_BITS;
    let within = ((micros >> shift) as usize) & (PER_OCTAVE - 1);
    PER_OCTAVE + shift as usize * PER_OCTAVE + within
}

/// The whole microseconds `counter` counts: its first value and how many values it spans.
fn span_of(counter: usize) -> (u64, u64) {
    if counter < PER_OCTAVE {
        return (counter as u64, 1);
    }
    let shift = ((counter - PER_OCTAVE) / PER_OCTAVE) as u32;
    let within = ((counter - PER_OCTAVE) % PER_OCTAVE) as u64;
    ((PER_OCTAVE as u64 + within) << shift, 1 << shift)
}

/// The middle of the values `counter` counts.
fn middle_of(counter: usize) -> Duration {
    let (first, width) = span_of(counter);
    // Half of (width − 1) µs past the first value, in nanoseconds.
    Duration::from_micros(first) + Duration::from_nanos((width - 1) * 500)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift), so the sample is the same every run.
    fn durations(count: usize, seed: u64) -> Vec<Duration> {
        let mut state = seed;
        (0..count)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Log-uniform from 1 µs to about 60 s.
                let exponent = (state % 10_000) as f64 / 10_000.0 * 17.9;
                Duration::from_micros(exponent.exp() as u64)
            })
            .collect()
    }

    /// The nearest-rank quantile of a sorted list.
    fn exact(sorted: &[Duration], q: f64) -> Duration {
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1]
    }

    #[test]
    fn quantiles_are_within_the_resolution_of_a_sorted_list() {
        for (count, seed) in [(1, 7), (2, 11), (99, 3), (1_000, 5), (20_000, 9)] {
            let histogram = LatencyHistogram::default();
            let mut sample = durations(count, seed);
            for duration in &sample {
                histogram.record(*duration);
            }
            sample.sort();
            let distribution = histogram.read();
            assert_eq!(distribution.total(), count as u64);
            for q in [0.01, 0.5, 0.9, 0.99, 1.0] {
                let truth = exact(&sample, q).as_micros() as f64;
                let estimate = distribution.quantile(q).unwrap().as_secs_f64() * 1e6;
                let error = (estimate - truth).abs();
                assert!(
                    error <= truth / 16.0,
                    "n={count} q={q}: {estimate} µs for {truth} µs"
                );
            }
        }
    }

    #[test]
    fn every_counter_starts_where_the_previous_one_ends() {
        let mut next = 0;
        for counter in 0..COUNTERS {
            let (first, width) = span_of(counter);
            assert_eq!(first, next, "counter {counter}");
            assert_eq!(counter_of(first), counter);
            assert_eq!(counter_of(first + width - 1), counter);
            // No counter is wider than an eighth of its first value (past the exact ones).
            assert!(
                counter < PER_OCTAVE || width * 8 <= first,
                "counter {counter}"
            );
            next = first + width;
        }
        assert_eq!(next, 1 << (TOP_EXPONENT + 1));
        assert_eq!(COUNTERS, 240);
    }

    #[test]
    fn extremes_land_in_the_first_and_last_counters() {
        let histogram = LatencyHistogram::default();
        histogram.record(Duration::ZERO);
        histogram.record(Duration::from_nanos(999));
        assert_eq!(histogram.read().quantile(1.0), Some(Duration::ZERO));
        histogram.record(Duration::MAX);
        histogram.record(Duration::from_secs(5 * 3600));
        let distribution = histogram.read();
        assert_eq!(distribution.total(), 4);
        assert!(distribution.quantile(1.0).unwrap() > Duration::from_secs(3600));
        assert_eq!(distribution.quantile(0.5), Some(Duration::ZERO));
    }

    #[test]
    fn added_distributions_count_both_and_halving_keeps_the_median() {
        let (fast, slow) = (LatencyHistogram::default(), LatencyHistogram::default());
        for _ in 0..3 {
            fast.record(Duration::from_micros(5));
        }
        assert_eq!(slow.record(Duration::from_micros(9)), 1);
        assert_eq!(slow.record(Duration::from_micros(9)), 2);
        let mut both = fast.read();
        both.add(&slow.read());
        assert_eq!(both.total(), 5);
        assert_eq!(both.quantile(0.5), Some(Duration::from_micros(5)));
        assert_eq!(both.quantile(1.0), Some(Duration::from_micros(9)));
        fast.halve();
        assert_eq!(fast.read().total(), 1);
        assert_eq!(fast.read().quantile(0.5), Some(Duration::from_micros(5)));
    }

    #[test]
    fn an_empty_or_cleared_histogram_has_no_quantiles() {
        let histogram = LatencyHistogram::default();
        assert_eq!(histogram.read().quantile(0.5), None);
        histogram.record(Duration::from_millis(3));
        assert!(histogram.read().quantile(0.5).is_some());
        histogram.clear();
        assert_eq!(histogram.read().total(), 0);
        assert_eq!(histogram.read().quantile(0.99), None);
    }
}
