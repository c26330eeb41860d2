//! The client keys of `config.yaml`: the top-level `api-keys` (CLIProxyAPI's legacy list) and the
//! `config-api-key` instances of `auth.providers`, kept in sync as CLIProxyAPI does.
//!
//! - When `auth.providers` has a `config-api-key` instance, the **first** one is authoritative:
//!   its keys are the client keys when it has any, and the top-level `api-keys` only fills it when
//!   it has none. Either way the top-level list mirrors it ([`Config::api_keys`]) and no
//!   `config-inline` instance is added. A top-level list that differs is reported; the keys it
//!   loses are named by their fingerprint ([`crate::usage::fingerprint`]), never in clear.
//! - Without one, a non-empty `api-keys` becomes the instance `config-inline`, appended after
//!   the other instances (the reference's order).
//! - Every `config-api-key` instance left without keys is reported: it answers `not-handled`.
//!
//! The management API's `/api-keys` edits the same set in the file (`management::api_keys`), so
//! both sides find the authoritative instance with [`first_key_instance`].
//!
//! [`Config::api_keys`]: super::Config::api_keys

use std::collections::HashSet;

use super::{CONFIG_API_KEY_TYPE, CONFIG_INLINE_NAME, InstanceConfig, OnFault};

/// The most ignored keys a warning names; the rest are counted.
pub(crate) const MAX_NAMED_KEYS: usize = 8;

/// The position of the authoritative instance: the first whose type is `config-api-key`.
pub(crate) fn first_key_instance<'a>(kinds: impl IntoIterator<Item = &'a str>) -> Option<usize> {
    kinds
        .into_iter()
        .position(|kind| kind.trim() == CONFIG_API_KEY_TYPE)
}

/// The client keys after the sync, and what to tell the operator.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ClientKeys {
    /// The effective top-level list: the authoritative instance's keys, or `api-keys`.
    pub api_keys: Vec<String>,
    /// Warnings as `(key path, message)`.
    pub warnings: Vec<(String, String)>,
}

/// An `auth.providers` entry takes the name reserved for the top-level keys (the key path of
/// its name).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ReservedName(pub String);

/// Applies the rules of this module to `chain` (the instances of `auth.providers`, in file
/// order) and the normalized top-level `api_keys`.
pub(crate) fn sync(
    chain: &mut Vec<InstanceConfig>,
    api_keys: &[String],
) -> Result<ClientKeys, ReservedName> {
    let mut out = ClientKeys::default();
    match first_key_instance(chain.iter().map(|i| i.kind.as_str())) {
        Some(at) => {
            let own = keys_of(&chain[at]);
            if own.is_empty() {
                set_keys(&mut chain[at], api_keys.to_vec());
                out.api_keys = api_keys.to_vec();
            } else {
                if let Some(message) = differs(api_keys, &own, at, &chain[at].name) {
                    out.warnings.push(("api-keys".to_owned(), message));
                }
                out.api_keys = own;
            }
        }
        None if api_keys.is_empty() => {}
        None => {
            if let Some(at) = chain.iter().position(|i| i.name == CONFIG_INLINE_NAME) {
                return Err(ReservedName(format!("auth.providers[{at}].name")));
            }
            chain.push(InstanceConfig {
                name: CONFIG_INLINE_NAME.to_owned(),
                kind: CONFIG_API_KEY_TYPE.to_owned(),
                settings: serde_json::json!({ "api-keys": api_keys }),
                limits: None,
                on_fault: OnFault::Deny,
            });
            out.api_keys = api_keys.to_vec();
        }
    }
    for (i, instance) in chain.iter().enumerate() {
        if instance.kind == CONFIG_API_KEY_TYPE && keys_of(instance).is_empty() {
            out.warnings.push((
                format!("auth.providers[{i}]"),
                format!(
                    "{CONFIG_API_KEY_TYPE} instance {:?} has no keys: it admits nobody (it answers not-handled)",
                    instance.name
                ),
            ));
        }
    }
    Ok(out)
}

/// The warning for a top-level list that is not the authoritative instance's, if it is not.
fn differs(api_keys: &[String], own: &[String], at: usize, name: &str) -> Option<String> {
    let own_set: HashSet<&str> = own.iter().map(String::as_str).collect();
    let top_set: HashSet<&str> = api_keys.iter().map(String::as_str).collect();
    if api_keys.is_empty() || own_set == top_set {
        return None;
    }
    let ignored: Vec<&str> = api_keys
        .iter()
        .map(String::as_str)
        .filter(|key| !own_set.contains(key))
        .collect();
    let head = format!(
        "differs from auth.providers[{at}] ({name:?}), the first {CONFIG_API_KEY_TYPE} instance, whose keys are used"
    );
    if ignored.is_empty() {
        return Some(format!("{head}; no top-level key is ignored"));
    }
    let mut named: Vec<String> = ignored
        .iter()
        .take(MAX_NAMED_KEYS)
        .map(|key| crate::usage::fingerprint(key))
        .collect();
    if ignored.len() > MAX_NAMED_KEYS {
        named.push(format!("and {} more", ignored.len() - MAX_NAMED_KEYS));
    }
    Some(format!(
        "{head}; ignored keys, by SHA-256 fingerprint (as in usage records): {}",
        named.join(", ")
    ))
}

