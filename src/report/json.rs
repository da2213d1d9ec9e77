//! `--format json`: a versioned, documented document (schema `dockershim-audit/v1`). These DTOs
//! are the contract: internal types are never serialised directly, so they can change freely.

use serde::{Deserialize, Serialize};

use super::Report;
use crate::baseline::BaselineSummary;
use crate::evidence::NodeInfo;
use crate::finding::Finding;
use crate::score::Scores;

/// Version of the JSON schema; bumped on any incompatible change.
pub const SCHEMA: &str = "dockershim-audit/v1";

/// The whole document.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonReport {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The tool that wrote it.
    pub tool: Tool,
    /// `repo`, `cluster`, `node` or `report`.
    pub command: String,
    /// What was scanned (paths, cluster context, node root).
    pub scanned: Vec<String>,
    /// Kubernetes version the findings are scored against (`major.minor`); the same as `target.version`.
    pub target_version: String,
    /// The target version and where it came from. Absent only in results written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<JsonTarget>,
    /// Counts, verdict and score.
    pub summary: Summary,
    /// Reported findings, most severe first.
    pub findings: Vec<JsonFinding>,
    /// Findings removed by an inline or config ignore, with the ignore.
    pub suppressed: Vec<JsonSuppressed>,
    /// Nodes known to the scan.
    #[serde(default)]
    pub nodes: Vec<NodeInfo>,
    /// What was and was not read.
    pub coverage: Coverage,
    /// The upgrade horizon (`--horizon`): what newly breaks at each minor release after the
    /// running version, and the verdict there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub horizon: Option<crate::score::horizon::Horizon>,
    /// What becomes a warning or an error only after the target, with the release each first
    /// breaks at (absent with `--horizon`, whose rows say more, and when nothing does). Not part
    /// of the verdict, the score or the exit code, which are the target's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_later: Option<crate::score::horizon::DueLater>,
}

/// The target version and how it was chosen (see the README's "Target version").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonTarget {
    /// `major.minor`, for example `1.25`.
    pub version: String,
    /// Where it came from, first match in this order: `flag` (`--target-version`), `config`
    /// (`targetVersion` in the config file), `cluster` (the live `/version`, next minor),
    /// `snapshot` (the server version a snapshot recorded, next minor), `declared` (the version
    /// the scanned material declares, next minor), `newest-known` (nothing said: the newest release
    /// in the rule data, a fallback); `inputs` for a merged report.
    pub source: String,
    /// The same in words, as the other formats print it (`cluster /version v1.24.3, next minor`).
    pub reason: String,
}

/// Tool identity.
#[derive(Debug, Serialize, Deserialize)]
pub struct Tool {
    /// `dockershim-audit`.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// Totals.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// `BLOCKED`, `AT RISK`, `READY`, or `INCOMPLETE` when nothing blocks in what was read but
    /// some source could not be read (see `coverage`): `READY` only for a scan that saw everything.
    pub verdict: String,
    /// The verdict as the other formats print it: `READY` only when the scan saw everything;
    /// otherwise `INCOMPLETE, not READY: ...`, and under `--baseline` how many known findings remain.
    #[serde(default)]
    pub verdict_text: String,
    /// Readiness score, 0-100.
    pub score: u32,
    /// How the score is computed, in one sentence.
    pub score_formula: String,
    /// Reported errors.
    pub errors: u32,
    /// Reported warnings.
    pub warnings: u32,
    /// Reported notes.
    pub notes: u32,
    /// Findings removed by ignores.
    pub suppressed: usize,
    /// Findings per rule id.
    pub by_rule: std::collections::BTreeMap<String, usize>,
    /// Baseline comparison, when a baseline was used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<JsonBaseline>,
    /// Scores per node, node pool and namespace.
    pub scopes: serde_json::Value,
    /// Counters: files seen/read/analysed, skipped as binary/too large/ignored, third-party
    /// directories skipped by policy (`dirs_skipped_third_party`), objects read.
    pub counts: std::collections::BTreeMap<String, u64>,
}

/// Baseline comparison.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonBaseline {
    /// Baseline file.
    pub file: String,
    /// Findings present in the baseline and not reported.
    pub unchanged: usize,
    /// Baseline findings that are gone.
    pub fixed: usize,
    /// New findings (reported).
    pub new: usize,
}

/// One finding.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonFinding {
    /// Rule id (`rules explain ID`).
    pub rule_id: String,
    /// `error`, `warning` or `note`.
    pub severity: String,
    /// Rule title.
    pub title: String,
    /// What was found, one line.
    pub message: String,
    /// What to do.
    pub remediation: String,
    /// First documentation link.
    pub help_uri: Option<String>,
    /// Where.
    pub location: JsonLocation,
    /// Source text behind the finding.
    pub snippet: String,
    /// Stable identity across runs (unchanged when unrelated lines move).
    pub fingerprint: String,
    /// Secondary places (for example the template that uses a values.yaml entry).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<JsonRelated>,
    /// Rule tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Where the command behind the finding runs: `node`, `workload`, `ci-on-kubernetes`,
    /// `build-machine` or `unknown` (findings about commands and containers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Further places with the same cause (same rule and message, same node and object): one
    /// finding stands for all of them, `location` being the first. Empty when there is one place.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_at: Vec<JsonLocation>,
}

