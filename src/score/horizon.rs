//! The upgrade horizon: the same evidence scored at every minor release from the running version
//! to the newest the data knows, as one row per release with what newly breaks there and the
//! verdict so far. Pure and cheap: `lib.rs` runs the engine once per release over the records it
//! already collected (no second collection) and hands the findings here.
//!
//! Without `--horizon`, the same comparison gives the due-later summary ([`due_later`]): what
//! becomes a warning or an error only after the target, so that a verdict at an early target
//! (a repository declaring 1.21, scored at 1.22) never stays silent about a `docker.sock` mount
//! that breaks at 1.24.

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
    /// For each finding (rule id, [`identity`]) that is a warning or an error somewhere along the
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
        summarize(&self.newly, max)
    }

    /// `1.24 (target)` or `1.24`.
    pub fn label(&self) -> String {
        if self.is_target { format!("{} (target)", self.version) } else { self.version.clone() }
    }
}

impl Horizon {
    /// The first release at which this finding is a warning or an error, when the horizon saw it.
    pub fn first_break(&self, f: &Finding) -> Option<&Version> {
        self.breaks_at.get(&(f.rule_id.clone(), identity(f).to_string()))
    }

    /// `from 1.23` or `from the oldest known release`, for headings.
    pub fn start(&self) -> String {
        match &self.from {
            Some(v) => format!("from {v}"),
            None => "no running version found: from the oldest known release".into(),
        }
    }
}

/// Which finding this is at any release: the fingerprint of its first place. A grouped finding's
/// own fingerprint is taken on its cause, message included, and a message may name the release
/// it is scored at ("fails on 1.31"), so the same finding would look new at every release.
/// A finding read back from JSON has no place fingerprints: its fingerprint is used.
pub fn identity(f: &Finding) -> &str {
    f.place_fingerprints.first().map_or(f.fingerprint.as_str(), String::as_str)
}

/// `rule ×N (severity)` for the first `max` of `newly`, then `+K more`; `-` when empty.
fn summarize(newly: &[NewlyBreaking], max: usize) -> String {
    if newly.is_empty() {
        return "-".into();
    }
    let mut parts: Vec<String> = newly
        .iter()
        .take(max)
        .map(|n| {
            let times = if n.count > 1 { format!(" ×{}", n.count) } else { String::new() };
            format!("{}{times} ({})", n.rule_id, n.severity)
        })
        .collect();
    if newly.len() > max {
        parts.push(format!("+{} more", newly.len() - max));
    }
    parts.join(", ")
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
    let key = |f: &Finding| (f.rule_id.clone(), identity(f).to_string(), f.severity);
    let mut previous: HashSet<(String, String, Severity)> = before.iter().map(key).collect();
    let mut rows = Vec::with_capacity(steps.len());
    let mut breaks_at = BTreeMap::new();
    for step in steps {
        for f in step.findings.iter().filter(|f| f.severity >= Severity::Warning) {
            breaks_at.entry((f.rule_id.clone(), identity(f).to_string())).or_insert_with(|| step.version.clone());
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

/// What breaks only after the target: findings that are warnings or errors at a later release and
/// are not (or less severe) at the target, with the release each first breaks at. Shown beside the
/// verdict when the run was not asked for the whole horizon; the verdict and exit code stay the
/// target's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DueLater {
    /// The target the verdict is for (`major.minor`); every release listed comes after it.
    pub after: String,
    /// The newest release looked at (the newest the rule data knows as released).
    pub through: String,
    /// The releases where something first breaks, oldest first.
    pub releases: Vec<LaterRelease>,
}

/// One release of the due-later summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LaterRelease {
    /// The release (`major.minor`).
    pub version: String,
    /// The findings that first become warnings or errors here (or more severe than before), by rule.
    pub newly: Vec<NewlyBreaking>,
}

impl LaterRelease {
    /// `rule ×N (severity)` for the first `max` rules, then `+K more`. Plain text: each renderer
    /// escapes it.
    pub fn summary(&self, max: usize) -> String {
        summarize(&self.newly, max)
    }
}

/// The due-later summary: `at_target` are the findings at the target, `steps` releases after it
/// (oldest first: every release, or only those where something breaks), each with its findings at
/// the places that break later (or all findings); `through` is the newest release looked at.
/// `None` when nothing becomes a warning or an error after the target.
pub fn due_later(target: &Version, through: &Version, at_target: &[Finding], steps: Vec<Step>) -> Option<DueLater> {
    let through = through.to_string();
    // Notes that appear later are not news here: only what will break or needs a change.
    let steps: Vec<Step> = steps
        .into_iter()
        .map(|s| Step { findings: s.findings.into_iter().filter(|f| f.severity >= Severity::Warning).collect(), ..s })
        .collect();
    let releases: Vec<LaterRelease> = build(Some(target), at_target, &steps, target, true)
        .rows
        .into_iter()
        .filter(|row| !row.newly.is_empty())
        .map(|row| LaterRelease { version: row.version, newly: row.newly })
        .collect();
    (!releases.is_empty()).then(|| DueLater { after: target.to_string(), through, releases })
}
