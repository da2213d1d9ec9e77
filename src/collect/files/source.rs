//! The source an analyser reads: one text of a known kind, where it comes from (file, node,
//! object, lines before it), and how to place records and gaps in it. Shared by every analyser;
//! the analysers reach each other's kinds only through [`Source::analyze`].

use crate::evidence::context::Context;
use crate::evidence::file_kind::FileKind;
use crate::evidence::{Evidence, Gap, Location, ObjectRef, Record, Subject};

/// A text to analyse and where it comes from.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    /// Display path (repository-relative, or the absolute path on the node).
    pub path: &'a str,
    /// Detected kind.
    pub kind: FileKind,
    /// The text.
    pub text: &'a str,
    /// Lines before `text` starts in the file (for content embedded in another file).
    pub line_offset: u32,
    /// Node the file was read from.
    pub node: Option<&'a str>,
    /// Node pool of `node`.
    pub pool: Option<&'a str>,
    /// Object holding the text (a ConfigMap in the cluster), if any.
    pub object: Option<ObjectRef>,
    /// True when the text comes from the API (no file lines to point at).
    pub from_cluster: bool,
    /// How many files deep this text is embedded (a heredoc in a script: 1; a script written by
    /// cloud-init that writes a unit with a heredoc: 2). Bounded by
    /// [`MAX_DEPTH`](super::embedded::MAX_DEPTH).
    pub depth: u8,
    /// The path a body embedded in this file is written to (`/etc/systemd/system/kubelet.service`
    /// for a heredoc `cat > /etc/systemd/system/kubelet.service`), which names the unit, the env file
    /// or the crontab instead of the outer file's path.
    pub written_to: Option<&'a str>,
    /// Where the commands of this text run, when the place that holds it says so (a body written
    /// to a unit or by cloud-init runs on a node; see [`Context`]). `None`: decided from the
    /// file's kind and path. Embedded sources inherit it.
    pub context: Option<Context>,
    /// The analyser dispatch of the file kind registry (`collect::files::analyze`), handed down so
    /// an analyser can analyse content of another kind without importing the registry.
    pub dispatch: Dispatch,
    /// Where each line of `text` starts, built by the first [`Source::line`] call.
    pub line_index: LineIndex,
}

/// The start offsets of a text's lines, built once on first use: [`Source::line`] is called for
/// every record's snippet, and scanning the text for each one made a script with 60k docker lines
/// take minutes (quadratic). A clone starts empty (a copy of a source is often given another text:
/// `Source { text, ..src.clone() }`), and the index remembers the text it was built for, so a
/// stale one is never read.
#[derive(Debug, Default)]
pub struct LineIndex(std::sync::OnceLock<(usize, usize, Vec<usize>)>);

impl Clone for LineIndex {
    fn clone(&self) -> LineIndex {
        LineIndex::default()
    }
}

impl LineIndex {
    /// The start offsets of the lines of `text` (as [`str::lines`] splits it), or `None` when the
    /// index was built for another text.
    fn starts(&self, text: &str) -> Option<&[usize]> {
        let (ptr, len, starts) = self.0.get_or_init(|| {
            let mut starts = Vec::new();
            if !text.is_empty() {
                starts.push(0);
                starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1).filter(|&i| i < text.len()));
            }
            (text.as_ptr() as usize, text.len(), starts)
        });
        (*ptr == text.as_ptr() as usize && *len == text.len()).then_some(starts.as_slice())
    }
}

