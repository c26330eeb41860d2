//! Credentials defined by the config lists (`claude-api-key`, `codex-api-key`,
//! `gemini-api-key`, `openai-compatibility`), with ids derived from their content.

use std::collections::{BTreeMap, HashMap};

use sha2::{Digest, Sha256};
use url::Url;

use super::{Credential, CredentialId, CredentialSource, ProviderKind, Secret, index_of};
use crate::config::{Config, ProviderKeyConfig};

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
        let keys: Vec<_> = if compat.api_key_entries.is_empty() {
            vec![None]
        } else {
            compat.api_key_entries.iter().map(Some).collect()
        };
        for (j, entry) in keys.into_iter().enumerate() {
            let api_key = entry.map(|e| e.api_key.as_str()).unwrap_or("");
            let id = ids.allocate(&kind, &[api_key, compat.base_url.as_str()]);
            out.push(Credential {
                index: index_of(id.as_str()),
                id,
                provider: ProviderKind::OpenAiCompatibility,
                compat_name: Some(compat.name.clone()),
                label: format!("{}[{j}]", compat.name),
                prefix: compat.prefix.clone(),
                priority: compat.priority,
                weight: entry.and_then(|e| e.weight).unwrap_or(compat.weight),
                disabled: false,
                base_url: compat.base_url.clone(),
                secret: match entry {
                    Some(e) => Secret::ApiKey(e.api_key.clone()),
                    None => Secret::None,
                },
                headers: compat.headers.clone(),
                models: compat.models.clone(),
                excluded_models: compat.excluded_models.clone(),
                proxy_url: entry.and_then(|e| e.proxy_url.clone()),
                source: CredentialSource::Config {
                    entry: format!("openai-compatibility[{i}].api-key-entries[{j}]"),
                },
                request_retry: None,
                disable_cooling: None,
                attributes: BTreeMap::from([("compat_name".to_owned(), compat.name.clone())]),
                metadata: None,
                compat_protocol: compat.protocol,
                vertex: None,
                urls: Default::default(),
            });
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
    let kind = format!("{}:apikey", provider.as_str());
    let base_text = entry.base_url.as_ref().map(Url::as_str).unwrap_or("");
    let id = ids.allocate(&kind, &[&entry.api_key, base_text]);
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
        secret: Secret::ApiKey(entry.api_key.clone()),
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
    }
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
}
