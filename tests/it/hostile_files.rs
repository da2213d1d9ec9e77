//! Hostile node roots and repositories (issue 14, files and roots): links out of the root, FIFOs,
//! devices, unreadable directories, NUL bytes, UTF-16, ignore files, odd file names, and a
//! repository's own config and rules. Each generator builds a small tree in a temporary directory;
//! nothing large is checked in. A run must end, never print what lies outside what it was asked to
//! read, and never look complete when it could not see.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

/// Upper bound for one run: a hang fails the test instead of blocking the suite.
const LIMIT: Duration = Duration::from_secs(120);

fn run(args: &[&str]) -> (i32, Value, String) {
    let out = Command::cargo_bin("dockershim-audit").unwrap().args(args).timeout(LIMIT).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), v, stderr)
}

fn node(root: &Path) -> (i32, Value, String) {
    run(&["node", "--root", root.to_str().unwrap(), "--format", "json"])
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo {path:?}");
}

fn write(path: &Path, text: impl AsRef<[u8]>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A node root next to a shadow-like file outside it.
fn node_root() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("shadow"), "root:$6$TOPSECRETHASH:19000:0:99999:7:::\n");
    let root = dir.path().join("root");
    write(&root.join("etc/cron.d/prune"), "0 3 * * * root docker system prune -af\n");
    (dir, root)
}

fn gaps(v: &Value) -> Vec<String> {
    v["coverage"]["gaps"].as_array().map(|a| a.iter().map(|g| g.to_string()).collect()).unwrap_or_default()
}

#[cfg(unix)]
#[test]
fn node_hostname_linked_out_of_the_root_is_never_read() {
    let (dir, root) = node_root();
    // A relative link climbing out of the root, and an absolute one to the host's shadow file.
    std::os::unix::fs::symlink("../../shadow", root.join("etc/hostname")).unwrap();
    let (code, v, stderr) = node(&root);
    assert_eq!(code, 0, "{stderr}");
    let all = v.to_string();
    assert!(!all.contains("TOPSECRET") && !all.contains("root:$6"), "{all}");
    std::fs::remove_file(root.join("etc/hostname")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("shadow"), root.join("etc/hostname")).unwrap();
    let (_, v, _) = node(&root);
    assert!(!v.to_string().contains("TOPSECRET"), "{v}");
}

#[cfg(unix)]
#[test]
fn node_fifos_and_devices_never_hang_and_names_lose_control_characters() {
    let (_dir, root) = node_root();
    mkfifo(&root.join("etc/hostname"));
    mkfifo(&root.join("etc/cron.d/zz-fifo"));
    let (code, v, stderr) = node(&root);
    assert_eq!(code, 0, "{stderr}");
    let skipped = v["coverage"]["skipped"].to_string();
    assert!(skipped.contains("/etc/cron.d/zz-fifo") && skipped.contains("FIFO"), "{skipped}");
    // A hostname carrying terminal escapes is a name without them.
    std::fs::remove_file(root.join("etc/hostname")).unwrap();
    write(&root.join("etc/hostname"), "evil\x1b]0;owned\x07-node\n\nsecond line\n");
    let (_, v, _) = node(&root);
    assert_eq!(v["findings"][0]["location"]["node"], "evil]0;owned-node");
}

#[cfg(unix)]
#[test]
fn node_unreadable_places_are_gaps_not_ready() {
    // A file where a directory is expected: listing it fails with "not a directory".
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    write(&root.join("etc/hostname"), "n1\n");
    write(&root.join("etc/cron.d"), "not a directory\n");
    let (code, v, stderr) = node(&root);
    assert_eq!(code, 3, "{stderr} {v}");
    assert!(gaps(&v).iter().any(|g| g.contains("/etc/cron.d")), "{v}");
}

