//! Cluster objects to evidence: takes a [`ClusterSnapshot`] (read live or from a file) and produces
//! the same records as files do. Owner chains are resolved from what was listed — no extra API
//! calls — so a Deployment's 40 pods give one finding on the Deployment with the pod count, while
//! static (mirror) pods and pods owned by kinds the tool does not list are kept.

use std::collections::HashMap;

use foldhash::HashMap as FastMap;
use foldhash::HashSet as FastSet;
use rayon::prelude::*;

use serde_json::Value as Json;

use super::cluster::kinds;
use super::cluster::pruned::Purpose;
use super::cluster::snapshot::ClusterSnapshot;
use super::files::manifest;
use super::files::source::Source;
use crate::evidence::NodeInfo;
use crate::evidence::file_kind::FileKind;
use crate::evidence::workload::{self, PodOrigin};
use crate::evidence::{Evidence, Gap, Location, ObjectRef, Record, Subject};
use crate::parse::json_pointer::{at, field, get};
use crate::parse::yaml::YamlDoc;
use crate::version::Version;

/// Labels that name a node's pool, most specific first.
const POOL_LABELS: &[&str] = &[
    "cloud.google.com/gke-nodepool",
    "eks.amazonaws.com/nodegroup",
    "alpha.eksctl.io/nodegroup-name",
    "kubernetes.azure.com/agentpool",
    "agentpool",
    "karpenter.sh/nodepool",
    "node.kubernetes.io/pool",
    "node-pool",
    "nodepool",
];

/// The node pool of a node object, from well-known labels or any label ending in `node-pool`/`nodepool`.
pub fn node_pool(node: &Json) -> Option<String> {
    let labels = node.pointer("/metadata/labels")?.as_object()?;
    for l in POOL_LABELS {
        if let Some(v) = labels.get(*l).and_then(Json::as_str) {
            return Some(v.to_string());
        }
    }
    labels
        .iter()
        .find(|(k, _)| k.ends_with("/node-pool") || k.ends_with("/nodepool") || k.ends_with("/pool"))
        .and_then(|(_, v)| v.as_str().map(str::to_string))
}

fn str_at<'a>(v: &'a Json, p: &str) -> &'a str {
    at(v, p).and_then(Json::as_str).unwrap_or("")
}

/// The cluster's version from `/version`.
pub fn server_version(s: &ClusterSnapshot) -> Option<Version> {
    let v = s.server_version.as_ref()?;
    if let Some(g) = v.get("gitVersion").and_then(Json::as_str) {
        return Version::parse(g);
    }
    let major = v.get("major").and_then(Json::as_str)?;
    let minor = v.get("minor").and_then(Json::as_str)?.trim_end_matches('+');
    Version::parse(&format!("{major}.{minor}"))
}

/// The nodes the snapshot knows, for the readiness report.
pub fn node_infos(s: &ClusterSnapshot) -> Vec<NodeInfo> {
    s.resources
        .get("nodes")
        .into_iter()
        .flatten()
        .map(|n| NodeInfo {
            name: str_at(n, "/metadata/name").to_string(),
            pool: node_pool(n),
            kubelet_version: str_at(n, "/status/nodeInfo/kubeletVersion").to_string(),
            runtime: str_at(n, "/status/nodeInfo/containerRuntimeVersion").to_string(),
            os_image: str_at(n, "/status/nodeInfo/osImage").to_string(),
        })
        .collect()
}

/// Everything the rules need from a snapshot.
pub fn evidence(s: &ClusterSnapshot) -> Evidence {
    let mut ev = Evidence::default();
    for g in &s.gaps {
        ev.gaps.push(gap(g));
    }
    for g in &s.skipped {
        ev.skipped.push(gap(g));
    }
    for (kind, items) in &s.resources {
        let folded = if kind == "pods" { s.folded_pods.count() } else { 0 };
        ev.count(&format!("objects_{kind}"), (items.len() + folded) as u64);
    }
    nodes(s, &mut ev);
    workloads(s, &mut ev);
    config_maps(s, &mut ev);
    configz(s, &mut ev);
    configz_coverage(s, &mut ev);
    if s.server_version.is_none() {
        ev.skipped.push(Gap {
            source: "/version".into(),
            reason: "the server version is not in this snapshot (a `kubectl get -o json` List does not record it), \
                     so the target comes from what the objects declare; run `kubectl version -o json` and pass \
                     --target-version, or capture with `dockershim-audit snapshot -o FILE`"
                .into(),
            ..Gap::default()
        });
    }
    declared_versions(s, &mut ev);
    ev
}

