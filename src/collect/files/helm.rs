//! Helm charts: `values*.yaml` files and templates, analysed without running Helm.
//!
//! Place in the pipeline: file analysers (one text in, records out; no I/O, no rule logic). The
//! repository walker hands a chart's values files to [`Values`] first, then each template to
//! [`analyze_template`]. A template is turned into plain YAML line by line, keeping every line
//! number: action-only lines (`{{- if }}`, `{{ end }}`, `{{- include ... | nindent 4 }}`) become
//! blank, `{{ .Values.a.b }}` becomes the value from the chart's values and other inline actions a
//! placeholder. The result goes through the manifest analyser, so workload rules run on templates;
//! a record on a line whose value came from a values file is reported at that values line, with
//! the template line as related location, because that is where the setting is changed. A template
//! that is still not YAML is scanned as text for hostPath and `DOCKER_HOST` lines instead.
//!
//! The body of each `{{ define }}` (helpers in `_*.tpl`) is analysed on its own, at its own lines,
//! wrapped into a Pod when it is a pod spec, a container, or a container/volume/env list (workload
//! `template PATH (define NAME)`). A `toYaml` of a values list written next to literal items of
//! the same list, and the body of `range .Values.x`, are analysed once per item of the list.

use std::collections::HashMap;

use serde_json::{Map, Value as Json};

use super::manifest;
use super::source::Source;
use crate::evidence::file_kind::FileKind;
use crate::evidence::workload::{is_docker_socket, normalize_host_path};
use crate::evidence::{Evidence, Location, Record, Related, Subject};
use crate::parse::yaml;

/// What an inline template action that cannot be resolved becomes.
pub const PLACEHOLDER: &str = "HELM-TEMPLATE";

/// Where a value of the chart's values is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueOrigin {
    /// The values file (as passed to [`Values::add_file`]).
    pub path: String,
    /// 1-based line of the key.
    pub line: u32,
    /// 1-based column of the key.
    pub column: u32,
    /// The line's text, trimmed.
    pub snippet: String,
}

#[derive(Debug)]
struct ValuesFile {
    path: String,
    value: Json,
    origins: Vec<(String, ValueOrigin)>,
}

/// A chart's values, for resolving `.Values.a.b` in templates: the merged values and, per dotted
/// key path (`dockerSocket.hostPath`, `volumes[0].hostPath.path`), the file and line that set it.
/// `values.yaml` is merged first, then the other values files by path; later files override.
#[derive(Debug, Default)]
pub struct Values {
    files: Vec<ValuesFile>,
    merged: Map<String, Json>,
    origins: HashMap<String, ValueOrigin>,
}

fn join_key(parent: &str, key: &str) -> String {
    if parent.is_empty() { key.to_string() } else { format!("{parent}.{key}") }
}

/// Each node of a document with its dotted path and position.
fn walk_nodes(value: &Json, ptr: &str, dotted: &str, f: &mut dyn FnMut(&str, &str, &Json)) {
    match value {
        Json::Object(map) => {
            for (k, v) in map {
                let p = format!("{ptr}/{}", yaml::pointer_token(k));
                let d = join_key(dotted, k);
                f(&p, &d, v);
                walk_nodes(v, &p, &d, f);
            }
        }
        Json::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let p = format!("{ptr}/{i}");
                let d = format!("{dotted}[{i}]");
                f(&p, &d, v);
                walk_nodes(v, &p, &d, f);
            }
        }
        _ => {}
    }
}

/// Helm's coalescing: maps merge key by key, `null` deletes, anything else replaces.
fn merge_into(dst: &mut Map<String, Json>, src: &Map<String, Json>) {
    for (k, v) in src {
        match (dst.get_mut(k), v) {
            (_, Json::Null) => {
                dst.remove(k);
            }
            (Some(Json::Object(d)), Json::Object(s)) => merge_into(d, s),
            _ => {
                dst.insert(k.clone(), v.clone());
            }
        }
    }
}

fn values_rank(path: &str) -> u8 {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    u8::from(!(name == "values.yaml" || name == "values.yml"))
}

impl Values {
    /// Adds a values file. A file that is not YAML adds nothing (its own analysis reports the gap).
    pub fn add_file(&mut self, path: &str, text: &str) {
        let Ok(docs) = yaml::parse_documents(text) else { return };
        let lines: Vec<&str> = text.lines().collect();
        let mut value = Map::new();
        let mut origins = Vec::new();
        for doc in &docs {
            let Some(map) = doc.value.as_object() else { continue };
            merge_into(&mut value, map);
            walk_nodes(&doc.value, "", "", &mut |p, d, _| {
                let pos = doc.pos(p);
                let snippet = lines.get(pos.line.saturating_sub(1) as usize).map_or("", |l| l.trim()).to_string();
                origins.push((
                    d.to_string(),
                    ValueOrigin { path: path.to_string(), line: pos.line, column: pos.column, snippet },
                ));
            });
        }
        self.files.push(ValuesFile { path: path.to_string(), value: Json::Object(value), origins });
        self.rebuild();
    }

    fn rebuild(&mut self) {
        let mut order: Vec<usize> = (0..self.files.len()).collect();
        order.sort_by(|a, b| {
            let (fa, fb) = (&self.files[*a], &self.files[*b]);
            (values_rank(&fa.path), &fa.path).cmp(&(values_rank(&fb.path), &fb.path))
        });
        self.merged = Map::new();
        self.origins.clear();
        for i in order {
            let f = &self.files[i];
            if let Json::Object(m) = &f.value {
                merge_into(&mut self.merged, m);
            }
            for (k, o) in &f.origins {
                self.origins.insert(k.clone(), o.clone());
            }
        }
    }

    /// The merged value at a dotted path (`""` is the whole values tree).
    pub fn get(&self, dotted: &str) -> Option<&Json> {
        if dotted.is_empty() {
            return None;
        }
        // `a.b[1].c`: a key may carry list indices.
        fn step<'v>(cur: &'v Json, part: &str) -> Option<&'v Json> {
            let (key, indices) = part.split_once('[').map_or((part, ""), |(k, rest)| (k, rest));
            let mut cur = if key.is_empty() { cur } else { cur.as_object()?.get(key)? };
            for idx in indices.split('[').filter(|i| !i.is_empty()) {
                cur = cur.as_array()?.get(idx.strip_suffix(']')?.parse::<usize>().ok()?)?;
            }
            Some(cur)
        }
        let mut parts = dotted.split('.');
        let first = parts.next()?;
        let (key, _) = first.split_once('[').unwrap_or((first, ""));
        let mut cur = step(self.merged.get(key)?, first.strip_prefix(key)?)?;
        for p in parts {
            cur = step(cur, p)?;
        }
        Some(cur)
    }

    /// Where the value at a dotted path is set.
    pub fn origin(&self, dotted: &str) -> Option<&ValueOrigin> {
        self.origins.get(dotted)
    }

    /// The origin of a scalar under `dotted` whose text is one of `wanted`, else of `dotted` itself.
    fn origin_within(&self, dotted: &str, wanted: &[&str]) -> Option<&ValueOrigin> {
        fn find(v: &Json, path: &str, wanted: &[&str], out: &mut Option<String>) {
            if out.is_some() {
                return;
            }
            match v {
                Json::Object(m) => m.iter().for_each(|(k, c)| find(c, &join_key(path, k), wanted, out)),
                Json::Array(a) => a.iter().enumerate().for_each(|(i, c)| find(c, &format!("{path}[{i}]"), wanted, out)),
                other => {
                    // A multi-line PromQL string is compared with its words joined by single blanks.
                    let same = |s: &str, w: &str| {
                        s == w || (s.contains('\n') && s.split_whitespace().eq(w.split_whitespace()))
                    };
                    if manifest::scalar_text(other).is_some_and(|s| !s.is_empty() && wanted.iter().any(|w| same(&s, w)))
                    {
                        *out = Some(path.to_string());
                    }
                }
            }
        }
        let mut hit = None;
        if let Some(v) = self.get(dotted) {
            find(v, dotted, wanted, &mut hit);
        }
        hit.and_then(|p| self.origin(&p)).or_else(|| self.origin(dotted))
    }
}

