//! Tool names as each upstream accepts them, and back.
//!
//! Upstreams restrict tool names (OpenAI and Anthropic: `[A-Za-z0-9_-]{1,64}`; Gemini also
//! `.` and `:`, starting with a letter or `_`). A name the target refuses is rewritten once per
//! request — an `mcp__server__tool` name keeps `mcp__` and its last segment, other characters
//! become `_`, the result is cut to 64 bytes, and collisions get `_1`, `_2` … — and the answer's
//! names are mapped back to what the client declared. Names the target accepts are unchanged.

use std::collections::HashMap;

use crate::Format;

/// The longest tool name any upstream accepts.
const MAX_NAME: usize = 64;

/// The client's tool names and what the upstream knows them as, for one request.
#[derive(Debug, Clone, Default)]
pub struct NameMap {
    /// Client name → upstream name (only the names that change).
    to_upstream: HashMap<String, String>,
    /// Upstream name → client name (every declared name).
    to_client: HashMap<String, String>,
    /// Lower-cased upstream name → client name, for upstreams that change case.
    folded: HashMap<String, String>,
}

impl NameMap {
    /// The map for `names` (the client's declared tool names, in order) toward `target`.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>, target: Format) -> Self {
        let mut map = NameMap::default();
        let names: Vec<&str> = names.into_iter().collect();
        // Names that are already valid keep their spelling and win collisions.
        for name in &names {
            if valid(name, target) {
                map.to_client.insert((*name).to_owned(), (*name).to_owned());
            }
        }
        for name in &names {
            if valid(name, target) || map.to_upstream.contains_key(*name) {
                continue;
            }
            let base = rewrite(name, target);
            let mut candidate = base.clone();
            let mut n = 1;
            while map.to_client.contains_key(&candidate) {
                let suffix = format!("_{n}");
                let keep = floor_char_boundary(&base, MAX_NAME - suffix.len());
                candidate = format!("{}{suffix}", &base[..keep]);
                n += 1;
            }
            map.to_client.insert(candidate.clone(), (*name).to_owned());
            map.to_upstream.insert((*name).to_owned(), candidate);
        }
        for (upstream, client) in &map.to_client {
            map.folded
                .entry(fold(upstream))
                .or_insert_with(|| client.clone());
        }
        map
    }

    /// The name the upstream is sent.
    pub fn upstream<'a>(&'a self, client: &'a str) -> &'a str {
        self.to_upstream.get(client).map_or(client, String::as_str)
    }

    /// The client's name for a name the upstream answered with (unchanged when unknown).
    pub fn client(&self, upstream: &str) -> String {
        if let Some(name) = self.to_client.get(upstream) {
            return name.clone();
        }
        self.folded
            .get(&fold(upstream))
            .cloned()
            .unwrap_or_else(|| upstream.to_owned())
    }
}

/// Case and leading underscores do not tell two names apart.
fn fold(name: &str) -> String {
    name.trim_start_matches('_').to_ascii_lowercase()
}

fn allowed(c: char, target: Format) -> bool {
    c.is_ascii_alphanumeric()
        || c == '_'
        || c == '-'
        || (target == Format::Gemini && matches!(c, '.' | ':'))
}

fn valid(name: &str, target: Format) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name.chars().all(|c| allowed(c, target))
        && (target != Format::Gemini
            || name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'))
}

fn rewrite(name: &str, target: Format) -> String {
    let name = match name.strip_prefix("mcp__") {
        Some(rest) if name.len() > MAX_NAME => {
            let last = rest.rsplit("__").next().unwrap_or(rest);
            format!("mcp__{last}")
        }
        _ => name.to_owned(),
    };
    let mut out: String = name
        .chars()
        .map(|c| if allowed(c, target) { c } else { '_' })
        .collect();
    if out.is_empty()
        || (target == Format::Gemini
            && !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'))
    {
        out.insert(0, '_');
    }
    let keep = floor_char_boundary(&out, MAX_NAME);
    out.truncate(keep);
    out
}

fn floor_char_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names_are_unchanged() {
        let map = NameMap::new(["get_weather", "Read"], Format::Responses);
        assert_eq!(map.upstream("get_weather"), "get_weather");
        assert_eq!(map.client("get_weather"), "get_weather");
        assert_eq!(map.client("read"), "Read");
    }

    #[test]
    fn long_mcp_names_keep_their_last_segment_and_collisions_are_numbered() {
        let long_a = format!("mcp__server_{}__lookup", "a".repeat(60));
        let long_b = format!("mcp__other_{}__lookup", "b".repeat(60));
        let map = NameMap::new([long_a.as_str(), long_b.as_str()], Format::Responses);
        assert_eq!(map.upstream(&long_a), "mcp__lookup");
        assert_eq!(map.upstream(&long_b), "mcp__lookup_1");
        assert_eq!(map.client("mcp__lookup_1"), long_b);
        let plain = "x".repeat(80);
        let map = NameMap::new([plain.as_str()], Format::Claude);
        assert_eq!(map.upstream(&plain).len(), 64);
        assert_eq!(map.client(map.upstream(&plain)), plain);
    }

    #[test]
    fn gemini_names_are_sanitised_and_restored() {
        let map = NameMap::new(["1st tool", "ns/get"], Format::Gemini);
        assert_eq!(map.upstream("1st tool"), "_1st_tool");
        assert_eq!(map.upstream("ns/get"), "ns_get");
        assert_eq!(map.client("_1st_tool"), "1st tool");
        assert_eq!(map.client("ns_get"), "ns/get");
        assert_eq!(map.client("unknown"), "unknown");
    }
}
