//! The pre-upgrade readiness report, as one model that the Markdown and HTML renderers both show:
//! the verdict and score (from [`crate::score`]), the node-pool and node tables, the findings grouped
//! by rule with every affected object, node, file and line, the ordered migration plan with only
//! the steps this scan's findings call for (each linked to its findings), and the coverage.
//!
//! Nothing here changes a severity, a verdict or a score: they come from the engine. Nor does it
//! hold upgrade policy: which steps exist, which findings each deals with, their order and their
//! text come from `steps.yaml` ([`crate::rules::steps`]); this module groups findings by the step
//! that policy gives them, fills in nodes, places and placeholders, and renders.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::Report;
use crate::finding::Finding;
use crate::finding::Severity;
use crate::rules::steps::fill;
use crate::score::{FORMULA, Score};

/// Label of the group of nodes that carry no node-pool label.
pub const NO_POOL: &str = "(no pool label)";

/// Up to this many nodes the readiness report lists them in one table; beyond it each pool's node
/// rows fold under the pool (a closed `<details>`), so a 500-node cluster does not put 500 rows
/// above the migration plan.
pub const NODE_ROWS_UNFOLDED: usize = 40;

/// Everything the readiness report shows, ready to render.
#[derive(Debug)]
pub struct Readiness<'a> {
    /// Verdict and score of the whole scan.
    pub overall: Score,
    /// Whether every source was read.
    pub complete: bool,
    /// One row per node pool (plus [`NO_POOL`] when some nodes carry no pool label).
    pub pools: Vec<PoolRow>,
    /// One row per node known to the scan or named by a finding.
    pub nodes: Vec<NodeRow>,
    /// Findings grouped by severity (most severe first), then by rule.
    pub groups: Vec<RuleGroup<'a>>,
    /// The migration plan, in order, only the steps that apply.
    pub plan: Vec<Step>,
    /// Scores per namespace (from the engine), for the chart.
    pub namespaces: Vec<(String, Score)>,
}

/// A node-pool row.
#[derive(Debug, Clone)]
pub struct PoolRow {
    /// Pool name, or [`NO_POOL`].
    pub name: String,
    /// Node names in the pool.
    pub nodes: Vec<String>,
    /// Distinct kubelet versions.
    pub kubelet_versions: Vec<String>,
    /// Distinct `containerRuntimeVersion`s.
    pub runtimes: Vec<String>,
    /// Verdict and score of the pool.
    pub score: Score,
    /// Rule ids with an error in the pool.
    pub blockers: Vec<String>,
}

/// A node row.
#[derive(Debug, Clone)]
pub struct NodeRow {
    /// Node name.
    pub name: String,
    /// Node pool.
    pub pool: Option<String>,
    /// Kubelet version (empty when the scan did not see the node object).
    pub kubelet_version: String,
    /// `containerRuntimeVersion` (empty when unknown).
    pub runtime: String,
    /// OS image (empty when unknown).
    pub os_image: String,
    /// Verdict and score of the node.
    pub score: Score,
    /// Rule ids with an error on the node.
    pub blockers: Vec<String>,
}

/// The findings of one rule at one severity.
#[derive(Debug, Clone)]
pub struct RuleGroup<'a> {
    /// `error-RULE`, `warning-RULE`, `note-RULE`.
    pub anchor: String,
    /// Rule id.
    pub rule_id: String,
    /// Rule title.
    pub title: String,
    /// Severity of every finding in the group.
    pub severity: Severity,
    /// Remediation of the first finding (the rule's, rendered).
    pub remediation: String,
    /// Documentation links.
    pub docs: Vec<String>,
    /// The findings, each with its own anchor.
    pub findings: Vec<Affected<'a>>,
    /// Plan steps (numbers) that deal with these findings.
    pub steps: Vec<usize>,
}

/// One finding in a group.
#[derive(Debug, Clone)]
pub struct Affected<'a> {
    /// `f-FINGERPRINT`.
    pub anchor: String,
    /// The finding.
    pub finding: &'a Finding,
}

/// A link from a plan step to a group of findings.
#[derive(Debug, Clone)]
pub struct GroupLink {
    /// Anchor of the [`RuleGroup`].
    pub anchor: String,
    /// Rule id.
    pub rule_id: String,
    /// Severity.
    pub severity: Severity,
    /// Findings of the group this step deals with.
    pub count: usize,
}