/// Says which nodes' live kubelet configuration (configz) the snapshot lacks, as a live run does:
/// none at all (a kubectl List) is one skipped entry saying how to get it; some but not all are
/// a gap per missing node. Nodes already named by a recorded gap or skip are left alone.
fn configz_coverage(s: &ClusterSnapshot, ev: &mut Evidence) {
    let recorded = |g: &super::cluster::snapshot::Gap| g.resource == "nodes/proxy";
    if s.gaps.iter().chain(&s.skipped).any(|g| recorded(g) && g.name.is_none()) {
        return; // configz was not read at all, and the snapshot says why.
    }
    let names: Vec<&str> =
        s.resources.get("nodes").into_iter().flatten().map(|n| str_at(n, "/metadata/name")).collect();
    if names.is_empty() {
        return;
    }
    if s.configz.is_empty() {
        ev.skipped.push(Gap {
            source: "nodes/proxy".into(),
            reason: "configz (the kubelets' live configuration) is not in this snapshot (a `kubectl get -o json` \
                     List does not hold it), so live feature gates and flags are not checked; capture it with \
                     `dockershim-audit snapshot -o FILE`, which needs get on nodes/proxy (deploy/rbac-configz.yaml)"
                .into(),
            missing_permission: Some("get nodes/proxy".into()),
            node: None,
        });
        return;
    }
    let named: std::collections::BTreeSet<&str> =
        s.gaps.iter().chain(&s.skipped).filter(|g| recorded(g)).filter_map(|g| g.name.as_deref()).collect();
    for name in names {
        if !s.configz.contains_key(name) && !named.contains(name) {
            ev.gaps.push(Gap {
                source: format!("nodes/proxy {name}"),
                reason: "configz of this node is not in the snapshot: its live kubelet configuration was not read"
                    .into(),
                missing_permission: None,
                node: Some(name.to_string()),
            });
        }
    }
}

/// Keeps only what a live `cluster -n NS` run reads: namespaced objects of those namespaces, the
/// kube-system ConfigMaps (kubeadm and kubelet configuration describe the whole cluster), and every
/// cluster-scoped object.
pub fn restrict_to_namespaces(s: &mut ClusterSnapshot, namespaces: &[String]) {
    for (plural, items) in s.resources.iter_mut() {
        let res = kinds::by_plural(plural);
        if res.is_some_and(|r| !r.namespaced) {
            continue;
        }
        let whole_cluster = res.and_then(|r| r.cluster_config_namespace);
        items.retain(|o| {
            let ns = str_at(o, "/metadata/namespace");
            ns.is_empty() || namespaces.iter().any(|n| n == ns) || whole_cluster == Some(ns)
        });
        if plural == "pods" {
            s.folded_pods.retain_owners_of(items);
        }
    }
}

/// The versions the cluster's own objects declare, for a snapshot without `/version` (a kubectl
/// List): `kubernetesVersion` of the `kubeadm-config` ConfigMap and the control-plane kubelets.
fn declared_versions(s: &ClusterSnapshot, ev: &mut Evidence) {
    for cm in s.resources.get("configmaps").into_iter().flatten() {
        if str_at(cm, "/metadata/name") == "kubeadm-config"
            && let Some(text) = cm.pointer("/data/ClusterConfiguration").and_then(Json::as_str)
        {
            let path = format!("configmap {}/kubeadm-config", str_at(cm, "/metadata/namespace"));
            let mut sub = Evidence::default();
            super::files::declared::versions(&path, text, &mut sub);
            // From the API: the line inside the ConfigMap's value means nothing to a reader.
            ev.declared_versions
                .extend(sub.declared_versions.into_iter().map(|(v, _)| (v, format!("`kubernetesVersion` in {path}"))));
        }
    }
    for n in s.resources.get("nodes").into_iter().flatten() {
        let labels = n.pointer("/metadata/labels").and_then(Json::as_object);
        let control_plane = labels.is_some_and(|l| {
            l.contains_key("node-role.kubernetes.io/control-plane") || l.contains_key("node-role.kubernetes.io/master")
        });
        if control_plane && let Some(v) = Version::parse(str_at(n, "/status/nodeInfo/kubeletVersion")) {
            ev.declared_versions
                .push((v, format!("the kubelet of control-plane node {}", str_at(n, "/metadata/name"))));
        }
    }
}

