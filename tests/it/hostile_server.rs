//! A misbehaving API server (issue 14, items 7–11, 13, 21): every fault mode of the fake ends in a
//! bounded run whose gaps say what could not be read, never in a hang, a panic or a READY verdict.
//! Sizes are small and timeouts short (passed through the same limits and flags users have), so
//! these stay fast; nothing here measures time.

use crate::common;
use crate::support::{self, Fake, fast_opts};

use std::time::Duration;

use dockershim_audit::collect::cluster::{ClusterSnapshot, FetchOptions, Limits};
use fake_apiserver::{FakeConfig, Fault, Injection};
use serde_json::Value;

/// `fast_opts` with tighter bounds for the hostile modes.
fn tight() -> FetchOptions {
    let base = fast_opts();
    FetchOptions {
        limits: Limits {
            max_pages: 20,
            max_page_bytes: 256 * 1024,
            request_timeout: Duration::from_secs(2),
            retry_budget: Duration::from_secs(3),
            ..base.limits
        },
        ..base
    }
}

fn gap<'a>(snap: &'a ClusterSnapshot, resource: &str) -> &'a dockershim_audit::collect::cluster::Gap {
    snap.gaps
        .iter()
        .find(|g| g.resource == resource)
        .unwrap_or_else(|| panic!("no gap for {resource}: {:?}", snap.gaps))
}

fn requests_to(fake: &Fake, path: &str) -> usize {
    fake.requests().iter().filter(|r| r.path == path).count()
}

// See: issue 14, item 7 (a repeated continue token: 2,000+ requests, no report).
#[tokio::test]
async fn a_repeated_continue_token_is_a_gap_after_two_pages() {
    let fake = Fake::small(|c| c.faults = vec![Fault::RepeatContinue { resource: "pods".into() }]).await;
    let snap = fake.fetch(tight()).await.unwrap();
    let g = gap(&snap, "pods");
    assert!(g.reason.contains("same continue token"), "{}", g.reason);
    assert!(!snap.resources.contains_key("pods"), "a list cut short is not kept as if complete");
    assert_eq!(requests_to(&fake, "/api/v1/pods"), 2);
    assert!(!snap.objects("deployments").is_empty(), "the rest is read");
    fake.server.shutdown().await;
}

// See: issue 14, item 7 (new continue tokens forever).
#[tokio::test]
async fn endless_new_continue_tokens_stop_at_the_page_cap() {
    let fake = Fake::small(|c| c.faults = vec![Fault::EndlessContinue { resource: "deployments".into() }]).await;
    let snap = fake.fetch(tight()).await.unwrap();
    let g = gap(&snap, "deployments");
    assert!(g.reason.contains("after 20 pages"), "{}", g.reason);
    assert_eq!(requests_to(&fake, "/apis/apps/v1/deployments"), 20);
    // The object cap stops it too.
    let opts = FetchOptions { limits: Limits { max_objects: 30, max_pages: 1000, ..tight().limits }, ..tight() };
    let snap = fake.fetch(opts).await.unwrap();
    assert!(gap(&snap, "deployments").reason.contains("after 30 objects"), "{:?}", snap.gaps);
    fake.server.shutdown().await;
}

