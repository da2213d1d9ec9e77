//! Generates a synthetic monorepo for the repository-scan benchmark (`bench/run`).
//!
//! Place in the pipeline: none — benchmark support. It writes a tree that looks like the
//! repositories `dockershim-audit repo` is pointed at: services with source code (Go, Python,
//! JavaScript, Java), Kubernetes manifests, Helm charts (Chart.yaml, values files, templates,
//! helpers), Jenkinsfiles and shared Groovy libraries, shell scripts, CI configs, monitoring rules and
//! dashboards, log-shipper configs, kubeadm/kubelet files, docs, small binaries with NUL bytes, and a
//! `.gitignore`d `build/` folder holding a fifth of the files. A few percent of the files carry the
//! Docker dependencies the rules look for (docker.sock mounts, `docker build` steps, DOCKER_HOST, ...).
//!
//! Deterministic: the same `--files` and `--seed` always give byte-identical trees (each file has its
//! own generator seeded from the tree seed and its index, so files are written in parallel).
//!
//! ```text
//! cargo run --release -p fake-apiserver --example gen-tree -- --files 10000 --seed 1 --out bench/work/tree-10k
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Parser;
use rayon::prelude::*;

/// Writes a synthetic repository tree of about `--files` files.
#[derive(Parser, Debug)]
#[command(name = "gen-tree")]
struct Args {
    /// Number of files to write (exact, `.gitignore` included).
    #[arg(long, default_value_t = 10_000)]
    files: usize,
    /// Seed of the generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output directory (must not exist, or be empty; `--force` replaces it).
    #[arg(long, required_unless_present = "rg_patterns")]
    out: Option<PathBuf>,
    /// Instead of writing a tree, print the ripgrep pattern file for the rules in this directory:
    /// every `prefilter` literal (escaped, case-insensitive like the tool's prefilter) and every
    /// `regex` value, one per line, deduplicated.
    #[arg(long, value_name = "RULES_DIR")]
    rg_patterns: Option<PathBuf>,
    /// Remove `--out` first when it exists.
    #[arg(long)]
    force: bool,
}

