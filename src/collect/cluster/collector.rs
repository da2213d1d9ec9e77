//! The optional node-file collector of `cluster --node-files`: one short-lived pod per node reads
//! the node files and prints them to its log; the tool rebuilds them in a private temporary
//! directory and runs the same node scan as `node --root`.
//!
//! Place in the pipeline: a `collect` step after the cluster fetch. It is the single exception to
//! the read-only rule (DESIGN.md section 6): it creates, reads and deletes pods in a namespace of
//! the tool's own (and creates that namespace when it is missing and creating it is allowed).
//!
//! The pod, per node: `spec.nodeName` pins it; `tolerations: [{operator: Exists}]` reaches tainted
//! nodes; no host network, PID or IPC; `restartPolicy: Never`; `activeDeadlineSeconds`; small
//! requests and limits; `automountServiceAccountToken: false`; a read-only root filesystem, all
//! capabilities dropped except `DAC_READ_SEARCH` (to read root-only crontabs); and read-only
//! hostPath volumes of exactly the directories and files that `rules/data/node-files.csv` names,
//! each with `type: Directory` or `type: File`. Those types make the kubelet check that the path
//! exists and never create anything on the host (with the type unset, Docker and containerd create
//! a missing host path as an empty directory). A node that lacks some of the paths reports
//! `FailedMount` events naming the volumes; the collector deletes that pod and starts another one
//! without them. The container (a stock busybox by default) runs [`SCRIPT`], which prints each
//! file as a base64 frame, and each symbolic link as a frame with its target.
//!
//! Must not: follow a symbolic link while rebuilding the files (links are recreated as links and
//! resolved later inside the temporary root by [`node::scan`]), write outside its temporary
//! directory, leave a pod behind (every pod it created is deleted, also on errors and on Ctrl-C),
//! delete a namespace it did not create, or mount anything writable or any socket directory.

use std::collections::BTreeSet;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::stream::{self, StreamExt as _};
use http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};

use super::limits::{Limits, Pager};
use crate::collect::node;
use crate::evidence::{Evidence, Gap, NodeFile, Subject};

/// Largest file the pod prints (larger ones get a `SKIPPED` frame).
pub const MAX_FILE: u64 = 1024 * 1024;

/// Total bytes of file content one pod prints (kubelets rotate container logs at 10 MiB by
/// default; base64 adds a third).
pub const MAX_TOTAL: u64 = 6 * 1024 * 1024;

/// Largest pod log read back.
const MAX_LOG: u64 = 16 * 1024 * 1024;

/// Name of the collector container.
pub const CONTAINER: &str = "collect";

/// Where the host paths are mounted in the pod.
pub const HOST_PREFIX: &str = "/host";

/// Label on every pod and namespace the collector creates.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "dockershim-audit");

/// Label naming the run that created a pod (for the final sweep and for manual clean-up).
pub const RUN_LABEL: &str = "dockershim-audit/run";

/// Annotation carrying the full node name of a collector pod.
pub const NODE_ANNOTATION: &str = "dockershim-audit/node";

/// The script the collector pod runs (POSIX sh, busybox applets `readlink`, `wc`, `base64`). Its
/// arguments are the patterns of `rules/data/node-files.csv`; `HOST_ROOT` (default `/host`) is
/// where the host paths are mounted. Frames, one per line:
///
/// ```text
/// ==> BEGIN <size> <path>      then base64 lines, then ==> END <path>
/// ==> LINK <path>              then ==> TO <target>
/// ==> SKIPPED <size> <path>    larger than 1 MiB
/// ==> BUDGET <size> <path>     over the 6 MiB total
/// ==> UNREADABLE <path>
/// ==> FAILED <path>            base64 failed inside a BEGIN frame
/// ==> ODDNAME                  a name with a newline, not printed
/// ==> DONE <files>             last line: the output is complete
/// ```
pub const SCRIPT: &str = r#"exec 2>/dev/null
H="${HOST_ROOT:-/host}"
MAX=1048576
BUDGET=6291456
n=0
nl='
'
follow() {
  [ "$3" -ge 8 ] && return 0
  case "$2" in
    /*) "$4" "$2" $(($3+1)) ;;
    ..|../*|*/..|*/../*) ;;
    *) "$4" "${1%/*}/$2" $(($3+1)) ;;
  esac
}
file() {
  case "$1" in *"$nl"*) echo "==> ODDNAME"; return 0 ;; esac
  p="$H$1"
  if [ -L "$p" ]; then
    t=$(readlink "$p")
    echo "==> LINK $1"
    echo "==> TO $t"
    follow "$1" "$t" "$2" file
    return 0
  fi
  [ -f "$p" ] || return 0
  if [ ! -r "$p" ]; then echo "==> UNREADABLE $1"; return 0; fi
  s=$(wc -c < "$p") || { echo "==> UNREADABLE $1"; return 0; }
  s=$((s+0))
  if [ "$s" -gt "$MAX" ]; then echo "==> SKIPPED $s $1"; return 0; fi
  if [ "$s" -gt "$BUDGET" ]; then echo "==> BUDGET $s $1"; return 0; fi
  BUDGET=$((BUDGET-s))
  echo "==> BEGIN $s $1"
  base64 < "$p" || echo "==> FAILED $1"
  echo "==> END $1"
  n=$((n+1))
}
dir() {
  case "$1" in *"$nl"*) echo "==> ODDNAME"; return 0 ;; esac
  d="$H$1"
  if [ -L "$d" ]; then
    t=$(readlink "$d")
    echo "==> LINK $1"
    echo "==> TO $t"
    follow "$1" "$t" "$2" dir
    return 0
  fi
  [ -d "$d" ] || return 0
  for f in "$d"/* "$d"/.[!.]* "$d"/..?*; do
    [ -e "$f" ] || [ -L "$f" ] || continue
    if [ -d "$f" ] && [ ! -L "$f" ]; then continue; fi
    file "$1/${f##*/}" 0
  done
}
for pat in "$@"; do
  case "$pat" in
    */\*) dir "${pat%/\*}" 0 ;;
    *) file "$pat" 0 ;;
  esac
done
echo "==> DONE $n"
exit 0
"#;

/// How the collector runs.
#[derive(Debug, Clone)]
pub struct CollectorOptions {
    /// Namespace of the collector pods (`--collector-namespace`).
    pub namespace: String,
    /// Image of the collector pods (`--collector-image`); needs `sh`, `readlink`, `wc`, `base64`.
    pub image: String,
    /// Label selector for the nodes (`--node-selector`).
    pub node_selector: Option<String>,
    /// Nodes collected at once.
    pub concurrency: usize,
    /// The pods' `activeDeadlineSeconds`.
    pub active_deadline: Duration,
    /// How long the tool waits for one pod to finish (a little more than `active_deadline`).
    pub wait: Duration,
    /// First delay between polls of a pod; grows by half up to `poll_max`.
    pub poll_base: Duration,
    /// Longest delay between polls.
    pub poll_max: Duration,
    /// Bounds on the requests: `request_timeout`, `max_retries`, the page and object caps of the
    /// node list, and `run_timeout`, after which no new node is started (the collector's own
    /// `max_retries` default is 3).
    pub limits: Limits,
    /// How long a pod may be creating before its events are read for missing host paths (at
    /// most a quarter of `wait`).
    pub events_after: Duration,
    /// How long to wait, once a host path is reported missing, for the kubelet to report the
    /// others (it reports each volume on its own; at most a tenth of `wait`).
    pub mount_settle: Duration,
    /// Delay between two reads of a creating pod's events.
    pub events_every: Duration,
    /// Pods started per node when some host paths are missing (each without the missing ones).
    pub max_attempts: u32,
    /// Delete the namespace at the end when the collector created it.
    pub delete_created_namespace: bool,
    /// Progress lines on stderr.
    pub progress: bool,
    /// The node files to read (the catalogue's node file list); empty reads none.
    pub node_files: Vec<NodeFile>,
}

impl Default for CollectorOptions {
    fn default() -> Self {
        CollectorOptions {
            namespace: "dockershim-audit".into(),
            image: "busybox:1.36".into(),
            node_selector: None,
            concurrency: 4,
            active_deadline: Duration::from_secs(120),
            wait: Duration::from_secs(150),
            poll_base: Duration::from_millis(500),
            poll_max: Duration::from_secs(4),
            limits: Limits { max_retries: 3, ..Limits::default() },
            events_after: Duration::from_secs(2),
            mount_settle: Duration::from_millis(1500),
            events_every: Duration::from_secs(5),
            max_attempts: 3,
            delete_created_namespace: true,
            progress: false,
            node_files: Vec::new(),
        }
    }
}