/// Analyses a source with the analyser of its kind.
pub type Dispatch = fn(&Source<'_>, &mut Evidence);

impl<'a> Source<'a> {
    /// A plain file, analysed through `dispatch` (see `Source::file` in `collect::files`).
    pub fn with_dispatch(path: &'a str, kind: FileKind, text: &'a str, dispatch: Dispatch) -> Source<'a> {
        Source {
            path,
            kind,
            text,
            line_offset: 0,
            node: None,
            pool: None,
            object: None,
            from_cluster: false,
            depth: 0,
            written_to: None,
            context: None,
            dispatch,
            line_index: LineIndex::default(),
        }
    }

    /// The same source with its commands running in `context` (builder style).
    pub fn in_context(self, context: Context) -> Source<'a> {
        Source { context: Some(context), ..self }
    }

    /// The path that names what this text is: where an embedded body is written, else the file.
    pub fn name_path(&self) -> &'a str {
        self.written_to.unwrap_or(self.path)
    }

    /// Analyses this source with the analyser of its kind (content embedded in another file).
    pub fn analyze(&self, out: &mut Evidence) {
        (self.dispatch)(self, out)
    }

    /// Content embedded in this source (a block scalar, a Groovy string) starting after `line_offset`
    /// lines of this source's text.
    pub fn embedded(&self, kind: FileKind, text: &'a str, line_offset: u32) -> Source<'a> {
        Source {
            kind,
            text,
            line_offset: self.line_offset + line_offset,
            object: self.object.clone(),
            line_index: LineIndex::default(),
            ..*self
        }
    }

    /// The location of a 1-based line and column of `text`.
    pub fn loc(&self, line: u32, column: u32) -> Location {
        if self.from_cluster {
            return Location {
                object: self.object.clone(),
                node: self.node.map(str::to_string),
                pool: self.pool.map(str::to_string),
                ..Location::default()
            };
        }
        Location {
            path: Some(self.path.to_string()),
            line: Some(line + self.line_offset),
            column: Some(column.max(1)),
            object: self.object.clone(),
            node: self.node.map(str::to_string),
            pool: self.pool.map(str::to_string),
            pods: None,
        }
    }

    /// A record at a 1-based line of `text`, with `file_kind` set and the line as snippet.
    pub fn record(&self, subject: Subject, line: u32, column: u32) -> Record {
        Record::new(subject, self.loc(line, column), self.line(line).trim()).with("file_kind", self.kind.name())
    }

    /// The text of a 1-based line (empty when out of range).
    pub fn line(&self, line: u32) -> &'a str {
        if line == 0 {
            return "";
        }
        let Some(starts) = self.line_index.starts(self.text) else {
            return self.text.lines().nth(line as usize - 1).unwrap_or("");
        };
        let Some(&start) = starts.get(line as usize - 1) else { return "" };
        let end = starts.get(line as usize).copied().unwrap_or(self.text.len());
        let l = &self.text[start..end];
        // As `str::lines`: the `\n` goes, and a `\r` before it.
        match l.strip_suffix('\n') {
            Some(l) => l.strip_suffix('\r').unwrap_or(l),
            None => l,
        }
    }

    /// Parses the text as a YAML stream; a parse error becomes a gap naming the line, and `None`.
    ///
    /// A body another file writes (a heredoc, `depth > 0`) may hold shell expansions that only the
    /// script running fills in: a line that is nothing but `$(render_args)` or `${EXTRA}` makes
    /// the text invalid YAML as written, not broken. Such lines are read as blank (same line
    /// numbers) and the body parsed again; when it still does not parse it is listed as skipped,
    /// with the reason, rather than as a gap that would make the whole scan incomplete.
    pub fn yaml_documents(&self, out: &mut Evidence) -> Option<Vec<crate::parse::yaml::YamlDoc>> {
        let e = match crate::parse::yaml::parse_documents(self.text) {
            Ok(docs) => return Some(docs),
            Err(e) => e,
        };
        if self.depth > 0 && has_shell_expansion(self.text) {
            let masked = blank_expansion_lines(self.text);
            if let Ok(docs) = crate::parse::yaml::parse_documents(&masked) {
                out.count("embedded_expansion_lines_blanked", 1);
                return Some(docs);
            }
            out.count("embedded_unexpanded", 1);
            out.skipped.push(self.gap(
                Some(e.line),
                "written with shell expansions ($(…), ${…}, $VAR, `…`): not valid YAML until the script that writes it runs",
            ));
            return None;
        }
        out.gaps.push(self.gap(Some(e.line), format!("invalid YAML: {}", e.message)));
        None
    }

    /// A gap for this source.
    pub fn gap(&self, line: Option<u32>, reason: impl Into<String>) -> Gap {
        let mut source = match &self.object {
            Some(o) if self.from_cluster => format!("{o} ({})", self.path),
            _ => self.path.to_string(),
        };
        if let (Some(l), false) = (line, self.from_cluster) {
            source.push_str(&format!(":{}", l + self.line_offset));
        }
        if let Some(node) = self.node {
            source = format!("node {node}: {source}");
        }
        Gap { source, reason: reason.into(), missing_permission: None, node: self.node.map(str::to_string) }
    }
}

