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
use crate::evidence::file_kind::{self as kinds, FileKind};
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
/// decided by [`classify_body`](crate::evidence::file_kind::classify_body)); `body.line_offset` is not used. A literal block scalar (`|`) maps
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
    let kind = kind.or_else(|| kinds::classify_body(body.target, body.text));
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
}
