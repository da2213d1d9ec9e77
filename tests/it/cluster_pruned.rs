//! Objects read straight into their pruned form (`collect::cluster::pruned`, issue 16) against
//! the dynamic path they replaced: every object parsed whole into a JSON value, then reduced by
//! the old `Pruner` (kept here only, as the reference). Both paths read the same cluster through
//! the fake API server — the demo cluster and a synthetic one — and must give the same objects
//! and the same evidence; so must a snapshot file loaded both ways.

use crate::support;

use std::collections::HashSet;

use dockershim_audit::collect::cluster::fetch::fetch_pruned;
use dockershim_audit::collect::cluster::kinds::{self, Prune};
use dockershim_audit::collect::cluster::{ClusterSnapshot, FetchOptions, connect};
use dockershim_audit::collect::objects;
use fake_apiserver::{FakeConfig, synth};
use serde_json::{Map, Value as Json, json};
use support::{Fake, fast_opts};

// ---------------------------------------------------------------------------------------------
// The reference: the dynamic path (`collect::objects::Pruner` before issue 16), with the
// corrections the typed path made, marked below: env entries whose value mentions Docker (the
// `container.env` evidence reads them), `script`/`source` of containers, and static pods (owned
// by a Node) each keeping their spec (they are each their own workload).
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Reference {
    owners_seen: HashSet<(String, String, String, String)>,
}

fn str_at(v: &Json, p: &str) -> String {
    v.pointer(p).and_then(Json::as_str).unwrap_or("").to_string()
}

impl Reference {
    fn keep(&mut self, plural: &str, object: Json) -> Json {
        let Some(res) = kinds::by_plural(plural) else { return object };
        let mut out = Map::new();
        for k in ["apiVersion", "kind"] {
            if let Some(v) = object.get(k) {
                out.insert(k.into(), v.clone());
            }
        }
        out.insert("metadata".into(), prune_metadata(&object, res.prune == Prune::NodeInfo));
        match res.prune {
            Prune::Whole | Prune::ConfigData => return object,
            Prune::NodeInfo => {
                if let Some(info) = object.pointer("/status/nodeInfo") {
                    let keep = pick(info, &["kubeletVersion", "containerRuntimeVersion", "osImage"]);
                    out.insert("status".into(), json!({ "nodeInfo": keep }));
                }
            }
            Prune::PodSpec => {
                // Correction: the owner `collect::objects` groups by (controller, else first), and
                // none for Node-owned (static) pods.
                let owner = object.pointer("/metadata/ownerReferences").and_then(Json::as_array).and_then(|refs| {
                    refs.iter().find(|r| r.get("controller").and_then(Json::as_bool) == Some(true)).or(refs.first())
                });
                let first = match owner {
                    Some(r) if str_at(r, "/kind") != "Node" => self.owners_seen.insert((
                        str_at(r, "/uid"),
                        str_at(r, "/kind"),
                        str_at(&object, "/metadata/namespace"),
                        str_at(r, "/name"),
                    )),
                    _ => true,
                };
                if let Some(spec) = object.get("spec") {
                    let spec = if first { prune_pod_spec(spec) } else { pick(spec, &["nodeName"]) };
                    out.insert("spec".into(), spec);
                }
            }
            Prune::Template => {
                let mut spec = json!({});
                let pointer = res.pod_spec.unwrap_or("");
                if let (Some(rest), Some(t)) = (pointer.strip_prefix("/spec/"), object.pointer(pointer)) {
                    let mut nested = prune_pod_spec(t);
                    for key in rest.rsplit('/') {
                        nested = json!({ key: nested });
                    }
                    spec = nested;
                }
                out.insert("spec".into(), spec);
            }
        }
        Json::Object(out)
    }
}

fn pick(v: &Json, keys: &[&str]) -> Json {
    let mut m = Map::new();
    for k in keys {
        if let Some(x) = v.get(*k) {
            m.insert((*k).to_string(), x.clone());
        }
    }
    Json::Object(m)
}