/// A values file: one `setting` record per scalar leaf, `key` = dotted path, at its line. Charts
/// of log collectors carry their configuration in values, so multi-line strings that are a
/// fluent-bit, fluentd, Prometheus rule, dashboard or shipper YAML text (as a ConfigMap value
/// would be recognised) are analysed as that kind at their lines, and promtail chart
/// `pipelineStages` lists give promtail stage records.
pub fn analyze_values(src: &Source<'_>, out: &mut Evidence) {
    let Some(docs) = src.yaml_documents(out) else { return };
    for doc in &docs {
        let mut embedded: Vec<(String, String)> = Vec::new(); // pointer, last key
        let mut stages: Vec<(String, String)> = Vec::new(); // pointer, dotted
        let mut rule_maps: Vec<String> = Vec::new(); // pointers of PrometheusRule-shaped maps
        walk_nodes(&doc.value, "", "", &mut |p, d, v| {
            let last = p.rsplit('/').next().unwrap_or("").replace("~1", "/").replace("~0", "~");
            // PrometheusRule groups held in values (kube-prometheus-stack's
            // additionalPrometheusRulesMap, a chart's own `prometheusRule:`): `groups[].rules[]`.
            if v.pointer("/groups/0/rules").is_some_and(Json::is_array) {
                rule_maps.push(p.to_string());
            }
            if let Json::String(s) = v
                && s.contains('\n')
            {
                embedded.push((p.to_string(), last.clone()));
            }
            if v.is_array() && matches!(last.as_str(), "pipelineStages" | "pipeline_stages") {
                stages.push((p.to_string(), d.to_string()));
            }
            let Some(text) = manifest::scalar_text(v) else { return };
            let pos = doc.pos(p);
            out.records.push(
                src.record(Subject::Setting, pos.line, pos.column).with("key", d.to_string()).with("value", text),
            );
        });
        for p in rule_maps {
            if let Some(v) = doc.value.pointer(&p) {
                super::metrics::rule_groups(&src.embedded_kind(FileKind::PrometheusRule), doc, v, &p, out);
            }
        }
        for (p, key) in embedded {
            let Some(text) = doc.value.pointer(&p).and_then(Json::as_str) else { continue };
            let Some(kind) = manifest::sniff(&key, text) else { continue };
            let Some(span) = doc.span(&p) else { continue };
            let at = span.value;
            let block = src
                .line(at.line)
                .chars()
                .nth(at.column.saturating_sub(1) as usize)
                .is_some_and(|c| c == '|' || c == '>');
            // A block scalar's text starts on the line after the indicator; a quoted multi-line
            // string has no line-for-line mapping, so its findings point at the string.
            let mut sub = Evidence::default();
            src.embedded(kind, text, if block { at.line } else { 0 }).analyze(&mut sub);
            if !block {
                for r in &mut sub.records {
                    r.location = src.loc(at.line, at.column);
                    r.snippet = src.line(at.line).trim().to_string();
                }
            }
            out.merge(sub);
        }
        let promtail = src.embedded_kind(FileKind::Promtail);
        for (p, dotted) in stages {
            for (i, stage) in doc.value.pointer(&p).and_then(Json::as_array).into_iter().flatten().enumerate() {
                for (name, cfg) in stage.as_object().into_iter().flatten() {
                    let pos = doc.pos(&format!("{p}/{i}/{}", yaml::pointer_token(name)));
                    let value = match cfg {
                        Json::Null => "{}".to_string(),
                        Json::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    out.records.push(
                        promtail
                            .record(Subject::Line, pos.line, pos.column)
                            .with("collector", "promtail")
                            .with("section", dotted.clone())
                            .with("key", name.clone())
                            .with("value", value),
                    );
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Template preprocessing

/// A piece of template text: literal text or one `{{ ... }}` action.
enum Segment<'t> {
    Text(&'t str),
    Action { raw: &'t str, inner: &'t str },
}

/// Splits a template into text and actions. An unterminated action is left as text.
fn lex(text: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(found) = text[pos..].find("{{") {
        let start = pos + found;
        if start > pos {
            out.push(Segment::Text(&text[pos..start]));
        }
        let Some(end) = action_end(text, start + 2) else {
            out.push(Segment::Text(&text[start..]));
            return out;
        };
        let raw = &text[start..end];
        let mut inner = &raw[2..raw.len() - 2];
        if let Some(rest) = inner.strip_prefix('-')
            && rest.starts_with(char::is_whitespace)
        {
            inner = rest;
        }
        if let Some(rest) = inner.strip_suffix('-')
            && rest.ends_with(char::is_whitespace)
        {
            inner = rest;
        }
        out.push(Segment::Action { raw, inner: inner.trim() });
        pos = end;
    }
    if pos < text.len() {
        out.push(Segment::Text(&text[pos..]));
    }
    out
}

/// The byte offset just after the `}}` closing an action whose body starts at `from`.
fn action_end(text: &str, from: usize) -> Option<usize> {
    let b = text.as_bytes();
    let body = text[from..].trim_start_matches('-').trim_start();
    if body.starts_with("/*") {
        let close = text[from..].find("*/")? + from + 2;
        return text[close..].find("}}").map(|i| close + i + 2);
    }
    let mut i = from;
    while i + 1 < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'`' => {
                i += 1;
                while i < b.len() && b[i] != b'`' {
                    i += 1;
                }
                i += 1;
            }
            b'}' if b[i + 1] == b'}' => return Some(i + 2),
            _ => i += 1,
        }
    }
    None
}

/// Splits on `sep` outside quotes; `None` when parentheses make it more than a simple pipeline.
fn split_outside_quotes(s: &str, sep: char) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in s.chars() {
        if let Some(q) = quote {
            cur.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' && q == '"' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '`' => {
                quote = Some(c);
                cur.push(c);
            }
            '(' | ')' => return None,
            c if c == sep || (sep == ' ' && c.is_whitespace()) => {
                if !cur.trim().is_empty() {
                    parts.push(cur.trim().to_string());
                }
                cur.clear();
            }
            c => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        parts.push(cur.trim().to_string());
    }
    Some(parts)
}

/// Block structure and the dot (`.`) in effect.
#[derive(Debug, Clone)]
enum Block {
    If,
    /// `with .Values.x`: the dot is that value (`None` when it is not a values path).
    With(Option<String>),
    /// `range` (index in [`Lexed::ranges`] when it ranges over a values list).
    Range(Option<usize>),
    /// A `define`/`block` body (index of the define in the template).
    Define(usize),
}

fn action_word(inner: &str) -> &str {
    inner.split(|c: char| c.is_whitespace() || c == '(').next().unwrap_or("")
}

fn is_control(inner: &str) -> bool {
    if inner.starts_with("/*") {
        return true;
    }
    let word = action_word(inner);
    if matches!(word, "if" | "else" | "end" | "with" | "range" | "define" | "block" | "break" | "continue") {
        return true;
    }
    // `$x := ...` / `$x = ...`
    let mut it = inner.split_whitespace();
    matches!((it.next(), it.next()), (Some(_), Some(":=" | "="))) && word.starts_with('$')
}

/// The dotted values path a reference names in the current scope.
fn values_ref(token: &str, scope: Option<Option<&str>>) -> Option<String> {
    for prefix in ["$.Values", ".Values"] {
        if let Some(rest) = token.strip_prefix(prefix) {
            if rest.is_empty() {
                return Some(String::new());
            }
            return rest.strip_prefix('.').filter(|r| !r.is_empty() && !r.contains("..")).map(str::to_string);
        }
    }
    // Inside `with .Values.x`, `.` and `.a.b` are relative to x.
    if let Some(Some(base)) = scope {
        if token == "." {
            return Some(base.to_string());
        }
        if let Some(rest) = token.strip_prefix('.')
            && !rest.is_empty()
            && rest.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.')
            && !rest.contains("..")
        {
            return Some(join_key(base, rest));
        }
    }
    None
}

fn literal(token: &str) -> Option<String> {
    if token.starts_with('"') {
        return serde_json::from_str::<String>(token).ok();
    }
    if token.starts_with('`') && token.ends_with('`') && token.len() >= 2 {
        return Some(token[1..token.len() - 1].to_string());
    }
    if token.parse::<f64>().is_ok() || token == "true" || token == "false" {
        return Some(token.to_string());
    }
    None
}

fn is_empty_value(v: Option<&Json>) -> bool {
    match v {
        None | Some(Json::Null) => true,
        Some(Json::String(s)) => s.is_empty(),
        Some(Json::Bool(b)) => !b,
        Some(Json::Number(n)) => n.as_f64() == Some(0.0),
        Some(Json::Array(a)) => a.is_empty(),
        Some(Json::Object(m)) => m.is_empty(),
    }
}

/// What an output action evaluates to, as far as can be told without Helm.
#[derive(Debug, Clone, PartialEq)]
enum Resolved {
    /// A scalar, already formatted for the YAML text; `dotted` when it came from the values.
    Scalar {
        text: String,
        dotted: Option<String>,
    },
    /// `toYaml` of a values subtree (`| nindent N`).
    Subtree {
        dotted: String,
        value: Json,
    },
    Unresolved,
}

fn resolve(inner: &str, values: Option<&Values>, scope: Option<Option<&str>>) -> Resolved {
    let Some(values) = values else { return Resolved::Unresolved };
    let Some(commands) = split_outside_quotes(inner, '|') else { return Resolved::Unresolved };
    let mut commands = commands.into_iter().map(|c| split_outside_quotes(&c, ' ').unwrap_or_default());
    let Some(first) = commands.next() else { return Resolved::Unresolved };
    let mut to_yaml = false;
    let mut quote: Option<char> = None;
    let mut default: Option<String> = None;
    let dotted = match first.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [r] => values_ref(r, scope),
        ["default", d, r] => {
            default = literal(d);
            if default.is_none() {
                return Resolved::Unresolved;
            }
            values_ref(r, scope)
        }
        ["quote", r] => {
            quote = Some('"');
            values_ref(r, scope)
        }
        ["squote", r] => {
            quote = Some('\'');
            values_ref(r, scope)
        }
        ["toString", r] => values_ref(r, scope),
        ["toYaml", r] => {
            to_yaml = true;
            values_ref(r, scope)
        }
        _ => None,
    };
    let Some(dotted) = dotted else { return Resolved::Unresolved };
    let mut case: Option<bool> = None;
    let mut trim = false;
    for cmd in commands {
        match cmd.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
            ["quote"] => quote = Some('"'),
            ["squote"] => quote = Some('\''),
            ["toString"] => {}
            ["trim"] => trim = true,
            ["lower"] => case = Some(false),
            ["upper"] => case = Some(true),
            ["default", d] => match literal(d) {
                Some(d) => default = Some(d),
                None => return Resolved::Unresolved,
            },
            ["toYaml"] => to_yaml = true,
            ["nindent" | "indent", n] if to_yaml && n.parse::<u32>().is_ok() => {}
            _ => return Resolved::Unresolved,
        }
    }
    let value = values.get(&dotted);
    if to_yaml {
        return match value {
            Some(v @ (Json::Object(_) | Json::Array(_))) if !is_empty_value(Some(v)) => {
                Resolved::Subtree { dotted, value: v.clone() }
            }
            _ => Resolved::Unresolved,
        };
    }
    let (mut text, from_values) = match (value.and_then(manifest::scalar_text), default) {
        (Some(_), Some(d)) if is_empty_value(value) => (d, false),
        (Some(t), _) => (t, true),
        (None, Some(d)) if is_empty_value(value) => (d, false),
        _ => return Resolved::Unresolved,
    };
    if trim {
        text = text.trim().to_string();
    }
    match case {
        Some(true) => text = text.to_uppercase(),
        Some(false) => text = text.to_lowercase(),
        None => {}
    }
    if text.contains('\n') || text.contains('\r') {
        return Resolved::Unresolved;
    }
    let text = match quote {
        Some('"') => serde_json::to_string(&text).unwrap_or_else(|_| format!("\"{PLACEHOLDER}\"")),
        Some(_) => format!("'{}'", text.replace('\'', "''")),
        None => text,
    };
    Resolved::Scalar { text, dotted: from_values.then_some(dotted) }
}

/// A template variable's field with a literal default (`$dind.image | default "docker:dind" |
/// quote`): the variable is computed in the template, so the chart's default is the best guess.
fn variable_default(inner: &str) -> Option<String> {
    let commands = split_outside_quotes(inner, '|')?;
    let mut commands = commands.iter().map(|c| split_outside_quotes(c, ' ').unwrap_or_default());
    let is_var = |t: &str| t.starts_with('$') && !t.starts_with("$.");
    let mut value = match commands.next()?.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["default", d, v] if is_var(v) => literal(d),
        [v] if is_var(v) => None,
        _ => return None,
    };
    let mut quote = None;
    for cmd in commands {
        match cmd.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
            ["default", d] if value.is_none() => value = literal(d),
            ["quote"] => quote = Some('"'),
            ["squote"] => quote = Some('\''),
            _ => return None,
        }
    }
    let value = value.filter(|v| !v.is_empty() && !v.contains('\n'))?;
    Some(match quote {
        Some('"') => serde_json::to_string(&value).ok()?,
        Some(_) => format!("'{}'", value.replace('\'', "''")),
        None => value,
    })
}

