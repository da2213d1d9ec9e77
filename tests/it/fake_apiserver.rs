//! The fake API server's own checks: its continue tokens, query parameters and label selectors,
//! the synthetic clusters it serves, and its simulation of the node-file collector's script (which
//! must print what the real script prints under `sh`, or the node-collector tests would test a
//! fiction). They live here, not in the fake's crate, so one test binary holds every test.

use std::collections::BTreeSet;
use std::path::PathBuf;

use dockershim_audit::collect::cluster::ClusterSnapshot;
use dockershim_audit::collect::cluster::collector::{
    MAX_FILE, Mount, MountKind, SCRIPT, materialize, mounts, parse_frames, patterns,
};
use dockershim_audit::collect::node;
use dockershim_audit::evidence::Evidence;
use fake_apiserver::sim::simulate_output;
use fake_apiserver::synth::generate;
use fake_apiserver::wire::{decode_token, encode_token, param, percent_decode, selector_matches};
use fake_apiserver::{FakeApiServer, FakeConfig};
use serde_json::{Value, json};

#[test]
fn tokens_roundtrip_and_reject_garbage() {
    let t = encode_token(1234, 500);
    assert_eq!(decode_token(&t), Some((1234, 500)));
    assert_eq!(decode_token("zz"), None);
    assert_eq!(decode_token("abc"), None);
    assert_eq!(decode_token(""), None);
}

#[test]
fn params() {
    assert_eq!(param(Some("limit=5&continue=ab%3D"), "continue").as_deref(), Some("ab="));
    assert_eq!(param(Some("limit=5"), "continue"), None);
    assert_eq!(param(Some("watch"), "watch").as_deref(), Some(""));
    assert_eq!(percent_decode("%"), "%");
    assert_eq!(percent_decode("a%2"), "a%2");
    assert_eq!(percent_decode("%41%zz"), "A%zz");
}

#[test]
fn selectors() {
    let l = json!({"pool": "workers", "kubernetes.io/os": "linux"});
    let l = l.as_object();
    assert_eq!(selector_matches("pool=workers", l), Ok(true));
    assert_eq!(selector_matches("pool==workers,kubernetes.io/os=linux", l), Ok(true));
    assert_eq!(selector_matches("pool!=workers", l), Ok(false));
    assert_eq!(selector_matches("pool", l), Ok(true));
    assert_eq!(selector_matches("!pool", l), Ok(false));
    assert_eq!(selector_matches("pool in (a, workers)", l), Ok(true));
    assert_eq!(selector_matches("pool notin (a,workers)", l), Ok(false));
    assert_eq!(selector_matches("gpu", l), Ok(false));
    assert_eq!(selector_matches("gpu", None), Ok(false));
    assert!(selector_matches("pool in a", l).is_err());
    assert!(selector_matches("a,,b", l).is_err());
}

#[test]
fn exact_counts_and_determinism() {
    for (nodes, pods) in [(0, 0), (1, 3), (3, 40), (10, 200), (12, 1000)] {
        let s = generate(nodes, pods, 7);
        assert_eq!(s.objects("nodes").len(), nodes);
        assert_eq!(s.objects("pods").len(), pods, "nodes={nodes} pods={pods}");
        assert_eq!(s.configz.len(), nodes);
    }
    let a = generate(5, 120, 42).to_json_pretty().unwrap();
    let b = generate(5, 120, 42).to_json_pretty().unwrap();
    assert_eq!(a, b);
    assert_ne!(a, generate(5, 120, 43).to_json_pretty().unwrap());
}

