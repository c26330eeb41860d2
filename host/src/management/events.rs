//! `GET /events`: the live event stream (`text/event-stream`) of the process-wide
//! [`EventHub`](crate::events::EventHub): `usage`, `credential`, `plugin` and `reload` events,
//! each `event: <kind>` and `data: <one line of JSON>`, and a comment every
//! [`KEEPALIVE`] so proxies and browsers keep the connection. Events are written in batches:
//! those that arrive within [`BATCH_WINDOW`] of the first go out in one chunk.
//!
//! At most [`MAX_SUBSCRIBERS`](crate::events::MAX_SUBSCRIBERS) streams are open at once (more:
//! 429). A stream ends when its subscriber falls behind (the hub drops it), when the login it
//! was opened with is no longer valid — the management key rotated, or a reload turned the
//! management API off or closed it to this client (checked after every reload) — and at
//! shutdown.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use http::{HeaderValue, header};
use tokio::sync::watch;

use super::{Management, ManagementError, client_of};
use crate::client_address::ClientAddress;
use crate::events::{Event, Subscription};
use crate::runtime::ReloadStatus;

/// How often a quiet stream sends a comment.
pub(crate) const KEEPALIVE: Duration = Duration::from_secs(15);

/// The first bytes of a stream: the subscription is in place.
const OPENED: &[u8] = b": connected\n\n";

/// How long a stream gathers events after the first before writing them in one chunk (less
/// when its buffer is half full): at 1,000 events a second, 20 writes instead of 1,000.
pub(crate) const BATCH_WINDOW: Duration = Duration::from_millis(50);

/// The keepalive comment.
const KEEPALIVE_COMMENT: &[u8] = b": keepalive\n\n";

/// The events route.
pub(crate) fn routes() -> Router<Arc<Management>> {
    Router::new().route("/events", get(open))
}

/// `GET /events` (the gate already let the request through).
async fn open(State(management): State<Arc<Management>>, request: Request) -> Response {
    let client = client_of(&request, &management.runtime.generation().config);
    let Some(login) = management.fingerprint(client) else {
        return ManagementError::Disabled.into_response();
    };
    let subscription = match management.runtime.events.subscribe() {
        Ok(subscription) => subscription,
        Err(_) => return ManagementError::TooManyStreams.into_response(),
    };
    let stream = EventStream {
        reloads: management.runtime.reload_status(),
        management,
        client,
        login,
        subscription,
        opened: false,
    };
    let body = futures_util::stream::unfold(stream, |mut stream| async move {
        let chunk = stream.next_chunk().await?;
        Some((Ok::<_, std::convert::Infallible>(chunk), stream))
    });
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Tells nginx-like proxies not to buffer the stream.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// One open stream.
struct EventStream {
    management: Arc<Management>,
    client: ClientAddress,
    /// What the login depended on when the stream opened.
    login: [u8; 32],
    subscription: Subscription,
    reloads: watch::Receiver<ReloadStatus>,
    opened: bool,
}

impl EventStream {
    /// The next bytes to send; `None` ends the stream.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        if !self.opened {
            self.opened = true;
            return Some(Bytes::from_static(OPENED));
        }
        let keepalive = tokio::time::sleep(self.management.event_keepalive());
        tokio::pin!(keepalive);
        let mut watch_reloads = true;
        loop {
            tokio::select! {
                // `next` is cancel-safe; the gathering after it runs outside the select.
                event = self.subscription.next() => {
                    let batch = self.subscription.gather(event?, BATCH_WINDOW).await?;
                    return Some(frames(&batch));
                }
                changed = self.reloads.changed(), if watch_reloads => match changed {
                    Ok(()) if self.revoked() => return None,
                    Ok(()) => {}
                    Err(_) => watch_reloads = false,
                },
                () = &mut keepalive => return Some(Bytes::from_static(KEEPALIVE_COMMENT)),
            }
        }
    }

    /// Whether the login this stream was opened with is no longer valid (counted).
    fn revoked(&self) -> bool {
        if self.management.fingerprint(self.client) == Some(self.login) {
            return false;
        }
        self.management.runtime.events.count_revoked();
        tracing::info!(ip = %self.client.ip, "event stream ended: the management key or settings changed");
        true
    }
}

/// Events as SSE bytes, one write for all of them.
fn frames(events: &[Event]) -> Bytes {
    let size = events.iter().map(|e| e.data.len() + 24).sum();
    let mut text = String::with_capacity(size);
    for event in events {
        text.push_str("event: ");
        text.push_str(event.kind.name());
        text.push_str("\ndata: ");
        text.push_str(&event.data);
        text.push_str("\n\n");
    }
    Bytes::from(text)
}
