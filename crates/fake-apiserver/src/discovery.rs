//! Legacy discovery documents of the fake API server (`/api`, `/apis`, `/api/v1`, `/apis/G/V`).
//!
//! Place in the pipeline: inside the fake API server (test support). Aggregated discovery is not
//! offered: clients fall back to these documents, as with a 1.19-1.25 cluster.
//!
//! Must not: advertise resources the fake cannot serve (kubectl trusts discovery).

use std::net::SocketAddr;

use serde_json::{Value, json};

use super::store::NAMESPACES;
use dockershim_audit::collect::cluster::kinds::{CRONJOB_LEGACY_VERSION, RESOURCES, ResourceKind};

/// The resources served at a group version, or None when it is not served.
pub(crate) fn served(group: &str, version: &str, legacy_cronjobs: bool) -> Option<Vec<&'static ResourceKind>> {
    let pick = |f: &dyn Fn(&ResourceKind) -> bool| -> Vec<&'static ResourceKind> {
        RESOURCES.iter().filter(|r| r.group == group && f(r)).collect()
    };
    match (group, version) {
        ("", "v1") => {
            let mut v = pick(&|_| true);
            v.push(&NAMESPACES);
            Some(v)
        }
        ("apps", "v1") => Some(pick(&|_| true)),
        ("batch", "v1") => Some(pick(&|r| !(legacy_cronjobs && r.plural == "cronjobs"))),
        ("batch", v) if v == CRONJOB_LEGACY_VERSION && legacy_cronjobs => Some(pick(&|r| r.plural == "cronjobs")),
        ("authorization.k8s.io", "v1") => Some(Vec::new()),
        _ => None,
    }
}

/// `/api`.
pub(crate) fn api_versions(addr: SocketAddr) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": addr.to_string()}],
    })
}

/// `/apis`.
pub(crate) fn api_groups(legacy_cronjobs: bool) -> Value {
    let gv = |g: &str, v: &str| json!({"groupVersion": format!("{g}/{v}"), "version": v});
    let mut batch_versions = vec![gv("batch", "v1")];
    if legacy_cronjobs {
        batch_versions.push(gv("batch", CRONJOB_LEGACY_VERSION));
    }
    json!({
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [
            {"name": "apps", "versions": [gv("apps", "v1")], "preferredVersion": gv("apps", "v1")},
            {"name": "batch", "versions": batch_versions, "preferredVersion": gv("batch", "v1")},
            {
                "name": "authorization.k8s.io",
                "versions": [gv("authorization.k8s.io", "v1")],
                "preferredVersion": gv("authorization.k8s.io", "v1"),
            },
        ],
    })
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
                "verbs": ["get", "list"],
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
