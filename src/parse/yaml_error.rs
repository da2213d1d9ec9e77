//! How a YAML file the user wrote (a rule, `steps.yaml`, the config file) is told to be wrong:
//! the file's name, line and column first, then the lines around the place with a caret under it.
//! Pure: it formats a `serde_saphyr` error, it reads nothing.

/// `ORIGIN:LINE:COLUMN: what is wrong`, then the source lines around it (each line indented by two
/// spaces), or `ORIGIN: what is wrong` when the error has no position.
pub fn describe(origin: &str, err: &serde_saphyr::Error) -> String {
    let options = serde_saphyr::render_options! { source_name: Some(origin) };
    let rendered = err.render_with_options(options);
    let mut lines = rendered.lines();
    let first = lines.next().unwrap_or_default();
    let message = strip_position(first.strip_prefix("error: ").unwrap_or(first));
    let head = match err.location() {
        Some(l) if l.line() > 0 => format!("{origin}:{}:{}: {message}", l.line(), l.column()),
        _ => format!("{origin}: {message}"),
    };
    let mut out = vec![head];
    for line in lines {
        if line.trim_start().starts_with("--> ") {
            continue; // The head already names the file and position.
        }
        // The caret line repeats the message: keep the caret only.
        let line = match line.find('^') {
            Some(i) if line[i..].trim_start_matches('^').trim() == message => &line[..i + caret_len(&line[i..])],
            _ => line,
        };
        out.push(format!("  {}", line.trim_end()));
    }
    while out.last().is_some_and(|l| l.trim().is_empty() || l.trim() == "|") {
        out.pop();
    }
    out.join("\n")
}

/// `line 2 column 1: unknown field` → `unknown field`.
fn strip_position(s: &str) -> &str {
    match s.strip_prefix("line ").and_then(|rest| rest.split_once(": ")) {
        Some((pos, message)) if pos.split(" column ").all(|n| n.chars().all(|c| c.is_ascii_digit())) => message,
        _ => s,
    }
}

fn caret_len(s: &str) -> usize {
    s.len() - s.trim_start_matches('^').len()
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Cfg {
        target: Option<String>,
        fail: Option<String>,
    }

    #[test]
    fn names_the_file_and_line_and_shows_the_place() {
        let err = serde_saphyr::from_str::<Cfg>("target: \"1.26\"\nfial: error\n").unwrap_err();
        let text = describe("ci/audit.yaml", &err);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "ci/audit.yaml:2:1: unknown field `fial`, expected one of target, fail", "{text}");
        assert!(lines.iter().any(|l| l.contains("2 | fial: error")), "{text}");
        assert!(lines.iter().any(|l| l.trim_end().ends_with("| ^")), "the caret alone: {text}");
        assert!(!text.contains("<input>") && !text.contains("-->"), "{text}");
    }

    #[test]
    fn a_syntax_error_points_at_its_column() {
        let err = serde_saphyr::from_str::<Cfg>("target: [1.26\n").unwrap_err();
        let text = describe("a.yaml", &err);
        assert!(text.starts_with("a.yaml:1:9: "), "{text}");
        assert!(text.lines().count() >= 3, "several lines: {text}");
    }
}