impl CollectorOptions {
    /// Multiplies every poll interval, retry back-off and settle delay by `factor` (see
    /// [`super::fetch::wait_scale_from_env`]); request timeouts and pod deadlines are unchanged.
    pub fn scale_waits(mut self, factor: f64) -> Self {
        for d in [
            &mut self.poll_base,
            &mut self.poll_max,
            &mut self.events_after,
            &mut self.mount_settle,
            &mut self.events_every,
        ] {
            *d = d.mul_f64(factor);
        }
        self
    }
}

/// The node files of one node.
#[derive(Debug)]
pub struct NodeFiles {
    /// What [`node::scan`] found in the rebuilt files, locations carrying node and pool.
    pub evidence: Evidence,
}

/// What a collector run did.
#[derive(Debug, Default)]
pub struct CollectorResult {
    /// Nodes whose files were read.
    pub nodes: Vec<NodeFiles>,
    /// Nodes (or the whole collector) that could not be read: coverage gaps.
    pub gaps: Vec<Gap>,
    /// Nodes left out on purpose (Windows nodes).
    pub skipped: Vec<Gap>,
    /// Every pod created, in order.
    pub created: Vec<String>,
    /// Pods that could not be deleted (the caller warns with a clean-up command).
    pub left_behind: Vec<String>,
    /// Whether the collector created the namespace (and, then, whether it deleted it again).
    pub namespace_created: bool,
    /// Whether the namespace the collector created was deleted at the end.
    pub namespace_deleted: bool,
    /// The run ended because the caller's cancel future completed (a signal).
    pub interrupted: bool,
    /// The signal that ended it (SIGINT, SIGTERM, SIGHUP), when one did.
    pub signal: Option<i32>,
    /// The run id (value of the [`RUN_LABEL`] label).
    pub run_id: String,
}

/// The error a run ends with when it was interrupted (after clean-up): callers exit with `gate::EXIT_INTERRUPTED`.
#[derive(Debug)]
pub struct Interrupted {
    /// The signal (SIGINT 2, SIGTERM 15, SIGHUP 1): the run exits with 128 + it.
    pub signal: i32,
    /// Pods deleted during clean-up.
    pub deleted: usize,
    /// Pods that could not be deleted.
    pub left_behind: Vec<String>,
    /// Namespace of the pods.
    pub namespace: String,
    /// The run id.
    pub run_id: String,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "interrupted ({}): deleted {} collector pod(s)", signal_name(self.signal), self.deleted)?;
        if !self.left_behind.is_empty() {
            write!(
                f,
                "; could not delete {} ({}): run `kubectl -n {} delete pods -l {}={}`",
                self.left_behind.len(),
                self.left_behind.join(", "),
                self.namespace,
                RUN_LABEL,
                self.run_id
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for Interrupted {}

/// The name of a termination signal, for messages.
pub fn signal_name(signal: i32) -> &'static str {
    match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        15 => "SIGTERM",
        _ => "signal",
    }
}

/// Waits for SIGINT (Ctrl-C), SIGTERM (Kubernetes Jobs, `timeout`, CI cancellation) or SIGHUP (a
/// closed terminal) and returns its number; never returns where no handler can be installed.
pub async fn termination_signal() -> i32 {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term), Ok(mut hup)) =
            (signal(SignalKind::interrupt()), signal(SignalKind::terminate()), signal(SignalKind::hangup()))
        else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = int.recv() => libc::SIGINT,
            _ = term.recv() => libc::SIGTERM,
            _ = hup.recv() => libc::SIGHUP,
        }
    }
    #[cfg(not(unix))]
    {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        2
    }
}

/// Runs the collector until done or until a termination signal; always deletes what it created.
pub async fn collect(client: &kube::Client, opts: &CollectorOptions) -> CollectorResult {
    collect_until(client, opts, termination_signal()).await
}

/// Runs the collector until done or until `cancel` completes; always deletes what it created.
pub async fn collect_until(
    client: &kube::Client,
    opts: &CollectorOptions,
    cancel: impl Future<Output = i32>,
) -> CollectorResult {
    let run = Run::new(client, opts);
    let mut result = CollectorResult { run_id: run.id.clone(), ..CollectorResult::default() };
    tokio::pin!(cancel);
    let interrupted = {
        let work = collect_inner(&run, &mut result);
        tokio::pin!(work);
        // Biased: the signal handler is installed before the first request is sent.
        tokio::select! {
            biased;
            signal = &mut cancel => Some(signal),
            _ = &mut work => None,
        }
    };
    result.signal = interrupted;
    let interrupted = interrupted.is_some();
    result.interrupted = interrupted;
    if interrupted {
        crate::terminal::eprint(format_args!(
            "dockershim-audit: interrupted ({}); deleting the collector pods (Ctrl-C again to stop now)",
            signal_name(result.signal.unwrap_or(libc::SIGINT))
        ));
        let second = termination_signal();
        tokio::select! {
            _ = run.cleanup(&mut result) => {}
            _ = second => {
                crate::terminal::eprint(format_args!(
                    "dockershim-audit: clean-up stopped; delete what is left with `kubectl -n {} delete pods -l {}={}`",
                    opts.namespace, RUN_LABEL, run.id
                ));
                result.left_behind = run.live();
            }
        }
    } else {
        run.cleanup(&mut result).await;
    }
    result.created = run.created();
    result
}

/// Runs [`collect`] and turns an interrupted run into an [`Interrupted`] error.
pub async fn collect_or_interrupt(client: &kube::Client, opts: &CollectorOptions) -> anyhow::Result<CollectorResult> {
    let r = collect(client, opts).await;
    if r.interrupted {
        let deleted = r.created.len().saturating_sub(r.left_behind.len());
        return Err(Interrupted {
            signal: r.signal.unwrap_or(libc::SIGINT),
            deleted,
            left_behind: r.left_behind,
            namespace: opts.namespace.clone(),
            run_id: r.run_id,
        }
        .into());
    }
    Ok(r)
}

async fn collect_inner(run: &Run<'_>, result: &mut CollectorResult) {
    let opts = run.opts;
    match run.ensure_namespace().await {
        Ok(created) => {
            result.namespace_created = created;
            *run.namespace_created.lock().unwrap_or_else(|p| p.into_inner()) = created;
        }
        Err(gap) => {
            result.gaps.push(gap);
            return;
        }
    }
    let nodes = match run.list_nodes().await {
        Ok(n) => n,
        Err(gap) => {
            result.gaps.push(gap);
            return;
        }
    };
    if nodes.is_empty() {
        let why = match &opts.node_selector {
            Some(s) => format!("no node matches the selector {s:?}"),
            None => "the cluster lists no nodes".to_string(),
        };
        result.gaps.push(Gap { source: "node files".into(), reason: why, ..Gap::default() });
        return;
    }
    run.progress(|| format!("collecting node files from {} node(s) in namespace {}", nodes.len(), opts.namespace));
    let outcomes: Vec<(NodeTarget, Outcome)> = stream::iter(nodes)
        .map(|n| async move {
            // Past the run's --timeout no new pod is started; those running finish or time out.
            if run.deadline.is_some_and(|d| Instant::now() >= d) {
                let why = "not collected: the run reached its --timeout before this node's turn".to_string();
                return (n, Outcome::Gap(why));
            }
            let o = run.collect_node(&n).await;
            (n, o)
        })
        .buffer_unordered(opts.concurrency.max(1))
        .collect()
        .await;
    let mut outcomes = outcomes;
    outcomes.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    let mut aborted = 0usize;
    for (n, o) in outcomes {
        match o {
            Outcome::Files(ev) => result.nodes.push(NodeFiles { evidence: ev }),
            Outcome::Gap(reason) => result.gaps.push(Gap {
                source: format!("node {}: node files", n.name),
                reason,
                missing_permission: None,
                node: Some(n.name),
            }),
            Outcome::Skipped(reason) => result.skipped.push(Gap {
                source: format!("node {}: node files", n.name),
                reason,
                missing_permission: None,
                node: Some(n.name),
            }),
            Outcome::Aborted => aborted += 1,
        }
    }
    if let Some(mut gap) = run.abort.lock().unwrap_or_else(|p| p.into_inner()).take() {
        if aborted > 0 {
            gap.reason = format!("{} ({aborted} node(s) not collected)", gap.reason);
        }
        result.gaps.push(gap);
    }
}

