//! The due-later summary: a verdict at an early target still says what breaks after it. A
//! repository that declares 1.21 is scored at 1.22, where dockershim still exists; its
//! `docker.sock` mount and removed kubelet flags break at 1.24, and the report must say so
//! instead of a bare READY (found on a real kubespray fork that declares 1.9).

use std::path::Path;

use serde_json::Value;

use crate::common::run_in_process;

/// kubespray-style inventory: the cluster's version in group_vars.
const GROUP_VARS: &str = r#"---
# Kubernetes configuration dirs and system namespace.
kube_config_dir: /etc/kubernetes
kube_script_dir: "{{ bin_dir }}/kubernetes-scripts"
kube_manifest_dir: "{{ kube_config_dir }}/manifests"

## Change this to use another Kubernetes version
kube_version: v1.21.6

# Choose network plugin (cilium, calico, weave or flannel)
kube_network_plugin: calico

# Container runtime: docker, crio or containerd
container_manager: containerd
"#;

/// The kubelet environment template of the node role: `--network-plugin` on two branches (one
/// grouped finding), `--cni-conf-dir` and `--cni-bin-dir`, all removed in 1.24.
const KUBELET_ENV: &str = r#"KUBE_LOG_LEVEL="--v={{ kube_log_level }}"
KUBELET_ADDRESS="--node-ip={{ kubelet_address }}"
{# Base kubelet args #}
{% set kubelet_args_base -%}
--bootstrap-kubeconfig={{ kube_config_dir }}/bootstrap-kubelet.conf \
--config={{ kube_config_dir }}/kubelet-config.yaml \
--kubeconfig={{ kube_config_dir }}/kubelet.conf \
{%- endset %}
KUBELET_ARGS="{{ kubelet_args_base }} {% if kubelet_custom_flags is string %} {{ kubelet_custom_flags }} {% endif %}"
{% if kube_network_plugin is defined and kube_network_plugin in ["calico", "flannel", "weave", "cilium"] %}
KUBELET_NETWORK_PLUGIN="--network-plugin=cni --cni-conf-dir=/etc/cni/net.d --cni-bin-dir=/opt/cni/bin"
{% elif kube_network_plugin is defined and kube_network_plugin == "cloud" %}
KUBELET_NETWORK_PLUGIN="--hairpin-mode=promiscuous-bridge --network-plugin=kubenet"
{% endif %}
PATH={{ bin_dir }}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
"#;

/// A log shipper the logging role applies, mounting the Docker socket.
const FLUENT_BIT: &str = r#"apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: fluent-bit
  namespace: logging
  labels:
    k8s-app: fluent-bit-logging
spec:
  selector:
    matchLabels:
      k8s-app: fluent-bit-logging
  template:
    metadata:
      labels:
        k8s-app: fluent-bit-logging
    spec:
      serviceAccountName: fluent-bit
      containers:
      - name: fluent-bit
        image: fluent/fluent-bit:1.8.15
        volumeMounts:
        - name: varlog
          mountPath: /var/log
        - name: dockersock
          mountPath: /var/run/docker.sock
          readOnly: true
      volumes:
      - name: varlog
        hostPath:
          path: /var/log
      - name: dockersock
        hostPath:
          path: /var/run/docker.sock
"#;

/// A repository with the inventory, and with `docker` the kubelet template and the log shipper.
fn repo(docker: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_repo(dir.path(), docker);
    dir
}

fn write_repo(root: &Path, docker: bool) {
    let mut files = vec![("inventory/prod/group_vars/k8s_cluster/k8s-cluster.yml", GROUP_VARS)];
    if docker {
        files.push(("roles/kubernetes/node/templates/kubelet.env.v1beta1.j2", KUBELET_ENV));
        files.push(("roles/logging/files/fluent-bit-ds.yml", FLUENT_BIT));
    }
    for (path, text) in files {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

fn json(args: &[&str]) -> (i32, Value) {
    let (code, out) = run_in_process(args);
    (code, serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}")))
}

/// The rules newly breaking at `version` (any release: `None`) in a `dueLater` value.
fn rules_at(due: &Value, version: Option<&str>) -> Vec<String> {
    let releases = due["releases"].as_array().map(Vec::as_slice).unwrap_or_default();
    let at = releases.iter().filter(|r| version.is_none_or(|v| r["version"] == v));
    at.flat_map(|r| r["newly"].as_array().unwrap()).map(|n| n["ruleId"].as_str().unwrap().to_string()).collect()
}

#[test]
fn a_repository_on_1_21_is_told_what_breaks_at_1_24_beside_its_ready_verdict() {
    let dir = repo(true);
    let root = dir.path().to_str().unwrap();

    let (code, doc) = json(&["repo", root, "--format", "json"]);
    // The verdict and the exit code stay the target's: 1.22 still has dockershim.
    assert_eq!((code, doc["target"]["version"].as_str()), (0, Some("1.22")), "{doc:#}");
    assert_eq!(doc["summary"]["verdict"], "READY");
    let due = &doc["dueLater"];
    assert_eq!((due["after"].as_str(), due["through"].as_str()), (Some("1.22"), Some("1.37")), "{due:#}");
    let first = due["releases"][0]["version"].as_str();
    assert_eq!(first, Some("1.24"), "nothing breaks at 1.23: {due:#}");
    let at_124 = rules_at(due, Some("1.24"));
    assert!(at_124.contains(&"hostpath-docker-socket".to_string()), "{at_124:?}");
    assert!(at_124.contains(&"removed-kubelet-flag".to_string()), "{at_124:?}");
    // Only what will break or needs a change: no notes, and every entry a warning or an error.
    for release in due["releases"].as_array().unwrap() {
        for n in release["newly"].as_array().unwrap() {
            assert!(n["severity"] == "error" || n["severity"] == "warning", "{n}");
        }
    }

    let (_, table) = run_in_process(&["repo", root, "--format", "table"]);
    let due_line = table.find("due after the target, not counted in this verdict").expect(&table);
    let verdict_line = table.find("target Kubernetes 1.22").expect(&table);
    assert!(due_line < verdict_line, "the summary comes right before the verdict:\n{table}");
    assert!(table.contains("breaks at 1.24") && table.contains("hostpath-docker-socket (error)"), "{table}");
    let (_, md) = run_in_process(&["repo", root, "--format", "markdown"]);
    assert!(md.contains("### Due after the target") && md.contains("- **1.24**: "), "{md}");
    let (_, html) = run_in_process(&["repo", root, "--format", "html"]);
    assert!(html.contains("<section id=\"due-later\">") && html.contains("<li><strong>1.24</strong>: "), "{html}");
}

#[test]
fn nothing_is_due_later_when_nothing_breaks_later_or_the_target_already_counts_it() {
    // The same inventory without the Docker dependencies: a plain READY, no summary.
    let clean = repo(false);
    let root = clean.path().to_str().unwrap();
    let (code, doc) = json(&["repo", root, "--format", "json"]);
    assert_eq!((code, doc["summary"]["verdict"].as_str()), (0, Some("READY")));
    assert!(doc.get("dueLater").is_none(), "{doc:#}");
    let (_, table) = run_in_process(&["repo", root, "--format", "table"]);
    assert!(!table.contains("due after the target"), "{table}");

    // With the dependencies, scored at 1.24: they are in the verdict, not announced for later.
    let docker = repo(true);
    let root = docker.path().to_str().unwrap();
    let (code, doc) = json(&["repo", root, "--target-version", "1.24", "--format", "json"]);
    assert_eq!((code, doc["summary"]["verdict"].as_str()), (1, Some("BLOCKED")), "{doc:#}");
    let later = rules_at(&doc["dueLater"], None);
    assert!(!later.iter().any(|r| r == "hostpath-docker-socket" || r == "removed-kubelet-flag"), "{doc:#}");

    // With --horizon the rows say it all: no second summary.
    let (_, doc) = json(&["repo", root, "--horizon", "--format", "json"]);
    assert!(doc.get("horizon").is_some() && doc.get("dueLater").is_none(), "{doc:#}");
}

#[test]
fn a_grouped_finding_whose_message_names_the_release_breaks_once_on_the_horizon() {
    // `--network-plugin` is set on two branches of the template: one finding with two places,
    // fingerprinted on its message, which ends "fails with 'unknown flag' on <release>". It
    // breaks at 1.24 and must not be listed as new again at 1.25, 1.26, ...
    let dir = repo(true);
    let root = dir.path().to_str().unwrap();
    let (_, doc) = json(&["repo", root, "--horizon", "--format", "json"]);
    let rows = doc["horizon"]["rows"].as_array().unwrap();
    let newly_flags: Vec<(&str, u64)> = rows
        .iter()
        .flat_map(|r| {
            r["newly"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|n| n["ruleId"] == "removed-kubelet-flag")
                .map(move |n| (r["version"].as_str().unwrap(), n["count"].as_u64().unwrap()))
        })
        .collect();
    assert_eq!(newly_flags, vec![("1.24", 3)], "{:#}", doc["horizon"]);
    let (_, at_131) = json(&["repo", root, "--target-version", "1.31", "--format", "json"]);
    let grouped = at_131["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["ruleId"] == "removed-kubelet-flag" && f["message"].as_str().unwrap().contains("--network-plugin"))
        .expect("the --network-plugin finding");
    assert_eq!(grouped["alsoAt"].as_array().map(Vec::len), Some(1), "{grouped:#}");
}
