//! The real-world regression set (issue 12): small synthetic repositories under `fixtures/realworld/`,
//! each shaped like a kind of repository platform teams keep (agent charts, kubespray inventories,
//! Salt and Ansible roles, Terraform + cloud-init bootstrap, Tekton, GitLab and Actions runners on
//! Kubernetes, image-variant repos with Docker Hub hooks, already-migrated repos, ...). Every tree
//! `fixtures/realworld/NAME/` has its expectations beside it in `fixtures/realworld/NAME.expect.yaml`:
//!
//! - `findings`: what a platform engineer auditing that repository expects to be told (rule, path,
//!   optional line);
//! - `silent`: paths (globs, optionally one rule) that must give nothing at or above a severity;
//! - `once`: a rule whose findings over many copies of one cause (rendered test manifests) must be
//!   a single finding, the other copies being its further places (`alsoAt`).
//!
//! Each entry is `status: must` (the test fails when it does not hold) or `status: todo` (not done
//! yet: counted and printed, never failing; flip it to `must` when the tool learns it). The test
//! runs the tool (`repo TREE --format json --target-version T`, T = 1.30 unless the tree names
//! one, in-process) on every tree and prints recall (expected
//! findings found, todo included) and noise (findings nobody expected) per tree and in total.
//! Run `cargo test --test it realworld -- --nocapture` to see the figures.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use dockershim_audit::report::json::{JsonFinding, JsonLocation, JsonReport};
use globset::{GlobBuilder, GlobMatcher};
use serde::Deserialize;

use crate::common::run_in_process;

/// One tree's expectations file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expectations {
    /// What real repositories the tree is modelled on.
    about: String,
    /// `--target-version` for the run; [`DEFAULT_TARGET`] when absent, so results do not move
    /// with the newest release the data knows or with the versions a tree declares.
    #[serde(default)]
    target: Option<String>,
    /// Findings the tree should give.
    #[serde(default)]
    findings: Vec<Expected>,
    /// Places that must stay quiet.
    #[serde(default)]
    silent: Vec<Silence>,
    /// Causes repeated over many files that must be one finding.
    #[serde(default)]
    once: Vec<Once>,
}

