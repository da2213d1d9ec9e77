//! `KUBECONFIG` naming several files, as kubectl reads it: the files are merged (the first to set
//! a value or a named cluster, user or context wins) and entries naming no file are skipped.
//! See: issue 13 ("`KUBECONFIG` with several files skips missing entries as kubectl does").
//!
//! Place in the pipeline: the cluster client's kubeconfig loading, through the real binary
//! against the loopback fake API server.

use std::path::Path;

use dockershim_audit::collect::cluster::snapshot::ClusterSnapshot;
use fake_apiserver::{FakeApiServer, FakeConfig};

use crate::common::fixture;

/// The contexts file: `prod` (current) on cluster `fake`; no cluster or user of its own.
const CONTEXTS: &str = "\
apiVersion: v1
kind: Config
current-context: prod
contexts:
- name: prod
  context:
    cluster: fake
    user: auditor
";

/// The credentials file: cluster `fake` and user `auditor`, plus a `prod` context and a current
/// context of its own that must lose to the first file's.
fn credentials(server: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: staging\nclusters:\n- name: fake\n  cluster:\n    server: {server}\n\
         - name: elsewhere\n  cluster:\n    server: https://127.0.0.1:9\nusers:\n- name: auditor\n  user:\n    token: \
         read-only\ncontexts:\n- name: prod\n  context:\n    cluster: elsewhere\n    user: auditor\n- name: staging\n  \
         context:\n    cluster: elsewhere\n    user: auditor\n"
    )
}

/// `cluster ARGS --format json` with `KUBECONFIG` set and no `~/.kube/config`: (exit code, stdout, stderr).
async fn run(kubeconfig: String, home: &Path, args: &[&str]) -> (i32, String, String) {
    let home = home.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let out = assert_cmd::Command::cargo_bin("dockershim-audit")
            .unwrap()
            .env("KUBECONFIG", kubeconfig)
            .env(crate::common::FAST_WAITS.0, crate::common::FAST_WAITS.1)
            .env("HOME", &home)
            .arg("cluster")
            .args(&args)
            .args(["--format", "json"])
            .output()
            .unwrap();
        let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
        (out.status.code().unwrap_or(-1), text(out.stdout), text(out.stderr))
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_kubeconfig_files_merge_and_a_missing_one_is_skipped() {
    let snapshot = ClusterSnapshot::load(&fixture("demo-cluster/snapshot.json")).unwrap();
    let server = FakeApiServer::start(FakeConfig { snapshot, ..FakeConfig::default() }).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (contexts, creds) = (dir.path().join("contexts.yaml"), dir.path().join("credentials.yaml"));
    std::fs::write(&contexts, CONTEXTS).unwrap();
    std::fs::write(&creds, credentials(&server.url())).unwrap();
    let missing = dir.path().join("gone/config");
    let list = std::env::join_paths([&contexts, &missing, &creds]).unwrap().into_string().unwrap();
    // An empty entry too (`a::b`), which kubectl ignores.
    let list = format!("{list}{}", if cfg!(windows) { ";" } else { ":" });

    let (code, out, err) = run(list.clone(), dir.path(), &[]).await;
    assert_eq!(code, 1, "audited (the demo cluster blocks): {err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["target"]["source"], "cluster", "the fake's /version was read: {}", v["target"]);
    assert!(!v["findings"].as_array().unwrap().is_empty());
    // The first file's current context and its `prod` won: the fake was reached, not `elsewhere`.
    assert!(server.requests().iter().any(|r| r.path == "/version"), "the fake answered");

    // A context only the second file names is found too.
    let (code, _, err) = run(list, dir.path(), &["--context", "staging"]).await;
    assert_eq!(code, 2, "staging points at a closed port: {err}");
    assert!(err.contains("127.0.0.1:9"), "{err}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kubeconfig_list_naming_no_existing_file_is_an_error_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.yaml"), dir.path().join("b.yaml"));
    let list = std::env::join_paths([&a, &b]).unwrap().into_string().unwrap();
    let (code, out, err) = run(list, dir.path(), &[]).await;
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("none of the kubeconfig files KUBECONFIG names exists"), "{err}");
    assert!(err.contains(&a.display().to_string()) && err.contains(&b.display().to_string()), "{err}");
    // A file that exists but is not a kubeconfig is named.
    std::fs::write(&b, "clusters: [\n").unwrap();
    let list = std::env::join_paths([&a, &b]).unwrap().into_string().unwrap();
    let (code, _, err) = run(list, dir.path(), &[]).await;
    assert_eq!(code, 2);
    assert!(err.contains(&format!("cannot read kubeconfig {}", b.display())), "{err}");
}
