//! The cluster collector against the fake API server: real HTTP, real kube client through a
//! generated kubeconfig, and (when installed) the real kubectl. Test support only: it must not reach
//! anything but 127.0.0.1 (no real cluster, no internet).

use crate::support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use dockershim_audit::collect::cluster::{ClusterSnapshot, FetchOptions, Limits, RESOURCES, client_from};
use fake_apiserver::{FakeConfig, Injection, synth};
use serde_json::{Value, json};
use support::{Fake, assert_read_only, fast_opts, keys, paths_starting, small_cluster};

#[tokio::test]
async fn fetch_reads_every_kind_through_a_kubeconfig() {
    let fake = Fake::small(|_| {}).await;
    let snap = fake.fetch(fast_opts()).await.expect("fetch");
    let expected = small_cluster();

    assert!(snap.gaps.is_empty(), "gaps: {:?}", snap.gaps);
    assert!(snap.skipped.is_empty(), "skipped: {:?}", snap.skipped);
    assert_eq!(snap.context.as_deref(), Some("fake"));
    assert!(snap.captured_at.is_some());
    assert_eq!(snap.server_version.as_ref().and_then(|v| v.get("gitVersion")), Some(&json!("v1.23.17")));
    for res in RESOURCES.iter() {
        assert!(!snap.objects(res.plural).is_empty(), "{} empty", res.plural);
        for o in snap.objects(res.plural) {
            assert_eq!(o["kind"], res.kind, "{}", res.plural);
            assert_eq!(o["apiVersion"], res.api_version(), "{}", res.plural);
        }
        if res.plural != "configmaps" {
            assert_eq!(keys(&snap, res.plural), keys(&expected, res.plural), "{}", res.plural);
        }
    }
    // Objects arrive intact.
    let pod = &snap.objects("pods")[0];
    let name = pod.pointer("/metadata/name").unwrap();
    let original = expected.objects("pods").iter().find(|p| p.pointer("/metadata/name") == Some(name)).unwrap();
    assert_eq!(pod, original);
    // Only the interesting ConfigMaps are kept.
    let cms: BTreeSet<(String, String)> = keys(&snap, "configmaps").into_iter().collect();
    for keep in ["kubeadm-config", "kubelet-config-1.23"] {
        assert!(cms.contains(&("kube-system".to_string(), keep.to_string())), "{keep}");
    }
    assert!(cms.contains(&("logging".to_string(), "fluent-bit-config".to_string())));
    assert!(cms.contains(&("monitoring".to_string(), "prometheus-container-rules".to_string())));
    assert!(cms.contains(&("monitoring".to_string(), "grafana-dashboard-nodes".to_string())));
    assert!(!cms.iter().any(|(_, n)| n == "kube-root-ca.crt" || n.ends_with("-app-config") || n == "coredns"));
    // configz for every node.
    assert_eq!(snap.configz.len(), 4);
    assert!(snap.configz.values().all(|v| v.get("kubeletconfig").is_some()));
    fake.server.shutdown().await;
}

#[tokio::test]
async fn lists_are_paginated_with_limit_and_continue() {
    let fake = Fake::small(|_| {}).await;
    let snap = fake.fetch(fast_opts()).await.unwrap();
    assert_eq!(snap.objects("pods").len(), 120);
    let log = fake.requests();
    let pods = paths_starting(&log, "/api/v1/pods");
    assert!(pods.iter().all(|r| r.has_param("limit")), "{pods:?}");
    assert_eq!(pods.iter().filter(|r| r.has_param("continue")).count(), 4, "120 pods in pages of 25: {pods:?}");
    assert_eq!(pods.len(), 5);
    fake.server.shutdown().await;
}

#[tokio::test]
async fn requests_are_read_only_and_never_single_object_gets() {
    let fake = Fake::small(|_| {}).await;
    fake.fetch(fast_opts()).await.unwrap();
    let log = fake.requests();
    assert_read_only(&log);
    let posts: Vec<_> = log.iter().filter(|r| r.method == "POST").collect();
    assert_eq!(posts.len(), RESOURCES.len() + 1, "one review per list and one for nodes/proxy");
    for r in &log {
        let segs: Vec<&str> = r.path.trim_matches('/').split('/').collect();
        let single_namespaced =
            segs.len() == 6 && segs[2] == "namespaces" || segs.len() == 7 && segs[3] == "namespaces";
        assert!(!single_namespaced, "single-object GET: {r:?}");
        assert!(!r.path.contains("secrets"), "{r:?}");
        let is_proxy = r.path.ends_with("/proxy/configz");
        assert!(!r.path.starts_with("/api/v1/nodes/") || is_proxy, "single node GET: {r:?}");
    }
    fake.server.shutdown().await;
}

