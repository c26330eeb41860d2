//! The pick → attempt → fail over → retry loop.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use super::ctx::Ctx;
use super::error::ProxyError;
use super::outcome::AttemptOutcome;
use super::translated;
use super::upstream::{self, Answer, Call};
use super::upstream_error::{Retry, UpstreamError};
use crate::affinity::PickOutcome;
use crate::credential::availability::{self, Unavailable};
use crate::credential::candidate::Candidate;
use crate::credential::cooldown::Failure;
use crate::credential::selector::PickRequest;
use crate::generation::Generation;
use crate::model::registry::Resolved;

/// A successful upstream answer and the candidate that produced it.
#[derive(Debug)]
pub(crate) struct Dispatched {
    /// The upstream answer (status 2xx; for a stream, its first payload read).
    pub answer: Answer,
    /// The credential that answered.
    pub candidate: Candidate,
    /// How session affinity chose that credential.
    pub session: PickOutcome,
    /// For a stream: the attempt's outcome, reported when the relay ends (a non-stream's is
    /// reported already).
    pub stream_outcome: Option<AttemptOutcome>,
}

/// Why one run of the loop gave up.
enum Exhausted {
    /// Nothing could be tried: every candidate cooling, disabled or excluded.
    NothingToTry(ProxyError),
    /// Every attempt failed; `rerun`: the last failed so that a stream may run the loop again.
    Failed { error: ProxyError, rerun: bool },
    /// The request's own fault: no other credential, and no other run, would do better.
    Refused(ProxyError),
}

/// Runs `call` over the candidates of `resolved` until one succeeds, failing over on errors
/// and retrying rounds as `request-retry` / `max-retry-interval` allow.
///
/// A stream whose every attempt failed before its first byte with a status a retry may cure
/// (401, 402, 403, 408, 429, 5xx, or no answer) runs the whole loop again, up to
/// `streaming.bootstrap-retries` times; cooling credentials are still skipped.
/// When such a run finds nothing to try, a server error of the stream stands (the
/// reference's rule), anything else gives way to why nothing could be tried.
pub(crate) async fn dispatch(
    ctx: Ctx<'_>,
    resolved: &Resolved,
    call: &Call<'_>,
) -> Result<Dispatched, ProxyError> {
    let generation = ctx.generation;
    let max_retries = if call.stream {
        generation.config.streaming.bootstrap_retries
    } else {
        0
    };
    // One request may cool only so many credentials, over all runs.
    let mut cooled = 0u32;
    let mut retries = 0u32;
    let mut stream_error: Option<ProxyError> = None;
    loop {
        match run(ctx, resolved, call, &mut cooled).await {
            Ok(dispatched) => return Ok(dispatched),
            Err(Exhausted::Refused(error)) => return Err(error),
            Err(Exhausted::NothingToTry(error)) => {
                return Err(match stream_error {
                    Some(failed) if failed.status().is_server_error() => failed,
                    _ => error,
                });
            }
            Err(Exhausted::Failed { error, rerun }) => {
                if retries >= max_retries || !rerun {
                    return Err(error);
                }
                retries += 1;
                tracing::debug!(
                    retry = retries,
                    of = max_retries,
                    status = error.status().as_u16(),
                    "stream failed before its first byte: streaming.bootstrap-retries runs the loop again"
                );
                stream_error = Some(error);
            }
        }
    }
}

