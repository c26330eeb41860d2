//! Credentials defined by the config lists (`claude-api-key`, `codex-api-key`,
//! `gemini-api-key`, `openai-compatibility`), with ids derived from their content.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use switchyard_oauth::ClientCredentials;
use url::Url;

use super::{Credential, CredentialId, CredentialSource, ProviderKind, Secret, index_of};
use crate::config::{Config, OpenAiCompatConfig, ProviderKeyConfig};
use crate::token::TokenSource;

/// Every credential the config lists define, in list order.
pub fn credentials(config: &Config) -> Vec<Credential> {
    let mut ids = IdAllocator::default();
    let mut out = Vec::new();
    for (list, provider, entries) in [
        ("claude-api-key", ProviderKind::Claude, &config.claude_keys),
        ("codex-api-key", ProviderKind::Codex, &config.codex_keys),
        ("gemini-api-key", ProviderKind::Gemini, &config.gemini_keys),
        ("vertex-api-key", ProviderKind::Vertex, &config.vertex_keys),
    ] {
        for (i, entry) in entries.iter().enumerate() {
            out.push(provider_key(&mut ids, list, i, provider, entry));
        }
    }
    for (i, compat) in config.openai_compatibility.iter().enumerate() {
        let kind = format!("openai-compatibility:{}", compat.name);
        if let Some(oauth) = &compat.oauth {
            out.push(compat_oauth(&mut ids, &kind, i, compat, oauth));
            continue;
        }
        let keys: Vec<_> = if compat.api_key_entries.is_empty() {
            vec![None]
        } else {
            compat.api_key_entries.iter().map(Some).collect()
        };
        for (j, entry) in keys.into_iter().enumerate() {
            let api_key = entry.map(|e| e.api_key.as_str()).unwrap_or("");
            let id = ids.allocate(&kind, &[api_key, compat.base_url.as_str()]);
            out.push(compat_credential(
                id,
                compat,
                CompatKey {
                    label: format!("{}[{j}]", compat.name),
                    weight: entry.and_then(|e| e.weight).unwrap_or(compat.weight),
                    secret: match entry {
                        Some(e) => Secret::ApiKey(e.api_key.clone()),
                        None => Secret::None,
                    },
                    proxy_url: entry.and_then(|e| e.proxy_url.clone()),
                    entry: format!("openai-compatibility[{i}].api-key-entries[{j}]"),
                },
            ));
        }
    }
    out
}

fn provider_key(
    ids: &mut IdAllocator,
    list: &str,
    i: usize,
    provider: ProviderKind,
    entry: &ProviderKeyConfig,
) -> Credential {
    let base_url = entry.base_url.clone().unwrap_or_else(|| {
        Url::parse(provider.default_base_url().unwrap_or_default())
            .expect("built-in base URLs parse")
    });
    let base_text = entry.base_url.as_ref().map(Url::as_str).unwrap_or("");
    let (id, secret) = match &entry.oauth {
        Some(oauth) => (
            ids.allocate(
                &format!("{}:oauth", provider.as_str()),
                &[oauth.token_url.as_str(), &oauth.client_id, base_text],
            ),
            managed(oauth),
        ),
        None => (
            ids.allocate(
                &format!("{}:apikey", provider.as_str()),
                &[&entry.api_key, base_text],
            ),
            Secret::ApiKey(entry.api_key.clone()),
        ),
    };
    Credential {
        index: index_of(id.as_str()),
        id,
        provider,
        compat_name: None,
        label: format!("{list}[{i}]"),
        prefix: entry.prefix.clone(),
        priority: entry.priority,
        weight: entry.weight,
        disabled: false,
        base_url,
        secret,
        headers: entry.headers.clone(),
        models: entry.models.clone(),
        excluded_models: entry.excluded_models.clone(),
        proxy_url: entry.proxy_url.clone(),
        source: CredentialSource::Config {
            entry: format!("{list}[{i}]"),
        },
        request_retry: None,
        disable_cooling: None,
        attributes: BTreeMap::new(),
        metadata: None,
        compat_protocol: Default::default(),
        vertex: None,
        urls: Default::default(),
        auth_header: Default::default(),
    }
}

/// The one credential of an `openai-compatibility` entry with `oauth`: its id derives from
/// the token endpoint, the client id and the base URL (never the secret), so editing the secret
/// or the scope keeps it.
fn compat_oauth(
    ids: &mut IdAllocator,
    kind: &str,
    i: usize,
    compat: &OpenAiCompatConfig,
    oauth: &ClientCredentials,
) -> Credential {
    let id = ids.allocate(
        kind,
        &[
            "oauth",
            oauth.token_url.as_str(),
            &oauth.client_id,
            compat.base_url.as_str(),
        ],
    );
    compat_credential(
        id,
        compat,
        CompatKey {
            label: format!("{}[0]", compat.name),
            weight: compat.weight,
            secret: managed(oauth),
            proxy_url: None,
            entry: format!("openai-compatibility[{i}].oauth"),
        },
    )
}

