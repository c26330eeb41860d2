//! The refresh-token grant (RFC 6749 §6).

use crate::{AuthMethod, TokenRequest};

/// An OAuth client holding a refresh token. `Debug` never prints a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshGrant {
    /// The token endpoint.
    pub token_url: url::Url,
    /// The client id (sent in the form, or by Basic when there is a secret and the method is
    /// basic).
    pub client_id: String,
    /// The client secret, for confidential clients.
    pub client_secret: Option<String>,
    /// `scope`, sent when not empty.
    pub scope: String,
    /// How a confidential client authenticates (a public client always sends `client_id` in
    /// the form).
    pub auth_method: AuthMethod,
}

impl std::fmt::Debug for RefreshGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshGrant")
            .field("token_url", &self.token_url.as_str())
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("scope", &self.scope)
            .field("auth_method", &self.auth_method)
            .finish()
    }
}

impl RefreshGrant {
    /// The token request that trades `refresh_token` for a new set.
    /// An empty secret counts as none (a public client).
    pub fn request(&self, refresh_token: &str) -> TokenRequest {
        let mut form = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", refresh_token.to_owned()),
        ];
        if !self.scope.is_empty() {
            form.push(("scope", self.scope.clone()));
        }
        let secret = self
            .client_secret
            .as_deref()
            .filter(|secret| !secret.is_empty());
        TokenRequest::for_client(
            &self.token_url,
            form,
            &self.client_id,
            secret,
            self.auth_method,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(client_secret: Option<&str>, auth_method: AuthMethod) -> RefreshGrant {
        RefreshGrant {
            token_url: url::Url::parse("https://auth.example.com/oauth/token").unwrap(),
            client_id: "cli".to_owned(),
            client_secret: client_secret.map(str::to_owned),
            scope: String::new(),
            auth_method,
        }
    }

    fn field_names(request: &TokenRequest) -> Vec<&'static str> {
        request.form.iter().map(|(name, _)| *name).collect()
    }

    #[test]
    fn a_confidential_basic_client_authenticates_in_the_header() {
        let request = grant(Some("shh"), AuthMethod::Basic).request("rt/1+2");
        assert_eq!(request.basic, Some(("cli".to_owned(), "shh".to_owned())));
        assert_eq!(
            request.body(),
            "grant_type=refresh_token&refresh_token=rt%2F1%2B2"
        );
        assert_eq!(request.url.as_str(), "https://auth.example.com/oauth/token");
    }

    #[test]
    fn a_confidential_post_client_authenticates_in_the_form() {
        let request = grant(Some("shh"), AuthMethod::Post).request("rt");
        assert_eq!(request.basic, None);
        assert_eq!(
            request.body(),
            "grant_type=refresh_token&refresh_token=rt&client_id=cli&client_secret=shh"
        );
    }

    #[test]
    fn a_public_client_sends_only_its_id_whatever_the_method() {
        for method in [AuthMethod::Basic, AuthMethod::Post] {
            for secret in [None, Some("")] {
                let request = grant(secret, method).request("rt");
                assert_eq!(request.basic, None);
                assert_eq!(
                    field_names(&request),
                    ["grant_type", "refresh_token", "client_id"]
                );
            }
        }
    }

    #[test]
    fn scope_is_sent_when_set() {
        let mut grant = grant(None, AuthMethod::Basic);
        grant.scope = "openid offline_access".to_owned();
        assert_eq!(
            grant.request("rt").body(),
            "grant_type=refresh_token&refresh_token=rt&scope=openid+offline_access&client_id=cli"
        );
    }

    #[test]
    fn debug_never_shows_the_secret_nor_the_request_the_token() {
        let grant = grant(Some("client-secret-value"), AuthMethod::Post);
        let shown = format!("{grant:?}");
        assert!(shown.contains("cli"));
        assert!(!shown.contains("client-secret-value"));
        let request = format!("{:?}", grant.request("refresh-token-value"));
        assert!(!request.contains("refresh-token-value"));
        assert!(!request.contains("client-secret-value"));
    }
}
