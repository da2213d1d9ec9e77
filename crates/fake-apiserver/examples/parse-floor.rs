//! The parse floor of the cluster benchmark (`bench/run`, issue 16): the least a client that
//! reads the API server's JSON has to do.
//!
//! Place in the pipeline: none — benchmark support. Given the GET requests one
//! `dockershim-audit cluster` run made (a curl config file of `url = "..."` lines, written by
//! `bench/run` from the fake API server's request log, continue tokens included), it downloads
//! them with the HTTP client the tool uses (`kube::Client` from the same kubeconfig), as many at a
//! time as the curl download floor (`--parallel`), and passes every body once through
//! `serde_json` without building anything (`IgnoredAny`, on tokio's blocking pool, as the tool
//! parses its pages). Nothing is pruned, audited or written. The tool's wall time divided by this
//! one says what its own work costs beyond receiving and reading every byte; this one divided by the
//! download floor says what reading the bytes alone costs.
//!
//! A failed request, a status other than 2xx or a body that is not JSON is an error (exit 1): a
//! floor measured over error pages would be a wrong floor.
//!
//! ```text
//! parse-floor --kubeconfig bench/work/kubeconfig-500-15000.yaml --requests bench/work/replay-15000.curl
//! ```

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Parser;
use futures::StreamExt as _;
use http_body_util::BodyExt as _;
use serde::de::IgnoredAny;

/// Downloads the given GET requests with kube's client and parses each body once, building nothing.
#[derive(Parser, Debug)]
#[command(name = "parse-floor")]
struct Args {
    /// Kubeconfig of the fake API server (its current context is used).
    #[arg(long)]
    kubeconfig: PathBuf,
    /// curl config file: one `url = "http://host:port/path?query"` line per request.
    #[arg(long)]
    requests: PathBuf,
    /// Requests in flight at once (the curl floor's `--parallel-max`).
    #[arg(long, default_value_t = 8)]
    parallel: usize,
    /// Only download, do not parse (the download floor through kube's client).
    #[arg(long)]
    no_parse: bool,
}

/// The tool's allocator, so that the floor pays what the tool pays for the page bodies.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // As the tool's `main` does: no transparent huge pages for mimalloc's arenas.
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(PR_SET_THP_DISABLE) only sets a flag on this process.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
    let args = Args::parse();
    let text =
        std::fs::read_to_string(&args.requests).with_context(|| format!("reading {}", args.requests.display()))?;
    let paths = request_paths(&text).with_context(|| format!("in {}", args.requests.display()))?;
    if paths.is_empty() {
        bail!("{}: no url lines", args.requests.display());
    }
    let kubeconfig = kube::config::Kubeconfig::read_from(&args.kubeconfig)
        .with_context(|| format!("reading {}", args.kubeconfig.display()))?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default()).await?;
    let client = kube::Client::try_from(config)?;
    let parse = !args.no_parse;
    let requests = paths.len();
    let results: Vec<anyhow::Result<usize>> = futures::stream::iter(paths)
        .map(|path| {
            let client = client.clone();
            async move {
                let request = http::Request::get(path.as_str()).body(kube::client::Body::empty())?;
                let response = client.send(request).await.with_context(|| format!("GET {path}"))?;
                let status = response.status();
                let body = response.into_body().collect().await.with_context(|| format!("GET {path}"))?.to_bytes();
                if !status.is_success() {
                    bail!("GET {path}: {status}");
                }
                let bytes = body.len();
                if parse {
                    tokio::task::spawn_blocking(move || serde_json::from_slice::<IgnoredAny>(&body))
                        .await?
                        .with_context(|| format!("GET {path}: not JSON"))?;
                }
                Ok(bytes)
            }
        })
        .buffer_unordered(args.parallel.max(1))
        .collect()
        .await;
    let mut bytes = 0;
    for r in results {
        bytes += r?;
    }
    eprintln!("parse-floor: {bytes} bytes in {requests} requests");
    Ok(())
}

/// The path and query of every `url = "..."` line of a curl config file.
fn request_paths(text: &str) -> anyhow::Result<Vec<String>> {
    let mut paths = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let Some(rest) = line.strip_prefix("url = \"") else { continue };
        let url = rest.strip_suffix('"').with_context(|| format!("line {}: unterminated url", n + 1))?;
        let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
        let slash = after_scheme.find('/').with_context(|| format!("line {}: no path in {url}", n + 1))?;
        paths.push(after_scheme[slash..].to_string());
    }
    Ok(paths)
}
