//! A Vertex-style token lifecycle through the public API only: key → signed request → what a
//! token server checks → token response → sealed for other replicas → read back.

use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use switchyard_oauth::{
    CLOUD_PLATFORM_SCOPE, JWT_BEARER_GRANT, Lifetime, Sealer, ServiceAccountKey, TokenRequest,
    TokenSet, parse_token_response,
};

const FIXTURE: &str = include_str!("../../tests/fixtures/oauth/service-account.json");

/// What a token server does with the request body: the assertion, when the grant is JWT-bearer
/// and the signature checks out against `public_key_der`.
fn accepted_assertion(body: &str, public_key_der: &[u8]) -> Option<serde_json::Value> {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let grant = form.iter().find(|(name, _)| name == "grant_type")?;
    if grant.1 != JWT_BEARER_GRANT {
        return None;
    }
    let jwt = &form.iter().find(|(name, _)| name == "assertion")?.1;
    let (signing_input, signature) = jwt.rsplit_once('.')?;
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public_key_der)
        .verify(signing_input.as_bytes(), &signature)
        .ok()?;
    let claims = URL_SAFE_NO_PAD
        .decode(signing_input.split('.').nth(1)?)
        .ok()?;
    serde_json::from_slice(&claims).ok()
}

#[test]
fn a_service_account_token_goes_from_key_to_sealed_store_and_back() {
    let mut json: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
    json["token_uri"] = "http://127.0.0.1:4321/oauth/token".into();
    let key = ServiceAccountKey::from_json(&json).unwrap();
    let now = UNIX_EPOCH + Duration::from_secs(1_750_000_000);

    let request = TokenRequest::jwt_bearer(&key, CLOUD_PLATFORM_SCOPE, now);
    assert_eq!(request.url.as_str(), "http://127.0.0.1:4321/oauth/token");
    assert_eq!(request.authorization(), None);
    let claims = accepted_assertion(&request.body(), key.public_key_der()).unwrap();
    assert_eq!(claims["aud"], "http://127.0.0.1:4321/oauth/token");
    assert_eq!(claims["scope"], CLOUD_PLATFORM_SCOPE);
    assert_eq!(claims["iss"], json["client_email"]);

    // A body whose assertion is swapped for one of another scope, keeping the signature,
    // is refused.
    let forged_body = request.body().replace(
        &URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap()),
        &URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&serde_json::json!({"scope": "everything"})).unwrap()),
    );
    assert_ne!(forged_body, request.body());
    assert_eq!(accepted_assertion(&forged_body, key.public_key_der()), None);

    let answer = br#"{"access_token":"ya29.minted","expires_in":3599,"token_type":"Bearer"}"#;
    let set = parse_token_response(200, answer, now, Lifetime::default()).unwrap();
    assert_eq!(set.expires_at, now + Duration::from_secs(3599));

    let writer = Sealer::new(b"shared secret", "token-set:v1");
    let reader = Sealer::new(b"shared secret", "token-set:v1");
    let sealed = writer.seal(&set.to_json(), b"vertex-switchyard-test");
    let opened = reader.open(&sealed, b"vertex-switchyard-test").unwrap();
    assert_eq!(TokenSet::from_json(&opened), Some(set));
}
