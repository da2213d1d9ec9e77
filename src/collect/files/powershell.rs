//! PowerShell scripts and modules (`*.ps1`, `*.psm1`): the kubelet wrappers and node set-up of
//! Windows nodes (`StartKubelet.ps1`, `Install-Kubelet`, `New-Service kubelet ...`). Place in the
//! pipeline: an analyser that turns one script into records; no I/O and no rule logic.
//!
//! PowerShell is not a POSIX shell, so this reads it line by line with its own quoting
//! (`'…'`, `"…"` with backtick escapes, `#` and `<# … #>` comments, backtick line continuations,
//! here-strings `@" … "@`):
//! - **docker commands**: a pipeline element whose command is `docker`/`docker-compose` (also
//!   `docker.exe`, a path to it, `& "…\docker.exe"`, `Start-Process docker`) gives a `command`
//!   record (`source` `script`), like a shell script's;
//! - **kubelet flags**: `--name[=value]` words of a statement that names the kubelet (a
//!   `kubelet.exe` command line in a string, `$KubeletArgs = @( … )` over several lines,
//!   `New-Service -Name kubelet -BinaryPathName "…"`) give `kubelet-flag` records at their own
//!   line and column (`--container-runtime-endpoint=npipe:////./pipe/dockershim`);
//! - **kubeadm**: `--cri-socket` of a statement that names kubeadm gives a `setting` `cri-socket`.

use super::scripts;
use super::source::Source;
use crate::evidence::context::{self, Context};
use crate::evidence::{Evidence, Subject, workload};

/// One word of a line: its text (quotes removed) and 1-based column.
#[derive(Debug, Clone)]
struct Word {
    text: String,
    column: u32,
    /// Written as a string literal (the text was quoted).
    quoted: bool,
}

/// What one line holds outside comments: its pipeline elements (each a list of words) and whether
/// it continues on the next line.
#[derive(Debug, Default)]
struct Line {
    elements: Vec<Vec<Word>>,
    /// The words of the line's code split on whitespace only, also inside strings (see
    /// [`flag_words_of`]).
    flag_words: Vec<(String, (u32, u32))>,
    /// Open parentheses minus closed ones.
    depth: i32,
    continues: bool,
}

/// Analyses one PowerShell script.
pub fn analyze(src: &Source<'_>, out: &mut Evidence) {
    let where_ = src
        .context
        .or_else(|| context::from_path(src.path))
        .or_else(|| context::from_text(src.text))
        .unwrap_or(Context::Unknown);
    let mut in_block_comment = false;
    let mut in_here_string: Option<char> = None;
    // The statement open across lines (brackets, continuation, here-string) names these.
    let mut statement_open = false;
    let mut names_kubelet = false;
    let mut names_kubeadm = false;
    let mut depth = 0i32;
    let mut pending: Vec<(String, (u32, u32))> = Vec::new();
    let mut pending_kubeadm: Vec<(String, (u32, u32))> = Vec::new();
    for (i, raw) in src.text.lines().enumerate() {
        let n = i as u32 + 1;
        if let Some(q) = in_here_string {
            // A here-string's body: flags in it belong to the open statement.
            if raw.starts_with(&format!("{q}@")) {
                in_here_string = None;
            } else {
                let lower = raw.to_ascii_lowercase();
                names_kubelet |= lower.contains("kubelet");
                pending.extend(flag_words_of(raw, n));
                continue;
            }
        }
        let line = lex_line(raw, n, &mut in_block_comment, &mut in_here_string);
        let code: String = line.elements.iter().flatten().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ");
        let lower = code.to_ascii_lowercase();
        if !statement_open {
            names_kubelet = false;
            names_kubeadm = false;
        }
        names_kubelet |= lower.contains("kubelet");
        names_kubeadm |= line.elements.iter().flatten().any(|w| {
            let name = w.text.rsplit(['/', '\\']).next().unwrap_or(&w.text).to_ascii_lowercase();
            name == "kubeadm" || name == "kubeadm.exe"
        });
        pending.extend(line.flag_words.iter().cloned());
        pending_kubeadm.extend(line.flag_words.iter().cloned());
        for element in &line.elements {
            docker_command(src, element, n, where_, out);
        }
        depth = (depth + line.depth).max(0);
        statement_open = depth > 0 || line.continues || in_here_string.is_some();
        if !statement_open {
            let words = std::mem::take(&mut pending);
            let kubeadm_words = std::mem::take(&mut pending_kubeadm);
            if names_kubelet && !names_kubeadm {
                scripts::kubelet_flag_records(src, kubelet_words(&words), out);
            }
            if names_kubeadm {
                scripts::cri_socket_records(src, &kubeadm_words, out);
            }
        }
    }
    if names_kubelet && !names_kubeadm {
        scripts::kubelet_flag_records(src, kubelet_words(&pending), out);
    }
}

