//! Shell-like templates — a script, a systemd unit or a kubelet env file rendered by Jinja
//! (Ansible, kubespray, Salt), Go templates (gomplate, consul-template) or ERB (Chef, Puppet) —
//! made readable by the shell lexer at their own lines and columns. Place in the pipeline: a text
//! transformation the script analysers apply before parsing; no I/O, no rules.
//!
//! What the template engine would decide is left open; only its syntax is taken out of the
//! shell's way:
//! - statements (`{% if %}`, `{% for %}`, `{# … #}`, Go `{{ if }}`/`{{ end }}`/`{{/* … */}}`,
//!   ERB `<% … %>`, Terraform `%{ if … }`) become blanks, and a line that held only statements inside a command's
//!   continuation (`docker run \` … `{% if x %}` … `-v a \`) keeps the continuation, as Ansible's
//!   `trim_blocks` renders it;
//! - expressions (`{{ docker_bin_dir }}`, ERB `<%= @bin %>`) become one opaque word of the same
//!   width, so `{{ docker_bin_dir }}/docker ps` is the command `docker` and the pipe of a filter
//!   (`{{ x | default('y') }}`) is not a shell pipeline.
//!
//! Every line keeps its number of characters, so positions found in the masked text are those of
//! the template; [`restore`] gives back the template's own text for a piece of a masked line.

use crate::evidence::file_kind::TEMPLATE_SUFFIXES;

/// Go template actions that are statements, not values.
const GO_STATEMENTS: &[&str] =
    &["if", "else", "end", "range", "with", "define", "template", "block", "break", "continue", "/*"];

/// Whether a script's text is a template: its name carries a template suffix (`.j2`, `.tpl`,
/// `.erb`, ...), or a line starts with a Jinja statement or an ERB tag. A plain script's quoted
/// `{{.State.Pid}}` (a `docker inspect` format) does not make it one.
pub fn is_template(path: &str, text: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    TEMPLATE_SUFFIXES.iter().any(|s| lower.ends_with(s))
        || text.lines().map(str::trim_start).any(|l| l.starts_with("{%") || l.starts_with("{#") || l.starts_with("<%"))
}

/// The text with template statements blanked and expressions made opaque words (see the module
/// header). Newlines are kept and every line keeps its number of characters.
pub fn mask(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<char> = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let Some((end, kind)) = tag_at(&chars, i) else {
            out.push(chars[i]);
            i += 1;
            continue;
        };
        let span = &chars[i..end];
        match kind {
            Tag::Statement => out.extend(span.iter().map(|&c| if c == '\n' { '\n' } else { ' ' })),
            Tag::Expression { keep_braces } => {
                let inner = span.iter().map(|&c| if c == '\n' { '\n' } else { '_' });
                if keep_braces {
                    out.extend(['{', '{']);
                    out.extend(inner.skip(2).take(span.len() - 4));
                    out.extend(['}', '}']);
                } else {
                    out.extend(inner);
                }
            }
        }
        i = end;
    }
    keep_continuations(text, &out.into_iter().collect::<String>())
}

/// The end (exclusive) of a `%{ … }` directive whose body starts at `from`: its first `}`.
fn close_brace(chars: &[char], from: usize) -> Option<usize> {
    (from..chars.len()).find(|&j| chars[j] == '}').map(|j| j + 1)
}

enum Tag {
    Statement,
    Expression { keep_braces: bool },
}

/// The template tag starting at `i`: its end (exclusive) and what it is. An unterminated tag is
/// not one (the rest is read as written).
fn tag_at(chars: &[char], i: usize) -> Option<(usize, Tag)> {
    let next = |k: usize| chars.get(i + k).copied();
    let close = |a: char, b: char, from: usize| {
        (from..chars.len().saturating_sub(1)).find(|&j| chars[j] == a && chars[j + 1] == b).map(|j| j + 2)
    };
    match (chars[i], next(1)?) {
        ('{', '%') => Some((close('%', '}', i + 2)?, Tag::Statement)),
        ('{', '#') => Some((close('#', '}', i + 2)?, Tag::Statement)),
        ('{', '{') => {
            let end = close('}', '}', i + 2)?;
            let inner: String = chars[i + 2..end - 2].iter().collect();
            let inner = inner.trim_start_matches('-').trim_start();
            let first = inner.split(|c: char| c.is_whitespace() || c == '}').next().unwrap_or("");
            let statement = inner.starts_with("/*") || GO_STATEMENTS.contains(&first);
            Some((end, if statement { Tag::Statement } else { Tag::Expression { keep_braces: true } }))
        }
        // Terraform template directives (`%{ if var.docker }`, `%{ endfor ~}`); `%%{` is a literal.
        ('%', '{') if i == 0 || chars[i - 1] != '%' => Some((close_brace(chars, i + 2)?, Tag::Statement)),
        // `<%%` is ERB's literal `<%`.
        ('<', '%') if next(2) != Some('%') => {
            let end = close('%', '>', i + 2)?;
            let expression = next(2) == Some('=');
            Some((end, if expression { Tag::Expression { keep_braces: false } } else { Tag::Statement }))
        }
        _ => None,
    }
}