/// One node to collect.
#[derive(Debug, Clone)]
struct NodeTarget {
    name: String,
    pool: Option<String>,
    ready: Option<bool>,
    os: Option<String>,
}

/// How collecting one node ended.
enum Outcome {
    Files(Evidence),
    Gap(String),
    Skipped(String),
    /// Not attempted: a collector-wide failure (recorded once in `Run::abort`).
    Aborted,
}

/// A failed request.
#[derive(Debug, Clone)]
enum ApiError {
    Status { code: u16, message: String },
    Transport(String),
}

impl ApiError {
    fn code(&self) -> Option<u16> {
        match self {
            ApiError::Status { code, .. } => Some(*code),
            ApiError::Transport(_) => None,
        }
    }

    fn describe(&self) -> String {
        match self {
            ApiError::Status { code, message, .. } => {
                let canonical = StatusCode::from_u16(*code).ok().and_then(|s| s.canonical_reason()).unwrap_or("");
                if message.is_empty() {
                    format!("{code} {canonical}")
                } else {
                    format!("{code} {canonical}: {message}")
                }
            }
            ApiError::Transport(cause) => cause.clone(),
        }
    }
}

/// State shared by the node tasks of one run.
struct Run<'a> {
    client: &'a kube::Client,
    opts: &'a CollectorOptions,
    id: String,
    /// Pods that may exist (registered before their POST is sent).
    live: Mutex<BTreeSet<String>>,
    /// Every pod name registered, in order.
    created: Mutex<Vec<String>>,
    /// A failure that stops every node (namespace missing, pods forbidden).
    abort: Mutex<Option<Gap>>,
    namespace_created: Mutex<bool>,
    /// `list events` was refused: mount failures cannot be diagnosed.
    events_forbidden: Mutex<bool>,
    patterns: Vec<String>,
    /// When no new node is started any more (`--timeout`).
    deadline: Option<Instant>,
}