#[tokio::test]
async fn forbidden_resources_become_gaps_and_the_rest_is_fetched() {
    let fake = Fake::small(|c| c.forbid = vec!["nodes".into(), "configmaps".into()]).await;
    let snap = fake.fetch(fast_opts()).await.unwrap();
    let gap = |r: &str| snap.gaps.iter().find(|g| g.resource == r).unwrap_or_else(|| panic!("no gap for {r}"));
    assert_eq!(gap("nodes").missing_permission.as_deref(), Some("list nodes (core) at cluster scope"));
    assert_eq!(gap("configmaps").missing_permission.as_deref(), Some("list configmaps (core) at cluster scope"));
    assert_eq!(snap.gaps.len(), 2, "{:?}", snap.gaps);
    assert!(!snap.resources.contains_key("nodes"));
    for plural in ["pods", "deployments", "daemonsets", "statefulsets", "replicasets", "jobs", "cronjobs"] {
        assert!(!snap.objects(plural).is_empty(), "{plural}");
    }
    // Denied by the access review, so never listed.
    let log = fake.requests();
    assert!(paths_starting(&log, "/api/v1/nodes").is_empty(), "{log:?}");
    assert!(paths_starting(&log, "/api/v1/configmaps").is_empty());
    // configz needs node names.
    assert!(snap.configz.is_empty());
    assert!(snap.skipped.iter().any(|s| s.resource == "nodes/proxy" && s.reason.contains("node list")));
    fake.server.shutdown().await;
}

#[tokio::test]
async fn a_403_on_the_list_itself_becomes_a_gap_when_reviews_are_unavailable() {
    let fake = Fake::small(|c| c.forbid = vec!["selfsubjectaccessreviews".into(), "pods".into()]).await;
    let snap = fake.fetch(fast_opts()).await.unwrap();
    let gap = snap.gaps.iter().find(|g| g.resource == "pods").expect("pods gap");
    assert_eq!(gap.http_status, Some(403));
    assert_eq!(gap.missing_permission.as_deref(), Some("list pods (core) at cluster scope"));
    assert!(gap.reason.contains("cannot list resource \"pods\""), "{}", gap.reason);
    assert_eq!(snap.gaps.len(), 1);
    assert_eq!(snap.objects("nodes").len(), 4);
    // Without a review, configz is not read (nodes/proxy is not read-only).
    assert!(snap.configz.is_empty());
    assert!(snap.skipped.iter().any(|s| s.resource == "nodes/proxy" && s.reason.contains("could not confirm")));
    assert!(fake.requests().iter().all(|r| !r.path.ends_with("/configz")));
    fake.server.shutdown().await;
}

#[tokio::test]
async fn an_expired_continue_token_restarts_the_list() {
    let fake = Fake::small(|c| c.inject = vec![Injection::ExpireContinue { resource: "pods".into(), times: 1 }]).await;
    let snap = fake.fetch(fast_opts()).await.unwrap();
    assert_eq!(keys(&snap, "pods"), keys(&small_cluster(), "pods"), "complete, without duplicates");
    assert!(snap.gaps.is_empty());
    let log = fake.requests();
    let pods = paths_starting(&log, "/api/v1/pods");
    let gone = pods.iter().position(|r| r.status == 410).expect("a 410");
    assert!(pods[gone].has_param("continue"));
    assert!(!pods[gone + 1].has_param("continue"), "restarted from the beginning: {pods:?}");
    assert_eq!(pods.len(), 2 + 5);
    fake.server.shutdown().await;
}

#[tokio::test]
async fn a_continue_token_that_keeps_expiring_ends_in_a_gap() {
    let fake =
        Fake::small(|c| c.inject = vec![Injection::ExpireContinue { resource: "pods".into(), times: 100 }]).await;
    let snap = fake.fetch(fast_opts()).await.unwrap();
    let gap = snap.gaps.iter().find(|g| g.resource == "pods").expect("pods gap");
    assert_eq!(gap.http_status, Some(410));
    assert!(!snap.resources.contains_key("pods"));
    assert!(!snap.objects("deployments").is_empty());
    fake.server.shutdown().await;
}