fn gap(g: &super::cluster::snapshot::Gap) -> Gap {
    let mut source = g.resource.clone();
    if let Some(ns) = &g.namespace {
        source.push_str(&format!(" in namespace {ns}"));
    }
    if let Some(n) = &g.name {
        source.push_str(&format!(" {n}"));
    }
    let reason = match g.http_status {
        Some(code) => format!("HTTP {code}: {}", g.reason),
        None => g.reason.clone(),
    };
    // A failed configz read leaves that node's live kubelet configuration unread.
    let node = if g.resource == "nodes/proxy" { g.name.clone() } else { None };
    Gap { source, reason, missing_permission: g.missing_permission.clone(), node }
}

fn nodes(s: &ClusterSnapshot, ev: &mut Evidence) {
    for n in s.resources.get("nodes").into_iter().flatten() {
        let name = str_at(n, "/metadata/name").to_string();
        let pool = node_pool(n);
        let runtime = str_at(n, "/status/nodeInfo/containerRuntimeVersion").to_string();
        let (runtime_name, runtime_version) =
            runtime.split_once("://").map(|(a, b)| (a.to_string(), b.to_string())).unwrap_or_default();
        let loc = Location {
            object: Some(ObjectRef { kind: "Node".into(), namespace: String::new(), name: name.clone() }),
            node: Some(name.clone()),
            pool: pool.clone(),
            ..Location::default()
        };
        let mut r = Record::new(Subject::Node, loc, format!("containerRuntimeVersion: {runtime}"))
            .with("file_kind", FileKind::Cluster)
            .with("name", name.clone())
            .with("kubelet_version", str_at(n, "/status/nodeInfo/kubeletVersion").to_string())
            .with("runtime", runtime.clone())
            .with("runtime_name", runtime_name)
            .with("runtime_version", runtime_version)
            .with("os_image", str_at(n, "/status/nodeInfo/osImage").to_string());
        if let Some(sock) =
            n.pointer("/metadata/annotations/kubeadm.alpha.kubernetes.io~1cri-socket").and_then(Json::as_str)
        {
            r.set("cri_socket", sock.to_string());
        }
        if let Some(p) = pool {
            r.set("pool", p);
        }
        ev.records.push(r);
    }
}

/// An owner reference, borrowed from the object that holds it.
#[derive(Clone, Copy)]
struct Owner<'a> {
    kind: &'a str,
    namespace: &'a str,
    name: &'a str,
    uid: &'a str,
}

/// The controller reference (or first owner) of an object.
fn owner_ref(o: &Json) -> Option<Owner<'_>> {
    let Json::Object(meta) = at(o, "/metadata")? else { return None };
    let refs = field(meta, "ownerReferences")?.as_array()?;
    fn text(v: Option<&Json>) -> &str {
        v.and_then(Json::as_str).unwrap_or("")
    }
    let r = kinds::followed_owner(refs)?;
    Some(Owner {
        kind: text(get(r, "kind")),
        namespace: text(field(meta, "namespace")),
        name: text(get(r, "name")),
        uid: text(get(r, "uid")),
    })
}

/// How many owner references a chain follows at most (a cycle of owners ends there).
const MAX_OWNER_HOPS: usize = 8;

/// The top of an object's owner chain.
fn top_of<'a>(o: &'a Json, find: &dyn Fn(&Owner<'a>) -> Option<&'a Json>) -> ObjectRef {
    chain_top(o, MAX_OWNER_HOPS, find)
}

/// [`top_of`] from `current`, with `hops` owner references left to follow.
fn chain_top<'a>(current: &'a Json, hops: usize, find: &dyn Fn(&Owner<'a>) -> Option<&'a Json>) -> ObjectRef {
    let mut current = current;
    for _ in 0..hops {
        let Some(owner) = owner_ref(current) else { break };
        match find(&owner) {
            Some(next) => current = next,
            None => {
                if owner.kind == "Node" {
                    break; // static (mirror) pod: the pod is the workload
                }
                return ObjectRef {
                    kind: owner.kind.into(),
                    namespace: owner.namespace.into(),
                    name: owner.name.into(),
                };
            }
        }
    }
    manifest::object_ref(current)
}

/// The JSON pointer of an object's pod spec: where the registry says its kind keeps it, else
/// wherever a pod spec of an unknown kind may be.
fn pod_spec_pointer(object: &Json) -> Option<&'static str> {
    kinds::by_kind(str_at(object, "/kind"))
        .and_then(|r| r.pod_spec)
        .filter(|p| object.pointer(p).and_then(|s| s.get("containers")).is_some_and(Json::is_array))
        .or_else(|| workload::pod_spec_pointer(object))
}

