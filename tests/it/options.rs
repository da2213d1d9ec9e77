//! Options that mean nothing for a subcommand are rejected (exit 2 with a message) instead of
//! being silently ignored, and `-o FILE` without `--format` writes the format its extension names.
//!
//! Place in the pipeline: argument checks before anything is read, through the real binary.

use crate::common::{bin, fixture};

/// Runs the binary; (exit code, stderr).
fn run(args: &[&str]) -> (i32, String) {
    let out = bin().args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn options_a_command_would_ignore_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("b.json");
    let snap = fixture("demo-cluster/snapshot.json");
    let repo = fixture("demo-repo");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["rules", "list", "--format", "json"], "--format json does not apply"),
        (vec!["snapshot", "--snapshot", snap.to_str().unwrap(), "--format", "html", "-o", "x"], "--format html"),
        (
            vec!["baseline", "write", base.to_str().unwrap(), repo.to_str().unwrap(), "--format", "html"],
            "--format html",
        ),
        (vec!["cluster", "--snapshot", snap.to_str().unwrap(), "--node-selector", "pool=a"], "--node-files"),
        (vec!["cluster", "--snapshot", snap.to_str().unwrap(), "--kubeconfig", "/dev/null"], "--kubeconfig"),
    ];
    for (args, says) in cases {
        let (code, err) = run(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?} should say {says:?}: {err}");
    }
    assert!(!base.exists(), "nothing was written");
}

#[test]
fn two_outputs_to_one_file_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let out = out.to_str().unwrap();
    let repo = fixture("demo-repo");
    let (code, err) =
        run(&["repo", repo.to_str().unwrap(), "--format", "json", "-o", out, "--format", "sarif", "-o", out]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("given twice"), "{err}");
}

#[test]
fn the_output_extension_names_the_format_when_none_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture("demo-repo");
    for (ext, starts) in
        [("html", "<!DOCTYPE html>"), ("json", "{"), ("sarif", "{"), ("md", "## dockershim-audit"), ("xml", "<?xml")]
    {
        let path = dir.path().join(format!("report.{ext}"));
        let (code, err) = run(&["repo", repo.to_str().unwrap(), "-o", path.to_str().unwrap()]);
        assert_ne!(code, 2, "{err}");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(starts), "report.{ext}: {}", &text[..text.len().min(200)]);
        if ext == "sarif" {
            assert!(text.contains("\"version\": \"2.1.0\""), "{}", &text[..200]);
        }
    }
}
