//! Where a command runs: the context every `command` record carries, which rules use to decide
//! severity (issue 12, noise 1). A docker command matters for a Kubernetes upgrade only where it
//! reaches a node's Docker daemon — on the node itself, inside a pod, or in a CI job running on
//! Kubernetes agents. The same command in an image release script runs on a build machine or a
//! developer's laptop and does not.
//!
//! This module holds the plain data and the path-only guess; the repository collector refines the
//! guess with who calls a script (`collect::callgraph`). It reads no files.

use std::fmt;

/// Where a command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    /// On a cluster node: bootstrap and user-data scripts, systemd units, cron, installer roles.
    Node,
    /// Inside a pod (a container's command, probe or hook; a script an image runs).
    Workload,
    /// A CI job on Kubernetes agents (Jenkins Kubernetes agents, GitLab's Kubernetes executor,
    /// Tekton, Argo Workflows, Actions Runner Controller).
    CiOnKubernetes,
    /// A machine that builds and publishes images, not a cluster node: Docker Hub `hooks/`,
    /// `hack/`, release scripts, Makefile image targets, e2e on kind, Swarm deploy scripts,
    /// GitHub-hosted runners.
    BuildMachine,
    /// Nothing says where it runs.
    Unknown,
}

impl Context {
    /// Every context, in documentation order.
    pub const ALL: [Context; 5] =
        [Context::Node, Context::Workload, Context::CiOnKubernetes, Context::BuildMachine, Context::Unknown];

    /// The kebab-case name rules match on (`field: context`).
    pub fn name(self) -> &'static str {
        match self {
            Context::Node => "node",
            Context::Workload => "workload",
            Context::CiOnKubernetes => "ci-on-kubernetes",
            Context::BuildMachine => "build-machine",
            Context::Unknown => "unknown",
        }
    }

    /// The context of a name given by [`Context::name`].
    pub fn parse(name: &str) -> Option<Context> {
        Context::ALL.into_iter().find(|c| c.name() == name)
    }

    /// How strongly a caller's context outranks another caller's when a script is called from
    /// several places: a script any node unit runs is a node script.
    pub fn rank(self) -> u8 {
        match self {
            Context::Node => 4,
            Context::CiOnKubernetes => 3,
            Context::Workload => 2,
            Context::BuildMachine => 1,
            Context::Unknown => 0,
        }
    }
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Docker Hub automated-build hook names (`hooks/build`, `hooks/post_push`, ...).
const DOCKER_HUB_HOOKS: &[&str] =
    &["build", "push", "pre_build", "post_build", "pre_push", "post_push", "pre_test", "post_test", "post_checkout"];

/// Directory names that hold node provisioning.
const NODE_DIRS: &[&str] = &[
    "roles",
    "bootstrap",
    "user-data",
    "userdata",
    "cloud-init",
    "cloudinit",
    "provision",
    "provisioning",
    "node-bootstrap",
    "nodeup",
    "kubespray",
    "etc",
];

/// What a script's path alone says about where it runs (`None`: nothing).
pub fn from_path(rel: &str) -> Option<Context> {
    let lower = rel.to_ascii_lowercase();
    let parts: Vec<&str> = lower.split('/').collect();
    let (dirs, name) = parts.split_at(parts.len().saturating_sub(1));
    let name = name.first().copied().unwrap_or("");
    let stem = name.split('.').next().unwrap_or(name);
    if dirs.last() == Some(&"hooks") && DOCKER_HUB_HOOKS.contains(&stem) {
        return Some(Context::BuildMachine);
    }
    if dirs.iter().any(|d| matches!(*d, "hack" | "release" | "releasing")) {
        return Some(Context::BuildMachine);
    }
    let build_names = ["release", "publish", "build-image", "build_image", "push-image", "push_image", "docker-build"];
    if build_names.iter().any(|b| stem.starts_with(b) || stem.ends_with(b)) {
        return Some(Context::BuildMachine);
    }
    if dirs.iter().any(|d| NODE_DIRS.contains(d))
        || ["bootstrap", "user-data", "userdata", "cloud-init", "node-init", "setup-node", "install-node"]
            .iter()
            .any(|n| stem.contains(n))
    {
        return Some(Context::Node);
    }
    None
}

/// What a script's text says about where it runs, for scripts whose path said nothing: a
/// Swarm deployment or an end-to-end test on kind runs on a build or test machine.
pub fn from_text(text: &str) -> Option<Context> {
    let swarm = text.contains("docker stack deploy") || text.contains("docker swarm init");
    let kind = text.contains("kind create cluster") || text.contains("kind load docker-image");
    (swarm || kind).then_some(Context::BuildMachine)
}

/// Words that name Kubernetes node components in a machine's build or boot text.
const NODE_WORDS: &[&str] = &["kubelet", "kubeadm", "kubernetes", "k3s", "rke2", "/etc/eks/bootstrap.sh", "nodeup"];

/// Words that name CI runners set up on a machine.
const RUNNER_WORDS: &[&str] =
    &["gitlab-runner", "actions-runner", "buildkite-agent", "jenkins-agent", "agent.jar", "circleci-runner"];

