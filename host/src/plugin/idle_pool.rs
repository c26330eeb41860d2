//! The idle live instances of one configured plugin instance, kept per serving core
//! (`server.runtime: per-core`): a call takes and returns an instance on its own core's shelf,
//! so the instance's memory stays in that core's caches and the cores never wait on one lock.
//! A core whose shelf is empty borrows from another before a new instance is made.

use parking_lot::Mutex;

/// Idle values, on one shelf per serving core plus one for every other thread.
pub(crate) struct IdlePool<T> {
    shelves: Box<[Mutex<Vec<T>>]>,
    /// The most values one shelf keeps (the pool's size split over the shelves, rounded up).
    per_shelf: usize,
}

impl<T> IdlePool<T> {
    /// A pool keeping at most about `size` values (0: none), over `cores` serving cores.
    pub(crate) fn new(size: usize, cores: usize) -> IdlePool<T> {
        let shelves = cores + 1;
        IdlePool {
            shelves: (0..shelves).map(|_| Mutex::new(Vec::new())).collect(),
            per_shelf: size.div_ceil(shelves),
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
        if let Some(value) = self.shelves[own].lock().pop() {
            return Some(value);
        }
        (1..self.shelves.len())
            .map(|offset| (own + offset) % self.shelves.len())
            .find_map(|shelf| self.shelves[shelf].lock().pop())
    }

    /// Keeps `value` on this thread's shelf if it has room; drops it otherwise.
    pub(crate) fn put(&self, value: T) {
        let mut shelf = self.shelves[self.own()].lock();
        if shelf.len() < self.per_shelf {
            shelf.push(value);
        }
    }

    /// The values kept now.
    pub(crate) fn len(&self) -> usize {
        self.shelves.iter().map(|shelf| shelf.lock().len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_core_keeps_its_own_and_borrows_when_empty() {
        let pool = IdlePool::new(6, 2);
        // Three shelves (two cores, the rest) of two each.
        for value in 0..4 {
            pool.put(value);
        }
        assert_eq!(pool.len(), 2, "this thread's shelf holds two");
        let core = std::thread::spawn(move || {
            crate::serving_core::enter(1);
            // Core 1's shelf is empty: it borrows from the other shelf.
            let borrowed = pool.take();
            pool.put(10);
            pool.put(11);
            pool.put(12);
            // Its own come back first.
            (pool.take(), borrowed, pool)
        });
        let (own, borrowed, pool) = core.join().unwrap();
        assert_eq!(own, Some(11));
        assert_eq!(borrowed, Some(1));
        assert_eq!(pool.len(), 2, "0 on this thread's shelf, 10 on core 1's");
        assert_eq!(pool.take(), Some(0));
    }

    #[test]
    fn size_zero_keeps_nothing() {
        let pool = IdlePool::new(0, 2);
        pool.put(1);
        assert_eq!(pool.len(), 0);
        assert_eq!(pool.take(), None);
    }
}
