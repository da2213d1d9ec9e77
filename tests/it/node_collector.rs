//! `cluster --node-files` against the loopback fake API server: one collector pod per node reads
//! the node files from the fake's fixture roots; a node whose pod never starts is a coverage gap,
//! not a failure; every pod is deleted, also when the run is interrupted; runs without
//! `--node-files` stay read-only.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dockershim_audit::collect::cluster::collector::{self, CollectorOptions};
use dockershim_audit::collect::cluster::{ClusterSnapshot, Limits, connect};
use fake_apiserver::{FakeApiServer, FakeConfig, LoggedRequest, NodeSim};
use serde_json::{Value, json};

use crate::common;

const POOL_LABEL: &str = "cloud.google.com/gke-nodepool";

fn fixture(name: &str) -> PathBuf {
    crate::common::fixture("nodes").join(name)
}

fn node(name: &str, pool: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {"kubernetes.io/os": "linux", "kubernetes.io/hostname": name, POOL_LABEL: pool},
            "resourceVersion": "100",
        },
        "spec": {"taints": [{"key": "dedicated", "value": "legacy", "effect": "NoSchedule"}]},
        "status": {
            "conditions": [{"type": "Ready", "status": "True"}],
            "nodeInfo": {
                "kubeletVersion": "v1.23.17",
                "containerRuntimeVersion": "containerd://1.6.20",
                "osImage": "Ubuntu 22.04.3 LTS",
                "operatingSystem": "linux",
            },
        },
    })
}

/// Three nodes: a kubeadm node still on Docker (pool `legacy`), a containerd node that is ready
/// and one whose pod never starts (both pool `modern`).
fn cluster() -> ClusterSnapshot {
    let mut s = ClusterSnapshot::new();
    s.resources.insert(
        "nodes".into(),
        vec![node("docker-1", "legacy"), node("containerd-1", "modern"), node("stuck-1", "modern")],
    );
    s
}

fn sim(stuck_reason: &str) -> NodeSim {
    NodeSim {
        roots: BTreeMap::from([
            ("docker-1".to_string(), fixture("kubeadm-1.23-docker")),
            ("containerd-1".to_string(), fixture("containerd-ready")),
        ]),
        stuck: BTreeMap::from([("stuck-1".to_string(), stuck_reason.to_string())]),
        polls_before_done: 1,
    }
}

struct Fake {
    server: FakeApiServer,
    _dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

async fn start(cfg: FakeConfig, nodes: NodeSim) -> Fake {
    let server = FakeApiServer::start_with_nodes(cfg, nodes).await.expect("fake starts");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    Fake { server, _dir: dir, kubeconfig }
}

async fn run(args: Vec<String>) -> (i32, Value, String) {
    let (code, stdout, stderr) = crate::support::run_binary(args).await;
    let v: Value = serde_json::from_slice(&stdout).unwrap_or_else(|e| panic!("{e}: stderr: {stderr}"));
    (code, v, stderr)
}

fn args(kc: &Path, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "cluster",
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--no-configz",
        "--format",
        "json",
        "--target-version",
        "1.24",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

/// (rule id, path:line or "-") of the findings located on `node`.
fn findings_on(v: &Value, node: &str) -> BTreeSet<(String, String)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["location"]["node"] == node)
        .map(common::rule_and_place)
        .collect()
}

