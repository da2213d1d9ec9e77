//! Files written by other files: a heredoc `cat > /etc/systemd/system/kubelet.service <<EOF`, a
//! cloud-init `write_files` entry, a Terraform `user_data`, an Ansible `copy: content:`. Place in the
//! pipeline: the step between a carrier's analyser (which finds the body and where it goes) and the
//! analyser of the body's own kind. The body is analysed as the kind its destination path implies
//! (or, without a usable path, its content), with lines mapped to the outer file, and every record
//! says where the body is written (`written_to`) and how (`provenance`, appended to the message).
//!
//! Bodies nest (a cloud-init script that writes a unit with a heredoc); nesting deeper than
//! [`MAX_DEPTH`] is not analysed and is counted (`embedded_too_deep`).

use super::source::Source;
use crate::evidence::Evidence;
use crate::evidence::file_kind::{self as kinds, FileKind, PathClass};
use crate::parse::yaml::YamlDoc;

/// Deepest nesting of bodies inside bodies that is analysed.
pub const MAX_DEPTH: u8 = 4;

/// One body found in a carrier.
#[derive(Debug, Clone, Copy)]
pub struct Body<'b> {
    /// The text written.
    pub text: &'b str,
    /// The path it is written to, when known (absolute or relative, as the carrier names it).
    pub target: Option<&'b str>,
    /// Lines of the carrier's text before the body's first line.
    pub line_offset: u32,
    /// How it is written, for the message: `a heredoc at line 3`, `cloud-init write_files`.
    pub how: &'b str,
}

/// What kind a body is: by its destination path, then by its content when the path says nothing
/// (`None`: no rule reads it).
pub fn kind_for(target: Option<&str>, text: &str) -> Option<FileKind> {
    if let Some(t) = target.map(str::trim).filter(|t| !t.is_empty() && !t.contains('$')) {
        let rel = t.trim_start_matches('/');
        let class = kinds::classify_path(rel, None);
        let name = rel.rsplit('/').next().unwrap_or(rel).to_ascii_lowercase();
        return match class {
            PathClass::Ignore => None,
            PathClass::Kind(k) => Some(k),
            // An extensionless file elsewhere (`/usr/local/bin/node-init`, `/etc/motd`): a script
            // when it has a shebang, else nothing any rule reads.
            PathClass::Conf if !name.contains('.') => sniff(text).filter(|k| *k == FileKind::Shell),
            class => kinds::classify_content(class, &name, text).or_else(|| sniff(text)),
        };
    }
    sniff(text)
}

/// A body's kind from its content alone (the first 4 KiB).
pub fn sniff(text: &str) -> Option<FileKind> {
    let head: &str = match text.char_indices().nth(4096) {
        Some((i, _)) => &text[..i],
        None => text,
    };
    let trimmed = head.trim_start();
    if trimmed.starts_with("#cloud-config")
        || trimmed.starts_with("#cloud-boothook")
        || (trimmed.starts_with("MIME-Version:") || trimmed.starts_with("Content-Type: multipart/"))
            && head.contains("boundary=")
    {
        return Some(FileKind::CloudInit);
    }
    if trimmed.starts_with("#!") {
        let first = trimmed.lines().next().unwrap_or("");
        return first.contains("sh").then_some(FileKind::Shell);
    }
    if head.contains("[Service]") || head.contains("[Unit]") || head.contains("[Install]") {
        return Some(FileKind::SystemdUnit);
    }
    if head.contains("apiVersion:") && head.contains("kind:") {
        return Some(FileKind::K8sManifest);
    }
    if trimmed.starts_with('{')
        && ["\"exec-opts\"", "\"log-driver\"", "\"registry-mirrors\"", "\"insecure-registries\"", "\"data-root\""]
            .iter()
            .any(|k| head.contains(k))
    {
        return Some(FileKind::DockerDaemonJson);
    }
    if head.contains("[plugins.") || head.contains("io.containerd.grpc") {
        return Some(FileKind::ContainerdConfig);
    }
    if head.lines().any(|l| {
        let l = l.trim_start().trim_start_matches("export ").trim_start();
        l.starts_with("KUBELET_") && l.contains('=') && l.contains("--")
    }) {
        return Some(FileKind::KubeletEnv);
    }
    None
}

