//! Property-based fuzzing of the readers that take hostile input (issue 14): the YAML reader, the
//! shell reader, the Helm template reader and every other analyser of a file kind, and the
//! snapshot loader. Inputs are the project's own real-looking fixtures, mutated by proptest
//! (inserted, deleted and replaced characters and syntax pieces, lines duplicated or cut), plus
//! generated JSON documents for the snapshot loader. The property: no panic, and the loader
//! answers `Ok` or a clear `Err`.
//!
//! Bounded for CI: a few dozen cases per property (proptest's `PROPTEST_CASES` raises it for a
//! longer local run, e.g. `PROPTEST_CASES=5000 cargo test --test it fuzz`). Failures are shrunk
//! and their seeds kept in `proptest-regressions/`, so a found panic stays a regression test.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use dockershim_audit::collect::cluster::snapshot::ClusterSnapshot;
use dockershim_audit::collect::files::{self, source::Source};
use dockershim_audit::evidence::file_kind::FileKind;
use dockershim_audit::evidence::Evidence;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

use crate::common::fixture;

/// Pieces of the syntaxes the readers handle, inserted by the mutations: YAML indicators, block
/// scalars and anchors, Go template actions, Jinja, shell quoting, heredocs and substitutions,
/// HCL interpolation, Groovy strings, and characters that have broken parsers before (BOM, NEL,
/// line and paragraph separators, NUL, a lone CR).
const PIECES: &[&str] = &[
    ": ", "- ", "? ", "|", ">-", "&a ", "*a", "<<: *a", "!!str ", "{", "}", "[", "]", ",", "#", "---\n",
    "...\n", "\"", "'", "`", "\\", "$(", ")", "${", "$((", "<<EOF\n", "\nEOF\n", "<<-'X'\n", "| tee ",
    "&&", "||", ";", "{{", "}}", "{{- ", " -}}", "{{ .Values.x }}", "{{ if .Values.a }}", "{{ end }}",
    "{{ include \"t\" . }}", "{% if x %}", "{% endif %}", "%{ for a in b }", "%{ endfor }", "'''",
    "\"\"\"", "sh '''", "docker ", "--container-runtime=docker", "/var/run/docker.sock", "\t", "\n",
    "\r", "\r\n", "\u{feff}", "\u{85}", "\u{2028}", "\0", "é", "  ", "\n  ", "\n    - ",
];

/// Real-looking seed files from the fixtures (the realistic trees and the rule fixtures), with
/// the path they are read at. Files over 64 KiB are left out to keep each case fast.
fn seeds() -> &'static [(String, String)] {
    static SEEDS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut out = Vec::new();
        for dir in ["realworld", "rules"] {
            collect(&fixture(dir), &fixture(dir), &mut out);
        }
        out.sort();
        assert!(out.len() > 100, "the fixtures hold the seeds; found only {}", out.len());
        out
    })
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        let meta = std::fs::symlink_metadata(&p).unwrap();
        if meta.is_dir() {
            collect(root, &p, out);
        } else if meta.is_file() && meta.len() <= 64 * 1024 {
            if let Ok(text) = std::fs::read_to_string(&p) {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.push((rel, text));
            }
        }
    }
}

/// One edit of a text: at a position given as a fraction of its length.
#[derive(Debug, Clone)]
enum Edit {
    Insert(f64, usize),
    Delete(f64, usize),
    Replace(f64, usize, usize),
    DuplicateLine(f64),
    Truncate(f64),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0.0..1.0, 0..PIECES.len()).prop_map(|(at, p)| Edit::Insert(at, p)),
        (0.0..1.0, 1usize..40).prop_map(|(at, n)| Edit::Delete(at, n)),
        (0.0..1.0, 1usize..8, 0..PIECES.len()).prop_map(|(at, n, p)| Edit::Replace(at, n, p)),
        (0.0..1.0).prop_map(Edit::DuplicateLine),
        (0.0..1.0).prop_map(Edit::Truncate),
    ]
}