// See: issue 14, item 8 (`{}`, `items: null` and a Status counted as empty lists: READY).
#[tokio::test]
async fn an_answer_without_items_is_a_gap_not_an_empty_list() {
    let fake = Fake::small(|c| {
        c.faults = vec![
            Fault::NoItems { resource: "pods".into(), body: "{}".into() },
            Fault::NoItems { resource: "daemonsets".into(), body: r#"{"kind":"DaemonSetList","items":null}"#.into() },
            Fault::NoItems {
                resource: "nodes".into(),
                body: r#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"etcd is sad"}"#.into(),
            },
        ]
    })
    .await;
    let snap = fake.fetch(tight()).await.unwrap();
    for r in ["pods", "daemonsets", "nodes"] {
        assert!(gap(&snap, r).reason.contains("no `items` array"), "{r}: {:?}", gap(&snap, r));
        assert!(!snap.resources.contains_key(r), "{r}");
    }
    assert!(gap(&snap, "nodes").reason.contains("etcd is sad"));
    assert_eq!(snap.gaps.len(), 3, "{:?}", snap.gaps);
    fake.server.shutdown().await;
}

// See: issue 14, item 9 (a 2 GiB list took 4.65 GB; an endless body grew for 60 s per attempt).
#[tokio::test]
async fn huge_and_endless_answers_are_cut_at_the_page_cap() {
    let fake = Fake::small(|c| {
        c.faults = vec![
            Fault::HugeBody { resource: "pods".into(), bytes: 300 * 1024 },
            Fault::EndlessBody { resource: "jobs".into() },
        ]
    })
    .await;
    let snap = fake.fetch(tight()).await.unwrap();
    for r in ["pods", "jobs"] {
        let g = gap(&snap, r);
        assert!(g.reason.contains("larger than 256 KiB (--max-page-bytes)"), "{r}: {}", g.reason);
    }
    // Too large is not transient: asked once.
    assert_eq!(requests_to(&fake, "/api/v1/pods"), 1);
    assert_eq!(requests_to(&fake, "/apis/batch/v1/jobs"), 1);
    assert_eq!(snap.gaps.len(), 2, "{:?}", snap.gaps);
    // The same answer under a larger cap is read.
    let opts = FetchOptions { limits: Limits { max_page_bytes: 1024 * 1024, ..tight().limits }, ..tight() };
    let snap = fake.fetch(opts).await.unwrap();
    assert!(snap.gaps.iter().all(|g| g.resource != "pods"), "{:?}", snap.gaps);
    fake.server.shutdown().await;
}

// See: issue 14, item 10 (a stalled body kept a run going 15 minutes).
#[tokio::test]
async fn a_dripping_answer_times_out_within_the_retry_budget() {
    let fake = Fake::small(|c| c.faults = vec![Fault::SlowDrip { resource: "replicasets".into(), every_ms: 50 }]).await;
    let opts = FetchOptions {
        limits: Limits {
            request_timeout: Duration::from_millis(600),
            retry_budget: Duration::from_secs(1),
            ..tight().limits
        },
        ..tight()
    };
    let snap = fake.fetch(opts).await.unwrap();
    assert!(gap(&snap, "replicasets").reason.contains("did not answer in time"), "{:?}", snap.gaps);
    // 0.6 s per attempt against a 1 s budget: the first retry fits, the second does not.
    assert_eq!(requests_to(&fake, "/apis/apps/v1/replicasets"), 2);
    fake.server.shutdown().await;
}

// See: issue 14, item 10 (persistent 429 with a long Retry-After: 36 minutes).
#[tokio::test]
async fn persistent_429_ends_when_the_retry_budget_is_spent() {
    let fake = Fake::small(|c| {
        c.inject = vec![Injection::TooManyRequests { resource: "*".into(), times: u32::MAX, retry_after_secs: 1 }]
    })
    .await;
    let opts = FetchOptions {
        limits: Limits { retry_budget: Duration::from_secs(2), ..tight().limits },
        configz: false,
        ..tight()
    };
    let snap = fake.fetch(opts).await.unwrap();
    assert!(snap.resources.is_empty(), "nothing was read: {:?}", snap.resources.keys());
    let pods = gap(&snap, "pods");
    assert_eq!(pods.http_status, Some(429));
    assert!(pods.reason.contains("retry budget"), "{}", pods.reason);
    assert!(gap(&snap, "version").reason.contains("429"));
    // One try of each of the 21 requests, and at most the two one-second waits the budget allows
    // for the whole run.
    assert!(fake.requests().iter().filter(|r| r.status == 429).count() <= 21 + 2, "{}", fake.requests().len());
    fake.server.shutdown().await;
}

// See: issue 13 and issue 14, item 10 (a kubelet that answers 503 was retried five times per node).
#[tokio::test]
async fn configz_503_is_retried_a_bounded_number_of_times_for_the_whole_run() {
    let mut snapshot = support::small_cluster();
    snapshot.configz.clear();
    let fake = Fake::start(FakeConfig { snapshot, ..FakeConfig::default() }).await;
    let opts = FetchOptions { limits: Limits { configz_retries: 2, ..tight().limits }, ..tight() };
    let snap = fake.fetch(opts).await.unwrap();
    let configz: Vec<_> = fake.requests().into_iter().filter(|r| r.path.ends_with("/proxy/configz")).collect();
    assert_eq!(configz.len(), 4 + 2, "one try per node and two retries in all: {configz:?}");
    assert_eq!(snap.gaps.iter().filter(|g| g.resource == "nodes/proxy" && g.http_status == Some(503)).count(), 4);
    fake.server.shutdown().await;
}

// See: issue 14, item 7 (the collector's node list followed the same endless tokens).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_collectors_node_list_stops_on_a_repeated_token() {
    use dockershim_audit::collect::cluster::collector::{self, CollectorOptions};
    let cfg = FakeConfig {
        snapshot: support::small_cluster(),
        faults: vec![Fault::RepeatContinue { resource: "nodes".into() }],
        ..FakeConfig::default()
    };
    let server =
        fake_apiserver::FakeApiServer::start_with_nodes(cfg, fake_apiserver::NodeSim::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kc).unwrap();
    let c = dockershim_audit::collect::cluster::connect(Some(&kc), None).await.unwrap();
    let opts = CollectorOptions {
        limits: Limits { request_timeout: Duration::from_secs(5), ..Limits::default() },
        ..CollectorOptions::default()
    };
    let r = collector::collect_until(&c.client, &opts, std::future::pending()).await;
    assert!(r.created.is_empty(), "no pod started from a broken node list");
    assert!(r.gaps.iter().any(|g| g.reason.contains("same continue token")), "{:?}", r.gaps);
    assert_eq!(server.requests().iter().filter(|r| r.path == "/api/v1/nodes").count(), 2);
    server.shutdown().await;
}

