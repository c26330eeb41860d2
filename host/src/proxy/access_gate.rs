//! The access check in front of the proxy routes: the generation's access chain decides who may
//! call; the request then runs on that same generation to the end.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};

use crate::access::RequestHead;
use crate::generation::Generation;
use crate::runtime::Runtime;

/// Takes the current generation for the request, runs its access chain, and on success passes
/// the request on with the generation (`Arc<Generation>`) and the caller's
/// [`crate::access::Principal`] in its extensions. A refusal is answered here.
pub async fn require_access(
    State(runtime): State<Arc<Runtime>>,
    mut request: Request,
    next: Next,
) -> Response {
    let generation = runtime.generation();
    if !generation.access.is_empty() {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let (parts, body) = request.into_parts();
        let head = RequestHead::from_http(&parts, peer, runtime.clock.now());
        request = Request::from_parts(parts, body);
        match generation.access.authenticate(&head).await {
            Ok(Some(principal)) => {
                tracing::debug!(provider = %principal.provider, "access granted");
                request.extensions_mut().insert(principal);
            }
            Ok(None) => {}
            Err(error) => {
                let status = error.status();
                if status.is_server_error() {
                    tracing::error!("access check failed: {error}");
                }
                let mut response = (status, error.body()).into_response();
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                return response;
            }
        }
    }
    request
        .extensions_mut()
        .insert::<Arc<Generation>>(generation);
    next.run(request).await
}
