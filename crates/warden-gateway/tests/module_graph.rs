//! Keeps the shape of the code honest as it changes: the gateway's
//! top-level modules form a DAG (no dependency cycle), and no production
//! file is over 500 lines.
//!
//! The long-file check compares with an explicit list of today's
//! exceptions, written below. It must only shrink: an entry whose file is
//! no longer long fails the test until it is removed; never add one.
//!
//! The module graph is read from the source, not from the compiler: an edge
//! `a -> b` is any `crate::b` path (in code, not in comments) in a file of
//! the top-level module `a`; `lib` is the crate root's own items. Names the
//! root re-exports (`pub use config::Config`, `pub(crate) use cards as
//! card`) count as the module they come from.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Production `.rs` files under `crates/*/src` over [`MAX_LINES`] today
/// (path from the workspace root). This list must only shrink: split a file
/// and delete its entry; never add one.
const ALLOWED_LONG_FILES: &[&str] = &[];

/// Most production lines in a file (in-file `#[cfg(test)] mod … { }`
/// blocks and test-only files are not counted).
const MAX_LINES: usize = 500;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file: lines that are not comments.
fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter(|l| !l.trim_start().starts_with("//"))
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The leading identifier of `s`.
fn ident(s: &str) -> &str {
    let end = s.find(|c: char| !is_ident(c)).unwrap_or(s.len());
    &s[..end]
}

/// The first path segment of each item of a `{a, b::c, d as e}` group
/// (`s` starts after the `{`).
fn group_heads(s: &str) -> Vec<&str> {
    let mut heads = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                heads.push(ident(s[start..i].trim_start()));
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                heads.push(ident(s[start..i].trim_start()));
                start = i + 1;
            }
            _ => {}
        }
    }
    heads.into_iter().filter(|h| !h.is_empty()).collect()
}

/// The names each `crate::` path in `code` starts with.
fn crate_paths(code: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        if code[..i].ends_with(|c: char| is_ident(c) || c == ':' || c == '$') {
            continue; // `$crate::` or `other_crate::` is not ours
        }
        let rest = &code[i + "crate::".len()..];
        match rest.strip_prefix('{') {
            Some(group) => out.extend(group_heads(group)),
            None => out.push(ident(rest)),
        }
    }
    out
}

struct Crate {
    /// Top-level modules declared in `lib.rs`.
    modules: BTreeSet<String>,
    /// Root re-exports and aliases: name → top-level module.
    reexports: BTreeMap<String, String>,
}

impl Crate {
    fn read(lib: &str) -> Self {
        let mut modules = BTreeSet::new();
        let mut uses = Vec::new();
        for line in code_lines(lib) {
            let l = line.trim();
            let l = l
                .strip_prefix("pub(crate) ")
                .or_else(|| l.strip_prefix("pub "))
                .unwrap_or(l);
            if let Some(m) = l.strip_prefix("mod ").and_then(|m| m.strip_suffix(';')) {
                modules.insert(m.to_string());
            } else if let Some(u) = l.strip_prefix("use ").and_then(|u| u.strip_suffix(';')) {
                uses.push(u.to_string());
            }
        }
        let mut reexports = BTreeMap::new();
        for u in uses {
            let u = u.strip_prefix("crate::").unwrap_or(&u);
            let top = ident(u).to_string();
            if !modules.contains(&top) {
                continue;
            }
            // `cards as card`, `config::{Config, ConfigError}`, `state::GatewayState`
            let names: Vec<String> = if let Some((_, group)) = u.split_once('{') {
                group
                    .trim_end_matches('}')
                    .split(',')
                    .filter_map(|n| n.trim().rsplit(' ').next())
                    .map(|n| n.rsplit("::").next().unwrap_or(n).to_string())
                    .collect()
            } else {
                let last = u.rsplit(' ').next().unwrap_or(u);
                vec![last.rsplit("::").next().unwrap_or(last).to_string()]
            };
            for n in names.into_iter().filter(|n| !n.is_empty()) {
                reexports.insert(n, top.clone());
            }
        }
        Self { modules, reexports }
    }

    fn resolve(&self, name: &str) -> String {
        if self.modules.contains(name) {
            name.to_string()
        } else {
            self.reexports
                .get(name)
                .cloned()
                .unwrap_or_else(|| "lib".to_string())
        }
    }
}

/// The edges between top-level modules of the crate at `src`.
fn module_edges(src: &Path) -> (Crate, BTreeSet<(String, String)>) {
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let krate = Crate::read(&lib);
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut edges = BTreeSet::new();
    for file in files {
        let rel = file.strip_prefix(src).expect("under src");
        let first = rel
            .components()
            .next()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .unwrap_or_default();
        let from = match first.strip_suffix(".rs") {
            Some("lib") => "lib".to_string(),
            Some(m) => m.to_string(),
            None => first,
        };
        let text = std::fs::read_to_string(&file).expect("source");
        for line in code_lines(&text) {
            let mut names = crate_paths(line);
            if from == "lib" {
                // The root names its modules without `crate::`.
                for (i, _) in line.match_indices("::") {
                    let before = &line[..i];
                    let start = before.rfind(|c: char| !is_ident(c)).map_or(0, |p| p + 1);
                    if !line[..start].ends_with(':') && krate.modules.contains(&before[start..]) {
                        names.push(&before[start..]);
                    }
                }
            }
            for name in names {
                let to = krate.resolve(name);
                if to != from {
                    edges.insert((from.clone(), to));
                }
            }
        }
    }
    (krate, edges)
}

