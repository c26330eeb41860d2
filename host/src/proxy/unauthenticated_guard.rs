//! The checks a proxy without client authentication makes instead: a web page in the user's
//! browser must not be able to spend the credentials (DNS rebinding, cross-site requests).
//!
//! With an empty access chain the listener is loopback-only (or `allow-unauthenticated` is
//! set). On loopback a request's `Host` (port ignored) must be `localhost`, `127.0.0.1`,
//! `[::1]` or the configured host, so a rebound DNS name cannot reach it; and a request that
//! carries an `Origin` must come from an origin in `cors.allow-origins`. With
//! `allow-unauthenticated: true` only the `Origin` rule applies.

use http::{HeaderMap, Uri, header};

use super::error::ProxyError;
use crate::config::Config;

/// Refuses what an unauthenticated proxy must not serve.
pub(crate) fn check(config: &Config, uri: &Uri, headers: &HeaderMap) -> Result<(), ProxyError> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let allowed = origin.to_str().is_ok_and(|o| config.cors.allows(o));
        if !allowed {
            return Err(ProxyError::Forbidden {
                code: "origin_not_allowed",
                message: "this origin may not call a proxy without client authentication; \
                          list it in cors.allow-origins"
                    .to_owned(),
            });
        }
    }
    if config.allow_unauthenticated {
        return Ok(());
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .unwrap_or_default();
    if is_local_host(host, &config.host) {
        return Ok(());
    }
    Err(ProxyError::Forbidden {
        code: "host_not_allowed",
        message: "a proxy without client authentication answers only to localhost, \
                  127.0.0.1, [::1] or its configured host"
            .to_owned(),
    })
}

/// Whether the `Host` value `authority` (with or without a port) names this machine.
fn is_local_host(authority: &str, configured: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    let configured = configured.trim_start_matches('[').trim_end_matches(']');
    ["localhost", "127.0.0.1", "::1"]
        .iter()
        .any(|name| host.eq_ignore_ascii_case(name))
        || (!configured.is_empty() && host.eq_ignore_ascii_case(configured))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_names_with_or_without_ports() {
        for host in [
            "localhost",
            "LOCALHOST:8317",
            "127.0.0.1",
            "127.0.0.1:1",
            "[::1]",
            "[::1]:8317",
        ] {
            assert!(is_local_host(host, "127.0.0.1"), "{host}");
        }
        for host in [
            "",
            "evil.example",
            "evil.example:8317",
            "127.0.0.1.evil.example",
            "[::2]:1",
            "localhost.evil",
        ] {
            assert!(!is_local_host(host, "127.0.0.1"), "{host}");
        }
        assert!(is_local_host("127.0.0.2:80", "127.0.0.2"));
        assert!(is_local_host("box.local", "box.local"));
    }
}
