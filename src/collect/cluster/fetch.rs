//! Reading a live cluster into a [`ClusterSnapshot`], read-only.
//!
//! Place in the pipeline: the live half of the cluster collector (`cluster`, `snapshot -o`). It
//! checks permissions with SelfSubjectAccessReview, lists every resource in
//! [`RESOURCES`](super::kinds::RESOURCES) with paginated LISTs (bounded concurrency, retries with
//! backoff), optionally reads each node's configz, and records whatever it could not read as gaps.
//!
//! Must not: write to the cluster (every request is a GET except the SelfSubjectAccessReview POST,
//! which persists nothing), request Secrets, GET single objects, read configz without an explicit
//! `get nodes/proxy` grant, or print anything but progress lines when asked.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail};
use futures::stream::{self, StreamExt as _};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::credentials::{check_inline, describe_auth_error, quietly, redact_urls, strip_userinfo};
use super::kinds::{LIST_VERB, Prune, RESOURCES, ResourceKind};
use super::limits::{Budget, Limits, Pager, show_duration};
use super::pruned::{self, FoldedPods, ObjectSeedOf, PodOwners, Purpose, fill_type_meta};
use super::snapshot::{ClusterSnapshot, Gap};
use super::transport::{RequestError, Retries, Transport, error_chain};
use crate::clock::now_rfc3339;
use crate::parse::json_pointer::at;
use crate::percent;

/// How `fetch` reads the cluster.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Namespaces to read namespaced resources from; `None` reads all namespaces. Nodes are
    /// cluster-scoped and always read.
    pub namespaces: Option<Vec<String>>,
    /// Objects per LIST page (`limit`); 0 reads each list in one request.
    ///
    /// 500, kubectl's own page size: a page is ≈ 1.5 MB of pod JSON, small enough that the pages
    /// in flight stay a few MB (memory grows with the pruned objects, not with the pages), large
    /// enough that a 15k-pod list is 30 round trips. Bigger pages did not read faster on 2 cores:
    /// reading is bound by parsing, which already overlaps the downloads (see `list_all`).
    pub page_size: u32,
    /// How many lists (and configz reads) run at once. 4 on 2 cores: each list also reads its
    /// next page while the previous one is parsed on a blocking thread, so 4 lists keep both
    /// cores parsing without piling up pages (bench/RESULTS.md, "download floor").
    pub concurrency: usize,
    /// Read each node's live kubelet config (`false` for `--no-configz`). Even when true, configz
    /// is read only if the caller already holds `get nodes/proxy`.
    pub configz: bool,
    /// Progress lines on stderr (set only when stderr is a terminal).
    pub progress: bool,
    /// Every bound on time, size and count (timeouts, retries, page and list caps).
    pub limits: Limits,
    /// The server URL, for error messages (set by [`FetchOptions::for_client`]).
    pub server_url: Option<String>,
    /// The kubeconfig context, recorded in the snapshot (set by [`FetchOptions::for_client`]).
    pub context: Option<String>,
    /// Keep only what an audit reads (issue 16): the first pod of each owner, the others
    /// counted ([`ClusterSnapshot::folded_pods`]); the kinds a registry entry says are owned
    /// ([`ResourceKind::owned_by`]) listed after their owners, and an object whose owner was
    /// listed read without its pod template. Off for `snapshot -o`, whose file keeps every pod
    /// and template. Only the pruned reader does this.
    pub audit_only: bool,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            namespaces: None,
            page_size: 500,
            concurrency: 4,
            configz: true,
            progress: false,
            limits: Limits::default(),
            server_url: None,
            context: None,
            audit_only: false,
        }
    }
}

/// The environment variable that scales the waits of live reads: see [`wait_scale_from_env`].
pub const WAIT_SCALE_ENV: &str = "DOCKERSHIM_AUDIT_WAIT_SCALE";

/// The factor in `DOCKERSHIM_AUDIT_WAIT_SCALE` (a number above 0 and at most 1), by which every
/// retry back-off, poll interval and settle delay of `cluster` and `snapshot` is multiplied;
/// request timeouts, pod deadlines and a server's `Retry-After` are not. It exists for tests
/// against the loopback fake API server, which answers at once and needs no patience (README,
/// "Environment"). Unset or anything else: 1.
pub fn wait_scale_from_env() -> f64 {
    std::env::var(WAIT_SCALE_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|f| *f > 0.0 && *f <= 1.0)
        .unwrap_or(1.0)
}

impl FetchOptions {
    /// Multiplies the retry back-offs by `factor` (see [`wait_scale_from_env`]).
    pub fn scale_waits(mut self, factor: f64) -> Self {
        self.limits.backoff_base = self.limits.backoff_base.mul_f64(factor);
        self.limits.backoff_max = self.limits.backoff_max.mul_f64(factor);
        self
    }

    /// Default options carrying the server URL and context of `client`.
    pub fn for_client(client: &ClusterClient) -> FetchOptions {
        FetchOptions {
            server_url: Some(client.server_url.clone()),
            context: client.context.clone(),
            ..FetchOptions::default()
        }
    }
}

/// A client with what was learned while building it.
#[derive(Clone)]
pub struct ClusterClient {
    /// The client (kube's own retry layer off: `fetch` retries itself).
    pub client: kube::Client,
    /// Context name used, `None` for in-cluster config.
    pub context: Option<String>,
    /// The API server URL.
    pub server_url: String,
}

