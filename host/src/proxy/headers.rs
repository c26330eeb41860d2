//! Which headers cross the proxy (architecture: Headers that cross the proxy): an allowlist towards the upstream, so no client
//! credential, cookie or forwarding header ever leaves; a small set back to the client.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::credential::{Credential, ProviderKind, Secret};

/// Client headers forwarded upstream as they are.
const FORWARDED: &[&str] = &[
    "content-type",
    "accept",
    "user-agent",
    "anthropic-version",
    "anthropic-beta",
    "openai-beta",
    "idempotency-key",
];

/// The Anthropic API version sent when the client names none.
const DEFAULT_ANTHROPIC_VERSION: &str = "2023-06-01";

/// Upstream headers always returned to the client.
const ALWAYS_RETURNED: &[&str] = &["content-type", "content-encoding", "retry-after"];

/// Upstream headers never returned, even with `passthrough-headers` (hop-by-hop, framing, and
/// what the proxy sets itself).
const NEVER_RETURNED: &[&str] = &[
    "connection",
    "content-length",
    "transfer-encoding",
    "upgrade",
    "te",
    "trailer",
    "proxy-authenticate",
    "proxy-authorization",
    "keep-alive",
    "x-request-id",
];

/// Client headers forwarded upstream when the request is translated (the others belong to
/// the client's protocol).
const FORWARDED_TRANSLATED: &[&str] = &["user-agent", "idempotency-key"];

