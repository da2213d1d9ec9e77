//! Renderers: a finished [`Report`] in, bytes out. They never decide anything: severities,
//! verdicts, scores and coverage all come from the engine and the collectors.

pub(crate) mod fleet;
pub(crate) mod format;
pub(crate) mod html;
pub mod json;
pub(crate) mod junit;
pub(crate) mod markdown;
pub(crate) mod md;
pub(crate) mod merge;
pub(crate) mod readiness;
pub(crate) mod sarif;
pub(crate) mod table;

use std::collections::BTreeMap;

use crate::baseline::BaselineSummary;
use crate::evidence::{Gap, NodeInfo};
use crate::finding::Finding;
use crate::rules::Catalogue;
use crate::score::Scores;
use crate::suppress::{IgnoreProblem, Suppressed};
use crate::version::Version;

/// Everything a renderer may show.
#[derive(Debug)]
pub struct Report {
    /// `repo`, `cluster`, `node` or `report`.
    pub command: String,
    /// What was scanned (paths, context, node root).
    pub scanned: Vec<String>,
    /// The gate's threshold (`--fail-on`): JUnit fails only findings at or above it.
    pub fail_on: crate::finding::Severity,
    /// The absolute directory repository paths are relative to (`%SRCROOT%` in SARIF), for `repo`.
    pub source_root: Option<String>,
    /// Target Kubernetes version and where it came from.
    pub target: crate::target::Target,
    /// Reported findings (after ignores and baseline).
    pub findings: Vec<Finding>,
    /// Findings removed by ignores.
    pub suppressed: Vec<Suppressed>,
    /// Baseline comparison, when `--baseline` was given.
    pub baseline: Option<BaselineSummary>,
    /// Sources that could not be read.
    pub gaps: Vec<Gap>,
    /// Sources skipped on purpose.
    pub skipped: Vec<Gap>,
    /// Unused, expired or malformed ignores.
    pub ignore_problems: Vec<IgnoreProblem>,
    /// Counters (files seen, read, skipped...).
    pub counts: BTreeMap<String, u64>,
    /// Verdicts and scores.
    pub scores: Scores,
    /// Nodes known to the scan with their facts (for the readiness report).
    pub nodes: Vec<NodeInfo>,
    /// Rules that were active in this run (SARIF lists them all).
    pub rules: Vec<RuleInfo>,
    /// The upgrade horizon, when asked for (`--horizon`).
    pub horizon: Option<crate::score::horizon::Horizon>,
    /// What breaks only after the target (without `--horizon`; `None` when nothing does).
    pub due_later: Option<crate::score::horizon::DueLater>,
    /// The migration plan's steps of this run (`steps.yaml`), for the readiness report.
    pub steps: std::sync::Arc<crate::rules::steps::Steps>,
    /// Built-in rules and data lists replaced by extra rules in this run.
    pub rule_overrides: Vec<crate::rules::catalogue::RuleOverride>,
}

/// Static facts of a rule for renderers.
#[derive(Debug, Clone)]
pub struct RuleInfo {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Default severity.
    pub severity: crate::finding::Severity,
    /// Remediation text (unrendered).
    pub remediation: String,
    /// Docs.
    pub docs: Vec<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Subject.
    pub subject: String,
    /// `since`.
    pub since: Option<String>,
}

impl RuleInfo {
    /// The facts a finding carries about its rule, for a rule the catalogue does not list
    /// (results merged from other runs, severity overrides of inactive rules).
    pub fn from_finding(f: &Finding) -> RuleInfo {
        RuleInfo {
            id: f.rule_id.clone(),
            title: f.title.clone(),
            severity: f.severity,
            remediation: f.remediation.clone(),
            docs: f.docs.clone(),
            tags: f.tags.clone(),
            subject: String::new(),
            since: None,
        }
    }

    /// From the catalogue, rules active at `target`.
    pub fn from_catalogue(catalogue: &Catalogue, target: &Version) -> Vec<RuleInfo> {
        catalogue
            .rules
            .iter()
            .filter(|r| r.active_for(target))
            .map(|r| RuleInfo {
                id: r.id.clone(),
                title: r.spec.title.clone(),
                severity: r.spec.severity,
                remediation: crate::rules::compile::unescape(r.spec.remediation.trim()),
                docs: r.spec.docs.clone(),
                tags: r.spec.tags.clone(),
                subject: r.spec.on.name().to_string(),
                since: r.spec.since.clone(),
            })
            .collect()
    }
}

/// The machine-readable verdict of a scan that found nothing blocking but could not see everything.
pub const INCOMPLETE: &str = "INCOMPLETE";

impl Report {
    /// The verdict in words for headers and summary lines: the bare label only when it tells the
    /// whole truth. A READY scan that could not see everything says so, and a READY under
    /// `--baseline` says how many known findings still stand.
    pub fn verdict_text(&self) -> String {
        let o = self.scores.overall;
        let mut text = o.verdict.label().to_string();
        if let Some(b) = &self.baseline {
            if o.verdict == crate::score::Verdict::Ready {
                text = "READY for new findings".into();
            }
            let known = [(b.unchanged_errors, "error"), (b.unchanged_warnings, "warning")]
                .iter()
                .filter(|(n, _)| *n > 0)
                .map(|(n, w)| format!("{n} known {w}{}", if *n == 1 { "" } else { "s" }))
                .collect::<Vec<_>>();
            if !known.is_empty() {
                let verb = if b.unchanged_errors + b.unchanged_warnings == 1 { "remains" } else { "remain" };
                text.push_str(&format!("; {} {verb} in the baseline", known.join(" and ")));
            }
        }
        if o.verdict == crate::score::Verdict::Ready && !self.complete() {
            text = if self.read_nothing() {
                "INCOMPLETE, not READY: nothing was read".to_string()
            } else {
                format!("INCOMPLETE, not READY: nothing blocks in what was read{}", &text[5..])
            };
        }
        text
    }

    /// The verdict as one machine-readable word: the overall verdict's label, except that a scan
    /// which found nothing blocking but could not read every source is `INCOMPLETE`, never
    /// `READY` (a blind scan must not look clean to a script reading the JSON either).
    pub fn verdict_label(&self) -> &'static str {
        let v = self.scores.overall.verdict;
        if v == crate::score::Verdict::Ready && !self.complete() { INCOMPLETE } else { v.label() }
    }

    /// A cluster audit that read no object at all (every list failed, or the snapshot held none).
    fn read_nothing(&self) -> bool {
        self.command == "cluster" && self.counts.iter().filter(|(k, _)| k.starts_with("objects_")).all(|(_, n)| *n == 0)
    }

    /// True when every source was read.
    pub fn complete(&self) -> bool {
        self.gaps.is_empty()
    }
}