/// Builds a client like kubectl: explicit kubeconfig path or KUBECONFIG/~/.kube/config, optional
/// context, else in-cluster config. Errors are clear (file not found, context not found, no
/// config at all).
pub async fn client_from(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> anyhow::Result<(kube::Client, Option<String>)> {
    let c = connect(kubeconfig, context).await?;
    Ok((c.client, c.context))
}

/// The kubeconfig `connect` would read (`--kubeconfig`, else KUBECONFIG, else `~/.kube/config`)
/// with words naming where it came from; `None` when there is none (in-cluster).
fn load_kubeconfig(kubeconfig: Option<&Path>) -> anyhow::Result<Option<(kube::config::Kubeconfig, String)>> {
    let loaded: Option<(kube::config::Kubeconfig, String)> = match kubeconfig {
        Some(path) => {
            if !path.exists() {
                anyhow::bail!("kubeconfig {} not found", path.display());
            }
            let kc = kube::config::Kubeconfig::read_from(path)
                .map_err(|e| anyhow!("cannot read kubeconfig {}: {}", path.display(), first_line(&error_chain(&e))))?;
            Some((kc, format!("kubeconfig {}", path.display())))
        }
        None => match kubeconfig_from_env()? {
            Some(loaded) => Some(loaded),
            None => match default_kubeconfig_path() {
                Some(path) if path.exists() => {
                    let kc = kube::config::Kubeconfig::read_from(&path).map_err(|e| {
                        anyhow!("cannot read kubeconfig {}: {}", path.display(), first_line(&error_chain(&e)))
                    })?;
                    Some((kc, format!("kubeconfig {}", path.display())))
                }
                _ => None,
            },
        },
    };
    Ok(loaded)
}

/// The files `KUBECONFIG` names, merged as kubectl merges them: the list is split like `PATH`
/// (`:`, `;` on Windows), empty entries and files that do not exist are skipped, and the first
/// file to set a value or a named cluster, user or context wins. A file that exists but cannot
/// be read is an error naming it. `None` when `KUBECONFIG` is unset or empty.
fn kubeconfig_from_env() -> anyhow::Result<Option<(kube::config::Kubeconfig, String)>> {
    let Some(value) = std::env::var_os("KUBECONFIG") else {
        return Ok(None);
    };
    let paths: Vec<PathBuf> = std::env::split_paths(&value).filter(|p| !p.as_os_str().is_empty()).collect();
    if paths.is_empty() {
        return Ok(None);
    }
    let (present, missing): (Vec<&PathBuf>, Vec<&PathBuf>) = paths.iter().partition(|p| p.exists());
    let list = |ps: &[&PathBuf]| ps.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
    if present.is_empty() {
        anyhow::bail!("none of the kubeconfig files KUBECONFIG names exists ({})", list(&missing));
    }
    let mut merged = kube::config::Kubeconfig::default();
    for path in &present {
        let kc = kube::config::Kubeconfig::read_from(path).map_err(|e| {
            anyhow!("cannot read kubeconfig {} (named by KUBECONFIG): {}", path.display(), first_line(&error_chain(&e)))
        })?;
        merged = merged.merge(kc).map_err(|e| {
            anyhow!(
                "cannot merge kubeconfig {} (named by KUBECONFIG): {}",
                path.display(),
                first_line(&error_chain(&e))
            )
        })?;
    }
    let mut source = format!("the kubeconfig KUBECONFIG names ({})", list(&present));
    if !missing.is_empty() {
        source.push_str(&format!("; skipped, not found: {}", list(&missing)));
    }
    Ok(Some((merged, source)))
}

/// The names of every context in the kubeconfig `connect` would read, in file order
/// (`cluster --all-contexts`).
pub fn context_names(kubeconfig: Option<&Path>) -> anyhow::Result<Vec<String>> {
    match load_kubeconfig(kubeconfig)? {
        Some((kc, _)) => Ok(kc.contexts.iter().map(|c| c.name.clone()).collect()),
        None => anyhow::bail!(
            "--all-contexts needs a kubeconfig (pass --kubeconfig, set KUBECONFIG or create ~/.kube/config)"
        ),
    }
}

/// Like [`client_from`], also returning the server URL (for messages).
pub async fn connect(kubeconfig: Option<&Path>, context: Option<&str>) -> anyhow::Result<ClusterClient> {
    use kube::config::KubeConfigOptions;

    let loaded = load_kubeconfig(kubeconfig)?;
    let (mut config, context_name) = match loaded {
        Some((kc, source)) => {
            let names: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
            let listed = if names.is_empty() { "none".to_string() } else { names.join(", ") };
            if let Some(c) = context
                && !names.contains(&c)
            {
                bail!("context {c:?} not found in {source} (contexts: {listed})");
            }
            let name = context.map(str::to_string).or_else(|| kc.current_context.clone());
            let Some(name) = name else {
                bail!("{source} sets no current-context; pass --context (contexts: {listed})");
            };
            let options = KubeConfigOptions { context: Some(name.clone()), ..Default::default() };
            let config = kube::Config::from_custom_kubeconfig(kc, &options)
                .await
                .map_err(|e| anyhow!("cannot use context {name:?} of {source}: {}", redact_urls(&error_chain(&e))))?;
            (config, Some(name))
        }
        None => {
            if let Some(c) = context {
                bail!(
                    "context {c:?} requested, but there is no kubeconfig (no --kubeconfig, KUBECONFIG or ~/.kube/config)"
                );
            }
            match kube::Config::incluster() {
                Ok(config) => (config, None),
                Err(e) => bail!(
                    "no Kubernetes configuration found: pass --kubeconfig, set KUBECONFIG, create \
                     ~/.kube/config, or run inside a cluster (in-cluster config: {})",
                    error_chain(&e)
                ),
            }
        }
    };
    // `fetch` retries with its own bounded policy; kube's default layer would retry 15 times.
    config.default_retry = false;
    let server_url = strip_userinfo(config.cluster_url.to_string().trim_end_matches('/'));
    let user = context_name.as_deref().map_or_else(|| "the in-cluster user".to_string(), |c| format!("context {c:?}"));
    check_inline(&config.auth_info).map_err(|e| anyhow!("cannot use the credentials of {user}: {e}"))?;
    let exec = config.auth_info.exec.as_ref().and_then(|e| e.command.clone());
    // Building the client runs an exec credential plugin; the HTTP layer panics on a token it
    // returned that cannot be a header value, which `quietly` turns into an error.
    let built = quietly(|| kube::Client::try_from(config)).ok_or_else(|| {
        anyhow!(
            "cannot use the credentials of {user}: the token the exec credential plugin returned contains characters \
             an HTTP header cannot carry (a trailing newline?); the token is not shown"
        )
    })?;
    let client = built.map_err(|e| match &e {
        kube::Error::Auth(inner) => {
            anyhow!("cannot use the credentials of {user}: {}", describe_auth_error(inner, exec.as_deref()))
        }
        other => anyhow!("cannot build a client for {server_url}: {}", redact_urls(&error_chain(other))),
    })?;
    Ok(ClusterClient { client, context: context_name, server_url })
}

/// The first line of a parse error: the excerpt below it quotes the kubeconfig, which holds
/// credentials.
fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text).trim_end()
}

