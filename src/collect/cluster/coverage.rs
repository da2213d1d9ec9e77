//! What a snapshot file lacks, said in its coverage: a snapshot is read as the cluster it claims to
//! be, so every resource kind it does not hold is either a gap or a named skip, never an empty
//! cluster that looks READY (a `kubectl get pods -o json`, a saved `Status`, an empty `List`).
//!
//! Place in the pipeline: after a snapshot file is loaded (`cluster --snapshot`), before the
//! evidence builders. A live read needs none of this: `fetch` records a list or a gap for every
//! resource it reads.
//!
//! Must not: guess at objects, or call a kind missing when the snapshot already says why it is
//! absent (a gap or skip recorded when it was taken).

use super::kinds::RESOURCES;
use super::snapshot::{ClusterSnapshot, Gap, LoadSummary, SourceFormat};

/// Adds to `snap` a gap for every resource kind it should hold and does not, and a skip for every
/// kind a `kubectl` dump may lack because the cluster has none.
pub fn note_missing(snap: &mut ClusterSnapshot, summary: &LoadSummary) {
    let recorded = |snap: &ClusterSnapshot, plural: &str| {
        snap.gaps.iter().chain(&snap.skipped).any(|g| g.resource == plural && g.name.is_none())
    };
    if summary.format == SourceFormat::Object && summary.ignored_kinds.contains_key("Status") {
        snap.gaps.push(Gap::new(
            "snapshot",
            "the input is a Status (an API error saved in place of a list), not cluster objects: nothing was read",
        ));
    }
    let mut gaps = Vec::new();
    let mut skipped = Vec::new();
    for res in RESOURCES {
        let plural = res.plural;
        if snap.resources.contains_key(plural) || recorded(snap, plural) {
            continue;
        }
        match summary.format {
            // `snapshot -o` records every kind it read, even with no objects, or a gap.
            SourceFormat::Snapshot => gaps.push(Gap::new(
                plural,
                format!("not in the snapshot: it holds no `{plural}` entry and no reason why, so they were not read"),
            )),
            // Kinds every cluster has (`every_cluster_has`: nodes, pods, ConfigMaps): a dump
            // without them was not a full capture.
            SourceFormat::List | SourceFormat::Object if res.every_cluster_has => gaps.push(Gap::new(
                plural,
                format!(
                    "not in the input: every cluster has {}, so they were not captured; add `{plural}` to the \
                     `kubectl get` (see the README) or capture with `dockershim-audit snapshot -o FILE`",
                    res.kind
                ),
            )),
            SourceFormat::List | SourceFormat::Object => skipped.push(Gap::new(
                plural,
                format!(
                    "no {} in the input: the cluster has none, or they were not captured (add `{plural}` to the \
                     `kubectl get`)",
                    res.kind
                ),
            )),
        }
    }
    // kube-system's kubeadm and kubelet configuration: a dump scoped to other namespaces lacks it.
    if summary.format != SourceFormat::Snapshot
        && snap.resources.contains_key("configmaps")
        && !snap
            .objects("configmaps")
            .iter()
            .any(|c| c.pointer("/metadata/namespace").and_then(serde_json::Value::as_str) == Some("kube-system"))
    {
        gaps.push(
            Gap::new(
                "configmaps",
                "no ConfigMap of kube-system in the input, so kubeadm-config and kubelet-config were not read; \
                 capture with -A (all namespaces)",
            )
            .in_namespace(Some("kube-system")),
        );
    }
    snap.gaps.extend(gaps);
    snap.skipped.extend(skipped);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> ClusterSnapshot {
        let (mut snap, summary) = ClusterSnapshot::from_json_with_summary(text).unwrap();
        note_missing(&mut snap, &summary);
        snap
    }

    fn gap_kinds(s: &ClusterSnapshot) -> Vec<&str> {
        s.gaps.iter().map(|g| g.resource.as_str()).collect()
    }

    // See: issue 14, item 13 (pods only, a Status, an empty List: READY).
    #[test]
    fn a_dump_lacking_kinds_every_cluster_has_has_gaps() {
        let pods_only = r#"{"kind":"List","apiVersion":"v1","items":[
            {"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","namespace":"web"}}]}"#;
        let s = load(pods_only);
        assert_eq!(gap_kinds(&s), ["nodes", "configmaps"]);
        assert!(s.skipped.iter().any(|g| g.resource == "deployments" && g.reason.contains("has none")));

        let s = load(r#"{"kind":"List","apiVersion":"v1","items":[]}"#);
        assert_eq!(gap_kinds(&s), ["nodes", "pods", "configmaps"]);

        let s = load(r#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"forbidden"}"#);
        assert_eq!(gap_kinds(&s), ["snapshot", "nodes", "pods", "configmaps"]);
    }

    #[test]
    fn configmaps_without_kube_system_are_a_gap() {
        let s = load(
            r#"{"kind":"List","apiVersion":"v1","items":[
            {"kind":"Node","apiVersion":"v1","metadata":{"name":"n"}},
            {"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","namespace":"web"}},
            {"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"c","namespace":"web"}}]}"#,
        );
        assert_eq!(gap_kinds(&s), ["configmaps"]);
        assert_eq!(s.gaps[0].namespace.as_deref(), Some("kube-system"));
    }

    #[test]
    fn a_saved_snapshot_must_hold_every_kind_or_say_why() {
        let s = load(r#"{"apiVersion":"dockershim-audit/v1","kind":"ClusterSnapshot","resources":{"pods":[]}}"#);
        assert_eq!(gap_kinds(&s).len(), RESOURCES.len() - 1);
        let s = load(
            r#"{"apiVersion":"dockershim-audit/v1","kind":"ClusterSnapshot","resources":{"pods":[],"nodes":[]},
            "gaps":[{"resource":"configmaps","reason":"forbidden"}]}"#,
        );
        assert!(!s.gaps.iter().any(|g| g.resource == "configmaps" && g.reason.contains("not in the snapshot")));
        assert!(!s.gaps.iter().any(|g| g.resource == "nodes" || g.resource == "pods"));
    }
}
