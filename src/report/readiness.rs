//! The pre-upgrade readiness report, as one model that the Markdown and HTML renderers both show:
//! the verdict and score (from [`crate::score`]), the node-pool and node tables, the findings grouped
//! by rule with every affected object, node, file and line, the ordered migration plan with only
//! the steps this scan's findings call for (each linked to its findings), and the coverage.
//!
//! Nothing here changes a severity, a verdict or a score: they come from the engine. This module
//! only groups findings and decides which plan steps they call for, by rule id and tags.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::Report;
use crate::finding::Finding;
use crate::finding::Severity;
use crate::score::{FORMULA, Score};

/// Label of the group of nodes that carry no node-pool label.
pub const NO_POOL: &str = "(no pool label)";

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

/// What a plan step is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StepKind {
    /// Back up etcd.
    EtcdBackup,
    /// Fix kubeadm-config, kubelet-config and kubeadm files (no node of their own).
    ClusterConfig,
    /// Switch the installer (KubeKey, kubespray, RKE1) away from Docker.
    Installer,
    /// One node pool: cordon and drain, switch the runtime, fix kubelet flags, uncordon.
    NodePool(String),
    /// Move workloads off the Docker socket.
    Workloads,
    /// Change CI builds to kaniko, buildah or BuildKit.
    Ci,
    /// Replace the docker CLI in scripts, cron jobs and units.
    Scripts,
    /// Carry daemon.json settings over.
    DaemonJson,
    /// Fix log collectors, agents and dashboards.
    LoggingMonitoring,
    /// Findings no other step covers.
    Other,
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

/// One step of the migration plan.
#[derive(Debug, Clone)]
pub struct Step {
    /// 1-based position.
    pub number: usize,
    /// `step-N`.
    pub anchor: String,
    /// What it is for.
    pub kind: StepKind,
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
}

/// What part of the plan a finding belongs to, before pools are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Category {
    Runtime,
    Prepare,
    Flags,
    ClusterConfig,
    Installer,
    Workloads,
    Ci,
    Scripts,
    DaemonJson,
    Logging,
    Other,
    /// Needs no migration step (Docker-in-Docker keeps its own daemon).
    NoStep,
}

/// Rule ids that are fixed by changing kubelet flags or node annotations.
const FLAG_RULES: &[&str] = &[
    "removed-kubelet-flag",
    "kubelet-container-runtime-docker",
    "node-cri-socket-annotation",
    "runtime-endpoint-dockershim",
    "kubelet-unit-requires-docker",
];

/// Rule ids about a node's readiness to run a CRI runtime (fixed before the switch).
const PREPARE_RULES: &[&str] = &[
    "node-runtime-prerequisites",
    "node-containerd-cri-disabled",
    "node-cgroup-driver-mismatch",
    "node-sandbox-image-mismatch",
];

/// Rule ids that show the kubelet still uses Docker (so the node's runtime must switch).
const USES_DOCKER_RULES: &[&str] = &[
    "node-runtime-dockershim",
    "kubelet-container-runtime-docker",
    "runtime-endpoint-dockershim",
    "kubelet-unit-requires-docker",
];

/// Rule ids fixed by changing what a workload mounts or runs.
const WORKLOAD_RULES: &[&str] = &["docker-host-env", "docker-cli-in-container", "helm-values-docker-socket"];

/// Rule ids fixed in CI.
const CI_RULES: &[&str] = &["ci-pipeline-docker", "jenkins-docker-pipeline"];

