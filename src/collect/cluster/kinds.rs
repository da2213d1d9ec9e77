//! The registry of Kubernetes resources the cluster collector reads: one entry per kind holds its
//! API coordinates, whether it runs or owns pods, where its pod spec is, what of it is kept, and
//! how kubectl prints it.
//!
//! Place in the pipeline: shared vocabulary of the cluster collector (fetch, snapshot loading,
//! pruning, owner chains) and of the fake API server used in tests (discovery, tables). Pure data:
//! no I/O here.
//!
//! Must not: grow entries for resources the tool does not need — every entry here is listed from
//! the cluster and granted in `deploy/rbac-readonly.yaml` (a test ties the two). Secrets never
//! belong here.

use serde_json::Value;

/// One resource kind the collector lists: everything the tool knows about it, in one place. A new
/// kind is one entry in [`RESOURCES`] (and its grant in `deploy/rbac-readonly.yaml`, which a test
/// ties to this list): the live reads, the access reviews, snapshot loading, pruning, owner-chain
/// resolution and the fake API server's discovery and tables all read these fields.
#[derive(Debug, Clone, Copy)]
pub struct ResourceKind {
    /// Lowercase plural resource name, as in API paths and RBAC rules (`pods`).
    pub plural: &'static str,
    /// Lowercase singular name, as discovery reports it (`pod`).
    pub singular: &'static str,
    /// Object kind (`Pod`).
    pub kind: &'static str,
    /// API group, empty for the core group.
    pub group: &'static str,
    /// Preferred version read from the cluster.
    pub version: &'static str,
    /// An older version to read when discovery does not list the resource at `version`
    /// (CronJobs were `batch/v1beta1` before Kubernetes 1.21).
    pub legacy_version: Option<&'static str>,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// kubectl short names (`po`).
    pub short_names: &'static [&'static str],
    /// JSON pointer of the pod spec inside an object of this kind, for kinds that run pods.
    pub pod_spec: Option<&'static str>,
    /// Whether objects of this kind own pods (a controller): owner chains are resolved through
    /// them, and one at the top of its chain is audited once from its template.
    pub owns_pods: bool,
    /// The controller kind that usually owns objects of this kind (a Deployment its ReplicaSets,
    /// a CronJob its Jobs). An owned object is audited through its owner, never from its own
    /// template, so an audit that has listed the owners first reads an owned object without its
    /// template (`fetch::list_all`; issue 16).
    pub owned_by: Option<&'static str>,
    /// What of each listed object is kept (see `collect::cluster::pruned`).
    pub prune: Prune,
    /// Which listed objects are kept at all (`None`: every one); the rest are dropped as soon as
    /// they are read.
    pub keep: Option<fn(&Value) -> bool>,
    /// Whether every cluster has objects of this kind, so a `kubectl` dump without any was not a
    /// full capture (a gap, where a kind a cluster may lack is a named skip).
    pub every_cluster_has: bool,
    /// A namespace read even when the audit is scoped to other namespaces, because its objects
    /// describe the whole cluster (the kubeadm and kubelet ConfigMaps of `kube-system`).
    pub cluster_config_namespace: Option<&'static str>,
    /// Extra columns of a kubectl table (`kubectl get` without `-o`): header and JSON pointer.
    pub columns: &'static [(&'static str, &'static str)],
}

/// What the pruner keeps of a listed object, besides its type and slimmed metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prune {
    /// The whole object.
    Whole,
    /// The data keys the rules read (ConfigMaps: kubeadm and kubelet configuration, log-collector
    /// and monitoring configuration).
    ConfigData,
    /// Labels and `status.nodeInfo` (nodes).
    NodeInfo,
    /// The pod spec, reduced, for the first pod of each owner; `nodeName` for the others.
    PodSpec,
    /// The reduced pod template at [`ResourceKind::pod_spec`] (controllers).
    Template,
}

/// The verbs `deploy/rbac-readonly.yaml` grants on every resource in [`RESOURCES`] (and the fake
/// API server's discovery advertises).
pub const GRANTED_VERBS: [&str; 2] = ["get", "list"];

/// The verb `fetch` checks with an access review before it lists a resource.
pub const LIST_VERB: &str = "list";

