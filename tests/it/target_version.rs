//! The target version: one resolution order for every command (flag → config → live `/version` →
//! snapshot → declared by the material → newest known), shown with its source in every format, and
//! versions outside the rule data rejected. See: issue 13.

use std::path::Path;

use serde_json::Value;

use crate::common::{bin, demo_as_kubectl_list, fixture};

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: stderr: {}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn versions_outside_the_data_are_rejected_with_the_known_range() {
    for bad in ["1", "2.0", "1.99", "banana"] {
        let out = bin().args(["repo"]).arg(fixture("clean-repo")).args(["--target-version", bad]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert!(err.contains(&format!("`{bad}`")) && err.contains("1.19 to 1.37"), "{bad}: {err}");
        assert!(out.stdout.is_empty(), "{bad}: nothing is reported");
    }
    // The same in the config file, even when the flag is given.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("audit.yaml");
    std::fs::write(&cfg, "targetVersion: \"1\"\n").unwrap();
    for extra in [&[][..], &["--target-version", "1.30"][..]] {
        let out =
            bin().args(["repo"]).arg(fixture("clean-repo")).arg("--config").arg(&cfg).args(extra).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("targetVersion in the config file") && err.contains("1.19 to 1.37"), "{err}");
    }
}

#[test]
fn each_source_in_order_with_its_label_in_json() {
    let target = |args: &[&str]| {
        let out = bin().args(args).args(["--format", "json"]).output().unwrap();
        json_of(&out)["target"].clone()
    };
    let repo = fixture("demo-repo").display().to_string();
    // The demo repo's kubeadm config declares v1.23.17.
    let t = target(&["repo", &repo]);
    assert_eq!((t["version"].as_str(), t["source"].as_str()), (Some("1.24"), Some("declared")), "{t}");
    assert!(t["reason"].as_str().unwrap().contains("kubeadm-config.yaml"), "{t}");
    assert_eq!(target(&["repo", &repo, "--target-version", "1.30"])["source"], "flag");
    // The clean repo's kubeadm config declares v1.27.16.
    assert_eq!(target(&["repo", &fixture("clean-repo").display().to_string()])["version"], "1.28");
    // A repository that declares nothing falls back to the newest release, and says so.
    let bare = tempfile::tempdir().unwrap();
    std::fs::write(bare.path().join("deploy.yaml"), "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n").unwrap();
    let t = target(&["repo", &bare.path().display().to_string()]);
    assert_eq!((t["version"].as_str(), t["source"].as_str()), (Some("1.37"), Some("newest-known")), "{t}");
    assert_eq!(t["reason"], "no cluster version found; newest known");
    // The config file comes after the flag.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("audit.yaml");
    std::fs::write(&cfg, "targetVersion: \"1.26\"\n").unwrap();
    let t = target(&["repo", &repo, "--config", &cfg.display().to_string()]);
    assert_eq!((t["version"].as_str(), t["source"].as_str()), (Some("1.26"), Some("config")), "{t}");
    let t = target(&["repo", &repo, "--config", &cfg.display().to_string(), "--target-version", "1.25"]);
    assert_eq!((t["version"].as_str(), t["source"].as_str()), (Some("1.25"), Some("flag")), "{t}");
    // A snapshot's recorded server version.
    let t = target(&["cluster", "--snapshot", &fixture("demo-cluster/snapshot.json").display().to_string()]);
    assert_eq!((t["version"].as_str(), t["source"].as_str()), (Some("1.24"), Some("snapshot")), "{t}");
}

/// The same cluster as a snapshot and as a kubectl List (no `/version`) is scored at the same
/// target: the List's kubeadm-config and control-plane kubelet say which version runs.
#[test]
fn a_kubectl_list_is_scored_like_the_snapshot_it_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let list = demo_as_kubectl_list(dir.path());
    let run =
        |p: &Path| json_of(&bin().args(["cluster", "--snapshot"]).arg(p).args(["--format", "json"]).output().unwrap());
    let from_list = run(&list);
    let from_snapshot = run(&fixture("demo-cluster/snapshot.json"));
    assert_eq!(from_list["target"]["version"], "1.24", "{}", from_list["target"]);
    assert_eq!(from_list["target"]["source"], "declared");
    assert_eq!(from_list["summary"]["errors"], from_snapshot["summary"]["errors"]);
    assert_eq!(from_list["summary"]["warnings"], from_snapshot["summary"]["warnings"]);
}

