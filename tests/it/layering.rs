//! The layering rule written at the top of `src/lib.rs`: a module imports only from layers below
//! its own, and no two files of the crate import each other (directly or round a longer cycle).
//! Read from the `crate::` and `super::` paths (and a `mod.rs` naming its own child modules) in
//! every file of `src/`, outside comments and `#[cfg(test)]` modules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;

/// The layers of `src/lib.rs`, lowest first.
const LAYERS: &[&[&str]] = &[
    &["version", "parse", "clock", "bounded_read", "output_file", "terminal", "redact", "percent"],
    &["evidence", "target"],
    &["finding"],
    &["collect", "rules"],
    &["suppress", "baseline", "score"],
    &["report"],
    &["cli", "config"],
    &["gate", "invocation"],
];

fn layer_of(top: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&top))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/collect/files/mod.rs` -> `collect::files`; `src/lib.rs` -> `` (the crate root).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src").with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts == ["lib"] || parts == ["main"] {
        parts.clear();
    }
    parts.join("::")
}

/// The code of a file without comment lines, trailing comments and its `#[cfg(test)]` modules
/// (which sit at the end of a file and may use anything).
fn code(text: &str) -> String {
    let test_mod = Regex::new(r"#\[cfg\(test\)\]\s*(pub(\([[A-Za-z0-9_]:]+\))?\s+)?mod [A-Za-z0-9_]+").expect("regex");
    let text = test_mod.find(text).map_or(text, |m| &text[..m.start()]);
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .map(|l| l.split(" // ").next().unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every module path a file's code names, as written (`evidence::file_kind::FileKind`).
fn referenced_paths(module: &str, code: &str) -> BTreeSet<String> {
    let here: Vec<&str> = if module.is_empty() { Vec::new() } else { module.split("::").collect() };
    let mut out = BTreeSet::new();
    let add_group = |base: String, group: Option<&str>, out: &mut BTreeSet<String>| {
        if let Some(group) = group {
            for item in group.split(',') {
                let item = item.trim().trim_start_matches('{').split(" as ").next().unwrap_or("").trim();
                if !item.is_empty() && item != "self" {
                    out.insert(if base.is_empty() { item.to_string() } else { format!("{base}::{item}") });
                }
            }
        }
        out.insert(base);
    };
    let crate_path =
        Regex::new(r"(?-u:\b)crate::(?:((?:[A-Za-z0-9_]+::)*[A-Za-z0-9_]+)(?:::)?)?(?:\{([^}]*)\})?").expect("regex");
    for c in crate_path.captures_iter(code) {
        let base = c.get(1).map_or("", |m| m.as_str()).to_string();
        add_group(base, c.get(2).map(|m| m.as_str()), &mut out);
    }
    let super_path =
        Regex::new(r"(?-u:\b)((?:super::)+)(?:((?:[A-Za-z0-9_]+::)*[A-Za-z0-9_]+)(?:::)?)?(?:\{([^}]*)\})?")
            .expect("regex");
    for c in super_path.captures_iter(code) {
        let up = c[1].matches("super::").count();
        let mut base: Vec<&str> = here[..here.len().saturating_sub(up)].to_vec();
        if let Some(rest) = c.get(2) {
            base.push(rest.as_str());
        }
        add_group(base.join("::"), c.get(3).map(|m| m.as_str()), &mut out);
    }
    // A parent naming its own child modules (`table::render(..)` in `report/mod.rs`).
    let child_mod = Regex::new(r"(?m)^\s*(?:pub(?:\([[A-Za-z0-9_]:]+\))?\s+)?mod ([A-Za-z0-9_]+);").expect("regex");
    for c in child_mod.captures_iter(code) {
        let child = &c[1];
        let used = Regex::new(&format!(r"(?:^|[^[A-Za-z0-9_]:])(?:self::)?{child}::")).expect("regex");
        if used.is_match(code) {
            let mut path = here.clone();
            path.push(child);
            out.insert(path.join("::"));
        }
    }
    out
}

/// The longest module path that is a file of the crate.
fn resolve<'a>(path: &str, modules: &'a BTreeSet<String>) -> Option<&'a String> {
    let segs: Vec<&str> = path.split("::").collect();
    (1..=segs.len()).rev().find_map(|n| modules.get(&segs[..n].join("::")))
}

/// File-level import edges of the crate (computed once).
fn edges() -> &'static BTreeMap<String, BTreeSet<String>> {
    static EDGES: OnceLock<BTreeMap<String, BTreeSet<String>>> = OnceLock::new();
    EDGES.get_or_init(read_edges)
}

fn read_edges() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let texts: BTreeMap<String, String> = files
        .iter()
        .map(|f| (module_of(&src, f), std::fs::read_to_string(f).expect("source file is readable")))
        .collect();
    let modules: BTreeSet<String> = texts.keys().cloned().collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, text) in &texts {
        let to = edges.entry(module.clone()).or_default();
        for path in referenced_paths(module, &code(text)) {
            if let Some(target) = resolve(&path, &modules).filter(|t| *t != module) {
                to.insert(target.clone());
            }
        }
    }
    edges
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap_or(module)
}

#[test]
fn every_top_level_module_has_a_layer() {
    let edges = edges();
    let missing: BTreeSet<&str> =
        edges.keys().map(|m| top(m)).filter(|t| !t.is_empty() && layer_of(t).is_none()).collect();
    assert!(missing.is_empty(), "modules without a layer (add them to src/lib.rs and LAYERS): {missing:?}");
}

#[test]
fn no_module_imports_one_above_it_or_beside_it() {
    let mut bad = Vec::new();
    for (from, tos) in edges() {
        let (Some(lf), false) = (layer_of(top(from)), from.is_empty()) else { continue };
        for to in tos {
            if top(to) == top(from) {
                continue;
            }
            match layer_of(top(to)) {
                Some(lt) if lt < lf => {}
                Some(lt) => bad.push(format!("{from} (layer {}) imports {to} (layer {})", lf + 1, lt + 1)),
                None => bad.push(format!("{from} imports {to}, which has no layer")),
            }
        }
    }
    assert!(bad.is_empty(), "back-edges or imports within a layer:\n  {}", bad.join("\n  "));
}

#[test]
fn no_files_import_each_other() {
    let edges = edges();
    // Depth-first search for a cycle; reports the first one found with its whole path.
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        stack.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let at = stack.iter().position(|s| s == next).unwrap_or(0);
                    let mut cycle = stack[at..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(next, edges, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in edges.keys() {
        if !state.contains_key(node.as_str())
            && let Some(cycle) = visit(node, edges, &mut state, &mut Vec::new())
        {
            let shown: Vec<&str> = cycle.iter().map(|m| if m.is_empty() { "lib" } else { m.as_str() }).collect();
            panic!("files import each other: {}", shown.join(" -> "));
        }
    }
}

#[test]
fn the_checker_sees_the_kinds_of_import_it_checks() {
    // A known edge of each kind of path, so a regex that stops matching fails loudly.
    let e = edges();
    let has = |from: &str, to: &str| e.get(from).is_some_and(|t| t.contains(to));
    assert!(has("collect::repo", "evidence::file_kind"), "crate:: path with a group");
    assert!(has("collect::files::manifest", "collect::files::source"), "super:: path");
    assert!(has("collect::files", "collect::files::manifest"), "a parent naming its child");
    assert!(has("report::format", "report::table"), "super:: group of siblings");
}