/// The headers of an upstream request: the allowlisted client headers (for a `translated`
/// request only the protocol-neutral ones), the credential's own authentication and its
/// configured `headers` (which win).
pub(crate) fn upstream_request_headers(
    client: &HeaderMap,
    credential: &Credential,
    translated: bool,
) -> HeaderMap {
    let mut out = HeaderMap::with_capacity(FORWARDED.len() + 4 + credential.headers.len());
    let forwarded = if translated {
        FORWARDED_TRANSLATED
    } else {
        FORWARDED
    };
    for name in forwarded {
        for value in client.get_all(*name) {
            out.append(HeaderName::from_static(name), value.clone());
        }
    }
    if !translated {
        for (name, value) in client {
            if name.as_str().starts_with("x-stainless-") {
                out.append(name.clone(), value.clone());
            }
        }
    }
    if !out.contains_key(header::CONTENT_TYPE) {
        out.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    if credential.provider == ProviderKind::Claude && !out.contains_key("anthropic-version") {
        out.insert(
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static(DEFAULT_ANTHROPIC_VERSION),
        );
    }
    if let Some((name, value)) = credential.auth_header.get(|| auth_header(credential)) {
        out.insert(name.clone(), value.clone());
    }
    for (name, value) in &credential.headers {
        out.insert(name.clone(), value.clone());
    }
    out
}

/// The header that authenticates `credential` upstream (kept per credential:
/// [`crate::credential::AuthHeaderCache`]).
fn auth_header(credential: &Credential) -> Option<(HeaderName, HeaderValue)> {
    let (name, text) = match (&credential.secret, credential.provider) {
        // A managed token is added when the request is sent ([`super::upstream::send`]).
        (Secret::None | Secret::Managed(_), _) => return None,
        (Secret::ApiKey(key), ProviderKind::Claude) => {
            (HeaderName::from_static("x-api-key"), key.clone())
        }
        (Secret::ApiKey(key), ProviderKind::Gemini | ProviderKind::Vertex) => {
            (HeaderName::from_static("x-goog-api-key"), key.clone())
        }
        (Secret::ApiKey(key) | Secret::AccessToken(key), _) => {
            (header::AUTHORIZATION, format!("Bearer {key}"))
        }
    };
    let mut value = HeaderValue::from_str(&text).ok()?;
    value.set_sensitive(true);
    Some((name, value))
}

/// The upstream response headers the client sees: content type and encoding and `Retry-After`
/// always; the other end-to-end headers only with `passthrough`.
pub(crate) fn client_response_headers(upstream: &HeaderMap, passthrough: bool) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in upstream {
        let keep = if passthrough {
            !NEVER_RETURNED.contains(&name.as_str())
        } else {
            ALWAYS_RETURNED.contains(&name.as_str())
        };
        if keep {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::testing::credential;

    fn client_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in [
            ("authorization", "Bearer client-key"),
            ("x-api-key", "client-key"),
            ("x-goog-api-key", "client-key"),
            ("cookie", "session=1"),
            ("x-forwarded-for", "10.0.0.1"),
            ("forwarded", "for=10.0.0.1"),
            ("connection", "keep-alive"),
            ("user-agent", "claude-cli/1.0"),
            ("anthropic-beta", "tools-2024"),
            ("x-stainless-lang", "js"),
            ("idempotency-key", "abc"),
            ("accept", "application/json"),
        ] {
            h.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        h
    }

    #[test]
    fn only_allowlisted_headers_and_the_credential_go_upstream() {
        let mut cred = credential("a", 0);
        cred.headers = vec![(
            HeaderName::from_static("x-custom"),
            HeaderValue::from_static("1"),
        )];
        let out = upstream_request_headers(&client_headers(), &cred, false);
        let mut names: Vec<_> = out.keys().map(|k| k.as_str()).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "accept",
                "anthropic-beta",
                "anthropic-version",
                "content-type",
                "idempotency-key",
                "user-agent",
                "x-api-key",
                "x-custom",
                "x-stainless-lang"
            ]
        );
        assert_eq!(out["x-api-key"], "key-a");
        assert_eq!(out["anthropic-version"], DEFAULT_ANTHROPIC_VERSION);
    }

    #[test]
    fn a_translated_request_forwards_only_protocol_neutral_headers() {
        let mut cred = credential("a", 0);
        cred.provider = ProviderKind::Gemini;
        let out = upstream_request_headers(&client_headers(), &cred, true);
        let mut names: Vec<_> = out.keys().map(|k| k.as_str()).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "content-type",
                "idempotency-key",
                "user-agent",
                "x-goog-api-key"
            ]
        );
        assert_eq!(out["content-type"], "application/json");
    }

    /// A fresh credential of `provider` with `secret` (the auth header is kept per credential,
    /// so each case needs its own).
    fn credential_of(provider: ProviderKind, secret: Secret) -> Credential {
        let mut cred = credential("a", 0);
        cred.provider = provider;
        cred.secret = secret;
        cred
    }

    #[test]
    fn auth_header_per_provider() {
        let key = || Secret::ApiKey("key-a".into());
        let gemini = credential_of(ProviderKind::Gemini, key());
        let out = upstream_request_headers(&HeaderMap::new(), &gemini, false);
        assert_eq!(out["x-goog-api-key"], "key-a");
        assert!(!out.contains_key("anthropic-version"));
        let vertex = credential_of(ProviderKind::Vertex, key());
        let out = upstream_request_headers(&HeaderMap::new(), &vertex, false);
        assert_eq!(out["x-goog-api-key"], "key-a");
        assert!(!out.contains_key("authorization"));
        assert!(!out.contains_key("anthropic-version"));
        let codex = credential_of(ProviderKind::Codex, key());
        assert_eq!(
            upstream_request_headers(&HeaderMap::new(), &codex, false)["authorization"],
            "Bearer key-a"
        );
        let token = credential_of(ProviderKind::Claude, Secret::AccessToken("tok".into()));
        let out = upstream_request_headers(&HeaderMap::new(), &token, false);
        assert_eq!(out["authorization"], "Bearer tok");
        assert!(!out.contains_key("x-api-key"));
    }

    #[test]
    fn the_kept_auth_header_is_what_each_request_would_build() {
        let cases = [
            credential_of(ProviderKind::Claude, Secret::ApiKey("k1".into())),
            credential_of(ProviderKind::Gemini, Secret::ApiKey("k2".into())),
            credential_of(ProviderKind::Vertex, Secret::ApiKey("k3".into())),
            credential_of(ProviderKind::Codex, Secret::ApiKey("k4".into())),
            credential_of(
                ProviderKind::OpenAiCompatibility,
                Secret::ApiKey("k5".into()),
            ),
            credential_of(ProviderKind::Claude, Secret::AccessToken("t6".into())),
            credential_of(ProviderKind::Claude, Secret::None),
        ];
        for cred in &cases {
            let built = auth_header(cred);
            for _ in 0..2 {
                let out = upstream_request_headers(&HeaderMap::new(), cred, false);
                let translated = upstream_request_headers(&HeaderMap::new(), cred, true);
                match &built {
                    Some((name, value)) => {
                        assert_eq!(&out[name], value, "{:?}", cred.provider);
                        assert!(out[name].is_sensitive(), "a secret stays sensitive");
                        assert_eq!(&translated[name], value);
                    }
                    None => assert!(
                        ["authorization", "x-api-key", "x-goog-api-key"]
                            .iter()
                            .all(|n| !out.contains_key(*n)),
                        "no auth header without a secret"
                    ),
                }
            }
            // A clone shares what was kept and still agrees.
            let clone = cred.clone();
            let again = upstream_request_headers(&HeaderMap::new(), &clone, false);
            if let Some((name, value)) = &built {
                assert_eq!(&again[name], value);
            }
        }
    }

    #[test]
    fn configured_headers_still_win_over_the_kept_auth_header() {
        let mut cred = credential("a", 0);
        cred.headers = vec![(
            HeaderName::from_static("x-api-key"),
            HeaderValue::from_static("from-config"),
        )];
        for _ in 0..2 {
            let out = upstream_request_headers(&HeaderMap::new(), &cred, false);
            assert_eq!(out["x-api-key"], "from-config");
            assert_eq!(out.get_all("x-api-key").iter().count(), 1);
        }
    }

    #[test]
    fn response_headers_filtered() {
        let mut upstream = HeaderMap::new();
        for (name, value) in [
            ("content-type", "application/json"),
            ("retry-after", "5"),
            ("x-ratelimit-remaining", "3"),
            ("connection", "close"),
            ("content-length", "10"),
        ] {
            upstream.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        let plain = client_response_headers(&upstream, false);
        assert_eq!(plain.len(), 2);
        let passed = client_response_headers(&upstream, true);
        assert!(passed.contains_key("x-ratelimit-remaining"));
        assert!(!passed.contains_key("connection") && !passed.contains_key("content-length"));
    }
}
