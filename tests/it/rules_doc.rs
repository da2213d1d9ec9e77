//! Keeps `docs/rules.md` honest. The rule-writing reference is written by hand from the code, so
//! these tests hold it against the code and the built-in rules:
//!
//! - every key of the rule format (`RuleFile`, `SeverityWhen`, `Condition`, `DataRef` in
//!   `src/rules/schema.rs`) and of `steps.yaml` (`StepsFile`, `StepSpec`, `CalledBy`, `Selector`,
//!   `Line` in `src/rules/steps.rs`) is in the doc's table for that type;
//! - every subject has a field table and every file kind is in the kinds table;
//! - each subject's field tables list exactly the fields of the registry `src/evidence/fields.rs`
//!   (which the rule loader checks `field:` against);
//! - every record field a built-in rule tests (`field:`, `differs_from:`) or quotes (`{name}` in its
//!   message or remediation) is in the field table of the rule's subject, or in the table of the
//!   fields every record has;
//! - every field those tables list is a string literal somewhere in the collectors (`src/collect`,
//!   `src/evidence`), unless its row says no collector sets it;
//! - the worked examples load, and each of their rules fires as often as the output shown says.
//!
//! A table is found by the `<!-- rules-doc-table: NAME -->` comment before it; its first column
//! holds the names in backticks (`pod_*` stands for the fields of the `pod` table that start with
//! `pod_`). Example files follow `<!-- rules-doc-file: PATH -->`, example outputs
//! `<!-- rules-doc-output: DIR -->`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use dockershim_audit::collect::repo::{self, RepoOptions};
use dockershim_audit::evidence::file_kind as kinds;
use dockershim_audit::evidence::{Subject, fields};
use dockershim_audit::rules::schema::Condition;
use dockershim_audit::rules::{Catalogue, engine, prefilter::Prefilters};

const DOC: &str = "docs/rules.md";

/// The directory the worked examples keep their rules in.
const EXAMPLE_RULES: &str = "my-rules";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The texts between backticks.
fn code_spans(text: &str) -> Vec<String> {
    text.split('`').skip(1).step_by(2).map(|s| s.trim().to_string()).collect()
}

/// One row of a marked table: the names of its first column and the whole line.
struct Row {
    names: Vec<String>,
    line: String,
}

/// The body rows of the table after `<!-- rules-doc-table: NAME -->`.
fn table(doc: &str, name: &str) -> Vec<Row> {
    let marker = format!("<!-- rules-doc-table: {name} -->");
    let at = doc.find(&marker).unwrap_or_else(|| panic!("{DOC}: no table marked `{marker}`"));
    let lines: Vec<&str> = doc[at + marker.len()..]
        .lines()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert!(lines.len() > 2, "{DOC}: the table after `{marker}` has no rows");
    lines[2..]
        .iter()
        .map(|l| {
            let first = l.trim_start_matches('|').split('|').next().unwrap_or("");
            Row { names: code_spans(first), line: l.to_string() }
        })
        .collect()
}

fn names(rows: &[Row]) -> BTreeSet<String> {
    rows.iter().flat_map(|r| r.names.iter().cloned()).collect()
}

/// The fields the doc lists for records of `subject`: its own table (with `pod_*` expanded from the
/// `pod` table) plus the fields every record has.
fn subject_fields(doc: &str, subject: &str) -> BTreeSet<String> {
    let pod = names(&table(doc, "pod"));
    let mut out = names(&table(doc, "common"));
    for name in names(&table(doc, &format!("subject {subject}"))) {
        match name.strip_suffix('*') {
            Some(prefix) => out.extend(pod.iter().filter(|p| p.starts_with(prefix)).cloned()),
            None => {
                out.insert(name);
            }
        }
    }
    out
}

/// The record fields a condition reads.
fn condition_fields(c: &Condition, out: &mut BTreeSet<String>) {
    for list in [&c.all, &c.any].into_iter().flatten() {
        for inner in list {
            condition_fields(inner, out);
        }
    }
    if let Some(inner) = &c.not {
        condition_fields(inner, out);
    }
    out.extend(c.field.clone());
    out.extend(c.differs_from.clone());
}

/// The record fields a message template quotes (`{name}`; not `{target}` or `{data.column}`),
/// found the way the renderer finds them. Only names that can be fields count: braces around other
/// text (`agent { docker }`) are a template mistake (they render as `?`), not a field to document.
fn placeholders(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        let field_like = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if field_like && name != "target" {
            out.push(name.to_string());
        }
        rest = &after[end + 1..];
    }
    out
}

/// The field names of `pub struct NAME` in `source` as serde reads them (`rename` applied).
fn serde_fields(source: &str, name: &str) -> Vec<String> {
    let head = format!("pub struct {name} {{");
    let start = source.find(&head).unwrap_or_else(|| panic!("src/rules: no `{head}`"));
    let body = &source[start + head.len()..];
    let body = &body[..body.find("\n}").unwrap_or(body.len())];
    let mut out = Vec::new();
    let mut rename: Option<String> = None;
    for line in body.lines().map(str::trim) {
        if line.starts_with("#[serde(") {
            if let Some(i) = line.find("rename = \"") {
                rename = line[i + 10..].split('"').next().map(str::to_string);
            }
            continue;
        }
        if let Some((field, _)) = line.strip_prefix("pub ").and_then(|rest| rest.split_once(':')) {
            out.push(rename.take().unwrap_or_else(|| field.trim().to_string()));
        }
    }
    out
}

