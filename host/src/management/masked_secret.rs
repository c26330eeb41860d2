//! The `oauth.client-secret` of provider-list entries, masked in answers.
//!
//! `GET` shows `****` and the secret's last four characters (only `****` for a secret shorter
//! than eight). A `PUT` or `PATCH` that sends a masked value back keeps the stored secret; a
//! masked value that matches no stored secret is refused, so a mask is never written as a
//! secret.

use serde_json::{Map, Value};

/// The prefix of every masked value.
const MASK: &str = "****";
/// The field masked inside an entry's `oauth` mapping.
const SECRET_FIELD: &str = "client-secret";

/// `****` and the last four characters of `secret` (only `****` when it is shorter than eight).
pub(crate) fn mask(secret: &str) -> String {
    let count = secret.chars().count();
    if count < 8 {
        return MASK.to_owned();
    }
    let tail: String = secret.chars().skip(count - 4).collect();
    format!("{MASK}{tail}")
}

/// Masks the `oauth.client-secret` of `entry` in place.
pub(crate) fn mask_entry(entry: &mut Value) {
    if let Some(secret) = secret_of_mut(entry) {
        *secret = Value::String(mask(secret.as_str().unwrap_or_default()));
    }
}

/// For a `PUT`: puts the stored secret back into an entry whose `oauth.client-secret` is a
/// masked value, taken from the stored entry with the same `token-url` and `client-id` whose
/// secret masks alike.
pub(crate) fn restore_entry(entry: &mut Value, stored: &[Value]) -> Result<(), String> {
    let Some(sent) = masked_secret_of(entry) else {
        return Ok(());
    };
    let client = |value: &Value| {
        let oauth = value.get("oauth")?;
        Some((
            oauth.get("token-url")?.as_str()?.trim().to_owned(),
            oauth.get("client-id")?.as_str()?.trim().to_owned(),
        ))
    };
    let wanted = client(entry);
    let original = stored
        .iter()
        .filter(|candidate| wanted.is_some() && client(candidate) == wanted)
        .filter_map(stored_secret)
        .find(|secret| mask(secret) == sent)
        .ok_or_else(refused)?;
    if let Some(secret) = secret_of_mut(entry) {
        *secret = Value::String(original);
    }
    Ok(())
}

/// For a `PATCH` of `oauth`: the stored mapping with the sent fields set (`null` removes one);
/// a sent masked `client-secret` keeps the stored secret.
pub(crate) fn merge_oauth(sent: &Value, stored_entry: &Value) -> Result<Value, String> {
    let Value::Object(fields) = sent else {
        return Ok(sent.clone());
    };
    let stored_oauth = stored_entry.get("oauth").and_then(Value::as_object);
    let mut merged: Map<String, Value> = stored_oauth.cloned().unwrap_or_default();
    for (name, value) in fields {
        match value {
            Value::Null => {
                merged.remove(name);
            }
            value => {
                merged.insert(name.clone(), value.clone());
            }
        }
    }
    if let Some(sent_secret) = fields
        .get(SECRET_FIELD)
        .and_then(Value::as_str)
        .filter(|s| s.starts_with(MASK))
    {
        let original = stored_secret(stored_entry)
            .filter(|secret| mask(secret) == sent_secret)
            .ok_or_else(refused)?;
        merged.insert(SECRET_FIELD.to_owned(), Value::String(original));
    }
    Ok(Value::Object(merged))
}

fn refused() -> String {
    format!(
        "oauth.{SECRET_FIELD} is a masked value that matches no stored secret: send the secret itself"
    )
}

fn secret_of_mut(entry: &mut Value) -> Option<&mut Value> {
    entry
        .get_mut("oauth")?
        .get_mut(SECRET_FIELD)
        .filter(|v| v.is_string())
}

/// The entry's `oauth.client-secret` when it is a masked value.
fn masked_secret_of(entry: &Value) -> Option<String> {
    let secret = entry.get("oauth")?.get(SECRET_FIELD)?.as_str()?;
    secret.starts_with(MASK).then(|| secret.to_owned())
}

fn stored_secret(entry: &Value) -> Option<String> {
    Some(
        entry
            .get("oauth")?
            .get(SECRET_FIELD)?
            .as_str()?
            .trim()
            .to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(secret: &str) -> Value {
        json!({"base-url": "https://x/v1", "oauth": {
            "token-url": "https://login/token", "client-id": "app", "client-secret": secret,
        }})
    }

    #[test]
    fn masks_show_at_most_the_last_four_characters() {
        assert_eq!(mask("cs-0123456789"), "****6789");
        assert_eq!(mask("12345678"), "****5678");
        assert_eq!(mask("1234567"), "****");
        assert_eq!(mask(""), "****");
        let mut listed = entry("cs-0123456789");
        mask_entry(&mut listed);
        assert_eq!(listed["oauth"]["client-secret"], "****6789");
        assert_eq!(listed["oauth"]["client-id"], "app");
        let mut plain = json!({"api-key": "k"});
        mask_entry(&mut plain);
        assert_eq!(plain, json!({"api-key": "k"}));
    }

    #[test]
    fn a_put_of_the_masked_value_restores_the_stored_secret() {
        let stored = [entry("other-secret-1"), entry("cs-0123456789")];
        let mut sent = entry("****6789");
        restore_entry(&mut sent, &stored).unwrap();
        assert_eq!(sent["oauth"]["client-secret"], "cs-0123456789");
        let mut fresh = entry("a-new-secret");
        restore_entry(&mut fresh, &stored).unwrap();
        assert_eq!(fresh["oauth"]["client-secret"], "a-new-secret");
        let mut unknown = entry("****0000");
        assert!(restore_entry(&mut unknown, &stored).is_err());
        // Another client's secret is never borrowed.
        let mut other_client = entry("****6789");
        other_client["oauth"]["client-id"] = json!("someone-else");
        assert!(restore_entry(&mut other_client, &stored).is_err());
    }

    #[test]
    fn a_patch_merges_into_the_stored_oauth_and_keeps_a_masked_secret() {
        let stored = entry("cs-0123456789");
        let merged = merge_oauth(
            &json!({"client-secret": "****6789", "scope": "s2", "client-id": null}),
            &stored,
        )
        .unwrap();
        assert_eq!(
            merged,
            json!({"token-url": "https://login/token", "client-secret": "cs-0123456789", "scope": "s2"})
        );
        let replaced = merge_oauth(&json!({"client-secret": "new-one"}), &stored).unwrap();
        assert_eq!(replaced["client-secret"], "new-one");
        let wrong = merge_oauth(&json!({"client-secret": "****0000"}), &stored).unwrap_err();
        assert!(wrong.contains("masked"), "{wrong}");
        assert!(!wrong.contains("0123456789"));
        assert!(merge_oauth(&json!({"client-secret": "****6789"}), &json!({})).is_err());
    }
}