/// As an unprivileged user (when `setpriv` is there): a 0700 directory the user cannot list is a
/// gap naming it, where root reads it.
#[cfg(unix)]
#[test]
fn node_permission_denied_is_a_gap_for_an_unprivileged_user() {
    use std::os::unix::fs::PermissionsExt;
    let setpriv = Path::new("/usr/bin/setpriv");
    // SAFETY: geteuid has no preconditions.
    if !setpriv.exists() || unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root and setpriv to run as another user");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let root = dir.path().join("root");
    write(&root.join("etc/hostname"), "n1\n");
    write(&root.join("var/lib/kubelet/kubeadm-flags.env"), "KUBELET_KUBEADM_ARGS=\"--network-plugin=cni\"\n");
    std::fs::set_permissions(root.join("var/lib/kubelet"), std::fs::Permissions::from_mode(0o700)).unwrap();
    write(&root.join("etc/cron.d/job"), "0 3 * * * root docker ps\n");
    std::fs::set_permissions(root.join("etc/cron.d"), std::fs::Permissions::from_mode(0o700)).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("dockershim-audit");
    let out = std::process::Command::new(setpriv)
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&bin)
        .args(["node", "--root", root.to_str().unwrap(), "--format", "json", "--target-version", "1.24"])
        .output()
        .unwrap();
    if !out.status.success() && out.stdout.is_empty() {
        eprintln!("skipped: could not run as nobody: {}", String::from_utf8_lossy(&out.stderr));
        return;
    }
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(3), "{v}");
    let g = gaps(&v).join("\n");
    assert!(g.contains("/var/lib/kubelet/kubeadm-flags.env") && g.contains("ermission denied"), "{g}");
    assert!(g.contains("/etc/cron.d"), "{g}");
}

fn repo(args: &[&str]) -> (i32, Value, String) {
    let mut all = vec!["repo"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    run(&all)
}

fn rule_paths(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .map(|a| a.iter().map(|f| format!("{} {}", f["ruleId"].as_str().unwrap(), f["location"]["path"])).collect())
        .unwrap_or_default()
}

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: builder\nspec:\n  containers:\n    - name: b\n      image: docker:24\n  volumes:\n    - name: sock\n      hostPath:\n        path: /var/run/docker.sock\n";

#[cfg(unix)]
#[test]
fn repo_reads_a_fifo_or_stdin_as_a_stream_and_never_says_ready_having_read_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("63");
    mkfifo(&fifo);
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, POD).unwrap())
    };
    let (code, v, stderr) = repo(&[fifo.to_str().unwrap()]);
    writer.join().unwrap();
    assert_eq!(code, 1, "{stderr}");
    assert!(rule_paths(&v).iter().any(|r| r.starts_with("hostpath-docker-socket")), "{v}");
    // Standard input, as `repo /dev/stdin < pod.yaml` or a pipe.
    let out = Command::cargo_bin("dockershim-audit")
        .unwrap()
        .args(["repo", "/dev/stdin", "--format", "json"])
        .write_stdin(POD)
        .timeout(LIMIT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    // A stream of unknown kind, or an endless one, is a gap (exit 3), not READY.
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, "just some words\n").unwrap())
    };
    let (code, v, _) = repo(&[fifo.to_str().unwrap()]);
    writer.join().unwrap();
    assert_eq!(code, 3, "{v}");
    let (code, v, _) = repo(&["/dev/zero", "--max-file-size", "4096"]);
    assert_eq!(code, 3, "{v}");
    assert!(gaps(&v).iter().any(|g| g.contains("/dev/zero") && g.contains("larger than 4096")), "{v}");
}

