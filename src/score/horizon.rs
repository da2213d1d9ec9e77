//! The upgrade horizon: the same evidence scored at every minor release from the running version
//! to the newest the data knows, as one row per release with what newly breaks there and the
//! verdict so far. Pure and cheap: `lib.rs` runs the engine once per release over the records it
//! already collected (no second collection) and hands the findings here.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::finding::{Finding, Severity};
use crate::score::Score;
use crate::version::Version;

/// Findings of one release.
pub struct Step {
    /// The release the findings were scored at.
    pub version: Version,
    /// Findings after ignores, as the report would show them at that target.
    pub findings: Vec<Finding>,
}

/// The horizon: one row per release after the running version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Horizon {
    /// The running version the rows start after (`major.minor`); absent when nothing said which
    /// version runs, and the rows start at the oldest release the data knows.
    pub from: Option<String>,
    /// One row per release, oldest first.
    pub rows: Vec<Row>,
    /// For each finding (rule id, fingerprint) that is a warning or an error somewhere along the
    /// way, the first release at which it is: where its cause breaks. The migration plan labels
    /// each step with the earliest of its findings' ("before 1.24"). Not part of the JSON.
    #[serde(skip)]
    pub breaks_at: BTreeMap<(String, String), Version>,
}

/// What upgrading to one release means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// The release (`major.minor`).
    pub version: String,
    /// Whether this is the run's target version.
    pub is_target: bool,
    /// The verdict at this release with everything found still in place: `READY`, `AT RISK` or
    /// `BLOCKED`.
    pub verdict: String,
    /// Error findings at this release.
    pub errors: u32,
    /// Warning findings at this release.
    pub warnings: u32,
    /// Findings that this release adds, or makes more severe than the release before, by rule.
    pub newly: Vec<NewlyBreaking>,
}

impl Row {
    /// `rule ×N (severity)` for the first `max` newly breaking rules, then `+K more`; `-` when
    /// nothing new breaks here. Plain text: each renderer escapes it.
    pub fn newly_summary(&self, max: usize) -> String {
        if self.newly.is_empty() {
            return "-".into();
        }
        let mut parts: Vec<String> = self
            .newly
            .iter()
            .take(max)
            .map(|n| {
                let times = if n.count > 1 { format!(" ×{}", n.count) } else { String::new() };
                format!("{}{times} ({})", n.rule_id, n.severity)
            })
            .collect();
        if self.newly.len() > max {
            parts.push(format!("+{} more", self.newly.len() - max));
        }
        parts.join(", ")
    }

    /// `1.24 (target)` or `1.24`.
    pub fn label(&self) -> String {
        if self.is_target { format!("{} (target)", self.version) } else { self.version.clone() }
    }
}

impl Horizon {
    /// The first release at which this finding is a warning or an error, when the horizon saw it.
    pub fn first_break(&self, f: &Finding) -> Option<&Version> {
        self.breaks_at.get(&(f.rule_id.clone(), f.fingerprint.clone()))
    }

    /// `from 1.23` or `from the oldest known release`, for headings.
    pub fn start(&self) -> String {
        match &self.from {
            Some(v) => format!("from {v}"),
            None => "no running version found: from the oldest known release".into(),
        }
    }
}

/// One rule's findings that start (or get worse) at a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewlyBreaking {
    /// Rule id.
    pub rule_id: String,
    /// `error`, `warning` or `note`.
    pub severity: String,
    /// How many findings of this rule start here.
    pub count: usize,
    /// The message of the first of them.
    pub example: String,
}

/// Builds the rows. `before` are the findings at the running version (what already holds there is
/// not news at the first step); `steps` are the following releases, oldest first.
pub fn build(from: Option<&Version>, before: &[Finding], steps: &[Step], target: &Version, complete: bool) -> Horizon {
    let key = |f: &Finding| (f.rule_id.clone(), f.fingerprint.clone(), f.severity);
    let mut previous: HashSet<(String, String, Severity)> = before.iter().map(key).collect();
    let mut rows = Vec::with_capacity(steps.len());
    let mut breaks_at = BTreeMap::new();
    for step in steps {
        for f in step.findings.iter().filter(|f| f.severity >= Severity::Warning) {
            breaks_at.entry((f.rule_id.clone(), f.fingerprint.clone())).or_insert_with(|| step.version.clone());
        }
        let mut newly: BTreeMap<(Reverse<Severity>, String), NewlyBreaking> = BTreeMap::new();
        for f in step.findings.iter().filter(|f| !previous.contains(&key(f))) {
            newly.entry((Reverse(f.severity), f.rule_id.clone())).and_modify(|n| n.count += 1).or_insert_with(|| {
                NewlyBreaking {
                    rule_id: f.rule_id.clone(),
                    severity: f.severity.name().to_string(),
                    count: 1,
                    example: f.message.clone(),
                }
            });
        }
        let score = Score::of(&step.findings, complete);
        rows.push(Row {
            version: step.version.to_string(),
            is_target: &step.version == target,
            verdict: score.verdict.label().to_string(),
            errors: score.errors,
            warnings: score.warnings,
            newly: newly.into_values().collect(),
        });
        previous = step.findings.iter().map(key).collect();
    }
    Horizon { from: from.map(Version::to_string), rows, breaks_at }
}