/// The `api-keys` strings of an instance's settings.
fn keys_of(instance: &InstanceConfig) -> Vec<String> {
    instance
        .settings
        .get("api-keys")
        .and_then(serde_json::Value::as_array)
        .map(|keys| {
            keys.iter()
                .filter_map(|k| k.as_str())
                .filter(|k| !k.trim().is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn set_keys(instance: &mut InstanceConfig, keys: Vec<String>) {
    if let Some(object) = instance.settings.as_object_mut() {
        object.insert("api-keys".to_owned(), serde_json::json!(keys));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(name: &str, kind: &str, keys: &[&str]) -> InstanceConfig {
        InstanceConfig {
            name: name.to_owned(),
            kind: kind.to_owned(),
            settings: serde_json::json!({ "api-keys": keys }),
            limits: None,
            on_fault: OnFault::Deny,
        }
    }

    fn strings(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|k| (*k).to_owned()).collect()
    }

    fn names(chain: &[InstanceConfig]) -> Vec<&str> {
        chain.iter().map(|i| i.name.as_str()).collect()
    }

    #[test]
    fn the_first_config_api_key_instance_wins_and_the_top_level_list_mirrors_it() {
        let mut chain = vec![
            instance("jwt", "jwt-hs256", &[]),
            instance("default", CONFIG_API_KEY_TYPE, &["k1", "k2"]),
            instance("more", CONFIG_API_KEY_TYPE, &["m1"]),
        ];
        let out = sync(&mut chain, &strings(&["legacy", "k1"])).unwrap();
        assert_eq!(out.api_keys, ["k1", "k2"]);
        assert_eq!(
            names(&chain),
            ["jwt", "default", "more"],
            "no config-inline"
        );
        assert_eq!(
            chain[1].settings["api-keys"],
            serde_json::json!(["k1", "k2"])
        );
        assert_eq!(out.warnings.len(), 1);
        let (key, message) = &out.warnings[0];
        assert_eq!(key, "api-keys");
        assert!(
            message.contains("auth.providers[1] (\"default\")"),
            "{message}"
        );
        // The ignored key is named by fingerprint, never in clear.
        assert!(
            message.contains(&crate::usage::fingerprint("legacy")),
            "{message}"
        );
        assert!(
            !message.contains("legacy") && !message.contains("k1"),
            "{message}"
        );
    }

    #[test]
    fn the_top_level_list_fills_an_empty_instance() {
        let mut chain = vec![instance("default", CONFIG_API_KEY_TYPE, &["  "])];
        let out = sync(&mut chain, &strings(&["legacy"])).unwrap();
        assert_eq!(out.api_keys, ["legacy"]);
        assert_eq!(chain[0].settings["api-keys"], serde_json::json!(["legacy"]));
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    }

    #[test]
    fn the_same_keys_in_another_order_are_no_warning_and_fewer_are() {
        let mut chain = vec![instance("default", CONFIG_API_KEY_TYPE, &["k1", "k2"])];
        let out = sync(&mut chain, &strings(&["k2", "k1"])).unwrap();
        assert!(out.warnings.is_empty());
        let out = sync(&mut chain, &strings(&["k2"])).unwrap();
        assert_eq!(out.api_keys, ["k1", "k2"]);
        assert!(out.warnings[0].1.ends_with("no top-level key is ignored"));
    }

    #[test]
    fn without_an_instance_the_keys_become_config_inline_last() {
        let mut chain = vec![instance("jwt", "jwt-hs256", &[])];
        let out = sync(&mut chain, &strings(&["k1"])).unwrap();
        assert_eq!(names(&chain), ["jwt", "config-inline"]);
        assert_eq!(chain[1].settings["api-keys"], serde_json::json!(["k1"]));
        assert_eq!(out.api_keys, ["k1"]);
        let mut chain = vec![instance("config-inline", "jwt-hs256", &[])];
        assert_eq!(
            sync(&mut chain, &strings(&["k1"])),
            Err(ReservedName("auth.providers[0].name".to_owned()))
        );
        // No keys anywhere: nothing added, nothing reported.
        let mut chain = vec![instance("config-inline", "jwt-hs256", &[])];
        assert_eq!(sync(&mut chain, &[]).unwrap(), ClientKeys::default());
    }

    #[test]
    fn instances_without_keys_are_reported() {
        let mut chain = vec![
            instance("default", CONFIG_API_KEY_TYPE, &[]),
            instance("spare", CONFIG_API_KEY_TYPE, &[]),
        ];
        let out = sync(&mut chain, &[]).unwrap();
        let keys: Vec<_> = out.warnings.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["auth.providers[0]", "auth.providers[1]"]);
        assert!(out.warnings[1].1.contains("\"spare\" has no keys"));
        assert!(out.warnings[1].1.contains("not-handled"));
    }

    #[test]
    fn a_long_ignored_list_names_a_bounded_number_of_keys() {
        let mut chain = vec![instance("default", CONFIG_API_KEY_TYPE, &["k"])];
        let many: Vec<String> = (0..10_000).map(|i| format!("legacy-{i}")).collect();
        let out = sync(&mut chain, &many).unwrap();
        let message = &out.warnings[0].1;
        let (_, list) = message.split_once("usage records): ").unwrap();
        let named: Vec<_> = list.split(", ").collect();
        assert_eq!(named.len(), MAX_NAMED_KEYS + 1);
        assert_eq!(named[0], crate::usage::fingerprint("legacy-0"));
        assert_eq!(
            named[MAX_NAMED_KEYS],
            format!("and {} more", 10_000 - MAX_NAMED_KEYS)
        );
        assert!(message.len() < 512, "{}", message.len());
    }

    #[test]
    fn the_authoritative_instance_is_found_by_its_trimmed_type() {
        assert_eq!(
            first_key_instance(["a", " config-api-key ", "config-api-key"]),
            Some(1)
        );
        assert_eq!(first_key_instance(["a", "b"]), None);
    }
}
