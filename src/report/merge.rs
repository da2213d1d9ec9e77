//! `dockershim-audit report FILE.json...`: reads saved JSON results (a cluster scan, node scans,
//! repository scans) back into one [`Report`] — findings, suppressed findings, gaps and nodes
//! concatenated (a finding seen twice is kept once), scores recomputed by [`Scores::compute`], the
//! command `report`. Every input must have been scored at the same target version: findings scored
//! for 1.24 and for 1.37 cannot be added up (a node clean at one is blocked at the other), so mixed
//! targets are an error naming each file and its target.
//!
//! Results of several clusters or several repositories (fleet results, one result per
//! repository from many CI jobs) are not one upgrade: [`load_grouped`] keeps them apart as the
//! groups of an organisation-wide report, one per repository or cluster (node scans join the
//! cluster that lists their node), each merged as above.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::fleet::{JsonFleet, JsonOrganisation, Kind, Member};
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

fn not_a_result(path: &Path) -> String {
    format!("{} is not a dockershim-audit JSON result (write one with --format json)", path.display())
}

/// What `report` makes of its inputs.
#[derive(Debug)]
pub enum Merged {
    /// One upgrade: at most one cluster and one repository (with any node scans), one report.
    One(Box<Report>),
    /// An organisation-wide report: one member per repository or cluster, in input order; their
    /// exit codes are left for the caller (the gate) to fill in.
    Groups(Vec<Member>),
}

/// One result read from a file: a plain result, or one cluster of a fleet result (one group of
/// an organisation result).
struct Input {
    /// The file, as given.
    file: String,
    /// The file, and the cluster or group inside it, for messages.
    origin: String,
    kind: Kind,
    name: String,
    server_version: Option<String>,
    /// The result, or why a fleet could not audit this cluster.
    doc: Result<JsonReport, String>,
    /// Whether it came out of a fleet or organisation document.
    nested: bool,
}

/// Reads the inputs and merges them: into one report when they describe one upgrade (at most one
/// cluster and one repository, no fleet), else into one group per repository or cluster.
pub fn load_grouped(paths: &[PathBuf], catalogue: &Catalogue) -> anyhow::Result<Merged> {
    let mut inputs = Vec::new();
    let mut read = BTreeSet::new();
    for p in paths {
        // A file named twice (`report a.json b.json a.json`) is one input.
        if read.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())) {
            inputs.extend(read_inputs(p)?);
        }
    }
    let count = |k: Kind| inputs.iter().filter(|i| i.kind == k).count();
    let grouped = inputs.iter().any(|i| i.nested) || count(Kind::Cluster) > 1 || count(Kind::Repository) > 1;
    if !grouped {
        let docs = inputs.into_iter().filter_map(|i| i.doc.ok().map(|d| (i.origin, d))).collect();
        return Ok(Merged::One(Box::new(merge(docs, catalogue)?)));
    }
    let targets: Vec<(String, Version)> = inputs
        .iter()
        .filter_map(|i| i.doc.as_ref().ok().map(|d| (i.origin.clone(), d)))
        .map(|(o, d)| target_of(&o, d).map(|t| (o, t)))
        .collect::<anyhow::Result<_>>()?;
    check_one_target(&targets)?;

    struct Group {
        kind: Kind,
        name: String,
        inputs: Vec<String>,
        server_version: Option<String>,
        docs: Result<Vec<(String, JsonReport)>, String>,
    }
    let node_names = |d: &JsonReport| -> BTreeSet<String> {
        d.nodes
            .iter()
            .map(|n| n.name.clone())
            .chain(d.findings.iter().filter_map(|f| f.location.node.clone()))
            .collect()
    };
    let mut groups: Vec<Group> = Vec::new();
    let mut loose_nodes = Vec::new();
    for i in inputs {
        if i.kind == Kind::Node {
            loose_nodes.push(i);
            continue;
        }
        groups.push(Group {
            kind: i.kind,
            name: i.name,
            inputs: vec![i.file],
            server_version: i.server_version,
            docs: i.doc.map(|d| vec![(i.origin, d)]),
        });
    }
    // A node scan joins the cluster whose result lists its node; else it is a group of its own.
    for i in loose_nodes {
        let Ok(doc) = i.doc else { continue };
        let names = node_names(&doc);
        let home = groups.iter_mut().find(|g| {
            g.kind == Kind::Cluster
                && g.docs
                    .as_ref()
                    .is_ok_and(|ds| ds.iter().any(|(_, d)| d.nodes.iter().any(|n| names.contains(&n.name))))
        });
        match home {
            Some(g) => {
                if !g.inputs.contains(&i.file) {
                    g.inputs.push(i.file);
                }
                if let Ok(ds) = &mut g.docs {
                    ds.push((i.origin, doc));
                }
            }
            None => groups.push(Group {
                kind: Kind::Node,
                name: i.name,
                inputs: vec![i.file],
                server_version: None,
                docs: Ok(vec![(i.origin, doc)]),
            }),
        }
    }
    // Names tell the groups apart: a second `web` repository becomes `web (2)`.
    let mut seen: BTreeMap<(&'static str, String), usize> = BTreeMap::new();
    for g in &mut groups {
        let n = seen.entry((g.kind.name(), g.name.clone())).or_insert(0);
        *n += 1;
        if *n > 1 {
            g.name = format!("{} ({n})", g.name);
        }
    }
    let mut members = Vec::with_capacity(groups.len());
    for g in groups {
        let outcome = match g.docs {
            Ok(docs) => Ok(merge(docs, catalogue)?),
            Err(e) => Err(e),
        };
        members.push(Member {
            kind: g.kind,
            context: g.name,
            inputs: g.inputs,
            server_version: g.server_version,
            outcome,
            exit_code: 0,
        });
    }
    Ok(Merged::Groups(members))
}

