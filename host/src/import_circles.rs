//! A check that the files of `host/src` import each other without circles.
//!
//! The graph: one node per file of `host/src` (`main.rs`, the binary, left out). An edge
//! `a.rs → b.rs` is a path in `a.rs` that names something defined in `b.rs`:
//!
//! - the paths read are every `use` tree (`crate::…`, `super::…`, `self::…`, or a child
//!   module's `child::…`) and every `crate::…`, `super::…` and `self::…` path in the code;
//! - a path resolves to the longest prefix that is a file, and on through that file's `use`
//!   of the next name: a parent's re-exports count as the files they re-export, so
//!   `crate::access::AccessChain` (re-exported by `access.rs`) is an edge to `access/chain.rs`;
//! - a file and the files of its own folder (`plugin.rs` and `plugin/**`) are one module tree:
//!   edges between a file and its ancestors or descendants are left out, since a child's
//!   `use super::…` of its parent and the parent's `mod`/`pub use` of the child are normal
//!   Rust. Siblings (`management/auth.rs`, `management/ban.rs`) are separate nodes.
//!
//! Doc comments and a file's `#[cfg(test)]` modules are not read. The test fails naming every
//! circle (as `a.rs → b.rs → a.rs`, with the files that reach each other): there are none, and
//! none may be added.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crate's files, by module path (`[]` for `lib.rs`, `["plugin", "catalog"]` for
/// `plugin/catalog.rs`).
fn modules(src: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    let mut found = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|ext| ext != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap().with_extension("");
            let module: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            match module.as_slice() {
                [only] if only == "main" => {}
                [only] if only == "lib" => {
                    found.insert(Vec::new(), path);
                }
                _ => {
                    found.insert(module, path);
                }
            }
        }
    }
    found
}

/// The file's code: comments removed, and the `#[cfg(test)]` module cut off.
fn code(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]")
            && lines.peek().is_some_and(|next| next.contains("mod "))
        {
            break;
        }
        let mut in_string = false;
        let mut kept = line.len();
        let bytes = line.as_bytes();
        for i in 0..bytes.len() {
            match bytes[i] {
                b'"' if i == 0 || bytes[i - 1] != b'\\' => in_string = !in_string,
                b'/' if !in_string && bytes.get(i + 1) == Some(&b'/') => {
                    kept = i;
                    break;
                }
                _ => {}
            }
        }
        out.push_str(&line[..kept]);
        out.push('\n');
    }
    out
}

/// The paths of a `use` tree, each with the name it brings in (`a::{b, c::{d as e, self}}` →
/// `a::b` as `b`, `a::c::d` as `e`, `a::c` as `c`).
fn expand(tree: &str, prefix: &[String], out: &mut Vec<(Vec<String>, String)>) {
    let tree = tree.trim();
    let (head, rest) = match tree.find('{') {
        Some(open) => (
            &tree[..open],
            Some(&tree[open + 1..tree.rfind('}').unwrap()]),
        ),
        None => (tree, None),
    };
    let (head, alias) = match head.split_once(" as ") {
        Some((head, alias)) => (head, Some(alias.trim().to_owned())),
        None => (head, None),
    };
    let mut path = prefix.to_vec();
    for segment in head.split("::") {
        let segment = segment.trim();
        if !segment.is_empty() && segment != "self" {
            path.push(segment.to_owned());
        }
    }
    let Some(rest) = rest else {
        // A glob brings in no name of its own: its path is the module.
        let glob = path.last().is_some_and(|last| last == "*");
        if glob {
            path.pop();
        }
        let name = match alias {
            Some(alias) => alias,
            None if glob => String::new(),
            None => path.last().cloned().unwrap_or_default(),
        };
        out.push((path, name));
        return;
    };
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in rest.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                expand(&rest[start..i], &path, out);
                start = i + 1;
            }
            _ => {}
        }
    }
    if !rest[start..].trim().is_empty() {
        expand(&rest[start..], &path, out);
    }
}

