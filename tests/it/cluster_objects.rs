//! Cluster objects to findings, offline: owner chains are resolved from what was listed, a
//! finding is reported once on the top owner with its pod count, static pods are kept, and
//! owners of kinds the tool does not list (Argo Rollouts, runner controllers) are kept by name.

use dockershim_audit::collect::{cluster::snapshot::ClusterSnapshot, objects};
use dockershim_audit::finding::Finding;
use dockershim_audit::rules::{Catalogue, engine};
use dockershim_audit::version::Version;
use serde_json::json;

fn pod_spec_with_socket() -> serde_json::Value {
    json!({
        "containers": [{"name": "agent", "image": "docker:20.10", "command": ["sh", "-c", "docker ps -q | wc -l"],
                        "securityContext": {"privileged": true},
                        "volumeMounts": [{"name": "sock", "mountPath": "/var/run/docker.sock"}]}],
        "volumes": [{"name": "sock", "hostPath": {"path": "/var/run/docker.sock", "type": "Socket"}}]
    })
}

fn audit(snapshot: serde_json::Value) -> Vec<Finding> {
    let snap = ClusterSnapshot::from_json(&snapshot.to_string()).expect("snapshot parses");
    let ev = objects::evidence(&snap);
    let c = Catalogue::builtin().unwrap();
    engine::evaluate(&c, &Version::parse("1.24").unwrap(), &ev.records)
}

fn snapshot(resources: serde_json::Value) -> serde_json::Value {
    json!({"apiVersion": "dockershim-audit/v1", "kind": "ClusterSnapshot", "resources": resources, "configz": {}, "gaps": [], "skipped": []})
}

#[test]
fn deployment_pods_are_reported_once_on_the_deployment_with_the_pod_count() {
    let spec = pod_spec_with_socket();
    let pods: Vec<_> = (0..3)
        .map(|i| json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("builder-7d9f-{i}"), "namespace": "ci", "uid": format!("p{i}"),
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "builder-7d9f", "uid": "rs1", "controller": true}]},
            "spec": spec}))
        .collect();
    let findings = audit(snapshot(json!({
        "deployments": [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "builder", "namespace": "ci", "uid": "d1"},
                         "spec": {"template": {"spec": spec}}}],
        "replicasets": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                         "metadata": {"name": "builder-7d9f", "namespace": "ci", "uid": "rs1",
                                      "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "builder", "uid": "d1", "controller": true}]},
                         "spec": {"template": {"spec": spec}}}],
        "pods": pods,
    })));
    let socket: Vec<_> = findings.iter().filter(|f| f.rule_id == "hostpath-docker-socket").collect();
    assert_eq!(socket.len(), 1, "{socket:#?}");
    let o = socket[0].location.object.as_ref().unwrap();
    assert_eq!((o.kind.as_str(), o.namespace.as_str(), o.name.as_str()), ("Deployment", "ci", "builder"));
    assert_eq!(socket[0].location.pods, Some(3));
    let cli = findings.iter().find(|f| f.rule_id == "docker-cli-in-container").expect("docker CLI found");
    assert_eq!(cli.severity, dockershim_audit::finding::Severity::Error, "privileged docker CLI is an error");
}

#[test]
fn cronjob_chain_static_pods_and_unknown_owners() {
    let spec = pod_spec_with_socket();
    let findings = audit(snapshot(json!({
        "cronjobs": [{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "prune", "namespace": "ops", "uid": "cj"},
                      "spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}}],
        "jobs": [{"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "prune-28000", "namespace": "ops", "uid": "j1",
                  "ownerReferences": [{"kind": "CronJob", "name": "prune", "uid": "cj", "controller": true}]}, "spec": {"template": {"spec": spec}}}],
        "pods": [
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "prune-28000-x", "namespace": "ops",
              "ownerReferences": [{"kind": "Job", "name": "prune-28000", "uid": "j1", "controller": true}]}, "spec": spec},
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "etcd-backup-cp1", "namespace": "kube-system",
              "annotations": {"kubernetes.io/config.mirror": "abc"},
              "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "cp1", "uid": "n1", "controller": true}]},
             "spec": {"nodeName": "cp1", "containers": spec["containers"], "volumes": spec["volumes"]}},
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "canary-abc-1", "namespace": "web",
              "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "canary-abc", "uid": "rs9", "controller": true}]}, "spec": spec},
        ],
        "replicasets": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "canary-abc", "namespace": "web", "uid": "rs9",
            "ownerReferences": [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "canary", "uid": "ro1", "controller": true}]},
            "spec": {"template": {"spec": spec}}}],
    })));
    let owners: std::collections::BTreeSet<String> = findings
        .iter()
        .filter(|f| f.rule_id == "hostpath-docker-socket")
        .map(|f| f.location.object.as_ref().unwrap().to_string())
        .collect();
    let expected: std::collections::BTreeSet<String> =
        ["CronJob/ops/prune", "Pod/kube-system/etcd-backup-cp1", "Rollout/web/canary"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    assert_eq!(owners, expected);
    let static_pod =
        findings.iter().find(|f| f.location.object.as_ref().is_some_and(|o| o.name == "etcd-backup-cp1")).unwrap();
    assert_eq!(static_pod.location.node.as_deref(), Some("cp1"), "static pods carry their node");
}

