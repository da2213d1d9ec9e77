//! Baselines: the fingerprints of accepted findings, so a gate fails only on new ones.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::finding::{Finding, Severity};

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
            schema: "dockershim-audit/baseline/v1".into(),
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

    /// Reads a baseline file.
    pub fn load(path: &Path) -> anyhow::Result<Baseline> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("baseline {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("baseline {}: {e}", path.display()))
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
