//! Why one upstream attempt failed: where it failed ([`UpstreamErrorKind`]), what trying again
//! may do about it ([`Retry`]), and the underlying error kept as its source.
//!
//! Whom a failure blames is decided by [`blame::classify`] alone; the retry class follows from
//! that blame ([`Retry::of`]), and whether a stream that failed before its first byte may be
//! bootstrapped again follows from the kind ([`UpstreamError::may_rerun_stream`]).

use std::error::Error;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use crate::credential::ProviderKind;
use crate::credential::blame::{self, Blame};

/// Any error kept as a cause.
pub(crate) type Cause = Box<dyn Error + Send + Sync>;

/// Where an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UpstreamErrorKind {
    /// No answer: the upstream could not be reached, or the request could not be built.
    Connect,
    /// No answer in time.
    Timeout(Phase),
    /// The stream broke, ended or grew an oversized event before its first payload.
    Stream,
    /// The upstream answered with an error status (or a stream opened with an error event).
    Status(StatusCode),
    /// A token credential had no valid token: nothing was sent.
    Token,
}

/// The part of an attempt that ran out of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Waiting for the response head (`upstream-timeouts.first-byte`).
    Head,
    /// Waiting for a stream's first payload (`upstream-timeouts.idle`).
    FirstPayload,
}

/// What trying again may do about a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Another credential may do better: fail over. This one cools as the blame says.
    OtherCredential(Blame),
    /// The request's own fault: no credential would do better. Nothing cools, nothing fails
    /// over, and the client gets the answer.
    Never,
}

impl Retry {
    /// The retry class of a failure that blames `blame`.
    pub(crate) fn of(blame: Blame) -> Retry {
        match blame {
            Blame::Request => Retry::Never,
            other => Retry::OtherCredential(other),
        }
    }
}

/// An upstream's error answer, passed to the client unchanged.
#[derive(Debug)]
pub(crate) struct ErrorAnswer {
    /// Headers to send (content type, `Retry-After`, pass-through headers).
    pub headers: Box<HeaderMap>,
    /// The upstream body.
    pub body: Bytes,
}

/// A failed attempt.
#[derive(Debug)]
pub(crate) struct UpstreamError {
    /// Where it failed.
    pub kind: UpstreamErrorKind,
    /// What trying again may do about it.
    pub retry: Retry,
    /// The upstream's `Retry-After`.
    pub retry_after: Option<Duration>,
    /// For [`UpstreamErrorKind::Status`]: the answer the client gets if this is the last
    /// attempt.
    pub answer: Option<ErrorAnswer>,
    /// What happened, when the cause does not say it.
    message: String,
    cause: Option<Cause>,
}

impl UpstreamError {
    /// No answer (`message` and, when there is one, the `cause`): a passing fault.
    pub(crate) fn connect(message: impl Into<String>, cause: Option<Cause>) -> Self {
        Self::transient(UpstreamErrorKind::Connect, message.into(), cause)
    }

    /// No answer within the time of `phase`: a passing fault.
    pub(crate) fn timeout(phase: Phase, message: impl Into<String>, cause: Option<Cause>) -> Self {
        Self::transient(UpstreamErrorKind::Timeout(phase), message.into(), cause)
    }

    /// A stream that failed before its first payload: a passing fault.
    pub(crate) fn stream(message: impl Into<String>, cause: Option<Cause>) -> Self {
        Self::transient(UpstreamErrorKind::Stream, message.into(), cause)
    }

    /// A token credential could not get a valid token (`message` says why): fail over, no
    /// cooldown (the token state blocks the credential). The client sees 503 if nothing else
    /// answers.
    pub(crate) fn token_unavailable(message: String) -> Self {
        UpstreamError {
            kind: UpstreamErrorKind::Token,
            retry: Retry::OtherCredential(Blame::Token),
            retry_after: None,
            answer: None,
            message,
            cause: None,
        }
    }

    /// An error answer of `provider`, blamed by [`blame::classify`].
    pub(crate) fn status(
        provider: ProviderKind,
        status: StatusCode,
        retry_after: Option<Duration>,
        headers: HeaderMap,
        body: Bytes,
    ) -> Self {
        UpstreamError {
            kind: UpstreamErrorKind::Status(status),
            retry: Retry::of(blame::classify(provider, Some(status.as_u16()), &body)),
            retry_after,
            answer: Some(ErrorAnswer {
                headers: Box::new(headers),
                body,
            }),
            message: String::new(),
            cause: None,
        }
    }

