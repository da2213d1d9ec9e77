//! Baselines: the fingerprints of accepted findings, so a gate fails only on new ones.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::finding::{Finding, Severity};

/// The schema of a baseline file.
pub const SCHEMA: &str = "dockershim-audit/baseline/v1";

/// The schema of a JSON result (`--format json`); see `report::json`.
const RESULT_SCHEMA: &str = "dockershim-audit/v1";

/// The baseline file.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Baseline {
    /// `dockershim-audit/baseline/v1`.
    pub schema: String,
    /// One entry per accepted finding.
    pub findings: Vec<Entry>,
}

/// One accepted finding.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Its fingerprint.
    pub fingerprint: String,
    /// Rule id (for people reading the file).
    pub rule_id: String,
    /// Where it was (for people reading the file).
    pub location: String,
}

impl Baseline {
    /// From current findings.
    pub fn of(findings: &[Finding]) -> Baseline {
        Baseline {
            schema: SCHEMA.into(),
            findings: findings
                .iter()
                .map(|f| Entry {
                    fingerprint: f.fingerprint.clone(),
                    rule_id: f.rule_id.clone(),
                    location: f.location.describe(),
                })
                .collect(),
        }
    }

    /// From findings saved elsewhere (a JSON result): each its fingerprint, rule id and place.
    pub fn of_entries(findings: Vec<Entry>) -> Baseline {
        Baseline { schema: SCHEMA.into(), findings }
    }

    /// Reads a baseline file. Another kind of file (a JSON result, a snapshot, a SARIF log) is an
    /// error that says what the file is and what was expected, and how to make a baseline of a
    /// result.
    pub fn load(path: &Path) -> anyhow::Result<Baseline> {
        let name = path.display();
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("--baseline {name}: {e}"))?;
        let expected = format!("a baseline file (schema `{SCHEMA}`) written by `dockershim-audit baseline write`");
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("--baseline {name}: not JSON ({e}); expected {expected}"))?;
        if value.get("schema").and_then(serde_json::Value::as_str) != Some(SCHEMA) {
            let hint = if is_result(&value) {
                format!(
                    "\n  to accept its findings, write a baseline from it: dockershim-audit baseline write BASELINE.json --from {name}"
                )
            } else {
                String::new()
            };
            anyhow::bail!("--baseline {name} is {}, not a baseline\n  expected {expected}{hint}", describe(&value));
        }
        serde_json::from_value(value).map_err(|e| anyhow::anyhow!("--baseline {name}: a damaged baseline: {e}"))
    }

    /// Writes it, atomically and never through a symlink unless `policy` allows it.
    pub fn save(&self, path: &Path, policy: crate::output_file::Policy) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self)? + "\n";
        crate::output_file::write(path, policy, text.as_bytes()).map_err(|e| anyhow::anyhow!("baseline: {e}"))
    }

    /// Keeps only findings not in the baseline; returns them with the comparison.
    pub fn filter(&self, file: &str, findings: Vec<Finding>) -> (Vec<Finding>, BaselineSummary) {
        let known: BTreeSet<&str> = self.findings.iter().map(|e| e.fingerprint.as_str()).collect();
        let current: BTreeSet<String> = findings
            .iter()
            .flat_map(|f| std::iter::once(f.fingerprint.clone()).chain(f.place_fingerprints.iter().cloned()))
            .collect();
        let (old, new): (Vec<Finding>, Vec<Finding>) = findings.into_iter().partition(|f| {
            known.contains(f.fingerprint.as_str()) || f.place_fingerprints.iter().any(|p| known.contains(p.as_str()))
        });
        let fixed = known.iter().filter(|k| !current.contains(**k)).count();
        let count = |s: Severity| old.iter().filter(|f| f.severity == s).count();
        let summary = BaselineSummary {
            file: file.to_string(),
            unchanged: old.len(),
            unchanged_errors: count(Severity::Error),
            unchanged_warnings: count(Severity::Warning),
            fixed,
            new: new.len(),
        };
        (new, summary)
    }
}

/// Whether `doc` is the JSON result of one scan or of `report` (a fleet result is not: it holds
/// one result per cluster).
pub fn is_result(doc: &serde_json::Value) -> bool {
    let field = |k: &str| doc.get(k).and_then(serde_json::Value::as_str);
    field("schema") == Some(RESULT_SCHEMA) && field("command").is_some_and(|c| c != "fleet")
}

/// What kind of document `doc` is, for errors about a file given in the wrong place: `a JSON
/// result of `cluster``, `a cluster snapshot`, `a SARIF log`, ...
pub fn describe(doc: &serde_json::Value) -> String {
    let field = |k: &str| doc.get(k).and_then(serde_json::Value::as_str);
    match (field("schema"), field("command"), field("apiVersion"), field("kind")) {
        (Some(SCHEMA), ..) => "a baseline".into(),
        (Some(RESULT_SCHEMA), Some("fleet"), ..) => {
            "the JSON result of a fleet audit (one result per cluster; a baseline is made from one cluster's result)"
                .into()
        }
        (Some(RESULT_SCHEMA), Some(command), ..) => format!("the JSON result of `{command}` (--format json)"),
        (_, _, Some("dockershim-audit/v1"), Some("ClusterSnapshot")) => "a cluster snapshot (from `snapshot`)".into(),
        (_, _, Some("v1"), Some("List")) => "a kubectl List (`kubectl get ... -o json`)".into(),
        _ if doc.get("runs").is_some() && field("version") == Some("2.1.0") => "a SARIF log (--format sarif)".into(),
        (Some(other), ..) => format!("a document with schema `{other}`"),
        _ => "a JSON document of another kind".into(),
    }
}

/// Baseline comparison.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BaselineSummary {
    /// Baseline file.
    pub file: String,
    /// Findings also in the baseline (not reported).
    pub unchanged: usize,
    /// Of those, errors: known blockers that still stand.
    pub unchanged_errors: usize,
    /// Of those, warnings.
    pub unchanged_warnings: usize,
    /// Baseline entries no longer found (fixed).
    pub fixed: usize,
    /// New findings (the ones reported).
    pub new: usize,
}
