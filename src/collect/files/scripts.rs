//! Shell scripts, cron tables, systemd units and kubelet environment files on nodes and in
//! repositories; GitLab CI and GitHub Actions job scripts. Place in the pipeline: analysers that
//! turn one text into records; no I/O and no rule logic (the rules decide what matters, these only
//! extract the facts with their exact line and column).
//!
//! - Commands (`command` records, `source` = `script`/`cron`/`systemd`/`gitlab-ci`/
//!   `github-actions`) come from [`crate::parse::shell::commands`], so quoted text, comments and
//!   `echo "docker build"` are not commands.
//! - kubelet flags (`kubelet-flag`) and their feature gates (`feature-gate`) come from kubelet
//!   command lines, `Environment=KUBELET_*` in units, and `NAME="--a=b"` env files.
//! - `kubeadm ... --cri-socket X` gives a `setting` `cri-socket`; a unit's `[Unit]` dependencies
//!   give `setting` records `unit.<Directive>`; GitLab CI `services` give `setting` `services`.

use serde_json::Value as Json;

use super::shell_template;
use super::source::Source;
use super::text::{self, PosText};
use crate::evidence::context::{self, Context, ScriptCall};
use crate::evidence::file_kind::FileKind;
use crate::evidence::{Evidence, Subject, workload};
use crate::parse::shell;
use crate::parse::yaml::{self, YamlDoc};

/// Shell, cron, systemd units, kubelet env files.
pub fn analyze(src: &Source<'_>, out: &mut Evidence) {
    let unit_template = matches!(src.kind, FileKind::SystemdUnit | FileKind::KubeletEnv | FileKind::Cron)
        && (src.text.contains("{%") || src.text.contains("{#") || src.text.contains("{{"));
    let script_template = src.kind == FileKind::Shell && shell_template::is_template(src.path, src.text);
    if unit_template || script_template {
        // A template of the file (`kubelet.service.j2`, Salt's `kubelet.default.jinja`, kubespray's
        // `{{ docker_bin_dir }}/docker run` wrappers): its statements blanked and its expressions
        // made single opaque words, so the commands and flags around them are read where they are.
        let masked = shell_template::mask(src.text);
        let mut sub = Evidence::default();
        analyze_text(&Source { text: &masked, ..src.clone() }, &mut sub);
        let masked_lines: Vec<&str> = masked.lines().collect();
        for r in &mut sub.records {
            let Some(line) = r.location.line.and_then(|l| l.checked_sub(src.line_offset)).filter(|l| *l > 0) else {
                continue;
            };
            let original = src.line(line);
            let masked_line = masked_lines.get(line as usize - 1).copied().unwrap_or("");
            r.snippet = original.trim().to_string();
            // A command's text as the template writes it, not its masked form.
            if let Some(t) = r.get("text").map(|v| v.display())
                && let Some(restored) = shell_template::restore(original, masked_line, &t)
            {
                r.set("text", restored);
            }
        }
        out.merge(sub);
        return;
    }
    analyze_text(src, out);
}

fn analyze_text(src: &Source<'_>, out: &mut Evidence) {
    match src.kind {
        FileKind::Shell => commands_in(src, &PosText::new(src.text, 1, 1), &Ctx::node("script"), out),
        FileKind::Cron => {
            if src.text.starts_with("#!") || is_cron_script_dir(src.name_path()) {
                commands_in(src, &PosText::new(src.text, 1, 1), &Ctx::node("cron"), out);
            } else {
                crontab(src, out);
            }
        }
        FileKind::SystemdUnit => unit(src, out),
        FileKind::KubeletEnv => env_file(src, out),
        _ => {}
    }
}