/// SplitMix64: small, fast, good enough for synthetic content.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut r = Rng(seed ^ 0x9E37_79B9_7F4A_7C15);
        r.next();
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..hi` (hi exclusive).
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo).max(1) as u64) as usize
    }
    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 * 1.0 < p
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.range(0, items.len())]
    }
}

/// What a planned file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    GitIgnore,
    Readme,
    Go,
    Python,
    JavaScript,
    Java,
    Manifest,
    ChartYaml,
    Values,
    Template,
    Helpers,
    Notes,
    Jenkinsfile,
    Groovy,
    Shell,
    GitlabCi,
    GithubWorkflow,
    PrometheusRule,
    Dashboard,
    FluentBit,
    Kubeadm,
    KubeletEnv,
    SystemdUnit,
    DaemonJson,
    PackageJson,
    GoMod,
    Markdown,
    Binary,
    BuildJs,
    BuildObject,
    BuildMap,
}

struct Planned {
    path: String,
    kind: Kind,
    /// Service name, for content.
    svc: String,
}

const LANGS: &[Kind] = &[Kind::Go, Kind::Python, Kind::JavaScript, Kind::Java];

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(dir) = &args.rg_patterns {
        for p in rg_patterns(dir)? {
            println!("{p}");
        }
        return Ok(());
    }
    let out_dir = args.out.clone().expect("clap requires --out");
    if args.files < 10 {
        bail!("--files must be at least 10");
    }
    if out_dir.exists() {
        if args.force {
            std::fs::remove_dir_all(&out_dir).with_context(|| format!("cannot remove {}", out_dir.display()))?;
        } else if std::fs::read_dir(&out_dir)?.next().is_some() {
            bail!("{} exists and is not empty (use --force)", out_dir.display());
        }
    }
    let started = std::time::Instant::now();
    let plan = plan(args.files, args.seed);
    // Directories first (serially, deduplicated), then the files in parallel.
    let mut dirs: Vec<&str> = plan.iter().filter_map(|p| p.path.rsplit_once('/').map(|(d, _)| d)).collect();
    dirs.sort_unstable();
    dirs.dedup();
    std::fs::create_dir_all(&out_dir)?;
    for d in &dirs {
        std::fs::create_dir_all(out_dir.join(d)).with_context(|| format!("cannot create {d}"))?;
    }
    let bytes: u64 = plan
        .par_iter()
        .enumerate()
        .map(|(i, p)| -> anyhow::Result<u64> {
            let mut rng =
                Rng::new(args.seed.wrapping_mul(0x1000_0000_01B3) ^ (i as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93));
            let content = render(p, &mut rng);
            write(&out_dir.join(&p.path), &content)?;
            Ok(content.len() as u64)
        })
        .try_reduce(|| 0, |a, b| Ok(a + b))?;
    eprintln!(
        "gen-tree: wrote {} files ({:.1} MB) in {} directories under {} in {:.1}s",
        plan.len(),
        bytes as f64 / 1e6,
        dirs.len(),
        out_dir.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The patterns the rules use, as ripgrep `-f` lines.
fn rg_patterns(dir: &Path) -> anyhow::Result<Vec<String>> {
    fn walk(v: &serde_json::Value, literals: &mut Vec<String>, regexes: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    match (k.as_str(), v) {
                        ("prefilter", serde_json::Value::Array(items)) => {
                            literals.extend(items.iter().filter_map(|i| i.as_str().map(str::to_string)));
                        }
                        ("regex", serde_json::Value::String(r)) => regexes.push(r.clone()),
                        _ => walk(v, literals, regexes),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|i| walk(i, literals, regexes)),
            _ => {}
        }
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    let (mut literals, mut regexes) = (Vec::new(), Vec::new());
    for f in &files {
        let text = std::fs::read_to_string(f)?;
        let v: serde_json::Value =
            serde_saphyr::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
        walk(&v, &mut literals, &mut regexes);
    }
    let mut out: Vec<String> = literals.iter().map(|l| format!("(?i:{})", regex::escape(l))).collect();
    out.extend(regexes);
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(p.clone()));
    Ok(out)
}

fn write(path: &Path, content: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, content).with_context(|| format!("cannot write {}", path.display()))
}

/// Lays out the tree: a fifth of the files under the ignored `build/`, the rest in services.
fn plan(total: usize, seed: u64) -> Vec<Planned> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(total + 64);
    let root = |path: &str, kind| Planned { path: path.to_string(), kind, svc: "platform".into() };
    out.push(root(".gitignore", Kind::GitIgnore));
    out.push(root("README.md", Kind::Readme));
    let build_files = total / 5;
    let service_files = total - build_files - out.len();
    let mut svc_no = 0usize;
    let start = out.len();
    while out.len() - start < service_files {
        svc_no += 1;
        let group = ["payments", "search", "identity", "catalog", "platform", "data", "ml", "edge"][svc_no % 8];
        let svc = format!("{group}-svc-{svc_no:04}");
        let base = format!("services/{group}/{svc}");
        let lang = LANGS[rng.range(0, LANGS.len())];
        let mut add = |path: String, kind: Kind| out.push(Planned { path, kind, svc: svc.clone() });
        // Source code: nested packages, 8-40 files.
        let (ext, srcdir) = match lang {
            Kind::Go => ("go", "internal"),
            Kind::Python => ("py", "src"),
            Kind::JavaScript => ("js", "src"),
            _ => ("java", "src/main/java/com/example"),
        };
        let pkgs = rng.range(2, 6);
        for p in 0..pkgs {
            let pkg = ["api", "store", "model", "util", "handler", "client", "worker", "config"][(p + svc_no) % 8];
            for f in 0..rng.range(4, 10) {
                add(format!("{base}/{srcdir}/{pkg}/{pkg}_{f}.{ext}"), lang);
            }
        }
        for f in 0..rng.range(1, 4) {
            add(format!("{base}/{srcdir}/{}_test_{f}.{ext}", "main"), lang);
        }
        add(format!("{base}/README.md"), Kind::Readme);
        match lang {
            Kind::Go => add(format!("{base}/go.mod"), Kind::GoMod),
            Kind::JavaScript => add(format!("{base}/package.json"), Kind::PackageJson),
            _ => {}
        }
        for f in 0..rng.range(0, 3) {
            add(format!("{base}/docs/guide-{f}.md"), Kind::Markdown);
        }
        // Manifests.
        for f in 0..rng.range(2, 7) {
            let n = ["deployment", "service", "configmap", "cronjob", "daemonset", "statefulset", "ingress"][f % 7];
            add(format!("{base}/deploy/{n}.yaml"), Kind::Manifest);
        }
        for env in ["staging", "prod"] {
            if rng.chance(0.5) {
                add(format!("{base}/deploy/overlays/{env}/patch.yaml"), Kind::Manifest);
            }
        }
        // A Helm chart in half the services.
        if rng.chance(0.5) {
            let chart = format!("{base}/charts/{svc}");
            add(format!("{chart}/Chart.yaml"), Kind::ChartYaml);
            add(format!("{chart}/values.yaml"), Kind::Values);
            if rng.chance(0.5) {
                add(format!("{chart}/values-prod.yaml"), Kind::Values);
            }
            add(format!("{chart}/templates/_helpers.tpl"), Kind::Helpers);
            add(format!("{chart}/templates/NOTES.txt"), Kind::Notes);
            for n in ["deployment", "service", "serviceaccount", "configmap", "hpa", "daemonset"]
                .iter()
                .take(rng.range(2, 7))
            {
                add(format!("{chart}/templates/{n}.yaml"), Kind::Template);
            }
        }
        // CI.
        if rng.chance(0.45) {
            add(format!("{base}/Jenkinsfile"), Kind::Jenkinsfile);
        } else if rng.chance(0.3) {
            add(format!("{base}/.gitlab-ci.yml"), Kind::GitlabCi);
        } else if rng.chance(0.4) {
            add(format!("{base}/.github/workflows/ci.yml"), Kind::GithubWorkflow);
        }
        for f in 0..rng.range(1, 5) {
            let n = ["build", "deploy", "test", "release", "cleanup", "bootstrap"][(f + svc_no) % 6];
            add(format!("{base}/scripts/{n}.sh"), Kind::Shell);
        }
        for f in 0..rng.range(0, 5) {
            let n = ["logo", "icon", "banner", "diagram", "sprite"][f];
            let e = ["png", "jpg", "ico", "bin", "gz"][(f + svc_no) % 5];
            add(format!("{base}/assets/{n}.{e}"), Kind::Binary);
        }
        // Platform pieces, now and then.
        if svc_no.is_multiple_of(9) {
            add(format!("{base}/monitoring/rules.yaml"), Kind::PrometheusRule);
            add(format!("{base}/monitoring/dashboard.json"), Kind::Dashboard);
        }
        if svc_no.is_multiple_of(13) {
            add(format!("{base}/logging/fluent-bit.conf"), Kind::FluentBit);
        }
        if svc_no.is_multiple_of(17) {
            add(format!("{base}/infra/kubeadm-config.yaml"), Kind::Kubeadm);
            add(format!("{base}/infra/kubelet/kubeadm-flags.env"), Kind::KubeletEnv);
            add(format!("{base}/infra/systemd/kubelet.service"), Kind::SystemdUnit);
            add(format!("{base}/infra/docker/daemon.json"), Kind::DaemonJson);
        }
        if svc_no.is_multiple_of(11) {
            add(format!("vars/{svc}Pipeline.groovy"), Kind::Groovy);
        }
    }
    out.truncate(start + service_files);
    // The ignored build output: generated bundles, objects, source maps, in many directories.
    let per_dir = 40;
    for i in 0..build_files {
        let d = i / per_dir;
        let (kind, name) = match i % 4 {
            0 | 1 => (Kind::BuildJs, format!("chunk-{i:06}.js")),
            2 => (Kind::BuildObject, format!("obj-{i:06}.o")),
            _ => (Kind::BuildMap, format!("chunk-{i:06}.js.map")),
        };
        out.push(Planned { path: format!("build/out-{:03}/part-{d:04}/{name}", d % 50), kind, svc: "build".into() });
    }
    out
}

const WORDS: &[&str] = &[
    "request",
    "response",
    "handler",
    "client",
    "server",
    "config",
    "value",
    "result",
    "error",
    "context",
    "buffer",
    "record",
    "stream",
    "index",
    "cache",
    "token",
    "session",
    "account",
    "payment",
    "order",
    "item",
    "queue",
    "event",
    "metric",
    "label",
    "node",
    "pod",
    "image",
    "container",
    "registry",
    "build",
    "deploy",
    "retry",
    "timeout",
];

fn ident(rng: &mut Rng) -> String {
    let a = rng.pick(WORDS);
    let b = rng.pick(WORDS);
    let mut s = String::with_capacity(a.len() + b.len());
    s.push_str(a);
    let mut cs = b.chars();
    if let Some(c) = cs.next() {
        s.push(c.to_ascii_uppercase());
        s.push_str(cs.as_str());
    }
    s
}

fn render(p: &Planned, rng: &mut Rng) -> Vec<u8> {
    let svc = p.svc.as_str();
    match p.kind {
        Kind::Binary => binary(rng, 512, 24 * 1024),
        Kind::BuildObject => binary(rng, 1024, 16 * 1024),
        k => text(k, svc, rng).into_bytes(),
    }
}

fn binary(rng: &mut Rng, lo: usize, hi: usize) -> Vec<u8> {
    let n = rng.range(lo, hi);
    let mut v = Vec::with_capacity(n + 8);
    v.extend_from_slice(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
    while v.len() < n {
        let x = rng.next();
        // Plenty of NULs, like real images and objects.
        v.extend_from_slice(&(x & 0x00ff_00ff_ff00_ff00).to_le_bytes());
    }
    v.truncate(n);
    v
}

fn text(kind: Kind, svc: &str, rng: &mut Rng) -> String {
    let mut s = String::with_capacity(4096);
    match kind {
        Kind::GitIgnore => s.push_str("# build output\n/build/\n*.log\n*.tmp\nnode_modules/\n.idea/\n__pycache__/\n"),
        Kind::Readme | Kind::Markdown => markdown(&mut s, svc, rng),
        Kind::Go => go(&mut s, svc, rng),
        Kind::Python => python(&mut s, rng),
        Kind::JavaScript => javascript(&mut s, rng, 20, 120),
        Kind::Java => java(&mut s, rng),
        Kind::Manifest => manifest(&mut s, svc, rng),
        Kind::ChartYaml => {
            let _ = write!(
                s,
                "apiVersion: v2\nname: {svc}\ndescription: A Helm chart for {svc}\ntype: application\nversion: 0.{}.{}\nappVersion: \"1.{}.0\"\n",
                rng.range(1, 30),
                rng.range(0, 9),
                rng.range(0, 40)
            );
        }
        Kind::Values => values(&mut s, svc, rng),
        Kind::Template => template(&mut s, svc, rng),
        Kind::Helpers => helpers(&mut s, svc),
        Kind::Notes => {
            let _ = write!(
                s,
                "1. Get the application URL by running these commands:\n  export POD_NAME=$(kubectl get pods --namespace {{{{ .Release.Namespace }}}} -l \"app.kubernetes.io/name={svc}\" -o jsonpath=\"{{.items[0].metadata.name}}\")\n  kubectl --namespace {{{{ .Release.Namespace }}}} port-forward $POD_NAME 8080:80\n"
            );
        }
        Kind::Jenkinsfile => jenkinsfile(&mut s, svc, rng),
        Kind::Groovy => groovy(&mut s, svc, rng),
        Kind::Shell => shell(&mut s, svc, rng),
        Kind::GitlabCi => gitlab(&mut s, svc, rng),
        Kind::GithubWorkflow => {
            let _ = write!(
                s,
                "name: ci\non:\n  push:\n    branches: [main]\n  pull_request:\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: make test\n      - run: make lint\n  image:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - uses: docker/build-push-action@v5\n        with:\n          push: true\n          tags: registry.example.com/{svc}:${{{{ github.sha }}}}\n"
            );
        }
        Kind::PrometheusRule => {
            let metric =
                if rng.chance(0.4) { "container_fs_usage_bytes" } else { "container_memory_working_set_bytes" };
            let _ = write!(
                s,
                "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: {svc}\n  namespace: monitoring\nspec:\n  groups:\n    - name: {svc}.rules\n      rules:\n        - alert: HighUsage\n          expr: sum by (pod) ({metric}{{namespace=\"{svc}\"}}) > 1e9\n          for: 10m\n          labels:\n            severity: warning\n        - alert: PodRestarting\n          expr: increase(kube_pod_container_status_restarts_total{{namespace=\"{svc}\"}}[1h]) > 3\n"
            );
        }
        Kind::Dashboard => {
            let metric = if rng.chance(0.3) { "container_fs_inodes_free" } else { "container_cpu_usage_seconds_total" };
            let _ = write!(s, "{{\n  \"title\": \"{svc}\",\n  \"uid\": \"{:x}\",\n  \"panels\": [\n", rng.next());
            for i in 0..rng.range(4, 16) {
                let _ = write!(
                    s,
                    "    {{\"id\": {i}, \"type\": \"timeseries\", \"title\": \"panel {i}\", \"gridPos\": {{\"h\": 8, \"w\": 12, \"x\": {}, \"y\": {}}},\n     \"targets\": [{{\"expr\": \"sum(rate({metric}{{namespace=\\\"{svc}\\\"}}[5m])) by (pod)\", \"refId\": \"A\"}}]}},\n",
                    (i % 2) * 12,
                    i * 8
                );
            }
            s.push_str("    {\"id\": 999, \"type\": \"text\", \"title\": \"end\"}\n  ],\n  \"schemaVersion\": 39\n}\n");
        }
        Kind::FluentBit => {
            let (path, parser) = if rng.chance(0.5) {
                ("/var/lib/docker/containers/*/*.log", "docker")
            } else {
                ("/var/log/containers/*.log", "cri")
            };
            let _ = write!(
                s,
                "[SERVICE]\n    Flush        5\n    Log_Level    info\n    Parsers_File parsers.conf\n\n[INPUT]\n    Name             tail\n    Path             {path}\n    Parser           {parser}\n    Tag              kube.*\n    Mem_Buf_Limit    5MB\n\n[FILTER]\n    Name   kubernetes\n    Match  kube.*\n\n[OUTPUT]\n    Name   es\n    Match  *\n    Host   elasticsearch.logging\n"
            );
        }
        Kind::Kubeadm => {
            let sock =
                if rng.chance(0.5) { "/var/run/dockershim.sock" } else { "unix:///run/containerd/containerd.sock" };
            let _ = write!(
                s,
                "apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\nnodeRegistration:\n  criSocket: {sock}\n  kubeletExtraArgs:\n    cgroup-driver: systemd\n---\napiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.23.17\napiServer:\n  extraArgs:\n    audit-log-path: /var/log/kubernetes/audit.log\n"
            );
        }
        Kind::KubeletEnv => {
            if rng.chance(0.5) {
                s.push_str(
                    "KUBELET_KUBEADM_ARGS=\"--network-plugin=cni --pod-infra-container-image=k8s.gcr.io/pause:3.6\"\n",
                );
            } else {
                s.push_str("KUBELET_KUBEADM_ARGS=\"--container-runtime-endpoint=unix:///run/containerd/containerd.sock --pod-infra-container-image=registry.k8s.io/pause:3.9\"\n");
            }
        }
        Kind::SystemdUnit => {
            let after = if rng.chance(0.5) { "docker.service" } else { "containerd.service" };
            let _ = write!(
                s,
                "[Unit]\nDescription=kubelet: The Kubernetes Node Agent\nDocumentation=https://kubernetes.io/docs/\nWants=network-online.target\nAfter={after}\n\n[Service]\nExecStart=/usr/bin/kubelet\nRestart=always\nStartLimitInterval=0\nRestartSec=10\n\n[Install]\nWantedBy=multi-user.target\n"
            );
        }
        Kind::DaemonJson => {
            s.push_str("{\n  \"exec-opts\": [\"native.cgroupdriver=systemd\"],\n  \"log-driver\": \"json-file\",\n  \"log-opts\": {\"max-size\": \"100m\"},\n  \"storage-driver\": \"overlay2\",\n  \"registry-mirrors\": [\"https://mirror.example.com\"]\n}\n");
        }
        Kind::PackageJson => {
            let _ = write!(
                s,
                "{{\n  \"name\": \"{svc}\",\n  \"version\": \"1.{}.0\",\n  \"private\": true,\n  \"scripts\": {{\"build\": \"webpack --mode production\", \"test\": \"jest\", \"docker\": \"docker build -t {svc} .\"}},\n  \"dependencies\": {{\"express\": \"^4.18.2\", \"pino\": \"^8.16.0\", \"axios\": \"^1.6.0\"}}\n}}\n",
                rng.range(0, 30)
            );
        }
        Kind::GoMod => {
            let _ = write!(
                s,
                "module github.com/example/{svc}\n\ngo 1.21\n\nrequire (\n\tgithub.com/prometheus/client_golang v1.17.0\n\tgo.uber.org/zap v1.26.0\n\tk8s.io/client-go v0.28.3\n)\n"
            );
        }
        Kind::BuildJs => javascript(&mut s, rng, 80, 400),
        Kind::BuildMap => {
            s.push_str("{\"version\":3,\"sources\":[\"webpack://src/index.js\"],\"names\":[],\"mappings\":\"");
            for _ in 0..rng.range(200, 1500) {
                s.push_str(rng.pick(&["AAAA", "CAAC", ";AACA", "EAAE", "GAAG,", "IAAI;"]));
            }
            s.push_str("\"}\n");
        }
        Kind::Binary | Kind::BuildObject => unreachable!(),
    }
    s
}

fn markdown(s: &mut String, svc: &str, rng: &mut Rng) {
    let _ = write!(
        s,
        "# {svc}\n\nThis service handles {} for the platform.\n\n## Running locally\n\n```sh\nmake run\n```\n\n",
        rng.pick(WORDS)
    );
    if rng.chance(0.3) {
        s.push_str(
            "Or with Docker:\n\n```sh\ndocker build -t local/app . && docker run -p 8080:8080 local/app\n```\n\n",
        );
    }
    for _ in 0..rng.range(4, 20) {
        let _ = writeln!(
            s,
            "- The {} keeps the {} in sync with the {} and retries on {}.",
            ident(rng),
            rng.pick(WORDS),
            rng.pick(WORDS),
            rng.pick(WORDS)
        );
    }
}

fn go(s: &mut String, svc: &str, rng: &mut Rng) {
    let _ = write!(
        s,
        "// Package api is part of {svc}.\npackage api\n\nimport (\n\t\"context\"\n\t\"errors\"\n\t\"fmt\"\n\t\"net/http\"\n\t\"time\"\n)\n\n"
    );
    for _ in 0..rng.range(3, 14) {
        let f = ident(rng);
        let a = ident(rng);
        let _ = write!(
            s,
            "// {f} handles one {a}.\nfunc {f}(ctx context.Context, {a} string) (int, error) {{\n\tif {a} == \"\" {{\n\t\treturn 0, errors.New(\"empty {a}\")\n\t}}\n\tctx, cancel := context.WithTimeout(ctx, {}*time.Second)\n\tdefer cancel()\n",
            rng.range(1, 60)
        );
        for _ in 0..rng.range(2, 10) {
            let _ = writeln!(
                s,
                "\t{} := fmt.Sprintf(\"%s-%d\", {a}, {})\n\t_ = {}",
                ident(rng),
                rng.range(0, 1000),
                ident(rng)
            );
        }
        let _ = write!(
            s,
            "\treq, err := http.NewRequestWithContext(ctx, http.MethodGet, \"http://localhost:8080/{}\", nil)\n\tif err != nil {{\n\t\treturn 0, err\n\t}}\n\t_ = req\n\treturn len({a}), nil\n}}\n\n",
            rng.pick(WORDS)
        );
    }
}

fn python(s: &mut String, rng: &mut Rng) {
    s.push_str("import json\nimport logging\nimport os\nfrom dataclasses import dataclass\n\nlog = logging.getLogger(__name__)\n\n");
    for _ in 0..rng.range(3, 14) {
        let f = ident(rng);
        let _ = write!(
            s,
            "\ndef {f}(payload, retries={}):\n    \"\"\"Process one {} payload.\"\"\"\n",
            rng.range(1, 9),
            rng.pick(WORDS)
        );
        for _ in 0..rng.range(2, 10) {
            let _ = writeln!(s, "    {} = payload.get(\"{}\", {})", ident(rng), rng.pick(WORDS), rng.range(0, 100));
        }
        let _ = write!(
            s,
            "    log.info(\"done %s\", json.dumps(payload))\n    return os.environ.get(\"{}_URL\", \"\")\n",
            rng.pick(WORDS).to_ascii_uppercase()
        );
    }
}

fn javascript(s: &mut String, rng: &mut Rng, lo: usize, hi: usize) {
    s.push_str("'use strict';\nconst express = require('express');\nconst { promisify } = require('util');\n\n");
    for _ in 0..rng.range(lo / 10, hi / 10) {
        let f = ident(rng);
        let _ = writeln!(s, "async function {f}(req, res) {{");
        for _ in 0..rng.range(3, 10) {
            let _ = writeln!(
                s,
                "  const {} = await {}(req.params.{}, {});",
                ident(rng),
                ident(rng),
                rng.pick(WORDS),
                rng.range(0, 500)
            );
        }
        let _ = write!(
            s,
            "  res.json({{ ok: true, {}: {} }});\n}}\nmodule.exports.{f} = {f};\n\n",
            rng.pick(WORDS),
            rng.range(0, 9)
        );
    }
}

fn java(s: &mut String, rng: &mut Rng) {
    let class = ident(rng);
    let _ = write!(
        s,
        "package com.example;\n\nimport java.util.List;\nimport java.util.Map;\nimport java.util.Optional;\n\npublic class {}{} {{\n",
        class[..1].to_ascii_uppercase(),
        &class[1..]
    );
    for _ in 0..rng.range(3, 12) {
        let _ = writeln!(s, "    public Optional<String> {}(Map<String, String> {}) {{", ident(rng), rng.pick(WORDS));
        for _ in 0..rng.range(2, 8) {
            let _ = writeln!(s, "        String {} = String.valueOf({});", ident(rng), rng.range(0, 1000));
        }
        s.push_str("        return Optional.empty();\n    }\n\n");
    }
    s.push_str("}\n");
}

/// A container spec (indent = the `- name:` column), with the occasional Docker dependency.
fn container(s: &mut String, svc: &str, ind: &str, rng: &mut Rng, docker: bool) {
    let image = if docker && rng.chance(0.3) {
        rng.pick(&["datadog/agent:7.38.0", "falcosecurity/falco:0.31.1", "sysdig/agent:12.0.0", "docker:20.10-dind"])
    } else {
        rng.pick(&["registry.example.com/app", "nginx:1.25", "python:3.12-slim", "gcr.io/distroless/static"])
    };
    let _ = write!(
        s,
        "{ind}- name: {svc}\n{ind}  image: {image}\n{ind}  imagePullPolicy: IfNotPresent\n{ind}  args:\n{ind}    - --port=8080\n{ind}    - --log-level=info\n{ind}  ports:\n{ind}    - containerPort: 8080\n{ind}      name: http\n{ind}  env:\n{ind}    - name: APP_ENV\n{ind}      value: production\n"
    );
    if docker && rng.chance(0.4) {
        let _ = write!(s, "{ind}    - name: DOCKER_HOST\n{ind}      value: unix:///var/run/docker.sock\n");
    }
    let _ = write!(
        s,
        "{ind}  resources:\n{ind}    requests:\n{ind}      cpu: {}m\n{ind}      memory: {}Mi\n{ind}    limits:\n{ind}      memory: {}Mi\n{ind}  readinessProbe:\n{ind}    httpGet:\n{ind}      path: /healthz\n{ind}      port: http\n",
        rng.range(1, 20) * 50,
        rng.range(1, 16) * 64,
        rng.range(4, 32) * 64
    );
    if docker && rng.chance(0.3) {
        let _ = write!(
            s,
            "{ind}  command: [\"sh\", \"-c\", \"docker ps -q | wc -l && exec /app\"]\n{ind}  securityContext:\n{ind}    privileged: true\n"
        );
    }
    if docker {
        let _ = write!(
            s,
            "{ind}  volumeMounts:\n{ind}    - name: docker-sock\n{ind}      mountPath: /var/run/docker.sock\n"
        );
    }
}

fn pod_spec(s: &mut String, svc: &str, ind: &str, rng: &mut Rng) {
    let docker = rng.chance(0.04);
    let _ = write!(s, "{ind}serviceAccountName: {svc}\n{ind}containers:\n");
    container(s, svc, ind, rng, docker);
    if rng.chance(0.3) {
        container(s, &format!("{svc}-sidecar"), ind, rng, false);
    }
    if docker {
        let path = rng.pick(&["/var/run/docker.sock", "/run/docker.sock", "/var/lib/docker/containers", "/var/run"]);
        let _ = write!(s, "{ind}volumes:\n{ind}  - name: docker-sock\n{ind}    hostPath:\n{ind}      path: {path}\n");
    } else if rng.chance(0.3) {
        let _ = write!(s, "{ind}volumes:\n{ind}  - name: config\n{ind}    configMap:\n{ind}      name: {svc}-config\n");
    }
}

fn manifest(s: &mut String, svc: &str, rng: &mut Rng) {
    let kind = rng.pick(&[
        "Deployment",
        "Deployment",
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "CronJob",
        "Service",
        "ConfigMap",
    ]);
    let labels = format!(
        "    app.kubernetes.io/name: {svc}\n    app.kubernetes.io/part-of: platform\n    team: {}\n",
        rng.pick(WORDS)
    );
    match kind {
        "Service" => {
            let _ = write!(
                s,
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: {svc}\n  labels:\n{labels}spec:\n  selector:\n    app.kubernetes.io/name: {svc}\n  ports:\n    - port: 80\n      targetPort: http\n"
            );
        }
        "ConfigMap" => {
            let _ = write!(
                s,
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {svc}-config\n  labels:\n{labels}data:\n"
            );
            for _ in 0..rng.range(3, 20) {
                let _ = writeln!(s, "  {}: \"{}\"", ident(rng), rng.range(0, 100000));
            }
        }
        "CronJob" => {
            let _ = write!(
                s,
                "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: {svc}-cleanup\n  labels:\n{labels}spec:\n  schedule: \"*/{} * * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: OnFailure\n",
                rng.range(5, 59)
            );
            pod_spec(s, svc, "          ", rng);
        }
        _ => {
            let _ = write!(
                s,
                "apiVersion: apps/v1\nkind: {kind}\nmetadata:\n  name: {svc}\n  namespace: {svc}\n  labels:\n{labels}spec:\n"
            );
            if kind != "DaemonSet" {
                let _ = writeln!(s, "  replicas: {}", rng.range(1, 6));
            }
            let _ = write!(
                s,
                "  selector:\n    matchLabels:\n      app.kubernetes.io/name: {svc}\n  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: {svc}\n    spec:\n"
            );
            pod_spec(s, svc, "      ", rng);
        }
    }
    if rng.chance(0.4) {
        let _ = write!(s, "---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {svc}\n  labels:\n{labels}");
    }
}

fn values(s: &mut String, svc: &str, rng: &mut Rng) {
    let _ = write!(
        s,
        "replicaCount: {}\nimage:\n  repository: registry.example.com/{svc}\n  tag: \"\"\n  pullPolicy: IfNotPresent\nserviceAccount:\n  create: true\n  name: \"\"\npodAnnotations: {{}}\nservice:\n  type: ClusterIP\n  port: 80\nresources:\n  limits:\n    memory: {}Mi\n  requests:\n    cpu: 100m\n",
        rng.range(1, 5),
        rng.range(2, 16) * 64
    );
    if rng.chance(0.06) {
        s.push_str("docker:\n  enabled: true\n  socketPath: /var/run/docker.sock\n");
    }
    for _ in 0..rng.range(2, 12) {
        let _ = write!(
            s,
            "{}:\n  enabled: {}\n  {}: {}\n",
            ident(rng),
            rng.chance(0.5),
            rng.pick(WORDS),
            rng.range(0, 1000)
        );
    }
    s.push_str("nodeSelector: {}\ntolerations: []\naffinity: {}\n");
}

fn helpers(s: &mut String, svc: &str) {
    let _ = write!(
        s,
        "{{{{/* Expand the name of the chart. */}}}}\n{{{{- define \"{svc}.name\" -}}}}\n{{{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix \"-\" }}}}\n{{{{- end }}}}\n\n{{{{- define \"{svc}.labels\" -}}}}\nhelm.sh/chart: {{{{ .Chart.Name }}}}-{{{{ .Chart.Version }}}}\napp.kubernetes.io/name: {{{{ include \"{svc}.name\" . }}}}\napp.kubernetes.io/managed-by: {{{{ .Release.Service }}}}\n{{{{- end }}}}\n"
    );
}

fn template(s: &mut String, svc: &str, rng: &mut Rng) {
    let kind = rng.pick(&["Deployment", "DaemonSet", "Service", "ConfigMap"]);
    match kind {
        "Service" => {
            let _ = write!(
                s,
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{{{ include \"{svc}.name\" . }}}}\n  labels:\n    {{{{- include \"{svc}.labels\" . | nindent 4 }}}}\nspec:\n  type: {{{{ .Values.service.type }}}}\n  ports:\n    - port: {{{{ .Values.service.port }}}}\n      targetPort: http\n"
            );
        }
        "ConfigMap" => {
            let _ = write!(
                s,
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{{{ include \"{svc}.name\" . }}}}\ndata:\n"
            );
            for _ in 0..rng.range(3, 12) {
                let _ = writeln!(s, "  {}: {{{{ .Values.{}.{} | quote }}}}", ident(rng), ident(rng), rng.pick(WORDS));
            }
        }
        _ => {
            let _ = write!(
                s,
                "apiVersion: apps/v1\nkind: {kind}\nmetadata:\n  name: {{{{ include \"{svc}.name\" . }}}}\n  labels:\n    {{{{- include \"{svc}.labels\" . | nindent 4 }}}}\nspec:\n  {{{{- if not .Values.autoscaling.enabled }}}}\n  replicas: {{{{ .Values.replicaCount }}}}\n  {{{{- end }}}}\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: {{{{ include \"{svc}.name\" . }}}}\n  template:\n    metadata:\n      {{{{- with .Values.podAnnotations }}}}\n      annotations:\n        {{{{- toYaml . | nindent 8 }}}}\n      {{{{- end }}}}\n    spec:\n      containers:\n        - name: {{{{ .Chart.Name }}}}\n          image: \"{{{{ .Values.image.repository }}}}:{{{{ .Values.image.tag | default .Chart.AppVersion }}}}\"\n          imagePullPolicy: {{{{ .Values.image.pullPolicy }}}}\n          resources:\n            {{{{- toYaml .Values.resources | nindent 12 }}}}\n"
            );
            if rng.chance(0.08) {
                s.push_str("          volumeMounts:\n            - name: docker-sock\n              mountPath: /var/run/docker.sock\n      volumes:\n        - name: docker-sock\n          hostPath:\n            path: {{ .Values.docker.socketPath }}\n            type: Socket\n");
            }
            s.push_str("      {{- with .Values.nodeSelector }}\n      nodeSelector:\n        {{- toYaml . | nindent 8 }}\n      {{- end }}\n");
        }
    }
}

fn jenkinsfile(s: &mut String, svc: &str, rng: &mut Rng) {
    let docker = rng.chance(0.35);
    if docker && rng.chance(0.5) {
        s.push_str("pipeline {\n  agent {\n    docker { image 'maven:3.9-eclipse-temurin-17' }\n  }\n");
    } else if rng.chance(0.3) {
        let _ = write!(
            s,
            "pipeline {{\n  agent {{\n    kubernetes {{\n      yaml '''\napiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: build\n      image: gradle:8-jdk17\n      command: [\"sleep\", \"infinity\"]\n{}'''\n    }}\n  }}\n",
            if docker {
                "    - name: docker\n      image: docker:24\n      volumeMounts:\n        - name: sock\n          mountPath: /var/run/docker.sock\n  volumes:\n    - name: sock\n      hostPath:\n        path: /var/run/docker.sock\n"
            } else {
                ""
            }
        );
    } else {
        s.push_str("pipeline {\n  agent { label 'linux' }\n");
    }
    let _ = write!(
        s,
        "  options {{\n    timeout(time: {}, unit: 'MINUTES')\n    buildDiscarder(logRotator(numToKeepStr: '20'))\n  }}\n  environment {{\n    IMAGE = \"registry.example.com/{svc}\"\n  }}\n  stages {{\n    stage('Test') {{\n      steps {{\n        sh 'make test'\n        junit 'build/test-results/**/*.xml'\n      }}\n    }}\n",
        rng.range(10, 90)
    );
    if docker {
        s.push_str("    stage('Image') {\n      steps {\n        sh \"docker build -t ${IMAGE}:${GIT_COMMIT} .\"\n        sh \"docker push ${IMAGE}:${GIT_COMMIT}\"\n      }\n    }\n");
    } else {
        s.push_str("    stage('Image') {\n      steps {\n        sh './gradlew jib'\n      }\n    }\n");
    }
    s.push_str("    stage('Deploy') {\n      when { branch 'main' }\n      steps {\n        sh 'helm upgrade --install app charts/app --wait'\n      }\n    }\n  }\n  post {\n    always { cleanWs() }\n  }\n}\n");
}

fn groovy(s: &mut String, svc: &str, rng: &mut Rng) {
    let _ = write!(
        s,
        "def call(Map config = [:]) {{\n  node('linux') {{\n    stage('Checkout') {{\n      checkout scm\n    }}\n    stage('Build {svc}') {{\n"
    );
    if rng.chance(0.5) {
        s.push_str("      def img = docker.build(\"${config.image}:${env.BUILD_NUMBER}\")\n      docker.withRegistry('https://registry.example.com', 'registry-creds') {\n        img.push()\n      }\n");
    } else {
        s.push_str("      sh 'make build'\n");
    }
    s.push_str("    }\n  }\n}\n");
}

fn shell(s: &mut String, svc: &str, rng: &mut Rng) {
    let _ = write!(
        s,
        "#!/usr/bin/env bash\n# {} helper for {svc}\nset -euo pipefail\n\nSCRIPT_DIR=\"$(cd \"$(dirname \"${{BASH_SOURCE[0]}}\")\" && pwd)\"\nNAMESPACE=\"${{NAMESPACE:-{svc}}}\"\n\nlog() {{\n  echo \"[$(date +%H:%M:%S)] $*\" >&2\n}}\n\n",
        rng.pick(WORDS)
    );
    // About a third of the scripts use docker (build, push, prune, install); the rest do not
    // mention it at all.
    let uses_docker = rng.chance(0.3);
    for _ in 0..rng.range(2, 10) {
        let f = ident(rng);
        let _ = write!(s, "{f}() {{\n  local target=\"$1\"\n  log \"running {f} on $target\"\n");
        match rng.range(if uses_docker { 0 } else { 4 }, 12) {
            0 => s.push_str("  docker build -t \"registry.example.com/${target}:latest\" \"$SCRIPT_DIR/..\"\n  docker push \"registry.example.com/${target}:latest\"\n"),
            1 => s.push_str("  # docker is not needed here any more\n  kubectl -n \"$NAMESPACE\" rollout status deploy/\"$target\" --timeout=120s\n"),
            2 => s.push_str("  sudo apt-get install -y docker-ce docker-ce-cli containerd.io\n  sudo systemctl enable --now docker\n"),
            3 => s.push_str("  docker ps --filter \"name=${target}\" --format '{{.ID}}' | xargs -r docker rm -f\n"),
            _ => {
                let _ = write!(s, "  kubectl -n \"$NAMESPACE\" get pods -l app={svc} -o name | while read -r p; do\n    kubectl -n \"$NAMESPACE\" logs \"$p\" --tail={} || true\n  done\n", rng.range(10, 500));
            }
        }
        s.push_str("}\n\n");
    }
    s.push_str("main() {\n  case \"${1:-}\" in\n    -h|--help) echo \"usage: $0 TARGET\"; exit 0 ;;\n  esac\n  log \"done\"\n}\n\nmain \"$@\"\n");
}

fn gitlab(s: &mut String, svc: &str, rng: &mut Rng) {
    let _ = write!(
        s,
        "stages: [test, build, deploy]\n\ntest:\n  stage: test\n  image: golang:1.21\n  script:\n    - go test ./...\n\nbuild:\n  stage: build\n"
    );
    if rng.chance(0.5) {
        let _ = write!(
            s,
            "  image: docker:24\n  services:\n    - docker:24-dind\n  script:\n    - docker build -t registry.example.com/{svc}:$CI_COMMIT_SHA .\n    - docker push registry.example.com/{svc}:$CI_COMMIT_SHA\n"
        );
    } else {
        let _ = write!(
            s,
            "  image:\n    name: gcr.io/kaniko-project/executor:debug\n    entrypoint: [\"\"]\n  script:\n    - /kaniko/executor --context . --destination registry.example.com/{svc}:$CI_COMMIT_SHA\n"
        );
    }
    s.push_str("\ndeploy:\n  stage: deploy\n  image: alpine/helm:3.13\n  script:\n    - helm upgrade --install app charts/app\n  only: [main]\n");
}
