//! The organisation-wide report (issue 15): `report FILE.json...` over a fleet result and the
//! results of several repositories' CI jobs, every input written by the tool itself (a fleet run
//! against loopback fake API servers, `repo` runs over copies of the fixture repositories). One
//! group per repository and cluster, worst first; the gate is the worst of them; mixed targets
//! are refused naming each file (and cluster) and its target.

use std::path::{Path, PathBuf};

use dockershim_audit::collect::cluster::snapshot::ClusterSnapshot;
use fake_apiserver::{FakeApiServer, FakeConfig};
use serde_json::Value;

use crate::common::fixture;

async fn serve(fixture_path: &str, forbid: &[&str]) -> FakeApiServer {
    let cfg = FakeConfig {
        snapshot: ClusterSnapshot::load(&fixture(fixture_path)).unwrap(),
        forbid: forbid.iter().map(|s| s.to_string()).collect(),
        ..FakeConfig::default()
    };
    FakeApiServer::start(cfg).await.unwrap()
}

/// Runs the binary in `dir` (off the async runtime, which serves the fake API servers).
async fn run_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let (dir, args): (PathBuf, Vec<String>) = (dir.to_path_buf(), args.iter().map(|s| s.to_string()).collect());
    tokio::task::spawn_blocking(move || {
        let out = assert_cmd::Command::cargo_bin("dockershim-audit")
            .unwrap()
            .current_dir(&dir)
            .env("NO_COLOR", "1")
            .env(crate::common::FAST_WAITS.0, crate::common::FAST_WAITS.1)
            .args(&args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

fn groups(v: &Value) -> &Vec<Value> {
    v["groups"].as_array().unwrap_or_else(|| panic!("no groups: {v:#}"))
}

fn group<'a>(v: &'a Value, kind: &str, name: &str) -> &'a Value {
    groups(v)
        .iter()
        .find(|g| g["kind"] == kind && g["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}: {v:#}"))
}

fn findings(doc: &Value) -> usize {
    doc["findings"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_merges_a_fleet_and_many_repositories_into_one_organisation_report() {
    let blocked = serve("demo-cluster/snapshot.json", &[]).await;
    let ready = serve("clean-cluster/snapshot.json", &[]).await;
    let forbidden = serve("clean-cluster/snapshot.json", &["configmaps"]).await;
    let refused = crate::common::RefusedPort::new();
    let gone = refused.port;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let kc = d.join("kubeconfig");
    std::fs::write(&kc, "").unwrap();
    FakeApiServer::write_fleet_kubeconfig(
        &[("blocked".into(), &blocked), ("ready".into(), &ready), ("forbidden".into(), &forbidden)],
        &kc,
    )
    .unwrap();
    // A context nothing answers, added by hand as kubectl config would.
    let text = std::fs::read_to_string(&kc).unwrap().replace(
        "contexts:\n",
        &format!(
            "- name: \"gone\"\n  cluster:\n    server: http://127.0.0.1:{gone}\ncontexts:\n- name: \"gone\"\n  context:\n    \
             cluster: \"gone\"\n    user: \"ready\"\n"
        ),
    );
    std::fs::write(&kc, text).unwrap();
    let kcs = kc.to_str().unwrap();

    // The fleet job, scored at one target for the whole organisation.
    let (code, _, stderr) = run_in(
        d,
        &[
            "cluster",
            "--kubeconfig",
            kcs,
            "--all-contexts",
            "--target-version",
            "1.24",
            "--format",
            "json",
            "-o",
            "fleet.json",
        ],
    )
    .await;
    assert_eq!(code, 1, "{stderr}");
    // Three repositories' CI jobs: two checkouts of the same code (same relative paths, same
    // fingerprints) and a clean one, each scanning `.` and saving its result under its own name.
    for (name, src) in [("web", "demo-repo"), ("payments", "demo-repo"), ("docs-site", "clean-repo")] {
        copy_tree(&fixture(src), &d.join("checkouts").join(name));
        let out = d.join(format!("{name}.json"));
        let (code, _, stderr) = run_in(
            &d.join("checkouts").join(name),
            &["repo", ".", "--target-version", "1.24", "--format", "json", "-o", out.to_str().unwrap()],
        )
        .await;
        assert!(code == 0 || code == 1, "{name}: exit {code}: {stderr}");
    }
    let web_alone: Value = serde_json::from_str(&std::fs::read_to_string(d.join("web.json")).unwrap()).unwrap();

    let (code, stdout, stderr) =
        run_in(d, &["report", "fleet.json", "web.json", "payments.json", "docs-site.json", "--format", "json"]).await;
    assert_eq!(code, 1, "the blocked cluster and repositories trip the gate: {stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(
        (v["command"].as_str(), v["targetVersion"].as_str(), v["exitCode"].as_u64()),
        (Some("report"), Some("1.24"), Some(1))
    );
    let names: Vec<String> =
        groups(&v).iter().map(|g| format!("{} {}", g["kind"].as_str().unwrap(), g["name"].as_str().unwrap())).collect();
    assert_eq!(names.len(), 7, "4 clusters and 3 repositories: {names:?}");
    // Worst first: blocked (incomplete before complete), unreachable, then the rest; ready last,
    // after a scan that found nothing blocking but could not read everything (INCOMPLETE).
    let verdicts: Vec<&str> = groups(&v).iter().map(|g| g["verdict"].as_str().unwrap()).collect();
    let rank =
        |s: &str| ["BLOCKED", "UNREACHABLE", "AT RISK", "INCOMPLETE", "READY"].iter().position(|x| *x == s).unwrap();
    assert!(verdicts.windows(2).all(|w| rank(w[0]) <= rank(w[1])), "{names:?} {verdicts:?}");

    // Each repository keeps its own findings: the two checkouts of one codebase are not folded
    // into one (a flat merge would drop the second as a duplicate).
    for name in ["web", "payments"] {
        let g = group(&v, "repository", name);
        assert_eq!(g["verdict"], "BLOCKED");
        assert_eq!(g["exitCode"], 1);
        assert_eq!(findings(&g["report"]), findings(&web_alone), "{name}");
        assert_eq!(g["inputs"], serde_json::json!([format!("{name}.json")]));
    }
    let docs = group(&v, "repository", "docs-site");
    assert_eq!((docs["verdict"].as_str(), docs["exitCode"].as_u64()), (Some("READY"), Some(0)));
    // Each cluster of the fleet is a group with its fleet facts.
    let b = group(&v, "cluster", "blocked");
    assert!(b["dockerNodes"].as_u64().unwrap() > 0 && b["serverVersion"].is_string(), "{b:#}");
    assert_eq!(b["inputs"], serde_json::json!(["fleet.json"]));
    let f = group(&v, "cluster", "forbidden");
    assert_eq!((f["complete"].as_bool(), f["exitCode"].as_u64()), (Some(false), Some(3)));
    let g = group(&v, "cluster", "gone");
    assert_eq!((g["verdict"].as_str(), g["exitCode"].as_u64()), (Some("UNREACHABLE"), Some(3)));
    assert!(g["error"].as_str().unwrap().contains(&gone.to_string()), "{g:#}");

    // The gate is the worst of the groups, under this run's --fail-on: without the blocked ones,
    // the forbidden resource and the unreachable cluster leave the organisation incomplete (3).
    let (code, _, _) =
        run_in(d, &["report", "fleet.json", "docs-site.json", "--fail-on", "error", "--format", "json"]).await;
    assert_eq!(code, 1, "the fleet still holds the blocked cluster");
    let ready_only = d.join("ready-fleet.json");
    let (code, _, stderr) = run_in(
        d,
        &[
            "cluster",
            "--kubeconfig",
            kcs,
            "--context",
            "ready",
            "--context",
            "forbidden",
            "--target-version",
            "1.24",
            "--format",
            "json",
            "-o",
            ready_only.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(code, 3, "{stderr}");
    let (code, stdout, _) = run_in(d, &["report", "ready-fleet.json", "docs-site.json", "--format", "table"]).await;
    assert_eq!(code, 3, "{stdout}");
    assert!(stdout.starts_with("ORGANISATION: 1 repository, 2 clusters, worst first"), "{stdout}");
    let (code, _, _) =
        run_in(d, &["report", "web.json", "docs-site.json", "--fail-on", "warning", "--format", "json"]).await;
    assert_eq!(code, 1);

    // Markdown and HTML: a summary row per group linking to the group's section.
    let (_, md, _) = run_in(d, &["report", "fleet.json", "web.json", "payments.json", "--format", "markdown"]).await;
    assert!(md.starts_with("# Organisation readiness\n\n2 repositories, 4 clusters, worst first."), "{md}");
    assert!(md.contains("| [repository web](#repository-web) |"), "{md}");
    assert!(
        md.contains("<a id=\"repository-payments\"></a>\n\n## Repository `payments`\n\nFrom `payments.json`."),
        "{md}"
    );
    assert!(md.contains("## Cluster `gone`") && md.contains("Not audited: "), "{md}");
    let (_, html, _) = run_in(d, &["report", "fleet.json", "web.json", "payments.json", "--format", "html"]).await;
    assert!(html.contains("<h1>Organisation readiness</h1>"));
    for href in html.split("href=\"#").skip(1).map(|s| s.split('"').next().unwrap()) {
        assert!(html.contains(&format!("id=\"{href}\"")), "dangling link #{href}");
    }
    assert_eq!(html.matches("<section id=").count(), 6);

    // The organisation result reads back as the same groups.
    let (_, _, _) =
        run_in(d, &["report", "fleet.json", "web.json", "payments.json", "--format", "json", "-o", "org.json"]).await;
    let (code, stdout, stderr) = run_in(d, &["report", "org.json", "--format", "json"]).await;
    assert_eq!(code, 1, "{stderr}");
    let again: Value = serde_json::from_str(&stdout).unwrap();
    let again_names: Vec<String> = groups(&again)
        .iter()
        .map(|g| format!("{} {}", g["kind"].as_str().unwrap(), g["name"].as_str().unwrap()))
        .collect();
    assert_eq!(again_names.len(), 6, "{again_names:?}");
    assert_eq!(findings(&group(&again, "repository", "web")["report"]), findings(&web_alone));

    // SARIF describes one scan: refused for an organisation report.
    let (code, _, stderr) = run_in(d, &["report", "fleet.json", "web.json", "--format", "sarif"]).await;
    assert_eq!(code, 2, "{stderr}");

    for s in [blocked, ready, forbidden] {
        s.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_at_different_targets_are_refused_naming_each_file_and_cluster() {
    let server = serve("demo-cluster/snapshot.json", &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let kc = d.join("kubeconfig");
    FakeApiServer::write_fleet_kubeconfig(&[("eu1".into(), &server), ("eu2".into(), &server)], &kc).unwrap();
    let kcs = kc.to_str().unwrap();
    // The fleet scored at its clusters' own next minor (1.24); one repository job at 1.26.
    let (code, _, stderr) =
        run_in(d, &["cluster", "--kubeconfig", kcs, "--all-contexts", "--format", "json", "-o", "fleet.json"]).await;
    assert_eq!(code, 1, "{stderr}");
    let repo = fixture("demo-repo");
    let (_, _, _) =
        run_in(d, &["repo", repo.to_str().unwrap(), "--target-version", "1.26", "--format", "json", "-o", "web.json"])
            .await;
    let (_, _, _) = run_in(
        d,
        &["repo", repo.to_str().unwrap(), "--target-version", "1.24", "--format", "json", "-o", "web124.json"],
    )
    .await;

    let (code, stdout, stderr) = run_in(d, &["report", "fleet.json", "web.json", "--format", "json"]).await;
    assert_eq!(code, 2, "{stdout}");
    assert!(stderr.contains("fleet.json (cluster eu1): target Kubernetes 1.24"), "{stderr}");
    assert!(stderr.contains("fleet.json (cluster eu2): target Kubernetes 1.24"), "{stderr}");
    assert!(stderr.contains("web.json: target Kubernetes 1.26"), "{stderr}");
    // --target-version cannot reconcile them, and must equal the target of results that agree.
    let (code, _, _) = run_in(d, &["report", "fleet.json", "web.json", "--target-version", "1.24"]).await;
    assert_eq!(code, 2);
    let (code, _, stderr) = run_in(d, &["report", "fleet.json", "web124.json", "--target-version", "1.26"]).await;
    assert_eq!(code, 2);
    assert!(stderr.contains("--target-version 1.26 does not match the results, which were scored at 1.24"), "{stderr}");
    let (code, stdout, stderr) =
        run_in(d, &["report", "fleet.json", "web124.json", "--target-version", "1.24", "--format", "json"]).await;
    assert_eq!(code, 1, "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(group(&v, "cluster", "eu1")["report"]["target"]["source"], "flag");

    // A node scan joins the cluster that lists its node, instead of a group of its own.
    let node_root = fixture("nodes/kubeadm-1.23-docker");
    let (_, _, _) = run_in(
        d,
        &[
            "node",
            "--root",
            node_root.to_str().unwrap(),
            "--target-version",
            "1.24",
            "--format",
            "json",
            "-o",
            "node.json",
        ],
    )
    .await;
    let (_, stdout, _) = run_in(d, &["report", "fleet.json", "node.json", "--format", "json"]).await;
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(groups(&v).len(), 2, "{v:#}");
    let eu1 = group(&v, "cluster", "eu1");
    assert_eq!(eu1["inputs"], serde_json::json!(["fleet.json", "node.json"]));
    let with_node_file = eu1["report"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["location"]["node"] == "acme-eu1-docker-2" && f["location"]["path"].is_string());
    assert!(with_node_file, "the node scan's findings are in its cluster's group");
    server.shutdown().await;
}