/// A line that held only statements, inside a command continued with `\`, continues it: the
/// rendered text has no line there.
fn keep_continuations(original: &str, masked: &str) -> String {
    let mut out = String::with_capacity(masked.len());
    let mut continues = false;
    for (orig, line) in original.split('\n').zip(masked.split('\n')) {
        let statements_only = !orig.trim().is_empty() && line.trim().is_empty();
        if statements_only && continues && !line.is_empty() {
            let n = line.chars().count();
            out.extend(std::iter::repeat_n(' ', n - 1));
            out.push('\\');
        } else {
            out.push_str(line);
            continues = line.trim_end().ends_with('\\');
        }
        out.push('\n');
    }
    out.pop();
    out
}

/// The template's own text for `piece`, a part of the masked line `masked` whose template line is
/// `original` (`None` when `piece` is not in `masked`).
pub fn restore(original: &str, masked: &str, piece: &str) -> Option<String> {
    let at = masked.find(piece)?;
    let skip = masked[..at].chars().count();
    Some(original.chars().skip(skip).take(piece.chars().count()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::shell;

    fn programs(text: &str) -> Vec<(u32, String)> {
        shell::commands(&mask(text)).into_iter().map(|c| (c.line, c.program)).collect()
    }

    #[test]
    fn an_expression_is_one_word_and_a_statement_line_keeps_the_continuation() {
        let t = "#!/bin/bash\n{{ bin_dir }}/docker run --rm \\\n  -v /etc:/etc:ro \\\n  {% if x -%}\n  -v /srv:/srv \\\n  {% endif %}\n  {# a note #}\n  {{ image | default('a:b') }} \\\n  \"$@\"\n";
        let m = mask(t);
        assert_eq!(m.lines().count(), t.lines().count());
        for (a, b) in t.lines().zip(m.lines()) {
            assert_eq!(a.chars().count(), b.chars().count(), "{a:?} vs {b:?}");
        }
        let cmds = shell::commands(&m);
        assert_eq!(cmds.len(), 1, "{cmds:?}");
        assert_eq!((cmds[0].line, cmds[0].program.as_str()), (2, "docker"));
        assert!(cmds[0].args.iter().any(|a| a == "/srv:/srv"), "{:?}", cmds[0].args);
        assert!(cmds[0].args.iter().any(|a| a == "$@"), "{:?}", cmds[0].args);
        assert_eq!(
            restore(t.lines().nth(1).unwrap(), m.lines().nth(1).unwrap(), &cmds[0].text).as_deref(),
            Some("{{ bin_dir }}/docker run --rm")
        );
    }

    #[test]
    fn statement_lines_are_not_commands() {
        let t = "{% if docker_enabled %}\ndocker ps\n{% else %}\ncrictl ps\n{% endif %}\n";
        assert_eq!(programs(t), [(2, "docker".to_string()), (4, "crictl".to_string())]);
        let go = "{{- if .Docker }}\ndocker info\n{{ end }}\n{{/* note */}}\n";
        assert_eq!(programs(go), [(2, "docker".to_string())]);
    }

    #[test]
    fn erb_tags() {
        let t = "<% if @docker -%>\n<%= @bin_dir %>/docker system prune -f\n<% end -%>\necho '<%%'\n";
        let p = programs(t);
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].0, 2);
        assert_eq!(p[0].1, "docker");
        assert_eq!(p[1], (4, "echo".to_string()));
    }

    #[test]
    fn terraform_directives() {
        let t = "%{ if use_docker ~}\ndocker info\n%{ endif ~}\necho '%%{x}'\n";
        assert_eq!(programs(t), [(2, "docker".to_string()), (4, "echo".to_string())]);
    }

    #[test]
    fn unterminated_tags_and_plain_scripts() {
        assert_eq!(mask("docker ps {{ x\n"), "docker ps {{ x\n");
        assert_eq!(mask("a <% b\n"), "a <% b\n");
        assert!(is_template("roles/x/templates/run.j2", ""));
        assert!(is_template("x.sh", "  {% if a %}\n"));
        assert!(!is_template("x.sh", "docker inspect -f '{{.State.Pid}}' c\n"));
    }
}