impl<'a> Run<'a> {
    fn new(client: &'a kube::Client, opts: &'a CollectorOptions) -> Run<'a> {
        Run {
            client,
            opts,
            id: run_id(),
            live: Mutex::new(BTreeSet::new()),
            created: Mutex::new(Vec::new()),
            abort: Mutex::new(None),
            namespace_created: Mutex::new(false),
            events_forbidden: Mutex::new(false),
            patterns: patterns(&opts.node_files),
            deadline: opts.limits.run_timeout.and_then(|t| Instant::now().checked_add(t)),
        }
    }

    fn progress(&self, line: impl FnOnce() -> String) {
        if self.opts.progress {
            crate::terminal::eprint(format_args!("dockershim-audit: {}", line()));
        }
    }

    fn live(&self) -> Vec<String> {
        self.live.lock().map(|l| l.iter().cloned().collect()).unwrap_or_default()
    }

    fn created(&self) -> Vec<String> {
        self.created.lock().map(|c| c.clone()).unwrap_or_default()
    }

    fn events_forbidden(&self) -> bool {
        self.events_forbidden.lock().map(|f| *f).unwrap_or(false)
    }

    fn aborted(&self) -> bool {
        self.abort.lock().map(|a| a.is_some()).unwrap_or(false)
    }

    fn set_abort(&self, gap: Gap) {
        if let Ok(mut a) = self.abort.lock()
            && a.is_none()
        {
            *a = Some(gap);
        }
    }

    /// One request with a timeout; the status and body.
    async fn once(&self, method: &Method, path: &str, body: Option<&[u8]>) -> Result<(u16, Bytes), String> {
        let mut builder = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(header::ACCEPT, "application/json, */*")
            .header(header::USER_AGENT, concat!("dockershim-audit/", env!("CARGO_PKG_VERSION"), " (node collector)"));
        if body.is_some() {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
        }
        let request = builder
            .body(kube::client::Body::from(body.map(Bytes::copy_from_slice).unwrap_or_default()))
            .map_err(|e| format!("cannot build the request {method} {path}: {e}"))?;
        let exchange = async {
            let response = self.client.send(request).await.map_err(|e| match e {
                kube::Error::Auth(e) => {
                    format!("cannot obtain credentials: {}", super::credentials::describe_auth_error(&e, None))
                }
                other => format!(
                    "no answer from the API server: {}",
                    super::credentials::redact_urls(&super::transport::error_chain(&other))
                ),
            })?;
            let (parts, body) = response.into_parts();
            let limited = http_body_util::Limited::new(body, MAX_LOG as usize + 64 * 1024);
            let bytes = limited
                .collect()
                .await
                .map_err(|e| format!("connection lost while reading the answer: {e}"))?
                .to_bytes();
            Ok((parts.status.as_u16(), bytes))
        };
        match tokio::time::timeout(self.opts.limits.request_timeout, exchange).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "no answer within {} (--request-timeout)",
                super::limits::show_duration(self.opts.limits.request_timeout)
            )),
        }
    }

    /// A request with retries on 429, 5xx and transport errors; the body on 2xx.
    async fn call(&self, method: Method, path: &str, body: Option<&[u8]>) -> Result<Bytes, ApiError> {
        let mut attempt = 0u32;
        loop {
            let err = match self.once(&method, path, body).await {
                Ok((code, bytes)) if (200..300).contains(&code) => return Ok(bytes),
                Ok((code, bytes)) => {
                    let message = status_of(&bytes);
                    let e = ApiError::Status { code, message };
                    if code != 429 && code < 500 {
                        return Err(e);
                    }
                    e
                }
                Err(cause) if cause.starts_with("cannot obtain credentials") => return Err(ApiError::Transport(cause)),
                Err(cause) => ApiError::Transport(cause),
            };
            if attempt >= self.opts.limits.max_retries {
                return Err(err);
            }
            let step = self.opts.poll_base.saturating_mul(1 << attempt.min(6)).min(Duration::from_secs(8));
            tokio::time::sleep(step).await;
            attempt += 1;
        }
    }

    async fn get_json(&self, path: &str) -> Result<Value, ApiError> {
        let body = self.call(Method::GET, path, None).await?;
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::Transport(format!("the answer to GET {path} is not JSON: {e}")))
    }

    /// Makes sure the namespace exists; `Ok(true)` when this run created it.
    async fn ensure_namespace(&self) -> Result<bool, Gap> {
        let ns = &self.opts.namespace;
        let gap = |reason: String, perm: Option<String>| Gap {
            source: format!("node files (collector namespace {ns})"),
            reason,
            missing_permission: perm,
            node: None,
        };
        if !is_dns_label(ns) {
            return Err(gap(format!("{ns:?} is not a valid namespace name"), None));
        }
        match self.call(Method::GET, &format!("/api/v1/namespaces/{ns}"), None).await {
            Ok(_) => return Ok(false),
            // Not allowed to look: assume it exists; creating pods will tell.
            Err(ApiError::Status { code: 403, .. }) => return Ok(false),
            Err(ApiError::Status { code: 404, .. }) => {}
            Err(e) => return Err(gap(format!("cannot read namespace {ns}: {}", e.describe()), None)),
        }
        let body = json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": ns,
                "labels": {
                    MANAGED_BY.0: MANAGED_BY.1,
                    // hostPath volumes are refused by the baseline and restricted Pod Security levels.
                    "pod-security.kubernetes.io/enforce": "privileged",
                },
            },
        });
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        match self.call(Method::POST, "/api/v1/namespaces", Some(&bytes)).await {
            Ok(_) => {
                self.progress(|| format!("created namespace {ns}"));
                Ok(true)
            }
            Err(ApiError::Status { code: 409, .. }) => Ok(false),
            Err(ApiError::Status { code: 403, message, .. }) => Err(gap(
                format!(
                    "namespace {ns} does not exist and the caller may not create it ({message}); create it \
                     (see deploy/rbac-collector.yaml) or pass --collector-namespace"
                ),
                Some("create namespaces (core) at cluster scope".into()),
            )),
            Err(e) => Err(gap(format!("cannot create namespace {ns}: {}", e.describe()), None)),
        }
    }

    /// The nodes to collect, with `--node-selector` applied by the API server.
    async fn list_nodes(&self) -> Result<Vec<NodeTarget>, Gap> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        let mut pager = Pager::new(&self.opts.limits);
        loop {
            let mut path = "/api/v1/nodes?limit=500".to_string();
            if let Some(sel) = &self.opts.node_selector {
                path.push_str(&format!("&labelSelector={}", crate::percent::encode(sel)));
            }
            if let Some(t) = &token {
                path.push_str(&format!("&continue={}", crate::percent::encode(t)));
            }
            let page = self.get_json(&path).await.map_err(|e| Gap {
                source: "node files".into(),
                reason: format!("cannot list the nodes: {}", e.describe()),
                missing_permission: (e.code() == Some(403)).then(|| "list nodes (core) at cluster scope".to_string()),
                node: None,
            })?;
            let stop = |reason: String| Gap {
                source: "node files".into(),
                reason: format!("cannot list the nodes: {reason}"),
                missing_permission: None,
                node: None,
            };
            // A 200 without an `items` array is not an empty node list.
            let Some(items) = page.get("items").and_then(Value::as_array) else {
                return Err(stop("the server answered 200 without an `items` array".into()));
            };
            let next = page.pointer("/metadata/continue").and_then(Value::as_str).filter(|t| !t.is_empty());
            pager.page(items.len(), next).map_err(|s| stop(s.describe()))?;
            for n in items {
                let name = n.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
                if name.is_empty() {
                    continue;
                }
                let ready = n.pointer("/status/conditions").and_then(Value::as_array).and_then(|cs| {
                    cs.iter()
                        .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))
                        .map(|c| c.get("status").and_then(Value::as_str) == Some("True"))
                });
                let os = ["kubernetes.io/os", "beta.kubernetes.io/os"]
                    .iter()
                    .find_map(|l| n.pointer("/metadata/labels").and_then(|m| m.get(*l)).and_then(Value::as_str))
                    .or_else(|| n.pointer("/status/nodeInfo/operatingSystem").and_then(Value::as_str))
                    .map(str::to_string);
                out.push(NodeTarget { name, pool: crate::collect::objects::node_pool(n), ready, os });
            }
            token = page
                .pointer("/metadata/continue")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    async fn collect_node(&self, n: &NodeTarget) -> Outcome {
        if self.aborted() {
            return Outcome::Aborted;
        }
        if n.os.as_deref().is_some_and(|os| os != "linux") {
            return Outcome::Skipped(format!(
                "{} node: the node files are Linux paths",
                n.os.as_deref().unwrap_or("non-Linux")
            ));
        }
        if n.ready == Some(false) {
            return Outcome::Gap("the node is not Ready: no collector pod was started".into());
        }
        let mut mounts = mounts(&self.patterns);
        let mut dropped: Vec<String> = Vec::new();
        for attempt in 0..self.opts.max_attempts.max(1) {
            if self.aborted() {
                return Outcome::Aborted;
            }
            let name = pod_name(&n.name, &self.id, attempt);
            let outcome = self.attempt(n, &name, &mounts).await;
            self.delete_pod(&name).await;
            match outcome {
                Attempt::Done(log) => return self.rebuild(n, &log, &dropped),
                Attempt::MissingMounts(paths) => {
                    self.progress(|| {
                        format!("node {}: not on the node, mounted no more: {}", n.name, paths.join(", "))
                    });
                    mounts.retain(|m| !paths.contains(&m.path));
                    dropped.extend(paths);
                }
                Attempt::Failed(reason) => return Outcome::Gap(reason),
                Attempt::Aborted => return Outcome::Aborted,
            }
        }
        Outcome::Gap(format!(
            "the collector pod kept failing to mount host paths after {} attempt(s)",
            self.opts.max_attempts.max(1)
        ))
    }

    /// Creates one pod, waits for it and reads its log.
    async fn attempt(&self, n: &NodeTarget, name: &str, mounts: &[Mount]) -> Attempt {
        let ns = &self.opts.namespace;
        let pod = pod_spec(name, &n.name, &self.id, self.opts, mounts, &self.patterns);
        let bytes = serde_json::to_vec(&pod).unwrap_or_default();
        // Registered before the request, so an interrupted or lost answer is still cleaned up.
        if let Ok(mut live) = self.live.lock() {
            live.insert(name.to_string());
        }
        if let Ok(mut c) = self.created.lock() {
            c.push(name.to_string());
        }
        match self.call(Method::POST, &format!("/api/v1/namespaces/{ns}/pods"), Some(&bytes)).await {
            Ok(_) => {}
            // A retried POST whose first answer was lost.
            Err(ApiError::Status { code: 409, .. }) => {}
            Err(ApiError::Status { code: 403, message, .. }) => {
                let perm = if message.contains("PodSecurity") || message.contains("violates") {
                    None
                } else {
                    Some(format!("create pods (core) in namespace {ns}"))
                };
                self.set_abort(Gap {
                    source: format!("node files (collector namespace {ns})"),
                    reason: format!("cannot create the collector pods: {message}"),
                    missing_permission: perm,
                    node: None,
                });
                return Attempt::Aborted;
            }
            Err(ApiError::Status { code: 404, message, .. }) => {
                self.set_abort(Gap {
                    source: format!("node files (collector namespace {ns})"),
                    reason: format!("cannot create the collector pods: {message}"),
                    missing_permission: None,
                    node: None,
                });
                return Attempt::Aborted;
            }
            Err(e) => return Attempt::Failed(format!("cannot create the collector pod: {}", e.describe())),
        }
        self.progress(|| format!("node {}: started pod {ns}/{name}", n.name));
        match self.wait(name, mounts).await {
            Wait::Succeeded => {}
            Wait::MissingMounts(p) => return Attempt::MissingMounts(p),
            Wait::Failed(reason) => return Attempt::Failed(reason),
        }
        let path = format!("/api/v1/namespaces/{ns}/pods/{name}/log?container={CONTAINER}&limitBytes={MAX_LOG}");
        match self.call(Method::GET, &path, None).await {
            Ok(body) => Attempt::Done(String::from_utf8_lossy(&body).into_owned()),
            Err(e) => {
                let hint = if e.code() == Some(403) {
                    format!(" (needs get pods/log in namespace {ns})")
                } else {
                    String::new()
                };
                Attempt::Failed(format!("cannot read the collector pod's log: {}{hint}", e.describe()))
            }
        }
    }

    /// Polls a pod until it succeeded, failed, or cannot start.
    async fn wait(&self, name: &str, mounts: &[Mount]) -> Wait {
        let ns = &self.opts.namespace;
        let start = Instant::now();
        let deadline = start + self.opts.wait;
        let mut delay = self.opts.poll_base;
        let mut next_events = start + self.opts.events_after.min(self.opts.wait / 4);
        let mut last: String;
        loop {
            match self.get_json(&format!("/api/v1/namespaces/{ns}/pods/{name}")).await {
                Ok(pod) => {
                    let phase = pod.pointer("/status/phase").and_then(Value::as_str).unwrap_or("Pending");
                    match phase {
                        "Succeeded" => return Wait::Succeeded,
                        "Failed" => return Wait::Failed(failure_reason(&pod)),
                        _ => {}
                    }
                    if let Some(reason) = stuck_reason(&pod, &self.opts.image) {
                        return Wait::Failed(reason);
                    }
                    last = describe_pending(&pod);
                    let creating = last.contains("ContainerCreating");
                    if creating && Instant::now() >= next_events && !self.events_forbidden() {
                        let missing = self.missing_mounts(name, mounts).await;
                        if !missing.is_empty() {
                            // The kubelet reports each volume on its own; give the rest a moment.
                            tokio::time::sleep(self.opts.mount_settle.min(self.opts.wait / 10)).await;
                            let mut all = missing;
                            for p in self.missing_mounts(name, mounts).await {
                                if !all.contains(&p) {
                                    all.push(p);
                                }
                            }
                            return Wait::MissingMounts(all);
                        }
                        next_events = Instant::now() + self.opts.events_every;
                    }
                }
                Err(ApiError::Status { code: 404, .. }) => {
                    return Wait::Failed(
                        "the collector pod disappeared before it finished (deleted or evicted)".into(),
                    );
                }
                Err(e) => last = format!("cannot read the pod: {}", e.describe()),
            }
            let now = Instant::now();
            if now >= deadline {
                let hint = if last.contains("ContainerCreating") && self.events_forbidden() {
                    format!(
                        "; if a host path is missing, the collector needs `list events` in namespace {ns} to retry without it"
                    )
                } else {
                    String::new()
                };
                return Wait::Failed(format!(
                    "the collector pod did not finish within {}s ({last}){hint}",
                    self.opts.wait.as_secs()
                ));
            }
            tokio::time::sleep(delay.min(deadline - now)).await;
            delay = (delay + delay / 2).min(self.opts.poll_max);
        }
    }

    /// Host paths the kubelet refused to mount (`FailedMount` events of a hostPath type check).
    async fn missing_mounts(&self, name: &str, mounts: &[Mount]) -> Vec<String> {
        let ns = &self.opts.namespace;
        let selector = crate::percent::encode(&format!("involvedObject.name={name}"));
        let events = match self.get_json(&format!("/api/v1/namespaces/{ns}/events?fieldSelector={selector}")).await {
            Ok(v) => v,
            Err(ApiError::Status { code: 403, .. }) => {
                if let Ok(mut f) = self.events_forbidden.lock() {
                    *f = true;
                }
                return Vec::new();
            }
            Err(_) => return Vec::new(),
        };
        let mut out = Vec::new();
        for e in events.get("items").and_then(Value::as_array).into_iter().flatten() {
            if e.pointer("/involvedObject/name").and_then(Value::as_str).is_some_and(|n| n != name) {
                continue;
            }
            if e.get("reason").and_then(Value::as_str) != Some("FailedMount") {
                continue;
            }
            let msg = e.get("message").and_then(Value::as_str).unwrap_or("");
            if let Some(p) = missing_mount_in(msg, mounts)
                && !out.contains(&p)
            {
                out.push(p);
            }
        }
        out
    }

    /// Deletes one pod now (no grace period); forgets it when it is gone.
    async fn delete_pod(&self, name: &str) -> bool {
        let ns = &self.opts.namespace;
        let path = format!("/api/v1/namespaces/{ns}/pods/{name}?gracePeriodSeconds=0&propagationPolicy=Background");
        let gone = match self.call(Method::DELETE, &path, None).await {
            Ok(_) | Err(ApiError::Status { code: 404, .. }) => true,
            Err(e) => {
                crate::terminal::eprint(format_args!(
                    "dockershim-audit: warning: cannot delete collector pod {ns}/{name}: {}",
                    e.describe()
                ));
                false
            }
        };
        if gone && let Ok(mut live) = self.live.lock() {
            live.remove(name);
        }
        gone
    }

    /// Deletes every pod that may still exist, sweeps by the run label, and deletes the namespace
    /// when this run created it.
    async fn cleanup(&self, result: &mut CollectorResult) {
        let ns = &self.opts.namespace;
        let pending = self.live();
        let concurrency = self.opts.concurrency.max(1);
        stream::iter(pending)
            .for_each_concurrent(concurrency, |name| async move {
                self.delete_pod(&name).await;
            })
            .await;
        // A create whose answer was lost may land after its delete: sweep by label.
        let selector = crate::percent::encode(&format!("{RUN_LABEL}={}", self.id));
        if !self.created().is_empty()
            && let Ok(list) = self.get_json(&format!("/api/v1/namespaces/{ns}/pods?labelSelector={selector}")).await
        {
            let names: Vec<String> = list
                .get("items")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|p| p.pointer("/metadata/deletionTimestamp").is_none_or(Value::is_null))
                .filter_map(|p| p.pointer("/metadata/name").and_then(Value::as_str).map(str::to_string))
                .collect();
            for name in names {
                if let Ok(mut live) = self.live.lock() {
                    live.insert(name.clone());
                }
                self.delete_pod(&name).await;
            }
        }
        result.left_behind = self.live();
        // What the run leaves in the cluster is coverage, shown in every format, not only a warning.
        for name in &result.left_behind {
            result.gaps.push(Gap {
                source: format!("collector pod {ns}/{name}"),
                reason: format!(
                    "created by this run and could not be deleted: delete it with `kubectl -n {ns} delete pods -l {RUN_LABEL}={}`",
                    self.id
                ),
                ..Gap::default()
            });
        }
        let created = *self.namespace_created.lock().unwrap_or_else(|p| p.into_inner());
        if created && self.opts.delete_created_namespace && result.left_behind.is_empty() {
            match self.call(Method::DELETE, &format!("/api/v1/namespaces/{ns}"), None).await {
                Ok(_) | Err(ApiError::Status { code: 404, .. }) => result.namespace_deleted = true,
                Err(e) => {
                    crate::terminal::eprint(format_args!(
                        "dockershim-audit: warning: cannot delete namespace {ns}, which this run created: {}",
                        e.describe()
                    ));
                    result.gaps.push(Gap {
                        source: format!("collector namespace {ns}"),
                        reason: format!(
                            "created by this run and could not be deleted ({}): delete it with `kubectl delete namespace {ns}`",
                            e.describe()
                        ),
                        ..Gap::default()
                    });
                }
            }
        }
        self.progress(|| {
            format!("deleted {} collector pod(s)", self.created().len().saturating_sub(result.left_behind.len()))
        });
    }

    /// Parses the log, rebuilds the files and scans them.
    fn rebuild(&self, n: &NodeTarget, log: &str, dropped: &[String]) -> Outcome {
        let frames = parse_frames(log);
        let tmp = match TempDir::new() {
            Ok(t) => t,
            Err(e) => return Outcome::Gap(format!("cannot create a temporary directory: {e}")),
        };
        let mut ev = Evidence::default();
        let mut gaps = materialize(tmp.path(), &frames, &n.name);
        if !frames.done {
            gaps.push(Gap {
                source: format!("node {}: node files", n.name),
                reason: "the collector pod's output is incomplete (no DONE frame): some files may be missing".into(),
                missing_permission: None,
                node: Some(n.name.clone()),
            });
        }
        let mut scanned = node::scan(tmp.path(), Some(&n.name), &self.opts.node_files);
        // `--config` pointing outside the mounted paths.
        let known: BTreeSet<&str> = self.patterns.iter().map(String::as_str).collect();
        for r in &scanned.records {
            if r.subject == Subject::KubeletFlag && r.str("name") == "--config" {
                let cfg = r.str("value");
                let exists = node::resolve_in_root(tmp.path(), cfg).is_some_and(|(p, _)| p.is_file());
                if cfg.starts_with('/') && !exists && !known.contains(cfg) && !dropped.iter().any(|d| d == cfg) {
                    gaps.push(Gap {
                        source: format!("node {}: {cfg}", n.name),
                        reason: "the kubelet config file named by --config is outside the collector's mounts".into(),
                        missing_permission: None,
                        node: Some(n.name.clone()),
                    });
                }
            }
        }
        for s in &frames.skipped {
            ev.skipped.push(Gap {
                source: format!("node {}: {}", n.name, s.0),
                reason: s.1.clone(),
                missing_permission: None,
                node: Some(n.name.clone()),
            });
        }
        for r in &mut scanned.records {
            r.location.pool = n.pool.clone();
            if r.location.node.is_none() {
                r.location.node = Some(n.name.clone());
            }
            for rel in &mut r.related {
                rel.location.pool = n.pool.clone();
            }
        }
        ev.merge(scanned);
        ev.gaps.extend(gaps);
        ev.count("collector_nodes", 1);
        ev.count("collector_files", frames.files.len() as u64);
        Outcome::Files(ev)
    }
}

