//! Jenkins pipelines (declarative and scripted Groovy, shared-library `.groovy` files). Place in
//! the pipeline: an analyser that turns one Jenkinsfile into records; no I/O and no rule logic.
//!
//! Comments are blanked first ([`text::mask_groovy_comments`]), then a small Groovy lexer finds the
//! facts rules need: the docker commands of `sh`/`bat`/`powershell` steps (as `command` records),
//! Docker Pipeline DSL constructs and Docker agents (as `line` records with a `construct`),
//! Kubernetes-plugin `hostPathVolume(...)` and `containerTemplate(...)` (as the same `volume` and
//! `container` records a pod spec gives), and pod YAML embedded in strings, which goes through the
//! manifest analyser so the workload rules run on it with exact file lines. `writeFile file: F,
//! text: '''...'''` bodies are analysed as the kind `F` implies (a kubelet unit, `daemon.json`, ...)
//! through [`super::embedded`], at the Jenkinsfile's lines.

use std::collections::HashMap;

use super::manifest;
use super::source::Source;
use super::text::{self, PosText};
use crate::evidence::context::{self, Context, ScriptCall};
use crate::evidence::file_kind::FileKind;
use crate::evidence::workload::{normalize_host_path, split_image};
use crate::evidence::{Evidence, Record, Subject, workload};
use crate::parse::shell;

/// A Jenkinsfile or shared-library Groovy file.
pub fn analyze(src: &Source<'_>, out: &mut Evidence) {
    let first = out.records.len();
    let masked = text::mask_groovy_comments(src.text);
    let toks = lex(&masked);
    let file = FileFacts::gather(&toks);

    // Steps run on the agent: a Kubernetes pod when the pipeline says so.
    let context = if file.agent_kubernetes { Context::CiOnKubernetes } else { src.context.unwrap_or(Context::Unknown) };
    let mut docker_steps = Vec::new();
    for i in 0..toks.len() {
        if is_step(&toks, i) {
            for s in step_scripts(&toks, i) {
                docker_steps.extend(docker_commands(s));
                for c in shell::commands(&s.cooked.text) {
                    if let Some(target) = context::called_script(&c.program, &c.args, &c.text) {
                        let (line, _) = s.cooked.at(c.line, c.column);
                        let line = line + src.line_offset;
                        out.calls.push(ScriptCall {
                            from: src.path.to_string(),
                            line,
                            target,
                            context,
                            caller_is_script: false,
                        });
                    }
                }
            }
        }
    }

    let steps_from = out.records.len();
    for (cmd, (line, col)) in &docker_steps {
        let r = src
            .record(Subject::Command, *line, *col)
            .with("source", "jenkins")
            .with("program", cmd.program.clone())
            .with("subcommand", workload::docker_subcommand(&cmd.args))
            .with("args", cmd.args.join(" "))
            .with("text", cmd.text.clone())
            .with("agent_kubernetes", file.agent_kubernetes)
            .with("context", context.name());
        out.records.push(r);
    }
    for (construct, (line, col)) in constructs(&toks) {
        out.records.push(
            src.record(Subject::Line, line, col)
                .with("construct", construct)
                .with("agent_kubernetes", file.agent_kubernetes),
        );
    }
    let steps_to = out.records.len();

    pod_template_records(src, &toks, &file, !docker_steps.is_empty(), out);
    written_files(src, &toks, &file, out);

    let mut seen = Vec::new();
    for s in embedded_yaml(&toks, &file) {
        if seen.contains(&s.start) {
            continue;
        }
        seen.push(s.start);
        let yaml = text::strip_common_indent(&s.yaml_text());
        // Line 1 of the string content is the line of the opening quote.
        let offset = s.start.0.saturating_sub(1);
        let inner =
            Source { kind: FileKind::Jenkinsfile, text: &yaml, line_offset: src.line_offset + offset, ..src.clone() };
        manifest::analyze(&inner, out);
    }
    steps_on_own_daemon(&mut out.records[first..], steps_from - first..steps_to - first);
}

