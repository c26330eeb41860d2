//! Where a request may carry its API key, in the reference's lookup order.

/// The credential candidates of one request.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Candidates {
    /// The token of `Authorization` (after an optional `Bearer `).
    pub authorization: String,
    /// `X-Goog-Api-Key`.
    pub goog_api_key: String,
    /// `X-Api-Key`.
    pub api_key: String,
    /// Query parameter `key`.
    pub query_key: String,
    /// Query parameter `auth_token`.
    pub query_auth_token: String,
}

impl Candidates {
    /// Collects the candidates from the header fields (first occurrence of each name, names
    /// compared case-insensitively) and the raw query string.
    pub fn from_request(headers: &[(String, String)], query: &str) -> Candidates {
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_default()
        };
        let param = |name: &str| {
            form_urlencoded::parse(query.as_bytes())
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        Candidates {
            authorization: bearer_token(&header("authorization")).to_owned(),
            goog_api_key: header("x-goog-api-key"),
            api_key: header("x-api-key"),
            query_key: param("key"),
            query_auth_token: param("auth_token"),
        }
    }

    /// Whether the request carries no candidate at all.
    pub fn is_empty(&self) -> bool {
        self.in_order().next().is_none()
    }

    /// The non-empty candidates in lookup order, each with its `source` label.
    pub fn in_order(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("authorization", self.authorization.as_str()),
            ("x-goog-api-key", self.goog_api_key.as_str()),
            ("x-api-key", self.api_key.as_str()),
            ("query-key", self.query_key.as_str()),
            ("query-auth-token", self.query_auth_token.as_str()),
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
        let c = Candidates::from_request(
            &headers(&[
                ("Authorization", "Bearer a"),
                ("x-goog-api-key", "b"),
                ("X-API-KEY", "c"),
                ("x-api-key", "ignored second"),
            ]),
            "key=d%20e&auth_token=f+g&key=second",
        );
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
        assert!(Candidates::from_request(&headers(&[("accept", "*/*")]), "").is_empty());
        assert!(Candidates::from_request(&headers(&[("x-api-key", "  ")]), "key=").is_empty());
    }
}
