//! Limits on open client connections (`server.max-connections`, `server.max-connections-per-ip`).
//!
//! The accept loop waits for room before it accepts ([`ConnectionGate::wait_for_room`]): past
//! the total limit new connections stay in the listen backlog. An accepted connection is then
//! admitted or refused by its client address ([`ConnectionGate::admit`]); a refused one is
//! closed at once. IPv4 addresses count one by one, IPv6 addresses per /64 (one host usually
//! owns a whole /64), and an IPv4-mapped IPv6 address counts as its IPv4 address.
//!
//! The per-address limit never applies to the peers [`exempt`] names: this machine, exactly as
//! the management API defines a local peer (`127.0.0.1`, `::1`, `::ffff:127.0.0.1`), and the
//! peers in `trusted-proxies` (many clients share a proxy's connections). Other loopback
//! addresses (`127.0.0.2`, …) are limited like any client.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::client_address::{AddressGroup, TrustedProxies, is_loopback_peer};
use crate::metrics::{LimitCounters, Metrics};

/// Whether the per-address limit skips the peer `ip`: this machine, or a trusted proxy. The
/// one place where exemptions are decided.
pub(super) fn exempt(ip: IpAddr, trusted: &TrustedProxies) -> bool {
    is_loopback_peer(ip) || trusted.contains(ip)
}

/// The open connections, in total and per address group.
#[derive(Debug)]
pub(super) struct ConnectionGate {
    state: Mutex<Open>,
    /// Woken whenever a connection closes.
    closed: Notify,
    metrics: Arc<Metrics>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    /// Only groups with at least one open connection (so the table is bounded by the open
    /// connections).
    per_group: HashMap<AddressGroup, usize>,
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refused {
    /// Its address group already has `server.max-connections-per-ip` open.
    PerAddress,
}

/// An admitted connection; dropping it frees its place.
#[derive(Debug)]
pub(super) struct Admission {
    gate: Arc<ConnectionGate>,
    group: Option<AddressGroup>,
}

impl ConnectionGate {
    /// A gate with nothing open, reporting to `metrics`.
    pub(super) fn new(metrics: Arc<Metrics>) -> Arc<Self> {
        Arc::new(ConnectionGate {
            state: Mutex::new(Open::default()),
            closed: Notify::new(),
            metrics,
        })
    }

    /// Connections open now.
    pub(super) fn open(&self) -> usize {
        self.state.lock().total
    }

    /// Returns once fewer than `limit` connections are open (at once when `limit` is `None`).
    /// Counts one pause in `/metrics` when it had to wait.
    pub(super) async fn wait_for_room(&self, limit: Option<usize>) {
        let Some(limit) = limit else { return };
        self.once_a_close_allows(
            || (self.open() < limit).then_some(()),
            || {
                tracing::warn!(
                    limit,
                    "server.max-connections open: not accepting until one closes"
                );
            },
        )
        .await;
    }

    /// What `attempt` gives, tried now and again after each connection closes until it gives
    /// something. The first time it gives nothing, one pause is counted in `/metrics` and
    /// `on_pause` runs.
    async fn once_a_close_allows<T>(
        &self,
        mut attempt: impl FnMut() -> Option<T>,
        on_pause: impl FnOnce(),
    ) -> T {
        let mut on_pause = Some(on_pause);
        loop {
            let closed = self.closed.notified();
            tokio::pin!(closed);
            // Listening before the attempt: a close between the two still wakes this.
            closed.as_mut().enable();
            if let Some(value) = attempt() {
                return value;
            }
            if let Some(on_pause) = on_pause.take() {
                LimitCounters::bump(&self.metrics.limits.accept_paused);
                on_pause();
            }
            closed.await;
        }
    }

    /// Admits a connection from `peer` unless its address group already has `per_address`
    /// connections open (`None`: no limit; [`exempt`] peers, with `trusted` the configured
    /// proxies, are never limited). A refusal is counted in `/metrics`.
    #[cfg(test)]
    fn admit(
        self: &Arc<Self>,
        peer: IpAddr,
        per_address: Option<usize>,
        trusted: &TrustedProxies,
    ) -> Result<Admission, Refused> {
        self.admit_below(None, peer, per_address, trusted)
            .expect("no total limit")
    }

