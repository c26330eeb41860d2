//! The operator console: hand-written HTML, CSS and JavaScript (`host/console/`), embedded at
//! compile time and served at `/management.html` (the reference's path) and `/console/`.
//!
//! The page exists only where the management API does, for the clients it admits (a secret is
//! set; the client is local unless `allow-remote`), and `remote-management.disable-control-panel`
//! turns it off: otherwise 404, as for an unknown path. The page itself needs no key — its login
//! form asks for one and sends it to the API as `Authorization: Bearer`. Every answer carries a
//! strict Content-Security-Policy (no inline script or style, `connect-src 'self'`),
//! `X-Frame-Options: DENY` and `Referrer-Policy: no-referrer`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, StatusCode, header};

use super::{Management, client_of};

/// The page.
const INDEX: &str = include_str!("../../console/index.html");

/// A JavaScript module of the console, by file name.
macro_rules! script {
    ($name:literal) => {
        (
            $name,
            "text/javascript; charset=utf-8",
            include_str!(concat!("../../console/", $name)),
        )
    };
}

/// The console's files under `/console/`: name, content type, content.
const ASSETS: &[(&str, &str, &str)] = &[
    script!("console.js"),
    script!("api.js"),
    script!("dom.js"),
    script!("overview.js"),
    script!("chart.js"),
    script!("counted.js"),
    script!("credentials.js"),
    script!("sessions.js"),
    script!("plugins.js"),
    script!("config.js"),
    script!("usage.js"),
    (
        "console.css",
        "text/css; charset=utf-8",
        include_str!("../../console/console.css"),
    ),
];

/// The policy every console answer carries.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// The console routes (outside `/v0/management`, each behind [`admitted`]).
pub(crate) fn routes<S: Clone + Send + Sync + 'static>(management: Arc<Management>) -> Router<S> {
    Router::new()
        .route("/management.html", get(page))
        .route("/console/", get(page))
        .route("/console/{file}", get(asset))
        .with_state(management)
}

/// Whether the console exists for this request: the management API admits its client and
/// the control panel is not disabled.
fn admitted(management: &Management, request: &Request) -> bool {
    let config = management.runtime.generation().config.clone();
    !config.management.disable_control_panel
        && management
            .fingerprint(client_of(request, &config))
            .is_some()
}

async fn page(State(management): State<Arc<Management>>, request: Request) -> Response {
    if !admitted(&management, &request) {
        return StatusCode::NOT_FOUND.into_response();
    }
    with_policy("text/html; charset=utf-8", INDEX)
}

async fn asset(
    State(management): State<Arc<Management>>,
    Path(file): Path<String>,
    request: Request,
) -> Response {
    if !admitted(&management, &request) {
        return StatusCode::NOT_FOUND.into_response();
    }
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, content)) => with_policy(content_type, content),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `content` with its type and the console's security headers.
fn with_policy(content_type: &'static str, content: &'static str) -> Response {
    let mut response = content.into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}
