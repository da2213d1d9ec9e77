//! Text bound for a terminal (the table, stderr messages) with control characters made visible.
//!
//! Scanned content is hostile: a file name, a command, a pod name or a gap reason may carry escape
//! sequences that clear the screen, set the window title or rewrite earlier lines of whoever reads
//! the audit, and bidirectional overrides that make text read differently from what it is. Every
//! C0 control, DEL, every C1 control and every bidi control is shown as an escape (`\x1b`,
//! `\u{202e}`) instead of being sent to the terminal. Machine formats escape on their own (JSON,
//! SARIF, HTML, JUnit); Markdown has its own rules (`report::markdown`).
//!
//! Place in the pipeline: a leaf (layer 1), used by the table renderer and by whatever prints to
//! stderr.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `s` on one line: every control character (newlines too), DEL, C1 and bidi control escaped.
pub fn visible(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

/// `s` with its line breaks kept (multi-line messages) and every other control escaped.
pub fn visible_lines(s: &str) -> Cow<'_, str> {
    escape(s, true)
}

/// Prints a message to stderr as one or more lines, every control character but the line
/// breaks made visible (file names, object names, server answers and excerpts are hostile).
pub fn eprint(msg: std::fmt::Arguments<'_>) {
    let text = msg.to_string();
    eprintln!("{}", visible_lines(&text));
}

/// True for what [`visible`] escapes (with `keep_newlines`, not `\n`).
fn is_hidden(c: char, keep_newlines: bool) -> bool {
    match c {
        '\n' => !keep_newlines,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => true,
        // Bidi embeddings, overrides and isolates, and the marks (Trojan Source, CVE-2021-42574).
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}' => true,
        _ => false,
    }
}

fn escape(s: &str, keep_newlines: bool) -> Cow<'_, str> {
    if !s.chars().any(|c| is_hidden(c, keep_newlines)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !is_hidden(c, keep_newlines) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_bidi() {
        assert_eq!(visible("a\x1b]0;pwned\x07b"), "a\\x1b]0;pwned\\x07b");
        assert_eq!(visible("x\u{9b}2J\u{7f}"), "x\\x9b2J\\x7f");
        assert_eq!(visible("admin\u{202e}txt.exe"), "admin\\u{202e}txt.exe");
        assert_eq!(visible("one\ntwo\r"), "one\\ntwo\\r");
        assert_eq!(visible_lines("one\ntwo\r"), "one\ntwo\\r");
        assert!(matches!(visible("plain ünïcode · →"), Cow::Borrowed(_)));
    }
}