impl Source<'_> {
    /// The same source, reporting records under another file kind (a KubeletConfiguration document
    /// in a multi-document kubeadm file is `kubelet-config`).
    pub fn embedded_kind(&self, kind: FileKind) -> Source<'_> {
        if self.kind == FileKind::HelmTemplate || self.from_cluster {
            return self.clone();
        }
        Source { kind, ..self.clone() }
    }

    /// The file kind records carry: `cluster` for API objects.
    pub fn kind_for_records(&self) -> FileKind {
        if self.from_cluster { FileKind::Cluster } else { self.kind }
    }
}

/// True when `text` holds a shell expansion: `$(…)`, `${…}`, a backquoted command or a `$VAR`
/// (every kind [`blank_expansion_lines`] blanks; a lone `$EXTRA_MOUNTS` line used to leave a
/// heredoc body as a gap).
fn has_shell_expansion(text: &str) -> bool {
    text.contains('`')
        || text
            .as_bytes()
            .windows(2)
            .any(|w| w[0] == b'$' && matches!(w[1], b'(' | b'{' | b'_' | b'A'..=b'Z' | b'a'..=b'z'))
}

/// `text` with every line that is only a shell expansion (`$(cmd)`, `${VAR}`, `` `cmd` ``,
/// `$VAR`, optionally indented) replaced by an empty line; other lines unchanged.
fn blank_expansion_lines(text: &str) -> String {
    let lone = |l: &str| {
        let t = l.trim();
        (t.starts_with("$(") && t.ends_with(')'))
            || (t.starts_with("${") && t.ends_with('}'))
            || (t.len() > 1 && t.starts_with('`') && t.ends_with('`'))
            || (t.len() > 1
                && t.starts_with('$')
                && t[1..].chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !t[1..].starts_with(|c: char| c.is_ascii_digit()))
    };
    let mut out = String::with_capacity(text.len());
    for piece in text.split_inclusive('\n') {
        let body = piece.trim_end_matches(['\n', '\r']);
        if lone(body) {
            out.push_str(&piece[body.len()..]);
        } else {
            out.push_str(piece);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noop(_: &Source<'_>, _: &mut Evidence) {}

    #[test]
    fn lines_as_str_lines_gives_them() {
        for text in ["", "a", "a\n", "a\r\nb\r\n", "a\n\nb", "a\rb\n\r", "\n\n", "x\ny\r"] {
            let src = Source::with_dispatch("f", FileKind::Shell, text, noop);
            let want: Vec<&str> = text.lines().collect();
            let got: Vec<&str> = (1..=want.len() as u32 + 2).map(|n| src.line(n)).collect();
            let mut expected = want.clone();
            expected.extend(["", ""]);
            assert_eq!(got, expected, "{text:?}");
            assert_eq!(src.line(0), "");
        }
    }

    #[test]
    fn a_copy_given_another_text_reads_its_own_lines() {
        let src = Source::with_dispatch("f", FileKind::Shell, "one\ntwo\n", noop);
        assert_eq!(src.line(2), "two");
        let other = Source { text: "uno\ndos\ntres\n", ..src.clone() };
        assert_eq!(other.line(3), "tres");
        // A field changed in place: the index built for the old text is not read.
        let mut moved = src.clone();
        assert_eq!(moved.line(1), "one");
        moved.text = "eins\nzwei\n";
        assert_eq!(moved.line(2), "zwei");
    }

    #[test]
    fn expansion_lines_are_blanked_and_line_numbers_kept() {
        let text = "a: 1\n$(render)\n  ${EXTRA}\nb: \"${X}\"\n`cmd`\n$HOME\n$1x\nc: $(d)\r\n";
        let masked = blank_expansion_lines(text);
        assert_eq!(masked, "a: 1\n\n\nb: \"${X}\"\n\n\n$1x\nc: $(d)\r\n");
        assert_eq!(masked.lines().count(), text.lines().count());
        assert!(has_shell_expansion("x: `y`") && has_shell_expansion("x:\n  $EXTRA_MOUNTS\n"));
        assert!(!has_shell_expansion("price: 5$") && !has_shell_expansion("x: $1") && !has_shell_expansion("a: b"));
    }
}