impl GroupLink {
    /// `3 errors`, `1 warning`.
    pub fn count_text(&self) -> String {
        format!("{} {}{}", self.count, self.severity.name(), if self.count == 1 { "" } else { "s" })
    }
}

/// `12 nodes: 3 BLOCKED, 9 READY`: a pool's node verdicts, for the summary of its folded rows.
pub fn node_verdicts(nodes: &[&NodeRow]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for v in [crate::score::Verdict::Blocked, crate::score::Verdict::AtRisk, crate::score::Verdict::Ready] {
        let n = nodes.iter().filter(|r| r.score.verdict == v).count();
        if n > 0 {
            counts.push((v.label(), n));
        }
    }
    let parts: Vec<String> = counts.iter().map(|(label, n)| format!("{n} {label}")).collect();
    format!("{}: {}", plural(nodes.len(), "node", "nodes"), parts.join(", "))
}

/// One step of the migration plan.
#[derive(Debug, Clone)]
pub struct Step {
    /// 1-based position.
    pub number: usize,
    /// `step-N`.
    pub anchor: String,
    /// Stable key: the step's id in `steps.yaml`, `ID:POOL` for a per-pool step (the HTML
    /// report's `data-step`).
    pub key: String,
    /// Title (backticks mark code).
    pub title: String,
    /// Nodes concerned (node-pool steps, and node-file findings of other steps).
    pub nodes: Vec<String>,
    /// Objects and files concerned (`Kind/ns/name`, `path:line`), distinct, in finding order.
    pub places: Vec<String>,
    /// What to do, in order (backticks mark code).
    pub actions: Vec<String>,
    /// The findings this step deals with, by rule group.
    pub links: Vec<GroupLink>,
    /// With the upgrade horizon (`--horizon`): the release this step must come before, the
    /// earliest at which one of its findings breaks (is a warning or an error); a step that deals
    /// with no finding of its own (an etcd backup) comes before the plan's earliest.
    pub before: Option<crate::version::Version>,
}

/// A string safe to use as (part of) an HTML id and a URL fragment.
pub fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
            out.push(c.to_ascii_lowercase());
        } else {
            out.push('-');
        }
    }
    if out.is_empty() { "x".into() } else { out }
}

/// Where a finding is, without the node (shown separately): the object (unless it is just the
/// finding's node), then `path:line`. Empty for a finding about a node object alone.
pub fn place(f: &Finding) -> String {
    match place_parts(f) {
        (base, Some(line)) => format!("{base}:{line}"),
        (base, None) => base,
    }
}

/// [`place`] without the line, and the line.
fn place_parts(f: &Finding) -> (String, Option<u32>) {
    let l = &f.location;
    let mut parts = Vec::new();
    if let Some(o) = l.object.as_ref().filter(|o| !(o.kind == "Node" && l.node.as_deref() == Some(o.name.as_str()))) {
        let mut s = o.to_string();
        if let Some(p) = l.pods {
            s.push_str(&format!(" ({p} pod{})", if p == 1 { "" } else { "s" }));
        }
        parts.push(s);
    }
    match &l.path {
        Some(path) => {
            parts.push(path.clone());
            (parts.join(" "), l.line)
        }
        None => (parts.join(" "), None),
    }
}

