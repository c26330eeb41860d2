//! Which credential serves which model.
//!
//! Built once per generation from the credentials. A credential with `models` serves exactly
//! those aliases; one without serves its provider's built-in list and family. `prefix/model`
//! targets only credentials with that prefix, excluded models are never served, and a thinking
//! suffix is ignored for routing.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use super::name::ModelName;
use super::tracked::Tracking;
use super::{builtin, pattern, safe_name};
use crate::credential::Credential;
use crate::credential::candidate::Candidate;
use crate::credential::state::CredentialState;
use crate::protocol::Protocol;

/// [`Resolved::provider`] when credentials of several providers serve the model.
const MIXED: &str = "mixed";

/// One credential as the registry sees it.
#[derive(Debug)]
struct Entry {
    credential: Arc<Credential>,
    state: Arc<CredentialState>,
}

/// The credentials that serve a requested model.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// `claude`, `codex`, … or `mixed` when several providers serve it.
    pub provider: &'static str,
    /// `provider:model`, the selector's route key ([`crate::credential::selector::PickRequest`]),
    /// built once; [`Resolved::model`] is its tail.
    pub route_key: String,
    /// The serving credentials, in id order.
    pub candidates: Vec<Candidate>,
    /// Whether the name the client sent is one [`ModelRegistry::list`] lists (a configured
    /// alias or a built-in name, with or without a prefix): how usage totals may keep it.
    pub tracking: Tracking,
}

/// `provider:model` in one allocation of the exact size.
fn route_key(provider: &str, model: &str) -> String {
    let mut key = String::with_capacity(provider.len() + 1 + model.len());
    key.push_str(provider);
    key.push(':');
    key.push_str(model);
    key
}

impl Resolved {
    /// The model as routed: without prefix and thinking suffix.
    pub fn model(&self) -> &str {
        &self.route_key[self.provider.len() + 1..]
    }
}

/// The outcome of resolving a model for a protocol.
#[derive(Debug, Clone)]
pub enum Resolution {
    /// Credentials serve the model (in the client's protocol or translated).
    Found(Resolved),
    /// Nothing serves the model.
    Unknown,
}

/// A model as listed by the model endpoints.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ListedModel {
    /// The id clients use (with the credential's prefix when it has one).
    pub id: String,
    /// The provider serving it.
    pub provider: &'static str,
}

/// Model → credential lookup for one generation.
#[derive(Debug, Default)]
pub struct ModelRegistry {
    entries: Vec<Entry>,
    /// Lower-cased client name → (entry, upstream name) for credentials that list models.
    explicit: HashMap<String, Vec<(usize, Arc<str>)>>,
    /// Entries without `models`, served by built-in list and family.
    builtin: Vec<usize>,
    prefixes: HashSet<String>,
    /// Every id [`ModelRegistry::list`] returns.
    listed: HashSet<String>,
}

impl ModelRegistry {
    /// Indexes `credentials` (disabled ones are kept for reports but never resolved).
    pub fn new(credentials: Vec<(Arc<Credential>, Arc<CredentialState>)>) -> Self {
        let mut entries: Vec<Entry> = credentials
            .into_iter()
            .map(|(credential, state)| Entry { credential, state })
            .collect();
        entries.sort_by(|a, b| a.credential.id.cmp(&b.credential.id));
        let mut registry = ModelRegistry::default();
        for (i, entry) in entries.iter().enumerate() {
            let credential = &entry.credential;
            if let Some(prefix) = &credential.prefix {
                registry.prefixes.insert(prefix.clone());
            }
            if credential.models.is_empty() {
                registry.builtin.push(i);
            }
            for model in &credential.models {
                registry
                    .explicit
                    .entry(model.alias.to_ascii_lowercase())
                    .or_default()
                    .push((i, Arc::from(model.name.as_str())));
            }
        }
        registry.entries = entries;
        registry.listed = registry.list().into_iter().map(|m| m.id).collect();
        registry
    }

    /// Every credential, in id order.
    pub fn credentials(&self) -> impl Iterator<Item = &Arc<Credential>> {
        self.entries.iter().map(|e| &e.credential)
    }

    /// The credential with `id`, if this registry has it.
    pub fn credential(&self, id: &crate::credential::CredentialId) -> Option<&Arc<Credential>> {
        self.entries
            .binary_search_by(|e| e.credential.id.cmp(id))
            .ok()
            .map(|i| &self.entries[i].credential)
    }