/// Built-in objects whose value is known well enough to name things: `.Chart.Name` and the
/// chart's `name`/`fullname` helpers give the chart's directory name, `.Release.Name` Helm's
/// `release-name`, `.Release.Namespace` nothing (so objects carry no made-up namespace).
fn builtin(inner: &str, chart: Option<&str>) -> Option<String> {
    let commands = split_outside_quotes(inner, '|')?;
    let mut commands = commands.iter().map(|c| split_outside_quotes(c, ' ').unwrap_or_default());
    let first = commands.next()?;
    let value = match first.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [".Chart.Name" | "$.Chart.Name"] => chart?.to_string(),
        ["include" | "template", name, "." | "$"] if name.ends_with(".fullname\"") || name.ends_with(".name\"") => {
            chart?.to_string()
        }
        [".Release.Name" | "$.Release.Name"] => "release-name".to_string(),
        [".Release.Namespace" | "$.Release.Namespace"] => String::new(),
        _ => return None,
    };
    let mut quoted = false;
    for cmd in commands {
        match cmd.first().map(String::as_str) {
            Some("quote") => quoted = true,
            Some("trunc" | "trimSuffix" | "lower" | "toString") => {}
            _ => return None,
        }
    }
    Some(if quoted { format!("\"{value}\"") } else { value })
}

/// The chart directory of a template path (`charts/agent/templates/ds.yaml` -> `agent`).
fn chart_name(path: &str) -> Option<&str> {
    let (before, _) = path.rsplit_once("templates/")?;
    let name = before.trim_end_matches('/').rsplit('/').next()?;
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
        .then_some(name)
}

/// A values reference substituted on a template line.
#[derive(Debug, Clone)]
struct Substitution {
    /// 1-based column of the action in the template line.
    column: u32,
    /// The action as written.
    action: String,
    /// Dotted values path.
    dotted: String,
    /// The substituted scalar text (unquoted), or `None` for a `toYaml` subtree.
    scalar: Option<String>,
}

/// The template as YAML text with the same lines, and what was substituted where.
struct Preprocessed {
    lines: Vec<String>,
    /// Lines holding a `toYaml` subtree written as flow JSON (blanked on the retry).
    flow_lines: Vec<usize>,
    /// 0-based line -> substitutions.
    subs: HashMap<usize, Vec<Substitution>>,
    /// `toYaml` lists written next to literal items of the same list.
    splices: Vec<Splice>,
}

/// A values list appended to (or put before) literal items of a list: `{{- toYaml .Values.x |
/// nindent N }}` after `- name: a` at indent N.
#[derive(Debug, Clone)]
struct Splice {
    /// 0-based template line of the action.
    line: usize,
    /// The list's item indent.
    indent: usize,
    items: Vec<Json>,
    sub: Substitution,
}

enum Piece {
    Text(String),
    Act {
        inner: String,
        raw: String,
        column: u32,
        scope: Option<Option<String>>,
        control: bool,
        /// The values `range` whose item is the dot here.
        range: Option<usize>,
    },
}

/// The `range` over a values list whose item is the dot at the top of the stack.
fn current_range(stack: &[Block]) -> Option<usize> {
    match stack.iter().rev().find(|b| !matches!(b, Block::If))? {
        Block::Range(r) => *r,
        _ => None,
    }
}

/// A `range .Values.x` block: the list and the 0-based lines of its `range` and `end` actions.
struct RangeBlock {
    dotted: String,
    start: usize,
    end: usize,
}

fn current_scope(stack: &[Block]) -> Option<Option<String>> {
    for b in stack.iter().rev() {
        match b {
            Block::If => continue,
            Block::With(p) => return Some(p.clone()),
            Block::Range(_) | Block::Define(_) => return Some(None),
        }
    }
    None
}

fn scope_ref(s: &Option<Option<String>>) -> Option<Option<&str>> {
    s.as_ref().map(|inner| inner.as_deref())
}

fn indent_of(line: &str) -> usize {
    line.chars().take_while(|c| *c == ' ' || *c == '\t').count()
}

/// The column where the value of a bare `key:` line (possibly `- key:`) would be indented from.
fn bare_key_indent(line: &str) -> Option<usize> {
    let t = line.trim();
    if t.is_empty() || t.starts_with('#') || !t.ends_with(':') || t == "-" {
        return None;
    }
    let body = t.strip_prefix("- ").unwrap_or(t);
    if body.contains(": ") || body.starts_with('{') || body.starts_with('[') {
        return None;
    }
    Some(indent_of(line) + if t.starts_with("- ") { 2 } else { 0 })
}

/// The template cut into lines of pieces, with the `define` each line belongs to.
struct Lexed {
    lines: Vec<Vec<Piece>>,
    /// Per line: the index in `defines` of the `define`/`block` body holding it.
    define_of: Vec<Option<usize>>,
    /// Per line: the continuation of a multi-line action (always blank).
    continuation: Vec<bool>,
    /// Each `define`/`block`: its name and the 0-based line of its action.
    defines: Vec<(String, usize)>,
    ranges: Vec<RangeBlock>,
}

fn innermost_define(stack: &[Block]) -> Option<usize> {
    stack.iter().rev().find_map(|b| if let Block::Define(d) = b { Some(*d) } else { None })
}

fn lex_lines(text: &str) -> Lexed {
    let mut lines: Vec<Vec<Piece>> = vec![Vec::new()];
    let mut define_of: Vec<Option<usize>> = vec![None];
    let mut continuation: Vec<bool> = vec![false];
    let mut defines: Vec<(String, usize)> = Vec::new();
    let mut ranges: Vec<RangeBlock> = Vec::new();
    let mut stack: Vec<Block> = Vec::new();
    let mut col: u32 = 1;
    for seg in lex(text) {
        match seg {
            Segment::Text(t) => {
                for (j, part) in t.split('\n').enumerate() {
                    if j > 0 {
                        lines.push(Vec::new());
                        define_of.push(None);
                        continuation.push(false);
                        col = 1;
                    }
                    if !part.is_empty() {
                        if let Some(d) = innermost_define(&stack)
                            && !part.trim().is_empty()
                            && let Some(slot) = define_of.last_mut()
                        {
                            *slot = Some(d);
                        }
                        col += part.chars().count() as u32;
                        if let Some(l) = lines.last_mut() {
                            l.push(Piece::Text(part.to_string()));
                        }
                    }
                }
            }
            Segment::Action { raw, inner } => {
                let control = is_control(inner);
                let scope = current_scope(&stack);
                if let Some(l) = lines.last_mut() {
                    l.push(Piece::Act {
                        inner: inner.to_string(),
                        raw: raw.to_string(),
                        column: col,
                        scope,
                        control,
                        range: current_range(&stack),
                    });
                }
                if let Some(d) = innermost_define(&stack)
                    && let Some(slot) = define_of.last_mut()
                {
                    *slot = Some(d);
                }
                match action_word(inner) {
                    "if" => stack.push(Block::If),
                    "with" => {
                        let arg = inner["with".len()..].trim();
                        let s = current_scope(&stack);
                        let path = split_outside_quotes(arg, ' ')
                            .and_then(|t| if t.len() == 1 { values_ref(&t[0], scope_ref(&s)) } else { None });
                        stack.push(Block::With(path.filter(|p| !p.is_empty())));
                    }
                    "range" => {
                        let s = current_scope(&stack);
                        let path = split_outside_quotes(inner["range".len()..].trim(), ' ')
                            .and_then(|t| if t.len() == 1 { values_ref(&t[0], scope_ref(&s)) } else { None })
                            .filter(|p| !p.is_empty());
                        let id = path.map(|dotted| {
                            ranges.push(RangeBlock { dotted, start: lines.len() - 1, end: usize::MAX });
                            ranges.len() - 1
                        });
                        stack.push(Block::Range(id));
                    }
                    word @ ("define" | "block") => {
                        let name = split_outside_quotes(inner[word.len()..].trim(), ' ')
                            .and_then(|t| t.first().and_then(|n| literal(n)))
                            .unwrap_or_default();
                        defines.push((name, lines.len() - 1));
                        stack.push(Block::Define(defines.len() - 1));
                    }
                    "end" => {
                        if let Some(Block::Range(Some(id))) = stack.pop()
                            && let Some(r) = ranges.get_mut(id)
                        {
                            r.end = lines.len() - 1;
                        }
                    }
                    _ => {}
                }
                let newlines = raw.matches('\n').count();
                for _ in 0..newlines {
                    lines.push(Vec::new());
                    define_of.push(innermost_define(&stack));
                    continuation.push(true); // continuation of a multi-line action: blank
                }
                col = match raw.rfind('\n') {
                    Some(i) => raw[i + 1..].chars().count() as u32 + 1,
                    None => col + raw.chars().count() as u32,
                };
            }
        }
    }
    Lexed { lines, define_of, continuation, defines, ranges }
}

/// The `N` of a trailing `| nindent N` or `| indent N`.
fn indent_arg(inner: &str) -> Option<usize> {
    let commands = split_outside_quotes(inner, '|')?;
    let last = split_outside_quotes(commands.last()?, ' ')?;
    match last.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["nindent" | "indent", n] => n.parse().ok(),
        _ => None,
    }
}

/// The main body of the template (outside `define`s), as YAML text with the same lines.
#[cfg(test)]
fn preprocess(text: &str, values: Option<&Values>, chart: Option<&str>) -> Preprocessed {
    let lexed = lex_lines(text);
    render(&lexed, None, values, chart, None)
}

