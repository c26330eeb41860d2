//! When each request of a console leg was answered and when its `usage` event arrived on the
//! event stream, written lock-free from the load's tasks and the stream's reader, and the
//! delays between the two.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use hdrhistogram::Histogram;
use tokio::sync::Notify;

use crate::load;

/// Arrival times of the answers and of the events of requests `0..len`.
pub(crate) struct Timeline {
    base: Instant,
    /// Nanoseconds after `base` plus one, per request; 0 while not yet.
    answered: Vec<AtomicU64>,
    /// The same for the request's `usage` event.
    event: Vec<AtomicU64>,
    events_seen: AtomicU64,
    /// Woken at each event, for [`Timeline::events_seen`] waiters.
    pub(crate) event_arrived: Notify,
}

/// The delays from answer to event over the requests that have both.
#[derive(Debug)]
pub(crate) struct Delays {
    /// Each delay in µs; one whose event came first (before the client had read the whole
    /// answer) counts as 0.
    pub histogram: Histogram<u64>,
    /// Answered requests whose event never arrived.
    pub missing: u64,
    /// Requests whose event arrived before their answer was read through.
    pub event_first: u64,
}

impl Timeline {
    /// A timeline for requests `0..len`, its clock starting now.
    pub(crate) fn new(len: u64) -> Timeline {
        let slots = || (0..len).map(|_| AtomicU64::new(0)).collect();
        Timeline {
            base: Instant::now(),
            answered: slots(),
            event: slots(),
            events_seen: AtomicU64::new(0),
            event_arrived: Notify::new(),
        }
    }

    fn stamp(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.base).as_nanos() as u64 + 1
    }

    /// Request `index` was answered at `at` (ignored outside the timeline).
    pub(crate) fn answered(&self, index: u64, at: Instant) {
        if let Some(slot) = self.answered.get(index as usize) {
            slot.store(self.stamp(at), Ordering::Relaxed);
        }
    }

    /// The `usage` event of request `index` arrived at `at` (ignored outside the timeline, or
    /// when one arrived already).
    pub(crate) fn event(&self, index: u64, at: Instant) {
        let Some(slot) = self.event.get(index as usize) else {
            return;
        };
        let first = slot
            .compare_exchange(0, self.stamp(at), Ordering::Relaxed, Ordering::Relaxed)
            .is_ok();
        if first {
            self.events_seen.fetch_add(1, Ordering::Relaxed);
            self.event_arrived.notify_waiters();
        }
    }

    /// The `usage` event of the request named `request_id` arrived at `at`, when the id is
    /// `prefix` followed by an index of this timeline (see [`load::request_id`]).
    pub(crate) fn event_for_id(&self, prefix: &str, request_id: &str, at: Instant) {
        let index = request_id
            .strip_prefix(prefix)
            .and_then(|index| index.parse::<u64>().ok());
        if let Some(index) = index.filter(|index| load::request_id(prefix, *index) == request_id) {
            self.event(index, at);
        }
    }

    /// Requests whose event has arrived.
    pub(crate) fn events_seen(&self) -> u64 {
        self.events_seen.load(Ordering::Relaxed)
    }

    /// The delays of the requests answered so far.
    pub(crate) fn delays(&self) -> Delays {
        let mut delays = Delays {
            histogram: load::histogram(),
            missing: 0,
            event_first: 0,
        };
        for (answered, event) in self.answered.iter().zip(&self.event) {
            let (answered, event) = (
                answered.load(Ordering::Relaxed),
                event.load(Ordering::Relaxed),
            );
            if answered == 0 {
                continue;
            }
            if event == 0 {
                delays.missing += 1;
                continue;
            }
            if event < answered {
                delays.event_first += 1;
            }
            let micros = event.saturating_sub(answered) / 1_000;
            delays
                .histogram
                .record(micros.max(1))
                .expect("delay within the histogram's bounds");
        }
        delays
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn delays_run_from_each_answer_to_its_event() {
        let timeline = Timeline::new(4);
        let t = timeline.base;
        timeline.answered(0, t + Duration::from_millis(1));
        timeline.event(0, t + Duration::from_millis(3));
        timeline.answered(1, t + Duration::from_millis(2));
        timeline.event(1, t + Duration::from_millis(12));
        // Answered, no event yet.
        timeline.answered(2, t + Duration::from_millis(2));
        // An event for a request not answered (failed): not counted either way.
        timeline.event(3, t + Duration::from_millis(5));

        let delays = timeline.delays();
        assert_eq!(delays.histogram.len(), 2);
        assert_eq!(delays.histogram.min(), 2_000);
        let max = delays.histogram.max();
        assert!((10_000..10_020).contains(&max), "{max} µs");
        assert_eq!(delays.missing, 1);
        assert_eq!(delays.event_first, 0);
        assert_eq!(timeline.events_seen(), 3, "every event counts as arrived");
    }

    #[test]
    fn an_event_before_its_answer_counts_as_no_delay() {
        let timeline = Timeline::new(1);
        let t = timeline.base;
        timeline.event(0, t + Duration::from_millis(1));
        timeline.answered(0, t + Duration::from_millis(2));
        let delays = timeline.delays();
        assert_eq!(delays.event_first, 1);
        assert_eq!(delays.histogram.max(), 1);
    }

    #[test]
    fn only_ids_of_this_prefix_and_range_count_once() {
        let timeline = Timeline::new(10);
        let t = timeline.base;
        timeline.event_for_id("r1-", "r1-7", t);
        timeline.event_for_id("r1-", "r1-7", t + Duration::from_millis(1));
        timeline.event_for_id("r1-", "r0-3", t);
        timeline.event_for_id("r1-", "r1-10", t);
        timeline.event_for_id("r1-", "r1-07", t);
        timeline.event_for_id("r1-", "r1-x", t);
        assert_eq!(timeline.events_seen(), 1);
        timeline.answered(7, t);
        let delays = timeline.delays();
        assert_eq!(delays.histogram.len(), 1);
        assert_eq!(delays.histogram.max(), 1, "the first event's time is kept");
    }
}