/// What the text of a machine image template or a VM definition (Packer, Terraform user data)
/// says about the machine it builds: a node when it sets up Kubernetes node components, a build
/// machine when it sets up a CI runner and no Kubernetes component; `None` otherwise.
pub fn of_machine(text: &str) -> Option<Context> {
    let lower = text.to_ascii_lowercase();
    if NODE_WORDS.iter().any(|w| lower.contains(w)) {
        Some(Context::Node)
    } else if RUNNER_WORDS.iter().any(|w| lower.contains(w)) {
        Some(Context::BuildMachine)
    } else {
        None
    }
}

/// One script a file calls: the caller's context passes to the script (`collect::callgraph`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptCall {
    /// The calling file (repository-relative).
    pub from: String,
    /// The 1-based line of the call in `from`.
    pub line: u32,
    /// The script as the caller names it (`./hack/build.sh`, `/opt/bin/setup.sh`, `scripts/x`).
    pub target: String,
    /// The caller's context.
    pub context: Context,
    /// The caller is itself a script, whose own context may still change (`a.sh` runs `b.sh`).
    pub caller_is_script: bool,
}

/// Kinds of object whose pods run CI jobs: Tekton, Argo Workflows, Actions Runner Controller.
const CI_KINDS: &[&str] = &[
    "Task",
    "ClusterTask",
    "Pipeline",
    "PipelineRun",
    "TaskRun",
    "Workflow",
    "WorkflowTemplate",
    "ClusterWorkflowTemplate",
    "CronWorkflow",
    "RunnerDeployment",
    "RunnerReplicaSet",
    "RunnerSet",
    "Runner",
    "AutoscalingRunnerSet",
    "EphemeralRunnerSet",
    "EphemeralRunner",
];

/// Where the containers of an object run: CI jobs on Kubernetes for pipeline and runner kinds
/// (and Jenkins pod templates), a workload otherwise.
pub fn of_workload(kind: &str, file_kind: &str) -> Context {
    if CI_KINDS.contains(&kind) || file_kind == "jenkinsfile" || file_kind == "gitlab-runner-config" {
        Context::CiOnKubernetes
    } else {
        Context::Workload
    }
}

/// The script a command runs, when it runs one: `./x.sh`, `/opt/x.sh`, `bash x.sh`, `sh -e x`,
/// `source x.sh`. `program` is the base name the shell parser gives, `text` the command's source
/// text (where the path as written is found).
pub fn called_script(program: &str, args: &[String], text: &str) -> Option<String> {
    if matches!(program, "bash" | "sh" | "ash" | "dash" | "zsh" | "source" | ".") {
        if args.iter().any(|a| a == "-c") {
            return None;
        }
        let script = args.iter().find(|a| !a.starts_with('-'))?;
        return looks_like_script(script).then(|| script.clone());
    }
    let written = text
        .split_whitespace()
        .map(|w| w.trim_matches(|c| c == '"' || c == '\''))
        .find(|w| *w == program || w.ends_with(&format!("/{program}")))?;
    (written.contains('/') || written.ends_with(".sh")).then(|| written.to_string()).filter(|p| looks_like_script(p))
}

fn looks_like_script(p: &str) -> bool {
    !p.is_empty()
        && !p.contains('$')
        && !p.contains(' ')
        && (p.ends_with(".sh") || p.ends_with(".bash") || p.contains('/'))
        && !p.starts_with("/usr/bin/")
        && !p.starts_with("/bin/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_say_where_a_script_runs() {
        assert_eq!(from_path("3.19/hooks/post_push"), Some(Context::BuildMachine));
        assert_eq!(from_path("hooks/build"), Some(Context::BuildMachine));
        assert_eq!(from_path("git/hooks/pre-commit"), None);
        assert_eq!(from_path("hack/build-images.sh"), Some(Context::BuildMachine));
        assert_eq!(from_path("scripts/release.sh"), Some(Context::BuildMachine));
        assert_eq!(from_path("roles/node/files/prune.sh"), Some(Context::Node));
        assert_eq!(from_path("scripts/bootstrap-worker.sh"), Some(Context::Node));
        assert_eq!(from_path("scripts/cleanup.sh"), None);
        assert_eq!(from_text("docker stack deploy -c stack.yml app\n"), Some(Context::BuildMachine));
        assert_eq!(of_machine("apt-get install -y docker-ce kubelet=1.23.9-00"), Some(Context::Node));
        assert_eq!(of_machine("apt-get install -y docker-ce gitlab-runner"), Some(Context::BuildMachine));
        assert_eq!(of_machine("apt-get install -y docker-ce"), None);
    }

    #[test]
    fn calls_of_scripts() {
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(called_script("build.sh", &[], "./hack/build.sh"), Some("./hack/build.sh".into()));
        assert_eq!(
            called_script("bash", &a(&["-e", "scripts/x.sh"]), "bash -e scripts/x.sh"),
            Some("scripts/x.sh".into())
        );
        assert_eq!(called_script("sh", &a(&["-c", "docker ps"]), "sh -c 'docker ps'"), None);
        assert_eq!(called_script("docker", &a(&["ps"]), "/usr/bin/docker ps"), None);
        assert_eq!(called_script("make", &a(&["images"]), "make images"), None);
        assert_eq!(
            called_script("node-setup.sh", &[], "sudo /opt/bin/node-setup.sh --join"),
            Some("/opt/bin/node-setup.sh".into())
        );
    }

    #[test]
    fn names_round_trip() {
        for c in Context::ALL {
            assert_eq!(Context::parse(c.name()), Some(c));
        }
    }
}
