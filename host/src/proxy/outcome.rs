//! What one attempt's result teaches the routing, recorded in one place for streams and
//! non-streams alike: the credential's state (a success clears its cooldown, a failure may cool
//! it) and the session's binding (a success refreshes it, a failure removes it, each only while
//! the binding still points at that credential).
//!
//! The retry loop reports a non-stream's attempt as soon as its answer is in. A stream's
//! successful attempt is reported when the relay ends, together with its usage: completed is a
//! success, a failure after the first byte is a passing fault.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use super::ctx::Ctx;
use super::stream_relay::{StreamEnd, StreamObserver};
use crate::affinity::SessionAffinity;
use crate::clock::Clock;
use crate::credential::candidate::Candidate;
use crate::credential::cooldown::Failure;
use crate::credential::selector::PickRequest;
use crate::session::SessionIds;

/// The sink of one attempt's result on one credential.
#[derive(Debug)]
pub(crate) struct AttemptOutcome {
    candidate: Candidate,
    clock: Arc<dyn Clock>,
    /// `disable-cooling` of the generation the attempt ran in.
    disable_cooling: bool,
    /// The session binding to feed, while session affinity is on and the request has a session.
    binding: Option<Binding>,
}

/// A request's session binding: what [`SessionAffinity::feedback`] needs, owned so a stream's
/// outcome can outlive the retry loop.
#[derive(Debug)]
struct Binding {
    affinity: Arc<SessionAffinity>,
    session: SessionIds,
    route_key: String,
    provider: String,
    model: String,
}

impl AttemptOutcome {
    /// The sink for an attempt of `candidate` in `ctx`, picked for `pick` for a request of
    /// `session`.
    pub(crate) fn new(
        ctx: Ctx<'_>,
        candidate: &Candidate,
        pick: &PickRequest<'_>,
        session: Option<&SessionIds>,
    ) -> Self {
        let binding = ctx.generation.affinity.as_ref().zip(session);
        AttemptOutcome {
            candidate: candidate.clone(),
            clock: ctx.runtime.clock.clone(),
            disable_cooling: ctx.generation.config.disable_cooling,
            binding: binding.map(|(affinity, session)| Binding {
                affinity: affinity.clone(),
                session: session.clone(),
                route_key: pick.route_key.to_owned(),
                provider: pick.provider.to_owned(),
                model: pick.model.to_owned(),
            }),
        }
    }

    /// The attempt succeeded: the credential's cooldown for the model clears and the session
    /// binding is refreshed.
    pub(crate) async fn succeeded(self) {
        self.record_success();
        self.feedback(true).await;
    }

    /// The attempt failed with `failure`: the credential may cool (not when `capped`, the
    /// request having cooled as many credentials as it may) and the session binding is removed.
    /// Returns how long the credential now cools, if it does.
    pub(crate) async fn failed(
        self,
        failure: &Failure,
        capped: bool,
    ) -> Option<std::time::Duration> {
        let blocked = self.record_failure(failure, capped);
        self.feedback(false).await;
        blocked
    }

    /// A relayed stream ended: the credential's state is recorded at once, the returned future
    /// feeds the session binding.
    pub(crate) fn stream_ended(self, end: &StreamEnd) -> BoxFuture<'static, ()> {
        let success = match end {
            StreamEnd::Completed => {
                self.record_success();
                true
            }
            StreamEnd::Failed(_) => {
                self.record_failure(&Failure::transient(), false);
                false
            }
        };
        self.feedback(success).boxed()
    }

    fn record_success(&self) {
        let candidate = &self.candidate;
        candidate.state.record_success(&candidate.upstream_model);
    }

    fn record_failure(&self, failure: &Failure, capped: bool) -> Option<std::time::Duration> {
        let candidate = &self.candidate;
        let cooling_disabled =
            capped || candidate.credential.cooling_disabled(self.disable_cooling);
        candidate.state.record_failure(
            &candidate.upstream_model,
            candidate.tracking,
            failure,
            self.clock.now(),
            cooling_disabled,
        )
    }

    async fn feedback(self, success: bool) {
        let Some(binding) = self.binding else {
            return;
        };
        let pick = PickRequest {
            route_key: &binding.route_key,
            provider: &binding.provider,
            model: &binding.model,
        };
        binding
            .affinity
            .feedback(
                &pick,
                &binding.session,
                &self.candidate.credential.id,
                success,
            )
            .await;
    }
}

/// A relayed stream's outcome: its usage, then its attempt's result.
pub(crate) struct StreamOutcome {
    /// The usage meter's view of the stream.
    pub usage: Box<dyn StreamObserver>,
    /// The attempt that opened the stream.
    pub attempt: AttemptOutcome,
}

impl StreamObserver for StreamOutcome {
    fn chunk(&mut self, chunk: &Bytes) {
        self.usage.chunk(chunk);
    }

    fn end(self: Box<Self>, end: &StreamEnd) -> Option<BoxFuture<'static, ()>> {
        let StreamOutcome { usage, attempt } = *self;
        let usage_done = usage.end(end);
        let feedback = attempt.stream_ended(end);
        Some(match usage_done {
            Some(usage_done) => async move {
                usage_done.await;
                feedback.await;
            }
            .boxed(),
            None => feedback,
        })
    }
}