/// Writes out the lines of one view of the template: the main body (`define_index` `None`) or
/// the body of one `define`; every other line is blank, so line numbers stay those of the file.
/// With `item` `(range, k)`, the dot inside that values `range` is item `k` of its list.
fn render(
    lexed: &Lexed,
    define_index: Option<usize>,
    values: Option<&Values>,
    chart: Option<&str>,
    item: Option<(usize, usize)>,
) -> Preprocessed {
    let item_scope = item.and_then(|(r, k)| lexed.ranges.get(r).map(|b| (r, Some(format!("{}[{k}]", b.dotted)))));
    let scope_of = |scope: &Option<Option<String>>, range: &Option<usize>| -> Option<Option<String>> {
        match (&item_scope, range) {
            (Some((r, s)), Some(id)) if r == id => Some(s.clone()),
            _ => scope.clone(),
        }
    };
    let lines = &lexed.lines;
    let mut out_lines: Vec<String> = Vec::with_capacity(lines.len());
    let mut subs: HashMap<usize, Vec<Substitution>> = HashMap::new();
    // toYaml candidates: line, bare key indent above (if any), nindent, value, substitution
    struct Candidate {
        line: usize,
        key_indent: Option<usize>,
        nindent: Option<usize>,
        value: Json,
        sub: Substitution,
    }
    let mut candidates: Vec<Candidate> = Vec::new();
    for (i, pieces) in lines.iter().enumerate() {
        let included = lexed.define_of.get(i).copied().flatten() == define_index
            && !lexed.continuation.get(i).copied().unwrap_or(false);
        if !included {
            out_lines.push(String::new());
            continue;
        }
        let has_action = pieces.iter().any(|p| matches!(p, Piece::Act { .. }));
        let has_text = pieces.iter().any(|p| matches!(p, Piece::Text(t) if !t.trim().is_empty()));
        if !has_action {
            out_lines.push(pieces.iter().map(|p| if let Piece::Text(t) = p { t.as_str() } else { "" }).collect());
            continue;
        }
        if !has_text {
            // Only actions: blank, unless it is `toYaml .Values.x | nindent N` under a bare key or
            // next to items of the list it extends.
            let outputs: Vec<&Piece> =
                pieces.iter().filter(|p| matches!(p, Piece::Act { control: false, .. })).collect();
            if let [Piece::Act { inner, raw, column, scope, range, .. }] = outputs.as_slice()
                && let Resolved::Subtree { dotted, value } = resolve(inner, values, scope_ref(&scope_of(scope, range)))
            {
                let key_indent = out_lines.iter().rev().find(|l| !l.trim().is_empty()).and_then(|l| bare_key_indent(l));
                let sub = Substitution { column: *column, action: raw.clone(), dotted, scalar: None };
                candidates.push(Candidate { line: i, key_indent, nindent: indent_arg(inner), value, sub });
            }
            out_lines.push(String::new());
            continue;
        }
        let mut line = String::new();
        for p in pieces {
            match p {
                Piece::Text(t) => line.push_str(t),
                Piece::Act { control: true, .. } => {}
                Piece::Act { inner, raw, column, scope, range, .. } => {
                    match resolve(inner, values, scope_ref(&scope_of(scope, range))) {
                        Resolved::Scalar { text, dotted } => {
                            if let Some(dotted) = dotted {
                                let plain = values.and_then(|v| v.get(&dotted)).and_then(manifest::scalar_text);
                                subs.entry(i).or_default().push(Substitution {
                                    column: *column,
                                    action: raw.clone(),
                                    dotted,
                                    scalar: plain,
                                });
                            }
                            line.push_str(&text);
                        }
                        _ => line.push_str(
                            builtin(inner, chart).or_else(|| variable_default(inner)).as_deref().unwrap_or(PLACEHOLDER),
                        ),
                    }
                }
            }
        }
        out_lines.push(line);
    }
    // Write a toYaml subtree as one flow-JSON line only when nothing else continues the key's value.
    // A list written next to literal items of the same list (`- ` at its `nindent`) is a splice:
    // its items are analysed one by one in the place of that line.
    let mut flow_lines = Vec::new();
    let mut splices = Vec::new();
    let candidate_lines: Vec<usize> = candidates.iter().map(|c| c.line).collect();
    for c in candidates {
        let i = c.line;
        let next = out_lines
            .iter()
            .enumerate()
            .skip(i + 1)
            .find(|(j, l)| !l.trim().is_empty() && !candidate_lines.contains(j))
            .map(|(_, l)| l.as_str());
        if let Some(key_indent) = c.key_indent {
            let continues = next.is_some_and(|l| {
                indent_of(l) > key_indent || l.trim_start().starts_with("- ") && indent_of(l) == key_indent
            });
            if !continues {
                out_lines[i] = format!("{}{}", " ".repeat(key_indent + 2), c.value);
                flow_lines.push(i);
                subs.entry(i).or_default().push(c.sub);
                continue;
            }
        }
        let (Some(n), Json::Array(items)) = (c.nindent, &c.value) else { continue };
        let is_item = |l: &str| indent_of(l) == n && (l.trim_start().starts_with("- ") || l.trim() == "-");
        let prev = out_lines[..i].iter().rev().find(|l| !l.trim().is_empty() && indent_of(l) <= n).map(String::as_str);
        let sibling = prev.is_some_and(is_item) && c.key_indent.is_none()
            || next.is_some_and(|l| indent_of(l) <= n && is_item(l));
        if sibling {
            splices.push(Splice { line: i, indent: n, items: items.clone(), sub: c.sub });
        }
    }
    Preprocessed { lines: out_lines, flow_lines, subs, splices }
}

// ---------------------------------------------------------------------------------------------
// Template analysis

/// A template: preprocessed into YAML and analysed like a manifest; records on lines whose value
/// came from a values file are moved to that file's line, with the template line as related
/// location. A template that is still not YAML is scanned as text (counted as
/// `helm_templates_text_mode`, never a gap).
pub fn analyze_template(src: &Source<'_>, values: Option<&Values>, out: &mut Evidence) {
    let chart = chart_name(src.path);
    let lexed = lex_lines(src.text);
    let mut pre = render(&lexed, None, values, chart, None);
    let (text, parsed) = parse_view(&mut pre);
    let pre_src = Source { text: &text, ..src.clone() };
    let mut sub = Evidence::default();
    match parsed {
        Ok(docs) => {
            for doc in &docs {
                manifest::analyze_doc(&pre_src, doc, &mut sub);
            }
            for mut r in splice_records(src, &pre.lines, &pre.splices, 0, 0) {
                let local = r.location.line.unwrap_or(0).saturating_sub(src.line_offset);
                r.snippet = src.line(local).trim().to_string();
                sub.records.push(r);
            }
            for s in &pre.splices {
                pre.subs.entry(s.line).or_default().push(s.sub.clone());
            }
            range_records(src, &lexed, values, chart, &mut sub.records);
        }
        Err(_) => {
            out.count("helm_templates_text_mode", 1);
            text_mode(&pre_src, &format!("template {}", src.path), &mut sub.records);
        }
    }
    relocate(src, &pre, values, &mut sub.records);
    out.merge(sub);
    for (d, (name, line)) in lexed.defines.iter().enumerate() {
        let mut view = render(&lexed, Some(d), values, chart, None);
        if view.lines.iter().all(|l| l.trim().is_empty()) {
            continue;
        }
        let mut sub = Evidence::default();
        analyze_define(src, name, *line, &mut view, &mut sub);
        relocate(src, &view, values, &mut sub.records);
        out.count("helm_defines_analyzed", 1);
        out.merge(sub);
    }
}

/// Most items of one values `range` analysed (each costs a parse of the template).
const MAX_RANGE_ITEMS: usize = 32;

/// The body of each `range .Values.x` outside defines, rendered once per item of the list with the
/// dot set to that item: the records on the body's lines replace those of the main pass (where
/// the item's fields were placeholders), relocated to the values lines.
fn range_records(
    src: &Source<'_>,
    lexed: &Lexed,
    values: Option<&Values>,
    chart: Option<&str>,
    records: &mut Vec<Record>,
) {
    let Some(v) = values else { return };
    for (id, r) in lexed.ranges.iter().enumerate() {
        if r.end == usize::MAX || lexed.define_of.get(r.start).copied().flatten().is_some() {
            continue;
        }
        let Some(Json::Array(items)) = v.get(&r.dotted) else { continue };
        let inside = |rec: &Record| {
            rec.location.path.as_deref() == Some(src.path)
                && rec.location.line.is_some_and(|l| {
                    let local = l.saturating_sub(src.line_offset) as usize;
                    local > r.start + 1 && local <= r.end + 1
                })
        };
        let mut found = Vec::new();
        let mut rendered = false;
        for k in 0..items.len().min(MAX_RANGE_ITEMS) {
            let mut view = render(lexed, None, values, chart, Some((id, k)));
            let (text, parsed) = parse_view(&mut view);
            let Ok(docs) = parsed else { continue };
            rendered = true;
            let pre_src = Source { text: &text, ..src.clone() };
            let mut sub = Evidence::default();
            for doc in &docs {
                manifest::analyze_doc(&pre_src, doc, &mut sub);
            }
            let mut mine: Vec<Record> = sub.records.into_iter().filter(|rec| inside(rec)).collect();
            relocate(src, &view, values, &mut mine);
            found.extend(mine);
        }
        if rendered {
            records.retain(|rec| !inside(rec));
            records.extend(found);
        }
    }
}

/// Parses a view; when it is not YAML and has `toYaml` flow lines, again without them.
fn parse_view(pre: &mut Preprocessed) -> (String, Result<Vec<yaml::YamlDoc>, yaml::YamlError>) {
    let mut text = pre.lines.join("\n");
    let mut parsed = yaml::parse_documents(&text);
    if parsed.is_err() && !pre.flow_lines.is_empty() {
        for i in std::mem::take(&mut pre.flow_lines) {
            if let Some(l) = pre.lines.get_mut(i) {
                l.clear();
            }
            if let Some(s) = pre.subs.get_mut(&i) {
                s.retain(|s| s.scalar.is_some());
            }
        }
        text = pre.lines.join("\n");
        parsed = yaml::parse_documents(&text);
    }
    (text, parsed)
}

/// Most items of one spliced list analysed (each costs a parse of the template).
const MAX_SPLICE_ITEMS: usize = 32;

