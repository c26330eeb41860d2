//! Writing a rotating credential's new token set back through the credential store, so a
//! restart (or another replica with its own folder) starts from the newest refresh token.

use serde_json::{Map, Value};
use switchyard_oauth::TokenSet;

use super::env::Env;
use crate::clock::unix_millis;

/// Writes `set` into the credential's `oauth2` object (access token, refresh token, expiry;
/// every other field kept) through the store. A failure is logged: the set stays in memory.
pub(crate) async fn write_back(env: &Env, set: &TokenSet) {
    let credential = &env.credential;
    let Some(metadata) = &credential.metadata else {
        return;
    };
    let mut updated = (**credential).clone();
    updated.metadata = Some(with_token_set(metadata, set));
    match env.store.save(&env.auth_dir, &updated).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {}
        Err(e) => tracing::warn!(
            credential = %credential.id,
            "the refreshed token set could not be written back: {e}"
        ),
    }
}

/// `metadata` with `set` in its `oauth2` object.
pub(crate) fn with_token_set(metadata: &Map<String, Value>, set: &TokenSet) -> Map<String, Value> {
    let mut metadata = metadata.clone();
    let oauth2 = metadata
        .entry("oauth2")
        .or_insert_with(|| Value::Object(Map::new()));
    if !oauth2.is_object() {
        *oauth2 = Value::Object(Map::new());
    }
    if let Value::Object(oauth2) = oauth2 {
        oauth2.insert(
            "access_token".into(),
            Value::String(set.access_token.clone()),
        );
        if let Some(refresh) = &set.refresh_token {
            oauth2.insert("refresh_token".into(), Value::String(refresh.clone()));
        }
        oauth2.insert(
            "expires_at".into(),
            Value::from(unix_millis(set.expires_at) / 1000),
        );
    }
    metadata
}
