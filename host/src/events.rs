//! The process-wide hub of live events behind `GET /v0/management/events`: usage records,
//! credential state changes, plugin state changes and reloads.
//!
//! Sources publish from the request path, so a publish never waits: with nobody subscribed it
//! is one atomic load (the event is not even built); otherwise the event is built once and
//! offered to each subscriber's bounded buffer with `try_send`. A subscriber whose buffer
//! ([`SUBSCRIBER_BUFFER`] events) is full has fallen behind: it is dropped at once (its slot
//! freed, its stream ended, [`EventHub::dropped_slow`] counted). At most [`MAX_SUBSCRIBERS`]
//! subscribe at once. A subscriber may read in batches ([`Subscription::gather`]): it is
//! woken early when its buffer is half full, so batching never makes it fall behind.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

/// Subscribers at most at once (the event streams of the management API).
pub(crate) const MAX_SUBSCRIBERS: usize = 8;

/// Events a subscriber may have pending before it is dropped as too slow.
pub(crate) const SUBSCRIBER_BUFFER: usize = 256;

/// What an event is about; its name is the SSE `event:` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A usage record (only while usage statistics are on).
    Usage,
    /// A credential's cooldown started or ended, or its token became unavailable or available.
    Credential,
    /// A plugin instance was quarantined or recovered, or a plugin file failed to load.
    Plugin,
    /// A reload attempt finished.
    Reload,
}

impl EventKind {
    /// The SSE event name.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Usage => "usage",
            EventKind::Credential => "credential",
            EventKind::Plugin => "plugin",
            EventKind::Reload => "reload",
        }
    }
}

/// One event: its kind and its JSON payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// What it is about.
    pub kind: EventKind,
    /// The JSON text (one line).
    pub data: Arc<str>,
}

/// The hub: the subscribers' buffers and the counters.
#[derive(Debug, Default)]
pub struct EventHub {
    /// Subscribers now; read without the lock by [`EventHub::publish`].
    listening: AtomicUsize,
    subscribers: Mutex<Vec<Subscriber>>,
    next_id: AtomicU64,
    dropped_slow: AtomicU64,
    refused: AtomicU64,
    revoked: AtomicU64,
}

#[derive(Debug)]
struct Subscriber {
    id: u64,
    sender: mpsc::Sender<Event>,
    /// Told when the buffer is half full, so a batching reader reads before it falls behind.
    half_full: Arc<Notify>,
}

/// All [`MAX_SUBSCRIBERS`] slots are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many event streams (at most {MAX_SUBSCRIBERS})")]
pub struct HubFull;

impl EventHub {
    /// Whether anyone is subscribed (a source may skip preparing an event when not).
    pub fn has_subscribers(&self) -> bool {
        self.listening.load(Ordering::Relaxed) > 0
    }

    /// Offers an event of `kind` whose payload `data` builds (called only when someone is
    /// subscribed) to every subscriber; one whose buffer is full is dropped.
    pub fn publish(&self, kind: EventKind, data: impl FnOnce() -> String) {
        if !self.has_subscribers() {
            return;
        }
        let event = Event {
            kind,
            data: data().into(),
        };
        let mut subscribers = self.subscribers.lock();
        subscribers.retain(
            |subscriber| match subscriber.sender.try_send(event.clone()) {
                Ok(()) => {
                    if subscriber.sender.capacity() <= SUBSCRIBER_BUFFER / 2 {
                        subscriber.half_full.notify_one();
                    }
                    true
                }
                Err(TrySendError::Full(_)) => {
                    self.dropped_slow.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(
                        "event stream dropped: it fell {SUBSCRIBER_BUFFER} events behind"
                    );
                    false
                }
                Err(TrySendError::Closed(_)) => false,
            },
        );
        self.listening.store(subscribers.len(), Ordering::Relaxed);
    }

