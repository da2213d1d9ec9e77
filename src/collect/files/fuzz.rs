//! Test-only: property-based fuzzing of every file kind's analyser (issue 14), and through them
//! the YAML, shell, Helm template, HCL, TOML, INI and Groovy readers. Inputs are the project's own
//! real-looking fixtures mutated by proptest (inserted, deleted and replaced characters and
//! syntax pieces, lines duplicated or cut) and generated syntax soup; the property is no panic.
//! The snapshot loader's half is `tests/it/fuzz.rs` (public API, JSON pieces of its own).
//!
//! Bounded for CI: a few dozen cases per property (`PROPTEST_CASES` raises it for a longer local
//! run, e.g. `PROPTEST_CASES=5000 cargo test --lib fuzz`). A shrunk failing case is kept in
//! `proptest-regressions/`, so a found panic stays a regression test.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use proptest::prelude::*;

use super::source::Source;
use crate::evidence::Evidence;
use crate::evidence::file_kind::FileKind;

/// `fixtures/<p>` of the repository.
fn fixture(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(p)
}

/// Pieces of the syntaxes the readers handle, inserted by the mutations: YAML indicators, block
/// scalars and anchors, Go template actions, Jinja, shell quoting, heredocs and substitutions,
/// HCL interpolation, Groovy strings, and characters that have broken parsers before (BOM, NEL,
/// line and paragraph separators, NUL, a lone CR).
const PIECES: &[&str] = &[
    ": ",
    "- ",
    "? ",
    "|",
    ">-",
    "&a ",
    "*a",
    "<<: *a",
    "!!str ",
    "{",
    "}",
    "[",
    "]",
    ",",
    "#",
    "---\n",
    "...\n",
    "\"",
    "'",
    "`",
    "\\",
    "$(",
    ")",
    "${",
    "$((",
    "<<EOF\n",
    "\nEOF\n",
    "<<-'X'\n",
    "| tee ",
    "&&",
    "||",
    ";",
    "{{",
    "}}",
    "{{- ",
    " -}}",
    "{{ .Values.x }}",
    "{{ if .Values.a }}",
    "{{ end }}",
    "{{ include \"t\" . }}",
    "{% if x %}",
    "{% endif %}",
    "%{ for a in b }",
    "%{ endfor }",
    "'''",
    "\"\"\"",
    "sh '''",
    "docker ",
    "--container-runtime=docker",
    "/var/run/docker.sock",
    "\t",
    "\n",
    "\r",
    "\r\n",
    "\u{feff}",
    "\u{85}",
    "\u{2028}",
    "\0",
    "é",
    "  ",
    "\n  ",
    "\n    - ",
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
        } else if meta.is_file()
            && meta.len() <= 64 * 1024
            && let Ok(text) = std::fs::read_to_string(&p)
        {
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            out.push((rel, text));
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

/// The byte range of up to `n` bytes from the boundary at `at`, both ends on char boundaries.
fn span(text: &str, at: f64, n: usize) -> (usize, usize) {
    let i = boundary(text, at);
    let mut j = (i + n).min(text.len());
    while !text.is_char_boundary(j) {
        j -= 1;
    }
    (i, j.max(i))
}

fn apply(mut text: String, edits: &[Edit]) -> String {
    for e in edits {
        match *e {
            Edit::Insert(at, p) => {
                let i = boundary(&text, at);
                text.insert_str(i, PIECES[p]);
            }
            Edit::Delete(at, n) => {
                let (i, j) = span(&text, at, n);
                text.replace_range(i..j, "");
            }
            Edit::Replace(at, n, p) => {
                let (i, j) = span(&text, at, n);
                text.replace_range(i..j, PIECES[p]);
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
        Source::file(path, kind, text).analyze(&mut ev);
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

/// The seeds are what the properties say they are: the fixture trees, read as something by the
/// analysers (a property over files that all fail to read would prove nothing).
#[test]
fn the_fuzz_seeds_are_read_by_the_analysers() {
    let seeds = seeds();
    let read = seeds.iter().filter(|(p, t)| analyse_as_every_kind(p, t) > 0).count();
    assert!(read * 2 > seeds.len(), "only {read} of {} seed files gave a record", seeds.len());
}
