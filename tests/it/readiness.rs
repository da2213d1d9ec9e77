//! The pre-upgrade readiness report (Markdown and HTML), the tool run in-process: the verdict, every
//! blocking node and workload named, only the migration steps the findings call for, coverage at
//! the top when the scan was incomplete, escaping, and `report FILE.json...` merging saved results.

use std::path::Path;

use serde_json::{Value, json};

use crate::common::{bin, fixture, run_in_process};

fn demo_snapshot() -> String {
    fixture("demo-cluster/snapshot.json").display().to_string()
}

/// Runs the tool in-process; returns (exit code, the report).
fn run(args: &[&str]) -> (i32, String) {
    let (code, out) = run_in_process(args);
    assert!(code != 2, "tool failed to run {args:?} (exit {code})");
    (code, out)
}

fn cluster(target: &str, format: &str) -> (i32, String) {
    run(&["cluster", "--snapshot", &demo_snapshot(), "--target-version", target, "--format", format])
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).expect("json")
}

/// The `data-step` keys of the plan, in order.
fn plan_steps(html: &str) -> Vec<String> {
    html.split("data-step=\"").skip(1).map(|s| s.split('"').next().unwrap_or("").to_string()).collect()
}

/// The Markdown text between two headings.
fn section<'a>(md: &'a str, start: &str, end: &str) -> &'a str {
    let from = md.find(start).unwrap_or_else(|| panic!("no `{start}` in:\n{md}"));
    let rest = &md[from..];
    let to = rest[start.len()..].find(end).map(|i| i + start.len()).unwrap_or(rest.len());
    &rest[..to]
}

#[test]
fn demo_cluster_is_blocked_and_names_every_blocking_node_and_workload() {
    let (code, md) = cluster("1.24", "markdown");
    assert_eq!(code, 1);
    assert!(md.contains("## Dockershim readiness for Kubernetes 1.24: BLOCKED"), "{md}");
    assert!(md.contains("**Verdict: BLOCKED**"));
    assert!(md.contains(dockershim_audit::score::FORMULA.split(',').next().unwrap()));

    // EXPECTED.md: the four Docker nodes block (dockershim runtime and cri-socket annotation), and
    // three workloads use the Docker socket.
    let blockers = section(&md, "### Blockers", "### At risk");
    for node in ["acme-eu1-cp-1", "acme-eu1-docker-1", "acme-eu1-docker-2", "acme-eu1-docker-3"] {
        assert!(
            blockers.contains(&format!("node `{node}`: node {node} runs docker://")),
            "{node} not blocking:\n{blockers}"
        );
        assert!(blockers.contains(&format!("node `{node}`: node {node} has kubeadm.alpha.kubernetes.io/cri-socket")));
    }
    for workload in ["Deployment/ci/jenkins-agent", "CronJob/ci/image-cleanup", "DaemonSet/monitoring/datadog-agent"] {
        assert!(blockers.contains(&format!("`{workload} (")), "{workload} not blocking:\n{blockers}");
    }
    // Not blockers: the containerd nodes, the cri-dockerd node (a warning), DinD (a note), clean workloads.
    for clean in ["acme-eu1-ctrd-", "acme-eu1-cridockerd-1", "gitlab-runner-dind", "shop/", "coredns", "kube-proxy"] {
        assert!(!blockers.contains(clean), "{clean} listed as a blocker:\n{blockers}");
    }
    let risks = section(&md, "### At risk", "### Notes");
    assert!(risks.contains("acme-eu1-cridockerd-1"));
    assert!(risks.contains("DaemonSet/logging/fluent-bit"));

    // Every error finding of the JSON result appears among the blockers of the Markdown and the HTML.
    let (_, j) = cluster("1.24", "json");
    let (_, html) = cluster("1.24", "html");
    let doc = json_of(&j);
    let errors: Vec<&Value> = doc["findings"].as_array().unwrap().iter().filter(|f| f["severity"] == "error").collect();
    assert!(errors.len() >= 7, "{doc:#}");
    let html_blockers = &html[html.find("<section id=\"blockers\">").expect("blockers section")..];
    let html_blockers = &html_blockers[..html_blockers.find("</section>").unwrap()];
    for f in errors {
        let message = f["message"].as_str().unwrap();
        let escaped = message
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;");
        assert!(html_blockers.contains(&escaped), "HTML blockers lack `{message}`");
        assert!(html_blockers.contains(&format!("id=\"f-{}\"", f["fingerprint"].as_str().unwrap())));
    }
    // The node table carries kubelet version, runtime, verdict and blockers per node.
    let nodes = section(&md, "### Nodes", "### Migration plan");
    assert!(nodes.contains(
        "| acme-eu1-docker-1 | docker-legacy | v1.23.17 | docker://20.10.21 | **BLOCKED** (49) | [node-cri-socket-annotation](#error-node-cri-socket-annotation), [node-runtime-dockershim](#error-node-runtime-dockershim) |"
    ), "{nodes}");
    assert!(nodes.contains("| acme-eu1-ctrd-1 | containerd | v1.23.17 | containerd://1.6.20 | **READY** (100) | — |"));
    let pools = section(&md, "### Node pools", "### Nodes");
    assert!(pools.contains("| docker-legacy | 3 |"), "{pools}");
}