/// A file's `use` trees (path and name) and the `crate::`/`super::`/`self::` paths in its code.
struct Paths {
    uses: Vec<(Vec<String>, String)>,
    code: Vec<Vec<String>>,
}

/// The paths of a file's code.
fn paths(code: &str) -> Paths {
    let mut uses = Vec::new();
    let mut rest = code;
    let mut outside_uses = String::new();
    while let Some((line, tree)) = find_use(rest) {
        outside_uses.push_str(&rest[..line]);
        let end = tree + rest[tree..].find(';').unwrap();
        expand(&rest[tree..end], &[], &mut uses);
        rest = &rest[end + 1..];
    }
    outside_uses.push_str(rest);
    let mut in_code = Vec::new();
    let bytes = outside_uses.as_bytes();
    for start in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(found) = outside_uses[from..].find(start) {
            let at = from + found;
            from = at + start.len();
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
                continue;
            }
            let end = outside_uses[at..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .map_or(outside_uses.len(), |e| at + e);
            let path = outside_uses[at..end]
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            in_code.push(path);
        }
    }
    Paths {
        uses,
        code: in_code,
    }
}

/// The next `use` statement: where its line starts and where its tree starts.
fn find_use(code: &str) -> Option<(usize, usize)> {
    let mut offset = 0;
    for line in code.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        for prefix in ["use ", "pub use ", "pub(crate) use ", "pub(super) use "] {
            if trimmed.starts_with(prefix) {
                return Some((offset, offset + indent + prefix.len()));
            }
        }
        offset += line.len();
    }
    None
}

/// `path` written in `module` as a path from the crate root; `None` for another crate's.
fn absolute(
    module: &[String],
    path: &[String],
    files: &BTreeMap<Vec<String>, PathBuf>,
) -> Option<Vec<String>> {
    let (mut base, rest) = match path.first().map(String::as_str) {
        Some("crate") => (Vec::new(), &path[1..]),
        Some("self") => (module.to_vec(), &path[1..]),
        Some("super") => {
            let mut base = module.to_vec();
            let mut rest = path;
            while rest.first().is_some_and(|s| s == "super") {
                base.pop();
                rest = &rest[1..];
            }
            (base, rest)
        }
        // A child module (`use chain::AccessChain;` in `access.rs`).
        Some(first) => {
            let mut child = module.to_vec();
            child.push(first.to_owned());
            if !files.contains_key(&child) {
                return None;
            }
            (module.to_vec(), path)
        }
        None => return None,
    };
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The file that defines what `path` names: the longest prefix that is a file, through the
/// names that file brings in with `use` (its re-exports).
fn resolve(
    mut path: Vec<String>,
    files: &BTreeMap<Vec<String>, PathBuf>,
    imports: &BTreeMap<Vec<String>, BTreeMap<String, Vec<String>>>,
) -> Vec<String> {
    for _ in 0..16 {
        let file = (0..=path.len())
            .rev()
            .map(|k| path[..k].to_vec())
            .find(|prefix| files.contains_key(prefix))
            .expect("lib.rs is the root");
        let Some(next) = path.get(file.len()) else {
            return file;
        };
        match imports.get(&file).and_then(|names| names.get(next)) {
            Some(target) if *target != path[..=file.len()] => {
                let mut followed = target.clone();
                followed.extend(path[file.len() + 1..].iter().cloned());
                path = followed;
            }
            _ => return file,
        }
    }
    path
}

/// The file name of a module (`plugin/catalog.rs`, `lib.rs`).
fn name(module: &[String]) -> String {
    if module.is_empty() {
        "lib.rs".to_owned()
    } else {
        format!("{}.rs", module.join("/"))
    }
}

/// The import graph of `host/src`, by file name.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = modules(&src);
    let paths: BTreeMap<&Vec<String>, Paths> = files
        .iter()
        .map(|(module, path)| {
            (
                module,
                paths(&code(&std::fs::read_to_string(path).unwrap())),
            )
        })
        .collect();
    let imports: BTreeMap<Vec<String>, BTreeMap<String, Vec<String>>> = paths
        .iter()
        .map(|(module, found)| {
            let names = found
                .uses
                .iter()
                .filter(|(_, name)| !name.is_empty())
                .filter_map(|(path, name)| Some((name.clone(), absolute(module, path, &files)?)))
                .collect();
            ((*module).clone(), names)
        })
        .collect();
    let mut graph = BTreeMap::new();
    for (module, found) in &paths {
        let from = name(module);
        let edges: BTreeSet<String> = found
            .uses
            .iter()
            .map(|(path, _)| path)
            .chain(&found.code)
            .filter_map(|path| absolute(module, path, &files))
            .map(|path| resolve(path, &files, &imports))
            // A file and its own folder's files (its descendants) are one module tree.
            .filter(|target| !target.starts_with(module) && !module.starts_with(target))
            .map(|target| name(&target))
            .collect();
        graph.insert(from, edges);
    }
    graph
}