enum Attempt {
    Done(String),
    MissingMounts(Vec<String>),
    Failed(String),
    Aborted,
}

enum Wait {
    Succeeded,
    MissingMounts(Vec<String>),
    Failed(String),
}

/// The `message` of a `Status` body, else the (shortened) body text.
fn status_of(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(body)
        && let Some(m) = v.get("message").and_then(Value::as_str)
    {
        return m.to_string();
    }
    let text = String::from_utf8_lossy(body);
    text.trim().chars().take(200).collect()
}

/// Why a Failed pod failed.
fn failure_reason(pod: &Value) -> String {
    let s = |p: &str| pod.pointer(p).and_then(Value::as_str).unwrap_or("").to_string();
    let (reason, message) = (s("/status/reason"), s("/status/message"));
    if reason == "DeadlineExceeded" {
        return format!("the collector pod ran out of time (activeDeadlineSeconds): {message}");
    }
    let term = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .and_then(|c| c.pointer("/state/terminated"));
    if let Some(t) = term {
        let r = t.get("reason").and_then(Value::as_str).unwrap_or("Error");
        let code = t.get("exitCode").and_then(Value::as_i64).unwrap_or(-1);
        let m = t.get("message").and_then(Value::as_str).unwrap_or("");
        return format!(
            "the collector pod failed: {r} (exit code {code}){}",
            if m.is_empty() { String::new() } else { format!(": {m}") }
        );
    }
    match (reason.is_empty(), message.is_empty()) {
        (true, true) => "the collector pod failed".into(),
        (false, true) => format!("the collector pod failed: {reason}"),
        (true, false) => format!("the collector pod failed: {message}"),
        (false, false) => format!("the collector pod failed: {reason}: {message}"),
    }
}