/// GitLab CI and GitHub Actions workflows.
pub fn analyze_ci(src: &Source<'_>, out: &mut Evidence) {
    let Some(docs) = src.yaml_documents(out) else { return };
    for doc in &docs {
        match src.kind {
            FileKind::GitlabCi => gitlab(src, doc, out),
            FileKind::GithubWorkflow => github(src, doc, out),
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Commands

/// Programs whose commands become records on nodes and in scripts (the rules pick among them).
const NODE_PROGRAMS: &[&str] =
    &["docker", "docker-compose", "apt-get", "apt", "yum", "dnf", "zypper", "apk", "systemctl", "kubelet", "kubeadm"];

/// Whether a command fetches or runs Docker's convenience install script (`curl -fsSL
/// https://get.docker.com | sh`, `sh get-docker.sh`): kept as a record for the install rule.
fn fetches_docker(program: &str, args: &[String]) -> bool {
    match program {
        "curl" | "wget" => args.iter().any(|a| a.contains("get.docker.com") || a.contains("test.docker.com")),
        "sh" | "bash" => args.iter().any(|a| text::file_name(a).ends_with("get-docker.sh")),
        _ => false,
    }
}

/// Programs whose commands become records in CI job scripts.
const CI_PROGRAMS: &[&str] = &["docker", "docker-compose"];

/// How the commands of one text are reported.
struct Ctx {
    source: &'static str,
    programs: &'static [&'static str],
    /// Extra fields for every command record (the CI job, its runner...).
    extra: Vec<(&'static str, crate::evidence::Value)>,
    /// Where the commands run, when the text's place says it (a node's cron table, a CI job on a
    /// Kubernetes runner); `None` for scripts, whose context comes from their path and callers.
    context: Option<Context>,
}

impl Ctx {
    /// Commands of a script, cron job or unit (cron jobs and units run on a node).
    fn node(source: &'static str) -> Ctx {
        let context = if source == "script" { None } else { Some(Context::Node) };
        Ctx { source, programs: NODE_PROGRAMS, extra: Vec::new(), context }
    }

    /// The context of commands in `src`: the enclosing place's (a heredoc body written by a unit
    /// runs where the unit runs), else this text's, else the script's path and text.
    fn context_in(&self, src: &Source<'_>) -> Context {
        src.context
            .or(self.context)
            .or_else(|| context::from_path(src.path))
            .or_else(|| context::from_text(src.text))
            .unwrap_or(Context::Unknown)
    }
}

/// Records for the commands of `text` (a piece of `src.text` with its file positions), and for
/// the files its here-documents write. The script's own variables are resolved where they feed a
/// program name, a kubelet or kubeadm argument, a here-document's target or an unquoted
/// here-document's body.
fn commands_in(src: &Source<'_>, text: &PosText, ctx: &Ctx, out: &mut Evidence) {
    if text.is_empty() {
        return;
    }
    let loc = text.locator();
    let where_ = ctx.context_in(src);
    let parsed = shell::script(&text.text);
    let vars = Vars::new(&parsed.assignments, |l| loc.at(l, 1).0 + src.line_offset);
    for cmd in &parsed.commands {
        let (line, col) = loc.at(cmd.line, cmd.column);
        // The parser peels wrappers (`sudo`, `exec`, `xargs`...) and gives the base name.
        let mut program = text::file_name(&cmd.program).to_string();
        let mut via = Vec::new();
        if program.starts_with('$')
            && let Some(e) = vars.expand(&cmd.program, line + src.line_offset)
        {
            program = text::file_name(&e.text).to_string();
            via = e.used;
        }
        if let Some(target) = context::called_script(&program, &cmd.args, &cmd.text) {
            let caller_is_script = ctx.source == "script" && src.context.is_none();
            out.calls.push(ScriptCall { from: src.path.to_string(), line, target, context: where_, caller_is_script });
        }
        let kept = ctx.programs.contains(&program.as_str())
            || (ctx.programs == NODE_PROGRAMS && fetches_docker(&program, &cmd.args));
        if !kept {
            continue;
        }
        let subcommand = if program == "docker" || program == "docker-compose" {
            workload::docker_subcommand(&cmd.args)
        } else {
            cmd.args.iter().find(|a| !a.starts_with('-')).cloned().unwrap_or_default()
        };
        let mut r = src
            .record(Subject::Command, line, col)
            .with("source", ctx.source)
            .with("program", program.clone())
            .with("subcommand", subcommand)
            .with("args", cmd.args.join(" "))
            .with("text", cmd.text.clone())
            .with("context", where_.name());
        for (k, v) in &ctx.extra {
            r.set(k, v.clone());
        }
        if !via.is_empty() {
            super::embedded::add_provenance(&mut r, &Vars::describe(&via));
        }
        if let Some(guard) = cmd.docker_guard {
            let at = loc.at(guard, 1).0 + src.line_offset;
            r.set("docker_guard", format!("{}:{at}", src.path));
            super::embedded::add_provenance(&mut r, &format!("only where Docker is present: the test on line {at}"));
        }
        out.records.push(r);

        if program == "kubelet" || program == "kubeadm" {
            let start = loc.index(cmd.line, cmd.column).unwrap_or(0);
            let located = locate_args(text, start, &cmd.args, (line, col));
            // `--container-runtime=${RUNTIME}`: the value the script gives the variable.
            let mut notes: Vec<((u32, u32), String)> = Vec::new();
            let mut args: Vec<(String, (u32, u32))> = Vec::with_capacity(located.len());
            for (a, at) in located {
                match vars.expand(&a, line + src.line_offset) {
                    Some(e) => {
                        let note = Vars::describe(&e.used);
                        // `--flag "$VALUE"`: the flag's record sits at the flag's word.
                        if let Some((prev, prev_at)) = args.last()
                            && prev.starts_with("--")
                            && !prev.contains('=')
                        {
                            notes.push((*prev_at, note.clone()));
                        }
                        notes.push((at, note));
                        args.push((e.text, at));
                    }
                    None => args.push((a, at)),
                }
            }
            let mut sub = Evidence::default();
            if program == "kubelet" {
                flag_records(src, &parse_flags(&args), "command line", None, &mut sub);
            } else {
                cri_socket(src, &args, &mut sub);
            }
            for r in &mut sub.records {
                let at = (r.location.line.unwrap_or(0), r.location.column.unwrap_or(0));
                if let Some((_, note)) = notes.iter().find(|(p, _)| (p.0 + src.line_offset, p.1) == at) {
                    super::embedded::add_provenance(r, note);
                }
            }
            out.merge(sub);
        }
    }
    for h in &parsed.heredocs {
        heredoc(src, &loc, &vars, h, out);
    }
}

/// Analyses what a here-document writes: a file named by its target (`cat > F`, `tee F`), or the
/// manifest `kubectl apply -f -` reads, or the crontab `crontab -` installs.
fn heredoc(src: &Source<'_>, loc: &text::Locator<'_>, vars: &Vars, h: &shell::HereDoc, out: &mut Evidence) {
    if h.runs_as_script {
        return; // its commands are the script's own
    }
    let (first_line, _) = loc.at(h.line, 1);
    // A heredoc's body starts on the line after its command; an `echo`'s text is on its line.
    let writer_line = if h.echo { first_line } else { first_line.saturating_sub(1) };
    let body_offset = first_line.saturating_sub(1);
    let at_line = writer_line + src.line_offset;
    let expanded_target = h.target.as_deref().map(|t| match vars.expand(t, at_line) {
        Some(e) => e.text,
        None => t.to_string(),
    });
    let mut target = expanded_target.as_deref();
    let kind = match (target, h.program.as_str()) {
        (Some(_), _) => crate::evidence::file_kind::classify_body(target, &h.body),
        (None, "kubectl" | "oc" | "kubeadm") => crate::evidence::file_kind::sniff_body(&h.body),
        (None, "crontab") => {
            target = Some("crontab (user)");
            Some(FileKind::Cron)
        }
        _ => None,
    };
    // The shell expands an unquoted here-document: read the body as written to the file.
    let mut body = std::borrow::Cow::Borrowed(h.body.as_str());
    // File line -> the variables expanded on it (a map: a huge heredoc can have many).
    let mut notes: std::collections::HashMap<u32, Vec<Used>> = std::collections::HashMap::new();
    if !h.quoted && h.body.contains('$') {
        let mut expanded = String::with_capacity(h.body.len());
        for (n, l) in h.body.split_inclusive('\n').enumerate() {
            match vars.expand(l, at_line) {
                Some(e) => {
                    notes.insert(first_line + n as u32 + src.line_offset, e.used);
                    expanded.push_str(&e.text);
                }
                None => expanded.push_str(l),
            }
        }
        body = std::borrow::Cow::Owned(expanded);
    }
    let how =
        if h.echo { format!("`{}` at line {at_line}", h.program) } else { format!("the heredoc at line {at_line}") };
    let b = super::embedded::Body {
        text: &body,
        target: if target == Some("crontab (user)") { None } else { target },
        line_offset: body_offset,
        how: &how,
    };
    let mut sub = Evidence::default();
    let inner_src;
    let src = if target == Some("crontab (user)") {
        inner_src = Source { written_to: Some("var/spool/cron/crontabs/user"), ..src.clone() };
        &inner_src
    } else {
        src
    };
    super::embedded::analyze_as(src, &b, kind, &mut sub);
    for r in &mut sub.records {
        let line = r.location.line.unwrap_or(0);
        let Some(used) = notes.get(&line) else { continue };
        // Name only the variables whose values the record shows (a line can set several flags).
        let shown = format!("{} {} {}", r.str("value"), r.str("text"), r.str("program"));
        let relevant: Vec<_> =
            used.iter().filter(|(_, v, _)| !v.is_empty() && shown.contains(v.as_str())).cloned().collect();
        if !relevant.is_empty() {
            super::embedded::add_provenance(r, &Vars::describe(&relevant));
        }
    }
    out.merge(sub);
}

// ---------------------------------------------------------------------------------------------
// Shell variables

/// The variables a script sets (`NAME=value`, `export NAME=value`, `: ${NAME:=value}`), by name,
/// with the file line of each assignment.
#[derive(Debug, Default)]
struct Vars {
    by_name: std::collections::HashMap<String, Vec<(u32, String, bool)>>,
}

/// One variable an expansion used: name, value, file line of the assignment (0: a default).
type Used = (String, String, u32);

/// A text with variables expanded, and which assignments gave the values.
struct Expanded {
    text: String,
    /// `(name, value, line)`; line 0 for a `${NAME:-default}` default.
    used: Vec<Used>,
}

/// Deepest chain of variables whose values name other variables that is followed.
const MAX_VAR_DEPTH: usize = 4;

impl Vars {
    fn new(assignments: &[shell::Assignment], file_line: impl Fn(u32) -> u32) -> Vars {
        let mut v = Vars::default();
        for a in assignments {
            v.by_name.entry(a.name.clone()).or_default().push((file_line(a.line), a.value.clone(), a.default));
        }
        v
    }

    /// The value `name` has when line `line` runs: the last assignment before it (a default
    /// only when no plain assignment came first), else the first one after (a function defined
    /// above its caller's variables).
    fn value(&self, name: &str, line: u32) -> Option<(&str, u32)> {
        let all = self.by_name.get(name)?;
        let mut best: Option<&(u32, String, bool)> = None;
        for a in all.iter().filter(|a| a.0 <= line) {
            if !(a.2 && best.is_some_and(|b| !b.1.is_empty())) {
                best = Some(a);
            }
        }
        let a = best.or_else(|| all.first())?;
        Some((a.1.as_str(), a.0))
    }

    /// Expands `$NAME`, `${NAME}`, `${NAME:-default}`, `${NAME-default}` and `${NAME:=default}`
    /// in `text`; `None` when nothing was expanded. Values holding a command substitution are
    /// not used (their text is not what the shell would produce).
    fn expand(&self, text: &str, line: u32) -> Option<Expanded> {
        let mut used = Vec::new();
        let out = self.expand_in(text, line, 0, None, &mut used);
        (!used.is_empty()).then_some(Expanded { text: out, used })
    }

    /// `inside`: the variable whose value is being expanded (`CRI=${CRI:-x}` refers to the
    /// environment's `CRI`, not to itself).
    fn expand_in(&self, text: &str, line: u32, depth: usize, inside: Option<&str>, used: &mut Vec<Used>) -> String {
        if !text.contains('$') || depth > MAX_VAR_DEPTH {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let (name, default, len) = if let Some(inner) = after.strip_prefix('{') {
                let Some(close) = inner.find('}') else {
                    out.push('$');
                    rest = after;
                    continue;
                };
                let body = &inner[..close];
                let name_len = body.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').count();
                let (name, op) = body.split_at(name_len);
                let default = [":-", ":=", "-", "="].iter().find_map(|p| op.strip_prefix(p));
                if !op.is_empty() && default.is_none() {
                    // `${NAME#x}`, `${NAME/x/y}`...: not resolved.
                    out.push('$');
                    rest = after;
                    continue;
                }
                (name, default, close + 2)
            } else {
                let name_len = after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').count();
                (&after[..name_len], None, name_len)
            };
            let known = if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) || inside == Some(name) {
                None
            } else {
                self.value(name, line).filter(|(v, _)| !v.contains("$(") && !v.contains('`'))
            };
            match (known, default) {
                (Some((v, at)), _) if !v.is_empty() || default.is_none() => {
                    used.push((name.to_string(), v.to_string(), at));
                    out.push_str(&self.expand_in(v, line, depth + 1, Some(name), used));
                }
                (_, Some(d)) if !d.contains("$(") && !d.contains('`') => {
                    let d = d.trim_matches(|c| c == '"' || c == '\'');
                    used.push((name.to_string(), d.to_string(), 0));
                    out.push_str(&self.expand_in(d, line, depth + 1, inside, used));
                }
                _ => out.push_str(&rest[i..i + 1 + len]),
            }
            rest = &after[len.min(after.len())..];
        }
        out.push_str(rest);
        out
    }

    /// `CONTAINER_RUNTIME=docker (set at line 1)` for the message.
    fn describe(used: &[Used]) -> String {
        let mut parts = Vec::new();
        let mut i = 0;
        while i < used.len() {
            let (n, v, l) = &used[i];
            i += 1;
            // `NAME=${NAME:-x}` at line 3, then the default: one part.
            if v.contains('$')
                && let Some((_, d, 0)) = used.get(i).filter(|(next, _, _)| next == n)
            {
                parts.push(format!("{n} defaults to {d} at line {l}"));
                i += 1;
                continue;
            }
            parts.push(match (l, v.contains('$')) {
                (0, _) => format!("{n} defaults to {v}"),
                (_, true) => format!("{n} set at line {l}"),
                _ => format!("{n}={v} set at line {l}"),
            });
        }
        parts.join(", ")
    }
}

/// Pairs each argument with its file position: the next word of `text` after character `start`
/// that spells it, or `fallback` when quoting changed it beyond recognition.
fn locate_args(text: &PosText, start: usize, args: &[String], fallback: (u32, u32)) -> Vec<(String, (u32, u32))> {
    // Enough text to hold the command: a long kubelet line is a few kilobytes.
    let window = text.slice(start, start.saturating_add(16 * 1024));
    let words = window.words();
    let mut next = 0usize;
    args.iter()
        .map(|a| {
            let found = words.iter().enumerate().skip(next).take(64).find(|(_, w)| &w.text == a);
            match found {
                Some((k, w)) => {
                    next = k + 1;
                    (a.clone(), w.start())
                }
                None => (a.clone(), fallback),
            }
        })
        .collect()
}

/// `kubelet-flag` (and `feature-gate`) records for the `--name[=value]` flags of a kubelet
/// command line given as words at their positions (other languages' scripts: PowerShell).
pub(super) fn kubelet_flag_records(src: &Source<'_>, words: &[(String, (u32, u32))], out: &mut Evidence) {
    flag_records(src, &parse_flags(words), "command line", None, out);
}

/// `setting` `cri-socket` records for a kubeadm command line given as words (PowerShell).
pub(super) fn cri_socket_records(src: &Source<'_>, words: &[(String, (u32, u32))], out: &mut Evidence) {
    cri_socket(src, words, out);
}

/// `kubeadm init|join ... --cri-socket X` / `--cri-socket=X`.
fn cri_socket(src: &Source<'_>, args: &[(String, (u32, u32))], out: &mut Evidence) {
    for (i, (a, at)) in args.iter().enumerate() {
        let value = match a.strip_prefix("--cri-socket") {
            Some(rest) if rest.starts_with('=') => rest[1..].to_string(),
            Some("") => match args.get(i + 1) {
                Some((v, _)) => v.clone(),
                None => continue,
            },
            _ => continue,
        };
        out.records.push(
            src.record(Subject::Setting, at.0, at.1)
                .with("key", "cri-socket")
                .with("value", value)
                .with("from", "command line"),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// kubelet flags

/// One `--name[=value]` flag.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Flag {
    name: String,
    value: String,
    at: (u32, u32),
}

/// Flags in a word list: `--a=b`; `--c d` (the next word is the value unless it starts with `-`
/// or is a `$VAR` expansion); a lone `--c` is a boolean set to `true`.
fn parse_flags(words: &[(String, (u32, u32))]) -> Vec<Flag> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let (w, at) = &words[i];
        i += 1;
        if !w.starts_with("--") || w.len() <= 2 || w.starts_with("---") {
            continue;
        }
        let (name, value) = match w.split_once('=') {
            Some((n, v)) => (n.to_string(), unquote(v).to_string()),
            None => match words.get(i) {
                Some((v, _)) if !v.starts_with('-') && !v.starts_with('$') => {
                    i += 1;
                    (w.clone(), unquote(v).to_string())
                }
                _ => (w.clone(), "true".to_string()),
            },
        };
        out.push(Flag { name, value, at: *at });
    }
    out
}

fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

/// `kubelet-flag` records (and `feature-gate` records for `--feature-gates`).
fn flag_records(src: &Source<'_>, flags: &[Flag], from: &str, variable: Option<&str>, out: &mut Evidence) {
    for f in flags {
        let mut r = src
            .record(Subject::KubeletFlag, f.at.0, f.at.1)
            .with("name", f.name.clone())
            .with("value", f.value.clone())
            .with("from", from.to_string());
        if let Some(v) = variable {
            r.set("variable", v.to_string());
        }
        if f.name.ends_with("-endpoint") {
            // Filled in by a node scan that can resolve the socket (see collect::node).
            r.set("endpoint_note", "");
        }
        out.records.push(r);
        if f.name == "--feature-gates" {
            for (gate, value) in text::parse_gate_list(&f.value) {
                out.records.push(
                    src.record(Subject::FeatureGate, f.at.0, f.at.1)
                        .with("name", gate)
                        .with("value", value)
                        .with("component", "kubelet")
                        .with("from", from.to_string()),
                );
            }
        }
    }
}

/// Flags in the value of a `KUBELET_*` variable: split on whitespace, as systemd and the shell
/// expand `$KUBELET_EXTRA_ARGS`.
fn flags_in_value(value: &PosText) -> Vec<Flag> {
    let words: Vec<(String, (u32, u32))> =
        value.split_whitespace().into_iter().map(|w| (w.text.clone(), w.start())).collect();
    parse_flags(&words)
}

// ---------------------------------------------------------------------------------------------
// cron

/// `cron.hourly/`, `cron.daily/`... hold scripts run by run-parts, not crontab lines.
fn is_cron_script_dir(path: &str) -> bool {
    ["/cron.hourly/", "/cron.daily/", "/cron.weekly/", "/cron.monthly/"]
        .iter()
        .any(|d| path.contains(d) || path.starts_with(&d[1..]))
}

/// `/etc/crontab` and `/etc/cron.d/*` lines name a user after the schedule; user crontabs
/// (`/var/spool/cron/...`, `crontab -e`) do not.
fn has_user_field(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    (lower.contains("/cron.d/") || lower.starts_with("cron.d/") || lower.ends_with("crontab"))
        && !lower.contains("spool/")
}

fn crontab(src: &Source<'_>, out: &mut Evidence) {
    let user_field = has_user_field(src.name_path());
    for (n, line) in src.text.lines().enumerate() {
        let line_no = n as u32 + 1;
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || is_env_assignment(trimmed) {
            continue;
        }
        // Byte offsets of the whitespace-separated fields.
        let fields: Vec<(usize, &str)> = field_offsets(line);
        let Some(&(_, first)) = fields.first() else { continue };
        let schedule = if first.starts_with('@') { 1 } else { 5 };
        let mut cmd_field = schedule;
        if user_field {
            // A user name, unless this is plainly already the command (a user crontab installed
            // from a repository file called `crontab`).
            let looks_like_user = fields.get(schedule).is_some_and(|(_, u)| {
                u.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                    && fields.len() > schedule + 1
            });
            if looks_like_user {
                cmd_field += 1;
            }
        }
        let Some(&(start, _)) = fields.get(cmd_field) else { continue };
        let command = cut_at_percent(&line[start..]);
        let column = line[..start].chars().count() as u32 + 1;
        commands_in(src, &PosText::new(command, line_no, column), &Ctx::node("cron"), out);
    }
}

/// `NAME=value` lines of a crontab (`SHELL=/bin/bash`, `MAILTO=""`).
fn is_env_assignment(line: &str) -> bool {
    let name_len = line.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').count();
    name_len > 0 && !line.starts_with(|c: char| c.is_ascii_digit()) && line[name_len..].trim_start().starts_with('=')
}

fn field_offsets(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, &line[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &line[s..]));
    }
    out
}