/// Columns of workload controllers that keep a replica count.
const REPLICA_COLUMNS: &[(&str, &str)] = &[("Desired", "/spec/replicas"), ("Ready", "/status/readyReplicas")];

/// The base of every entry: a namespaced resource with no pods, no pruning and no columns.
const BASE: ResourceKind = ResourceKind {
    plural: "",
    singular: "",
    kind: "",
    group: "",
    version: "v1",
    legacy_version: None,
    namespaced: true,
    short_names: &[],
    pod_spec: None,
    owns_pods: false,
    owned_by: None,
    prune: Prune::Whole,
    keep: None,
    every_cluster_has: false,
    cluster_config_namespace: None,
    columns: &[],
};

/// A controller whose pod template is at `/spec/template/spec`.
const CONTROLLER: ResourceKind =
    ResourceKind { pod_spec: Some("/spec/template/spec"), owns_pods: true, prune: Prune::Template, ..BASE };

/// Every resource `cluster` reads, in the order they are reported.
pub const RESOURCES: &[ResourceKind] = &[
    ResourceKind {
        plural: "nodes",
        singular: "node",
        kind: "Node",
        namespaced: false,
        short_names: &["no"],
        prune: Prune::NodeInfo,
        every_cluster_has: true,
        columns: &[
            ("Version", "/status/nodeInfo/kubeletVersion"),
            ("Container-Runtime", "/status/nodeInfo/containerRuntimeVersion"),
        ],
        ..BASE
    },
    ResourceKind {
        plural: "pods",
        singular: "pod",
        kind: "Pod",
        short_names: &["po"],
        pod_spec: Some("/spec"),
        prune: Prune::PodSpec,
        every_cluster_has: true,
        columns: &[("Status", "/status/phase"), ("Node", "/spec/nodeName")],
        ..BASE
    },
    ResourceKind {
        plural: "deployments",
        singular: "deployment",
        kind: "Deployment",
        group: "apps",
        short_names: &["deploy"],
        columns: REPLICA_COLUMNS,
        ..CONTROLLER
    },
    ResourceKind {
        plural: "daemonsets",
        singular: "daemonset",
        kind: "DaemonSet",
        group: "apps",
        short_names: &["ds"],
        columns: &[("Desired", "/status/desiredNumberScheduled"), ("Ready", "/status/numberReady")],
        ..CONTROLLER
    },
    ResourceKind {
        plural: "statefulsets",
        singular: "statefulset",
        kind: "StatefulSet",
        group: "apps",
        short_names: &["sts"],
        columns: REPLICA_COLUMNS,
        ..CONTROLLER
    },
    ResourceKind {
        plural: "replicasets",
        singular: "replicaset",
        kind: "ReplicaSet",
        group: "apps",
        short_names: &["rs"],
        columns: REPLICA_COLUMNS,
        owned_by: Some("Deployment"),
        ..CONTROLLER
    },
    ResourceKind {
        plural: "replicationcontrollers",
        singular: "replicationcontroller",
        kind: "ReplicationController",
        short_names: &["rc"],
        columns: REPLICA_COLUMNS,
        ..CONTROLLER
    },
    ResourceKind {
        plural: "jobs",
        singular: "job",
        kind: "Job",
        group: "batch",
        columns: &[("Succeeded", "/status/succeeded")],
        owned_by: Some("CronJob"),
        ..CONTROLLER
    },
    ResourceKind {
        plural: "cronjobs",
        singular: "cronjob",
        kind: "CronJob",
        group: "batch",
        legacy_version: Some("v1beta1"),
        short_names: &["cj"],
        pod_spec: Some("/spec/jobTemplate/spec/template/spec"),
        columns: &[("Schedule", "/spec/schedule")],
        ..CONTROLLER
    },
    ResourceKind {
        plural: "configmaps",
        singular: "configmap",
        kind: "ConfigMap",
        short_names: &["cm"],
        prune: Prune::ConfigData,
        keep: Some(keep_configmap),
        every_cluster_has: true,
        cluster_config_namespace: Some("kube-system"),
        ..BASE
    },
];

