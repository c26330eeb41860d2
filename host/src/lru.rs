//! A map from string keys to values that knows which key was used least recently, so a table
//! bounded by configuration can evict its oldest entry to make room.
//!
//! Every operation is `O(log n)`: the entries sit in a hash map beside an ordered index of their
//! last use.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// A map whose entries are ordered by their last insertion or [`Lru::touch`].
#[derive(Debug)]
pub(crate) struct Lru<V> {
    entries: HashMap<Arc<str>, (u64, V)>,
    /// Use stamp → key, oldest first.
    order: BTreeMap<u64, Arc<str>>,
    next: u64,
}

impl<V> Default for Lru<V> {
    fn default() -> Self {
        Lru {
            entries: HashMap::new(),
            order: BTreeMap::new(),
            next: 0,
        }
    }
}

impl<V> Lru<V> {
    /// An empty map.
    pub(crate) fn new() -> Self {
        Lru::default()
    }

    /// The number of entries.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map is empty.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value of `key`, without changing its age.
    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        self.entries.get(key).map(|(_, value)| value)
    }

    /// The value of `key` to change in place, without changing its age.
    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        self.entries.get_mut(key).map(|(_, value)| value)
    }

    /// Makes `key` the most recently used entry; `false` when it is not there.
    pub(crate) fn touch(&mut self, key: &str) -> bool {
        self.restamp(key).is_some()
    }

    /// Inserts (or replaces) `key` as the most recently used entry; returns the old value.
    pub(crate) fn insert(&mut self, key: &str, value: V) -> Option<V> {
        if let Some(old) = self.restamp(key) {
            return Some(std::mem::replace(old, value));
        }
        let stamp = self.stamp();
        let key: Arc<str> = Arc::from(key);
        self.order.insert(stamp, key.clone());
        self.entries.insert(key, (stamp, value));
        None
    }

    /// Gives `key` a new use stamp; its value to change, when it is there.
    fn restamp(&mut self, key: &str) -> Option<&mut V> {
        let (shared, _) = self.entries.get_key_value(key)?;
        let shared = shared.clone();
        let stamp = self.stamp();
        let (used, value) = self.entries.get_mut(key)?;
        self.order.remove(used);
        *used = stamp;
        self.order.insert(stamp, shared);
        Some(value)
    }

    /// Removes `key`; returns its value.
    pub(crate) fn remove(&mut self, key: &str) -> Option<V> {
        let (used, value) = self.entries.remove(key)?;
        self.order.remove(&used);
        Some(value)
    }

    /// Removes and returns the least recently used entry.
    pub(crate) fn pop_oldest(&mut self) -> Option<(Arc<str>, V)> {
        let (_, key) = self.order.pop_first()?;
        let (_, value) = self.entries.remove(&key)?;
        Some((key, value))
    }

    /// Keeps only the entries for which `keep` is true.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&str, &mut V) -> bool) {
        let order = &mut self.order;
        self.entries.retain(|key, (used, value)| {
            let kept = keep(key, value);
            if !kept {
                order.remove(used);
            }
            kept
        });
    }

    /// The entries, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.entries.iter().map(|(key, (_, value))| (&**key, value))
    }

    fn stamp(&mut self) -> u64 {
        self.next += 1;
        self.next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_use_goes_first() {
        let mut lru = Lru::new();
        assert!(lru.is_empty());
        lru.insert("a", 1);
        lru.insert("b", 2);
        lru.insert("c", 3);
        assert!(lru.touch("a"));
        assert!(!lru.touch("zz"));
        assert_eq!(lru.insert("b", 20), Some(2), "replacing makes it newest");
        assert_eq!(lru.get("b"), Some(&20));
        *lru.get_mut("c").unwrap() = 30;
        assert_eq!(lru.pop_oldest(), Some((Arc::from("c"), 30)));
        assert_eq!(lru.pop_oldest(), Some((Arc::from("a"), 1)));
        assert_eq!(lru.len(), 1);
        assert_eq!(lru.remove("b"), Some(20));
        assert_eq!(lru.pop_oldest(), None);
    }

    #[test]
    fn retain_keeps_the_order_in_step() {
        let mut lru = Lru::new();
        for (i, key) in ["a", "b", "c", "d"].into_iter().enumerate() {
            lru.insert(key, i);
        }
        lru.retain(|_, v| *v % 2 == 1);
        let mut left: Vec<_> = lru.iter().map(|(k, v)| (k.to_owned(), *v)).collect();
        left.sort();
        assert_eq!(left, [("b".to_owned(), 1), ("d".to_owned(), 3)]);
        assert_eq!(lru.pop_oldest().map(|(k, _)| k), Some(Arc::from("b")));
        assert_eq!(lru.pop_oldest().map(|(k, _)| k), Some(Arc::from("d")));
        assert_eq!(lru.pop_oldest(), None);
    }
}
