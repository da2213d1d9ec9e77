//! File kinds: the one registry of what a file can be recognised as. Each [`FileKind`] has exactly
//! one [`KindSpec`] in [`REGISTRY`]: its name (the string rules use in `kinds:`), how it is
//! recognised (its path, or a peek at the content of a file whose path left it open), its syntax,
//! and whether it can embed files of other kinds. The analyser of each kind is chosen in
//! `collect::files::analyze`, an exhaustive match, so a kind without an analyser does not compile.
//!
//! Plain data and pure functions: the collectors classify with it, the rules validate their
//! `kinds:` against it, and it imports nothing above `evidence`. The same kinds apply to repository
//! files, node files and bodies embedded in other files ([`classify_body`]), so a `daemon.json` in an
//! Ansible role is checked like one on a node.
//!
//! Adding a file kind:
//! 1. a variant of [`FileKind`] and its entry in [`REGISTRY`] at the same position (name, syntax,
//!    `embeds_others`, and a path test and/or a content test; entries are tried in order);
//! 2. its analyser, a file in `collect/files/` with `fn analyze(src: &Source, out: &mut Evidence)`,
//!    named in the `collect::files::analyze` match (the compiler points there);
//! 3. a row in the kinds table of `docs/rules.md` (a test checks it is there).

use std::fmt;

/// What a file (or a source that is not a file) is, for the rules and the analysers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileKind {
    /// A Helm chart template (`templates/*.yaml`, `*.tpl`).
    HelmTemplate,
    /// A Helm chart's `values*.yaml` at the chart root.
    HelmValues,
    /// A Jenkins pipeline or shared-library Groovy file.
    Jenkinsfile,
    /// A GitLab CI pipeline.
    GitlabCi,
    /// A GitHub Actions workflow.
    GithubWorkflow,
    /// Docker Engine's `daemon.json`.
    DockerDaemonJson,
    /// A kubelet environment file (`kubeadm-flags.env`, `/etc/default/kubelet`).
    KubeletEnv,
    /// `crictl.yaml`.
    CrictlConfig,
    /// A crontab or a file of a cron directory.
    Cron,
    /// A fluent-bit classic-mode configuration.
    FluentBit,
    /// A fluentd configuration.
    Fluentd,
    /// A systemd unit or drop-in.
    SystemdUnit,
    /// A `modules-load.d` file.
    KernelModules,
    /// A `sysctl.d` file or `sysctl.conf`.
    Sysctl,
    /// cloud-init user data (`#cloud-config`, MIME multipart, a user-data script).
    CloudInit,
    /// A shell script.
    Shell,
    /// A PowerShell script or module (Windows node set-up, kubelet wrappers).
    PowerShell,
    /// A Makefile: its recipes are shell.
    Makefile,
    /// A GitLab Runner `config.toml`.
    GitlabRunnerConfig,
    /// A containerd `config.toml`.
    ContainerdConfig,
    /// A Grafana dashboard (JSON).
    GrafanaDashboard,
    /// A Packer JSON template.
    Packer,
    /// Terraform or Packer HCL.
    Terraform,
    /// Kubernetes manifests, and any YAML stream decided per document by its content.
    K8sManifest,
    /// A kubeadm configuration document.
    KubeadmConfig,
    /// A KubeletConfiguration document.
    KubeletConfig,
    /// A Promtail configuration.
    Promtail,
    /// A Filebeat configuration.
    Filebeat,
    /// Prometheus alerting and recording rules.
    PrometheusRule,
    /// A KubeKey cluster configuration.
    InstallerKubekey,
    /// Kubespray inventory variables.
    InstallerKubespray,
    /// An RKE1 `cluster.yml`.
    InstallerRke,
    /// Not a file: objects read from the API.
    Cluster,
    /// Not a file: the summary record of a node scan.
    Node,
}

/// How a kind's files are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// A YAML stream. A syntax error is reported even when no rule could match the file.
    Yaml,
    /// YAML with Go template actions (Helm templates): only parsed after rendering.
    Template,
    /// JSON.
    Json,
    /// TOML.
    Toml,
    /// Line-oriented text (scripts, units, Groovy, INI-like configs).
    Text,
    /// Not a file (API objects, the node summary).
    NotAFile,
}

/// The path facts a path test reads: lowercase, `/`-separated.
#[derive(Debug, Clone, Copy)]
pub struct PathParts<'a> {
    /// The whole path.
    pub path: &'a str,
    /// The file name.
    pub name: &'a str,
    /// The extension of the file name (`""` when none).
    pub ext: &'a str,
    /// The path relative to the Helm chart root, when a `Chart.yaml` is in an ancestor directory.
    pub chart: Option<&'a str>,
}

/// What a content test reads of a file whose path left its kind open.
#[derive(Debug, Clone, Copy)]
pub struct Peek<'a> {
    /// The file name, as given to [`classify_content`].
    pub name: &'a str,
    /// The first 4096 characters.
    pub head: &'a str,
    /// The whole text.
    pub text: &'a str,
}

