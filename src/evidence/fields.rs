//! The record fields rules can test and quote, per subject: one registry, read by
//! `rules::compile` (a rule's `field:` or `differs_from:` that its subject's records never carry is
//! a load error, with the nearest known field) and held against `docs/rules.md` by
//! `tests/it/rules_doc.rs` (each subject's field table lists exactly these names).
//!
//! A collector that sets a new field adds it here, with the subjects whose records carry it; the
//! doc line is the short form of the `docs/rules.md` row. Plain data: no behaviour.

use super::Subject;

/// The value type of a field (see `Value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// One string.
    Str,
    /// Several strings; a test matches when it matches any of them.
    List,
    /// `true` / `false`.
    Bool,
    /// Tested by a built-in rule, but no collector sets it today.
    Unset,
}

/// One field records may carry.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The name rules use (`field: host_path`, `{host_path}`).
    pub name: &'static str,
    /// Its value type.
    pub ty: FieldType,
    /// The subjects whose records may carry it.
    pub subjects: &'static [Subject],
    /// What it holds.
    pub doc: &'static str,
}

/// The fields records of a subject may carry, in documentation order (the fields every record
/// has first).
pub fn of(subject: Subject) -> impl Iterator<Item = &'static Field> {
    FIELDS.iter().filter(move |f| f.subjects.contains(&subject))
}

/// Whether records of `subject` may carry a field `name`.
pub fn is_known(subject: Subject, name: &str) -> bool {
    of(subject).any(|f| f.name == name)
}

