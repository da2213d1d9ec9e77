//! The fake API server's writable corner, for the node-file collector: namespaces and pods that
//! clients create, pod status and logs as a node's kubelet would report them, `FailedMount` events,
//! and deletion. Enabled only by [`super::FakeApiServer::start_with_nodes`]; without it the fake
//! stays read-only and answers writes 405, as before.
//!
//! Place in the pipeline: inside the fake API server (test support). A collector pod "runs" on a
//! node whose root is a fixture directory: the kubelet's hostPath type checks are made against
//! that directory (a missing `type: Directory`/`File` path gives a `FailedMount` event and a pod
//! stuck in ContainerCreating), and the log is what the collector script would print there
//! ([`dockershim_audit::collect::cluster::collector::simulate_output`]).
//!
//! Must not: touch anything but the fixture directories (read-only), or change the served
//! snapshot.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Mutex;

use bytes::Bytes;
use http::Method;
use serde_json::{Map, Value, json};

use super::handler::Reply;
use super::sim::simulate_output;
use super::store::Store;
use dockershim_audit::collect::cluster::collector::{self, HOST_PREFIX, Mount, MountKind};
use dockershim_audit::collect::node;

/// How the fake's nodes answer collector pods.
#[derive(Debug, Clone, Default)]
pub struct NodeSim {
    /// Fixture root per node name: a pod pinned to the node "sees" the host paths there. A node
    /// without a root has none of the paths.
    pub roots: BTreeMap<String, PathBuf>,
    /// Nodes whose pods never finish, with what they show: `ImagePullBackOff`, `ErrImagePull` (a
    /// container waiting reason), `Unschedulable` (a `PodScheduled=False` condition), or anything
    /// else (Pending with no status, as when the node's kubelet is gone).
    pub stuck: BTreeMap<String, String>,
    /// GETs of a pod answered `Running` before it is `Succeeded`.
    pub polls_before_done: u32,
}

/// Objects clients created.
pub(crate) struct Live {
    sim: NodeSim,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    namespaces: BTreeMap<String, Value>,
    pods: BTreeMap<(String, String), LivePod>,
    /// Every pod ever created, as stored at creation.
    history: Vec<Value>,
    /// (namespace, event).
    events: Vec<(String, Value)>,
    next: u64,
}

struct LivePod {
    obj: Value,
    polls: u32,
    state: PodState,
    log: String,
}

enum PodState {
    Succeeds,
    Stuck(String),
    MountFailed,
}

const TS: &str = "2024-01-01T00:00:00Z";

fn not_found(kind: &str, name: &str) -> Reply {
    Reply::status(404, "NotFound", &format!("{kind} \"{name}\" not found"), Some(json!({"name": name, "kind": kind})))
}

fn forbidden(verb: &str, resource: &str, ns: Option<&str>, name: Option<&str>) -> Reply {
    let subject = match name {
        Some(n) => format!("{resource} \"{n}\""),
        None => resource.to_string(),
    };
    let scope = match ns {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".into(),
    };
    Reply::status(
        403,
        "Forbidden",
        &format!(
            "{subject} is forbidden: User \"{}\" cannot {verb} resource \"{resource}\" in API group \"\" {scope}",
            super::handler::USER
        ),
        None,
    )
}

impl Live {
    pub(crate) fn new(sim: NodeSim) -> Live {
        Live { sim, inner: Mutex::new(Inner::default()) }
    }

    /// Pods that exist now: (namespace, name).
    pub(crate) fn pods(&self) -> Vec<(String, String)> {
        self.inner.lock().map(|i| i.pods.keys().cloned().collect()).unwrap_or_default()
    }

    /// Every pod created so far, as stored at creation.
    pub(crate) fn history(&self) -> Vec<Value> {
        self.inner.lock().map(|i| i.history.clone()).unwrap_or_default()
    }

    /// Namespaces created by clients that exist now.
    pub(crate) fn namespaces(&self) -> Vec<String> {
        self.inner.lock().map(|i| i.namespaces.keys().cloned().collect()).unwrap_or_default()
    }