/// What differs between the credentials of one `openai-compatibility` entry.
struct CompatKey {
    label: String,
    weight: u32,
    secret: Secret,
    proxy_url: Option<crate::config::ProxyUrl>,
    /// The key path of the credential's definition.
    entry: String,
}

/// A credential of the `openai-compatibility` entry `compat`.
fn compat_credential(id: CredentialId, compat: &OpenAiCompatConfig, key: CompatKey) -> Credential {
    Credential {
        index: index_of(id.as_str()),
        id,
        provider: ProviderKind::OpenAiCompatibility,
        compat_name: Some(compat.name.clone()),
        label: key.label,
        prefix: compat.prefix.clone(),
        priority: compat.priority,
        weight: key.weight,
        disabled: false,
        base_url: compat.base_url.clone(),
        secret: key.secret,
        headers: compat.headers.clone(),
        models: compat.models.clone(),
        excluded_models: compat.excluded_models.clone(),
        proxy_url: key.proxy_url,
        source: CredentialSource::Config { entry: key.entry },
        request_retry: None,
        disable_cooling: None,
        attributes: BTreeMap::from([("compat_name".to_owned(), compat.name.clone())]),
        metadata: None,
        compat_protocol: compat.protocol,
        vertex: None,
        urls: Default::default(),
        auth_header: Default::default(),
    }
}

/// A bearer token minted with the client-credentials grant.
fn managed(oauth: &ClientCredentials) -> Secret {
    Secret::Managed(Arc::new(TokenSource::ClientCredentials(oauth.clone())))
}

/// Hands out `kind:<12 hex>` ids, appending `-N` when the same content appears twice.
#[derive(Default)]
struct IdAllocator {
    seen: HashMap<String, usize>,
}

