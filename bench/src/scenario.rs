//! The measurements, one module each, and the processes they share.

pub(crate) mod agent;
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
use crate::processes::{self, Nginx, Process};
use crate::variant::Variant;
use interleaved::Leg;

/// The client key switchyard accepts.
pub(crate) const CLIENT_KEY: &str = "bench-client-key";
/// Upstream credentials switchyard spreads over.
pub(crate) const CREDENTIALS: usize = 8;

/// The mock, switchyard (default plugins, affinity on, 8 credentials), nginx if present, and
/// the variants' switchyard processes.
pub(crate) struct Setup {
    /// The mock upstream.
    pub mock: Process,
    /// switchyard.
    pub switchyard: Process,
    /// nginx in front of the mock.
    pub nginx: Option<Nginx>,
    /// One switchyard per variant (`--baseline-bin`, `--other-runtime`), in their order.
    pub variants: Vec<(&'static str, Process)>,
}

/// What a target of the setup is, so a scenario knows where its figures go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The mock, called directly.
    Direct,
    /// A switchyard process: `None` the default one, `Some(i)` variant `i`.
    Switchyard(Option<usize>),
    /// nginx in front of the mock.
    Nginx,
}

/// Which of nginx's listeners a scenario measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NginxListener {
    /// nginx's default request buffering.
    Buffered,
    /// `proxy_request_buffering off`.
    Unbuffered,
}

impl Setup {
    /// Starts everything (one more switchyard per variant); the mock streams 20 chunks 250 ms
    /// apart unless asked otherwise.
    pub(crate) fn start(bin: &Path, work: &Path, variants: &[Variant]) -> Result<Setup> {
        let mock = processes::mock(bin, 20, 250)?;
        let shared = config_yaml(&format!("http://{}", mock.addr), true);
        let config = work.join("config.yaml");
        std::fs::write(&config, &shared)?;
        let switchyard = processes::switchyard(bin, &config)?;
        let nginx = processes::nginx(work, mock.addr)?;
        let mut started = Vec::with_capacity(variants.len());
        for (i, variant) in variants.iter().enumerate() {
            let config = work.join(format!("config-variant-{i}.yaml"));
            std::fs::write(&config, variant.config_yaml(&shared))?;
            let process = processes::switchyard_binary(&variant.binary_in(bin), &config)?;
            started.push((variant.name, process));
        }
        Ok(Setup {
            mock,
            switchyard,
            nginx,
            variants: started,
        })
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

    /// Every switchyard process (the default one, `None`, then variant `Some(i)`'s).
    pub(crate) fn switchyards(&self) -> Vec<(Option<usize>, Target, &Process)> {
        let mut all = vec![(None, self.switchyard_target("switchyard"), &self.switchyard)];
        for (i, (name, process)) in self.variants.iter().enumerate() {
            let target = Target {
                name,
                addr: process.addr,
                headers: client_key(),
            };
            all.push((Some(i), target, process));
        }
        all
    }

    /// `spec` sent to every target, in measuring order: direct, switchyard, nginx (on
    /// `listener`, when installed), then the variants.
    pub(crate) fn legs(&self, spec: &Spec, listener: NginxListener) -> Vec<(Role, Leg<'_>)> {
        let leg = |target: Target, process| Leg {
            target,
            spec: spec.clone(),
            process,
        };
        let mut switchyards = self
            .switchyards()
            .into_iter()
            .map(|(variant, target, process)| (Role::Switchyard(variant), leg(target, process)));
        let mut legs = vec![(Role::Direct, leg(self.direct_target(), &self.mock))];
        legs.extend(switchyards.next());
        if let Some(nginx) = &self.nginx {
            let (name, addr) = match listener {
                NginxListener::Buffered => ("nginx", nginx.process.addr),
                NginxListener::Unbuffered => ("nginx-unbuffered", nginx.unbuffered),
            };
            let target = Target {
                name,
                addr,
                headers: upstream_key(),
            };
            legs.push((Role::Nginx, leg(target, &nginx.process)));
        }
        legs.extend(switchyards);
        legs
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
