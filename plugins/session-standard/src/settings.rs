//! The extractor's settings: there are none.

/// Accepts `{}` (or `null`); rejects anything else with a message naming the unknown keys.
pub fn check(settings_json: &str) -> Result<(), String> {
    let value: serde_json::Value = serde_json::from_str(settings_json)
        .map_err(|e| format!("settings are not valid JSON: {e}"))?;
    match value {
        serde_json::Value::Null => Ok(()),
        serde_json::Value::Object(map) if map.is_empty() => Ok(()),
        serde_json::Value::Object(map) => {
            let keys: Vec<&str> = map.keys().map(String::as_str).collect();
            Err(format!(
                "session-standard takes no settings; unknown: {}",
                keys.join(", ")
            ))
        }
        other => Err(format!(
            "session-standard takes no settings; expected {{}}, got {other}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn only_empty_settings_are_accepted() {
        assert_eq!(check("{}"), Ok(()));
        assert_eq!(check("null"), Ok(()));
        assert_eq!(
            check(r#"{"ttl": 1, "mode": "x"}"#).unwrap_err(),
            "session-standard takes no settings; unknown: mode, ttl"
        );
        assert!(check("[]").unwrap_err().contains("expected {}"));
        assert!(check("{").unwrap_err().contains("not valid JSON"));
    }
}