fn default_kubeconfig_path() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE"))?;
    Some(PathBuf::from(home).join(".kube").join("config"))
}

/// Why a read stopped.
enum Failure {
    /// Recorded as a gap; the rest goes on.
    Gap(Gap),
    /// The whole run stops (401).
    Fatal(anyhow::Error),
}

/// The result of a SelfSubjectAccessReview.
#[derive(Debug, Clone)]
enum Access {
    Allowed,
    Denied(String),
    /// The review itself failed; the read is attempted and its own answer decides.
    Unknown,
}

/// One LIST to run: a resource at a version, cluster-wide or in one namespace.
#[derive(Debug, Clone)]
struct ListTask {
    res: &'static ResourceKind,
    version: &'static str,
    namespace: Option<String>,
    /// Read beyond what the user scoped (kube-system ConfigMaps in a namespace-scoped audit):
    /// when it is not permitted it is recorded as skipped, not as a gap.
    extra: bool,
}

/// The skipped entry for an `extra` read the caller may not do.
fn extra_skipped(task: &ListTask) -> Gap {
    Gap::new(
        task.res.plural,
        "kubeadm-config and kubelet-config not read: the namespace-scoped caller may not list ConfigMaps in kube-system",
    )
    .in_namespace(task.namespace.as_deref())
    .needing(task.permission())
}

impl ListTask {
    fn permission(&self) -> String {
        permission("list", self.res.plural, self.res.group_label(), self.namespace.as_deref())
    }
}

/// A permission in kubectl words: "list pods (core) at cluster scope".
fn permission(verb: &str, resource: &str, group: &str, namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) => format!("{verb} {resource} ({group}) in namespace {ns}"),
        None => format!("{verb} {resource} ({group}) at cluster scope"),
    }
}

/// How many times a list is restarted after its continue token expired (410 Gone).
const MAX_LIST_RESTARTS: u32 = 3;

/// Reads everything `cluster` needs into a snapshot. Returns Err only when the cluster cannot be
/// reached at all or credentials are rejected (401) — callers map that to exit 2. Per-resource
/// failures (403, 404, timeouts after retries) become `gaps` with the missing permission in
/// kubectl words.
pub async fn fetch(client: &kube::Client, opts: &FetchOptions) -> anyhow::Result<ClusterSnapshot> {
    fetch_filtered(client, opts, &|_, obj| Some(obj)).await
}

/// Like [`fetch`], with every listed object read straight into the pruned form the rules need
/// ([`pruned`]): what `cluster` and `snapshot -o` use. Pages are parsed on blocking threads as
/// they arrive, each list requesting its next page as soon as the continue token is read, so
/// downloading and parsing overlap and use every core.
pub async fn fetch_pruned(client: &kube::Client, opts: &FetchOptions) -> anyhow::Result<ClusterSnapshot> {
    fetch_with(client, opts, Reader::Pruned).await
}

/// How listed objects become snapshot objects.
#[derive(Clone, Copy)]
enum Reader<'a> {
    /// Parsed whole, then handed to a filter.
    Filter(&'a ObjectFilter),
    /// Parsed straight into pruned objects.
    Pruned,
}

/// A hook applied to each listed object as it arrives (after `kind`/`apiVersion` are filled in):
/// return the object to keep (possibly reduced), or `None` to drop it. Receives the plural name.
pub type ObjectFilter = dyn Fn(&str, Value) -> Option<Value> + Sync;

/// Like [`fetch`], passing every listed object through `keep` as its page arrives, so a caller can
/// reduce objects to what it needs on very large clusters (150k pods take about 9 GB as JSON
/// values; each object is held only in the form `keep` returns).
pub async fn fetch_filtered(
    client: &kube::Client,
    opts: &FetchOptions,
    keep: &ObjectFilter,
) -> anyhow::Result<ClusterSnapshot> {
    fetch_with(client, opts, Reader::Filter(keep)).await
}

