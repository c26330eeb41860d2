//! Token credentials: what a request on an OAuth 2 client-credentials credential costs against
//! the same request on an API key. One mock (its own process, with an OAuth client registered)
//! and one switchyard of its own (so the other scenarios' processes and numbers stay as they
//! were) with two `openai-compatibility` upstreams on that mock: one with an API key, one with
//! `oauth` client credentials, each reached through its own model alias. The three legs —
//! direct (the chat request to the mock), `api-key` and `token` (the same request through
//! switchyard) — are measured in the same interleaved rounds, as in the translated scenario.
//!
//! switchyard mints the token once (on the check before the rounds) and reuses it for every
//! request, as tokens live an hour on the mock: the figures are the steady-state cost of a
//! request on a token credential, not of minting.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use switchyard_mock::CREDENTIAL_HEADER;

use super::interleaved::{self, Leg};
use super::{CLIENT_KEY, small_chat_request};
use crate::load::{self, Spec, Target};
use crate::processes::{self, Process};
use crate::report::Summary;

/// The upstream API key of the `api-key` leg.
const UPSTREAM_KEY: &str = "bench-upstream-key";
/// The OAuth client of the `token` leg, registered on the mock.
const CLIENT_ID: &str = "bench-oauth-client";
/// Its secret.
const CLIENT_SECRET: &str = "bench-oauth-secret";
/// The model id of [`small_chat_request`], which both aliases name upstream.
const UPSTREAM_MODEL: &str = "claude-sonnet-4";
/// The alias that reaches only the API-key upstream.
const API_KEY_ALIAS: &str = "api-key-sonnet";
/// The alias that reaches only the token upstream.
const TOKEN_ALIAS: &str = "token-sonnet";

/// switchyard's config for this scenario: the client key and session affinity as in the
/// shared config, `passthrough-headers` so the mock's `x-mock-credential` reaches the check
/// (both legs pay for it alike), and the two upstreams on `mock`.
fn config_yaml(mock: &str) -> String {
    format!(
        "host: 127.0.0.1\nport: 0\napi-keys: [{CLIENT_KEY}]\npassthrough-headers: true\n\
         routing:\n  session-affinity: true\n\
         openai-compatibility:\n\
         \x20 - name: bench-api-key\n    base-url: {mock}/v1\n\
         \x20   api-key-entries:\n      - api-key: {UPSTREAM_KEY}\n\
         \x20   models:\n      - name: {UPSTREAM_MODEL}\n        alias: {API_KEY_ALIAS}\n\
         \x20 - name: bench-token\n    base-url: {mock}/v1\n\
         \x20   oauth:\n      token-url: {mock}/oauth/token\n      client-id: {CLIENT_ID}\n      client-secret: {CLIENT_SECRET}\n\
         \x20   models:\n      - name: {UPSTREAM_MODEL}\n        alias: {TOKEN_ALIAS}\n"
    )
}