/// Strongly connected components (Tarjan), as a component number per node.
fn components(
    nodes: &BTreeSet<String>,
    edges: &BTreeSet<(String, String)>,
) -> BTreeMap<String, usize> {
    struct State<'a> {
        adjacent: BTreeMap<&'a str, Vec<&'a str>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        component: BTreeMap<String, usize>,
        next: usize,
        count: usize,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.adjacent.get(v).cloned().unwrap_or_default() {
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                s.component.insert(w.to_string(), s.count);
                if w == v {
                    break;
                }
            }
            s.count += 1;
        }
    }
    let mut s = State {
        adjacent: BTreeMap::new(),
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        component: BTreeMap::new(),
        next: 0,
        count: 0,
    };
    for (a, b) in edges {
        s.adjacent.entry(a.as_str()).or_default().push(b.as_str());
    }
    for n in nodes {
        if !s.index.contains_key(n.as_str()) {
            visit(&mut s, n.as_str());
        }
    }
    s.component
}

#[test]
fn the_gateway_module_graph_is_a_dag() {
    let (krate, edges) = module_edges(&manifest_dir().join("src"));
    let mut nodes = krate.modules.clone();
    nodes.insert("lib".into());
    for (a, b) in &edges {
        nodes.insert(a.clone());
        nodes.insert(b.clone());
    }
    let component = components(&nodes, &edges);
    let on_cycle: Vec<String> = edges
        .iter()
        .filter(|(a, b)| component[a] == component[b])
        .map(|(a, b)| format!("{a} -> {b}"))
        .collect();
    assert!(
        on_cycle.is_empty(),
        "dependency edges that close a cycle between top-level modules of \
         warden-gateway (break the cycle: pass the pieces a function needs \
         instead of `GatewayState`, or move it up to the module that \
         composes):\n  {}",
        on_cycle.join("\n  ")
    );
}

/// Lines of `text` outside in-file `#[cfg(test)] mod name { … }` blocks.
fn production_lines(text: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let (mut count, mut i) = (0, 0);
    while i < lines.len() {
        let test_block = lines[i].trim_end() == "#[cfg(test)]"
            && lines
                .get(i + 1)
                .is_some_and(|l| l.starts_with("mod ") && l.trim_end().ends_with('{'));
        if test_block {
            // The block ends at the first `}` in column 0.
            i += 2;
            while i < lines.len() && lines[i].trim_end() != "}" {
                i += 1;
            }
            i += 1;
            continue;
        }
        count += 1;
        i += 1;
    }
    count
}

/// Whether a file under `src/` holds tests only.
fn test_only(rel: &Path) -> bool {
    let name = rel
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name == "tests.rs"
        || name.ends_with("_tests.rs")
        || name == "test_support.rs"
        || rel.components().any(|c| c.as_os_str() == "tests")
}

#[test]
fn no_production_file_over_500_lines() {
    let root = manifest_dir().join("../..");
    let mut files = Vec::new();
    let mut crates: Vec<_> = std::fs::read_dir(root.join("crates"))
        .expect("crates/")
        .map(|e| e.expect("entry").path())
        .collect();
    crates.sort();
    for krate in crates {
        let src = krate.join("src");
        if src.is_dir() {
            rust_files(&src, &mut files);
        }
    }
    let mut long = BTreeMap::new();
    for file in &files {
        let rel = file.strip_prefix(&root).expect("under the workspace");
        let in_src: PathBuf = rel.components().skip(3).collect();
        if test_only(&in_src) {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("source");
        let n = production_lines(&text);
        if n > MAX_LINES {
            long.insert(rel.to_string_lossy().replace('\\', "/"), n);
        }
    }
    for (path, n) in &long {
        println!("{n:>5} {path}");
    }
    let stale: Vec<&str> = ALLOWED_LONG_FILES
        .iter()
        .copied()
        .filter(|p| !long.contains_key(*p))
        .collect();
    assert!(
        stale.is_empty(),
        "no longer over {MAX_LINES} lines, delete from ALLOWED_LONG_FILES: {stale:?}"
    );
    let new: Vec<String> = long
        .iter()
        .filter(|(p, _)| !ALLOWED_LONG_FILES.contains(&p.as_str()))
        .map(|(p, n)| format!("{p} ({n} lines)"))
        .collect();
    assert!(
        new.is_empty(),
        "production files over {MAX_LINES} lines (split them; do not add them to \
         ALLOWED_LONG_FILES):\n  {}",
        new.join("\n  ")
    );
}

#[test]
fn the_reader_finds_paths_and_groups() {
    assert_eq!(
        crate_paths("use crate::{a, b::{c, d}, e as f}; crate::g::h(); $crate::x"),
        ["a", "b", "e", "g"]
    );
    let k = Crate::read(
        "pub mod cards;\npub mod config;\npub(crate) use cards as card;\npub use config::{Config, ConfigError};\n",
    );
    assert_eq!(k.resolve("card"), "cards");
    assert_eq!(k.resolve("Config"), "config");
    assert_eq!(k.resolve("open"), "lib");
    assert_eq!(
        production_lines("a\n#[cfg(test)]\nmod tests {\n    x\n}\nb\n"),
        2
    );
}
