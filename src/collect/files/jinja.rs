//! Jinja values across files (issue 12): which templates a Salt state renders with which values,
//! and the defaults a `map.jinja` sets. Place in the pipeline: read from the raw text of a state
//! (before any masking: the values are `{{ }}` actions) into [`TemplateUse`]s that the repository
//! collector renders; [`bindings`] is read from the imported file on demand. Pure and line-based
//! (Salt states are Jinja first, YAML second), bounded in nesting.
//!
//! - `file.managed` with `source: salt://a/b/x.jinja` and `template: jinja`: a use of `a/b/x.jinja`
//!   (matched by suffix among the scanned files) written to the state's `name` (else its ID), with
//!   the values of `context:` and `defaults:` — literals, or `{{ map.key }}` of a name imported by
//!   `{% from "a/map.jinja" import map %}`.
//! - `{% set NAME = {...} %}` and `{% set NAME = salt['grains.filter_by']({...}, ...) %}`: the
//!   dotted keys of the dict (of `filter_by`'s `default` entry, or the entry its `default=`
//!   names) and their literal values. A `merge=` of pillar data is not followed: these are the
//!   defaults.

use crate::evidence::template_use::{Expr, Scope, TemplatePath, TemplateSyntax, TemplateUse};

/// Deepest dict nesting read.
const MAX_NESTING: usize = 16;

/// The `{% from "PATH" import a, b as c %}` of a text: alias -> imported path.
pub fn imports(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for stmt in statements(text) {
        let Some(rest) = stmt.strip_prefix("from ") else { continue };
        let rest = rest.trim_start();
        let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else { continue };
        let Some((path, after)) = rest[1..].split_once(q) else { continue };
        let Some(names) = after.trim_start().strip_prefix("import ") else { continue };
        let names = names.split(" with ").next().unwrap_or(names).split(" without ").next().unwrap_or(names);
        for n in names.split(',') {
            let mut words = n.split_whitespace();
            let (Some(name), alias) = (words.next(), words.nth(1)) else { continue };
            out.push((alias.unwrap_or(name).to_string(), path.to_string()));
        }
    }
    out
}

/// The `{% ... %}` statements of a text, trimmed of `-`/`+` and blanks.
fn statements(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("{%") {
        let Some(len) = rest[i + 2..].find("%}") else { break };
        let inner = &rest[i + 2..i + 2 + len];
        out.push(inner.trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace()));
        rest = &rest[i + 2 + len + 2..];
    }
    out
}

/// The templates a Salt state file renders (see the module header).
pub fn salt_template_uses(path: &str, text: &str) -> Vec<TemplateUse> {
    if !text.contains("salt://") {
        return Vec::new();
    }
    let imported = imports(text);
    let lines: Vec<&str> = text.lines().collect();
    let mut uses = Vec::new();
    let mut id: Option<(&str, usize)> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let indent = line.len() - line.trim_start().len();
        let t = line.trim();
        if indent == 0 && t.ends_with(':') && !t.starts_with(['#', '-', '{']) {
            id = Some((t.trim_end_matches(':').trim_matches(['"', '\'']), i));
        }
        if t != "file.managed:" {
            i += 1;
            continue;
        }
        // The state's argument list: deeper than the function line.
        let mut source = None;
        let mut jinja = false;
        let mut name = None;
        let mut values = Vec::new();
        let mut j = i + 1;
        while j < lines.len() {
            let l = lines[j];
            let ind = l.len() - l.trim_start().len();
            let lt = l.trim();
            if lt.is_empty() || lt.starts_with('#') || lt.starts_with("{%") {
                j += 1;
                continue;
            }
            if ind <= indent {
                break;
            }
            let arg = lt.strip_prefix("- ").unwrap_or(lt);
            match arg.split_once(':').map(|(k, v)| (k.trim(), v.trim())) {
                Some(("source", v)) => {
                    source = salt_url(v).or_else(|| {
                        // `- source:` followed by a list of candidates: the first salt:// one.
                        lines[j + 1..].iter().take(8).find_map(|n| salt_url(n.trim().trim_start_matches("- ")))
                    });
                }
                Some(("template", v)) => jinja = v.trim_matches(['"', '\'']) == "jinja",
                Some(("name", v)) if !v.is_empty() => name = Some(v.trim_matches(['"', '\'']).to_string()),
                Some(("context" | "defaults", "")) => {
                    let mut k = j + 1;
                    while k < lines.len() {
                        let kl = lines[k];
                        let kind = kl.len() - kl.trim_start().len();
                        if kl.trim().is_empty() || kind <= ind {
                            break;
                        }
                        if let Some((key, v)) = kl.trim().split_once(':')
                            && let Some(e) = value_expr(v.trim(), &imported)
                        {
                            values.push((key.trim().trim_matches(['"', '\'']).to_string(), e));
                        }
                        k += 1;
                    }
                }
                _ => {}
            }
            j += 1;
        }
        if let (Some(source), true) = (source, jinja) {
            // An absolute path, or one `{{ map.key }}` the collector resolves from the import.
            let written_to = name
                .or_else(|| id.map(|(s, _)| s.to_string()))
                .filter(|n| n.starts_with('/') || (n.starts_with("{{") && n.ends_with("}}")));
            uses.push(TemplateUse {
                from: path.to_string(),
                line: id.map_or(i, |(_, l)| l) as u32 + 1,
                how: "Salt file.managed".into(),
                template: TemplatePath::Suffix(source),
                values,
                written_to,
                value_files: Vec::new(),
                syntax: TemplateSyntax::Jinja,
            });
        }
        i = j;
    }
    uses
}

