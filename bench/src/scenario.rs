//! The measurements, one module each, and the processes they share.

pub(crate) mod cache_hits;
pub(crate) mod console;
pub(crate) mod interleaved;
pub(crate) mod latency;
pub(crate) mod micro;
pub(crate) mod session_store;
pub(crate) mod streams;
pub(crate) mod swap;
pub(crate) mod throughput;
pub(crate) mod token;
pub(crate) mod translated;

use std::path::Path;

use anyhow::Result;
use bytes::Bytes;
use http::{HeaderName, HeaderValue};

use crate::load::{Spec, Target};
use crate::processes::{self, Process};

/// The client key switchyard accepts.
pub(crate) const CLIENT_KEY: &str = "bench-client-key";
/// Upstream credentials switchyard spreads over.
pub(crate) const CREDENTIALS: usize = 8;

/// The mock, switchyard (default plugins, affinity on, 8 credentials) and nginx if present.
pub(crate) struct Setup {
    /// The mock upstream.
    pub mock: Process,
    /// switchyard.
    pub switchyard: Process,
    /// nginx in front of the mock.
    pub nginx: Option<Process>,
    /// A baseline switchyard build on the same config (`--baseline-bin`).
    pub baseline: Option<Process>,
}

impl Setup {
    /// Starts everything (and the `baseline` switchyard binary when given); the mock streams
    /// 20 chunks 250 ms apart unless asked otherwise.
    pub(crate) fn start(bin: &Path, work: &Path, baseline: Option<&Path>) -> Result<Setup> {
        let mock = processes::mock(bin, 20, 250)?;
        let config = work.join("config.yaml");
        std::fs::write(&config, config_yaml(&format!("http://{}", mock.addr), true))?;
        let switchyard = processes::switchyard(bin, &config)?;
        let nginx = processes::nginx(work, mock.addr)?;
        let baseline = baseline
            .map(|binary| processes::switchyard_binary(binary, &config))
            .transpose()?;
        Ok(Setup {
            mock,
            switchyard,
            nginx,
            baseline,
        })
    }

    /// The server process behind each of [`Setup::targets`], in the same order (the mock for
    /// `direct`).
    pub(crate) fn processes(&self) -> Vec<&Process> {
        let mut processes = vec![&self.mock, &self.switchyard];
        processes.extend(&self.nginx);
        processes.extend(&self.baseline);
        processes
    }

    /// switchyard with the client key, under `name` (for scenarios that pick their own
    /// request per target).
    pub(crate) fn switchyard_target(&self, name: &'static str) -> Target {
        Target {
            name,
            addr: self.switchyard.addr,
            headers: client_key(),
        }
    }

    /// The mock with the first credential's key, as `direct`.
    pub(crate) fn direct_target(&self) -> Target {
        Target {
            name: "direct",
            addr: self.mock.addr,
            headers: upstream_key(),
        }
    }

    /// The targets in measuring order: direct, switchyard, nginx, baseline (when present).
    pub(crate) fn targets(&self) -> Vec<Target> {
        let mut targets = vec![
            Target {
                name: "direct",
                addr: self.mock.addr,
                headers: upstream_key(),
            },
            Target {
                name: "switchyard",
                addr: self.switchyard.addr,
                headers: client_key(),
            },
        ];
        if let Some(nginx) = &self.nginx {
            targets.push(Target {
                name: "nginx",
                addr: nginx.addr,
                headers: upstream_key(),
            });
        }
        if let Some(baseline) = &self.baseline {
            targets.push(Target {
                name: "baseline",
                addr: baseline.addr,
                headers: client_key(),
            });
        }
        targets
    }
}

fn client_key() -> Vec<(HeaderName, HeaderValue)> {
    vec![(
        HeaderName::from_static("x-api-key"),
        HeaderValue::from_static(CLIENT_KEY),
    )]
}

fn upstream_key() -> Vec<(HeaderName, HeaderValue)> {
    vec![(
        HeaderName::from_static("x-api-key"),
        HeaderValue::from_static("cred-1"),
    )]
}

/// switchyard's config: the client key (the embedded config-api-key plugin), session affinity
/// (the embedded standard extractor) when `affinity`, 8 Claude credentials on the mock.
pub(crate) fn config_yaml(mock: &str, affinity: bool) -> String {
    let mut yaml = format!(
        "host: 127.0.0.1\nport: 0\napi-keys: [{CLIENT_KEY}]\nrouting:\n  session-affinity: {affinity}\nclaude-api-key:\n"
    );
    for n in 1..=CREDENTIALS {
        yaml.push_str(&format!("  - api-key: cred-{n}\n    base-url: {mock}\n"));
    }
    yaml
}

/// A small non-streaming Messages request.
pub(crate) fn small_request() -> Spec {
    Spec {
        path: "/v1/messages",
        body: Bytes::from_static(
            br#"{"model":"claude-sonnet-4","max_tokens":16,"messages":[{"role":"user","content":"Hello, how are you?"}]}"#,
        ),
    }
}

/// The request of [`small_request`] as an OpenAI chat completions client sends it, for the same
/// Claude model: switchyard translates it to a Messages request for the mock and the Messages
/// answer back to a chat completion.
pub(crate) fn small_chat_request() -> Spec {
    Spec {
        path: "/v1/chat/completions",
        body: Bytes::from_static(
            br#"{"model":"claude-sonnet-4","max_tokens":16,"messages":[{"role":"user","content":"Hello, how are you?"}]}"#,
        ),
    }
}