/// Markers of log-collector and monitoring configuration that may depend on Docker.
const CONFIG_MARKERS: [&str; 9] = [
    "[INPUT]",
    "<source>",
    "@type",
    "Parser",
    "expr:",
    "\"expr\"",
    "/var/lib/docker",
    "container_fs_",
    "kubelet_docker",
];

/// Whether a ConfigMap is kept: kube-system `kubeadm-config`, `kubelet-config`, `kubelet-config-1.*`,
/// and ConfigMaps whose `.conf`/`.yaml`/`.yml`/`.json` data looks like log-collector or
/// monitoring configuration. Everything else is dropped right after reading, to keep memory small.
pub fn keep_configmap(obj: &Value) -> bool {
    let ns = obj.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("");
    let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    if ns == "kube-system"
        && (name == "kubeadm-config" || name == "kubelet-config" || name.starts_with("kubelet-config-1."))
    {
        return true;
    }
    let Some(data) = obj.get("data").and_then(Value::as_object) else { return false };
    data.iter().any(|(key, value)| {
        let k = key.to_ascii_lowercase();
        let config_like = [".conf", ".yaml", ".yml", ".json"].iter().any(|ext| k.ends_with(ext));
        config_like && value.as_str().is_some_and(|v| CONFIG_MARKERS.iter().any(|m| v.contains(m)))
    })
}

impl ResourceKind {
    /// `apiVersion` of objects read at `version` (`v1`, `apps/v1`, `batch/v1beta1`).
    pub fn api_version_at(&self, version: &str) -> String {
        if self.group.is_empty() { version.to_string() } else { format!("{}/{}", self.group, version) }
    }

    /// `apiVersion` at the preferred version.
    pub fn api_version(&self) -> String {
        self.api_version_at(self.version)
    }

    /// The group as kubectl names it in messages: `core` for the empty group.
    pub fn group_label(&self) -> &'static str {
        if self.group.is_empty() { "core" } else { self.group }
    }

    /// Path prefix of the group version (`/api/v1`, `/apis/apps/v1`).
    pub fn group_version_path(&self, version: &str) -> String {
        if self.group.is_empty() { format!("/api/{version}") } else { format!("/apis/{}/{version}", self.group) }
    }

    /// Collection path at `version`, cluster-wide (`namespace` None) or in one namespace.
    pub fn list_path(&self, version: &str, namespace: Option<&str>) -> String {
        let base = self.group_version_path(version);
        match namespace {
            Some(ns) if self.namespaced => format!("{base}/namespaces/{ns}/{}", self.plural),
            _ => format!("{base}/{}", self.plural),
        }
    }

    /// Kind of the list object (`PodList`).
    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }
}

/// The resources whose objects own pods (controllers), in registry order.
pub fn controllers() -> impl Iterator<Item = &'static ResourceKind> {
    RESOURCES.iter().filter(|r| r.owns_pods)
}

/// The owner reference an object is grouped and audited under: its controller reference (the
/// one with `controller: true`), else its first. Pod grouping, owner chains and the templates an
/// audit skips all follow this one.
pub fn followed_owner(refs: &[Value]) -> Option<&Value> {
    use crate::parse::json_pointer::get;
    refs.iter().find(|r| get(r, "controller").and_then(Value::as_bool) == Some(true)).or_else(|| refs.first())
}

/// The resource whose objects have this `kind`, if `cluster` reads it.
pub fn by_kind(kind: &str) -> Option<&'static ResourceKind> {
    RESOURCES.iter().find(|r| r.kind == kind)
}