fn prune_metadata(object: &Json, labels: bool) -> Json {
    let Some(meta) = object.get("metadata") else { return Json::Object(Map::new()) };
    let mut m = pick(meta, &["name", "generateName", "namespace", "uid", "ownerReferences"]);
    if labels && let Some(l) = meta.get("labels") {
        m["labels"] = l.clone();
    }
    if let Some(a) = meta.get("annotations").and_then(Json::as_object) {
        let kept: Map<String, Json> = a
            .iter()
            .filter(|(k, _)| {
                ["kubernetes.io/config.mirror", "kubeadm.alpha.kubernetes.io/cri-socket"].contains(&k.as_str())
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !kept.is_empty() {
            m["annotations"] = Json::Object(kept);
        }
    }
    m
}

fn prune_pod_spec(spec: &Json) -> Json {
    let mut out = pick(spec, &["nodeName"]);
    let volumes: Vec<Json> = spec
        .get("volumes")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .map(|v| match v.get("hostPath") {
            Some(_) => pick(v, &["name", "hostPath"]),
            None => {
                let mut m = pick(v, &["name"]);
                if let Some(kind) = v.as_object().and_then(|o| o.keys().find(|k| *k != "name")) {
                    m[kind.as_str()] = json!({});
                }
                m
            }
        })
        .collect();
    if !volumes.is_empty() {
        out["volumes"] = Json::Array(volumes);
    }
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        let Some(items) = spec.get(list).and_then(Json::as_array) else { continue };
        let kept: Vec<Json> = items
            .iter()
            .map(|c| {
                // Correction: `script` and `source` (read by the workload evidence) are kept.
                let mut k = pick(c, &["name", "image", "command", "args", "volumeMounts", "script", "source"]);
                if let Some(p) = c.pointer("/securityContext/privileged") {
                    k["securityContext"] = json!({ "privileged": p });
                }
                // Correction: env values that mention Docker are kept besides DOCKER_HOST.
                let env: Vec<Json> = c
                    .get("env")
                    .and_then(Json::as_array)
                    .into_iter()
                    .flatten()
                    .filter(|e| {
                        e.get("name").and_then(Json::as_str) == Some("DOCKER_HOST")
                            || e.get("value")
                                .and_then(Json::as_str)
                                .is_some_and(|v| v.to_ascii_lowercase().contains("docker"))
                    })
                    .cloned()
                    .collect();
                if !env.is_empty() {
                    k["env"] = Json::Array(env);
                }
                for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
                    if let Some(e) = c.get(probe).and_then(|p| p.get("exec")) {
                        k[probe] = json!({ "exec": e });
                    }
                }
                if let Some(l) = c.get("lifecycle") {
                    let mut hooks = Map::new();
                    for hook in ["postStart", "preStop"] {
                        if let Some(e) = l.get(hook).and_then(|h| h.get("exec")) {
                            hooks.insert(hook.into(), json!({ "exec": e }));
                        }
                    }
                    if !hooks.is_empty() {
                        k["lifecycle"] = Json::Object(hooks);
                    }
                }
                k
            })
            .collect();
        out[list] = Json::Array(kept);
    }
    out
}

/// The reference pruning of a whole (unpruned) snapshot, resource by resource in list order;
/// with `redacted`, credentials redacted as a live capture redacts them (`redact::json`).
fn reference(full: &ClusterSnapshot, redacted: bool) -> ClusterSnapshot {
    let mut out = full.clone();
    let mut r = Reference::default();
    for (plural, items) in out.resources.iter_mut() {
        *items = items
            .drain(..)
            .map(|o| {
                let mut kept = r.keep(plural, o);
                if redacted {
                    dockershim_audit::redact::json(&mut kept);
                }
                kept
            })
            .collect();
    }
    out
}

/// The objects with credentials redacted, nothing else changed.
fn redacted(full: &ClusterSnapshot) -> ClusterSnapshot {
    let mut out = full.clone();
    for items in out.resources.values_mut() {
        items.iter_mut().for_each(dockershim_audit::redact::json);
    }
    out
}

/// Everything the rules see of a snapshot, comparable (records' fields are ordered maps).
fn evidence_of(s: &ClusterSnapshot) -> String {
    let ev = objects::evidence(s);
    format!("{:?}\n{:?}\n{:?}\n{:?}", ev.records, ev.gaps, ev.skipped, ev.counts)
}

fn assert_same_objects(got: &ClusterSnapshot, want: &ClusterSnapshot, what: &str) {
    assert_eq!(got.resources.keys().collect::<Vec<_>>(), want.resources.keys().collect::<Vec<_>>(), "{what}");
    for (plural, objects) in &want.resources {
        let got = &got.resources[plural];
        assert_eq!(got.len(), objects.len(), "{what}: {plural}");
        for (g, w) in got.iter().zip(objects) {
            if plural == "configmaps" && g != w {
                // A live capture keeps only the data the rules read (redact's tests cover which):
                // here the same ConfigMaps, in the same order.
                assert_eq!(g.pointer("/metadata/name"), w.pointer("/metadata/name"), "{what}: {plural}");
                assert_eq!(g.pointer("/metadata/namespace"), w.pointer("/metadata/namespace"), "{what}: {plural}");
                continue;
            }
            // Byte-equal, so key order (what a snapshot file shows) is the same too.
            assert_eq!(g.to_string(), w.to_string(), "{what}: {plural}");
        }
    }
}