/// `(argument, text)` of every fenced block right after a `<!-- KEY: ARGUMENT -->` comment.
fn marked_blocks(doc: &str, key: &str) -> Vec<(String, String)> {
    let open = format!("<!-- {key}: ");
    let mut out = Vec::new();
    let mut rest = doc;
    while let Some(at) = rest.find(&open) {
        let after = &rest[at + open.len()..];
        let (arg, after) = after.split_once(" -->").unwrap_or_else(|| panic!("{DOC}: unclosed `{open}`"));
        let fence = after.find("```").unwrap_or_else(|| panic!("{DOC}: no code block after `{open}{arg} -->`"));
        let body_start = fence + after[fence..].find('\n').map_or(0, |i| i + 1);
        let body_end = body_start
            + after[body_start..]
                .find("\n```")
                .map(|i| i + 1)
                .unwrap_or_else(|| panic!("{DOC}: unclosed code block after `{open}{arg} -->`"));
        out.push((arg.trim().to_string(), after[body_start..body_end].to_string()));
        rest = &after[body_end..];
    }
    out
}

/// How often `word` occurs in `text` as a whole rule id (not inside a longer one).
fn count_id(text: &str, word: &str) -> usize {
    let is_id = |c: char| c.is_ascii_alphanumeric() || c == '-';
    text.match_indices(word)
        .filter(|(i, _)| {
            !text[..*i].chars().next_back().is_some_and(is_id)
                && !text[i + word.len()..].chars().next().is_some_and(is_id)
        })
        .count()
}

fn rust_sources(dir: &Path, out: &mut String) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
        }
    }
}

#[test]
fn every_key_of_the_rule_format_is_documented() {
    let doc = read(DOC);
    let schema = read("src/rules/schema.rs");
    let steps = read("src/rules/steps.rs");
    let mut missing = Vec::new();
    let types = ["RuleFile", "SeverityWhen", "Condition", "DataRef"].map(|t| (t, &schema));
    let step_types = ["StepsFile", "StepSpec", "CalledBy", "Selector", "Line"].map(|t| (t, &steps));
    for (ty, source) in types.into_iter().chain(step_types) {
        let fields = serde_fields(source, ty);
        assert!(!fields.is_empty(), "src/rules: found no fields in `{ty}`");
        let documented = names(&table(&doc, ty));
        for field in fields.iter().filter(|f| !documented.contains(*f)) {
            missing.push(format!(
                "key `{field}` of `{ty}` (src/rules) is missing from the table after `<!-- rules-doc-table: {ty} -->`"
            ));
        }
    }
    assert!(missing.is_empty(), "{DOC} is out of date:\n  {}", missing.join("\n  "));
}

#[test]
fn every_subject_and_file_kind_is_documented() {
    let doc = read(DOC);
    for subject in Subject::ALL {
        // Panics naming the marker when the table is missing.
        table(&doc, &format!("subject {}", subject.name()));
    }
    let documented = names(&table(&doc, "kinds"));
    let missing: Vec<&str> = kinds::REGISTRY.iter().map(|s| s.name).filter(|k| !documented.contains(*k)).collect();
    assert!(
        missing.is_empty(),
        "{DOC}: file kinds of src/evidence/file_kind.rs missing from the table after `<!-- rules-doc-table: kinds -->`: {}",
        missing.join(", ")
    );
}

#[test]
fn every_field_the_builtin_rules_use_is_documented_for_its_subject() {
    let doc = read(DOC);
    let catalogue = Catalogue::builtin().unwrap_or_else(|e| panic!("{e}"));
    let mut missing = Vec::new();
    for rule in &catalogue.rules {
        let subject = rule.spec.on.name();
        let documented = subject_fields(&doc, subject);
        let mut used = BTreeSet::new();
        condition_fields(&rule.spec.matcher, &mut used);
        for sw in &rule.spec.severity_when {
            condition_fields(&sw.when, &mut used);
        }
        for template in [&rule.spec.message, &rule.spec.remediation] {
            used.extend(placeholders(template));
        }
        for field in used.difference(&documented) {
            missing.push(format!(
                "field `{field}` (used by rule `{}`, {}) is missing from the `{subject}` field table \
                 (`<!-- rules-doc-table: subject {subject} -->`) and from the common one",
                rule.id, rule.origin
            ));
        }
    }
    assert!(missing.is_empty(), "{DOC} is out of date:\n  {}", missing.join("\n  "));
}

