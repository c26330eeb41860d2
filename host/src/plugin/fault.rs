//! What goes wrong inside a plugin call: a fault, as opposed to an answer.

use std::time::{Duration, SystemTime};

/// A plugin call that produced no answer. The live instance it ran in is discarded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Fault {
    /// The call ran past its deadline (`plugins.limits.deadline-ms`).
    #[error("deadline of {} ms exceeded", .0.as_millis())]
    Deadline(Duration),
    /// The plugin tried to grow its memory past the limit (`plugins.limits.memory-mib`).
    #[error("memory limit of {} MiB exceeded", .0 >> 20)]
    Memory(u64),
    /// The plugin trapped (a panic, an `unreachable`, an out-of-bounds access...).
    #[error("trap: {0}")]
    Trap(String),
    /// A fresh live instance could not be started or configured.
    #[error("could not start an instance: {0}")]
    Start(String),
    /// The instance faulted repeatedly and is skipped until the given time.
    #[error("quarantined after repeated faults")]
    Quarantined(SystemTime),
    /// All of the instance's `max-concurrency` call slots stayed busy for the whole deadline.
    /// The host's doing (load), not the plugin's: never counted towards a quarantine.
    #[error("all {0} call slots busy for the whole deadline")]
    Busy(usize),
}

impl Fault {
    /// Whether the plugin caused this fault (a trap, deadline or memory overflow), as opposed
    /// to the host (an instance that could not start, no free call slot) or a quarantine.
    /// Only these count towards a quarantine.
    pub fn caused_by_plugin(&self) -> bool {
        matches!(self, Fault::Deadline(_) | Fault::Memory(_) | Fault::Trap(_))
    }
}

impl Fault {
    /// Classifies an error returned by wasmtime for a call.
    pub(crate) fn from_call(
        error: &wasmtime::Error,
        memory_exceeded: bool,
        limits: &crate::config::PluginLimits,
    ) -> Fault {
        if memory_exceeded {
            return Fault::Memory(limits.memory_bytes);
        }
        match error.downcast_ref::<wasmtime::Trap>() {
            Some(wasmtime::Trap::Interrupt) => Fault::Deadline(limits.deadline),
            Some(trap) => Fault::Trap(trap.to_string()),
            None => Fault::Trap(error.root_cause().to_string()),
        }
    }
}