/// The command of a crontab line ends at the first unescaped `%` (the rest is its stdin).
fn cut_at_percent(command: &str) -> &str {
    let mut prev_backslash = false;
    for (i, c) in command.char_indices() {
        if c == '%' && !prev_backslash {
            return &command[..i];
        }
        prev_backslash = c == '\\' && !prev_backslash;
    }
    command
}

// ---------------------------------------------------------------------------------------------
// systemd units

/// One `Key=Value` of a unit file, with its value joined over `\` continuations.
struct Directive {
    section: String,
    key: String,
    value: PosText,
    line: u32,
    column: u32,
}

fn directives(text: &str) -> Vec<Directive> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut section = String::new();
    let mut n = 0;
    while n < lines.len() {
        let line = lines[n];
        let line_no = n as u32 + 1;
        n += 1;
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        if t.starts_with('[') {
            section = t.trim_start_matches('[').split(']').next().unwrap_or("").to_string();
            continue;
        }
        let Some(eq) = line.find('=') else { continue };
        let key = line[..eq].trim().to_string();
        let key_col = text::indent_of(line) as u32 + 1;
        let rest = &line[eq + 1..];
        let lead = rest.len() - rest.trim_start().len();
        let value_col = line[..eq + 1 + lead].chars().count() as u32 + 1;
        let mut value = PosText::new(rest.trim_start(), line_no, value_col);
        // A trailing backslash continues the value on the next line (comment lines in between are
        // skipped, as systemd does).
        while value.text.trim_end().ends_with('\\') && n < lines.len() {
            let keep = value.text.trim_end().chars().count() - 1;
            let mut joined = value.slice(0, keep);
            if let Some(&at) = value.pos.get(keep) {
                joined.push(' ', at);
            }
            // A template statement blanked out (`{% if %}` lines of a `kubelet.service.j2`) leaves a
            // line of spaces: the value goes on after it, as it does once rendered.
            while n < lines.len()
                && (matches!(lines[n].trim_start().chars().next(), Some('#' | ';'))
                    || (!lines[n].is_empty() && lines[n].trim().is_empty()))
            {
                n += 1;
            }
            if let Some(next) = lines.get(n) {
                let next_text = PosText::new(next, n as u32 + 1, 1);
                joined.text.push_str(&next_text.text);
                joined.pos.extend(next_text.pos);
                n += 1;
            }
            value = joined;
        }
        out.push(Directive { section: section.clone(), key, value: value.trim(), line: line_no, column: key_col });
    }
    out
}