    /// Answers the requests this module owns; `None` lets the read-only server answer.
    pub(crate) fn serve(
        &self,
        store: &Store,
        forbid: &HashSet<String>,
        method: &Method,
        segments: &[&str],
        query: Option<&str>,
        body: &[u8],
    ) -> Option<Reply> {
        let rest = match segments {
            ["api", "v1", rest @ ..] => rest,
            _ => return None,
        };
        let Ok(mut inner) = self.inner.lock() else {
            return Some(Reply::status(500, "InternalError", "the fake's state is poisoned", None));
        };
        let store_ns = |ns: &str| store.namespaces.find("", ns).is_some();
        let denied = |verb: &str, res: &str| forbid.contains(&format!("{verb} {res}")) || forbid.contains(res);
        match (method, rest) {
            (&Method::POST, ["namespaces"]) => {
                if denied("create", "namespaces") {
                    return Some(forbidden("create", "namespaces", None, None));
                }
                let Ok(mut obj) = serde_json::from_slice::<Value>(body) else {
                    return Some(Reply::status(400, "BadRequest", "the body is not a Namespace", None));
                };
                let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
                if name.is_empty() {
                    return Some(Reply::status(
                        422,
                        "Invalid",
                        "Namespace \"\" is invalid: metadata.name: Required value",
                        None,
                    ));
                }
                if store_ns(&name) || inner.namespaces.contains_key(&name) {
                    return Some(Reply::status(
                        409,
                        "AlreadyExists",
                        &format!("namespaces \"{name}\" already exists"),
                        None,
                    ));
                }
                inner.next += 1;
                let uid = format!("00000000-0000-4000-8000-{:012x}", inner.next);
                if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                    meta.insert("uid".into(), json!(uid));
                    meta.insert("creationTimestamp".into(), json!(TS));
                    meta.insert("resourceVersion".into(), json!(inner.next.to_string()));
                }
                obj["status"] = json!({"phase": "Active"});
                inner.namespaces.insert(name, obj.clone());
                Some(Reply::value(201, &obj))
            }
            (&Method::GET, ["namespaces", name]) => inner.namespaces.get(*name).map(|o| Reply::value(200, o)),
            (&Method::DELETE, ["namespaces", name]) => {
                if denied("delete", "namespaces") {
                    return Some(forbidden("delete", "namespaces", None, Some(name)));
                }
                match inner.namespaces.remove(*name) {
                    Some(mut obj) => {
                        inner.pods.retain(|(ns, _), _| ns != name);
                        obj["status"] = json!({"phase": "Terminating"});
                        Some(Reply::value(200, &obj))
                    }
                    None if store_ns(name) => Some(Reply::status(
                        405,
                        "MethodNotAllowed",
                        "the fake API server does not delete the namespaces of its snapshot",
                        None,
                    )),
                    None => Some(not_found("namespaces", name)),
                }
            }
            (&Method::POST, ["namespaces", ns, "pods"]) => {
                if denied("create", "pods") {
                    return Some(forbidden("create", "pods", Some(ns), None));
                }
                if !store_ns(ns) && !inner.namespaces.contains_key(*ns) {
                    return Some(not_found("namespaces", ns));
                }
                Some(self.create_pod(&mut inner, ns, body))
            }
            (&Method::GET, ["namespaces", ns, "pods"]) => {
                if !inner.pods.keys().any(|(n, _)| n == ns) {
                    return None;
                }
                if forbid.contains("pods") {
                    return Some(forbidden("list", "pods", Some(ns), None));
                }
                let selector = super::handler::param(query, "labelSelector").filter(|s| !s.is_empty());
                let mut items: Vec<Value> = Vec::new();
                if let Some(c) = store.collection("pods") {
                    for e in c.scope(Some(ns)) {
                        if let Ok(v) = serde_json::from_slice::<Value>(&e.json) {
                            items.push(v);
                        }
                    }
                }
                let ids: Vec<(String, String)> = inner.pods.keys().filter(|(n, _)| n == ns).cloned().collect();
                for id in ids {
                    if let Some(p) = inner.pods.get_mut(&id) {
                        items.push(status_of(p, &self.sim));
                    }
                }
                if let Some(sel) = selector {
                    let mut kept = Vec::new();
                    for it in items {
                        match selector_matches(&sel, it.pointer("/metadata/labels").and_then(Value::as_object)) {
                            Ok(true) => kept.push(it),
                            Ok(false) => {}
                            Err(e) => return Some(Reply::status(400, "BadRequest", &e, None)),
                        }
                    }
                    items = kept;
                }
                Some(Reply::value(
                    200,
                    &json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": inner.next.to_string()}, "items": items}),
                ))
            }
            (&Method::GET, ["namespaces", ns, "pods", name]) => {
                let p = inner.pods.get_mut(&(ns.to_string(), name.to_string()))?;
                p.polls = p.polls.saturating_add(1);
                Some(Reply::value(200, &status_of(p, &self.sim)))
            }
            (&Method::DELETE, ["namespaces", ns, "pods", name]) => {
                if denied("delete", "pods") {
                    return Some(forbidden("delete", "pods", Some(ns), Some(name)));
                }
                match inner.pods.remove(&(ns.to_string(), name.to_string())) {
                    Some(p) => {
                        let mut obj = p.obj;
                        obj["metadata"]["deletionTimestamp"] = json!(TS);
                        obj["metadata"]["deletionGracePeriodSeconds"] = json!(0);
                        Some(Reply::value(200, &obj))
                    }
                    None if store.collection("pods").and_then(|c| c.find(ns, name)).is_some() => Some(Reply::status(
                        405,
                        "MethodNotAllowed",
                        "the fake API server does not delete the pods of its snapshot",
                        None,
                    )),
                    None => Some(not_found("pods", name)),
                }
            }
            (&Method::GET, ["namespaces", ns, "pods", name, "log"]) => {
                if denied("get", "pods/log") {
                    return Some(forbidden("get", "pods/log", Some(ns), Some(name)));
                }
                let Some(p) = inner.pods.get(&(ns.to_string(), name.to_string())) else {
                    return Some(not_found("pods", name));
                };
                match &p.state {
                    PodState::Succeeds => Some(Reply::json(200, Bytes::from(p.log.clone()))),
                    _ => Some(Reply::status(
                        400,
                        "BadRequest",
                        &format!(
                            "container \"{}\" in pod \"{name}\" is waiting to start: ContainerCreating",
                            collector::CONTAINER
                        ),
                        None,
                    )),
                }
            }
            (&Method::GET, ["namespaces", ns, "events"]) => {
                if denied("list", "events") {
                    return Some(forbidden("list", "events", Some(ns), None));
                }
                let field = super::handler::param(query, "fieldSelector").unwrap_or_default();
                let wanted: Vec<(String, String)> = field
                    .split(',')
                    .filter_map(|t| t.split_once('='))
                    .map(|(k, v)| (k.trim().to_string(), v.trim_start_matches('=').trim().to_string()))
                    .collect();
                let items: Vec<Value> = inner
                    .events
                    .iter()
                    .filter(|(n, _)| n == ns)
                    .map(|(_, e)| e)
                    .filter(|e| {
                        wanted.iter().all(|(k, v)| {
                            let ptr = format!("/{}", k.replace('.', "/"));
                            e.pointer(&ptr).and_then(Value::as_str) == Some(v.as_str())
                        })
                    })
                    .cloned()
                    .collect();
                Some(Reply::value(
                    200,
                    &json!({"kind": "EventList", "apiVersion": "v1", "metadata": {}, "items": items}),
                ))
            }
            _ => None,
        }
    }

    fn create_pod(&self, inner: &mut Inner, ns: &str, body: &[u8]) -> Reply {
        let Ok(mut obj) = serde_json::from_slice::<Value>(body) else {
            return Reply::status(400, "BadRequest", "the body is not a Pod", None);
        };
        let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
        if name.is_empty() {
            return Reply::status(422, "Invalid", "Pod \"\" is invalid: metadata.name: Required value", None);
        }
        let key = (ns.to_string(), name.clone());
        if inner.pods.contains_key(&key) {
            return Reply::status(409, "AlreadyExists", &format!("pods \"{name}\" already exists"), None);
        }
        let node = obj.pointer("/spec/nodeName").and_then(Value::as_str).unwrap_or("").to_string();
        inner.next += 1;
        let uid = format!("00000000-0000-4000-8000-{:012x}", inner.next);
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("namespace".into(), json!(ns));
            meta.insert("uid".into(), json!(uid));
            meta.insert("creationTimestamp".into(), json!(TS));
            meta.insert("resourceVersion".into(), json!(inner.next.to_string()));
        }
        obj["status"] = json!({"phase": "Pending", "qosClass": "Burstable"});
        let (mounts, patterns) = pod_mounts(&obj);
        let root = self.sim.roots.get(&node);
        let (state, log) = if let Some(reason) = self.sim.stuck.get(&node) {
            (PodState::Stuck(reason.clone()), String::new())
        } else {
            let failed: Vec<&Mount> = mounts
                .iter()
                .filter(|m| {
                    let host = root.and_then(|r| node::resolve_in_root(r, &m.path)).map(|(p, _)| p);
                    match (m.kind, host) {
                        (MountKind::Directory, Some(p)) => !p.is_dir(),
                        (MountKind::File, Some(p)) => !p.is_file(),
                        (_, None) => true,
                    }
                })
                .collect();
            if failed.is_empty() {
                let log = match root {
                    Some(r) => simulate_output(r, &mounts, &patterns),
                    None => "==> DONE 0\n".to_string(),
                };
                (PodState::Succeeds, log)
            } else {
                for m in failed {
                    inner.next += 1;
                    let what = match m.kind {
                        MountKind::Directory => "directory",
                        MountKind::File => "file",
                    };
                    let event = json!({
                        "metadata": {"name": format!("{name}.{:x}", inner.next), "namespace": ns},
                        "involvedObject": {"kind": "Pod", "namespace": ns, "name": name, "uid": uid},
                        "reason": "FailedMount",
                        "type": "Warning",
                        "message": format!(
                            "MountVolume.SetUp failed for volume \"{}\" : hostPath type check failed: {} is not a {what}",
                            m.volume, m.path
                        ),
                        "source": {"component": "kubelet", "host": node},
                        "count": 1,
                    });
                    inner.events.push((ns.to_string(), event));
                }
                (PodState::MountFailed, String::new())
            }
        };
        inner.history.push(obj.clone());
        inner.pods.insert(key, LivePod { obj: obj.clone(), polls: 0, state, log });
        Reply::value(201, &obj)
    }
}

