//! What lives for the whole process, across config generations: the current generation, the
//! clock, credential states, round-robin cursors and the upstream connection pools.

use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::watch;

use crate::clock::Clock;
use crate::credential::selector::RoundRobinCursors;
use crate::credential::state::StateTable;
use crate::generation::Generation;
use crate::proxy::client_pool::ClientPool;

/// The process-wide state of one server.
#[derive(Debug)]
pub struct Runtime {
    generation: ArcSwap<Generation>,
    generation_number: watch::Sender<u64>,
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// Cooldowns and counters per credential.
    pub states: StateTable,
    /// Round-robin positions.
    pub cursors: Arc<RoundRobinCursors>,
    /// Outbound HTTP clients.
    pub clients: ClientPool,
}

impl Runtime {
    /// A runtime serving an empty generation (number 0) until the first [`Runtime::swap`].
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Runtime {
            generation: ArcSwap::from_pointee(Generation::empty()),
            generation_number: watch::channel(0).0,
            clock,
            states: StateTable::default(),
            cursors: Arc::default(),
            clients: ClientPool::default(),
        }
    }

    /// The current generation; a request keeps the one it took until it ends.
    pub fn generation(&self) -> Arc<Generation> {
        self.generation.load_full()
    }

    /// Installs `next` and returns its number. The previous generation's selector is stopped;
    /// requests that hold it finish on it.
    pub fn swap(&self, mut next: Generation) -> u64 {
        let number = *self.generation_number.borrow() + 1;
        next.number = number;
        let previous = self.generation.swap(Arc::new(next));
        let current = self.generation.load();
        if !Arc::ptr_eq(&previous.selector, &current.selector) {
            previous.selector.stop();
        }
        self.generation_number.send_replace(number);
        number
    }

    /// Watches the generation number (1 for the first config, +1 per applied reload).
    pub fn generation_numbers(&self) -> watch::Receiver<u64> {
        self.generation_number.subscribe()
    }
}