    /// The credentials that serve `requested` in `protocol`.
    pub fn resolve(&self, protocol: Protocol, requested: &str) -> Resolution {
        let name = ModelName::parse(requested);
        let (prefix, model) = name.split_prefix(|p| self.prefixes.contains(p));
        // A family rule serves only a strict charset, with a strict thinking suffix.
        let family = name.thinking.is_none_or(safe_name::is_thinking_value);
        let mut matches = self.matches(prefix, model, family);
        if matches.is_empty() && name.base != name.full.trim() {
            matches = self.matches(None, name.full.trim(), true);
        }
        if matches.is_empty() {
            return Resolution::Unknown;
        }
        let mut candidates = Vec::with_capacity(matches.len());
        // One provider's name, or `mixed` as soon as a second one serves too.
        let mut provider: Option<&'static str> = None;
        for (i, upstream_model, tracking) in matches {
            let entry = &self.entries[i];
            let this = entry.credential.provider.as_str();
            provider = match provider {
                Some(seen) if seen != this => Some(MIXED),
                _ => Some(this),
            };
            candidates.push(Candidate {
                credential: entry.credential.clone(),
                native: entry.credential.speaks(protocol, &upstream_model),
                upstream_model,
                state: entry.state.clone(),
                tracking,
            });
        }
        let provider = provider.unwrap_or(MIXED);
        let tracking = if self.listed.contains(requested.trim()) {
            Tracking::Listed
        } else {
            Tracking::Unlisted
        };
        Resolution::Found(Resolved {
            route_key: route_key(provider, model),
            provider,
            candidates,
            tracking,
        })
    }

