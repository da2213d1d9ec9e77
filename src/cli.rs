//! The command line, as clap derive types. Parsing only: `lib.rs` turns these into a run.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::finding::Severity;
use crate::report::format::Format;

/// The values of `--fail-on`, with their help: the severities, lowest to fail on.
fn fail_on_values() -> impl clap::builder::TypedValueParser<Value = Severity> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser as _};
    PossibleValuesParser::new([
        PossibleValue::new("error").help("Fail on errors only"),
        PossibleValue::new("warning").help("Fail on warnings and errors"),
        PossibleValue::new("note").help("Fail on any finding"),
    ])
    .try_map(|s| s.parse::<Severity>())
}

/// Finds everything that still depends on Docker Engine or dockershim before a Kubernetes upgrade:
/// in the live cluster, on the nodes, and in the repositories that build and deploy onto it.
#[derive(Debug, Parser)]
#[command(name = "dockershim-audit", version, about, long_about = None, max_term_width = 100)]
#[command(after_help = "Exit codes: 0 nothing at or above --fail-on; 1 the gate tripped; 2 the tool could not run; \
3 the scan was incomplete and nothing else tripped.")]
pub struct Cli {
    /// What to audit.
    #[command(subcommand)]
    pub command: Command,
    /// Options shared by every command.
    #[command(flatten)]
    pub common: Common,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Audit repositories: manifests, Helm charts, Jenkinsfiles, scripts, CI and installer configs.
    Repo(RepoArgs),
    /// Audit a live cluster through the Kubernetes API (read-only), or a snapshot of one.
    Cluster(ClusterArgs),
    /// Audit a node's files (kubelet flags, daemon.json, cron, units, static pods).
    Node(NodeArgs),
    /// Capture what `cluster` reads into one JSON file, to audit elsewhere.
    Snapshot(SnapshotArgs),
    /// List or explain the rules.
    Rules(RulesArgs),
    /// Merge saved JSON results into one report.
    Report(ReportArgs),
    /// Baseline files: record current findings so a gate fails only on new ones.
    Baseline(BaselineArgs),
    /// Print a shell completion script to standard output (`source <(dockershim-audit completions bash)`).
    Completions(CompletionsArgs),
    /// Print the manual page (roff) to standard output (`dockershim-audit man | man -l -`).
    Man,
}

/// `completions` arguments.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Options shared by every command.
#[derive(Debug, Args, Clone)]
pub struct Common {
    /// Kubernetes version to check against (default, first found: `targetVersion` in the config
    /// file, the cluster's next minor, the snapshot's, the next minor of what the scanned files
    /// declare, the newest release the rules know).
    #[arg(long, global = true, value_name = "VERSION")]
    pub target_version: Option<String>,
    /// Output format; repeat with `-o` to write several (`--format sarif -o a.sarif --format table`).
    #[arg(long, short = 'f', global = true, value_enum)]
    pub format: Vec<Format>,
    /// Write the preceding `--format` to this file instead of standard output (`-` is standard output).
    #[arg(long, short = 'o', global = true, value_name = "FILE")]
    pub output: Vec<PathBuf>,
    /// Write `-o`, snapshot and baseline files through a symlink that already exists at that path
    /// (replacing what it points to). Without it such a path is refused: files are written to a
    /// temporary file beside the destination and renamed into place.
    #[arg(long, global = true)]
    pub follow_output_symlinks: bool,
    /// Lowest severity that fails the run (exit 1) [default: error, or `failOn` in the config file].
    #[arg(long, global = true, value_parser = fail_on_values())]
    pub fail_on: Option<Severity>,
    /// Extra rules: `DIR/*.yaml` and `DIR/data/*.csv` (same format as the built-in `rules/`).
    #[arg(long, global = true, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Configuration file (default: `.dockershim-audit.yaml` in the first scanned path or the current directory).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Report and fail only on findings not in this baseline file.
    #[arg(long, global = true, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Never colour the output (also: the NO_COLOR environment variable).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Also score the findings at every minor release from the running version to the newest
    /// known, and show what newly breaks at each (the upgrade horizon).
    #[arg(long, global = true)]
    pub horizon: bool,
}

/// `repo` arguments.
#[derive(Debug, Args)]
pub struct RepoArgs {
    /// Files or directories to scan.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Also scan files that .gitignore excludes.
    #[arg(long)]
    pub no_ignore: bool,
    /// Skip files larger than this many bytes.
    #[arg(long, default_value_t = 8 * 1024 * 1024, value_name = "BYTES")]
    pub max_file_size: u64,
    /// Follow symbolic links.
    #[arg(long, short = 'L')]
    pub follow: bool,
    /// Also scan third-party trees (`vendor/`, `third_party/`, `node_modules/`, `.terraform/`),
    /// which are skipped by default and listed as skipped on purpose.
    #[arg(long)]
    pub include_third_party: bool,
    /// Also report docker commands in scripts that run on a build machine (Docker Hub `hooks/`,
    /// `hack/`, release and kind e2e scripts): they do not touch a cluster, so they give no
    /// finding by default.
    #[arg(long)]
    pub include_build_scripts: bool,
}