/// A Pending pod that will not start on its own: image not pulled, not schedulable, bad config.
fn stuck_reason(pod: &Value, image: &str) -> Option<String> {
    for c in pod.pointer("/status/containerStatuses").and_then(Value::as_array).into_iter().flatten() {
        let Some(w) = c.pointer("/state/waiting") else { continue };
        let reason = w.get("reason").and_then(Value::as_str).unwrap_or("");
        let message = w.get("message").and_then(Value::as_str).unwrap_or("");
        let what = match reason {
            "ImagePullBackOff" | "ErrImagePull" | "ErrImageNeverPull" | "InvalidImageName" | "RegistryUnavailable" => {
                format!("the collector image {image} cannot be pulled")
            }
            "CreateContainerConfigError" | "CreateContainerError" | "RunContainerError" | "CrashLoopBackOff" => {
                "the collector container cannot start".to_string()
            }
            _ => continue,
        };
        let m = if message.is_empty() { String::new() } else { format!(": {message}") };
        return Some(format!("{what} ({reason}{m})"));
    }
    for c in pod.pointer("/status/conditions").and_then(Value::as_array).into_iter().flatten() {
        if c.get("type").and_then(Value::as_str) == Some("PodScheduled")
            && c.get("status").and_then(Value::as_str) == Some("False")
            && c.get("reason").and_then(Value::as_str) == Some("Unschedulable")
        {
            let m = c.get("message").and_then(Value::as_str).unwrap_or("");
            return Some(format!(
                "the collector pod cannot be scheduled (Unschedulable{})",
                if m.is_empty() { String::new() } else { format!(": {m}") }
            ));
        }
    }
    None
}

/// A pending pod's state in a few words.
fn describe_pending(pod: &Value) -> String {
    let phase = pod.pointer("/status/phase").and_then(Value::as_str).unwrap_or("Pending");
    let waiting = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .and_then(|c| c.pointer("/state/waiting/reason"))
        .and_then(Value::as_str);
    match waiting {
        Some(w) => format!("phase {phase}, {w}"),
        None if phase == "Pending" && pod.pointer("/status/startTime").is_none() => {
            "phase Pending, not started by the node's kubelet".into()
        }
        None => format!("phase {phase}"),
    }
}

/// The host path a kubelet `FailedMount` message says is missing, among `mounts`.
fn missing_mount_in(message: &str, mounts: &[Mount]) -> Option<String> {
    if !message.contains("hostPath type check failed") {
        return None;
    }
    if let Some(rest) = message.split("for volume \"").nth(1)
        && let Some(vol) = rest.split('"').next()
        && let Some(m) = mounts.iter().find(|m| m.volume == vol)
    {
        return Some(m.path.clone());
    }
    let rest = message.split("hostPath type check failed:").nth(1)?.trim();
    let path = rest.split(" is not").next()?.trim();
    mounts.iter().find(|m| m.path == path).map(|m| m.path.clone())
}

/// A random-enough run id: 6 characters of [a-z0-9].
fn run_id() -> String {
    let seed =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
            ^ (u64::from(std::process::id()) << 32);
    let mut rng = super::transport::XorShift::new(seed);
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..6).map(|_| ALPHABET[(rng.next() % ALPHABET.len() as u64) as usize] as char).collect()
}

/// `dockershim-audit-<node>-<run>[-<attempt>]`, at most 63 characters.
fn pod_name(node: &str, run: &str, attempt: u32) -> String {
    let mut short: String = node
        .chars()
        .map(|c| if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' { c } else { '-' })
        .take(30)
        .collect();
    while short.ends_with('-') {
        short.pop();
    }
    let short = short.trim_start_matches('-');
    let base =
        if short.is_empty() { format!("dockershim-audit-{run}") } else { format!("dockershim-audit-{short}-{run}") };
    if attempt == 0 { base } else { format!("{base}-{attempt}") }
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// The distinct paths of the node file list, in order.
pub fn patterns(files: &[NodeFile]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in files {
        if f.path.starts_with('/') && !out.contains(&f.path) {
            out.push(f.path.clone());
        }
    }
    out
}

/// One read-only hostPath mount of the collector pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Volume name (`h0`, `h1`, ...).
    pub volume: String,
    /// Path on the node, mounted at [`HOST_PREFIX`] + path.
    pub path: String,
    /// `File` or `Directory` (the kubelet checks it; nothing is created).
    pub kind: MountKind,
}

/// The hostPath type of a mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountKind {
    /// `type: Directory`.
    Directory,
    /// `type: File`.
    File,
}

impl MountKind {
    /// The hostPath `type`.
    pub fn name(self) -> &'static str {
        match self {
            MountKind::Directory => "Directory",
            MountKind::File => "File",
        }
    }
}

/// The mounts for `patterns`: each `DIR/*` mounts DIR (unless an ancestor is mounted), each other
/// path mounts that one file (unless a mounted directory holds it). Never a parent such as `/etc`.
pub fn mounts(patterns: &[String]) -> Vec<Mount> {
    let mut dirs: Vec<String> = patterns.iter().filter_map(|p| p.strip_suffix("/*").map(str::to_string)).collect();
    dirs.sort();
    dirs.dedup();
    let under = |p: &str, d: &str| p.len() > d.len() && p.starts_with(d) && p.as_bytes()[d.len()] == b'/';
    let top: Vec<String> = dirs.iter().filter(|d| !dirs.iter().any(|a| under(d, a))).cloned().collect();
    let mut files: Vec<String> =
        patterns.iter().filter(|p| !p.ends_with("/*") && !top.iter().any(|d| under(p, d))).cloned().collect();
    files.sort();
    files.dedup();
    let mut out: Vec<Mount> = Vec::new();
    for (path, kind) in
        top.into_iter().map(|d| (d, MountKind::Directory)).chain(files.into_iter().map(|f| (f, MountKind::File)))
    {
        out.push(Mount { volume: format!("h{}", out.len()), path, kind });
    }
    out
}

/// The collector pod for `node`.
pub fn pod_spec(
    name: &str,
    node: &str,
    run: &str,
    opts: &CollectorOptions,
    mounts: &[Mount],
    patterns: &[String],
) -> Value {
    let volumes: Vec<Value> =
        mounts.iter().map(|m| json!({"name": m.volume, "hostPath": {"path": m.path, "type": m.kind.name()}})).collect();
    let volume_mounts: Vec<Value> = mounts
        .iter()
        .map(|m| json!({"name": m.volume, "mountPath": format!("{HOST_PREFIX}{}", m.path), "readOnly": true}))
        .collect();
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": opts.namespace,
            "labels": {
                MANAGED_BY.0: MANAGED_BY.1,
                "app.kubernetes.io/name": "dockershim-audit-collector",
                RUN_LABEL: run,
            },
            "annotations": {
                NODE_ANNOTATION: node,
                "dockershim-audit/purpose": "reads node files listed in rules/data/node-files.csv, read-only; deleted when the audit ends",
            },
        },
        "spec": {
            "nodeName": node,
            "restartPolicy": "Never",
            "activeDeadlineSeconds": opts.active_deadline.as_secs().max(1),
            "terminationGracePeriodSeconds": 0,
            "automountServiceAccountToken": false,
            "enableServiceLinks": false,
            "hostNetwork": false,
            "hostPID": false,
            "hostIPC": false,
            "tolerations": [{"operator": "Exists"}],
            "securityContext": {"runAsUser": 0, "runAsNonRoot": false, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": CONTAINER,
                "image": opts.image,
                "imagePullPolicy": "IfNotPresent",
                "command": ["/bin/sh", "-c", SCRIPT, "dockershim-audit-collector"],
                "args": patterns,
                "env": [{"name": "HOST_ROOT", "value": HOST_PREFIX}],
                "resources": {
                    "requests": {"cpu": "10m", "memory": "16Mi"},
                    "limits": {"cpu": "200m", "memory": "64Mi"},
                },
                "securityContext": {
                    "privileged": false,
                    "allowPrivilegeEscalation": false,
                    "readOnlyRootFilesystem": true,
                    "capabilities": {"drop": ["ALL"], "add": ["DAC_READ_SEARCH"]},
                },
                "volumeMounts": volume_mounts,
            }],
            "volumes": volumes,
        },
    })
}