#[cfg(unix)]
#[test]
fn repo_fifos_inside_a_tree_are_listed_and_never_opened() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("deploy/pod.yaml"), POD);
    mkfifo(&dir.path().join("deploy/trap.yaml"));
    let (code, v, stderr) = repo(&[dir.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    let skipped = v["coverage"]["skipped"].to_string();
    assert!(skipped.contains("deploy/trap.yaml") && skipped.contains("FIFO"), "{skipped}");
}

#[test]
fn repo_stray_nul_utf16_and_binaries_are_read_or_listed() {
    let dir = tempfile::tempdir().unwrap();
    // bash runs this script fine: the NUL sits in a comment.
    write(&dir.path().join("ci/build.sh"), b"#!/bin/bash\n# helper \0 for CI\ndocker build -t app .\n");
    // UTF-16LE with a BOM, as Windows editors save it.
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend("#!/bin/sh\ndocker push app\n".encode_utf16().flat_map(u16::to_le_bytes));
    write(&dir.path().join("ci/push.sh"), utf16);
    // A real binary is skipped, and named.
    write(&dir.path().join("tools/helper.sh"), b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0>\0\x01\0\0\0".repeat(16));
    let (_, v, stderr) = repo(&[dir.path().to_str().unwrap()]);
    let found = rule_paths(&v).join("\n");
    assert!(found.contains("ci/build.sh"), "NUL byte hid the script: {found} {stderr}");
    assert!(found.contains("ci/push.sh"), "UTF-16 script skipped: {found}");
    let skipped = v["coverage"]["skipped"].to_string();
    assert!(skipped.contains("tools/helper.sh") && skipped.contains("binary"), "{skipped}");
}

/// A Git index (version 2) listing `paths`, as `git add` writes it.
fn git_index(paths: &[&str]) -> Vec<u8> {
    let mut idx = b"DIRC\0\0\0\x02".to_vec();
    idx.extend_from_slice(&(paths.len() as u32).to_be_bytes());
    let mut sorted = paths.to_vec();
    sorted.sort();
    for p in sorted {
        let mut e = vec![0u8; 40];
        e.extend_from_slice(&[0x11; 20]);
        e.extend_from_slice(&(p.len() as u16).to_be_bytes());
        e.extend_from_slice(p.as_bytes());
        let len = e.len();
        e.extend(std::iter::repeat_n(0, 8 - len % 8));
        idx.extend(e);
    }
    idx.extend_from_slice(&[0; 20]);
    idx
}

#[test]
fn repo_ignore_files_never_hide_tracked_files_and_hidden_ones_are_named() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("deploy/pod.yaml"), POD);
    write(&dir.path().join("scratch/pod.yaml"), POD);
    // A hostile `.ignore` (honoured by ripgrep-style walkers) hides the deployment.
    write(&dir.path().join(".ignore"), "deploy/\nscratch/\n");
    let (code, v, _) = repo(&[dir.path().to_str().unwrap()]);
    // Nothing left to analyse: "nothing to audit" (exit 3), never a clean READY.
    assert_eq!(code, 3, "{v}");
    let skipped = v["coverage"]["skipped"].to_string();
    assert!(skipped.contains("deploy/pod.yaml") && skipped.contains("scratch/pod.yaml"), "not listed: {skipped}");
    // In a Git work tree that tracks deploy/pod.yaml, it is read; untracked scratch/ stays hidden.
    write(&dir.path().join(".git/index"), git_index(&[".ignore", "deploy/pod.yaml"]));
    let (code, v, _) = repo(&[dir.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{v}");
    let found = rule_paths(&v).join("\n");
    assert!(found.contains("deploy/pod.yaml") && !found.contains("scratch/"), "{found}");
    // Scanning a subdirectory of the work tree names paths as the index does.
    write(&dir.path().join("deploy/.gitignore"), "*.yaml\n");
    let (code, v, _) = repo(&[dir.path().join("deploy").to_str().unwrap()]);
    assert_eq!(code, 1, "{v}");
}

#[cfg(unix)]
#[test]
fn repo_backslash_in_a_unix_file_name_stays() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("ci/odd\\name.sh"), "#!/bin/sh\ndocker build .\n");
    let (_, v, _) = repo(&[dir.path().to_str().unwrap()]);
    let found = rule_paths(&v).join("\n");
    assert!(found.contains(r#""ci/odd\\name.sh""#), "{found}");
}

/// A repository next to a secret file outside it.
fn repo_with_secret() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("shadow"), "root:$6$TOPSECRETHASH:19000:0:99999:7:::\nkey: [unclosed\n");
    write(&dir.path().join("outside-rules/leak.yaml"), "id: TOPSECRET-RULE\n  bad: [indent\n");
    let repo = dir.path().join("repo");
    write(&repo.join("deploy/pod.yaml"), POD);
    (dir, repo)
}

