//! Where a request may carry its API key, in the reference's lookup order.

use std::borrow::Cow;

/// The header fields a key may be in: the provider's `header-names`, so the host passes it
/// only these.
pub const HEADER_NAMES: &[&str] = &["authorization", "x-goog-api-key", "x-api-key"];

/// The credential candidates of one request, borrowed from it where possible.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Candidates<'a> {
    /// The token of `Authorization` (after an optional `Bearer `).
    pub authorization: &'a str,
    /// `X-Goog-Api-Key`.
    pub goog_api_key: &'a str,
    /// `X-Api-Key`.
    pub api_key: &'a str,
    /// Query parameter `key`, form-decoded.
    pub query_key: Cow<'a, str>,
    /// Query parameter `auth_token`, form-decoded.
    pub query_auth_token: Cow<'a, str>,
}

impl<'a> Candidates<'a> {
    /// Collects the candidates from the header fields (the first occurrence of each name,
    /// names compared case-insensitively, values trimmed) and the raw query string (the
    /// first occurrence of each parameter).
    pub fn from_request(headers: &'a [(String, String)], query: &'a str) -> Candidates<'a> {
        let mut found = Candidates::default();
        let (mut authorization, mut goog, mut api) = (None, None, None);
        for (name, value) in headers {
            let slot = if name.eq_ignore_ascii_case("authorization") {
                &mut authorization
            } else if name.eq_ignore_ascii_case("x-goog-api-key") {
                &mut goog
            } else if name.eq_ignore_ascii_case("x-api-key") {
                &mut api
            } else {
                continue;
            };
            if slot.is_none() {
                *slot = Some(value.trim());
            }
        }
        found.authorization = bearer_token(authorization.unwrap_or(""));
        found.goog_api_key = goog.unwrap_or("");
        found.api_key = api.unwrap_or("");
        if !query.is_empty() {
            let (mut key, mut token) = (None, None);
            for (name, value) in form_urlencoded::parse(query.as_bytes()) {
                match name.as_ref() {
                    "key" if key.is_none() => key = Some(value),
                    "auth_token" if token.is_none() => token = Some(value),
                    _ => {}
                }
            }
            found.query_key = key.unwrap_or_default();
            found.query_auth_token = token.unwrap_or_default();
        }
        found
    }

    /// Whether the request carries no candidate at all.
    pub fn is_empty(&self) -> bool {
        self.in_order().next().is_none()
    }

    /// The non-empty candidates in lookup order, each with its `source` label.
    pub fn in_order(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("authorization", self.authorization),
            ("x-goog-api-key", self.goog_api_key),
            ("x-api-key", self.api_key),
            ("query-key", self.query_key.as_ref()),
            ("query-auth-token", self.query_auth_token.as_ref()),
        ]
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
    }
}

/// The token of an `Authorization` value: split on the first space; when the first part is
/// `bearer` in any case the token is the trimmed rest, otherwise the whole value is the token
/// (so `Authorization: sk-abc` works and `Basic xyz` is compared literally).
pub fn bearer_token(value: &str) -> &str {
    match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn bearer_is_optional_and_case_insensitive() {
        assert_eq!(bearer_token("Bearer sk-1"), "sk-1");
        assert_eq!(bearer_token("bEaReR   sk-1  "), "sk-1");
        assert_eq!(bearer_token("sk-1"), "sk-1");
        assert_eq!(bearer_token("Basic sk-1"), "Basic sk-1");
        assert_eq!(bearer_token("Bearer"), "Bearer");
        assert_eq!(bearer_token(""), "");
    }

    #[test]
    fn collects_every_location_in_order() {
        let h = headers(&[
            ("Authorization", "Bearer a"),
            ("x-goog-api-key", "b"),
            ("X-API-KEY", "c"),
            ("x-api-key", "ignored second"),
        ]);
        let c = Candidates::from_request(&h, "key=d%20e&auth_token=f+g&key=second");
        let order: Vec<_> = c.in_order().collect();
        assert_eq!(
            order,
            vec![
                ("authorization", "a"),
                ("x-goog-api-key", "b"),
                ("x-api-key", "c"),
                ("query-key", "d e"),
                ("query-auth-token", "f g"),
            ]
        );
    }

    #[test]
    fn nothing_means_empty() {
        let h = headers(&[("accept", "*/*")]);
        assert!(Candidates::from_request(&h, "").is_empty());
        let h = headers(&[("x-api-key", "  ")]);
        assert!(Candidates::from_request(&h, "key=").is_empty());
    }
}