/// Analyses one body found in `src` as `kind` (`None`: nothing to do). Returns false when it was
/// not analysed (no kind, or nested too deep).
pub fn analyze_as(src: &Source<'_>, body: &Body<'_>, kind: Option<FileKind>, out: &mut Evidence) -> bool {
    let Some(kind) = kind else { return false };
    if src.depth >= MAX_DEPTH {
        out.count("embedded_too_deep", 1);
        return false;
    }
    let target = body.target.filter(|t| !t.trim().is_empty());
    let mut inner = src.embedded(kind, body.text, body.line_offset);
    inner.depth = src.depth + 1;
    if target.is_some() {
        inner.written_to = target;
    }
    // A body written to an absolute path (a unit, /etc/default/kubelet, a script under
    // /usr/local/bin) is a host's file: its commands run on the node unless the enclosing place
    // already says where.
    if inner.context.is_none() && target.is_some_and(|t| t.starts_with('/')) {
        inner.context = Some(crate::evidence::context::Context::Node);
    }
    let mut sub = Evidence::default();
    inner.analyze(&mut sub);
    let provenance = match target {
        Some(t) => format!("written to {t} by {}", body.how),
        None => format!("in {}", body.how),
    };
    for r in &mut sub.records {
        if let Some(t) = target
            && r.get("written_to").is_none()
        {
            r.set("written_to", t.to_string());
        }
        add_provenance(r, &provenance);
    }
    out.count("embedded_bodies", 1);
    out.merge(sub);
    true
}

/// Analyses a YAML string scalar at `ptr` of `doc` as a body (`write_files[].content`, an Ansible
/// `copy: content:`, a Salt `contents:`): `body.text` written to `body.target`, of `kind` (else
/// decided by [`kind_for`]); `body.line_offset` is not used. A literal block scalar (`|`) maps
/// line for line (its text starts after the indicator line); any other string has no line
/// mapping, so its records point at the value.
pub fn analyze_scalar(
    src: &Source<'_>,
    doc: &YamlDoc,
    ptr: &str,
    body: Body<'_>,
    kind: Option<FileKind>,
    out: &mut Evidence,
) {
    let Some(span) = doc.span(ptr) else { return };
    let at = span.value;
    // A literal block (`|`) keeps its lines; a folded one (`>`) joins them.
    let line_mapped = src.line(at.line).chars().nth(at.column.saturating_sub(1) as usize) == Some('|');
    let body = Body { line_offset: if line_mapped { at.line } else { 0 }, ..body };
    let mut sub = Evidence::default();
    let kind = kind.or_else(|| kind_for(body.target, body.text));
    analyze_as(src, &body, kind, &mut sub);
    if !line_mapped {
        for r in &mut sub.records {
            r.location = src.loc(at.line, at.column);
            r.snippet = src.line(at.line).trim().to_string();
        }
    }
    out.merge(sub);
}

/// Decodes standard or URL-safe base64 (padding and whitespace ignored); `None` when it is not.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' | b' ' | b'\n' | b'\r' | b'\t' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Appends one explanation to a record's `provenance` (outermost last).
pub fn add_provenance(r: &mut crate::evidence::Record, what: &str) {
    let joined = match r.get("provenance").map(|v| v.display()) {
        Some(p) if !p.is_empty() => format!("{p}; {what}"),
        _ => what.to_string(),
    };
    r.set("provenance", joined);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes() {
        assert_eq!(decode_base64("ZG9ja2VyIHBz\nCg==").as_deref(), Some(&b"docker ps\n"[..]));
        assert_eq!(decode_base64("not base64!"), None);
    }

    #[test]
    fn kinds_by_target_then_content() {
        let unit = "[Unit]\nRequires=docker.service\n";
        assert_eq!(kind_for(Some("/etc/systemd/system/kubelet.service"), unit), Some(FileKind::SystemdUnit));
        assert_eq!(kind_for(Some("/etc/default/kubelet"), "X=1\n"), Some(FileKind::KubeletEnv));
        assert_eq!(kind_for(Some("/var/lib/kubelet/kubeadm-flags.env"), ""), Some(FileKind::KubeletEnv));
        assert_eq!(kind_for(Some("/etc/docker/daemon.json"), "{}"), Some(FileKind::DockerDaemonJson));
        assert_eq!(kind_for(Some("/etc/cron.d/prune"), "* * * * * root docker ps\n"), Some(FileKind::Cron));
        assert_eq!(
            kind_for(Some("/tmp/kubeadm.yaml"), "apiVersion: kubeadm.k8s.io/v1beta3\n"),
            Some(FileKind::K8sManifest)
        );
        assert_eq!(kind_for(Some("/usr/local/bin/node-init"), "#!/bin/bash\ndocker ps\n"), Some(FileKind::Shell));
        assert_eq!(kind_for(Some("/etc/motd"), "Welcome\n"), None);
        assert_eq!(kind_for(Some("README.md"), unit), None);
        // A target the script computes: decided by the content.
        assert_eq!(kind_for(Some("$UNIT_DIR/kubelet.service"), unit), Some(FileKind::SystemdUnit));
        assert_eq!(kind_for(None, "KUBELET_EXTRA_ARGS=--network-plugin=cni\n"), Some(FileKind::KubeletEnv));
        assert_eq!(kind_for(None, "{\"log-driver\": \"json-file\"}"), Some(FileKind::DockerDaemonJson));
        assert_eq!(kind_for(None, "hello docker\n"), None);
    }
}