#[tokio::test]
async fn too_many_requests_is_retried_after_retry_after() {
    let fake = Fake::small(|c| {
        c.inject = vec![Injection::TooManyRequests { resource: "pods".into(), times: 1, retry_after_secs: 1 }]
    })
    .await;
    let start = Instant::now();
    let snap = fake.fetch(fast_opts()).await.unwrap();
    assert!(start.elapsed() >= Duration::from_secs(1), "Retry-After honoured");
    assert_eq!(snap.objects("pods").len(), 120);
    assert!(snap.gaps.is_empty());
    assert_eq!(fake.requests().iter().filter(|r| r.status == 429).count(), 1);
    fake.server.shutdown().await;
}

#[tokio::test]
async fn server_errors_are_retried() {
    let fake = Fake::small(|c| {
        c.inject = vec![
            Injection::ServerError { resource: "deployments".into(), times: 2, status: 503 },
            Injection::ServerError { resource: "nodes".into(), times: 2, status: 500 },
            Injection::ServerError { resource: "version".into(), times: 1, status: 504 },
        ]
    })
    .await;
    let snap = fake.fetch(fast_opts()).await.unwrap();
    assert!(snap.gaps.is_empty(), "{:?}", snap.gaps);
    assert_eq!(keys(&snap, "deployments"), keys(&small_cluster(), "deployments"));
    assert_eq!(snap.objects("nodes").len(), 4);
    assert_eq!(fake.requests().iter().filter(|r| r.status >= 500).count(), 5);
    fake.server.shutdown().await;
}

#[tokio::test]
async fn persistent_server_errors_become_a_gap_after_max_retries() {
    let fake =
        Fake::small(|c| c.inject = vec![Injection::ServerError { resource: "jobs".into(), times: 100, status: 500 }])
            .await;
    let snap = fake.fetch(fast_opts()).await.unwrap();
    let gap = snap.gaps.iter().find(|g| g.resource == "jobs").expect("jobs gap");
    assert_eq!(gap.http_status, Some(500));
    assert!(gap.missing_permission.is_none());
    let attempts = fake.requests().iter().filter(|r| r.path == "/apis/batch/v1/jobs").count();
    assert_eq!(attempts, 1 + 3, "one try and max_retries retries");
    assert!(!snap.objects("pods").is_empty());
    fake.server.shutdown().await;
}

