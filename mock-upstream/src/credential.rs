//! Which credential a request was sent with.

use http::HeaderMap;

/// The credential key a request carries, looked up in this order: `x-api-key` (Anthropic),
/// `Authorization` (`Bearer ` prefix optional; OpenAI), `x-goog-api-key` (Gemini), then the
/// `key` query parameter (Gemini). Empty values do not count.
pub(crate) fn credential_of(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
            .filter(|value| !value.is_empty())
    };
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
