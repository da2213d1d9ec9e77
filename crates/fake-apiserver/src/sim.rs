//! What the node-file collector's script prints on a fixture node, so the fake API server can
//! answer a collector pod's log request with the truth.
//!
//! Place in the pipeline: inside the fake API server (test support), beside [`crate::live`]; it
//! mirrors [`dockershim_audit::collect::cluster::collector::SCRIPT`], and a test compares the two
//! under the local `sh`.
//!
//! Must not: read anything outside the fixture root, or follow a link out of it.

use std::path::{Path, PathBuf};

use dockershim_audit::collect::cluster::collector::{
    MAX_FILE, MAX_TOTAL, Mount, MountKind, encode_base64, safe_components,
};
use dockershim_audit::collect::node;

/// What [`SCRIPT`](dockershim_audit::collect::cluster::collector::SCRIPT) prints on a node whose root is `root`, given the pod's mounts and arguments;
/// for the fake API server (a test compares it with the real script under `sh`).
///
/// Paths outside the mounts are invisible, as in the pod; a mount point that is a link on the
/// node is resolved (the kubelet mounts the target); below a mount point links are printed as
/// links and followed through their node path, like the script does.
pub fn simulate_output(root: &Path, mounts: &[Mount], patterns: &[String]) -> String {
    let sim = Sim { root, mounts };
    let mut w = Printed { out: String::new(), budget: MAX_TOTAL, n: 0 };
    for p in patterns {
        match p.strip_suffix("/*") {
            Some(d) => sim.dir(d, 0, &mut w),
            None => sim.file(p, 0, &mut w),
        }
    }
    w.out.push_str(&format!("==> DONE {}\n", w.n));
    w.out
}

struct Sim<'a> {
    root: &'a Path,
    mounts: &'a [Mount],
}

/// What the simulated script has printed so far, the bytes it may still send and the files sent.
struct Printed {
    out: String,
    budget: u64,
    n: u64,
}

enum Seen {
    Missing,
    Link(String),
    File(PathBuf),
    Dir(PathBuf),
    Other,
}

impl Sim<'_> {
    /// What the pod sees at node path `p`.
    fn see(&self, p: &str) -> Seen {
        let Some(parts) = safe_components(p) else { return Seen::Missing };
        let under =
            |m: &Mount| p == m.path || (p.starts_with(&m.path) && p.as_bytes().get(m.path.len()) == Some(&b'/'));
        let Some(m) = self.mounts.iter().filter(|m| under(m)).max_by_key(|m| m.path.len()) else {
            return Seen::Missing;
        };
        let Some((base, _)) = node::resolve_in_root(self.root, &m.path) else { return Seen::Missing };
        let ok = match m.kind {
            MountKind::Directory => base.is_dir(),
            MountKind::File => base.is_file(),
        };
        if !ok {
            return Seen::Missing;
        }
        let depth = m.path.split('/').filter(|s| !s.is_empty()).count();
        let mut host = base;
        let rest = &parts[depth.min(parts.len())..];
        for (i, part) in rest.iter().enumerate() {
            host.push(part);
            let Ok(meta) = std::fs::symlink_metadata(&host) else { return Seen::Missing };
            let last = i + 1 == rest.len();
            if meta.file_type().is_symlink() {
                if !last {
                    // A link inside the path would resolve in the container, not on the node.
                    return Seen::Missing;
                }
                return match std::fs::read_link(&host) {
                    Ok(t) => Seen::Link(t.to_string_lossy().into_owned()),
                    Err(_) => Seen::Missing,
                };
            }
            if !last && !meta.is_dir() {
                return Seen::Missing;
            }
        }
        match std::fs::metadata(&host) {
            Ok(m) if m.is_file() => Seen::File(host),
            Ok(m) if m.is_dir() => Seen::Dir(host),
            Ok(_) => Seen::Other,
            Err(_) => Seen::Missing,
        }
    }

    fn follow(&self, from: &str, target: &str, depth: u32) -> Option<String> {
        if depth >= 8 {
            return None;
        }
        if target.starts_with('/') {
            return Some(target.to_string());
        }
        if target == ".." || target.starts_with("../") || target.ends_with("/..") || target.contains("/../") {
            return None;
        }
        let dir = from.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        Some(format!("{dir}/{target}"))
    }

    /// What [`Sim::file`] and [`Sim::dir`] share: an odd name at `p` is printed, and so is a link, which is
    /// then followed with `again` (the caller itself), as the script does; `None` for these, else what is at `p`.
    fn see_past_link(
        &self,
        p: &str,
        depth: u32,
        w: &mut Printed,
        again: fn(&Self, &str, u32, &mut Printed),
    ) -> Option<Seen> {
        if p.contains('\n') {
            w.out.push_str("==> ODDNAME\n");
            return None;
        }
        match self.see(p) {
            Seen::Link(t) => {
                w.out.push_str(&format!("==> LINK {p}\n==> TO {t}\n"));
                if let Some(next) = self.follow(p, &t, depth) {
                    again(self, &next, depth + 1, w);
                }
                None
            }
            seen => Some(seen),
        }
    }

    /// Prints the file at `p` (the `cat` of one pattern), within the budget.
    fn file(&self, p: &str, depth: u32, w: &mut Printed) {
        let Some(Seen::File(host)) = self.see_past_link(p, depth, w, Self::file) else { return };
        let Ok(bytes) = std::fs::read(&host) else {
            w.out.push_str(&format!("==> UNREADABLE {p}\n"));
            return;
        };
        let size = bytes.len() as u64;
        if size > MAX_FILE {
            w.out.push_str(&format!("==> SKIPPED {size} {p}\n"));
            return;
        }
        if size > w.budget {
            w.out.push_str(&format!("==> BUDGET {size} {p}\n"));
            return;
        }
        w.budget -= size;
        w.out.push_str(&format!("==> BEGIN {size} {p}\n"));
        let b64 = encode_base64(&bytes);
        if !b64.is_empty() {
            w.out.push_str(&b64);
            w.out.push('\n');
        }
        w.out.push_str(&format!("==> END {p}\n"));
        w.n += 1;
    }

    /// Prints every file directly in directory `d` (a `DIR/*` pattern), in the shell's glob order.
    fn dir(&self, d: &str, depth: u32, w: &mut Printed) {
        let Some(Seen::Dir(host)) = self.see_past_link(d, depth, w, Self::dir) else { return };
        let Ok(entries) = std::fs::read_dir(&host) else { return };
        let mut names: Vec<String> =
            entries.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        // The shell expands `*`, then `.[!.]*`, then `..?*`, each sorted.
        let group = |n: &str| u8::from(n.starts_with('.')) + u8::from(n.starts_with(".."));
        names.sort_by(|a, b| (group(a), a.as_bytes()).cmp(&(group(b), b.as_bytes())));
        for name in names {
            let child = host.join(&name);
            let Ok(meta) = std::fs::symlink_metadata(&child) else { continue };
            if meta.is_dir() {
                continue;
            }
            self.file(&format!("{d}/{name}"), 0, w);
        }
    }
}