#[test]
fn every_format_shows_the_target_and_its_source() {
    let repo = fixture("demo-repo");
    let render = |format: &str| {
        let out = bin().arg("repo").arg(&repo).args(["--format", format]).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    // Paths are relative to the repository root: this project's, which holds the fixture.
    let why = "v1.23.17 declared by `kubernetesVersion` in fixtures/demo-repo/kubeadm/kubeadm-config.yaml";
    assert!(render("table").contains(&format!("target Kubernetes 1.24 ({why}")), "table");
    assert!(render("markdown").contains(&format!("**Target Kubernetes 1.24** ({why}")), "markdown");
    let sarif: Value = serde_json::from_str(&render("sarif")).unwrap();
    let props = &sarif["runs"][0]["properties"];
    assert_eq!((props["targetVersion"].as_str(), props["targetSource"].as_str()), (Some("1.24"), Some("declared")));
    let cluster = fixture("demo-cluster/snapshot.json");
    let html = String::from_utf8(
        bin().args(["cluster", "--snapshot"]).arg(&cluster).args(["--format", "html"]).output().unwrap().stdout,
    )
    .unwrap();
    assert!(html.contains("<strong id=\"target\">1.24</strong>") && html.contains("recorded in the snapshot"), "html");
    let md = String::from_utf8(
        bin().args(["cluster", "--snapshot"]).arg(&cluster).args(["--format", "markdown"]).output().unwrap().stdout,
    )
    .unwrap();
    assert!(
        md.contains("Target Kubernetes 1.24 (server version v1.23.17 recorded in the snapshot, next minor)."),
        "{}",
        &md[..400]
    );
}

/// `report` merges results scored at one target only; mixed targets name each file (exit 2).
#[test]
fn merging_results_scored_at_different_targets_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let save = |name: &str, args: &[&str]| {
        let path = dir.path().join(name);
        let out = bin().args(args).args(["--format", "json", "-o"]).arg(&path).output().unwrap();
        assert!(path.exists(), "{}", String::from_utf8_lossy(&out.stderr));
        path
    };
    let cluster = fixture("demo-cluster/snapshot.json").display().to_string();
    let repo = fixture("demo-repo").display().to_string();
    let at_124 = save("cluster.json", &["cluster", "--snapshot", &cluster]);
    let at_137 = save("repo.json", &["repo", &repo, "--target-version", "1.37"]);
    let out = bin().arg("report").arg(&at_124).arg(&at_137).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("cluster.json: target Kubernetes 1.24") && err.contains("repo.json: target Kubernetes 1.37"),
        "{err}"
    );
    // Saved results cannot be re-scored by a flag.
    let out = bin().arg("report").arg(&at_124).args(["--target-version", "1.30"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("scored at 1.24"), "{err}");
    // The same target merges, and a node blocked in one input stays blocked.
    let repo_124 = save("repo-124.json", &["repo", &repo, "--target-version", "1.24"]);
    let out = bin()
        .arg("report")
        .arg(&at_124)
        .arg(&repo_124)
        .args(["--target-version", "1.24", "--format", "json"])
        .output()
        .unwrap();
    let merged = json_of(&out);
    assert_eq!(merged["target"]["version"], "1.24");
    let cluster_alone = json_of(&bin().arg("report").arg(&at_124).args(["--format", "json"]).output().unwrap());
    for (node, score) in cluster_alone["summary"]["scopes"]["nodes"].as_object().unwrap() {
        let merged_verdict = &merged["summary"]["scopes"]["nodes"][node]["verdict"];
        if score["verdict"] != "READY" {
            assert_ne!(merged_verdict, "READY", "{node}");
        }
    }
}