async fn both_paths(cfg: FakeConfig, opts: FetchOptions, what: &str) {
    let fake = Fake::start(cfg).await;
    let full = fake.fetch(opts.clone()).await.expect("full fetch");
    let c = connect(Some(&fake.kubeconfig), None).await.unwrap();
    let opts = FetchOptions { server_url: Some(c.server_url.clone()), context: c.context.clone(), ..opts };
    let pruned = fetch_pruned(&c.client, &opts).await.expect("pruned fetch");
    assert!(pruned.object_count() > 0, "{what}");
    assert_same_objects(&pruned, &reference(&full, true), what);
    assert_eq!(evidence_of(&pruned), evidence_of(&redacted(&full)), "{what}: the evidence differs");
    assert_eq!(pruned.gaps, full.gaps, "{what}");
    assert_eq!(pruned.configz, full.configz, "{what}");
    // An audit keeps only the first pod of each owner and counts the others: the same evidence
    // (pod counts included), also after narrowing to one namespace.
    let folded = fetch_pruned(&c.client, &FetchOptions { audit_only: true, ..opts }).await.expect("folded fetch");
    let kept = folded.objects("pods").len();
    assert!(kept < pruned.objects("pods").len(), "{what}: the cluster has workloads with several pods");
    assert_eq!(kept + folded.folded_pods.count(), pruned.objects("pods").len(), "{what}");
    assert_eq!(folded.object_count(), pruned.object_count(), "{what}");
    assert_eq!(evidence_of(&folded), evidence_of(&pruned), "{what}: folding changed the evidence");
    // ReplicaSets of listed Deployments were read without their templates, and only they.
    let templates = |s: &ClusterSnapshot| {
        s.objects("replicasets").iter().filter(|o| o.pointer("/spec/template/spec").is_some()).count()
    };
    assert_eq!(templates(&pruned), pruned.objects("replicasets").len(), "{what}");
    assert!(templates(&folded) < templates(&pruned), "{what}: no template was skipped");
    let namespace = str_at(&pruned.objects("pods")[0], "/metadata/namespace");
    let (mut narrow_folded, mut narrow) = (folded.clone(), pruned.clone());
    objects::restrict_to_namespaces(&mut narrow_folded, std::slice::from_ref(&namespace));
    objects::restrict_to_namespaces(&mut narrow, std::slice::from_ref(&namespace));
    assert!(narrow.objects("pods").len() < pruned.objects("pods").len(), "{what}: pods in other namespaces");
    assert_eq!(evidence_of(&narrow_folded), evidence_of(&narrow), "{what}: narrowed to {namespace}");
    fake.server.shutdown().await;
}

fn demo() -> ClusterSnapshot {
    ClusterSnapshot::load(&crate::common::fixture("demo-cluster/snapshot.json")).expect("demo snapshot")
}

#[tokio::test]
async fn the_demo_cluster_reads_the_same_both_ways() {
    let opts = FetchOptions { page_size: 7, ..fast_opts() };
    both_paths(FakeConfig { snapshot: demo(), ..FakeConfig::default() }, opts, "demo").await;
}

#[tokio::test]
async fn a_synthetic_cluster_reads_the_same_both_ways() {
    both_paths(
        FakeConfig { snapshot: synth::generate(12, 700, 11), ..FakeConfig::default() },
        fast_opts(),
        "synthetic",
    )
    .await;
    // One page per list, and pages read far ahead of parsing.
    let opts = FetchOptions { page_size: 0, concurrency: 1, ..fast_opts() };
    both_paths(FakeConfig { snapshot: synth::generate(3, 90, 5), ..FakeConfig::default() }, opts, "unpaged").await;
}

