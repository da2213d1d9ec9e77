//! The upgrade horizon (`--horizon`, issue 15): the same evidence scored at every minor release
//! after the running version, with what newly breaks at each.

use serde_json::Value;

use crate::common::{fixture, run_in_process};

/// A kubeadm cluster at 1.23 whose kubelet still sets `DynamicKubeletConfig`, a gate removed in
/// 1.26, and whose API server sets `TTLAfterFinished`, removed in 1.25.
const KUBEADM: &str = r#"apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
kubernetesVersion: v1.23.17
clusterName: prod-eu1
controlPlaneEndpoint: "api.prod-eu1.internal:6443"
apiServer:
  extraArgs:
    feature-gates: "TTLAfterFinished=true"
networking:
  podSubnet: 10.244.0.0/16
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
featureGates:
  DynamicKubeletConfig: true
"#;

fn horizon_of(args: &[&str]) -> Value {
    let (code, out) = run_in_process(args);
    assert!(code == 0 || code == 1, "exit {code}: {out}");
    let doc: Value = serde_json::from_str(&out).expect("JSON report");
    doc["horizon"].clone()
}

fn row<'a>(h: &'a Value, version: &str) -> &'a Value {
    h["rows"].as_array().unwrap().iter().find(|r| r["version"] == version).unwrap_or_else(|| panic!("no {version} row"))
}

fn newly_rules(row: &Value) -> Vec<String> {
    row["newly"].as_array().unwrap().iter().map(|n| n["ruleId"].as_str().unwrap().to_string()).collect()
}