/// What the pod printed, parsed.
#[derive(Debug, Default)]
pub struct Frames {
    /// Regular files: node path and content.
    pub files: Vec<(String, Vec<u8>)>,
    /// Symbolic links: node path and target, as on the node.
    pub links: Vec<(String, String)>,
    /// Files left out on purpose: node path and why.
    pub skipped: Vec<(String, String)>,
    /// Files that could not be read or decoded: node path (or a placeholder) and why.
    pub errors: Vec<(String, String)>,
    /// The output ended with the `DONE` frame.
    pub done: bool,
}

/// Parses the frames of [`SCRIPT`]. Anything malformed becomes an error entry, never a panic.
pub fn parse_frames(log: &str) -> Frames {
    let mut f = Frames::default();
    let mut lines = log.lines();
    while let Some(line) = lines.next() {
        let Some(rest) = line.strip_prefix("==> ") else { continue };
        let (tag, rest) = rest.split_once(' ').unwrap_or((rest, ""));
        match tag {
            "BEGIN" => {
                let (size, path) = rest.split_once(' ').unwrap_or(("", rest));
                let size: Option<u64> = size.parse().ok();
                let end = format!("==> END {path}");
                let mut b64 = String::new();
                let mut failed = false;
                let mut closed = false;
                for l in lines.by_ref() {
                    if l == end {
                        closed = true;
                        break;
                    }
                    if l.starts_with("==> FAILED ") {
                        failed = true;
                        continue;
                    }
                    b64.push_str(l.trim());
                }
                let decoded = decode_base64(&b64);
                match (closed, failed, decoded, size) {
                    (true, false, Some(bytes), Some(n)) if bytes.len() as u64 == n => {
                        f.files.push((path.to_string(), bytes))
                    }
                    (false, ..) => f.errors.push((path.to_string(), "the output ends inside this file".into())),
                    (_, true, ..) => f.errors.push((path.to_string(), "the collector pod could not encode it".into())),
                    (_, _, None, _) => f.errors.push((path.to_string(), "its frame is not valid base64".into())),
                    _ => f.errors.push((path.to_string(), "its frame has the wrong size (truncated output?)".into())),
                }
            }
            "LINK" => {
                let path = rest.to_string();
                let mut peek = lines.clone();
                match peek.next().and_then(|l| l.strip_prefix("==> TO ")) {
                    Some(target) => {
                        lines = peek;
                        f.links.push((path, target.to_string()));
                    }
                    None => f.errors.push((path, "a link frame without its target".into())),
                }
            }
            "SKIPPED" => {
                let (size, path) = rest.split_once(' ').unwrap_or(("?", rest));
                f.skipped.push((path.to_string(), format!("larger than {MAX_FILE} bytes ({size} bytes)")));
            }
            "BUDGET" => {
                let (size, path) = rest.split_once(' ').unwrap_or(("?", rest));
                f.skipped.push((
                    path.to_string(),
                    format!("not read: the collector prints at most {MAX_TOTAL} bytes per node ({size} bytes)"),
                ));
            }
            "UNREADABLE" => {
                f.errors.push((rest.to_string(), "cannot read: permission denied in the collector pod".into()))
            }
            "ODDNAME" => f.errors.push(("(a file name with a newline)".into(), "not collected".into())),
            "DONE" => f.done = true,
            _ => {}
        }
    }
    f
}

/// Standard base64 (with padding, whitespace already removed); `None` when malformed.
pub fn decode_base64(s: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

/// Standard base64 with 76-character lines (as `base64` prints), for the fake API server.
pub fn encode_base64(data: &[u8]) -> String {
    use base64::Engine as _;
    let s = base64::engine::general_purpose::STANDARD.encode(data);
    let mut out = String::with_capacity(s.len() + s.len() / 76 + 1);
    for (i, line) in s.as_bytes().chunks(76).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        // Base64 is ASCII, so every 76-byte chunk is whole characters.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
    }
    out
}

/// A node path's components, or `None` unless it is absolute and free of `.`, `..` and odd bytes.
/// The fake API server's collector simulation names node paths by the same rule.
pub fn safe_components(path: &str) -> Option<Vec<&str>> {
    if !path.starts_with('/') || path.len() > 4096 || path.contains('\0') || path.contains('\\') {
        return None;
    }
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() || parts.iter().any(|p| *p == "." || *p == ".." || p.len() > 255) {
        return None;
    }
    Some(parts)
}

/// Creates the parent directories of `parts` under `root` without following any link; the host
/// path of the last part, with whatever was there removed (never a directory).
fn prepare(root: &Path, parts: &[&str]) -> Result<PathBuf, String> {
    let mut cur = root.to_path_buf();
    let Some((last, dirs)) = parts.split_last() else { return Err("empty path".into()) };
    for d in dirs {
        cur.push(d);
        match std::fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_dir() => {}
            Ok(m) if m.file_type().is_symlink() => {
                return Err("a parent directory is a symbolic link on the node; not written through it".into());
            }
            Ok(_) => return Err("a parent directory is a file on the node".into()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir(&cur).map_err(|e| format!("cannot create a directory: {e}"))?
            }
            Err(e) => return Err(format!("cannot inspect a directory: {e}")),
        }
    }
    cur.push(last);
    match std::fs::symlink_metadata(&cur) {
        Ok(m) if m.file_type().is_dir() => Err("already collected as a directory".into()),
        Ok(_) => std::fs::remove_file(&cur).map(|_| cur).map_err(|e| format!("cannot replace: {e}")),
        Err(_) => Ok(cur),
    }
}

/// Writes the files and links of `frames` under `root` (never outside it); gaps for what was not
/// collected or could not be written.
pub fn materialize(root: &Path, frames: &Frames, node: &str) -> Vec<Gap> {
    let mut gaps = Vec::new();
    let gap = |path: &str, reason: String| Gap {
        source: format!("node {node}: {path}"),
        reason,
        missing_permission: None,
        node: Some(node.to_string()),
    };
    for (path, bytes) in &frames.files {
        let Some(parts) = safe_components(path) else {
            gaps.push(gap(path, "rejected: not a plain absolute path".into()));
            continue;
        };
        let written = prepare(root, &parts).and_then(|host| {
            use std::io::Write as _;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&host)
                .map_err(|e| format!("cannot write: {e}"))?;
            f.write_all(bytes).map_err(|e| format!("cannot write: {e}"))
        });
        if let Err(e) = written {
            gaps.push(gap(path, e));
        }
    }
    for (path, target) in &frames.links {
        let Some(parts) = safe_components(path) else {
            gaps.push(gap(path, "rejected: not a plain absolute path".into()));
            continue;
        };
        if target.is_empty() || target.contains('\0') {
            gaps.push(gap(path, "a symbolic link with an empty target".into()));
            continue;
        }
        let made = prepare(root, &parts).and_then(|host| make_link(target, &host));
        if let Err(e) = made {
            gaps.push(gap(path, e));
        }
    }
    for (path, reason) in &frames.errors {
        gaps.push(gap(path, reason.clone()));
    }
    gaps
}

#[cfg(unix)]
fn make_link(target: &str, at: &Path) -> Result<(), String> {
    // The target is kept verbatim; `node::scan` re-roots and clamps it inside the root.
    std::os::unix::fs::symlink(target, at).map_err(|e| format!("cannot recreate the symbolic link: {e}"))
}