/// The items of each spliced values list, each written in place of the `toYaml` line as one
/// flow item of the list and analysed with the rest of the text; only the records on that line
/// are kept. `lines` is the view, possibly wrapped: `shift` lines and `indent` spaces added.
fn splice_records(src: &Source<'_>, lines: &[String], splices: &[Splice], shift: usize, indent: usize) -> Vec<Record> {
    let mut lines = lines.to_vec();
    let mut out = Vec::new();
    for s in splices {
        let i = s.line + shift;
        let at = i as u32 + 1 + src.line_offset;
        let Some(saved) = lines.get(i).cloned() else { continue };
        for item in s.items.iter().take(MAX_SPLICE_ITEMS) {
            lines[i] = format!("{}- {item}", " ".repeat(s.indent + indent));
            let text = lines.join(
                "
",
            );
            let Ok(docs) = yaml::parse_documents(&text) else { continue };
            let pre_src = Source { text: &text, ..src.clone() };
            let mut sub = Evidence::default();
            for doc in &docs {
                manifest::analyze_doc(&pre_src, doc, &mut sub);
            }
            out.extend(
                sub.records
                    .into_iter()
                    .filter(|r| r.location.line == Some(at) && r.location.path.as_deref() == Some(src.path)),
            );
        }
        lines[i] = saved;
    }
    out
}

/// How a `define` body that is YAML but not a whole object is wrapped into a Pod to be analysed.
struct Wrap {
    /// Lines put before the body.
    header: Vec<String>,
    /// Spaces put before each body line.
    indent: usize,
    /// The body is one mapping that becomes a list item (`- ` before its first line).
    item: bool,
}

fn wrap_for(value: &Json, name: &str) -> Option<Wrap> {
    let quoted = serde_json::to_string(name).unwrap_or_else(|_| "\"define\"".into());
    let pod = |rest: &[&str]| -> Vec<String> {
        let mut h = vec!["kind: Pod".to_string(), "metadata:".into(), format!("  name: {quoted}"), "spec:".into()];
        h.extend(rest.iter().map(|l| l.replace("NAME", &quoted)));
        h
    };
    let has = |m: &Map<String, Json>, keys: &[&str]| keys.iter().any(|k| m.contains_key(*k));
    const VOLUME_KEYS: &[&str] = &["hostPath", "emptyDir", "configMap", "secret", "persistentVolumeClaim", "projected"];
    match value {
        Json::Object(m) if has(m, &["containers", "initContainers", "volumes"]) => {
            let extra: &[&str] = if m.contains_key("containers") { &[] } else { &["  containers: []"] };
            Some(Wrap { header: pod(extra), indent: 2, item: false })
        }
        Json::Object(m) if has(m, &["image"]) => Some(Wrap { header: pod(&["  containers:"]), indent: 6, item: true }),
        Json::Object(m) if m.get("spec").and_then(|s| s.get("containers")).is_some() => Some(Wrap {
            header: vec![
                "kind: DaemonSet".into(),
                "metadata:".into(),
                format!("  name: {quoted}"),
                "spec:".into(),
                "  template:".into(),
            ],
            indent: 4,
            item: false,
        }),
        Json::Array(items) => {
            let maps: Vec<&Map<String, Json>> = items.iter().filter_map(Json::as_object).collect();
            if maps.iter().any(|m| has(m, &["image"])) {
                Some(Wrap { header: pod(&["  containers:"]), indent: 4, item: false })
            } else if maps.iter().any(|m| has(m, VOLUME_KEYS)) {
                Some(Wrap { header: pod(&["  containers: []", "  volumes:"]), indent: 4, item: false })
            } else if maps.iter().any(|m| has(m, &["value", "valueFrom"]) && m.contains_key("name")) {
                Some(Wrap {
                    header: pod(&["  containers:", "    - name: NAME", "      image: \"\"", "      env:"]),
                    indent: 8,
                    item: false,
                })
            } else {
                None
            }
        }
        _ => None,
    }
}

/// The body of a `define` (helpers in `_*.tpl`, or named templates in any template): analysed as
/// the object, pod spec, container, or container/volume/env list it is, else as text. Records are
/// at the body's lines, with the workload `template PATH (define NAME)`.
fn analyze_define(src: &Source<'_>, name: &str, define_line: usize, view: &mut Preprocessed, out: &mut Evidence) {
    let (text, parsed) = parse_view(view);
    let workload = format!("template {} (define {name})", src.path);
    let docs = match parsed {
        Ok(docs) => docs,
        Err(_) => {
            text_mode(&Source { text: &text, ..src.clone() }, &workload, &mut out.records);
            return;
        }
    };
    let pre_src = Source { text: &text, ..src.clone() };
    let whole = docs.iter().any(|d| d.value.get("kind").is_some());
    let wrap = if whole { None } else { docs.first().and_then(|d| wrap_for(&d.value, name)) };
    let mut sub = Evidence::default();
    let (shift, indent) = match &wrap {
        None if whole => {
            for doc in &docs {
                manifest::analyze_doc(&pre_src, doc, &mut sub);
            }
            sub.records.extend(splice_records(src, &view.lines, &view.splices, 0, 0));
            (0, 0)
        }
        None => {
            text_mode(&pre_src, &workload, &mut out.records);
            return;
        }
        Some(w) => {
            let mut wrapped = w.header.clone();
            let mut first = w.item;
            for l in &view.lines {
                if l.trim().is_empty() {
                    wrapped.push(String::new());
                } else if first {
                    first = false;
                    wrapped.push(format!("{}- {l}", " ".repeat(w.indent.saturating_sub(2))));
                } else {
                    wrapped.push(format!("{}{l}", " ".repeat(w.indent)));
                }
            }
            let wrapped = wrapped.join("\n");
            let Ok(docs) = yaml::parse_documents(&wrapped) else {
                text_mode(&pre_src, &workload, &mut out.records);
                return;
            };
            let wsrc = Source { text: &wrapped, ..src.clone() };
            for doc in &docs {
                manifest::analyze_doc(&wsrc, doc, &mut sub);
            }
            let wrapped_lines: Vec<String> = wrapped.split('\n').map(str::to_string).collect();
            sub.records.extend(splice_records(src, &wrapped_lines, &view.splices, w.header.len(), w.indent));
            (w.header.len() as u32, w.indent as u32)
        }
    };
    let first_line = src.line_offset + define_line as u32 + 1;
    for mut r in sub.records {
        if r.location.path.as_deref() != Some(src.path) {
            out.records.push(r);
            continue;
        }
        let line = r.location.line.unwrap_or(0).saturating_sub(shift);
        if line <= src.line_offset || line < first_line {
            r.location.line = Some(first_line);
            r.location.column = Some(1);
        } else {
            r.location.line = Some(line);
            r.location.column = r.location.column.map(|c| c.saturating_sub(indent).max(1));
        }
        let local = r.location.line.unwrap_or(1).saturating_sub(src.line_offset);
        r.snippet = view.lines.get((local as usize).saturating_sub(1)).map_or("", |l| l.trim()).to_string();
        if r.snippet.is_empty() {
            r.snippet = src.line(local).trim().to_string();
        }
        r.location.object = None;
        if r.get("workload").is_some() {
            r.set("workload", workload.clone());
        }
        // A container template often gets its name from the caller.
        if r.get("container").is_some() && r.str("container").is_empty() {
            r.set("container", name.to_string());
        }
        out.records.push(r);
    }
    for s in &view.splices {
        view.subs.entry(s.line).or_default().push(s.sub.clone());
    }
}

/// The texts of a record that a values leaf can hold (a metric record's PromQL `expr` too, so a
/// rule of a `toYaml`'d values list is placed at its own `expr:` line, not at the list's key).
fn strings_of(r: &Record) -> Vec<&str> {
    ["raw_path", "value", "image", "host_path", "docker_host", "expr"]
        .iter()
        .map(|f| r.str(f))
        .filter(|s| !s.is_empty())
        .collect()
}

/// Moves records whose template line took a value from a values file to that values line.
fn relocate(src: &Source<'_>, pre: &Preprocessed, values: Option<&Values>, records: &mut [Record]) {
    let orig_lines: Vec<&str> = src.text.lines().collect();
    for r in records.iter_mut() {
        if src.from_cluster || r.location.path.as_deref() != Some(src.path) {
            continue;
        }
        let Some(line) = r.location.line else { continue };
        let Some(local) = line.checked_sub(src.line_offset).filter(|l| *l > 0) else { continue };
        let idx = local as usize - 1;
        if let (Some(p), Some(o)) = (pre.lines.get(idx), orig_lines.get(idx))
            && r.snippet == p.trim()
        {
            r.snippet = o.trim().to_string();
        }
        let Some(values) = values else { continue };
        let wanted = strings_of(r);
        let matches =
            |s: &Substitution| s.scalar.as_deref().is_some_and(|v| wanted.iter().any(|w| *w == v || w.contains(v)));
        let mut chosen: Option<(usize, &Substitution)> = None;
        if let Some(on_line) = pre.subs.get(&idx) {
            chosen = on_line.iter().find(|s| matches(s)).or_else(|| on_line.first()).map(|s| (idx, s));
        }
        if chosen.is_none() && r.subject == Subject::Setting {
            // An env entry is placed at its `- name:` line; its value may be on the next lines.
            chosen = (idx + 1..=idx + 2).find_map(|j| {
                pre.subs
                    .get(&j)
                    .and_then(|v| {
                        v.iter().find(|s| {
                            s.scalar.as_deref().is_some_and(|sv| !sv.is_empty() && r.str("value").contains(sv))
                        })
                    })
                    .map(|s| (j, s))
            });
        }
        let Some((at, s)) = chosen else { continue };
        let origin = match s.scalar {
            Some(_) => values.origin(&s.dotted),
            None => values.origin_within(&s.dotted, &wanted),
        };
        let Some(origin) = origin else { continue };
        let template_line = at as u32 + 1 + src.line_offset;
        let related = Related {
            location: src.loc(at as u32 + 1, s.column),
            message: format!("used by {}:{} ({})", src.path, template_line, s.action),
        };
        r.location = Location {
            path: Some(origin.path.clone()),
            line: Some(origin.line),
            column: Some(origin.column),
            object: None,
            node: src.node.map(str::to_string),
            pool: src.pool.map(str::to_string),
            pods: None,
        };
        r.snippet = origin.snippet.clone();
        r.related.push(related);
    }
}

/// The value after `key:` on a line, without quotes or a trailing comment.
fn yaml_value_after<'l>(line: &'l str, key: &str) -> Option<&'l str> {
    let t = line.trim_start();
    let t = t.strip_prefix("- ").map_or(t, str::trim_start);
    let rest = t.strip_prefix(key)?.trim_start().strip_prefix(':')?;
    Some(clean_scalar(rest))
}

