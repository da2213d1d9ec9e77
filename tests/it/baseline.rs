//! Baselines and fingerprints (the tool run in-process; `baseline write` as the real binary): `baseline write FILE PATH...` records the
//! current findings, `--baseline FILE` reports and fails only on new ones and counts the fixed,
//! and fingerprints stay the same when unrelated lines move but differ between findings.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tempfile::TempDir;

use crate::common::{bin, fixture, run_in_process};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            copy_dir(&entry.path(), &target);
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A copy of the demo repository in a temp dir (`<tmp>/repo`), with room for the baseline file
/// beside it.
fn demo_copy() -> (TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    copy_dir(&fixture("demo-repo"), &repo);
    let baseline = tmp.path().join("baseline.json");
    (tmp, repo, baseline)
}

/// Runs `repo PATH --format json ARGS` in-process; returns (exit code, document).
fn scan(repo: &Path, args: &[&str]) -> (i32, Value) {
    let mut argv = vec!["repo", repo.to_str().unwrap(), "--target-version", "1.24", "--format", "json"];
    argv.extend_from_slice(args);
    let (code, out) = run_in_process(&argv);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("bad JSON ({e}), exit {code}: {out}"));
    (code, v)
}

fn write_baseline(baseline: &Path, repo: &Path) {
    let out =
        bin().args(["baseline", "write"]).arg(baseline).arg(repo).args(["--target-version", "1.24"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

fn findings(v: &Value) -> &Vec<Value> {
    v["findings"].as_array().unwrap()
}

const NEW_AGENT: &str = "\
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: new-agent
  namespace: monitoring
spec:
  selector:
    matchLabels:
      app: new-agent
  template:
    metadata:
      labels:
        app: new-agent
    spec:
      containers:
        - name: agent
          image: example.com/new-agent:1.0
      volumes:
        - name: sock
          hostPath:
            path: /var/run/docker.sock
";

/// See issue 3: with a baseline, only a newly added finding is reported and trips the gate.
#[test]
fn baseline_run_fails_only_on_a_newly_added_finding() {
    let (_tmp, repo, baseline) = demo_copy();
    let (code, before) = scan(&repo, &[]);
    assert_eq!(code, 1, "the demo repo trips the gate without a baseline");
    let total = findings(&before).len();
    assert!(total > 10);

    write_baseline(&baseline, &repo);
    let recorded: Value = serde_json::from_str(&std::fs::read_to_string(&baseline).unwrap()).unwrap();
    assert_eq!(recorded["schema"], "dockershim-audit/baseline/v1");
    assert_eq!(recorded["findings"].as_array().unwrap().len(), total);

    let b = baseline.to_str().unwrap();
    let (code, same) = scan(&repo, &["--baseline", b]);
    assert_eq!(code, 0, "nothing new: {:#}", same["findings"]);
    assert!(findings(&same).is_empty());
    assert_eq!(same["summary"]["baseline"]["unchanged"], total);
    assert_eq!(same["summary"]["baseline"]["new"], 0);
    assert_eq!(same["summary"]["baseline"]["fixed"], 0);

    std::fs::write(repo.join("manifests/new-agent.yaml"), NEW_AGENT).unwrap();
    let (code, after) = scan(&repo, &["--baseline", b]);
    assert_eq!(code, 1, "the new finding trips the gate");
    let new = findings(&after);
    assert_eq!(new.len(), 1, "exactly the new finding: {new:#?}");
    assert_eq!(new[0]["ruleId"], "hostpath-docker-socket");
    assert_eq!(new[0]["location"]["path"], "manifests/new-agent.yaml");
    assert_eq!(new[0]["location"]["line"], 21);
    assert_eq!(after["summary"]["baseline"]["new"], 1);
    assert_eq!(after["summary"]["baseline"]["unchanged"], total);

    // The other formats show only the new finding too.
    let out = bin()
        .arg("repo")
        .arg(&repo)
        .args(["--target-version", "1.24", "--baseline", b, "--format", "sarif"])
        .output()
        .unwrap();
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["baselineState"], "new");
    assert_eq!(sarif["runs"][0]["properties"]["baseline"]["new"], 1);
}

#[test]
fn removed_findings_are_counted_as_fixed() {
    let (_tmp, repo, baseline) = demo_copy();
    let (_, before) = scan(&repo, &[]);
    write_baseline(&baseline, &repo);
    let gone = "scripts/cleanup-images.sh";
    let in_file = findings(&before).iter().filter(|f| f["location"]["path"] == gone).count();
    assert!(in_file > 0, "{gone} has findings");
    std::fs::remove_file(repo.join(gone)).unwrap();

    let (code, after) = scan(&repo, &["--baseline", baseline.to_str().unwrap()]);
    assert_eq!(code, 0, "{:#}", after["findings"]);
    assert_eq!(after["summary"]["baseline"]["fixed"], in_file);
    assert_eq!(after["summary"]["baseline"]["unchanged"], findings(&before).len() - in_file);

    let table = bin()
        .arg("repo")
        .arg(&repo)
        .args(["--target-version", "1.24", "--baseline", baseline.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.contains(&format!("{in_file} fixed")), "{text}");
}

#[test]
fn a_missing_baseline_file_is_a_usage_error() {
    let (tmp, repo, _) = demo_copy();
    let out = bin().arg("repo").arg(&repo).arg("--baseline").arg(tmp.path().join("nope.json")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.json"));
}

fn fingerprints(v: &Value) -> Vec<(String, String, u64)> {
    findings(v)
        .iter()
        .map(|f| {
            (
                f["fingerprint"].as_str().unwrap().to_string(),
                f["location"]["path"].as_str().unwrap_or("").to_string(),
                f["location"]["line"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// See issue 3: inserting lines above a finding moves it but keeps its fingerprint, so baselines
/// and code-scanning alerts follow it.
#[test]
fn fingerprints_survive_lines_inserted_above_a_finding() {
    let (_tmp, repo, baseline) = demo_copy();
    write_baseline(&baseline, &repo);
    let file = repo.join("manifests/monitoring/datadog-agent.yaml");
    let (_, before) = scan(&repo, &[]);
    let before_fp: Vec<_> =
        fingerprints(&before).into_iter().filter(|(_, p, _)| p == "manifests/monitoring/datadog-agent.yaml").collect();
    assert!(!before_fp.is_empty());

    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("# Owned by the observability team.\n# Reviewed for the 1.24 upgrade.\n\n{text}"))
        .unwrap();
    let (_, after) = scan(&repo, &[]);
    let after_fp: Vec<_> =
        fingerprints(&after).into_iter().filter(|(_, p, _)| p == "manifests/monitoring/datadog-agent.yaml").collect();
    assert_eq!(before_fp.len(), after_fp.len());
    for ((fp_a, _, line_a), (fp_b, _, line_b)) in before_fp.iter().zip(&after_fp) {
        assert_eq!(fp_a, fp_b, "fingerprint changed when lines were inserted above");
        assert_eq!(line_a + 3, *line_b, "the finding moved down three lines");
    }
    let (code, v) = scan(&repo, &["--baseline", baseline.to_str().unwrap()]);
    assert_eq!(code, 0, "moved findings are not new: {:#}", v["findings"]);
}

#[test]
fn fingerprints_differ_between_findings() {
    let (_tmp, repo, _) = demo_copy();
    let (_, v) = scan(&repo, &[]);
    let all = fingerprints(&v);
    let unique: BTreeSet<&String> = all.iter().map(|(fp, _, _)| fp).collect();
    assert_eq!(unique.len(), all.len(), "every finding has its own fingerprint");

    // The same evidence in another file, and a different socket in the same file, are different findings.
    std::fs::write(repo.join("manifests/new-agent.yaml"), NEW_AGENT).unwrap();
    std::fs::write(repo.join("manifests/other-agent.yaml"), NEW_AGENT.replace("name: new-agent", "name: other-agent"))
        .unwrap();
    std::fs::write(
        repo.join("manifests/run-agent.yaml"),
        NEW_AGENT.replace("/var/run/docker.sock", "/run/docker.sock").replace("name: new-agent", "name: run-agent"),
    )
    .unwrap();
    let (_, v) = scan(&repo, &[]);
    let fp_of = |path: &str| -> String {
        findings(&v)
            .iter()
            .find(|f| f["location"]["path"] == path && f["ruleId"] == "hostpath-docker-socket")
            .and_then(|f| f["fingerprint"].as_str())
            .unwrap_or_else(|| panic!("no socket finding in {path}"))
            .to_string()
    };
    let a = fp_of("manifests/new-agent.yaml");
    let b = fp_of("manifests/other-agent.yaml");
    let c = fp_of("manifests/run-agent.yaml");
    assert_ne!(a, b);
    assert_ne!(a, c);
    assert_ne!(b, c);
}

// See: issue 14, item 21 (`baseline write` on an incomplete scan exited 0 with an empty baseline).
#[test]
fn baseline_write_refuses_an_incomplete_scan_and_writes_nothing() {
    let (tmp, repo, baseline) = demo_copy();
    std::fs::write(repo.join("broken.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: [unclosed\n").unwrap();
    let out = bin().args(["baseline", "write"]).arg(&baseline).arg(&repo).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("not written") && stderr.contains("broken.yaml"), "{stderr}");
    assert!(!baseline.exists(), "nothing is written");
    // Nothing to audit is incomplete too.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = bin().args(["baseline", "write"]).arg(&baseline).arg(&empty).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!baseline.exists());
}

/// `CMD ARGS --format json -o OUT` then `baseline write BASE --from OUT`, as the real binary.
fn baseline_of_a_result(dir: &Path, scan: &[&str]) -> (PathBuf, Value) {
    let result = dir.join("result.json");
    let out = bin().args(scan).args(["--format", "json", "-o"]).arg(&result).output().unwrap();
    assert_ne!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let base = dir.join("base.json");
    let out = bin().args(["baseline", "write"]).arg(&base).arg("--from").arg(&result).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&std::fs::read(&result).unwrap()).unwrap();
    (base, doc)
}

/// `cluster` and `node` findings are baselined from their JSON results: the next run reports
/// nothing new, counts every known finding as unchanged, and the verdict says they remain.
/// See: issue 13 ("`baseline write` works for `cluster` and `node` results too").
#[test]
fn cluster_and_node_results_are_baselined_from_their_json_results() {
    let tmp = tempfile::tempdir().unwrap();
    // The demo snapshot holds configz for 2 of its 9 nodes, so its scan is incomplete; the same
    // cluster captured without configz (as a kubectl List would be) is complete.
    let mut doc: Value =
        serde_json::from_slice(&std::fs::read(fixture("demo-cluster/snapshot.json")).unwrap()).unwrap();
    doc["configz"] = serde_json::json!({});
    let complete = tmp.path().join("snapshot.json");
    std::fs::write(&complete, serde_json::to_vec(&doc).unwrap()).unwrap();
    let snapshot = complete.display().to_string();
    let (base, before) = baseline_of_a_result(tmp.path(), &["cluster", "--snapshot", &snapshot]);
    let known = findings(&before).len();
    assert!(known > 10, "the demo cluster has findings to accept: {known}");
    let out =
        bin().args(["cluster", "--snapshot", &snapshot, "--format", "json", "--baseline"]).arg(&base).output().unwrap();
    let after: Value = serde_json::from_slice(&out.stdout).unwrap();
    let b = &after["summary"]["baseline"];
    assert_eq!((b["new"].as_u64(), b["unchanged"].as_u64()), (Some(0), Some(known as u64)), "{b}");
    assert!(findings(&after).is_empty());
    assert!(
        after["summary"]["verdictText"].as_str().unwrap().contains("remain in the baseline"),
        "{}",
        after["summary"]
    );
    assert_eq!(out.status.code(), Some(0), "nothing new, and the scan saw everything");
    // The result of an incomplete scan cannot make a baseline: nothing written, exit 3.
    let incomplete = tmp.path().join("incomplete.json");
    bin()
        .args(["cluster", "--snapshot"])
        .arg(fixture("demo-cluster/snapshot.json"))
        .arg("-o")
        .arg(&incomplete)
        .output()
        .unwrap();
    let refused = tmp.path().join("refused.json");
    let out = bin().args(["baseline", "write"]).arg(&refused).arg("--from").arg(&incomplete).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("incomplete scan"));
    assert!(!refused.exists());

    // A node, baselined from one mount point and audited at another: the same fingerprints.
    let (base, before) =
        baseline_of_a_result(tmp.path(), &["node", "--root", fixture("nodes/kubeadm-1.23-docker").to_str().unwrap()]);
    let elsewhere = tmp.path().join("mnt/node");
    copy_dir(&fixture("nodes/kubeadm-1.23-docker"), &elsewhere);
    let out = bin()
        .args(["node", "--root", elsewhere.to_str().unwrap(), "--format", "json", "--baseline"])
        .arg(&base)
        .output()
        .unwrap();
    let after: Value = serde_json::from_slice(&out.stdout).unwrap();
    let b = &after["summary"]["baseline"];
    assert_eq!((b["new"].as_u64(), b["unchanged"].as_u64()), (Some(0), Some(findings(&before).len() as u64)), "{b}");
    assert_eq!(out.status.code(), Some(0), "every node finding is known");
}

#[test]
fn a_result_written_under_a_baseline_cannot_make_a_baseline() {
    let tmp = tempfile::tempdir().unwrap();
    let (repo, base) = (fixture("demo-repo"), tmp.path().join("base.json"));
    write_baseline(&base, &repo);
    let result = tmp.path().join("filtered.json");
    let out = bin().arg("repo").arg(&repo).arg("--baseline").arg(&base).arg("-o").arg(&result).output().unwrap();
    assert_ne!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let out =
        bin().args(["baseline", "write"]).arg(tmp.path().join("b2.json")).arg("--from").arg(&result).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("was written with --baseline") && err.contains("new finding(s)"), "{err}");
    assert!(!tmp.path().join("b2.json").exists());
}

/// A file of another kind given as `--baseline` says what it is and what was expected.
/// See: issue 13 ("passing a JSON result as a baseline says what the file is").
#[test]
fn a_result_snapshot_or_sarif_given_as_baseline_says_what_it_is() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = fixture("demo-repo");
    let result = tmp.path().join("result.json");
    let sarif = tmp.path().join("result.sarif");
    bin().arg("repo").arg(&repo).arg("-o").arg(&result).arg("-o").arg(&sarif).output().unwrap();
    let with = |baseline: &Path| {
        let out = bin().arg("repo").arg(&repo).arg("--baseline").arg(baseline).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(out.stdout.is_empty());
        String::from_utf8(out.stderr).unwrap()
    };
    let err = with(&result);
    assert!(err.contains("is the JSON result of `repo` (--format json), not a baseline"), "{err}");
    assert!(err.contains("expected a baseline file (schema `dockershim-audit/baseline/v1`)"), "{err}");
    assert!(err.contains(&format!("baseline write BASELINE.json --from {}", result.display())), "{err}");
    let err = with(&fixture("demo-cluster/snapshot.json"));
    assert!(err.contains("is a cluster snapshot"), "{err}");
    let err = with(&sarif);
    assert!(err.contains("is a SARIF log"), "{err}");
    // And the other way round: a baseline is not a result.
    let base = tmp.path().join("base.json");
    write_baseline(&base, &repo);
    let out =
        bin().args(["baseline", "write"]).arg(tmp.path().join("x.json")).arg("--from").arg(&base).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a baseline"));
}

#[test]
fn baseline_is_refused_where_no_scan_is_scored() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base.json");
    write_baseline(&base, &fixture("demo-repo"));
    let result = tmp.path().join("r.json");
    bin().arg("repo").arg(fixture("demo-repo")).arg("-o").arg(&result).output().unwrap();
    let out = bin().arg("report").arg(&result).arg("--baseline").arg(&base).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--baseline does not apply to `report`"));
    let out = bin().args(["rules", "list", "--baseline"]).arg(&base).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
