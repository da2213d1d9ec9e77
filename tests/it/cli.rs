//! End-to-end tests through the real binary: exit codes, formats, stdout/stderr separation, and
//! robustness on bad input.

use predicates::prelude::*;

use crate::common::{bin, fixture};

fn json_of(args: &[&str]) -> (i32, serde_json::Value) {
    let out = bin().args(args).args(["--format", "json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bad json ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), v)
}

#[test]
fn demo_repo_trips_the_gate_with_findings_in_many_kinds_of_file() {
    let dir = fixture("demo-repo");
    let (code, v) = json_of(&["repo", dir.to_str().unwrap()]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["schema"], "dockershim-audit/v1");
    let findings = v["findings"].as_array().unwrap();
    let mut kinds = std::collections::BTreeSet::new();
    for f in findings {
        let path = f["location"]["path"].as_str().unwrap_or("");
        assert!(f["location"]["line"].as_u64().unwrap_or(0) > 0, "finding without a line: {f}");
        let kind = if path.ends_with("Jenkinsfile") || path.ends_with(".groovy") {
            "jenkins"
        } else if path.contains("/templates/") || path.ends_with("values.yaml") {
            "helm"
        } else if path.ends_with(".sh") {
            "shell"
        } else if path.contains("kubeadm") {
            "kubeadm"
        } else if path.contains("fluent") {
            "logging"
        } else if path.contains("prometheus") || path.contains("dashboards") {
            "monitoring"
        } else if path.contains("installer") {
            "installer"
        } else if path.contains("gitlab") {
            "gitlab"
        } else if path.ends_with(".env") || path.ends_with("daemon.json") {
            "node-files"
        } else {
            "manifest"
        };
        kinds.insert(kind);
        // build/ is gitignored; it is read only where Git tracks it (this project's repository
        // commits the fixture), never merely hidden.
        let tracked = v["summary"]["counts"]["files_ignored_but_tracked"].as_u64().unwrap_or(0) >= 1;
        assert!(tracked || !path.starts_with("build/"), "gitignored build/ must be skipped: {path}");
        assert!(!path.contains(".github/"), "GitHub-hosted docker build is not a finding: {f}");
        assert!(!path.ends_with(".md"), "prose is not a finding: {f}");
    }
    assert!(kinds.len() >= 7, "findings in only {kinds:?}");
    let counts = &v["summary"]["counts"];
    let hidden =
        counts["files_ignored"].as_u64().unwrap_or(0) + counts["files_ignored_but_tracked"].as_u64().unwrap_or(0);
    assert!(hidden >= 1, "gitignored files are counted");
}

#[test]
fn clean_repo_exits_zero() {
    let dir = fixture("clean-repo");
    let (code, v) = json_of(&["repo", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{:#}", v["findings"]);
    assert_eq!(v["findings"].as_array().unwrap().len(), 0, "{:#}", v["findings"]);
    assert_eq!(v["coverage"]["complete"], true);
}

#[test]
fn malformed_file_makes_the_scan_incomplete_and_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ok.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: b\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("broken.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n spec: [unclosed\n",
    )
    .unwrap();
    let (code, v) = json_of(&["repo", dir.path().to_str().unwrap()]);
    assert_eq!(code, 3, "{v:#}");
    let gaps = v["coverage"]["gaps"].as_array().unwrap();
    assert!(gaps.iter().any(|g| g["source"].as_str().unwrap().starts_with("broken.yaml")), "{gaps:?}");
    assert_eq!(v["coverage"]["complete"], false);
}

#[test]
fn broken_values_in_a_chart_without_docker_strings_is_still_named() {
    // No rule's literal occurs in this chart, so it is not analysed, but its broken values file
    // must still make the scan incomplete.
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("charts/web");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(chart.join("Chart.yaml"), "apiVersion: v2\nname: web\nversion: 0.1.0\n").unwrap();
    std::fs::write(chart.join("values.yaml"), "replicaCount: 1\nimage:\n  repository: nginx\n  tag: [1.25\n").unwrap();
    std::fs::write(
        chart.join("templates/deployment.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: {{ .Values.replicaCount }}\n",
    )
    .unwrap();
    let (code, v) = json_of(&["repo", dir.path().to_str().unwrap()]);
    assert_eq!(code, 3, "{v:#}");
    let gaps = v["coverage"]["gaps"].as_array().unwrap();
    assert!(gaps.iter().any(|g| g["source"].as_str().unwrap().starts_with("charts/web/values.yaml:")), "{gaps:?}");
}

#[test]
fn templates_outside_charts_are_not_broken_files() {
    // Ansible/KubeKey role templates: not valid YAML or JSON until rendered, so neither a gap nor
    // silently dropped: the YAML is read in text mode, the JSON listed as skipped with the reason.
    let dir = tempfile::tempdir().unwrap();
    let role = dir.path().join("roles/haproxy/templates");
    std::fs::create_dir_all(&role).unwrap();
    std::fs::write(
        role.join("haproxy.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: haproxy\n  namespace: kube-system\nspec:\n  hostNetwork: true\n  containers:\n  - name: haproxy\n    image: {{ .haproxy.image.registry }}/{{ .haproxy.image.repository }}:{{ .haproxy.image.tag }}\n    volumeMounts:\n    - mountPath: /usr/local/etc/haproxy\n      name: etc-haproxy\n  volumes:\n  - name: etc-haproxy\n    hostPath:\n      path: /etc/kubekey/haproxy\n",
    )
    .unwrap();
    std::fs::write(
        role.join("daemon.json"),
        "{\n  \"log-opts\": {\n    \"max-size\": \"5m\"\n  },\n{{- if .cri.registry.mirrors }}\n  \"registry-mirrors\": {{ .cri.registry.mirrors | toJson }},\n{{- end }}\n  \"exec-opts\": [\"native.cgroupdriver=systemd\"]\n}\n",
    )
    .unwrap();
    let (code, v) = json_of(&["repo", dir.path().to_str().unwrap()]);
    assert!(v["coverage"]["gaps"].as_array().unwrap().is_empty(), "{:#}", v["coverage"]);
    assert_eq!(code, 0, "{v:#}");
    let skipped = v["coverage"]["skipped"].as_array().unwrap();
    assert!(
        skipped.iter().any(|g| g["source"] == "roles/haproxy/templates/daemon.json"
            && g["reason"].as_str().unwrap().contains("template")),
        "{skipped:?}"
    );
}

#[test]
fn findings_win_over_incompleteness() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.yaml"), "a: [\n").unwrap();
    std::fs::write(
        dir.path().join("pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: busybox\n  volumes:\n  - name: s\n    hostPath:\n      path: /var/run/docker.sock\n",
    )
    .unwrap();
    let (code, v) = json_of(&["repo", dir.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    let f = &v["findings"][0];
    assert_eq!(f["ruleId"], "hostpath-docker-socket");
    assert_eq!(f["location"]["path"], "pod.yaml");
    assert_eq!(f["location"]["line"], 12);
}

#[test]
fn binary_non_utf8_and_garbage_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("image.png"), [0x89u8, b'P', b'N', b'G', 0, 0, 1, 2, 3]).unwrap();
    std::fs::write(d.join("bin.yaml"), [b'a', b':', 0u8, 0xff, 0xfe, b'\n']).unwrap();
    std::fs::write(d.join("latin1.sh"), b"#!/bin/sh\n# caf\xe9\ndocker ps\n").unwrap();
    std::fs::write(d.join("deep.yaml"), "[".repeat(100_000)).unwrap();
    std::fs::write(d.join("Jenkinsfile"), "sh '''\n docker build\n").unwrap();
    std::fs::write(d.join("daemon.json"), "{ not json").unwrap();
    std::fs::write(d.join("fluent-bit.conf"), "[INPUT\n Name tail\n\x01\x02").unwrap();
    let out = bin().args(["repo", d.to_str().unwrap(), "--format", "json"]).output().unwrap();
    let code = out.status.code().unwrap();
    assert!(matches!(code, 0 | 1 | 3), "exit {code}: {}", String::from_utf8_lossy(&out.stderr));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["summary"]["counts"]["files_skipped_binary"].as_u64().unwrap_or(0) >= 1);
    // The latin-1 script is still read: its docker command is found.
    assert!(v["findings"].as_array().unwrap().iter().any(|f| f["location"]["path"] == "latin1.sh"), "{v:#}");
}

#[cfg(unix)]
#[test]
fn symlink_loops_are_reported_not_followed_forever() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("a")).unwrap();
    std::os::unix::fs::symlink("..", dir.path().join("a/loop")).unwrap();
    let out = bin()
        .args(["repo", dir.path().to_str().unwrap(), "--follow", "--format", "json"])
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let gaps = v["coverage"]["gaps"].as_array().unwrap();
    assert!(gaps.iter().any(|g| g["reason"].as_str().unwrap_or("").contains("loop")), "{gaps:?}");
}

#[test]
fn bad_flags_and_bad_rules_exit_two_with_a_clear_message() {
    bin().args(["repo"]).assert().code(2);
    bin().args(["repo", ".", "--fail-on", "sometimes"]).assert().code(2);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("typo.yaml"), "title: T\nseverity: error\non: volume\nmatch:\n  feild: host_path\n")
        .unwrap();
    bin()
        .args(["repo", ".", "--rules", dir.path().to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("typo.yaml"))
        .stdout(predicate::str::is_empty());
    bin().args(["repo", ".", "--target-version", "latest"]).assert().code(2).stderr(predicate::str::contains("latest"));
}

#[test]
fn target_version_gates_rules_by_since() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ds.yaml"),
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: agent\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        image: x\n      volumes:\n      - name: s\n        hostPath:\n          path: /var/run/docker.sock\n",
    )
    .unwrap();
    bin().args(["repo", dir.path().to_str().unwrap(), "--target-version", "1.23"]).assert().code(0);
    bin().args(["repo", dir.path().to_str().unwrap(), "--target-version", "1.24"]).assert().code(1);
}

#[test]
fn fail_on_threshold() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cleanup.sh"), "#!/bin/sh\nset -e\ndocker system prune -af\n").unwrap();
    bin().args(["repo", dir.path().to_str().unwrap()]).assert().code(0);
    bin().args(["repo", dir.path().to_str().unwrap(), "--fail-on", "warning"]).assert().code(1);
}

/// The node file list is loaded with the rules, so `--rules DIR/data/node-files.csv` replaces it,
/// and a bad one stops the run (exit 2) naming the file and row instead of reading nothing.
/// See: issue 11.
#[test]
fn the_node_file_list_follows_rules_dir_and_a_bad_one_is_exit_2() {
    let rules = tempfile::tempdir().unwrap();
    std::fs::create_dir(rules.path().join("data")).unwrap();
    let list = rules.path().join("data/node-files.csv");
    let node = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(node.path().join("opt/acme")).unwrap();
    std::fs::write(node.path().join("opt/acme/prune"), "0 3 * * * root docker system prune -af\n").unwrap();
    let (rules_dir, root) = (rules.path().to_str().unwrap(), node.path().to_str().unwrap());
    let scan = |rules: Option<&str>| {
        let mut c = bin();
        c.args(["node", "--root", root, "--format", "json"]);
        if let Some(r) = rules {
            c.args(["--rules", r]);
        }
        c.output().unwrap()
    };
    let read = |out: &std::process::Output| -> u64 {
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["summary"]["counts"]["node_files_read"].as_u64().unwrap_or(0)
    };
    assert_eq!(read(&scan(None)), 0, "the built-in list does not name /opt/acme/prune");
    std::fs::write(&list, "path,kind,why\n/opt/acme/prune,cron,our cleanup job\n").unwrap();
    assert_eq!(read(&scan(Some(rules_dir))), 1, "the list under --rules DIR is the one read");
    std::fs::write(&list, "path,kind,why\n/opt/acme/prune,crontab,typo\n").unwrap();
    let out = scan(Some(rules_dir));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("node-files.csv: data row 1: unknown kind `crontab`"), "{stderr}");
}

