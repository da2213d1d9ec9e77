//! `dockershim-audit report FILE.json...`: reads saved JSON results (a cluster scan, node scans,
//! repository scans) back into one [`Report`] — findings, suppressed findings, gaps and nodes
//! concatenated (a finding seen twice is kept once), scores recomputed by [`Scores::compute`], the
//! command `report`. Every input must have been scored at the same target version: findings scored
//! for 1.24 and for 1.37 cannot be added up (a node clean at one is blocked at the other), so mixed
//! targets are an error naming each file and its target.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::json::{JsonFinding, JsonReport, SCHEMA};
use super::{Report, RuleInfo};
use crate::evidence::NodeInfo;
use crate::evidence::{Location, Related};
use crate::finding::Finding;
use crate::finding::Severity;
use crate::rules::Catalogue;
use crate::score::Scores;
use crate::suppress::Suppressed;
use crate::version::Version;

/// Reads one JSON result.
pub fn read(path: &Path) -> anyhow::Result<JsonReport> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let doc: JsonReport = serde_json::from_str(&text).with_context(|| {
        format!("{} is not a dockershim-audit JSON result (write one with --format json)", path.display())
    })?;
    if doc.schema != SCHEMA {
        anyhow::bail!("{}: schema `{}` is not `{SCHEMA}`", path.display(), doc.schema);
    }
    Ok(doc)
}

/// Reads and merges JSON results; `catalogue` supplies rule facts for renderers that list rules
/// and the migration plan's steps.
pub fn load(paths: &[PathBuf], catalogue: &Catalogue) -> anyhow::Result<Report> {
    let mut docs = Vec::with_capacity(paths.len());
    for p in paths {
        docs.push((p.display().to_string(), read(p)?));
    }
    merge(docs, catalogue)
}

fn severity(s: &str, origin: &str) -> anyhow::Result<Severity> {
    match s {
        "error" => Ok(Severity::Error),
        "warning" => Ok(Severity::Warning),
        "note" => Ok(Severity::Note),
        other => anyhow::bail!("{origin}: unknown severity `{other}`"),
    }
}

fn finding(j: &JsonFinding, origin: &str) -> anyhow::Result<Finding> {
    Ok(Finding {
        rule_id: j.rule_id.clone(),
        title: j.title.clone(),
        severity: severity(&j.severity, origin)?,
        message: j.message.clone(),
        remediation: j.remediation.clone(),
        docs: j.help_uri.iter().cloned().collect(),
        tags: j.tags.clone(),
        location: Location::from(&j.location),
        snippet: j.snippet.clone(),
        related: j
            .related
            .iter()
            .map(|r| Related { location: Location::from(&r.location), message: r.message.clone() })
            .collect(),
        fingerprint: j.fingerprint.clone(),
        context: j.context.clone(),
        also_at: j.also_at.iter().map(Location::from).collect(),
        place_fingerprints: Vec::new(),
    })
}

fn identity(f: &Finding) -> (String, String, Location, String) {
    let fp = f.fingerprint.clone();
    if fp.is_empty() {
        (f.rule_id.clone(), String::new(), f.location.clone(), f.message.clone())
    } else {
        (f.rule_id.clone(), fp, Location::default(), String::new())
    }
}

