//! The access check in front of the proxy routes: the generation's access chain decides who may
//! call; the request then runs on that same generation to the end. Before it, the example-key
//! safe mode ([`example_key`]) may shut the proxy routes.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};

use super::{example_key, unauthenticated_guard};
use crate::access::RequestHead;
use crate::client_address;
use crate::generation::Generation;
use crate::runtime::Runtime;
use crate::server::RequestId;

/// Takes the current generation for the request, runs its access chain, and on success passes
/// the request on with the generation (`Arc<Generation>`) and the caller's
/// [`crate::access::Principal`] in its extensions. A refusal is answered here.
///
/// The [`RequestHead`] plugins see is built once, when the access chain or the session
/// extractors (session affinity on) need it, and passed on as `Arc<RequestHead>`. Handlers
/// take both as [`Admitted`].
pub(crate) async fn require_access(
    State(runtime): State<Arc<Runtime>>,
    mut request: Request,
    next: Next,
) -> Response {
    let generation = runtime.generation();
    if example_key::safe_mode(&runtime, &generation.config) {
        return example_key::refusal();
    }
    if generation.access.is_empty()
        && let Err(refused) =
            unauthenticated_guard::check(&generation.config, request.uri(), request.headers())
    {
        return refused.into_response();
    }
    let extracting = generation.affinity.is_some() && !generation.extractors.is_empty();
    if generation.access.is_empty() && !extracting {
        request
            .extensions_mut()
            .insert::<Arc<Generation>>(generation);
        return next.run(request).await;
    }
    // The client as every per-address rule sees it (resolved through `trusted-proxies`).
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| {
            client_address::resolve(
                addr.ip(),
                request.headers(),
                &generation.config.trusted_proxies,
            )
            .ip
        });
    let (parts, body) = request.into_parts();
    let head = Arc::new(RequestHead::from_http(&parts, client, runtime.clock.now()));
    request = Request::from_parts(parts, body);
    if !generation.access.is_empty() {
        match generation.access.authenticate(&head).await {
            Ok(Some(principal)) => {
                tracing::debug!(provider = %principal.provider, "access granted");
                request.extensions_mut().insert(principal);
            }
            Ok(None) => {}
            Err(error) => {
                let status = error.status();
                if status.is_server_error() {
                    // The span carries the request id the client sees in the body.
                    tracing::error!("access check failed: {error}");
                }
                let request_id = request
                    .extensions()
                    .get::<RequestId>()
                    .map(RequestId::as_str)
                    .unwrap_or_default();
                let mut response = (status, error.body(request_id)).into_response();
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                return response;
            }
        }
    }
    if extracting {
        request.extensions_mut().insert(head);
    }
    request
        .extensions_mut()
        .insert::<Arc<Generation>>(generation);
    next.run(request).await
}

/// What [`require_access`] passed on with an admitted request: the generation it runs on to the
/// end and, when plugins need it (session extraction), the request head built for them.
#[derive(Debug, Clone)]
pub(crate) struct Admitted {
    /// The request's generation.
    pub generation: Arc<Generation>,
    /// The head plugins see, built once by the gate; `None` when nothing needed it.
    pub head: Option<Arc<RequestHead>>,
    /// The request's `x-request-id`, named in error bodies whose details only the log has.
    pub request_id: Option<RequestId>,
}

impl<S: Send + Sync> FromRequestParts<S> for Admitted {
    type Rejection = StatusCode;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Admitted, StatusCode> {
        let generation = parts
            .extensions
            .get::<Arc<Generation>>()
            .cloned()
            .ok_or(StatusCode::INTERNAL_SERVER_ERROR)?;
        let head = parts.extensions.get::<Arc<RequestHead>>().cloned();
        let request_id = parts.extensions.get::<RequestId>().cloned();
        Ok(Admitted {
            generation,
            head,
            request_id,
        })
    }
}
