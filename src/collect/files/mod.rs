//! File analysers: one text of a known kind in, records out. Shared by the repository walker, the
//! node scanner and the cluster collector (for configuration held in ConfigMaps), so a file is
//! checked the same way wherever it is found. Pure: the caller reads the file.

pub mod agent_config;
pub mod ansible;
pub mod cloud_init;
pub mod config;
pub mod declared;
pub mod dockerd;
pub mod embedded;
pub mod fluent;
pub mod helm;
pub mod helm_mounts;
pub mod jenkins;
pub mod jinja;
pub mod makefile;
pub mod manifest;
pub mod metrics;
pub mod node_config;
pub mod packages;
pub mod powershell;
pub mod render;
pub mod salt;
pub mod scripts;
pub mod shell_template;
pub mod source;
pub mod terraform;
pub mod text;

use crate::evidence::Evidence;
use crate::evidence::file_kind::FileKind;
use source::Source;

impl<'a> Source<'a> {
    /// A plain file, analysed by the analyser of its kind (and embedded content by theirs).
    pub fn file(path: &'a str, kind: FileKind, text: &'a str) -> Source<'a> {
        Source::with_dispatch(path, kind, text, analyze)
    }
}

/// Analyses one source with the analyser of its kind, appending records and gaps to `out`: the
/// analyser half of the file kind registry (`evidence::file_kind` holds the rest). Exhaustive, so
/// a new kind does not compile until it has an analyser here.
pub fn analyze(src: &Source<'_>, out: &mut Evidence) {
    use FileKind as K;
    match src.kind {
        K::K8sManifest
        | K::KubeadmConfig
        | K::KubeletConfig
        | K::PrometheusRule
        | K::InstallerKubekey
        | K::InstallerKubespray
        | K::InstallerRke
        | K::Promtail
        | K::Filebeat
        | K::CrictlConfig => manifest::analyze(src, out),
        K::HelmValues => helm::analyze_values(src, out),
        K::HelmTemplate => helm::analyze_template(src, None, out),
        K::Jenkinsfile => jenkins::analyze(src, out),
        K::Shell | K::Cron | K::SystemdUnit | K::KubeletEnv => scripts::analyze(src, out),
        K::PowerShell => powershell::analyze(src, out),
        K::Makefile => makefile::analyze(src, out),
        K::GitlabCi | K::GithubWorkflow => scripts::analyze_ci(src, out),
        K::GitlabRunnerConfig => config::analyze_toml(src, out),
        K::ContainerdConfig => node_config::analyze_containerd(src, out),
        K::DockerDaemonJson => config::analyze_daemon_json(src, out),
        K::KernelModules | K::Sysctl => node_config::analyze_node_settings(src, out),
        K::FluentBit => fluent::analyze_fluent_bit(src, out),
        K::Fluentd => fluent::analyze_fluentd(src, out),
        K::GrafanaDashboard => metrics::analyze_dashboard(src, out),
        K::CloudInit => cloud_init::analyze(src, out),
        K::Terraform => terraform::analyze(src, out),
        K::Packer => terraform::analyze_packer_json(src, out),
        // Not files: records of these come from the API and the node summary.
        K::Cluster | K::Node => {}
    }
}

/// The templates a file renders with values (Terraform `templatefile()`, Salt `file.managed` with
/// `template: jinja`, an Ansible role's `template:` tasks), read from its raw text: the repository collector renders each one.
pub fn template_uses(path: &str, kind: FileKind, text: &str) -> Vec<crate::evidence::template_use::TemplateUse> {
    match kind {
        FileKind::Terraform if text.contains("templatefile(") => terraform::template_uses(path, text),
        k if k.is_yaml() && path.ends_with(".sls") => jinja::salt_template_uses(path, text),
        k if k.is_yaml() && text.contains("template") && (path.contains("/tasks/") || path.starts_with("tasks/")) => {
            jinja::ansible_template_uses(path, text)
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod fuzz;