#[test]
fn the_field_tables_list_exactly_the_field_registry() {
    let doc = read(DOC);
    let mut wrong = Vec::new();
    for subject in Subject::ALL {
        let documented = subject_fields(&doc, subject.name());
        let registry: BTreeSet<String> = fields::of(subject).map(|f| f.name.to_string()).collect();
        for name in documented.difference(&registry) {
            wrong.push(format!("`{name}` is in the `{subject}` tables of {DOC} but not in src/evidence/fields.rs"));
        }
        for name in registry.difference(&documented) {
            wrong.push(format!(
                "`{name}` is a `{subject}` field in src/evidence/fields.rs but not in the tables of {DOC}"
            ));
        }
    }
    assert!(wrong.is_empty(), "the field registry and {DOC} disagree:\n  {}", wrong.join("\n  "));
}

#[test]
fn every_documented_field_is_set_by_some_collector() {
    let doc = read(DOC);
    let mut sources = String::new();
    rust_sources(&root().join("src/collect"), &mut sources);
    rust_sources(&root().join("src/evidence"), &mut sources);
    let mut tables = vec!["common".to_string(), "pod".to_string()];
    tables.extend(Subject::ALL.iter().map(|s| format!("subject {}", s.name())));
    let mut unknown = Vec::new();
    for name in &tables {
        for row in table(&doc, name) {
            if row.line.contains("no collector sets it") {
                continue;
            }
            for field in row.names.iter().filter(|f| !f.ends_with('*')) {
                if !sources.contains(&format!("\"{field}\"")) {
                    unknown.push(format!("`{field}` (table `{name}`)"));
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "{DOC} lists fields no collector under src/collect or src/evidence names (fix the doc, or say in \
         the row that no collector sets it):\n  {}",
        unknown.join("\n  ")
    );
}

#[test]
fn worked_examples_load_and_fire_as_shown() {
    let doc = read(DOC);
    let dir = tempfile::tempdir().expect("temporary directory");
    let files = marked_blocks(&doc, "rules-doc-file");
    assert!(!files.is_empty(), "{DOC}: no `<!-- rules-doc-file: PATH -->` example files");
    for (path, text) in &files {
        let at = dir.path().join(path);
        std::fs::create_dir_all(at.parent().expect("a parent")).expect("create the example's directory");
        std::fs::write(&at, text).expect("write the example file");
    }
    let rules_dir = dir.path().join(EXAMPLE_RULES);
    assert!(rules_dir.is_dir(), "{DOC}: no example file under `{EXAMPLE_RULES}/`");
    let catalogue = Catalogue::load(Some(&rules_dir))
        .unwrap_or_else(|e| panic!("{DOC}: the worked examples' rules do not load: {e}"));
    let ids: Vec<String> =
        catalogue.rules.iter().filter(|r| Path::new(&r.origin).starts_with(&rules_dir)).map(|r| r.id.clone()).collect();
    assert!(!ids.is_empty(), "{DOC}: no rule files under `{EXAMPLE_RULES}/`");

    let target = catalogue.newest_release();
    let prefilters = Prefilters::build(&catalogue, &target);
    let outputs = marked_blocks(&doc, "rules-doc-output");
    assert!(!outputs.is_empty(), "{DOC}: no `<!-- rules-doc-output: DIR -->` example output");
    let mut fired = BTreeSet::new();
    for (example, shown) in &outputs {
        let example_root = dir.path().join(example);
        assert!(example_root.is_dir(), "{DOC}: output of `{example}`, but no example file under `{example}/`");
        let evidence = repo::scan(&[example_root], &RepoOptions::default(), &prefilters);
        let findings = engine::evaluate(&catalogue, &target, &evidence.records);
        for id in &ids {
            let got = findings.iter().filter(|f| &f.rule_id == id).count();
            let in_doc = count_id(shown, id);
            assert_eq!(
                got, in_doc,
                "{DOC}: example `{example}`: rule `{id}` gives {got} finding(s) but the output shown has {in_doc}; \
                 run the example again and paste its output"
            );
            if got > 0 {
                fired.insert(id.clone());
            }
        }
    }
    for id in &ids {
        assert!(fired.contains(id), "{DOC}: example rule `{id}` fires in none of the examples");
    }
}

#[test]
fn the_helpers_read_what_they_should() {
    assert_eq!(placeholders("{a} {data.b} {target} `x: {}` { y } {c"), ["a"]);
    assert_eq!(count_id("x acme-a acme-a-b acme-a\n", "acme-a"), 2);
    let schema = "pub struct S {\n    /// doc: `pub x`\n    #[serde(rename = \"match\")]\n    pub matcher: C,\n    #[serde(default)]\n    pub kinds: Vec<String>,\n}\n";
    assert_eq!(serde_fields(schema, "S"), ["match", "kinds"]);
    let doc = "<!-- rules-doc-table: t -->\n| a | b |\n|---|---|\n| `x`, `y` | `z` |\n\ntext\n";
    assert_eq!(names(&table(doc, "t")), BTreeSet::from(["x".to_string(), "y".to_string()]));
    let blocks = marked_blocks("<!-- rules-doc-file: d/f.yaml -->\n```yaml\na: 1\n```\n", "rules-doc-file");
    assert_eq!(blocks, [("d/f.yaml".to_string(), "a: 1\n".to_string())]);
}
