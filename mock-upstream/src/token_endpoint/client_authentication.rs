//! Client authentication at the token endpoint (RFC 6749 §2.3.1): `Authorization: Basic` with
//! the form-urlencoded id and secret, or `client_id` + `client_secret` in the form, never both;
//! a public client sends only `client_id`.

use base64::Engine;
use base64::prelude::BASE64_STANDARD;
use http::HeaderMap;
use http::header::AUTHORIZATION;

use super::Form;
use super::oauth_error::OAuthError;
use crate::token_authority::{ClientAuthMethod, TokenAuthority};

/// A client that proved who it is.
#[derive(Debug)]
pub(crate) struct AuthenticatedClient {
    /// Its id.
    pub(crate) client_id: String,
    /// How it authenticated ([`ClientAuthMethod::None`]: a public client).
    pub(crate) method: ClientAuthMethod,
}

/// Authenticates the client of a token request against the registered clients.
pub(crate) fn authenticate_client(
    headers: &HeaderMap,
    form: &Form,
    authority: &TokenAuthority,
) -> Result<AuthenticatedClient, OAuthError> {
    let basic = basic_credentials(headers)?;
    let form_id = form.get("client_id");
    let form_secret = form.get("client_secret");
    let (client_id, presented_secret, method) = match (basic, form_secret) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "the client authenticated with more than one method (Basic and client_secret)",
            ));
        }
        (Some((id, secret)), None) => {
            if form_id.is_some_and(|form_id| *form_id != id) {
                return Err(OAuthError::invalid_request(
                    "client_id differs from the Basic credentials",
                ));
            }
            (id, Some(secret), ClientAuthMethod::Basic)
        }
        (None, Some(secret)) => {
            let id = form_id
                .ok_or_else(|| OAuthError::invalid_request("client_secret without client_id"))?;
            (id.clone(), Some(secret.clone()), ClientAuthMethod::Post)
        }
        (None, None) => match form_id {
            Some(id) => (id.clone(), None, ClientAuthMethod::None),
            None => return Err(OAuthError::invalid_client("no client authentication")),
        },
    };
    let expected = authority
        .client_secret(&client_id)
        .ok_or_else(|| OAuthError::invalid_client(format!("unknown client {client_id:?}")))?;
    match (expected, presented_secret) {
        (None, None) => {}
        (None, Some(_)) => {
            return Err(OAuthError::invalid_client(
                "the client is public and has no secret",
            ));
        }
        (Some(_), None) => {
            return Err(OAuthError::invalid_client(
                "the client must authenticate with its secret",
            ));
        }
        // A test double: timing side channels do not matter here.
        (Some(expected), Some(presented)) if expected != presented => {
            return Err(OAuthError::invalid_client("wrong client secret"));
        }
        (Some(_), Some(_)) => {}
    }
    Ok(AuthenticatedClient { client_id, method })
}

/// The id and secret of an `Authorization: Basic` header, if there is one.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || OAuthError::invalid_client("malformed Basic credentials");
    let value = value.to_str().map_err(|_| malformed())?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Err(malformed());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client(
            "the token endpoint takes Basic client authentication",
        ));
    }
    let decoded = BASE64_STANDARD
        .decode(encoded.trim())
        .map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    Ok(Some((
        form_decode(id).ok_or_else(malformed)?,
        form_decode(secret).ok_or_else(malformed)?,
    )))
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space, `%XX` a byte);
/// `None` for a bad escape or a result that is not UTF-8.
fn form_decode(component: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(component.len());
    let mut input = component.bytes();
    while let Some(byte) = input.next() {
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => {
                let high = char::from(input.next()?).to_digit(16)?;
                let low = char::from(input.next()?).to_digit(16)?;
                bytes.push(u8::try_from(high * 16 + low).ok()?);
            }
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decode_handles_escapes_and_plus() {
        assert_eq!(form_decode("a%3Ab+c%25").as_deref(), Some("a:b c%"));
        assert_eq!(form_decode("%zz"), None);
        assert_eq!(form_decode("%4"), None);
    }
}
