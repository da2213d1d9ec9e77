//! Kubernetes versions that configuration declares: kubeadm `ClusterConfiguration.kubernetesVersion`,
//! KubeKey `spec.kubernetes.version` (v1alpha2) or `spec.kubernetes.kube_version` (v4), kubespray
//! `kube_version` and RKE1 `kubernetes_version`. They feed the target-version resolution
//! (`crate::target`) when no cluster version is known; they are not evidence for rules.
//!
//! Runs on every YAML file before the literal prefilter (a kubeadm config without any docker
//! word still says which version the cluster runs), but parses only files that name one of the keys.

use serde_json::Value as Json;

use crate::evidence::Evidence;
use crate::version::Version;

/// The keys whose presence makes a YAML file worth parsing for a declared version.
const KEYS: [&str; 4] = ["kubernetesVersion", "kube_version", "kubernetes_version", "kubekey.kubesphere.io"];

/// Adds the versions `text` (one YAML stream at `path`) declares to `out.declared_versions`.
pub fn versions(path: &str, text: &str, out: &mut Evidence) {
    if !KEYS.iter().any(|k| text.contains(k)) {
        return;
    }
    // A file that does not parse is reported by its analyser; here it just declares nothing.
    let Ok(docs) = crate::parse::yaml::parse_documents(text) else { return };
    for doc in &docs {
        for (ptr, key) in pointers(&doc.value) {
            let Some(text) = doc.value.pointer(ptr).and_then(Json::as_str) else { continue };
            // `v1.23.17`, `v1.20.15-rancher1-1`; a Jinja expression (`{{ kube_version }}`) is not a version.
            if let Some(v) = Version::parse(text).filter(|v| v.minor() >= Version::parse("1.0").expect("literal")) {
                let line = doc.pos(ptr).line;
                out.declared_versions.push((v, format!("`{key}` in {path}:{line}")));
            }
        }
    }
}

/// Where each known form keeps its version, by the document's shape.
fn pointers(doc: &Json) -> Vec<(&'static str, &'static str)> {
    let api = doc.get("apiVersion").and_then(Json::as_str).unwrap_or("");
    let kind = doc.get("kind").and_then(Json::as_str).unwrap_or("");
    if api.starts_with("kubeadm.k8s.io/") && kind == "ClusterConfiguration" {
        return vec![("/kubernetesVersion", "kubernetesVersion")];
    }
    if api.starts_with("kubekey.kubesphere.io/") {
        return vec![("/spec/kubernetes/version", "version"), ("/spec/kubernetes/kube_version", "kube_version")];
    }
    if !api.is_empty() || !kind.is_empty() {
        return Vec::new();
    }
    // Plain YAML: kubespray group_vars, an RKE1 cluster.yml.
    vec![("/kube_version", "kube_version"), ("/kubernetes_version", "kubernetes_version")]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(text: &str) -> Vec<String> {
        let mut ev = Evidence::default();
        versions("x.yaml", text, &mut ev);
        ev.declared_versions.iter().map(|(v, by)| format!("{v} {by}")).collect()
    }

    #[test]
    fn reads_each_installer_form() {
        assert_eq!(
            declared("apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.23.17\n"),
            ["1.23.17 `kubernetesVersion` in x.yaml:3"]
        );
        assert_eq!(
            declared(
                "apiVersion: kubekey.kubesphere.io/v1alpha2\nkind: Cluster\nspec:\n  kubernetes:\n    version: v1.22.12\n"
            ),
            ["1.22.12 `version` in x.yaml:5"]
        );
        assert_eq!(
            declared("kube_version: v1.21.6\ncontainer_manager: docker\n"),
            ["1.21.6 `kube_version` in x.yaml:1"]
        );
        assert_eq!(
            declared("kubernetes_version: v1.20.15-rancher1-1\nnodes: []\n"),
            ["1.20.15 `kubernetes_version` in x.yaml:1"]
        );
    }

    #[test]
    fn templated_or_unrelated_values_declare_nothing() {
        assert!(declared("kube_version: \"{{ k8s_version }}\"\n").is_empty());
        assert!(declared("apiVersion: v1\nkind: ConfigMap\ndata:\n  kube_version: v1.21.0\n").is_empty());
        assert!(declared("image: nginx\n").is_empty());
    }
}
