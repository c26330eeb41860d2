//! The client-credentials grant (RFC 6749 §4.4).

use crate::TokenRequest;

/// How the client authenticates to the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMethod {
    /// HTTP Basic (`client_secret_basic`), the default.
    #[default]
    Basic,
    /// `client_id` and `client_secret` in the form (`client_secret_post`).
    Post,
}

impl AuthMethod {
    /// Parses `basic` or `post`.
    pub fn parse(text: &str) -> Option<AuthMethod> {
        if text.eq_ignore_ascii_case("basic") {
            Some(AuthMethod::Basic)
        } else if text.eq_ignore_ascii_case("post") {
            Some(AuthMethod::Post)
        } else {
            None
        }
    }
}

/// An OAuth client allowed the client-credentials grant. `Debug` never prints the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    /// The token endpoint.
    pub token_url: url::Url,
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: String,
    /// `scope`, sent when not empty.
    pub scope: String,
    /// `audience`, sent when not empty (some servers want it instead of a scope).
    pub audience: String,
    /// How the client authenticates.
    pub auth_method: AuthMethod,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("token_url", &self.token_url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("scope", &self.scope)
            .field("audience", &self.audience)
            .field("auth_method", &self.auth_method)
            .finish()
    }
}

impl ClientCredentials {
    /// The token request: `grant_type=client_credentials`, `scope` / `audience` when set, the
    /// client authenticated as [`ClientCredentials::auth_method`] says.
    pub fn request(&self) -> TokenRequest {
        let mut form = vec![("grant_type", "client_credentials".to_owned())];
        if !self.scope.is_empty() {
            form.push(("scope", self.scope.clone()));
        }
        if !self.audience.is_empty() {
            form.push(("audience", self.audience.clone()));
        }
        TokenRequest::for_client(
            &self.token_url,
            form,
            &self.client_id,
            Some(&self.client_secret),
            self.auth_method,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(auth_method: AuthMethod) -> ClientCredentials {
        ClientCredentials {
            token_url: url::Url::parse("https://login.example.com/tenant/token").unwrap(),
            client_id: "app-id".to_owned(),
            client_secret: "very-secret".to_owned(),
            scope: "https://cognitiveservices.azure.com/.default".to_owned(),
            audience: String::new(),
            auth_method,
        }
    }

    #[test]
    fn auth_methods_parse_in_any_case() {
        assert_eq!(AuthMethod::parse("basic"), Some(AuthMethod::Basic));
        assert_eq!(AuthMethod::parse("POST"), Some(AuthMethod::Post));
        assert_eq!(AuthMethod::parse("Basic"), Some(AuthMethod::Basic));
        assert_eq!(AuthMethod::parse("client_secret_jwt"), None);
        assert_eq!(AuthMethod::parse(""), None);
        assert_eq!(AuthMethod::default(), AuthMethod::Basic);
    }

    #[test]
    fn basic_sends_the_client_in_the_header_only() {
        let request = client(AuthMethod::Basic).request();
        assert_eq!(
            request.url.as_str(),
            "https://login.example.com/tenant/token"
        );
        assert_eq!(
            request.basic,
            Some(("app-id".to_owned(), "very-secret".to_owned()))
        );
        assert_eq!(
            request.body(),
            "grant_type=client_credentials&scope=https%3A%2F%2Fcognitiveservices.azure.com%2F.default"
        );
    }

    #[test]
    fn post_sends_the_client_in_the_form() {
        let request = client(AuthMethod::Post).request();
        assert_eq!(request.basic, None);
        assert_eq!(request.authorization(), None);
        let names: Vec<&str> = request.form.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, ["grant_type", "scope", "client_id", "client_secret"]);
        assert!(
            request
                .body()
                .ends_with("&client_id=app-id&client_secret=very-secret")
        );
    }

    #[test]
    fn scope_and_audience_only_when_set() {
        let mut client = client(AuthMethod::Basic);
        client.scope.clear();
        assert_eq!(client.request().body(), "grant_type=client_credentials");
        client.audience = "api://gateway".to_owned();
        assert_eq!(
            client.request().body(),
            "grant_type=client_credentials&audience=api%3A%2F%2Fgateway"
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let shown = format!("{:?}", client(AuthMethod::Post));
        assert!(shown.contains("app-id"));
        assert!(!shown.contains("very-secret"));
    }
}