/// The unit a file configures: its name, or for a drop-in (`kubelet.service.d/10-kubeadm.conf`)
/// the unit of its directory.
fn unit_name(path: &str) -> String {
    let mut parts = path.trim_end_matches('/').rsplit(['/', '\\']);
    let file = parts.next().unwrap_or(path);
    match parts.next() {
        Some(dir) if dir.ends_with(".d") && dir.len() > 2 => dir[..dir.len() - 2].to_string(),
        _ => file.to_string(),
    }
}

const UNIT_DEPENDENCIES: &[&str] = &["Requires", "Wants", "After", "BindsTo", "Requisite", "PartOf"];
const EXEC_KEYS: &[&str] = &["ExecStart", "ExecStartPre", "ExecStartPost", "ExecStop", "ExecStopPost", "ExecReload"];

fn unit(src: &Source<'_>, out: &mut Evidence) {
    let unit = unit_name(src.name_path());
    let kubelet_unit = unit.contains("kubelet");
    for d in directives(src.text) {
        if d.section == "Unit" && UNIT_DEPENDENCIES.contains(&d.key.as_str()) {
            out.records.push(
                src.record(Subject::Setting, d.line, d.column)
                    .with("key", format!("unit.{}", d.key))
                    .with("directive", d.key.clone())
                    .with("value", d.value.text.clone())
                    .with("unit", unit.clone()),
            );
        } else if EXEC_KEYS.contains(&d.key.as_str()) {
            // `-`, `@`, `:`, `+`, `!`, `!!` prefixes change how systemd runs the command.
            let skip = d.value.text.chars().take_while(|c| matches!(c, '-' | '@' | ':' | '+' | '!')).count();
            let command = d.value.slice(skip, d.value.len());
            let ctx = Ctx {
                source: "systemd",
                programs: NODE_PROGRAMS,
                extra: vec![("unit", unit.clone().into())],
                context: Some(Context::Node),
            };
            commands_in(src, &command, &ctx, out);
        } else if d.key == "Environment" {
            for word in d.value.words() {
                let Some((name, _)) = word.text.split_once('=') else { continue };
                if !(name.starts_with("KUBELET") || kubelet_unit) {
                    continue;
                }
                let name_len = name.chars().count();
                let value = word.slice(name_len + 1, word.len());
                let flags = flags_in_value(&value);
                flag_records(src, &flags, name, Some(name), out);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// kubelet environment files

/// `NAME=value` assignments of an environment file (`export` allowed, `#` comments, single or
/// double quotes, which may span lines, and `\` continuations of unquoted values).
fn env_assignments(text: &str) -> Vec<(String, PosText)> {
    let all = PosText::new(text, 1, 1);
    let chars: Vec<(char, (u32, u32))> = all.text.chars().zip(all.pos.iter().copied()).collect();
    let n = chars.len();
    let at = |i: usize| chars.get(i).map(|c| c.0);
    let mut out = Vec::new();
    let mut i = 0;
    let skip_line = |mut i: usize| {
        while i < n && chars[i].0 != '\n' {
            i += 1;
        }
        i + 1
    };
    while i < n {
        while matches!(at(i), Some(' ' | '\t' | '\r')) {
            i += 1;
        }
        if matches!(at(i), Some('#' | ';' | '\n') | None) {
            i = skip_line(i);
            continue;
        }
        let rest: String = chars[i..n.min(i + 7)].iter().map(|c| c.0).collect();
        if rest == "export " || rest == "export\t" {
            i += 7;
            while matches!(at(i), Some(' ' | '\t')) {
                i += 1;
            }
        }
        let name_start = i;
        while at(i).is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            i += 1;
        }
        if i == name_start || at(i) != Some('=') {
            i = skip_line(i);
            continue;
        }
        let name: String = chars[name_start..i].iter().map(|c| c.0).collect();
        i += 1;
        let mut value = PosText::default();
        match at(i) {
            Some(q @ ('"' | '\'')) => {
                i += 1;
                while i < n && chars[i].0 != q {
                    if q == '"' && chars[i].0 == '\\' && i + 1 < n {
                        if chars[i + 1].0 != '\n' {
                            value.push(chars[i + 1].0, chars[i + 1].1);
                        }
                        i += 2;
                        continue;
                    }
                    value.push(chars[i].0, chars[i].1);
                    i += 1;
                }
                i += 1;
            }
            _ => {
                while i < n && chars[i].0 != '\n' {
                    if chars[i].0 == '\\' && at(i + 1) == Some('\n') {
                        value.push(' ', chars[i].1);
                        i += 2;
                        continue;
                    }
                    value.push(chars[i].0, chars[i].1);
                    i += 1;
                }
            }
        }
        out.push((name, value));
        i = skip_line(i.saturating_sub(1).max(name_start));
    }
    out
}

fn env_file(src: &Source<'_>, out: &mut Evidence) {
    let file = text::file_name(src.name_path());
    for (name, value) in env_assignments(src.text) {
        let flags = flags_in_value(&value);
        let from = if file == "kubeadm-flags.env" { file } else { name.as_str() };
        flag_records(src, &flags, from, Some(&name), out);
    }
}

// ---------------------------------------------------------------------------------------------
// CI files

/// Scalars of a `script`-like value (a string, or a list of strings, possibly nested by
/// `!reference`), with their pointers.
fn script_items(value: &Json, ptr: &str, depth: usize, out: &mut Vec<(String, String)>) {
    match value {
        Json::String(s) => out.push((s.clone(), ptr.to_string())),
        Json::Array(items) if depth < 8 => {
            for (i, item) in items.iter().enumerate() {
                script_items(item, &format!("{ptr}/{i}"), depth + 1, out);
            }
        }
        _ => {}
    }
}

/// `kubelet-flag` records for the `--flags` of a YAML string scalar at `ptr` (a Salt pillar's
/// `kubelet_args`, a kubespray variable), `from` naming the variable.
pub(crate) fn flags_in_scalar(src: &Source<'_>, doc: &YamlDoc, ptr: &str, value: &str, from: &str, out: &mut Evidence) {
    let text = scalar_text(src, doc, ptr, value);
    flag_records(src, &flags_in_value(&text), from, Some(from), out);
}

/// The decoded text of the scalar at `ptr` with the file position of each character.
fn scalar_text(src: &Source<'_>, doc: &YamlDoc, ptr: &str, decoded: &str) -> PosText {
    let p = match doc.span(ptr) {
        Some(s) => s.value,
        None => doc.pos(ptr),
    };
    let first = text::offset_of(src.text, p.line, p.column).and_then(|o| src.text[o..].chars().next());
    match first {
        // Block scalar: the content starts on the next line.
        Some('|' | '>') => text::align(decoded, src.text, p.line + 1, 1),
        Some('"' | '\'') => text::align(decoded, src.text, p.line, p.column + 1),
        _ => text::align(decoded, src.text, p.line, p.column),
    }
}

/// Commands of every script scalar under `ptr`.
fn ci_scripts(src: &Source<'_>, doc: &YamlDoc, value: &Json, ptr: &str, ctx: &Ctx, out: &mut Evidence) {
    let mut items = Vec::new();
    script_items(value, ptr, 0, &mut items);
    for (decoded, item_ptr) in items {
        let text = scalar_text(src, doc, &item_ptr, &decoded);
        commands_in(src, &text, ctx, out);
    }
}

const GITLAB_GLOBAL_KEYS: &[&str] = &[
    "image",
    "services",
    "stages",
    "types",
    "before_script",
    "after_script",
    "variables",
    "cache",
    "include",
    "workflow",
    "default",
    "spec",
];

/// A job's own value of `key`, else one inherited through `extends`.
fn gitlab_inherited<'a>(root: &'a Json, job: &'a Json, key: &str, depth: usize) -> Option<&'a Json> {
    if let Some(v) = job.get(key) {
        return Some(v);
    }
    if depth > 8 {
        return None;
    }
    let parents: Vec<&str> = match job.get("extends") {
        Some(Json::String(s)) => vec![s.as_str()],
        Some(Json::Array(items)) => items.iter().filter_map(Json::as_str).collect(),
        _ => Vec::new(),
    };
    // Later templates override earlier ones.
    parents.iter().rev().find_map(|p| root.get(*p).and_then(|parent| gitlab_inherited(root, parent, key, depth + 1)))
}

fn service_name(entry: &Json) -> Option<&str> {
    match entry {
        Json::String(s) => Some(s),
        Json::Object(_) => entry.get("name").and_then(Json::as_str),
        _ => None,
    }
}

fn has_dind(services: Option<&Json>) -> bool {
    services.and_then(Json::as_array).is_some_and(|s| s.iter().filter_map(service_name).any(text::is_dind_image))
}

fn kubernetes_tags(tags: Option<&Json>) -> bool {
    tags.and_then(Json::as_array).is_some_and(|t| {
        t.iter().filter_map(Json::as_str).any(|t| {
            let t = t.to_ascii_lowercase();
            t.contains("k8s") || t.contains("kubernetes")
        })
    })
}

fn gitlab(src: &Source<'_>, doc: &YamlDoc, out: &mut Evidence) {
    let root = &doc.value;
    let Some(map) = root.as_object() else { return };
    let global_services = root.pointer("/default/services").or_else(|| root.get("services"));
    let global_tags = root.pointer("/default/tags");

    // `services` entries, wherever they are.
    let mut service_lists: Vec<(String, &Json, String)> = Vec::new();
    for (key, value) in map {
        if key == "services" {
            service_lists.push(("/services".into(), value, String::new()));
        } else if let Some(s) = value.get("services")
            && (key == "default" || !GITLAB_GLOBAL_KEYS.contains(&key.as_str()))
        {
            service_lists.push((format!("/{}/services", yaml::pointer_token(key)), s, key.clone()));
        }
    }
    for (ptr, list, job) in service_lists {
        for (i, entry) in list.as_array().into_iter().flatten().enumerate() {
            let Some(name) = service_name(entry) else { continue };
            let item_ptr = if entry.is_object() { format!("{ptr}/{i}/name") } else { format!("{ptr}/{i}") };
            let p = doc.pos(&item_ptr);
            let mut r =
                src.record(Subject::Setting, p.line, p.column).with("key", "services").with("value", name.to_string());
            if !job.is_empty() {
                r.set("job", job.clone());
            }
            out.records.push(r);
        }
    }

    let ctx_for = |job: &str, dind: bool, k8s: bool| Ctx {
        source: "gitlab-ci",
        programs: CI_PROGRAMS,
        extra: vec![
            ("dind_service", dind.into()),
            ("runner", if k8s { "kubernetes" } else { "unknown" }.into()),
            ("job", job.to_string().into()),
        ],
        context: Some(if k8s { Context::CiOnKubernetes } else { Context::Unknown }),
    };

    // Global scripts run in every job that does not override them.
    let global_ctx = ctx_for("(default)", has_dind(global_services), kubernetes_tags(global_tags));
    for base in ["", "/default"] {
        for key in ["before_script", "after_script"] {
            let ptr = format!("{base}/{key}");
            if let Some(v) = root.pointer(&ptr) {
                ci_scripts(src, doc, v, &ptr, &global_ctx, out);
            }
        }
    }

    for (name, job) in map {
        if GITLAB_GLOBAL_KEYS.contains(&name.as_str()) || !job.is_object() {
            continue;
        }
        let services = gitlab_inherited(root, job, "services", 0).or(global_services);
        let tags = gitlab_inherited(root, job, "tags", 0).or(global_tags);
        let ctx = ctx_for(name, has_dind(services), kubernetes_tags(tags));
        for key in ["before_script", "script", "after_script"] {
            if let Some(v) = job.get(key) {
                let ptr = format!("/{}/{key}", yaml::pointer_token(name));
                ci_scripts(src, doc, v, &ptr, &ctx, out);
            }
        }
    }
}

/// `hosted` for GitHub-hosted labels (and expressions that cannot be resolved statically, unless
/// they mention `self-hosted`), else `self-hosted`.
fn github_runner(runs_on: Option<&Json>) -> &'static str {
    let labels: Vec<&str> = match runs_on {
        Some(Json::String(s)) => vec![s.as_str()],
        Some(Json::Array(items)) => items.iter().filter_map(Json::as_str).collect(),
        Some(Json::Object(o)) => o.get("labels").map_or_else(Vec::new, |l| match l {
            Json::String(s) => vec![s.as_str()],
            Json::Array(items) => items.iter().filter_map(Json::as_str).collect(),
            _ => Vec::new(),
        }),
        _ => Vec::new(),
    };
    if labels.iter().any(|l| l.to_ascii_lowercase().contains("self-hosted")) {
        return "self-hosted";
    }
    let hosted = |l: &&str| {
        let l = l.trim().to_ascii_lowercase();
        l.starts_with("ubuntu-") || l.starts_with("windows-") || l.starts_with("macos-") || l.contains("${{")
    };
    if labels.iter().any(hosted) { "hosted" } else { "self-hosted" }
}

fn github(src: &Source<'_>, doc: &YamlDoc, out: &mut Evidence) {
    let Some(jobs) = doc.value.get("jobs").and_then(Json::as_object) else { return };
    for (id, job) in jobs {
        let runner = github_runner(job.get("runs-on"));
        let ctx = Ctx {
            source: "github-actions",
            programs: CI_PROGRAMS,
            extra: vec![("runner", runner.into()), ("job", id.clone().into())],
            // GitHub-hosted runners are VMs with their own Docker: a build machine.
            context: Some(if runner == "hosted" { Context::BuildMachine } else { Context::Unknown }),
        };
        let job_ptr = format!("/jobs/{}", yaml::pointer_token(id));
        for (i, step) in job.get("steps").and_then(Json::as_array).into_iter().flatten().enumerate() {
            if let Some(run) = step.get("run") {
                ci_scripts(src, doc, run, &format!("{job_ptr}/steps/{i}/run"), &ctx, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::testutil::for_each_generated_text;

    fn run(path: &str, kind: &'static str, text: &str) -> Evidence {
        let mut out = Evidence::default();
        let src = Source::file(path, FileKind::from_name(kind).expect("a file kind"), text);
        if matches!(kind, "gitlab-ci" | "github-workflow") {
            analyze_ci(&src, &mut out);
        } else {
            analyze(&src, &mut out);
        }
        out
    }

    fn summary(ev: &Evidence, subject: Subject) -> Vec<String> {
        ev.records
            .iter()
            .filter(|r| r.subject == subject)
            .map(|r| {
                let what = match subject {
                    Subject::Command => r.str("text").to_string(),
                    Subject::KubeletFlag | Subject::FeatureGate => format!("{}={}", r.str("name"), r.str("value")),
                    _ => format!("{}={}", r.str("key"), r.str("value")),
                };
                format!("{}:{} {what}", r.location.line.unwrap_or(0), r.location.column.unwrap_or(0))
            })
            .collect()
    }

    #[test]
    fn shell_scripts_give_command_records() {
        let ev = run(
            "scripts/node.sh",
            "shell",
            "#!/bin/bash\n# docker ps\necho \"docker build\"\ndocker system prune -af\napt-get install -y docker-ce\nsystemctl enable --now docker\ncrictl ps\nkubeadm join 10.0.0.1:6443 --cri-socket /var/run/dockershim.sock\n",
        );
        assert_eq!(
            summary(&ev, Subject::Command),
            [
                "4:1 docker system prune -af",
                "5:1 apt-get install -y docker-ce",
                "6:1 systemctl enable --now docker",
                "8:1 kubeadm join 10.0.0.1:6443 --cri-socket /var/run/dockershim.sock"
            ]
        );
        let docker = &ev.records[0];
        assert_eq!(docker.str("source"), "script");
        assert_eq!(docker.str("subcommand"), "system");
        assert_eq!(docker.str("file_kind"), "shell");
        assert_eq!(ev.records[1].str("subcommand"), "install");
        assert_eq!(summary(&ev, Subject::Setting), ["8:28 cri-socket=/var/run/dockershim.sock"]);
    }

    #[test]
    fn kubelet_command_lines_give_flags_and_gates() {
        let ev = run(
            "bootstrap.sh",
            "shell",
            "kubelet --network-plugin=cni \\\n  --container-runtime docker --fail-swap-on \\\n  --feature-gates=DynamicKubeletConfig=true,CSIMigration=false\n",
        );
        assert_eq!(
            summary(&ev, Subject::KubeletFlag),
            [
                "1:9 --network-plugin=cni",
                "2:3 --container-runtime=docker",
                "2:30 --fail-swap-on=true",
                "3:3 --feature-gates=DynamicKubeletConfig=true,CSIMigration=false"
            ]
        );
        assert_eq!(summary(&ev, Subject::FeatureGate), ["3:3 DynamicKubeletConfig=true", "3:3 CSIMigration=false"]);
        assert!(
            ev.records.iter().filter(|r| r.subject == Subject::KubeletFlag).all(|r| r.str("from") == "command line")
        );
        assert_eq!(
            ev.records.iter().find(|r| r.subject == Subject::FeatureGate).map(|r| r.str("component")),
            Some("kubelet")
        );
    }

    #[test]
    fn crontabs_with_and_without_user_field() {
        let text = "SHELL=/bin/sh\nMAILTO=\"\"\n# 0 3 * * * root docker ps\n0 3 * * * root docker system prune -af --volumes > /dev/null 2>&1\n@reboot root /usr/bin/docker start registry\n*/5 * * * * root date +%s && docker ps\n";
        let ev = run("etc/cron.d/docker-prune", "cron", text);
        assert_eq!(
            summary(&ev, Subject::Command),
            ["4:16 docker system prune -af --volumes > /dev/null 2>&1", "5:14 /usr/bin/docker start registry"]
        );
        assert_eq!(ev.records[0].str("source"), "cron");
        assert_eq!(ev.records[1].str("program"), "docker");
        // A user crontab has no user field.
        let ev = run("var/spool/cron/crontabs/root", "cron", "0 * * * * docker image prune -f\n");
        assert_eq!(summary(&ev, Subject::Command), ["1:11 docker image prune -f"]);
        // Scripts run by run-parts.
        let ev = run("etc/cron.daily/cleanup", "cron", "#!/bin/sh\ndocker system prune -f\n");
        assert_eq!(summary(&ev, Subject::Command), ["2:1 docker system prune -f"]);
    }

    #[test]
    fn systemd_units_and_drop_ins() {
        let text = "[Unit]\nDescription=kubelet\nAfter=network-online.target docker.service\nRequires=docker.service\n\n[Service]\nEnvironment=\"KUBELET_NETWORK_ARGS=--network-plugin=cni --cni-bin-dir=/opt/cni/bin\"\nEnvironment=KUBELET_EXTRA_ARGS=--container-runtime=docker\nEnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env\nExecStartPre=-/usr/bin/docker pull k8s.gcr.io/pause:3.2\nExecStart=\nExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS \\\n  --docker-endpoint=unix:///var/run/docker.sock $KUBELET_EXTRA_ARGS\n";
        let ev = run("etc/systemd/system/kubelet.service.d/10-kubeadm.conf", "systemd-unit", text);
        let settings: Vec<_> = ev.records.iter().filter(|r| r.subject == Subject::Setting).collect();
        assert_eq!(settings.len(), 2);
        assert_eq!(settings[0].str("key"), "unit.After");
        assert_eq!(settings[0].str("value"), "network-online.target docker.service");
        assert_eq!(settings[0].str("unit"), "kubelet.service");
        assert_eq!(settings[1].location.line, Some(4));
        assert_eq!(
            summary(&ev, Subject::KubeletFlag),
            [
                "7:35 --network-plugin=cni",
                "7:56 --cni-bin-dir=/opt/cni/bin",
                "8:32 --container-runtime=docker",
                "13:3 --docker-endpoint=unix:///var/run/docker.sock"
            ]
        );
        assert_eq!(
            ev.records.iter().find(|r| r.subject == Subject::KubeletFlag).map(|r| r.str("from")),
            Some("KUBELET_NETWORK_ARGS")
        );
        let commands = summary(&ev, Subject::Command);
        assert_eq!(commands.len(), 2);
        assert_eq!(commands[0], "10:15 /usr/bin/docker pull k8s.gcr.io/pause:3.2");
        assert!(commands[1].starts_with("12:11 /usr/bin/kubelet"), "{commands:?}");
        let docker = ev.records.iter().find(|r| r.str("program") == "docker").expect("docker");
        assert_eq!(docker.str("source"), "systemd");
        assert_eq!(docker.str("unit"), "kubelet.service");
        assert_eq!(unit_name("lib/systemd/system/kubelet.service"), "kubelet.service");
        assert_eq!(unit_name("x.service.d/"), "x.service.d");
    }

    #[test]
    fn kubelet_env_files() {
        let text = "# written by kubeadm\nKUBELET_KUBEADM_ARGS=\"--container-runtime=remote --container-runtime-endpoint=unix:///var/run/dockershim.sock --pod-infra-container-image=k8s.gcr.io/pause:3.6\"\n";
        let ev = run("var/lib/kubelet/kubeadm-flags.env", "kubelet-env", text);
        assert_eq!(
            summary(&ev, Subject::KubeletFlag),
            [
                "2:23 --container-runtime=remote",
                "2:50 --container-runtime-endpoint=unix:///var/run/dockershim.sock",
                "2:111 --pod-infra-container-image=k8s.gcr.io/pause:3.6"
            ]
        );
        assert!(ev.records.iter().all(|r| r.str("from") == "kubeadm-flags.env"));
        let text = "export KUBELET_EXTRA_ARGS=--network-plugin cni --fail-swap-on --feature-gates=RotateKubeletClientCertificate=true\nOTHER='a'\nMULTI=\"--node-ip=10.0.0.1\n  --cgroup-driver=systemd\"\n";
        let ev = run("etc/default/kubelet", "kubelet-env", text);
        assert_eq!(
            summary(&ev, Subject::KubeletFlag),
            [
                "1:27 --network-plugin=cni",
                "1:48 --fail-swap-on=true",
                "1:63 --feature-gates=RotateKubeletClientCertificate=true",
                "3:8 --node-ip=10.0.0.1",
                "4:3 --cgroup-driver=systemd"
            ]
        );
        assert_eq!(ev.records[0].str("from"), "KUBELET_EXTRA_ARGS");
        assert_eq!(summary(&ev, Subject::FeatureGate), ["1:63 RotateKubeletClientCertificate=true"]);
    }

    #[test]
    fn gitlab_ci_jobs_services_and_runners() {
        let text = r#"image: docker:24
services:
  - docker:24-dind
before_script:
  - docker info
build:
  stage: build
  script:
    - echo "docker build"
    - docker build -t $IMAGE .
    - |
      docker push $IMAGE
      crictl ps
deploy:
  image: alpine
  services: []
  tags: [k8s-runner]
  script: "docker compose up -d"
.tpl:
  services:
    - name: registry.example.com/docker:20.10-dind
      alias: docker
lint:
  extends: .tpl
  services: [postgres:15]
  script:
    - docker run --rm lint
"#;
        let ev = run(".gitlab-ci.yml", "gitlab-ci", text);
        assert_eq!(
            summary(&ev, Subject::Command),
            [
                "5:5 docker info",
                "10:7 docker build -t $IMAGE .",
                "12:7 docker push $IMAGE",
                "18:12 docker compose up -d",
                "27:7 docker run --rm lint"
            ]
        );
        let dind: Vec<String> = ev
            .records
            .iter()
            .filter(|r| r.subject == Subject::Command)
            .map(|r| r.get("dind_service").map(|v| v.display()).unwrap_or_default())
            .collect();
        assert_eq!(dind, ["true", "true", "true", "false", "false"]);
        let runner: Vec<&str> =
            ev.records.iter().filter(|r| r.subject == Subject::Command).map(|r| r.str("runner")).collect();
        assert_eq!(runner, ["unknown", "unknown", "unknown", "kubernetes", "unknown"]);
        assert_eq!(
            summary(&ev, Subject::Setting),
            [
                "3:5 services=docker:24-dind",
                "21:7 services=registry.example.com/docker:20.10-dind",
                "25:14 services=postgres:15"
            ]
        );
    }

    #[test]
    fn github_workflows_know_hosted_runners() {
        let text = "on: push\njobs:\n  hosted:\n    runs-on: ubuntu-latest\n    steps:\n      - run: docker build .\n  matrix:\n    runs-on: ${{ matrix.os }}\n    steps:\n      - run: |\n          make\n          docker push x\n  own:\n    runs-on: [self-hosted, linux]\n    steps:\n      - uses: actions/checkout@v4\n      - name: b\n        run: 'docker build -t y .'\n";
        let ev = run(".github/workflows/ci.yml", "github-workflow", text);
        assert_eq!(
            summary(&ev, Subject::Command),
            ["6:14 docker build .", "12:11 docker push x", "18:15 docker build -t y ."]
        );
        let runner: Vec<&str> = ev.records.iter().map(|r| r.str("runner")).collect();
        assert_eq!(runner, ["hosted", "hosted", "self-hosted"]);
        assert!(ev.records.iter().all(|r| r.str("source") == "github-actions"));
    }

    #[test]
    fn invalid_yaml_is_a_gap_and_nothing_panics() {
        let ev = run(".gitlab-ci.yml", "gitlab-ci", "a: [\n");
        assert_eq!(ev.gaps.len(), 1);
        for (path, kind, text) in [
            ("x.sh", "shell", "docker \"unterminated\nkubelet --a= --b \\"),
            ("etc/cron.d/x", "cron", "@reboot\n* * *\n0 0 * * * root\n0 0 * * * root docker %ps\n\u{1F4A5} x"),
            ("k.service", "systemd-unit", "[Service\nExecStart=\\\nEnvironment=\"KUBELET_X=--a\nExecStart=-"),
            ("etc/default/kubelet", "kubelet-env", "A=\"--a\nB='x\nexport\nC=\\"),
            (".github/workflows/x.yml", "github-workflow", "jobs: {a: {steps: [{run: 5}]}}"),
            (".gitlab-ci.yml", "gitlab-ci", "x: {script: [[[\"docker ps\"]]], extends: x}\n"),
        ] {
            let _ = run(path, kind, text);
        }
    }

    #[test]
    fn heredocs_are_analysed_as_the_file_they_write() {
        // See: issue 12, the script that was READY.
        let text = "#!/bin/bash\nCONTAINER_RUNTIME=docker\ncat > /etc/systemd/system/kubelet.service <<EOT\n[Unit]\nRequires=docker.service\n[Service]\nExecStart=/usr/bin/kubelet --network-plugin=cni --container-runtime=${CONTAINER_RUNTIME}\nEOT\ncat <<'EOF' | sudo tee /etc/default/kubelet\nKUBELET_EXTRA_ARGS=--container-runtime=${CONTAINER_RUNTIME}\nEOF\n";
        let ev = run("bootstrap/install-node.sh", "shell", text);
        assert_eq!(
            summary(&ev, Subject::KubeletFlag),
            [
                "7:28 --network-plugin=cni",
                "7:49 --container-runtime=docker",
                "10:20 --container-runtime=${CONTAINER_RUNTIME}"
            ]
        );
        let runtime = &ev.records.iter().filter(|r| r.subject == Subject::KubeletFlag).collect::<Vec<_>>()[1];
        assert_eq!(runtime.str("written_to"), "/etc/systemd/system/kubelet.service");
        assert_eq!(runtime.str("file_kind"), "systemd-unit");
        assert_eq!(
            runtime.str("provenance"),
            "written to /etc/systemd/system/kubelet.service by the heredoc at line 3; CONTAINER_RUNTIME=docker set at line 2"
        );
        // A quoted delimiter: the shell writes `${CONTAINER_RUNTIME}` literally.
        let quoted = ev.records.iter().find(|r| r.location.line == Some(10)).expect("env file flag");
        assert_eq!(quoted.str("file_kind"), "kubelet-env");
        assert_eq!(quoted.str("from"), "KUBELET_EXTRA_ARGS");
        let unit = ev.records.iter().find(|r| r.subject == Subject::Setting).expect("unit dependency");
        assert_eq!((unit.str("unit"), unit.location.line), ("kubelet.service", Some(5)));
    }

    #[test]
    fn jinja_units_and_env_files_keep_flags_between_statements() {
        let unit = "[Service]\nExecStart=/usr/local/bin/kubelet \\\n{% if kubelet_dir is defined %}\n    --volume-plugin-dir={{ kubelet_dir }} \\\n{% endif %}\n{# runtime #}\n    --container-runtime={{ runtime | default('docker') }} \\\n    --network-plugin=cni\nRestart=always\n";
        let ev = run("roles/kubelet/templates/kubelet.service.j2", "systemd-unit", unit);
        assert_eq!(
            summary(&ev, Subject::KubeletFlag),
            [
                "4:5 --volume-plugin-dir={{_____________}}",
                "7:5 --container-runtime={{_____________________________}}",
                "8:5 --network-plugin=cni"
            ]
        );
        assert_eq!(
            ev.records.iter().find(|r| r.subject == Subject::KubeletFlag).map(|r| r.snippet.as_str()),
            Some("--volume-plugin-dir={{ kubelet_dir }} \\")
        );
        let env = "KUBELET_ARGS=\"--node-ip={{ ip }} {% if runtime == 'docker' %}--network-plugin=cni{% endif %}\"\n";
        let ev = run("salt/kubelet/files/kubelet.default.jinja", "kubelet-env", env);
        assert_eq!(summary(&ev, Subject::KubeletFlag), ["1:15 --node-ip={{____}}", "1:62 --network-plugin=cni"]);
    }

    #[test]
    fn variables_feed_flags_sockets_and_programs() {
        let text = "RUNTIME=docker\n: ${CRI_SOCKET:=/var/run/dockershim.sock}\nENDPOINT=${ENDPOINT:-unix:///var/run/dockershim.sock}\nexport DOCKER=/usr/bin/docker\nkubelet --container-runtime \"$RUNTIME\" --container-runtime-endpoint=${ENDPOINT}\nkubeadm join 10.0.0.1:6443 --cri-socket \"${CRI_SOCKET}\"\nsudo $DOCKER system prune -af\nkubelet --container-runtime=${UNSET}\n";
        let ev = run("scripts/join.sh", "shell", text);
        assert_eq!(
            summary(&ev, Subject::KubeletFlag),
            [
                "5:9 --container-runtime=docker",
                "5:40 --container-runtime-endpoint=unix:///var/run/dockershim.sock",
                "8:9 --container-runtime=${UNSET}"
            ]
        );
        assert_eq!(summary(&ev, Subject::Setting), ["6:28 cri-socket=/var/run/dockershim.sock"]);
        let flags: Vec<&str> =
            ev.records.iter().filter(|r| r.subject != Subject::Command).map(|r| r.str("provenance")).collect();
        assert_eq!(
            flags,
            [
                "RUNTIME=docker set at line 1",
                "ENDPOINT defaults to unix:///var/run/dockershim.sock at line 3",
                "CRI_SOCKET=/var/run/dockershim.sock set at line 2",
                ""
            ]
        );
        let docker = ev.records.iter().find(|r| r.str("program") == "docker").expect("docker via $DOCKER");
        assert_eq!((docker.location.line, docker.str("subcommand")), (Some(7), "system"));
        assert_eq!(docker.str("provenance"), "DOCKER=/usr/bin/docker set at line 4");
    }

    #[test]
    fn heredocs_without_a_file_or_to_other_files() {
        let text = "kubectl apply -f - <<EOF\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: x, volumeMounts: [{name: s, mountPath: /var/run/docker.sock}]}]\n  volumes: [{name: s, hostPath: {path: /var/run/docker.sock}}]\nEOF\ncat <<EOF\nUsage: docker run ...\nEOF\ncat > /etc/motd <<EOF\n[Service]\nExecStart=/usr/bin/docker ps\nEOF\ncrontab - <<EOF\n0 * * * * docker image prune -f\nEOF\n";
        let ev = run("scripts/setup.sh", "shell", text);
        let kinds: Vec<(Option<u32>, &str, &str)> =
            ev.records.iter().map(|r| (r.location.line, r.subject.name(), r.str("file_kind"))).collect();
        assert!(kinds.iter().any(|(l, _, k)| *l == Some(7) && *k == "k8s-manifest"), "{kinds:?}");
        assert!(!kinds.iter().any(|(l, _, _)| matches!(l, Some(10) | Some(14))), "{kinds:?}");
        assert_eq!(summary(&ev, Subject::Command), ["17:11 docker image prune -f"]);
    }

    /// Deterministic pseudo-random inputs built from the tokens these analysers react to: no panic.
    #[test]
    fn generated_inputs_do_not_panic() {
        const PIECES: &[&str] = &[
            "docker ",
            "kubelet ",
            "kubeadm ",
            "--cri-socket",
            "--feature-gates=",
            "=",
            "\"",
            "'",
            "\\",
            "\n",
            " ",
            "#",
            "%",
            "@reboot ",
            "* ",
            "root ",
            "[Unit]",
            "[Service]",
            "ExecStart=",
            "Environment=",
            "KUBELET_X=",
            "After=",
            "-",
            "$(",
            ")",
            "|",
            "script:",
            "  - ",
            "services:",
            "jobs:",
            "steps:",
            "run: ",
            "|\n",
            "é",
            "💥",
            "\t",
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            "export ",
            "${{",
            "}}",
            "cat > /etc/systemd/system/kubelet.service <<E\n",
            "cat <<'E' | tee /etc/default/kubelet\n",
            "E\n",
            "R=docker\n",
            "${R:-docker}",
            ": ${R:=x}\n",
            "$R",
        ];
        for_each_generated_text(0x9E37_79B9_7F4A_7C15, 400, 40, PIECES, |text| {
            for (path, kind) in [
                ("x.sh", "shell"),
                ("etc/cron.d/x", "cron"),
                ("var/spool/cron/root", "cron"),
                ("kubelet.service.d/10.conf", "systemd-unit"),
                ("etc/default/kubelet", "kubelet-env"),
                (".gitlab-ci.yml", "gitlab-ci"),
                (".github/workflows/x.yml", "github-workflow"),
            ] {
                let _ = run(path, kind, text);
            }
        });
    }

    // A setup script writes a kubeadm config whose extra arguments a function fills in when the
    // script runs: the body is not YAML as written, yet its criSocket is read and nothing is a gap.
    #[test]
    fn a_heredoc_yaml_body_with_a_lone_command_substitution_is_read_without_a_gap() {
        let script = "#!/usr/bin/env bash\nset -euo pipefail\n\nkubelet_args() {\n  printf '    node-labels: \"%s\"\\n' \"$NODE_LABELS\"\n}\n\n\
                      cat > /etc/kubernetes/kubeadm-config.yaml <<EOF\napiVersion: kubeadm.k8s.io/v1beta2\nkind: InitConfiguration\n\
                      nodeRegistration:\n  criSocket: /var/run/dockershim.sock\n  kubeletExtraArgs:\n$(kubelet_args)\n\
                      localAPIEndpoint:\n  advertiseAddress: ${NODE_IP}\nEOF\n\nkubeadm init --config /etc/kubernetes/kubeadm-config.yaml\n";
        let ev = run("hack/bootstrap-control-plane.sh", "shell", script);
        assert!(ev.gaps.is_empty(), "{:?}", ev.gaps);
        assert!(ev.skipped.is_empty(), "{:?}", ev.skipped);
        let socket: Vec<_> = ev
            .records
            .iter()
            .filter(|r| r.str("value") == "/var/run/dockershim.sock")
            .map(|r| r.location.line.unwrap_or(0))
            .collect();
        assert_eq!(socket, [12], "{:#?}", ev.records);

        // An expansion inside a sequence item at the wrong indentation is not a lone line: the body
        // stays invalid and is listed as skipped, not as a gap.
        let tangled = script.replace("$(kubelet_args)", "- $(kubelet_args)");
        let ev = run("hack/bootstrap-control-plane.sh", "shell", &tangled);
        assert!(ev.gaps.is_empty(), "{:?}", ev.gaps);
        assert_eq!(ev.skipped.len(), 1, "{:?}", ev.skipped);
        assert!(ev.skipped[0].reason.contains("not valid YAML until the script that writes it runs"));

        // A broken body with no expansion in it is still a gap naming its line.
        let broken = script.replace("$(kubelet_args)", "    node-labels: [a, b");
        let ev = run("hack/bootstrap-control-plane.sh", "shell", &broken.replace("${NODE_IP}", "10.0.0.2"));
        assert!(ev.gaps.iter().any(|g| g.reason.starts_with("invalid YAML")), "{:?}", ev.gaps);
    }
}