async fn fetch_with(client: &kube::Client, opts: &FetchOptions, reader: Reader<'_>) -> anyhow::Result<ClusterSnapshot> {
    let server = opts.server_url.clone().unwrap_or_else(|| "the Kubernetes API server".to_string());
    let budget = Budget::start(&opts.limits, &server);
    let t = Transport::new(client, &opts.limits, &budget);
    let fatal = |path: &str, e: &RequestError| -> anyhow::Error {
        match e {
            RequestError::Status { code: 401, message } => anyhow!(
                "credentials rejected or expired: {server} answered 401 Unauthorized to GET {path} ({message}); \
                 log in again or refresh the kubeconfig"
            ),
            RequestError::Credentials(cause) => anyhow!("cannot obtain credentials for {server}: {cause}"),
            RequestError::Timeout => anyhow!(
                "cannot reach the Kubernetes API server at {server}: no answer within {} (--request-timeout)",
                show_duration(opts.limits.request_timeout)
            ),
            RequestError::Deadline => {
                anyhow!("cannot reach the Kubernetes API server at {server}: no answer before the run's --timeout")
            }
            other => anyhow!("cannot reach the Kubernetes API server at {server}: {}", other.describe()),
        }
    };

    let mut snap = ClusterSnapshot::new();
    snap.captured_at = Some(now_rfc3339());
    snap.context = opts.context.clone();

    // 1. /version: reachability and credentials.
    match t.get("/version").await {
        Ok(body) => snap.server_version = serde_json::from_slice(&body).ok(),
        Err(
            e @ (RequestError::Unreachable(_)
            | RequestError::Timeout
            | RequestError::Deadline
            | RequestError::Credentials(_)),
        ) => {
            return Err(fatal("/version", &e));
        }
        Err(e @ RequestError::Status { code: 401, .. }) => return Err(fatal("/version", &e)),
        Err(e) => snap.gaps.push(Gap::new("version", e.describe()).with_status(e.code())),
    }
    progress(opts, || {
        let v = snap.server_version.as_ref().and_then(|v| v.get("gitVersion")).and_then(Value::as_str);
        format!("connected to {server} (Kubernetes {})", v.unwrap_or("version unknown"))
    });

    // 2. Discovery: where kinds with a legacy version (CronJobs) are served.
    let mut served_at: BTreeMap<&'static str, Option<&'static str>> = BTreeMap::new();
    for res in RESOURCES.iter() {
        let Some(legacy) = res.legacy_version else { continue };
        let version = match served_version(&t, res, legacy).await {
            Ok(v) => v,
            Err(Failure::Fatal(e)) => return Err(e),
            Err(Failure::Gap(g)) => {
                snap.gaps.push(g);
                None
            }
        };
        served_at.insert(res.plural, version);
    }

    // 3. The plan, checked with SelfSubjectAccessReview.
    let scopes: Vec<Option<String>> = match &opts.namespaces {
        Some(list) => {
            let mut v: Vec<String> = list.clone();
            v.sort();
            v.dedup();
            v.into_iter().map(Some).collect()
        }
        None => vec![None],
    };
    let mut tasks = Vec::new();
    for res in RESOURCES.iter() {
        let version = match served_at.get(res.plural) {
            Some(Some(v)) => v,
            Some(None) => continue,
            None => res.version,
        };
        if res.namespaced {
            for ns in &scopes {
                tasks.push(ListTask { res, version, namespace: ns.clone(), extra: false });
            }
            // The kubeadm and kubelet ConfigMaps describe the whole cluster: a namespace-scoped
            // audit reads them too when the caller may.
            if let Some(whole) = res.cluster_config_namespace
                && !scopes.iter().any(|s| s.as_deref().is_none_or(|n| n == whole))
            {
                tasks.push(ListTask { res, version, namespace: Some(whole.into()), extra: true });
            }
        } else {
            tasks.push(ListTask { res, version, namespace: None, extra: false });
        }
    }
    let concurrency = opts.concurrency.max(1);
    let checks: Vec<(usize, Access)> = stream::iter(tasks.iter().enumerate())
        .map(|(i, task)| {
            let t = &t;
            async move {
                let access =
                    review(t, LIST_VERB, task.res.group, task.res.plural, None, task.namespace.as_deref()).await;
                (i, access)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut access: Vec<Access> = vec![Access::Unknown; tasks.len()];
    for (i, a) in checks {
        access[i] = a;
    }
    let proxy_access =
        if opts.configz { Some(review(&t, "get", "", "nodes", Some("proxy"), None).await) } else { None };

    // 4. Lists, bounded concurrency.
    let mut runnable = Vec::new();
    for (task, a) in tasks.iter().zip(access) {
        match a {
            Access::Denied(_) if task.extra => snap.skipped.push(extra_skipped(task)),
            Access::Denied(reason) => {
                let why = if reason.is_empty() { String::new() } else { format!(" ({reason})") };
                snap.gaps.push(
                    Gap::new(
                        task.res.plural,
                        format!("not listed: the access review says the caller may not {}{why}", task.permission()),
                    )
                    .in_namespace(task.namespace.as_deref())
                    .needing(task.permission()),
                );
            }
            Access::Allowed | Access::Unknown => runnable.push(task.clone()),
        }
    }
    // configz reads start as soon as the node list is in, beside the other lists (they wait for
    // nothing else; issue 16): the node task hands its names over, or drops the sender when it
    // fails, and when no node list runs at all the sender is dropped here.
    let read_configz_now = matches!(proxy_access, Some(Access::Allowed));
    let (names_tx, names_rx) = tokio::sync::oneshot::channel::<Vec<String>>();
    let names_tx = std::sync::Mutex::new(Some(names_tx));
    let is_node_list = |task: &ListTask| task.res.plural == "nodes" && task.namespace.is_none();
    if !read_configz_now || !runnable.iter().any(is_node_list) {
        names_tx.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
    let owner_lists = OwnerLists::new(&runnable, opts.audit_only);
    let lists = stream::iter(runnable)
        .map(|task| {
            let (t, names_tx, owner_lists) = (&t, &names_tx, &owner_lists);
            async move {
                let owners = owner_lists.before(&task).await;
                let r = list_all(t, opts, &task, reader, owners).await;
                owner_lists.after(&task, r.as_ref().ok().map(|(objects, _)| objects.as_slice()));
                if is_node_list(&task) {
                    let tx = names_tx.lock().unwrap_or_else(|p| p.into_inner()).take();
                    if let (Some(tx), Ok((nodes, _))) = (tx, &r) {
                        let names = nodes
                            .iter()
                            .filter_map(|n| n.pointer("/metadata/name").and_then(Value::as_str))
                            .map(str::to_string)
                            .collect();
                        let _ = tx.send(names);
                    }
                }
                (task, r)
            }
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<(ListTask, Result<(Vec<Value>, FoldedPods), Failure>)>>();
    let configz_reads = async {
        // `Err`: the node list failed or did not run; what that means is said below.
        let names = names_rx.await.ok()?;
        let results: Vec<(String, Result<Value, Failure>)> = stream::iter(names)
            .map(|name| {
                let t = &t;
                async move {
                    let r = read_configz(t, &name).await;
                    (name, r)
                }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        Some(results)
    };
    let (results, configz_results) = futures::join!(lists, configz_reads);
    let mut by_task: BTreeMap<(usize, Option<String>), Vec<Value>> = BTreeMap::new();
    for (task, result) in results {
        match result {
            Ok((items, folded)) => {
                let order = RESOURCES.iter().position(|r| r.plural == task.res.plural).unwrap_or(usize::MAX);
                by_task.insert((order, task.namespace.clone()), items);
                snap.folded_pods.merge(folded);
            }
            Err(Failure::Gap(g)) if task.extra && g.http_status == Some(403) => snap.skipped.push(extra_skipped(&task)),
            Err(Failure::Gap(g)) => snap.gaps.push(g),
            Err(Failure::Fatal(e)) => return Err(e),
        }
    }
    for ((order, _), items) in by_task {
        if let Some(res) = RESOURCES.get(order) {
            snap.resources.entry(res.plural.to_string()).or_default().extend(items);
        }
    }

    // 5. configz, only with an explicit nodes/proxy grant.
    match proxy_access {
        None => snap.skipped.push(Gap::new(
            "nodes/proxy",
            "configz not read: disabled (--no-configz); live kubelet configuration is not checked",
        )),
        Some(Access::Denied(_)) | Some(Access::Unknown) => {
            let unknown = matches!(proxy_access, Some(Access::Unknown));
            let head = if unknown {
                "configz not read: could not confirm that the caller may get nodes/proxy"
            } else {
                "configz not read: the caller may not get nodes/proxy"
            };
            snap.skipped.push(
                Gap::new(
                    "nodes/proxy",
                    format!(
                        "{head}. That right is not read-only (it reaches the whole kubelet API, including exec \
                         into any pod), so it is never requested; grant deploy/rbac-configz.yaml only if you \
                         accept that risk"
                    ),
                )
                .needing(permission("get", "nodes/proxy", "core", None)),
            );
        }
        Some(Access::Allowed) => match configz_results {
            None => snap.skipped.push(Gap::new("nodes/proxy", "configz not read: the node list could not be read")),
            Some(results) => {
                for (name, r) in results {
                    match r {
                        Ok(v) => {
                            snap.configz.insert(name, v);
                        }
                        Err(Failure::Gap(g)) => snap.gaps.push(g),
                        Err(Failure::Fatal(e)) => return Err(e),
                    }
                }
                progress(opts, || format!("read configz of {} node(s)", snap.configz.len()));
            }
        },
    }

    snap.gaps.sort_by(|a, b| (&a.resource, &a.namespace, &a.name).cmp(&(&b.resource, &b.namespace, &b.name)));
    progress(opts, || format!("snapshot complete: {} object(s), {} gap(s)", snap.object_count(), snap.gaps.len()));
    Ok(snap)
}

/// The owner lists an audit reads before the kinds they own ([`ResourceKind::owned_by`]:
/// ReplicaSets after Deployments). An owned kind's list waits until every list of its owner kind
/// has ended, then reads with the uids those lists read, and an object whose owner is among them
/// is read without its pod template, which the evidence never reads (it audits the owner's): at
/// 15k pods, 6k ReplicaSet templates, a third of the audit's objects in memory (issue 16). Only an
/// owner kind earlier in the registry is waited for: lists start in registry order, so by then
/// every list of the owner kind has started, and the wait ends whatever those lists meet. Only
/// with [`FetchOptions::audit_only`].
struct OwnerLists {
    /// Per owner kind waited for: its list tasks, and a permit added as each one ends.
    kinds: BTreeMap<&'static str, (u32, tokio::sync::Semaphore)>,
    /// The uids of the objects each owner kind's lists read, so far.
    uids: std::sync::Mutex<BTreeMap<&'static str, foldhash::HashSet<String>>>,
}

impl OwnerLists {
    fn new(tasks: &[ListTask], audit_only: bool) -> OwnerLists {
        let position = |kind: &str| RESOURCES.iter().position(|r| r.kind == kind);
        let mut kinds = BTreeMap::new();
        for task in tasks.iter().filter(|_| audit_only) {
            let Some(owner) = task.res.owned_by else { continue };
            if position(owner).is_none_or(|o| Some(o) >= position(task.res.kind)) {
                continue;
            }
            let lists = tasks.iter().filter(|t| t.res.kind == owner).count();
            if let Ok(lists @ 1..) = u32::try_from(lists) {
                kinds.entry(owner).or_insert_with(|| (lists, tokio::sync::Semaphore::new(0)));
            }
        }
        OwnerLists { kinds, uids: std::sync::Mutex::new(BTreeMap::new()) }
    }

    /// Waits until every list of `task`'s owner kind has ended; the uids they read (`None`:
    /// nothing to wait for, every template is read).
    async fn before(&self, task: &ListTask) -> Option<Arc<foldhash::HashSet<String>>> {
        let owner = task.res.owned_by?;
        let (lists, ended) = self.kinds.get(owner)?;
        // The permits go back when this guard drops: other lists of the kind wait the same way.
        let _all_ended = ended.acquire_many(*lists).await.ok()?;
        let uids = self.uids.lock().unwrap_or_else(|p| p.into_inner());
        Some(Arc::new(uids.get(owner).cloned().unwrap_or_default()))
    }

    /// Records that `task`'s list ended, with the objects it read (`None`: it failed, and its
    /// objects are not in the snapshot, so no template is skipped for them).
    fn after(&self, task: &ListTask, read: Option<&[Value]>) {
        let Some((_, ended)) = self.kinds.get(task.res.kind) else { return };
        if let Some(objects) = read {
            let mut uids = self.uids.lock().unwrap_or_else(|p| p.into_inner());
            let kept = uids.entry(task.res.kind).or_default();
            for o in objects {
                if let Some(uid) = at(o, "/metadata/uid").and_then(Value::as_str).filter(|u| !u.is_empty()) {
                    kept.insert(uid.to_string());
                }
            }
        }
        ended.add_permits(1);
    }
}

fn progress(opts: &FetchOptions, line: impl FnOnce() -> String) {
    if opts.progress {
        crate::terminal::eprint(format_args!("dockershim-audit: {}", line()));
    }
}

/// Maps a failed request to a gap, or to a fatal error on 401 / credentials.
fn failure(
    e: RequestError,
    resource: &str,
    namespace: Option<&str>,
    name: Option<&str>,
    perm: Option<String>,
    what: &str,
) -> Failure {
    match &e {
        RequestError::Status { code: 401, .. } => {
            return Failure::Fatal(anyhow!(
                "credentials rejected or expired: the API server answered 401 Unauthorized while {what}; \
                 log in again or refresh the kubeconfig"
            ));
        }
        RequestError::Credentials(cause) => {
            return Failure::Fatal(anyhow!("cannot obtain credentials while {what}: {cause}"));
        }
        _ => {}
    }
    let reason = match e.code() {
        Some(404) => format!("not served by this cluster: {}", e.describe()),
        _ => e.describe(),
    };
    let mut gap = Gap::new(resource, reason).in_namespace(namespace).with_status(e.code());
    if let Some(n) = name {
        gap = gap.named(n);
    }
    if e.code() == Some(403)
        && let Some(p) = perm
    {
        gap = gap.needing(p);
    }
    Failure::Gap(gap)
}

#[derive(Deserialize)]
struct ResourceListDoc {
    #[serde(default)]
    resources: Vec<ResourceEntry>,
}

#[derive(Deserialize)]
struct ResourceEntry {
    #[serde(default)]
    name: String,
}

/// Where a resource with a legacy version is served: its preferred version, else `legacy`
/// (CronJobs: `batch/v1`, else `batch/v1beta1` on clusters before 1.21).
async fn served_version(
    t: &Transport<'_>,
    res: &ResourceKind,
    legacy: &'static str,
) -> Result<Option<&'static str>, Failure> {
    let serves = |body: &[u8]| -> bool {
        serde_json::from_slice::<ResourceListDoc>(body)
            .map(|d| d.resources.iter().any(|r| r.name == res.plural))
            .unwrap_or(false)
    };
    let (preferred_path, legacy_path) = (res.group_version_path(res.version), res.group_version_path(legacy));
    match t.get(&preferred_path).await {
        Ok(body) if serves(&body) => return Ok(Some(res.version)),
        Ok(_) | Err(RequestError::Status { code: 404, .. }) => {}
        Err(e) => {
            return match failure(e, "discovery", None, None, None, &format!("reading {preferred_path}")) {
                Failure::Fatal(e) => Err(Failure::Fatal(e)),
                // Discovery is only a hint: try the list at the preferred version and let its answer decide.
                Failure::Gap(_) => Ok(Some(res.version)),
            };
        }
    }
    match t.get(&legacy_path).await {
        Ok(body) if serves(&body) => Ok(Some(legacy)),
        Ok(_) | Err(RequestError::Status { code: 404, .. }) => Err(Failure::Gap(Gap::new(
            res.plural,
            format!(
                "not served by this cluster: discovery lists {} neither in {} nor in {}",
                res.plural,
                res.api_version(),
                res.api_version_at(legacy)
            ),
        ))),
        Err(e) => match failure(e, res.plural, None, None, None, &format!("reading {legacy_path}")) {
            Failure::Fatal(e) => Err(Failure::Fatal(e)),
            Failure::Gap(mut g) => {
                g.reason = format!("cannot tell where {} are served: {}", res.plural, g.reason);
                Err(Failure::Gap(g))
            }
        },
    }
}

/// Asks the API server whether the caller may `verb` the resource (POST, persists nothing).
async fn review(
    t: &Transport<'_>,
    verb: &str,
    group: &str,
    resource: &str,
    subresource: Option<&str>,
    namespace: Option<&str>,
) -> Access {
    let mut attrs = json!({ "verb": verb, "group": group, "resource": resource });
    if let Some(s) = subresource {
        attrs["subresource"] = json!(s);
    }
    if let Some(ns) = namespace {
        attrs["namespace"] = json!(ns);
    }
    let body = json!({
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": { "resourceAttributes": attrs },
    });
    let Ok(bytes) = serde_json::to_vec(&body) else { return Access::Unknown };
    match t.post_access_review(bytes).await {
        Ok(answer) => {
            let Ok(v) = serde_json::from_slice::<Value>(&answer) else { return Access::Unknown };
            match v.pointer("/status/allowed").and_then(Value::as_bool) {
                Some(true) => Access::Allowed,
                Some(false) => {
                    Access::Denied(v.pointer("/status/reason").and_then(Value::as_str).unwrap_or("").to_string())
                }
                None => Access::Unknown,
            }
        }
        Err(_) => Access::Unknown,
    }
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    metadata: PageMeta,
    #[serde(default)]
    items: Option<Vec<Value>>,
}

#[derive(Deserialize, Default)]
struct PageMeta {
    #[serde(default, rename = "continue")]
    continue_token: Option<String>,
}

/// Pages of one list parsed at once while its next page is fetched (each holds one page's body).
const PAGES_AHEAD: usize = 2;

/// Lists one resource completely, page by page; restarts when the continue token expires.
///
/// With [`Reader::Pruned`] each page is parsed on a blocking thread ([`pruned::read_page`]); the
/// page's continue token comes back as soon as its `metadata` is read, and the next page is
/// requested then, so the download of page N+1 overlaps the parsing of page N (up to
/// [`PAGES_AHEAD`] pages are parsed at once). Pod pages are read in two passes
/// ([`pruned::read_pod_page`]): the owner grouping ([`PodOwners`]) goes from each page's reader to
/// the next, so pods after the first of their owner are reduced exactly as if read one by one,
/// and their specs are never built; with [`FetchOptions::audit_only`] they are not kept at all,
/// only counted (returned beside the objects). The limits hold as
/// before: each body is capped by the transport, every token and page is counted when it comes,
/// every object when its page is read.
async fn list_all(
    t: &Transport<'_>,
    opts: &FetchOptions,
    task: &ListTask,
    reader: Reader<'_>,
    listed_owners: Option<Arc<foldhash::HashSet<String>>>,
) -> Result<(Vec<Value>, FoldedPods), Failure> {
    let base = task.res.list_path(task.version, task.namespace.as_deref());
    let api_version = task.res.api_version_at(task.version);
    let scope = match &task.namespace {
        Some(ns) => format!(" in {ns}"),
        None => String::new(),
    };
    let gap = |reason: String| Failure::Gap(Gap::new(task.res.plural, reason).in_namespace(task.namespace.as_deref()));
    let mut restarts = 0;
    'restart: loop {
        let mut items: Vec<Value> = Vec::new();
        let mut seen = 0usize;
        let mut token: Option<String> = None;
        let mut pager = Pager::new(&opts.limits);
        // Pod lists: the owner grouping passes from each page's reader to the next page's.
        let pods = task.res.prune == Prune::PodSpec;
        let mut owners_rx = pods.then(|| {
            let (first_tx, first_rx) = std::sync::mpsc::sync_channel::<PodOwners>(1);
            let _ = first_tx.send(PodOwners::default());
            first_rx
        });
        let mut parsing: VecDeque<JoinHandle<Result<pruned::Page, serde_json::Error>>> = VecDeque::new();
        loop {
            let mut path = base.clone();
            let mut sep = '?';
            if opts.page_size > 0 {
                path.push_str(&format!("{sep}limit={}", opts.page_size));
                sep = '&';
            }
            if let Some(tok) = &token {
                path.push_str(&format!("{sep}continue={}", percent::encode(tok)));
            }
            let body = match t.get(&path).await {
                Ok(body) => body,
                Err(RequestError::Status { code: 410, .. }) if token.is_some() && restarts < MAX_LIST_RESTARTS => {
                    restarts += 1;
                    progress(opts, || {
                        format!(
                            "{}{scope}: continue token expired (410 Gone), listing again from the start",
                            task.res.plural
                        )
                    });
                    continue 'restart;
                }
                Err(e) => {
                    let what = format!("listing {}{scope}", task.res.plural);
                    let mut f =
                        failure(e, task.res.plural, task.namespace.as_deref(), None, Some(task.permission()), &what);
                    if let Failure::Gap(g) = &mut f
                        && g.http_status == Some(410)
                    {
                        g.reason = format!("list kept expiring (410 Gone) after {restarts} restart(s): {}", g.reason);
                    }
                    return Err(f);
                }
            };
            match reader {
                Reader::Pruned => {
                    // The next page's token from the answer's start, before a core is free to
                    // parse it (else from the parse, as soon as it reaches `metadata`).
                    let early = pruned::continue_token(&body);
                    let (tx, rx) = tokio::sync::oneshot::channel::<Option<String>>();
                    let (res, av) = (task.res, api_version.clone());
                    // This page's reader takes the grouping from the previous page's, and hands it on.
                    let chain = owners_rx.as_mut().map(|rx| {
                        let (next_tx, next_rx) = std::sync::mpsc::sync_channel::<PodOwners>(1);
                        (std::mem::replace(rx, next_rx), next_tx)
                    });
                    let (fold, page_size) = (opts.audit_only, usize::try_from(opts.page_size).unwrap_or(0));
                    let owners = listed_owners.clone();
                    parsing.push_back(tokio::task::spawn_blocking(move || {
                        let mut tx = Some(tx);
                        let mut on_continue = |tok: Option<&str>| {
                            if let Some(tx) = tx.take() {
                                let _ = tx.send(tok.map(str::to_string));
                            }
                        };
                        if let Some((prev_rx, next_tx)) = chain {
                            let owners = move || prev_rx.recv().ok();
                            let done = move |o| {
                                let _ = next_tx.send(o);
                            };
                            let list = pruned::PodList { res, api_version: &av, fold, page_size };
                            return pruned::read_pod_page(&body, list, &mut on_continue, owners, done);
                        }
                        let seed = ObjectSeedOf {
                            res,
                            api_version: &av,
                            purpose: Purpose::List,
                            listed_owners: owners.as_deref(),
                        };
                        pruned::read_page(&body, &seed, &mut on_continue)
                    }));
                    // A parse that fails before the metadata drops the sender: no next page,
                    // and the error comes out of its handle below.
                    let next = match early {
                        Some(token) => token,
                        None => rx.await.unwrap_or(None),
                    };
                    if let Err(stop) = pager.token(next.as_deref()) {
                        return Err(gap(stop.describe()));
                    }
                    token = next;
                    while parsing.len() > PAGES_AHEAD || (token.is_none() && !parsing.is_empty()) {
                        let Some(handle) = parsing.pop_front() else { break };
                        let page = match handle.await {
                            Ok(Ok(page)) => page,
                            Ok(Err(e)) => return Err(gap(format!("the list answer is not valid JSON: {e}"))),
                            Err(e) => return Err(gap(format!("the list answer could not be read: {e}"))),
                        };
                        // A 200 without an `items` array is not an empty list: nothing was read.
                        let Some(page_items) = page.items else {
                            return Err(gap(no_items(&page.kind, page.message.as_deref())));
                        };
                        if let Err(stop) = pager.objects(page.seen) {
                            return Err(gap(stop.describe()));
                        }
                        seen += page.seen;
                        items.extend(page_items);
                    }
                }
                Reader::Filter(keep) => {
                    let page: Page = match serde_json::from_slice(&body) {
                        Ok(p) => p,
                        Err(e) => return Err(gap(format!("the list answer is not valid JSON: {e}"))),
                    };
                    // A 200 without an `items` array is not an empty list: nothing was read.
                    let Some(page_items) = page.items else {
                        return Err(gap(no_items(&page.kind, page.message.as_deref())));
                    };
                    let next = page.metadata.continue_token.filter(|c| !c.is_empty());
                    if let Err(stop) = pager.page(page_items.len(), next.as_deref()) {
                        return Err(gap(stop.describe()));
                    }
                    for item in page_items {
                        seen += 1;
                        let Value::Object(map) = item else { continue };
                        let obj = fill_type_meta(map, task.res.kind, &api_version);
                        if task.res.keep.is_some_and(|keep| !keep(&obj)) {
                            continue;
                        }
                        if let Some(obj) = keep(task.res.plural, pruned::slim(obj)) {
                            items.push(obj);
                        }
                    }
                    token = next;
                }
            }
            if token.is_none() {
                break;
            }
            progress(opts, || format!("{}{scope}: {seen} read so far", task.res.plural));
        }
        // The grouping as the last page left it: every page's reader has finished.
        let folded = match owners_rx.map(|rx| rx.try_recv()) {
            Some(Ok(owners)) if opts.audit_only => owners.into_folded(),
            _ => FoldedPods::default(),
        };
        progress(opts, || {
            let counted = match folded.count() {
                0 => String::new(),
                n => format!(" ({n} more counted under the first pod of their owner)"),
            };
            format!("{}{scope}: {seen} read, {} kept{counted}", task.res.plural, items.len())
        });
        return Ok((items, folded));
    }
}

/// The gap's reason for a list answer without an `items` array.
fn no_items(kind: &Option<String>, message: Option<&str>) -> String {
    let what = match (kind.as_deref(), message) {
        (Some("Status"), Some(m)) => format!("a Status ({m})"),
        (Some(k), _) if !k.is_empty() => format!("a {k} object"),
        _ => "an object".to_string(),
    };
    format!("the server answered 200 with {what} that has no `items` array: not a list, so nothing was read")
}

/// Reads one node's live kubelet configuration through the API server's node proxy.
async fn read_configz(t: &Transport<'_>, node: &str) -> Result<Value, Failure> {
    let valid = !node.is_empty()
        && node.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if !valid {
        return Err(Failure::Gap(Gap::new("nodes/proxy", "configz not read: unusual node name").named(node)));
    }
    let path = format!("/api/v1/nodes/{node}/proxy/configz");
    match t.get_with(&path, Retries::Configz).await {
        Ok(body) => serde_json::from_slice(&body).map_err(|e| {
            Failure::Gap(Gap::new("nodes/proxy", format!("configz answer is not valid JSON: {e}")).named(node))
        }),
        Err(e) => {
            let perm = permission("get", "nodes/proxy", "core", None);
            Err(failure(e, "nodes/proxy", None, Some(node), Some(perm), &format!("reading configz of node {node}")))
        }
    }
}

/// The resource names `fetch` reads, for callers that report coverage.
pub fn resource_names() -> Vec<&'static str> {
    RESOURCES.iter().map(|r| r.plural).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_words() {
        assert_eq!(permission("list", "pods", "core", None), "list pods (core) at cluster scope");
        assert_eq!(permission("list", "deployments", "apps", Some("web")), "list deployments (apps) in namespace web");
        assert_eq!(resource_names().len(), 10);
    }
}