/// [`small_chat_request`] asking for `alias` instead of its model; otherwise the same bytes,
/// so switchyard sends the mock what the direct leg sends it.
fn chat_request_for(alias: &str) -> Result<Spec> {
    let spec = small_chat_request();
    let text = std::str::from_utf8(&spec.body)?;
    let model = format!(r#""model":"{UPSTREAM_MODEL}""#);
    if text.matches(&model).count() != 1 {
        bail!("the small chat request does not name {UPSTREAM_MODEL} once");
    }
    let body = text.replace(&model, &format!(r#""model":"{alias}""#));
    Ok(Spec {
        path: spec.path,
        body: Bytes::from(body),
    })
}

/// switchyard with the client key, under `name`.
fn switchyard_target(name: &'static str, switchyard: &Process) -> Target {
    Target {
        name,
        addr: switchyard.addr,
        headers: vec![(
            HeaderName::from_static("x-api-key"),
            HeaderValue::from_static(CLIENT_KEY),
        )],
    }
}

/// The legs in measuring order: direct, api-key, token.
fn legs<'a>(mock: &'a Process, switchyard: &'a Process) -> Result<[Leg<'a>; 3]> {
    Ok([
        Leg {
            target: Target {
                name: "direct",
                addr: mock.addr,
                headers: vec![(
                    http::header::AUTHORIZATION,
                    HeaderValue::from_str(&format!("Bearer {UPSTREAM_KEY}"))?,
                )],
            },
            spec: small_chat_request(),
            process: mock,
        },
        Leg {
            target: switchyard_target("api-key", switchyard),
            spec: chat_request_for(API_KEY_ALIAS)?,
            process: switchyard,
        },
        Leg {
            target: switchyard_target("token", switchyard),
            spec: chat_request_for(TOKEN_ALIAS)?,
            process: switchyard,
        },
    ])
}

/// Fails unless `leg`'s request is answered by the mock as `credential` (its
/// `x-mock-credential`). The error never echoes a credential.
async fn check_credential(leg: &Leg<'_>, credential: &str, what: &str) -> Result<()> {
    let (headers, _) = load::answer(&leg.target, &leg.spec)
        .await
        .with_context(|| format!("the {} leg's check request", leg.target.name))?;
    match headers.get(CREDENTIAL_HEADER) {
        Some(value) if value == credential => Ok(()),
        Some(_) => bail!(
            "the {} leg was answered by another credential than {what}",
            leg.target.name
        ),
        None => bail!(
            "the {} leg's answer has no {CREDENTIAL_HEADER} header (is passthrough-headers on?)",
            leg.target.name
        ),
    }
}

/// Starts the mock and switchyard, checks that each leg reaches its own credential (the token
/// leg with a token granted to the OAuth client), then interleaves `rounds` latency rounds of
/// `requests` sequential requests and `rounds` throughput rounds of `seconds` at 64
/// connections over the three legs.
pub(crate) async fn run(
    bin: &Path,
    work: &Path,
    rounds: u32,
    requests: u32,
    seconds: Duration,
    summary: &mut Summary,
) -> Result<()> {
    let mock = processes::mock_with_oauth_client(bin, 20, 250, CLIENT_ID, CLIENT_SECRET)?;
    let config = work.join("token.yaml");
    std::fs::write(&config, config_yaml(&format!("http://{}", mock.addr)))?;
    let switchyard = processes::switchyard(bin, &config)?;
    let legs = legs(&mock, &switchyard)?;
    let [_, api_key, token] = &legs;
    check_credential(api_key, UPSTREAM_KEY, "the API key").await?;
    check_credential(token, CLIENT_ID, "a token of the OAuth client").await?;

    let measured = interleaved::measure("token", &legs, rounds, requests, seconds).await?;
    let (api_key, token) = (measured.added[1], measured.added[2]);
    (
        summary.token_api_key_added_latency_p50_us,
        summary.token_api_key_added_latency_p99_us,
    ) = (Some(api_key.0), Some(api_key.1));
    (
        summary.token_added_latency_p50_us,
        summary.token_added_latency_p99_us,
    ) = (Some(token.0), Some(token.1));
    let (api_key, token) = (measured.throughput[1], measured.throughput[2]);
    (
        summary.rps_token_api_key,
        summary.cpu_us_per_request_token_api_key,
    ) = (Some(api_key.0), Some(api_key.1));
    (summary.rps_token, summary.cpu_us_per_request_token) = (Some(token.0), Some(token.1));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_alias_request_differs_from_the_small_chat_request_only_in_its_model() {
        let direct = small_chat_request();
        for alias in [API_KEY_ALIAS, TOKEN_ALIAS] {
            let spec = chat_request_for(alias).unwrap();
            assert_eq!(spec.path, direct.path);
            let body = std::str::from_utf8(&spec.body).unwrap();
            let original = std::str::from_utf8(&direct.body).unwrap();
            assert_eq!(
                body.replace(alias, UPSTREAM_MODEL),
                original,
                "only the model changes"
            );
            let json: serde_json::Value = serde_json::from_slice(&spec.body).unwrap();
            assert_eq!(json["model"], alias);
        }
    }

    #[test]
    fn the_config_gives_each_alias_its_own_credential() {
        let yaml = config_yaml("http://127.0.0.1:9");
        let config: serde_json::Value = serde_yaml_ng::from_str(&yaml).unwrap();
        assert_eq!(config["passthrough-headers"], true);
        assert_eq!(config["api-keys"][0], CLIENT_KEY);
        let upstreams = config["openai-compatibility"].as_array().unwrap();
        assert_eq!(upstreams.len(), 2);
        let models = |upstream: &serde_json::Value| serde_json::json!([{ "name": UPSTREAM_MODEL, "alias": upstream["models"][0]["alias"] }]);
        let (api_key, token) = (&upstreams[0], &upstreams[1]);
        for upstream in upstreams {
            assert_eq!(upstream["base-url"], "http://127.0.0.1:9/v1");
            assert_eq!(upstream["models"], models(upstream));
        }
        assert_eq!(api_key["models"][0]["alias"], API_KEY_ALIAS);
        assert_eq!(
            api_key["api-key-entries"],
            serde_json::json!([{ "api-key": UPSTREAM_KEY }])
        );
        assert!(api_key.get("oauth").is_none());
        assert_eq!(token["models"][0]["alias"], TOKEN_ALIAS);
        assert_eq!(
            token["oauth"],
            serde_json::json!({
                "token-url": "http://127.0.0.1:9/oauth/token",
                "client-id": CLIENT_ID,
                "client-secret": CLIENT_SECRET,
            })
        );
        assert!(token.get("api-key-entries").is_none());
    }
}
