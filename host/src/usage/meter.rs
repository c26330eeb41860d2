//! Metering one proxied request from arrival to its last byte: the request counter and the
//! upstream latency for `/metrics`, the 15-minute history of `/v0/management/history`, and
//! (with `usage-statistics-enabled`) the usage record.
//!
//! A [`Meter`] is started when a request arrives and travels with it: into the response body
//! ([`Meter::body`] for a whole body, [`Meter::stream_observer`] for a relayed stream). The
//! record is made when the body ends; a request or body dropped before that (the client went
//! away) still makes one, marked failed.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use futures_util::future::BoxFuture;
use http::StatusCode;

use super::record::{Tokens, UsageRecord, fingerprint, rfc3339};
use super::tokens::{self, StreamScanner};
use super::{Caller, UsageHub};
use crate::affinity::PickOutcome;
use crate::clock::Clock;
use crate::credential::{Credential, Secret};
use crate::history::Sample;
use crate::metrics::Metrics;
use crate::model::tracked::Tracking;
use crate::proxy::ctx::Ctx;
use crate::proxy::endpoint::Endpoint;
use crate::proxy::stream_relay::{StreamEnd, StreamObserver};
use crate::server::request_log::ProxiedRequest;

/// The largest whole response body kept to read its usage block.
const MAX_COLLECTED: usize = 8 << 20;

/// The status recorded for a request whose client went away before the answer.
const CLIENT_CLOSED: u16 = 499;

/// One request's meter. Dropping it unfinished records a failed request.
#[derive(Debug, Default)]
pub(crate) struct Meter {
    inner: Option<Box<Inner>>,
}

#[derive(Debug)]
struct Inner {
    hub: Arc<UsageHub>,
    metrics: Arc<Metrics>,
    clock: Arc<dyn Clock>,
    /// Make a usage record (`usage-statistics-enabled` when the request arrived, or hooks
    /// installed).
    usage: bool,
    /// Add the record to the totals (`usage-statistics-enabled` when the request arrived).
    totals: bool,
    /// The embedding program's observers.
    hooks: Option<Arc<dyn crate::hooks::Hooks>>,
    /// Send it to the Redis-protocol feed as well.
    feed: bool,
    started: Instant,
    arrived: SystemTime,
    route: &'static str,
    caller: Caller,
    model: String,
    /// Whether a list names `model` (set once the model resolved).
    tracking: Tracking,
    provider: &'static str,
    served: Option<Arc<Credential>>,
    /// How long the upstream that answered took to answer.
    upstream_latency: Option<Duration>,
    /// How session affinity chose the credential that answered.
    session: Option<PickOutcome>,
    status: Option<u16>,
    /// The request's span: the summary line is written inside it, even from the body.
    span: tracing::Span,
}

impl Meter {
    /// Starts metering a request to `endpoint` in `ctx`.
    pub(crate) fn start(ctx: Ctx<'_>, endpoint: Endpoint, caller: Caller) -> Meter {
        let Ctx {
            runtime,
            generation,
        } = ctx;
        let config = &generation.config;
        let totals = config.usage_statistics_enabled;
        Meter {
            inner: Some(Box::new(Inner {
                hub: runtime.usage.clone(),
                metrics: runtime.metrics.clone(),
                clock: runtime.clock.clone(),
                usage: totals || runtime.hooks.is_some(),
                totals,
                hooks: runtime.hooks.clone(),
                feed: runtime.usage.feeds(config),
                started: Instant::now(),
                arrived: runtime.clock.now(),
                route: endpoint.route(),
                caller,
                model: String::new(),
                tracking: Tracking::Unlisted,
                provider: "",
                served: None,
                upstream_latency: None,
                session: None,
                status: None,
                span: tracing::Span::current(),
            })),
        }
    }

    /// Moves the meter out, leaving an inert one behind.
    pub(crate) fn take(&mut self) -> Meter {
        Meter {
            inner: self.inner.take(),
        }
    }

    /// The model the client asked for.
    pub(crate) fn model(&mut self, model: &str) {
        if let Some(inner) = &mut self.inner {
            inner.model = model.to_owned();
        }
    }

    /// Whether a list names the model the client asked for (see
    /// [`crate::model::registry::Resolved::tracking`]); unresolved names are not listed.
    pub(crate) fn tracking(&mut self, tracking: Tracking) {
        if let Some(inner) = &mut self.inner {
            inner.tracking = tracking;
        }
    }

    /// The provider the model resolved to.
    pub(crate) fn provider(&mut self, provider: &'static str) {
        if let Some(inner) = &mut self.inner {
            inner.provider = provider;
        }
    }

    /// The credential that answered, and how long the upstream took to answer.
    pub(crate) fn served(&mut self, credential: &Arc<Credential>, upstream_latency: Duration) {
        if let Some(inner) = &mut self.inner {
            inner
                .metrics
                .observe_upstream(credential.provider.as_str(), upstream_latency);
            inner.served = Some(credential.clone());
            inner.upstream_latency = Some(upstream_latency);
        }
    }

    /// How session affinity chose the credential that answered.
    pub(crate) fn session(&mut self, outcome: PickOutcome) {
        if let Some(inner) = &mut self.inner {
            inner.session = Some(outcome);
        }
    }

    /// The request ended with an error answer of `status`.
    pub(crate) fn failed(mut self, status: StatusCode) {
        if let Some(mut inner) = self.inner.take() {
            inner.respond(status.as_u16());
            (*inner).finish(None, true);
        }
    }

