//! The usage feed behind the Redis-protocol port: a FIFO of serialized usage
//! records kept for a retention window, and live subscribers.
//!
//! While at least one subscriber is connected, new records go to the subscribers instead of the
//! queue. A subscriber that falls [`SUBSCRIBER_BUFFER`] records behind is dropped. The queue
//! holds at most [`MAX_QUEUED`] records: past that the oldest is dropped and counted.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use tokio::sync::mpsc;

/// How long a record waits in the queue to be popped.
pub(crate) const RETENTION: Duration = Duration::from_secs(60);

/// Records a subscriber may have pending before it is dropped.
pub(crate) const SUBSCRIBER_BUFFER: usize = 256;

/// Records the queue holds at most.
pub(crate) const MAX_QUEUED: usize = 10_000;

/// The queue and the subscribers.
#[derive(Debug, Default)]
pub struct Feed {
    inner: Mutex<Inner>,
    dropped: AtomicU64,
}

#[derive(Debug, Default)]
struct Inner {
    queue: VecDeque<(SystemTime, Arc<str>)>,
    subscribers: Vec<mpsc::Sender<Arc<str>>>,
}

impl Inner {
    fn prune(&mut self, now: SystemTime) {
        while let Some((at, _)) = self.queue.front() {
            if now.duration_since(*at).unwrap_or_default() <= RETENTION {
                break;
            }
            self.queue.pop_front();
        }
    }
}

impl Feed {
    /// Hands `payload` to the subscribers, or queues it when there are none.
    pub fn publish(&self, payload: Arc<str>, now: SystemTime) {
        let mut inner = self.inner.lock();
        inner.prune(now);
        if !inner.subscribers.is_empty() {
            inner
                .subscribers
                .retain(|subscriber| subscriber.try_send(payload.clone()).is_ok());
            if !inner.subscribers.is_empty() {
                return;
            }
        }
        if inner.queue.len() >= MAX_QUEUED {
            inner.queue.pop_front();
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        inner.queue.push_back((now, payload));
    }

    /// Records dropped because the queue was full (`/metrics`).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Removes and returns up to `count` of the oldest queued records.
    pub fn pop(&self, count: usize, now: SystemTime) -> Vec<Arc<str>> {
        let mut inner = self.inner.lock();
        inner.prune(now);
        let count = count.min(inner.queue.len());
        inner.queue.drain(..count).map(|(_, p)| p).collect()
    }

    /// A new subscriber: it receives `first` (when given; it takes a place in the buffer), then
    /// every record published from now on. The channel closes when the subscriber falls behind
    /// or the feed is cleared.
    pub fn subscribe(&self, first: Option<Arc<str>>) -> mpsc::Receiver<Arc<str>> {
        let (sender, receiver) = mpsc::channel(SUBSCRIBER_BUFFER);
        if let Some(first) = first {
            // A new channel has room.
            let _ = sender.try_send(first);
        }
        self.inner.lock().subscribers.push(sender);
        receiver
    }

    /// Drops the queue and disconnects the subscribers (the feed was turned off: the
    /// management API or `usage-statistics-enabled`).
    pub fn clear(&self) {
        let mut inner = self.inner.lock();
        inner.queue.clear();
        inner.subscribers.clear();
    }

    /// Records waiting in the queue.
    pub fn len(&self) -> usize {
        self.inner.lock().queue.len()
    }

    /// Whether the queue is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn pops_oldest_first_and_forgets_after_the_retention() {
        let feed = Feed::default();
        feed.publish("a".into(), at(100));
        feed.publish("b".into(), at(130));
        feed.publish("c".into(), at(150));
        assert_eq!(feed.pop(1, at(150)), vec![Arc::<str>::from("a")]);
        // At 191, "b" is 61 s old.
        assert_eq!(feed.pop(10, at(191)), vec![Arc::<str>::from("c")]);
        assert!(feed.pop(1, at(191)).is_empty());
    }

    #[test]
    fn subscribers_take_records_instead_of_the_queue() {
        let feed = Feed::default();
        let mut subscriber = feed.subscribe(Some("hello".into()));
        feed.publish("a".into(), at(0));
        assert_eq!(subscriber.try_recv().unwrap().as_ref(), "hello");
        assert_eq!(subscriber.try_recv().unwrap().as_ref(), "a");
        assert!(feed.is_empty());
        drop(subscriber);
        feed.publish("b".into(), at(0));
        assert_eq!(feed.len(), 1);
    }

    #[test]
    fn slow_subscribers_are_dropped() {
        let feed = Feed::default();
        let mut slow = feed.subscribe(None);
        for i in 0..=SUBSCRIBER_BUFFER {
            feed.publish(i.to_string().into(), at(0));
        }
        // The buffer held 256; the 257th found it full and the subscriber was dropped, so it
        // went to the queue.
        assert_eq!(feed.len(), 1);
        let mut received = 0;
        while slow.try_recv().is_ok() {
            received += 1;
        }
        assert_eq!(received, SUBSCRIBER_BUFFER);
        assert!(slow.try_recv().is_err());
    }

    #[test]
    fn clearing_empties_the_queue_and_ends_the_subscribers() {
        let feed = Feed::default();
        feed.publish("queued".into(), at(0));
        let mut subscriber = feed.subscribe(None);
        feed.clear();
        assert!(feed.is_empty());
        assert!(matches!(
            subscriber.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected)
        ));
        // A record after the clear has no subscriber left: it is queued.
        feed.publish("later".into(), at(0));
        assert_eq!(feed.len(), 1);
    }

    #[test]
    fn the_queue_keeps_the_newest_records_up_to_its_cap() {
        let feed = Feed::default();
        for i in 0..=MAX_QUEUED {
            feed.publish(i.to_string().into(), at(0));
        }
        assert_eq!(feed.len(), MAX_QUEUED);
        assert_eq!(feed.dropped(), 1);
        // The oldest ("0") went; "1" is first.
        assert_eq!(feed.pop(1, at(0)), vec![Arc::<str>::from("1")]);
    }
}