#[cfg(not(unix))]
fn make_link(_target: &str, _at: &Path) -> Result<(), String> {
    Err("symbolic links from the node cannot be recreated on this platform".into())
}

/// A private temporary directory, removed on drop (links inside are removed, not followed).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<TempDir> {
        let base = std::env::temp_dir();
        let mut last = None;
        for i in 0..16u32 {
            let p = base.join(format!("dockershim-audit-node-{}-{}-{i}", std::process::id(), run_id()));
            let mut b = std::fs::DirBuilder::new();
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt as _;
                b.mode(0o700);
            }
            match b.create(&p) {
                Ok(()) => return Ok(TempDir(p)),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("no temporary directory")))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The built-in node file list.
    fn builtin_node_files() -> Vec<NodeFile> {
        crate::rules::Catalogue::builtin().expect("built-in catalogue").node_files
    }

    #[test]
    fn base64_roundtrip() {
        for data in [&b""[..], b"a", b"ab", b"abc", b"abcd", &[0u8, 255, 128, 7, 9][..]] {
            let enc = encode_base64(data).replace('\n', "");
            assert_eq!(decode_base64(&enc).as_deref(), Some(data), "{enc}");
        }
        let long = vec![b'x'; 300];
        assert!(encode_base64(&long).lines().all(|l| l.len() <= 76));
        assert_eq!(decode_base64("YWJj"), Some(b"abc".to_vec()));
        assert_eq!(decode_base64("YW=j"), None);
        assert_eq!(decode_base64("YWJ"), None);
        assert_eq!(decode_base64("Y$Jj"), None);
        assert_eq!(decode_base64("YQ==YWJj"), None);
    }

    #[test]
    fn mounts_are_exact_and_never_a_whole_etc() {
        let m = mounts(&patterns(&builtin_node_files()));
        let paths: Vec<&str> = m.iter().map(|m| m.path.as_str()).collect();
        for forbidden in ["/", "/etc", "/var", "/var/lib/kubelet", "/run", "/var/run", "/usr", "/lib"] {
            assert!(!paths.contains(&forbidden), "{forbidden} mounted: {paths:?}");
        }
        assert!(m.iter().any(|m| m.path == "/etc/crictl.yaml" && m.kind == MountKind::File));
        assert!(m.iter().any(|m| m.path == "/var/lib/kubelet/kubeadm-flags.env" && m.kind == MountKind::File));
        assert!(m.iter().any(|m| m.path == "/etc/cron.d" && m.kind == MountKind::Directory));
        // Held by the /etc/systemd/system mount; /var/spool/cron holds crontabs.
        assert!(!paths.contains(&"/etc/systemd/system/kubelet.service"));
        assert!(!paths.contains(&"/etc/systemd/system/kubelet.service.d"));
        assert!(!paths.contains(&"/var/spool/cron/crontabs"));
        assert!(paths.iter().all(|p| !p.contains("sock")));
        let names: BTreeSet<&str> = m.iter().map(|m| m.volume.as_str()).collect();
        assert_eq!(names.len(), m.len());
    }

    #[test]
    fn the_pod_is_least_privilege() {
        let opts = CollectorOptions::default();
        let ps = patterns(&builtin_node_files());
        let m = mounts(&ps);
        let pod = pod_spec("p", "worker-1", "abc123", &opts, &m, &ps);
        let spec = &pod["spec"];
        assert_eq!(spec["nodeName"], "worker-1");
        assert_eq!(spec["hostNetwork"], false);
        assert_eq!(spec["hostPID"], false);
        assert_eq!(spec["automountServiceAccountToken"], false);
        assert_eq!(spec["restartPolicy"], "Never");
        assert_eq!(spec["activeDeadlineSeconds"], 120);
        assert_eq!(spec["tolerations"], json!([{"operator": "Exists"}]));
        let c = &spec["containers"][0];
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
        assert_eq!(c["securityContext"]["privileged"], false);
        assert!(c["resources"]["limits"]["memory"].is_string());
        for vm in c["volumeMounts"].as_array().unwrap() {
            assert_eq!(vm["readOnly"], true);
            assert!(vm["mountPath"].as_str().unwrap().starts_with("/host/"));
        }
        for v in spec["volumes"].as_array().unwrap() {
            let t = v["hostPath"]["type"].as_str().unwrap();
            assert!(t == "Directory" || t == "File", "{v}");
        }
    }

    #[test]
    fn names() {
        assert_eq!(
            pod_name("ip-10-0-1-5.eu-west-1.compute.internal", "abc123", 0),
            "dockershim-audit-ip-10-0-1-5-eu-west-1-compute-abc123"
        );
        assert_eq!(pod_name("w", "abc123", 2), "dockershim-audit-w-abc123-2");
        assert!(pod_name(&"x".repeat(300), "abc123", 9).len() <= 63);
        assert_eq!(pod_name("---", "r", 0), "dockershim-audit-r");
        assert!(is_dns_label("dockershim-audit"));
        assert!(!is_dns_label("Bad_NS"));
    }

    #[test]
    fn frames_parse_and_reject_escapes() {
        let log = format!(
            "noise\n==> BEGIN 3 /etc/a\n{}\n==> END /etc/a\n==> LINK /etc/l\n==> TO /etc/a\n\
             ==> BEGIN 5 /../../outside\n{}\n==> END /../../outside\n==> BEGIN 2 /etc/x/../../y\n{}\n==> END /etc/x/../../y\n\
             ==> SKIPPED 2000000 /etc/big\n==> UNREADABLE /var/spool/cron/crontabs/alice\n==> BEGIN 9 /etc/short\nYWJj\n==> END /etc/short\n\
             ==> BEGIN 3 relative\nYWJj\n==> END relative\n==> LINK /etc/cron.d\n==> TO ../../../../tmp\n==> BEGIN 3 /etc/cron.d/job\nYWJj\n==> END /etc/cron.d/job\n==> DONE 4\n",
            encode_base64(b"abc"),
            encode_base64(b"pwned"),
            encode_base64(b"hi"),
        );
        let f = parse_frames(&log);
        assert!(f.done);
        assert_eq!(f.skipped.len(), 1);
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        let gaps = materialize(&root, &f, "n1");
        assert_eq!(std::fs::read(root.join("etc/a")).unwrap(), b"abc");
        assert!(!dir.path().join("outside").exists());
        assert!(!dir.path().join("y").exists() && !root.join("y").exists());
        let reasons: Vec<String> = gaps.iter().map(|g| format!("{} {}", g.source, g.reason)).collect();
        // `/etc/cron.d` is both a link and a directory holding a file: one of them is refused.
        for needle in ["/../../outside", "/etc/x/../../y", "relative", "/etc/short", "crontabs/alice", "/etc/cron.d"] {
            assert!(reasons.iter().any(|r| r.contains(needle)), "{needle} not a gap: {reasons:#?}");
        }
        #[cfg(unix)]
        {
            assert_eq!(std::fs::read_link(root.join("etc/l")).unwrap(), Path::new("/etc/a"));
            // Nothing was written through the link to ../../../../tmp.
            assert!(!dir.path().join("tmp/job").exists());
            assert!(!Path::new("/tmp/job").exists() || std::fs::read(Path::new("/tmp/job")).unwrap() != b"abc");
        }
    }

    #[test]
    fn truncated_output_is_an_error_not_a_file() {
        let f = parse_frames("==> BEGIN 3 /etc/a\nYWJj\n");
        assert!(f.files.is_empty());
        assert_eq!(f.errors.len(), 1);
        assert!(!f.done);
    }

    #[test]
    fn missing_mount_messages() {
        let m = vec![
            Mount { volume: "h0".into(), path: "/etc/sysconfig/kubelet".into(), kind: MountKind::File },
            Mount { volume: "h1".into(), path: "/opt/bin".into(), kind: MountKind::Directory },
        ];
        let a = "MountVolume.SetUp failed for volume \"h1\" : hostPath type check failed: /opt/bin is not a directory";
        assert_eq!(missing_mount_in(a, &m).as_deref(), Some("/opt/bin"));
        let b = "hostPath type check failed: /etc/sysconfig/kubelet is not a file";
        assert_eq!(missing_mount_in(b, &m).as_deref(), Some("/etc/sysconfig/kubelet"));
        assert_eq!(missing_mount_in("MountVolume.SetUp failed for volume \"h1\" : timeout", &m), None);
    }
}