/// The `template:` tasks of an Ansible role's task file (`roles/R/tasks/...`): the template
/// `roles/R/templates/SRC` written to `dest`, with the role's `vars/main.yml` and
/// `defaults/main.yml` as values. Block form (`template:` then `src:`/`dest:` lines) and the
/// one-line `template: src=X dest=Y`; a templated or absolute `src` is not followed.
pub fn ansible_template_uses(path: &str, text: &str) -> Vec<TemplateUse> {
    let (role, below) = match path.find("/tasks/") {
        Some(at) => (&path[..at], &path[at + "/tasks/".len()..]),
        None => match path.strip_prefix("tasks/") {
            Some(below) => ("", below),
            None => return Vec::new(),
        },
    };
    let up = "../".repeat(1 + below.matches('/').count());
    let role_file = |f: &str| if role.is_empty() { f.to_string() } else { format!("{role}/{f}") };
    let value_files: Vec<String> = ["vars/main.yml", "vars/main.yaml", "defaults/main.yml", "defaults/main.yaml"]
        .iter()
        .map(|f| role_file(f))
        .collect();
    let lines: Vec<&str> = text.lines().collect();
    let mut uses = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim().trim_start_matches("- ").trim();
        let Some(rest) = ["template:", "ansible.builtin.template:", "ansible.legacy.template:"]
            .iter()
            .find_map(|k| t.strip_prefix(k))
        else {
            continue;
        };
        let indent = line.len() - line.trim_start().len();
        let mut src = None;
        let mut dest = None;
        if rest.trim().is_empty() {
            for l in lines[i + 1..].iter().take(32) {
                let ind = l.len() - l.trim_start().len();
                if !l.trim().is_empty() && ind <= indent {
                    break;
                }
                match l.trim().split_once(':').map(|(k, v)| (k.trim(), v.trim().trim_matches(['"', '\'']))) {
                    Some(("src", v)) => src = Some(v.to_string()),
                    Some(("dest" | "path", v)) => dest = Some(v.to_string()),
                    _ => {}
                }
            }
        } else {
            for word in rest.split_whitespace() {
                match word.split_once('=') {
                    Some(("src", v)) => src = Some(v.trim_matches(['"', '\'']).to_string()),
                    Some(("dest", v)) => dest = Some(v.trim_matches(['"', '\'']).to_string()),
                    _ => {}
                }
            }
        }
        let Some(src) = src.filter(|s| !s.is_empty() && !s.contains("{{") && !s.starts_with('/')) else { continue };
        uses.push(TemplateUse {
            from: path.to_string(),
            line: i as u32 + 1,
            how: "an Ansible template task".into(),
            template: TemplatePath::Relative(format!("{up}templates/{src}")),
            values: Vec::new(),
            written_to: dest.filter(|d| d.starts_with('/') && !d.contains("{{")),
            value_files: value_files.clone(),
            syntax: TemplateSyntax::Jinja,
        });
    }
    uses
}

/// The top-level `key: scalar` settings of a YAML variables file (an Ansible role's defaults):
/// (name, value, 1-based line). Templated, multi-line and collection values are left out.
pub fn yaml_top_scalars(text: &str) -> Vec<(String, String, u32)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with([' ', '\t', '#', '-']) {
            continue;
        }
        let Some((k, v)) = line.split_once(':') else { continue };
        let v = v.split(" #").next().unwrap_or(v).trim();
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        if v.is_empty() || v.contains("{{") || v.starts_with(['[', '{', '|', '>', '&', '*', '!']) {
            continue;
        }
        out.push((k.to_string(), v.trim_matches(['"', '\'']).to_string(), i as u32 + 1));
    }
    out
}

