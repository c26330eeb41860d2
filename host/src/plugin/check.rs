//! Trying a plugin out once, as `switchyard plugin check` does: configure an instance, make
//! one call, time it.

use std::time::Duration;

use super::{Fault, Plugin, PluginError, PluginHost, RequestHead};
use crate::access::{Outcome, WasmProvider};
use crate::config::{PluginInstanceConfig, PluginLimits};
use crate::session::{SessionIds, WasmExtractor};

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
    /// How long the call took (into a configured live instance).
    pub call_time: Duration,
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
        };
        match plugin.world() {
            super::PluginWorld::AccessProvider => {
                let provider =
                    WasmProvider::new(self.access_instance(plugin, &config, &trial.limits).await?);
                let started = std::time::Instant::now();
                let outcome = provider.call(&trial.head).await;
                let call_time = started.elapsed();
                Ok(TrialReport {
                    answer: TrialAnswer::Access(outcome.map_err(TrialError::Fault)?),
                    call_time,
                })
            }
            super::PluginWorld::SessionExtractor => {
                let extractor = WasmExtractor::new(
                    self.session_instance(plugin, &config, &trial.limits)
                        .await?,
                );
                let body = plugin
                    .needs_body()
                    .then(|| trial.body.as_deref().unwrap_or_default());
                let started = std::time::Instant::now();
                let found = extractor.call(&trial.head, body).await;
                let call_time = started.elapsed();
                Ok(TrialReport {
                    answer: TrialAnswer::Session(found.map_err(TrialError::Fault)?),
                    call_time,
                })
            }
        }
    }
}