/// One circle through each group of files that reach each other (Tarjan's strongly connected
/// components, then a path back to the start inside the group).
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<(Vec<String>, Vec<String>)> {
    struct Tarjan<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        groups: Vec<Vec<&'g str>>,
    }
    impl<'g> Tarjan<'g> {
        fn visit(&mut self, node: &'g str) {
            let i = self.index.len();
            self.index.insert(node, i);
            self.low.insert(node, i);
            self.stack.push(node);
            for next in self.graph.get(node).into_iter().flatten() {
                let next = next.as_str();
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.stack.contains(&next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut group = Vec::new();
                while let Some(top) = self.stack.pop() {
                    group.push(top);
                    if top == node {
                        break;
                    }
                }
                if group.len() > 1 {
                    self.groups.push(group);
                }
            }
        }
    }
    let mut tarjan = Tarjan {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        groups: Vec::new(),
    };
    for node in graph.keys() {
        if !tarjan.index.contains_key(node.as_str()) {
            tarjan.visit(node);
        }
    }
    tarjan
        .groups
        .iter()
        .map(|group| {
            // A shortest way from the group's first file back to itself, inside the group.
            let start = *group.iter().min().unwrap();
            let mut previous: BTreeMap<&str, &str> = BTreeMap::new();
            let mut queue = std::collections::VecDeque::from([start]);
            'search: while let Some(node) = queue.pop_front() {
                for next in &graph[node] {
                    let next = next.as_str();
                    if !group.contains(&next) {
                        continue;
                    }
                    if next == start {
                        previous.insert(start, node);
                        break 'search;
                    }
                    if !previous.contains_key(next) {
                        previous.insert(next, node);
                        queue.push_back(next);
                    }
                }
            }
            let mut circle = vec![start.to_owned()];
            let mut node = previous[start];
            while node != start {
                circle.push(node.to_owned());
                node = previous[node];
            }
            circle.push(start.to_owned());
            circle.reverse();
            let mut members: Vec<String> = group.iter().map(|f| (*f).to_owned()).collect();
            members.sort();
            (members, circle)
        })
        .collect()
}

#[test]
fn the_files_of_the_crate_import_each_other_without_circles() {
    let graph = graph();
    assert!(
        graph["reload.rs"].contains("generation.rs"),
        "the graph is read"
    );
    let found: Vec<String> = circles(&graph)
        .iter()
        .map(|(members, circle)| {
            format!(
                "{} (through {} files: {})",
                circle.join(" → "),
                members.len(),
                members.join(", ")
            )
        })
        .collect();
    assert!(
        found.is_empty(),
        "import circles between files of host/src:\n{}",
        found.join("\n")
    );
}

#[test]
fn use_trees_expand_to_paths() {
    let mut out = Vec::new();
    expand("crate::a::{b, c::{d as e, self}, f::G,}", &[], &mut out);
    let out: Vec<String> = out
        .iter()
        .map(|(path, name)| format!("{} as {name}", path.join("::")))
        .collect();
    assert_eq!(
        out,
        [
            "crate::a::b as b",
            "crate::a::c::d as e",
            "crate::a::c as c",
            "crate::a::f::G as G"
        ]
    );
}