/// `salt://a/b/x.jinja` -> `a/b/x.jinja` (a query `?saltenv=` dropped).
fn salt_url(v: &str) -> Option<String> {
    let p = v.trim_matches(['"', '\'']).strip_prefix("salt://")?;
    let p = p.split('?').next().unwrap_or(p).trim_matches('/');
    (!p.is_empty() && !p.contains("{{")).then(|| p.to_string())
}

/// A context value: a literal, `{{ alias.key }}` of an imported name, else `None` (unknown).
pub fn value_expr(v: &str, imported: &[(String, String)]) -> Option<Expr> {
    let v = v.trim();
    if let Some(inner) = v.strip_prefix("{{").and_then(|r| r.strip_suffix("}}")) {
        let inner = inner.trim_matches(|c: char| c == '-' || c.is_whitespace());
        let name = inner.split('|').next().unwrap_or(inner).trim();
        let root = name.split(['.', '[']).next().unwrap_or(name);
        let (_, path) = imported.iter().find(|(a, _)| a == root)?;
        let dotted = jinja_dotted(name)?;
        return Some(Expr::Ref { scope: Scope::Suffix(path.clone()), name: dotted });
    }
    if v.is_empty() || v.contains("{{") || v.contains("{%") || v.starts_with(['{', '[', '|', '>']) {
        return None;
    }
    Some(Expr::Literal(v.trim_matches(['"', '\'']).to_string()))
}

/// `kube.runtime`, `kube['runtime']` -> `kube.runtime`; `None` for anything computed.
fn jinja_dotted(name: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = name;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("['").or_else(|| rest.strip_prefix("[\"")) {
            let end = r.find(['\'', '"'])?;
            out.push('.');
            out.push_str(&r[..end]);
            rest = r[end + 1..].strip_prefix(']')?;
        } else if let Some(r) = rest.strip_prefix('.') {
            out.push('.');
            rest = r;
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            let word = &rest[..end];
            if !word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') || word.is_empty() {
                return None;
            }
            out.push_str(word);
            rest = &rest[end..];
        }
    }
    Some(out)
}

/// The literal values `{% set %}` statements give (see the module header): (dotted name, value,
/// 1-based line of the value).
pub fn bindings(text: &str) -> Vec<(String, String, u32)> {
    let mut out = Vec::new();
    // Where each line starts, for the line of a value (a binary search, not a count per value).
    let starts: Vec<usize> =
        std::iter::once(0).chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1)).collect();
    let mut rest = text;
    let mut offset = 0;
    while let Some(i) = rest.find("{%") {
        let Some(len) = rest[i + 2..].find("%}") else { break };
        let start = offset + i + 2;
        let stmt = &text[start..start + len];
        let lead = stmt.len() - stmt.trim_start_matches(['-', '+']).trim_start().len();
        if let Some(s) = stmt[lead..].strip_prefix("set ")
            && let Some(eq) = s.find('=')
            && s[..eq].trim().chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !s[..eq].trim().is_empty()
        {
            let mut p = Parser { text, pos: start + lead + 4 + eq + 1, end: start + len };
            p.skip_ws();
            let value = if p.eat("salt['grains.filter_by'](") || p.eat("salt[\"grains.filter_by\"](") {
                p.filter_by_default()
            } else {
                p.value(0)
            };
            flatten(s[..eq].trim(), value, &starts, &mut out);
        }
        offset = start + len + 2;
        rest = &text[offset..];
    }
    out
}

/// A parsed literal: a string or number with its byte offset, a dict, or something computed.
enum Lit {
    Str(String, usize),
    Dict(Vec<(String, Lit)>),
    Other,
}

fn flatten(prefix: &str, v: Lit, starts: &[usize], out: &mut Vec<(String, String, u32)>) {
    match v {
        Lit::Str(s, at) => {
            let line = starts.partition_point(|&st| st <= at) as u32;
            out.push((prefix.to_string(), s, line));
        }
        Lit::Dict(items) => {
            for (k, v) in items {
                flatten(&format!("{prefix}.{k}"), v, starts, out);
            }
        }
        Lit::Other => {}
    }
}

/// A small reader of Jinja/Python literals within one statement.
struct Parser<'t> {
    text: &'t str,
    pos: usize,
    end: usize,
}

