//! Checks of the source tree itself, kept as code so that `cargo test`
//! enforces them (the model is rust-lang/rust's `tidy`): which file of a
//! crate imports which (and whether they form a cycle), whether every
//! source file says what it is. Plain text scanning, no dependencies: the
//! rules are simple enough that a parser would be more to trust than they.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

/// A crate's source files, each with its module path (`lib.rs` and
/// `main.rs` are the root, `a/mod.rs` and `a.rs` are `a`, `a/b.rs` is `a::b`).
pub fn modules(src: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    let mut out = BTreeMap::new();
    for file in rust_files(src) {
        let rel = file.strip_prefix(src).unwrap_or(&file);
        let mut parts: Vec<String> = rel
            .with_extension("")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if matches!(
            parts.last().map(String::as_str),
            Some("lib" | "main" | "mod")
        ) {
            parts.pop();
        }
        // A binary's `main.rs` beside a `lib.rs` would collide; keep the library.
        out.entry(parts).or_insert(file);
    }
    out
}

/// Every `.rs` file under `dir`, sorted.
pub fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The text without comments and string literals (both could mention
/// `crate::` without importing anything).
pub fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'r' && b[i..].starts_with(b"r#\"") {
            let end = text[i + 3..].find("\"#").map_or(b.len(), |e| i + 3 + e + 2);
            i = end;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && i + 2 < b.len() && (b[i + 2] == b'\'' || b[i + 1] == b'\\') {
            // A char literal ('x', '\n', '\''); lifetimes ('a) pass through.
            let close = b[i + 1..]
                .iter()
                .skip(if b[i + 1] == b'\\' { 2 } else { 1 })
                .position(|c| *c == b'\'')
                .map_or(b.len(), |p| {
                    i + 1 + p + if b[i + 1] == b'\\' { 2 } else { 1 }
                });
            i = close + 1;
            out.push_str("' '");
        } else {
            let ch = text[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// The module paths `code` refers to through `crate::…` and `super::…`,
/// as written from the crate root (use trees expanded), seen from `module`.
pub fn references(code: &str, module: &[String]) -> BTreeSet<Vec<String>> {
    let mut out = BTreeSet::new();
    for (start, prefix) in [("crate::", Vec::new()), ("super::", parent(module))] {
        let mut from = 0;
        while let Some(at) = code[from..].find(start) {
            let i = from + at;
            from = i + start.len();
            let before = code[..i].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            for path in use_tree(&code[from..]) {
                let mut full = prefix.clone();
                full.extend(path);
                out.insert(full);
            }
        }
    }
    out
}

fn parent(module: &[String]) -> Vec<String> {
    module[..module.len().saturating_sub(1)].to_vec()
}

/// The paths a use tree (or a plain path) at the start of `s` names:
/// `a::b::{c, d::e}` gives `a::b::c` and `a::b::d::e`.
fn use_tree(s: &str) -> Vec<Vec<String>> {
    let (paths, _) = tree(s);
    paths
}

fn tree(s: &str) -> (Vec<Vec<String>>, usize) {
    let mut path = Vec::new();
    let mut i = 0;
    loop {
        let rest = &s[i..];
        let skip = rest.len() - rest.trim_start().len();
        i += skip;
        let rest = &s[i..];
        if let Some(inner) = rest.strip_prefix('{') {
            let mut all = Vec::new();
            let mut j = i + 1;
            let _ = inner;
            loop {
                let rest = &s[j..];
                let skip = rest.len() - rest.trim_start().len();
                j += skip;
                if s[j..].starts_with('}') {
                    j += 1;
                    break;
                }
                let (sub, used) = tree(&s[j..]);
                for p in sub {
                    let mut full = path.clone();
                    full.extend(p);
                    all.push(full);
                }
                j += used;
                let rest = &s[j..];
                let skip = rest.len() - rest.trim_start().len();
                j += skip;
                if s[j..].starts_with(',') {
                    j += 1;
                } else if s[j..].starts_with('}') {
                    j += 1;
                    break;
                } else if j >= s.len() {
                    break;
                }
            }
            return (all, j);
        }
        let len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if len == 0 {
            return (vec![path], i);
        }
        path.push(rest[..len].to_owned());
        i += len;
        if s[i..].starts_with("::") {
            i += 2;
        } else {
            return (vec![path], i);
        }
    }
}

/// Which file imports which, inside one crate: an edge from a file to the
/// file of the deepest module its reference names. References to the root
/// (the crate's façade) and to a file's own ancestors are not edges: a room
/// may use what its parents declare, as a child module uses `super::`.
pub fn import_graph(src: &Path) -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let mods = modules(src);
    let aliases = root_aliases(&mods);
    let mut graph = BTreeMap::new();
    for (module, file) in &mods {
        let text = fs::read_to_string(file).unwrap_or_default();
        let mut targets = BTreeSet::new();
        for mut path in references(&code_only(&text), module) {
            if let Some(full) = path.first().and_then(|first| aliases.get(first)) {
                path.splice(..1, full.iter().cloned());
            }
            let Some(target) = (1..=path.len())
                .rev()
                .map(|n| &path[..n])
                .find(|p| mods.contains_key(*p))
            else {
                continue;
            };
            let is_ancestor = target.len() <= module.len() && module[..target.len()] == *target;
            if !is_ancestor {
                targets.insert(mods[target].clone());
            }
        }
        graph.insert(file.clone(), targets);
    }
    graph
}

/// Modules the crate root re-exports under a short name (`pub use
/// workflows::grants;` makes `crate::grants` mean `crate::workflows::grants`),
/// so a reference through the façade still counts as an edge to the room.
fn root_aliases(mods: &BTreeMap<Vec<String>, PathBuf>) -> BTreeMap<String, Vec<String>> {
    let Some(root) = mods.get(&Vec::new()) else {
        return BTreeMap::new();
    };
    let code = code_only(&fs::read_to_string(root).unwrap_or_default());
    let mut out = BTreeMap::new();
    for line in code.split(';') {
        let Some(at) = line.find("use ") else {
            continue;
        };
        let before = line[..at].trim();
        if !(before.ends_with("pub") || before.ends_with("pub(crate)")) {
            continue;
        }
        for path in use_tree(&line[at + 4..]) {
            if path.len() > 1 && mods.contains_key(&path) {
                out.insert(path[path.len() - 1].clone(), path);
            }
        }
    }
    out
}

/// The strongly connected groups of more than one file (Tarjan): each is
/// an import cycle, sorted.
pub fn cycles(graph: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Vec<Vec<PathBuf>> {
    struct State<'g> {
        graph: &'g BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        index: BTreeMap<&'g PathBuf, usize>,
        low: BTreeMap<&'g PathBuf, usize>,
        stack: Vec<&'g PathBuf>,
        on_stack: BTreeSet<&'g PathBuf>,
        out: Vec<Vec<PathBuf>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g PathBuf) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.graph.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut group = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                group.push(w.clone());
                if w == v {
                    break;
                }
            }
            if group.len() > 1 {
                group.sort();
                s.out.push(group);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out.sort();
    s.out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(paths: BTreeSet<Vec<String>>) -> Vec<String> {
        paths.into_iter().map(|p| p.join("::")).collect()
    }

    #[test]
    fn use_trees_are_expanded_and_comments_ignored() {
        let code = code_only(
            "use crate::{a::{B, c::D}, e};\n// crate::nope\nlet s = \"crate::nope\";\nfn f() { crate::g::h(); super::i::J; }\nuse std::crate_like;",
        );
        let m = vec!["x".to_owned(), "y".to_owned()];
        assert_eq!(
            names(references(&code, &m)),
            ["a::B", "a::c::D", "e", "g::h", "x::i::J"]
        );
    }

    #[test]
    fn cycles_are_found_and_only_cycles() {
        let p = |s: &str| PathBuf::from(s);
        let mut g = BTreeMap::new();
        g.insert(p("a"), BTreeSet::from([p("b")]));
        g.insert(p("b"), BTreeSet::from([p("c")]));
        g.insert(p("c"), BTreeSet::from([p("a"), p("d")]));
        g.insert(p("d"), BTreeSet::new());
        g.insert(p("e"), BTreeSet::from([p("d")]));
        assert_eq!(cycles(&g), vec![vec![p("a"), p("b"), p("c")]]);
    }

    #[test]
    fn a_loop_through_the_roots_re_exports_is_a_loop() {
        let dir = std::env::temp_dir().join(format!("tidy-{}", std::process::id()));
        let files = [
            ("lib.rs", "pub mod room;\npub use room::{a, b};\n"),
            ("room/mod.rs", "pub mod a;\npub mod b;\n"),
            ("room/a.rs", "use crate::b::B;\n"),
            ("room/b.rs", "fn f() { crate::a::g() }\n"),
        ];
        for (name, text) in files {
            let p = dir.join(name);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        }
        let found = cycles(&import_graph(&dir));
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            found,
            vec![vec![dir.join("room/a.rs"), dir.join("room/b.rs")]]
        );
    }

    #[test]
    fn char_literals_and_lifetimes() {
        let code = code_only(
            "fn f<'a>(x: &'a str) -> char { if x == \"\\\"\" { '\"' } else { '\\'' } } crate::z::Z",
        );
        assert!(code.contains("'a"), "{code}");
        assert_eq!(names(references(&code, &[])), ["z::Z"]);
    }
}
