//! Templates rendered with their callers' values (issue 12): after a repository root is analysed,
//! every [`TemplateUse`] an analyser recorded (a Terraform `templatefile()`, a Salt
//! `file.managed` with `template: jinja`) is rendered and analysed at the template's own lines.
//! Values are literals or names resolved from the scanned tree: `var.X` from the module's
//! `terraform.tfvars`/`*.auto.tfvars`, else a literal argument of a `module` block whose local
//! `source` is the module, else the `default` of its `variable` block, `map.key` from the `{% set %}` dicts of an
//! imported `map.jinja`, an Ansible role's `vars/main.yml` and `defaults/main.yml` settings. A
//! rendered template replaces the template's own (unrendered) records;
//! records at lines where a value went in name the call and where each value comes from.
//!
//! Bounded and confined: templates and the files values come from are files the walker found in
//! the scanned tree (never a path outside it), read under the size cap, at most
//! [`MAX_RENDERINGS`] renderings per scan and [`MAX_MODULE_FILES`] `.tf` files per module. A
//! template that is not in the tree (or not readable) is listed as skipped.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use super::files::{jinja, render, terraform};
use crate::bounded_read as read;
use crate::evidence::file_kind::FileKind;
use crate::evidence::template_use::{Expr, Scope, TemplatePath, TemplateUse};
use crate::evidence::{Evidence, Gap, Location, Record, Related};

/// Most templates rendered in one scan (each use is one rendering).
pub const MAX_RENDERINGS: usize = 1000;
/// Most `.tf` files read for one module's variable defaults.
pub const MAX_MODULE_FILES: usize = 64;
/// Most `.tf` files read for the `module` blocks that call a module.
pub const MAX_CALLER_FILES: usize = 2000;

/// Analyses a rendered template: (repository path, kind when known, text, where it is written);
/// `None` when no kind applies (then the template keeps its unrendered records).
pub type Analyze<'f> = dyn Fn(&str, Option<FileKind>, &str, Option<&str>) -> Option<Evidence> + 'f;

/// A value resolved for one rendering: the name, the value and where it comes from.
struct Resolved {
    name: String,
    value: String,
    origin: String,
}

/// Renders every template use of `ev` (see the module header). `files` maps the repository path of
/// every file the walker found to where it is on disk.
pub fn apply(ev: &mut Evidence, files: &BTreeMap<String, PathBuf>, max_file_size: u64, analyze: &Analyze<'_>) {
    let uses = std::mem::take(&mut ev.template_uses);
    if uses.is_empty() {
        return;
    }
    let mut reader = Reader { files, max_file_size, texts: HashMap::new(), calls: None, modules: HashMap::new() };
    let mut rendered: BTreeMap<String, Vec<Record>> = BTreeMap::new();
    for (n, u) in uses.iter().enumerate() {
        if n >= MAX_RENDERINGS {
            ev.count("templates_not_rendered_over_limit", (uses.len() - n) as u64);
            ev.skipped.push(Gap {
                source: format!("{}:{}", u.from, u.line),
                reason: format!(
                    "more than {MAX_RENDERINGS} template renderings in one scan: the rest are read unrendered"
                ),
                ..Gap::default()
            });
            break;
        }
        let Some(template) = resolve_template(u, files) else {
            ev.count("templates_not_found", 1);
            ev.skipped.push(Gap {
                source: format!("{}:{}", u.from, u.line),
                reason: format!(
                    "the template {} renders ({}) is not a file of the scanned tree: not analysed with its values",
                    u.how,
                    match &u.template {
                        TemplatePath::Relative(p) | TemplatePath::Suffix(p) => p,
                    }
                ),
                ..Gap::default()
            });
            continue;
        };
        let mut values = resolve_values(u, &mut reader);
        // Settings of the caller's variable files (an Ansible role's vars, then defaults).
        for file in &u.value_files {
            let Some(text) = files.contains_key(file).then(|| reader.text(file)).flatten() else { continue };
            for (name, value, line) in jinja::yaml_top_scalars(&text) {
                if !values.iter().any(|v| v.name == name) {
                    values.push(Resolved { name: name.clone(), value, origin: format!("{name} at {file}:{line}") });
                }
            }
        }
        let Some(text) = reader.text(&template) else { continue };
        let pairs: Vec<(String, String)> = values.iter().map(|r| (r.name.clone(), r.value.clone())).collect();
        let mut pairs = pairs;
        // The template's own imports (`{% from "map.jinja" import kube %}` then `{{ kube.x }}`).
        if u.syntax == crate::evidence::template_use::TemplateSyntax::Jinja {
            for (alias, path) in jinja::imports(&text) {
                if let Some(file) = suffix_match(&path, files) {
                    for (name, value, _) in reader.bindings(&file) {
                        if let Some(rest) = name.split_once('.').map(|(_, r)| r) {
                            pairs.push((format!("{alias}.{rest}"), value));
                        }
                    }
                }
            }
        }
        let (text, substituted) = render::render(&text, u.syntax, &pairs);
        if substituted.is_empty() {
            continue;
        }
        let written_to = destination(u, &mut reader);
        let Some(mut sub) = analyze(&template, None, &text, written_to.as_deref()) else { continue };
        ev.count("templates_rendered", 1);
        let call = format!("{} at {}:{}", u.how, u.from, u.line);
        for r in &mut sub.records {
            let Some(line) = r.location.line.filter(|_| r.location.path.as_deref() == Some(template.as_str())) else {
                continue;
            };
            let Some((_, names)) = substituted.iter().find(|(l, _)| *l == line) else { continue };
            let said: Vec<String> = names
                .iter()
                .map(|n| match values.iter().find(|v| &v.name == n) {
                    Some(v) => format!("{n} = \"{}\" ({})", v.value, v.origin),
                    None => format!("{n} from its import"),
                })
                .collect();
            super::files::embedded::add_provenance(r, &format!("rendered by {call} with {}", said.join(", ")));
            r.related.push(Related {
                location: Location::file(&u.from, u.line, 1),
                message: format!("renders this template ({})", u.how),
            });
        }
        rendered.entry(template).or_default().extend(sub.records);
    }
    // A rendered template's records replace its unrendered ones; renderings that agree give one
    // record.
    ev.records.retain(|r| r.location.path.as_ref().is_none_or(|p| !rendered.contains_key(p)));
    for (_, records) in rendered {
        let mut seen = std::collections::HashSet::new();
        for r in records {
            let key = format!("{:?}|{:?}|{:?}|{}", r.subject, r.location, r.fields, r.snippet);
            if seen.insert(key) {
                ev.records.push(r);
            }
        }
    }
}