fn workloads(s: &ClusterSnapshot, ev: &mut Evidence) {
    // Each step below first reads every object on all cores (owner references, owner chains:
    // lookups into objects spread over the heap, most of this step's time at 15k pods), then
    // folds the answers in list order on one thread, so the result is the same as one pass
    // object by object (issue 16).
    let controllers: Vec<&Json> =
        kinds::controllers().flat_map(|res| s.resources.get(res.plural).into_iter().flatten()).collect();
    let pods: Vec<&Json> = s.resources.get("pods").into_iter().flatten().collect();

    // uid -> object for every listed controller, to walk owner chains without API calls.
    let keys: Vec<(&str, (&str, &str, &str))> = controllers
        .par_iter()
        .map(|o| {
            let uid = str_at(o, "/metadata/uid");
            (uid, (str_at(o, "/kind"), str_at(o, "/metadata/namespace"), str_at(o, "/metadata/name")))
        })
        .collect();
    let mut by_uid: FastMap<&str, &Json> = FastMap::default();
    let mut by_name: FastMap<(&str, &str, &str), &Json> = FastMap::default();
    for ((uid, name), o) in keys.into_iter().zip(&controllers) {
        if !uid.is_empty() {
            by_uid.insert(uid, o);
        }
        by_name.insert(name, o);
    }
    let find = |o: &Owner| -> Option<&Json> {
        by_uid.get(o.uid).copied().or_else(|| by_name.get(&(o.kind, o.namespace, o.name)).copied())
    };

    // Count pods per top owner; remember one pod for owners that are not listed. The pods of one
    // listed owner are counted together and share its chain, walked once per owner (3k
    // ReplicaSets for 15k pods) exactly as from each pod (the first hop taken, the rest of the
    // hops left); the groups are merged in the order of their first pod, so each top keeps the
    // same first pod as a walk pod by pod (issue 16).
    // A pod kept for its owner also counts the pods folded under it (a live audit keeps only the
    // first pod of each owner; `FoldedPods`).
    let owners: Vec<(Option<&Json>, u32)> =
        pods.par_iter().map(|pod| (owner_ref(pod).and_then(|o| find(&o)), s.folded_pods.weight(pod))).collect();
    let mut group_of_owner: FastMap<*const Json, usize> = FastMap::default();
    let mut groups: Vec<(Option<&Json>, &Json, u32)> = Vec::new();
    for (pod, (owner, weight)) in pods.iter().zip(owners) {
        match owner {
            Some(owner) => match group_of_owner.entry(std::ptr::from_ref(owner)) {
                std::collections::hash_map::Entry::Occupied(g) => groups[*g.get()].2 += weight,
                std::collections::hash_map::Entry::Vacant(g) => {
                    g.insert(groups.len());
                    groups.push((Some(owner), pod, weight));
                }
            },
            None => groups.push((None, pod, weight)),
        }
    }
    let group_tops: Vec<ObjectRef> = groups
        .par_iter()
        .map(|(owner, pod, _)| match owner {
            Some(owner) => chain_top(owner, MAX_OWNER_HOPS - 1, &find),
            None => top_of(pod, &find),
        })
        .collect();
    // Per top: its pod count and its first pod.
    let mut pods_per_top: FastMap<ObjectRef, (u32, &Json)> = FastMap::default();
    for ((_, pod, count), top) in groups.into_iter().zip(group_tops) {
        pods_per_top.entry(top).or_insert((0, pod)).0 += count;
    }
    // Controllers at the top of their chain are audited from their own template (even at 0 pods).
    // A ReplicaSet of a Deployment, a Job of a CronJob: covered by the owner. One owned by a kind
    // that is not listed (an Argo Rollout, a runner controller) is reported under that owner,
    // audited from its own template. `tops` holds the workloads already audited: a set, so
    // grouping stays linear with a million standalone pods (issue 14, item 12).
    let controller_tops: Vec<Option<ObjectRef>> = controllers
        .par_iter()
        .map(|o| if owner_ref(o).is_some_and(|ow| find(&ow).is_some()) { None } else { Some(top_of(o, &find)) })
        .collect();
    let mut audited: Vec<(ObjectRef, &Json, u32)> = Vec::new();
    let mut tops: FastSet<ObjectRef> = FastSet::default();
    for (o, top) in controllers.iter().zip(controller_tops) {
        let Some(r) = top else { continue };
        if tops.contains(&r) {
            continue;
        }
        let pods = pods_per_top.get(&r).map_or(0, |e| e.0);
        tops.insert(r.clone());
        audited.push((r, o, pods));
    }
    // Pods whose top is not an audited controller: the first pod stands for its workload (in the
    // order of their tops, as the records always came).
    let mut standalone: Vec<(&ObjectRef, &Json, u32)> = pods_per_top
        .iter()
        .filter(|(top, _)| !tops.contains(*top))
        .map(|(top, (count, pod))| (top, *pod, *count))
        .collect();
    standalone.sort_unstable_by(|a, b| a.0.cmp(b.0));
    audited.extend(standalone.into_iter().map(|(top, pod, count)| (top.clone(), pod, count)));
    // Each workload's records depend on its object alone: read on every core, kept in order
    // (3.6k templates at 15k pods took 45 ms on one; issue 16).
    let parts: Vec<Vec<Record>> = audited.par_chunks(64).map(workload_records).collect();
    for part in parts {
        ev.records.extend(part);
    }
}

