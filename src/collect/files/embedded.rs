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

/// Most bytes a decoded or decompressed body may have (4 MiB): a gzip body that inflates past it
/// (a larger file, or a zip bomb) is read up to it and the cut is listed in the coverage section.
pub const MAX_DECODED: usize = 4 * 1024 * 1024;

/// Decodes standard or URL-safe base64 (padding optional, whitespace ignored); `None` when it is not
/// base64.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    use base64::alphabet;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    let config = GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    GeneralPurpose::new(&alphabet::STANDARD, config)
        .decode(&compact)
        .or_else(|_| GeneralPurpose::new(&alphabet::URL_SAFE, config).decode(&compact))
        .ok()
}

/// Gzip-compressed bytes inflated up to `cap` bytes (concatenated members too): the bytes and
/// whether the body went past the cap (then only the first `cap` bytes are returned); an error
/// for data that is not gzip or is corrupt.
pub fn gunzip(bytes: &[u8], cap: usize) -> Result<(Vec<u8>, bool), String> {
    use std::io::Read as _;
    let mut out = Vec::new();
    let mut reader = flate2::read::MultiGzDecoder::new(bytes).take(cap as u64 + 1);
    reader.read_to_end(&mut out).map_err(|e| format!("not valid gzip: {e}"))?;
    let over = out.len() > cap;
    out.truncate(cap);
    Ok((out, over))
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
        assert_eq!(decode_base64("ZG9ja2VyIHBzCg").as_deref(), Some(&b"docker ps\n"[..]));
        assert_eq!(decode_base64("not base64!"), None);
    }

    #[test]
    fn gzip_inflates_up_to_the_cap() {
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        // A bomb in miniature: 1 MiB of zeros compresses to about a kilobyte.
        gz.write_all(&vec![0u8; 1 << 20]).unwrap();
        let bomb = gz.finish().unwrap();
        assert!(bomb.len() < 4096);
        let (bytes, over) = gunzip(&bomb, 1000).unwrap();
        assert_eq!((bytes.len(), over), (1000, true));
        let (bytes, over) = gunzip(&bomb, 2 << 20).unwrap();
        assert_eq!((bytes.len(), over), (1 << 20, false));
        assert!(gunzip(b"not gzip", 10).is_err());
        assert!(gunzip(&bomb[..bomb.len() / 2], 2 << 20).is_err());
    }
}
