//! How long the calls into a configured plugin instance take: a fixed histogram (960 bytes per
//! instance) that is never cleared, halved whenever one of its counters reaches
//! [`HALVE_AT`], so it cannot overflow and older calls weigh less over time.

use std::time::Duration;

use crate::history::latency_histogram::{Distribution, LatencyHistogram};

/// The count at which every counter is halved.
const HALVE_AT: u32 = 1 << 30;

/// The call durations of one configured instance.
#[derive(Debug, Default)]
pub(crate) struct CallTimes {
    histogram: LatencyHistogram,
}

impl CallTimes {
    /// Counts one call that took `duration`.
    pub(crate) fn record(&self, duration: Duration) {
        if self.histogram.record(duration) >= HALVE_AT {
            self.histogram.halve();
        }
    }

    /// The durations counted so far.
    pub(crate) fn read(&self) -> Distribution {
        self.histogram.read()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_read_in_microseconds_resolution() {
        let times = CallTimes::default();
        assert_eq!(times.read().quantile(0.5), None);
        for micros in [3, 4, 4, 100] {
            times.record(Duration::from_micros(micros));
        }
        assert_eq!(times.read().quantile(0.5), Some(Duration::from_micros(4)));
    }
}
