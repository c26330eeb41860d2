//! Which model names the per-model tables may hold, so clients cannot grow them.
//!
//! Credential states (cooldowns per model) and the usage totals by model keep an entry per
//! model name. Names that the config's `models` entries or the built-in lists give are bounded
//! by the config, so they are kept freely ([`Tracking::Listed`]). Any other name (served by a
//! provider's family rule, such as `claude-<anything>`, or not served at all) is chosen by the
//! client: those share one process-wide least-recently-used set of
//! `routing.max-tracked-models` names ([`TrackedModels`]). When a new name would go past that,
//! the oldest name is forgotten by every table (its cooldowns and totals are dropped).

use std::sync::Weak;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::{Mutex, RwLock};

use crate::lru::Lru;
use crate::metrics::{Metrics, Table};

/// Default `routing.max-tracked-models`.
pub(crate) const DEFAULT_MAX_TRACKED_MODELS: usize = 1000;

/// How a table may keep a model name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Tracking {
    /// The config's `models` entries or a built-in list name it: kept freely.
    Listed,
    /// Only the family rule (or nothing) serves it: kept through [`TrackedModels`].
    #[default]
    Unlisted,
}

/// A table that keeps entries by model name and drops them when the name is evicted.
pub trait ForgetModel: Send + Sync {
    /// Drops the entries this table admitted for `model` through [`TrackedModels::admit`];
    /// returns how many.
    fn forget(&self, model: &str) -> u64;
}

/// The process-wide set of unlisted model names the tables may hold, least recently used
/// evicted first.
pub struct TrackedModels {
    names: Mutex<Lru<()>>,
    capacity: AtomicUsize,
    tables: RwLock<Vec<(Table, Weak<dyn ForgetModel>)>>,
    metrics: std::sync::Arc<Metrics>,
}

impl std::fmt::Debug for TrackedModels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackedModels")
            .field("names", &self.names.lock().len())
            .field("capacity", &self.capacity.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl TrackedModels {
    /// A set of at most `capacity` names (at least 1); evictions are counted in `metrics`.
    pub fn new(capacity: usize, metrics: std::sync::Arc<Metrics>) -> Self {
        TrackedModels {
            names: Mutex::new(Lru::new()),
            capacity: AtomicUsize::new(capacity.max(1)),
            tables: RwLock::new(Vec::new()),
            metrics,
        }
    }

    /// Has `table` (counted as `kind` in the eviction metric) forget evicted names.
    pub fn register(&self, kind: Table, table: Weak<dyn ForgetModel>) {
        self.tables.write().push((kind, table));
    }

    /// Changes the capacity (at least 1), evicting the oldest names beyond it at once.
    pub fn set_capacity(&self, capacity: usize) {
        let mut names = self.names.lock();
        self.capacity.store(capacity.max(1), Ordering::Relaxed);
        self.evict_beyond_capacity(&mut names);
    }

    /// How many names are tracked.
    pub fn len(&self) -> usize {
        self.names.lock().len()
    }

    /// Whether no name is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `model` is tracked now.
    pub fn contains(&self, model: &str) -> bool {
        self.names.lock().get(model).is_some()
    }

    /// Tracks `model` as the most recently used name (evicting the oldest beyond the capacity)
    /// and runs `create`, which adds the table's entry, while no other name can evict it.
    ///
    /// Lock order: this set's lock, then the tables' own locks; a table must not call this
    /// while holding a lock that [`ForgetModel::forget`] takes.
    pub fn admit<R>(&self, model: &str, create: impl FnOnce() -> R) -> R {
        let mut names = self.names.lock();
        if !names.touch(model) {
            names.insert(model, ());
            self.evict_beyond_capacity(&mut names);
        }
        create()
    }

    fn evict_beyond_capacity(&self, names: &mut Lru<()>) {
        let capacity = self.capacity.load(Ordering::Relaxed);
        while names.len() > capacity {
            let Some((oldest, ())) = names.pop_oldest() else {
                break;
            };
            for (kind, table) in self.tables.read().iter() {
                if let Some(table) = table.upgrade() {
                    self.metrics.record_evictions(*kind, table.forget(&oldest));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[derive(Default)]
    struct Names(Mutex<Vec<String>>);

    impl ForgetModel for Names {
        fn forget(&self, model: &str) -> u64 {
            let mut names = self.0.lock();
            let before = names.len();
            names.retain(|n| n != model);
            (before - names.len()) as u64
        }
    }

    #[test]
    fn the_least_recently_used_name_is_forgotten_everywhere() {
        let metrics = Arc::new(Metrics::default());
        let tracked = TrackedModels::new(2, metrics.clone());
        let table = Arc::new(Names::default());
        let weak: Weak<dyn ForgetModel> = Arc::downgrade(&table) as Weak<dyn ForgetModel>;
        tracked.register(Table::ModelStates, weak);
        for name in ["a", "b", "a", "c"] {
            tracked.admit(name, || table.0.lock().push(name.to_owned()));
        }
        assert!(tracked.contains("a") && tracked.contains("c"));
        assert!(!tracked.contains("b"), "b was used least recently");
        assert_eq!(*table.0.lock(), ["a", "a", "c"]);
        assert_eq!(metrics.evictions(Table::ModelStates), 1);
        tracked.set_capacity(0);
        assert_eq!(tracked.len(), 1, "the capacity is at least 1");
        assert_eq!(*table.0.lock(), ["c"]);
        assert_eq!(metrics.evictions(Table::ModelStates), 3);
    }
}
