//! Legacy discovery documents of the fake API server (`/api`, `/apis`, `/api/v1`, `/apis/G/V`).
//!
//! Place in the pipeline: inside the fake API server (test support). Aggregated discovery is not
//! offered: clients fall back to these documents, as with a 1.19-1.25 cluster.
//!
//! Must not: advertise resources the fake cannot serve (kubectl trusts discovery).

use std::net::SocketAddr;

use serde_json::{Value, json};

use super::store::NAMESPACES;
use dockershim_audit::collect::cluster::kinds::{GRANTED_VERBS, RESOURCES, ResourceKind};

/// The version a resource is served at: its legacy version when the server plays an old cluster.
fn served_at(r: &ResourceKind, legacy: bool) -> &'static str {
    match r.legacy_version {
        Some(v) if legacy => v,
        _ => r.version,
    }
}

/// The resources served at a group version, or None when it is not served.
pub(crate) fn served(group: &str, version: &str, legacy: bool) -> Option<Vec<&'static ResourceKind>> {
    if group == "authorization.k8s.io" {
        return (version == "v1").then(Vec::new);
    }
    let mut v: Vec<&'static ResourceKind> =
        RESOURCES.iter().filter(|r| r.group == group && served_at(r, legacy) == version).collect();
    if group.is_empty() && version == "v1" {
        v.push(&NAMESPACES);
    }
    // A group version stays served (possibly empty) while any of its kinds has it as preferred.
    let known = RESOURCES.iter().any(|r| r.group == group && r.version == version);
    if v.is_empty() && !known { None } else { Some(v) }
}

/// `/api`.
pub(crate) fn api_versions(addr: SocketAddr) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": addr.to_string()}],
    })
}

/// `/apis`: the registry's groups in order, each at its preferred version and (for an old cluster)
/// at its kinds' legacy versions.
pub(crate) fn api_groups(legacy: bool) -> Value {
    let gv = |g: &str, v: &str| json!({"groupVersion": format!("{g}/{v}"), "version": v});
    let mut groups: Vec<Value> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for r in RESOURCES.iter().filter(|r| !r.group.is_empty()) {
        if seen.contains(&r.group) {
            continue;
        }
        seen.push(r.group);
        let mut versions: Vec<&str> = vec![r.version];
        if legacy {
            for other in RESOURCES.iter().filter(|o| o.group == r.group) {
                if let Some(v) = other.legacy_version
                    && !versions.contains(&v)
                {
                    versions.push(v);
                }
            }
        }
        let versions: Vec<Value> = versions.iter().map(|v| gv(r.group, v)).collect();
        groups.push(json!({"name": r.group, "versions": versions, "preferredVersion": gv(r.group, r.version)}));
    }
    groups.push(json!({
        "name": "authorization.k8s.io",
        "versions": [gv("authorization.k8s.io", "v1")],
        "preferredVersion": gv("authorization.k8s.io", "v1"),
    }));
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/api/v1` or `/apis/G/V`.
pub(crate) fn resource_list(group: &str, version: &str, resources: &[&'static ResourceKind]) -> Value {
    let group_version = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    let mut list: Vec<Value> = resources
        .iter()
        .map(|r| {
            json!({
                "name": r.plural,
                "singularName": r.singular,
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": GRANTED_VERBS,
                "shortNames": r.short_names,
            })
        })
        .collect();
    if group.is_empty() {
        list.push(json!({
            "name": "nodes/proxy", "singularName": "", "namespaced": false, "kind": "NodeProxyOptions",
            "verbs": ["create", "delete", "get", "patch", "update"],
        }));
    }
    if group == "authorization.k8s.io" {
        list.push(json!({
            "name": "selfsubjectaccessreviews", "singularName": "selfsubjectaccessreview", "namespaced": false,
            "kind": "SelfSubjectAccessReview", "verbs": ["create"],
        }));
    }
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": list})
}