impl<'a> Readiness<'a> {
    /// Builds the model from a finished report.
    pub fn of(report: &'a Report) -> Readiness<'a> {
        let scores = &report.scores;
        // Node facts: the scan's node list, plus nodes only named by findings.
        let mut node_pool: BTreeMap<String, Option<String>> = BTreeMap::new();
        for n in &report.nodes {
            node_pool.insert(n.name.clone(), n.pool.clone());
        }
        for f in &report.findings {
            if let Some(n) = &f.location.node {
                let e = node_pool.entry(n.clone()).or_insert(None);
                if e.is_none() {
                    *e = f.location.pool.clone();
                }
            }
        }
        let pool_of = |f: &Finding| -> String {
            f.location
                .pool
                .clone()
                .or_else(|| f.location.node.as_ref().and_then(|n| node_pool.get(n).cloned().flatten()))
                .unwrap_or_else(|| NO_POOL.to_string())
        };

        let mut nodes: Vec<NodeRow> = Vec::new();
        for (name, pool) in &node_pool {
            let info = report.nodes.iter().find(|n| &n.name == name);
            let on_node: Vec<&Finding> =
                report.findings.iter().filter(|f| f.location.node.as_deref() == Some(name)).collect();
            let rules_at = |sev: Severity| -> Vec<String> {
                on_node
                    .iter()
                    .filter(|f| f.severity == sev)
                    .map(|f| f.rule_id.clone())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect()
            };
            nodes.push(NodeRow {
                name: name.clone(),
                pool: pool.clone(),
                kubelet_version: info.map(|i| i.kubelet_version.clone()).unwrap_or_default(),
                runtime: info.map(|i| i.runtime.clone()).unwrap_or_default(),
                os_image: info.map(|i| i.os_image.clone()).unwrap_or_default(),
                score: scores.nodes.get(name).copied().unwrap_or_else(|| Score::of(on_node.iter().copied(), true)),
                blockers: rules_at(Severity::Error),
            });
        }
        nodes.sort_by(|a, b| {
            let key =
                |n: &NodeRow| (pool_order(n.pool.as_deref().unwrap_or(NO_POOL)).0, n.pool.clone(), n.name.clone());
            key(a).cmp(&key(b))
        });

        // Pools: every pool the engine scored, plus the nodes without a pool label.
        let mut pool_names: BTreeSet<String> = scores.pools.keys().cloned().collect();
        for n in &nodes {
            pool_names.insert(n.pool.clone().unwrap_or_else(|| NO_POOL.to_string()));
        }
        let mut pools = Vec::new();
        for name in pool_names {
            let members: Vec<&NodeRow> =
                nodes.iter().filter(|n| n.pool.as_deref().unwrap_or(NO_POOL) == name).collect();
            let in_pool: Vec<&Finding> = report
                .findings
                .iter()
                .filter(|f| (f.location.pool.is_some() || f.location.node.is_some()) && pool_of(f) == name)
                .collect();
            let score = scores.pools.get(&name).copied().unwrap_or_else(|| Score::of(in_pool.iter().copied(), true));
            let distinct = |get: &dyn Fn(&NodeRow) -> &str| -> Vec<String> {
                members
                    .iter()
                    .map(|n| get(n).to_string())
                    .filter(|s| !s.is_empty())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect()
            };
            pools.push(PoolRow {
                nodes: members.iter().map(|n| n.name.clone()).collect(),
                kubelet_versions: distinct(&|n| n.kubelet_version.as_str()),
                runtimes: distinct(&|n| n.runtime.as_str()),
                score,
                blockers: in_pool
                    .iter()
                    .filter(|f| f.severity == Severity::Error)
                    .map(|f| f.rule_id.clone())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
                name,
            });
        }
        pools.sort_by(|a, b| pool_order(&a.name).cmp(&pool_order(&b.name)));

        // Groups: by severity (most severe first), then rule id.
        let mut by_group: BTreeMap<(std::cmp::Reverse<Severity>, String), Vec<&'a Finding>> = BTreeMap::new();
        for f in &report.findings {
            by_group.entry((std::cmp::Reverse(f.severity), f.rule_id.clone())).or_default().push(f);
        }
        let mut used_anchors: BTreeSet<String> = BTreeSet::new();
        let mut groups: Vec<RuleGroup<'a>> = Vec::new();
        for ((std::cmp::Reverse(severity), rule_id), mut fs) in by_group {
            fs.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
            let first = fs[0];
            let findings = fs
                .iter()
                .map(|f| {
                    let base =
                        format!("f-{}", slug(if f.fingerprint.is_empty() { &f.rule_id } else { &f.fingerprint }));
                    let mut anchor = base.clone();
                    let mut i = 2;
                    while used_anchors.contains(&anchor) {
                        anchor = format!("{base}-{i}");
                        i += 1;
                    }
                    used_anchors.insert(anchor.clone());
                    Affected { anchor, finding: f }
                })
                .collect();
            groups.push(RuleGroup {
                anchor: format!("{}-{}", severity.name(), slug(&rule_id)),
                title: first.title.clone(),
                remediation: first.remediation.clone(),
                docs: first.docs.clone(),
                severity,
                rule_id,
                findings,
                steps: Vec::new(),
            });
        }

        let plan = plan(report, &groups, &pool_of);
        for g in &mut groups {
            g.steps = plan.iter().filter(|s| s.links.iter().any(|l| l.anchor == g.anchor)).map(|s| s.number).collect();
        }
        Readiness {
            overall: scores.overall,
            complete: report.complete(),
            pools,
            nodes,
            groups,
            plan,
            namespaces: scores.namespaces.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        }
    }

    /// The node rows of each pool, pools in report order, when the nodes are more than
    /// [`NODE_ROWS_UNFOLDED`] and are shown folded under their pool; `None` for one table.
    pub fn folded_nodes(&self) -> Option<Vec<(&PoolRow, Vec<&NodeRow>)>> {
        if self.nodes.len() <= NODE_ROWS_UNFOLDED {
            return None;
        }
        let of = |p: &PoolRow| -> Vec<&NodeRow> {
            self.nodes.iter().filter(|n| n.pool.as_deref().unwrap_or(NO_POOL) == p.name).collect()
        };
        Some(self.pools.iter().map(|p| (p, of(p))).filter(|(_, nodes)| !nodes.is_empty()).collect())
    }

    /// Groups at one severity.
    pub fn groups_at(&self, sev: Severity) -> impl Iterator<Item = &RuleGroup<'a>> {
        self.groups.iter().filter(move |g| g.severity == sev)
    }