    /// A request switchyard refuses before any upstream sees it (it cannot be translated):
    /// the request's fault, answered with `status` and `body` (JSON).
    pub(crate) fn refused(status: StatusCode, body: Bytes) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        UpstreamError {
            kind: UpstreamErrorKind::Status(status),
            retry: Retry::Never,
            retry_after: None,
            answer: Some(ErrorAnswer {
                headers: Box::new(headers),
                body,
            }),
            message: String::new(),
            cause: None,
        }
    }

    fn transient(kind: UpstreamErrorKind, message: String, cause: Option<Cause>) -> Self {
        UpstreamError {
            kind,
            // No answer: whatever the provider, the blame of no status.
            retry: Retry::of(blame::classify(ProviderKind::Claude, None, &[])),
            retry_after: None,
            answer: None,
            message,
            cause,
        }
    }

    /// The upstream status; `None` when there was no answer.
    pub(crate) fn upstream_status(&self) -> Option<u16> {
        match self.kind {
            UpstreamErrorKind::Status(status) => Some(status.as_u16()),
            _ => None,
        }
    }

    /// The status the client gets: the upstream's, 504 for a timeout, else 502.
    pub(crate) fn client_status(&self) -> StatusCode {
        match self.kind {
            UpstreamErrorKind::Status(status) => status,
            UpstreamErrorKind::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            UpstreamErrorKind::Connect | UpstreamErrorKind::Stream => StatusCode::BAD_GATEWAY,
            UpstreamErrorKind::Token => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Whether a stream whose every attempt failed like this before its first byte may run the
    /// whole dispatch again (`streaming.bootstrap-retries`): no answer, 401, 402, 403, 408, 429
    /// or a server error.
    pub(crate) fn may_rerun_stream(&self) -> bool {
        match self.upstream_status() {
            None => true,
            Some(status) => matches!(status, 401..=403 | 408 | 429) || status >= 500,
        }
    }

    /// This error and its causes on one line (the URL never carries a secret).
    pub(crate) fn detail(&self) -> String {
        let mut text = self.to_string();
        let mut source = self.source();
        while let Some(inner) = source {
            text.push_str(": ");
            text.push_str(&inner.to_string());
            source = inner.source();
        }
        text
    }
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            UpstreamErrorKind::Connect => "upstream unreachable",
            UpstreamErrorKind::Timeout(_) => "upstream timed out",
            UpstreamErrorKind::Stream => "upstream stream failed",
            UpstreamErrorKind::Token => "no upstream token",
            UpstreamErrorKind::Status(status) => return write!(f, "upstream answered {status}"),
        };
        if self.message.is_empty() {
            f.write_str(what)
        } else {
            write!(f, "{what}: {}", self.message)
        }
    }
}

impl Error for UpstreamError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.cause
            .as_deref()
            .map(|cause| cause as &(dyn Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_class_follows_the_blame() {
        let refused = UpstreamError::status(
            ProviderKind::Claude,
            StatusCode::BAD_REQUEST,
            None,
            HeaderMap::new(),
            Bytes::from_static(br#"{"type":"error","error":{"type":"invalid_request_error"}}"#),
        );
        assert_eq!(refused.retry, Retry::Never);
        assert!(!refused.may_rerun_stream());
        let limited = UpstreamError::status(
            ProviderKind::Claude,
            StatusCode::TOO_MANY_REQUESTS,
            None,
            HeaderMap::new(),
            Bytes::new(),
        );
        assert_eq!(limited.retry, Retry::OtherCredential(Blame::Quota));
        assert!(limited.may_rerun_stream());
        let slow = UpstreamError::timeout(Phase::Head, "no response within 5 ms", None);
        assert_eq!(slow.retry, Retry::OtherCredential(Blame::Transient));
        assert_eq!(slow.client_status(), StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(slow.upstream_status(), None);
    }

    #[test]
    fn the_cause_is_kept_as_the_source() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let error = UpstreamError::connect("", Some(Box::new(io)));
        assert_eq!(error.to_string(), "upstream unreachable");
        assert_eq!(error.detail(), "upstream unreachable: refused");
        let io = error.source().unwrap().downcast_ref::<std::io::Error>();
        assert_eq!(io.unwrap().kind(), std::io::ErrorKind::ConnectionRefused);
    }
}
