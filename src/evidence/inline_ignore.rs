//! Inline ignores: `dockershim-audit: ignore RULE -- reason` comments, found in a file's text by the
//! collectors and carried in the evidence to [`crate::suppress`], which applies them to findings.
//! Pure: the caller reads the file.

/// The marker that starts an inline ignore, in any comment syntax (`#`, `//`, `/* */`, `<!-- -->`).
pub const MARKER: &str = "dockershim-audit: ignore";

/// An inline ignore found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineIgnore {
    /// File (display path).
    pub path: String,
    /// Line of the comment.
    pub line: u32,
    /// Line it applies to: its own line when code precedes the comment, else the next non-blank line.
    pub target_line: u32,
    /// Rule ids (`all` for every rule).
    pub rules: Vec<String>,
    /// The reason after `--` (required).
    pub reason: String,
}

/// Finds inline ignores in a file's text.
pub fn collect_inline(path: &str, text: &str, out: &mut Vec<InlineIgnore>) {
    if memchr::memmem::find(text.as_bytes(), b"dockershim-audit:").is_none() {
        return;
    }
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let Some(at) = line.find(MARKER) else { continue };
        let before = line[..at].trim_end();
        let code_before = before.trim_end_matches(['#', '/', '*', '<', '!', '-', ';']).trim();
        let rest = line[at + MARKER.len()..].trim().trim_end_matches("-->").trim_end_matches("*/").trim();
        let (ids, reason) = match rest.split_once("--") {
            Some((ids, reason)) => (ids, reason.trim()),
            None => (rest, ""),
        };
        let rules: Vec<String> =
            ids.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
        let target_line = if code_before.is_empty() {
            (i + 1..lines.len()).find(|j| !lines[*j].trim().is_empty()).map_or(i + 1, |j| j + 1)
        } else {
            i + 1
        };
        out.push(InlineIgnore {
            path: path.to_string(),
            line: i as u32 + 1,
            target_line: target_line as u32,
            rules,
            reason: reason.to_string(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_ignores_target_their_line_or_the_next() {
        let text = "volumes:\n  # dockershim-audit: ignore hostpath-docker-socket -- build nodes keep Docker until Q3\n\n  - hostPath:\n      path: /var/run/docker.sock # dockershim-audit: ignore all -- legacy\n";
        let mut out = Vec::new();
        collect_inline("a.yaml", text, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].target_line, 4);
        assert_eq!(out[0].rules, vec!["hostpath-docker-socket"]);
        assert_eq!(out[0].reason, "build nodes keep Docker until Q3");
        assert_eq!(out[1].target_line, 5);
        assert_eq!(out[1].rules, vec!["all"]);
    }

    #[test]
    fn groovy_and_html_comment_syntax() {
        let mut out = Vec::new();
        collect_inline(
            "Jenkinsfile",
            "sh 'docker build .' // dockershim-audit: ignore jenkins-docker-step -- VM agent\n<!-- dockershim-audit: ignore x -- y -->\n",
            &mut out,
        );
        assert_eq!(out[0].target_line, 1);
        assert_eq!(out[0].reason, "VM agent");
        assert_eq!(out[1].reason, "y");
    }
}