    /// The request is answered with `status` and the whole (non-streamed) `body`; the record is
    /// made when the body has been sent.
    pub(crate) fn body<S>(mut self, status: StatusCode, body: S) -> BodyTap<S> {
        let collect = match &mut self.inner {
            Some(inner) => {
                inner.respond(status.as_u16());
                inner.usage
            }
            None => false,
        };
        BodyTap {
            inner: body,
            collected: Vec::new(),
            len: 0,
            collect,
            meter: self,
        }
    }

    /// The request is answered with `status` and a relayed stream (`sse`: made of server-sent
    /// events); the record is made when the stream ends.
    pub(crate) fn stream_observer(
        mut self,
        status: StatusCode,
        sse: bool,
    ) -> Box<dyn StreamObserver> {
        let scanner = match &mut self.inner {
            Some(inner) => {
                inner.respond(status.as_u16());
                inner.usage.then(|| StreamScanner::new(sse))
            }
            None => None,
        };
        Box::new(UsageObserver {
            scanner,
            meter: self,
        })
    }

    fn finish(&mut self, tokens: Option<Tokens>, failed: bool) {
        if let Some(inner) = self.inner.take() {
            (*inner).finish(tokens, failed);
        }
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        self.finish(None, true);
    }
}

impl Inner {
    /// Counts the request once its status is known.
    fn respond(&mut self, status: u16) {
        if self.status.is_none() {
            self.status = Some(status);
            self.metrics.record_request(
                self.route,
                status,
                self.served.as_ref().map(|c| c.id.as_str()),
            );
        }
    }

    fn finish(mut self, tokens: Option<Tokens>, failed: bool) {
        if self.status.is_none() {
            self.respond(CLIENT_CLOSED);
        }
        let status = self.status.unwrap_or(CLIENT_CLOSED);
        let latency = self.started.elapsed();
        let failed = failed || status >= 400;
        let counted = tokens.unwrap_or_default();
        self.metrics.history.record(
            self.clock.now(),
            &Sample {
                latency,
                upstream: self.upstream_latency,
                failed,
                input_tokens: counted.input_tokens,
                output_tokens: counted.output_tokens,
            },
        );
        self.span.in_scope(|| {
            ProxiedRequest {
                route: self.route,
                model: &self.model,
                status,
                credential: self.served.as_ref().map(|c| c.id.as_str()),
                session: self.session,
                latency,
            }
            .log();
        });
        if !self.usage {
            return;
        }
        let unknown = |text: &str| {
            if text.is_empty() {
                "unknown".to_owned()
            } else {
                text.to_owned()
            }
        };
        let served = self.served.as_deref();
        let provider = served.map_or(self.provider, |c| c.provider.as_str());
        let record = UsageRecord {
            timestamp: rfc3339(self.arrived),
            latency_ms: latency.as_millis() as u64,
            source: unknown(served.map_or("", |c| c.label.as_str())),
            auth_index: served.map(|c| c.index.clone()).unwrap_or_default(),
            tokens: tokens.unwrap_or_default().with_total(),
            failed,
            provider: unknown(provider),
            model: unknown(&self.model),
            endpoint: format!("POST {}", self.route),
            auth_type: match served.map(|c| &c.secret) {
                Some(Secret::ApiKey(_)) => "apikey",
                Some(Secret::AccessToken(_) | Secret::Managed(_)) => "oauth",
                _ => "unknown",
            }
            .to_owned(),
            api_key: fingerprint(self.caller.principal.as_deref().unwrap_or_default()),
            request_id: self.caller.request_id_text(),
            credential: served.map(|c| c.id.to_string()).unwrap_or_default(),
            status,
        };
        if self.totals {
            self.hub
                .record(&record, self.tracking, self.feed, self.clock.now());
        }
        if let Some(hooks) = &self.hooks {
            hooks.request_result(&record);
        }
    }
}

/// A whole response body on its way to the client; reads its usage block at the end.
pub(crate) struct BodyTap<S> {
    inner: S,
    collected: Vec<Bytes>,
    len: usize,
    collect: bool,
    meter: Meter,
}

impl<S, E> Stream for BodyTap<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    type Item = Result<Bytes, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                if this.collect {
                    if this.len + chunk.len() <= MAX_COLLECTED {
                        this.len += chunk.len();
                        this.collected.push(chunk.clone());
                    } else {
                        this.collect = false;
                        this.collected = Vec::new();
                    }
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(error))) => {
                this.meter.finish(None, true);
                Poll::Ready(Some(Err(error)))
            }
            Poll::Ready(None) => {
                let tokens = if this.collect {
                    match this.collected.as_slice() {
                        [one] => tokens::from_body(one),
                        many => {
                            let mut all = BytesMut::with_capacity(this.len);
                            for chunk in many {
                                all.extend_from_slice(chunk);
                            }
                            tokens::from_body(&all)
                        }
                    }
                } else {
                    None
                };
                this.collected = Vec::new();
                this.meter.finish(tokens, false);
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Watches a relayed stream for its usage and finishes the meter when it ends.
struct UsageObserver {
    scanner: Option<StreamScanner>,
    meter: Meter,
}

impl StreamObserver for UsageObserver {
    fn chunk(&mut self, chunk: &Bytes) {
        if let Some(scanner) = &mut self.scanner {
            scanner.chunk(chunk);
        }
    }

    fn end(mut self: Box<Self>, end: &StreamEnd) -> Option<BoxFuture<'static, ()>> {
        let usage = self
            .scanner
            .take()
            .map(StreamScanner::finish)
            .unwrap_or_default();
        let failed = usage.error || matches!(end, StreamEnd::Failed(_));
        self.meter.finish(usage.tokens, failed);
        None
    }
}