#[test]
fn realistic_content() {
    let s = generate(20, 2000, 1);
    for plural in dockershim_audit::collect::cluster::fetch::resource_names() {
        assert!(!s.objects(plural).is_empty(), "{plural}");
    }
    let text = serde_json::to_string(s.objects("pods")).unwrap();
    let avg = text.len() / s.objects("pods").len();
    assert!((2000..=4500).contains(&avg), "average pod size {avg}");
    assert!(text.contains("/var/run/docker.sock"));
    assert!(text.contains("DOCKER_HOST"));
    assert!(text.contains("/var/lib/docker/containers"));
    assert!(text.contains("docker build"));
    assert!(text.contains("docker://"));
    let runtimes: Vec<&str> = s
        .objects("nodes")
        .iter()
        .filter_map(|n| n.pointer("/status/nodeInfo/containerRuntimeVersion").and_then(Value::as_str))
        .collect();
    assert!(runtimes.iter().any(|r| r.starts_with("docker://")));
    assert!(runtimes.iter().filter(|r| r.starts_with("containerd://")).count() > runtimes.len() / 2);
    // Owner chains: every ReplicaSet-owned pod names an existing ReplicaSet.
    let rs: std::collections::HashSet<&str> =
        s.objects("replicasets").iter().filter_map(|r| r.pointer("/metadata/name").and_then(Value::as_str)).collect();
    for p in s.objects("pods") {
        if p.pointer("/metadata/ownerReferences/0/kind") == Some(&json!("ReplicaSet")) {
            let owner = p.pointer("/metadata/ownerReferences/0/name").and_then(Value::as_str).unwrap();
            assert!(rs.contains(owner), "{owner}");
        }
    }
    // Unique (namespace, name) per resource.
    for (plural, objs) in &s.resources {
        let mut seen = std::collections::HashSet::new();
        for o in objs {
            let key = (o.pointer("/metadata/namespace").cloned(), o.pointer("/metadata/name").cloned());
            assert!(seen.insert(key.clone()), "duplicate {plural} {key:?}");
        }
    }
    assert!(!s.resources.contains_key("secrets"));
}

/// The built-in node file list.
fn builtin_node_files() -> Vec<dockershim_audit::evidence::NodeFile> {
    dockershim_audit::rules::Catalogue::builtin().expect("built-in catalogue").node_files
}

fn fixture(name: &str) -> PathBuf {
    crate::common::fixture("nodes").join(name)
}

#[test]
fn simulated_output_rebuilds_into_the_same_scan() {
    let root = fixture("kubeadm-1.23-docker");
    let ps = patterns(&builtin_node_files());
    let out = simulate_output(&root, &mounts(&ps), &ps);
    let f = parse_frames(&out);
    assert!(f.done && f.errors.is_empty(), "{:?}", f.errors);
    let dir = tempfile::tempdir().unwrap();
    assert!(materialize(dir.path(), &f, "n").is_empty());
    let direct = node::scan(&root, Some("n"), &builtin_node_files());
    let rebuilt = node::scan(dir.path(), Some("n"), &builtin_node_files());
    let key = |ev: &Evidence| -> BTreeSet<String> {
        ev.records
            .iter()
            .map(|r| format!("{:?} {:?} {:?} {}", r.subject, r.location.path, r.location.line, r.snippet))
            .collect()
    };
    assert_eq!(key(&direct), key(&rebuilt));
}