/// The records of audited workloads: each with its top owner, its object (a controller or the
/// pod that stands for the workload) and its pod count.
fn workload_records(audited: &[(ObjectRef, &Json, u32)]) -> Vec<Record> {
    let mut records = Vec::new();
    for (top, object, pods) in audited {
        let Some(spec_ptr) = pod_spec_pointer(object) else { continue };
        let mirror = object.pointer("/metadata/annotations/kubernetes.io~1config.mirror").is_some();
        let node = if str_at(object, "/kind") == "Pod" {
            Some(str_at(object, "/spec/nodeName").to_string()).filter(|n| !n.is_empty())
        } else {
            None
        };
        let loc = Location {
            object: Some(top.clone()),
            pods: Some(*pods),
            node: if mirror { node } else { None },
            ..Location::default()
        };
        let locate = |_: &str| loc.clone();
        let snippet = |_: &str, fallback: &str| fallback.to_string();
        let origin =
            PodOrigin { file_kind: FileKind::Cluster, workload: top.clone(), locate: &locate, snippet: &snippet };
        let start = records.len();
        workload::extract(object, spec_ptr, &origin, &mut records);
        if mirror {
            for r in &mut records[start..] {
                r.set("static_pod", true);
            }
        }
    }
    records
}

fn config_maps(s: &ClusterSnapshot, ev: &mut Evidence) {
    for cm in s.resources.get("configmaps").into_iter().flatten() {
        let object = manifest::object_ref(cm);
        let doc = YamlDoc::from_json(cm.clone());
        let path = format!("configmap {}/{}", object.namespace, object.name);
        let src = Source { object: Some(object), from_cluster: true, ..Source::file(&path, FileKind::K8sManifest, "") };
        manifest::analyze_doc(&src, &doc, ev);
    }
}

fn configz(s: &ClusterSnapshot, ev: &mut Evidence) {
    let pools: HashMap<String, Option<String>> = s
        .resources
        .get("nodes")
        .into_iter()
        .flatten()
        .map(|n| (str_at(n, "/metadata/name").to_string(), node_pool(n)))
        .collect();
    for (node, body) in &s.configz {
        let cfg = body.get("kubeletconfig").unwrap_or(body).clone();
        let doc = YamlDoc::from_json(cfg);
        let path = format!("configz of node {node}");
        let pool = pools.get(node).cloned().flatten();
        let src = Source {
            node: Some(node),
            pool: pool.as_deref(),
            object: Some(ObjectRef { kind: "Node".into(), namespace: String::new(), name: node.clone() }),
            from_cluster: true,
            ..Source::file(&path, FileKind::KubeletConfig, "")
        };
        let mut sub = Evidence::default();
        // The component is the kubelet; that the config is live is said in the snippet below.
        manifest::kubelet_config(&src, &doc, &doc.value, "", "kubelet", &mut sub);
        for r in &mut sub.records {
            r.set("file_kind", FileKind::Cluster);
            r.snippet = format!("{} (live kubelet config of {node})", r.snippet);
        }
        ev.merge(sub);
    }
}

/// Passes every object of a loaded snapshot (a kubectl dump, or a snapshot written by an older
/// build) through the pruning a live capture applies, so `snapshot --snapshot IN -o OUT` writes
/// what a live capture would: reduced objects, ConfigMaps with only the data the rules read,
/// credentials redacted.
pub fn prune_snapshot(snap: &mut ClusterSnapshot) {
    snap.prune(Purpose::Resave);
}