#[test]
fn a_snapshot_file_loads_the_same_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let synthetic = synth::generate(6, 300, 9);
    // The snapshot format, and the same objects as a kubectl List (every item carries its kind).
    let mut items: Vec<Json> = Vec::new();
    for objects in synthetic.resources.values() {
        items.extend(objects.iter().cloned());
    }
    items.push(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "djE="}}));
    items.push(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"}}));
    items.push(json!({"kind": "PodList", "apiVersion": "v1", "items": [{"metadata": {"name": "typed", "namespace": "x"}, "spec": {"containers": []}}]}));
    items.push(json!(7));
    let list = json!({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}});
    let cases = [
        ("demo.json", crate::common::fixture("demo-cluster/snapshot.json")),
        ("synthetic.json", {
            let p = dir.path().join("synthetic.json");
            synthetic.save(&p, dockershim_audit::output_file::Policy::default()).unwrap();
            p
        }),
        ("list.json", {
            let p = dir.path().join("list.json");
            std::fs::write(&p, format!("\u{feff}\n{}", serde_json::to_string_pretty(&list).unwrap())).unwrap();
            p
        }),
        ("pod.json", {
            let p = dir.path().join("pod.json");
            std::fs::write(&p, json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "one"}, "spec": {"containers": [{"name": "c", "image": "docker:dind", "env": [{"name": "PASSWORD", "value": "hunter2"}]}]}}).to_string()).unwrap();
            p
        }),
    ];
    for (what, path) in cases {
        let (full, full_summary) = ClusterSnapshot::load_with_summary(&path).unwrap();
        let (pruned, summary) = ClusterSnapshot::load_pruned(&path).unwrap();
        assert_eq!(summary, full_summary, "{what}");
        assert_same_objects(&pruned, &reference(&full, false), what);
        assert_eq!(evidence_of(&pruned), evidence_of(&full), "{what}: the evidence differs");
        assert_eq!(pruned.skipped, full.skipped, "{what}");
        assert_eq!(pruned.gaps, full.gaps, "{what}");
        assert_eq!(pruned.server_version, full.server_version, "{what}");
        assert_eq!(pruned.configz, full.configz, "{what}");
        assert!(!pruned.to_json_pretty().unwrap().contains("hunter2"), "{what}");
    }
    // Errors still name the file and say what is wrong.
    for (text, says) in
        [("[1]", "expected a JSON object"), ("{\"kind\": 3}", "no `kind`"), ("{\"items\": [", "invalid JSON")]
    {
        let p = dir.path().join("bad.json");
        std::fs::write(&p, text).unwrap();
        let msg = format!("{:#}", ClusterSnapshot::load_pruned(&p).unwrap_err());
        assert!(msg.contains("bad.json") && msg.contains(says), "{msg}");
    }
}

/// An audit reads a ReplicaSet without its template only when its Deployment was listed: with
/// the Deployment list failing (a 200 without items) or forbidden, every ReplicaSet keeps its
/// template, and the evidence (the ReplicaSets now audited from their own templates, under their
/// Deployments) is the full read's.
#[tokio::test]
async fn an_audit_reads_owned_templates_when_the_owners_are_not_listed() {
    type Configure = fn(&mut FakeConfig);
    let cases: [(&str, Configure); 2] = [
        ("deployments list fails", |c| {
            c.faults = vec![fake_apiserver::Fault::NoItems { resource: "deployments".into(), body: "{}".into() }]
        }),
        ("deployments forbidden", |c| c.forbid = vec!["deployments".into()]),
    ];
    for (what, configure) in cases {
        let mut cfg = FakeConfig { snapshot: synth::generate(4, 200, 3), ..FakeConfig::default() };
        configure(&mut cfg);
        let fake = Fake::start(cfg).await;
        let c = connect(Some(&fake.kubeconfig), None).await.unwrap();
        let opts = FetchOptions { server_url: Some(c.server_url.clone()), context: c.context.clone(), ..fast_opts() };
        let full = fetch_pruned(&c.client, &opts).await.expect("full read");
        let audit = fetch_pruned(&c.client, &FetchOptions { audit_only: true, ..opts }).await.expect("audit read");
        assert!(audit.gaps.iter().any(|g| g.resource == "deployments"), "{what}: {:?}", audit.gaps);
        assert!(!audit.objects("replicasets").is_empty(), "{what}");
        let templates = audit.objects("replicasets").iter().filter(|o| o.pointer("/spec/template/spec").is_some());
        assert_eq!(templates.count(), audit.objects("replicasets").len(), "{what}: a template was skipped");
        assert_eq!(evidence_of(&audit), evidence_of(&full), "{what}");
        fake.server.shutdown().await;
    }
}
