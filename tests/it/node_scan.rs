//! `dockershim-audit node --root DIR` on fixture node filesystems: each gives exactly the expected
//! findings, and symbolic links are resolved inside the root without ever leaving it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::common;

fn root(name: &str) -> PathBuf {
    crate::common::fixture("nodes").join(name)
}

/// (rule id, path:line or "-") of every finding, and the exit code (the tool run in-process).
fn scan(dir: &Path, extra: &[&str]) -> (i32, BTreeSet<(String, String)>, serde_json::Value) {
    let mut args = vec!["node", "--root", dir.to_str().unwrap(), "--format", "json"];
    args.extend_from_slice(extra);
    let (code, out) = common::run_in_process(&args);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let set = v["findings"].as_array().unwrap().iter().map(common::rule_and_place).collect();
    (code, set, v)
}

fn set(items: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    items.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[test]
fn kubeadm_docker_node_gives_exactly_the_expected_findings() {
    let (code, got, v) = scan(&root("kubeadm-1.23-docker"), &["--target-version", "1.24"]);
    assert_eq!(code, 1);
    let expected = set(&[
        ("removed-kubelet-flag", "/var/lib/kubelet/kubeadm-flags.env:1"),
        ("docker-cli-in-script", "/etc/cron.d/docker-prune:6"),
        ("docker-daemon-setting", "/etc/docker/daemon.json:2"),
        ("docker-daemon-setting", "/etc/docker/daemon.json:3"),
        ("docker-daemon-setting", "/etc/docker/daemon.json:4"),
        ("docker-daemon-setting", "/etc/docker/daemon.json:8"),
        ("docker-daemon-setting", "/etc/docker/daemon.json:9"),
        ("docker-daemon-setting", "/etc/docker/daemon.json:10"),
        ("hostpath-docker-socket", "/etc/kubernetes/manifests/kube-proxy-debug.yaml:20"),
        ("docker-cli-in-container", "/etc/kubernetes/manifests/kube-proxy-debug.yaml:11"),
        ("node-containerd-cri-disabled", "-"),
        ("node-cgroup-driver-mismatch", "-"),
        ("node-runtime-prerequisites", "-"),
        ("node-sandbox-image-mismatch", "-"),
    ]);
    assert_eq!(got, expected, "{:#}", v["findings"]);
    // Every finding names the node (from etc/hostname).
    for f in v["findings"].as_array().unwrap() {
        assert_eq!(f["location"]["node"], "acme-eu1-docker-2");
    }
    // At 1.24 only --network-plugin is removed; --pod-infra-container-image goes in 1.35.
    let flags: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["ruleId"] == "removed-kubelet-flag")
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(flags.len(), 1);
    assert!(flags[0].contains("--network-plugin"), "{flags:?}");
}

#[test]
fn ready_containerd_node_is_clean() {
    let (code, got, v) = scan(&root("containerd-ready"), &[]);
    assert_eq!(code, 0, "{:#}", v["findings"]);
    assert!(got.is_empty());
    assert!(v["summary"]["counts"]["node_files_read"].as_u64().unwrap() >= 6);
}

#[test]
fn eks_dockershim_symlink_to_containerd_is_not_a_blocker() {
    let (code, got, v) = scan(&root("eks-dockershim-symlink"), &[]);
    assert_eq!(code, 0, "{:#}", v["findings"]);
    assert_eq!(
        got,
        set(&[("runtime-endpoint-dockershim", "/etc/systemd/system/kubelet.service.d/30-kubelet-extra-args.conf:2")])
    );
    let f = &v["findings"][0];
    assert_eq!(f["severity"], "note");
    assert!(f["message"].as_str().unwrap().contains("/run/containerd/containerd.sock"), "{f}");
}

#[cfg(unix)]
#[test]
fn a_symlink_pointing_outside_the_root_is_not_followed_out_of_it() {
    let outer = tempfile::tempdir().unwrap();
    // A daemon.json outside the node root that must never be read.
    std::fs::write(outer.path().join("daemon.json"), "{\"registry-mirrors\": [\"https://outside.example\"]}\n")
        .unwrap();
    let node = outer.path().join("node");
    std::fs::create_dir_all(node.join("etc/docker")).unwrap();
    std::fs::create_dir_all(node.join("etc/cron.d")).unwrap();
    std::os::unix::fs::symlink("../../../daemon.json", node.join("etc/docker/daemon.json")).unwrap();
    std::os::unix::fs::symlink(outer.path().join("daemon.json"), node.join("etc/cron.d/escape")).unwrap();
    let (_, got, v) = scan(&node, &[]);
    assert!(got.iter().all(|(r, _)| r != "docker-daemon-setting"), "read a file outside the root: {:#}", v["findings"]);
}
