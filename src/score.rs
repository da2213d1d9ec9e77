//! Verdicts and readiness scores, for the whole scan and per node, node pool and namespace.
//! Computed here, from findings and coverage, so every renderer shows the same numbers.

pub mod horizon;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::evidence::Gap;
use crate::finding::Finding;
use crate::finding::Severity;

/// The one-sentence explanation every report prints next to the score.
pub const FORMULA: &str = "Score = 100 - 15 per error - 4 per warning (notes cost nothing), never below 0, \
capped at 49 while anything blocks the upgrade and at 89 while the scan is incomplete.";

/// Upgrade readiness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Verdict {
    /// No errors or warnings for the target version.
    #[serde(rename = "READY")]
    Ready,
    /// Warnings: will likely break or needs changes.
    #[serde(rename = "AT RISK")]
    AtRisk,
    /// At least one error: the upgrade is blocked.
    #[serde(rename = "BLOCKED")]
    Blocked,
}

impl Verdict {
    /// Upper-case label.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Ready => "READY",
            Verdict::AtRisk => "AT RISK",
            Verdict::Blocked => "BLOCKED",
        }
    }
}

/// Verdict and score of one scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Score {
    /// Verdict.
    pub verdict: Verdict,
    /// 0-100 (see [`FORMULA`]).
    pub score: u32,
    /// Findings by severity.
    pub errors: u32,
    /// Warnings.
    pub warnings: u32,
    /// Notes.
    pub notes: u32,
    /// Whether everything this scope depends on was read. `false` caps the score at 89 and the
    /// reports mark the verdict incomplete: a node whose files could not be collected is not
    /// shown as plainly READY.
    pub complete: bool,
}

impl Score {
    /// Scores a set of findings; `complete` is false when the scan had gaps.
    pub fn of<'a>(findings: impl IntoIterator<Item = &'a Finding>, complete: bool) -> Score {
        let (mut errors, mut warnings, mut notes) = (0u32, 0u32, 0u32);
        for f in findings {
            match f.severity {
                Severity::Error => errors += 1,
                Severity::Warning => warnings += 1,
                Severity::Note => notes += 1,
            }
        }
        let mut score = 100i64 - 15 * i64::from(errors) - 4 * i64::from(warnings);
        if errors > 0 {
            score = score.min(49);
        }
        if !complete {
            score = score.min(89);
        }
        let verdict = if errors > 0 {
            Verdict::Blocked
        } else if warnings > 0 {
            Verdict::AtRisk
        } else {
            Verdict::Ready
        };
        Score { verdict, score: score.clamp(0, 100) as u32, errors, warnings, notes, complete }
    }
}

/// Scores of the scan and its parts.
#[derive(Debug, Clone, Serialize)]
pub struct Scores {
    /// The whole scan.
    pub overall: Score,
    /// Per node name.
    pub nodes: BTreeMap<String, Score>,
    /// Per node pool.
    pub pools: BTreeMap<String, Score>,
    /// Per namespace.
    pub namespaces: BTreeMap<String, Score>,
}

impl Scores {
    /// Scores findings; scopes appear only where a finding names them (plus `extra_nodes`, every
    /// node known to the scan, so clean nodes show as READY). Any gap makes the whole scan
    /// incomplete; a gap naming a node also makes that node and its pool incomplete.
    pub fn compute(findings: &[Finding], gaps: &[Gap], extra_nodes: &[(String, Option<String>)]) -> Scores {
        let mut nodes: BTreeMap<String, Vec<&Finding>> = BTreeMap::new();
        let mut pools: BTreeMap<String, Vec<&Finding>> = BTreeMap::new();
        let mut namespaces: BTreeMap<String, Vec<&Finding>> = BTreeMap::new();
        for (n, pool) in extra_nodes {
            nodes.entry(n.clone()).or_default();
            if let Some(p) = pool {
                pools.entry(p.clone()).or_default();
            }
        }
        for f in findings {
            if let Some(n) = &f.location.node {
                nodes.entry(n.clone()).or_default().push(f);
            }
            if let Some(p) = &f.location.pool {
                pools.entry(p.clone()).or_default().push(f);
            }
            if let Some(o) = f.location.object.as_ref().filter(|o| !o.namespace.is_empty()) {
                namespaces.entry(o.namespace.clone()).or_default().push(f);
            }
        }
        let incomplete_nodes: BTreeSet<&str> = gaps.iter().filter_map(|g| g.node.as_deref()).collect();
        let pool_of: BTreeMap<&str, &str> = extra_nodes
            .iter()
            .filter_map(|(n, p)| p.as_deref().map(|p| (n.as_str(), p)))
            .chain(findings.iter().filter_map(|f| Some((f.location.node.as_deref()?, f.location.pool.as_deref()?))))
            .collect();
        let incomplete_pools: BTreeSet<&str> =
            incomplete_nodes.iter().filter_map(|n| pool_of.get(n).copied()).collect();
        for n in &incomplete_nodes {
            nodes.entry(n.to_string()).or_default();
        }
        let score = |m: BTreeMap<String, Vec<&Finding>>, incomplete: &BTreeSet<&str>| {
            m.into_iter()
                .map(|(k, v)| {
                    let complete = !incomplete.contains(k.as_str());
                    (k, Score::of(v, complete))
                })
                .collect()
        };
        Scores {
            overall: Score::of(findings, gaps.is_empty()),
            nodes: score(nodes, &incomplete_nodes),
            pools: score(pools, &incomplete_pools),
            namespaces: score(namespaces, &BTreeSet::new()),
        }
    }
}