/// `cluster` arguments.
#[derive(Debug, Args, Clone)]
pub struct ClusterArgs {
    /// Path to the kubeconfig file (default: KUBECONFIG, whose files are merged as kubectl does, then
    /// ~/.kube/config, then in-cluster).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use; repeat it to audit several clusters at once (a fleet audit:
    /// one result with a section per cluster).
    #[arg(long, value_name = "NAME")]
    pub context: Vec<String>,
    /// Audit every context of the kubeconfig (a fleet audit).
    #[arg(long, conflicts_with_all = ["context", "snapshot"])]
    pub all_contexts: bool,
    /// Fleet audits: how many clusters are read at the same time.
    #[arg(long, default_value_t = 4, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: u16,
    /// Only these namespaces (repeatable). Nodes are always read.
    #[arg(long, short = 'n', value_name = "NS")]
    pub namespace: Vec<String>,
    /// All namespaces (the default).
    #[arg(long, short = 'A', conflicts_with = "namespace")]
    pub all_namespaces: bool,
    /// Audit a snapshot file (from `snapshot -o`, or `kubectl get ... -A -o json`) instead of a live cluster.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["kubeconfig", "context"])]
    pub snapshot: Option<PathBuf>,
    /// Do not read the live kubelet config (configz) even when allowed.
    #[arg(long)]
    pub no_configz: bool,
    /// Collect node files with a short-lived pod per node (creates pods; see the README).
    #[arg(long)]
    pub node_files: bool,
    /// With --node-files: only nodes matching this label selector.
    #[arg(long, value_name = "SELECTOR", requires = "node_files")]
    pub node_selector: Option<String>,
    /// With --node-files: namespace for the collector pods.
    #[arg(long, default_value = "dockershim-audit", value_name = "NS")]
    pub collector_namespace: String,
    /// With --node-files: image of the collector pods.
    #[arg(long, default_value = "busybox:1.36", value_name = "IMAGE")]
    pub collector_image: String,
    /// Objects per LIST page.
    #[arg(long, default_value_t = 500, value_name = "N")]
    pub page_size: u32,
    /// Time allowed for reading the cluster: once it has passed, what was not read is listed as
    /// not read (exit 3). `30s`, `5m`, `1h`; `0` for no limit.
    #[arg(long, default_value = "10m", value_name = "DURATION")]
    pub timeout: TimeLimit,
    /// Time allowed for one request to the API server, answer included (as kubectl's). `0` for no
    /// limit.
    #[arg(long, default_value = "30s", value_name = "DURATION")]
    pub request_timeout: TimeLimit,
    /// Largest answer read for one request (a page of a list); a larger one is not read and is
    /// listed as a gap.
    #[arg(long, default_value_t = crate::collect::cluster::limits::DEFAULT_MAX_PAGE_BYTES, value_name = "BYTES",
          value_parser = clap::value_parser!(u64).range(1024..))]
    pub max_page_bytes: u64,
}

/// A duration flag (`--timeout`, `--request-timeout`): `None` is no limit (`0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeLimit(pub Option<std::time::Duration>);

impl std::str::FromStr for TimeLimit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::collect::cluster::limits::parse_duration(s).map(TimeLimit)
    }
}

impl ClusterArgs {
    /// Whether this is a fleet audit (`--all-contexts`, or `--context` given more than once).
    pub fn is_fleet(&self) -> bool {
        self.all_contexts || self.context.len() > 1
    }

    /// The bounds of the API reads these flags ask for (the rest at their defaults).
    pub fn limits(&self) -> crate::collect::cluster::Limits {
        use crate::collect::cluster::Limits;
        // No per-request limit still ends with the run's (or after a day, when neither is set).
        const NO_LIMIT: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
        Limits {
            run_timeout: self.timeout.0,
            request_timeout: self.request_timeout.0.unwrap_or(NO_LIMIT),
            max_page_bytes: self.max_page_bytes,
            ..Limits::default()
        }
    }
}

/// `node` arguments.
#[derive(Debug, Args)]
pub struct NodeArgs {
    /// Root of the node's filesystem (a mounted image or a copy).
    #[arg(long, default_value = "/", value_name = "DIR")]
    pub root: PathBuf,
    /// Node name to report (default: the root's hostname file, or the root path).
    #[arg(long, value_name = "NAME")]
    pub node_name: Option<String>,
}

/// `snapshot` arguments.
#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// Cluster connection options.
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// `rules` arguments.
#[derive(Debug, Args)]
pub struct RulesArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: Option<RulesAction>,
}

/// `rules` actions.
#[derive(Debug, Subcommand)]
pub enum RulesAction {
    /// One line per rule.
    List,
    /// Everything about one rule.
    Explain {
        /// Rule id.
        id: String,
    },
}

/// `report` arguments.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// JSON results written by `--format json`.
    #[arg(required = true, value_name = "FILE.json")]
    pub inputs: Vec<PathBuf>,
}

/// `baseline` arguments.
#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: BaselineAction,
}

/// `baseline` actions.
#[derive(Debug, Subcommand)]
pub enum BaselineAction {
    /// Write the fingerprints of every current finding to FILE: scan repositories (PATH...), or
    /// take the findings of saved JSON results of any scan (`--from`: `cluster`, `node`, `repo`).
    Write {
        /// Baseline file to write.
        file: PathBuf,
        /// What to scan (as `repo` takes).
        #[arg(required_unless_present = "from", conflicts_with = "from")]
        paths: Vec<PathBuf>,
        /// A JSON result (`cluster`, `node`, `repo` or `report` with `--format json`) whose findings
        /// to accept, instead of scanning; repeat for several.
        #[arg(long, value_name = "RESULT.json")]
        from: Vec<PathBuf>,
    },
}
