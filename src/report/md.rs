//! Markdown text helpers shared by every Markdown renderer (the pull-request summary, the
//! readiness report, the fleet section): scanned text becomes inert Markdown.
//!
//! Prose is escaped (no emphasis, links, tables, raw HTML), `@name` never mentions anyone (a
//! zero-width space follows the `@`, as Renovate and Dependabot do), code spans are delimited by
//! one backtick more than the longest run inside them so no content closes them early, and link
//! targets are percent-encoded so no space, parenthesis or line break ends them (issue 14, item 18).
//!
//! Place in the pipeline: inside the renderers (layer 6); it decides nothing.

/// Escapes text for Markdown prose and table cells: one line, no markup, no mention.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev: Option<char> = None;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            // `@name` (not `user@host`): a zero-width space keeps GitHub from mentioning `name`.
            '@' if !prev.is_some_and(|p| p.is_alphanumeric())
                && chars.peek().is_some_and(|n| n.is_ascii_alphanumeric()) =>
            {
                out.push_str("@&#8203;");
            }
            '\n' | '\r' | '\t' => out.push(' '),
            _ => out.push(c),
        }
        prev = Some(c);
    }
    out
}

/// Escapes text inside an HTML block (`<summary>`), where Markdown escapes would show literally.
pub fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('@', "@&#8203;")
        .replace(['\n', '\r'], " ")
}

/// An inline code span of any text: delimited by one backtick more than the longest run of
/// backticks in it, on one line. In a table cell, pipes are escaped too (GitHub unescapes them
/// inside code spans there, and only there).
pub fn code(s: &str, in_table: bool) -> String {
    let mut s = s.replace(['\n', '\r'], " ");
    if in_table {
        s = s.replace('|', "\\|");
    }
    if s.is_empty() {
        return String::new();
    }
    let fence = "`".repeat(longest_run(&s, '`') + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// Message text: its `` `quoted` `` parts become code spans, the rest is escaped. Single
/// backticks delimit (rule templates quote values with them); a run of two or more is content of
/// the span or prose it is in (a quoted command holding `` ``` ``). An unbalanced last delimiter
/// is escaped like any other character. Two spans are never adjacent, so none can merge.
pub fn inline(s: &str, in_table: bool) -> String {
    // (is code, text) segments, split at single backticks only.
    let mut segments: Vec<(bool, String)> = vec![(false, String::new())];
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '`' {
            if let Some((_, t)) = segments.last_mut() {
                t.push(c);
            }
            continue;
        }
        let mut run = 1;
        while chars.peek() == Some(&'`') {
            chars.next();
            run += 1;
        }
        if run == 1 {
            let code = !segments.last().is_some_and(|(c, _)| *c);
            segments.push((code, String::new()));
        } else {
            if let Some((_, t)) = segments.last_mut() {
                t.push_str(&"`".repeat(run));
            }
        }
    }
    if segments.last().is_some_and(|(c, _)| *c) {
        // No closing delimiter: the opening one was a literal backtick.
        let (_, tail) = segments.pop().unwrap_or_default();
        if let Some((_, t)) = segments.last_mut() {
            t.push('`');
            t.push_str(&tail);
        }
    }
    let mut out = String::new();
    for (is_code, text) in segments {
        if is_code && !text.is_empty() {
            if out.ends_with('`') {
                out.push(' ');
            }
            out.push_str(&code(&text, in_table));
        } else if !is_code {
            out.push_str(&escape(&text));
        }
    }
    out
}

/// A link target (`[text](TARGET)`): every byte that could end it or break its line
/// (whitespace, controls, parentheses, angle brackets, backslash, backtick) percent-encoded.
pub fn link_target(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_control() || b >= 0x80 || b" ()<>\\`\"'|[]".contains(&b) {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(b as char);
        }
    }
    out
}

fn longest_run(s: &str, c: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for x in s.chars() {
        run = if x == c { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markdown_and_html() {
        assert_eq!(escape("a|b <c> *d*"), "a\\|b &lt;c&gt; \\*d\\*");
        assert_eq!(code("x|`y`", true), "`` x\\|`y` ``");
        assert_eq!(code("a|b", false), "`a|b`");
        assert_eq!(inline("runs `docker <x>` *now*", false), "runs `docker <x>` \\*now\\*");
        assert_eq!(inline("odd ` tick", false), "odd \\` tick");
        assert_eq!(inline("runs `a ``` b` and `c`", false), "runs ````a ``` b```` and `c`");
    }

    #[test]
    fn code_spans_outlast_any_backtick_run() {
        let evil = "x ```` <img src=x onerror=alert(1)> ````` y";
        let c = code(evil, false);
        assert!(c.starts_with("``````") && !c.starts_with("```````"), "{c}");
        assert!(c.ends_with("``````"));
    }

    #[test]
    fn mentions_and_link_targets_are_inert() {
        assert_eq!(escape("ping @octocat, mail a@b.example"), "ping @&#8203;octocat, mail a@b.example");
        assert_eq!(link_target("https://x/a b)\n[c](https://evil)"), "https://x/a%20b%29%0A%5Bc%5D%28https://evil%29");
    }
}