// See: issue 14, item 10 (`--timeout` bounds the whole run, the collector of --node-files too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_collector_starts_no_pod_once_the_run_timeout_has_passed() {
    use dockershim_audit::collect::cluster::collector::{self, CollectorOptions};
    let cfg = FakeConfig { snapshot: support::small_cluster(), ..FakeConfig::default() };
    let server =
        fake_apiserver::FakeApiServer::start_with_nodes(cfg, fake_apiserver::NodeSim::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kc).unwrap();
    let c = dockershim_audit::collect::cluster::connect(Some(&kc), None).await.unwrap();
    let opts = CollectorOptions {
        limits: Limits {
            run_timeout: Some(Duration::ZERO),
            request_timeout: Duration::from_secs(5),
            ..Limits::default()
        },
        ..CollectorOptions::default()
    };
    let r = collector::collect_until(&c.client, &opts, std::future::pending()).await;
    assert!(r.created.is_empty(), "{:?}", r.created);
    assert_eq!(r.gaps.iter().filter(|g| g.reason.contains("reached its --timeout")).count(), 4, "{:?}", r.gaps);
    server.shutdown().await;
}

/// Runs the real binary against `fake` with `args` after `cluster --kubeconfig KC --format json`;
/// (exit code, JSON result or Null, stderr).
async fn cli(fake: &Fake, args: &[&str]) -> (i32, Value, String) {
    let mut argv: Vec<String> = vec!["cluster".into(), "--kubeconfig".into(), fake.kubeconfig.display().to_string()];
    argv.extend(["--format".into(), "json".into()]);
    argv.extend(args.iter().map(|s| s.to_string()));
    tokio::task::spawn_blocking(move || {
        let out = common::bin().args(&argv).output().unwrap();
        let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.code().unwrap_or(-1), v, String::from_utf8_lossy(&out.stderr).into_owned())
    })
    .await
    .unwrap()
}

fn gap_sources(v: &Value) -> Vec<String> {
    v["coverage"]["gaps"]
        .as_array()
        .map(|a| a.iter().map(|g| format!("{} {}", g["source"], g["reason"])).collect())
        .unwrap_or_default()
}