/// `report` takes the gate's threshold from the config file's `failOn` like every other command
/// (it used to ignore it). See: issue 11.
#[test]
fn report_honours_the_config_files_fail_on() {
    let repo = tempfile::tempdir().unwrap();
    std::fs::write(repo.path().join("cleanup.sh"), "#!/bin/sh\nset -e\ndocker system prune -af\n").unwrap();
    let out = tempfile::tempdir().unwrap();
    let results = out.path().join("results.json");
    let config = out.path().join("audit.yaml");
    std::fs::write(&config, "failOn: warning\n").unwrap();
    let (repo, results, config) = (repo.path().to_str().unwrap(), results.to_str().unwrap(), config.to_str().unwrap());
    bin().args(["repo", repo, "--format", "json", "-o", results]).assert().code(0);
    bin().args(["repo", repo, "--config", config]).assert().code(1);
    bin().args(["report", results, "--format", "json"]).assert().code(0);
    bin().args(["report", results, "--format", "json", "--config", config]).assert().code(1);
    bin().args(["report", results, "--format", "json", "--config", config, "--fail-on", "error"]).assert().code(0);
}

#[test]
fn output_file_and_table_to_stdout_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("out.json");
    let out = bin()
        .args([
            "repo",
            fixture("demo-repo").to_str().unwrap(),
            "--format",
            "json",
            "-o",
            json.to_str().unwrap(),
            "--format",
            "table",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("BLOCKED"), "{stdout}");
    assert!(!stdout.contains('\u{1b}'), "no colour when not a terminal");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["summary"]["verdict"], "BLOCKED");
}