/// One run of the loop: pick, attempt, fail over, and retry rounds.
async fn run(
    ctx: Ctx<'_>,
    resolved: &Resolved,
    call: &Call<'_>,
    cooled: &mut u32,
) -> Result<Dispatched, Exhausted> {
    let Ctx {
        runtime,
        generation,
    } = ctx;
    let config = &generation.config;
    let pick = PickRequest {
        route_key: &resolved.route_key,
        provider: resolved.provider,
        model: resolved.model(),
    };
    let affinity = generation.affinity.as_deref().zip(call.session);
    // Affinity wraps this selector: what it may never choose is no candidate for either.
    let selector = &generation.selector;
    let max_credentials = config.retry.max_retry_credentials as usize;
    let max_cooldowns = config.retry.max_cooldowns_per_request;
    let mut round = 0u32;
    // Whether this run's latest failed attempt lets a stream run the loop again (`None`: no
    // attempt failed).
    let mut rerun: Option<bool> = None;
    loop {
        let mut tried: HashSet<&str> = HashSet::new();
        let mut last: Option<UpstreamError> = None;
        let mut pick_error: Option<Unavailable> = None;
        loop {
            if max_credentials > 0 && tried.len() >= max_credentials {
                break;
            }
            let now = runtime.clock.now();
            let available = match availability::available(
                &resolved.candidates,
                |c| tried.contains(c.credential.id.as_str()) || !selector.may_choose(c),
                now,
            ) {
                Ok(available) => available,
                Err(unavailable) => {
                    pick_error = Some(unavailable);
                    break;
                }
            };
            let (candidate, session) = match affinity {
                Some((affinity, session)) => affinity.pick(&pick, Some(session), &available).await,
                None => (selector.pick(&pick, &available), PickOutcome::NoSession),
            };
            tried.insert(candidate.credential.id.as_str());
            let outcome = AttemptOutcome::new(ctx, candidate, &pick, call.session);
            let client = call.endpoint.protocol();
            let target = candidate
                .credential
                .upstream_protocol(client, &candidate.upstream_model);
            let attempted = if target == client {
                upstream::attempt(ctx, candidate, call).await
            } else {
                translated::attempt(ctx, candidate, call, target).await
            };
            match attempted {
                Ok(answer) => {
                    // A stream succeeds when it completes; the relay reports that.
                    let stream_outcome = if call.stream {
                        Some(outcome)
                    } else {
                        outcome.succeeded().await;
                        None
                    };
                    return Ok(Dispatched {
                        answer,
                        candidate: candidate.clone(),
                        session,
                        stream_outcome,
                    });
                }
                Err(failed) => {
                    let Retry::OtherCredential(blame) = failed.retry else {
                        // The request's own fault: nothing cools, nothing fails over.
                        tracing::debug!(
                            credential = %candidate.credential.id,
                            status = failed.upstream_status(),
                            model = %candidate.upstream_model,
                            "upstream refused the request"
                        );
                        return Err(Exhausted::Refused(failed.into()));
                    };
                    // One request may cool only so many credentials; past that it still
                    // fails over but records no cooldown.
                    let capped = max_cooldowns > 0 && *cooled >= max_cooldowns;
                    if capped {
                        runtime.metrics.count_capped_cooldown();
                    }
                    tracing::warn!(
                        credential = %candidate.credential.id,
                        status = failed.upstream_status(),
                        blame = blame.as_str(),
                        model = %candidate.upstream_model,
                        "upstream attempt failed"
                    );
                    let failure = Failure {
                        blame,
                        status: failed.upstream_status(),
                        retry_after: failed.retry_after,
                    };
                    let blocked = outcome.failed(&failure, capped).await;
                    *cooled += u32::from(blocked.is_some());
                    rerun = Some(failed.may_rerun_stream());
                    last = Some(failed);
                }
            }
        }
        let now = runtime.clock.now();
        if let Some(wait) = retry_wait(generation, resolved, last.as_ref(), round, now) {
            tracing::debug!(wait_ms = wait.as_millis() as u64, round, "waiting to retry");
            tokio::time::sleep(wait).await;
            round += 1;
            continue;
        }
        let error = final_error(resolved, last, pick_error, now);
        return Err(match rerun {
            Some(rerun) => Exhausted::Failed { error, rerun },
            None => Exhausted::NothingToTry(error),
        });
    }
}

/// How long to wait before another round, if another round is allowed (reference
/// `should_retry`): the shortest cooldown among the blocked candidates that still have retry
/// budget, when it fits in `max-retry-interval`; else a 429's own `Retry-After`.
fn retry_wait(
    generation: &Generation,
    resolved: &Resolved,
    last: Option<&UpstreamError>,
    round: u32,
    now: SystemTime,
) -> Option<Duration> {
    let config = &generation.config;
    let interval = config.retry.max_retry_interval;
    if interval.is_zero() {
        return None;
    }
    let has_budget = |c: &Candidate| {
        round
            < c.credential
                .request_retry
                .unwrap_or(config.retry.request_retry)
    };
    let shortest = resolved
        .candidates
        .iter()
        .filter(|c| !c.credential.disabled && has_budget(c) && generation.selector.may_choose(c))
        .filter_map(|c| c.state.block(&c.upstream_model, now))
        .map(|block| block.until.duration_since(now).unwrap_or_default())
        .min();
    match shortest {
        Some(wait) if wait <= interval => Some(wait),
        Some(_) => None,
        None => {
            let failed = last?;
            let wait = failed.retry_after.filter(|w| !w.is_zero())?;
            (failed.upstream_status() == Some(429)
                && wait <= interval
                && resolved.candidates.iter().any(has_budget))
            .then_some(wait)
        }
    }
}

/// What the client gets when no attempt succeeded: the last upstream error unchanged (with
/// `Retry-After` when a cooldown says when to come back), else why nothing could be tried.
fn final_error(
    resolved: &Resolved,
    last: Option<UpstreamError>,
    pick_error: Option<Unavailable>,
    now: SystemTime,
) -> ProxyError {
    let remaining = |until: SystemTime| until.duration_since(now).unwrap_or_default();
    if let Some(mut failed) = last {
        if let Some(answer) = &mut failed.answer
            && !answer.headers.contains_key(http::header::RETRY_AFTER)
            && let Some(
                Unavailable::Cooldown { until } | Unavailable::Exhausted { until: Some(until) },
            ) = pick_error
        {
            let seconds = super::error::ceil_seconds(remaining(until));
            answer
                .headers
                .insert(http::header::RETRY_AFTER, seconds.into());
        }
        return failed.into();
    }
    match pick_error {
        Some(Unavailable::Cooldown { until }) => ProxyError::ModelCooldown {
            model: resolved.model().to_owned(),
            provider: resolved.provider.to_owned(),
            reset: remaining(until),
        },
        Some(Unavailable::Exhausted { until }) => ProxyError::NoCredentialAvailable {
            model: resolved.model().to_owned(),
            provider: resolved.provider.to_owned(),
            retry_after: until.map(remaining),
        },
        None => ProxyError::NoCredentialAvailable {
            model: resolved.model().to_owned(),
            provider: resolved.provider.to_owned(),
            retry_after: None,
        },
    }
}
