//! The one `info` line every request gets when it ends, under the target
//! `switchyard::request` (so `RUST_LOG=switchyard::request=info` keeps just these).
//!
//! A proxied request's line is written by its usage meter when the response's last byte has
//! gone (or the client left): method, route, model, status, the credential that answered, how
//! session affinity chose it, and the latency to the last byte. Every other request (the
//! management API, model lists, a request the access check refused, an unknown route) gets a
//! shorter line from the request-id layer when its response head is ready. Both are inside the
//! request's span, so they carry its `request_id`.

use std::time::Duration;

use crate::affinity::PickOutcome;

/// The target of the summary lines.
pub(crate) const TARGET: &str = "switchyard::request";

/// Marks a response whose summary line the proxy's meter writes (so the request-id layer
/// writes none).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoggedByMeter;

/// What a proxied request's line says.
#[derive(Debug)]
pub(crate) struct ProxiedRequest<'a> {
    /// The proxy route (`/v1/messages`).
    pub route: &'a str,
    /// The model the client asked for (empty when it named none).
    pub model: &'a str,
    /// The status the client got (499 when it left first).
    pub status: u16,
    /// The credential that answered, if one did.
    pub credential: Option<&'a str>,
    /// How session affinity chose that credential, if one was chosen.
    pub session: Option<PickOutcome>,
    /// From arrival to the last byte.
    pub latency: Duration,
}

impl ProxiedRequest<'_> {
    /// Writes the line.
    pub(crate) fn log(&self) {
        tracing::info!(
            target: TARGET,
            method = "POST",
            route = self.route,
            model = or_dash(self.model),
            status = self.status,
            credential = self.credential.unwrap_or("-"),
            session = self.session.map_or("-", PickOutcome::as_str),
            latency_ms = self.latency.as_millis() as u64,
            "request finished"
        );
    }
}

/// Writes the line of a request the proxy's meter does not cover.
pub(crate) fn other_request(method: &str, path: &str, status: u16, latency: Duration) {
    tracing::info!(
        target: TARGET,
        method,
        route = path,
        status,
        latency_ms = latency.as_millis() as u64,
        "request finished"
    );
}

fn or_dash(text: &str) -> &str {
    if text.is_empty() { "-" } else { text }
}
