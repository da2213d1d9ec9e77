//! Every output format on the same small repository, through the real binary: insta snapshots of
//! table, JSON, SARIF, Markdown and JUnit (absolute paths and the tool version redacted), plus
//! structural checks that snapshots alone would not make obvious — SARIF rule indexes and regions,
//! pseudo-artifacts for cluster objects and nodes, several outputs in one run, Markdown's size limit
//! and well-formed JUnit XML.

use std::path::Path;

use serde_json::Value;
use tempfile::TempDir;

use crate::common::{bin, fixture};

const LOG_AGENT: &str = "\
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
          volumeMounts:
            - name: docker-sock
              mountPath: /var/run/docker.sock
      volumes:
        - name: docker-sock
          hostPath:
            path: /var/run/docker.sock
            type: Socket
";

const BUILDER: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: builder
  namespace: ci
spec:
  selector:
    matchLabels:
      app: builder
  template:
    metadata:
      labels:
        app: builder
    spec:
      containers:
        - name: dind
          image: docker:24-dind
          securityContext:
            privileged: true
          volumeMounts:
            - name: data
              mountPath: /var/lib/docker
      volumes:
        - name: data
          emptyDir: {}
";

const LEGACY: &str = "\
apiVersion: v1
kind: Pod
metadata:
  name: legacy-exporter
  namespace: monitoring
spec:
  containers:
    - name: exporter
      image: example.com/exporter:0.9
  volumes:
    - name: sock
      hostPath:
        # dockershim-audit: ignore hostpath-docker-socket -- decommissioned with the old node pool
        path: /var/run/docker.sock
";

/// A script whose name has a space (URI encoding) and whose commands carry `<`, `&` and quotes
/// (escaping in every format).
const SCRIPT: &str = "\
#!/bin/sh
set -e
# Build and push the app image.
docker build -t registry.example.com/app:\"$TAG\" .
docker run --rm -e 'NOTE=<ok> & \"done\"' registry.example.com/app:\"$TAG\" true
";

/// The shared fixture: one error, two kinds of warning, a note, a suppressed finding, and a file
/// that cannot be parsed (so the scan is incomplete and every format shows coverage).
fn repo() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("deploy")).unwrap();
    std::fs::create_dir_all(root.join("scripts")).unwrap();
    std::fs::write(root.join("deploy/log-agent.yaml"), LOG_AGENT).unwrap();
    std::fs::write(root.join("deploy/builder.yaml"), BUILDER).unwrap();
    std::fs::write(root.join("deploy/legacy.yaml"), LEGACY).unwrap();
    std::fs::write(root.join("scripts/build image.sh"), SCRIPT).unwrap();
    std::fs::write(
        root.join("deploy/broken.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n spec: [unclosed\n",
    )
    .unwrap();
    dir
}

/// Runs `repo DIR --target-version 1.24 ARGS`; returns (exit code, stdout).
fn run_repo(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = bin().arg("repo").arg(dir).args(["--target-version", "1.24"]).args(args).output().unwrap();
    let code = out.status.code().unwrap_or(-1);
    assert_ne!(code, 2, "the tool failed to run: {}", String::from_utf8_lossy(&out.stderr));
    (code, String::from_utf8(out.stdout).unwrap())
}

fn format_of(dir: &Path, format: &str) -> String {
    let (code, out) = run_repo(dir, &["--format", format]);
    assert_eq!(code, 1, "the error finding trips the gate:\n{out}");
    out
}

