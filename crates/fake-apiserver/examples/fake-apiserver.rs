//! Runs the fake Kubernetes API server on loopback until Ctrl-C, for demos, benchmarks and kubectl.
//!
//! Place in the pipeline: none — it stands in for a cluster so `dockershim-audit cluster` (or
//! kubectl) can be pointed at it. Must not listen anywhere but 127.0.0.1.
//!
//! ```text
//! cargo run -p fake-apiserver --example fake-apiserver -- [--snapshot FILE | --nodes N --pods M] [--port P]
//!     [--forbid R,...] [--kubeconfig-out FILE] [--seed S] [--cronjob-v1beta1] [--server-version V]
//!     [--log-requests] [--clusters N] [--configz-for-every-node]
//! ```
//!
//! `--clusters N` serves a fleet: N synthetic clusters (seeds S, S+1, ...), each on its own port,
//! behind one kubeconfig with the contexts `fake-1` ... `fake-N` (what `bench/run` audits with
//! `cluster --all-contexts`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use dockershim_audit::collect::cluster::ClusterSnapshot;
use fake_apiserver::{FakeApiServer, FakeConfig, demo, synth};

/// Fake Kubernetes API server on 127.0.0.1, serving a snapshot or a synthetic cluster.
#[derive(Parser, Debug)]
#[command(name = "fake-apiserver")]
struct Args {
    /// Serve this snapshot (from `dockershim-audit snapshot -o`, or `kubectl get ... -o json`).
    #[arg(long, conflicts_with_all = ["nodes", "pods", "seed"])]
    snapshot: Option<PathBuf>,
    /// Nodes of the synthetic cluster.
    #[arg(long, default_value_t = 10)]
    nodes: usize,
    /// Pods of the synthetic cluster.
    #[arg(long, default_value_t = 300)]
    pods: usize,
    /// Seed of the synthetic cluster.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Port to listen on (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Resources answering 403, comma-separated (e.g. nodes,configmaps,nodes/proxy).
    #[arg(long, value_delimiter = ',')]
    forbid: Vec<String>,
    /// Write a kubeconfig (context "fake") for this server here.
    #[arg(long)]
    kubeconfig_out: Option<PathBuf>,
    /// Serve CronJobs only at batch/v1beta1, like a cluster before 1.21.
    #[arg(long)]
    cronjob_v1beta1: bool,
    /// `gitVersion` to report (default: the snapshot's; v1.20.15 with --cronjob-v1beta1).
    #[arg(long)]
    server_version: Option<String>,
    /// Print each request as it is answered.
    #[arg(long)]
    log_requests: bool,
    /// Serve this many synthetic clusters (seeds S, S+1, ...), one server each, behind one
    /// kubeconfig with the contexts `fake-1` ... `fake-N`.
    #[arg(long, default_value_t = 1, conflicts_with = "snapshot", value_parser = clap::value_parser!(u16).range(1..))]
    clusters: u16,
    /// Serve configz for every node: a node the snapshot holds none for gets a copy of a pool
    /// sibling's (same runtime and kubelet version), so a demo audit reads every node. Without
    /// it such a node answers 503, as when the API server cannot reach its kubelet.
    #[arg(long)]
    configz_for_every_node: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.clusters > 1 {
        return fleet(&args).await;
    }
    let mut snapshot = match &args.snapshot {
        Some(path) => ClusterSnapshot::load(path)?,
        None => synth::generate(args.nodes, args.pods, args.seed),
    };
    if args.configz_for_every_node {
        for (node, from) in demo::fill_configz(&mut snapshot) {
            eprintln!("fake-apiserver: configz of {node}: a copy of {from}'s");
        }
    }
    let objects = snapshot.object_count();
    let server = FakeApiServer::start_on(config(&args, snapshot), args.port).await?;
    println!("{}", server.url());
    eprintln!("fake-apiserver: serving {objects} objects at {} (Ctrl-C to stop)", server.url());
    if let Some(path) = &args.kubeconfig_out {
        server.write_kubeconfig(path)?;
        eprintln!("fake-apiserver: kubeconfig written to {} (context \"fake\")", path.display());
    }
    let mut seen = 0usize;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    // One listener for the whole run: a `ctrl_c()` made anew on each tick can miss the signal
    // (bench/run's SIGINT then never stopped a server started with --log-requests).
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            r = &mut ctrl_c => {
                r.context("cannot wait for Ctrl-C")?;
                break;
            }
            _ = tick.tick(), if args.log_requests => {
                let new = server.requests_since(seen);
                for r in &new {
                    let q = r.query.as_deref().map(|q| format!("?{q}")).unwrap_or_default();
                    eprintln!("{} {}{} -> {}", r.method, r.path, q, r.status);
                }
                seen += new.len();
            }
        }
    }
    let total = server.requests().len();
    server.shutdown().await;
    eprintln!("fake-apiserver: stopped after {total} request(s)");
    Ok(())
}

fn config(args: &Args, snapshot: ClusterSnapshot) -> FakeConfig {
    FakeConfig {
        snapshot,
        forbid: args.forbid.clone(),
        cronjob_v1beta1_only: args.cronjob_v1beta1,
        server_version: args.server_version.clone().or_else(|| args.cronjob_v1beta1.then(|| "v1.20.15".to_string())),
        ..FakeConfig::default()
    }
}

/// `--clusters N`: N synthetic clusters on N ports (the port given and the next ones, or any
/// free ports), one kubeconfig, until Ctrl-C.
async fn fleet(args: &Args) -> anyhow::Result<()> {
    let mut servers = Vec::with_capacity(args.clusters.into());
    for i in 0..u64::from(args.clusters) {
        let snapshot = synth::generate(args.nodes, args.pods, args.seed + i);
        let port = if args.port == 0 { 0 } else { args.port.saturating_add(i as u16) };
        let server = FakeApiServer::start_on(config(args, snapshot), port).await?;
        println!("{}", server.url());
        servers.push((format!("fake-{}", i + 1), server));
    }
    eprintln!(
        "fake-apiserver: serving {} clusters of {} nodes / {} pods at {} ... {} (Ctrl-C to stop)",
        servers.len(),
        args.nodes,
        args.pods,
        servers[0].1.url(),
        servers[servers.len() - 1].1.url()
    );
    if let Some(path) = &args.kubeconfig_out {
        let named: Vec<(String, &FakeApiServer)> = servers.iter().map(|(n, s)| (n.clone(), s)).collect();
        FakeApiServer::write_fleet_kubeconfig(&named, path)?;
        eprintln!(
            "fake-apiserver: kubeconfig written to {} (contexts fake-1 ... fake-{})",
            path.display(),
            servers.len()
        );
    }
    tokio::signal::ctrl_c().await.context("cannot wait for Ctrl-C")?;
    let mut total = 0;
    for (_, server) in servers {
        total += server.requests().len();
        server.shutdown().await;
    }
    eprintln!("fake-apiserver: stopped after {total} request(s)");
    Ok(())
}