#[test]
fn dash_output_is_standard_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .current_dir(dir.path())
        .args(["repo", fixture("demo-repo").to_str().unwrap(), "--format", "json", "-o", "-"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["summary"]["verdict"], "BLOCKED");
    assert!(!dir.path().join("-").exists(), "`-o -` must not create a file named -");
}

#[test]
fn inline_and_config_ignores_with_unused_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: busybox\n  volumes:\n  - name: s\n    hostPath:\n      # dockershim-audit: ignore hostpath-docker-socket -- builder pool keeps Docker until 2027\n      path: /var/run/docker.sock\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("cleanup.sh"),
        "#!/bin/sh\ndocker image prune -f # dockershim-audit: ignore docker-cli-in-script\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join(".dockershim-audit.yaml"),
        "ignore:\n  - rule: removed-feature-gate\n    path: nothing/**\n    reason: old\n",
    )
    .unwrap();
    let (code, v) = json_of(&["repo", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["summary"]["suppressed"], 1);
    let problems = v["coverage"]["ignoreProblems"].as_array().unwrap();
    assert!(problems.iter().any(|p| p["problem"].as_str().unwrap().contains("without a reason")), "{problems:?}");
    assert!(problems.iter().any(|p| p["problem"].as_str().unwrap().contains("unused")), "{problems:?}");
}