fn clean_scalar(v: &str) -> &str {
    let v = v.trim();
    let v = if v.starts_with('"') || v.starts_with('\'') {
        let q = &v[..1];
        match v[1..].find(q) {
            Some(end) => &v[1..1 + end],
            None => &v[1..],
        }
    } else {
        match v.find(" #") {
            Some(i) => v[..i].trim(),
            None => v,
        }
    };
    v.trim_end_matches(',').trim()
}

/// Value of `key` inside a one-line flow mapping such as `{path: /x, type: Socket}`.
fn flow_value<'l>(flow: &'l str, key: &str) -> Option<&'l str> {
    let inner = flow.trim().strip_prefix('{')?;
    let inner = inner.rsplit_once('}').map_or(inner, |(a, _)| a);
    inner.split(',').find_map(|kv| {
        let (k, v) = kv.split_once(':')?;
        (k.trim().trim_matches(|c| c == '"' || c == '\'') == key).then(|| clean_scalar(v))
    })
}

/// Fallback for templates that are not YAML after preprocessing: hostPath `path:` lines and
/// `DOCKER_HOST` env entries, found by their shape.
fn text_mode(src: &Source<'_>, workload: &str, out: &mut Vec<Record>) {
    let lines: Vec<&str> = src.text.lines().collect();
    struct Vol {
        line: usize,
        column: u32,
        raw: String,
        name: String,
        kind: Option<String>,
    }
    let mut vols: Vec<Vol> = Vec::new();
    let mut hosts: Vec<(usize, u32, String, String)> = Vec::new(); // line, column, value, container
    for (i, line) in lines.iter().enumerate() {
        let indent = indent_of(line);
        let column = indent as u32 + 1 + if line.trim_start().starts_with("- ") { 2 } else { 0 };
        // hostPath: {path: /x, type: Socket}
        if yaml_value_after(line, "hostPath").is_some_and(|v| v.starts_with('{')) {
            let full = line
                .trim_start()
                .trim_start_matches("- ")
                .trim_start()
                .strip_prefix("hostPath")
                .unwrap_or("")
                .trim_start()
                .trim_start_matches(':');
            if let Some(raw) = flow_value(full, "path").filter(|p| !p.is_empty()) {
                vols.push(Vol {
                    line: i,
                    column,
                    raw: raw.to_string(),
                    name: volume_name_before(&lines, i, indent),
                    kind: flow_value(full, "type").map(str::to_string),
                });
            }
            continue;
        }
        if let Some(raw) = yaml_value_after(line, "path").filter(|v| !v.is_empty()) {
            let host = (1..=3).filter_map(|d| i.checked_sub(d)).find(|j| {
                let l = lines[*j];
                l.trim().trim_start_matches("- ").trim() == "hostPath:" && indent_of(l) < indent
            });
            if let Some(h) = host {
                let kind = lines
                    .iter()
                    .skip(i + 1)
                    .take(2)
                    .find_map(|l| yaml_value_after(l, "type").filter(|_| indent_of(l) == indent))
                    .map(str::to_string);
                vols.push(Vol {
                    line: i,
                    column,
                    raw: raw.to_string(),
                    name: volume_name_before(&lines, h, indent_of(lines[h])),
                    kind,
                });
            }
            continue;
        }
        if yaml_value_after(line, "name") == Some("DOCKER_HOST") {
            let value = lines.iter().skip(i + 1).take(3).find_map(|l| yaml_value_after(l, "value"));
            if let Some(v) = value {
                hosts.push((i, column, v.to_string(), container_before(&lines, i)));
            }
        } else if line.contains("DOCKER_HOST") && line.contains('{') {
            let flow = &line[line.find('{').unwrap_or(0)..];
            if flow_value(flow, "name") == Some("DOCKER_HOST")
                && let Some(v) = flow_value(flow, "value")
            {
                hosts.push((i, column, v.to_string(), container_before(&lines, i)));
            }
        }
    }
    let workload = workload.to_string();
    let host_paths: Vec<String> = vols.iter().map(|v| normalize_host_path(&v.raw)).collect();
    let mounts_socket = host_paths.iter().any(|p| is_docker_socket(p));
    let docker_host = hosts.first().map(|h| h.2.clone());
    let kind = src.kind_for_records();
    let base = |r: Record| -> Record {
        let mut r = r
            .with("file_kind", kind)
            .with("workload", workload.clone())
            .with("workload_kind", "")
            .with("name", "")
            .with("images", Vec::<String>::new())
            .with("pod_privileged", false)
            .with("pod_dind", false)
            .with("pod_docker_cli", false)
            .with("pod_mounts_docker_socket", mounts_socket)
            .with("pod_host_paths", host_paths.clone());
        if let Some(h) = &docker_host {
            r.set("pod_docker_host", h.clone());
        }
        r
    };
    for (v, host_path) in vols.iter().zip(&host_paths) {
        let mut r = base(src.record(Subject::Volume, v.line as u32 + 1, v.column))
            .with("host_path", host_path.clone())
            .with("raw_path", v.raw.clone())
            .with("volume", v.name.clone())
            .with("mounted_by", Vec::<String>::new())
            .with("mount_paths", Vec::<String>::new());
        if let Some(k) = &v.kind {
            r.set("type", k.clone());
        }
        out.push(r);
    }
    for (line, column, value, container) in hosts {
        out.push(
            base(src.record(Subject::Setting, line as u32 + 1, column))
                .with("key", "env.DOCKER_HOST")
                .with("value", value)
                .with("container", container)
                .with("image", "")
                .with("mount_paths", Vec::<String>::new()),
        );
    }
}

/// The `name:` of the volume whose `hostPath:` is at line `h` (written just before it).
fn volume_name_before(lines: &[&str], h: usize, h_indent: usize) -> String {
    (1..=4)
        .filter_map(|d| h.checked_sub(d))
        .map(|j| lines[j])
        .take_while(|l| indent_of(l) + 2 >= h_indent || l.trim().is_empty())
        .find_map(|l| yaml_value_after(l, "name").filter(|_| indent_of(l) <= h_indent))
        .unwrap_or_default()
        .to_string()
}

