//! The demo's kubelets: configz for the nodes a snapshot holds none for, so that a demo audit
//! against the fake reads every node, as it would on a cluster whose kubelets all answer. Opt-in
//! (`fake-apiserver --configz-for-every-node`): served as they are, snapshots keep their meaning
//! (a node without configz answers 503 and is a gap of the audit).

use dockershim_audit::collect::cluster::ClusterSnapshot;
use serde_json::Value;

/// Gives every node without configz a copy of the configz of a node that has one, with the same
/// container runtime (`containerRuntimeVersion` before `://`) and kubelet version, else the same
/// runtime: the nodes of one pool share their kubelet configuration. Returns (node, copied from)
/// for each node filled; a node whose runtime no node with configz shares stays without.
pub fn fill_configz(snapshot: &mut ClusterSnapshot) -> Vec<(String, String)> {
    let field = |n: &Value, pointer: &str| n.pointer(pointer).and_then(Value::as_str).unwrap_or_default().to_string();
    let nodes: Vec<(String, String, String)> = snapshot
        .resources
        .get("nodes")
        .into_iter()
        .flatten()
        .map(|n| {
            let runtime = field(n, "/status/nodeInfo/containerRuntimeVersion");
            let runtime = runtime.split("://").next().unwrap_or_default().to_string();
            (field(n, "/metadata/name"), runtime, field(n, "/status/nodeInfo/kubeletVersion"))
        })
        .filter(|(name, ..)| !name.is_empty())
        .collect();
    let donors: Vec<&(String, String, String)> =
        nodes.iter().filter(|(name, ..)| snapshot.configz.contains_key(name)).collect();
    let mut filled = Vec::new();
    for (name, runtime, kubelet) in &nodes {
        if snapshot.configz.contains_key(name) {
            continue;
        }
        let same_pool = donors.iter().find(|(_, r, k)| r == runtime && k == kubelet);
        let Some((donor, ..)) = same_pool.or_else(|| donors.iter().find(|(_, r, _)| r == runtime)) else {
            continue;
        };
        let body = snapshot.configz[donor].clone();
        snapshot.configz.insert(name.clone(), body);
        filled.push((name.clone(), donor.clone()));
    }
    filled
}
