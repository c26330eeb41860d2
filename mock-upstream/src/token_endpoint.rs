//! `POST /oauth/token`: the mock's OAuth 2.0 token endpoint (RFC 6749 §3.2), with the
//! JWT-bearer (RFC 7523), client-credentials (§4.4) and refresh-token (§6) grants, answering in
//! RFC 6749's shapes (§5.1 success, §5.2 errors).

mod client_authentication;
mod jwt_assertion;
mod oauth_error;

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use http::request::Parts;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use serde_json::{Value, json};

use crate::paced_body::{DeliberateClose, MockBody, full_body};
use crate::state::MockState;
use crate::token_authority::{ClientAuthMethod, GrantKind, IssuedTokens, RefreshRejection};

use client_authentication::authenticate_client;
use oauth_error::OAuthError;

/// The endpoint's path.
pub(crate) const TOKEN_PATH: &str = "/oauth/token";

/// The largest request body the endpoint reads.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The JWT-bearer grant type (RFC 7523 §2.1).
const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The form fields of a token request (each at most once).
pub(crate) type Form = HashMap<String, String>;

/// Answers one token request; `Err` when the client went away mid-body.
pub(crate) async fn handle(
    state: &MockState,
    request: Request<Incoming>,
) -> Result<Response<MockBody>, DeliberateClose> {
    let (head, body) = request.into_parts();
    let tokens = &state.tokens;
    if let Some(status) = tokens.endpoint_status() {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let body = json!({"error": "temporarily_unavailable"});
        return Ok(json_response(status, &body));
    }
    if head.method != Method::POST {
        let error = OAuthError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            format!("the token endpoint takes POST, not {}", head.method),
        );
        return Ok(error.response());
    }
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<LengthLimitError>() => {
            let error = OAuthError::invalid_request(format!(
                "the request body is larger than {MAX_BODY_BYTES} bytes"
            ));
            return Ok(error.response());
        }
        Err(_) => return Err(DeliberateClose),
    };
    Ok(match token_request(state, &head, &body) {
        Ok(issued) => json_response(StatusCode::OK, &success_body(&issued)),
        Err(error) => error.response(),
    })
}

/// Checks a token request and issues tokens for it.
fn token_request(
    state: &MockState,
    head: &Parts,
    body: &Bytes,
) -> Result<IssuedTokens, OAuthError> {
    let form_encoded = head
        .headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| {
            mime.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_encoded {
        return Err(OAuthError::invalid_request(
            "the content-type must be application/x-www-form-urlencoded",
        ));
    }
    let form = parse_form(body)?;
    let tokens = &state.tokens;
    match form.get("grant_type").map(String::as_str) {
        None => Err(OAuthError::invalid_request("grant_type is missing")),
        Some(JWT_BEARER_GRANT) => {
            let assertion = required(&form, "assertion")?;
            let verified = jwt_assertion::verify(
                assertion,
                |issuer| tokens.service_account_key(issuer),
                tokens.token_url(),
                unix_now(),
            )
            .map_err(OAuthError::invalid_grant)?;
            Ok(tokens.grant(
                GrantKind::JwtBearer,
                &verified.issuer,
                ClientAuthMethod::None,
                Some(&verified.scope),
                None,
            ))
        }
        Some("client_credentials") => {
            let client = authenticate_client(&head.headers, &form, tokens)?;
            if client.method == ClientAuthMethod::None {
                return Err(OAuthError::invalid_client(
                    "a public client cannot use the client_credentials grant",
                ));
            }
            Ok(tokens.grant(
                GrantKind::ClientCredentials,
                &client.client_id,
                client.method,
                form.get("scope").map(String::as_str),
                form.get("audience").map(String::as_str),
            ))
        }
        Some("refresh_token") => {
            let refresh_token = required(&form, "refresh_token")?;
            let client = authenticate_client(&head.headers, &form, tokens)?;
            tokens
                .redeem_refresh_token(
                    refresh_token,
                    &client.client_id,
                    client.method,
                    form.get("scope").map(String::as_str),
                )
                .map_err(|rejection| {
                    OAuthError::invalid_grant(match rejection {
                        RefreshRejection::AlreadyUsed => "refresh token already used",
                        RefreshRejection::Unknown => "unknown refresh token",
                        RefreshRejection::OtherClient => {
                            "the refresh token was issued to another client"
                        }
                    })
                })
        }
        Some(other) => Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("the grant type {other:?} is not supported"),
        )),
    }
}

/// The form's fields; a field given twice is an error (RFC 6749 §3.2).
fn parse_form(body: &[u8]) -> Result<Form, OAuthError> {
    let mut form = Form::new();
    for (name, value) in url::form_urlencoded::parse(body) {
        if form.insert(name.to_string(), value.into_owned()).is_some() {
            return Err(OAuthError::invalid_request(format!(
                "the parameter {name} is given more than once"
            )));
        }
    }
    Ok(form)
}

/// A form field the grant needs.
fn required<'a>(form: &'a Form, name: &str) -> Result<&'a str, OAuthError> {
    form.get(name)
        .map(String::as_str)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| OAuthError::invalid_request(format!("{name} is missing")))
}

/// RFC 6749 §5.1's success body.
fn success_body(issued: &IssuedTokens) -> Value {
    let mut body = json!({
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
    });
    if let Some(refresh_token) = &issued.refresh_token {
        body["refresh_token"] = Value::from(refresh_token.as_str());
    }
    body
}

/// A JSON answer that caches must not keep (RFC 6749 §5.1).
fn json_response(status: StatusCode, body: &Value) -> Response<MockBody> {
    let mut response = Response::new(full_body(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}
