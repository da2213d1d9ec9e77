//! `deploy/rbac-readonly.yaml` and the resource-kind registry say the same thing: every kind the
//! cluster collector lists is granted get/list, and nothing is granted that no kind needs (the one
//! documented extra, `get nodes/proxy` for configz, lives in `deploy/rbac-configz.yaml`).
//!
//! Place in the pipeline: test support only.

use std::collections::BTreeMap;

use dockershim_audit::collect::cluster::kinds::{GRANTED_VERBS, LIST_VERB, RESOURCES};
use serde_json::Value;

/// Grants outside the registry, with why: (group, resource, verbs, file).
const EXTRAS: &[(&str, &str, &[&str], &str)] = &[
    // configz (live kubelet configuration) is read through the API server's node proxy; that right
    // reaches the whole kubelet API, so it has its own optional file.
    ("", "nodes/proxy", &["get"], "rbac-configz.yaml"),
];

fn read(file: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy").join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// (group, resource) -> verbs granted by the ClusterRoles of one file.
fn cluster_role_grants(file: &str) -> BTreeMap<(String, String), Vec<String>> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(&read(file)).expect("valid YAML");
    let mut grants: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for doc in docs.iter().filter(|d| d["kind"] == "ClusterRole") {
        for rule in doc["rules"].as_array().expect("rules") {
            let strings = |key: &str| -> Vec<String> {
                rule[key].as_array().into_iter().flatten().map(|v| v.as_str().unwrap().to_string()).collect()
            };
            assert!(rule.get("resourceNames").is_none() && rule.get("nonResourceURLs").is_none(), "{file}: {rule}");
            for group in strings("apiGroups") {
                for resource in strings("resources") {
                    let verbs = grants.entry((group.clone(), resource)).or_default();
                    verbs.extend(strings("verbs"));
                    verbs.sort();
                    verbs.dedup();
                }
            }
        }
    }
    grants
}

#[test]
fn every_registry_kind_is_granted_get_and_list() {
    let grants = cluster_role_grants("rbac-readonly.yaml");
    let mut wanted: Vec<String> = GRANTED_VERBS.iter().map(|v| v.to_string()).collect();
    wanted.sort();
    assert!(GRANTED_VERBS.contains(&LIST_VERB));
    for res in RESOURCES {
        let key = (res.group.to_string(), res.plural.to_string());
        assert_eq!(
            grants.get(&key),
            Some(&wanted),
            "{} ({}) in deploy/rbac-readonly.yaml",
            res.plural,
            res.group_label()
        );
    }
}

#[test]
fn nothing_is_granted_without_a_registry_kind_or_a_documented_extra() {
    for file in ["rbac-readonly.yaml", "rbac-configz.yaml"] {
        for ((group, resource), verbs) in cluster_role_grants(file) {
            let kind = RESOURCES.iter().any(|r| r.group == group && r.plural == resource);
            let extra = EXTRAS.iter().any(|(g, r, v, f)| {
                *g == group && *r == resource && *f == file && v.iter().map(|s| s.to_string()).eq(verbs.iter().cloned())
            });
            assert!(
                kind && file == "rbac-readonly.yaml" || extra,
                "deploy/{file} grants {verbs:?} on {resource} in group {group:?}: no registry kind \
                 (src/collect/cluster/kinds.rs) needs it and it is not a documented extra"
            );
        }
    }
}

#[test]
fn the_header_comment_names_the_registry_kinds() {
    // "#   core:  nodes, pods, ..." lines, one per group, in registry order.
    let text = read("rbac-readonly.yaml");
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for res in RESOURCES {
        match groups.iter_mut().find(|(g, _)| *g == res.group_label()) {
            Some((_, plurals)) => plurals.push(res.plural),
            None => groups.push((res.group_label(), vec![res.plural])),
        }
    }
    for (group, plurals) in groups {
        let line = text
            .lines()
            .find(|l| l.trim_start_matches('#').trim_start().starts_with(&format!("{group}:")))
            .unwrap_or_else(|| panic!("no `#   {group}:` line in the header of deploy/rbac-readonly.yaml"));
        let listed: Vec<&str> =
            line.split_once(':').unwrap().1.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        assert_eq!(listed, plurals, "header line for {group}");
    }
}
