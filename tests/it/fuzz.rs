//! Property-based fuzzing of the snapshot loader (issue 14), through the public API: generated
//! JSON documents (alone or as a List's items) and the clean cluster's snapshot mutated by
//! proptest. The property: the loader answers `Ok` or a clear `Err`, never a panic. The file
//! analysers' half (YAML, shell, Helm template and the rest) is the unit-test module
//! `collect::files::fuzz`.
//!
//! Bounded for CI: a few dozen cases per property (`PROPTEST_CASES` raises it for a longer run).

use std::sync::OnceLock;

use dockershim_audit::collect::cluster::snapshot::ClusterSnapshot;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::common::fixture;

/// JSON syntax pieces the mutations insert: brackets, quotes, escapes, numbers at the edges of
/// their types, and characters that have broken readers before.
const PIECES: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\",
    "\\u0000",
    "\\ud800",
    "null",
    "true",
    "-0",
    "1e999",
    "18446744073709551616",
    "\"items\":",
    "\"kind\":\"List\",",
    "\u{feff}",
    "\n",
    " ",
    "é",
];

/// One edit of a text: at a position given as a fraction of its length.
#[derive(Debug, Clone)]
enum Edit {
    Insert(f64, usize),
    Delete(f64, usize),
    Truncate(f64),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0.0..1.0, 0..PIECES.len()).prop_map(|(at, p)| Edit::Insert(at, p)),
        (0.0..1.0, 1usize..40).prop_map(|(at, n)| Edit::Delete(at, n)),
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
                let mut j = (i + n).min(text.len());
                while !text.is_char_boundary(j) {
                    j -= 1;
                }
                text.replace_range(i..j.max(i), "");
            }
            Edit::Truncate(at) => {
                let i = boundary(&text, at);
                text.truncate(i);
            }
        }
    }
    text
}

/// Keys a generated snapshot object draws from: the ones the loader and pruner look at, so the
/// generator reaches the code past "not an object".
const KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "namespace",
    "ownerReferences",
    "uid",
    "spec",
    "template",
    "containers",
    "initContainers",
    "volumes",
    "hostPath",
    "path",
    "image",
    "command",
    "args",
    "status",
    "nodeInfo",
    "containerRuntimeVersion",
    "kubeletVersion",
    "items",
    "data",
    "labels",
    "gaps",
    "serverVersion",
    "configz",
    "continue",
    "jobTemplate",
    "securityContext",
    "privileged",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        "[ -~]{0,20}".prop_map(Value::String),
        prop::sample::select(vec![
            "Pod",
            "Node",
            "ConfigMap",
            "DaemonSet",
            "List",
            "v1",
            "docker://20.10.7",
            "/var/run/docker.sock",
            "v1.23.4"
        ])
        .prop_map(|s| Value::String(s.into())),
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

/// The generator reaches the loader's real work: a well-formed List of the clean cluster's
/// objects loads, so the properties above exercise more than "not JSON".
#[test]
fn the_unmutated_seed_snapshot_loads() {
    assert!(ClusterSnapshot::from_json_with_summary(demo_snapshot()).is_ok());
}
