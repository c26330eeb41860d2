//! Which credential a request was sent with, and whether the endpoint accepts it.

use http::HeaderMap;
use http::header::AUTHORIZATION;

use crate::token_authority::{ACCESS_TOKEN_PREFIX, TokenAuthority};

/// The credentials an endpoint accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// Any credential (see [`credential_of`]); an issued access token must be valid.
    Any,
    /// Only a valid access token issued by the mock, as `Authorization: Bearer` (Vertex AI).
    IssuedToken,
    /// Only an API key in `x-goog-api-key` (Vertex AI's project-less Gemini endpoint).
    GoogApiKey,
}

/// The credential key of a request and, when the endpoint refuses it, why.
#[derive(Debug)]
pub(crate) struct Identified {
    /// The key that counts the request, selects faults and names the answer: the API key, or
    /// an issued token's subject (service-account email or client id); for a refused token, the
    /// token as sent.
    pub(crate) key: Option<String>,
    /// `Some`: answer 401 with this message.
    pub(crate) refused: Option<&'static str>,
}

/// Identifies the credential of a request for an endpoint with `access`. An API key costs no
/// lock: only a credential with the issued-token prefix is looked up.
pub(crate) fn identify(
    headers: &HeaderMap,
    query: Option<&str>,
    access: Access,
    tokens: &TokenAuthority,
) -> Identified {
    match access {
        Access::GoogApiKey => {
            let key = header_value(headers, "x-goog-api-key").map(str::to_owned);
            let refused = headers.contains_key(AUTHORIZATION).then_some(
                "this endpoint takes an API key in x-goog-api-key, not an Authorization header",
            );
            if refused.is_some() {
                tokens.count_rejected_bearer();
            }
            Identified { key, refused }
        }
        Access::IssuedToken => {
            let bearer = header_value(headers, "authorization").and_then(|value| {
                let (scheme, token) = value.split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then(|| token.trim().to_owned())
            });
            match bearer {
                Some(token) if token.starts_with(ACCESS_TOKEN_PREFIX) => {
                    checked_token(token, tokens)
                }
                other => {
                    tokens.count_rejected_bearer();
                    let key = other.or_else(|| credential_of(headers, query));
                    Identified {
                        key,
                        refused: Some(
                            "this endpoint requires an OAuth 2 access token (Authorization: Bearer) issued by the token endpoint",
                        ),
                    }
                }
            }
        }
        Access::Any => match credential_of(headers, query) {
            Some(token) if token.starts_with(ACCESS_TOKEN_PREFIX) => checked_token(token, tokens),
            key => Identified { key, refused: None },
        },
    }
}

/// An issued token's subject, or the token with the reason it is refused.
fn checked_token(token: String, tokens: &TokenAuthority) -> Identified {
    match tokens.subject_of(&token) {
        Ok(subject) => Identified {
            key: Some(subject),
            refused: None,
        },
        Err(reason) => Identified {
            key: Some(token),
            refused: Some(reason),
        },
    }
}

/// A header's trimmed value, when present, text and not empty.
fn header_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

/// The credential key a request carries, looked up in this order: `x-api-key` (Anthropic),
/// `Authorization` (`Bearer ` prefix optional; OpenAI), `x-goog-api-key` (Gemini), then the
/// `key` query parameter (Gemini). Empty values do not count.
pub(crate) fn credential_of(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    let header = |name: &str| header_value(headers, name);
    let bearer = || {
        let value = header("authorization")?;
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ if value.eq_ignore_ascii_case("bearer") => "",
            _ => value,
        };
        Some(token)
    };
    let query_key = || {
        query?
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(name, _)| *name == "key")
            .map(|(_, value)| value)
            .filter(|value| !value.is_empty())
    };
    header("x-api-key")
        .or_else(bearer)
        .filter(|value| !value.is_empty())
        .or_else(|| header("x-goog-api-key"))
        .or_else(query_key)
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn finds_each_protocols_header() {
        assert_eq!(
            credential_of(&headers(&[("x-api-key", "a")]), None).as_deref(),
            Some("a")
        );
        assert_eq!(
            credential_of(&headers(&[("authorization", "Bearer b")]), None).as_deref(),
            Some("b")
        );
        assert_eq!(
            credential_of(&headers(&[("authorization", "raw-c")]), None).as_deref(),
            Some("raw-c")
        );
        assert_eq!(
            credential_of(&headers(&[("x-goog-api-key", "d")]), None).as_deref(),
            Some("d")
        );
        assert_eq!(
            credential_of(&HeaderMap::new(), Some("alt=sse&key=e")).as_deref(),
            Some("e")
        );
    }

    #[test]
    fn none_or_empty_is_no_credential() {
        assert_eq!(credential_of(&HeaderMap::new(), None), None);
        assert_eq!(
            credential_of(&headers(&[("x-api-key", " ")]), Some("key=")),
            None
        );
        assert_eq!(
            credential_of(&headers(&[("authorization", "Bearer ")]), None),
            None
        );
    }
}