/// The words of a statement that are the kubelet's: those after the first word naming its
/// executable (`C:\k\kubelet.exe`, `/usr/bin/kubelet`) when there is one, since flags before it
/// belong to a program that runs the kubelet (`kube-log-runner.exe --log-file=… kubelet.exe …`,
/// the replacement for the kubelet's own removed `--log-file`); all of them when none names it
/// (`$KubeletArgs = @( … )`).
fn kubelet_words(words: &[(String, (u32, u32))]) -> &[(String, (u32, u32))] {
    let exe = words.iter().position(|(w, _)| {
        let name = w.rsplit(['/', '\\']).next().unwrap_or(w);
        let name = name.trim_end_matches(['"', '\'', '`', ' ']).to_ascii_lowercase();
        name == "kubelet.exe" || name == "kubelet"
    });
    exe.map_or(words, |i| &words[i + 1..])
}

/// A `command` record when a pipeline element runs docker.
fn docker_command(src: &Source<'_>, element: &[Word], line: u32, context: Context, out: &mut Evidence) {
    let mut words = element;
    // `$out = docker ps`, `[void](docker ...)`: skip an assignment.
    if let Some(eq) = words.iter().position(|w| !w.quoted && matches!(w.text.as_str(), "=" | "+="))
        && words[..eq].iter().all(|w| w.text.starts_with('$') || w.text.starts_with('['))
    {
        words = &words[eq + 1..];
    }
    let Some(first) = words.first() else { return };
    let (program_word, args) = match first.text.as_str() {
        // The call operator runs a command named by a string or variable.
        "&" | "." => match words.get(1) {
            Some(w) => (w, &words[2..]),
            None => return,
        },
        // `Start-Process docker -ArgumentList "ps -a"` / `-FilePath docker.exe`.
        s if s.eq_ignore_ascii_case("start-process") => {
            let mut file = None;
            let mut list = Vec::new();
            let mut k = 1;
            while k < words.len() {
                let w = &words[k];
                let lower = w.text.to_ascii_lowercase();
                if !w.quoted && (lower == "-filepath" || lower == "-argumentlist") {
                    if let Some(v) = words.get(k + 1) {
                        if lower == "-filepath" {
                            file = Some(v);
                        } else {
                            list.extend(v.text.split([' ', ',']).filter(|a| !a.is_empty()).map(str::to_string));
                        }
                    }
                    k += 2;
                    continue;
                }
                if file.is_none() && !w.text.starts_with('-') {
                    file = Some(w);
                }
                k += 1;
            }
            let Some(file) = file else { return };
            if let Some(program) = docker_program(&file.text) {
                push_command(src, program, &list, element, (line, file.column), context, out);
            }
            return;
        }
        _ if first.quoted => return, // a string on its own is output, not a command
        _ => (first, &words[1..]),
    };
    let Some(program) = docker_program(&program_word.text) else { return };
    let args: Vec<String> = args.iter().map(|w| w.text.clone()).collect();
    push_command(src, program, &args, element, (line, program_word.column), context, out);
}

fn push_command(
    src: &Source<'_>,
    program: &'static str,
    args: &[String],
    element: &[Word],
    (line, column): (u32, u32),
    context: Context,
    out: &mut Evidence,
) {
    let text: String = element.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ");
    let text: String = text.chars().take(200).collect();
    out.records.push(
        src.record(Subject::Command, line, column)
            .with("source", "script")
            .with("program", program)
            .with("subcommand", workload::docker_subcommand(args))
            .with("args", args.join(" "))
            .with("text", text)
            .with("context", context.name()),
    );
}

/// `docker`, `docker.exe`, `C:\Program Files\Docker\docker.exe` -> `docker` (and docker-compose).
fn docker_program(word: &str) -> Option<&'static str> {
    let name = word.rsplit(['/', '\\']).next().unwrap_or(word).to_ascii_lowercase();
    let name = name.strip_suffix(".exe").unwrap_or(&name);
    match name {
        "docker" => Some("docker"),
        "docker-compose" => Some("docker-compose"),
        _ => None,
    }
}