#[tokio::test]
async fn a_dropped_connection_is_retried() {
    let fake = Fake::small(|c| c.inject = vec![Injection::DropConnection { resource: "pods".into(), times: 2 }]).await;
    let snap = fake.fetch(fast_opts()).await.unwrap();
    assert!(snap.gaps.is_empty(), "{:?}", snap.gaps);
    assert_eq!(keys(&snap, "pods"), keys(&small_cluster(), "pods"));
    assert_eq!(fake.requests().iter().filter(|r| r.status == 0).count(), 2);
    fake.server.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_server_is_an_error_quickly() {
    let refused = crate::common::RefusedPort::new();
    let port = refused.port;
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    let url = format!("http://127.0.0.1:{port}");
    support::write_kubeconfig(&kc, &url, "t");
    let start = Instant::now();
    let err = support::fetch_through(&kc, fast_opts()).await.expect_err("unreachable");
    assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
    let msg = format!("{err:#}");
    assert!(msg.contains(&url), "{msg}");
    assert!(msg.contains("cannot reach"), "{msg}");
}

#[tokio::test]
async fn rejected_credentials_are_an_error() {
    let fake = Fake::small(|c| c.token = Some("right-token".into())).await;
    let kc = fake.dir.path().join("wrong");
    fake.server.write_kubeconfig_with_token(&kc, "expired-token").unwrap();
    let err = support::fetch_through(&kc, fast_opts()).await.expect_err("401");
    let msg = format!("{err:#}");
    assert!(msg.contains("credentials rejected or expired"), "{msg}");
    assert!(msg.contains(&fake.server.url()), "{msg}");
    // The right token works.
    assert!(fake.fetch(fast_opts()).await.is_ok());
    fake.server.shutdown().await;
}

#[tokio::test]
async fn cronjobs_fall_back_to_batch_v1beta1() {
    let fake = Fake::small(|c| {
        c.cronjob_v1beta1_only = true;
        c.server_version = Some("v1.20.15".into());
    })
    .await;
    let snap = fake.fetch(fast_opts()).await.unwrap();
    assert!(snap.gaps.is_empty(), "{:?}", snap.gaps);
    let cjs = snap.objects("cronjobs");
    assert_eq!(cjs.len(), small_cluster().objects("cronjobs").len());
    assert!(cjs.iter().all(|c| c["apiVersion"] == "batch/v1beta1" && c["kind"] == "CronJob"));
    assert_eq!(snap.server_version.as_ref().and_then(|v| v.get("gitVersion")), Some(&json!("v1.20.15")));
    let log = fake.requests();
    assert!(log.iter().any(|r| r.path == "/apis/batch/v1beta1/cronjobs" && r.status == 200));
    assert!(!log.iter().any(|r| r.path == "/apis/batch/v1/cronjobs"));
    fake.server.shutdown().await;
}

#[tokio::test]
async fn configz_is_skipped_when_nodes_proxy_is_forbidden() {
    let fake = Fake::small(|c| c.forbid = vec!["nodes/proxy".into()]).await;
    let snap = fake.fetch(fast_opts()).await.unwrap();
    assert!(snap.gaps.is_empty());
    assert!(snap.configz.is_empty());
    let skip = snap.skipped.iter().find(|s| s.resource == "nodes/proxy").expect("skipped");
    assert_eq!(skip.missing_permission.as_deref(), Some("get nodes/proxy (core) at cluster scope"));
    assert!(skip.reason.contains("not read-only"), "{}", skip.reason);
    assert!(fake.requests().iter().all(|r| !r.path.contains("/proxy/")));
    assert_eq!(snap.objects("nodes").len(), 4);
    fake.server.shutdown().await;
}

#[tokio::test]
async fn no_configz_option_skips_the_review_and_the_reads() {
    let fake = Fake::small(|_| {}).await;
    let snap = fake.fetch(FetchOptions { configz: false, ..fast_opts() }).await.unwrap();
    assert!(snap.configz.is_empty());
    assert!(snap.skipped.iter().any(|s| s.resource == "nodes/proxy" && s.reason.contains("--no-configz")));
    let log = fake.requests();
    assert!(log.iter().all(|r| !r.path.contains("/proxy/")));
    assert_eq!(log.iter().filter(|r| r.method == "POST").count(), RESOURCES.len());
    fake.server.shutdown().await;
}

#[tokio::test]
async fn namespaces_restrict_namespaced_lists() {
    let fake = Fake::small(|_| {}).await;
    let opts = FetchOptions { namespaces: Some(vec!["kube-system".into(), "web".into()]), ..fast_opts() };
    let snap = fake.fetch(opts).await.unwrap();
    assert!(snap.gaps.is_empty(), "{:?}", snap.gaps);
    assert_eq!(snap.objects("nodes").len(), 4);
    let pods = keys(&snap, "pods");
    assert!(!pods.is_empty());
    assert!(pods.iter().all(|(ns, _)| ns == "kube-system" || ns == "web"));
    let expected: Vec<_> =
        keys(&small_cluster(), "pods").into_iter().filter(|(ns, _)| ns == "kube-system" || ns == "web").collect();
    assert_eq!(pods, expected);
    let log = fake.requests();
    assert!(log.iter().any(|r| r.path == "/api/v1/namespaces/web/pods"));
    assert!(log.iter().any(|r| r.path == "/apis/apps/v1/namespaces/kube-system/daemonsets"));
    assert!(!log.iter().any(|r| r.path == "/api/v1/pods"));
    fake.server.shutdown().await;
}

#[tokio::test]
async fn a_namespace_scoped_audit_still_reads_the_cluster_configmaps() {
    let fake = Fake::small(|_| {}).await;
    let opts = FetchOptions { namespaces: Some(vec!["web".into()]), ..fast_opts() };
    let snap = fake.fetch(opts).await.unwrap();
    assert!(snap.gaps.is_empty() && snap.skipped.is_empty(), "{:?} {:?}", snap.gaps, snap.skipped);
    let cms = keys(&snap, "configmaps");
    assert!(cms.iter().any(|(ns, name)| ns == "kube-system" && name == "kubeadm-config"), "{cms:?}");
    assert!(keys(&snap, "pods").iter().all(|(ns, _)| ns == "web"));
    let log = fake.requests();
    assert!(log.iter().any(|r| r.path == "/api/v1/namespaces/kube-system/configmaps"));
    assert!(!log.iter().any(|r| r.path == "/api/v1/namespaces/kube-system/pods"));
    fake.server.shutdown().await;

    // Not allowed: the extra read is recorded as skipped (with the permission), while the
    // configmaps of the namespace the user asked for stay a gap.
    let fake = Fake::small(|c| c.forbid = vec!["configmaps".into()]).await;
    let opts = FetchOptions { namespaces: Some(vec!["web".into()]), ..fast_opts() };
    let snap = fake.fetch(opts).await.unwrap();
    let skipped: Vec<_> = snap.skipped.iter().filter(|g| g.resource == "configmaps").collect();
    assert_eq!(skipped.len(), 1, "{:?}", snap.skipped);
    assert_eq!(skipped[0].namespace.as_deref(), Some("kube-system"));
    assert!(skipped[0].missing_permission.as_deref().unwrap_or("").contains("kube-system"), "{:?}", skipped[0]);
    let gaps: Vec<_> = snap.gaps.iter().filter(|g| g.resource == "configmaps").collect();
    assert_eq!(gaps.len(), 1, "{:?}", snap.gaps);
    assert_eq!(gaps[0].namespace.as_deref(), Some("web"));
    fake.server.shutdown().await;
}

#[tokio::test]
async fn a_filter_reduces_objects_as_they_arrive() {
    let fake = Fake::small(|_| {}).await;
    let c = dockershim_audit::collect::cluster::connect(Some(&fake.kubeconfig), None).await.unwrap();
    let keep = |plural: &str, mut obj: Value| -> Option<Value> {
        if plural == "replicasets" {
            return None;
        }
        if let Some(o) = obj.as_object_mut() {
            o.remove("status");
        }
        Some(obj)
    };
    let snap = dockershim_audit::collect::cluster::fetch_filtered(&c.client, &fast_opts(), &keep).await.unwrap();
    assert!(snap.objects("replicasets").is_empty());
    assert_eq!(snap.objects("pods").len(), 120);
    assert!(snap.objects("pods").iter().all(|p| p.get("status").is_none() && p["kind"] == "Pod"));
    fake.server.shutdown().await;
}

#[tokio::test]
async fn snapshot_save_and_load_roundtrip() {
    let fake = Fake::small(|c| c.forbid = vec!["nodes/proxy".into()]).await;
    let snap = fake.fetch(fast_opts()).await.unwrap();
    let path = fake.dir.path().join("snapshot.json");
    snap.save(&path, dockershim_audit::output_file::Policy::default()).unwrap();
    let loaded = ClusterSnapshot::load(&path).unwrap();
    assert_eq!(loaded.to_json_pretty().unwrap(), snap.to_json_pretty().unwrap());
    assert_eq!(loaded.skipped, snap.skipped);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("{\n  \"apiVersion\": \"dockershim-audit/v1\",\n  \"kind\": \"ClusterSnapshot\""));
    // A loaded snapshot can be served again and fetched to the same objects.
    let again = Fake::start(FakeConfig { snapshot: loaded, ..FakeConfig::default() }).await;
    let refetched = again.fetch(fast_opts()).await.unwrap();
    for res in RESOURCES.iter() {
        assert_eq!(refetched.objects(res.plural), snap.objects(res.plural), "{}", res.plural);
    }
    fake.server.shutdown().await;
    again.server.shutdown().await;
}