/// What `node --root` finds on the same fixture: the collector must find exactly that.
fn node_scan(root: &Path, name: &str) -> Value {
    let out = assert_cmd::Command::cargo_bin("dockershim-audit")
        .unwrap()
        .args(["node", "--root", root.to_str().unwrap(), "--node-name", name, "--format", "json"])
        .args(["--target-version", "1.24"])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

fn pod_names(server: &FakeApiServer) -> Vec<String> {
    server.created_pods().iter().map(|p| p["metadata"]["name"].as_str().unwrap().to_string()).collect()
}

/// Every pod the collector created was deleted with a DELETE, and none is left.
fn assert_nothing_left(server: &FakeApiServer) {
    assert!(server.live_pods().is_empty(), "pods left behind: {:?}", server.live_pods());
    let log = server.requests();
    for name in pod_names(server) {
        assert!(
            log.iter().any(|r| r.method == "DELETE" && r.path.ends_with(&format!("/pods/{name}"))),
            "no DELETE for pod {name}"
        );
    }
}

/// The only writes are SSARs, namespace and pod creation, and deletions.
fn assert_only_collector_writes(log: &[LoggedRequest]) {
    for r in log {
        let ok = match r.method.as_str() {
            "GET" => !r.path.contains("secrets"),
            "POST" => {
                r.path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
                    || r.path == "/api/v1/namespaces"
                    || (r.path.starts_with("/api/v1/namespaces/") && r.path.ends_with("/pods"))
            }
            "DELETE" => r.path.starts_with("/api/v1/namespaces/"),
            _ => false,
        };
        assert!(ok, "unexpected request {} {}", r.method, r.path);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collector_reads_two_nodes_and_the_third_is_a_gap() {
    let fake = start(FakeConfig { snapshot: cluster(), ..FakeConfig::default() }, sim("ImagePullBackOff")).await;
    let (code, v, stderr) = run(args(&fake.kubeconfig, &["--node-files"])).await;
    // The Docker node's files trip the gate (removed kubelet flag, daemon.json, cron).
    assert_eq!(code, 1, "{stderr}\n{:#}", v["coverage"]);

    // The Docker node: exactly what `node --root` finds on the same files, with node and pool.
    let direct = node_scan(&fixture("kubeadm-1.23-docker"), "docker-1");
    let expected = findings_on(&direct, "docker-1");
    assert!(expected.len() >= 10, "{expected:?}");
    assert_eq!(findings_on(&v, "docker-1"), expected);
    for f in v["findings"].as_array().unwrap().iter().filter(|f| f["location"]["node"] == "docker-1") {
        assert_eq!(f["location"]["pool"], "legacy", "{f}");
    }
    assert!(expected.contains(&("removed-kubelet-flag".into(), "/var/lib/kubelet/kubeadm-flags.env:1".into())));
    assert!(expected.contains(&("docker-cli-in-script".into(), "/etc/cron.d/docker-prune:6".into())));

    // The ready containerd node gives nothing; the stuck one is a coverage gap naming the reason.
    assert!(findings_on(&v, "containerd-1").is_empty(), "{:#}", v["findings"]);
    assert!(findings_on(&v, "stuck-1").is_empty());
    let gaps = v["coverage"]["gaps"].as_array().unwrap();
    let stuck: Vec<&Value> = gaps.iter().filter(|g| g["source"].as_str().unwrap_or("").contains("stuck-1")).collect();
    assert_eq!(stuck.len(), 1, "{gaps:#?}");
    assert!(stuck[0]["reason"].as_str().unwrap().contains("ImagePullBackOff"), "{}", stuck[0]);
    for g in gaps {
        assert!(g["source"].as_str().unwrap().contains("stuck-1"), "unexpected gap {g}");
    }
    assert_eq!(stuck[0]["node"], "stuck-1");
    // Per-node scores: the stuck node is not plainly READY (its files were never read), the
    // collected containerd node is, and the stuck node's pool is incomplete too.
    let scopes = &v["summary"]["scopes"];
    assert_eq!(scopes["nodes"]["stuck-1"]["complete"], false, "{scopes:#}");
    assert!(scopes["nodes"]["stuck-1"]["score"].as_u64().unwrap() <= 89, "{scopes:#}");
    assert_eq!(scopes["nodes"]["containerd-1"]["complete"], true, "{scopes:#}");
    assert_eq!(scopes["nodes"]["containerd-1"]["score"], 100, "{scopes:#}");
    assert_eq!(scopes["pools"]["modern"]["complete"], false, "{scopes:#}");
    assert_eq!(scopes["pools"]["legacy"]["complete"], true, "{scopes:#}");

    // Pods: pinned, tolerant, read-only, least privilege; all deleted; the namespace the run
    // created is deleted too.
    let pods = fake.server.created_pods();
    let nodes: BTreeSet<&str> = pods.iter().map(|p| p["spec"]["nodeName"].as_str().unwrap()).collect();
    assert_eq!(nodes, BTreeSet::from(["docker-1", "containerd-1", "stuck-1"]));
    for p in &pods {
        assert_eq!(p["metadata"]["namespace"], "dockershim-audit");
        let spec = &p["spec"];
        assert_eq!(spec["tolerations"], json!([{"operator": "Exists"}]));
        assert_eq!(spec["hostNetwork"], false);
        assert_eq!(spec["automountServiceAccountToken"], false);
        assert_eq!(spec["restartPolicy"], "Never");
        assert!(spec["activeDeadlineSeconds"].as_u64().unwrap() > 0);
        assert_eq!(spec["containers"][0]["image"], "busybox:1.36");
        for m in spec["containers"][0]["volumeMounts"].as_array().unwrap() {
            assert_eq!(m["readOnly"], true, "{m}");
        }
        for vol in spec["volumes"].as_array().unwrap() {
            let t = vol["hostPath"]["type"].as_str().unwrap();
            assert!(t == "Directory" || t == "File", "never created on the host: {vol}");
            assert_ne!(vol["hostPath"]["path"], "/etc");
        }
    }
    // The fixtures lack most of the listed paths: the first pod of a node reports FailedMount
    // events and the next one mounts only what exists.
    let docker_pods: Vec<&Value> = pods.iter().filter(|p| p["spec"]["nodeName"] == "docker-1").collect();
    assert_eq!(docker_pods.len(), 2, "one pod with every path, one with those that exist");
    let mounted = |p: &Value| -> BTreeSet<String> {
        p["spec"]["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["hostPath"]["path"].as_str().unwrap().to_string())
            .collect()
    };
    let last = mounted(docker_pods[1]);
    assert!(last.contains("/etc/docker/daemon.json") && last.contains("/etc/cron.d"), "{last:?}");
    assert!(!last.contains("/etc/sysconfig/kubelet") && !last.contains("/opt/bin"), "{last:?}");
    assert!(fake.server.requests().iter().any(|r| r.path.ends_with("/events")));
    assert_nothing_left(&fake.server);
    assert!(fake.server.live_namespaces().is_empty(), "the namespace the run created is deleted");
    assert_only_collector_writes(&fake.server.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_gap_remains_exit_three() {
    let fake = start(FakeConfig { snapshot: cluster(), ..FakeConfig::default() }, sim("Unschedulable")).await;
    let selector = format!("{POOL_LABEL}=modern");
    let (code, v, stderr) = run(args(&fake.kubeconfig, &["--node-files", "--node-selector", &selector])).await;
    assert_eq!(code, 3, "{stderr}\n{:#}\n{:#}", v["findings"], v["coverage"]);
    assert!(v["findings"].as_array().unwrap().is_empty(), "{:#}", v["findings"]);
    let gaps = v["coverage"]["gaps"].as_array().unwrap();
    assert_eq!(gaps.len(), 1, "{gaps:#?}");
    assert!(gaps[0]["source"].as_str().unwrap().contains("stuck-1"));
    assert!(gaps[0]["reason"].as_str().unwrap().contains("Unschedulable"), "{}", gaps[0]);
    // The selector kept the Docker node out.
    assert!(fake.server.created_pods().iter().all(|p| p["spec"]["nodeName"] != "docker-1"));
    assert!(fake.server.requests().iter().any(|r| r.path == "/api/v1/nodes" && r.has_param("labelSelector")));
    assert_nothing_left(&fake.server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_node_files_the_run_stays_read_only() {
    let fake = start(FakeConfig { snapshot: cluster(), ..FakeConfig::default() }, sim("ImagePullBackOff")).await;
    let (code, _, stderr) = run(args(&fake.kubeconfig, &[])).await;
    assert_eq!(code, 0, "{stderr}");
    for r in fake.server.requests() {
        let review = r.method == "POST" && r.path.ends_with("/selfsubjectaccessreviews");
        assert!(r.method == "GET" || review, "non-read request: {} {}", r.method, r.path);
    }
    assert!(fake.server.created_pods().is_empty());
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_deletes_its_pods_and_exits_130() {
    interrupted_by("INT", 130).await;
}

// See: issue 14, item 20: SIGTERM (Jobs, `timeout`, CI cancellation) and SIGHUP clean up like Ctrl-C.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_run_deletes_its_pods_and_exits_143() {
    interrupted_by("TERM", 143).await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_up_run_deletes_its_pods_and_exits_129() {
    interrupted_by("HUP", 129).await;
}

/// Sends `signal` to a `--node-files` run while a pod is live; the run must delete every pod and
/// the namespace it created, then exit with `code` (128 + the signal).
#[cfg(unix)]
async fn interrupted_by(signal: &str, code: i32) {
    // stuck-1's kubelet never answers: its pod stays Pending until the deadline, far away.
    let fake = start(FakeConfig { snapshot: cluster(), ..FakeConfig::default() }, sim("")).await;
    let bin = assert_cmd::cargo::cargo_bin("dockershim-audit");
    let child = std::process::Command::new(bin)
        .env(crate::common::FAST_WAITS.0, crate::common::FAST_WAITS.1)
        .args(args(&fake.kubeconfig, &["--node-files"]))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let start = Instant::now();
    loop {
        let stuck_created = fake.server.created_pods().iter().any(|p| p["spec"]["nodeName"] == "stuck-1");
        let polled = fake.server.requests().iter().filter(|r| r.method == "GET" && r.path.contains("/pods/")).count();
        if stuck_created && polled >= 3 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "the collector never created the stuck node's pod");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!fake.server.live_pods().is_empty(), "a pod exists when the interrupt arrives");
    let killed = std::process::Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]).status().unwrap();
    assert!(killed.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()).await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert!(stderr.contains(&format!("SIG{signal}")), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_nothing_left(&fake.server);
    assert!(fake.server.live_namespaces().is_empty(), "the namespace the run created is deleted");
}

// See: issue 14, item 20: a collector pod the run cannot delete is a coverage entry in the
// report, not only a line on stderr.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_that_cannot_be_deleted_is_listed_in_coverage() {
    let cfg = FakeConfig {
        snapshot: cluster(),
        inject: vec![fake_apiserver::Injection::ServerError {
            resource: "DELETE pods".into(),
            times: 10_000,
            status: 500,
        }],
        ..FakeConfig::default()
    };
    let fake = start(cfg, sim("ImagePullBackOff")).await;
    let (code, v, stderr) = run(args(&fake.kubeconfig, &["--node-files"])).await;
    assert_eq!(code, 1, "{stderr}");
    let gaps: Vec<String> = v["coverage"]["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["source"].as_str().unwrap_or("").to_string())
        .collect();
    let left = fake.server.live_pods();
    assert!(!left.is_empty());
    assert_eq!(gaps.iter().filter(|g| g.starts_with("collector pod ")).count(), left.len(), "{gaps:?}");
}

fn fast(namespace: &str) -> CollectorOptions {
    CollectorOptions {
        namespace: namespace.into(),
        wait: Duration::from_secs(2),
        poll_base: Duration::from_millis(20),
        poll_max: Duration::from_millis(100),
        limits: Limits { request_timeout: Duration::from_secs(10), max_retries: 3, ..Limits::default() },
        node_files: dockershim_audit::rules::Catalogue::builtin().expect("built-in catalogue").node_files,
        ..CollectorOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_that_never_finishes_is_a_gap_and_a_preexisting_namespace_stays() {
    let nodes = NodeSim { stuck: BTreeMap::from([("stuck-1".to_string(), String::new())]), ..sim("") };
    let fake = start(FakeConfig { snapshot: cluster(), ..FakeConfig::default() }, nodes).await;
    let c = connect(Some(&fake.kubeconfig), None).await.unwrap();
    let r = collector::collect_until(&c.client, &fast("default"), std::future::pending()).await;
    assert!(!r.interrupted && !r.namespace_created && !r.namespace_deleted);
    assert_eq!(r.nodes.len(), 2);
    assert_eq!(r.gaps.len(), 1, "{:#?}", r.gaps);
    assert!(r.gaps[0].source.contains("stuck-1"));
    assert!(r.gaps[0].reason.contains("did not finish within 2s"), "{}", r.gaps[0].reason);
    assert!(r.left_behind.is_empty());
    assert_nothing_left(&fake.server);
    // `default` existed before: never deleted.
    assert!(!fake.server.requests().iter().any(|r| r.method == "DELETE" && r.path == "/api/v1/namespaces/default"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_creation_forbidden_is_one_gap_and_no_pod() {
    let cfg = FakeConfig { snapshot: cluster(), forbid: vec!["create namespaces".into()], ..FakeConfig::default() };
    let fake = start(cfg, sim("ImagePullBackOff")).await;
    let c = connect(Some(&fake.kubeconfig), None).await.unwrap();
    let r = collector::collect_until(&c.client, &fast("dockershim-audit"), std::future::pending()).await;
    assert!(r.nodes.is_empty());
    assert_eq!(r.gaps.len(), 1, "{:#?}", r.gaps);
    assert_eq!(r.gaps[0].missing_permission.as_deref(), Some("create namespaces (core) at cluster scope"));
    assert!(r.gaps[0].reason.contains("--collector-namespace"), "{}", r.gaps[0].reason);
    assert!(fake.server.created_pods().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_forbidden_stops_every_node_with_one_gap() {
    let cfg = FakeConfig { snapshot: cluster(), forbid: vec!["create pods".into()], ..FakeConfig::default() };
    let fake = start(cfg, sim("ImagePullBackOff")).await;
    let c = connect(Some(&fake.kubeconfig), None).await.unwrap();
    let r = collector::collect_until(&c.client, &fast("default"), std::future::pending()).await;
    assert!(r.nodes.is_empty());
    assert_eq!(r.gaps.len(), 1, "{:#?}", r.gaps);
    assert_eq!(r.gaps[0].missing_permission.as_deref(), Some("create pods (core) in namespace default"));
    assert_nothing_left(&fake.server);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_on_the_node_never_lead_out_of_the_rebuilt_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("node");
    std::fs::create_dir_all(root.join("etc/cron.d")).unwrap();
    std::fs::create_dir_all(root.join("etc/docker")).unwrap();
    std::fs::write(root.join("etc/cron.d/prune"), "0 3 * * * root docker system prune -af\n").unwrap();
    // Outside the node's root: must never be read.
    std::fs::write(dir.path().join("secret"), "0 4 * * * root docker run --rm evil\n").unwrap();
    std::os::unix::fs::symlink("../../../secret", root.join("etc/cron.d/escape")).unwrap();
    std::os::unix::fs::symlink("/etc/cron.d/prune", root.join("etc/cron.d/again")).unwrap();
    std::os::unix::fs::symlink("../../../../../../../secret", root.join("etc/docker/daemon.json")).unwrap();
    let nodes = NodeSim { roots: BTreeMap::from([("docker-1".to_string(), root.clone())]), ..NodeSim::default() };
    let mut snap = ClusterSnapshot::new();
    snap.resources.insert("nodes".into(), vec![node("docker-1", "legacy")]);
    let fake = start(FakeConfig { snapshot: snap, ..FakeConfig::default() }, nodes).await;
    let c = connect(Some(&fake.kubeconfig), None).await.unwrap();
    let r = collector::collect_until(&c.client, &fast("default"), std::future::pending()).await;
    assert_eq!(r.nodes.len(), 1, "{:#?}", r.gaps);
    let ev = &r.nodes[0].evidence;
    let commands: Vec<String> = ev
        .records
        .iter()
        .filter(|rec| rec.snippet.contains("docker"))
        .map(|rec| format!("{:?} {}", rec.location.path, rec.snippet))
        .collect();
    assert!(commands.iter().any(|c| c.contains("prune")), "{commands:#?}");
    assert!(commands.iter().all(|c| !c.contains("evil")), "read outside the root: {commands:#?}");
    for rec in &ev.records {
        assert_eq!(rec.location.node.as_deref(), Some("docker-1"));
        assert_eq!(rec.location.pool.as_deref(), Some("legacy"));
    }
    assert_nothing_left(&fake.server);
}
