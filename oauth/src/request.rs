//! A token request, ready for the proxy's HTTP client.

use base64::Engine as _;
use url::form_urlencoded;

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
        let mut url = self.url.clone();
        if url.password().is_some() {
            // Only fails for URLs that cannot have credentials, which then have none to hide.
            let _ = url.set_password(Some("redacted"));
        }
        let field_names: Vec<&str> = self.form.iter().map(|(name, _)| *name).collect();
        f.debug_struct("TokenRequest")
            .field("url", &url.as_str())
            .field("form", &field_names)
            .field("basic", &self.basic.is_some())
            .finish()
    }
}

impl TokenRequest {
    /// The form, urlencoded: the request body.
    pub fn body(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                self.form
                    .iter()
                    .map(|(name, value)| (*name, value.as_str())),
            )
            .finish()
    }

    /// The `Authorization` header value for [`TokenRequest::basic`] (`Basic base64(id:secret)`
    /// of the urlencoded parts), if any.
    pub fn authorization(&self) -> Option<String> {
        let (id, secret) = self.basic.as_ref()?;
        let pair = format!("{}:{}", form_urlencode(id), form_urlencode(secret));
        Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        ))
    }
}

/// `text` encoded as a form value (`application/x-www-form-urlencoded`).
impl TokenRequest {
    /// A request to `url` with `form`, the client `client_id` authenticated as `method` says
    /// with `secret` (HTTP Basic, or the id and secret in the form); a public client (no
    /// secret) sends only its id in the form.
    pub(crate) fn for_client(
        url: &url::Url,
        mut form: Vec<(&'static str, String)>,
        client_id: &str,
        secret: Option<&str>,
        method: crate::AuthMethod,
    ) -> TokenRequest {
        let basic = match (secret, method) {
            (Some(secret), crate::AuthMethod::Basic) => {
                Some((client_id.to_owned(), secret.to_owned()))
            }
            (Some(secret), crate::AuthMethod::Post) => {
                form.push(("client_id", client_id.to_owned()));
                form.push(("client_secret", secret.to_owned()));
                None
            }
            (None, _) => {
                form.push(("client_id", client_id.to_owned()));
                None
            }
        };
        TokenRequest {
            url: url.clone(),
            form,
            basic,
        }
    }
}

fn form_urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(basic: Option<(&str, &str)>) -> TokenRequest {
        TokenRequest {
            url: url::Url::parse("https://login.example.com/token").unwrap(),
            form: vec![
                ("grant_type", "client_credentials".to_owned()),
                ("scope", "a b/c&d=e".to_owned()),
                ("client_secret", "s3cr3t-value".to_owned()),
            ],
            basic: basic.map(|(id, secret)| (id.to_owned(), secret.to_owned())),
        }
    }

    #[test]
    fn the_body_is_the_form_urlencoded_in_order() {
        assert_eq!(
            request(None).body(),
            "grant_type=client_credentials&scope=a+b%2Fc%26d%3De&client_secret=s3cr3t-value"
        );
    }

    #[test]
    fn basic_authorization_urlencodes_id_and_secret_before_base64() {
        assert_eq!(request(None).authorization(), None);
        let plain = request(Some(("client", "secret"))).authorization().unwrap();
        assert_eq!(plain, "Basic Y2xpZW50OnNlY3JldA==");
        let special = request(Some(("id:with colon", "p@ss/wörd+%")))
            .authorization()
            .unwrap();
        let encoded = special.strip_prefix("Basic ").unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap();
        assert_eq!(
            String::from_utf8(decoded).unwrap(),
            "id%3Awith+colon:p%40ss%2Fw%C3%B6rd%2B%25"
        );
    }

    #[test]
    fn debug_shows_the_url_and_field_names_only() {
        let mut with_password = request(Some(("the-client", "basic-secret")));
        with_password.url =
            url::Url::parse("https://user:url-password@login.example.com/t").unwrap();
        let shown = format!("{with_password:?}");
        assert!(shown.contains("login.example.com"));
        assert!(shown.contains("\"grant_type\", \"scope\", \"client_secret\""));
        for secret in [
            "s3cr3t-value",
            "basic-secret",
            "the-client",
            "url-password",
            "a b",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("basic: true"));
    }
}
