//! Credentials never reach a message, and a credential the HTTP layer cannot carry is an error,
//! not a panic (issue 14, items 15 and 16). Each case runs the real binary against a loopback
//! address with a kubeconfig written here; nothing leaves 127.0.0.1.

use crate::common;

use std::path::Path;

/// Writes a kubeconfig for `server` whose user is `user_yaml` (indented under `user:`).
fn kubeconfig(dir: &Path, server: &str, user_yaml: &str) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n\
         contexts:\n- name: ctx\n  context:\n    cluster: c\n    user: u\ncurrent-context: ctx\n\
         users:\n- name: u\n  user:\n{user_yaml}"
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn run(kc: &Path) -> (i32, String, String) {
    let out = common::bin()
        .env(common::FAST_WAITS.0, common::FAST_WAITS.1)
        .args(["cluster", "--kubeconfig"])
        .arg(kc)
        .args(["--request-timeout", "2s", "--timeout", "10s"])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// An exec plugin script in `dir` that prints `stdout` and exits with `code`.
#[cfg(unix)]
fn plugin(dir: &Path, stdout: &str, code: i32) -> String {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join("plugin.sh");
    std::fs::write(&path, format!("#!/bin/sh\necho \"$VAULT_TOKEN\" >&2\nprintf '%s' '{stdout}'\nexit {code}\n"))
        .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

// See: issue 14, item 16 (an inline token with a trailing newline: exit 101 in the HTTP auth layer).
#[test]
fn an_inline_token_with_a_newline_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let refused = common::RefusedPort::new();
    let kc = kubeconfig(dir.path(), &refused.url(), "    token: \"s3cr3t-token\\n\"\n");
    let (code, _, stderr) = run(&kc);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("token contains characters an HTTP header cannot carry"), "{stderr}");
    assert!(!stderr.contains("s3cr3t") && !stderr.contains("panicked"), "{stderr}");
}

// See: issue 14, item 15 (the plugin's environment and stdout were printed) and item 16 (its
// token with a newline panicked).
#[cfg(unix)]
#[test]
fn a_failing_exec_plugin_shows_only_its_command_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let refused = common::RefusedPort::new();
    let server = format!("http://admin:hunter2@127.0.0.1:{}", refused.port);
    let exec = |command: &str| {
        format!(
            "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: {command}\n      \
             interactiveMode: Never\n      env:\n      - name: VAULT_TOKEN\n        value: s.vault-secret\n"
        )
    };
    let failing = plugin(dir.path(), r#"{"status":{"token":"leaked-token"}}"#, 3);
    let (code, _, stderr) = run(&kubeconfig(dir.path(), &server, &exec(&failing)));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("the exec credential plugin `plugin.sh` failed with exit status 3"), "{stderr}");
    for secret in ["s.vault-secret", "leaked-token", "VAULT_TOKEN", "hunter2"] {
        assert!(!stderr.contains(secret), "{secret}: {stderr}");
    }

    let newline = plugin(
        dir.path(),
        r#"{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"tok\n"}}"#,
        0,
    );
    let (code, _, stderr) = run(&kubeconfig(dir.path(), &server, &exec(&newline)));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("the exec credential plugin returned"), "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("s.vault-secret"), "{stderr}");
}

// See: issue 14, item 15 (a password in the server URL was printed in errors).
#[test]
fn a_password_in_the_server_url_is_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let refused = common::RefusedPort::new();
    let port = refused.port;
    let kc = kubeconfig(dir.path(), &format!("http://admin:hunter2@127.0.0.1:{port}"), "    token: fine\n");
    let (code, _, stderr) = run(&kc);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(&format!("http://127.0.0.1:{port}")), "{stderr}");
    assert!(!stderr.contains("hunter2") && !stderr.contains("admin"), "{stderr}");
}

// A kubeconfig that does not parse is named with its line, without quoting it (it holds tokens).
#[test]
fn a_broken_kubeconfig_is_not_quoted() {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(&kc, "apiVersion: v1\nusers:\n- name: u\n  user:\n    token: \"secret-tok\" trailing\n").unwrap();
    let (code, _, stderr) = run(&kc);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("cannot read kubeconfig"), "{stderr}");
    assert!(!stderr.contains("secret-tok"), "{stderr}");
}