/// A pipeline whose pod runs its own Docker daemon (a `docker:*-dind` container, from the pod YAML
/// or a `containerTemplate`) and mounts neither the host's Docker socket nor its directory: the
/// docker commands of its steps and its Docker Pipeline constructs (`steps`, indexes in `records`)
/// talk to that daemon, as a GitLab job's do to a `docker:dind` service, and are marked
/// `dind_service` the same way. The dind container itself stays a finding (`docker-in-docker`).
fn steps_on_own_daemon(records: &mut [Record], steps: std::ops::Range<usize>) {
    let dind = records
        .iter()
        .any(|r| r.subject == Subject::Container && r.fields.get("dind") == Some(&crate::evidence::Value::Bool(true)));
    // Host paths are normalised (`/var/run` is spelled `/run`).
    let host_socket = records.iter().any(|r| {
        let p = r.str("host_path");
        r.subject == Subject::Volume && (p.ends_with("docker.sock") || p == "/run")
    });
    if dind && !host_socket {
        for r in records.get_mut(steps).into_iter().flatten() {
            r.set("dind_service", true);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Lexer

/// A Groovy string literal.
#[derive(Debug, Clone, PartialEq)]
struct GStr {
    /// Content as Groovy evaluates it (escapes processed, `\`-newline removed), with positions.
    cooked: PosText,
    /// Content exactly as written between the quotes.
    raw: String,
    /// Position of the first content character (just after the opening quote).
    start: (u32, u32),
}

impl GStr {
    /// The content with escapes processed but every line kept, for YAML.
    fn yaml_text(&self) -> String {
        let mut out = String::with_capacity(self.raw.len());
        let mut it = self.raw.chars().peekable();
        while let Some(c) = it.next() {
            if c == '\\' {
                match it.peek() {
                    Some(&n) if matches!(n, '\\' | '\'' | '"' | '$') => {
                        out.push(n);
                        it.next();
                        continue;
                    }
                    _ => {}
                }
            }
            out.push(c);
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(GStr),
    Punct(char),
    Other,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: u32,
    col: u32,
    /// A line break separates this token from the previous one.
    nl_before: bool,
}

impl Token {
    fn ident(&self) -> Option<&str> {
        match &self.tok {
            Tok::Ident(s) => Some(s),
            _ => None,
        }
    }
    fn is_ident(&self, name: &str) -> bool {
        self.ident() == Some(name)
    }
    fn is_punct(&self, c: char) -> bool {
        self.tok == Tok::Punct(c)
    }
    fn string(&self) -> Option<&GStr> {
        match &self.tok {
            Tok::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Tokenises (comment-free) Groovy: identifiers, string literals, punctuation. Slashy strings and
/// numbers come out as punctuation and `Other`, which is all the patterns below need.
fn lex(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    // Position of each character.
    let mut pos = Vec::with_capacity(chars.len() + 1);
    let (mut l, mut c) = (1u32, 1u32);
    for ch in &chars {
        pos.push((l, c));
        if *ch == '\n' {
            l += 1;
            c = 1;
        } else {
            c += 1;
        }
    }
    pos.push((l, c));
    let starts = |i: usize, pat: &str| pat.chars().enumerate().all(|(k, p)| chars.get(i + k) == Some(&p));

    let mut toks = Vec::new();
    let mut nl = false;
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        let (line, col) = pos[i];
        if ch == '\n' {
            nl = true;
            i += 1;
            continue;
        }
        if ch.is_whitespace() {
            i += 1;
            continue;
        }
        let tok = if ch.is_alphabetic() || ch == '_' || ch == '$' && !starts(i, "${") {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$') {
                i += 1;
            }
            Tok::Ident(chars[start..i].iter().collect())
        } else if ch == '\'' || ch == '"' {
            let triple = starts(i, if ch == '\'' { "'''" } else { "\"\"\"" });
            let qlen = if triple { 3 } else { 1 };
            let double = ch == '"';
            i += qlen;
            let start = pos[i.min(pos.len() - 1)];
            let mut cooked = PosText::default();
            let mut raw = String::new();
            let mut interp = 0u32;
            while let Some(&cur) = chars.get(i) {
                if interp == 0 && (if triple { starts(i, &ch.to_string().repeat(3)) } else { cur == ch }) {
                    i += qlen;
                    break;
                }
                if cur == '\n' && !triple {
                    break; // unterminated one-line string
                }
                if cur == '\\' {
                    let next = chars.get(i + 1).copied();
                    raw.push('\\');
                    if let Some(n) = next {
                        raw.push(n);
                    }
                    match next {
                        Some('\n') => {}
                        Some('n') => cooked.push('\n', pos[i]),
                        Some('t') => cooked.push('\t', pos[i]),
                        Some(n @ ('\\' | '\'' | '"' | '$')) => cooked.push(n, pos[i]),
                        Some(n) => {
                            cooked.push('\\', pos[i]);
                            cooked.push(n, pos[i + 1]);
                        }
                        None => cooked.push('\\', pos[i]),
                    }
                    i += 2;
                    continue;
                }
                if double && starts(i, "${") {
                    interp += 1;
                    raw.push_str("${");
                    cooked.push('$', pos[i]);
                    cooked.push('{', pos[i + 1]);
                    i += 2;
                    continue;
                } else if interp > 0 && cur == '{' {
                    interp += 1;
                } else if interp > 0 && cur == '}' {
                    interp -= 1;
                }
                raw.push(cur);
                cooked.push(cur, pos[i]);
                i += 1;
            }
            Tok::Str(GStr { cooked, raw, start })
        } else if ch.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '.' || chars[i] == '_') {
                i += 1;
            }
            Tok::Other
        } else {
            i += 1;
            Tok::Punct(ch)
        };
        toks.push(Token { tok, line, col, nl_before: nl });
        nl = false;
    }
    toks
}

/// Index of the token closing the bracket opened at `open` (or the last token).
fn matching(toks: &[Token], open: usize) -> usize {
    let (o, c) = match toks.get(open).map(|t| &t.tok) {
        Some(Tok::Punct('(')) => ('(', ')'),
        Some(Tok::Punct('[')) => ('[', ']'),
        Some(Tok::Punct('{')) => ('{', '}'),
        _ => return open,
    };
    let mut depth = 0usize;
    for (k, t) in toks.iter().enumerate().skip(open) {
        if t.is_punct(o) {
            depth += 1;
        } else if t.is_punct(c) {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                return k;
            }
        }
    }
    toks.len().saturating_sub(1)
}

/// Named arguments `name: value` of a call whose first argument token is at `start`, up to `end`
/// (exclusive), at bracket depth 0 relative to `start`. Values are the index of their first token.
fn named_args(toks: &[Token], start: usize, end: usize) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut k = start;
    while k < end.min(toks.len()) {
        let t = &toks[k];
        match &t.tok {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => depth -= 1,
            Tok::Ident(name) | Tok::Str(GStr { raw: name, .. }) if depth == 0 => {
                let follows_sep = k == start || toks[k - 1].is_punct(',');
                if follows_sep && toks.get(k + 1).is_some_and(|n| n.is_punct(':')) {
                    out.push((name.clone(), k + 2));
                    k += 2;
                    continue;
                }
            }
            _ => {}
        }
        k += 1;
    }
    out
}

/// The end (exclusive) of a call without parentheses starting at `start`: the first token at
/// depth 0 that begins a new line and does not continue an argument list.
fn statement_end(toks: &[Token], start: usize) -> usize {
    let mut depth = 0i32;
    for k in start..toks.len() {
        let t = &toks[k];
        if k > start && depth == 0 && t.nl_before && !toks[k - 1].is_punct(',') && !toks[k - 1].is_punct(':') {
            return k;
        }
        match t.tok {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => {
                depth -= 1;
                if depth < 0 {
                    return k;
                }
            }
            _ => {}
        }
    }
    toks.len()
}

/// The arguments of a call at `name_idx` (`f(...)`, `f a: b`, `f 'x'`): (first token, end).
fn call_args(toks: &[Token], name_idx: usize) -> Option<(usize, usize)> {
    let next = toks.get(name_idx + 1)?;
    if next.is_punct('(') {
        return Some((name_idx + 2, matching(toks, name_idx + 1)));
    }
    if matches!(next.tok, Tok::Str(_) | Tok::Ident(_)) && !next.is_punct('=') {
        return Some((name_idx + 1, statement_end(toks, name_idx + 1)));
    }
    None
}

fn prev_is_dot(toks: &[Token], i: usize) -> bool {
    i > 0 && (toks[i - 1].is_punct('.') || toks[i - 1].is_ident("def"))
}

// ---------------------------------------------------------------------------------------------
// Steps

/// Names a shared-library class gives the pipeline's step object (`steps.sh "..."`,
/// `script.sh(...)`, `this.steps.sh`, `ctx.bat`): the object a `vars/` step or a Jenkinsfile passes
/// as `this` to the class's constructor.
const STEP_RECEIVERS: &[&str] =
    &["steps", "script", "context", "ctx", "pipeline", "dsl", "jenkins", "workflowScript", "pipelineSteps", "this"];

/// Whether the token at `i` starts a `sh`/`bat`/`powershell`/`pwsh` step: called bare, or on the
/// pipeline's step object in a library class (see [`STEP_RECEIVERS`]).
fn is_step(toks: &[Token], i: usize) -> bool {
    let Some(name) = toks[i].ident() else { return false };
    if !matches!(name, "sh" | "bat" | "powershell" | "pwsh") {
        return false;
    }
    let on_step_object =
        i >= 2 && toks[i - 1].is_punct('.') && toks[i - 2].ident().is_some_and(|r| STEP_RECEIVERS.contains(&r));
    if prev_is_dot(toks, i) && !on_step_object {
        return false;
    }
    toks.get(i + 1).is_some_and(|n| !n.is_punct('=') && !n.is_punct('.'))
}

/// The script strings of the step at `i`.
fn step_scripts(toks: &[Token], i: usize) -> Vec<&GStr> {
    let Some((start, end)) = call_args(toks, i) else { return Vec::new() };
    if let Some(s) = toks.get(start).and_then(Token::string) {
        // Positional: `sh 'cmd'`, `sh('cmd')`.
        if !toks.get(start + 1).is_some_and(|t| t.is_punct(':')) {
            return vec![s];
        }
    }
    named_args(toks, start, end)
        .into_iter()
        .filter(|(name, _)| name == "script")
        .filter_map(|(_, v)| toks.get(v).and_then(Token::string))
        .collect()
}

/// The docker commands of one script string, with their file positions. A Windows agent's `bat`
/// or `powershell` step names the program `docker.exe` or `C:\Program Files\Docker\docker.exe`.
fn docker_commands(s: &GStr) -> Vec<(shell::Command, (u32, u32))> {
    shell::commands(&s.cooked.text)
        .into_iter()
        .filter_map(|mut c| {
            let base = c.program.rsplit(['/', '\\']).next().unwrap_or(&c.program).to_ascii_lowercase();
            let base = base.strip_suffix(".exe").unwrap_or(&base);
            if base != "docker" && base != "docker-compose" {
                return None;
            }
            c.program = base.to_string();
            let at = s.cooked.at(c.line, c.column);
            Some((c, at))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Docker Pipeline DSL and agents

/// Facts about the whole file.
struct FileFacts {
    /// The pipeline runs on a Kubernetes agent (`agent { kubernetes`, `podTemplate(`).
    agent_kubernetes: bool,
    /// `name = 'string'` assignments, to resolve `yaml: podYaml`.
    assigned: HashMap<String, usize>,
}

impl FileFacts {
    fn gather(toks: &[Token]) -> FileFacts {
        let mut agent_kubernetes = false;
        let mut assigned = HashMap::new();
        for (i, t) in toks.iter().enumerate() {
            let next = toks.get(i + 1);
            if (t.is_ident("podTemplate") && next.is_some_and(|n| n.is_punct('(')))
                || (t.is_ident("kubernetes")
                    && next.is_some_and(|n| n.is_punct('{') || n.is_punct('('))
                    && !prev_is_dot(toks, i))
                || (t.is_ident("agent")
                    && next.is_some_and(|n| n.is_punct('{'))
                    && toks.get(i + 2).is_some_and(|n| n.is_ident("kubernetes")))
            {
                agent_kubernetes = true;
            }
            if let Some(name) = t.ident()
                && next.is_some_and(|n| n.is_punct('='))
                && !toks.get(i + 2).is_some_and(|n| n.is_punct('='))
                && toks.get(i + 2).and_then(Token::string).is_some()
            {
                assigned.entry(name.to_string()).or_insert(i + 2);
            }
        }
        FileFacts { agent_kubernetes, assigned }
    }
}

/// DSL constructs that need a Docker daemon, with the position of each.
fn constructs(toks: &[Token]) -> Vec<(&'static str, (u32, u32))> {
    let mut out = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if t.is_ident("docker") && !prev_is_dot(toks, i) && toks.get(i + 1).is_some_and(|n| n.is_punct('.')) {
            let Some(method) = toks.get(i + 2).and_then(Token::ident) else { continue };
            let construct = match method {
                "build" => "docker.build",
                "withRegistry" => "docker.withRegistry",
                "withServer" => "docker.withServer",
                "withTool" => "docker.withTool",
                "image" => {
                    let mut then = None;
                    if toks.get(i + 3).is_some_and(|n| n.is_punct('(')) {
                        let close = matching(toks, i + 3);
                        if toks.get(close + 1).is_some_and(|n| n.is_punct('.')) {
                            then = toks.get(close + 2).and_then(Token::ident);
                        }
                    }
                    match then {
                        Some("inside") => "docker.image(...).inside",
                        Some("withRun") => "docker.image(...).withRun",
                        Some("run") => "docker.image(...).run",
                        _ => "docker.image",
                    }
                }
                _ => continue,
            };
            out.push((construct, (t.line, t.col)));
        }
        if t.is_ident("agent")
            && toks.get(i + 1).is_some_and(|n| n.is_punct('{'))
            && let Some(a) = toks.get(i + 2)
        {
            let construct = match a.ident() {
                Some("docker" | "dockerContainer") => "agent { docker }",
                Some("dockerfile") => "agent { dockerfile }",
                _ => continue,
            };
            out.push((construct, (a.line, a.col)));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Kubernetes plugin pod templates

/// A `containerTemplate(...)` of the file.
struct TemplateContainer {
    name: String,
    image: String,
    privileged: bool,
    at: (u32, u32),
}

/// A `hostPathVolume(...)` of the file.
struct TemplateVolume {
    raw: String,
    mount_path: String,
    at: (u32, u32),
}

fn string_arg(toks: &[Token], args: &[(String, usize)], name: &str) -> Option<(String, (u32, u32))> {
    args.iter().find(|(n, _)| n == name).and_then(|(_, v)| {
        let t = toks.get(*v)?;
        match &t.tok {
            Tok::Str(s) => Some((s.cooked.text.clone(), s.start)),
            Tok::Ident(id) if id == "true" || id == "false" => Some((id.clone(), (t.line, t.col))),
            _ => None,
        }
    })
}

/// `volume` records for `hostPathVolume(...)` and `container` records for `containerTemplate(...)`,
/// with the same pod-level fields the workload extractor sets, so the hostpath, dind and telemetry
/// rules see a Jenkins pod template like any pod spec.
fn pod_template_records(src: &Source<'_>, toks: &[Token], file: &FileFacts, docker_cli: bool, out: &mut Evidence) {
    let mut containers = Vec::new();
    let mut volumes = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        let Some(name @ ("containerTemplate" | "hostPathVolume")) = t.ident() else { continue };
        if prev_is_dot(toks, i) {
            continue;
        }
        let Some((start, end)) = call_args(toks, i) else { continue };
        let args = named_args(toks, start, end);
        if name == "containerTemplate" {
            let Some((image, at)) = string_arg(toks, &args, "image") else { continue };
            containers.push(TemplateContainer {
                name: string_arg(toks, &args, "name").map(|(n, _)| n).unwrap_or_default(),
                privileged: string_arg(toks, &args, "privileged").is_some_and(|(v, _)| v == "true"),
                image,
                at,
            });
        } else {
            let Some((raw, at)) = string_arg(toks, &args, "hostPath") else { continue };
            volumes.push(TemplateVolume {
                raw,
                mount_path: string_arg(toks, &args, "mountPath").map(|(m, _)| m).unwrap_or_default(),
                at,
            });
        }
    }
    if containers.is_empty() && volumes.is_empty() {
        return;
    }
    let host_paths: Vec<String> = volumes.iter().map(|v| normalize_host_path(&v.raw)).collect();
    let mounts_socket = host_paths.iter().any(|p| workload::is_docker_socket(p));
    let images: Vec<String> = containers.iter().map(|c| c.image.clone()).collect();
    let pod_privileged = containers.iter().any(|c| c.privileged);
    let pod_dind = containers.iter().any(|c| text::is_dind_image(&c.image));
    let workload = format!("Jenkins podTemplate in {}", src.path);
    let kind = src.kind_for_records();
    let base = |r: Record| -> Record {
        r.with("file_kind", kind)
            .with("workload", workload.clone())
            .with("workload_kind", "podTemplate")
            .with("images", images.clone())
            .with("pod_privileged", pod_privileged)
            .with("pod_dind", pod_dind)
            .with("pod_docker_cli", docker_cli)
            .with("pod_mounts_docker_socket", mounts_socket)
            .with("pod_host_paths", host_paths.clone())
            .with("agent_kubernetes", file.agent_kubernetes)
    };
    for (v, path) in volumes.iter().zip(&host_paths) {
        // The Kubernetes plugin mounts every pod template volume into every container.
        let r = base(src.record(Subject::Volume, v.at.0, v.at.1))
            .with("host_path", path.clone())
            .with("raw_path", v.raw.clone())
            .with("volume", "hostPathVolume")
            .with("mounted_by", containers.iter().map(|c| c.name.clone()).collect::<Vec<_>>())
            .with("mount_paths", vec![v.mount_path.clone()]);
        out.records.push(r);
    }
    for c in &containers {
        let mut r = base(src.record(Subject::Container, c.at.0, c.at.1))
            .with("container", c.name.clone())
            .with("image", c.image.clone())
            .with("privileged", c.privileged)
            .with("dind", text::is_dind_image(&c.image))
            .with("mounts_docker_socket", mounts_socket);
        if let Some((name, tag)) = split_image(&c.image) {
            r.set("image_name", name);
            if let Some(tag) = tag {
                r.set("image_tag", tag);
            }
        }
        out.records.push(r);
    }
}

/// `writeFile file: 'F', text: '''...'''` (also `writeFile(...)`, and `text:` a variable assigned a
/// string earlier in the file): the text is a body written to `F`, analysed as the kind `F` implies
/// (or its content), at the lines of the string. A computed destination or text is not read.
fn written_files(src: &Source<'_>, toks: &[Token], file: &FileFacts, out: &mut Evidence) {
    for (i, t) in toks.iter().enumerate() {
        if !t.is_ident("writeFile") || prev_is_dot(toks, i) {
            continue;
        }
        let Some((start, end)) = call_args(toks, i) else { continue };
        let args = named_args(toks, start, end);
        let Some((target, _)) = string_arg(toks, &args, "file") else { continue };
        let body = args.iter().find(|(n, _)| n == "text").and_then(|(_, v)| match toks.get(*v).map(|t| &t.tok) {
            Some(Tok::Str(s)) => Some(s),
            Some(Tok::Ident(var)) => file.assigned.get(var).and_then(|&j| toks.get(j)).and_then(Token::string),
            _ => None,
        });
        let Some(body) = body else { continue };
        let text = body.yaml_text();
        // Line 1 of the string content is the line of the opening quote.
        let body = super::embedded::Body {
            text: &text,
            target: Some(&target),
            line_offset: body.start.0.saturating_sub(1),
            how: "a Jenkins writeFile step",
        };
        let kind = crate::evidence::file_kind::classify_body(body.target, body.text);
        super::embedded::analyze_as(src, &body, kind, out);
    }
}

/// Strings holding pod YAML: `podTemplate(yaml: '''...''')`, `yaml '''...'''` and `yaml: """..."""`
/// (also through a variable assigned a string earlier in the file). `yamlFile` names a file that is
/// scanned on its own.
fn embedded_yaml<'t>(toks: &'t [Token], file: &FileFacts) -> Vec<&'t GStr> {
    let mut out = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if !t.is_ident("yaml") || prev_is_dot(toks, i) {
            continue;
        }
        let mut k = i + 1;
        if toks.get(k).is_some_and(|n| n.is_punct(':') || n.is_punct('(')) {
            k += 1;
        }
        let value = match toks.get(k).map(|n| &n.tok) {
            Some(Tok::Str(s)) => Some(s),
            Some(Tok::Ident(var)) => file.assigned.get(var).and_then(|&j| toks.get(j)).and_then(Token::string),
            _ => None,
        };
        if let Some(s) = value.filter(|s| s.raw.contains(':')) {
            out.push(s);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::testutil::for_each_generated_text;

    fn run(text: &str) -> Evidence {
        let mut out = Evidence::default();
        analyze(&Source::file("ci/Jenkinsfile", FileKind::Jenkinsfile, text), &mut out);
        out
    }

    fn lines_of(ev: &Evidence, subject: Subject) -> Vec<(u32, String)> {
        ev.records
            .iter()
            .filter(|r| r.subject == subject)
            .map(|r| {
                let what = match subject {
                    Subject::Command => r.str("text").to_string(),
                    Subject::Line => r.str("construct").to_string(),
                    Subject::Volume => r.str("host_path").to_string(),
                    _ => r.str("image").to_string(),
                };
                (r.location.line.unwrap_or(0), what)
            })
            .collect()
    }

    #[test]
    fn lexes_strings_with_positions() {
        let toks = lex("sh '''\n  docker ps\n'''\nsh \"a \\\"${x}\\\" b\"");
        let s = toks[1].string().expect("string");
        assert_eq!(s.start, (1, 7));
        assert_eq!(s.cooked.at(2, 3), (2, 3));
        let s = toks[3].string().expect("string");
        assert_eq!(s.cooked.text, "a \"${x}\" b");
        assert!(toks[2].nl_before);
    }

    #[test]
    fn finds_docker_in_steps_of_every_form() {
        let ev = run(r#"pipeline {
  agent any
  stages {
    stage('b') {
      steps {
        sh 'docker build -t app .'
        sh "docker push ${IMAGE}"
        sh '''
          set -e
          docker login -u x -p y
          docker-compose up -d
        '''
        sh(script: 'docker images -q', returnStdout: true)
        sh(returnStatus: true, script: """
          docker rm -f old || true
        """)
        sh label: 'tag', script: 'docker tag a b'
        echo 'docker build not a step'
        // sh 'docker ps'
        /* sh 'docker info' */
        sh 'make test'
        bat 'docker version'
        powershell 'docker.exe build -t app:win .'
        bat '"C:\\Program Files\\Docker\\docker.exe" push app:win'
      }
    }
  }
}
"#);
        assert_eq!(
            lines_of(&ev, Subject::Command),
            vec![
                (6, "docker build -t app .".to_string()),
                (7, "docker push ${IMAGE}".to_string()),
                (10, "docker login -u x -p y".to_string()),
                (11, "docker-compose up -d".to_string()),
                (13, "docker images -q".to_string()),
                (15, "docker rm -f old".to_string()),
                (17, "docker tag a b".to_string()),
                (22, "docker version".to_string()),
                (23, "docker.exe build -t app:win .".to_string()),
                (24, "\"C:\\Program Files\\Docker\\docker.exe\" push app:win".to_string()),
            ]
        );
        let r = ev.records.iter().find(|r| r.location.line == Some(10)).expect("record");
        assert_eq!(r.location.column, Some(11));
        assert_eq!(r.str("source"), "jenkins");
        assert_eq!(r.str("subcommand"), "login");
        assert_eq!(r.get("agent_kubernetes").map(|v| v.display()), Some("false".into()));
    }

    #[test]
    fn steps_called_on_the_pipeline_object_in_library_classes() {
        // See: issue 12 (Jenkins shared-library classes).
        let ev = run(r#"package org.acme.build
class ImagePublisher implements Serializable {
    private final def script
    def steps
    ImagePublisher(script) { this.script = script; this.steps = script }
    void publish(String image) {
        script.sh "docker push ${image}"
        this.steps.sh(script: "docker tag ${image} ${image}-latest", returnStatus: true)
        steps.bat 'docker logout'
        def out = shell.sh('docker ps')
        deployer.sh "docker rm -f old"
    }
    def sh(String cmd) { "docker ${cmd}".execute() }
}
"#);
        assert_eq!(
            lines_of(&ev, Subject::Command),
            vec![
                (7, "docker push ${image}".to_string()),
                (8, "docker tag ${image} ${image}-latest".to_string()),
                (9, "docker logout".to_string()),
            ]
        );
    }

    #[test]
    fn finds_dsl_constructs_and_agents() {
        let ev = run(r#"pipeline {
  agent {
    docker {
      image 'maven:3'
    }
  }
  stages {
    stage('x') {
      agent { dockerfile true }
      steps {
        script {
          def img = docker.build("app:${BUILD_ID}")
          docker.withRegistry('https://r', 'cred') { img.push() }
          docker.image('node:18').inside('-u root') { sh 'npm test' }
          docker.image('mysql').withRun('-e X=1') { c -> sh 'true' }
          docker.image('busybox').pull()
          docker.build('x').push()
        }
      }
    }
  }
}
"#);
        assert_eq!(
            lines_of(&ev, Subject::Line),
            vec![
                (3, "agent { docker }".to_string()),
                (9, "agent { dockerfile }".to_string()),
                (12, "docker.build".to_string()),
                (13, "docker.withRegistry".to_string()),
                (14, "docker.image(...).inside".to_string()),
                (15, "docker.image(...).withRun".to_string()),
                (16, "docker.image".to_string()),
                (17, "docker.build".to_string()),
            ]
        );
        assert!(ev.records.iter().all(|r| r.str("file_kind") == "jenkinsfile"));
    }

    #[test]
    fn kubernetes_agents_pod_templates_and_embedded_yaml() {
        let text = r#"podTemplate(
  containers: [
    containerTemplate(name: 'docker', image: 'docker:19.03', command: 'cat', ttyEnabled: true),
    containerTemplate(image: 'docker:20.10-dind', name: 'dind', privileged: true)
  ],
  volumes: [hostPathVolume(mountPath: '/var/run/docker.sock', hostPath: '/var/run/docker.sock')]
) {
  node(POD_LABEL) {
    container('docker') {
      sh 'docker build .'
    }
  }
}
pipeline {
  agent {
    kubernetes {
      yaml '''
        apiVersion: v1
        kind: Pod
        spec:
          containers:
          - name: docker
            image: docker:24
            volumeMounts:
            - name: sock
              mountPath: /var/run/docker.sock
          volumes:
          - name: sock
            hostPath:
              path: /var/run/docker.sock
        '''
    }
  }
}
"#;
        let ev = run(text);
        let cmd = ev.records.iter().find(|r| r.subject == Subject::Command).expect("command");
        assert_eq!(cmd.location.line, Some(10));
        assert_eq!(cmd.get("agent_kubernetes").map(|v| v.display()), Some("true".into()));
        let vols = lines_of(&ev, Subject::Volume);
        assert_eq!(vols, vec![(6, "/run/docker.sock".to_string()), (30, "/run/docker.sock".to_string())]);
        let v = ev.records.iter().find(|r| r.subject == Subject::Volume).expect("volume");
        assert_eq!(v.str("volume"), "hostPathVolume");
        assert_eq!(v.str("raw_path"), "/var/run/docker.sock");
        assert_eq!(v.str("workload"), "Jenkins podTemplate in ci/Jenkinsfile");
        assert_eq!(v.get("pod_docker_cli").map(|v| v.display()), Some("true".into()));
        assert_eq!(v.get("images").map(|v| v.display()), Some("docker:19.03, docker:20.10-dind".into()));
        let containers: Vec<_> = ev.records.iter().filter(|r| r.subject == Subject::Container).collect();
        assert_eq!(containers.len(), 3);
        assert_eq!(containers[0].location.line, Some(3));
        assert_eq!(containers[1].get("dind").map(|v| v.display()), Some("true".into()));
        assert_eq!(containers[1].get("privileged").map(|v| v.display()), Some("true".into()));
        assert_eq!(containers[2].location.line, Some(23));
        assert_eq!(containers[2].str("file_kind"), "jenkinsfile");
    }

    #[test]
    fn embedded_yaml_through_a_variable_and_named_argument() {
        let text = "def podYaml = \"\"\"\nkind: Pod\nspec:\n  containers:\n  - name: c\n    image: alpine\n    command: ['sh', '-c', 'docker ps']\n\"\"\"\npodTemplate(yaml: podYaml) {\n  node(POD_LABEL) { sh 'ls' }\n}\n";
        let ev = run(text);
        let c = ev.records.iter().find(|r| r.subject == Subject::Command).expect("command from embedded pod");
        assert_eq!(c.location.line, Some(7));
        assert_eq!(c.str("source"), "container");
    }

    #[test]
    fn no_panics_on_broken_groovy() {
        for text in [
            "sh",
            "sh(",
            "sh '''docker ps",
            "docker.",
            "docker.image(",
            "agent {",
            "hostPathVolume(hostPath:",
            "containerTemplate(image: ",
            "yaml '''\n  a: [\n'''",
            "\"${\"",
            "sh \"docker ${'",
            "💥 sh 'docker ps' 💥",
        ] {
            let _ = run(text);
        }
        let ev = run("sh 'docker ps' // sh 'docker build'\n");
        assert_eq!(ev.records.len(), 1);
    }

    /// Deterministic pseudo-random Groovy-like inputs: no panic.
    #[test]
    fn generated_inputs_do_not_panic() {
        const PIECES: &[&str] = &[
            "sh",
            " ",
            "'",
            "'''",
            "\"",
            "\"\"\"",
            "(",
            ")",
            "{",
            "}",
            "[",
            "]",
            ":",
            ",",
            ".",
            "=",
            "\n",
            "\\",
            "${",
            "//",
            "/*",
            "*/",
            "docker",
            "image",
            "inside",
            "build",
            "agent",
            "kubernetes",
            "podTemplate",
            "yaml",
            "script",
            "hostPathVolume",
            "hostPath",
            "containerTemplate",
            "privileged",
            "true",
            "docker ps",
            "kind: Pod\n",
            "é",
            "💥",
        ];
        for_each_generated_text(0x2545_F491_4F6C_DD1D, 600, 50, PIECES, |text| {
            let _ = run(text);
            let _ = text::mask_groovy_comments(text);
        });
    }
}
