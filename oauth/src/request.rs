//! A token request, ready for the proxy's HTTP client.

/// One `POST` to a token endpoint: `application/x-www-form-urlencoded` form, optional HTTP
/// Basic client authentication. `Debug` never prints a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The token endpoint.
    pub url: url::Url,
    /// The form fields, in order.
    pub form: Vec<(&'static str, String)>,
    /// HTTP Basic credentials (client id, client secret), each form-urlencoded first as
    /// RFC 6749 §2.3.1 requires.
    pub basic: Option<(String, String)>,
}

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        todo!()
    }
}

impl TokenRequest {
    /// The form, urlencoded: the request body.
    pub fn body(&self) -> String {
        todo!()
    }

    /// The `Authorization` header value for [`TokenRequest::basic`] (`Basic base64(id:secret)`
    /// of the urlencoded parts), if any.
    pub fn authorization(&self) -> Option<String> {
        todo!()
    }
}