#[cfg(unix)]
#[test]
fn repo_config_linked_outside_is_refused_without_quoting_it() {
    let (dir, repo) = repo_with_secret();
    std::os::unix::fs::symlink(dir.path().join("shadow"), repo.join(".dockershim-audit.yaml")).unwrap();
    let (code, _, stderr) = run(&["repo", repo.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(!stderr.contains("TOPSECRET") && stderr.contains("outside"), "{stderr}");
    // A config inside whose `rules:` leaves the repository.
    std::fs::remove_file(repo.join(".dockershim-audit.yaml")).unwrap();
    write(&repo.join(".dockershim-audit.yaml"), "rules: ../outside-rules\n");
    let (code, _, stderr) = run(&["repo", repo.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(!stderr.contains("TOPSECRET"), "{stderr}");
    // A rules directory inside whose file links out.
    write(&repo.join(".dockershim-audit.yaml"), "rules: policy\n");
    std::fs::create_dir_all(repo.join("policy")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("outside-rules/leak.yaml"), repo.join("policy/leak.yaml")).unwrap();
    let (code, _, stderr) = run(&["repo", repo.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(!stderr.contains("TOPSECRET") && stderr.contains("outside"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn fifos_and_devices_as_config_or_rules_are_errors_not_hangs() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("repo/deploy/pod.yaml"), POD);
    let fifo = dir.path().join("config.yaml");
    mkfifo(&fifo);
    let repo = dir.path().join("repo");
    let (code, _, stderr) = run(&["repo", repo.to_str().unwrap(), "--config", fifo.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("FIFO"), "{stderr}");
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    mkfifo(&rules.join("trap.yaml"));
    std::os::unix::fs::symlink("/dev/zero", rules.join("zero.yaml")).unwrap();
    let (code, _, stderr) = run(&["repo", repo.to_str().unwrap(), "--rules", rules.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("trap.yaml") && stderr.contains("zero.yaml"), "{stderr}");
}

#[test]
fn a_repository_rule_replacing_a_built_in_is_listed_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    write(&repo.join("deploy/pod.yaml"), POD);
    write(&repo.join(".dockershim-audit.yaml"), "rules: policy\n");
    let builtin =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/docker-in-docker.yaml")).unwrap();
    write(&repo.join("policy/docker-in-docker.yaml"), builtin);
    let r = repo.to_str().unwrap();
    let (_, v, stderr) = run(&["repo", r, "--format", "json"]);
    let o = &v["coverage"]["ruleOverrides"][0];
    assert_eq!((o["id"].as_str(), o["kind"].as_str()), (Some("docker-in-docker"), Some("rule")), "{v} {stderr}");
    let (_, sarif, _) = run(&["repo", r, "--format", "sarif"]);
    let notes = sarif["runs"][0]["invocations"][0]["toolConfigurationNotifications"].to_string();
    assert!(notes.contains("rule-override") && notes.contains("docker-in-docker"), "{notes}");
    let out = Command::cargo_bin("dockershim-audit").unwrap().args(["repo", r]).timeout(LIMIT).output().unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("built-in rule `docker-in-docker` replaced by"), "{table}");
    for format in ["markdown", "html"] {
        let out = Command::cargo_bin("dockershim-audit")
            .unwrap()
            .args(["repo", r, "--format", format])
            .timeout(LIMIT)
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&out.stdout).contains("replaced by"), "{format}");
    }
}