/// One file kind: everything about it except its analyser.
#[derive(Debug, Clone, Copy)]
pub struct KindSpec {
    /// The kind.
    pub kind: FileKind,
    /// The name rules use in `kinds:` and records carry in `file_kind`.
    pub name: &'static str,
    /// How its files are written.
    pub syntax: Syntax,
    /// Whether its files can hold content of other kinds (a ConfigMap holding a fluent-bit config,
    /// a pod template inside a Jenkinsfile, a unit written by a script's heredoc), so every rule
    /// may apply to them.
    pub embeds_others: bool,
    /// Recognised by its path alone. Path tests run in registry order, before any content test.
    pub path: Option<PathTest>,
    /// Recognised by content, in a file whose path says only `PathClass` (`*.json`, `*.toml`,
    /// `*.conf`, `*.yaml`). Content tests run in registry order.
    pub content: Option<(PathClass, ContentTest)>,
}

/// A test of a path.
pub type PathTest = fn(&PathParts<'_>) -> bool;

/// Fluent Bit's classic config: a section header (`[INPUT]`, `[SERVICE]`, ..., any case) alone on
/// its line. A systemd unit's `[Service]` is not one: a file with `[Unit]`/`[Install]` or
/// `Key=value` lines under its headers (`ExecStart=`, `Environment=`) is a unit. See: issue 12.
fn looks_like_fluent_bit(c: &Peek<'_>) -> bool {
    const SECTIONS: &[&str] = &["[INPUT]", "[SERVICE]", "[OUTPUT]", "[PARSER]", "[MULTILINE_PARSER]", "[FILTER]"];
    let mut sections = 0;
    for line in c.head.lines().map(str::trim) {
        if line == "[Unit]" || line == "[Install]" {
            return false;
        }
        if line.starts_with('[') {
            sections += usize::from(SECTIONS.iter().any(|s| line.eq_ignore_ascii_case(s)));
            continue;
        }
        // systemd settings are `Key=value` with no space before `=`; Fluent Bit's are `Key value`.
        let key = line.split(['=', ' ', '\t']).next().unwrap_or("");
        let systemd_setting = line[key.len()..].starts_with('=')
            && key.chars().next().is_some_and(|ch| ch.is_ascii_uppercase())
            && key.chars().all(|ch| ch.is_ascii_alphanumeric());
        if sections > 0 && systemd_setting {
            return false;
        }
    }
    sections > 0
}

/// A test of the content of a file whose path left its kind open.
pub type ContentTest = fn(&Peek<'_>) -> bool;

const fn spec(kind: FileKind, name: &'static str, syntax: Syntax) -> KindSpec {
    KindSpec { kind, name, syntax, embeds_others: false, path: None, content: None }
}

/// Every kind, in the order recognition tries them (the first whose test passes wins).
pub const REGISTRY: &[KindSpec] = &[
    KindSpec {
        embeds_others: true,
        path: Some(|p| p.chart.is_some_and(|c| c.starts_with("templates/")) && matches!(p.ext, "yaml" | "yml" | "tpl")),
        ..spec(FileKind::HelmTemplate, "helm-template", Syntax::Template)
    },
    KindSpec {
        embeds_others: true,
        path: Some(|p| {
            p.chart.is_some_and(|c| !c.contains('/')) && p.name.starts_with("values") && matches!(p.ext, "yaml" | "yml")
        }),
        ..spec(FileKind::HelmValues, "helm-values", Syntax::Yaml)
    },
    KindSpec {
        embeds_others: true,
        path: Some(|p| {
            p.name == "jenkinsfile"
                || p.name.starts_with("jenkinsfile.")
                || p.name.ends_with(".jenkinsfile")
                || p.ext == "groovy"
        }),
        ..spec(FileKind::Jenkinsfile, "jenkinsfile", Syntax::Text)
    },
    KindSpec {
        embeds_others: true,
        path: Some(|p| {
            p.name == ".gitlab-ci.yml" || p.name.ends_with(".gitlab-ci.yml") || p.name.ends_with(".gitlab-ci.yaml")
        }),
        ..spec(FileKind::GitlabCi, "gitlab-ci", Syntax::Yaml)
    },
    KindSpec {
        embeds_others: true,
        path: Some(|p| p.path.contains(".github/workflows/") && matches!(p.ext, "yml" | "yaml")),
        ..spec(FileKind::GithubWorkflow, "github-workflow", Syntax::Yaml)
    },
    KindSpec {
        path: Some(|p| p.name == "daemon.json"),
        ..spec(FileKind::DockerDaemonJson, "docker-daemon-json", Syntax::Json)
    },
    KindSpec {
        path: Some(|p| {
            p.name == "kubeadm-flags.env"
                || p.path.ends_with("default/kubelet")
                || p.path.ends_with("sysconfig/kubelet")
                || (p.name.starts_with("kubelet")
                    && (matches!(p.ext, "env" | "default" | "sysconfig") || p.name.contains(".env.")))
        }),
        ..spec(FileKind::KubeletEnv, "kubelet-env", Syntax::Text)
    },
    KindSpec { path: Some(|p| p.name == "crictl.yaml"), ..spec(FileKind::CrictlConfig, "crictl-config", Syntax::Yaml) },
    KindSpec {
        path: Some(|p| {
            p.name == "crontab"
                || ["/cron.d/", "/spool/cron/", "/cron.daily/", "/cron.hourly/", "/cron.weekly/", "/cron.monthly/"]
                    .iter()
                    .any(|d| p.path.contains(d))
        }),
        ..spec(FileKind::Cron, "cron", Syntax::Text)
    },
    KindSpec {
        content: Some((PathClass::Conf, looks_like_fluent_bit)),
        ..spec(FileKind::FluentBit, "fluent-bit", Syntax::Text)
    },
    KindSpec {
        content: Some((PathClass::Conf, |c| {
            ["<source>", "<match ", "<filter ", "<label "].iter().any(|s| c.head.contains(s))
        })),
        ..spec(FileKind::Fluentd, "fluentd", Syntax::Text)
    },
    KindSpec {
        path: Some(|p| matches!(p.ext, "service" | "timer") || (p.path.contains(".service.d/") && p.ext == "conf")),
        content: Some((PathClass::Conf, |c| c.head.contains("[Service]") || c.head.contains("[Unit]"))),
        ..spec(FileKind::SystemdUnit, "systemd-unit", Syntax::Text)
    },
    KindSpec {
        path: Some(|p| p.path.contains("modules-load.d/") && p.ext == "conf"),
        ..spec(FileKind::KernelModules, "kernel-modules", Syntax::Text)
    },
    KindSpec {
        path: Some(|p| (p.path.contains("sysctl.d/") && p.ext == "conf") || p.name == "sysctl.conf"),
        ..spec(FileKind::Sysctl, "sysctl", Syntax::Text)
    },
    KindSpec {
        embeds_others: true,
        // Conventional names (`user-data`, `userdata.yaml`, `cloud-config.yml`, `cloud-init.yaml`),
        // or YAML starting with `#cloud-config` (an extensionless one is decided in
        // `classify_content`, like a shebang).
        path: Some(|p| {
            let stem = p.name.split('.').next().unwrap_or(p.name);
            matches!(stem, "user-data" | "user_data" | "userdata" | "cloud-init" | "cloud_init")
                || stem.starts_with("cloud-config")
        }),
        content: Some((PathClass::Yaml, |c| c.head.trim_start().starts_with("#cloud-config"))),
        ..spec(FileKind::CloudInit, "cloud-init", Syntax::Text)
    },
    KindSpec {
        embeds_others: true,
        // Extensionless files with a shell shebang are decided in `classify_content`: a shebang
        // settles what a file is before any content test.
        path: Some(|p| matches!(p.ext, "sh" | "bash" | "ksh" | "zsh")),
        ..spec(FileKind::Shell, "shell", Syntax::Text)
    },
    KindSpec {
        path: Some(|p| matches!(p.ext, "ps1" | "psm1")),
        ..spec(FileKind::PowerShell, "powershell", Syntax::Text)
    },
    KindSpec {
        path: Some(|p| {
            matches!(p.name, "makefile" | "gnumakefile") || p.name.starts_with("makefile.") || p.ext == "mk"
        }),
        ..spec(FileKind::Makefile, "makefile", Syntax::Text)
    },
    KindSpec {
        content: Some((PathClass::Toml, |c| {
            c.head.contains("[[runners]]") || c.head.contains("concurrent =") && c.text.contains("[runners")
        })),
        ..spec(FileKind::GitlabRunnerConfig, "gitlab-runner-config", Syntax::Toml)
    },
    KindSpec {
        content: Some((PathClass::Toml, |c| {
            c.head.contains("[plugins")
                || c.head.contains("io.containerd")
                || c.name == "config.toml" && c.text.contains("containerd")
        })),
        ..spec(FileKind::ContainerdConfig, "containerd-config", Syntax::Toml)
    },
    KindSpec {
        content: Some((PathClass::Json, |c| {
            c.text.contains("\"panels\"") && (c.text.contains("\"expr\"") || c.text.contains("\"targets\""))
        })),
        ..spec(FileKind::GrafanaDashboard, "grafana-dashboard", Syntax::Json)
    },
    KindSpec {
        embeds_others: true,
        path: Some(|p| p.name.ends_with(".pkr.json")),
        content: Some((PathClass::Json, |c| c.head.contains("\"provisioners\"") && c.head.contains("\"builders\""))),
        ..spec(FileKind::Packer, "packer", Syntax::Json)
    },
    KindSpec {
        embeds_others: true,
        path: Some(|p| p.ext == "tf" || p.name.ends_with(".pkr.hcl")),
        ..spec(FileKind::Terraform, "terraform", Syntax::Text)
    },
    KindSpec {
        embeds_others: true,
        // Every other YAML file; the YAML analyser decides each document by its content
        // (`apiVersion`/`kind`, known top-level keys) and records carry the kind it found.
        content: Some((PathClass::Yaml, |_| true)),
        ..spec(FileKind::K8sManifest, "k8s-manifest", Syntax::Yaml)
    },
    spec(FileKind::KubeadmConfig, "kubeadm-config", Syntax::Yaml),
    spec(FileKind::KubeletConfig, "kubelet-config", Syntax::Yaml),
    spec(FileKind::Promtail, "promtail", Syntax::Yaml),
    spec(FileKind::Filebeat, "filebeat", Syntax::Yaml),
    spec(FileKind::PrometheusRule, "prometheus-rule", Syntax::Yaml),
    spec(FileKind::InstallerKubekey, "installer-kubekey", Syntax::Yaml),
    spec(FileKind::InstallerKubespray, "installer-kubespray", Syntax::Yaml),
    spec(FileKind::InstallerRke, "installer-rke", Syntax::Yaml),
    spec(FileKind::Cluster, "cluster", Syntax::NotAFile),
    spec(FileKind::Node, "node", Syntax::NotAFile),
];

impl FileKind {
    /// The registry entry of this kind.
    pub fn spec(self) -> &'static KindSpec {
        // The registry lists the kinds in declaration order (checked by a test).
        &REGISTRY[self as usize]
    }

    /// The name rules use in `kinds:` and records carry in `file_kind`.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The kind with this name.
    pub fn from_name(name: &str) -> Option<FileKind> {
        REGISTRY.iter().find(|s| s.name == name).map(|s| s.kind)
    }

    /// Every kind, in registry order.
    pub fn all() -> impl Iterator<Item = FileKind> {
        REGISTRY.iter().map(|s| s.kind)
    }

    /// How its files are written.
    pub fn syntax(self) -> Syntax {
        self.spec().syntax
    }

    /// Whether its files are YAML streams. A syntax error in one is reported even when the literal
    /// prefilter shows no rule could match it: a broken file is never passed over silently.
    pub fn is_yaml(self) -> bool {
        self.syntax() == Syntax::Yaml
    }

    /// Whether its files can hold content of other kinds, so every rule may apply to them.
    pub fn embeds_others(self) -> bool {
        self.spec().embeds_others
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The names of every kind, joined for error messages.
pub fn known_names() -> String {
    REGISTRY.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
}

/// Which files are worth analysing: a cheap test of a file's text before it is parsed. The rules
/// build one from their literal prefilters (`rules::prefilter`); the caller hands it to the
/// collectors, which know nothing of rules.
pub trait Prefilter: Sync {
    /// Whether a file of `kind` with this text may produce a finding.
    fn may_match(&self, kind: FileKind, text: &str) -> bool;
}

/// What the path alone says a file is. `None`: not a file any rule reads (source code, images...),
/// or a YAML/JSON/TOML/conf file whose kind depends on its content (see [`classify_content`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathClass {
    /// Decided by the path.
    Kind(FileKind),
    /// YAML: decided per document by its content (`apiVersion`/`kind`, known top-level keys).
    Yaml,
    /// JSON: a Grafana dashboard, or nothing.
    Json,
    /// TOML: GitLab Runner or containerd config, or nothing.
    Toml,
    /// `*.conf`: fluent-bit, fluentd, a systemd drop-in, or nothing.
    Conf,
    /// A template whose inner name says nothing (`cluster.tpl`, `user-data.tmpl`): a script, a unit,
    /// cloud-init, YAML, JSON or TOML by its content, or nothing.
    Template,
    /// Not something the rules read.
    Ignore,
}

/// Suffixes of template files that render to the file named without them (outside Helm charts).
pub const TEMPLATE_SUFFIXES: &[&str] =
    &[".j2", ".jinja2", ".jinja", ".tpl", ".tmpl", ".tftpl", ".template", ".gotmpl", ".erb", ".mustache", ".in"];

/// Classifies by path. `rel` uses `/` separators; `chart_rel`, when a `Chart.yaml` is in an
/// ancestor directory, is the path relative to that chart root.
pub fn classify_path(rel: &str, chart_rel: Option<&str>) -> PathClass {
    // A template outside a Helm chart (Ansible roles, kubespray, Salt, Terraform, Chef, autoconf)
    // is the file it renders to: `kubelet.service.j2` is a systemd unit, `kubeadm.yaml.tpl` YAML.
    // When the inner name says nothing (`cluster.tpl`, `userdata.tmpl`) the content decides.
    // Templating that breaks parsing is handled by the repository scan (text mode), not here.
    let lower = rel.to_ascii_lowercase();
    if chart_rel.is_none()
        && let Some(suffix) = TEMPLATE_SUFFIXES.iter().find(|s| lower.ends_with(*s) && lower.len() > s.len())
    {
        let inner = &rel[..rel.len() - suffix.len()];
        let inner_name = inner.rsplit('/').next().unwrap_or(inner);
        return match classify_path(inner, None) {
            PathClass::Conf if !inner_name.contains('.') && !inner_name.is_empty() => PathClass::Template,
            PathClass::Ignore if *suffix == ".sls" => PathClass::Yaml,
            class => class,
        };
    }
    if lower.ends_with(".sls") {
        // Salt states and pillars: YAML (with Jinja), read like any YAML.
        return PathClass::Yaml;
    }
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    let chart = chart_rel.map(str::to_ascii_lowercase);
    let parts = PathParts { path: &lower, name, ext, chart: chart.as_deref() };
    if let Some(c) = parts.chart {
        // Inside a chart, only templates and values are read: not `Chart.yaml`, not `NOTES.txt`.
        let template = c.starts_with("templates/") && matches!(ext, "yaml" | "yml" | "tpl");
        if (c.starts_with("templates/") && !template)
            || name == "chart.yaml"
            || name == "chart.lock"
            || name == "values.schema.json"
        {
            return PathClass::Ignore;
        }
    }
    if let Some(s) = REGISTRY.iter().find(|s| s.path.is_some_and(|test| test(&parts))) {
        return PathClass::Kind(s.kind);
    }
    match ext {
        "yaml" | "yml" => PathClass::Yaml,
        "json" => PathClass::Json,
        "toml" => PathClass::Toml,
        "conf" | "cfg" => PathClass::Conf,
        "" => PathClass::Conf, // extensionless: a shebang script, or nothing (checked by content)
        _ => PathClass::Ignore,
    }
}

/// Decides an undecided [`PathClass`] from the text. Returns `None` when no rule reads such a file.
pub fn classify_content(class: PathClass, name: &str, text: &str) -> Option<FileKind> {
    let head: &str = match text.char_indices().nth(4096) {
        Some((i, _)) => &text[..i],
        None => text,
    };
    match class {
        PathClass::Kind(k) => return Some(k),
        PathClass::Ignore => return None,
        PathClass::Template => return template_content(name, head, text),
        PathClass::Conf if head.trim_start().starts_with("#cloud-config") => return Some(FileKind::CloudInit),
        PathClass::Conf if head.starts_with("#!") => {
            // A program: a shell script, or nothing any rule reads.
            let first = head.lines().next().unwrap_or("");
            return first.contains("sh").then_some(FileKind::Shell);
        }
        _ => {}
    }
    let peek = Peek { name, head, text };
    REGISTRY.iter().find(|s| s.content.is_some_and(|(c, test)| c == class && test(&peek))).map(|s| s.kind)
}

/// The kind of a template whose name says nothing, from its first 4 KiB.
fn template_content(name: &str, head: &str, text: &str) -> Option<FileKind> {
    let start = head.trim_start();
    if start.starts_with("MIME-Version:") || start.starts_with("Content-Type: multipart/") {
        return Some(FileKind::CloudInit);
    }
    if let Some(k) = classify_content(PathClass::Conf, name, text) {
        return Some(k);
    }
    let body = head.trim_start();
    if body.starts_with('{') {
        return classify_content(PathClass::Json, name, text);
    }
    if head.contains("[[runners]]") || head.contains("[plugins") {
        return classify_content(PathClass::Toml, name, text);
    }
    // YAML: most non-blank, non-comment, non-template lines are `key:` or `- item`.
    let mut lines = 0usize;
    let mut yamlish = 0usize;
    for l in head
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("{%") && !l.starts_with("%{"))
    {
        lines += 1;
        let key = l.split(':').next().unwrap_or("");
        if l.starts_with("- ") || (l.contains(':') && !key.contains(' ') && !key.is_empty()) {
            yamlish += 1;
        }
    }
    (lines > 0 && yamlish * 4 >= lines * 3).then_some(FileKind::K8sManifest)
}

/// What kind a body embedded in another file is (a heredoc, a cloud-init `write_files` entry, a
/// Terraform `user_data`): by its destination path, then by its content when the path says
/// nothing (`None`: no rule reads it).
pub fn classify_body(target: Option<&str>, text: &str) -> Option<FileKind> {
    if let Some(t) = target.map(str::trim).filter(|t| !t.is_empty() && !t.contains('$')) {
        let rel = t.trim_start_matches('/');
        let class = classify_path(rel, None);
        let name = rel.rsplit('/').next().unwrap_or(rel).to_ascii_lowercase();
        return match class {
            PathClass::Ignore => None,
            PathClass::Kind(k) => Some(k),
            // An extensionless file elsewhere (`/usr/local/bin/node-init`, `/etc/motd`): a script
            // when it has a shebang, else nothing any rule reads.
            PathClass::Conf if !name.contains('.') => sniff_body(text).filter(|k| *k == FileKind::Shell),
            class => classify_content(class, &name, text).or_else(|| sniff_body(text)),
        };
    }
    sniff_body(text)
}

/// An embedded body's kind from its content alone (the first 4 KiB), when nothing names it.
pub fn sniff_body(text: &str) -> Option<FileKind> {
    let head: &str = match text.char_indices().nth(4096) {
        Some((i, _)) => &text[..i],
        None => text,
    };
    let trimmed = head.trim_start();
    if trimmed.starts_with("#cloud-config")
        || trimmed.starts_with("#cloud-boothook")
        || (trimmed.starts_with("MIME-Version:") || trimmed.starts_with("Content-Type: multipart/"))
            && head.contains("boundary=")
    {
        return Some(FileKind::CloudInit);
    }
    if trimmed.starts_with("#!") {
        let first = trimmed.lines().next().unwrap_or("");
        return first.contains("sh").then_some(FileKind::Shell);
    }
    if head.contains("[Service]") || head.contains("[Unit]") || head.contains("[Install]") {
        return Some(FileKind::SystemdUnit);
    }
    if head.contains("apiVersion:") && head.contains("kind:") {
        return Some(FileKind::K8sManifest);
    }
    if trimmed.starts_with('{')
        && ["\"exec-opts\"", "\"log-driver\"", "\"registry-mirrors\"", "\"insecure-registries\"", "\"data-root\""]
            .iter()
            .any(|k| head.contains(k))
    {
        return Some(FileKind::DockerDaemonJson);
    }
    if head.contains("[plugins.") || head.contains("io.containerd.grpc") {
        return Some(FileKind::ContainerdConfig);
    }
    if head.lines().any(|l| {
        let l = l.trim_start().trim_start_matches("export ").trim_start();
        l.starts_with("KUBELET_") && l.contains('=') && l.contains("--")
    }) {
        return Some(FileKind::KubeletEnv);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kind of a file body from its path and its content, as the repository scan decides it.
    fn classify(path: &str, content: &str) -> Option<FileKind> {
        let name = path.rsplit('/').next().unwrap_or(path);
        classify_content(classify_path(path, None), name, content)
    }

    #[test]
    fn classifies_by_path() {
        assert_eq!(classify_path("ci/Jenkinsfile", None), PathClass::Kind(FileKind::Jenkinsfile));
        assert_eq!(classify_path("ci/Jenkinsfile.release", None), PathClass::Kind(FileKind::Jenkinsfile));
        assert_eq!(classify_path("vars/buildImage.groovy", None), PathClass::Kind(FileKind::Jenkinsfile));
        assert_eq!(
            classify_path("charts/a/templates/ds.yaml", Some("templates/ds.yaml")),
            PathClass::Kind(FileKind::HelmTemplate)
        );
        assert_eq!(classify_path("charts/a/values.yaml", Some("values.yaml")), PathClass::Kind(FileKind::HelmValues));
        assert_eq!(
            classify_path("charts/a/values-prod.yaml", Some("values-prod.yaml")),
            PathClass::Kind(FileKind::HelmValues)
        );
        assert_eq!(classify_path("charts/a/templates/NOTES.txt", Some("templates/NOTES.txt")), PathClass::Ignore);
        assert_eq!(classify_path("etc/default/kubelet", None), PathClass::Kind(FileKind::KubeletEnv));
        assert_eq!(classify_path("var/lib/kubelet/kubeadm-flags.env", None), PathClass::Kind(FileKind::KubeletEnv));
        assert_eq!(
            classify_path("etc/systemd/system/kubelet.service.d/10-kubeadm.conf", None),
            PathClass::Kind(FileKind::SystemdUnit)
        );
        assert_eq!(classify_path("etc/cron.d/docker-prune", None), PathClass::Kind(FileKind::Cron));
        assert_eq!(classify_path(".github/workflows/build.yml", None), PathClass::Kind(FileKind::GithubWorkflow));
        assert_eq!(classify_path("src/main.go", None), PathClass::Ignore);
        assert_eq!(classify_path("deploy/app.yaml", None), PathClass::Yaml);
    }

    #[test]
    fn jinja_templates_are_the_file_they_render_to() {
        let role = "roles/kubernetes/node/templates";
        assert_eq!(
            classify_path(&format!("{role}/kubelet.env.v1beta1.j2"), None),
            PathClass::Kind(FileKind::KubeletEnv)
        );
        assert_eq!(classify_path(&format!("{role}/kubelet.service.j2"), None), classify_path("kubelet.service", None));
        assert_eq!(classify_path("roles/kube-router/templates/kube-router.yml.j2", None), PathClass::Yaml);
        assert_eq!(classify_path("roles/etcd/templates/etcd.sh.jinja2", None), classify_path("etcd.sh", None));
        assert_eq!(classify_path("templates/notes.txt.j2", None), PathClass::Ignore);
    }

    #[test]
    fn templates_whatever_the_suffix() {
        // See: issue 12 (templated files whatever the suffix).
        assert_eq!(classify_path("roles/master/templates/kubeadm.yaml.tpl", None), PathClass::Yaml);
        assert_eq!(
            classify_path("modules/node/templates/kubelet.service.tmpl", None),
            PathClass::Kind(FileKind::SystemdUnit)
        );
        assert_eq!(classify_path("templates/kubelet.service.erb", None), PathClass::Kind(FileKind::SystemdUnit));
        assert_eq!(
            classify_path("cookbooks/k8s/templates/default/kubelet.env.erb", None),
            PathClass::Kind(FileKind::KubeletEnv)
        );
        assert_eq!(classify_path("files/daemon.json.template", None), PathClass::Kind(FileKind::DockerDaemonJson));
        assert_eq!(classify_path("deploy/node.sh.gotmpl", None), PathClass::Kind(FileKind::Shell));
        assert_eq!(classify_path("scripts/bootstrap.sh.in", None), PathClass::Kind(FileKind::Shell));
        assert_eq!(classify_path("etc/cron.d/prune.mustache", None), PathClass::Kind(FileKind::Cron));
        assert_eq!(classify_path("rke/cluster.tpl", None), PathClass::Template);
        assert_eq!(classify_path("rke/cluster.yml.tpl", None), PathClass::Yaml);
        assert_eq!(classify_path("Makefile.in", None), PathClass::Kind(FileKind::Makefile));
        assert_eq!(classify_path("docs/Makefile", None), PathClass::Kind(FileKind::Makefile));
        assert_eq!(classify_path("build/images.mk", None), PathClass::Kind(FileKind::Makefile));
        assert_eq!(classify_path("scripts/PrepareNode.ps1", None), PathClass::Kind(FileKind::PowerShell));
        assert_eq!(classify_path("config.h.in", None), PathClass::Ignore);
        assert_eq!(classify_path("salt/kubelet/init.sls", None), PathClass::Yaml);
        assert_eq!(classify_path("infra/user-data", None), PathClass::Kind(FileKind::CloudInit));
        assert_eq!(classify_path("infra/cloud-config.yaml", None), PathClass::Kind(FileKind::CloudInit));
        assert_eq!(classify_path("modules/node/templates/userdata.tpl", None), PathClass::Kind(FileKind::CloudInit));
        assert_eq!(
            classify_content(PathClass::Yaml, "node.yaml", "#cloud-config\nruncmd: []\n"),
            Some(FileKind::CloudInit)
        );
        assert_eq!(classify_path("pillar/k8s.sls.j2", None), PathClass::Yaml);
        // A chart's own helpers stay Helm templates.
        assert_eq!(
            classify_path("chart/templates/_helpers.tpl", Some("templates/_helpers.tpl")),
            PathClass::Kind(FileKind::HelmTemplate)
        );
        let rke = "nodes:\n  - address: 10.0.0.1\n    user: ubuntu\n    role: [controlplane, etcd]\n    docker_socket: /var/run/docker.sock\n{% for n in workers %}\n  - address: {{ n }}\n    role: [worker]\n{% endfor %}\nkubernetes_version: v1.20.15-rancher1-1\n";
        assert_eq!(classify_content(PathClass::Template, "cluster.tpl", rke), Some(FileKind::K8sManifest));
        assert_eq!(
            classify_content(PathClass::Template, "userdata.tpl", "#!/bin/bash\n/etc/eks/bootstrap.sh x\n"),
            Some(FileKind::Shell)
        );
        assert_eq!(
            classify_content(
                PathClass::Template,
                "makefile.in",
                "all:\n\tcc -o x x.c\n\ninstall: all\n\tcp x /usr/bin\n"
            ),
            None
        );
        assert_eq!(classify_content(PathClass::Template, "notes.tpl", "Dear {{ name }},\nthanks.\n"), None);
    }

    #[test]
    fn classifies_by_content() {
        assert_eq!(
            classify_content(PathClass::Conf, "fluent-bit.conf", "[SERVICE]\n  Flush 1\n[INPUT]\n  Name tail\n"),
            Some(FileKind::FluentBit)
        );
        // See: issue 12. Lower-case Fluent Bit sections still count; a unit's `[Service]` does not.
        assert_eq!(
            classify_content(PathClass::Conf, "td-agent-bit", "[service]\n    flush 5\n[input]\n    name tail\n"),
            Some(FileKind::FluentBit)
        );
        assert_eq!(
            classify_content(
                PathClass::Conf,
                "kubelet-override",
                "[Service]\nEnvironment=\"KUBELET_EXTRA_ARGS=--container-runtime=docker\"\n"
            ),
            Some(FileKind::SystemdUnit)
        );
        assert_eq!(
            classify_content(
                PathClass::Conf,
                "docker-override",
                "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H fd://\n"
            ),
            Some(FileKind::SystemdUnit)
        );
        assert_eq!(
            classify_content(PathClass::Conf, "fluent.conf", "<source>\n  @type tail\n</source>\n"),
            Some(FileKind::Fluentd)
        );
        assert_eq!(
            classify_content(PathClass::Conf, "bootstrap", "#!/usr/bin/env bash\nset -e\n"),
            Some(FileKind::Shell)
        );
        assert_eq!(classify_content(PathClass::Conf, "LICENSE", "Apache License\n"), None);
        assert_eq!(
            classify_content(PathClass::Toml, "config.toml", "concurrent = 4\n[[runners]]\n"),
            Some(FileKind::GitlabRunnerConfig)
        );
        assert_eq!(
            classify_content(PathClass::Toml, "config.toml", "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"]\n"),
            Some(FileKind::ContainerdConfig)
        );
        assert_eq!(classify_content(PathClass::Toml, "Cargo.toml", "[package]\nname = \"x\"\n"), None);
        assert_eq!(
            classify_content(PathClass::Json, "d.json", "{\"panels\": [{\"targets\": [{\"expr\": \"up\"}]}]}"),
            Some(FileKind::GrafanaDashboard)
        );
        assert_eq!(classify_content(PathClass::Json, "package.json", "{\"name\": \"x\"}"), None);
    }

    #[test]
    fn the_registry_holds_every_kind_once_with_a_unique_name() {
        let mut kinds: Vec<FileKind> = FileKind::all().collect();
        kinds.sort();
        kinds.dedup();
        assert_eq!(kinds.len(), REGISTRY.len(), "a kind is in the registry twice");
        let mut names: Vec<&str> = REGISTRY.iter().map(|s| s.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), REGISTRY.len(), "two kinds share a name");
        for (i, s) in REGISTRY.iter().enumerate() {
            assert_eq!(s.kind as usize, i, "REGISTRY must list the kinds in the order FileKind declares them");
            assert_eq!(s.kind.spec().name, s.name);
            assert_eq!(FileKind::from_name(s.name), Some(s.kind));
            if let Some((class, _)) = s.content {
                assert!(matches!(class, PathClass::Yaml | PathClass::Json | PathClass::Toml | PathClass::Conf));
            }
        }
    }

    #[test]
    fn embedded_bodies_are_classified_by_their_destination_path() {
        let unit = "[Unit]\nDescription=kubelet\n[Service]\nExecStart=/usr/bin/kubelet\n";
        assert_eq!(classify("/etc/systemd/system/kubelet.service", unit), Some(FileKind::SystemdUnit));
        assert_eq!(
            classify("/etc/systemd/system/kubelet.service.d/10-kubeadm.conf", unit),
            Some(FileKind::SystemdUnit)
        );
        assert_eq!(classify("/etc/docker/daemon.json", "{}"), Some(FileKind::DockerDaemonJson));
        assert_eq!(classify("/usr/local/bin/bootstrap", "#!/bin/bash\ndocker ps\n"), Some(FileKind::Shell));
        assert_eq!(classify("/usr/local/bin/tool", "#!/usr/bin/python3\n"), None);
        assert_eq!(
            classify("/etc/containerd/config.toml", "version = 2\n[plugins]\n"),
            Some(FileKind::ContainerdConfig)
        );
        assert_eq!(classify("/etc/motd", "hello\n"), None);
    }

    #[test]
    fn bodies_by_target_then_content() {
        let unit = "[Unit]\nRequires=docker.service\n";
        assert_eq!(classify_body(Some("/etc/systemd/system/kubelet.service"), unit), Some(FileKind::SystemdUnit));
        assert_eq!(classify_body(Some("/etc/default/kubelet"), "X=1\n"), Some(FileKind::KubeletEnv));
        assert_eq!(classify_body(Some("/var/lib/kubelet/kubeadm-flags.env"), ""), Some(FileKind::KubeletEnv));
        assert_eq!(classify_body(Some("/etc/docker/daemon.json"), "{}"), Some(FileKind::DockerDaemonJson));
        assert_eq!(classify_body(Some("/etc/cron.d/prune"), "* * * * * root docker ps\n"), Some(FileKind::Cron));
        assert_eq!(
            classify_body(Some("/tmp/kubeadm.yaml"), "apiVersion: kubeadm.k8s.io/v1beta3\n"),
            Some(FileKind::K8sManifest)
        );
        assert_eq!(classify_body(Some("/usr/local/bin/node-init"), "#!/bin/bash\ndocker ps\n"), Some(FileKind::Shell));
        assert_eq!(classify_body(Some("/etc/motd"), "Welcome\n"), None);
        assert_eq!(classify_body(Some("README.md"), unit), None);
        // A target the script computes: decided by the content.
        assert_eq!(classify_body(Some("$UNIT_DIR/kubelet.service"), unit), Some(FileKind::SystemdUnit));
        assert_eq!(classify_body(None, "KUBELET_EXTRA_ARGS=--network-plugin=cni\n"), Some(FileKind::KubeletEnv));
        assert_eq!(classify_body(None, "{\"log-driver\": \"json-file\"}"), Some(FileKind::DockerDaemonJson));
        assert_eq!(classify_body(None, "hello docker\n"), None);
    }
}
