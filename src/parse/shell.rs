//! Shell scripts to the commands they run. Place in the pipeline: a parser (text in, positioned
//! structures out). No I/O, no rules: collectors call it and rules only ever see its output.
//!
//! [`commands`] finds the simple commands a POSIX sh / bash script would actually execute, with
//! the 1-based line and column of each command word, so that rules can tell `docker build .` (a
//! command) from `echo "run docker build"` (text) or `# docker ps` (a comment).
//!
//! What it understands:
//! - quoting (`'…'`, `"…"`, `$'…'`, backslashes), line continuations, comments;
//! - lists and pipelines (`;` `&` `&&` `||` `|` `|&`), subshells and groups, `if`/`while`/
//!   `until`/`for`/`select`/`case` (loop word lists and case patterns are not commands),
//!   function definitions (their bodies are parsed), `[[ … ]]`, `(( … ))`;
//! - leading assignments and redirections (never arguments), here-strings and here-documents
//!   (bodies are skipped, unless the here-document feeds a shell such as `bash`, `ssh host` or
//!   `sudo bash`, then the body is parsed as a script);
//! - wrappers peeled off to reach the real program: `sudo`, `doas`, `env`, `exec`, `command`,
//!   `builtin`, `time`, `nohup`, `nice`, `timeout`, `stdbuf`, `xargs`, `watch`, `ionice`,
//!   `setsid`, `busybox`, `kube-log-runner`;
//! - nested commands, reported with their own positions: `$(…)`, backticks and `<(…)`
//!   (also inside double quotes), `sh -c '…'` (also as the tail of `docker run … sh -c`,
//!   `kubectl exec … -- bash -c`), `su -c`, `ssh host 'cmd'`, `eval`, `trap 'cmd' SIG`,
//!   `watch 'cmd'`, `find … -exec cmd {} \;`.
//!
//! Limits: no alias, variable or glob expansion (`$DOCKER ps` has program `$DOCKER`); nesting
//! deeper than 32 levels is skipped, not parsed; malformed input (unbalanced quotes
//! or parentheses) is read as far as it goes, the open token running to the end of the text.

use std::mem;

/// Deepest nesting of scripts inside scripts (`$(…)`, backticks, `sh -c`, here-documents) that
/// is parsed; deeper levels are skipped.
const MAX_DEPTH: usize = 32;

/// Longest [`Command::text`], in characters.
const MAX_TEXT_CHARS: usize = 200;

/// One simple command that the script would run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// 1-based line of the program word in the text given to [`commands`] (for a command that
    /// spans continuation lines, the line where the program word is).
    pub line: u32,
    /// 1-based column of the program word, in characters.
    pub column: u32,
    /// Basename of the program after wrappers (`sudo`, `env`, `xargs`, …) are peeled off:
    /// `sudo -E /usr/bin/docker ps` has program `docker`.
    pub program: String,
    /// The arguments after the program, unquoted (quotes removed, backslash escapes resolved;
    /// `$VAR`, `${VAR}` and `$(…)` kept as literal text). Redirections are not arguments.
    pub args: Vec<String>,
    /// The command's source text (assignments, wrappers and redirections included) on its first
    /// line, trimmed, at most 200 characters.
    pub text: String,
    /// The line of the test that makes it run only where Docker is present: it sits in the `then`
    /// branch of an `if` whose condition looks Docker up (`pgrep dockerd`, `command -v docker`,
    /// `systemctl is-active docker`, `[ -S /var/run/docker.sock ]`, `docker info`), or it is that
    /// `docker info`/`docker version` probe itself. A negated or empty-string test is no guard.
    pub docker_guard: Option<u32>,
}

/// A here-document of the script (at any nesting that maps line for line onto the text: not one
/// inside backticks or a quoted `sh -c` string), or the one line an `echo`/`printf` writes to a
/// file (`echo X > F`, `echo X | sudo tee F`; then `line` is the command's line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HereDoc {
    /// 1-based line of the body's first line in the text given to [`script`].
    pub line: u32,
    /// The body as the command reads it (leading tabs removed for `<<-`), without the delimiter
    /// line. An unterminated here-document runs to the end of the text.
    pub body: String,
    /// The delimiter was quoted (`<<'EOF'`, `<<"EOF"`, `<<\EOF`): the shell expands nothing in
    /// the body.
    pub quoted: bool,
    /// The file the body is written to: `cat > F`, `cat >> F`, `tee [-a] F`, `cat <<EOF | sudo tee F`,
    /// `dd of=F`. `None` when the body goes elsewhere (a program's standard input, the terminal).
    pub target: Option<String>,
    /// Appended to `target` rather than replacing it (`>>`, `tee -a`).
    pub append: bool,
    /// The program reading the body, after wrappers (`cat`, `tee`, `kubectl`, `bash`); empty when
    /// no command word was found.
    pub program: String,
    /// That program's arguments (unquoted).
    pub args: Vec<String>,
    /// The body is run as a script (`bash <<EOF`, `ssh host <<EOF`): its commands are already
    /// among [`Script::commands`].
    pub runs_as_script: bool,
    /// Written by `echo`/`printf` (the body is that command's text, at its line), not a heredoc.
    pub echo: bool,
}

/// A variable set by the script itself, outside any command's own environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// 1-based line of the assignment.
    pub line: u32,
    /// The variable's name.
    pub name: String,
    /// The assigned text, unquoted; expansions kept literally (`$OTHER`).
    pub value: String,
    /// Set only when the variable is unset or empty: `: ${NAME:=value}` (and `${NAME=value}`).
    pub default: bool,
}

/// What [`script`] finds in one text.
#[derive(Debug, Default)]
pub struct Script {
    /// The commands, as [`commands`] gives them.
    pub commands: Vec<Command>,
    /// The here-documents, in source order.
    pub heredocs: Vec<HereDoc>,
    /// Plain assignments (`NAME=value` alone on a command, `export`/`readonly`/`declare`/`local`/
    /// `typeset NAME=value`) and `: ${NAME:=value}` defaults, in source order. Array and `+=`
    /// assignments are left out.
    pub assignments: Vec<Assignment>,
}

/// The commands `script` would run, in source order (nested commands included, each with its
/// own position). Never panics; runs in time roughly linear in the length of the script.
pub fn commands(text: &str) -> Vec<Command> {
    script(text).commands
}

/// The commands, here-documents and variable assignments of a script. Never panics; runs in time
/// roughly linear in the length of the script (here-document bodies are copied once).
pub fn script(text: &str) -> Script {
    let mut chars: Vec<char> = Vec::with_capacity(text.len());
    chars.extend(text.chars());
    let mut line_starts = vec![0];
    line_starts.extend(chars.iter().enumerate().filter(|(_, c)| **c == '\n').map(|(i, _)| i + 1));
    let out = Vec::with_capacity(line_starts.len());
    let mut ctx = Ctx { line_starts, out, heredocs: Vec::new(), assignments: Vec::new(), guards: Vec::new() };
    let src = Src { chars: &chars, map: Map::Offset(0) };
    Parser::new(src, &mut ctx, 0, false).run();
    let mut heredocs = std::mem::take(&mut ctx.heredocs);
    heredocs.sort_by_key(|h| h.line);
    let mut assignments = std::mem::take(&mut ctx.assignments);
    assignments.sort_by_key(|a| a.line);
    Script { commands: finish(ctx.out), heredocs, assignments }
}

/// The line of the Docker presence test among an `if` condition's commands, when the condition
/// is one; a `docker info`/`docker version` probe there is marked as guarded by itself. A test for
/// emptiness or a comparison (`-z`, `= ""`, `-eq 0`) may mean "Docker is absent": no guard.
fn docker_guard(cond: &mut [Command]) -> Option<u32> {
    let unsure = cond.iter().any(|c| {
        matches!(c.program.as_str(), "[" | "[[" | "test")
            && c.args
                .iter()
                .any(|a| matches!(a.as_str(), "-z" | "!" | "=" | "==" | "!=" | "-eq" | "-lt" | "-le" | "||"))
    });
    if unsure {
        return None;
    }
    let line = cond.iter().find(|c| is_docker_probe(c))?.line;
    for c in cond.iter_mut().filter(|c| c.program == "docker" && is_docker_probe(c)) {
        c.docker_guard = Some(c.line);
    }
    Some(line)
}

/// Whether a command looks Docker up without needing it: `pgrep`/`pidof`/`which`/`type`/`hash`
/// `docker(d)`, `command -v docker`, `systemctl is-active|is-enabled|status docker`, a file test
/// on the Docker socket or binary, or `docker info`/`docker version`.
fn is_docker_probe(c: &Command) -> bool {
    let names_docker = |a: &String| {
        let a = a.trim_end_matches(".service").trim_end_matches(".socket");
        matches!(a, "docker" | "dockerd")
            || a.ends_with("/docker")
            || a.ends_with("/dockerd")
            || a.ends_with("docker.sock")
    };
    match c.program.as_str() {
        "pgrep" | "pidof" | "which" | "type" | "hash" => c.args.iter().any(names_docker),
        "command" => c.args.first().is_some_and(|a| a.starts_with('-')) && c.args.iter().skip(1).any(names_docker),
        "systemctl" => {
            c.args.iter().any(|a| matches!(a.as_str(), "is-active" | "is-enabled" | "status"))
                && c.args.iter().any(names_docker)
        }
        "[" | "[[" | "test" => {
            c.args.iter().any(|a| matches!(a.as_str(), "-S" | "-e" | "-x" | "-f")) && c.args.iter().any(names_docker)
        }
        "docker" => matches!(c.args.first().map(String::as_str), Some("info" | "version")),
        _ => false,
    }
}

/// Sorts by position (stable) and drops repeats of the same command at the same position (a
/// `$(…)` inside `bash -c "…"` is found both by the outer and by the inner parse).
fn finish(mut out: Vec<Command>) -> Vec<Command> {
    // Sort small keys, then move the commands in place (most are already in order).
    let mut order: Vec<(u32, u32, u32)> = out.iter().enumerate().map(|(i, c)| (c.line, c.column, to_u32(i))).collect();
    order.sort_unstable();
    let mut perm: Vec<usize> = order.into_iter().map(|(_, _, i)| i as usize).collect();
    if perm.len() == out.len() {
        for i in 0..perm.len() {
            let mut j = i;
            loop {
                let k = perm[j];
                perm[j] = j;
                if k == i || k >= out.len() {
                    break;
                }
                out.swap(j, k);
                j = k;
            }
        }
    }
    let mut kept: usize = 0;
    for r in 0..out.len() {
        let c = &out[r];
        let dup = out[kept.saturating_sub(64)..kept]
            .iter()
            .rev()
            .take_while(|k| k.line == c.line && k.column == c.column)
            .any(|k| k.program == c.program && k.args == c.args);
        if !dup {
            out.swap(kept, r);
            kept += 1;
        }
    }
    out.truncate(kept);
    out
}

// ---------------------------------------------------------------------------------------------
// Sources and positions

/// Shared by all nested parsers: line starts of the whole text and the output.
struct Ctx {
    /// Char index where each line of the whole text starts.
    line_starts: Vec<usize>,
    out: Vec<Command>,
    heredocs: Vec<HereDoc>,
    assignments: Vec<Assignment>,
    /// One entry per `then` branch being read (of every nested parser): the line of its Docker
    /// presence test, when its condition is one ([`Command::docker_guard`]).
    guards: Vec<Option<u32>>,
}

impl Ctx {
    /// 1-based line and column of a char index of the whole text.
    fn line_col(&self, g: usize) -> (u32, u32) {
        let l = self.line_starts.partition_point(|&s| s <= g).saturating_sub(1);
        let start = self.line_starts.get(l).copied().unwrap_or(0);
        (to_u32(l + 1), to_u32(g.saturating_sub(start) + 1))
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The text one parser reads, and where each of its chars sits in the whole text.
#[derive(Clone, Copy)]
struct Src<'s> {
    chars: &'s [char],
    map: Map<'s>,
}

#[derive(Clone, Copy)]
enum Map<'s> {
    /// A contiguous piece of the whole text starting at this char index.
    Offset(usize),
    /// An unquoted string: the whole-text index of each char, and a fallback index.
    Table(&'s [usize], usize),
}

impl<'s> Src<'s> {
    /// Whole-text char index of local index `i`.
    fn global(&self, i: usize) -> usize {
        match self.map {
            Map::Offset(base) => base + i,
            Map::Table(t, fallback) => t.get(i).copied().unwrap_or(fallback),
        }
    }