impl<'t> Parser<'t> {
    fn rest(&self) -> &'t str {
        self.text.get(self.pos..self.end).unwrap_or("")
    }

    fn skip_ws(&mut self) {
        let r = self.rest();
        self.pos += r.len() - r.trim_start().len();
    }

    fn eat(&mut self, s: &str) -> bool {
        self.skip_ws();
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    /// `grains.filter_by({...}, ..., default='X')`: the entry `X` (else `default`) of the lookup
    /// dict.
    fn filter_by_default(&mut self) -> Lit {
        let Lit::Dict(entries) = self.value(0) else { return Lit::Other };
        let rest = self.rest();
        let key = rest
            .find("default=")
            .and_then(|i| {
                let r = &rest[i + "default=".len()..];
                let q = r.chars().next().filter(|c| *c == '\'' || *c == '"')?;
                r[1..].split(q).next().map(str::to_string)
            })
            .unwrap_or_else(|| "default".to_string());
        entries.into_iter().find(|(k, _)| *k == key).map_or(Lit::Other, |(_, v)| v)
    }

    fn value(&mut self, depth: usize) -> Lit {
        self.skip_ws();
        let r = self.rest();
        match r.chars().next() {
            Some(q @ ('\'' | '"')) => {
                let at = self.pos + 1;
                match r[1..].find(q) {
                    Some(n) => {
                        self.pos += n + 2;
                        Lit::Str(r[1..n + 1].to_string(), at)
                    }
                    None => {
                        self.pos = self.end;
                        Lit::Other
                    }
                }
            }
            Some('{') if depth < MAX_NESTING => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    if self.eat("}") || self.rest().is_empty() {
                        break;
                    }
                    let key = match self.value(depth + 1) {
                        Lit::Str(k, _) => Some(k),
                        _ => None,
                    };
                    if !self.eat(":") {
                        self.skip_to_delimiter();
                    } else {
                        let v = self.value(depth + 1);
                        if let Some(k) = key {
                            items.push((k, v));
                        }
                    }
                    self.skip_ws();
                    if !self.eat(",") {
                        self.eat("}");
                        break;
                    }
                }
                Lit::Dict(items)
            }
            Some(c) if c.is_ascii_alphanumeric() => {
                let word: String =
                    r.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '_').collect();
                let at = self.pos;
                self.pos += word.len();
                if self.rest().trim_start().starts_with(['(', '[']) {
                    self.skip_to_delimiter();
                    return Lit::Other;
                }
                match word.as_str() {
                    "True" | "true" => Lit::Str("true".into(), at),
                    "False" | "false" => Lit::Str("false".into(), at),
                    w if w.chars().all(|c| c.is_ascii_digit() || c == '.') => Lit::Str(word, at),
                    _ => Lit::Other,
                }
            }
            _ => {
                self.skip_to_delimiter();
                Lit::Other
            }
        }
    }

    /// Skips a computed value up to the next `,` or closing bracket at its own level.
    fn skip_to_delimiter(&mut self) {
        let mut depth = 0usize;
        let mut quote: Option<char> = None;
        for (i, c) in self.rest().char_indices() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '(' | '[' | '{') => depth += 1,
                (None, ')' | ']' | '}') if depth == 0 => {
                    self.pos += i;
                    return;
                }
                (None, ')' | ']' | '}') => depth -= 1,
                (None, ',') if depth == 0 => {
                    self.pos += i;
                    return;
                }
                _ => {}
            }
        }
        self.pos = self.end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_jinja_defaults_and_plain_dicts() {
        let map = "{% set kubelet = salt['grains.filter_by']({\n    'default': {\n        'runtime': 'docker',\n        'opts': {'endpoint': \"unix:///var/run/docker.sock\", 'port': 10250},\n        'labels': salt['pillar.get']('x', {}),\n    },\n    'RedHat': {'runtime': 'containerd'},\n}, merge=salt['pillar.get']('kubelet:lookup')) %}\n{%- set node = {'pool': 'general', 'gpu': False} -%}\n{% set version = '1.23' %}\n";
        let got: Vec<String> = bindings(map).into_iter().map(|(k, v, l)| format!("{l} {k}={v}")).collect();
        assert_eq!(
            got,
            [
                "3 kubelet.runtime=docker",
                "4 kubelet.opts.endpoint=unix:///var/run/docker.sock",
                "4 kubelet.opts.port=10250",
                "9 node.pool=general",
                "9 node.gpu=false",
                "10 version=1.23"
            ]
        );
        let named = "{% set os = salt['grains.filter_by']({'Debian': {'runtime': 'docker'}, 'RedHat': {'runtime': 'cri-o'}}, default='Debian') %}";
        assert_eq!(bindings(named), [("os.runtime".to_string(), "docker".to_string(), 1)]);
    }

    #[test]
    fn salt_states_rendering_templates() {
        let sls = "{%- from \"kubernetes/map.jinja\" import kube with context %}\n\n/etc/default/kubelet:\n  file.managed:\n    - source: salt://kubernetes/files/kubelet.env.jinja\n    - template: jinja\n    - context:\n        runtime: {{ kube.runtime }}\n        pool: batch\n        other: {{ salt['pillar.get']('x') }}\nplain-copy:\n  file.managed:\n    - name: /etc/motd\n    - source: salt://files/motd\n";
        let uses = salt_template_uses("salt/kubelet/init.sls", sls);
        assert_eq!(uses.len(), 1);
        let u = &uses[0];
        assert_eq!(u.line, 3);
        assert_eq!(u.template, TemplatePath::Suffix("kubernetes/files/kubelet.env.jinja".into()));
        assert_eq!(u.written_to.as_deref(), Some("/etc/default/kubelet"));
        // A destination from the map is left for the collector to resolve; a relative one is unknown.
        let named = sls.replace("    - template: jinja", "    - template: jinja\n    - name: {{ kube.env_file }}");
        assert_eq!(salt_template_uses("x.sls", &named)[0].written_to.as_deref(), Some("{{ kube.env_file }}"));
        let relative = sls.replace("    - template: jinja", "    - template: jinja\n    - name: kubelet.env");
        assert_eq!(salt_template_uses("x.sls", &relative)[0].written_to, None);
        assert_eq!(
            u.values,
            [
                (
                    "runtime".to_string(),
                    Expr::Ref { scope: Scope::Suffix("kubernetes/map.jinja".into()), name: "kube.runtime".into() }
                ),
                ("pool".to_string(), Expr::Literal("batch".into())),
            ]
        );
    }

    #[test]
    fn ansible_template_tasks_and_role_settings() {
        let tasks = "---\n- name: unit\n  ansible.builtin.template:\n    src: kubelet.service.j2\n    dest: /etc/systemd/system/kubelet.service\n- name: env\n  template: src=kubelet.env.j2 dest=/etc/default/kubelet mode=0644\n- name: computed\n  template:\n    src: \"{{ unit_template }}\"\n    dest: /etc/x\n";
        let uses = ansible_template_uses("roles/kubelet/tasks/sub/main.yml", tasks);
        let got: Vec<(u32, TemplatePath, Option<String>)> =
            uses.iter().map(|u| (u.line, u.template.clone(), u.written_to.clone())).collect();
        assert_eq!(
            got,
            [
                (
                    3,
                    TemplatePath::Relative("../../templates/kubelet.service.j2".into()),
                    Some("/etc/systemd/system/kubelet.service".into())
                ),
                (
                    7,
                    TemplatePath::Relative("../../templates/kubelet.env.j2".into()),
                    Some("/etc/default/kubelet".into())
                ),
            ]
        );
        assert_eq!(uses[0].value_files[0], "roles/kubelet/vars/main.yml");
        assert!(ansible_template_uses("playbooks/site.yml", tasks).is_empty());
        let defaults = "---\nruntime: docker # old pools\nendpoint: \"unix:///run/containerd/containerd.sock\"\nlist:\n  - a\nmap: {a: 1}\nderived: \"{{ runtime }}-x\"\n  nested: no\n";
        assert_eq!(
            yaml_top_scalars(defaults),
            [
                ("runtime".to_string(), "docker".to_string(), 2),
                ("endpoint".to_string(), "unix:///run/containerd/containerd.sock".to_string(), 3)
            ]
        );
    }

    #[test]
    fn hostile_statements_do_not_panic() {
        for text in [
            "{% set a = {'x': %}",
            "{% set a = salt['grains.filter_by']( %}",
            "{% set = %}",
            "{%- set a = {'a': {'b': {'c': 'é'}}} -%}",
            "{% set a = '",
            "{% from \"x\" import %}",
            "{% set a = {{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{ %}",
        ] {
            let _ = bindings(text);
            let _ = imports(text);
            let _ = salt_template_uses("x.sls", &format!("{text}\nx:\n  file.managed:\n    - source: salt://a\n"));
            let _ = ansible_template_uses("r/tasks/main.yml", &format!("- template:\n{text}\n- template: src={text}"));
            let _ = yaml_top_scalars(text);
        }
    }
}