#[test]
fn a_kubectl_list_loads_by_kind() {
    let cluster = synth::generate(2, 30, 3);
    let mut items: Vec<Value> = Vec::new();
    for res in RESOURCES.iter() {
        items.extend(cluster.objects(res.plural).iter().cloned());
    }
    items.push(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "web"}, "data": {"password": "aHVudGVyMg=="}}));
    items.push(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "web"}}));
    let list = json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items});
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dump.json");
    std::fs::write(&path, serde_json::to_string_pretty(&list).unwrap()).unwrap();
    let (snap, summary) = ClusterSnapshot::load_with_summary(&path).unwrap();
    for res in RESOURCES.iter() {
        assert_eq!(snap.objects(res.plural), cluster.objects(res.plural), "{}", res.plural);
    }
    assert_eq!(summary.secrets_dropped, 1);
    assert_eq!(summary.ignored_kinds.get("Service"), Some(&1));
    assert!(!snap.to_json_pretty().unwrap().contains("aHVudGVyMg=="));
    // Errors name the file.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{ not json").unwrap();
    let msg = format!("{:#}", ClusterSnapshot::load(&bad).unwrap_err());
    assert!(msg.contains("bad.json"), "{msg}");
}

#[tokio::test]
async fn client_from_explains_bad_kubeconfigs() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.yaml");
    let msg = format!("{:#}", client_from(Some(&missing), None).await.err().expect("missing file"));
    assert!(msg.contains("not found") && msg.contains("nope.yaml"), "{msg}");

    let kc = dir.path().join("kc.yaml");
    support::write_kubeconfig(&kc, "http://127.0.0.1:9", "t");
    let msg = format!("{:#}", client_from(Some(&kc), Some("prod")).await.err().expect("bad context"));
    assert!(msg.contains("\"prod\"") && msg.contains("ctx"), "{msg}");

    let (_, ctx) = client_from(Some(&kc), None).await.unwrap();
    assert_eq!(ctx.as_deref(), Some("ctx"));
}