    /// Admits a connection an accept loop has just accepted, as [`ConnectionGate::admit`],
    /// once fewer than `limit` are open. With one accept loop per core, two loops that both
    /// found room may accept at the same moment; the later one then holds its connection
    /// (unread, as the listen backlog would) until one closes, so together they never pass
    /// the limit. Counts one pause in `/metrics` when it had to wait.
    pub(super) async fn admit_within(
        self: &Arc<Self>,
        limit: Option<usize>,
        peer: IpAddr,
        per_address: Option<usize>,
        trusted: &TrustedProxies,
    ) -> Result<Admission, Refused> {
        self.once_a_close_allows(
            || self.admit_below(limit, peer, per_address, trusted),
            || {},
        )
        .await
    }

    /// [`ConnectionGate::admit`] when fewer than `limit` connections are open; `None` when
    /// `limit` are.
    fn admit_below(
        self: &Arc<Self>,
        limit: Option<usize>,
        peer: IpAddr,
        per_address: Option<usize>,
        trusted: &TrustedProxies,
    ) -> Option<Result<Admission, Refused>> {
        let group = (!exempt(peer, trusted)).then(|| AddressGroup::of(peer));
        let mut open = self.state.lock();
        if let Some(group) = group {
            let count = open.per_group.get(&group).copied().unwrap_or(0);
            if per_address.is_some_and(|limit| count >= limit) {
                drop(open);
                LimitCounters::bump(&self.metrics.limits.refused_per_ip);
                return Some(Err(Refused::PerAddress));
            }
        }
        if limit.is_some_and(|limit| open.total >= limit) {
            return None;
        }
        if let Some(group) = group {
            *open.per_group.entry(group).or_insert(0) += 1;
        }
        open.total += 1;
        self.publish(open.total);
        Some(Ok(Admission {
            gate: self.clone(),
            group,
        }))
    }

    /// Returns once no connection is open.
    pub(super) async fn drained(&self) {
        loop {
            let closed = self.closed.notified();
            tokio::pin!(closed);
            closed.as_mut().enable();
            if self.open() == 0 {
                return;
            }
            closed.await;
        }
    }

    fn release(&self, group: Option<AddressGroup>) {
        let mut open = self.state.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(group) = group
            && let Some(count) = open.per_group.get_mut(&group)
        {
            *count -= 1;
            if *count == 0 {
                open.per_group.remove(&group);
            }
        }
        self.publish(open.total);
        drop(open);
        self.closed.notify_waiters();
    }

