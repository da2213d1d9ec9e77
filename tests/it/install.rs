//! Installing and running the tool the ways Kubernetes people do (issue 15): as a kubectl plugin,
//! from the container image that `deploy/job.yaml` runs, through krew and pre-commit, with shell
//! completions and a man page. These tests check that the shipped files agree with the command
//! line they drive; the image build itself is not run here.

use std::path::Path;

use clap::Parser;
use dockershim_audit::cli::Cli;
use serde_json::Value;

use crate::common::bin;

fn repo_file(p: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(p)).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).expect("valid YAML")
}

/// The args of the first container of a Job or Pod manifest.
fn container_args(manifest: &Value) -> Vec<String> {
    manifest["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .expect("container args")
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn job_manifest_args_are_accepted_by_the_cli() {
    let job = yaml(&repo_file("deploy/job.yaml"));
    let args = container_args(&job);
    let parsed = Cli::try_parse_from(std::iter::once("dockershim-audit".to_string()).chain(args.clone()));
    assert!(parsed.is_ok(), "deploy/job.yaml args {args:?} rejected: {}", parsed.unwrap_err());
    // The Job's result is collected from its log: a machine format on standard output, no file.
    assert!(args.iter().any(|a| a == "--format=json"), "{args:?}");
    assert!(!args.iter().any(|a| a == "-o" || a.starts_with("--output")), "{args:?}");
    assert!(!args.iter().any(|a| a.starts_with("--node-files")), "the Job must stay read-only: {args:?}");
}

#[test]
fn containerfile_builds_the_binary_the_job_runs() {
    let containerfile = repo_file("Containerfile");
    let job = yaml(&repo_file("deploy/job.yaml"));
    let stages: Vec<&str> = containerfile.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(stages.len(), 2, "multi-stage: build, then runtime: {stages:?}");
    assert!(stages[0].ends_with(" AS build"), "{stages:?}");
    assert!(stages[1].contains("distroless"), "a distroless runtime: {stages:?}");
    // The build stage builds the release binary from the locked dependency set, with every input
    // the build reads (build.rs embeds rules/; the workspace names crates/).
    let run = containerfile.lines().find(|l| l.starts_with("RUN ")).expect("a RUN line");
    assert!(run.contains("cargo build --release --locked --bin dockershim-audit"), "{run}");
    for input in ["Cargo.toml", "Cargo.lock", "build.rs", "src", "rules", "crates"] {
        assert!(
            containerfile.lines().any(|l| l.starts_with("COPY ")
                && !l.contains("--from")
                && l.split_whitespace().any(|w| w == input || w == format!("./{input}"))),
            "the build stage must copy {input}"
        );
    }
    // Non-root, and the same uid as the Job's securityContext.
    let user = containerfile.lines().find_map(|l| l.strip_prefix("USER ")).expect("a USER line");
    let uid = user.split(':').next().unwrap();
    assert_ne!(uid, "0");
    assert_eq!(job["spec"]["template"]["spec"]["securityContext"]["runAsUser"].as_u64().unwrap().to_string(), uid);
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"],
        Value::Bool(true)
    );
    let entry = containerfile.lines().find_map(|l| l.strip_prefix("ENTRYPOINT ")).expect("an ENTRYPOINT");
    let entry: Vec<String> = serde_json::from_str(entry).expect("exec-form ENTRYPOINT");
    assert!(
        containerfile.contains(&format!("/out/dockershim-audit {}", entry[0])),
        "the entrypoint is the built binary"
    );
}

#[test]
fn krew_manifest_installs_the_plugin_file_name_the_tool_answers_to() {
    // Render the release placeholders as the krew release bot would.
    let mut text = repo_file("deploy/krew/dockershim-audit.yaml");
    while let Some(start) = text.find("{{ addURIAndSha \"") {
        let url_start = start + "{{ addURIAndSha \"".len();
        let url_end = url_start + text[url_start..].find("\" .TagName }}").unwrap();
        let url = text[url_start..url_end].replace("{{ .TagName }}", "v0.1.0");
        let end = url_end + "\" .TagName }}".len();
        text.replace_range(start..end, &format!("uri: {url}\n      sha256: {}", "0".repeat(64)));
    }
    let text = text.replace("{{ .TagName }}", "v0.1.0");
    let plugin = yaml(&text);
    assert_eq!(plugin["kind"], "Plugin");
    let name = plugin["metadata"]["name"].as_str().unwrap();
    // krew links the plugin as kubectl-<name with - as _>: the file name the tool recognises.
    assert_eq!(format!("kubectl-{}", name.replace('-', "_")), dockershim_audit::invocation::KUBECTL_PLUGIN_FILE);
    let platforms = plugin["spec"]["platforms"].as_array().unwrap();
    let mut seen = Vec::new();
    for p in platforms {
        let labels = &p["selector"]["matchLabels"];
        seen.push(format!("{}/{}", labels["os"].as_str().unwrap(), labels["arch"].as_str().unwrap()));
        let bin = p["bin"].as_str().unwrap();
        assert!(p["files"].as_array().unwrap().iter().any(|f| f["from"] == bin), "{bin} is unpacked");
        assert!(p["uri"].as_str().unwrap().ends_with(".tar.gz"));
    }
    for want in ["linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64"] {
        assert!(seen.iter().any(|s| s == want), "{want} missing: {seen:?}");
    }
}

#[test]
fn pre_commit_hook_runs_repo_on_the_repository() {
    let hooks = yaml(&repo_file(".pre-commit-hooks.yaml"));
    let hook = &hooks[0];
    assert_eq!(hook["id"], "dockershim-audit");
    assert_eq!(hook["language"], "rust");
    assert_eq!(hook["pass_filenames"], Value::Bool(false), "the hook scans the repository, not a file list");
    let entry: Vec<&str> = hook["entry"].as_str().unwrap().split_whitespace().collect();
    assert_eq!(entry[0], "dockershim-audit");
    assert_eq!(entry[1], "repo");
    assert!(Cli::try_parse_from(entry.iter().copied()).is_ok(), "entry {entry:?} rejected");
}

#[test]
fn completions_for_every_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef dockershim-audit"),
        ("fish", "complete -c dockershim-audit"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = bin().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}: {}", String::from_utf8_lossy(&out.stderr));
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains(marker), "{shell} script lacks {marker:?}");
        // Subcommands and their options are completed.
        assert!(script.contains("snapshot") && script.contains("--node-files"), "{shell}");
    }
    bin().args(["completions", "tcsh"]).assert().code(2);
}

#[test]
fn man_page_documents_the_commands() {
    let out = bin().arg("man").output().unwrap();
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.starts_with(".ie") || page.contains(".TH dockershim-audit 1"), "roff output");
    assert!(page.contains(".TH dockershim-audit 1"));
    for sub in ["repo", "cluster", "node", "snapshot"] {
        assert!(page.contains(sub), "man page lacks {sub}");
    }
}

#[test]
fn runs_as_a_kubectl_plugin() {
    // kubectl finds `kubectl-dockershim_audit` on PATH and runs it with the remaining arguments.
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join(dockershim_audit::invocation::KUBECTL_PLUGIN_FILE);
    std::fs::copy(assert_cmd::cargo::cargo_bin("dockershim-audit"), &plugin).unwrap();
    let out = std::process::Command::new(&plugin).arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: kubectl dockershim-audit"));
    let out = std::process::Command::new(&plugin)
        .args(["repo", crate::common::fixture("clean-repo").to_str().unwrap(), "--format", "json"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}