/// The words of a text split on whitespace only (so a string's content is words too), quotes and
/// separators trimmed, at their line and column: the flag parser reads `--a=b` and `--a b` in them.
fn flag_words_of(text: &str, line: u32) -> Vec<(String, (u32, u32))> {
    let mut out = Vec::new();
    let mut column = 0u32;
    let mut start: Option<(usize, u32)> = None;
    let chars: Vec<char> = text.chars().collect();
    let push = |from: usize, to: usize, col: u32, out: &mut Vec<(String, (u32, u32))>| {
        let w: String = chars[from..to].iter().collect();
        let lead = w.len() - w.trim_start_matches(['"', '\'', '(', '@', ',']).len();
        let trimmed = w.trim_start_matches(['"', '\'', '(', '@', ',']).trim_end_matches(['"', '\'', ')', ',', ';']);
        if !trimmed.is_empty() {
            out.push((trimmed.to_string(), (line, col + lead as u32)));
        }
    };
    for (i, c) in chars.iter().enumerate() {
        column += 1;
        if c.is_whitespace() {
            if let Some((s, col)) = start.take() {
                push(s, i, col, &mut out);
            }
        } else if start.is_none() {
            start = Some((i, column));
        }
    }
    if let Some((s, col)) = start {
        push(s, chars.len(), col, &mut out);
    }
    out
}