/// The results in one file: a plain result, each cluster of a fleet result, or each group of an
/// organisation result (a report of this kind read back).
fn read_inputs(path: &Path) -> anyhow::Result<Vec<Input>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text).with_context(|| not_a_result(path))?;
    let schema = value.get("schema").and_then(|s| s.as_str()).unwrap_or("");
    if schema != SCHEMA {
        anyhow::bail!("{}: schema `{schema}` is not `{SCHEMA}`", path.display());
    }
    let file = path.display().to_string();
    if value.get("command").and_then(|c| c.as_str()) == Some("fleet") {
        let fleet: JsonFleet = serde_json::from_value(value).with_context(|| not_a_result(path))?;
        return Ok(fleet
            .fleet
            .into_iter()
            .map(|m| Input {
                origin: format!("{file} (cluster {})", m.context),
                file: file.clone(),
                kind: Kind::Cluster,
                name: m.context,
                server_version: m.server_version,
                doc: m.report.ok_or_else(|| m.error.unwrap_or_else(|| "not audited".into())),
                nested: true,
            })
            .collect());
    }
    if value.get("groups").is_some() {
        let org: JsonOrganisation = serde_json::from_value(value).with_context(|| not_a_result(path))?;
        return org
            .groups
            .into_iter()
            .map(|g| {
                let kind = Kind::parse(&g.kind)
                    .ok_or_else(|| anyhow::anyhow!("{file}: group `{}` has an unknown kind `{}`", g.name, g.kind))?;
                Ok(Input {
                    origin: format!("{file} ({} {})", g.kind, g.name),
                    file: file.clone(),
                    kind,
                    name: g.name,
                    server_version: g.server_version,
                    doc: g.report.ok_or_else(|| g.error.unwrap_or_else(|| "not audited".into())),
                    nested: true,
                })
            })
            .collect();
    }
    let doc: JsonReport = serde_json::from_value(value).with_context(|| not_a_result(path))?;
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| file.clone());
    let (kind, name) = match doc.command.as_str() {
        "cluster" => (Kind::Cluster, doc.scanned.first().cloned().unwrap_or(stem)),
        "repo" => (Kind::Repository, repository_name(&doc.scanned).unwrap_or(stem)),
        "node" => {
            let nodes: BTreeSet<String> = doc
                .nodes
                .iter()
                .map(|n| n.name.clone())
                .chain(doc.findings.iter().filter_map(|f| f.location.node.clone()))
                .collect();
            let name = if nodes.len() == 1 { nodes.into_iter().next() } else { repository_name(&doc.scanned) };
            (Kind::Node, name.unwrap_or(stem))
        }
        _ => (Kind::Report, stem),
    };
    Ok(vec![Input { origin: file.clone(), file, kind, name, server_version: None, doc: Ok(doc), nested: false }])
}

/// A repository's name from what its scan was given: the last component of the one directory
/// scanned; `None` for `.` (a CI job scanning its checkout) or several paths, where the result
/// file's name says more.
fn repository_name(scanned: &[String]) -> Option<String> {
    let [one] = scanned else { return None };
    let name = Path::new(one).components().next_back().and_then(|c| match c {
        std::path::Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
        _ => None,
    })?;
    Some(name)
}

fn target_of(origin: &str, doc: &JsonReport) -> anyhow::Result<Version> {
    Ok(Version::parse(&doc.target_version)
        .ok_or_else(|| anyhow::anyhow!("{origin}: target version `{}` is not a version", doc.target_version))?
        .minor())
}

/// Findings scored for different targets cannot be merged: an error naming each input's target.
fn check_one_target(targets: &[(String, Version)]) -> anyhow::Result<()> {
    let Some((_, first)) = targets.first() else { return Ok(()) };
    if targets.iter().any(|(_, t)| t != first) {
        let each: Vec<String> = targets.iter().map(|(o, t)| format!("  {o}: target Kubernetes {t}")).collect();
        anyhow::bail!(
            "the results were scored at different target versions, and findings for one version cannot be \
             merged with another's:\n{}\nre-run the scans with the same --target-version",
            each.join("\n")
        );
    }
    Ok(())
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
        targets.push((origin.clone(), target_of(&origin, &doc)?));
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
    check_one_target(&targets)?;
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
        due_later: None,
        steps: catalogue.steps.clone(),
        rule_overrides,
    })
}
