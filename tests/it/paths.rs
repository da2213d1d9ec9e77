//! Reported paths resolve everywhere: whatever part of a repository is scanned (`.`, one folder,
//! two folders, an absolute path), every path is relative to the repository root (the git top
//! level), SARIF's `%SRCROOT%` is that root, and a baseline written from the root matches a
//! narrower scan.
//!
//! Place in the pipeline: the repository walker's display paths through the SARIF and JSON
//! renderers and the baseline, through the real binary.

use std::path::Path;

use serde_json::Value;
use tempfile::TempDir;

use crate::common::bin;

const AGENT: &str = "\
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: log-agent
  namespace: logging
spec:
  selector:
    matchLabels:
      app: log-agent
  template:
    metadata:
      labels:
        app: log-agent
    spec:
      containers:
        - name: agent
          image: example.com/log-agent:1.2.3
      volumes:
        - name: docker-sock
          hostPath:
            path: /var/run/docker.sock
";

/// A checkout: `.git`, `charts/agent/` (a manifest with a spaced name) and `ci/` (another).
fn checkout() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::fs::create_dir_all(root.join("charts/agent")).unwrap();
    std::fs::create_dir_all(root.join("ci")).unwrap();
    std::fs::create_dir_all(root.join("docs")).unwrap();
    std::fs::write(root.join("charts/agent/log agent.yaml"), AGENT).unwrap();
    std::fs::write(root.join("ci/runner.yaml"), AGENT.replace("log-agent", "ci-runner")).unwrap();
    std::fs::write(root.join("docs/readme.txt"), "nothing to see\n").unwrap();
    dir
}

/// `repo ARGS --target-version 1.24 --format FORMAT` run in `cwd`; (exit code, stdout).
fn scan_in(cwd: &Path, args: &[&str], format: &str) -> (i32, String) {
    let out = bin()
        .current_dir(cwd)
        .arg("repo")
        .args(args)
        .args(["--target-version", "1.24", "--format", format])
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    assert_ne!(code, 2, "the tool failed to run: {}", String::from_utf8_lossy(&out.stderr));
    (code, String::from_utf8(out.stdout).unwrap())
}

/// Percent-decoding of a URI path (what a SARIF viewer does before opening the file).
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// Every artifact URI of a SARIF run, resolved against `%SRCROOT%`: the files they name, sorted.
fn resolved_files(sarif: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(sarif).unwrap();
    let run = &v["runs"][0];
    let base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"].as_str().expect("%SRCROOT% has a uri");
    assert!(base.starts_with("file:///") && base.ends_with('/'), "absolute directory URI: {base}");
    let mut files = Vec::new();
    for r in run["results"].as_array().unwrap() {
        for l in r["locations"].as_array().into_iter().flatten() {
            let a = &l["physicalLocation"]["artifactLocation"];
            assert_eq!(a["uriBaseId"], "%SRCROOT%", "{a}");
            let uri = a["uri"].as_str().unwrap();
            let path = decode(&format!("{}{uri}", base.trim_start_matches("file://")));
            assert!(Path::new(&path).is_file(), "{uri} resolves to {path}, which does not exist");
            files.push(uri.to_string());
        }
    }
    files.sort();
    files.dedup();
    files
}

#[test]
fn sarif_uris_resolve_against_the_repository_root_for_any_scan_width() {
    let dir = checkout();
    let root = dir.path();
    let whole = resolved_files(&scan_in(root, &["."], "sarif").1);
    assert_eq!(whole, ["charts/agent/log%20agent.yaml", "ci/runner.yaml"]);
    assert_eq!(resolved_files(&scan_in(root, &["charts"], "sarif").1), ["charts/agent/log%20agent.yaml"]);
    assert_eq!(resolved_files(&scan_in(root, &["charts", "ci"], "sarif").1), whole);
    // From elsewhere, with an absolute path to a subfolder: the same URIs.
    let abs = root.join("charts");
    let elsewhere = tempfile::tempdir().unwrap();
    assert_eq!(
        resolved_files(&scan_in(elsewhere.path(), &[abs.to_str().unwrap()], "sarif").1),
        ["charts/agent/log%20agent.yaml"]
    );
    // From inside a subfolder, naming a sibling.
    assert_eq!(resolved_files(&scan_in(&root.join("docs"), &["../ci"], "sarif").1), ["ci/runner.yaml"]);
}

#[test]
fn json_and_table_paths_are_repository_relative() {
    let dir = checkout();
    let (_, json) = scan_in(dir.path(), &["charts"], "json");
    let v: Value = serde_json::from_str(&json).unwrap();
    let paths: Vec<&str> =
        v["findings"].as_array().unwrap().iter().filter_map(|f| f["location"]["path"].as_str()).collect();
    assert!(!paths.is_empty() && paths.iter().all(|p| *p == "charts/agent/log agent.yaml"), "{paths:?}");
    let (_, table) = scan_in(dir.path(), &["charts"], "table");
    assert!(table.contains("charts/agent/log agent.yaml"), "{table}");
}

#[test]
fn a_baseline_written_from_the_root_matches_a_narrower_scan() {
    let dir = checkout();
    let root = dir.path();
    let out = bin()
        .current_dir(root)
        .args(["baseline", "write", "base.json", ".", "--target-version", "1.24"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    for args in [&["charts"][..], &["charts", "ci"], &["."]] {
        let mut a = args.to_vec();
        a.extend(["--baseline", "base.json"]);
        let (code, json) = scan_in(root, &a, "json");
        let v: Value = serde_json::from_str(&json).unwrap();
        let b = &v["summary"]["baseline"];
        assert_eq!(b["new"], 0, "{args:?}: {b}");
        assert!(b["unchanged"].as_u64().unwrap() > 0, "{args:?}: {b}");
        assert_eq!(code, 0, "{args:?}: nothing new");
    }
}