    /// A new subscriber, or [`HubFull`]. It receives the events published from now on until
    /// it is dropped (as too slow) or the [`Subscription`] is.
    pub fn subscribe(self: &Arc<Self>) -> Result<Subscription, HubFull> {
        let mut subscribers = self.subscribers.lock();
        // Subscribers whose stream ended are gone already (their `Drop`); none to prune here.
        if subscribers.len() >= MAX_SUBSCRIBERS {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(HubFull);
        }
        let (sender, receiver) = mpsc::channel(SUBSCRIBER_BUFFER);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let half_full = Arc::new(Notify::new());
        subscribers.push(Subscriber {
            id,
            sender,
            half_full: half_full.clone(),
        });
        self.listening.store(subscribers.len(), Ordering::Relaxed);
        Ok(Subscription {
            hub: self.clone(),
            id,
            receiver,
            half_full,
        })
    }

    /// Subscribers now.
    pub fn subscribers(&self) -> usize {
        self.subscribers.lock().len()
    }

    /// Subscribers dropped so far because their buffer was full (`/metrics`).
    pub fn dropped_slow(&self) -> u64 {
        self.dropped_slow.load(Ordering::Relaxed)
    }

    /// Subscriptions refused because all slots were taken (`/metrics`).
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Counts a stream ended because the login it was opened with is no longer valid (the
    /// management key rotated, or the management API was turned off).
    pub fn count_revoked(&self) {
        self.revoked.fetch_add(1, Ordering::Relaxed);
    }

    /// Streams ended so far because their login was revoked (`/metrics`).
    pub fn revoked(&self) -> u64 {
        self.revoked.load(Ordering::Relaxed)
    }

    /// Ends every subscription (the server shuts down); new ones may still come.
    pub fn close_all(&self) {
        let mut subscribers = self.subscribers.lock();
        subscribers.clear();
        self.listening.store(0, Ordering::Relaxed);
    }

    fn unsubscribe(&self, id: u64) {
        let mut subscribers = self.subscribers.lock();
        subscribers.retain(|subscriber| subscriber.id != id);
        self.listening.store(subscribers.len(), Ordering::Relaxed);
    }
}

/// One subscriber's end: its events, in order. Dropping it frees its slot.
#[derive(Debug)]
pub struct Subscription {
    hub: Arc<EventHub>,
    id: u64,
    receiver: mpsc::Receiver<Event>,
    half_full: Arc<Notify>,
}

impl Subscription {
    /// The next event; `None` once the hub dropped this subscriber (it fell behind). The
    /// events still buffered then are not delivered: a dropped stream ends at once.
    pub async fn next(&mut self) -> Option<Event> {
        let event = self.receiver.recv().await?;
        // Dropped meanwhile: the sender is gone and the buffer is stale.
        if self.receiver.is_closed() {
            return None;
        }
        Some(event)
    }