    fn slice(&self, a: usize, b: usize) -> Src<'s> {
        let b = b.min(self.chars.len());
        let a = a.min(b);
        Src {
            chars: self.chars.get(a..b).unwrap_or(&[]),
            map: match self.map {
                Map::Offset(o) => Map::Offset(o + a),
                Map::Table(t, fallback) => Map::Table(t.get(a..b).unwrap_or(&[]), fallback),
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tokens

/// One word: its local char range, unquoted value, and whether it had no quoting or expansion.
#[derive(Debug)]
struct Word {
    start: usize,
    end: usize,
    value: String,
    plain: bool,
}

impl AsRef<str> for Word {
    fn as_ref(&self) -> &str {
        &self.value
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Semi,
    /// `;;`, `;&`, `;;&`
    CaseEnd,
    Amp,
    And,
    Or,
    /// `|`, `|&`
    Pipe,
    LParen,
    RParen,
}

#[derive(Debug)]
enum Tok {
    Word(Word),
    /// A redirection with its target; `heredoc` indexes the parser's pending here-documents.
    Redir {
        start: usize,
        end: usize,
        heredoc: Option<usize>,
        /// Standard output sent to a file: `> F` (`false`) or `>> F` (`true`).
        output: Option<(String, bool)>,
    },
    Op(Op),
    Newline,
    Eof,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Normal,
    /// Inside `[[ … ]]`: operators are words.
    Test,
    /// After `for`/`select`: the variable name.
    ForVar,
    /// After the variable: `in`, `do`, or `;`.
    ForIn,
    /// The word list after `in`.
    ForWords,
    /// After `case`: the subject word.
    CaseWord,
    /// After the subject: `in`.
    CaseIn,
    /// Patterns up to `)`, or `esac`.
    CasePattern,
    /// After `function`: the name.
    FuncName,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    Paren,
    Case,
}

/// An `if` being read.
struct IfFrame {
    /// In a branch (`then` or `else`), not the condition.
    branch: bool,
    /// Index in the output of the condition's first command.
    cond_from: usize,
    /// The condition starts with `!`.
    negated: bool,
    /// Its `then` branch pushed an entry on [`Ctx::guards`], still there.
    pushed: bool,
}

/// The simple command being read.
#[derive(Debug, Default)]
struct Simple {
    /// Local index of its first token (assignment, redirection or word).
    start: Option<usize>,
    /// Local end of its last token.
    end: usize,
    words: Vec<Word>,
    heredocs: Vec<usize>,
    /// `> F` / `>> F` of the command (the last one wins, as in the shell).
    output: Option<(String, bool)>,
    /// Leading `NAME=value` words: local index and unquoted text.
    assigns: Vec<(usize, String)>,
}

struct Heredoc {
    delim: Vec<char>,
    strip_tabs: bool,
    feeds: bool,
    quoted: bool,
    sink: Option<Sink>,
}

/// Where a here-document goes: the file written (and whether appended), the program, its arguments.
#[derive(Clone, Default)]
struct Sink {
    file: Option<(String, bool)>,
    program: String,
    args: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Parser

struct Parser<'s, 'c> {
    src: Src<'s>,
    chars: &'s [char],
    pos: usize,
    end: usize,
    ctx: &'c mut Ctx,
    depth: usize,
    /// Ends at an unmatched `)` (the parser of a `$(…)`).
    close_paren: bool,
    state: State,
    frames: Vec<Frame>,
    cur: Simple,
    pushback: Option<Tok>,
    heredocs: Vec<Heredoc>,
    in_array: bool,
    /// [`Parser::emit_simple`] should tell whether the command feeds a shell.
    want_feeds: bool,
    /// The text an `echo`/`printf` just printed into a pipe (`echo x | sudo tee F`): line, text.
    piped_echo: Option<(u32, String)>,
    /// The `if`s open in this parser, innermost last.
    ifs: Vec<IfFrame>,
}

impl<'s, 'c> Parser<'s, 'c> {
    fn new(src: Src<'s>, ctx: &'c mut Ctx, depth: usize, close_paren: bool) -> Self {
        Parser {
            src,
            chars: src.chars,
            pos: 0,
            end: src.chars.len(),
            ctx,
            depth,
            close_paren,
            state: State::Normal,
            frames: Vec::new(),
            cur: Simple::default(),
            pushback: None,
            heredocs: Vec::new(),
            in_array: false,
            want_feeds: false,
            piped_echo: None,
            ifs: Vec::new(),
        }
    }

    fn at(&self, i: usize) -> char {
        self.chars.get(i).copied().unwrap_or('\0')
    }

    fn bump(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.end);
    }

    fn raw(&self, a: usize, b: usize) -> &'s [char] {
        self.chars.get(a..b.min(self.end)).unwrap_or(&[])
    }

    fn run(&mut self) {
        loop {
            if self.pushback.is_none() && self.skip_arith() {
                continue;
            }
            let tok = match self.pushback.take() {
                Some(t) => t,
                None => self.next_token(),
            };
            if !self.step(tok) {
                break;
            }
        }
        self.end_command();
        // An `if` left open (a truncated script, the end of a `$(…)`): its guard ends here.
        for f in mem::take(&mut self.ifs) {
            if f.pushed {
                self.ctx.guards.pop();
            }
        }
    }

    /// `if`, `!`, `then`, `elif`, `else` and `fi` where a command starts: tracks which branches
    /// run only where Docker is present ([`Command::docker_guard`]).
    fn if_keyword(&mut self, word: &str) {
        let out_len = self.ctx.out.len();
        match word {
            "if" => self.ifs.push(IfFrame { branch: false, cond_from: out_len, negated: false, pushed: false }),
            "!" => {
                if let Some(f) = self.ifs.last_mut().filter(|f| !f.branch && f.cond_from == out_len) {
                    f.negated = true;
                }
            }
            "then" => {
                if let Some(f) = self.ifs.last_mut().filter(|f| !f.branch) {
                    let cond = self.ctx.out.get_mut(f.cond_from..).unwrap_or_default();
                    let guard = if f.negated { None } else { docker_guard(cond) };
                    self.ctx.guards.push(guard);
                    f.pushed = true;
                    f.branch = true;
                }
            }
            "elif" | "else" => {
                if let Some(f) = self.ifs.last_mut() {
                    if std::mem::replace(&mut f.pushed, false) {
                        self.ctx.guards.pop();
                    }
                    *f = IfFrame { branch: word == "else", cond_from: out_len, negated: false, pushed: false };
                }
            }
            "fi" => {
                if let Some(f) = self.ifs.pop()
                    && f.pushed
                {
                    self.ctx.guards.pop();
                }
            }
            _ => {}
        }
    }

    /// `(( … ))` where a command may start (and `for (( … ))`): arithmetic, not commands.
    fn skip_arith(&mut self) -> bool {
        let at_cmd = match self.state {
            State::Normal => self.cur.words.is_empty() && self.cur.start.is_none(),
            State::ForVar => true,
            _ => false,
        };
        if !at_cmd {
            return false;
        }
        let mut p = self.pos;
        while matches!(self.at(p), ' ' | '\t' | '\r') {
            p += 1;
        }
        if self.at(p) == '(' && self.at(p + 1) == '(' {
            self.pos = skip_balanced(self.chars, p, self.end);
            self.state = State::Normal;
            return true;
        }
        false
    }

    /// Handles one token; false when this parser is done.
    fn step(&mut self, tok: Tok) -> bool {
        match tok {
            Tok::Eof => return false,
            Tok::Newline => {
                if matches!(self.state, State::Normal | State::Test | State::ForVar | State::ForWords) {
                    self.state = State::Normal;
                }
                self.end_command();
                self.piped_echo = None;
                self.read_heredocs();
                return true;
            }
            _ => {}
        }
        match self.state {
            State::Normal => return self.step_normal(tok),
            State::Test => match tok {
                Tok::Word(w) => {
                    let done = w.plain && w.value == "]]";
                    self.add_word(w);
                    if done {
                        self.state = State::Normal;
                    }
                }
                other => self.normal_again(other),
            },
            State::ForVar => match tok {
                Tok::Word(_) => self.state = State::ForIn,
                other => self.normal_again(other),
            },
            State::ForIn => match tok {
                Tok::Word(w) if w.plain && w.value == "in" => self.state = State::ForWords,
                Tok::Word(w) if w.plain && w.value == "do" => self.state = State::Normal,
                Tok::Op(Op::Semi) => {}
                other => self.normal_again(other),
            },
            State::ForWords => match tok {
                Tok::Word(_) => {}
                Tok::Op(Op::Semi) => self.state = State::Normal,
                other => self.normal_again(other),
            },
            State::CaseWord => match tok {
                Tok::Word(_) => self.state = State::CaseIn,
                other => self.normal_again(other),
            },
            State::CaseIn => match tok {
                Tok::Word(w) if w.plain && w.value == "in" => {
                    self.frames.push(Frame::Case);
                    self.state = State::CasePattern;
                }
                other => self.normal_again(other),
            },
            State::CasePattern => match tok {
                Tok::Word(w) if w.plain && w.value == "esac" => {
                    if self.frames.last() == Some(&Frame::Case) {
                        self.frames.pop();
                    }
                    self.state = State::Normal;
                }
                Tok::Op(Op::RParen) => self.state = State::Normal,
                _ => {}
            },
            State::FuncName => match tok {
                Tok::Word(_) => {
                    self.skip_func_parens();
                    self.state = State::Normal;
                }
                other => self.normal_again(other),
            },
        }
        true
    }

    fn normal_again(&mut self, tok: Tok) {
        self.state = State::Normal;
        self.pushback = Some(tok);
    }

    fn step_normal(&mut self, tok: Tok) -> bool {
        match tok {
            Tok::Word(w) => self.normal_word(w),
            Tok::Redir { start, end, heredoc, output } => {
                self.cur.start.get_or_insert(start);
                self.cur.end = end;
                if let Some(h) = heredoc {
                    self.cur.heredocs.push(h);
                }
                if output.is_some() {
                    self.cur.output = output;
                }
            }
            Tok::Op(op) => {
                let carry = self.end_command();
                if op != Op::Pipe {
                    self.piped_echo = None;
                }
                match op {
                    Op::Pipe => self.cur.heredocs = carry,
                    Op::CaseEnd => {
                        if self.frames.last() == Some(&Frame::Case) {
                            self.state = State::CasePattern;
                        }
                    }
                    Op::LParen => self.frames.push(Frame::Paren),
                    Op::RParen => {
                        if self.frames.last() == Some(&Frame::Paren) {
                            self.frames.pop();
                        } else if self.close_paren {
                            return false;
                        }
                    }
                    Op::Semi | Op::Amp | Op::And | Op::Or => {}
                }
            }
            Tok::Newline | Tok::Eof => {}
        }
        true
    }

    fn normal_word(&mut self, w: Word) {
        if self.cur.words.is_empty() {
            if self.cur.start.is_none() && w.plain {
                match w.value.as_str() {
                    "if" | "then" | "else" | "elif" | "fi" | "!" => {
                        self.if_keyword(&w.value);
                        return;
                    }
                    "while" | "until" | "do" | "done" | "{" | "}" => {
                        return;
                    }
                    "esac" => {
                        if self.frames.last() == Some(&Frame::Case) {
                            self.frames.pop();
                        }
                        return;
                    }
                    "for" | "select" => {
                        self.state = State::ForVar;
                        return;
                    }
                    "case" => {
                        self.state = State::CaseWord;
                        return;
                    }
                    "function" => {
                        self.state = State::FuncName;
                        return;
                    }
                    "[[" => {
                        self.state = State::Test;
                        self.add_word(w);
                        return;
                    }
                    _ => {}
                }
            }
            if is_assignment(self.raw(w.start, w.end)) {
                self.cur.start.get_or_insert(w.start);
                self.cur.end = w.end;
                self.cur.assigns.push((w.start, w.value));
                return;
            }
            if !w.value.is_empty() && self.skip_func_parens() {
                // `name() { … }`: a definition; the body follows as ordinary commands.
                self.cur = Simple::default();
                return;
            }
        }
        self.add_word(w);
    }

    fn add_word(&mut self, w: Word) {
        self.cur.start.get_or_insert(w.start);
        self.cur.end = w.end;
        self.cur.words.push(w);
    }

    /// Consumes `( )` after a function name.
    fn skip_func_parens(&mut self) -> bool {
        let mut p = self.pos;
        while matches!(self.at(p), ' ' | '\t') {
            p += 1;
        }
        if self.at(p) != '(' {
            return false;
        }
        p += 1;
        while matches!(self.at(p), ' ' | '\t') {
            p += 1;
        }
        if self.at(p) != ')' {
            return false;
        }
        self.pos = (p + 1).min(self.end);
        true
    }

    /// Emits the current simple command; returns the here-documents of a bare `cat`, which a
    /// following `| bash` may claim.
    fn end_command(&mut self) -> Vec<usize> {
        if self.cur.start.is_none() && self.cur.words.is_empty() {
            return Vec::new();
        }
        let mut cur = mem::take(&mut self.cur);
        self.note_assignments(&cur);
        let Some(first) = cur.words.first() else { return Vec::new() };
        let start = cur.start.unwrap_or(first.start);
        let lone_cat = cur.words.len() == 1 && basename(&first.value) == "cat";
        if !cur.heredocs.is_empty() {
            self.note_heredoc_sink(&cur);
        }
        self.note_echo_write(&cur);
        self.want_feeds = !cur.heredocs.is_empty();
        let feeds = self.emit_simple(&mut cur.words, start, cur.end, self.depth);
        self.want_feeds = false;
        // Keep the allocation for the next command.
        cur.words.clear();
        self.cur.words = mem::take(&mut cur.words);
        if feeds {
            for &i in &cur.heredocs {
                if let Some(h) = self.heredocs.get_mut(i) {
                    h.feeds = true;
                }
            }
            return Vec::new();
        }
        if lone_cat { cur.heredocs } else { Vec::new() }
    }

    /// Reads the bodies of the pending here-documents, which start at the current position.
    fn read_heredocs(&mut self) {
        if self.heredocs.is_empty() {
            return;
        }
        for h in mem::take(&mut self.heredocs) {
            let body_start = self.pos;
            let mut body_end = self.end;
            let mut next = self.end;
            let mut ls = self.pos;
            while ls < self.end {
                let le = self.chars[ls..self.end].iter().position(|&c| c == '\n').map_or(self.end, |p| ls + p);
                let mut a = ls;
                if h.strip_tabs {
                    while a < le && self.chars[a] == '\t' {
                        a += 1;
                    }
                }
                let mut b = le;
                if b > a && self.chars[b - 1] == '\r' {
                    b -= 1;
                }
                if self.chars.get(a..b) == Some(&h.delim[..]) {
                    body_end = ls;
                    next = (le + 1).min(self.end);
                    break;
                }
                ls = le + 1;
            }
            self.pos = next;
            self.note_heredoc_body(&h, body_start, body_end);
            if h.feeds && self.depth < MAX_DEPTH && body_start < body_end {
                let sub = self.src.slice(body_start, body_end);
                Parser::new(sub, &mut *self.ctx, self.depth + 1, false).run();
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Here-documents and assignments

    /// Whether local positions map line for line onto the whole text (not an unquoted string).
    fn maps_lines(&self) -> bool {
        matches!(self.src.map, Map::Offset(_))
    }

    fn line_of(&self, local: usize) -> u32 {
        self.ctx.line_col(self.src.global(local)).0
    }

    /// Records the script's own variables set by the command `cur` (before its words are consumed).
    fn note_assignments(&mut self, cur: &Simple) {
        if !self.maps_lines() {
            return;
        }
        if cur.words.is_empty() {
            for (start, text) in &cur.assigns {
                self.push_assignment(*start, text, false);
            }
            return;
        }
        let Some(first) = cur.words.first().filter(|w| w.plain) else { return };
        match first.value.as_str() {
            "export" | "readonly" | "declare" | "local" | "typeset" => {
                for w in cur.words.iter().skip(1).filter(|w| !w.value.starts_with('-')) {
                    if is_assignment_str(&w.value) {
                        self.push_assignment(w.start, &w.value, false);
                    }
                }
            }
            ":" => {
                for w in cur.words.iter().skip(1) {
                    // `${NAME:=value}` / `${NAME=value}`, kept literally in the word.
                    let Some(inner) = w.value.strip_prefix("${").and_then(|v| v.strip_suffix('}')) else { continue };
                    let name_len = inner.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').count();
                    let (name, rest) = inner.split_at(name_len);
                    let value = rest.strip_prefix(":=").or_else(|| rest.strip_prefix('='));
                    if let (false, Some(value)) = (name.is_empty(), value) {
                        let line = self.line_of(w.start);
                        let value = unquote_simple(value);
                        self.ctx.assignments.push(Assignment { line, name: name.to_string(), value, default: true });
                    }
                }
            }
            _ => {}
        }
    }

    fn push_assignment(&mut self, start: usize, text: &str, default: bool) {
        let Some((name, value)) = text.split_once('=') else { return };
        if name.ends_with('+') || name.contains('[') || value.starts_with('(') || name.is_empty() {
            return;
        }
        let line = self.line_of(start);
        self.ctx.assignments.push(Assignment { line, name: name.to_string(), value: value.to_string(), default });
    }

    /// Decides where the here-documents of `cur` go: the file a `cat`/`tee`/`dd` writes, or the
    /// program reading them. A bare `cat` leaves the decision to the command it pipes into.
    fn note_heredoc_sink(&mut self, cur: &Simple) {
        let values: Vec<&str> = cur.words.iter().map(|w| w.value.as_str()).collect();
        let p = peel(&values);
        let program = values.get(p.prog).map_or("", |w| basename(w)).to_string();
        let rest: Vec<String> = values.get(p.prog + 1..).unwrap_or(&[]).iter().map(|s| s.to_string()).collect();
        let target = match program.as_str() {
            "cat" => cur.output.clone(),
            "tee" => tee_target(&rest),
            "dd" => {
                let of = rest.iter().find_map(|a| a.strip_prefix("of=")).map(str::to_string);
                of.map(|f| (f, rest.iter().any(|a| a.starts_with("oflag=") && a.contains("append"))))
            }
            p if is_shell(p) => {
                // `sudo sh -c 'cat > /etc/x' <<EOF`, `bash -c "tee -a /etc/y"`.
                let o = shell_opts(&rest);
                let inner: Vec<&str> = if o.c {
                    rest.get(o.operand).map(|s| s.split_whitespace().collect()).unwrap_or_default()
                } else {
                    Vec::new()
                };
                match inner.first().map(|w| basename(w)) {
                    Some("cat") => inner.iter().enumerate().find_map(|(k, w)| {
                        let (op, file) = match w.strip_prefix(">>") {
                            Some(f) => (true, f),
                            None => (false, w.strip_prefix('>')?),
                        };
                        let file = if file.is_empty() { inner.get(k + 1).copied()? } else { file };
                        Some((file.to_string(), op))
                    }),
                    Some("tee") => tee_target(&inner[1..]),
                    _ => None,
                }
            }
            _ => None,
        };
        for &i in &cur.heredocs {
            let Some(h) = self.heredocs.get_mut(i) else { continue };
            if h.sink.as_ref().is_none_or(|s| s.file.is_none()) {
                h.sink = Some(Sink { file: target.clone(), program: program.clone(), args: rest.clone() });
            }
        }
    }

    /// `echo TEXT > F`, `printf FMT >> F`, `echo TEXT | sudo tee [-a] F`: a one-line file body, kept
    /// as a [`HereDoc`] at the command's line.
    fn note_echo_write(&mut self, cur: &Simple) {
        let piped = self.piped_echo.take();
        if !self.maps_lines() {
            return;
        }
        let values: Vec<&str> = cur.words.iter().map(|w| w.value.as_str()).collect();
        let p = peel(&values);
        let Some(word) = cur.words.get(p.prog) else { return };
        let program = basename(&word.value);
        let line = self.line_of(word.start);
        let rest = values.get(p.prog + 1..).unwrap_or(&[]);
        let text = match program {
            "echo" => {
                let skip = rest
                    .iter()
                    .take_while(|a| a.len() > 1 && a.starts_with('-') && a[1..].chars().all(|c| "neE".contains(c)))
                    .count();
                format!("{}\n", rest[skip..].join(" "))
            }
            "printf" => {
                let mut args = rest.iter().skip(1);
                let fmt = rest.first().copied().unwrap_or("");
                let mut out = String::new();
                let mut parts = fmt.split("%s");
                out.push_str(parts.next().unwrap_or(""));
                for part in parts {
                    out.push_str(args.next().copied().unwrap_or(""));
                    out.push_str(part);
                }
                out.replace("\\n", "\n")
            }
            "tee" => {
                if let (Some((l, text)), Some((target, append))) = (piped, tee_target(rest)) {
                    self.push_write(l, text, target, append, "tee");
                }
                return;
            }
            _ => return,
        };
        match cur.output.clone() {
            Some((target, append)) => self.push_write(line, text, target, append, program),
            None => self.piped_echo = Some((line, text)),
        }
    }

    fn push_write(&mut self, line: u32, body: String, target: String, append: bool, program: &str) {
        self.ctx.heredocs.push(HereDoc {
            line,
            body,
            quoted: false,
            target: Some(target),
            append,
            program: program.to_string(),
            args: Vec::new(),
            runs_as_script: false,
            echo: true,
        });
    }

    /// Records a here-document's body, `start..end` local chars.
    fn note_heredoc_body(&mut self, h: &Heredoc, start: usize, end: usize) {
        if !self.maps_lines() || start >= end {
            return;
        }
        let mut body = String::with_capacity(end - start);
        let mut at_line_start = true;
        for &c in self.raw(start, end) {
            if h.strip_tabs && at_line_start && c == '\t' {
                continue;
            }
            at_line_start = c == '\n';
            body.push(c);
        }
        let Sink { file, program, args } = h.sink.clone().unwrap_or_default();
        let (target, append) = match file {
            Some((t, a)) => (Some(t), a),
            None => (None, false),
        };
        self.ctx.heredocs.push(HereDoc {
            line: self.line_of(start),
            body,
            quoted: h.quoted,
            target,
            append,
            program,
            args,
            runs_as_script: h.feeds,
            echo: false,
        });
    }

    // -----------------------------------------------------------------------------------------
    // Lexer

    fn skip_blanks(&mut self) {
        while self.pos < self.end {
            match self.chars[self.pos] {
                ' ' | '\t' | '\r' | '\x0b' | '\x0c' => self.pos += 1,
                '\\' if self.at(self.pos + 1) == '\n' => self.bump(2),
                '\\' if self.at(self.pos + 1) == '\r' && self.at(self.pos + 2) == '\n' => self.bump(3),
                _ => break,
            }
        }
    }

    fn next_token(&mut self) -> Tok {
        loop {
            self.skip_blanks();
            if self.pos >= self.end {
                return Tok::Eof;
            }
            let c = self.chars[self.pos];
            let n1 = self.at(self.pos + 1);
            if c == '#' {
                while self.pos < self.end && self.chars[self.pos] != '\n' {
                    self.pos += 1;
                }
                continue;
            }
            if c == '\n' {
                self.pos += 1;
                return Tok::Newline;
            }
            if self.state == State::Test && matches!(c, '&' | '|' | '(' | ')' | '<' | '>') {
                let start = self.pos;
                while self.pos < self.end && matches!(self.chars[self.pos], '&' | '|' | '(' | ')' | '<' | '>') {
                    self.pos += 1;
                }
                let value: String = self.raw(start, self.pos).iter().collect();
                return Tok::Word(Word { start, end: self.pos, value, plain: true });
            }
            return match c {
                ';' => {
                    if n1 == ';' {
                        self.bump(2);
                        if self.at(self.pos) == '&' {
                            self.bump(1);
                        }
                        Tok::Op(Op::CaseEnd)
                    } else if n1 == '&' {
                        self.bump(2);
                        Tok::Op(Op::CaseEnd)
                    } else {
                        self.bump(1);
                        Tok::Op(Op::Semi)
                    }
                }
                '&' if n1 == '&' => {
                    self.bump(2);
                    Tok::Op(Op::And)
                }
                '&' if n1 == '>' => self.lex_redir(),
                '&' => {
                    self.bump(1);
                    Tok::Op(Op::Amp)
                }
                '|' => {
                    let op = if n1 == '|' { Op::Or } else { Op::Pipe };
                    self.bump(if matches!(n1, '|' | '&') { 2 } else { 1 });
                    Tok::Op(op)
                }
                '(' => {
                    self.bump(1);
                    Tok::Op(Op::LParen)
                }
                ')' => {
                    self.bump(1);
                    Tok::Op(Op::RParen)
                }
                '<' | '>' if n1 == '(' => Tok::Word(self.lex_word()),
                '<' | '>' => self.lex_redir(),
                '0'..='9' => {
                    let mut p = self.pos;
                    while self.at(p).is_ascii_digit() {
                        p += 1;
                    }
                    if matches!(self.at(p), '<' | '>') && self.at(p + 1) != '(' {
                        self.lex_redir()
                    } else {
                        Tok::Word(self.lex_word())
                    }
                }
                _ => Tok::Word(self.lex_word()),
            };
        }
    }

    /// A redirection operator (with an optional fd number) and its target word.
    fn lex_redir(&mut self) -> Tok {
        let start = self.pos;
        while self.at(self.pos).is_ascii_digit() {
            self.pos += 1;
        }
        let fd_default = self.pos == start || self.raw(start, self.pos) == ['1'];
        let (c, n1, n2) = (self.at(self.pos), self.at(self.pos + 1), self.at(self.pos + 2));
        let mut heredoc = None;
        // `>`, `>|` and `>>` on standard output name a file the command writes.
        let output_op = match (c, n1) {
            ('>', '>') => Some(true),
            ('>', '&') => None,
            ('>', _) => Some(false),
            _ => None,
        }
        .filter(|_| fd_default);
        match c {
            '&' => self.bump(if n2 == '>' { 3 } else { 2 }),
            '<' if n1 == '<' && n2 == '<' => self.bump(3),
            '<' if n1 == '<' => {
                heredoc = Some(n2 == '-');
                self.bump(if n2 == '-' { 3 } else { 2 });
            }
            '<' if matches!(n1, '&' | '>') => self.bump(2),
            '>' if matches!(n1, '>' | '&' | '|') => self.bump(2),
            _ => self.bump(1),
        }
        self.skip_blanks();
        let c = self.at(self.pos);
        let has_target = self.pos < self.end
            && !matches!(c, '\n' | ';' | '&' | '|' | '(' | ')' | '#')
            && !(matches!(c, '<' | '>') && self.at(self.pos + 1) != '(');
        let mut idx = None;
        let mut output = None;
        if has_target {
            let w = self.lex_word();
            if let Some(strip_tabs) = heredoc {
                idx = Some(self.heredocs.len());
                self.heredocs.push(Heredoc {
                    delim: w.value.chars().collect(),
                    strip_tabs,
                    feeds: false,
                    quoted: !w.plain,
                    sink: None,
                });
            } else if let Some(append) = output_op {
                output = Some((w.value, append));
            }
        }
        Tok::Redir { start, end: self.pos, heredoc: idx, output }
    }

    fn lex_word(&mut self) -> Word {
        let start = self.pos;
        // Fast path: a run of ordinary chars is copied in one go.
        let mut p = self.pos;
        while p < self.end
            && !matches!(
                self.chars[p],
                ' ' | '\t' | '\r' | '\n' | ';' | '&' | '|' | '<' | '>' | '(' | ')' | '\\' | '\'' | '"' | '$' | '`'
            )
        {
            p += 1;
        }
        let mut v = String::with_capacity(p - start);
        v.extend(self.raw(start, p));
        self.pos = p;
        let mut plain = true;
        if p == start && matches!(self.at(self.pos), '<' | '>') && self.at(self.pos + 1) == '(' {
            plain = false;
            self.bump(2);
            self.subst();
            v.extend(self.raw(start, self.pos));
        }
        while self.pos < self.end {
            let c = self.chars[self.pos];
            match c {
                ' ' | '\t' | '\r' | '\n' | ';' | '&' | '|' | '<' | '>' | ')' => break,
                '(' => {
                    if plain && !self.in_array && is_assignment_prefix(&v) {
                        plain = false;
                        let s = self.pos;
                        self.lex_array();
                        v.extend(self.raw(s, self.pos));
                    } else {
                        break;
                    }
                }
                '\\' => {
                    plain = false;
                    let n = self.at(self.pos + 1);
                    if self.pos + 1 >= self.end {
                        self.bump(1);
                    } else if n == '\n' {
                        self.bump(2);
                    } else if n == '\r' && self.at(self.pos + 2) == '\n' {
                        self.bump(3);
                    } else {
                        v.push(n);
                        self.bump(2);
                    }
                }
                '\'' => {
                    plain = false;
                    self.bump(1);
                    while self.pos < self.end && self.chars[self.pos] != '\'' {
                        v.push(self.chars[self.pos]);
                        self.pos += 1;
                    }
                    self.bump(1);
                }
                '"' => {
                    plain = false;
                    self.lex_dquote(&mut v);
                }
                '$' => {
                    plain = false;
                    self.lex_dollar(&mut v, false);
                }
                '`' => {
                    plain = false;
                    self.lex_backtick(&mut v);
                }
                _ => {
                    v.push(c);
                    self.pos += 1;
                }
            }
        }
        Word { start, end: self.pos, value: v, plain }
    }

    /// `name=( … )`: the elements are words (their substitutions run), not commands.
    fn lex_array(&mut self) {
        self.in_array = true;
        self.bump(1);
        while self.pos < self.end {
            self.skip_blanks();
            let c = self.at(self.pos);
            if self.pos >= self.end {
                break;
            }
            match c {
                ')' => {
                    self.bump(1);
                    break;
                }
                '#' => {
                    while self.pos < self.end && self.chars[self.pos] != '\n' {
                        self.pos += 1;
                    }
                }
                '<' | '>' if self.at(self.pos + 1) == '(' => {
                    self.lex_word();
                }
                '\n' | ';' | '&' | '|' | '<' | '>' | '(' => self.bump(1),
                _ => {
                    self.lex_word();
                }
            }
        }
        self.in_array = false;
    }

    /// `"…"`, from the opening quote.
    fn lex_dquote(&mut self, v: &mut String) {
        self.bump(1);
        while self.pos < self.end {
            let c = self.chars[self.pos];
            match c {
                '"' => {
                    self.bump(1);
                    return;
                }
                '\\' => {
                    let n = self.at(self.pos + 1);
                    if self.pos + 1 < self.end && n == '\n' {
                        self.bump(2);
                    } else if self.pos + 1 < self.end && matches!(n, '$' | '`' | '"' | '\\') {
                        v.push(n);
                        self.bump(2);
                    } else {
                        v.push('\\');
                        self.bump(1);
                    }
                }
                '$' => self.lex_dollar(v, true),
                '`' => self.lex_backtick(v),
                _ => {
                    v.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// A `$` expansion, from the `$`. Substitutions are parsed for their commands and kept as
    /// literal text in the word.
    fn lex_dollar(&mut self, v: &mut String, in_dq: bool) {
        let s = self.pos;
        match self.at(self.pos + 1) {
            '(' if self.pos + 1 < self.end => {
                if self.at(self.pos + 2) == '(' {
                    self.pos = skip_balanced(self.chars, self.pos + 1, self.end);
                } else {
                    self.bump(2);
                    self.subst();
                }
                v.extend(self.raw(s, self.pos));
            }
            '{' if self.pos + 1 < self.end => {
                self.bump(2);
                self.brace_scan(in_dq);
                v.extend(self.raw(s, self.pos));
            }
            '\'' if !in_dq && self.pos + 1 < self.end => {
                self.bump(2);
                while self.pos < self.end {
                    let c = self.chars[self.pos];
                    if c == '\'' {
                        self.bump(1);
                        break;
                    }
                    if c == '\\' && self.pos + 1 < self.end {
                        let n = self.chars[self.pos + 1];
                        match ansi_escape(n) {
                            Some(e) => v.push(e),
                            None => {
                                v.push('\\');
                                v.push(n);
                            }
                        }
                        self.bump(2);
                    } else {
                        v.push(c);
                        self.pos += 1;
                    }
                }
            }
            '"' if !in_dq && self.pos + 1 < self.end => {
                self.bump(1);
                self.lex_dquote(v);
            }
            _ => {
                v.push('$');
                self.bump(1);
            }
        }
    }

    /// The rest of a `${…}` after `${`: iterative, with `$(…)` and backticks parsed.
    fn brace_scan(&mut self, in_dq: bool) {
        let mut depth = 1usize;
        let mut dq = false;
        let mut scratch = String::new();
        while self.pos < self.end {
            let c = self.chars[self.pos];
            let n = self.at(self.pos + 1);
            match c {
                '\\' => self.bump(2),
                '\'' if !in_dq && !dq => {
                    self.bump(1);
                    while self.pos < self.end && self.chars[self.pos] != '\'' {
                        self.pos += 1;
                    }
                    self.bump(1);
                }
                '"' => {
                    dq = !dq;
                    self.bump(1);
                }
                '$' if n == '(' && self.at(self.pos + 2) == '(' => {
                    self.pos = skip_balanced(self.chars, self.pos + 1, self.end);
                }
                '$' if n == '(' => {
                    self.bump(2);
                    self.subst();
                }
                '$' if n == '{' => {
                    depth += 1;
                    self.bump(2);
                }
                '`' => {
                    scratch.clear();
                    self.lex_backtick(&mut scratch);
                }
                '}' if !dq => {
                    self.bump(1);
                    depth -= 1;
                    if depth == 0 {
                        return;
                    }
                }
                _ => self.bump(1),
            }
        }
    }

    /// The body of `$(…)` or `<(…)`, from after the opening parenthesis to after the closing one.
    fn subst(&mut self) {
        if self.depth >= MAX_DEPTH {
            self.pos = skip_balanced(self.chars, self.pos.saturating_sub(1), self.end);
            return;
        }
        let mut child = Parser::new(self.src, &mut *self.ctx, self.depth + 1, true);
        child.pos = self.pos;
        child.run();
        self.pos = child.pos.min(self.end);
    }

    /// `` `…` ``, from the opening backtick: the unescaped body is parsed as a script.
    fn lex_backtick(&mut self, v: &mut String) {
        let s = self.pos;
        self.bump(1);
        let mut inner = Vec::new();
        let mut map = Vec::new();
        while self.pos < self.end {
            let c = self.chars[self.pos];
            if c == '`' {
                self.bump(1);
                break;
            }
            if c == '\\' && matches!(self.at(self.pos + 1), '`' | '\\' | '$' | '"') && self.pos + 1 < self.end {
                inner.push(self.chars[self.pos + 1]);
                map.push(self.src.global(self.pos + 1));
                self.bump(2);
                continue;
            }
            inner.push(c);
            map.push(self.src.global(self.pos));
            self.pos += 1;
        }
        v.extend(self.raw(s, self.pos));
        if self.depth < MAX_DEPTH && !inner.is_empty() {
            let sub = Src { chars: &inner, map: Map::Table(&map, self.src.global(s)) };
            Parser::new(sub, &mut *self.ctx, self.depth + 1, false).run();
        }
    }

    // -----------------------------------------------------------------------------------------
    // Commands

    /// Emits one simple command (`words` non-empty; text from `tstart` to `tend`) and the
    /// commands nested in its arguments. Returns whether its standard input feeds a shell.
    fn emit_simple(&mut self, words: &mut [Word], tstart: usize, tend: usize, depth: usize) -> bool {
        let peeled = peel(words);
        if peeled.script {
            if let Some(ws) = words.get(peeled.prog..) {
                self.nested_words(ws, 0, depth);
            }
            return false;
        }
        let Some(pw) = words.get(peeled.prog) else { return false };
        let program = basename(&pw.value).to_string();
        if program.is_empty() {
            return false;
        }
        let (line, column) = self.ctx.line_col(self.src.global(pw.start));
        let text = text_of(self.raw(tstart, tend));
        // Only asked about when the command has a here-document (rare).
        let feeds = self.want_feeds && feeds_shell(words, 0);
        let Some(rest) = words.get_mut(peeled.prog + 1..) else { return feeds };
        let mut args = Vec::new();

        match program.as_str() {
            "echo" | "printf" => {}
            p if is_shell(p) => {
                let o = shell_opts(rest);
                if o.c
                    && let Some(ws) = rest.get(o.operand..=o.operand)
                {
                    self.nested_words(ws, 0, depth);
                }
            }
            "su" | "runuser" => {
                if let Some((j, skip)) = su_command(rest)
                    && let Some(ws) = rest.get(j..=j)
                {
                    self.nested_words(ws, skip, depth);
                }
            }
            "ssh" => {
                if let Some(j) = ssh_remote(rest)
                    && let Some(ws) = rest.get(j..)
                {
                    self.nested_words(ws, 0, depth);
                }
            }
            "eval" => self.nested_words(rest, 0, depth),
            "trap" => {
                if rest.len() >= 2 && !rest[0].value.starts_with('-') {
                    self.nested_words(&rest[..1], 0, depth);
                }
            }
            "find" => {
                // The executed commands take their words' values: keep a copy for find's own.
                args = rest.iter().map(|w| w.value.clone()).collect();
                if depth < MAX_DEPTH {
                    for (a, b) in find_execs(rest) {
                        let (Some(first), Some(last)) = (rest.get(a), rest.get(b - 1)) else { continue };
                        let (ts, te) = (first.start, last.end);
                        if let Some(seg) = rest.get_mut(a..b) {
                            self.emit_simple(seg, ts, te, depth + 1);
                        }
                    }
                }
            }
            _ => {
                // `docker run img sh -c '…'`, `kubectl exec p -- bash -c "…"`.
                if let Some(k) = rest.iter().position(|a| a.value.ends_with("sh") && is_shell(basename(&a.value))) {
                    let after = rest.get(k + 1..).unwrap_or(&[]);
                    let o = shell_opts(after);
                    if o.c
                        && let Some(ws) = rest.get(k + 1 + o.operand..=k + 1 + o.operand)
                    {
                        self.nested_words(ws, 0, depth);
                    }
                }
            }
        }
        if program != "find" {
            args = rest.iter_mut().map(|w| mem::take(&mut w.value)).collect();
        }
        let docker_guard = self.ctx.guards.iter().rev().flatten().next().copied();
        self.ctx.out.push(Command { line, column, program, args, text, docker_guard });
        feeds
    }

    /// Parses the unquoted text of `words` (joined by spaces; the first `skip` chars dropped)
    /// as a script, with positions mapped back to the source.
    fn nested_words(&mut self, words: &[Word], skip: usize, depth: usize) {
        let Some(first) = words.first() else { return };
        if depth >= MAX_DEPTH {
            return;
        }
        let size: usize = words.iter().map(|w| w.end.saturating_sub(w.start) + 1).sum();
        let mut chars = Vec::with_capacity(size);
        let mut map = Vec::with_capacity(size);
        for (n, w) in words.iter().enumerate() {
            if n > 0 {
                chars.push(' ');
                map.push(self.src.global(w.start));
            }
            unquote_into(&self.src, w.start, w.end, &mut chars, &mut map);
        }
        if skip > 0 {
            let skip = skip.min(chars.len());
            chars.drain(..skip);
            map.drain(..skip);
        }
        if chars.iter().all(|c| c.is_whitespace()) {
            return;
        }
        let sub = Src { chars: &chars, map: Map::Table(&map, self.src.global(first.start)) };
        Parser::new(sub, &mut *self.ctx, depth + 1, false).run();
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// The end (exclusive) of the balanced `(…)` or `{…}` opening at `open`, quote-aware; `limit`
/// when unbalanced. Iterative: used where nesting is not parsed.
fn skip_balanced(chars: &[char], open: usize, limit: usize) -> usize {
    let limit = limit.min(chars.len());
    let (o, c) = match chars.get(open) {
        Some('(') => ('(', ')'),
        Some('{') => ('{', '}'),
        _ => return (open + 1).min(limit),
    };
    let mut depth = 0usize;
    let mut i = open;
    while i < limit {
        match chars[i] {
            '\\' => i += 1,
            q @ ('\'' | '"' | '`') => {
                i += 1;
                while i < limit && chars[i] != q {
                    if q != '\'' && chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            ch if ch == o => depth += 1,
            ch if ch == c => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    limit
}

/// The end (exclusive) of the backtick string opening at `open`.
fn skip_backtick(chars: &[char], open: usize, limit: usize) -> usize {
    let limit = limit.min(chars.len());
    let mut i = open + 1;
    while i < limit {
        match chars[i] {
            '\\' => i += 2,
            '`' => return i + 1,
            _ => i += 1,
        }
    }
    limit
}

/// Appends the unquoted text of the word at `start..end` of `src`, with whole-text positions.
/// Substitutions are copied raw (the nested parse finds their commands again; [`finish`]
/// drops the repeats).
fn unquote_into(src: &Src<'_>, start: usize, end: usize, out: &mut Vec<char>, map: &mut Vec<usize>) {
    let chars = src.chars;
    let end = end.min(chars.len());
    let mut put = |c: char, i: usize| {
        out.push(c);
        map.push(src.global(i));
    };
    let at = |i: usize| if i < end { chars[i] } else { '\0' };
    let mut i = start;
    while i < end {
        let c = chars[i];
        let n = at(i + 1);
        match c {
            '\\' => {
                if i + 1 < end && n != '\n' {
                    put(n, i + 1);
                }
                i += 2;
            }
            '\'' => {
                i += 1;
                while i < end && chars[i] != '\'' {
                    put(chars[i], i);
                    i += 1;
                }
                i += 1;
            }
            '"' => {
                i += 1;
                while i < end && chars[i] != '"' {
                    let d = chars[i];
                    let dn = at(i + 1);
                    if d == '\\' && matches!(dn, '$' | '`' | '"' | '\\' | '\n') {
                        if dn != '\n' {
                            put(dn, i + 1);
                        }
                        i += 2;
                    } else if d == '$' && matches!(dn, '(' | '{') {
                        let j = skip_balanced(chars, i + 1, end);
                        (i..j).for_each(|k| put(chars[k], k));
                        i = j;
                    } else if d == '`' {
                        let j = skip_backtick(chars, i, end);
                        (i..j).for_each(|k| put(chars[k], k));
                        i = j;
                    } else {
                        put(d, i);
                        i += 1;
                    }
                }
                i += 1;
            }
            '$' if n == '\'' => {
                i += 2;
                while i < end && chars[i] != '\'' {
                    if chars[i] == '\\' && i + 1 < end {
                        match ansi_escape(chars[i + 1]) {
                            Some(e) => put(e, i + 1),
                            None => {
                                put('\\', i);
                                put(chars[i + 1], i + 1);
                            }
                        }
                        i += 2;
                    } else {
                        put(chars[i], i);
                        i += 1;
                    }
                }
                i += 1;
            }
            '$' if matches!(n, '(' | '{') => {
                let j = skip_balanced(chars, i + 1, end);
                (i..j).for_each(|k| put(chars[k], k));
                i = j;
            }
            '`' => {
                let j = skip_backtick(chars, i, end);
                (i..j).for_each(|k| put(chars[k], k));
                i = j;
            }
            _ => {
                put(c, i);
                i += 1;
            }
        }
    }
}

/// The char a `$'…'` escape `\n` stands for; None for unknown escapes (kept as written).
fn ansi_escape(n: char) -> Option<char> {
    Some(match n {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        'a' => '\x07',
        'b' => '\x08',
        'e' | 'E' => '\x1b',
        'f' => '\x0c',
        'v' => '\x0b',
        '\\' | '\'' | '"' | '?' => n,
        _ => return None,
    })
}

/// The command's text: its first line, trimmed, at most [`MAX_TEXT_CHARS`] chars.
fn text_of(chars: &[char]) -> String {
    let (line, continued) = match chars.iter().position(|&c| c == '\n') {
        Some(p) => (&chars[..p], true),
        None => (chars, false),
    };
    let is_space = |c: &char| c.is_whitespace();
    let mut a = line.iter().position(|c| !is_space(c)).unwrap_or(line.len());
    let mut b = line.iter().rposition(|c| !is_space(c)).map_or(a, |p| p + 1);
    if continued && b > a && line[b - 1] == '\\' {
        b -= 1;
        while b > a && is_space(&line[b - 1]) {
            b -= 1;
        }
    }
    a = a.min(b);
    let kept = &line[a..b.min(a + MAX_TEXT_CHARS)];
    let mut t = String::with_capacity(kept.len());
    t.extend(kept);
    let trimmed = t.trim_end().len();
    t.truncate(trimmed);
    t
}

/// `tee [-a] [-i] [-p] FILE...`: the first file, and whether it is appended to.
fn tee_target<S: AsRef<str>>(rest: &[S]) -> Option<(String, bool)> {
    let mut append = false;
    for a in rest.iter().map(AsRef::as_ref) {
        if a == "--append" || (a.starts_with('-') && !a.starts_with("--") && a.contains('a')) {
            append = true;
        } else if !a.starts_with('-') && !a.is_empty() {
            return Some((a.to_string(), append));
        }
    }
    None
}

/// The text of a default value in `${NAME:=value}`, without one level of quotes.
fn unquote_simple(v: &str) -> String {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return v[1..v.len() - 1].to_string();
        }
    }
    v.to_string()
}

/// `name=`, `name+=`, `name[i]=` at the start of a raw word (a shell assignment).
fn is_assignment(raw: &[char]) -> bool {
    let Some(&first) = raw.first() else { return false };
    if !(first.is_ascii_alphabetic() || first == '_') {
        return false;
    }
    let mut i = 1;
    while raw.get(i).is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_') {
        i += 1;
    }
    if raw.get(i) == Some(&'[') {
        while raw.get(i).is_some_and(|c| *c != ']') {
            i += 1;
        }
        i += 1;
    }
    if raw.get(i) == Some(&'+') {
        i += 1;
    }
    raw.get(i) == Some(&'=')
}

fn is_assignment_str(s: &str) -> bool {
    let head: Vec<char> = s.chars().take_while(|c| *c != '=').chain(s.contains('=').then_some('=')).collect();
    is_assignment(&head)
}

/// A word so far is `name=` or `name+=` (an array assignment follows on `(`).
fn is_assignment_prefix(v: &str) -> bool {
    let Some(name) = v.strip_suffix('=') else { return false };
    let name = name.strip_suffix('+').unwrap_or(name);
    let mut cs = name.chars();
    cs.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `/usr/bin/docker` -> `docker`.
fn basename(s: &str) -> &str {
    let t = s.trim_end_matches('/');
    match t.rfind('/') {
        Some(i) => t.get(i + 1..).unwrap_or(t),
        None => t,
    }
}

fn is_shell(name: &str) -> bool {
    name.ends_with("sh") && matches!(name, "sh" | "bash" | "dash" | "ash" | "zsh" | "ksh" | "mksh" | "yash")
}

/// Looks like a script rather than a program name (for `watch 'docker ps | head'`).
fn is_scriptish(s: &str) -> bool {
    s.chars().any(|c| c.is_whitespace() || matches!(c, ';' | '|' | '&' | '<' | '>' | '$' | '`' | '(' | ')'))
}

/// The `i`th word as text.
fn arg<S: AsRef<str>>(v: &[S], i: usize) -> Option<&str> {
    v.get(i).map(AsRef::as_ref)
}

/// Skips options from `j`: `short_arg` lists the short options that take a value, `long_arg`
/// the long ones that take it as the next word. Stops at the first operand (after `--`).
fn skip_opts<S: AsRef<str>>(vals: &[S], mut j: usize, short_arg: &str, long_arg: &[&str]) -> usize {
    while let Some(a) = arg(vals, j) {
        if a == "--" {
            return j + 1;
        }
        if a.starts_with("--") {
            j += if long_arg.contains(&a) { 2 } else { 1 };
        } else if let Some(cluster) = a.strip_prefix('-').filter(|c| !c.is_empty()) {
            let mut takes = false;
            for (k, ch) in cluster.char_indices() {
                if short_arg.contains(ch) {
                    takes = k + ch.len_utf8() == cluster.len();
                    break;
                }
            }
            j += if takes { 2 } else { 1 };
        } else {
            return j;
        }
    }
    j
}

fn skip_assignments<S: AsRef<str>>(vals: &[S], mut j: usize) -> usize {
    while arg(vals, j).is_some_and(is_assignment_str) {
        j += 1;
    }
    j
}

/// Where the real program is after wrappers; `script` when it is a `watch 'script'`.
struct Peeled {
    prog: usize,
    script: bool,
}

fn peel<S: AsRef<str>>(vals: &[S]) -> Peeled {
    let mut i = 0;
    while let Some(word) = arg(vals, i) {
        let next = match basename(word) {
            "sudo" | "doas" => skip_assignments(
                vals,
                skip_opts(
                    vals,
                    i + 1,
                    "ugpCDrtUTR",
                    &["--user", "--group", "--prompt", "--close-from", "--chdir", "--role", "--type", "--other-user"],
                ),
            ),
            "env" => {
                let mut j = i + 1;
                loop {
                    j = skip_opts(vals, j, "uCS", &["--unset", "--chdir", "--split-string"]);
                    if arg(vals, j) == Some("-") {
                        j += 1;
                        continue;
                    }
                    break;
                }
                skip_assignments(vals, j)
            }
            "exec" => skip_opts(vals, i + 1, "a", &[]),
            "command" => {
                if arg(vals, i + 1).is_some_and(|a| a.starts_with('-') && (a.contains('v') || a.contains('V'))) {
                    break; // `command -v docker` looks docker up, it does not run it
                }
                skip_opts(vals, i + 1, "", &[])
            }
            "builtin" | "nohup" | "setsid" | "busybox" => skip_opts(vals, i + 1, "", &[]),
            "time" => skip_opts(vals, i + 1, "fo", &["--format", "--output"]),
            "nice" => skip_opts(vals, i + 1, "n", &["--adjustment"]),
            "timeout" => skip_opts(vals, i + 1, "sk", &["--signal", "--kill-after"]) + 1,
            "stdbuf" => skip_opts(vals, i + 1, "ioe", &["--input", "--output", "--error"]),
            "xargs" => skip_opts(
                vals,
                i + 1,
                "IadEnLPs",
                &["--arg-file", "--delimiter", "--max-args", "--max-lines", "--max-procs", "--max-chars"],
            ),
            "ionice" => skip_opts(vals, i + 1, "cn", &["--class", "--classdata"]),
            // Kubernetes' log redirector, the replacement for the kubelet's removed `--log-file`:
            // its own options (Go flags, one or two dashes, `=value` or a separate value) come
            // before the program it runs.
            "kube-log-runner" | "kube-log-runner.exe" => {
                let mut j = i + 1;
                while let Some(a) = arg(vals, j).filter(|a| a.starts_with('-')) {
                    let name = a.trim_start_matches('-');
                    let takes = matches!(name, "log-file" | "log-file-size" | "flush-interval");
                    j += if takes { 2 } else { 1 };
                    if a == "--" {
                        break;
                    }
                }
                j
            }
            "watch" => {
                let j = skip_opts(vals, i + 1, "nq", &["--interval", "--equexit"]);
                if vals.len() == j + 1 && arg(vals, j).is_some_and(is_scriptish) {
                    return Peeled { prog: j, script: true };
                }
                j
            }
            _ => break,
        };
        if next >= vals.len() {
            // Nothing left: the wrapper itself runs (`sudo -i`, `time`, `xargs`).
            return Peeled { prog: i, script: false };
        }
        i = next;
    }
    Peeled { prog: i, script: false }
}

/// Options of a shell invocation: `-c` seen, `-s` seen, index of the first operand.
struct ShellOpts {
    c: bool,
    s: bool,
    operand: usize,
}

fn shell_opts<S: AsRef<str>>(rest: &[S]) -> ShellOpts {
    let (mut c, mut s, mut j) = (false, false, 0);
    while let Some(a) = arg(rest, j) {
        if a == "--" || a == "-" {
            j += 1;
            break;
        }
        if a == "--rcfile" || a == "--init-file" {
            j += 2;
        } else if a.starts_with("--") {
            j += 1;
        } else if (a.starts_with('-') || a.starts_with('+')) && a.len() > 1 {
            let cluster = a.get(1..).unwrap_or("");
            if a.starts_with('-') {
                c |= cluster.contains('c');
                s |= cluster.contains('s');
            }
            j += if cluster.contains('o') || cluster.contains('O') { 2 } else { 1 };
        } else {
            break;
        }
    }
    ShellOpts { c: c && j < rest.len(), s, operand: j }
}

/// A shell reading commands from standard input: no `-c`, and no script file (or `-s`).
fn shell_reads_stdin<S: AsRef<str>>(rest: &[S]) -> bool {
    let o = shell_opts(rest);
    !o.c && (o.s || o.operand >= rest.len())
}

/// `su … -c CMD`: index of the command word and how many chars of it to skip (`--command=`).
fn su_command<S: AsRef<str>>(rest: &[S]) -> Option<(usize, usize)> {
    for (j, a) in rest.iter().map(AsRef::as_ref).enumerate() {
        if matches!(a, "-c" | "--command" | "--session-command")
            || (a.starts_with('-') && !a.starts_with("--") && a.len() > 2 && a.ends_with('c'))
        {
            return (j + 1 < rest.len()).then_some((j + 1, 0));
        }
        if a.starts_with("--command=") {
            return Some((j, "--command=".len()));
        }
    }
    None
}

/// `ssh [opts] host CMD…`: index of the first word of the remote command.
fn ssh_remote<S: AsRef<str>>(rest: &[S]) -> Option<usize> {
    let host = skip_opts(rest, 0, "BbcDEeFIiJLlmOopQRSWw", &[]);
    (host + 1 < rest.len()).then_some(host + 1)
}

/// `find … -exec CMD … ;`: the argument ranges of each executed command.
fn find_execs<S: AsRef<str>>(rest: &[S]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut k = 0;
    while k < rest.len() {
        if matches!(rest[k].as_ref(), "-exec" | "-execdir" | "-ok" | "-okdir") {
            let s = k + 1;
            let mut e = s;
            while e < rest.len() && rest[e].as_ref() != ";" && rest[e].as_ref() != "+" {
                e += 1;
            }
            if e > s {
                out.push((s, e));
            }
            k = e + 1;
        } else {
            k += 1;
        }
    }
    out
}

/// Whether the command's standard input (a here-document) is read by a shell as a script:
/// `bash`, `sh -s`, `sudo bash`, `sudo -i`, `su - user`, `ssh host`, `docker exec -i c sh`.
fn feeds_shell<S: AsRef<str>>(vals: &[S], depth: usize) -> bool {
    if depth > 4 {
        return false;
    }
    let p = peel(vals);
    if p.script {
        return false;
    }
    let Some(prog) = arg(vals, p.prog).map(basename) else { return false };
    let rest = vals.get(p.prog + 1..).unwrap_or(&[]);
    match prog {
        _ if is_shell(prog) => shell_reads_stdin(rest),
        "sudo" | "doas" => true,
        "su" | "runuser" => su_command(rest).is_none(),
        "ssh" => match ssh_remote(rest) {
            None => true,
            Some(j) => {
                let remote = rest.get(j..).unwrap_or(&[]);
                let split: Vec<&str> = remote.iter().flat_map(|w| w.as_ref().split_whitespace()).collect();
                feeds_shell(&split, depth + 1)
            }
        },
        "echo" | "printf" | "cat" | "tee" => false,
        _ => match rest.iter().position(|a| is_shell(basename(a.as_ref()))) {
            Some(k) => shell_reads_stdin(rest.get(k + 1..).unwrap_or(&[])),
            None => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progs(s: &str) -> Vec<String> {
        commands(s).into_iter().map(|c| c.program).collect()
    }

    fn find<'a>(cs: &'a [Command], program: &str) -> &'a Command {
        cs.iter().find(|c| c.program == program).unwrap_or_else(|| panic!("no {program} in {cs:#?}"))
    }

    fn args(c: &Command) -> Vec<&str> {
        c.args.iter().map(String::as_str).collect()
    }

    /// `(line, program, docker_guard)` of every command.
    fn guards(s: &str) -> Vec<(u32, String, Option<u32>)> {
        commands(s).into_iter().map(|c| (c.line, c.program, c.docker_guard)).collect()
    }

    #[test]
    fn kube_log_runner_runs_the_program_after_its_own_options() {
        let cs = commands(
            "/usr/local/bin/kube-log-runner --log-file=/var/log/kubelet.log -also-stdout /usr/bin/kubelet --v=2",
        );
        assert_eq!(find(&cs, "kubelet").args, ["--v=2"]);
        let cs = commands("kube-log-runner -log-file /var/log/kube-proxy.log --redirect-stderr=false kube-proxy --v=2");
        assert_eq!(find(&cs, "kube-proxy").args, ["--v=2"]);
    }

    #[test]
    fn commands_in_a_branch_that_found_docker_carry_the_test_line() {
        let g = |l: u32, p: &str, guard: Option<u32>| (l, p.to_string(), guard);
        let s = "if [[ \"$(pgrep -o dockerd)\" -ne 0 ]]; then\n  timeout 75 docker info > out.txt\nelse\n  echo no docker\nfi\ndocker ps\n";
        assert_eq!(
            guards(s),
            [g(1, "[[", None), g(1, "pgrep", None), g(2, "docker", Some(1)), g(4, "echo", None), g(6, "docker", None)]
        );
        // The probe itself is guarded by itself; an elif branch is not guarded by the first test.
        let s = "if docker info >/dev/null 2>&1; then\n  docker system prune -f\nelif [ -S /run/containerd/containerd.sock ]; then\n  crictl rmi --prune\nfi\n";
        assert_eq!(
            guards(s),
            [g(1, "docker", Some(1)), g(2, "docker", Some(1)), g(3, "[", None), g(4, "crictl", None)]
        );
        // Nested: an inner if inherits the outer guard; a `$(…)` inside a guarded branch too.
        let s = "if command -v docker >/dev/null; then\n  if true; then\n    docker ps\n  fi\n  n=$(docker images -q | wc -l)\nfi\n";
        let got = guards(s);
        assert!(got.iter().filter(|c| c.1 == "docker").all(|c| c.2 == Some(1)), "{got:?}");
        for s in [
            "systemctl is-active --quiet docker && true\nif systemctl is-active --quiet docker; then docker ps; fi",
            "if [ -S /var/run/docker.sock ]; then docker ps; fi",
            "if which docker; then docker ps; fi",
        ] {
            let got = guards(s);
            assert!(got.iter().any(|c| c.1 == "docker" && c.2.is_some()), "{s}: {got:?}");
        }
    }

    #[test]
    fn a_test_for_docker_missing_is_no_guard() {
        for s in [
            "if ! command -v docker >/dev/null; then\n  curl -fsSL https://get.docker.com | sh\n  docker version\nfi",
            "if [ -z \"$(command -v docker)\" ]; then apt-get install -y docker.io; docker version; fi",
            "if [ \"$(pgrep dockerd)\" = \"\" ]; then systemctl start docker; docker ps; fi",
            "if [[ \"$(pgrep -o dockerd)\" -eq 0 ]]; then systemctl start docker; docker ps; fi",
            "if grep -q docker /etc/group; then docker ps; fi",
            "if true; then docker ps; fi",
        ] {
            let got = guards(s);
            assert!(got.iter().any(|c| c.1 == "docker"), "{s}: {got:?}");
            assert!(got.iter().all(|c| c.2.is_none()), "{s}: {got:?}");
        }
        // A guard ends with its `fi`, also when the `if` is never closed.
        assert_eq!(guards("if which docker; then :; fi\ndocker ps").last().map(|c| c.2), Some(None));
        assert!(guards("if which docker; then docker ps").iter().any(|c| c.1 == "docker" && c.2 == Some(1)));
    }

    #[test]
    fn simple_command_with_position() {
        let cs = commands("docker build -t x .\n");
        assert_eq!(cs.len(), 1);
        let c = &cs[0];
        assert_eq!((c.program.as_str(), c.line, c.column), ("docker", 1, 1));
        assert_eq!(args(c), ["build", "-t", "x", "."]);
        assert_eq!(c.text, "docker build -t x .");

        let s = "set -e\n\n  cd /src && docker build -t x .  # build it\n";
        let cs = commands(s);
        assert_eq!(progs(s), ["set", "cd", "docker"]);
        let d = find(&cs, "docker");
        assert_eq!((d.line, d.column), (3, 14));
        assert_eq!(d.text, "docker build -t x .");
        assert_eq!((cs[1].line, cs[1].column), (3, 3));
    }

    #[test]
    fn wrappers_are_peeled() {
        let cs = commands("sudo -E docker ps");
        assert_eq!(cs.len(), 1);
        assert_eq!((cs[0].program.as_str(), cs[0].column), ("docker", 9));
        assert_eq!(args(&cs[0]), ["ps"]);
        assert_eq!(cs[0].text, "sudo -E docker ps");

        let cs = commands("FOO=1 /usr/bin/docker run --rm alpine");
        assert_eq!(cs.len(), 1);
        assert_eq!((cs[0].program.as_str(), cs[0].column), ("docker", 7));
        assert_eq!(args(&cs[0]), ["run", "--rm", "alpine"]);
        assert_eq!(cs[0].text, "FOO=1 /usr/bin/docker run --rm alpine");

        for s in [
            "sudo -u jenkins -H docker info",
            "sudo -Eu root docker info",
            "sudo DOCKER_HOST=x docker info",
            "env -i PATH=/bin DOCKER_HOST=unix:///x docker info",
            "env - docker info",
            "exec docker info",
            "command docker info",
            "builtin docker info",
            "time docker info",
            "time -p docker info",
            "nohup docker info",
            "nice -n 10 docker info",
            "nice -5 docker info",
            "timeout 30 docker info",
            "timeout -s KILL --preserve-status 2m docker info",
            "stdbuf -oL -e 0 docker info",
            "ionice -c3 docker info",
            "sudo nohup nice -n 19 timeout 10s /usr/local/bin/docker info",
            "watch -n 5 docker info",
            "setsid docker info",
            "doas -u root docker info",
        ] {
            let cs = commands(s);
            assert_eq!(cs.len(), 1, "{s}: {cs:?}");
            assert_eq!(cs[0].program, "docker", "{s}");
            assert_eq!(args(&cs[0]), ["info"], "{s}");
        }
        // A lookup is not a run; a wrapper with nothing to wrap is the program.
        let s = "command -v docker >/dev/null 2>&1 || exit 1";
        let cs = commands(s);
        assert_eq!(progs(s), ["command", "exit"]);
        assert_eq!(args(&cs[0]), ["-v", "docker"]);
        assert_eq!(progs("sudo -i"), ["sudo"]);
        assert_eq!(progs("xargs"), ["xargs"]);
        assert_eq!(progs("docker ps -q | xargs -r -n1 docker rm -f"), ["docker", "docker"]);
        let cs = commands("docker ps -aq | xargs -I {} docker rm {}");
        assert_eq!(args(&cs[1]), ["rm", "{}"]);
        assert_eq!(cs[1].column, 29);
    }

    #[test]
    fn if_condition_and_redirections() {
        let s = "if docker info >/dev/null 2>&1; then\n  echo ok\nfi\n";
        let cs = commands(s);
        assert_eq!(progs(s), ["docker", "echo"]);
        assert_eq!(args(&cs[0]), ["info"]);
        assert_eq!((cs[0].line, cs[0].column), (1, 4));
        assert_eq!(cs[0].text, "docker info >/dev/null 2>&1");

        let cs = commands("docker logs c &>log.txt; docker ps >>x 2>&1 <in; docker events 3>&- 1>|out");
        assert_eq!(cs.len(), 3);
        assert_eq!(args(&cs[0]), ["logs", "c"]);
        assert_eq!(args(&cs[1]), ["ps"]);
        assert_eq!(args(&cs[2]), ["events"]);
        let cs = commands("cat <<<\"docker ps\" > /tmp/x");
        assert_eq!(cs.len(), 1);
        assert!(cs[0].args.is_empty());
        let cs = commands(">/tmp/log docker ps");
        assert_eq!(cs[0].program, "docker");
        assert_eq!(cs[0].text, ">/tmp/log docker ps");
        assert_eq!(progs("exec >>\"$LOG\" 2>&1"), ["exec"]);
        assert_eq!(args(&commands("docker save img > 2.tar")[0]), ["save", "img"]);
        assert_eq!(args(&commands("echo 2 3>x 4")[0]), ["2", "4"]);
    }

    #[test]
    fn command_substitutions() {
        let s = "x=$(docker ps -q | wc -l)";
        let cs = commands(s);
        assert_eq!(progs(s), ["docker", "wc"]);
        assert_eq!(args(&cs[0]), ["ps", "-q"]);
        assert_eq!((cs[0].line, cs[0].column), (1, 5));
        assert_eq!(cs[0].text, "docker ps -q");
        assert_eq!(args(&cs[1]), ["-l"]);

        let s = "echo \"id: $(docker ps -q)\"";
        let cs = commands(s);
        assert_eq!(progs(s), ["echo", "docker"]);
        assert_eq!(args(&cs[0]), ["id: $(docker ps -q)"]);
        assert_eq!(cs[1].column, 13);

        let s = "for c in `docker ps -q`; do docker rm \"$c\"; done";
        let cs = commands(s);
        assert_eq!(progs(s), ["docker", "docker"]);
        assert_eq!(args(&cs[0]), ["ps", "-q"]);
        assert_eq!(cs[0].column, 11);
        assert_eq!(args(&cs[1]), ["rm", "$c"]);

        assert_eq!(progs("ids=($(docker ps -q))"), ["docker"]);
        assert_eq!(
            progs("while read -r id; do docker rm \"$id\"; done < <(docker ps -aq)"),
            ["read", "docker", "docker"]
        );
        assert_eq!(progs("v=${DOCKER_VERSION:-$(docker version -f '{{.Server.Version}}')}"), ["docker"]);
        assert_eq!(progs("n=$(( $(docker ps -q | wc -l) + 1 ))"), Vec::<String>::new());
        assert_eq!(progs("kill $(cat /run/x.pid) `cat /run/y.pid`"), ["kill", "cat", "cat"]);
        let s = "x=$(echo $(docker info -f '{{.Driver}}'))";
        assert_eq!(progs(s), ["echo", "docker"]);
        let s = "rt=$(case \"$1\" in docker) echo d;; *) crictl version;; esac); docker ps";
        assert_eq!(progs(s), ["echo", "crictl", "docker"]);
        let s = "echo \"`docker ps`\" $( (cd /x; docker images) )";
        assert_eq!(progs(s), ["echo", "docker", "cd", "docker"]);
    }

    #[test]
    fn text_is_not_a_command() {
        assert_eq!(progs("echo \"docker build\""), ["echo"]);
        assert_eq!(progs("echo docker build; printf '%s\\n' docker ps"), ["echo", "printf"]);
        assert!(commands("# docker ps").is_empty());
        assert!(commands("   # docker ps\n\t#docker ps").is_empty());
        let cs = commands("echo hi # docker ps");
        assert_eq!(args(&cs[0]), ["hi"]);
        let cs = commands("echo a#b ${#x} $# ${x#*/}");
        assert_eq!(args(&cs[0]), ["a#b", "${#x}", "$#", "${x#*/}"]);
        assert_eq!(progs("echo 'unterminated; docker ps"), ["echo"]);
        assert_eq!(progs("echo \"bash -c 'docker ps'\" bash -c 'docker ps'"), ["echo"]);
        assert_eq!(progs("logger -t x \"docker restarted\""), ["logger"]);
    }

    #[test]
    fn quoting_and_escapes() {
        let cs = commands(r#"docker run -e "A=b c" -e 'D=$E' -e F=\"g\" -l a\ b $'x\ty' "$HOME"/x ${V}"#);
        assert_eq!(
            args(&cs[0]),
            ["run", "-e", "A=b c", "-e", "D=$E", "-e", "F=\"g\"", "-l", "a b", "x\ty", "$HOME/x", "${V}"]
        );
        let cs = commands("\"docker\" p's' \\docker");
        assert_eq!(cs[0].program, "docker");
        assert_eq!(args(&cs[0]), ["ps", "docker"]);
    }

    #[test]
    fn line_continuation() {
        let s = "set -e\ndocker \\\n  push img \\\n  --quiet\necho done";
        let cs = commands(s);
        assert_eq!(progs(s), ["set", "docker", "echo"]);
        assert_eq!((cs[1].line, cs[1].column), (2, 1));
        assert_eq!(args(&cs[1]), ["push", "img", "--quiet"]);
        assert_eq!(cs[1].text, "docker");
        assert_eq!(cs[2].line, 5);
        let s = "doc\\\nker ps &&\\\n  docker images";
        let cs = commands(s);
        assert_eq!(progs(s), ["docker", "docker"]);
        assert_eq!((cs[1].line, cs[1].column), (3, 3));
    }

    #[test]
    fn heredocs() {
        let s = "cat <<EOF > /etc/motd\ndocker ps\n  docker build .\nEOF\ndocker info\n";
        let cs = commands(s);
        assert_eq!(progs(s), ["cat", "docker"]);
        assert_eq!((cs[1].line, args(&cs[1])), (5, vec!["info"]));

        let s = "cat <<-'END' | tee /x\n\tdocker ps\n\tEND\nls";
        assert_eq!(progs(s), ["cat", "tee", "ls"]);
        let s =
            "sudo tee /etc/docker/daemon.json <<\"JSON\"\n{ \"exec-opts\": [\"native.cgroupdriver=systemd\"] }\nJSON\n";
        assert_eq!(progs(s), ["tee"]);
        assert_eq!(progs("cat <<EOF\ndocker ps\n"), ["cat"]);

        // Fed to a shell: the body is a script, positions in the whole text.
        let s = "ssh node1 <<'EOF'\n  sudo systemctl stop docker\nEOF\necho ok";
        let cs = commands(s);
        assert_eq!(progs(s), ["ssh", "systemctl", "echo"]);
        assert_eq!((cs[1].line, cs[1].column), (2, 8));
        assert_eq!(args(&cs[1]), ["stop", "docker"]);
        assert_eq!(cs[1].text, "sudo systemctl stop docker");
        for s in [
            "bash <<EOF\ndocker ps\nEOF",
            "sudo bash -s <<EOF\ndocker ps\nEOF",
            "sh -s -- arg <<EOF\ndocker ps\nEOF",
            "kubectl exec -i pod -- sh <<EOF\ndocker ps\nEOF",
            "ssh -i key root@n1 bash -s <<EOF\ndocker ps\nEOF",
            "ssh n1 'sudo bash' <<EOF\ndocker ps\nEOF",
            "cat <<EOF | sudo bash\ndocker ps\nEOF",
            "sudo -i <<EOF\ndocker ps\nEOF",
            "su - admin <<EOF\ndocker ps\nEOF",
        ] {
            let cs = commands(s);
            let d = cs.iter().find(|c| c.program == "docker");
            assert_eq!(d.map(|d| (d.line, d.column)), Some((2, 1)), "{s}: {cs:?}");
        }
        assert!(!progs("bash script.sh <<EOF\ndocker ps\nEOF").contains(&"docker".to_string()));
        assert!(!progs("bash -c 'read x' <<EOF\ndocker ps\nEOF").contains(&"docker".to_string()));
        let s = "diff <<A /dev/fd/3 3<<B\ndocker a\nA\ndocker b\nB\ndocker c";
        let cs = commands(s);
        assert_eq!(progs(s), ["diff", "docker"]);
        assert_eq!(cs[1].line, 6);
        let s = "x=$(cat <<EOF\ndocker ps\nEOF\n)\ndocker info";
        assert_eq!(progs(s), ["cat", "docker"]);
        assert_eq!(progs("cat <<EOF\r\ndocker ps\r\nEOF\r\nls\r\n"), ["cat", "ls"]);
    }

    #[test]
    fn ssh_remote_commands() {
        let s = "ssh node1 'sudo systemctl restart docker'";
        let cs = commands(s);
        assert_eq!(progs(s), ["ssh", "systemctl"]);
        assert_eq!(args(&cs[0]), ["node1", "sudo systemctl restart docker"]);
        assert_eq!(args(&cs[1]), ["restart", "docker"]);
        assert_eq!((cs[1].line, cs[1].column), (1, 17));
        assert_eq!(cs[1].text, "sudo systemctl restart docker");

        let s = "ssh -i ~/.ssh/k -p 2222 -o StrictHostKeyChecking=no core@10.0.0.5 docker ps -a";
        let cs = commands(s);
        assert_eq!(progs(s), ["ssh", "docker"]);
        assert_eq!(args(&cs[1]), ["ps", "-a"]);
        assert_eq!(cs[1].column, 67);
        assert_eq!(progs("ssh -t bastion"), ["ssh"]);
        let s = "for n in $NODES; do ssh \"$n\" \"docker system prune -f && systemctl restart kubelet\"; done";
        assert_eq!(progs(s), ["ssh", "docker", "systemctl"]);
    }

    #[test]
    fn shell_dash_c() {
        let s = "bash -c \"docker system prune -af\"";
        let cs = commands(s);
        assert_eq!(progs(s), ["bash", "docker"]);
        assert_eq!(args(&cs[1]), ["system", "prune", "-af"]);
        assert_eq!(cs[1].column, 10);

        let s = "docker run --rm -v \"$PWD\":/src alpine sh -c 'apk add git && git clone x'";
        let cs = commands(s);
        assert_eq!(progs(s), ["docker", "apk", "git"]);
        assert_eq!(
            args(&cs[0]),
            ["run", "--rm", "-v", "$PWD:/src", "alpine", "sh", "-c", "apk add git && git clone x"]
        );
        assert_eq!(args(&cs[1]), ["add", "git"]);
        assert_eq!(cs[1].column, 46);
        assert_eq!(args(&cs[2]), ["clone", "x"]);
        assert_eq!(cs[2].column, 61);

        let s = "sudo -u ci /bin/bash -euo pipefail -c 'docker login -u \"$U\" --password-stdin <<< \"$P\"'";
        let cs = commands(s);
        assert_eq!(progs(s), ["bash", "docker"]);
        assert_eq!(args(&cs[1]), ["login", "-u", "$U", "--password-stdin"]);
        assert_eq!(progs("kubectl exec -it pod -- sh -c \"crictl ps; docker ps\""), ["kubectl", "crictl", "docker"]);
        assert_eq!(progs("su - deploy -c 'docker compose up -d'"), ["su", "docker"]);
        assert_eq!(progs("su -lc \"docker ps\" root"), ["su", "docker"]);
        let cs = commands("su --command='docker ps' root");
        assert_eq!(progs("su --command='docker ps' root"), ["su", "docker"]);
        assert_eq!(cs[1].column, 15);
        assert_eq!(progs("eval \"docker $CMD\""), ["eval", "docker"]);
        assert_eq!(progs("trap 'docker rm -f tmp' EXIT"), ["trap", "docker"]);
        assert_eq!(progs("trap - EXIT"), ["trap"]);
        assert_eq!(progs("watch -n 2 'docker ps | grep web'"), ["docker", "grep"]);
        // A substitution in double quotes runs once, in the outer shell.
        assert_eq!(progs("bash -c \"echo $(docker ps -q)\""), ["bash", "echo", "docker"]);
        // Escaped double quotes inside: positions still point into the source.
        let s = r#"sh -c "docker run -e \"A=1\" img && crictl ps""#;
        let cs = commands(s);
        assert_eq!(progs(s), ["sh", "docker", "crictl"]);
        assert_eq!(args(&cs[1]), ["run", "-e", "A=1", "img"]);
        assert_eq!(cs[2].column, 37);
        let s = r#"sh -c 'bash -c "docker ps"'"#;
        let cs = commands(s);
        assert_eq!(progs(s), ["sh", "bash", "docker"]);
        assert_eq!(cs[2].column, 17);
    }

    #[test]
    fn loops_and_case() {
        assert_eq!(progs("for i in docker podman; do echo $i; done"), ["echo"]);
        assert_eq!(progs("for i in docker\\\n podman\ndo\n  \"$i\" version\ndone"), ["$i"]);
        assert_eq!(progs("for ((i=0; i<3; i++)); do docker ps; done"), ["docker"]);
        assert_eq!(progs("for x; do docker rm $x; done"), ["docker"]);
        assert_eq!(progs("select rt in docker containerd; do break; done"), ["break"]);
        assert_eq!(progs("(( n > 0 )) && docker ps"), ["docker"]);

        let s = "case $rt in docker) systemctl stop docker;; esac";
        let cs = commands(s);
        assert_eq!(progs(s), ["systemctl"]);
        assert_eq!(args(&cs[0]), ["stop", "docker"]);
        let s = "case \"$RUNTIME\" in\n  docker|moby)\n    systemctl restart docker\n    ;;\n  (containerd) crictl info ;;\n  *) echo \"unknown docker\" ;;\nesac\ndocker ps";
        let cs = commands(s);
        assert_eq!(progs(s), ["systemctl", "crictl", "echo", "docker"]);
        assert_eq!((cs[0].line, cs[0].column), (3, 5));
        assert_eq!(cs[3].line, 8);
        let s = "case a in a) case b in docker) ls;& *) pwd;;& esac;; docker) whoami;; esac";
        assert_eq!(progs(s), ["ls", "pwd", "whoami"]);
        let s = "while docker info >/dev/null; do sleep 1; done; until false; do :; done";
        assert_eq!(progs(s), ["docker", "sleep", "false", ":"]);
        assert_eq!(progs("! docker info && { echo no; exit 1; }"), ["docker", "echo", "exit"]);
        assert_eq!(progs("(cd /x && docker build .) || true"), ["cd", "docker", "true"]);
    }

    #[test]
    fn functions_tests_assignments() {
        let s = "deploy() {\n  docker push x\n}\nfunction build {\n  docker build .\n}\nfunction clean() ( docker rm -f y )\ndocker() { command docker \"$@\"; }\ndeploy";
        let cs = commands(s);
        assert_eq!(progs(s), ["docker", "docker", "docker", "docker", "deploy"]);
        assert_eq!((cs[0].line, cs[0].column), (2, 3));
        assert_eq!(args(&cs[3]), ["$@"]);
        let s = "[[ -x /usr/bin/docker && -S /var/run/docker.sock ]] && docker ps";
        let cs = commands(s);
        assert_eq!(progs(s), ["[[", "docker"]);
        assert_eq!(args(&cs[0]).last(), Some(&"]]"));
        assert_eq!(progs("[ -S /var/run/docker.sock ] && test -x /usr/bin/docker"), ["[", "test"]);
        assert!(commands("FOO=bar BAZ=\"a b\" X=$HOME").is_empty());
        let s = "export DOCKER_HOST=unix:///var/run/docker.sock; local x=$(docker ps)";
        assert_eq!(progs(s), ["export", "local", "docker"]);
        assert_eq!(progs("arr+=(docker podman); declare -A m=([a]=docker)"), ["declare"]);
        let cs = commands("apt-get install -y docker-ce=5:20.10.*");
        assert_eq!(cs.len(), 1);
        assert_eq!(args(&cs[0]), ["install", "-y", "docker-ce=5:20.10.*"]);
    }

    #[test]
    fn find_exec() {
        let s = "find /x -name '*.log' -exec docker cp {} c:/ \\;";
        let cs = commands(s);
        assert_eq!(progs(s), ["find", "docker"]);
        assert_eq!(args(&cs[1]), ["cp", "{}", "c:/"]);
        assert_eq!(cs[1].column, 29);
        assert_eq!(cs[1].text, "docker cp {} c:/");
        let s = "find . -type f -execdir sh -c 'docker load -i \"$1\"' _ {} + -exec rm {} ';'";
        assert_eq!(progs(s), ["find", "sh", "docker", "rm"]);
    }

    #[test]
    fn realistic_fragments() {
        // Node bootstrap script (here-document delimiter spelled DAEMON_JSON on purpose).
        let s = "#!/bin/bash\nset -euo pipefail\n# Install docker (legacy)\nif ! command -v docker &>/dev/null; then\n  curl -fsSL https://get.docker.com | sh\n  usermod -aG docker \"$USER\"\nfi\ncat >/etc/docker/daemon.json <<DAEMON_JSON\n{\"log-driver\": \"json-file\"}\nDAEMON_JSON\nsystemctl enable --now docker\nKUBELET_EXTRA_ARGS=\"--container-runtime=docker\"\necho \"KUBELET_EXTRA_ARGS=${KUBELET_EXTRA_ARGS}\" > /etc/default/kubelet\n";
        let cs = commands(s);
        assert_eq!(progs(s), ["set", "command", "curl", "sh", "usermod", "cat", "systemctl", "echo"]);
        let sc = find(&cs, "systemctl");
        assert_eq!((sc.line, args(sc)), (11, vec!["enable", "--now", "docker"]));

        // Jenkins sh body.
        let s = "\n    docker build -t registry/app:${BUILD_NUMBER} .\n    docker push registry/app:${BUILD_NUMBER}\n    kubectl set image deploy/app app=registry/app:${BUILD_NUMBER}\n";
        let cs = commands(s);
        assert_eq!(progs(s), ["docker", "docker", "kubectl"]);
        assert_eq!((cs[0].line, cs[0].column), (2, 5));
        assert_eq!(args(&cs[1]), ["push", "registry/app:${BUILD_NUMBER}"]);

        // Cron command part.
        let cs = commands("/usr/bin/docker system prune -af --filter \"until=24h\" > /dev/null 2>&1");
        assert_eq!(cs.len(), 1);
        assert_eq!(args(&cs[0]), ["system", "prune", "-af", "--filter", "until=24h"]);

        // CI script fragments.
        let s = "docker info | grep -i 'cgroup driver' || (echo 'docker missing' >&2; exit 1)";
        assert_eq!(progs(s), ["docker", "grep", "echo", "exit"]);
        let s = "nohup dockerd --host=unix:///var/run/docker.sock &>/var/log/dockerd.log &\nsleep 5 |& tee x";
        assert_eq!(progs(s), ["dockerd", "sleep", "tee"]);
    }

    #[test]
    fn crlf_and_non_ascii_positions() {
        let s = "echo é日本; docker ps\r\n  café=1 docker images\r\n";
        let cs = commands(s);
        assert_eq!(progs(s), ["echo", "docker", "café=1"]);
        assert_eq!((cs[1].line, cs[1].column), (1, 11));
        assert_eq!(args(&cs[1]), ["ps"]);
        assert_eq!(cs[0].text, "echo é日本");
        // `café=1` is not an assignment (non-ASCII name), so it is the program.
        assert_eq!((cs[2].line, cs[2].column), (2, 3));
        let s = "日本語 'docker ps'; ssh hôte 'docker info'";
        let cs = commands(s);
        assert_eq!(progs(s), ["日本語", "ssh", "docker"]);
        assert_eq!(cs[2].column, 28);
    }

    #[test]
    fn text_is_bounded() {
        let long = format!("docker run {}", "é".repeat(500));
        let cs = commands(&long);
        assert_eq!(cs[0].text.chars().count(), 200);
        assert!(cs[0].text.starts_with("docker run é"));
    }

    #[test]
    fn malformed_input_does_not_panic() {
        for s in [
            "docker ps 'oops",
            "echo \"unterminated $(docker ps",
            "x=$(docker ps",
            "x=`docker ps",
            "${",
            "$(",
            "$((",
            "((",
            "case",
            "case x in",
            "case x in a)",
            "for",
            "for x in",
            "function",
            "f(",
            "[[",
            "<<",
            "<<<",
            "2>",
            "\\",
            "$'\\",
            "a=(",
            ")))))",
            ";;;;&&&||||",
            "\"\\",
            "'",
            "`",
            "ssh",
            "sudo",
            "bash -c",
            "find -exec",
            "find . -exec \\;",
            "timeout",
            "env -u",
            "su --command=",
            "trap '' INT",
        ] {
            let _ = commands(s);
        }
        let cs = commands("docker ps 'oops");
        assert_eq!(args(&cs[0]), ["ps", "oops"]);
        assert_eq!(progs("x=$(docker ps"), ["docker"]);
        assert_eq!(progs("echo ok )) ; docker ps"), ["echo", "docker"]);
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let deep = format!("{}docker ps{}", "$(".repeat(200), ")".repeat(200));
        let _ = commands(&deep);
        let shallow = format!("{}docker ps{}", "$(".repeat(10), ")".repeat(10));
        let ps = progs(&shallow);
        assert_eq!(ps.len(), 11);
        assert_eq!(ps.last().map(String::as_str), Some("docker"));
        let mut s = String::from("docker ps");
        // Each level of quoting roughly doubles the text, so 12 levels already nest past the
        // recursion bound without building an enormous string.
        for _ in 0..12 {
            s = format!("sh -c '{}'", s.replace('\'', "'\\''"));
        }
        let _ = commands(&s);
        let _ = commands(&"`".repeat(5000));
        let _ = commands(&"\"${".repeat(5000));
        let _ = commands(&"$( \"".repeat(5000));
        let _ = commands(&"a=(".repeat(5000));
        let _ = commands(&"case x in ".repeat(5000));
        let _ = commands(&format!("{}<<H\nx\nH", "ssh h ".repeat(5000)));
    }

    /// Every command of a long script is found, at its line past 65,535. How fast a 5 MB script
    /// is read is measured by `bench/run` (the "large shell script" row), not timed here.
    #[test]
    fn large_script_keeps_every_command_and_line() {
        let line = "docker run --rm -v \"$PWD\":/src alpine sh -c 'ls && echo $(date)' # c\n";
        let n = 70_000;
        let s = line.repeat(n / 2) + &"if [ -f x ]; then echo \"docker\"; fi\n".repeat(n / 2);
        assert!(s.len() > 1_900_000);
        let cs = commands(&s);
        assert_eq!(cs.len(), n / 2 * 4 + n / 2 * 2);
        assert_eq!(cs.last().map(|c| c.line), Some(n as u32));
    }

    #[test]
    fn fuzz_no_panic() {
        let mut rng = crate::parse::testutil::XorShift::new(0x9E37_79B9_7F4A_7C15);
        let mut next = move || rng.next();
        let pieces = [
            "docker",
            " ",
            "\n",
            "\t",
            "'",
            "\"",
            "\\",
            "$",
            "(",
            ")",
            "{",
            "}",
            "`",
            ";",
            ";;",
            "&",
            "|",
            "<",
            ">",
            "<<EOF\n",
            "EOF\n",
            "<<-'X'",
            "#",
            "=",
            "x=",
            "sh -c ",
            "ssh h ",
            "case ",
            " in ",
            "esac",
            "for ",
            "do ",
            "done",
            "$(",
            "${",
            "$((",
            "[[ ",
            "]]",
            "é",
            "日本",
            "\r",
            "sudo -u",
            "find . -exec ",
            "\\;",
            "eval ",
            "()",
            "function ",
            "xargs -I",
            "watch ",
            "$'\\",
            "a=(",
            "2>&1",
            "<(",
            "bash <<H\n",
            "H\n",
            "cat > /etc/x <<'E'\n",
            "E\n",
            "| sudo tee -a /f ",
            "export A=docker ",
            ": ${A:=docker} ",
            "\t",
        ];
        for _ in 0..500 {
            let len = (next() % 80) as usize;
            let mut s = String::new();
            for _ in 0..len {
                let r = next();
                if r % 4 == 0 {
                    let b = [(r >> 8) as u8, (r >> 16) as u8, (r >> 24) as u8];
                    s.push_str(&String::from_utf8_lossy(&b));
                } else {
                    s.push_str(pieces[(r >> 8) as usize % pieces.len()]);
                }
            }
            let lines: Vec<usize> = s.split('\n').map(|l| l.chars().count()).collect();
            let parsed = script(&s);
            for h in &parsed.heredocs {
                assert!(h.line >= 1 && (h.line as usize) <= lines.len(), "{s:?}: {h:?}");
            }
            for a in &parsed.assignments {
                assert!(a.line >= 1 && (a.line as usize) <= lines.len(), "{s:?}: {a:?}");
            }
            for c in parsed.commands {
                assert!(c.line >= 1 && (c.line as usize) <= lines.len(), "{s:?}: {c:?}");
                assert!(c.column >= 1 && (c.column as usize) <= lines[c.line as usize - 1] + 1, "{s:?}: {c:?}");
                assert!(c.text.chars().count() <= MAX_TEXT_CHARS);
                assert!(!c.program.is_empty());
            }
        }
    }

    #[test]
    fn heredocs_know_the_file_they_write() {
        // See: issue 12 (files written by other files).
        let text = "CONTAINER_RUNTIME=docker\ncat > /etc/systemd/system/kubelet.service <<EOT\n[Unit]\nRequires=docker.service\nEOT\ncat <<'EOF' | sudo tee -a /etc/default/kubelet >/dev/null\nKUBELET_EXTRA_ARGS=--network-plugin=cni\nEOF\nsudo tee /etc/docker/daemon.json <<-JSON\n\t{\"log-driver\": \"json-file\"}\n\tJSON\nkubectl apply -f - <<EOF\nkind: Pod\nEOF\nbash <<EOF\ndocker ps\nEOF\nsudo sh -c 'cat >> /etc/crontab' <<EOF\n0 * * * * root docker system prune -f\nEOF\n";
        let s = script(text);
        type Row<'a> = (u32, Option<&'a str>, bool, bool, &'a str, &'a str);
        let got: Vec<Row> = s
            .heredocs
            .iter()
            .map(|h| (h.line, h.target.as_deref(), h.append, h.quoted, h.program.as_str(), h.body.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    3,
                    Some("/etc/systemd/system/kubelet.service"),
                    false,
                    false,
                    "cat",
                    "[Unit]\nRequires=docker.service\n"
                ),
                (7, Some("/etc/default/kubelet"), true, true, "tee", "KUBELET_EXTRA_ARGS=--network-plugin=cni\n"),
                (10, Some("/etc/docker/daemon.json"), false, false, "tee", "{\"log-driver\": \"json-file\"}\n"),
                (13, None, false, false, "kubectl", "kind: Pod\n"),
                (16, None, false, false, "bash", "docker ps\n"),
                (19, Some("/etc/crontab"), true, false, "sh", "0 * * * * root docker system prune -f\n"),
            ]
        );
        assert!(s.heredocs[4].runs_as_script && !s.heredocs[0].runs_as_script);
        assert_eq!(s.heredocs[3].args, ["apply", "-f", "-"]);
        // The fed body is still parsed as commands.
        assert!(s.commands.iter().any(|c| c.program == "docker" && c.line == 16));
    }

    #[test]
    fn echo_and_printf_write_files() {
        let text = "echo 'KUBELET_EXTRA_ARGS=--container-runtime=docker' | sudo tee /etc/default/kubelet\necho -e \"a b\" > /tmp/x\nprintf '%s\\n' \"0 3 * * * root docker ps\" >> /etc/cron.d/prune\necho hello\necho 'X=1' ; tee /tmp/not-piped\n";
        let got: Vec<(u32, Option<String>, bool, String)> =
            script(text).heredocs.into_iter().map(|h| (h.line, h.target, h.append, h.body)).collect();
        assert_eq!(
            got,
            [
                (
                    1,
                    Some("/etc/default/kubelet".into()),
                    false,
                    "KUBELET_EXTRA_ARGS=--container-runtime=docker\n".into()
                ),
                (2, Some("/tmp/x".into()), false, "a b\n".into()),
                (3, Some("/etc/cron.d/prune".into()), true, "0 3 * * * root docker ps\n".into()),
            ]
        );
    }

    #[test]
    fn assignments_and_defaults() {
        let text = "RUNTIME=docker\nexport SOCK=\"/var/run/dockershim.sock\" OTHER\n: ${ENGINE:=docker}\n: \"${CRI:='containerd'}\"\nLOCAL=x docker ps\nARR=(a b)\nN+=1\nlocal -r L=1\nreadonly R='y z'\nf() { INNER=$(cat /x); }\n";
        let got: Vec<(u32, String, String, bool)> =
            script(text).assignments.into_iter().map(|a| (a.line, a.name, a.value, a.default)).collect();
        let want: Vec<(u32, String, String, bool)> = [
            (1, "RUNTIME", "docker", false),
            (2, "SOCK", "/var/run/dockershim.sock", false),
            (3, "ENGINE", "docker", true),
            (4, "CRI", "containerd", true),
            (8, "L", "1", false),
            (9, "R", "y z", false),
            (10, "INNER", "$(cat /x)", false),
        ]
        .into_iter()
        .map(|(l, n, v, d)| (l, n.to_string(), v.to_string(), d))
        .collect();
        assert_eq!(got, want);
    }
}
