//! A fake Kubernetes API server on loopback, for tests, benchmarks and demos.
//!
//! Place in the pipeline: none — it stands in for a cluster on the far side of the collectors. It
//! serves a [`ClusterSnapshot`] over real HTTP so that the real kube client (through a generated
//! kubeconfig) and the real `kubectl` can talk to it: `/version`, legacy discovery, paginated lists
//! (`limit`/`continue`), single-object GETs, node configz, SelfSubjectAccessReview, per-resource
//! 403s and injected faults (429, 5xx, 410 on continue, dropped connections), and hostile answers
//! ([`Fault`]: endless or repeated continue tokens, lists without items, huge, endless and dripped
//! bodies). Every request is
//! logged so a test can prove a run was read-only. Started with a [`NodeSim`], it also lets
//! clients create and delete namespaces and pods, and plays the nodes' kubelets for the
//! `--node-files` collector pods (status, logs, `FailedMount` events), so a test can prove the
//! collector leaves nothing behind.
//!
//! Must not: listen anywhere but 127.0.0.1, persist anything, or be used by the audit itself (only
//! by tests, benchmarks and the `fake-apiserver` example). This crate is a dev-only workspace
//! member: the product crate does not depend on it, nor on hyper's server.

pub mod demo;
mod discovery;
mod faults;
mod handler;
mod live;
pub mod sim;
mod store;
pub mod synth;
mod table;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use dockershim_audit::collect::cluster::ClusterSnapshot;

pub use faults::Fault;
pub use live::NodeSim;

/// Wire-format helpers, public only for the fake's own tests (`tests/it/fake_apiserver.rs`).
#[doc(hidden)]
pub mod wire {
    pub use crate::handler::{decode_token, encode_token, param, percent_decode};
    pub use crate::live::selector_matches;
}

/// What the fake serves and how it misbehaves.
#[derive(Debug, Clone, Default)]
pub struct FakeConfig {
    /// The objects, configz bodies and (unless `server_version` is set) `/version` body served.
    pub snapshot: ClusterSnapshot,
    /// Resources answering 403 (and denied by SelfSubjectAccessReview), e.g. `nodes`,
    /// `configmaps`, `nodes/proxy`; `selfsubjectaccessreviews` makes the review itself answer 403.
    pub forbid: Vec<String>,
    /// Faults to inject, each for its first `times` matching requests (`resource: "*"` matches
    /// every request).
    pub inject: Vec<Injection>,
    /// Hostile answers, for every matching request ([`Fault`]).
    pub faults: Vec<Fault>,
    /// Serve CronJobs only at `batch/v1beta1` (a cluster before 1.21).
    pub cronjob_v1beta1_only: bool,
    /// `gitVersion` to report, e.g. `v1.23.17` (default: the snapshot's, else v1.23.17, or
    /// v1.20.15 with `cronjob_v1beta1_only`).
    pub server_version: Option<String>,
    /// Bearer token required on every request (401 otherwise); `None` accepts any.
    pub token: Option<String>,
}

/// A fault injected into the answers for one resource.
///
/// `resource` is the lowercase plural (`pods`), `nodes/proxy` for configz, `version` for `/version`,
/// `discovery` for discovery documents, or `selfsubjectaccessreviews`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Injection {
    /// 429 with `Retry-After: retry_after_secs`.
    TooManyRequests {
        /// Resource whose requests are answered 429.
        resource: String,
        /// How many requests.
        times: u32,
        /// The `Retry-After` header value in seconds.
        retry_after_secs: u32,
    },
    /// A server error status (500, 503, ...).
    ServerError {
        /// Resource whose requests fail.
        resource: String,
        /// How many requests.
        times: u32,
        /// The status to answer.
        status: u16,
    },
    /// 410 Gone on page requests that carry a continue token.
    ExpireContinue {
        /// Resource whose continue tokens expire.
        resource: String,
        /// How many requests.
        times: u32,
    },
    /// The connection is cut in the middle of the answer.
    DropConnection {
        /// Resource whose answers are cut.
        resource: String,
        /// How many requests.
        times: u32,
    },
}

/// One request the fake answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// HTTP method.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Status answered; 0 when the connection was cut on purpose.
    pub status: u16,
    /// The `Accept` header, if any.
    pub accept: Option<String>,
}

impl LoggedRequest {
    /// Whether the query carries `name=` (e.g. `limit=`, `continue=`).
    pub fn has_param(&self, name: &str) -> bool {
        self.query.as_deref().is_some_and(|q| q.split('&').any(|kv| kv.split('=').next() == Some(name)))
    }
}

