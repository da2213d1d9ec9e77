//! The fake API server's objects, serialized once at start so a page costs only a concatenation.
//!
//! Place in the pipeline: inside the fake API server (test support). Built from a
//! [`ClusterSnapshot`]; read-only afterwards.
//!
//! Must not: change after start, or hold Secrets (the snapshot has none).

use std::collections::{BTreeSet, HashMap};

use bytes::Bytes;
use serde_json::{Value, json};

use dockershim_audit::collect::cluster::kinds::{Prune, RESOURCES, ResourceKind};
use dockershim_audit::collect::cluster::{ClusterSnapshot, snapshot::fill_type_meta};

/// One object: where it lives and its JSON without `kind`/`apiVersion` (as list items are served).
pub(crate) struct Entry {
    /// Namespace, empty for cluster-scoped objects.
    pub ns: String,
    /// Name.
    pub name: String,
    /// Serialized object, without type metadata.
    pub json: Bytes,
}

/// All objects of one resource, sorted by namespace then name (etcd key order).
pub(crate) struct Collection {
    pub res: &'static ResourceKind,
    pub entries: Vec<Entry>,
}

impl Collection {
    /// The entries of one namespace, or all.
    pub fn scope(&self, ns: Option<&str>) -> &[Entry] {
        match ns {
            None => &self.entries,
            Some(ns) => {
                let start = self.entries.partition_point(|e| e.ns.as_str() < ns);
                let end = self.entries.partition_point(|e| e.ns.as_str() <= ns);
                &self.entries[start..end]
            }
        }
    }

    /// One object by namespace and name.
    pub fn find(&self, ns: &str, name: &str) -> Option<&Entry> {
        self.entries
            .binary_search_by(|e| (e.ns.as_str(), e.name.as_str()).cmp(&(ns, name)))
            .ok()
            .and_then(|i| self.entries.get(i))
    }
}

/// Everything served.
pub(crate) struct Store {
    pub collections: HashMap<&'static str, Collection>,
    pub configz: HashMap<String, Bytes>,
    pub namespaces: Collection,
    pub version: Bytes,
    pub resource_version: u64,
}

/// A resource kind for the namespaces the objects live in (served for kubectl's convenience).
pub(crate) static NAMESPACES: ResourceKind = ResourceKind {
    plural: "namespaces",
    singular: "namespace",
    kind: "Namespace",
    group: "",
    version: "v1",
    legacy_version: None,
    namespaced: false,
    short_names: &["ns"],
    pod_spec: None,
    owns_pods: false,
    owned_by: None,
    prune: Prune::Whole,
    keep: None,
    every_cluster_has: true,
    cluster_config_namespace: None,
    columns: &[("Status", "/status/phase")],
};

impl Store {
    pub fn build(snapshot: ClusterSnapshot, git_version: Option<&str>, legacy: bool) -> Store {
        let mut resource_version: u64 = 1000;
        let mut namespaces: BTreeSet<String> =
            ["default", "kube-system", "kube-public", "kube-node-lease"].iter().map(|s| s.to_string()).collect();
        let mut collections = HashMap::new();
        let ClusterSnapshot { resources, configz, server_version, .. } = snapshot;
        let mut resources = resources;
        for res in RESOURCES.iter() {
            let objects = resources.remove(res.plural).unwrap_or_default();
            let mut entries = Vec::with_capacity(objects.len());
            for obj in objects {
                let Value::Object(mut map) = obj else { continue };
                // As the API server writes list items: no type meta, then metadata, spec and status
                // in that order (`remove` would swap the last key to the front).
                map.shift_remove("kind");
                map.shift_remove("apiVersion");
                let meta = map.get("metadata");
                let ns = if res.namespaced {
                    meta.and_then(|m| m.get("namespace")).and_then(Value::as_str).unwrap_or("default").to_string()
                } else {
                    String::new()
                };
                let name = meta.and_then(|m| m.get("name")).and_then(Value::as_str).unwrap_or("").to_string();
                if let Some(rv) = meta
                    .and_then(|m| m.get("resourceVersion"))
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse::<u64>().ok())
                {
                    resource_version = resource_version.max(rv);
                }
                if !ns.is_empty() {
                    namespaces.insert(ns.clone());
                }
                let Ok(json) = serde_json::to_vec(&Value::Object(map)) else { continue };
                entries.push(Entry { ns, name, json: Bytes::from(json) });
            }
            entries.sort_by(|a, b| (&a.ns, &a.name).cmp(&(&b.ns, &b.name)));
            collections.insert(res.plural, Collection { res, entries });
        }
        let configz = configz
            .into_iter()
            .filter_map(|(node, v)| serde_json::to_vec(&v).ok().map(|b| (node, Bytes::from(b))))
            .collect();
        let ns_entries = namespaces
            .into_iter()
            .map(|ns| {
                let obj = json!({
                    "metadata": {
                        "name": ns,
                        "labels": {"kubernetes.io/metadata.name": ns},
                        "resourceVersion": "1",
                        "creationTimestamp": "2023-01-10T08:00:00Z",
                    },
                    "spec": {"finalizers": ["kubernetes"]},
                    "status": {"phase": "Active"},
                });
                Entry { json: Bytes::from(obj.to_string()), ns: String::new(), name: ns }
            })
            .collect();
        let version = match (git_version, server_version) {
            (Some(v), _) => version_body(v),
            (None, Some(v)) => Bytes::from(v.to_string()),
            (None, None) => version_body(if legacy { "v1.20.15" } else { "v1.23.17" }),
        };
        Store {
            collections,
            configz,
            namespaces: Collection { res: &NAMESPACES, entries: ns_entries },
            version,
            resource_version: resource_version + 1,
        }
    }

    /// The collection for a plural name, namespaces included.
    pub fn collection(&self, plural: &str) -> Option<&Collection> {
        if plural == "namespaces" { Some(&self.namespaces) } else { self.collections.get(plural) }
    }
}

/// A `/version` body for a git version like `v1.23.17`.
fn version_body(git_version: &str) -> Bytes {
    let trimmed = git_version.trim_start_matches('v');
    let mut parts = trimmed.split('.');
    let major = parts.next().unwrap_or("1");
    let minor = parts.next().unwrap_or("23");
    Bytes::from(
        json!({
            "major": major,
            "minor": minor,
            "gitVersion": git_version,
            "gitCommit": "0000000000000000000000000000000000000000",
            "gitTreeState": "clean",
            "buildDate": "2023-01-18T15:51:25Z",
            "goVersion": "go1.19.5",
            "compiler": "gc",
            "platform": "linux/amd64",
        })
        .to_string(),
    )
}

/// One object with `kind`/`apiVersion`, as a single GET answers it.
pub(crate) fn with_type_meta(entry: &Entry, res: &ResourceKind, api_version: &str) -> Bytes {
    match serde_json::from_slice::<Value>(&entry.json) {
        Ok(Value::Object(map)) => {
            let v = fill_type_meta(map, res.kind, api_version);
            Bytes::from(v.to_string())
        }
        _ => entry.json.clone(),
    }
}
