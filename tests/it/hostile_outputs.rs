//! Hostile output paths, secrets and terminal or Markdown injection (issue 14, items 14 and
//! 17–19): `-o` through a planted symlink, several outputs of which one fails, secrets in
//! commands and ConfigMaps, control characters and backtick runs in scanned content. Each
//! generator builds a small repository or snapshot in a temporary directory.

use std::path::Path;

use assert_cmd::Command;

fn tool() -> Command {
    let mut c = Command::cargo_bin("dockershim-audit").unwrap();
    c.env("NO_COLOR", "1").timeout(std::time::Duration::from_secs(120));
    c
}

fn write(path: &Path, text: impl AsRef<[u8]>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A repository with one finding (a docker socket mount).
fn socket_repo(dir: &Path) -> std::path::PathBuf {
    let repo = dir.join("repo");
    write(
        &repo.join("deploy/agent.yaml"),
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: agent\nspec:\n  template:\n    spec:\n      \
         containers:\n        - name: agent\n          image: example/agent:1.0\n      volumes:\n        - name: sock\n          \
         hostPath:\n            path: /var/run/docker.sock\n",
    );
    repo
}

// See: issue 14, item 19.
#[cfg(unix)]
#[test]
fn output_through_a_planted_symlink_is_refused_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let repo = socket_repo(dir.path());
    let victim = dir.path().join("victim.txt");
    write(&victim, "precious\n");
    let link = dir.path().join("results.sarif");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let out = tool()
        .args(["repo", repo.to_str().unwrap(), "--format", "sarif", "-o", link.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("symbolic link") && stderr.contains("--follow-output-symlinks"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    // Asked for: the link's target is replaced whole, and the link stays a link.
    let out = tool()
        .args([
            "repo",
            repo.to_str().unwrap(),
            "--format",
            "sarif",
            "-o",
            link.to_str().unwrap(),
            "--follow-output-symlinks",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::read_to_string(&victim).unwrap().contains("\"version\": \"2.1.0\""));
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
}

// See: issue 14, item 19: snapshots and baselines are written the same way.
#[cfg(unix)]
#[test]
fn snapshot_and_baseline_through_a_symlink_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let repo = socket_repo(dir.path());
    let victim = dir.path().join("victim.txt");
    write(&victim, "precious\n");
    let base = dir.path().join("baseline.json");
    std::os::unix::fs::symlink(&victim, &base).unwrap();
    let out = tool().args(["baseline", "write", base.to_str().unwrap(), repo.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let snap = dir.path().join("snap.json");
    std::os::unix::fs::symlink(&victim, &snap).unwrap();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo-cluster/snapshot.json");
    let out =
        tool().args(["snapshot", "--snapshot", demo.to_str().unwrap(), "-o", snap.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
}

// See: issue 14, item 19: a report replaces the old file whole (rename), leaving no temporary.
#[test]
fn output_replaces_the_old_file_and_leaves_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let repo = socket_repo(dir.path());
    let outdir = dir.path().join("out");
    let report = outdir.join("report.json");
    write(&report, "x".repeat(1 << 20));
    let out = tool()
        .args(["repo", repo.to_str().unwrap(), "--format", "json", "-o", report.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&report).unwrap();
    serde_json::from_str::<serde_json::Value>(&text).expect("a whole JSON document, nothing of the old file");
    let names: Vec<_> = std::fs::read_dir(&outdir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

// See: issue 14, item 19: when one of several outputs cannot be written, none is.
#[test]
fn one_failing_output_writes_none_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let repo = socket_repo(dir.path());
    let good = dir.path().join("a.json");
    let bad = dir.path().join("no-such-dir/b.sarif");
    let out = tool()
        .args([
            "repo",
            repo.to_str().unwrap(),
            "--format",
            "json",
            "-o",
            good.to_str().unwrap(),
            "--format",
            "sarif",
            "-o",
            bad.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("none of the 2 output files was written"), "{stderr}");
    assert!(!good.exists());
}

/// What no terminal-bound text may carry: C0 controls but the line break, DEL, C1, bidi controls.
fn hidden_controls(s: &str) -> Vec<char> {
    s.chars()
        .filter(|c| {
            matches!(c, '\u{0}'..='\u{9}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

// See: issue 14, item 17: escape sequences in file names, object names, commands and hostPaths
// are shown, never sent to the terminal.
#[cfg(unix)]
#[test]
fn table_shows_control_characters_instead_of_sending_them() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    write(
        &repo.join("deploy/\x1b]0;owned\x07agent.yaml"),
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: \"agent\\e[2J\\u202Egnp.exe\"\nspec:\n  template:\n    spec:\n      \
         containers:\n        - name: agent\n          image: \"example/agent\\x9b1;1H:1.0\"\n          \
         command: [\"sh\", \"-c\", \"docker ps \\e]2;title\\a\"]\n      volumes:\n        - name: sock\n          \
         hostPath:\n            path: \"/var/run/docker.sock\"\n          # \\x7f\n",
    );
    write(&repo.join("bin/prune\r.sh"), "#!/bin/sh\ndocker system prune -af # \x1b[31m\n");
    let out = tool().args(["repo", repo.to_str().unwrap()]).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("docker-cli-in-container"), "{stdout}");
    assert_eq!(hidden_controls(&stdout), Vec::<char>::new(), "{stdout}");
    assert!(stdout.contains("\\x1b]0;owned\\x07agent.yaml"), "{stdout}");
    assert!(stdout.contains("prune\\r.sh"), "{stdout}");
}

// See: issue 14, item 17: an error message quoting a hostile file shows its controls too.
#[test]
fn stderr_shows_control_characters_instead_of_sending_them() {
    let dir = tempfile::tempdir().unwrap();
    let repo = socket_repo(dir.path());
    let config = dir.path().join("conf\x1b[2J.yaml");
    write(&config, "failOn: \x1b]0;owned\x07\nignore: [\n");
    let out = tool().args(["repo", repo.to_str().unwrap(), "--config", config.to_str().unwrap()]).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("\\x1b[2J"), "{stderr}");
    assert_eq!(hidden_controls(&stderr), Vec::<char>::new(), "{stderr}");
}

const SECRET: &str = "hunter2-s3cr3t";

// See: issue 14, item 14: credentials in commands and scripts reach no format.
#[test]
fn credentials_in_commands_reach_no_format() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    write(
        &repo.join("ci/publish.sh"),
        format!(
            "#!/bin/bash\nset -euo pipefail\n# runs on the node\ndocker login -u ci -p {SECRET} registry.example.com && docker pull registry.example.com/app:1\n\
             echo {SECRET} | docker login --password-stdin -u ci r.example && docker ps\n\
             curl -u admin:{SECRET} -H 'Authorization: Bearer {SECRET}' https://ci:{SECRET}@r.example/v2/ && docker images\n"
        ),
    );
    write(
        &repo.join("deploy/job.yaml"),
        format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: push\nspec:\n  template:\n    spec:\n      containers:\n        \
             - name: push\n          image: docker:24-cli\n          command: [\"sh\", \"-c\"]\n          \
             args: [\"docker login --password={SECRET} r.example && docker push r.example/app --token {SECRET}\"]\n          \
             volumeMounts:\n            - name: sock\n              mountPath: /var/run/docker.sock\n      \
             restartPolicy: Never\n      volumes:\n        - name: sock\n          hostPath:\n            path: /var/run/docker.sock\n"
        ),
    );
    for format in ["table", "json", "sarif", "markdown", "html", "junit"] {
        let out = tool().args(["repo", repo.to_str().unwrap(), "--format", format]).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{format}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("docker login"), "{format}: the command is still shown\n{stdout}");
        assert!(!stdout.contains(SECRET), "{format} shows the secret:\n{stdout}");
        assert!(stdout.contains("[redacted]"), "{format}:\n{stdout}");
    }
}

// See: issue 14, item 14: a snapshot keeps no credentials: redacted args, and only the
// ConfigMap keys the rules read.
#[test]
fn snapshot_keeps_no_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("dump.json");
    let list = serde_json::json!({
        "apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pusher", "namespace": "ci"},
             "spec": {"containers": [{"name": "c", "image": "docker:24",
                "command": ["docker", "login", "-p", SECRET, "r.example"],
                "args": [format!("--password={SECRET}"), "--token", SECRET],
                "env": [{"name": "REGISTRY_PASSWORD", "value": SECRET}]}]}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-settings", "namespace": "ci"},
             "data": {"credentials.json": format!("{{\"user\": \"ci\", \"password\": \"{SECRET}\"}}"),
                      "db.password": SECRET,
                      "node-problem-detector.json": format!("{{\"source\": \"docker-monitor\", \"token\": \"{SECRET}\"}}")},
             "binaryData": {"key.p12": "AAAA"}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fluent-bit", "namespace": "logging"},
             "data": {"fluent-bit.conf": format!("[INPUT]\n    Name tail\n    Path /var/log/containers/*.log\n    Parser docker\n[OUTPUT]\n    Name es\n    HTTP_User ci\n    HTTP_Passwd {SECRET}\n")}}
        ]
    });
    write(&input, serde_json::to_string_pretty(&list).unwrap());
    let snap = dir.path().join("snap.json");
    let out = tool()
        .args(["snapshot", "--snapshot", input.to_str().unwrap(), "-o", snap.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&snap).unwrap();
    assert!(!text.contains(SECRET), "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cms = v["resources"]["configmaps"].as_array().unwrap();
    let settings = cms.iter().find(|c| c["metadata"]["name"] == "app-settings").unwrap();
    let keys: Vec<&String> = settings["data"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["node-problem-detector.json"], "only the key with a line the rules read");
    assert!(settings.get("binaryData").is_none());
    let fluent = cms.iter().find(|c| c["metadata"]["name"] == "fluent-bit").unwrap();
    assert!(fluent["data"]["fluent-bit.conf"].as_str().unwrap().contains("Parser docker"));
    // The audit of the snapshot still finds the docker parser and the docker CLI.
    let out = tool().args(["cluster", "--snapshot", snap.to_str().unwrap(), "--format", "json"]).output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("docker-cli-in-container") && !report.contains(SECRET), "{report}");
}

/// `md` without its inline code spans (line by line; a backslash-escaped backtick is prose).
fn outside_code_spans(md: &str) -> String {
    let mut out = String::new();
    for line in md.lines() {
        let b = line.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'\\' && i + 1 < b.len() {
                out.push_str(&line[i..i + 2]);
                i += 2;
                continue;
            }
            if b[i] != b'`' {
                out.push(b[i] as char);
                i += 1;
                continue;
            }
            let n = b[i..].iter().take_while(|c| **c == b'`').count();
            // Find the next run of exactly n backticks.
            let mut j = i + n;
            let mut close = None;
            while j < b.len() {
                if b[j] == b'`' {
                    let m = b[j..].iter().take_while(|c| **c == b'`').count();
                    if m == n {
                        close = Some(j + m);
                        break;
                    }
                    j += m;
                } else {
                    j += 1;
                }
            }
            match close {
                Some(end) => i = end,
                None => {
                    out.push_str(&line[i..i + n]);
                    i += n;
                }
            }
        }
        out.push('\n');
    }
    out
}

// See: issue 14, item 18: backtick runs, HTML and mentions in scanned text stay inert in both
// Markdown reports (the pull-request summary of `repo`, the readiness report of `node`).
#[test]
fn markdown_code_spans_outlast_backtick_runs_and_mentions_stay_inert() {
    let dir = tempfile::tempdir().unwrap();
    let payload = "docker ps ```` <img src=x onerror=alert(1)> ````` @octocat";
    let repo = dir.path().join("repo");
    write(&repo.join("bin/cleanup.sh"), format!("#!/bin/sh\n# runs on the node\n{payload}\n"));
    // A file name holding a longer backtick run than a three-backtick span can hold, and an
    // object named to mention someone.
    write(
        &repo.join("deploy/x ```` <img src=x onerror=alert(1)> ````` y.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: \"@octocat\"\nspec:\n  containers:\n    - name: c\n      image: x\n      \
         command: [\"docker\", \"ps\"]\n",
    );
    let root = dir.path().join("node");
    write(&root.join("etc/cron.d/cleanup"), format!("*/5 * * * * root {payload}\n"));
    let runs = [
        tool().args(["repo", repo.to_str().unwrap(), "--format", "markdown"]).output().unwrap(),
        tool().args(["node", "--root", root.to_str().unwrap(), "--format", "markdown"]).output().unwrap(),
    ];
    for out in runs {
        let md = String::from_utf8(out.stdout).unwrap();
        assert!(md.contains("onerror"), "the command is shown:\n{md}");
        // Outside code spans (parsed as CommonMark does: a run of n backticks closes at the next
        // run of exactly n), nothing is live: no tag, no mention.
        let prose = outside_code_spans(&md);
        assert!(!prose.contains("<img"), "{prose}\n---\n{md}");
        assert!(!prose.contains("@octocat"), "{prose}");
    }
}