/// A running fake API server.
pub struct FakeApiServer {
    addr: SocketAddr,
    state: Arc<handler::State>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl FakeApiServer {
    /// Pre-serializes the snapshot and starts serving on 127.0.0.1 at a free port.
    pub async fn start(cfg: FakeConfig) -> anyhow::Result<FakeApiServer> {
        Self::start_on(cfg, 0).await
    }

    /// Like [`FakeApiServer::start`], on a chosen port (0 = any free port).
    pub async fn start_on(cfg: FakeConfig, port: u16) -> anyhow::Result<FakeApiServer> {
        Self::start_inner(cfg, None, port).await
    }

    /// Like [`FakeApiServer::start`], also accepting the collector's writes: namespaces and pods
    /// can be created, read (status, log, events) and deleted; a pod pinned to a node "runs"
    /// against that node's fixture root in `nodes`.
    pub async fn start_with_nodes(cfg: FakeConfig, nodes: NodeSim) -> anyhow::Result<FakeApiServer> {
        Self::start_inner(cfg, Some(nodes), 0).await
    }

    async fn start_inner(cfg: FakeConfig, nodes: Option<NodeSim>, port: u16) -> anyhow::Result<FakeApiServer> {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
        let addr = listener.local_addr().context("cannot read the listening address")?;
        let state = Arc::new(handler::State::new(cfg, addr, nodes));
        let (stop, mut stopped) = watch::channel(false);
        let accept_state = state.clone();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    _ = stopped.changed() => break,
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let st = accept_state.clone();
                        connections.spawn(async move {
                            let service = service_fn(move |req| handler::handle(st.clone(), req));
                            let _ = http1::Builder::new()
                                .keep_alive(true)
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
            connections.abort_all();
            while connections.join_next().await.is_some() {}
        });
        Ok(FakeApiServer { addr, state, stop, task })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request answered so far, in order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.requests_since(0)
    }

    /// The requests answered after the first `seen`, in order: what `--log-requests` prints every
    /// 250 ms (a copy of the whole log each time kept a core a quarter busy once it held a few
    /// thousand requests, beside the client being measured).
    pub fn requests_since(&self, seen: usize) -> Vec<LoggedRequest> {
        self.state.log.lock().map(|l| l.get(seen..).unwrap_or_default().to_vec()).unwrap_or_default()
    }

    /// Pods that exist now, created by clients (namespace, name); empty without a [`NodeSim`].
    pub fn live_pods(&self) -> Vec<(String, String)> {
        self.state.live.as_ref().map(|l| l.pods()).unwrap_or_default()
    }

    /// Every pod clients created, deleted or not, as stored at creation.
    pub fn created_pods(&self) -> Vec<serde_json::Value> {
        self.state.live.as_ref().map(|l| l.history()).unwrap_or_default()
    }

    /// Namespaces clients created that exist now.
    pub fn live_namespaces(&self) -> Vec<String> {
        self.state.live.as_ref().map(|l| l.namespaces()).unwrap_or_default()
    }

    /// Forgets the requests logged so far.
    pub fn clear_requests(&self) {
        if let Ok(mut l) = self.state.log.lock() {
            l.clear();
        }
    }

    /// Writes a kubeconfig (context "fake") pointing at this server over plain http, with a token user.
    pub fn write_kubeconfig(&self, path: &Path) -> anyhow::Result<()> {
        let token = self.state.token.clone().unwrap_or_else(|| "fake-token".to_string());
        self.write_kubeconfig_with_token(path, &token)
    }

    /// Like [`FakeApiServer::write_kubeconfig`] with a chosen token (a wrong one gets 401s when
    /// the server requires a token).
    pub fn write_kubeconfig_with_token(&self, path: &Path, token: &str) -> anyhow::Result<()> {
        let token_json = serde_json::to_string(token).context("cannot quote the token")?;
        let text = format!(
            "apiVersion: v1\n\
             kind: Config\n\
             clusters:\n\
             - name: fake\n  cluster:\n    server: {url}\n\
             contexts:\n\
             - name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: default\n\
             current-context: fake\n\
             users:\n\
             - name: fake\n  user:\n    token: {token_json}\n",
            url = self.url(),
        );
        std::fs::write(path, text).with_context(|| format!("cannot write kubeconfig {}", path.display()))
    }

    /// Writes one kubeconfig with a context per `(name, server)`: a fleet behind one file, as
    /// `cluster --all-contexts` reads it (each context with its own cluster entry and this
    /// server's token user).
    pub fn write_fleet_kubeconfig(servers: &[(String, &FakeApiServer)], path: &Path) -> anyhow::Result<()> {
        let (mut clusters, mut contexts, mut users) = (String::new(), String::new(), String::new());
        for (name, server) in servers {
            let token = server.state.token.clone().unwrap_or_else(|| "fake-token".to_string());
            let name_json = serde_json::to_string(name).context("cannot quote the context name")?;
            let token_json = serde_json::to_string(&token).context("cannot quote the token")?;
            clusters.push_str(&format!("- name: {name_json}\n  cluster:\n    server: {}\n", server.url()));
            contexts.push_str(&format!(
                "- name: {name_json}\n  context:\n    cluster: {name_json}\n    user: {name_json}\n    namespace: default\n"
            ));
            users.push_str(&format!("- name: {name_json}\n  user:\n    token: {token_json}\n"));
        }
        let current = servers.first().map(|(n, _)| serde_json::to_string(n)).transpose()?.unwrap_or_default();
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n{clusters}contexts:\n{contexts}current-context: {current}\nusers:\n{users}"
        );
        std::fs::write(path, text).with_context(|| format!("cannot write kubeconfig {}", path.display()))
    }

    /// Stops serving and closes every connection.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let _ = (&mut self.task).await;
    }
}

impl Drop for FakeApiServer {
    /// A server dropped without [`FakeApiServer::shutdown`] (say, by a failing test) stops too.
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.task.abort();
    }
}

/// Shared, locked request log.
type Log = Mutex<Vec<LoggedRequest>>;