/// The real script under the local `sh` (when there is one with `base64`, `readlink` and `wc`)
/// prints what [`simulate_output`] prints, so the fake API server tells the truth.
#[cfg(unix)]
#[test]
fn script_matches_the_simulation() {
    let have = |tool: &str| {
        std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !["base64", "readlink", "wc"].iter().all(|t| have(t)) {
        eprintln!("skipped: no sh with base64, readlink and wc");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("node");
    for (p, text) in [
        ("etc/docker/daemon.json", "{\"log-driver\": \"json-file\"}\n"),
        ("etc/cron.d/prune", "0 3 * * * root docker system prune -af\n"),
        ("etc/cron.d/.hidden", "x\n"),
        ("etc/cron.d/sub/ignored", "y\n"),
        ("usr/lib/systemd/system/kubelet.service", "[Service]\nExecStart=/usr/bin/kubelet\n"),
        ("opt/bin/big", ""),
        ("etc/crictl.yaml", "runtime-endpoint: unix:///run/containerd/containerd.sock\n"),
    ] {
        let f = root.join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, text).unwrap();
    }
    std::fs::write(root.join("opt/bin/big"), vec![b'a'; (MAX_FILE + 1) as usize]).unwrap();
    std::fs::create_dir_all(root.join("etc/systemd/system")).unwrap();
    std::os::unix::fs::symlink(
        "/usr/lib/systemd/system/kubelet.service",
        root.join("etc/systemd/system/kubelet.service"),
    )
    .unwrap();
    std::os::unix::fs::symlink("prune", root.join("etc/cron.d/again")).unwrap();
    std::os::unix::fs::symlink("../../../../etc/passwd", root.join("etc/cron.d/escape")).unwrap();
    let ps = patterns(&builtin_node_files());
    // Every top-level directory mounted: the script under `sh` sees the whole tree too.
    let m: Vec<Mount> = ["/etc", "/usr", "/opt", "/var", "/lib"]
        .iter()
        .enumerate()
        .map(|(i, p)| Mount { volume: format!("h{i}"), path: p.to_string(), kind: MountKind::Directory })
        .filter(|m| root.join(&m.path[1..]).is_dir())
        .collect();
    let sim = simulate_output(&root, &m, &ps);
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(SCRIPT)
        .arg("collector")
        .args(&ps)
        .env("HOST_ROOT", &root)
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    assert!(out.status.success());
    let real = String::from_utf8(out.stdout).unwrap();
    assert_eq!(real, sim);
    assert!(real.contains("==> SKIPPED"));
    assert!(
        real.contains("==> LINK /etc/systemd/system/kubelet.service\n==> TO /usr/lib/systemd/system/kubelet.service\n")
    );
    assert!(real.contains("==> LINK /etc/cron.d/escape\n==> TO ../../../../etc/passwd\n"));
    assert!(!real.lines().any(|l| l.starts_with("==> BEGIN") && l.contains("passwd")), "{real}");
}

/// The README's demo: the demo snapshot holds configz for 2 of its 9 nodes; served with
/// `--configz-for-every-node`, each other node gets a pool sibling's, the audit reads every node
/// and ends BLOCKED with complete coverage instead of INCOMPLETE. See: issue 13 (README demo).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_fake_serves_configz_for_every_node() {
    let mut snapshot = ClusterSnapshot::load(&crate::common::fixture("demo-cluster/snapshot.json")).unwrap();
    let before = snapshot.configz.clone();
    let filled = fake_apiserver::demo::fill_configz(&mut snapshot);
    assert_eq!(filled.len(), 7, "{filled:?}");
    assert_eq!(snapshot.configz.len(), 9);
    assert!(before.iter().all(|(n, c)| snapshot.configz[n] == *c), "the snapshot's own configz are kept");
    let donor = |node: &str| filled.iter().find(|(n, _)| n == node).map(|(_, d)| d.as_str());
    assert_eq!(donor("acme-eu1-ctrd-4"), Some("acme-eu1-ctrd-1"), "containerd nodes copy a containerd node");
    assert_eq!(donor("acme-eu1-docker-3"), Some("acme-eu1-docker-1"));

    let server = FakeApiServer::start(FakeConfig { snapshot, ..FakeConfig::default() }).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kc).unwrap();
    let args = ["cluster", "--kubeconfig", kc.to_str().unwrap(), "--format", "json"];
    let (code, out, err) = crate::support::run_binary(args.iter().map(|s| s.to_string()).collect()).await;
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{e}: {err}"));
    assert_eq!(v["coverage"]["complete"], true, "{}", v["coverage"]);
    assert_eq!(v["summary"]["verdict"], "BLOCKED");
    assert_eq!(code, 1);
    server.shutdown().await;
}