/// Every fault mode, on every request, through the binary and its flags: a bounded run that ends
/// in exit 3 with the gap named (nothing was read, so nothing can trip the gate), or in exit 2
/// when even `/version` cannot be read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_mode_ends_in_exit_2_or_3_through_the_cli() {
    let all = || "*".to_string();
    let modes: Vec<(Fault, i32, &str)> = vec![
        (Fault::RepeatContinue { resource: all() }, 3, "same continue token"),
        (Fault::EndlessContinue { resource: all() }, 3, "--timeout"),
        (Fault::NoItems { resource: all(), body: "{}".into() }, 3, "no `items` array"),
        (Fault::NoItems { resource: all(), body: r#"{"items":null}"#.into() }, 3, "no `items` array"),
        (Fault::HugeBody { resource: all(), bytes: 300_000 }, 3, "--max-page-bytes"),
        (Fault::EndlessBody { resource: all() }, 3, "--max-page-bytes"),
        (Fault::SlowDrip { resource: all(), every_ms: 100 }, 2, "--request-timeout"),
    ];
    // The modes run at once, each against its own server: every run waits on its own bounds
    // (most of the test's time), so one after another they took the sum of those waits.
    let runs = modes.into_iter().map(|(fault, expected, says)| async move {
        let fake = Fake::small(|c| c.faults = vec![fault.clone()]).await;
        // The slow drip must meet the request's bound, not the run's: `/version` is retried after
        // each 1 s timeout, and with a 4 s run the last retry raced the run's deadline (which one
        // came first depended on the backoff's jitter and the machine's load; a CI run lost it).
        let run = if matches!(fault, Fault::SlowDrip { .. }) { "60s" } else { "4s" };
        let flags = ["--timeout", run, "--request-timeout", "1s", "--max-page-bytes", "262144", "--page-size", "25"];
        let (code, v, stderr) = cli(&fake, &flags).await;
        fake.server.shutdown().await;
        (fault, expected, says, code, v, stderr)
    });
    for (fault, expected, says, code, v, stderr) in futures::future::join_all(runs).await {
        assert_eq!(code, expected, "{fault:?}: {stderr}");
        if expected == 3 {
            let gaps = gap_sources(&v);
            assert!(gaps.iter().any(|g| g.contains(says)), "{fault:?}: {gaps:?}");
            let verdict = v["summary"]["verdictText"].as_str().unwrap_or("");
            assert!(!verdict.starts_with("READY"), "{fault:?}: {verdict}");
        } else {
            assert!(stderr.contains(says), "{fault:?}: {stderr}");
        }
    }
}

// See: issue 14, items 10 and 21 (the 429 run printed "READY (89)" after 36 minutes, silently).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_read_nothing_is_not_ready_and_says_why_it_waits() {
    let fake = Fake::small(|c| {
        c.inject = vec![Injection::TooManyRequests { resource: "*".into(), times: u32::MAX, retry_after_secs: 6 }]
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("table.txt");
    let (code, v, stderr) =
        cli(&fake, &["--timeout", "8s", "--no-configz", "--format", "table", "-o", out.to_str().unwrap()]).await;
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("still waiting for") && stderr.contains("retrying in"), "{stderr}");
    assert!(stderr.lines().filter(|l| l.contains("still waiting")).count() <= 3, "rate-limited: {stderr}");
    let table = std::fs::read_to_string(&out).unwrap();
    assert!(table.lines().next().unwrap().contains("INCOMPLETE, not READY: nothing was read"), "{table}");
    assert!(v["coverage"]["gaps"].as_array().is_some_and(|g| !g.is_empty()));
    fake.server.shutdown().await;
}

// See: issue 14, item 11 (a huge minor wrapped the target to 1.0; the debug build panicked).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overflowing_server_version_is_a_gap_and_the_target_falls_back() {
    for version in ["v1.18446744073709551615.0", "v1.99999999999999999999999.0", "banana"] {
        let fake = Fake::small(|c| c.server_version = Some(version.into())).await;
        let (code, v, stderr) = cli(&fake, &["--request-timeout", "5s"]).await;
        assert!(code == 1 || code == 3, "{version}: {code} {stderr}");
        assert!(gap_sources(&v).iter().any(|g| g.contains("/version") && g.contains("not a usable")), "{version}");
        let source = v["target"]["source"].as_str().unwrap();
        assert!(source == "declared" || source == "newest-known", "{version}: {}", v["target"]);
        assert_ne!(v["target"]["version"], "1.0");
        fake.server.shutdown().await;
    }
}

// See: issue 14, item 13 (a snapshot with pods only, a Status object or an empty List: READY).
#[test]
fn a_snapshot_lacking_whole_kinds_lists_them_and_is_never_ready() {
    let dir = tempfile::tempdir().unwrap();
    let pod = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-1","namespace":"web"},
        "spec":{"containers":[{"name":"web","image":"nginx:1.25"}]}}"#;
    let cases = [
        (
            "pods-only.json",
            format!(r#"{{"apiVersion":"v1","kind":"List","items":[{pod}]}}"#),
            vec!["nodes", "configmaps"],
        ),
        (
            "empty.json",
            r#"{"apiVersion":"v1","kind":"List","items":[]}"#.to_string(),
            vec!["nodes", "pods", "configmaps"],
        ),
        (
            "status.json",
            r#"{"apiVersion":"v1","kind":"Status","status":"Failure","message":"pods is forbidden","code":403}"#
                .to_string(),
            vec!["snapshot", "nodes", "pods"],
        ),
    ];
    for (name, text, missing) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let (code, out) =
            common::run_in_process(&["cluster", "--snapshot", path.to_str().unwrap(), "--format", "json"]);
        assert_eq!(code, 3, "{name}: {out}");
        let v: Value = serde_json::from_str(&out).unwrap();
        let gaps = gap_sources(&v);
        for m in missing {
            assert!(gaps.iter().any(|g| g.starts_with(&format!("\"{m}"))), "{name}: {m} not in {gaps:?}");
        }
        let verdict = v["summary"]["verdictText"].as_str().unwrap_or("");
        assert!(!verdict.starts_with("READY"), "{name}: {verdict}");
    }
}