    fn publish(&self, total: usize) {
        self.metrics
            .limits
            .open_connections
            .store(total as u64, Ordering::Relaxed);
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.gate.release(self.group);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(
            AddressGroup::of(ip("2001:db8:1:2::1")),
            AddressGroup::of(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            AddressGroup::of(ip("2001:db8:1:2::1")),
            AddressGroup::of(ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            AddressGroup::of(ip("::ffff:10.0.0.1")),
            AddressGroup::of(ip("10.0.0.1"))
        );
    }

    fn none() -> TrustedProxies {
        TrustedProxies::default()
    }

    #[test]
    fn a_trusted_proxy_is_exempt_from_the_per_address_limit() {
        let gate = ConnectionGate::new(Arc::new(Metrics::default()));
        let proxies = TrustedProxies::parse(["10.0.0.0/8"]).unwrap();
        let held: Vec<_> = (0..5)
            .map(|_| gate.admit(ip("10.2.3.4"), Some(2), &proxies).unwrap())
            .collect();
        assert_eq!(held.len(), 5);
        let _others = [
            gate.admit(ip("11.2.3.4"), Some(2), &proxies).unwrap(),
            gate.admit(ip("11.2.3.4"), Some(2), &proxies).unwrap(),
        ];
        assert!(gate.admit(ip("11.2.3.4"), Some(2), &proxies).is_err());
        // Without the list, the same peer is limited.
        let _limited = [
            gate.admit(ip("10.9.9.9"), Some(2), &none()).unwrap(),
            gate.admit(ip("10.9.9.9"), Some(2), &none()).unwrap(),
        ];
        assert!(gate.admit(ip("10.9.9.9"), Some(2), &none()).is_err());
    }

    #[test]
    fn the_per_address_limit_refuses_counts_and_frees_on_drop() {
        let metrics = Arc::new(Metrics::default());
        let gate = ConnectionGate::new(metrics.clone());
        let first = gate.admit(ip("127.0.0.2"), Some(2), &none()).unwrap();
        let _second = gate.admit(ip("127.0.0.2"), Some(2), &none()).unwrap();
        assert_eq!(
            gate.admit(ip("127.0.0.2"), Some(2), &none()).unwrap_err(),
            Refused::PerAddress
        );
        // Another address, and the local machine, are not affected.
        let _other = gate.admit(ip("127.0.0.3"), Some(2), &none()).unwrap();
        let locals: Vec<_> = (0..5)
            .map(|_| gate.admit(ip("::1"), Some(2), &none()).unwrap())
            .collect();
        assert_eq!(gate.open(), 8);
        assert_eq!(metrics.limits.refused_per_ip.load(Ordering::Relaxed), 1);
        drop(first);
        drop(locals);
        assert_eq!(gate.open(), 2);
        assert_eq!(metrics.limits.open_connections.load(Ordering::Relaxed), 2);
        gate.admit(ip("127.0.0.2"), Some(2), &none()).unwrap();
        // No limit: admitted whatever is open.
        let many: Vec<_> = (0..10)
            .map(|_| gate.admit(ip("10.1.1.1"), None, &none()).unwrap())
            .collect();
        drop(many);
        assert!(gate.state.lock().per_group.len() <= 2);
    }

    #[tokio::test]
    async fn waiting_for_room_ends_when_a_connection_closes() {
        let metrics = Arc::new(Metrics::default());
        let gate = ConnectionGate::new(metrics.clone());
        let held = gate.admit(ip("10.0.0.1"), None, &none()).unwrap();
        gate.wait_for_room(None).await;
        gate.wait_for_room(Some(2)).await;
        let waiter = tokio::spawn({
            let gate = gate.clone();
            async move { gate.wait_for_room(Some(1)).await }
        });
        // The waiter pauses (counted) and stays paused while the connection is open.
        tokio::time::timeout(Duration::from_secs(15), async {
            while metrics.limits.accept_paused.load(Ordering::Relaxed) == 0 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the pause is counted");
        assert!(!waiter.is_finished());
        drop(held);
        tokio::time::timeout(Duration::from_secs(15), waiter)
            .await
            .expect("room after the close")
            .unwrap();
        tokio::time::timeout(Duration::from_secs(15), gate.drained())
            .await
            .expect("drained");
    }

    #[tokio::test]
    async fn two_accept_loops_that_both_found_room_never_pass_the_limit_together() {
        let metrics = Arc::new(Metrics::default());
        let gate = ConnectionGate::new(metrics.clone());
        let open = gate.admit(ip("10.0.0.1"), None, &none()).unwrap();
        // `max-connections: 2`, one open: both loops (two cores) find room and accept.
        gate.wait_for_room(Some(2)).await;
        gate.wait_for_room(Some(2)).await;
        let _first = gate
            .admit_within(Some(2), ip("10.0.0.2"), Some(8), &none())
            .await
            .unwrap();
        let second = tokio::spawn({
            let gate = gate.clone();
            async move {
                gate.admit_within(Some(2), ip("10.0.0.3"), Some(8), &none())
                    .await
                    .map(drop)
            }
        });
        // The later one holds its connection (counted as a pause) until one closes.
        tokio::time::timeout(Duration::from_secs(15), async {
            while metrics.limits.accept_paused.load(Ordering::Relaxed) == 0 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the pause is counted");
        assert!(!second.is_finished());
        assert_eq!(gate.open(), 2);
        drop(open);
        tokio::time::timeout(Duration::from_secs(15), second)
            .await
            .expect("admitted after the close")
            .unwrap()
            .unwrap();
        // A per-address refusal does not wait for room.
        let _full = gate.admit(ip("10.0.0.9"), None, &none()).unwrap();
        assert_eq!(
            gate.admit_within(Some(1), ip("10.0.0.9"), Some(1), &none())
                .await
                .unwrap_err(),
            Refused::PerAddress
        );
    }
}