#[test]
fn the_plan_lists_only_the_steps_this_scan_calls_for() {
    let (_, html) = cluster("1.24", "html");
    let steps = plan_steps(&html);
    assert_eq!(steps.first().map(String::as_str), Some("etcd-backup"), "{steps:?}");
    for needed in [
        "node-pool:control-plane",
        "node-pool:docker-legacy",
        "node-pool:cri-dockerd",
        "workloads",
        "logging-monitoring",
    ] {
        assert!(steps.iter().any(|s| s == needed), "missing {needed} in {steps:?}");
    }
    // A cluster-only scan sees no daemon.json, no CI files and no node scripts; at 1.24 the
    // containerd pool and the cluster-wide configuration have nothing to fix.
    for absent in ["daemon-json", "ci", "scripts", "installer", "cluster-config", "node-pool:containerd", "other"] {
        assert!(!steps.iter().any(|s| s == absent), "{absent} should not be in {steps:?}");
    }
    // Order by dependency (rules/steps.yaml `after`): etcd first; workloads off the Docker socket
    // and the log collectors before any node switches, as their own text says; then the node pools,
    // control plane first. See: issue 13 ("the migration plan says `in order` but ...").
    let pos = |k: &str| steps.iter().position(|s| s == k).unwrap();
    assert_eq!(
        steps,
        [
            "etcd-backup",
            "workloads",
            "logging-monitoring",
            "node-pool:control-plane",
            "node-pool:cri-dockerd",
            "node-pool:docker-legacy"
        ]
    );
    assert!(pos("workloads") < pos("node-pool:control-plane"));
    assert!(pos("logging-monitoring") < pos("node-pool:control-plane"));
    assert!(pos("node-pool:control-plane") < pos("node-pool:docker-legacy"));

    let (_, md) = cluster("1.24", "markdown");
    let plan = section(&md, "### Migration plan", "### Blockers");
    assert!(!plan.contains("daemon.json"), "{plan}");
    assert!(!plan.contains("kaniko, buildah or BuildKit**"), "{plan}");
    assert!(plan.contains("**Back up etcd**"));
    assert!(plan.contains("**Node pool `docker-legacy`: cordon and drain, switch the runtime, fix kubelet flags and the cri-socket annotation, uncordon**"), "{plan}");
    assert!(plan.contains("`kubectl uncordon NODE`"));
    // Each step links to its findings.
    assert!(plan.contains("[node-runtime-dockershim](#error-node-runtime-dockershim) (3 errors)"), "{plan}");
    assert!(plan.contains("[hostpath-docker-socket](#error-hostpath-docker-socket) (2 errors)"), "{plan}");
    // ... and the findings link back to the step.
    assert!(md.contains("(4) · plan [step 4](#step-4), [step 6](#step-6)"), "{md}");

    // At 1.26 more applies: the removed DynamicKubeletConfig gate (cluster config and the live
    // kubelet config of a docker-legacy node) and containerd 1.5.9 in the containerd pool.
    let (_, html) = cluster("1.26", "html");
    let steps = plan_steps(&html);
    for needed in ["cluster-config", "node-pool:containerd"] {
        assert!(steps.iter().any(|s| s == needed), "missing {needed} at 1.26 in {steps:?}");
    }
    assert!(!steps.iter().any(|s| s == "daemon-json"));
}

