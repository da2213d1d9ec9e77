//! Mistakes in the files a user writes — the config file and rule YAML — stop the run (exit 2)
//! with the file's name, the line and what is wrong, on several lines; a config file that names a
//! rule id that does not exist is such a mistake, since its override or ignore would do nothing.
//! See: issue 13 ("A config file's unknown rule id").
//!
//! Place in the pipeline: the config file and the rule catalogue as they load, through the binary.

use std::path::Path;

use crate::common::{bin, fixture};

/// `repo fixtures/demo-repo ARGS`: (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let out = bin().arg("repo").arg(fixture("demo-repo")).args(args).output().unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.code().unwrap_or(-1), text(out.stdout), text(out.stderr))
}

fn config(dir: &Path, text: &str) -> String {
    let path = dir.join("audit.yaml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn an_unknown_rule_id_in_a_severity_override_names_it_and_the_nearest_one() {
    let dir = tempfile::tempdir().unwrap();
    let cfg =
        config(dir.path(), "failOn: error\nseverity:\n  docker-in-docker: warning\n  hostpath-docker-sockett: note\n");
    let (code, out, err) = run(&["--config", &cfg]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "no report from a run that could not start: {out}");
    assert!(
        err.contains(&format!(
            "{cfg}:4: `severity` names unknown rule `hostpath-docker-sockett` (did you mean `hostpath-docker-socket`?)"
        )),
        "{err}"
    );
}

#[test]
fn an_unknown_rule_id_in_an_ignore_names_it_and_the_nearest_one() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        "ignore:\n  - rule: all\n    path: vendor/**\n    reason: third-party charts\n  - rule: docker-in-dockr\n    \
         path: ci/**\n    reason: builders move to kaniko in Q3\n",
    );
    let (code, _, err) = run(&["--config", &cfg]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "{cfg}:5: ignore[1] names unknown rule `docker-in-dockr` (did you mean `docker-in-docker`?)"
        )),
        "{err}"
    );
    assert!(!err.contains("`all`"), "`all` is a known ignore target: {err}");
    // Two unknown ids: both are named, each with its line; one far from every id gets no guess.
    let cfg =
        config(dir.path(), "severity:\n  no-such-check: note\nignore:\n  - rule: docker-in-dockr\n    reason: later\n");
    let (code, _, err) = run(&["--config", &cfg]);
    assert_eq!(code, 2);
    assert!(err.contains("2 unknown rule ids in the config file"), "{err}");
    assert!(err.contains(&format!("{cfg}:2: `severity` names unknown rule `no-such-check`\n")), "{err}");
    assert!(err.contains(&format!("{cfg}:4: ignore[0]")), "{err}");
    assert!(err.contains("rules list"), "says where the ids are: {err}");
}

#[test]
fn known_rule_ids_and_rules_from_rules_dir_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("team-socket-check.yaml"),
        "title: Team socket check\nseverity: note\non: volume\nmatch:\n  field: host_path\n  regex: docker\n\
         message: \"{host_path}\"\nremediation: Remove it.\ndocs: [https://example.com/socket]\n",
    )
    .unwrap();
    let cfg = config(
        dir.path(),
        "severity:\n  team-socket-check: warning\n  docker-in-docker: warning\nignore:\n  - rule: all\n    path: nowhere/**\n    \
         reason: nothing there\n",
    );
    let (code, _, err) = run(&["--config", &cfg, "--rules", rules.to_str().unwrap()]);
    assert_ne!(code, 2, "{err}");
}

#[test]
fn a_config_yaml_error_names_the_file_and_line_on_several_lines() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "targetVersion: \"1.26\"\nfailon: error\n");
    let (code, _, err) = run(&["--config", &cfg]);
    assert_eq!(code, 2);
    assert!(err.contains(&format!("{cfg}:2:1: unknown field `failon`")), "{err}");
    assert!(err.lines().any(|l| l.contains("2 | failon: error")), "shows the line: {err}");
    assert!(err.lines().count() >= 3, "several lines: {err}");
    assert!(!err.contains("<input>"), "{err}");
    let cfg = config(dir.path(), "targetVersion: [1.26\n");
    let (code, _, err) = run(&["--config", &cfg]);
    assert_eq!(code, 2);
    assert!(err.contains(&format!("{cfg}:1:")) && !err.contains("<input>"), "{err}");
}

#[test]
fn a_rule_yaml_error_names_the_file_and_line_on_several_lines() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("my-rule.yaml"), "title: T\nseverity: errror\non: volume\n").unwrap();
    let (code, out, err) = run(&["--rules", dir.path().to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("my-rule.yaml:2:11: unknown variant `errror`, expected one of note, warning, error"), "{err}");
    assert!(err.lines().any(|l| l.contains("2 | severity: errror")), "{err}");
    assert!(!err.contains("<input>"), "{err}");
}