/// Lexes one line: comments dropped, pipeline elements split on `|`, `;`, `{`, `}`, `(`, `)`
/// outside strings, words with quotes removed. A statement is a line, continued by a trailing
/// backtick, an open parenthesis or a here-string.
fn lex_line(raw: &str, line: u32, in_block_comment: &mut bool, in_here_string: &mut Option<char>) -> Line {
    let chars: Vec<char> = raw.chars().collect();
    let mut out = Line::default();
    let mut element: Vec<Word> = Vec::new();
    let mut word = String::new();
    let mut word_col = 0u32;
    let mut quoted = false;
    let mut i = 0usize;
    let mut code_end = chars.len();
    let flush = |word: &mut String, quoted: &mut bool, col: u32, element: &mut Vec<Word>| {
        if !word.is_empty() || *quoted {
            element.push(Word { text: std::mem::take(word), column: col, quoted: *quoted });
        }
        *quoted = false;
    };
    while i < chars.len() {
        let c = chars[i];
        if *in_block_comment {
            if c == '#' && chars.get(i + 1) == Some(&'>') {
                *in_block_comment = false;
                i += 2;
            } else {
                i += 1;
            }
            continue;
        }
        match c {
            '<' if chars.get(i + 1) == Some(&'#') => {
                *in_block_comment = true;
                i += 2;
            }
            '#' if word.is_empty() => {
                code_end = i;
                break;
            }
            '@' if matches!(chars.get(i + 1), Some('"') | Some('\'')) && i + 2 >= chars.len() => {
                *in_here_string = chars.get(i + 1).copied();
                break;
            }
            '\'' | '"' => {
                if word.is_empty() {
                    word_col = i as u32 + 1;
                }
                quoted = true;
                let q = c;
                i += 1;
                while i < chars.len() {
                    let d = chars[i];
                    if d == '`' && q == '"' && i + 1 < chars.len() {
                        word.push(chars[i + 1]);
                        i += 2;
                        continue;
                    }
                    if d == q {
                        // `''` inside single quotes is a quote.
                        if q == '\'' && chars.get(i + 1) == Some(&'\'') {
                            word.push('\'');
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    word.push(d);
                    i += 1;
                }
                i += 1;
            }
            '`' if i + 1 == chars.len() => {
                out.continues = true;
                i += 1;
            }
            '`' => {
                if let Some(&n) = chars.get(i + 1) {
                    if word.is_empty() {
                        word_col = i as u32 + 1;
                    }
                    word.push(n);
                }
                i += 2;
            }
            '|' | ';' | '{' | '}' | '(' | ')' => {
                flush(&mut word, &mut quoted, word_col, &mut element);
                // Parentheses (`@( … )` arrays, calls) continue a statement over lines; braces
                // hold statements of their own (function and block bodies).
                out.depth += match c {
                    '(' => 1,
                    ')' => -1,
                    _ => 0,
                };
                out.elements.push(std::mem::take(&mut element));
                i += 1;
            }
            c if c.is_whitespace() => {
                flush(&mut word, &mut quoted, word_col, &mut element);
                i += 1;
            }
            _ => {
                if word.is_empty() {
                    word_col = i as u32 + 1;
                }
                // `$(`: a subexpression starts a new element at the `(`.
                word.push(c);
                i += 1;
            }
        }
    }
    flush(&mut word, &mut quoted, word_col, &mut element);
    out.elements.push(element);
    out.elements.retain(|e| !e.is_empty());
    // `$(` leaves a lone `$` word before the element it opened.
    for e in &mut out.elements {
        if e.last().is_some_and(|w| w.text == "$" && !w.quoted) {
            e.pop();
        }
    }
    out.elements.retain(|e| !e.is_empty());
    let code: String = chars[..code_end].iter().collect();
    if !*in_block_comment || code_end < chars.len() {
        out.flag_words = flag_words_of(&code, line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::file_kind::FileKind;

    fn run(text: &str) -> Vec<String> {
        let src = Source::file("scripts/node.ps1", FileKind::PowerShell, text);
        let mut ev = Evidence::default();
        analyze(&src, &mut ev);
        ev.records
            .iter()
            .map(|r| match r.subject {
                Subject::Command => format!(
                    "{}:{} {} {}",
                    r.location.line.unwrap(),
                    r.location.column.unwrap(),
                    r.str("program"),
                    r.str("args")
                ),
                Subject::KubeletFlag => format!(
                    "{}:{} {}={}",
                    r.location.line.unwrap(),
                    r.location.column.unwrap(),
                    r.str("name"),
                    r.str("value")
                ),
                _ => format!(
                    "{}:{} {} {}",
                    r.location.line.unwrap(),
                    r.location.column.unwrap(),
                    r.str("key"),
                    r.str("value")
                ),
            })
            .collect()
    }

    #[test]
    fn docker_commands_in_every_spelling() {
        let got = run(
            "docker ps -a\n& \"C:\\Program Files\\Docker\\docker.exe\" image prune -f\n$ids = docker.exe ps -q | Out-String\nWrite-Host \"docker ps is gone\"\n# docker info\n<# docker version\n docker rm x #>\nif ($clean) { docker system prune -af }\nStart-Process -FilePath docker -ArgumentList 'logs kubelet' -Wait\ndocker-compose `\n  up -d\n",
        );
        assert_eq!(
            got,
            [
                "1:1 docker ps -a",
                "2:3 docker image prune -f",
                "3:8 docker ps -q",
                "8:15 docker system prune -af",
                "9:25 docker logs kubelet",
                "10:1 docker-compose "
            ]
        );
    }

    #[test]
    fn kubelet_flags_in_strings_arrays_and_services() {
        let text = "$cmd = \"C:\\k\\kubelet.exe --container-runtime=docker --container-runtime-endpoint=npipe:////./pipe/dockershim --v=2\"\nInvoke-Expression $cmd\n$KubeletArgs = @(\n  \"--cert-dir=C:\\var\\lib\\kubelet\\pki\",\n  \"--network-plugin=cni\"\n)\n$other = \"--container-runtime=docker\"\nkubeadm join 10.0.0.1:6443 --cri-socket \"npipe:////./pipe/dockershim\" `\n  --token x\n";
        let got = run(text);
        assert_eq!(
            got,
            [
                "1:26 --container-runtime=docker",
                "1:53 --container-runtime-endpoint=npipe:////./pipe/dockershim",
                "1:110 --v=2",
                "4:4 --cert-dir=C:\\var\\lib\\kubelet\\pki",
                "5:4 --network-plugin=cni",
                "8:28 cri-socket npipe:////./pipe/dockershim",
            ]
        );
    }

    #[test]
    fn flags_of_a_program_that_runs_the_kubelet_are_not_the_kubelets() {
        // kube-log-runner takes --log-file, the kubelet's own --log-file being removed in 1.26.
        let text = "$line = \"`\"\" + \"$env:SYSTEMDRIVE\\k\\kube-log-runner.exe\" + \" --log-file=/var/log/kubelet/kubelet.err.log \" + \"$env:SYSTEMDRIVE\\k\\kubelet.exe \" + \"--v=2 --windows-service\"\nsc.exe create kubelet binPath= $line\n";
        let got = run(text);
        assert!(got.iter().all(|r| !r.contains("--log-file")), "{got:?}");
        assert!(
            got.iter().any(|r| r.ends_with(" --v=2")) && got.iter().any(|r| r.contains(" --windows-service")),
            "{got:?}"
        );
        // Without the wrapper, the same flag on the kubelet's command line is the kubelet's.
        let got = run("$cmd = \"C:\\k\\kubelet.exe --log-file=C:\\var\\log\\kubelet.log --v=2\"\n");
        assert!(got.iter().any(|r| r.contains("--log-file=")), "{got:?}");
    }
}
