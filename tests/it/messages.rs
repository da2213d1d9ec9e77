//! What users read: rule text as written (braces survive templating) and no internal words in
//! findings.
//!
//! Place in the pipeline: rule templates through the engine to the JSON report and `rules explain`.

use serde_json::Value;

use crate::common::{bin, fixture};

#[test]
fn literal_braces_in_rule_text_survive_templating() {
    let out = bin()
        .arg("repo")
        .arg(fixture("rules/jenkins-docker-pipeline/fire"))
        .args(["--target-version", "1.24", "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["ruleId"] == "jenkins-docker-pipeline")
        .expect("the Jenkins rule fires");
    let remediation = f["remediation"].as_str().unwrap();
    assert!(remediation.contains("agent { docker } all need"), "{remediation}");
    let explain = bin().args(["rules", "explain", "jenkins-docker-pipeline"]).output().unwrap();
    let text = String::from_utf8(explain.stdout).unwrap();
    assert!(text.contains("agent { docker } all need"), "{text}");
    assert!(!text.contains("{{"), "{text}");
}

/// `node --root DIR --target-version 1.24 --format json`; the findings.
fn node_findings(root: &std::path::Path) -> Vec<Value> {
    let out = bin()
        .args(["node", "--root"])
        .arg(root)
        .args(["--target-version", "1.24", "--format", "json"])
        .output()
        .unwrap();
    let v: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    v["findings"].as_array().unwrap().clone()
}

#[test]
fn prerequisites_message_names_only_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for (path, text) in [
        ("etc/hostname", "worker-7\n"),
        ("etc/docker/daemon.json", "{\n  \"log-driver\": \"json-file\"\n}\n"),
        ("etc/modules-load.d/k8s.conf", "# loaded at boot for the pod network\noverlay\n"),
        ("etc/sysctl.d/99-forward.conf", "net.ipv4.ip_forward = 1\n"),
    ] {
        std::fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
        std::fs::write(root.join(path), text).unwrap();
    }
    let findings = node_findings(root);
    let f = findings
        .iter()
        .find(|f| f["ruleId"] == "node-runtime-prerequisites")
        .unwrap_or_else(|| panic!("fires: {findings:#?}"));
    let m = f["message"].as_str().unwrap();
    assert!(m.contains("br_netfilter") && m.contains("net.bridge.bridge-nf-call-iptables=1"), "{m}");
    assert!(!m.contains("overlay") && !m.contains("ip_forward"), "persisted ones are not missing: {m}");
    assert!(!m.contains("sysctls:") && !m.contains("modules:"), "{m}");
}

#[test]
fn messages_carry_no_internal_words() {
    // A dashboard query on dockershim metrics, and a kubelet unit ordered after docker.service.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("monitoring")).unwrap();
    std::fs::write(
        root.join("monitoring/rules.yaml"),
        "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: node\n  namespace: monitoring\nspec:\n  groups:\n    - name: node\n      rules:\n        - alert: DockerOpsFailing\n          expr: rate(kubelet_docker_operations_errors_total[5m]) > 0\n        - alert: DiskInodes\n          expr: container_fs_inodes_free < 1000\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("etc/systemd/system")).unwrap();
    std::fs::write(
        root.join("etc/systemd/system/kubelet.service"),
        "[Unit]\nDescription=kubelet\nAfter=network-online.target docker.service\n\n[Service]\nExecStart=/usr/bin/kubelet\n",
    )
    .unwrap();
    let out = bin().arg("repo").arg(root).args(["--target-version", "1.24", "--format", "json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let text: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{}: {} | {}", f["ruleId"], f["message"], f["remediation"]))
        .collect();
    let all = text.join("\n");
    for rule in ["dockershim-metric", "kubelet-unit-requires-docker"] {
        assert!(all.contains(rule), "{rule} fires:\n{all}");
    }
    for word in ["removed-1.24", "missing-on-containerd", "vX.Y.Z", "unit.After", "(live configz)"] {
        assert!(!all.contains(word), "{word:?} in:\n{all}");
    }
    assert!(all.contains("After=network-online.target docker.service"), "{all}");
    assert!(all.contains("removed with dockershim in Kubernetes 1.24"), "{all}");
}