    /// The entries (in id order) serving `model`, each with its upstream name and whether a
    /// list gives that name ([`Tracking::Listed`]: a `models` entry, or a built-in name written
    /// exactly) or only the family rule. `family` allows the providers' family rules, which
    /// also need a [`safe_name::is_family_name`].
    fn matches(
        &self,
        prefix: Option<&str>,
        model: &str,
        family: bool,
    ) -> Vec<(usize, Arc<str>, Tracking)> {
        // Model names are mostly lower case already: no copy then.
        let lower: std::borrow::Cow<'_, str> = if model.bytes().any(|b| b.is_ascii_uppercase()) {
            model.to_ascii_lowercase().into()
        } else {
            model.into()
        };
        let mut found: Vec<(usize, Arc<str>, Tracking)> = Vec::new();
        if let Some(list) = self.explicit.get(&*lower) {
            found.extend(
                list.iter()
                    .map(|(i, name)| (*i, name.clone(), Tracking::Listed)),
            );
        }
        let mut upstream_as_sent: Option<Arc<str>> = None;
        let family = family && safe_name::is_family_name(model);
        for &i in &self.builtin {
            let provider = self.entries[i].credential.provider;
            let listed = builtin::models(provider).contains(&&*lower);
            if listed || (family && builtin::in_family(provider, &lower)) {
                let name = upstream_as_sent
                    .get_or_insert_with(|| Arc::from(model))
                    .clone();
                // Another spelling of a built-in name is another key upstream-side: tracked.
                let tracking = if listed && lower == model {
                    Tracking::Listed
                } else {
                    Tracking::Unlisted
                };
                found.push((i, name, tracking));
            }
        }
        found.retain(|(i, upstream, _)| {
            let credential = &self.entries[*i].credential;
            !credential.disabled
                && prefix.is_none_or(|p| credential.prefix.as_deref() == Some(p))
                && !credential
                    .excluded_models
                    .iter()
                    .any(|pat| pattern::matches(pat, model) || pattern::matches(pat, upstream))
        });
        found.sort_by_key(|(i, _, _)| *i);
        found
    }

    /// Every model a client can ask for, in any protocol, sorted.
    pub fn list(&self) -> Vec<ListedModel> {
        let mut out = BTreeSet::new();
        for entry in &self.entries {
            let credential = &entry.credential;
            if credential.disabled {
                continue;
            }
            let names: Vec<&str> = if credential.models.is_empty() {
                builtin::models(credential.provider).to_vec()
            } else {
                credential.models.iter().map(|m| m.alias.as_str()).collect()
            };
            for name in names {
                if credential
                    .excluded_models
                    .iter()
                    .any(|pat| pattern::matches(pat, name))
                {
                    continue;
                }
                let provider = credential.provider.as_str();
                out.insert(ListedModel {
                    id: name.to_owned(),
                    provider,
                });
                if let Some(prefix) = &credential.prefix {
                    out.insert(ListedModel {
                        id: format!("{prefix}/{name}"),
                        provider,
                    });
                }
            }
        }
        let mut seen = HashSet::new();
        out.into_iter()
            .filter(|m| seen.insert(m.id.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ModelAlias;
    use crate::credential::ProviderKind;
    use crate::credential::testing::credential;

    fn registry(credentials: Vec<Credential>) -> ModelRegistry {
        ModelRegistry::new(
            credentials
                .into_iter()
                .map(|c| (Arc::new(c), Arc::new(CredentialState::default())))
                .collect(),
        )
    }

    fn found(resolution: Resolution) -> Resolved {
        match resolution {
            Resolution::Found(found) => found,
            other => panic!("expected Found, got {other:?}"),
        }
    }

    fn ids(resolved: &Resolved) -> Vec<(&str, &str)> {
        resolved
            .candidates
            .iter()
            .map(|c| (c.credential.id.as_str(), &*c.upstream_model))
            .collect()
    }

    #[test]
    fn builtin_list_and_family_prefix() {
        let r = registry(vec![credential("b", 0), credential("a", 0)]);
        let known = found(r.resolve(Protocol::ClaudeMessages, "claude-sonnet-4"));
        assert_eq!(
            ids(&known),
            [("a", "claude-sonnet-4"), ("b", "claude-sonnet-4")]
        );
        assert_eq!(known.provider, "claude");
        let future = found(r.resolve(Protocol::ClaudeMessages, "claude-opus-9"));
        assert_eq!(future.candidates.len(), 2);
        assert!(matches!(
            r.resolve(Protocol::ClaudeMessages, "gpt-5"),
            Resolution::Unknown
        ));
    }

    #[test]
    fn aliases_map_to_upstream_names() {
        let mut a = credential("a", 0);
        a.models = vec![ModelAlias {
            name: "claude-sonnet-4-20250514".into(),
            alias: "sonnet".into(),
        }];
        let r = registry(vec![a, credential("b", 0)]);
        let alias = found(r.resolve(Protocol::ClaudeMessages, "Sonnet"));
        assert_eq!(ids(&alias), [("a", "claude-sonnet-4-20250514")]);
        // A credential listing models serves only those.
        let builtin = found(r.resolve(Protocol::ClaudeMessages, "claude-sonnet-4"));
        assert_eq!(ids(&builtin), [("b", "claude-sonnet-4")]);
    }

    #[test]
    fn thinking_suffix_is_ignored_for_routing_and_stripped_upstream() {
        let r = registry(vec![credential("a", 0)]);
        let resolved = found(r.resolve(Protocol::ClaudeMessages, "claude-sonnet-4(16384)"));
        assert_eq!(resolved.model(), "claude-sonnet-4");
        assert_eq!(resolved.route_key, "claude:claude-sonnet-4");
        assert_eq!(ids(&resolved), [("a", "claude-sonnet-4")]);
    }

    #[test]
    fn prefixes_target_only_their_credentials() {
        let mut team = credential("team", 0);
        team.prefix = Some("teamA".into());
        let r = registry(vec![team, credential("plain", 0)]);
        let prefixed = found(r.resolve(Protocol::ClaudeMessages, "teamA/claude-sonnet-4"));
        assert_eq!(ids(&prefixed), [("team", "claude-sonnet-4")]);
        let plain = found(r.resolve(Protocol::ClaudeMessages, "claude-sonnet-4"));
        assert_eq!(plain.candidates.len(), 2);
        assert!(matches!(
            r.resolve(Protocol::ClaudeMessages, "teamB/claude-sonnet-4"),
            Resolution::Unknown
        ));
    }

    #[test]
    fn excluded_and_disabled_credentials_never_serve() {
        let mut excluded = credential("x", 0);
        excluded.excluded_models = vec!["claude-opus-*".into()];
        let mut disabled = credential("d", 0);
        disabled.disabled = true;
        let r = registry(vec![excluded, disabled, credential("ok", 0)]);
        let resolved = found(r.resolve(Protocol::ClaudeMessages, "claude-opus-4"));
        assert_eq!(ids(&resolved), [("ok", "claude-opus-4")]);
        let listed: Vec<_> = r.list().into_iter().map(|m| m.id).collect();
        assert!(listed.contains(&"claude-opus-4".to_owned()));
    }

    #[test]
    fn family_rules_serve_a_strict_charset_only() {
        let mut named = credential("named", 0);
        named.provider = ProviderKind::Gemini;
        named.models = vec![ModelAlias {
            name: "tunedModels/gemini-x@001".into(),
            alias: "gemini-tuned/v1@001".into(),
        }];
        let mut family = credential("family", 0);
        family.provider = ProviderKind::Gemini;
        let r = registry(vec![named, family]);
        for refused in [
            "gemini-x/../gemini-2.5-pro",
            "gemini-x/y",
            "gemini-x:predict",
            "gemini-x@1",
            "gemini-9-pro(a b)",
            "gemini-9-pro(../x)",
        ] {
            assert!(
                matches!(r.resolve(Protocol::Gemini, refused), Resolution::Unknown),
                "{refused}"
            );
        }
        let configured = found(r.resolve(Protocol::Gemini, "gemini-tuned/v1@001"));
        assert_eq!(ids(&configured), [("named", "tunedModels/gemini-x@001")]);
        let thinking = found(r.resolve(Protocol::Gemini, "gemini-9-pro(high)"));
        assert_eq!(ids(&thinking), [("family", "gemini-9-pro")]);
        // A built-in name is not a family name: its thinking suffix is only stripped.
        let builtin = found(r.resolve(Protocol::Gemini, "gemini-2.5-pro(a b)"));
        assert_eq!(ids(&builtin), [("family", "gemini-2.5-pro")]);
    }

    #[test]
    fn matches_say_whether_a_list_names_the_model() {
        let mut a = credential("a", 0);
        a.models = vec![ModelAlias {
            name: "claude-custom-upstream".into(),
            alias: "custom".into(),
        }];
        a.prefix = Some("team".into());
        let r = registry(vec![a, credential("b", 0)]);
        let tracking = |requested: &str| {
            let resolved = found(r.resolve(Protocol::ClaudeMessages, requested));
            let per_candidate: Vec<_> = resolved
                .candidates
                .iter()
                .map(|c| (c.credential.id.as_str().to_owned(), c.tracking))
                .collect();
            (resolved.tracking, per_candidate)
        };
        use Tracking::{Listed, Unlisted};
        assert_eq!(tracking("custom"), (Listed, vec![("a".into(), Listed)]));
        assert_eq!(
            tracking("team/custom"),
            (Listed, vec![("a".into(), Listed)])
        );
        assert_eq!(
            tracking("claude-sonnet-4"),
            (Listed, vec![("b".into(), Listed)])
        );
        assert_eq!(
            tracking("claude-x-123"),
            (Unlisted, vec![("b".into(), Unlisted)]),
            "the family rule only"
        );
        assert_eq!(
            tracking("Claude-Sonnet-4"),
            (Unlisted, vec![("b".into(), Unlisted)]),
            "another spelling"
        );
        assert_eq!(
            tracking("claude-sonnet-4(8000)"),
            (Unlisted, vec![("b".into(), Listed)]),
            "the suffix makes the requested name the client's own, not the upstream one"
        );
    }

    /// The route key is what the selector got before it was built once per resolution:
    /// `provider:model`, the model without prefix and suffix, `mixed` for several providers.
    #[test]
    fn the_route_key_is_provider_and_routed_model() {
        let mut team = credential("team", 0);
        team.prefix = Some("teamA".into());
        let mut gemini = credential("g", 0);
        gemini.provider = ProviderKind::Gemini;
        gemini.models = vec![ModelAlias {
            name: "claude-sonnet-4".into(),
            alias: "Claude-Sonnet-4".into(),
        }];
        let r = registry(vec![team, credential("plain", 0), gemini]);
        for (protocol, requested, provider, model) in [
            (
                Protocol::ClaudeMessages,
                "teamA/claude-sonnet-4(high)",
                "claude",
                "claude-sonnet-4",
            ),
            (
                Protocol::ClaudeMessages,
                "claude-opus-9",
                "claude",
                "claude-opus-9",
            ),
            (
                Protocol::ClaudeMessages,
                "Claude-Sonnet-4",
                "mixed",
                "Claude-Sonnet-4",
            ),
            (
                Protocol::OpenAiChat,
                "claude-sonnet-4",
                "mixed",
                "claude-sonnet-4",
            ),
        ] {
            let resolved = found(r.resolve(protocol, requested));
            assert_eq!(resolved.provider, provider, "{requested}");
            assert_eq!(resolved.model(), model, "{requested}");
            assert_eq!(
                resolved.route_key,
                format!("{}:{}", resolved.provider, resolved.model()),
                "{requested}"
            );
        }
    }

    #[test]
    fn other_protocols_are_served_translated_and_natives_are_marked() {
        let mut gemini = credential("g", 0);
        gemini.provider = ProviderKind::Gemini;
        gemini.models = vec![crate::config::ModelAlias {
            name: "claude-sonnet-4".into(),
            alias: "claude-sonnet-4".into(),
        }];
        let r = registry(vec![credential("a", 0), gemini]);
        let Resolution::Found(found) = r.resolve(Protocol::OpenAiChat, "claude-sonnet-4") else {
            panic!("a chat client reaches a Claude model");
        };
        assert!(found.candidates.iter().all(|c| !c.native));
        assert_eq!(found.provider, "mixed");
        let Resolution::Found(found) = r.resolve(Protocol::Gemini, "claude-sonnet-4") else {
            panic!("found");
        };
        let native: Vec<_> = found
            .candidates
            .iter()
            .map(|c| (c.credential.id.as_str(), c.native))
            .collect();
        assert_eq!(native, [("a", false), ("g", true)]);
    }

    #[test]
    fn vertex_serves_the_gemini_family_and_claude_only_when_listed() {
        let vertex = |id: &str| {
            let mut c = credential(id, 0);
            c.provider = ProviderKind::Vertex;
            c.vertex = Some(crate::credential::VertexTarget {
                project: "p".into(),
                location: "us-central1".into(),
            });
            c
        };
        let plain = vertex("plain");
        let mut listed = vertex("listed");
        listed.models = vec![ModelAlias {
            name: "claude-sonnet-4-5@20250929".into(),
            alias: "claude-sonnet-4-5".into(),
        }];
        let r = registry(vec![plain, listed]);
        let gemini = found(r.resolve(Protocol::OpenAiChat, "gemini-2.5-pro"));
        assert_eq!(ids(&gemini), [("plain", "gemini-2.5-pro")]);
        let family = found(r.resolve(Protocol::Gemini, "gemini-9-flash"));
        assert_eq!(ids(&family), [("plain", "gemini-9-flash")]);
        assert!(family.candidates[0].native);
        let claude = found(r.resolve(Protocol::ClaudeMessages, "claude-sonnet-4-5"));
        assert_eq!(ids(&claude), [("listed", "claude-sonnet-4-5@20250929")]);
        assert!(
            claude.candidates[0].native,
            "Claude on Vertex speaks Messages"
        );
        let translated = found(r.resolve(Protocol::Gemini, "claude-sonnet-4-5"));
        assert!(!translated.candidates[0].native);
        assert!(matches!(
            r.resolve(Protocol::ClaudeMessages, "claude-opus-4-5"),
            Resolution::Unknown
        ));
        let listed_ids: Vec<_> = r.list().into_iter().map(|m| m.id).collect();
        assert!(listed_ids.contains(&"gemini-2.5-pro".to_owned()));
        assert!(listed_ids.contains(&"claude-sonnet-4-5".to_owned()));
        assert!(!listed_ids.contains(&"claude-opus-4-5".to_owned()));
    }

    /// Whatever a client sends, a name that only the family rule serves reaches the upstream
    /// as a family name.
    fn family_property(requested: &str) {
        let mut c = credential("family", 0);
        c.provider = ProviderKind::Gemini;
        c.prefix = Some("team".into());
        let r = registry(vec![c]);
        if let Resolution::Found(found) = r.resolve(Protocol::Gemini, requested) {
            for candidate in &found.candidates {
                let upstream = &*candidate.upstream_model;
                assert!(
                    safe_name::is_family_name(upstream)
                        || builtin::models(ProviderKind::Gemini)
                            .contains(&upstream.to_ascii_lowercase().as_str()),
                    "{requested:?} -> {upstream:?}"
                );
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(256))]

        #[test]
        fn family_matches_are_family_names(requested in r"(team/)?gemini-[ -~]{0,24}(\([ -~]{0,6}\))?") {
            family_property(&requested);
        }

        #[test]
        fn any_string_is_checked_without_panicking(requested in proptest::prelude::any::<String>()) {
            let _ = safe_name::check(&requested);
            family_property(&requested);
        }
    }
}
