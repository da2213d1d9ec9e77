//! The migration plan is data (`rules/steps.yaml`): every built-in rule is placed by it, a new rule
//! with a new step needs only YAML (a rule file and a `steps.yaml` in `--rules DIR`), a rule no
//! step names goes by its tags, and a broken `steps.yaml` stops the run naming the file.

use std::path::{Path, PathBuf};

use dockershim_audit::rules::Catalogue;

use crate::common::{bin, run_in_process};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `data-step` keys of the HTML plan, in order.
fn plan_steps(html: &str) -> Vec<String> {
    html.split("data-step=\"").skip(1).map(|s| s.split('"').next().unwrap_or("").to_string()).collect()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A team's rule: images from the registry only Docker Engine's `daemon.json` mirrors.
const REGISTRY_RULE: &str = r#"title: Image from the registry only Docker Engine reaches
severity: warning
on: container
match:
  field: image
  regex: '^registry\.corp\.example/'
message: "container {container} pulls {image}, which only Docker Engine's registry-mirrors reach"
remediation: Add registry.corp.example to containerd's hosts.toml before the node switches.
docs: [https://github.com/containerd/containerd/blob/main/docs/hosts.md]
tags: [registry]
"#;

/// The new step: after the built-in `workloads` step, before the node pools.
const REGISTRY_STEP: &str = r#"
  - id: corp-registry
    title: Let containerd reach `registry.corp.example`
    after: [workloads]
    takes:
      - rules: [corp-registry-image]
    actions:
      - text: Add `registry.corp.example` to `/etc/containerd/certs.d/registry.corp.example/hosts.toml` on every node.
"#;

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: billing
  namespace: shop
spec:
  template:
    spec:
      containers:
        - name: api
          image: registry.corp.example/shop/billing:4.2.0
        - name: sidecar
          image: docker.io/library/nginx:1.25
      volumes:
        - name: docker
          hostPath:
            path: /var/run/docker.sock
"#;

/// A rules directory holding `rule` as `corp-registry-image.yaml` and the built-in `steps.yaml`
/// changed by `edit`; a repository with one Deployment. Returns (rules dir, repo dir, tempdir).
fn setup(rule: &str, edit: impl Fn(String) -> String) -> (PathBuf, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("my-rules");
    let repo = dir.path().join("repo");
    write(&rules.join("corp-registry-image.yaml"), rule);
    let steps = std::fs::read_to_string(root().join("rules/steps.yaml")).unwrap();
    write(&rules.join("steps.yaml"), &edit(steps));
    write(&repo.join("deploy/billing.yaml"), DEPLOYMENT);
    (rules, repo, dir)
}

fn html_plan(rules: &Path, repo: &Path) -> (Vec<String>, String) {
    let (code, html) = run_in_process(&[
        "repo",
        &repo.display().to_string(),
        "--rules",
        &rules.display().to_string(),
        "--format",
        "html",
    ]);
    assert_ne!(code, 2, "the rules did not load");
    (plan_steps(&html), html)
}

#[test]
fn every_builtin_rule_is_named_by_the_plan() {
    let c = Catalogue::builtin().unwrap_or_else(|e| panic!("{e}"));
    let unnamed: Vec<&str> = c.rules.iter().map(|r| r.id.as_str()).filter(|id| !c.steps.names_rule(id)).collect();
    assert!(
        unnamed.is_empty(),
        "rules/steps.yaml names no step (nor `no_step`) for: {} (tags are for rules of users)",
        unnamed.join(", ")
    );
}

#[test]
fn a_new_rule_with_a_new_step_is_yaml_only() {
    let (rules, repo, _dir) = setup(REGISTRY_RULE, |steps| {
        // Append the step to the list, and make the node pools wait for it.
        let steps = steps.replace(
            "after: [etcd-backup, cluster-config, installer, workloads, ci, daemon-json, logging-monitoring]",
            "after: [etcd-backup, cluster-config, installer, workloads, ci, daemon-json, logging-monitoring, corp-registry]",
        );
        format!("{steps}{REGISTRY_STEP}")
    });
    let (steps, html) = html_plan(&rules, &repo);
    assert_eq!(steps, ["workloads", "corp-registry"], "{html}");
    assert!(html.contains("<h3>Let containerd reach <code>registry.corp.example</code></h3>"), "{html}");
    assert!(html.contains("<li>Add <code>registry.corp.example</code> to <code>/etc/containerd/certs.d/"));
    let step = &html[html.find("data-step=\"corp-registry\"").unwrap()..];
    let step = &step[..step.find("</section>").unwrap_or(step.len())];
    assert!(
        step.contains("Findings: <a href=\"#warning-corp-registry-image\"><code>corp-registry-image</code></a>"),
        "{step}"
    );
}

#[test]
fn a_rule_no_step_names_goes_by_its_tags() {
    // Tagged `ci` and named nowhere: the CI step takes it.
    let rule = REGISTRY_RULE.replace("tags: [registry]", "tags: [ci]");
    let (rules, repo, _dir) = setup(&rule, |s| s);
    let (steps, html) = html_plan(&rules, &repo);
    assert_eq!(steps, ["workloads", "ci"], "{html}");
    // With a tag no step selects, the catch-all step takes it.
    let (rules, repo, _dir) = setup(REGISTRY_RULE, |s| s);
    let (steps, _) = html_plan(&rules, &repo);
    assert_eq!(steps, ["workloads", "other"]);
}

/// A change to the built-in `steps.yaml`.
type Edit = fn(String) -> String;

#[test]
fn a_broken_steps_file_stops_the_run_naming_it() {
    let cases: [(&str, Edit, &str); 4] = [
        (
            "unknown rule",
            |s| s.replace("rules: [docker-daemon-setting]", "rules: [docker-daemon-settings]"),
            "unknown rule `docker-daemon-settings` (did you mean `docker-daemon-setting`?)",
        ),
        (
            "cycle",
            |s| {
                s.replace(
                    "    after: [etcd-backup]\n    takes:\n      - rules: [installer-docker-runtime",
                    "    after: [node-pool]\n    takes:\n      - rules: [installer-docker-runtime",
                )
            },
            "the steps' `after` form a cycle: installer → node-pool → installer",
        ),
        (
            "unknown step",
            |s| {
                s.replace(
                    "steps: [cluster-config, installer, node-pool]",
                    "steps: [cluster-config, installers, node-pool]",
                )
            },
            "called_by: unknown step `installers` (did you mean `installer`?)",
        ),
        ("unknown key", |s| s.replace("    per_pool: true\n", "    per_pool: true\n    colour: blue\n"), "colour"),
    ];
    for (what, edit, expected) in cases {
        let (rules, repo, _dir) = setup(REGISTRY_RULE, edit);
        let out = bin()
            .args(["repo", &repo.display().to_string(), "--rules", &rules.display().to_string(), "--format", "html"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
        assert!(stderr.contains(&format!("{}", rules.join("steps.yaml").display())), "{what}: {stderr}");
        assert!(stderr.contains(expected), "{what}: expected `{expected}` in {stderr}");
    }
}
