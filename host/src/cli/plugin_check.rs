//! Trying a plugin out, as `switchyard plugin check` does: configure an instance, make one
//! call (or several), and report what it answered and what it cost (start time, call times,
//! memory).

use std::time::{Duration, Instant};

use crate::access::{Outcome, Provider, WasmProvider};
use crate::config::{PluginInstanceConfig, PluginLimits};
use crate::plugin::{Fault, Plugin, PluginError, PluginHost, RequestHead};
use crate::session::{Extractor, SessionIds, WasmExtractor};

/// One trial: the settings for `configure` and the sample request.
#[derive(Debug, Clone)]
pub struct Trial {
    /// Settings handed to `configure` (an object; `{}` for none).
    pub settings: serde_json::Value,
    /// The sample request's head.
    pub head: RequestHead,
    /// The sample request's body, for a session extractor that wants it (empty when `None`).
    pub body: Option<Vec<u8>>,
    /// The deadline and memory cap of the calls.
    pub limits: PluginLimits,
    /// How many times to make the call (at least once); the answer is the first call's.
    pub calls: u32,
}

/// What the plugin answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrialAnswer {
    /// An access provider's outcome.
    Access(Outcome),
    /// A session extractor's result.
    Session(Option<SessionIds>),
}

/// The result of a trial.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TrialReport {
    /// The answer.
    pub answer: TrialAnswer,
    /// How long the first call took (into a configured live instance).
    pub call_time: Duration,
    /// How long each call took, in order (the first is `call_time`).
    pub call_times: Vec<Duration>,
    /// How long creating the configured instance took: instantiating the component and
    /// applying the settings (what a new live instance costs).
    pub start_time: Duration,
    /// The largest linear memory of the live instance, in bytes (see
    /// [`crate::plugin::InstanceStats::memory_bytes`]).
    pub memory_bytes: u64,
}

/// Why a trial did not produce an answer.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TrialError {
    /// `configure` rejected the settings.
    #[error("rejected its settings: {0}")]
    Rejected(String),
    /// The instance could not be started or configured (a trap, the deadline, the memory cap).
    #[error("could not start an instance: {0}")]
    Start(String),
    /// The call faulted.
    #[error("the call faulted: {0}")]
    Fault(Fault),
}

impl TrialError {
    /// The exit code of `switchyard plugin check`: 2 for rejected settings, 3 for a fault.
    pub fn exit_code(&self) -> u8 {
        match self {
            TrialError::Rejected(_) => 2,
            TrialError::Start(_) | TrialError::Fault(_) => 3,
        }
    }
}

impl From<PluginError> for TrialError {
    fn from(error: PluginError) -> TrialError {
        match error {
            PluginError::Rejected(message) => TrialError::Rejected(message),
            other => TrialError::Start(other.to_string()),
        }
    }
}

impl PluginHost {
    /// Configures an instance of `plugin` with the trial's settings and makes one call with
    /// its request, as the proxy would (only the header fields the plugin declares):
    /// `authenticate` for an access provider, `extract` for a session extractor.
    pub async fn trial(&self, plugin: &Plugin, trial: &Trial) -> Result<TrialReport, TrialError> {
        let config = PluginInstanceConfig {
            name: "check".to_owned(),
            kind: plugin.name().to_owned(),
            settings: trial.settings.clone(),
            limits: Some(trial.limits),
            on_fault: crate::config::OnFault::Deny,
        };
        let calls = trial.calls.max(1);
        let mut call_times = Vec::with_capacity(calls as usize);
        let started = Instant::now();
        let (answer, start_time, stats) = match plugin.world() {
            crate::plugin::PluginWorld::AccessProvider => {
                let provider =
                    WasmProvider::new(self.instance(plugin, &config, &trial.limits).await?);
                let start_time = started.elapsed();
                let mut first = None;
                for _ in 0..calls {
                    let started = Instant::now();
                    let outcome = provider.call(&trial.head).await;
                    call_times.push(started.elapsed());
                    let outcome = outcome.map_err(TrialError::Fault)?;
                    first.get_or_insert(outcome);
                }
                let answer = TrialAnswer::Access(first.expect("one call"));
                (answer, start_time, provider.stats())
            }
            crate::plugin::PluginWorld::SessionExtractor => {
                let extractor =
                    WasmExtractor::new(self.instance(plugin, &config, &trial.limits).await?);
                let start_time = started.elapsed();
                let body = plugin
                    .needs_body()
                    .then(|| trial.body.as_deref().unwrap_or_default());
                let mut first = None;
                for _ in 0..calls {
                    let started = Instant::now();
                    let found = extractor.call(&trial.head, body).await;
                    call_times.push(started.elapsed());
                    let found = found.map_err(TrialError::Fault)?;
                    first.get_or_insert(found);
                }
                let answer = TrialAnswer::Session(first.expect("one call"));
                (answer, start_time, extractor.stats())
            }
        };
        Ok(TrialReport {
            answer,
            call_time: call_times[0],
            call_times,
            start_time,
            memory_bytes: stats.map_or(0, |s| s.memory_bytes),
        })
    }
}