#[test]
fn a_repository_plan_has_only_the_steps_repositories_call_for() {
    // See: issue 13 ("a repo-only report starts with `Back up etcd`"). Fixing kubeadm and installer
    // files in a repository touches no cluster yet: no etcd backup. The steps still come by
    // dependency: configuration first, the workloads and log collectors before anything else.
    let repo = fixture("demo-repo").display().to_string();
    let (_, html) = run(&["repo", &repo, "--format", "html"]);
    let steps = plan_steps(&html);
    assert_eq!(
        steps,
        ["cluster-config", "installer", "workloads", "ci", "daemon-json", "logging-monitoring", "scripts"],
        "{steps:?}"
    );
    assert!(!html.contains("Back up etcd"));
    // The same findings merged with a cluster's: the cluster's nodes call for the backup, first.
    let dir = tempfile::tempdir().unwrap();
    let repo_json =
        write(dir.path(), "repo.json", &run(&["repo", &repo, "--target-version", "1.24", "--format", "json"]).1);
    let cluster_json = write(dir.path(), "cluster.json", &cluster("1.24", "json").1);
    let (_, merged) = run(&["report", &repo_json, &cluster_json, "--format", "html"]);
    let steps = plan_steps(&merged);
    assert_eq!(steps.first().map(String::as_str), Some("etcd-backup"), "{steps:?}");
    let pos = |k: &str| steps.iter().position(|s| s == k).unwrap_or_else(|| panic!("no {k} in {steps:?}"));
    for before in ["cluster-config", "workloads", "ci", "daemon-json", "logging-monitoring"] {
        assert!(pos(before) < pos("node-pool:control-plane"), "{before} after the node pools: {steps:?}");
    }
}

#[test]
fn clean_cluster_is_ready_with_an_empty_plan() {
    let snapshot = fixture("clean-cluster/snapshot.json").display().to_string();
    let (code, md) = run(&["cluster", "--snapshot", &snapshot, "--format", "markdown"]);
    assert_eq!(code, 0, "{md}");
    assert!(md.contains(": READY\n"), "{md}");
    assert!(md.contains("**Verdict: READY** · readiness score **100/100**"));
    assert!(md.contains("Nothing in this scan calls for a migration step."));
    assert!(!md.contains("### Blockers"));
    let (_, html) = run(&["cluster", "--snapshot", &snapshot, "--format", "html"]);
    assert!(html.contains("<div class=\"verdict\" id=\"verdict\">READY</div>"));
    assert!(plan_steps(&html).is_empty());
    assert!(!html.contains("coverage-alert"));
}

#[test]
fn markdown_readiness_report_snapshot() {
    let (_, md) = cluster("1.24", "markdown");
    insta::assert_snapshot!("demo_cluster_readiness_markdown", md);
}

