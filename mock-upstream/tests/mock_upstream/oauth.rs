//! The OAuth token endpoint: JWT-bearer, client-credentials and refresh grants, their errors,
//! and the control commands that steer it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::prelude::{BASE64_STANDARD, BASE64_URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use serde_json::{Value, json};
use switchyard_mock::MockUpstream;

use crate::support::{WAIT, client, header, json_of, mock};

/// The scope a Vertex token asks for.
pub(crate) const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";

/// The committed test service account: its email and key pair.
pub(crate) fn service_account() -> (String, RsaKeyPair) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/oauth/service-account.json"
    );
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("the fixture"))
        .expect("the fixture is JSON");
    let pem = file["private_key"].as_str().expect("a private_key");
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let pkcs8 = BASE64_STANDARD
        .decode(body)
        .expect("the PEM body is base64");
    let key = RsaKeyPair::from_pkcs8(&pkcs8).expect("a PKCS#8 RSA key");
    let email = file["client_email"].as_str().expect("a client_email");
    (email.to_owned(), key)
}

/// A mock that trusts the test service account; returns the account's email and key.
pub(crate) async fn mock_with_service_account() -> (MockUpstream, String, RsaKeyPair) {
    let mock = mock().await;
    let (email, key) = service_account();
    mock.register_service_account(&email, key.public_key().as_ref().to_vec());
    (mock, email, key)
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A JWT with `header` and `claims`, signed RS256 with `key`.
pub(crate) fn signed_jwt(key: &RsaKeyPair, header: &Value, claims: &Value) -> String {
    let signed = format!(
        "{}.{}",
        BASE64_URL_SAFE_NO_PAD.encode(header.to_string()),
        BASE64_URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        signed.as_bytes(),
        &mut signature,
    )
    .expect("signing");
    format!("{signed}.{}", BASE64_URL_SAFE_NO_PAD.encode(signature))
}

/// The claims a correct assertion for `mock` carries.
pub(crate) fn good_claims(mock: &MockUpstream, email: &str) -> Value {
    let now = unix_now();
    json!({
        "iss": email,
        "scope": CLOUD_PLATFORM,
        "aud": mock.token_url(),
        "iat": now,
        "exp": now + 3600,
    })
}

fn rs256() -> Value {
    json!({"alg": "RS256", "typ": "JWT"})
}

/// Form-encodes `pairs`.
fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// POSTs a form to the token endpoint, with Basic credentials when given; the status and the
/// JSON body.
pub(crate) async fn token_request(
    mock: &MockUpstream,
    pairs: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (u16, Value) {
    let mut request = client()
        .post(mock.token_url())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(pairs));
    if let Some((id, secret)) = basic {
        let encoded = BASE64_STANDARD.encode(format!(
            "{}:{}",
            form(&[(id, "")]).trim_end_matches('='),
            form(&[(secret, "")]).trim_end_matches('=')
        ));
        request = request.header("authorization", format!("Basic {encoded}"));
    }
    let response = request.send().await.expect("sending the token request");
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
    let status = response.status().as_u16();
    (status, json_of(response).await)
}

/// An access token for the test service account, by the JWT-bearer grant.
pub(crate) async fn jwt_access_token(mock: &MockUpstream, email: &str, key: &RsaKeyPair) -> String {
    let assertion = signed_jwt(key, &rs256(), &good_claims(mock, email));
    let (status, body) = token_request(
        mock,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", &assertion),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

async fn jwt_grant(mock: &MockUpstream, assertion: &str) -> (u16, Value) {
    token_request(
        mock,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion),
        ],
        None,
    )
    .await
}

#[tokio::test]
async fn jwt_bearer_grant_issues_a_token_whose_subject_is_the_service_account() {
    let (mock, email, key) = mock_with_service_account().await;
    let assertion = signed_jwt(&key, &rs256(), &good_claims(&mock, &email));
    let (status, body) = jwt_grant(&mock, &assertion).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap();
    assert!(token.starts_with("mock-at-"), "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(body.get("refresh_token").is_none(), "{body}");
    mock.wait_for_token_grants(1, WAIT).await.unwrap();
    let stats = mock.token_stats();
    assert_eq!(stats.jwt_grants, 1);
    assert_eq!(stats.last_scope.as_deref(), Some(CLOUD_PLATFORM));

    // On an ordinary route too, the token stands for its subject.
    let response = client()
        .post(format!("{}/v1/chat/completions", mock.base_url()))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-mock-credential"), Some(email.as_str()));
    assert_eq!(mock.request_count_for(&email), 1);
    assert_eq!(mock.request_count_for(token), 0);
}

#[tokio::test]
async fn jwt_assertions_failing_a_check_get_invalid_grant_naming_it() {
    let (mock, email, key) = mock_with_service_account().await;
    let now = unix_now();
    let with = |name: &str, value: Value| {
        let mut claims = good_claims(&mock, &email);
        claims[name] = value;
        claims
    };
    let good = signed_jwt(&key, &rs256(), &good_claims(&mock, &email));
    let (head, _) = good.rsplit_once('.').unwrap();
    let other = signed_jwt(&key, &rs256(), &with("scope", json!("x")));
    let (_, other_signature) = other.rsplit_once('.').unwrap();
    let cases = [
        (format!("{head}.{other_signature}"), "signature"),
        (
            signed_jwt(
                &key,
                &rs256(),
                &with("aud", json!("http://elsewhere/token")),
            ),
            "aud",
        ),
        (
            signed_jwt(&key, &rs256(), &with("exp", json!(now - 10))),
            "expired",
        ),
        (
            signed_jwt(&key, &rs256(), &with("iat", json!(now + 600))),
            "iat",
        ),
        (
            signed_jwt(&key, &rs256(), &with("exp", json!(now + 7200))),
            "lifetime",
        ),
        (
            signed_jwt(&key, &rs256(), &with("scope", json!("openid email"))),
            "scope",
        ),
        (
            signed_jwt(&key, &rs256(), &with("iss", json!("stranger@example.com"))),
            "unknown service account",
        ),
        (
            signed_jwt(&key, &json!({"alg": "HS256"}), &good_claims(&mock, &email)),
            "RS256",
        ),
        ("not-a-jwt".to_owned(), "JWT"),
    ];
    for (assertion, named) in cases {
        let (status, body) = jwt_grant(&mock, &assertion).await;
        assert_eq!(status, 400, "{named}: {body}");
        assert_eq!(body["error"], "invalid_grant", "{named}: {body}");
        let description = body["error_description"].as_str().unwrap();
        assert!(description.contains(named), "{named}: {description}");
    }
    assert_eq!(mock.token_stats().jwt_grants, 0);
    let (status, _) = jwt_grant(&mock, &good).await;
    assert_eq!(status, 200, "the unaltered assertion passes");
}

#[tokio::test]
async fn client_credentials_by_basic_or_post_and_wrong_secrets_get_401() {
    let mock = mock().await;
    let (id, secret) = ("app:1", "s3cret &+=%");
    mock.register_client(id, Some(secret));
    let grant = [
        ("grant_type", "client_credentials"),
        ("scope", "https://cognitiveservices.azure.com/.default"),
        ("audience", "api://gateway"),
    ];
    let (status, body) = token_request(&mock, &grant, Some((id, secret))).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("refresh_token").is_none());
    let posted = [
        ("grant_type", "client_credentials"),
        ("client_id", id),
        ("client_secret", secret),
    ];
    let (status, body) = token_request(&mock, &posted, None).await;
    assert_eq!(status, 200, "{body}");
    let stats = mock.token_stats();
    assert_eq!(stats.client_credentials_grants, 2);
    assert_eq!((stats.basic_auth, stats.post_auth), (1, 1));
    assert_eq!(
        stats.last_scope.as_deref(),
        Some("https://cognitiveservices.azure.com/.default")
    );
    assert_eq!(stats.last_audience.as_deref(), Some("api://gateway"));

    let (status, body) = token_request(&mock, &grant, Some((id, "wrong"))).await;
    assert_eq!((status, &body["error"]), (401, &json!("invalid_client")));
    let wrong_post = [
        ("grant_type", "client_credentials"),
        ("client_id", id),
        ("client_secret", "wrong"),
    ];
    let (status, body) = token_request(&mock, &wrong_post, None).await;
    assert_eq!((status, &body["error"]), (401, &json!("invalid_client")));
    let (status, body) = token_request(&mock, &grant, Some(("nobody", secret))).await;
    assert_eq!((status, &body["error"]), (401, &json!("invalid_client")));
    let (status, body) = token_request(&mock, &posted, Some((id, secret))).await;
    assert_eq!(
        (status, &body["error"]),
        (400, &json!("invalid_request")),
        "both methods"
    );
    assert_eq!(mock.token_stats().client_credentials_grants, 2);
}

#[tokio::test]
async fn refresh_tokens_rotate_and_each_is_valid_once() {
    let mock = mock().await;
    mock.register_client("cli", None);
    let first = mock.issue_refresh_token("cli");
    let refresh = |token: String| {
        let mock = &mock;
        async move {
            token_request(
                mock,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &token),
                    ("client_id", "cli"),
                ],
                None,
            )
            .await
        }
    };
    let (status, body) = refresh(first.clone()).await;
    assert_eq!(status, 200, "{body}");
    let second = body["refresh_token"].as_str().unwrap().to_owned();
    assert!(second.starts_with("mock-rt-") && second != first, "{body}");
    assert_eq!(mock.latest_refresh_token("cli"), Some(second.clone()));
    assert!(
        body["access_token"]
            .as_str()
            .unwrap()
            .starts_with("mock-at-")
    );

    let (status, body) = refresh(first).await;
    assert_eq!((status, &body["error"]), (400, &json!("invalid_grant")));
    assert_eq!(body["error_description"], "refresh token already used");
    let (status, body) = refresh("mock-rt-12345".to_owned()).await;
    assert_eq!((status, &body["error"]), (400, &json!("invalid_grant")));
    let (status, _) = refresh(second).await;
    assert_eq!(status, 200, "the rotated token is valid once");
    let stats = mock.token_stats();
    assert_eq!((stats.refresh_grants, stats.invalid_grants), (2, 1));
}