/// Where the rendering is written: the caller's absolute path, or its `{{ map.key }}` resolved
/// from the caller's imports (`name: {{ kubelet.env_file }}`); `None` when unknown.
fn destination(u: &TemplateUse, reader: &mut Reader<'_>) -> Option<String> {
    let dest = u.written_to.as_deref()?;
    if dest.starts_with('/') {
        return Some(dest.to_string());
    }
    let caller = reader.text(&u.from)?;
    let Some(Expr::Ref { scope: Scope::Suffix(s), name }) = jinja::value_expr(dest, &jinja::imports(&caller)) else {
        return None;
    };
    let file = suffix_match(&s, reader.files)?;
    reader.bindings(&file).into_iter().find(|(n, _, _)| *n == name).map(|(_, v, _)| v).filter(|v| v.starts_with('/'))
}

/// The template's repository path, when the walker found it.
fn resolve_template(u: &TemplateUse, files: &BTreeMap<String, PathBuf>) -> Option<String> {
    match &u.template {
        TemplatePath::Relative(p) => {
            let dir = u.from.rsplit_once('/').map_or("", |(d, _)| d);
            let joined = normalise(&format!("{dir}/{p}"))?;
            files.contains_key(&joined).then_some(joined)
        }
        TemplatePath::Suffix(s) => suffix_match(s, files),
    }
}

/// `a/b/../c/./d` -> `a/c/d`; `None` when `..` climbs out of the tree.
fn normalise(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// The scanned file whose path is `suffix` or ends with `/suffix` (the first in path order).
fn suffix_match(suffix: &str, files: &BTreeMap<String, PathBuf>) -> Option<String> {
    let suffix = normalise(suffix)?;
    if files.contains_key(&suffix) {
        return Some(suffix);
    }
    let tail = format!("/{suffix}");
    files.keys().find(|k| k.ends_with(&tail)).cloned()
}

fn resolve_values(u: &TemplateUse, reader: &mut Reader<'_>) -> Vec<Resolved> {
    let mut out = Vec::new();
    for (name, expr) in &u.values {
        match expr {
            Expr::Literal(v) => out.push(Resolved {
                name: name.clone(),
                value: v.clone(),
                origin: format!("passed at {}:{}", u.from, u.line),
            }),
            Expr::Ref { scope, name: referenced } => {
                let found = match scope {
                    Scope::Dir(dir) => {
                        reader.module_values(dir).into_iter().find(|(n, _, _)| n == referenced).map(|(_, v, o)| (v, o))
                    }
                    Scope::Suffix(s) => suffix_match(s, reader.files).and_then(|file| {
                        reader
                            .bindings(&file)
                            .into_iter()
                            .find(|(n, _, _)| n == referenced)
                            .map(|(_, v, l)| (v, format!("{referenced}'s default at {file}:{l}")))
                    }),
                };
                if let Some((value, origin)) = found {
                    out.push(Resolved { name: name.clone(), value, origin });
                }
            }
        }
    }
    out
}

/// Reads the scanned files values come from, each once.
struct Reader<'f> {
    files: &'f BTreeMap<String, PathBuf>,
    max_file_size: u64,
    texts: HashMap<String, Option<String>>,
    /// The tree's module calls, once read.
    calls: Option<Vec<(String, terraform::ModuleCall)>>,
    /// [`Reader::module_values`] of each directory, once worked out.
    modules: HashMap<String, Vec<(String, String, String)>>,
}