/// The char boundary nearest below `at` × the text's length.
fn boundary(text: &str, at: f64) -> usize {
    let mut i = ((text.len() as f64) * at) as usize;
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(mut text: String, edits: &[Edit]) -> String {
    for e in edits {
        match *e {
            Edit::Insert(at, p) => {
                let i = boundary(&text, at);
                text.insert_str(i, PIECES[p]);
            }
            Edit::Delete(at, n) => {
                let i = boundary(&text, at);
                let j = boundary(&text, ((i + n) as f64 / text.len().max(1) as f64).min(1.0));
                text.replace_range(i..j.max(i), "");
            }
            Edit::Replace(at, n, p) => {
                let i = boundary(&text, at);
                let j = boundary(&text, ((i + n) as f64 / text.len().max(1) as f64).min(1.0));
                text.replace_range(i..j.max(i), PIECES[p]);
            }
            Edit::DuplicateLine(at) => {
                let i = boundary(&text, at);
                let start = text[..i].rfind('\n').map_or(0, |s| s + 1);
                let end = text[i..].find('\n').map_or(text.len(), |e| i + e);
                let line = format!("{}\n", &text[start..end]);
                text.insert_str(start, &line);
            }
            Edit::Truncate(at) => {
                let i = boundary(&text, at);
                text.truncate(i);
            }
        }
    }
    text
}

/// Every file kind's analyser over `text` read at `path`: the parsers (YAML, shell, Helm
/// template, HCL, TOML, INI, Groovy) run under each kind's analysis.
fn analyse_as_every_kind(path: &str, text: &str) -> usize {
    let mut records = 0;
    for kind in FileKind::all() {
        let mut ev = Evidence::default();
        Source::with_dispatch(path, kind, text, files::analyze).analyze(&mut ev);
        records += ev.records.len();
    }
    records
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// A mutated real-looking file, read as every kind, never panics.
    #[test]
    fn mutated_fixture_files_never_panic_any_analyser(
        seed in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 1..12),
    ) {
        let (path, text) = seed.get(seeds());
        let text = apply(text.clone(), &edits);
        analyse_as_every_kind(path, &text);
    }

    /// Text made only of syntax pieces (deep nesting, unbalanced quotes and template actions),
    /// read as every kind, never panics.
    #[test]
    fn generated_syntax_soup_never_panics_any_analyser(
        pieces in prop::collection::vec(0..PIECES.len(), 0..400),
        name in prop::sample::select(vec![
            "templates/daemonset.yaml", "values.yaml", "Jenkinsfile", "install.sh",
            "kubelet.service.j2", "main.tf", "user-data", "init.sls", ".gitlab-ci.yml",
        ]),
    ) {
        let text: String = pieces.iter().map(|&i| PIECES[i]).collect();
        analyse_as_every_kind(name, &text);
    }
}

/// Keys a generated snapshot object draws from: the ones the loader and pruner look at, so the
/// generator reaches the code past "not an object".
const KEYS: &[&str] = &[
    "apiVersion", "kind", "metadata", "name", "namespace", "ownerReferences", "uid", "spec", "template",
    "containers", "initContainers", "volumes", "hostPath", "path", "image", "command", "args", "status",
    "nodeInfo", "containerRuntimeVersion", "kubeletVersion", "items", "data", "labels", "gaps",
    "serverVersion", "configz", "continue", "jobTemplate", "securityContext", "privileged",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        "[ -~]{0,20}".prop_map(Value::String),
        prop::sample::select(vec!["Pod", "Node", "ConfigMap", "DaemonSet", "List", "v1", "docker://20.10.7",
            "/var/run/docker.sock", "v1.23.4"]).prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(6, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<Map<_, _>>())),
        ]
    })
}

fn demo_snapshot() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| std::fs::read_to_string(fixture("clean-cluster/snapshot.json")).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// A generated JSON document, alone or as a List's items, loads or is refused; never a panic.
    #[test]
    fn generated_snapshots_load_or_are_refused(doc in json_value(), as_list in any::<bool>()) {
        let doc = if as_list { json!({"apiVersion": "v1", "kind": "List", "items": [doc]}) } else { doc };
        let _ = ClusterSnapshot::from_json_with_summary(&doc.to_string());
    }

    /// The clean cluster's snapshot, mutated, loads or is refused; never a panic.
    #[test]
    fn mutated_snapshot_loads_or_is_refused(edits in prop::collection::vec(edit(), 1..8)) {
        let text = apply(demo_snapshot().to_string(), &edits);
        let _ = ClusterSnapshot::from_json_with_summary(&text);
    }
}

/// The seeds are what the properties say they are: the fixture trees, read as something by the
/// analysers (a property over files that all fail to read would prove nothing).
#[test]
fn the_fuzz_seeds_are_read_by_the_analysers() {
    let seeds = seeds();
    let read = seeds.iter().filter(|(p, t)| analyse_as_every_kind(p, t) > 0).count();
    assert!(read * 2 > seeds.len(), "only {read} of {} seed files gave a record", seeds.len());
}