#[test]
fn node_rules_on_runtime_annotation_and_versions() {
    let node = |name: &str, kubelet: &str, runtime: &str, sock: &str| {
        json!({"apiVersion": "v1", "kind": "Node",
               "metadata": {"name": name, "labels": {"cloud.google.com/gke-nodepool": "pool-a"}, "annotations": {"kubeadm.alpha.kubernetes.io/cri-socket": sock}},
               "status": {"nodeInfo": {"kubeletVersion": kubelet, "containerRuntimeVersion": runtime, "osImage": "Ubuntu 20.04.6 LTS"}}})
    };
    let snap = snapshot(json!({"nodes": [
        node("d1", "v1.23.17", "docker://20.10.21", "/var/run/dockershim.sock"),
        node("c1", "v1.23.17", "containerd://1.6.20", "unix:///run/containerd/containerd.sock"),
        node("x1", "v1.24.17", "docker://23.0.6", "unix:///var/run/cri-dockerd.sock"),
        node("o1", "v1.25.16", "containerd://1.5.9", "unix:///run/containerd/containerd.sock"),
    ]}));
    let parsed = ClusterSnapshot::from_json(&snap.to_string()).unwrap();
    let ev = objects::evidence(&parsed);
    let c = Catalogue::builtin().unwrap();
    let at = |v: &str| engine::evaluate(&c, &Version::parse(v).unwrap(), &ev.records);
    let rules_for = |fs: &[Finding], node: &str| -> Vec<String> {
        fs.iter().filter(|f| f.location.node.as_deref() == Some(node)).map(|f| f.rule_id.clone()).collect()
    };
    let f = at("1.24");
    assert_eq!(rules_for(&f, "d1"), ["node-cri-socket-annotation", "node-runtime-dockershim"]);
    assert!(rules_for(&f, "c1").is_empty());
    assert_eq!(rules_for(&f, "x1"), ["node-runtime-cri-dockerd"]);
    assert!(rules_for(&f, "o1").is_empty(), "containerd 1.5 is fine before 1.26");
    assert_eq!(rules_for(&at("1.26"), "o1"), ["node-runtime-too-old"]);
    assert_eq!(f[0].location.pool.as_deref(), Some("pool-a"));
}

/// A hostile snapshot whose two ReplicaSets own each other: the owner walk ends (a bounded number
/// of hops), each pod is counted once, and the answer does not depend on the order in which the
/// evidence step's threads finish (same findings on every run).
#[test]
fn owner_cycles_end_and_pods_are_counted_once() {
    let spec = pod_spec_with_socket();
    let rs = |name: &str, uid: &str, owner: &str, owner_uid: &str| {
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
               "metadata": {"name": name, "namespace": "loop", "uid": uid,
                            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner, "uid": owner_uid, "controller": true}]},
               "spec": {"template": {"spec": spec}}})
    };
    let pods: Vec<_> = (0..40)
        .map(|i| {
            let (owner, uid) = if i % 2 == 0 { ("a", "rs-a") } else { ("b", "rs-b") };
            json!({"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": format!("p-{i}"), "namespace": "loop", "uid": format!("p{i}"),
                                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner, "uid": uid, "controller": true}]},
                   "spec": spec})
        })
        .collect();
    let snap =
        snapshot(json!({"replicasets": [rs("a", "rs-a", "b", "rs-b"), rs("b", "rs-b", "a", "rs-a")], "pods": pods}));
    let first = audit(snap.clone());
    let socket: Vec<_> = first.iter().filter(|f| f.rule_id == "hostpath-docker-socket").collect();
    assert!(!socket.is_empty(), "the cycle's workloads are still audited: {first:#?}");
    let counted: u32 = socket.iter().filter_map(|f| f.location.pods).sum();
    assert!(counted <= 40, "no pod counted twice: {counted}");
    let fingerprint = |f: &Vec<Finding>| format!("{f:?}");
    for _ in 0..5 {
        assert_eq!(fingerprint(&audit(snap.clone())), fingerprint(&first));
    }
}
