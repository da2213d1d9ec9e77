//! Never READY when blind: missing paths are usage errors, scans that read nothing auditable are
//! incomplete, snapshots say what they lack (server version, configz), `-n` applies to snapshots,
//! and a baselined READY says how many known findings still stand. See: issue 13.

use serde_json::Value;

use crate::common::{bin, demo_as_kubectl_list, fixture};

fn run(args: &[&str]) -> (i32, String, String) {
    let out = bin().args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_missing_path_is_a_usage_error_not_a_clean_scan() {
    let (code, out, err) = run(&["repo", "/does/not/exist"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("/does/not/exist does not exist"), "{err}");
    assert!(!out.contains("READY"), "{out}");
    let (code, _, err) = run(&["node", "--root", "/does/not/exist"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("does not exist") && !err.contains("not a directory"), "{err}");
    let (code, _, err) = run(&["baseline", "write", "/tmp/never-written.json", "/does/not/exist"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn a_scan_that_read_nothing_auditable_exits_3_and_is_not_ready() {
    let empty = tempfile::tempdir().unwrap();
    let (code, out, _) = run(&["repo", &empty.path().display().to_string()]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("nothing to audit: 0 files seen, none of a kind the rules read"), "{out}");
    assert!(out.contains("INCOMPLETE, not READY"), "{out}");

    let docs = tempfile::tempdir().unwrap();
    std::fs::write(docs.path().join("README.md"), "# docs\n").unwrap();
    std::fs::write(docs.path().join("main.go"), "package main\n").unwrap();
    let (code, out, _) = run(&["repo", &docs.path().display().to_string(), "--format", "json"]);
    assert_eq!(code, 3);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(v["coverage"]["gaps"][0]["reason"].as_str().unwrap().contains("nothing to audit: 2 files seen"), "{v}");
    assert!(v["summary"]["verdictText"].as_str().unwrap().starts_with("INCOMPLETE"), "{}", v["summary"]);

    let (code, out, _) = run(&["node", "--root", &docs.path().display().to_string()]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("node files exist — is this a node's root?"), "{out}");
    // A real node root is not affected.
    let (code, out, _) = run(&["node", "--root", &fixture("nodes/kubeadm-1.23-docker").display().to_string()]);
    assert_ne!(code, 3, "{out}");
}

#[test]
fn a_kubectl_list_says_it_lacks_the_server_version_and_configz() {
    let dir = tempfile::tempdir().unwrap();
    let list = demo_as_kubectl_list(dir.path());
    let (_, out, _) = run(&["cluster", "--snapshot", &list.display().to_string(), "--format", "json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    let skipped: Vec<(String, String)> = v["coverage"]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["source"].as_str().unwrap().to_string(), g["reason"].as_str().unwrap().to_string()))
        .collect();
    let version = skipped.iter().find(|(s, _)| s == "/version").expect("server version listed as skipped");
    assert!(version.1.contains("kubectl version -o json"), "{version:?}");
    let configz = skipped.iter().find(|(s, _)| s == "nodes/proxy").expect("configz listed as skipped");
    assert!(configz.1.contains("dockershim-audit snapshot -o FILE"), "{configz:?}");
    let (_, md, _) = run(&["cluster", "--snapshot", &list.display().to_string(), "--format", "markdown"]);
    assert!(!md.contains("Every source the scan looked for was read"), "{md}");
}

/// The demo snapshot holds configz for 2 of its 9 nodes: the other 7 are gaps, as live.
#[test]
fn a_snapshot_with_configz_for_some_nodes_lists_the_others_as_gaps() {
    let (code, out, _) = run(&[
        "cluster",
        "--snapshot",
        &fixture("demo-cluster/snapshot.json").display().to_string(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    let gaps: Vec<&str> =
        v["coverage"]["gaps"].as_array().unwrap().iter().map(|g| g["node"].as_str().unwrap()).collect();
    assert_eq!(gaps.len(), 7, "{gaps:?}");
    assert!(!gaps.contains(&"acme-eu1-ctrd-1") && !gaps.contains(&"acme-eu1-docker-1"), "{gaps:?}");
    assert_eq!(v["summary"]["scopes"]["nodes"]["acme-eu1-ctrd-2"]["complete"], false);
}

#[test]
fn namespace_flag_applies_to_snapshots() {
    let snap = fixture("demo-cluster/snapshot.json").display().to_string();
    let (_, out, _) = run(&["cluster", "--snapshot", &snap, "-n", "ci", "--format", "json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["summary"]["counts"]["objects_pods"], 4, "{}", v["summary"]["counts"]);
    for f in v["findings"].as_array().unwrap() {
        let ns = f["location"]["object"]["namespace"].as_str().unwrap_or("");
        assert!(ns.is_empty() || ns == "ci", "{f}");
    }
    // Nodes and the cluster-wide kubeadm/kubelet ConfigMaps are still read.
    assert_eq!(v["summary"]["counts"]["objects_nodes"], 9);
    assert!(v["findings"].as_array().unwrap().iter().any(|f| f["ruleId"] == "node-runtime-dockershim"));
}

#[test]
fn a_baselined_ready_says_how_many_known_findings_still_stand() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("baseline.json");
    let repo = fixture("demo-repo").display().to_string();
    let (code, _, err) = run(&["baseline", "write", &baseline.display().to_string(), &repo]);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = run(&["repo", &repo, "--baseline", &baseline.display().to_string()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("— READY for new findings; ") && out.contains(" known errors and "), "{out}");
    assert!(out.contains("known warnings remain in the baseline"), "{out}");
    assert!(!out.contains("— READY (score"), "{out}");
}