impl Reader<'_> {
    fn text(&mut self, rel: &str) -> Option<String> {
        if let Some(t) = self.texts.get(rel) {
            return t.clone();
        }
        let text = self
            .files
            .get(rel)
            .and_then(|abs| read::walked_regular(abs, self.max_file_size).ok())
            .filter(|b| !read::looks_binary(b))
            .map(read::decode_text);
        self.texts.insert(rel.to_string(), text.clone());
        text
    }

    /// The values of a module's variables, strongest first: `terraform.tfvars` and `*.auto.tfvars`
    /// in `dir` (a root module's), literal arguments of the `module` blocks of the tree whose local
    /// `source` is `dir`, then the `default`s of the `.tf` files in `dir`: (`var.NAME`, value,
    /// where it comes from).
    fn module_values(&mut self, dir: &str) -> Vec<(String, String, String)> {
        if let Some(known) = self.modules.get(dir) {
            return known.clone();
        }
        let values = self.read_module_values(dir);
        self.modules.insert(dir.to_string(), values.clone());
        values
    }

    fn read_module_values(&mut self, dir: &str) -> Vec<(String, String, String)> {
        let prefix = if dir.is_empty() { String::new() } else { format!("{dir}/") };
        let in_dir: Vec<String> = self
            .files
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k)
            .filter(|k| !k[prefix.len()..].contains('/'))
            .filter(|k| {
                k.ends_with(".tf")
                    || k.ends_with("/terraform.tfvars")
                    || k.ends_with(".auto.tfvars")
                    || *k == "terraform.tfvars"
            })
            .take(MAX_MODULE_FILES)
            .cloned()
            .collect();
        let mut out = Vec::new();
        for file in in_dir.iter().filter(|f| f.ends_with(".tfvars")) {
            let Some(text) = self.text(file) else { continue };
            for (name, value, line) in terraform::tfvars(&text) {
                out.push((name, value, format!("set in {file}:{line}")));
            }
        }
        for (file, call) in self.module_calls().to_vec() {
            let from = file.rsplit_once('/').map_or("", |(d, _)| d);
            let local = call.source.starts_with("./") || call.source.starts_with("../");
            if !local || normalise(&format!("{from}/{}", call.source)).as_deref() != Some(dir) {
                continue;
            }
            for (name, value, line) in call.args {
                out.push((
                    format!("var.{name}"),
                    value,
                    format!("passed by module \"{}\" at {file}:{line}", call.name),
                ));
            }
        }
        for file in in_dir.iter().filter(|f| f.ends_with(".tf")) {
            let Some(text) = self.text(file) else { continue };
            for (name, value, line) in terraform::variable_defaults(&text) {
                out.push((name.clone(), value, format!("{name}'s default at {file}:{line}")));
            }
        }
        out
    }

    /// The `module` blocks of the tree's `.tf` files (at most [`MAX_CALLER_FILES`] files), read once.
    fn module_calls(&mut self) -> &[(String, terraform::ModuleCall)] {
        if self.calls.is_none() {
            let tf: Vec<String> =
                self.files.keys().filter(|k| k.ends_with(".tf")).take(MAX_CALLER_FILES).cloned().collect();
            let mut calls = Vec::new();
            for file in tf {
                let Some(text) = self.text(&file) else { continue };
                if text.contains("module") {
                    calls.extend(terraform::module_calls(&text).into_iter().map(|c| (file.clone(), c)));
                }
            }
            self.calls = Some(calls);
        }
        self.calls.as_deref().unwrap_or_default()
    }

    fn bindings(&mut self, file: &str) -> Vec<(String, String, u32)> {
        self.text(file).map(|t| jinja::bindings(&t)).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_inside_the_tree_only() {
        assert_eq!(normalise("modules/w/./templates/../templates/k.tpl").as_deref(), Some("modules/w/templates/k.tpl"));
        assert_eq!(normalise("modules/../../etc/passwd"), None);
        let files: BTreeMap<String, PathBuf> = ["salt/kubernetes/map.jinja", "other/kubernetes/map.jinja.bak"]
            .iter()
            .map(|p| (p.to_string(), PathBuf::new()))
            .collect();
        assert_eq!(suffix_match("kubernetes/map.jinja", &files).as_deref(), Some("salt/kubernetes/map.jinja"));
        assert_eq!(suffix_match("netes/map.jinja", &files), None);
    }
}