#[test]
fn a_gate_removed_in_1_26_breaks_in_the_1_26_row_and_not_before() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("kubeadm")).unwrap();
    std::fs::write(dir.path().join("kubeadm/cluster.yaml"), KUBEADM).unwrap();
    let root = dir.path().to_str().unwrap();
    let h = horizon_of(&["repo", root, "--horizon", "--format", "json"]);
    // The running version comes from the material (kubernetesVersion), the rows start after it.
    assert_eq!(h["from"], "1.23");
    let versions: Vec<&str> = h["rows"].as_array().unwrap().iter().map(|r| r["version"].as_str().unwrap()).collect();
    assert_eq!(versions.first(), Some(&"1.24"));
    assert!(versions.windows(2).all(|w| w[0] != w[1]), "{versions:?}");
    assert_eq!(row(&h, "1.24")["isTarget"], true, "the target is the next minor of the declared version");

    let examples = |r: &Value| -> String {
        r["newly"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["example"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(!examples(row(&h, "1.24")).contains("DynamicKubeletConfig"));
    assert!(!examples(row(&h, "1.25")).contains("DynamicKubeletConfig"));
    assert!(examples(row(&h, "1.25")).contains("TTLAfterFinished"), "{}", examples(row(&h, "1.25")));
    let at_126 = row(&h, "1.26");
    assert!(newly_rules(at_126).contains(&"removed-feature-gate".to_string()));
    assert!(examples(at_126).contains("DynamicKubeletConfig"), "{}", examples(at_126));
    assert_eq!(at_126["verdict"], "BLOCKED");
    // Once broken, it stays broken: later rows keep the errors but list nothing new for it.
    assert!(row(&h, "1.27")["errors"].as_u64() >= at_126["errors"].as_u64());
    assert!(!examples(row(&h, "1.27")).contains("DynamicKubeletConfig"));
}

#[test]
fn the_demo_cluster_shows_what_breaks_at_every_release_from_1_24() {
    let snapshot = fixture("demo-cluster/snapshot.json");
    let h = horizon_of(&["cluster", "--snapshot", snapshot.to_str().unwrap(), "--horizon", "--format", "json"]);
    assert_eq!(h["from"], "1.23");
    let rows = h["rows"].as_array().unwrap();
    assert_eq!(rows[0]["version"], "1.24");
    assert!(rows.len() >= 10, "1.24 to the newest known release: {}", rows.len());
    // Dockershim's removal is the 1.24 story; CRI v1 (containerd < 1.6) the 1.26 one.
    assert!(newly_rules(row(&h, "1.24")).contains(&"node-runtime-dockershim".to_string()));
    assert!(!newly_rules(row(&h, "1.25")).contains(&"node-runtime-dockershim".to_string()));
    assert!(newly_rules(row(&h, "1.26")).contains(&"node-runtime-too-old".to_string()));
    assert!(!newly_rules(row(&h, "1.24")).contains(&"node-runtime-too-old".to_string()));
}

#[test]
fn every_document_format_shows_the_horizon_only_when_asked() {
    let snapshot = fixture("demo-cluster/snapshot.json");
    let snap = snapshot.to_str().unwrap();
    let (_, md) = run_in_process(&["cluster", "--snapshot", snap, "--horizon", "--format", "markdown"]);
    assert!(md.contains("### Upgrade horizon (from 1.23)"), "{md}");
    assert!(md.contains("| **1.24 (target)** | BLOCKED |"), "{md}");
    let (_, html) = run_in_process(&["cluster", "--snapshot", snap, "--horizon", "--format", "html"]);
    assert!(html.contains("<section id=\"horizon\">") && html.contains("<tr class=\"target\"><td>1.24 (target)</td>"));
    let (_, table) = run_in_process(&["cluster", "--snapshot", snap, "--horizon", "--format", "table"]);
    assert!(table.contains("upgrade horizon (from 1.23):"), "{table}");
    // Without the flag nothing changes.
    let (_, json) = run_in_process(&["cluster", "--snapshot", snap, "--format", "json"]);
    assert!(serde_json::from_str::<Value>(&json).unwrap().get("horizon").is_none());
    let (_, md) = run_in_process(&["cluster", "--snapshot", snap, "--format", "markdown"]);
    assert!(!md.contains("Upgrade horizon"));
}

/// The `(label, step key)` of each migration-plan step of an HTML report, in order.
fn plan_labels(html: &str) -> Vec<(String, String)> {
    html.split("<li id=\"step-")
        .skip(1)
        .map(|part| {
            let key = part.split("data-step=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
            let head = part.split("</h3>").next().unwrap();
            let label = head.split("<span class=\"before\">").nth(1).map_or("", |s| s.split('<').next().unwrap());
            (label.to_string(), key)
        })
        .collect()
}

#[test]
fn the_migration_plan_says_before_which_release_each_step_must_be_done() {
    // Scored at 1.27, the demo cluster's plan holds what breaks at 1.24 (dockershim nodes), at 1.25
    // (feature gates removed then, in kubeadm-config) and at 1.26 (containerd 1.5 without CRI v1):
    // each step is labelled with the first release where what it fixes breaks.
    let snapshot = fixture("demo-cluster/snapshot.json");
    let snap = snapshot.to_str().unwrap();
    let args = ["cluster", "--snapshot", snap, "--target-version", "1.27", "--horizon", "--format"];
    let (_, html) = run_in_process(&[&args[..], &["html"]].concat());
    let labels = plan_labels(&html);
    let label_of =
        |key: &str| labels.iter().find(|(_, k)| k == key).unwrap_or_else(|| panic!("{key}: {labels:?}")).0.clone();
    assert_eq!(label_of("node-pool:docker-legacy"), "before 1.24");
    assert_eq!(label_of("node-pool:containerd"), "before 1.26", "containerd 1.5 breaks with CRI v1 at 1.26");
    assert_eq!(label_of("cluster-config"), "before 1.25");
    // The etcd backup fixes nothing itself: it comes before the plan's earliest release.
    assert_eq!(label_of("etcd-backup"), "before 1.24");
    assert!(labels.iter().all(|(l, _)| !l.is_empty()), "{labels:?}");
    let line = html.split("<p id=\"plan-by-release\">").nth(1).unwrap().split("</p>").next().unwrap();
    let (at_124, at_126) = (line.find("before 1.24").unwrap(), line.find("before 1.26").unwrap());
    assert!(at_124 < line.find("before 1.25").unwrap() && at_124 < at_126, "{line}");

    let (_, md) = run_in_process(&[&args[..], &["markdown"]].concat());
    assert!(
        md.contains("By release (each step before the first release where what it fixes breaks): before 1.24: "),
        "{md}"
    );
    assert!(
        md.contains("**Node pool `containerd`: cordon and drain, switch the runtime, uncordon** _(before 1.26)_"),
        "{md}"
    );

    // Without the horizon the plan carries no release labels (nothing to draw them from).
    let (_, html) = run_in_process(&["cluster", "--snapshot", snap, "--target-version", "1.27", "--format", "html"]);
    assert!(plan_labels(&html).iter().all(|(l, _)| l.is_empty()));
    assert!(!html.contains("plan-by-release"));
}