/// Every field, grouped as `docs/rules.md` lists them: the fields of every record, the pod fields,
/// then each subject's own. A name may appear more than once, with different subjects and meanings
/// (`name` of a node, of a kubelet flag, of a pod's object).
pub static FIELDS: &[Field] = &[
    Field {
        name: "file_kind",
        ty: FieldType::Str,
        subjects: &Subject::ALL,
        doc: "The kind of what produced the record; `kinds:` tests it.",
    },
    Field {
        name: "written_to",
        ty: FieldType::Str,
        subjects: &Subject::ALL,
        doc: "For a body another file writes (a heredoc, see Files written by other files): the path it is written to, when set.",
    },
    Field {
        name: "provenance",
        ty: FieldType::Str,
        subjects: &Subject::ALL,
        doc: "How the evidence got here, when it did not come straight from the file's text: `written to /etc/systemd/system/kubelet.service by the heredoc at line 2`, `CONTAINER_RUNTIME=docker set at line 1`. Appended to every finding's message in parentheses.",
    },
    Field {
        name: "workload",
        ty: FieldType::Str,
        subjects: &[Subject::Volume, Subject::Container, Subject::Setting, Subject::Command],
        doc: "The owning object as `Kind/namespace/name` (`DaemonSet/monitoring/datadog-agent`); in the cluster the top of the owner chain; `(unnamed, in PATH)` for nameless pod YAML; `Jenkins podTemplate in PATH`; `GitLab Runner NAME`; `template PATH (define NAME)` for Helm helpers.",
    },
    Field {
        name: "workload_kind",
        ty: FieldType::Str,
        subjects: &[Subject::Volume, Subject::Container, Subject::Setting, Subject::Command],
        doc: "`Deployment`, `DaemonSet`, `Pod`, ...; `podTemplate` (Jenkins), `gitlab-runner`.",
    },
    Field {
        name: "name",
        ty: FieldType::Str,
        subjects: &[Subject::Volume, Subject::Container, Subject::Setting, Subject::Command],
        doc: "The object's name (runner: its name); not set for Jenkins `podTemplate(...)`.",
    },
    Field {
        name: "namespace",
        ty: FieldType::Str,
        subjects: &[Subject::Volume, Subject::Container, Subject::Setting, Subject::Command],
        doc: "The namespace, when set.",
    },
    Field {
        name: "images",
        ty: FieldType::List,
        subjects: &[Subject::Volume, Subject::Container, Subject::Setting, Subject::Command],
        doc: "Images of all containers of the pod.",
    },
    Field {
        name: "pod_privileged",
        ty: FieldType::Bool,
        subjects: &[Subject::Volume, Subject::Container, Subject::Setting, Subject::Command],
        doc: "Some container is privileged.",
    },
    Field {
        name: "agent_config",
        ty: FieldType::Str,
        subjects: &[Subject::Container],
        doc: "`cri` on a Fluent Bit or Fluentd container whose configuration in the same chart or file parses CRI logs (a `cri` parser) with no Docker parser.",
    },
    Field {
        name: "pod_dind",
        ty: FieldType::Bool,
        subjects: &[Subject::Volume, Subject::Container, Subject::Setting, Subject::Command],
        doc: "Some container runs Docker-in-Docker.",
    },
    Field {
        name: "pod_docker_cli",
        ty: FieldType::Bool,
        subjects: &[Subject::Volume, Subject::Container, Subject::Setting, Subject::Command],
        doc: "Some container runs the docker CLI (command, args, probes, hooks); Jenkins `podTemplate(...)`: some step of the file runs it.",
    },
    Field {
        name: "pod_mounts_docker_socket",
        ty: FieldType::Bool,
        subjects: &[Subject::Volume, Subject::Container, Subject::Setting, Subject::Command],
        doc: "Some hostPath volume is a Docker Engine socket (`*docker.sock`, not `dockershim.sock` or `cri-dockerd.sock`).",
    },
    Field {
        name: "pod_host_paths",
        ty: FieldType::List,
        subjects: &[Subject::Volume, Subject::Container, Subject::Setting, Subject::Command],
        doc: "All hostPath volumes, normalised.",
    },
    Field {
        name: "pod_docker_host",
        ty: FieldType::Str,
        subjects: &[Subject::Volume, Subject::Container, Subject::Setting, Subject::Command],
        doc: "The first `DOCKER_HOST` value a container sets, when any does.",
    },
    Field {
        name: "static_pod",
        ty: FieldType::Bool,
        subjects: &[Subject::Volume, Subject::Container, Subject::Setting, Subject::Command],
        doc: "`true` for mirror (static) pods read from the cluster; otherwise not set.",
    },
    Field {
        name: "agent_kubernetes",
        ty: FieldType::Bool,
        subjects: &[Subject::Volume, Subject::Container],
        doc: "Jenkins `podTemplate(...)` records only: the file runs on a Kubernetes agent.",
    },
    Field {
        name: "host_path",
        ty: FieldType::Str,
        subjects: &[Subject::Volume],
        doc: "The host path normalised: `//` collapsed, trailing `/` dropped, `/var/run` spelled `/run` (`/run/docker.sock`).",
    },
    Field { name: "raw_path", ty: FieldType::Str, subjects: &[Subject::Volume], doc: "The host path as written." },
    Field {
        name: "volume",
        ty: FieldType::Str,
        subjects: &[Subject::Volume],
        doc: "The volume name (`hostPathVolume` for Jenkins, the `name` of a runner volume).",
    },
    Field {
        name: "type",
        ty: FieldType::Str,
        subjects: &[Subject::Volume],
        doc: "The hostPath `type` (`Socket`, `DirectoryOrCreate`, ...), when set.",
    },
    Field {
        name: "mounted_by",
        ty: FieldType::List,
        subjects: &[Subject::Volume],
        doc: "Names of the containers that mount it (Jenkins: every container of the template; runner, text mode: empty).",
    },
    Field {
        name: "mount_paths",
        ty: FieldType::List,
        subjects: &[Subject::Volume],
        doc: "Where it is mounted in those containers.",
    },
    Field {
        name: "node_dockershim_is_symlink",
        ty: FieldType::Unset,
        subjects: &[Subject::Volume],
        doc: "Tested by the built-in `hostpath-dockershim-socket`, but no collector sets it today, so that `severity_when` never applies.",
    },
    Field {
        name: "container",
        ty: FieldType::Str,
        subjects: &[Subject::Container, Subject::Command],
        doc: "The container name.",
    },
    Field {
        name: "image",
        ty: FieldType::Str,
        subjects: &[Subject::Container, Subject::Command],
        doc: "The image reference as written (in Helm templates with unresolved parts replaced by `HELM-TEMPLATE`).",
    },
    Field {
        name: "image_name",
        ty: FieldType::Str,
        subjects: &[Subject::Container],
        doc: "The image without tag and digest, with `docker.io/` and `library/` removed (`nginx`, `registry.acme.example:5000/shop/api`), when `image` is not empty.",
    },
    Field {
        name: "image_tag",
        ty: FieldType::Str,
        subjects: &[Subject::Container],
        doc: "The tag, when there is one (`7.21.1`; digests are dropped).",
    },
    Field {
        name: "privileged",
        ty: FieldType::Bool,
        subjects: &[Subject::Container, Subject::Command],
        doc: "`securityContext.privileged`.",
    },
    Field {
        name: "dind",
        ty: FieldType::Bool,
        subjects: &[Subject::Container],
        doc: "Runs its own Docker daemon: an image named `docker` or `*/docker` with a tag containing `dind`, or named `*/dind`; in pod specs also a command `dockerd` / `dockerd-entrypoint.sh`, in Jenkins templates also an image named `*docker-dind`.",
    },
    Field {
        name: "mounts_docker_socket",
        ty: FieldType::Bool,
        subjects: &[Subject::Container, Subject::Command],
        doc: "Mounts a hostPath Docker Engine socket (Jenkins: the template has one).",
    },
    Field {
        name: "docker_host",
        ty: FieldType::Str,
        subjects: &[Subject::Container, Subject::Command],
        doc: "Its `DOCKER_HOST` env value (`(set from another source)` for `valueFrom`), when set; not for Jenkins templates.",
    },
    Field {
        name: "context",
        ty: FieldType::Str,
        subjects: &[Subject::Container],
        doc: "`workload`, or `ci-on-kubernetes` for Tekton, Argo Workflows and Actions Runner Controller kinds and Jenkins pod templates.",
    },
    Field {
        name: "scripts",
        ty: FieldType::List,
        subjects: &[Subject::Container],
        doc: "Scripts its command, args, probes or hooks run (`/scripts/entrypoint.sh`), which take its context.",
    },
    Field {
        name: "name",
        ty: FieldType::Str,
        subjects: &[Subject::Node],
        doc: "The node name (node scan: `--node-name`, else `/etc/hostname`, else the root path).",
    },
    Field {
        name: "kubelet_version",
        ty: FieldType::Str,
        subjects: &[Subject::Node],
        doc: "Cluster: `status.nodeInfo.kubeletVersion` (`v1.23.17`).",
    },
    Field {
        name: "runtime",
        ty: FieldType::Str,
        subjects: &[Subject::Node],
        doc: "Cluster: `containerRuntimeVersion` (`docker://20.10.21`).",
    },
    Field {
        name: "runtime_name",
        ty: FieldType::Str,
        subjects: &[Subject::Node],
        doc: "Cluster: `runtime` split at `://` (`docker`, `20.10.21`); empty when it has no `://`.",
    },
    Field {
        name: "runtime_version",
        ty: FieldType::Str,
        subjects: &[Subject::Node],
        doc: "Cluster: `runtime` split at `://` (`docker`, `20.10.21`); empty when it has no `://`.",
    },
    Field {
        name: "os_image",
        ty: FieldType::Str,
        subjects: &[Subject::Node],
        doc: "Cluster: `status.nodeInfo.osImage`.",
    },
    Field {
        name: "cri_socket",
        ty: FieldType::Str,
        subjects: &[Subject::Node],
        doc: "Cluster: the `kubeadm.alpha.kubernetes.io/cri-socket` annotation, when set.",
    },
    Field {
        name: "pool",
        ty: FieldType::Str,
        subjects: &[Subject::Node],
        doc: "Cluster: the node pool from a well-known label, when found.",
    },
    Field {
        name: "kubelet_cgroup_driver",
        ty: FieldType::Str,
        subjects: &[Subject::Node],
        doc: "Node scan: `cgroupDriver` of the kubelet config or `--cgroup-driver`, when set.",
    },
    Field {
        name: "kubelet_pod_infra_image",
        ty: FieldType::Str,
        subjects: &[Subject::Node],
        doc: "Node scan: `--pod-infra-container-image`, when set.",
    },
    Field {
        name: "containerd_cgroup_driver",
        ty: FieldType::Str,
        subjects: &[Subject::Node],
        doc: "Node scan, when a containerd config was read: `systemd` if `SystemdCgroup = true`, else `cgroupfs`.",
    },
    Field {
        name: "containerd_sandbox_image",
        ty: FieldType::Str,
        subjects: &[Subject::Node],
        doc: "Node scan: containerd's `sandbox_image` / `pinned_images.sandbox`, when set.",
    },
    Field {
        name: "containerd_cri_disabled",
        ty: FieldType::Bool,
        subjects: &[Subject::Node],
        doc: "Node scan: `true` when `disabled_plugins` holds `cri`; otherwise not set (test with `not` or `exists`, not `equals: \"false\"`).",
    },
    Field {
        name: "switch_pending",
        ty: FieldType::Bool,
        subjects: &[Subject::Node],
        doc: "Node scan: the kubelet still uses Docker (a dockershim or docker.sock endpoint that is not a symlink to another runtime, `--container-runtime=docker`, or a `daemon.json` without any runtime endpoint).",
    },
    Field {
        name: "modules",
        ty: FieldType::List,
        subjects: &[Subject::Node],
        doc: "Node scan: modules from `modules-load.d`.",
    },
    Field {
        name: "missing_prerequisites",
        ty: FieldType::List,
        subjects: &[Subject::Node],
        doc: "Node scan: which of `overlay`, `br_netfilter`, `net.bridge.bridge-nf-call-iptables=1` and `net.ipv4.ip_forward=1` the files do not persist.",
    },
    Field {
        name: "sysctls",
        ty: FieldType::List,
        subjects: &[Subject::Node],
        doc: "Node scan: `name=value` from the sysctl files.",
    },
    Field {
        name: "name",
        ty: FieldType::Str,
        subjects: &[Subject::KubeletFlag],
        doc: "The flag with its dashes (`--network-plugin`).",
    },
    Field {
        name: "value",
        ty: FieldType::Str,
        subjects: &[Subject::KubeletFlag],
        doc: "Its value, unquoted; `true` for a flag without one.",
    },
    Field {
        name: "from",
        ty: FieldType::Str,
        subjects: &[Subject::KubeletFlag],
        doc: "`command line`, the variable name (`KUBELET_EXTRA_ARGS`), `kubeadm-flags.env`, `kubeletExtraArgs`, or `config` (KubeletConfiguration).",
    },
    Field {
        name: "variable",
        ty: FieldType::Str,
        subjects: &[Subject::KubeletFlag],
        doc: "Env files and unit `Environment=`: the variable that holds it.",
    },
    Field {
        name: "endpoint_resolves_to",
        ty: FieldType::Str,
        subjects: &[Subject::KubeletFlag],
        doc: "`node` scans, `--container-runtime-endpoint` only: the path the socket symlink leads to, when it is a symlink (`/run/containerd/containerd.sock`).",
    },
    Field {
        name: "endpoint_note",
        ty: FieldType::Str,
        subjects: &[Subject::KubeletFlag],
        doc: "With `endpoint_resolves_to`: ` (on this node it is a symlink to PATH)`, for messages. Missing otherwise, so `{endpoint_note}` then renders as `?`.",
    },
    Field {
        name: "name",
        ty: FieldType::Str,
        subjects: &[Subject::FeatureGate],
        doc: "The gate (`DynamicKubeletConfig`).",
    },
    Field {
        name: "value",
        ty: FieldType::Str,
        subjects: &[Subject::FeatureGate],
        doc: "`true` / `false` as written (`true` when `--feature-gates=A` gives no value).",
    },
    Field {
        name: "component",
        ty: FieldType::Str,
        subjects: &[Subject::FeatureGate],
        doc: "`kubelet` (a config file or live configz), `kubeadm` (kubeadm's own gates: ClusterConfiguration `featureGates`, kubespray `kubeadm_feature_gates`), `apiServer`, `controllerManager`, `scheduler`, `kube-proxy`, `kubespray` (`kube_feature_gates`, every component), kOps `kubelet`, `masterKubelet`, `kubeAPIServer`, `kubeControllerManager`, `kubeScheduler`, `kubeProxy`.",
    },
    Field {
        name: "from",
        ty: FieldType::Str,
        subjects: &[Subject::FeatureGate],
        doc: "Gates from kubelet flags only: as the flag's `from`.",
    },
    Field {
        name: "key",
        ty: FieldType::Str,
        subjects: &[Subject::Setting],
        doc: "Which setting — see the next table.",
    },
    Field { name: "value", ty: FieldType::Str, subjects: &[Subject::Setting], doc: "Its value." },
    Field { name: "from", ty: FieldType::Str, subjects: &[Subject::Setting], doc: "`cri-socket`: `command line`." },
    Field {
        name: "unit",
        ty: FieldType::Str,
        subjects: &[Subject::Setting],
        doc: "`unit.*`: the unit the file configures.",
    },
    Field {
        name: "directive",
        ty: FieldType::Str,
        subjects: &[Subject::Setting],
        doc: "`unit.*`: the directive as written in the unit (`After`, `Requires`, ...).",
    },
    Field {
        name: "job",
        ty: FieldType::Str,
        subjects: &[Subject::Setting],
        doc: "`services`: the GitLab job, when not global.",
    },
    Field {
        name: "container",
        ty: FieldType::Str,
        subjects: &[Subject::Setting],
        doc: "`env.DOCKER_HOST`: the container that sets it, its image and mount paths (text-mode Helm: `image` empty).",
    },
    Field {
        name: "image",
        ty: FieldType::Str,
        subjects: &[Subject::Setting],
        doc: "`env.DOCKER_HOST`: the container that sets it, its image and mount paths (text-mode Helm: `image` empty).",
    },
    Field {
        name: "mount_paths",
        ty: FieldType::List,
        subjects: &[Subject::Setting],
        doc: "`env.DOCKER_HOST`: the container that sets it, its image and mount paths (text-mode Helm: `image` empty).",
    },
    Field {
        name: "socket_source",
        ty: FieldType::Str,
        subjects: &[Subject::Setting],
        doc: "`env.DOCKER_HOST` from a pod spec: the volume type of the container's mount holding the unix socket path (`hostPath`, `emptyDir`, ...), `none` when no mount holds it, `not-unix` when the value is not `unix://...`.",
    },
    Field {
        name: "source",
        ty: FieldType::Str,
        subjects: &[Subject::Command],
        doc: "Where it runs: `script` (shell files, Ansible tasks), `cron`, `systemd`, `gitlab-ci`, `github-actions`, `jenkins`, `container`.",
    },
    Field {
        name: "program",
        ty: FieldType::Str,
        subjects: &[Subject::Command],
        doc: "The program's base name (`sudo -E /usr/bin/docker ps` → `docker`).",
    },
    Field {
        name: "subcommand",
        ty: FieldType::Str,
        subjects: &[Subject::Command],
        doc: "For `docker`/`docker-compose`: the first word after the global flags (`-H X`, `--context X`, ... skipped) — `build`, `push`, `compose`; for other programs: the first argument not starting with `-` (may be a `$VAR`).",
    },
    Field {
        name: "args",
        ty: FieldType::Str,
        subjects: &[Subject::Command],
        doc: "The arguments joined by spaces, quotes removed, `$VAR` kept as written.",
    },
    Field {
        name: "text",
        ty: FieldType::Str,
        subjects: &[Subject::Command],
        doc: "The command as written on its first line (redirections included), at most 200 characters.",
    },
    Field {
        name: "unit",
        ty: FieldType::Str,
        subjects: &[Subject::Command],
        doc: "`source: systemd`: the unit (`kubelet.service`; a drop-in's directory names it).",
    },
    Field {
        name: "job",
        ty: FieldType::Str,
        subjects: &[Subject::Command],
        doc: "CI: the GitLab job (`(default)` for global `before_script`/`after_script`) or the GitHub Actions job id.",
    },
    Field {
        name: "runner",
        ty: FieldType::Str,
        subjects: &[Subject::Command],
        doc: "GitLab CI: `kubernetes` when the job's tags mention `k8s` or `kubernetes`, else `unknown`; GitHub Actions: `hosted` or `self-hosted` from `runs-on`.",
    },
    Field {
        name: "dind_service",
        ty: FieldType::Bool,
        subjects: &[Subject::Command, Subject::Line],
        doc: "GitLab CI: the job (or the default) has a `docker:*dind*` service; Jenkins: the pipeline's pod runs a `docker:*dind*` container and mounts neither the host's Docker socket nor `/var/run`.",
    },
    Field {
        name: "agent_kubernetes",
        ty: FieldType::Bool,
        subjects: &[Subject::Command],
        doc: "Jenkins: the pipeline runs on a Kubernetes agent (`podTemplate(`, `agent { kubernetes`).",
    },
    Field {
        name: "context",
        ty: FieldType::Str,
        subjects: &[Subject::Command],
        doc: "Where the command runs (see Contexts): `node`, `workload`, `ci-on-kubernetes`, `build-machine` or `unknown`.",
    },
    Field {
        name: "called_from",
        ty: FieldType::Str,
        subjects: &[Subject::Command],
        doc: "`source: script`: the `path:line` of the call that decided the script's context (a unit's `ExecStart`, a cron line, a Jenkins `sh` step, a Dockerfile `ENTRYPOINT`, a pod command, another script), when one did.",
    },
    Field {
        name: "docker_guard",
        ty: FieldType::Str,
        subjects: &[Subject::Command],
        doc: "`source: script`: the `path:line` of the test that lets the command run only where Docker is present: it is in the `then` branch of an `if` whose condition looks Docker up (`pgrep dockerd`, `command -v docker`, `systemctl is-active docker`, `[ -S /var/run/docker.sock ]`, `docker info`), or it is that `docker info`/`docker version` probe. Absent otherwise (and for negated or empty-string tests).",
    },
    Field {
        name: "docker_daemon",
        ty: FieldType::Str,
        subjects: &[Subject::Command],
        doc: "`source: container`: the Docker daemon the command talks to — `dind` (`-H`/`DOCKER_HOST` at `tcp://localhost`, `127.0.0.1`, `docker` or `dind`, or a unix socket on an emptyDir shared with a dind sidecar), `own` (the container is the dind daemon: its own probes and hooks), `node` (a mounted host socket), `unknown`.",
    },
    Field {
        name: "collector",
        ty: FieldType::Str,
        subjects: &[Subject::Line],
        doc: "`fluent-bit`, `fluentd`, `promtail`, `filebeat`.",
    },
    Field {
        name: "section",
        ty: FieldType::Str,
        subjects: &[Subject::Line],
        doc: "fluent-bit: the section in upper case (`INPUT`, `FILTER`, `PARSER`, ...); fluentd: the directive path in lower case (`source`, `source/parse`, `match/buffer`); promtail: `scrape_configs[JOB].pipeline_stages`, `.static_configs`, `.relabel_configs` (Helm values: the dotted path); filebeat: `filebeat.inputs[N]`, `filebeat.autodiscover[N]`.",
    },
    Field {
        name: "key",
        ty: FieldType::Str,
        subjects: &[Subject::Line],
        doc: "The key as written (fluent-bit `Parser`, fluentd `@type`, a promtail stage name or `__path__`, filebeat `type`, `path`, `containers.ids`).",
    },
    Field {
        name: "value",
        ty: FieldType::Str,
        subjects: &[Subject::Line],
        doc: "The value (fluentd: quotes removed, and for `#{ENV['X'] || 'd'}` the default `d`; promtail stages: their config as JSON, `{}` when empty).",
    },
    Field {
        name: "plugin",
        ty: FieldType::Str,
        subjects: &[Subject::Line],
        doc: "fluent-bit: the section's `Name`, lower case (`tail`), empty when none.",
    },
    Field {
        name: "argument",
        ty: FieldType::Str,
        subjects: &[Subject::Line],
        doc: "fluentd: the innermost directive's argument (`kubernetes.**` of `<match kubernetes.**>`), when not empty.",
    },
    Field {
        name: "env",
        ty: FieldType::Str,
        subjects: &[Subject::Line],
        doc: "fluentd: the environment variable that overrides `value`, when written as above.",
    },
    Field {
        name: "source_path",
        ty: FieldType::Str,
        subjects: &[Subject::Line],
        doc: "fluentd, inside a `<source>`: that source's `path` and `@type` (empty when it sets none).",
    },
    Field {
        name: "source_type",
        ty: FieldType::Str,
        subjects: &[Subject::Line],
        doc: "fluentd, inside a `<source>`: that source's `path` and `@type` (empty when it sets none).",
    },
    Field {
        name: "construct",
        ty: FieldType::Str,
        subjects: &[Subject::Line],
        doc: "Jenkins: `docker.build`, `docker.withRegistry`, `docker.withServer`, `docker.withTool`, `docker.image`, `docker.image(...).inside`, `docker.image(...).withRun`, `docker.image(...).run`, `agent { docker }`, `agent { dockerfile }`.",
    },
    Field {
        name: "agent_kubernetes",
        ty: FieldType::Bool,
        subjects: &[Subject::Line],
        doc: "Jenkins: the pipeline runs on a Kubernetes agent.",
    },
    Field {
        name: "name",
        ty: FieldType::Str,
        subjects: &[Subject::Metric],
        doc: "The metric, with a `_bucket`, `_sum` or `_count` suffix removed.",
    },
    Field {
        name: "written_name",
        ty: FieldType::Str,
        subjects: &[Subject::Metric],
        doc: "The name as written, when a suffix was removed.",
    },
    Field { name: "expr", ty: FieldType::Str, subjects: &[Subject::Metric], doc: "The whole query, on one line." },
    Field {
        name: "context",
        ty: FieldType::Str,
        subjects: &[Subject::Metric],
        doc: "`alert NAME in group G`, `recording rule NAME in group G`, `rule`, `panel \"TITLE\"`, `variable \"NAME\"`, `dashboard`.",
    },
    Field {
        name: "shape",
        ty: FieldType::Str,
        subjects: &[Subject::File],
        doc: "`rke1-cluster` (the only shape today).",
    },
    Field {
        name: "kubernetes_version",
        ty: FieldType::Str,
        subjects: &[Subject::File],
        doc: "The file's `kubernetes_version`, when set.",
    },
];

#[cfg(test)]
mod tests {
    use super::{FIELDS, Subject, is_known, of};

    #[test]
    fn every_subject_has_fields_and_names_are_unique_per_subject() {
        for s in Subject::ALL {
            let names: Vec<&str> = of(s).map(|f| f.name).collect();
            assert!(names.len() > 1, "{s}: no fields of its own");
            let mut unique = names.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), names.len(), "{s}: a field is listed twice: {names:?}");
        }
        assert!(FIELDS.iter().all(|f| !f.doc.trim().is_empty() && !f.subjects.is_empty()));
        assert!(is_known(Subject::Volume, "host_path") && is_known(Subject::Volume, "pod_privileged"));
        assert!(!is_known(Subject::Node, "host_path"));
    }
}