/// `must`: enforced. `todo`: measured only, until the tool can do it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Must,
    Todo,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    rule: String,
    path: String,
    /// 1-based line; any line of `path` when absent.
    #[serde(default)]
    line: Option<u32>,
    status: Status,
    /// Why a platform engineer wants this finding.
    #[serde(default)]
    why: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Silence {
    /// Glob over paths relative to the tree (`**` crosses directories, `*` does not).
    path: String,
    /// Only this rule; every rule when absent.
    #[serde(default)]
    rule: Option<String>,
    /// `note` (nothing at all) or `warning` (notes allowed).
    at_or_above: Severity,
    status: Status,
    #[serde(default)]
    why: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Once {
    rule: String,
    /// Glob over the copies.
    path: String,
    status: Status,
    #[serde(default)]
    why: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Severity {
    Note,
    Warning,
    Error,
}

fn severity(f: &JsonFinding) -> Severity {
    match f.severity.as_str() {
        "error" => Severity::Error,
        "warning" => Severity::Warning,
        _ => Severity::Note,
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/realworld")
}

fn glob(pattern: &str) -> GlobMatcher {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .unwrap_or_else(|e| panic!("bad glob {pattern:?}: {e}"))
        .compile_matcher()
}

/// Every place a finding points at: its location, the other places with the same cause
/// (`alsoAt`) and its related locations.
fn places(f: &JsonFinding) -> impl Iterator<Item = &JsonLocation> {
    std::iter::once(&f.location).chain(f.also_at.iter()).chain(f.related.iter().map(|r| &r.location))
}

fn matches(e: &Expected, f: &JsonFinding) -> bool {
    f.rule_id == e.rule
        && places(f).any(|l| l.path.as_deref() == Some(e.path.as_str()) && e.line.is_none_or(|n| l.line == Some(n)))
}

fn describe(f: &JsonFinding) -> String {
    format!(
        "{} {} {}:{} — {}",
        f.severity,
        f.rule_id,
        f.location.path.as_deref().unwrap_or("?"),
        f.location.line.unwrap_or(0),
        f.message
    )
}

/// The target version of a tree that names none: a release past every removal the trees exercise.
const DEFAULT_TARGET: &str = "1.30";

/// Scans one tree. Reported paths are relative to the repository root (this project's), so each
/// is taken back to the tree's own root, the repository the tree stands for, before it is compared
/// with the expectations.
fn run(tree: &Path, target: Option<&str>) -> JsonReport {
    let dir = tree.to_str().unwrap();
    let (code, text) =
        run_in_process(&["repo", dir, "--format", "json", "--target-version", target.unwrap_or(DEFAULT_TARGET)]);
    let mut report: JsonReport =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: no JSON report (exit {code}): {e}", tree.display()));
    let name = tree.file_name().unwrap().to_string_lossy();
    let prefix = format!("fixtures/realworld/{name}/");
    let strip = |l: &mut JsonLocation| {
        if let Some(p) = &mut l.path {
            assert!(p.starts_with(&prefix), "{name}: {p} is not relative to the repository root");
            *p = p[prefix.len()..].to_string();
        }
    };
    for f in &mut report.findings {
        strip(&mut f.location);
        f.also_at.iter_mut().for_each(strip);
        f.related.iter_mut().for_each(|r| strip(&mut r.location));
    }
    report
}

/// Figures for one tree.
#[derive(Default)]
struct Score {
    must: usize,
    must_found: usize,
    todo: usize,
    todo_found: usize,
    noise: usize,
    findings: usize,
}

#[test]
fn realworld_trees_give_the_expected_findings_and_stay_quiet_where_expected() {
    let mut trees: Vec<PathBuf> =
        std::fs::read_dir(root()).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    trees.sort();
    assert!(trees.len() >= 15, "the regression set needs at least 15 trees, has {}", trees.len());

    let mut failures = Vec::new();
    let mut flips = Vec::new();
    let mut report = String::new();
    let mut scores: BTreeMap<String, Score> = BTreeMap::new();
    for tree in &trees {
        let name = tree.file_name().unwrap().to_string_lossy().to_string();
        let expect_file = root().join(format!("{name}.expect.yaml"));
        let text = std::fs::read_to_string(&expect_file)
            .unwrap_or_else(|e| panic!("{name}: missing {} ({e})", expect_file.display()));
        let exp: Expectations =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", expect_file.display()));
        assert!(!exp.about.trim().is_empty(), "{name}: say what the tree is modelled on");
        let json = run(tree, exp.target.as_deref());
        let findings = &json.findings;
        let score = scores.entry(name.clone()).or_default();
        score.findings = findings.len();
        let mut expected_hit = vec![false; findings.len()];

        for e in &exp.findings {
            let hits: Vec<usize> = (0..findings.len()).filter(|&i| matches(e, &findings[i])).collect();
            for &i in &hits {
                expected_hit[i] = true;
            }
            let at = format!("{} {}:{}", e.rule, e.path, e.line.map_or("*".into(), |l| l.to_string()));
            match (e.status, !hits.is_empty()) {
                (Status::Must, true) => {
                    score.must += 1;
                    score.must_found += 1;
                }
                (Status::Must, false) => {
                    score.must += 1;
                    failures.push(format!("{name}: missing {at} ({})", e.why.as_deref().unwrap_or("")));
                }
                (Status::Todo, found) => {
                    score.todo += 1;
                    if found {
                        score.todo_found += 1;
                        flips.push(format!("{name}: todo finding now found, flip to must: {at}"));
                    }
                }
            }
        }

        for s in &exp.silent {
            let m = glob(&s.path);
            let loud: Vec<&JsonFinding> = findings
                .iter()
                .filter(|f| s.rule.as_ref().is_none_or(|r| *r == f.rule_id))
                .filter(|f| severity(f) >= s.at_or_above)
                .filter(|f| {
                    std::iter::once(&f.location)
                        .chain(f.also_at.iter())
                        .any(|l| l.path.as_deref().is_some_and(|p| m.is_match(p)))
                })
                .collect();
            let what = format!("{} ({}, >= {:?})", s.path, s.rule.as_deref().unwrap_or("any rule"), s.at_or_above);
            match (s.status, loud.is_empty()) {
                (Status::Must, false) => failures.push(format!(
                    "{name}: {what} must be silent ({}), got: {}",
                    s.why.as_deref().unwrap_or(""),
                    loud.iter().map(|f| describe(f)).collect::<Vec<_>>().join("; ")
                )),
                (Status::Todo, true) => flips.push(format!("{name}: todo silence now holds, flip to must: {what}")),
                _ => {}
            }
        }

        for o in &exp.once {
            let m = glob(&o.path);
            let n = findings
                .iter()
                .filter(|f| f.rule_id == o.rule && places(f).any(|l| l.path.as_deref().is_some_and(|p| m.is_match(p))))
                .count();
            let what = format!("{} over {}: {n} findings", o.rule, o.path);
            match (o.status, n == 1) {
                (Status::Must, false) => {
                    failures.push(format!("{name}: one finding expected, {what} ({})", o.why.as_deref().unwrap_or("")))
                }
                (Status::Todo, true) => flips.push(format!("{name}: todo once now holds, flip to must: {what}")),
                _ => {}
            }
        }

        let noise: Vec<String> =
            findings.iter().zip(&expected_hit).filter(|(_, hit)| !**hit).map(|(f, _)| describe(f)).collect();
        score.noise = noise.len();
        for n in &noise {
            let _ = writeln!(report, "  noise {name}: {n}");
        }
        for g in &json.coverage.gaps {
            let _ = writeln!(report, "  gap   {name}: {} — {}", g.source, g.reason);
        }
    }

    let mut total = Score::default();
    println!("\nreal-world regression set ({} trees)", trees.len());
    println!("{:<28} {:>9} {:>9} {:>7} {:>9}", "tree", "must", "todo", "noise", "findings");
    for (name, s) in &scores {
        println!(
            "{name:<28} {:>4}/{:<4} {:>4}/{:<4} {:>7} {:>9}",
            s.must_found, s.must, s.todo_found, s.todo, s.noise, s.findings
        );
        total.must += s.must;
        total.must_found += s.must_found;
        total.todo += s.todo;
        total.todo_found += s.todo_found;
        total.noise += s.noise;
        total.findings += s.findings;
    }
    let expected = total.must + total.todo;
    let found = total.must_found + total.todo_found;
    println!(
        "recall {found}/{expected} = {:.2} (must {}/{}, todo {}/{}); noise {} of {} findings = {:.2}",
        found as f64 / expected.max(1) as f64,
        total.must_found,
        total.must,
        total.todo_found,
        total.todo,
        total.noise,
        total.findings,
        total.noise as f64 / total.findings.max(1) as f64
    );
    print!("{report}");
    for f in &flips {
        println!("  {f}");
    }
    assert!(failures.is_empty(), "real-world regressions:\n  {}", failures.join("\n  "));
}