/// Snapshot settings: the temporary directory and the tool version are redacted.
fn settings(dir: &Path) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    let version = regex::escape(env!("CARGO_PKG_VERSION"));
    s.add_filter(&regex::escape(&dir.display().to_string()), "[REPO]");
    s.add_filter(&format!(r#""(version|semanticVersion)": "{version}""#), r#""$1": "[VERSION]""#);
    s.add_filter(&format!(r"dockershim-audit {version}"), "dockershim-audit [VERSION]");
    s.set_prepend_module_to_snapshot(true);
    s
}

#[test]
fn table_snapshot() {
    let dir = repo();
    let out = format_of(dir.path(), "table");
    settings(dir.path()).bind(|| insta::assert_snapshot!("table", out));
}

#[test]
fn json_snapshot() {
    let dir = repo();
    let out = format_of(dir.path(), "json");
    settings(dir.path()).bind(|| insta::assert_snapshot!("json", out));
}

/// The SARIF snapshot keeps the full descriptor of the rules that fired and only the ids of the
/// others, so editing an unrelated rule's text does not churn it.
#[test]
fn sarif_snapshot() {
    let dir = repo();
    let mut v: Value = serde_json::from_str(&format_of(dir.path(), "sarif")).unwrap();
    let fired: Vec<String> =
        v["runs"][0]["results"].as_array().unwrap().iter().map(|r| r["ruleId"].as_str().unwrap().to_string()).collect();
    if let Some(rules) = v["runs"][0]["tool"]["driver"]["rules"].as_array_mut() {
        for r in rules.iter_mut() {
            if !fired.iter().any(|f| r["id"] == f.as_str()) {
                *r = serde_json::json!({ "id": r["id"] });
            }
        }
    }
    let out = serde_json::to_string_pretty(&v).unwrap();
    settings(dir.path()).bind(|| insta::assert_snapshot!("sarif", out));
}

#[test]
fn markdown_snapshot() {
    let dir = repo();
    let out = format_of(dir.path(), "markdown");
    settings(dir.path()).bind(|| insta::assert_snapshot!("markdown", out));
}

#[test]
fn junit_snapshot() {
    let dir = repo();
    let out = format_of(dir.path(), "junit");
    settings(dir.path()).bind(|| insta::assert_snapshot!("junit", out));
}

fn sarif_run(text: &str) -> Value {
    let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"));
    assert_eq!(v["version"], "2.1.0");
    assert!(v["$schema"].as_str().is_some_and(|s| s.contains("sarif-2.1.0")), "{}", v["$schema"]);
    assert_eq!(v["runs"].as_array().map(Vec::len), Some(1));
    v["runs"][0].clone()
}

/// Every result names its rule by id and by a matching index, has a level equal to its severity,
/// a location with a region, and our fingerprint.
fn check_results(run: &Value) {
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(!rules.is_empty());
    for r in rules {
        for key in ["id", "name", "shortDescription", "fullDescription", "help", "defaultConfiguration", "properties"] {
            assert!(!r[key].is_null(), "rule without {key}: {r}");
        }
        assert!(r["help"]["markdown"].as_str().is_some_and(|m| m.contains("Remediation")), "{r}");
    }
    for res in run["results"].as_array().unwrap() {
        let idx = res["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], res["ruleId"], "{res}");
        assert_eq!(res["level"], res["properties"]["severity"], "{res}");
        let loc = &res["locations"][0]["physicalLocation"];
        assert!(loc["artifactLocation"]["uri"].as_str().is_some_and(|u| !u.is_empty() && !u.contains(' ')), "{res}");
        assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        let region = &loc["region"];
        assert!(region["startLine"].as_u64().unwrap() >= 1);
        assert!(region["endColumn"].as_u64().unwrap() > region["startColumn"].as_u64().unwrap(), "{res}");
        assert_eq!(res["partialFingerprints"]["dockershimAudit/v1"].as_str().map(str::len), Some(24), "{res}");
    }
    assert!(run["originalUriBaseIds"]["%SRCROOT%"].is_object());
}

#[test]
fn sarif_results_point_at_rules_real_lines_and_encoded_uris() {
    let dir = repo();
    let run = sarif_run(&format_of(dir.path(), "sarif"));
    check_results(&run);
    let results = run["results"].as_array().unwrap();
    let sock = results.iter().find(|r| r["ruleId"] == "hostpath-docker-socket" && r["suppressions"].is_null()).unwrap();
    let loc = &sock["locations"][0];
    assert_eq!(loc["physicalLocation"]["artifactLocation"]["uri"], "deploy/log-agent.yaml");
    assert_eq!(loc["physicalLocation"]["region"]["startLine"], 24);
    assert_eq!(loc["physicalLocation"]["contextRegion"]["snippet"]["text"], "path: /var/run/docker.sock");
    assert_eq!(loc["logicalLocations"][0]["kind"], "daemonset");
    assert_eq!(loc["logicalLocations"][0]["fullyQualifiedName"], "logging/log-agent");
    assert_eq!(sock["level"], "error");
    let script = results.iter().find(|r| r["ruleId"] == "docker-cli-in-script").unwrap();
    assert_eq!(script["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "scripts/build%20image.sh");
    // The ignored finding is reported as suppressed, with the reason, not dropped.
    let suppressed: Vec<&Value> = results.iter().filter(|r| !r["suppressions"].is_null()).collect();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(suppressed[0]["suppressions"][0]["kind"], "inSource");
    assert!(suppressed[0]["suppressions"][0]["justification"].as_str().unwrap().contains("decommissioned"));
    // The unreadable file is a warning notification, and the run says it is incomplete.
    let notes = run["invocations"][0]["toolExecutionNotifications"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n["level"] == "warning" && n["message"]["text"].as_str().unwrap().contains("deploy/broken.yaml"))
    );
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
    assert_eq!(run["properties"]["complete"], false);
    assert_eq!(run["properties"]["verdict"], "BLOCKED");
}

/// See issue 3: findings without a file (cluster objects, nodes) still need a physical location
/// for GitHub, on a stable pseudo-artifact, plus logical locations naming the object.
#[test]
fn sarif_for_cluster_objects_uses_stable_pseudo_artifacts() {
    let out = bin()
        .args(["cluster", "--snapshot"])
        .arg(fixture("demo-cluster/snapshot.json"))
        .args(["--target-version", "1.24", "--format", "sarif"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let run = sarif_run(&String::from_utf8(out.stdout).unwrap());
    check_results(&run);
    let results = run["results"].as_array().unwrap();
    assert!(!results.is_empty());
    let mut saw_node = false;
    for res in results {
        let loc = &res["locations"][0];
        let uri = loc["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap();
        assert!(uri.starts_with("cluster/"), "{uri}");
        assert_eq!(loc["physicalLocation"]["region"]["startLine"], 1);
        let logical = &loc["logicalLocations"][0];
        let kind = logical["kind"].as_str().unwrap();
        assert_eq!(kind, kind.to_ascii_lowercase());
        let name = logical["name"].as_str().unwrap();
        assert!(
            uri.ends_with(&format!("/{kind}/{}", logical["fullyQualifiedName"].as_str().unwrap())),
            "{uri} vs {logical}"
        );
        assert!(uri.ends_with(name));
        saw_node |= kind == "node";
    }
    assert!(saw_node, "the demo cluster has docker nodes");
}

#[test]
fn sarif_for_node_files_puts_them_under_the_node() {
    let out = bin()
        .args(["node", "--root"])
        .arg(fixture("nodes/kubeadm-1.23-docker"))
        .args(["--target-version", "1.24", "--format", "sarif"])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let run = sarif_run(&String::from_utf8(out.stdout).unwrap());
    check_results(&run);
    let results = run["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for res in results {
        let loc = &res["locations"][0];
        let uri = loc["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap();
        assert!(uri.starts_with("node/acme-eu1-docker-2") && !uri.contains("//"), "{uri}");
        assert!(loc["logicalLocations"].as_array().unwrap().iter().any(|l| l["kind"] == "node"), "{loc}");
    }
}

/// Several outputs in one run: SARIF to a file, the table to standard output.
#[test]
fn sarif_to_a_file_and_table_to_stdout_in_one_run() {
    let dir = repo();
    let out_dir = tempfile::tempdir().unwrap();
    let sarif = out_dir.path().join("x.sarif");
    let (code, stdout) =
        run_repo(dir.path(), &["--format", "sarif", "-o", sarif.to_str().unwrap(), "--format", "table"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("1 ERROR") && stdout.contains("target Kubernetes 1.24"), "{stdout}");
    assert!(!stdout.trim_start().starts_with('{'), "the table, not SARIF, goes to stdout:\n{stdout}");
    let run = sarif_run(&std::fs::read_to_string(&sarif).unwrap());
    assert!(run["results"].as_array().is_some_and(|r| !r.is_empty()));
}

#[test]
fn markdown_and_junit_files_in_one_run_with_json_to_stdout() {
    let dir = repo();
    let out_dir = tempfile::tempdir().unwrap();
    let md = out_dir.path().join("summary.md");
    let xml = out_dir.path().join("report.xml");
    let (code, stdout) = run_repo(
        dir.path(),
        &[
            "--format",
            "markdown",
            "-o",
            md.to_str().unwrap(),
            "--format",
            "junit",
            "-o",
            xml.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["schema"], "dockershim-audit/v1");
    assert!(std::fs::read_to_string(md).unwrap().starts_with("## dockershim-audit: BLOCKED"));
    assert!(std::fs::read_to_string(xml).unwrap().starts_with("<?xml"));
}

#[test]
fn junit_is_well_formed_and_counts_add_up() {
    let dir = repo();
    let xml = format_of(dir.path(), "junit");
    check_well_formed(&xml);
    let count = |pat: &str| xml.matches(pat).count();
    let tests = count("<testcase ");
    assert!(
        xml.contains(&format!("<testsuites name=\"dockershim-audit repo (target Kubernetes 1.24)\" tests=\"{tests}\"")),
        "{xml}"
    );
    // Of four findings (one error, one warning, two notes) only the error is at the gate
    // (`--fail-on error`): it fails, the warning and the notes pass with their text in
    // `<system-out>`; the suppressed one is skipped, coverage errors (a file could not be read).
    assert_eq!(count("<failure "), 1, "{xml}");
    assert_eq!(count("<system-out>"), 3, "{xml}");
    assert_eq!(count("<skipped "), 1);
    assert_eq!(count("<error "), 1);
    assert!(xml.contains("&lt;ok&gt; &amp;"), "command text is escaped: {xml}");
    // Rules that found nothing pass.
    assert!(count("name=\"no findings\"/>") > 5);
}

#[test]
fn junit_failures_follow_fail_on() {
    let dir = repo();
    // One error, one warning (`docker run`), two notes (`docker build` with no context, dind).
    for (fail_on, failures, code) in [("error", 1, 1), ("warning", 2, 1), ("note", 4, 1)] {
        let (got, xml) = run_repo(dir.path(), &["--format", "junit", "--fail-on", fail_on]);
        assert_eq!(got, code, "--fail-on {fail_on}");
        check_well_formed(&xml);
        assert_eq!(xml.matches("<failure ").count(), failures, "--fail-on {fail_on}: {xml}");
        assert_eq!(xml.matches("<system-out>").count(), 4 - failures, "--fail-on {fail_on}");
    }
}

#[test]
fn junit_coverage_passes_when_the_scan_is_complete() {
    let xml = {
        let out = bin().args(["repo"]).arg(fixture("clean-repo")).args(["--format", "junit"]).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stdout).unwrap()
    };
    check_well_formed(&xml);
    assert!(xml.contains("failures=\"0\" errors=\"0\""), "{xml}");
    assert!(xml.contains("<testcase classname=\"dockershim-audit.coverage\" name=\"coverage\"/>"));
}

#[test]
fn markdown_for_a_clean_repo_says_so() {
    let out = bin().args(["repo"]).arg(fixture("clean-repo")).args(["--format", "markdown"]).output().unwrap();
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.starts_with("## dockershim-audit: READY (score 100/100)"), "{md}");
    assert!(md.contains("No findings"));
    assert!(!md.contains("<details>"));
}

/// A large scan still fits in one pull-request comment, with a note that it was cut.
#[test]
fn markdown_stays_under_githubs_comment_limit() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..600 {
        let text = LOG_AGENT.replace("name: log-agent", &format!("name: log-agent-{i}"));
        std::fs::write(dir.path().join(format!("agent-{i:03}.yaml")), text).unwrap();
    }
    let (code, md) = run_repo(dir.path(), &["--format", "markdown"]);
    assert_eq!(code, 1);
    assert!(md.chars().count() <= 65_535, "{} characters", md.chars().count());
    assert!(md.contains("Truncated to fit GitHub's 65535-character limit"), "{}", &md[..2000]);
    assert!(md.contains("**Target Kubernetes 1.24** (--target-version) · 600 errors"), "{}", &md[..400]);
}

/// A minimal XML well-formedness check: balanced tags, quoted attributes, known entities, no raw
/// `<` or `&` in text.
fn check_well_formed(xml: &str) {
    let body = xml.strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n").expect("XML declaration");
    let mut stack: Vec<String> = Vec::new();
    let mut rest = body;
    while let Some(lt) = rest.find('<') {
        check_text(&rest[..lt]);
        let gt = rest[lt..].find('>').map(|g| lt + g).expect("unclosed tag");
        let tag = &rest[lt + 1..gt];
        assert!(!tag.contains('<'), "`<` inside a tag: {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
        } else {
            let self_closing = tag.ends_with('/');
            let tag = tag.trim_end_matches('/');
            let (name, attrs) = tag.split_once(' ').unwrap_or((tag, ""));
            check_attrs(attrs);
            if !self_closing {
                stack.push(name.to_string());
            }
        }
        rest = &rest[gt + 1..];
    }
    check_text(rest);
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
}

fn check_attrs(mut attrs: &str) {
    while !attrs.trim().is_empty() {
        let eq = attrs.find("=\"").expect("attribute without a quoted value");
        let after = &attrs[eq + 2..];
        let end = after.find('"').expect("unterminated attribute");
        check_text(&after[..end]);
        attrs = &after[end + 1..];
    }
}

fn check_text(t: &str) {
    assert!(!t.contains('<'), "raw `<` in {t}");
    for (i, _) in t.match_indices('&') {
        let entity = &t[i..t[i..].find(';').map(|e| i + e + 1).expect("unterminated entity")];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].contains(&entity) || entity.starts_with("&#"),
            "unknown entity {entity}"
        );
    }
}
