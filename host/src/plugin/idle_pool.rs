//! The idle live instances of one configured plugin instance, kept per serving core
//! (`server.runtime: per-core`): a call takes and returns an instance on its own core's shelf,
//! so the instance's memory stays in that core's caches and the cores never wait on one lock.
//! A core whose shelf is empty borrows from another before a new instance is made.

use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

/// Idle values, on one shelf per serving core plus one for every other thread, at most `size`
/// over all the shelves.
pub(crate) struct IdlePool<T> {
    shelves: Box<[Mutex<Vec<T>>]>,
    /// The most values kept over all the shelves.
    size: usize,
    /// The values kept now (counted before a value goes on a shelf, so never over `size`).
    kept: AtomicUsize,
}

impl<T> IdlePool<T> {
    /// A pool keeping at most `size` values (0: none), over `cores` serving cores.
    pub(crate) fn new(size: usize, cores: usize) -> IdlePool<T> {
        IdlePool {
            shelves: (0..cores + 1).map(|_| Mutex::new(Vec::new())).collect(),
            size,
            kept: AtomicUsize::new(0),
        }
    }

    /// The shelf of the calling thread.
    fn own(&self) -> usize {
        match crate::serving_core::current() {
            Some(core) => 1 + core % (self.shelves.len() - 1),
            None => 0,
        }
    }

    /// An idle value: from this thread's shelf, else from another's.
    pub(crate) fn take(&self) -> Option<T> {
        let own = self.own();
        let value = (0..self.shelves.len())
            .map(|offset| (own + offset) % self.shelves.len())
            .find_map(|shelf| self.shelves[shelf].lock().pop())?;
        self.kept.fetch_sub(1, Ordering::Relaxed);
        Some(value)
    }

    /// Keeps `value` on this thread's shelf while the pool holds fewer than its size; drops it
    /// otherwise.
    pub(crate) fn put(&self, value: T) {
        let room = self
            .kept
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |kept| {
                (kept < self.size).then_some(kept + 1)
            })
            .is_ok();
        if room {
            self.shelves[self.own()].lock().push(value);
        }
    }

    /// The values kept now.
    pub(crate) fn len(&self) -> usize {
        self.kept.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_core_keeps_its_own_and_borrows_when_empty() {
        let pool = IdlePool::new(3, 2);
        for value in 0..4 {
            pool.put(value);
        }
        assert_eq!(pool.len(), 3, "the size holds: the fourth was dropped");
        let core = std::thread::spawn(move || {
            crate::serving_core::enter(1);
            // Core 1's shelf is empty: it borrows from the other shelf.
            let borrowed = pool.take();
            pool.put(10);
            pool.put(11);
            // Its own comes back first.
            (pool.take(), borrowed, pool)
        });
        let (own, borrowed, pool) = core.join().unwrap();
        assert_eq!(borrowed, Some(2));
        assert_eq!(own, Some(10), "11 found the pool full");
        assert_eq!(pool.len(), 2, "0 and 1 on this thread's shelf");
        assert_eq!(pool.take(), Some(1));
    }

    #[test]
    fn the_size_bounds_every_shelf_together() {
        // Many cores, a small pool: each core keeping a share of its own would hold one per
        // core.
        let pool = std::sync::Arc::new(IdlePool::new(8, 64));
        let threads: Vec<_> = (0..64)
            .map(|core| {
                let pool = pool.clone();
                std::thread::spawn(move || {
                    crate::serving_core::enter(core);
                    for value in 0..4 {
                        pool.put(value);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(pool.len(), 8);
        let mut taken = 0;
        while pool.take().is_some() {
            taken += 1;
        }
        assert_eq!(taken, 8, "the count is what the shelves hold");
        assert_eq!(pool.len(), 0);
    }

    #[test]
    fn size_zero_keeps_nothing() {
        let pool = IdlePool::new(0, 2);
        pool.put(1);
        assert_eq!(pool.len(), 0);
        assert_eq!(pool.take(), None);
    }
}