impl IdAllocator {
    fn allocate(&mut self, kind: &str, parts: &[&str]) -> CredentialId {
        let mut hasher = Sha256::new();
        hasher.update(kind.as_bytes());
        for part in parts {
            hasher.update([0u8]);
            hasher.update(part.trim().as_bytes());
        }
        let base = format!("{kind}:{}", &hex::encode(hasher.finalize())[..12]);
        let count = self.seen.entry(base.clone()).or_insert(0);
        *count += 1;
        if *count == 1 {
            CredentialId::new(base)
        } else {
            CredentialId::new(format!("{base}-{}", *count - 1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(yaml: &str) -> Config {
        Config::parse(yaml, None, std::env::temp_dir())
            .unwrap()
            .config
    }

    #[test]
    fn ids_are_stable_and_content_derived() {
        let yaml = "claude-api-key:\n  - api-key: k1\n  - api-key: k2\n  - api-key: k1\n";
        let first = credentials(&load(yaml));
        let again = credentials(&load(yaml));
        let ids: Vec<_> = first.iter().map(|c| c.id.to_string()).collect();
        assert_eq!(
            ids,
            again.iter().map(|c| c.id.to_string()).collect::<Vec<_>>()
        );
        assert!(ids[0].starts_with("claude:apikey:"));
        assert_eq!(ids[0].len(), "claude:apikey:".len() + 12);
        assert_ne!(ids[0], ids[1]);
        assert_eq!(ids[2], format!("{}-1", ids[0]));
        // The id does not depend on the entry's position.
        let reordered = credentials(&load("claude-api-key:\n  - api-key: k2\n"));
        assert_eq!(reordered[0].id.as_str(), ids[1]);
        assert!(!ids[0].contains("k1"));
    }

    #[test]
    fn every_list_becomes_credentials() {
        let config = load(
            "codex-api-key:\n  - api-key: c\ngemini-api-key:\n  - api-key: g\n    priority: 3\n\
             openai-compatibility:\n  - name: router\n    base-url: http://127.0.0.1:1/v1\n\
             \x20   api-key-entries:\n      - api-key: a\n      - api-key: b\n    models:\n      - name: m\n",
        );
        let all = credentials(&config);
        let providers: Vec<_> = all.iter().map(|c| c.provider).collect();
        assert_eq!(
            providers,
            [
                ProviderKind::Codex,
                ProviderKind::Gemini,
                ProviderKind::OpenAiCompatibility,
                ProviderKind::OpenAiCompatibility
            ]
        );
        assert_eq!(all[0].base_url.as_str(), "https://api.openai.com/v1");
        assert_eq!(all[1].priority, 3);
        assert_eq!(all[2].compat_name.as_deref(), Some("router"));
        assert!(
            all[2]
                .id
                .as_str()
                .starts_with("openai-compatibility:router:")
        );
        assert_eq!(all[3].label, "router[1]");
    }

    #[test]
    fn weights_carry_over_and_an_api_key_entry_overrides_its_provider() {
        let config = load(
            "claude-api-key:\n  - api-key: a\n    weight: 5\n  - api-key: b\n\
             openai-compatibility:\n  - name: router\n    base-url: http://127.0.0.1:1/v1\n    weight: 3\n\
             \x20   api-key-entries:\n      - api-key: x\n        weight: 0\n      - api-key: y\n    models:\n      - name: m\n",
        );
        let weights: Vec<u32> = credentials(&config).iter().map(|c| c.weight).collect();
        assert_eq!(weights, [5, 1, 0, 3]);
    }

    fn oauth(secret: &str, scope: &str) -> String {
        format!(
            "    oauth:\n      token-url: https://login.example.com/token\n      client-id: app-1\n      client-secret: {secret}\n      scope: {scope}\n"
        )
    }

    #[test]
    fn an_oauth_entry_is_a_client_credentials_credential() {
        let config = load(&format!(
            "codex-api-key:\n  - base-url: https://r.openai.azure.com/openai/v1\n    proxy-url: direct\n{}\
             openai-compatibility:\n  - name: azure\n    base-url: https://r.openai.azure.com/openai/v1\n    weight: 4\n    models: [{{name: gpt-4o}}]\n{}",
            oauth("cs-secret-1", "a"),
            oauth("cs-secret-2", "b"),
        ));
        let all = credentials(&config);
        assert_eq!(all.len(), 2);
        let codex = &all[0];
        assert!(
            codex.id.as_str().starts_with("codex:oauth:"),
            "{}",
            codex.id
        );
        assert_eq!(codex.label, "codex-api-key[0]");
        assert_eq!(codex.proxy_url, Some(crate::config::ProxyUrl::Direct));
        let Secret::Managed(source) = &codex.secret else {
            panic!("not a managed secret");
        };
        let TokenSource::ClientCredentials(client) = source.as_ref() else {
            panic!("not client credentials");
        };
        assert_eq!(client.client_secret, "cs-secret-1");
        assert_eq!(client.scope, "a");
        let compat = &all[1];
        assert!(
            compat
                .id
                .as_str()
                .starts_with("openai-compatibility:azure:"),
            "{}",
            compat.id
        );
        assert_eq!(compat.label, "azure[0]");
        assert_eq!(compat.weight, 4);
        assert_eq!(
            compat.source,
            CredentialSource::Config {
                entry: "openai-compatibility[0].oauth".to_owned()
            }
        );
        assert_eq!(
            compat.secret.clone(),
            managed(config.openai_compatibility[0].oauth.as_ref().unwrap())
        );
        for credential in &all {
            let shown = format!("{credential:?}");
            assert!(shown.contains("Managed(client_credentials)"), "{shown}");
            assert!(!shown.contains("cs-secret"), "{shown}");
        }
    }

    #[test]
    fn oauth_ids_follow_endpoint_client_and_base_url_never_the_secret() {
        let id = |secret: &str, scope: &str, base: &str| {
            let config = load(&format!(
                "codex-api-key:\n  - base-url: {base}\n{}",
                oauth(secret, scope)
            ));
            credentials(&config)[0].id.to_string()
        };
        let first = id("cs-secret-1", "a", "https://one/v1");
        assert_eq!(first, id("cs-secret-1", "a", "https://one/v1"), "stable");
        assert_eq!(
            first,
            id("cs-rotated-2", "b", "https://one/v1"),
            "secret and scope do not count"
        );
        assert_ne!(
            first,
            id("cs-secret-1", "a", "https://two/v1"),
            "the base URL counts"
        );
        assert!(!first.contains("cs-secret"));
        let other_client = credentials(&load(&format!(
            "codex-api-key:\n  - base-url: https://one/v1\n{}",
            oauth("cs-secret-1", "a").replace("app-1", "app-2")
        )))[0]
            .id
            .to_string();
        assert_ne!(first, other_client, "the client id counts");
        // An API-key entry with the same text as the client id never shares the id.
        let keyed = credentials(&load(
            "codex-api-key:\n  - api-key: app-1\n    base-url: https://one/v1\n",
        ));
        assert_ne!(keyed[0].id.to_string(), first);
    }
}
