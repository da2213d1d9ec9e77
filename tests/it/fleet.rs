//! Fleet audits end to end: several loopback fake API servers (a blocked cluster, a ready one, one
//! that forbids a resource) and a context nothing answers, behind one kubeconfig. Each cluster
//! gets its own verdict, target and coverage; the unreachable one is a gap of the fleet; the exit
//! code is the worst of the clusters.

use std::path::Path;

use dockershim_audit::collect::cluster::snapshot::ClusterSnapshot;
use fake_apiserver::{FakeApiServer, FakeConfig};
use serde_json::Value;

use crate::support::run_binary as run;

async fn serve(fixture: &str, forbid: &[&str]) -> FakeApiServer {
    let cfg = FakeConfig {
        snapshot: ClusterSnapshot::load(&crate::common::fixture(fixture)).unwrap(),
        forbid: forbid.iter().map(|s| s.to_string()).collect(),
        ..FakeConfig::default()
    };
    FakeApiServer::start(cfg).await.unwrap()
}

/// One kubeconfig with a context per (name, server URL).
fn write_kubeconfig(path: &Path, contexts: &[(&str, String)]) {
    let mut clusters = String::new();
    let mut ctxs = String::new();
    for (name, url) in contexts {
        clusters.push_str(&format!("- name: {name}\n  cluster:\n    server: {url}\n"));
        ctxs.push_str(&format!("- name: {name}\n  context:\n    cluster: {name}\n    user: u\n"));
    }
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n{clusters}contexts:\n{ctxs}current-context: {}\n\
         users:\n- name: u\n  user:\n    token: fake-token\n",
        contexts[0].0
    );
    std::fs::write(path, text).unwrap();
}

fn entry<'a>(v: &'a Value, context: &str) -> &'a Value {
    v["fleet"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["context"] == context)
        .unwrap_or_else(|| panic!("{context}: {v:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_gives_each_cluster_its_verdict_and_exits_with_the_worst() {
    let blocked = serve("demo-cluster/snapshot.json", &[]).await;
    let ready = serve("clean-cluster/snapshot.json", &[]).await;
    let forbidden = serve("clean-cluster/snapshot.json", &["configmaps"]).await;
    // A port nothing listens on.
    let refused = crate::common::RefusedPort::new();
    let port = refused.port;
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    write_kubeconfig(
        &kc,
        &[
            ("ready", ready.url()),
            ("blocked", blocked.url()),
            ("forbidden", forbidden.url()),
            ("gone", format!("http://127.0.0.1:{port}")),
        ],
    );
    let kcs = kc.display().to_string();
    let args = |extra: &[&str]| -> Vec<String> {
        ["cluster", "--kubeconfig", &kcs, "--parallel", "3"].iter().chain(extra).map(|s| s.to_string()).collect()
    };

    let (code, stdout, stderr) = run(args(&["--all-contexts", "--format", "json"])).await;
    let v: Value = serde_json::from_slice(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(code, 1, "a blocked cluster trips the gate: {stderr}");
    assert_eq!(v["command"], "fleet");
    assert_eq!(v["exitCode"], 1);
    let order: Vec<&str> = v["fleet"].as_array().unwrap().iter().map(|e| e["context"].as_str().unwrap()).collect();
    assert_eq!(order, ["blocked", "gone", "forbidden", "ready"], "worst first");

    let b = entry(&v, "blocked");
    assert_eq!(b["verdict"], "BLOCKED");
    assert_eq!(b["exitCode"], 1);
    assert!(b["dockerNodes"].as_u64().unwrap() > 0, "{b:#}");
    assert!(b["blockingWorkloads"].as_u64().unwrap() > 0, "{b:#}");
    assert!(!b["report"]["findings"].as_array().unwrap().is_empty());
    // Each cluster resolves its own target: the next minor of its own server.
    assert_eq!(b["target"]["source"], "cluster");
    let server = b["serverVersion"].as_str().unwrap();
    assert!(b["target"]["reason"].as_str().unwrap().contains(server), "{b:#}");

    let r = entry(&v, "ready");
    assert_eq!(
        (r["verdict"].as_str(), r["complete"].as_bool(), r["exitCode"].as_u64()),
        (Some("READY"), Some(true), Some(0))
    );
    assert_eq!(r["dockerNodes"], 0);
    assert_eq!(r["blockingWorkloads"], 0);

    let f = entry(&v, "forbidden");
    assert_eq!((f["complete"].as_bool(), f["exitCode"].as_u64()), (Some(false), Some(3)));
    let gaps = f["report"]["coverage"]["gaps"].as_array().unwrap();
    assert!(gaps.iter().any(|g| g["source"].as_str().unwrap_or("").starts_with("configmaps")), "{gaps:#?}");

    let g = entry(&v, "gone");
    assert_eq!(g["verdict"], "UNREACHABLE");
    assert_eq!((g["complete"].as_bool(), g["exitCode"].as_u64()), (Some(false), Some(3)));
    assert!(g["error"].as_str().unwrap().contains(&format!("127.0.0.1:{port}")), "{g:#}");
    assert!(g.get("report").is_none());

    // Without the blocked cluster nothing trips the gate, but the fleet has blind spots: exit 3.
    let (code, stdout, _) =
        run(args(&["--context", "ready", "--context", "gone", "--context", "forbidden", "--format", "markdown"])).await;
    assert_eq!(code, 3);
    let md = String::from_utf8(stdout).unwrap();
    assert!(md.contains("| [gone](#cluster-gone) |"), "{md}");
    assert!(md.find("[gone]").unwrap() < md.find("[ready]").unwrap(), "worst first: {md}");

    // The ready cluster alone, as a fleet of one, exits 0; the table names every column.
    let (code, stdout, _) = run(args(&["--context", "ready", "--context", "ready", "--format", "table"])).await;
    assert_eq!(code, 0);
    let table = String::from_utf8(stdout).unwrap();
    assert!(table.contains("Blocking workloads") && table.contains("READY"), "{table}");

    // SARIF describes one scan: refused for a fleet, naming what works.
    let (code, _, stderr) = run(args(&["--all-contexts", "--format", "sarif"])).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("fleet"), "{stderr}");

    for s in [blocked, ready, forbidden] {
        s.shutdown().await;
    }
}
