//! The Kubernetes resources the cluster collector reads, and how their kinds map to API paths.
//!
//! Place in the pipeline: shared vocabulary of the cluster collector (and of the fake API server
//! used in tests). Pure data: no I/O here.
//!
//! Must not: grow entries for resources the tool does not need — every entry here is listed from
//! the cluster and granted in `deploy/rbac-readonly.yaml`. Secrets never belong here.

/// One resource kind the collector lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// kubectl short names (`po`).
    pub short_names: &'static [&'static str],
}

/// The version CronJobs were served at before `batch/v1` (Kubernetes < 1.21).
pub const CRONJOB_LEGACY_VERSION: &str = "v1beta1";

/// Every resource `cluster` reads, in the order they are reported.
pub const RESOURCES: [ResourceKind; 10] = [
    rk("nodes", "node", "Node", "", "v1", false, &["no"]),
    rk("pods", "pod", "Pod", "", "v1", true, &["po"]),
    rk("deployments", "deployment", "Deployment", "apps", "v1", true, &["deploy"]),
    rk("daemonsets", "daemonset", "DaemonSet", "apps", "v1", true, &["ds"]),
    rk("statefulsets", "statefulset", "StatefulSet", "apps", "v1", true, &["sts"]),
    rk("replicasets", "replicaset", "ReplicaSet", "apps", "v1", true, &["rs"]),
    rk("replicationcontrollers", "replicationcontroller", "ReplicationController", "", "v1", true, &["rc"]),
    rk("jobs", "job", "Job", "batch", "v1", true, &[]),
    rk("cronjobs", "cronjob", "CronJob", "batch", "v1", true, &["cj"]),
    rk("configmaps", "configmap", "ConfigMap", "", "v1", true, &["cm"]),
];

const fn rk(
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    group: &'static str,
    version: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
) -> ResourceKind {
    ResourceKind { plural, singular, kind, group, version, namespaced, short_names }
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

    #[test]
    fn paths_and_versions() {
        let pods = by_plural("pods").unwrap();
        assert_eq!(pods.list_path("v1", None), "/api/v1/pods");
        assert_eq!(pods.list_path("v1", Some("kube-system")), "/api/v1/namespaces/kube-system/pods");
        let cj = by_kind("CronJob").unwrap();
        assert_eq!(cj.list_path(CRONJOB_LEGACY_VERSION, None), "/apis/batch/v1beta1/cronjobs");
        assert_eq!(cj.api_version_at("v1beta1"), "batch/v1beta1");
        let nodes = by_kind("Node").unwrap();
        assert_eq!(nodes.list_path("v1", Some("ignored")), "/api/v1/nodes");
        assert_eq!(nodes.group_label(), "core");
        assert!(by_kind("Secret").is_none());
    }
}