#[tokio::test]
async fn a_confidential_clients_refresh_needs_its_secret() {
    let mock = mock().await;
    mock.register_client("web", Some("pw"));
    let token = mock.issue_refresh_token("web");
    let grant = [("grant_type", "refresh_token"), ("refresh_token", &token)];
    let mut without_secret = grant.to_vec();
    without_secret.push(("client_id", "web"));
    let (status, body) = token_request(&mock, &without_secret, None).await;
    assert_eq!((status, &body["error"]), (401, &json!("invalid_client")));
    let (status, body) = token_request(&mock, &grant, Some(("web", "pw"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(mock.token_stats().basic_auth, 1);
}

#[tokio::test]
async fn lifetime_outage_and_malformed_requests() {
    let mock = mock().await;
    mock.register_client("app", Some("pw"));
    let grant = [("grant_type", "client_credentials")];
    mock.set_token_lifetime(Duration::from_millis(5500));
    let (status, body) = token_request(&mock, &grant, Some(("app", "pw"))).await;
    assert_eq!((status, &body["expires_in"]), (200, &json!(5)));

    mock.set_token_endpoint_status(Some(503));
    let (status, body) = token_request(&mock, &grant, Some(("app", "pw"))).await;
    assert_eq!(
        (status, &body["error"]),
        (503, &json!("temporarily_unavailable"))
    );
    mock.set_token_endpoint_status(None);
    let (status, _) = token_request(&mock, &grant, Some(("app", "pw"))).await;
    assert_eq!(status, 200);

    let (status, body) = token_request(&mock, &[("grant_type", "password")], None).await;
    assert_eq!(
        (status, &body["error"]),
        (400, &json!("unsupported_grant_type"))
    );
    let big = "x".repeat(65 * 1024);
    let (status, body) = token_request(
        &mock,
        &[("grant_type", "client_credentials"), ("pad", &big)],
        None,
    )
    .await;
    assert_eq!(
        (status, &body["error"]),
        (400, &json!("invalid_request")),
        "{body}"
    );
    let response = client()
        .post(mock.token_url())
        .header("content-type", "application/json")
        .body(r#"{"grant_type":"client_credentials"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(mock.token_stats().client_credentials_grants, 2);
    // Token requests are not model requests.
    assert_eq!(mock.request_count(), 0);
}
