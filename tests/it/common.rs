//! Helpers shared by the integration tests: the tool's binary, the fixtures, and reading the
//! tool's JSON results.
//!
//! Place in the pipeline: test support only.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// The real binary, with colour off.
pub fn bin() -> Command {
    let mut c = Command::cargo_bin("dockershim-audit").unwrap();
    c.env("NO_COLOR", "1");
    c
}

/// The environment variable and value that make a run against the loopback fake API server wait
/// a twentieth of the usual retry back-offs and poll intervals (README, "Auditing a cluster"). Set
/// by the tests whose runs would otherwise sit in back-offs; not by those that test the bounds
/// on time themselves (`hostile_server`).
pub const FAST_WAITS: (&str, &str) = (dockershim_audit::collect::cluster::fetch::WAIT_SCALE_ENV, "0.05");

/// A loopback port held for the life of the value and refusing every connection: the socket is
/// bound but never listens, so nothing else (another test's fake API server) can take the port
/// while a test expects it to be unreachable. Binding a listener and dropping it leaves a window
/// in which a parallel test's server may bind the same port and answer.
pub struct RefusedPort {
    fd: libc::c_int,
    /// The port number.
    pub port: u16,
}

impl RefusedPort {
    pub fn new() -> RefusedPort {
        // SAFETY: plain socket calls on a descriptor this value owns and closes in Drop; the
        // sockaddr is fully initialised and its length passed with it.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
            assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
            let mut addr: libc::sockaddr_in = std::mem::zeroed();
            addr.sin_family = libc::AF_INET as libc::sa_family_t;
            addr.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
            addr.sin_port = 0;
            let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            let rc = libc::bind(fd, (&raw const addr).cast(), len);
            assert!(rc == 0, "bind: {}", std::io::Error::last_os_error());
            let mut bound: libc::sockaddr_in = std::mem::zeroed();
            let mut blen = len;
            let rc = libc::getsockname(fd, (&raw mut bound).cast(), &mut blen);
            assert!(rc == 0, "getsockname: {}", std::io::Error::last_os_error());
            RefusedPort { fd, port: u16::from_be(bound.sin_port) }
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for RefusedPort {
    fn drop(&mut self) {
        // SAFETY: the descriptor was opened by `new` and is closed once.
        unsafe {
            libc::close(self.fd);
        }
    }
}

/// `fixtures/<p>` of the repository.
pub fn fixture(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(p)
}

/// (rule id, `path:line` or "-") of one finding of a JSON report.
pub fn rule_and_place(finding: &Value) -> (String, String) {
    let l = &finding["location"];
    let at = match (l["path"].as_str(), l["line"].as_u64()) {
        (Some(p), Some(n)) => format!("{p}:{n}"),
        _ => "-".into(),
    };
    (finding["ruleId"].as_str().unwrap().to_string(), at)
}

/// Runs the tool in this process through [`dockershim_audit::main_with_args`], with `args` after
/// the program name and the report written to a temporary file (`-o`, so it pairs with the last
/// `--format` in `args`) instead of standard output; returns (exit code, report text).
///
/// For tests about what the tool reports; tests about standard streams, signals or a real
/// process's exit use [`bin`].
pub fn run_in_process(args: &[&str]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let mut argv: Vec<std::ffi::OsString> = vec!["dockershim-audit".into()];
    argv.extend(args.iter().map(Into::into));
    argv.extend(["-o".into(), out.clone().into_os_string()]);
    let code = exit_code(dockershim_audit::main_with_args(argv));
    (code, std::fs::read_to_string(&out).unwrap_or_default())
}

/// The number behind an [`std::process::ExitCode`] (which has no getter).
fn exit_code(code: std::process::ExitCode) -> i32 {
    (0..=255u8).find(|c| std::process::ExitCode::from(*c) == code).map_or(-1, i32::from)
}

/// The demo cluster as `kubectl get ... -A -o json` prints it (a `List` whose items carry their
/// `kind`), written to `dir/kubectl-get.json`; returns that path.
pub fn demo_as_kubectl_list(dir: &Path) -> PathBuf {
    let snap: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("demo-cluster/snapshot.json")).unwrap()).unwrap();
    let mut items = Vec::new();
    for (plural, objects) in snap["resources"].as_object().unwrap() {
        let kind = dockershim_audit::collect::cluster::kinds::by_plural(plural)
            .unwrap_or_else(|| panic!("unexpected resource {plural}"))
            .kind;
        for o in objects.as_array().unwrap() {
            let mut o = o.clone();
            o["kind"] = serde_json::json!(kind);
            items.push(o);
        }
    }
    let path = dir.join("kubectl-get.json");
    let list =
        serde_json::json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items});
    std::fs::write(&path, serde_json::to_string(&list).unwrap()).unwrap();
    path
}