fn category(f: &Finding) -> Category {
    let id = f.rule_id.as_str();
    let tag = |t: &str| f.tags.iter().any(|x| x == t);
    if tag("dind") || id == "docker-in-docker" {
        return Category::NoStep;
    }
    if PREPARE_RULES.contains(&id) || (tag("node") && tag("readiness")) {
        return Category::Prepare;
    }
    if id.starts_with("node-runtime-") || (tag("node") && tag("runtime")) {
        return Category::Runtime;
    }
    if FLAG_RULES.contains(&id) || tag("kubelet-flag") || tag("systemd") {
        return if f.location.node.is_some() { Category::Flags } else { Category::ClusterConfig };
    }
    if id == "removed-feature-gate" || id == "kubeadm-cri-socket-dockershim" || tag("feature-gate") || tag("kubeadm") {
        return if f.location.node.is_some() { Category::Flags } else { Category::ClusterConfig };
    }
    if tag("installer") {
        return Category::Installer;
    }
    if id == "docker-daemon-setting" || tag("runtime-config") {
        return Category::DaemonJson;
    }
    if id.starts_with("hostpath-")
        || WORKLOAD_RULES.contains(&id)
        || tag("docker-socket")
        || tag("dockershim")
        || tag("docker-cli")
    {
        return Category::Workloads;
    }
    if CI_RULES.contains(&id) || tag("ci") || tag("jenkins") {
        return Category::Ci;
    }
    if id.starts_with("fluent")
        || id.starts_with("log-")
        || id == "dockershim-metric"
        || id == "telemetry-agent"
        || tag("logging")
        || tag("monitoring")
        || tag("agent")
    {
        return Category::Logging;
    }
    if tag("script") {
        return Category::Scripts;
    }
    if tag("workload") {
        return Category::Workloads;
    }
    Category::Other
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

/// Builds the plan: each finding goes to one step by rule id and tags; a step appears only when a
/// warning or error calls for it (notes ride along in a step that is there anyway).
fn plan(report: &Report, groups: &[RuleGroup<'_>], pool_of: &dyn Fn(&Finding) -> String) -> Vec<Step> {
    let target = report.target.version.to_string();
    // kind -> findings with their group anchor.
    let mut buckets: BTreeMap<StepKind, Vec<(&Finding, &str)>> = BTreeMap::new();
    for g in groups {
        for a in &g.findings {
            let f = a.finding;
            let kind = match category(f) {
                Category::Runtime | Category::Prepare | Category::Flags => StepKind::NodePool(pool_of(f)),
                Category::ClusterConfig => StepKind::ClusterConfig,
                Category::Installer => StepKind::Installer,
                Category::Workloads => StepKind::Workloads,
                Category::Ci => StepKind::Ci,
                Category::Scripts => StepKind::Scripts,
                Category::DaemonJson => StepKind::DaemonJson,
                Category::Logging => StepKind::LoggingMonitoring,
                Category::Other => StepKind::Other,
                Category::NoStep => continue,
            };
            buckets.entry(kind).or_default().push((f, g.anchor.as_str()));
        }
    }
    buckets.retain(|_, fs| fs.iter().any(|(f, _)| f.severity >= Severity::Warning));
    let needs_backup =
        buckets.keys().any(|k| matches!(k, StepKind::ClusterConfig | StepKind::Installer | StepKind::NodePool(_)));
    if needs_backup {
        buckets.insert(StepKind::EtcdBackup, Vec::new());
    }
    // The node-pool steps, sorted with the unlabelled nodes last.
    let mut kinds: Vec<StepKind> = buckets.keys().cloned().collect();
    kinds.sort_by(|a, b| match (a, b) {
        (StepKind::NodePool(x), StepKind::NodePool(y)) => pool_order(x).cmp(&pool_order(y)),
        _ => a.cmp(b),
    });
    let mut steps = Vec::new();
    for kind in kinds {
        let fs = buckets.get(&kind).cloned().unwrap_or_default();
        let number = steps.len() + 1;
        let has = |pred: &dyn Fn(&Finding) -> bool| fs.iter().any(|(f, _)| pred(f));
        let id_is = |ids: &[&str]| has(&|f: &Finding| ids.contains(&f.rule_id.as_str()));
        let tagged = |t: &str| has(&|f: &Finding| f.tags.iter().any(|x| x == t));
        let mut nodes: Vec<String> = Vec::new();
        // Objects and files, with the lines of one file folded together (`daemon.json:2,3,8`).
        let mut by_base: Vec<(String, Vec<u32>)> = Vec::new();
        for (f, _) in &fs {
            if let Some(n) = f.location.node.as_ref().filter(|n| !nodes.contains(*n)) {
                nodes.push(n.clone());
            }
            let (base, line) = place_parts(f);
            if base.is_empty() || matches!(kind, StepKind::NodePool(_)) {
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
        let mut actions: Vec<String> = Vec::new();
        let title = match &kind {
            StepKind::EtcdBackup => {
                actions.push(format!(
                    "On a control-plane node, take a snapshot before touching any node or configuration: \
`ETCDCTL_API=3 etcdctl snapshot save /var/backups/etcd-before-{target}.db --endpoints=https://127.0.0.1:2379 \
--cacert=/etc/kubernetes/pki/etcd/ca.crt --cert=/etc/kubernetes/pki/etcd/server.crt --key=/etc/kubernetes/pki/etcd/server.key`."
                ));
                actions.push(
                    "Check it with `etcdutl snapshot status /var/backups/etcd-before-TARGET.db` and copy it, with \
`/etc/kubernetes/pki`, off the node."
                        .replace("TARGET", &target),
                );
                "Back up etcd".to_string()
            }
            StepKind::ClusterConfig => {
                if tagged("feature-gate") || id_is(&["removed-feature-gate"]) {
                    actions.push(format!(
                        "Remove the feature gates that no longer exist in {target} from `featureGates` and the \
`feature-gates` extraArgs in `kubeadm-config` (`kubectl -n kube-system edit configmap kubeadm-config`), from \
`kubelet-config` / `kubelet-config-1.XX`, and from the kubeadm files in your repositories."
                    ));
                }
                if id_is(FLAG_RULES) || tagged("kubelet-flag") {
                    actions.push(
                        "Drop removed kubelet flags (`--container-runtime`, `--network-plugin`, `--docker-endpoint`, …) \
from `kubeletExtraArgs` and set `--container-runtime-endpoint=unix:///run/containerd/containerd.sock`."
                            .to_string(),
                    );
                }
                if id_is(&["kubeadm-cri-socket-dockershim"]) || tagged("kubeadm") {
                    actions.push(
                        "Set `nodeRegistration.criSocket: unix:///run/containerd/containerd.sock` in kubeadm \
`InitConfiguration` / `JoinConfiguration` files, so new and upgraded nodes do not come back on Docker."
                            .to_string(),
                    );
                }
                if actions.is_empty() {
                    actions.push("Change the cluster-wide configuration the findings point at.".to_string());
                }
                actions
                    .push("Commit the fixed files, so the next `kubeadm upgrade` or node join reads them.".to_string());
                "Fix the cluster-wide kubeadm and kubelet configuration".to_string()
            }
            StepKind::Installer => {
                actions.push(
                    "Provision containerd instead of Docker Engine: KubeKey `containerManager: containerd`, kubespray \
`container_manager: containerd`; apply it one node pool at a time (see the node-pool steps)."
                        .to_string(),
                );
                if id_is(&["rke1-cluster"]) {
                    actions.push(
                        "RKE1 runs the Kubernetes components themselves in Docker: plan the move to RKE2 (or another \
distribution) before the upgrade."
                            .to_string(),
                    );
                }
                "Switch the cluster installer to containerd".to_string()
            }
            StepKind::NodePool(pool) => {
                nodes.sort();
                let node_word = if nodes.len() == 1 { nodes[0].clone() } else { "NODE".to_string() };
                let each = if nodes.len() == 1 {
                    String::new()
                } else {
                    " (one node at a time, or as many as the pool's spare capacity allows)".to_string()
                };
                let dockershim = id_is(&["node-runtime-dockershim"]);
                let uses_docker = id_is(USES_DOCKER_RULES);
                let cri_dockerd = id_is(&["node-runtime-cri-dockerd"]);
                let too_old = id_is(&["node-runtime-too-old"]);
                let other_runtime = has(&|f: &Finding| {
                    category(f) == Category::Runtime
                        && !["node-runtime-dockershim", "node-runtime-cri-dockerd", "node-runtime-too-old"]
                            .contains(&f.rule_id.as_str())
                });
                let prepare = has(&|f: &Finding| category(f) == Category::Prepare);
                let switch = uses_docker || cri_dockerd || too_old || other_runtime;
                let flags = dockershim || has(&|f: &Finding| category(f) == Category::Flags);
                let annotation = dockershim || id_is(&["node-cri-socket-annotation"]);
                actions.push(format!(
                    "Cordon and drain{each}: `kubectl cordon {node_word}` then `kubectl drain {node_word} --ignore-daemonsets --delete-emptydir-data`."
                ));
                if id_is(&["node-runtime-prerequisites"]) {
                    actions.push(
                        "Prepare the node: load `overlay` and `br_netfilter` at boot (`/etc/modules-load.d/containerd.conf`) and \
set `net.bridge.bridge-nf-call-iptables = 1` and `net.ipv4.ip_forward = 1` in `/etc/sysctl.d/99-kubernetes-cri.conf`, \
then `sysctl --system`."
                            .to_string(),
                    );
                }
                if id_is(&["node-containerd-cri-disabled"]) {
                    actions.push(
                        "Enable containerd's CRI plugin: remove `cri` from `disabled_plugins` in `/etc/containerd/config.toml` \
(Docker's package disables it)."
                            .to_string(),
                    );
                }
                if id_is(&["node-cgroup-driver-mismatch"]) {
                    actions.push(
                        "Use one cgroup driver: `SystemdCgroup = true` in containerd's runc options when the kubelet's \
`cgroupDriver` is `systemd` (or both `cgroupfs`)."
                            .to_string(),
                    );
                }
                if id_is(&["node-sandbox-image-mismatch"]) {
                    actions.push(
                        "Set containerd's `sandbox_image` to the pause image the kubelet uses (`--pod-infra-container-image`), \
then drop that flag."
                            .to_string(),
                    );
                }
                if prepare && !id_is(PREPARE_RULES) {
                    actions.push("Prepare the node for the new runtime as its findings say.".to_string());
                }
                if uses_docker || other_runtime {
                    actions.push(
                        "Switch the runtime: `systemctl stop kubelet`, `systemctl disable --now docker.service docker.socket`, \
install containerd ≥ 1.6, write `containerd config default > /etc/containerd/config.toml` with `SystemdCgroup = true` when \
the kubelet uses the systemd cgroup driver, then `systemctl enable --now containerd`."
                            .to_string(),
                    );
                }
                if cri_dockerd {
                    actions.push(
                        "These nodes reach Docker Engine through cri-dockerd: keep it (it is maintained outside Kubernetes) or \
switch to containerd as for dockershim nodes."
                            .to_string(),
                    );
                }
                if too_old {
                    actions.push(format!(
                        "Upgrade the runtime to a version that serves CRI v1 for {target} (containerd ≥ 1.6, or the CRI-O minor \
matching {target})."
                    ));
                }
                if flags {
                    actions.push(
                        "Fix the kubelet flags: in `/var/lib/kubelet/kubeadm-flags.env` (and `/etc/default/kubelet`, \
`/etc/sysconfig/kubelet`, systemd drop-ins) remove `--container-runtime`, `--network-plugin` and the other removed flags, \
set `--container-runtime-endpoint=unix:///run/containerd/containerd.sock`, then \
`systemctl daemon-reload && systemctl restart kubelet`."
                            .to_string(),
                    );
                }
                if annotation {
                    actions.push(format!(
                        "Fix the cri-socket annotation: `kubectl annotate node {node_word} --overwrite \
kubeadm.alpha.kubernetes.io/cri-socket=unix:///run/containerd/containerd.sock`."
                    ));
                }
                actions.push(format!(
                    "Uncordon: `kubectl uncordon {node_word}`, and check `kubectl get node {node_word} -o wide` shows the new \
runtime before the next node."
                ));
                let mut parts = vec!["cordon and drain"];
                if prepare {
                    parts.push("prepare the node");
                }
                if switch {
                    parts.push("switch the runtime");
                }
                match (flags, annotation) {
                    (true, true) => parts.push("fix kubelet flags and the cri-socket annotation"),
                    (true, false) => parts.push("fix kubelet flags"),
                    (false, true) => parts.push("fix the cri-socket annotation"),
                    (false, false) => {}
                }
                parts.push("uncordon");
                let who = if pool == NO_POOL {
                    if nodes.len() == 1 {
                        format!("Node `{}`", nodes[0])
                    } else {
                        "Nodes without a pool label".to_string()
                    }
                } else {
                    format!("Node pool `{pool}`")
                };
                format!("{who}: {}", parts.join(", "))
            }
            StepKind::Workloads => {
                if has(&|f: &Finding| {
                    f.rule_id.starts_with("hostpath-docker-socket")
                        || f.rule_id == "hostpath-dockershim-socket"
                        || f.rule_id == "docker-host-env"
                        || f.rule_id == "helm-values-docker-socket"
                        || f.tags.iter().any(|t| t == "docker-socket" || t == "dockershim")
                }) {
                    actions.push(
                        "Remove the `hostPath` mounts of `docker.sock` / `dockershim.sock` and the `DOCKER_HOST` settings (also \
in Helm values); what the container did through Docker, do through the Kubernetes API or the CRI socket \
(`/run/containerd/containerd.sock`) with `crictl` or `nerdctl`."
                            .to_string(),
                    );
                }
                if id_is(&["docker-cli-in-container"]) || tagged("docker-cli") {
                    actions.push(
                        "Replace `docker ps|logs|exec|inspect` in commands, probes and hooks with `crictl` or `kubectl`; build \
images with kaniko or buildah instead of `docker build`."
                            .to_string(),
                    );
                }
                if id_is(&["hostpath-docker-files"]) {
                    actions.push(
                        "Stop mounting `/var/lib/docker`: container logs live in `/var/log/pods`, images and layers in the new \
runtime's root."
                            .to_string(),
                    );
                }
                if actions.is_empty() {
                    actions.push(
                        "Change these workloads so they no longer depend on Docker Engine on the node.".to_string(),
                    );
                }
                actions.push(
                    "A pod that needs `docker.sock` fails once its node runs containerd: roll these changes out before \
the first node of its pool switches, or keep the pod on Docker nodes until then."
                        .to_string(),
                );
                "Move workloads off the Docker socket".to_string()
            }
            StepKind::Ci => {
                actions.push(
                    "Build images with kaniko (`gcr.io/kaniko-project/executor`), buildah or BuildKit (`buildctl`) instead of \
`docker build` / `docker push` on Kubernetes agents."
                        .to_string(),
                );
                if id_is(&["jenkins-docker-pipeline"]) || tagged("jenkins") {
                    actions.push(
                        "In Jenkins, replace `docker.build`, `docker.image(…).inside` and `agent { docker … }` with Kubernetes \
plugin pod templates running those builders."
                            .to_string(),
                    );
                }
                actions.push("A Docker-in-Docker service with its own daemon keeps working; it does not need the node's runtime.".to_string());
                "Change CI builds to kaniko, buildah or BuildKit".to_string()
            }
            StepKind::Scripts => {
                actions.push(
                    "Replace the docker CLI in scripts, cron jobs and units with `crictl` (`crictl ps`, `crictl logs`, \
`crictl rmi --prune`) or `nerdctl`, and stop installing Docker Engine on new nodes."
                        .to_string(),
                );
                "Replace the docker CLI in scripts and cron jobs".to_string()
            }
            StepKind::DaemonJson => {
                actions.push(
                    "Move registry mirrors and insecure registries to `/etc/containerd/certs.d/HOST/hosts.toml` (set \
`config_path` in containerd's CRI registry section)."
                        .to_string(),
                );
                actions.push(
                    "Move log size limits to the kubelet (`containerLogMaxSize`, `containerLogMaxFiles`), `data-root` to \
containerd's `root`, and `exec-opts native.cgroupdriver=systemd` to `SystemdCgroup = true`; do it as part of each \
node's runtime switch."
                        .to_string(),
                );
                "Carry `/etc/docker/daemon.json` settings over to the new runtime".to_string()
            }
            StepKind::LoggingMonitoring => {
                if has(&|f: &Finding| {
                    f.tags.iter().any(|t| t == "logging")
                        || f.rule_id.starts_with("fluent")
                        || f.rule_id.starts_with("log-")
                }) {
                    actions.push(
                        "Point log collectors at `/var/log/pods` (or `/var/log/containers`) with the CRI log parser \
(fluent-bit `multiline.parser cri`, fluentd `@type cri`), not Docker JSON or `/var/lib/docker/containers`."
                            .to_string(),
                    );
                }
                if id_is(&["dockershim-metric"]) || tagged("monitoring") {
                    actions.push(
                        "Replace metrics that disappear without dockershim in alerts, recording rules and dashboards with \
their cAdvisor / CRI equivalents."
                            .to_string(),
                    );
                }
                if id_is(&["telemetry-agent"]) || tagged("agent") {
                    actions.push(
                        "Upgrade monitoring and security agents to versions that support containerd and drop their Docker \
socket mounts."
                            .to_string(),
                    );
                }
                if actions.is_empty() {
                    actions.push("Fix the log collectors and dashboards the findings point at.".to_string());
                }
                "Fix log collectors, agents and dashboards".to_string()
            }
            StepKind::Other => {
                actions.push("Each finding says what to change; follow its remediation.".to_string());
                "Review the remaining findings".to_string()
            }
        };
        if kind == StepKind::EtcdBackup {
            nodes.clear();
        }
        steps.push(Step { number, anchor: format!("step-{number}"), kind, title, nodes, places, actions, links });
    }
    steps
}

// ---------------------------------------------------------------------------------------------
// Markdown

/// Escapes text for Markdown (inline and table cells).
pub fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Markdown code span of any text (no backticks or line breaks can break out).
pub fn md_code(s: &str) -> String {
    let clean: String = s.chars().map(|c| if c == '\n' || c == '\r' { ' ' } else { c }).collect();
    let mut ticks = 1;
    while clean.contains(&"`".repeat(ticks)) {
        ticks += 1;
    }
    let fence = "`".repeat(ticks);
    let pad = if clean.starts_with('`') || clean.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{clean}{pad}{fence}")
}

/// Text whose backtick spans are code: escapes the prose, keeps the code.
fn md_inline(s: &str) -> String {
    s.split('`').enumerate().map(|(i, part)| if i % 2 == 1 { md_code(part) } else { md_escape(part) }).collect()
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
        let _ = writeln!(out, "| Node | Pool | Kubelet | Runtime | Verdict | Blockers |");
        let _ = writeln!(out, "|---|---|---|---|---|---|");
        for n in &r.nodes {
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
        out.push('\n');
    }

    let _ = writeln!(out, "### Migration plan\n");
    if r.plan.is_empty() {
        let _ = writeln!(out, "Nothing in this scan calls for a migration step.");
    }
    for s in &r.plan {
        let _ = writeln!(out, "{}. <a id=\"{}\"></a>**{}**", s.number, s.anchor, md_inline(&s.title));
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
                let _ = writeln!(out, "  ([docs]({}))", d.replace(' ', "%20").replace(')', "%29"));
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