/// The real kubectl against the fake: it must behave like an API server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_kubectl_lists_pods_from_the_fake() {
    let Ok(version) = std::process::Command::new("kubectl").args(["version", "--client"]).output() else {
        println!("skipped: kubectl not installed");
        return;
    };
    if !version.status.success() {
        println!("skipped: kubectl not installed");
        return;
    }
    let expected = synth::generate(3, 620, 11);
    let fake = Fake::start(FakeConfig { snapshot: expected.clone(), ..FakeConfig::default() }).await;
    let kc = fake.kubeconfig.clone();
    let cache = fake.dir.path().join("kube-cache");
    let run = move |args: Vec<String>| {
        let kc = kc.clone();
        let cache = cache.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new("kubectl")
                .args(&args)
                .arg("--kubeconfig")
                .arg(&kc)
                .arg("--cache-dir")
                .arg(&cache)
                .arg("--request-timeout=20s")
                .output()
                .expect("kubectl runs")
        })
    };
    let out = run(vec!["get".into(), "pods".into(), "-A".into(), "-o".into(), "json".into()]).await.unwrap();
    assert!(out.status.success(), "kubectl failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let snap = ClusterSnapshot::from_json(&text).expect("kubectl output loads");
    assert_eq!(snap.objects("pods").len(), 620);
    assert_eq!(keys(&snap, "pods"), keys(&expected, "pods"));
    let log = fake.requests();
    assert!(log.iter().any(|r| r.path == "/api/v1/pods" && r.has_param("continue")), "kubectl paginated");

    // Human output goes through the Table form.
    let out = run(vec!["get".into(), "nodes".into()]).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("control-plane-0001") && text.contains("docker://"), "{text}");

    // A single object, as kubectl fetches it.
    let pod = &snap.objects("pods")[0];
    let (ns, name) = (pod["metadata"]["namespace"].as_str().unwrap(), pod["metadata"]["name"].as_str().unwrap());
    let out = run(vec!["get".into(), "pod".into(), "-n".into(), ns.into(), name.into(), "-o".into(), "json".into()])
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(&got, pod);
    fake.server.shutdown().await;
}

/// Scale: 150k pods (about 450 MB of JSON) served and fetched in pages of 500. Slow in debug
/// builds; run with `cargo test --release --test it -- --ignored large`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "large: 150k pods; run in release"]
async fn a_large_cluster_is_served_and_fetched() {
    let t0 = Instant::now();
    let cluster = synth::generate(1000, 150_000, 5);
    let generated = t0.elapsed();
    let fake = Fake::start(FakeConfig { snapshot: cluster, ..FakeConfig::default() }).await;
    let started = t0.elapsed();
    let opts = FetchOptions {
        limits: Limits { request_timeout: Duration::from_secs(60), ..Limits::default() },
        ..FetchOptions::default()
    };
    let snap = fake.fetch(opts).await.expect("fetch");
    let fetched = t0.elapsed();
    assert!(snap.gaps.is_empty(), "{:?}", snap.gaps);
    assert_eq!(snap.objects("pods").len(), 150_000);
    assert_eq!(snap.configz.len(), 1000);
    let log = fake.requests();
    assert_eq!(log.iter().filter(|r| r.path == "/api/v1/pods").count(), 300);
    println!(
        "generated in {generated:?}, serving after {:?}, fetched {} objects after {:?}",
        started - generated,
        snap.object_count(),
        fetched - started
    );
    fake.server.shutdown().await;
}