/// The collector mounts of a pod (hostPath volumes mounted at `/host/<path>`) and its arguments.
fn pod_mounts(pod: &Value) -> (Vec<Mount>, Vec<String>) {
    let mut by_name: BTreeMap<String, (String, String)> = BTreeMap::new();
    for v in pod.pointer("/spec/volumes").and_then(Value::as_array).into_iter().flatten() {
        let name = v.get("name").and_then(Value::as_str).unwrap_or("");
        if let Some(hp) = v.get("hostPath") {
            let path = hp.get("path").and_then(Value::as_str).unwrap_or("").to_string();
            let ty = hp.get("type").and_then(Value::as_str).unwrap_or("").to_string();
            by_name.insert(name.to_string(), (path, ty));
        }
    }
    let container = pod.pointer("/spec/containers/0");
    let mut mounts = Vec::new();
    for vm in container.and_then(|c| c.get("volumeMounts")).and_then(Value::as_array).into_iter().flatten() {
        let name = vm.get("name").and_then(Value::as_str).unwrap_or("");
        let at = vm.get("mountPath").and_then(Value::as_str).unwrap_or("");
        let Some((path, ty)) = by_name.get(name) else { continue };
        if at != format!("{HOST_PREFIX}{path}") {
            continue;
        }
        // An unset type would make the runtime create a missing path; the fake treats any type
        // but File as a directory mount.
        let kind = if ty == "File" { MountKind::File } else { MountKind::Directory };
        mounts.push(Mount { volume: name.to_string(), path: path.clone(), kind });
    }
    let args = container
        .and_then(|c| c.get("args"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    (mounts, args)
}

/// The pod with the status a kubelet would report now.
fn status_of(p: &LivePod, sim: &NodeSim) -> Value {
    let mut obj = p.obj.clone();
    let image = obj.pointer("/spec/containers/0/image").and_then(Value::as_str).unwrap_or("").to_string();
    let container = obj.pointer("/spec/containers/0/name").and_then(Value::as_str).unwrap_or("c").to_string();
    let waiting = |reason: &str, message: &str| {
        json!([{"name": container, "image": image, "ready": false, "restartCount": 0, "started": false,
                "state": {"waiting": {"reason": reason, "message": message}}}])
    };
    let status = match &p.state {
        PodState::Succeeds if p.polls <= sim.polls_before_done => json!({
            "phase": "Running", "startTime": TS,
            "containerStatuses": [{"name": container, "image": image, "ready": true, "restartCount": 0, "started": true,
                                   "state": {"running": {"startedAt": TS}}}],
        }),
        PodState::Succeeds => json!({
            "phase": "Succeeded", "startTime": TS,
            "containerStatuses": [{"name": container, "image": image, "ready": false, "restartCount": 0, "started": false,
                                   "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": TS, "finishedAt": TS}}}],
        }),
        PodState::MountFailed => json!({
            "phase": "Pending", "startTime": TS,
            "containerStatuses": waiting("ContainerCreating", ""),
        }),
        PodState::Stuck(reason) => match reason.as_str() {
            "Unschedulable" => json!({
                "phase": "Pending",
                "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                "message": "0/3 nodes are available: 1 node(s) had untolerated taint."}],
            }),
            r @ ("ImagePullBackOff" | "ErrImagePull" | "InvalidImageName" | "CreateContainerConfigError") => json!({
                "phase": "Pending", "startTime": TS,
                "containerStatuses": waiting(r, &format!("Back-off pulling image \"{image}\"")),
            }),
            _ => json!({"phase": "Pending"}),
        },
    };
    obj["status"] = status;
    obj
}

