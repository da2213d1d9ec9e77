//! TEMPORARY STUB so the crate compiles while the real shell lexer is written (helper-1 replaces this file).

/// One simple command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// Line.
    pub line: u32,
    /// Column.
    pub column: u32,
    /// Program basename.
    pub program: String,
    /// Arguments.
    pub args: Vec<String>,
    /// Source text.
    pub text: String,
}

/// Naive stub: whitespace split per line, comments skipped.
pub fn commands(s: &str) -> Vec<Command> {
    let mut out = Vec::new();
    for (i, l) in s.lines().enumerate() {
        let words: Vec<String> = l.split_whitespace().map(|w| w.trim_matches(|c| c == '\'' || c == '"').to_string()).collect();
        if let Some(p) = words.first() {
            if p.starts_with('#') || p == "echo" {
                continue;
            }
            let col = l.len() - l.trim_start().len() + 1;
            let program = p.rsplit('/').next().unwrap_or(p).to_string();
            out.push(Command { program, args: words[1..].to_vec(), text: l.trim().to_string(), line: i as u32 + 1, column: col as u32 });
        }
    }
    out
}