/// The name of the container whose `env:` list holds line `i`.
fn container_before(lines: &[&str], i: usize) -> String {
    let Some(env) = (0..i).rev().find(|j| lines[*j].trim() == "env:") else { return "unknown".into() };
    let env_indent = indent_of(lines[env]);
    (0..env)
        .rev()
        .take(40)
        .map(|j| lines[j])
        .take_while(|l| l.trim().is_empty() || indent_of(l) + 2 >= env_indent)
        .find_map(|l| {
            yaml_value_after(l, "name").filter(|_| l.trim_start().starts_with("- ") && indent_of(l) < env_indent)
        })
        .unwrap_or("unknown")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Value;

    const VALUES: &str = "# defaults\nimage:\n  repository: gcr.io/datadoghq/agent\n  tag: \"7.20.0\"\ndockerSocket:\n  enabled: true\n  hostPath: /var/run/docker.sock\nsecurityContext:\n  privileged: true\nextraVolumes:\n  - name: containers\n    hostPath:\n      path: /var/lib/docker/containers\nempty: \"\"\nlist: [a, b]\n";

    fn values() -> Values {
        let mut v = Values::default();
        v.add_file("charts/agent/values-prod.yaml", "dockerSocket:\n  hostPath: /run/docker.sock\n");
        v.add_file("charts/agent/values.yaml", VALUES);
        v
    }

    #[test]
    fn values_merge_in_helm_order_and_remember_lines() {
        let v = values();
        assert_eq!(v.get("dockerSocket.hostPath"), Some(&Json::String("/run/docker.sock".into())));
        let o = v.origin("dockerSocket.hostPath").expect("origin");
        assert_eq!(
            (o.path.as_str(), o.line, o.snippet.as_str()),
            ("charts/agent/values-prod.yaml", 2, "hostPath: /run/docker.sock")
        );
        assert_eq!(v.origin("dockerSocket.enabled").map(|o| o.line), Some(6));
        assert_eq!(v.origin("extraVolumes[0].hostPath.path").map(|o| o.line), Some(13));
        assert_eq!(v.get("missing.key"), None);
        assert_eq!(v.get(""), None);
        let mut bad = Values::default();
        bad.add_file("values.yaml", "a: [\n");
        assert_eq!(bad.get("a"), None);
    }

    #[test]
    fn values_records_per_leaf() {
        let src = Source::file("charts/agent/values.yaml", FileKind::HelmValues, VALUES);
        let mut ev = Evidence::default();
        analyze_values(&src, &mut ev);
        let got: Vec<(String, String, Option<u32>)> =
            ev.records.iter().map(|r| (r.str("key").into(), r.str("value").into(), r.location.line)).collect();
        assert!(got.contains(&("dockerSocket.hostPath".into(), "/var/run/docker.sock".into(), Some(7))));
        assert!(got.contains(&("image.tag".into(), "7.20.0".into(), Some(4))));
        assert!(got.contains(&("dockerSocket.enabled".into(), "true".into(), Some(6))));
        assert!(got.contains(&("extraVolumes[0].hostPath.path".into(), "/var/lib/docker/containers".into(), Some(13))));
        assert!(got.contains(&("list[1]".into(), "b".into(), Some(15))));
        assert!(ev.records.iter().all(|r| r.str("file_kind") == "helm-values" && r.subject == Subject::Setting));
        let text = "config:\n  inputs: |\n    [INPUT]\n        Name tail\n        Parser docker\n  snippets:\n    pipelineStages:\n      - docker: {}\n  quoted: \"[INPUT]\\n    Name tail\\n\"\n";
        let mut ev = Evidence::default();
        analyze_values(&Source::file("charts/logs/values.yaml", FileKind::HelmValues, text), &mut ev);
        let lines: Vec<(String, String, String, Option<u32>)> = ev
            .records
            .iter()
            .filter(|r| r.subject == Subject::Line)
            .map(|r| (r.str("file_kind").into(), r.str("key").into(), r.str("value").into(), r.location.line))
            .collect();
        assert_eq!(
            lines,
            vec![
                ("fluent-bit".into(), "Name".into(), "tail".into(), Some(4)),
                ("fluent-bit".into(), "Parser".into(), "docker".into(), Some(5)),
                ("fluent-bit".into(), "Name".into(), "tail".into(), Some(9)),
                ("promtail".into(), "docker".into(), "{}".into(), Some(8)),
            ]
        );
        let mut ev = Evidence::default();
        analyze_values(&Source::file("values.yaml", FileKind::HelmValues, "a: b\n c: [\n"), &mut ev);
        assert_eq!(ev.gaps.len(), 1);
    }

    #[test]
    fn resolves_value_references() {
        let v = values();
        let r = |s: &str| resolve(s, Some(&v), None);
        let scalar = |t: &str, d: Option<&str>| Resolved::Scalar { text: t.into(), dotted: d.map(str::to_string) };
        assert_eq!(r(".Values.dockerSocket.hostPath"), scalar("/run/docker.sock", Some("dockerSocket.hostPath")));
        assert_eq!(r("$.Values.image.tag | quote"), scalar("\"7.20.0\"", Some("image.tag")));
        assert_eq!(r("quote .Values.image.tag"), scalar("\"7.20.0\"", Some("image.tag")));
        assert_eq!(r(".Values.image.tag | squote"), scalar("'7.20.0'", Some("image.tag")));
        assert_eq!(r("default \"x\" .Values.empty"), scalar("x", None));
        assert_eq!(r("default \"x\" .Values.image.tag"), scalar("7.20.0", Some("image.tag")));
        assert_eq!(r(".Values.nope | default \"/var/run/docker.sock\""), scalar("/var/run/docker.sock", None));
        assert_eq!(r(".Values.image.repository | upper"), scalar("GCR.IO/DATADOGHQ/AGENT", Some("image.repository")));
        assert_eq!(r(".Values.image"), Resolved::Unresolved);
        assert_eq!(r(".Values.image.tag | b64enc"), Resolved::Unresolved);
        assert_eq!(r("include \"x\" ."), Resolved::Unresolved);
        assert_eq!(r("printf \"%s\" (.Values.a)"), Resolved::Unresolved);
        assert_eq!(r(".Chart.Name"), Resolved::Unresolved);
        assert!(matches!(r("toYaml .Values.securityContext | nindent 12"), Resolved::Subtree { .. }));
        assert!(matches!(r(".Values.extraVolumes | toYaml | nindent 8"), Resolved::Subtree { .. }));
        assert_eq!(r("toYaml .Values.empty | nindent 2"), Resolved::Unresolved);
        assert_eq!(resolve(".", Some(&v), Some(Some("image"))), Resolved::Unresolved);
        assert_eq!(resolve(".tag", Some(&v), Some(Some("image"))), scalar("7.20.0", Some("image.tag")));
        assert_eq!(resolve(".Values.image.tag", None, None), Resolved::Unresolved);
    }

    #[test]
    fn preprocess_keeps_lines() {
        let v = values();
        let text = "{{/* a\n multi-line comment */}}\n{{- define \"x\" -}}\nname: {{ .Chart.Name }}\n{{- end }}\nkind: Pod\nmetadata:\n  name: {{ include \"x\" . }}\n  labels:\n    {{- include \"labels\" . | nindent 4 }}\nspec:\n  {{- if .Values.dockerSocket.enabled }}\n  securityContext:\n    {{- toYaml .Values.securityContext | nindent 4 }}\n  {{- end }}\n  image: \"{{ .Values.image.repository }}:{{ .Values.image.tag }}\"\n";
        let mut pre = preprocess(text, Some(&v), None);
        assert_eq!(pre.lines.len(), text.split('\n').count());
        assert_eq!(pre.lines.pop().as_deref(), Some(""));
        assert_eq!(
            pre.lines,
            vec![
                "",
                "",
                "",
                "",
                "",
                "kind: Pod",
                "metadata:",
                "  name: HELM-TEMPLATE",
                "  labels:",
                "",
                "spec:",
                "",
                "  securityContext:",
                "    {\"privileged\":true}",
                "",
                "  image: \"gcr.io/datadoghq/agent:7.20.0\"",
            ]
        );
        assert_eq!(pre.subs.get(&15).map(Vec::len), Some(2));
        assert_eq!(pre.subs[&13][0].dotted, "securityContext");
    }

    #[test]
    fn with_blocks_scope_the_dot() {
        let v = values();
        let text = "spec:\n  {{- with .Values.image }}\n  image: {{ .repository }}\n  {{- end }}\n  volumes:\n    {{- with .Values.extraVolumes }}\n    {{- toYaml . | nindent 4 }}\n    {{- end }}\n";
        let pre = preprocess(text, Some(&v), None);
        assert_eq!(pre.lines[2], "  image: gcr.io/datadoghq/agent");
        assert!(pre.lines[6].starts_with("    [{\"name\":\"containers\""), "{:?}", pre.lines);
        // A key whose value continues after the toYaml is left alone.
        let text = "volumes:\n  {{- toYaml .Values.extraVolumes | nindent 2 }}\n  - name: x\n    emptyDir: {}\n";
        let pre = preprocess(text, Some(&v), None);
        assert_eq!(pre.lines[1], "");
    }

    const TEMPLATE: &str = "apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {{ include \"agent.fullname\" . }}
spec:
  template:
    spec:
      containers:
        - name: agent
          image: \"{{ .Values.image.repository }}:{{ .Values.image.tag }}\"
          securityContext:
            {{- toYaml .Values.securityContext | nindent 12 }}
          env:
            - name: DOCKER_HOST
              value: unix://{{ .Values.dockerSocket.hostPath }}
          volumeMounts:
            - name: docker-sock
              mountPath: /var/run/docker.sock
      volumes:
        {{- if .Values.dockerSocket.enabled }}
        - name: docker-sock
          hostPath:
            path: {{ .Values.dockerSocket.hostPath }}
            type: Socket
        {{- end }}
        - name: tmp
          hostPath:
            path: /tmp
";

    #[test]
    fn template_records_move_to_values_lines() {
        let mut v = Values::default();
        v.add_file("charts/agent/values.yaml", VALUES);
        let src = Source::file("charts/agent/templates/daemonset.yaml", FileKind::HelmTemplate, TEMPLATE);
        let mut ev = Evidence::default();
        analyze_template(&src, Some(&v), &mut ev);
        assert!(ev.gaps.is_empty());
        let sock = ev
            .records
            .iter()
            .find(|r| r.subject == Subject::Volume && r.str("volume") == "docker-sock")
            .expect("volume");
        assert_eq!(sock.location.path.as_deref(), Some("charts/agent/values.yaml"));
        assert_eq!(sock.location.line, Some(7));
        assert_eq!(sock.location.object, None);
        assert_eq!(sock.snippet, "hostPath: /var/run/docker.sock");
        assert_eq!(sock.str("host_path"), "/run/docker.sock");
        assert_eq!(sock.str("file_kind"), "helm-template");
        assert_eq!(sock.get("pod_privileged"), Some(&Value::Bool(true)));
        assert_eq!(sock.related.len(), 1);
        assert_eq!(sock.related[0].location.line, Some(23));
        assert_eq!(
            sock.related[0].message,
            "used by charts/agent/templates/daemonset.yaml:23 ({{ .Values.dockerSocket.hostPath }})"
        );

        let tmp = ev.records.iter().find(|r| r.subject == Subject::Volume && r.str("volume") == "tmp").expect("tmp");
        assert_eq!(tmp.location.path.as_deref(), Some("charts/agent/templates/daemonset.yaml"));
        assert_eq!(tmp.location.line, Some(28));
        assert!(tmp.related.is_empty());

        let image = ev.records.iter().find(|r| r.subject == Subject::Container).expect("container");
        assert_eq!(image.str("image"), "gcr.io/datadoghq/agent:7.20.0");
        assert_eq!(image.location.line, Some(3));
        assert_eq!(image.related[0].location.line, Some(10));

        let host = ev.records.iter().find(|r| r.subject == Subject::Setting).expect("DOCKER_HOST");
        assert_eq!(host.str("value"), "unix:///var/run/docker.sock");
        assert_eq!(host.location.line, Some(7));
        assert_eq!(host.related[0].location.line, Some(15));
        assert!(!ev.counts.contains_key("helm_templates_text_mode"));
    }

    #[test]
    fn template_without_values_keeps_template_lines() {
        let src = Source::file("charts/agent/templates/daemonset.yaml", FileKind::HelmTemplate, TEMPLATE);
        let mut ev = Evidence::default();
        analyze_template(&src, None, &mut ev);
        let sock = ev
            .records
            .iter()
            .find(|r| r.subject == Subject::Volume && r.str("volume") == "docker-sock")
            .expect("volume");
        assert_eq!(sock.location.line, Some(23));
        assert_eq!(sock.str("raw_path"), PLACEHOLDER);
        assert_eq!(sock.snippet, "path: {{ .Values.dockerSocket.hostPath }}");
    }

    #[test]
    fn broken_templates_fall_back_to_text() {
        let text = "{{- range .Values.agents }}\n---\nkind: DaemonSet\nspec:\n  template:\n    spec:\n      containers:\n        - name: {{ .name }}\n          env:\n            - name: DOCKER_HOST\n              value: \"unix:///var/run/docker.sock\"\n      volumes:\n        - name: sock\n          hostPath:\n            path: /var/run/docker.sock\n            type: Socket\n        - name: inline\n          hostPath: {path: /var/lib/docker, type: Directory}\n  broken: [\n{{- end }}\n";
        let src = Source::file("charts/a/templates/ds.yaml", FileKind::HelmTemplate, text);
        let mut ev = Evidence::default();
        analyze_template(&src, Some(&values()), &mut ev);
        assert!(ev.gaps.is_empty());
        assert_eq!(ev.counts.get("helm_templates_text_mode"), Some(&1));
        let got: Vec<(Subject, Option<u32>, String, String)> = ev
            .records
            .iter()
            .map(|r| (r.subject, r.location.line, r.str("raw_path").to_string(), r.str("volume").to_string()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Subject::Volume, Some(15), "/var/run/docker.sock".into(), "sock".into()),
                (Subject::Volume, Some(18), "/var/lib/docker".into(), "inline".into()),
                (Subject::Setting, Some(10), String::new(), String::new()),
            ]
        );
        assert_eq!(ev.records[0].str("workload"), "template charts/a/templates/ds.yaml");
        assert_eq!(ev.records[0].str("type"), "Socket");
        assert_eq!(ev.records[0].get("pod_mounts_docker_socket"), Some(&Value::Bool(true)));
        assert_eq!(ev.records[0].str("pod_docker_host"), "unix:///var/run/docker.sock");
        assert_eq!(ev.records[2].str("key"), "env.DOCKER_HOST");
        assert_eq!(ev.records[2].str("value"), "unix:///var/run/docker.sock");
        assert_eq!(ev.records[2].str("container"), "HELM-TEMPLATE");
        assert_eq!(chart_name("charts/build-agent/templates/ds.yaml"), Some("build-agent"));
        assert_eq!(chart_name("templates/ds.yaml"), None);
        assert_eq!(builtin("include \"build-agent.fullname\" .", Some("build-agent")).as_deref(), Some("build-agent"));
        assert_eq!(builtin(".Chart.Name | quote", Some("a")).as_deref(), Some("\"a\""));
        assert_eq!(builtin(".Release.Namespace", None).as_deref(), Some(""));
        assert_eq!(builtin("include \"x.labels\" .", Some("a")), None);
        assert_eq!(variable_default("$c.image | default \"docker:dind\" | quote").as_deref(), Some("\"docker:dind\""));
        assert_eq!(variable_default("default \"x\" $c.name").as_deref(), Some("x"));
        assert_eq!(variable_default("$c.image").as_deref(), None);
        assert_eq!(variable_default(".Values.image | default \"a\"").as_deref(), None);
        assert_eq!(variable_default("$.Values.image | default \"a\"").as_deref(), None);
        assert_eq!(variable_default("$c.image | default \"a\" | b64enc").as_deref(), None);
    }

    fn volumes_of(ev: &Evidence) -> Vec<(String, Option<u32>, String, String)> {
        ev.records
            .iter()
            .filter(|r| r.subject == Subject::Volume && !r.str("host_path").is_empty())
            .map(|r| {
                (
                    r.location.path.clone().unwrap_or_default(),
                    r.location.line,
                    r.str("host_path").to_string(),
                    r.str("volume").to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn define_bodies_are_analysed() {
        let v = values();
        // A helper file of named templates: a volume list, an env list, a container, a pod spec
        // taking a values list, and a define that is not YAML (text mode).
        let text = "{{/* helpers */}}
{{- define \"agent.volumes\" -}}
- name: dockersock
  hostPath:
    path: /var/run/docker.sock
- name: logs
  hostPath:
    path: /var/log
{{- end }}

{{- define \"agent.env\" }}
- name: DOCKER_HOST
  value: unix:///var/run/docker.sock
{{- end }}
{{- define \"agent.container\" }}
name: dind
image: docker:24-dind
securityContext:
  privileged: true
{{- end }}
{{- define \"agent.pod\" }}
containers:
  - name: agent
    image: busybox
volumes:
  {{- toYaml .Values.extraVolumes | nindent 2 }}
{{- end }}
{{- define \"agent.broken\" }}
- name: sock
  hostPath:
    path: /var/lib/docker
  broken: [
{{- end }}
";
        let src = Source::file("charts/agent/templates/_helpers.tpl", FileKind::HelmTemplate, text);
        let mut ev = Evidence::default();
        analyze_template(&src, Some(&v), &mut ev);
        assert!(ev.gaps.is_empty());
        assert_eq!(ev.counts.get("helm_defines_analyzed"), Some(&5));
        let tpl = "charts/agent/templates/_helpers.tpl".to_string();
        assert_eq!(
            volumes_of(&ev),
            vec![
                (tpl.clone(), Some(5), "/run/docker.sock".into(), "dockersock".into()),
                (tpl.clone(), Some(8), "/var/log".into(), "logs".into()),
                ("charts/agent/values.yaml".into(), Some(13), "/var/lib/docker/containers".into(), "containers".into()),
                (tpl.clone(), Some(31), "/var/lib/docker".into(), "sock".into()),
            ]
        );
        let sock = ev.records.iter().find(|r| r.str("volume") == "dockersock").expect("sock");
        assert_eq!(sock.str("workload"), "template charts/agent/templates/_helpers.tpl (define agent.volumes)");
        assert_eq!(sock.snippet, "path: /var/run/docker.sock");
        assert_eq!(sock.location.column, Some(5));
        assert_eq!(sock.location.object, None);
        let from_values = ev.records.iter().find(|r| r.str("volume") == "containers").expect("values volume");
        assert_eq!(from_values.related[0].location.line, Some(26));
        let host = ev.records.iter().find(|r| r.str("key") == "env.DOCKER_HOST").expect("DOCKER_HOST");
        assert_eq!((host.location.line, host.str("value")), (Some(12), "unix:///var/run/docker.sock"));
        let dind = ev.records.iter().find(|r| r.subject == Subject::Container && r.str("image") == "docker:24-dind");
        let dind = dind.expect("dind container");
        assert_eq!(dind.location.line, Some(17));
        assert_eq!(dind.snippet, "image: docker:24-dind");
        assert_eq!(dind.str("workload"), "template charts/agent/templates/_helpers.tpl (define agent.container)");
        // The main body of a template with a define is still analysed, and not twice.
        let mut ev = Evidence::default();
        let text = format!(
            "{TEMPLATE}{{{{- define \"x\" }}}}\n- name: y\n  hostPath:\n    path: /var/lib/docker\n{{{{- end }}}}\n"
        );
        analyze_template(
            &Source::file("charts/agent/templates/ds.yaml", FileKind::HelmTemplate, &text),
            Some(&v),
            &mut ev,
        );
        let got = volumes_of(&ev);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[2].1, Some(32));
    }

    #[test]
    fn to_yaml_next_to_literal_items_is_spliced() {
        let v = values();
        let head = "kind: DaemonSet\nspec:\n  template:\n    spec:\n      containers:\n        - name: a\n          image: busybox\n      volumes:\n";
        let literal = "        - name: varlog\n          hostPath:\n            path: /var/log\n";
        let after = format!(
            "{head}{literal}        {{{{- with .Values.extraVolumes }}}}\n        {{{{- toYaml . | nindent 8 }}}}\n        {{{{- end }}}}\n"
        );
        let before = format!("{head}        {{{{- toYaml .Values.extraVolumes | nindent 8 }}}}\n{literal}");
        let values_line = ("charts/agent/values.yaml".to_string(), Some(13), "/var/lib/docker/containers".to_string());
        for (text, template_line) in [(after, 13), (before, 9)] {
            let src = Source::file("charts/agent/templates/ds.yaml", FileKind::HelmTemplate, &text);
            let mut ev = Evidence::default();
            analyze_template(&src, Some(&v), &mut ev);
            let got: Vec<_> = volumes_of(&ev).into_iter().map(|(p, l, h, _)| (p, l, h)).collect();
            assert!(got.contains(&values_line), "{text}\n{got:?}");
            assert_eq!(got.len(), 2, "{got:?}");
            let r = ev.records.iter().find(|r| r.str("volume") == "containers").expect("spliced");
            assert_eq!(r.related[0].location.line, Some(template_line));
            assert_eq!(r.str("workload_kind"), "DaemonSet");
        }
        // A list that is not next to items of its own list is not spliced.
        let text = format!("{head}{literal}      {{{{- toYaml .Values.extraVolumes | nindent 6 }}}}\n");
        let mut ev = Evidence::default();
        analyze_template(
            &Source::file("charts/agent/templates/ds.yaml", FileKind::HelmTemplate, &text),
            Some(&v),
            &mut ev,
        );
        assert_eq!(volumes_of(&ev).len(), 1);
    }

    #[test]
    fn range_over_values_lists_reads_each_item() {
        let v = values();
        assert_eq!(v.get("extraVolumes[0].hostPath.path"), Some(&Json::String("/var/lib/docker/containers".into())));
        assert_eq!(v.get("extraVolumes[1]"), None);
        assert_eq!(v.get("list[1]"), Some(&Json::String("b".into())));
        let text = "kind: DaemonSet\nspec:\n  template:\n    spec:\n      containers:\n        - name: a\n          image: busybox\n      volumes:\n        - name: tmp\n          emptyDir: {}\n        {{- range .Values.extraVolumes }}\n        - name: {{ .name }}\n          hostPath:\n            path: {{ .hostPath.path }}\n        {{- end }}\n";
        let src = Source::file("charts/agent/templates/ds.yaml", FileKind::HelmTemplate, text);
        let mut ev = Evidence::default();
        analyze_template(&src, Some(&v), &mut ev);
        assert_eq!(
            volumes_of(&ev),
            vec![(
                "charts/agent/values.yaml".into(),
                Some(13),
                "/var/lib/docker/containers".into(),
                "containers".into()
            )]
        );
        let r = &ev.records.iter().find(|r| r.subject == Subject::Volume && r.str("volume") == "containers").unwrap();
        assert_eq!(r.related[0].location.line, Some(14));
        // Without values the placeholders stay at the template lines.
        let mut ev = Evidence::default();
        analyze_template(&src, None, &mut ev);
        assert!(volumes_of(&ev).iter().all(|v| v.0 == "charts/agent/templates/ds.yaml"));
    }

    #[test]
    fn hostile_templates_do_not_panic() {
        let v = values();
        for text in [
            "{{",
            "}}",
            "{{ \"unterminated",
            "{{/* never closed",
            "a: {{ .Values. }}",
            "a: {{ .Values..x }}",
            "{{ end }}{{ end }}\nb: 1",
            "é: {{ .Values.image.tag }}é{{ $.Values }}",
            "{{- with }}\n{{ toYaml . | nindent }}\n",
            "x:\n{{ toYaml .Values.list | nindent 2 }}\n",
            "\u{feff}{{ `raw }} string` }}: 1",
        ] {
            let src = Source::file("t.yaml", FileKind::HelmTemplate, text);
            let mut ev = Evidence::default();
            analyze_template(&src, Some(&v), &mut ev);
            analyze_template(&src, None, &mut ev);
            assert!(ev.gaps.is_empty(), "{text:?}: {:?}", ev.gaps);
        }
    }

    #[test]
    fn every_truncation_is_handled() {
        let v = values();
        for (i, _) in TEMPLATE.char_indices() {
            for text in [&TEMPLATE[..i], &TEMPLATE[i..]] {
                let src = Source::file("charts/agent/templates/ds.yaml", FileKind::HelmTemplate, text);
                let mut ev = Evidence::default();
                analyze_template(&src, Some(&v), &mut ev);
                assert!(ev.gaps.is_empty());
            }
        }
        for (i, _) in VALUES.char_indices() {
            let mut vv = Values::default();
            vv.add_file("values.yaml", &VALUES[..i]);
            analyze_values(&Source::file("values.yaml", FileKind::HelmValues, &VALUES[..i]), &mut Evidence::default());
        }
    }
}