/// Whether `labels` match a label selector (`k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`,
/// `k notin (a,b)`, comma-separated); an error for a selector that does not parse.
pub fn selector_matches(selector: &str, labels: Option<&Map<String, Value>>) -> Result<bool, String> {
    let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    let mut terms = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for c in selector.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                terms.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    terms.push(cur);
    let bad = || format!("unable to parse requirement: invalid label selector {selector:?}");
    let mut all = true;
    for t in terms {
        let t = t.trim();
        if t.is_empty() {
            return Err(bad());
        }
        let ok = if let Some(k) = t.strip_prefix('!') {
            get(k.trim()).is_none()
        } else if let Some((k, v)) = t.split_once("!=") {
            get(k.trim()) != Some(v.trim())
        } else if let Some((k, v)) = t.split_once("==").or_else(|| t.split_once('=')) {
            get(k.trim()) == Some(v.trim())
        } else if let Some((k, set)) = t.split_once(" notin ").or_else(|| t.split_once(" in ")) {
            let negate = t.contains(" notin ");
            let set = set.trim().strip_prefix('(').and_then(|s| s.strip_suffix(')')).ok_or_else(bad)?;
            let values: Vec<&str> = set.split(',').map(str::trim).collect();
            let inside = get(k.trim()).is_some_and(|v| values.contains(&v));
            if negate { !inside } else { inside }
        } else if t.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c)) {
            get(t).is_some()
        } else {
            return Err(bad());
        };
        all &= ok;
    }
    Ok(all)
}