/// Merges documents (each with the name it came from, for error messages).
pub fn merge(docs: Vec<(String, JsonReport)>, catalogue: &Catalogue) -> anyhow::Result<Report> {
    if docs.is_empty() {
        anyhow::bail!("report needs at least one JSON result");
    }
    let mut targets: Vec<(String, Version)> = Vec::new();
    let mut scanned: Vec<String> = Vec::new();
    let mut findings: Vec<Finding> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut suppressed: Vec<Suppressed> = Vec::new();
    let mut gaps = Vec::new();
    let mut skipped = Vec::new();
    let mut ignore_problems = Vec::new();
    let mut rule_overrides = Vec::new();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut nodes: Vec<NodeInfo> = Vec::new();
    for (origin, doc) in docs {
        let t = Version::parse(&doc.target_version)
            .ok_or_else(|| anyhow::anyhow!("{origin}: target version `{}` is not a version", doc.target_version))?
            .minor();
        targets.push((origin.clone(), t));
        for s in doc.scanned {
            let s = if doc.command.is_empty() || doc.command == "report" { s } else { format!("{}: {s}", doc.command) };
            if !scanned.contains(&s) {
                scanned.push(s);
            }
        }
        for j in &doc.findings {
            let f = finding(j, &origin)?;
            if seen.insert(identity(&f)) {
                findings.push(f);
            }
        }
        for s in &doc.suppressed {
            suppressed.push(Suppressed {
                finding: finding(&s.finding, &origin)?,
                by: s.by.clone(),
                reason: s.reason.clone(),
            });
        }
        for g in doc.coverage.gaps {
            if !gaps.contains(&g) {
                gaps.push(g);
            }
        }
        for g in doc.coverage.skipped {
            if !skipped.contains(&g) {
                skipped.push(g);
            }
        }
        for o in doc.coverage.rule_overrides {
            if !rule_overrides.contains(&o) {
                rule_overrides.push(o);
            }
        }
        for p in doc.coverage.ignore_problems {
            if !ignore_problems.contains(&p) {
                ignore_problems.push(p);
            }
        }
        for (k, v) in doc.summary.counts {
            *counts.entry(k).or_insert(0) += v;
        }
        for n in doc.nodes {
            match nodes.iter_mut().find(|x| x.name == n.name) {
                Some(x) => {
                    // Keep what each scan knew: a cluster scan knows the pool and versions, a node scan may not.
                    if x.pool.is_none() {
                        x.pool = n.pool;
                    }
                    for (mine, theirs) in [
                        (&mut x.kubelet_version, n.kubelet_version),
                        (&mut x.runtime, n.runtime),
                        (&mut x.os_image, n.os_image),
                    ] {
                        if mine.is_empty() {
                            *mine = theirs;
                        }
                    }
                }
                None => nodes.push(n),
            }
        }
    }
    let Some((_, target)) = targets.first().cloned() else { anyhow::bail!("report needs at least one JSON result") };
    if targets.iter().any(|(_, t)| *t != target) {
        let each: Vec<String> = targets.iter().map(|(o, t)| format!("  {o}: target Kubernetes {t}")).collect();
        anyhow::bail!(
            "the results were scored at different target versions, and findings for one version cannot be \
             merged with another's:\n{}\nre-run the scans with the same --target-version",
            each.join("\n")
        );
    }
    // A node scan does not know the node's pool; the cluster scan does.
    let pools: BTreeMap<String, String> =
        nodes.iter().filter_map(|n| n.pool.clone().map(|p| (n.name.clone(), p))).collect();
    for f in &mut findings {
        if f.location.pool.is_none() {
            f.location.pool = f.location.node.as_ref().and_then(|n| pools.get(n)).cloned();
        }
    }
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let node_list: Vec<(String, Option<String>)> = nodes.iter().map(|n| (n.name.clone(), n.pool.clone())).collect();
    let scores = Scores::compute(&findings, &gaps, &node_list);
    let mut rules = RuleInfo::from_catalogue(catalogue, &target);
    for f in &findings {
        if !rules.iter().any(|r| r.id == f.rule_id) {
            rules.push(RuleInfo::from_finding(f));
        }
    }
    Ok(Report {
        command: "report".into(),
        scanned,
        source_root: None,
        fail_on: crate::finding::Severity::Error,
        target: crate::target::Target::new(target, crate::target::Source::Inputs),
        findings,
        suppressed,
        baseline: None,
        gaps,
        skipped,
        ignore_problems,
        counts,
        scores,
        nodes,
        rules,
        // Horizons are per scan (they need the evidence); a merged report has none.
        horizon: None,
        steps: catalogue.steps.clone(),
        rule_overrides,
    })
}