#[test]
fn html_is_self_contained_and_well_formed() {
    let (_, html) = cluster("1.24", "html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    assert!(html.contains("Content-Security-Policy"));
    assert!(html.contains("<div class=\"verdict\" id=\"verdict\">BLOCKED</div>"));
    assert!(html.contains("<strong id=\"target\">1.24</strong>"));
    assert!(html.contains(&format!("<p class=\"formula\" id=\"formula\">{}</p>", dockershim_audit::score::FORMULA)));
    // No external assets: no stylesheet links, images, frames, remote scripts, fonts or imports.
    for bad in ["<link", "<img", "<iframe", "<script src", "@import", "url(", "src=\"http"] {
        assert!(!html.contains(bad), "found {bad}");
    }
    // Charts are inline SVG, tables are sortable and finding groups collapsible.
    assert!(html.matches("<svg role=\"img\"").count() >= 3);
    assert!(html.contains("<table class=\"sortable\" id=\"nodes-table\">"));
    assert!(html.contains("<details id=\"error-hostpath-docker-socket\" open>"));
    assert!(html.contains("@media print"));
    // Every in-page link has a target.
    for href in html.split("href=\"#").skip(1).map(|s| s.split('"').next().unwrap()) {
        assert!(html.contains(&format!("id=\"{href}\"")), "dangling link #{href}");
    }
    // Balanced structure for the elements the page opens and closes itself.
    for tag in ["section", "details", "table", "ol", "svg", "figure"] {
        let open = html.matches(&format!("<{tag}>")).count() + html.matches(&format!("<{tag} ")).count();
        assert_eq!(open, html.matches(&format!("</{tag}>")).count(), "unbalanced <{tag}>");
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn report_merges_cluster_and_repository_results() {
    let dir = tempfile::tempdir().unwrap();
    let (_, cluster_json) = cluster("1.24", "json");
    let repo = fixture("demo-repo").display().to_string();
    let (_, repo_json) = run(&["repo", &repo, "--target-version", "1.24", "--format", "json"]);
    let a = write(dir.path(), "cluster.json", &cluster_json);
    let b = write(dir.path(), "repo.json", &repo_json);
    let (ca, cb) = (json_of(&cluster_json), json_of(&repo_json));
    let n = |v: &Value| v["findings"].as_array().unwrap().len();

    let (code, merged) = run(&["report", &a, &b, &a, "--format", "json"]);
    assert_eq!(code, 1);
    let m = json_of(&merged);
    assert_eq!(m["command"], "report");
    assert_eq!(m["targetVersion"], "1.24", "every input was scored at 1.24");
    assert_eq!(n(&m), n(&ca) + n(&cb), "findings concatenated, the repeated file counted once");
    assert_eq!(m["nodes"].as_array().unwrap().len(), 9);
    assert_eq!(m["summary"]["verdict"], "BLOCKED");
    assert_eq!(
        m["summary"]["errors"].as_u64().unwrap(),
        ca["summary"]["errors"].as_u64().unwrap() + cb["summary"]["errors"].as_u64().unwrap()
    );
    assert_eq!(m["summary"]["scopes"]["nodes"]["acme-eu1-docker-1"]["verdict"], "BLOCKED");
    let scanned: Vec<&str> = m["scanned"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(
        scanned.iter().any(|s| s.starts_with("cluster: ")) && scanned.iter().any(|s| s.starts_with("repo: ")),
        "{scanned:?}"
    );

    // The merged HTML names repository files with their lines next to the cluster's nodes.
    let out = dir.path().join("r.html");
    let (_, _) = run(&["report", &a, &b, "--format", "html", "-o", out.to_str().unwrap()]);
    let html = std::fs::read_to_string(&out).unwrap();
    let with_line = cb["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["severity"] == "error" && f["location"]["line"].is_u64())
        .expect("a repo error with a line");
    let place = format!("{}:{}", with_line["location"]["path"].as_str().unwrap(), with_line["location"]["line"]);
    assert!(html.contains(&place), "{place} not in the merged report");
    assert!(html.contains("id=\"node-acme-eu1-docker-1\""));
    assert!(plan_steps(&html).iter().any(|s| s == "ci"), "the repo's CI findings call for the CI step");

    // Bad input is a usage error (exit 2), not a crash.
    let bad = write(dir.path(), "bad.json", "{\"schema\": \"something-else\"}");
    let out = bin().args(["report", &bad, "--format", "html"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.json"));
}

/// A node-scan result (as `node --root` writes it) with a daemon.json setting and a kubelet flag.
fn node_scan(node: &str) -> Value {
    let finding = |rule: &str, sev: &str, tags: &[&str], path: &str, line: u32, message: &str| {
        json!({
            "ruleId": rule, "severity": sev, "title": rule, "message": message, "remediation": "Fix it. Then check.",
            "helpUri": null, "location": {"path": path, "line": line, "node": node},
            "snippet": "x", "fingerprint": format!("{rule}-{node}-{line}"), "tags": tags
        })
    };
    json!({
        "schema": "dockershim-audit/v1",
        "tool": {"name": "dockershim-audit", "version": "0"},
        "command": "node",
        "scanned": [format!("/mnt/{node}")],
        "targetVersion": "1.24",
        "summary": {"verdict": "BLOCKED", "score": 0, "scoreFormula": "", "errors": 1, "warnings": 1, "notes": 0,
                    "suppressed": 0, "byRule": {}, "scopes": {}, "counts": {"files_read": 4}},
        "findings": [
            finding("kubelet-container-runtime-docker", "error", &["node", "kubelet-flag"], "/var/lib/kubelet/kubeadm-flags.env", 1,
                    "kubelet runs with --container-runtime=docker <b>&</b>"),
            finding("docker-daemon-setting", "warning", &["node", "runtime-config"], "/etc/docker/daemon.json", 3,
                    "daemon.json sets registry-mirrors"),
        ],
        "suppressed": [],
        "nodes": [],
        "coverage": {"complete": false, "gaps": [{"source": "/etc/kubernetes/manifests", "reason": "permission denied"}],
                     "skipped": [], "ignoreProblems": []}
    })
}

#[test]
fn report_merges_node_scans_into_their_pools_and_shows_incomplete_coverage_first() {
    let dir = tempfile::tempdir().unwrap();
    let (_, cluster_json) = cluster("1.24", "json");
    let a = write(dir.path(), "cluster.json", &cluster_json);
    let b = write(dir.path(), "node.json", &node_scan("acme-eu1-docker-1").to_string());

    let (code, md) = run(&["report", &a, &b, "--format", "markdown"]);
    assert_eq!(code, 1);
    // Coverage comes before everything else when the scan was incomplete.
    // The node scan's gap, and the configz of the 7 nodes the demo snapshot lacks.
    let alert = md.find("**Incomplete scan: 8 sources could not be read.**").expect("coverage alert");
    assert!(alert < md.find("### Node pools").unwrap());
    assert!(md.contains("`/etc/kubernetes/manifests`: permission denied"));
    // The node scan's findings land in the node's pool (known from the cluster scan).
    let plan = section(&md, "### Migration plan", "### Blockers");
    let pool_step = section(plan, "**Node pool `docker-legacy`", "<a id=\"step-");
    assert!(
        pool_step.contains("[kubelet-container-runtime-docker](#error-kubelet-container-runtime-docker) (1 error)"),
        "{plan}"
    );
    assert!(plan.contains("**Carry `/etc/docker/daemon.json` settings over to the new runtime**"), "{plan}");
    assert!(
        md.contains("node `acme-eu1-docker-1` `/etc/docker/daemon.json:3`: daemon.json sets registry-mirrors"),
        "{md}"
    );
    // Text from results is escaped.
    assert!(md.contains("--container-runtime=docker &lt;b&gt;&amp;&lt;/b&gt;"), "{md}");

    let (_, html) = run(&["report", &a, &b, "--format", "html"]);
    let steps = plan_steps(&html);
    assert!(steps.iter().any(|s| s == "daemon-json"), "{steps:?}");
    let flags_in_pool =
        html.find("id=\"f-kubelet-container-runtime-docker-acme-eu1-docker-1-1\"").expect("finding anchor");
    assert!(flags_in_pool > 0);
    assert!(html.find("id=\"coverage-alert\"").unwrap() < html.find("id=\"summary\"").unwrap());
    assert!(html.contains("kubelet runs with --container-runtime=docker &lt;b&gt;&amp;&lt;/b&gt;"));
    assert!(!html.contains("<b>&</b>"));
    assert!(html.contains("READY") || html.contains("BLOCKED"));
    // The merged scores put the node in its pool and keep the score capped for the gap.
    let (_, j) = run(&["report", &a, &b, "--format", "json"]);
    let m = json_of(&j);
    assert_eq!(m["coverage"]["complete"], false);
    let f = m["findings"].as_array().unwrap().iter().find(|f| f["ruleId"] == "docker-daemon-setting").unwrap();
    assert_eq!(f["location"]["pool"], "docker-legacy");
}

#[test]
fn every_error_and_warning_is_covered_by_a_plan_step() {
    let repo = fixture("demo-repo").display().to_string();
    let runs = [
        run(&["cluster", "--snapshot", &demo_snapshot(), "--target-version", "1.27", "--format", "html"]).1,
        run(&["repo", &repo, "--format", "html"]).1,
    ];
    for html in runs {
        let steps = plan_steps(&html);
        assert!(!steps.is_empty());
        for part in html.split("<details id=\"").skip(1) {
            let id = part.split('"').next().unwrap();
            if id.starts_with("error-") || id.starts_with("warning-") {
                let body = &part[..part.find("</details>").unwrap()];
                assert!(body.contains("Migration plan: <a href=\"#step-"), "{id} is not linked to a plan step");
            }
        }
    }
}

#[test]
fn report_merges_a_real_node_scan_into_the_cluster_report() {
    let dir = tempfile::tempdir().unwrap();
    let (_, cluster_json) = cluster("1.24", "json");
    let node_root = fixture("nodes/kubeadm-1.23-docker").display().to_string();
    let (_, node_json) = run(&["node", "--root", &node_root, "--target-version", "1.24", "--format", "json"]);
    let a = write(dir.path(), "cluster.json", &cluster_json);
    let b = write(dir.path(), "node.json", &node_json);
    let (_, html) = run(&["report", &a, &b, "--format", "html"]);
    let steps = plan_steps(&html);
    // The node scan sees /etc/docker/daemon.json, which the cluster scan alone cannot.
    assert!(steps.iter().any(|s| s == "daemon-json"), "{steps:?}");
    assert!(!plan_steps(&run(&["report", &a, "--format", "html"]).1).iter().any(|s| s == "daemon-json"));
    // Its node-level findings join the node's pool, known from the cluster scan.
    let (_, j) = run(&["report", &a, &b, "--format", "json"]);
    let m = json_of(&j);
    let node_findings: Vec<&Value> = m["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["location"]["node"] == "acme-eu1-docker-2" && f["location"]["path"].is_string())
        .collect();
    assert!(!node_findings.is_empty());
    assert!(node_findings.iter().all(|f| f["location"]["pool"] == "docker-legacy"));
}

#[test]
fn a_500_node_cluster_folds_its_node_rows_under_their_pools() {
    // See: issue 13 ("the HTML report of a 500-node cluster puts 500 node rows above the migration
    // plan"). The synthetic kubeadm cluster of the benchmarks: pools of containerd nodes, one of Docker.
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("snapshot.json");
    fake_apiserver::synth::generate(500, 1000, 7)
        .save(&snapshot, dockershim_audit::output_file::Policy::default())
        .unwrap();
    let snap = snapshot.to_str().unwrap();
    let (_, html) = run(&["cluster", "--snapshot", snap, "--target-version", "1.24", "--format", "html"]);
    // No flat node table; each pool's rows in a closed <details>, every node row still there.
    assert!(!html.contains("id=\"nodes-table\""));
    assert!(html.contains("<p class=\"muted\" id=\"nodes-folded\">500 nodes, folded under their pool"), "folding note");
    let folds: Vec<&str> = html.split("<details class=\"pool-nodes\" id=\"").skip(1).collect();
    assert!(folds.len() >= 3, "one fold per pool: {}", folds.len());
    assert!(folds.iter().all(|f| f.split('>').next().unwrap().ends_with('"')), "folds start closed");
    let rows_in_folds: usize =
        folds.iter().map(|f| f[..f.find("</details>").unwrap()].matches("<tr id=\"node-").count()).sum();
    assert_eq!(rows_in_folds, 500);
    assert_eq!(html.matches("<tr id=\"node-").count(), 500);
    // The Docker pool says how many of its nodes are blocked without opening it.
    let docker = folds.iter().find(|f| f.starts_with("pool-nodes-docker-legacy\"")).expect("docker-legacy fold");
    let summary = docker.split("<summary>").nth(1).unwrap().split("</summary>").next().unwrap();
    assert!(summary.contains("BLOCKED") && summary.contains(" nodes: "), "{summary}");
    // The migration plan now comes within a screen of the nodes section, not 500 rows later.
    let (nodes_at, plan_at) =
        (html.find("<section id=\"nodes\">").unwrap(), html.find("<section id=\"plan\">").unwrap());
    assert!(html[nodes_at..plan_at].matches("<details").count() == folds.len());
    // Links to a node still resolve (the page's script opens the fold on navigation).
    for href in html.split("href=\"#node-").skip(1).map(|s| s.split('"').next().unwrap()) {
        assert!(html.contains(&format!("id=\"node-{href}\"")), "dangling link #node-{href}");
    }

    let (_, md) = run(&["cluster", "--snapshot", snap, "--target-version", "1.24", "--format", "markdown"]);
    let nodes = section(&md, "### Nodes", "### Migration plan");
    assert!(nodes.contains("500 nodes, folded under their pool (more than 40)."), "{}", &nodes[..300]);
    assert!(nodes.contains("<details><summary>Pool <code>docker-legacy</code>: "), "{}", &nodes[..600]);
    assert_eq!(nodes.matches("<details>").count(), nodes.matches("</details>").count());
    // A small cluster keeps its one table (the demo has 9 nodes).
    let (_, demo) = cluster("1.24", "markdown");
    assert!(!section(&demo, "### Nodes", "### Migration plan").contains("<details>"));
}
