//! The per-credential prompt-cache model, which measures how well a proxy keeps each conversation
//! on one credential.

use std::collections::{BTreeMap, HashMap, HashSet};

use parking_lot::Mutex;

use crate::conversation::Conversation;

/// Lookups and hits of a prompt cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheCounts {
    /// Generation requests whose conversation had an earlier turn to look up.
    pub lookups: u64,
    /// Lookups that found the earlier turns cached on this credential.
    pub hits: u64,
}

impl CacheCounts {
    /// `hits / lookups`, or 0 when there was no lookup.
    pub fn hit_rate(&self) -> f64 {
        if self.lookups == 0 {
            0.0
        } else {
            self.hits as f64 / self.lookups as f64
        }
    }

    fn add(&mut self, other: CacheCounts) {
        self.lookups += other.lookups;
        self.hits += other.hits;
    }
}

/// Prompt-cache statistics of the mock, per credential and in total.
///
/// The model: every credential has its own cache of conversation keys. A generation request's
/// conversation is normalized across the protocols (roles mapped, system text included as
/// turns). Its *prefix* is every turn but the last; when the prefix holds a user, assistant or
/// tool turn, the request is a **lookup**, and a **hit** when the prefix's key is in the
/// answering credential's cache. After a successful answer the credential caches the key of the
/// whole conversation followed by an assistant turn, which is exactly the prefix key of the
/// client's next turn (conversation + reply + new user message).
///
/// Keys hash the model, the roles and the text of every non-assistant turn; an assistant turn
/// contributes only its role. So the reply's wording (which names the answering credential)
/// never matters: the next turn hits if and only if it goes to the same credential with the
/// earlier turns resent unchanged, whatever the client did to the reply text, and misses on
/// every other credential. A hit reports the prefix's estimated tokens as cached tokens.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Counts over all credentials.
    pub total: CacheCounts,
    /// Counts per credential key (only credentials that served a generation request).
    pub per_credential: BTreeMap<String, CacheCounts>,
}

/// The outcome of one request's cache lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CacheOutcome {
    /// The conversation had no earlier turn.
    NoLookup,
    /// The earlier turns were not cached on this credential.
    Miss,
    /// The earlier turns were cached on this credential.
    Hit,
}

impl CacheOutcome {
    /// The value of the [`crate::CACHE_HEADER`] response header.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CacheOutcome::NoLookup => "none",
            CacheOutcome::Miss => "miss",
            CacheOutcome::Hit => "hit",
        }
    }
}

/// Past this many keys a credential's cache starts over, so a long benchmark cannot grow it
/// without bound.
const MAX_KEYS_PER_CREDENTIAL: usize = 1 << 20;

#[derive(Debug, Default)]
struct CredentialCache {
    keys: HashSet<u64>,
    counts: CacheCounts,
}

/// The caches of all credentials.
#[derive(Debug, Default)]
pub(crate) struct PromptCache {
    credentials: Mutex<HashMap<String, CredentialCache>>,
}

impl PromptCache {
    /// Looks the conversation's prefix up in `credential`'s cache and counts the outcome.
    pub(crate) fn look_up(
        &self,
        credential: &str,
        model: &str,
        conversation: &Conversation,
    ) -> CacheOutcome {
        let Some(prefix) = conversation.prefix_key(model) else {
            return CacheOutcome::NoLookup;
        };
        let mut credentials = self.credentials.lock();
        let cache = match credentials.get_mut(credential) {
            Some(cache) => cache,
            None => credentials.entry(credential.to_owned()).or_default(),
        };
        let hit = cache.keys.contains(&prefix);
        cache.counts.lookups += 1;
        cache.counts.hits += u64::from(hit);
        if hit {
            CacheOutcome::Hit
        } else {
            CacheOutcome::Miss
        }
    }

    /// Caches, on `credential`, the key the conversation's next turn will look up.
    pub(crate) fn remember(&self, credential: &str, model: &str, conversation: &Conversation) {
        let key = conversation.continuation_key(model);
        let mut credentials = self.credentials.lock();
        let cache = match credentials.get_mut(credential) {
            Some(cache) => cache,
            None => credentials.entry(credential.to_owned()).or_default(),
        };
        if cache.keys.len() >= MAX_KEYS_PER_CREDENTIAL {
            cache.keys.clear();
        }
        cache.keys.insert(key);
    }

    /// The statistics so far.
    pub(crate) fn stats(&self) -> CacheStats {
        let credentials = self.credentials.lock();
        let mut stats = CacheStats::default();
        for (credential, cache) in credentials.iter() {
            stats.total.add(cache.counts);
            stats
                .per_credential
                .insert(credential.clone(), cache.counts);
        }
        stats
    }

    /// Forgets every cached key and every count.
    pub(crate) fn reset(&self) {
        self.credentials.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::Role;

    fn turns(texts: &[(Role, &str)]) -> Conversation {
        let mut conversation = Conversation::default();
        for (role, text) in texts {
            conversation.push(*role, (*text).to_owned());
        }
        conversation
    }

    #[test]
    fn second_turn_hits_on_the_same_credential_only() {
        let cache = PromptCache::default();
        let first = turns(&[(Role::User, "hi")]);
        let second = turns(&[
            (Role::User, "hi"),
            (Role::Assistant, "r"),
            (Role::User, "more"),
        ]);
        assert_eq!(cache.look_up("a", "m", &first), CacheOutcome::NoLookup);
        cache.remember("a", "m", &first);
        assert_eq!(cache.look_up("b", "m", &second), CacheOutcome::Miss);
        assert_eq!(cache.look_up("a", "m", &second), CacheOutcome::Hit);
        let stats = cache.stats();
        assert_eq!(
            stats.total,
            CacheCounts {
                lookups: 2,
                hits: 1
            }
        );
        assert_eq!(
            stats.per_credential["a"],
            CacheCounts {
                lookups: 1,
                hits: 1
            }
        );
        assert_eq!(stats.per_credential["b"].hit_rate(), 0.0);
        cache.reset();
        assert_eq!(cache.stats(), CacheStats::default());
    }
}