/// The resource with this lowercase plural name, if `cluster` reads it.
pub fn by_plural(plural: &str) -> Option<&'static ResourceKind> {
    RESOURCES.iter().find(|r| r.plural == plural)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn owners_are_listed_controllers_and_the_controller_reference_is_followed() {
        for res in RESOURCES {
            if let Some(owner) = res.owned_by {
                assert!(res.owns_pods, "{}", res.plural);
                assert!(by_kind(owner).is_some_and(|o| o.owns_pods), "{} is owned by {owner}", res.plural);
            }
        }
        let refs = json!([{"kind": "Deployment", "uid": "a"}, {"kind": "Rollout", "uid": "b", "controller": true}]);
        assert_eq!(followed_owner(refs.as_array().unwrap()).unwrap()["uid"], "b");
        let refs = json!([{"kind": "Deployment", "uid": "a", "controller": "true"}, 7]);
        assert_eq!(followed_owner(refs.as_array().unwrap()).unwrap()["uid"], "a", "else the first");
        assert_eq!(followed_owner(&[]), None);
    }

    #[test]
    fn paths_and_versions() {
        let pods = by_plural("pods").unwrap();
        assert_eq!(pods.list_path("v1", None), "/api/v1/pods");
        assert_eq!(pods.list_path("v1", Some("kube-system")), "/api/v1/namespaces/kube-system/pods");
        let cj = by_kind("CronJob").unwrap();
        assert_eq!(cj.list_path(cj.legacy_version.unwrap(), None), "/apis/batch/v1beta1/cronjobs");
        assert_eq!(cj.api_version_at("v1beta1"), "batch/v1beta1");
        let nodes = by_kind("Node").unwrap();
        assert_eq!(nodes.list_path("v1", Some("ignored")), "/api/v1/nodes");
        assert_eq!(nodes.group_label(), "core");
        assert!(by_kind("Secret").is_none());
    }

    #[test]
    fn registry_entries_are_consistent() {
        for (i, r) in RESOURCES.iter().enumerate() {
            let others = &RESOURCES[i + 1..];
            assert!(!others.iter().any(|o| o.plural == r.plural || o.kind == r.kind), "{} twice", r.plural);
            assert!(!r.plural.is_empty() && !r.singular.is_empty() && !r.kind.is_empty(), "{r:?}");
            assert_ne!(r.plural, "secrets", "Secrets are never read");
            // A controller has a template; a pod-running kind is pruned to its pod spec.
            assert!(!r.owns_pods || r.pod_spec.is_some(), "{}", r.plural);
            assert_eq!(r.prune == Prune::Template, r.owns_pods, "{}", r.plural);
            assert_eq!(r.prune == Prune::PodSpec, r.pod_spec == Some("/spec"), "{}", r.plural);
            if let Some(p) = r.pod_spec.filter(|_| r.prune == Prune::Template) {
                assert!(p.starts_with("/spec/") && p.ends_with("/spec"), "{}: {p}", r.plural);
            }
            assert!(r.legacy_version != Some(r.version), "{}", r.plural);
            assert!(r.cluster_config_namespace.is_none() || r.namespaced, "{}", r.plural);
        }
        let controllers: Vec<&str> = controllers().map(|r| r.kind).collect();
        assert_eq!(
            controllers,
            ["Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "ReplicationController", "Job", "CronJob"]
        );
        let everywhere: Vec<&str> = RESOURCES.iter().filter(|r| r.every_cluster_has).map(|r| r.kind).collect();
        assert_eq!(everywhere, ["Node", "Pod", "ConfigMap"]);
    }

    #[test]
    fn configmap_filter() {
        let cm = |ns: &str, name: &str, data: Value| json!({"metadata": {"namespace": ns, "name": name}, "data": data});
        assert!(keep_configmap(&cm("kube-system", "kubeadm-config", json!({}))));
        assert!(keep_configmap(&cm("kube-system", "kubelet-config-1.23", json!(null))));
        assert!(keep_configmap(&cm("kube-system", "kubelet-config", json!({}))));
        assert!(!keep_configmap(&cm("default", "kubeadm-config", json!({}))));
        assert!(keep_configmap(&cm("logging", "fb", json!({"fluent-bit.conf": "[INPUT]\n Name tail"}))));
        assert!(keep_configmap(&cm("mon", "rules", json!({"rules.yaml": "expr: container_fs_usage_bytes > 1"}))));
        assert!(!keep_configmap(&cm("app", "cfg", json!({"application.yaml": "server:\n  port: 8080"}))));
        assert!(!keep_configmap(&cm("app", "cfg", json!({"notes.txt": "[INPUT]"}))));
        assert!(!keep_configmap(&cm("app", "kube-root-ca.crt", json!({"ca.crt": "-----BEGIN"}))));
        assert!(!keep_configmap(&json!("not an object")));
    }
}
