//! Rotating over the available credentials of the highest priority tier.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use super::{Available, Candidate, PickRequest, Selector};

/// Cursors are reset before they reach this value (as the reference does).
const CURSOR_LIMIT: usize = 2_147_483_640;
/// At most this many cursors are kept; the map is cleared when a new key would exceed it.
const MAX_CURSORS: usize = 4096;

/// One cursor per `provider:model`, shared by successive selectors so a reload keeps the
/// rotation where it was.
#[derive(Debug, Default)]
pub struct RoundRobinCursors {
    cursors: Mutex<HashMap<String, usize>>,
}

impl RoundRobinCursors {
    /// The next position for `key`, advancing its cursor.
    fn next(&self, key: &str) -> usize {
        let mut cursors = self.cursors.lock();
        if let Some(cursor) = cursors.get_mut(key) {
            let position = *cursor;
            *cursor = if position + 1 >= CURSOR_LIMIT {
                0
            } else {
                position + 1
            };
            return position;
        }
        if cursors.len() >= MAX_CURSORS {
            cursors.clear();
        }
        cursors.insert(key.to_owned(), 1);
        0
    }
}

/// Rotates over the highest available priority tier (`round-robin`).
#[derive(Debug, Clone)]
pub struct RoundRobin {
    cursors: Arc<RoundRobinCursors>,
}

impl RoundRobin {
    /// A selector over shared cursors.
    pub fn new(cursors: Arc<RoundRobinCursors>) -> Self {
        RoundRobin { cursors }
    }
}

impl Selector for RoundRobin {
    fn pick<'c>(&self, request: &PickRequest<'_>, available: &Available<'c>) -> &'c Candidate {
        let tier = &available.top_tier;
        tier[self.cursors.next(request.route_key) % tier.len()]
    }
}