/// A location.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonLocation {
    /// File path, relative to the repository root (the git top level containing the first scanned
    /// path, else the working directory); absolute for files outside it and on nodes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// 1-based line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// Kubernetes object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<crate::evidence::ObjectRef>,
    /// Node name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Node pool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// Pods the object stands for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pods: Option<u32>,
}

/// A related location.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JsonRelated {
    /// Where.
    pub location: JsonLocation,
    /// Why.
    pub message: String,
}

/// A suppressed finding.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonSuppressed {
    /// The finding.
    pub finding: JsonFinding,
    /// The ignore (`path:line` or the config entry).
    pub by: String,
    /// Its reason.
    pub reason: String,
}

/// Coverage.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Coverage {
    /// False when anything could not be read (exit 3 if nothing else trips).
    pub complete: bool,
    /// Sources that could not be read, with why and the missing permission.
    pub gaps: Vec<crate::evidence::Gap>,
    /// Sources skipped on purpose (binary, too large, not permitted by choice).
    pub skipped: Vec<crate::evidence::Gap>,
    /// Unused, expired or malformed ignores.
    pub ignore_problems: Vec<crate::suppress::IgnoreProblem>,
    /// Built-in rules and data lists that extra rules (`--rules`, the config's `rules:`) replaced.
    #[serde(default)]
    pub rule_overrides: Vec<crate::rules::catalogue::RuleOverride>,
}

impl From<&crate::evidence::Location> for JsonLocation {
    fn from(l: &crate::evidence::Location) -> Self {
        JsonLocation {
            path: l.path.clone(),
            line: l.line,
            column: l.column,
            object: l.object.clone(),
            node: l.node.clone(),
            pool: l.pool.clone(),
            pods: l.pods,
        }
    }
}

impl From<&JsonLocation> for crate::evidence::Location {
    fn from(l: &JsonLocation) -> Self {
        crate::evidence::Location {
            path: l.path.clone(),
            line: l.line,
            column: l.column,
            object: l.object.clone(),
            node: l.node.clone(),
            pool: l.pool.clone(),
            pods: l.pods,
        }
    }
}

/// DTO of a finding.
pub fn finding(f: &Finding) -> JsonFinding {
    JsonFinding {
        rule_id: f.rule_id.clone(),
        severity: f.severity.name().to_string(),
        title: f.title.clone(),
        message: f.message.clone(),
        remediation: f.remediation.clone(),
        help_uri: f.docs.first().cloned(),
        location: (&f.location).into(),
        snippet: f.snippet.clone(),
        fingerprint: f.fingerprint.clone(),
        related: f
            .related
            .iter()
            .map(|r| JsonRelated { location: (&r.location).into(), message: r.message.clone() })
            .collect(),
        tags: f.tags.clone(),
        context: f.context.clone(),
        also_at: f.also_at.iter().map(JsonLocation::from).collect(),
    }
}

fn scopes(s: &Scores) -> serde_json::Value {
    serde_json::json!({ "nodes": s.nodes, "pools": s.pools, "namespaces": s.namespaces })
}

/// Builds the DTO.
pub fn document(r: &Report) -> JsonReport {
    let mut by_rule = std::collections::BTreeMap::new();
    for f in &r.findings {
        *by_rule.entry(f.rule_id.clone()).or_insert(0) += 1;
    }
    let o = r.scores.overall;
    JsonReport {
        schema: SCHEMA.into(),
        tool: Tool { name: "dockershim-audit".into(), version: env!("CARGO_PKG_VERSION").into() },
        command: r.command.clone(),
        scanned: r.scanned.clone(),
        target_version: r.target.version.to_string(),
        target: Some(JsonTarget {
            version: r.target.version.to_string(),
            source: r.target.source.key().into(),
            reason: r.target.reason(),
        }),
        summary: Summary {
            verdict: r.verdict_label().into(),
            verdict_text: r.verdict_text(),
            score: o.score,
            score_formula: crate::score::FORMULA.into(),
            errors: o.errors,
            warnings: o.warnings,
            notes: o.notes,
            suppressed: r.suppressed.len(),
            by_rule,
            baseline: r.baseline.as_ref().map(|b: &BaselineSummary| JsonBaseline {
                file: b.file.clone(),
                unchanged: b.unchanged,
                fixed: b.fixed,
                new: b.new,
            }),
            scopes: scopes(&r.scores),
            counts: r.counts.clone(),
        },
        findings: r.findings.iter().map(finding).collect(),
        suppressed: r
            .suppressed
            .iter()
            .map(|s| JsonSuppressed { finding: finding(&s.finding), by: s.by.clone(), reason: s.reason.clone() })
            .collect(),
        nodes: r.nodes.clone(),
        coverage: Coverage {
            complete: r.complete(),
            gaps: r.gaps.clone(),
            skipped: r.skipped.clone(),
            ignore_problems: r.ignore_problems.clone(),
            rule_overrides: r.rule_overrides.clone(),
        },
        horizon: r.horizon.clone(),
        due_later: r.due_later.clone(),
    }
}

/// Renders pretty JSON with a trailing newline.
pub fn render(r: &Report) -> anyhow::Result<String> {
    let mut s = serde_json::to_string_pretty(&document(r))?;
    s.push('\n');
    Ok(s)
}