    /// Number of findings at one severity.
    pub fn count_at(&self, sev: Severity) -> usize {
        self.groups_at(sev).map(|g| g.findings.len()).sum()
    }

    /// Findings by namespace: `(namespace, errors, warnings, notes)`, most errors first.
    pub fn namespace_counts(&self) -> Vec<(String, [u32; 3])> {
        let mut v: Vec<(String, [u32; 3])> =
            self.namespaces.iter().map(|(n, s)| (n.clone(), [s.errors, s.warnings, s.notes])).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }

    /// Findings by node pool: `(pool, errors, warnings, notes)`.
    pub fn pool_counts(&self) -> Vec<(String, [u32; 3])> {
        self.pools.iter().map(|p| (p.name.clone(), [p.score.errors, p.score.warnings, p.score.notes])).collect()
    }
}

/// Control-plane pools first (kubeadm upgrades them first), unlabelled nodes last, else by name.
fn pool_order(name: &str) -> (u8, &str) {
    let rank = if name == NO_POOL {
        2
    } else if name.contains("control-plane") || name.contains("master") {
        0
    } else {
        1
    };
    (rank, name)
}

/// Builds the plan from the run's `steps.yaml` ([`crate::rules::steps`]): each finding goes to the
/// step that takes it; a step appears when it takes a warning or an error (notes ride along in a
/// step that is there anyway) or when its `called_by` says so; steps come in the file's plan order,
/// the per-pool ones control plane first.
fn plan(report: &Report, groups: &[RuleGroup<'_>], pool_of: &dyn Fn(&Finding) -> String) -> Vec<Step> {
    let policy = &*report.steps;
    let target = report.target.version.to_string();
    // (step, pool of a per-pool step) -> findings with their group anchor.
    let mut buckets: BTreeMap<StepKey, Vec<(&Finding, &str)>> = BTreeMap::new();
    for g in groups {
        for a in &g.findings {
            let f = a.finding;
            let Some(step) = policy.step_of(f) else { continue };
            let pool = policy.specs[step].per_pool.then(|| pool_of(f));
            buckets.entry((step, pool)).or_default().push((f, g.anchor.as_str()));
        }
    }
    buckets.retain(|_, fs| fs.iter().any(|(f, _)| f.severity >= Severity::Warning));
    for step in 0..policy.specs.len() {
        let called = buckets.iter().any(|((by, _), fs)| fs.iter().any(|(f, _)| policy.calls_for(step, *by, f)));
        if called && !buckets.keys().any(|(s, _)| *s == step) {
            buckets.insert((step, None), Vec::new());
        }
    }
    let mut keys: Vec<StepKey> = Vec::new();
    for &step in policy.plan_order() {
        let mut of_step: Vec<StepKey> = buckets.keys().filter(|(s, _)| *s == step).cloned().collect();
        of_step.sort_by(|a, b| pool_order(a.1.as_deref().unwrap_or("")).cmp(&pool_order(b.1.as_deref().unwrap_or(""))));
        keys.extend(of_step);
    }
    let mut steps = Vec::new();
    for key in keys {
        let fs = buckets.get(&key).cloned().unwrap_or_default();
        let (index, pool) = key;
        let spec = &policy.specs[index];
        let number = steps.len() + 1;
        let mut nodes: Vec<String> = Vec::new();
        // Objects and files, with the lines of one file folded together (`daemon.json:2,3,8`).
        let mut by_base: Vec<(String, Vec<u32>)> = Vec::new();
        for (f, _) in &fs {
            if let Some(n) = f.location.node.as_ref().filter(|n| !nodes.contains(*n)) {
                nodes.push(n.clone());
            }
            let (base, line) = place_parts(f);
            if base.is_empty() || spec.per_pool {
                continue;
            }
            match by_base.iter_mut().find(|(b, _)| *b == base) {
                Some((_, lines)) => lines.extend(line.filter(|l| !lines.contains(l))),
                None => by_base.push((base, line.into_iter().collect())),
            }
        }
        let places: Vec<String> = by_base
            .into_iter()
            .map(|(base, mut lines)| {
                lines.sort_unstable();
                if lines.is_empty() {
                    base
                } else {
                    format!("{base}:{}", lines.iter().map(u32::to_string).collect::<Vec<_>>().join(","))
                }
            })
            .collect();
        let mut links: Vec<GroupLink> = Vec::new();
        for (f, anchor) in &fs {
            match links.iter_mut().find(|l| l.anchor == *anchor) {
                Some(l) => l.count += 1,
                None => links.push(GroupLink {
                    anchor: anchor.to_string(),
                    rule_id: f.rule_id.clone(),
                    severity: f.severity,
                    count: 1,
                }),
            }
        }
        let findings: Vec<&Finding> = fs.iter().map(|(f, _)| *f).collect();
        let shown = |lines: &[crate::rules::steps::Line], values: &[(&str, &str)]| -> Vec<String> {
            lines.iter().filter(|l| policy.shows(index, l, &findings)).map(|l| fill(&l.text, values)).collect()
        };
        let (key, title, actions) = match &pool {
            Some(pool) => {
                nodes.sort();
                let node = if nodes.len() == 1 { nodes[0].clone() } else { "NODE".to_string() };
                let each = if nodes.len() == 1 { "" } else { EACH_NODE };
                let who = if pool == NO_POOL {
                    if nodes.len() == 1 {
                        format!("Node `{}`", nodes[0])
                    } else {
                        "Nodes without a pool label".to_string()
                    }
                } else {
                    format!("Node pool `{pool}`")
                };
                let values = [("target", target.as_str()), ("node", node.as_str()), ("each", each)];
                let parts = shown(&spec.title_parts, &values).join(", ");
                let title = fill(&spec.title, &[("target", &target), ("who", &who), ("parts", &parts)]);
                (format!("{}:{pool}", spec.id), title, shown(&spec.actions, &values))
            }
            None => {
                let values = [("target", target.as_str())];
                let parts = shown(&spec.title_parts, &values).join(", ");
                let title = fill(&spec.title, &[("target", &target), ("parts", &parts)]);
                (spec.id.clone(), title, shown(&spec.actions, &values))
            }
        };
        let before =
            report.horizon.as_ref().and_then(|h| findings.iter().filter_map(|f| h.first_break(f)).min().cloned());
        steps.push(Step {
            number,
            anchor: format!("step-{number}"),
            key,
            title,
            nodes,
            places,
            actions,
            links,
            before,
        });
    }
    if let Some(earliest) = steps.iter().filter_map(|s| s.before.clone()).min() {
        for s in steps.iter_mut().filter(|s| s.before.is_none()) {
            s.before = Some(earliest.clone());
        }
    }
    steps
}

/// The plan by release, for the line above it: `(release, step numbers)`, earliest release first;
/// empty without the upgrade horizon.
pub fn plan_by_release(plan: &[Step]) -> Vec<(crate::version::Version, Vec<usize>)> {
    let mut by: BTreeMap<crate::version::Version, Vec<usize>> = BTreeMap::new();
    for s in plan {
        if let Some(v) = &s.before {
            by.entry(v.clone()).or_default().push(s.number);
        }
    }
    by.into_iter().collect()
}

/// A step of `steps.yaml` (its index), with the pool of a per-pool step.
type StepKey = (usize, Option<String>);

/// What `{each}` says in the action of a per-pool step with several nodes.
const EACH_NODE: &str = " (one node at a time, or as many as the pool's spare capacity allows)";

// ---------------------------------------------------------------------------------------------
// Markdown

/// Escapes text for Markdown (inline and table cells); see [`super::md::escape`].
pub fn md_escape(s: &str) -> String {
    super::md::escape(s)
}

/// Markdown code span of any text (no backticks or line breaks can break out).
pub fn md_code(s: &str) -> String {
    super::md::code(s, false)
}

/// Text whose backtick spans are code: escapes the prose, keeps the code.
fn md_inline(s: &str) -> String {
    super::md::inline(s, false)
}

fn md_list(items: &[String], max: usize) -> String {
    let mut s: Vec<String> = items.iter().take(max).map(|i| md_code(i)).collect();
    if items.len() > max {
        s.push(format!("and {} more", items.len() - max));
    }
    s.join(", ")
}

fn verdict_md(s: &Score) -> String {
    let incomplete = if s.complete { "" } else { ", incomplete" };
    format!("**{}** ({}{incomplete})", s.verdict.label(), s.score)
}

fn dash(s: &str) -> String {
    if s.is_empty() { "—".into() } else { md_escape(s) }
}

/// Text inside raw HTML in Markdown (a `<summary>`), where Markdown escapes do not apply.
fn html_text(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The readiness report as Markdown: verdict, coverage (first, when incomplete), node pools and
/// nodes, the migration plan, findings grouped by rule, and the coverage details.
pub fn markdown(report: &Report) -> String {
    let r = Readiness::of(report);
    let mut out = String::new();
    let o = r.overall;
    let _ =
        writeln!(out, "## Dockershim readiness for Kubernetes {}: {}\n", report.target.version, report.verdict_text());
    let _ = writeln!(out, "Target Kubernetes {}.\n", report.target);
    let _ = writeln!(
        out,
        "**Verdict: {}** · readiness score **{}/100** · {}, {}, {}{}\n",
        o.verdict.label(),
        o.score,
        plural(o.errors as usize, "blocker (error)", "blockers (errors)"),
        plural(o.warnings as usize, "warning", "warnings"),
        plural(o.notes as usize, "note", "notes"),
        if report.suppressed.is_empty() { String::new() } else { format!(", {} suppressed", report.suppressed.len()) },
    );
    let _ = writeln!(out, "_{}_\n", md_escape(FORMULA));
    if !report.scanned.is_empty() {
        let _ = writeln!(out, "Scanned ({}): {}\n", md_escape(&report.command), md_list(&report.scanned, 20));
    }
    if !r.complete {
        let _ = writeln!(
            out,
            "> [!WARNING]\n> **Incomplete scan: {} could not be read.** The verdict covers only what was seen; a scan that \
could not see must not be read as clean. See [Coverage](#coverage).\n>",
            plural(report.gaps.len(), "source", "sources")
        );
        for g in report.gaps.iter().take(10) {
            let _ = writeln!(out, "> - {}: {}{}", md_code(&g.source), md_escape(&g.reason), perm_md(g));
        }
        if report.gaps.len() > 10 {
            let _ = writeln!(out, "> - and {} more", report.gaps.len() - 10);
        }
        out.push('\n');
    }

    if r.pools.iter().any(|p| p.name != NO_POOL) {
        let _ = writeln!(out, "### Node pools\n");
        let _ = writeln!(out, "| Pool | Nodes | Kubelet | Runtime | Verdict | Blockers |");
        let _ = writeln!(out, "|---|---:|---|---|---|---|");
        for p in &r.pools {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                md_escape(&p.name),
                p.nodes.len(),
                dash(&p.kubelet_versions.join(", ")),
                dash(&p.runtimes.join(", ")),
                verdict_md(&p.score),
                blockers_md(&r, &p.blockers)
            );
        }
        out.push('\n');
    }
    if !r.nodes.is_empty() {
        let _ = writeln!(out, "### Nodes\n");
        let node_table = |out: &mut String, nodes: &[&NodeRow]| {
            let _ = writeln!(out, "| Node | Pool | Kubelet | Runtime | Verdict | Blockers |");
            let _ = writeln!(out, "|---|---|---|---|---|---|");
            for n in nodes {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} |",
                    md_escape(&n.name),
                    dash(n.pool.as_deref().unwrap_or("")),
                    dash(&n.kubelet_version),
                    dash(&n.runtime),
                    verdict_md(&n.score),
                    blockers_md(&r, &n.blockers)
                );
            }
        };
        match r.folded_nodes() {
            None => node_table(&mut out, &r.nodes.iter().collect::<Vec<_>>()),
            Some(pools) => {
                let _ = writeln!(
                    out,
                    "{} nodes, folded under their pool (more than {NODE_ROWS_UNFOLDED}).\n",
                    r.nodes.len()
                );
                for (pool, nodes) in pools {
                    let _ = writeln!(
                        out,
                        "<details><summary>Pool <code>{}</code>: {}</summary>\n",
                        html_text(&pool.name),
                        node_verdicts(&nodes)
                    );
                    node_table(&mut out, &nodes);
                    let _ = writeln!(out, "\n</details>\n");
                }
            }
        }
        out.push('\n');
    }

    let _ = writeln!(out, "### Migration plan\n");
    if r.plan.is_empty() {
        let _ = writeln!(out, "Nothing in this scan calls for a migration step.");
    }
    let by_release = plan_by_release(&r.plan);
    if !by_release.is_empty() {
        let parts: Vec<String> = by_release
            .iter()
            .map(|(v, numbers)| {
                let links: Vec<String> = numbers.iter().map(|n| format!("[{n}](#step-{n})")).collect();
                format!("before {v}: {} {}", if numbers.len() == 1 { "step" } else { "steps" }, links.join(", "))
            })
            .collect();
        let _ = writeln!(
            out,
            "By release (each step before the first release where what it fixes breaks): {}.\n",
            parts.join("; ")
        );
    }
    for s in &r.plan {
        let before = s.before.as_ref().map(|v| format!(" _(before {v})_")).unwrap_or_default();
        let _ = writeln!(out, "{}. <a id=\"{}\"></a>**{}**{before}", s.number, s.anchor, md_inline(&s.title));
        if !s.nodes.is_empty() {
            let _ = writeln!(out, "   - Nodes: {}", md_list(&s.nodes, 30));
        }
        if !s.places.is_empty() {
            let _ = writeln!(out, "   - Affects: {}", md_list(&s.places, 12));
        }
        for a in &s.actions {
            let _ = writeln!(out, "   - {}", md_inline(a));
        }
        if !s.links.is_empty() {
            let links: Vec<String> = s
                .links
                .iter()
                .map(|l| format!("[{}](#{}) ({})", md_escape(&l.rule_id), l.anchor, l.count_text()))
                .collect();
            let _ = writeln!(out, "   - Findings: {}", links.join(", "));
        }
    }
    out.push('\n');
    if let Some(h) = &report.horizon {
        out.push_str(&super::markdown::horizon_table(h));
    }
    if let Some(d) = &report.due_later {
        out.push_str(&super::markdown::due_later_list(d));
    }

    for (sev, heading) in [(Severity::Error, "Blockers"), (Severity::Warning, "At risk"), (Severity::Note, "Notes")] {
        let n = r.count_at(sev);
        if n == 0 {
            continue;
        }
        let _ = writeln!(out, "### {heading} ({})\n", plural(n, "finding", "findings"));
        let fold = sev == Severity::Note;
        if fold {
            let _ = writeln!(
                out,
                "<details><summary>{}</summary>\n",
                plural(n, "informative finding", "informative findings")
            );
        }
        for g in r.groups_at(sev) {
            let steps: Vec<String> = g.steps.iter().map(|n| format!("[step {n}](#step-{n})")).collect();
            let _ = writeln!(
                out,
                "#### <a id=\"{}\"></a>{} — {} ({}){}\n",
                g.anchor,
                md_code(&g.rule_id),
                md_escape(&g.title),
                g.findings.len(),
                if steps.is_empty() { String::new() } else { format!(" · plan {}", steps.join(", ")) }
            );
            for a in &g.findings {
                let f = a.finding;
                let mut where_ = Vec::new();
                if let Some(n) = &f.location.node {
                    where_.push(format!("node {}", md_code(n)));
                }
                let p = place(f);
                if !p.is_empty() {
                    where_.push(md_code(&p));
                }
                let _ = writeln!(out, "- <a id=\"{}\"></a>{}: {}", a.anchor, where_.join(" "), md_escape(&f.message));
                for rel in &f.related {
                    let _ = writeln!(
                        out,
                        "  - related: {} — {}",
                        md_code(&rel.location.describe()),
                        md_escape(&rel.message)
                    );
                }
            }
            let rem = first_sentences(&g.remediation);
            if !rem.is_empty() {
                let _ = writeln!(out, "\n  _Fix:_ {}", md_escape(&rem));
            }
            if let Some(d) = g.docs.first() {
                let _ = writeln!(out, "  ([docs]({}))", super::md::link_target(d));
            }
            out.push('\n');
        }
        if fold {
            let _ = writeln!(out, "</details>\n");
        }
    }

    let _ = writeln!(out, "### <a id=\"coverage\"></a>Coverage\n");
    if r.complete && report.skipped.is_empty() {
        let _ = writeln!(out, "Every source the scan looked for was read.");
    } else if r.complete {
        let _ =
            writeln!(out, "Everything the scan read was read in full; what it did not read, and why, is listed below.");
    } else {
        let _ = writeln!(out, "**Incomplete:** {} could not be read:", plural(report.gaps.len(), "source", "sources"));
        for g in &report.gaps {
            let _ = writeln!(out, "- {}: {}{}", md_code(&g.source), md_escape(&g.reason), perm_md(g));
        }
    }
    if !report.skipped.is_empty() {
        let _ = writeln!(
            out,
            "\n<details><summary>{} skipped on purpose</summary>\n",
            plural(report.skipped.len(), "source", "sources")
        );
        for g in report.skipped.iter().take(50) {
            let _ = writeln!(out, "- {}: {}", md_code(&g.source), md_escape(&g.reason));
        }
        if report.skipped.len() > 50 {
            let _ = writeln!(out, "- and {} more (see `--format json`)", report.skipped.len() - 50);
        }
        let _ = writeln!(out, "\n</details>");
    }
    for o in &report.rule_overrides {
        let _ =
            writeln!(out, "\nBuilt-in {} {} replaced by {}.", md_escape(&o.kind), md_code(&o.id), md_code(&o.origin));
    }
    if !report.ignore_problems.is_empty() {
        let _ = writeln!(out, "\nIgnores to fix:");
        for p in &report.ignore_problems {
            let _ = writeln!(out, "- {}: {}", md_code(&p.at), md_escape(&p.problem));
        }
    }
    if let Some(b) = &report.baseline {
        let _ = writeln!(
            out,
            "\nBaseline {}: {} new, {} unchanged, {} fixed.",
            md_code(&b.file),
            b.new,
            b.unchanged,
            b.fixed
        );
    }
    out
}

fn perm_md(g: &crate::evidence::Gap) -> String {
    g.missing_permission.as_ref().map(|p| format!(" (missing permission: {})", md_escape(p))).unwrap_or_default()
}

fn blockers_md(r: &Readiness<'_>, ids: &[String]) -> String {
    if ids.is_empty() {
        return "—".into();
    }
    ids.iter()
        .map(|id| {
            let anchor = format!("error-{}", slug(id));
            if r.groups.iter().any(|g| g.anchor == anchor) {
                format!("[{}](#{anchor})", md_escape(id))
            } else {
                md_escape(id)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The first one or two sentences of a remediation (the table and plan carry the rest).
pub fn first_sentences(s: &str) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let abbreviation = |i: usize| {
        let before = &s[..i];
        ["e.g", "i.e", "etc", "vs", "cf"].iter().any(|a| before.ends_with(a))
    };
    let mut ends = s.match_indices(". ").map(|(i, _)| i).filter(|i| !abbreviation(*i)).map(|i| i + 1);
    match (ends.next(), ends.next()) {
        (Some(a), _) if a > 240 => s[..a].to_string(),
        (Some(_), Some(b)) => s[..b].to_string(),
        _ => s,
    }
}
