//! Test helpers around the fake API server: start one with a kubeconfig in a temp dir, fast fetch
//! options, and checks on the request log.
//!
//! Place in the pipeline: test support only. Must not reach anything but 127.0.0.1.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use dockershim_audit::collect::cluster::{ClusterSnapshot, FetchOptions, Limits, connect, fetch};
use fake_apiserver::{FakeApiServer, FakeConfig, LoggedRequest, synth};
use tempfile::TempDir;

/// Runs the real binary with `args` off the async runtime (the fake it talks to runs on it), with
/// the short waits of [`crate::common::FAST_WAITS`]: (exit code, stdout, stderr).
pub async fn run_binary(args: Vec<String>) -> (i32, Vec<u8>, String) {
    tokio::task::spawn_blocking(move || {
        let out = assert_cmd::Command::cargo_bin("dockershim-audit")
            .unwrap()
            .env(crate::common::FAST_WAITS.0, crate::common::FAST_WAITS.1)
            .args(&args)
            .output()
            .unwrap();
        (out.status.code().unwrap_or(-1), out.stdout, String::from_utf8_lossy(&out.stderr).into_owned())
    })
    .await
    .unwrap()
}

/// A running fake with a kubeconfig pointing at it.
pub struct Fake {
    /// The server.
    pub server: FakeApiServer,
    /// Holds the kubeconfig.
    pub dir: TempDir,
    /// The kubeconfig (context "fake").
    pub kubeconfig: PathBuf,
}

impl Fake {
    /// Starts a fake serving `cfg`.
    pub async fn start(cfg: FakeConfig) -> Fake {
        let server = FakeApiServer::start(cfg).await.expect("fake API server starts");
        let dir = tempfile::tempdir().expect("temp dir");
        let kubeconfig = dir.path().join("kubeconfig");
        server.write_kubeconfig(&kubeconfig).expect("kubeconfig written");
        Fake { server, dir, kubeconfig }
    }

    /// Starts a fake serving a small synthetic cluster, with extra settings.
    pub async fn small(adjust: impl FnOnce(&mut FakeConfig)) -> Fake {
        let mut cfg = FakeConfig { snapshot: small_cluster(), ..FakeConfig::default() };
        adjust(&mut cfg);
        Fake::start(cfg).await
    }

    /// Connects through the kubeconfig and fetches with `opts` (server URL and context filled in).
    pub async fn fetch(&self, opts: FetchOptions) -> anyhow::Result<ClusterSnapshot> {
        fetch_through(&self.kubeconfig, opts).await
    }

    /// The request log.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.server.requests()
    }
}

/// Connects through a kubeconfig and fetches.
pub async fn fetch_through(kubeconfig: &Path, mut opts: FetchOptions) -> anyhow::Result<ClusterSnapshot> {
    let c = connect(Some(kubeconfig), None).await?;
    opts.server_url = Some(c.server_url.clone());
    opts.context = c.context.clone();
    fetch(&c.client, &opts).await
}

/// A small synthetic cluster: 4 nodes, 120 pods (more than one page of 25).
pub fn small_cluster() -> ClusterSnapshot {
    synth::generate(4, 120, 7)
}

/// Options for tests: small pages, quick backoff, short timeouts.
pub fn fast_opts() -> FetchOptions {
    FetchOptions {
        page_size: 25,
        concurrency: 4,
        limits: Limits {
            max_retries: 3,
            request_timeout: Duration::from_secs(10),
            backoff_base: Duration::from_millis(5),
            backoff_max: Duration::from_millis(40),
            ..Limits::default()
        },
        ..FetchOptions::default()
    }
}

/// Writes a kubeconfig for `server` with `token`.
pub fn write_kubeconfig(path: &Path, server: &str, token: &str) {
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n\
         contexts:\n- name: ctx\n  context:\n    cluster: c\n    user: u\ncurrent-context: ctx\n\
         users:\n- name: u\n  user:\n    token: {token}\n"
    );
    std::fs::write(path, text).expect("kubeconfig written");
}

/// Panics unless every request is a GET, or a POST of a SelfSubjectAccessReview.
pub fn assert_read_only(log: &[LoggedRequest]) {
    for r in log {
        let ok = r.method == "GET"
            || (r.method == "POST" && r.path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews");
        assert!(ok, "not read-only: {r:?}");
    }
}

/// Requests whose path starts with `prefix`.
pub fn paths_starting<'a>(log: &'a [LoggedRequest], prefix: &str) -> Vec<&'a LoggedRequest> {
    log.iter().filter(|r| r.path.starts_with(prefix)).collect()
}

/// The (namespace, name) pairs of a resource in a snapshot, sorted.
pub fn keys(snap: &ClusterSnapshot, plural: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = snap
        .objects(plural)
        .iter()
        .map(|o| {
            let s = |p: &str| o.pointer(p).and_then(|v| v.as_str()).unwrap_or("").to_string();
            (s("/metadata/namespace"), s("/metadata/name"))
        })
        .collect();
    v.sort();
    v
}