#[test]
fn rules_list_and_explain() {
    bin().args(["rules", "list"]).assert().success().stdout(predicate::str::contains("hostpath-docker-socket"));
    bin()
        .args(["rules", "explain", "removed-kubelet-flag"])
        .assert()
        .success()
        .stdout(predicate::str::contains("remediation"));
    bin().args(["rules", "explain", "docker-sock"]).assert().code(2).stderr(predicate::str::contains("did you mean"));
}

/// Issue 12, noise 2: vendored and installed trees are other people's code.
#[test]
fn third_party_trees_are_skipped_and_listed_unless_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: busybox\n  volumes:\n  - name: s\n    hostPath:\n      path: /var/run/docker.sock\n";
    for d in ["vendor/github.com/acme/agent/deploy", "node_modules/some-chart", "web/.terraform/modules/x"] {
        std::fs::create_dir_all(dir.path().join(d)).unwrap();
        std::fs::write(dir.path().join(d).join("pod.yaml"), pod).unwrap();
    }
    std::fs::write(dir.path().join("ok.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n").unwrap();
    let (code, v) = json_of(&["repo", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["findings"].as_array().unwrap().len(), 0);
    let skipped: Vec<&str> =
        v["coverage"]["skipped"].as_array().unwrap().iter().map(|g| g["source"].as_str().unwrap()).collect();
    assert_eq!(skipped, ["node_modules/", "vendor/", "web/.terraform/"]);
    assert_eq!(v["summary"]["counts"]["dirs_skipped_third_party"], 3, "{v:#}");

    let (code, v) = json_of(&["repo", dir.path().to_str().unwrap(), "--include-third-party"]);
    assert_eq!(code, 1);
    // The three copies are one cause: one finding with the other two places (issue 12, noise 3).
    assert_eq!(v["findings"].as_array().unwrap().len(), 1, "{v:#}");
    assert_eq!(v["findings"][0]["alsoAt"].as_array().unwrap().len(), 2, "{v:#}");
}