    /// `first` and the events that follow within `window` (less once the buffer is half
    /// full): everything buffered then. `None` once the hub dropped this subscriber. One
    /// wake-up and one write per window instead of one per event is what keeps a stream cheap
    /// under load. Not cancel-safe: a `select!` arm awaits [`Subscription::next`] (which is),
    /// then this outside the `select!`.
    pub async fn gather(&mut self, first: Event, window: Duration) -> Option<Vec<Event>> {
        tokio::select! {
            () = tokio::time::sleep(window) => {}
            () = self.half_full.notified() => {}
        }
        let mut batch = vec![first];
        while let Ok(event) = self.receiver.try_recv() {
            batch.push(event);
        }
        if self.receiver.is_closed() {
            // Dropped meanwhile (too slow, or the server shuts down): the batch is stale.
            return None;
        }
        Some(batch)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.unsubscribe(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub() -> Arc<EventHub> {
        Arc::new(EventHub::default())
    }

    /// The next event and what [`Subscription::gather`] adds to it.
    async fn next_batch(subscription: &mut Subscription, window: Duration) -> Option<Vec<Event>> {
        let first = subscription.next().await?;
        subscription.gather(first, window).await
    }

    fn data(text: &str) -> impl FnOnce() -> String + '_ {
        move || text.to_owned()
    }

    #[tokio::test]
    async fn subscribers_get_events_in_order() {
        let hub = hub();
        let mut first = hub.subscribe().unwrap();
        let mut second = hub.subscribe().unwrap();
        hub.publish(EventKind::Reload, data("1"));
        hub.publish(EventKind::Usage, data("2"));
        for subscription in [&mut first, &mut second] {
            let one = subscription.next().await.unwrap();
            assert_eq!((one.kind, one.data.as_ref()), (EventKind::Reload, "1"));
            let two = subscription.next().await.unwrap();
            assert_eq!((two.kind, two.data.as_ref()), (EventKind::Usage, "2"));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_holds_what_arrives_within_its_window() {
        let hub = hub();
        let mut subscription = hub.subscribe().unwrap();
        hub.publish(EventKind::Usage, data("1"));
        let start = tokio::time::Instant::now();
        let publisher = hub.clone();
        let later = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            publisher.publish(EventKind::Reload, data("2"));
        });
        let batch = next_batch(&mut subscription, Duration::from_millis(50))
            .await
            .unwrap();
        later.await.unwrap();
        let texts: Vec<&str> = batch.iter().map(|e| e.data.as_ref()).collect();
        assert_eq!(texts, ["1", "2"]);
        assert_eq!(start.elapsed(), Duration::from_millis(50));
    }

    #[tokio::test(start_paused = true)]
    async fn a_half_full_buffer_ends_the_batch_at_once() {
        let hub = hub();
        let mut subscription = hub.subscribe().unwrap();
        for _ in 0..SUBSCRIBER_BUFFER / 2 {
            hub.publish(EventKind::Usage, data("u"));
        }
        let start = tokio::time::Instant::now();
        let batch = next_batch(&mut subscription, Duration::from_secs(3600))
            .await
            .unwrap();
        assert_eq!(batch.len(), SUBSCRIBER_BUFFER / 2);
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "woken without waiting the window"
        );
        // Publishing at that rate for long never drops a reader that reads in batches.
        for round in 0..20 {
            for _ in 0..SUBSCRIBER_BUFFER / 2 {
                hub.publish(EventKind::Usage, data("u"));
            }
            let batch = next_batch(&mut subscription, Duration::from_secs(3600)).await;
            assert_eq!(
                batch.map(|b| b.len()),
                Some(SUBSCRIBER_BUFFER / 2),
                "{round}"
            );
        }
        assert_eq!(hub.dropped_slow(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_subscriber_gets_no_stale_batch() {
        let hub = hub();
        let mut subscription = hub.subscribe().unwrap();
        for _ in 0..=SUBSCRIBER_BUFFER {
            hub.publish(EventKind::Usage, data("u"));
        }
        assert_eq!(hub.dropped_slow(), 1);
        assert_eq!(
            next_batch(&mut subscription, Duration::from_millis(50)).await,
            None
        );
    }

    #[test]
    fn without_subscribers_nothing_is_built() {
        let hub = hub();
        hub.publish(EventKind::Usage, || panic!("built with nobody listening"));
        let subscription = hub.subscribe().unwrap();
        drop(subscription);
        hub.publish(EventKind::Usage, || panic!("built after the last one left"));
        assert_eq!(hub.subscribers(), 0);
    }

    #[test]
    fn at_most_eight_subscribe_and_a_closed_one_frees_its_slot() {
        let hub = hub();
        let mut held: Vec<_> = (0..MAX_SUBSCRIBERS)
            .map(|_| hub.subscribe().unwrap())
            .collect();
        assert_eq!(hub.subscribe().unwrap_err(), HubFull);
        assert_eq!(hub.refused(), 1);
        held.pop();
        assert!(hub.subscribe().is_ok());
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_is_dropped_alone() {
        let hub = hub();
        let mut slow = hub.subscribe().unwrap();
        let mut fast = hub.subscribe().unwrap();
        for i in 0..=SUBSCRIBER_BUFFER {
            hub.publish(EventKind::Usage, || i.to_string());
            let event = fast.next().await.unwrap();
            assert_eq!(event.data.as_ref(), i.to_string());
        }
        // The 257th event found the slow one's buffer full.
        assert_eq!(hub.dropped_slow(), 1);
        assert_eq!(hub.subscribers(), 1);
        assert_eq!(
            slow.next().await,
            None,
            "ends at once, the stale buffer unread"
        );
        // Its slot is free for a new subscriber, and the fast one goes on.
        hub.publish(EventKind::Reload, data("after"));
        assert_eq!(fast.next().await.unwrap().data.as_ref(), "after");
        drop(slow);
        assert_eq!(hub.subscribers(), 1);
    }
}
