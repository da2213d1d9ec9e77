//! Terraform and Packer (HCL) files: the bodies they hand to machines. Place in the pipeline: an
//! analyser of one text; each body goes through [`super::embedded`] at the lines of the `.tf` file.
//!
//! - Heredocs (`user_data = <<-EOF`, `content = <<EOT`, `base64encode(<<EOF`): the body is a
//!   script, cloud-init user data, a unit... by its content; a body of a startup-script attribute
//!   (`user_data`, `custom_data`, `metadata_startup_script`, `startup_script`) without a shebang is
//!   a script. Terraform's `%{ }` directives are blanked; `${ }` interpolations are left as text.
//! - Packer `inline = ["...", ...]` provisioner commands: each string is a shell command line.
//!
//! - `templatefile("${path.module}/templates/kubelet.service.tpl", { runtime = var.runtime })`:
//!   [`template_uses`] records the call (the template's path, each value as a literal or a
//!   `var.X` of the module) for the repository collector, which renders the template with the
//!   values it resolves ([`variable_defaults`] of the module's `.tf` files) and analyses it at the
//!   template's lines. The template is also read alone, as the file its name (or content) says.

use super::embedded::{self, Body};
use super::source::Source;
use super::text::mask_template_directives;
use crate::evidence::Evidence;
use crate::evidence::context;
use crate::evidence::file_kind::FileKind;
use crate::evidence::template_use::{Expr, Scope, TemplatePath, TemplateSyntax, TemplateUse};

/// Attributes whose value is a script run at first boot even without a shebang.
const STARTUP_ATTRS: &[&str] =
    &["user_data", "custom_data", "metadata_startup_script", "startup_script", "startup-script"];

/// Analyses one HCL file.
pub fn analyze(src: &Source<'_>, out: &mut Evidence) {
    let src = &machine_context(src);
    let lines: Vec<&str> = src.text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if let Some((attr, strip, delim)) = heredoc_start(line) {
            let start = i + 1;
            let mut end = start;
            while end < lines.len() && lines[end].trim() != delim {
                end += 1;
            }
            heredoc(src, &lines[start..end], start as u32, attr, strip, out);
            i = end + 1;
            continue;
        }
        if let Some(rest) = inline_list_start(line) {
            i = inline_list(src, &lines, i, rest, out);
            continue;
        }
        i += 1;
    }
}

/// The source with the context of the machine it builds or boots (a Kubernetes node image, a CI
/// runner VM), when the enclosing place does not say already.
fn machine_context<'a>(src: &Source<'a>) -> Source<'a> {
    match src.context.or_else(|| context::of_machine(src.text)) {
        Some(c) => src.clone().in_context(c),
        None => src.clone(),
    }
}

/// `NAME = <<EOF`, `NAME = <<-EOF`, `f(<<EOF`: the attribute (or `""`), whether indentation is
/// stripped, and the delimiter.
fn heredoc_start(line: &str) -> Option<(&str, bool, &str)> {
    let at = line.rfind("<<")?;
    let rest = &line[at + 2..];
    let (strip, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let delim = rest.trim_end();
    if delim.is_empty() || !delim.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let before = line[..at].trim_end();
    let attr = before
        .split('=')
        .next()
        .filter(|_| before.contains('='))
        .map(str::trim)
        .filter(|a| a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '"'))
        .unwrap_or("")
        .trim_matches('"');
    Some((attr, strip, delim))
}

fn heredoc(src: &Source<'_>, body_lines: &[&str], first_line: u32, attr: &str, strip: bool, out: &mut Evidence) {
    let indent = if strip {
        body_lines.iter().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0)
    } else {
        0
    };
    let mut text = String::new();
    for l in body_lines {
        let cut = l.char_indices().nth(indent).map_or(l.len(), |(k, _)| k).min(l.len() - l.trim_start().len());
        text.push_str(&l[cut..]);
        text.push('\n');
    }
    let text = mask_template_directives(&text);
    let kind = crate::evidence::file_kind::sniff_body(&text)
        .or_else(|| STARTUP_ATTRS.contains(&attr).then_some(FileKind::Shell));
    let how = if attr.is_empty() { "a heredoc".to_string() } else { format!("`{attr}`") };
    let body = Body { text: &text, target: None, line_offset: first_line, how: &how };
    embedded::analyze_as(src, &body, kind, out);
}

/// `inline = [` (Packer shell provisioners): the text after the bracket.
fn inline_list_start(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let rest = t.strip_prefix("inline")?.trim_start().strip_prefix('=')?.trim_start().strip_prefix('[')?;
    Some(rest)
}

/// Each string of the list opened on line `at` is a command; returns the line after the list.
fn inline_list(src: &Source<'_>, lines: &[&str], at: usize, first: &str, out: &mut Evidence) -> usize {
    let mut i = at;
    let mut rest = first;
    loop {
        let (strings, closed) = hcl_strings(rest);
        for s in strings {
            let body = Body { text: &s, target: None, line_offset: i as u32, how: "a Packer inline command" };
            embedded::analyze_as(src, &body, Some(FileKind::Shell), out);
        }
        i += 1;
        if closed || i >= lines.len() {
            return i;
        }
        rest = lines[i];
    }
}

/// The double-quoted strings of one line (escapes resolved), and whether a `]` outside strings
/// closes the list on it.
fn hcl_strings(line: &str) -> (Vec<String>, bool) {
    let mut out = Vec::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let mut s = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some(other) => s.push(other),
                            None => {}
                        },
                        _ => s.push(c),
                    }
                }
                out.push(s);
            }
            ']' => return (out, true),
            '#' => break,
            _ => {}
        }
    }
    (out, false)
}

/// A Packer JSON template: the `inline` commands of its provisioners.
pub fn analyze_packer_json(src: &Source<'_>, out: &mut Evidence) {
    let src = &machine_context(src);
    let Some(docs) = src.yaml_documents(out) else { return };
    for doc in &docs {
        let provisioners = doc.value.get("provisioners").and_then(serde_json::Value::as_array);
        for (i, p) in provisioners.into_iter().flatten().enumerate() {
            let inline = p.get("inline").and_then(serde_json::Value::as_array);
            for (j, cmd) in inline.into_iter().flatten().enumerate() {
                let Some(cmd) = cmd.as_str() else { continue };
                let body = Body { text: cmd, target: None, line_offset: 0, how: "a Packer inline command" };
                embedded::analyze_scalar(
                    src,
                    doc,
                    &format!("/provisioners/{i}/inline/{j}"),
                    body,
                    Some(FileKind::Shell),
                    out,
                );
            }
        }
    }
}

/// Most lines one `templatefile(...)` call is read over.
const MAX_CALL_LINES: usize = 200;

/// The `templatefile(PATH, { k = v, ... })` calls of one HCL file at `path` (see the module
/// header). A path that is not a literal under `path.module`/`path.root` (another interpolation,
/// a variable) is not followed; a value that is neither a literal string (number, bool) nor a
/// `var.X` is passed as unknown (the template keeps its `${k}`).
pub fn template_uses(path: &str, text: &str) -> Vec<TemplateUse> {
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    let lines: Vec<&str> = text.lines().collect();
    let mut uses = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let code = strip_comment(line);
        let Some(at) = code.find("templatefile(") else { continue };
        // The call's text, up to its closing parenthesis (bounded).
        let mut call = code[at + "templatefile(".len()..].to_string();
        let mut end = i;
        while !balanced_close(&call) && end + 1 < lines.len() && end - i < MAX_CALL_LINES {
            end += 1;
            call.push('\n');
            call.push_str(strip_comment(lines[end]));
        }
        let Some((template, rest)) = first_string(&call) else { continue };
        let Some(template) = module_relative(&template) else { continue };
        let values = object_values(rest, dir);
        uses.push(TemplateUse {
            from: path.to_string(),
            line: i as u32 + 1,
            how: "templatefile()".into(),
            template: TemplatePath::Relative(template),
            values,
            written_to: None,
            value_files: Vec::new(),
            syntax: TemplateSyntax::Terraform,
        });
    }
    uses
}

/// A line without its `#` or `//` comment (outside strings).
fn strip_comment(line: &str) -> &str {
    let mut in_str = false;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match c {
            '"' if prev != '\\' => in_str = !in_str,
            '#' if !in_str => return &line[..i],
            '/' if !in_str && prev == '/' => return &line[..i - 1],
            _ => {}
        }
        prev = c;
    }
    line
}

/// Whether the parentheses opened before `call` close in it (strings skipped).
fn balanced_close(call: &str) -> bool {
    let mut depth = 1i32;
    let mut in_str = false;
    let mut prev = ' ';
    for c in call.chars() {
        match c {
            '"' if prev != '\\' => in_str = !in_str,
            '(' if !in_str => depth += 1,
            ')' if !in_str => {
                depth -= 1;
                if depth == 0 {
                    return true;
                }
            }
            _ => {}
        }
        prev = c;
    }
    false
}

/// The first double-quoted string of `text` (after optional blanks) and the text after it.
fn first_string(text: &str) -> Option<(String, &str)> {
    let rest = text.trim_start().strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &rest[i + 1..])),
            '\\' => {
                if let Some((_, e)) = chars.next() {
                    out.push(e);
                }
            }
            _ => out.push(c),
        }
    }
    None
}

/// `${path.module}/templates/x.tpl` -> `templates/x.tpl`; a plain relative path stays; anything
/// else interpolated (or absolute) is not followed.
fn module_relative(template: &str) -> Option<String> {
    let mut rel = template;
    for prefix in ["${path.module}", "${path.root}", "${path.cwd}"] {
        if let Some(r) = rel.strip_prefix(prefix) {
            rel = r.trim_start_matches('/');
            break;
        }
    }
    (!rel.is_empty() && !rel.contains("${") && !rel.contains("%{") && !rel.starts_with('/')).then(|| rel.to_string())
}

/// The `key = value` pairs of the object literal that opens `rest` (`, { a = "x", b = var.y })`).
fn object_values(rest: &str, dir: &str) -> Vec<(String, Expr)> {
    let Some(open) = rest.find('{') else { return Vec::new() };
    if !rest[..open].trim().trim_start_matches(',').trim().is_empty() {
        return Vec::new();
    }
    let mut values = Vec::new();
    let mut depth = 0usize;
    let mut in_str = false;
    let mut prev = ' ';
    let mut item = String::new();
    let body = &rest[open + 1..];
    let flush = |item: &mut String, values: &mut Vec<(String, Expr)>| {
        if let Some((k, v)) = item.split_once(['=', ':']) {
            let key = k.trim().trim_matches('"');
            if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                values.push((key.to_string(), value_expr(v.trim(), dir)));
            }
        }
        item.clear();
    };
    for c in body.chars() {
        match c {
            '"' if prev != '\\' => in_str = !in_str,
            '{' | '[' | '(' if !in_str => depth += 1,
            '}' | ']' | ')' if !in_str && depth == 0 => break,
            '}' | ']' | ')' if !in_str => depth -= 1,
            ',' | '\n' if !in_str && depth == 0 => {
                flush(&mut item, &mut values);
                prev = c;
                continue;
            }
            _ => {}
        }
        item.push(c);
        prev = c;
    }
    flush(&mut item, &mut values);
    values
}

/// A literal (`"docker"` without interpolation, a number or bool), `var.X`, or unknown.
fn value_expr(v: &str, dir: &str) -> Expr {
    if let Some(inner) = v.strip_prefix('"').and_then(|r| r.strip_suffix('"'))
        && !inner.contains("${")
        && !inner.contains("%{")
    {
        return Expr::Literal(inner.replace("\\\"", "\""));
    }
    if let Some(name) = v.strip_prefix("var.")
        && !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Expr::Ref { scope: Scope::Dir(dir.to_string()), name: v.to_string() };
    }
    if v == "true" || v == "false" || (!v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.')) {
        return Expr::Literal(v.to_string());
    }
    Expr::Ref { scope: Scope::Dir(dir.to_string()), name: v.to_string() }
}

/// The `default` of each `variable "NAME" { ... }` block whose default is a literal string,
/// number or bool: (`var.NAME`, value, 1-based line of the default).
pub fn variable_defaults(text: &str) -> Vec<(String, String, u32)> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    let mut depth = 0i32;
    for (i, line) in text.lines().enumerate() {
        let code = strip_comment(line).trim();
        if current.is_none() {
            if let Some(rest) = code.strip_prefix("variable")
                && let Some((name, after)) = first_string(rest)
                && after.trim_start().starts_with('{')
            {
                depth = 0;
                current = Some(name);
            } else {
                continue;
            }
        }
        if depth == 1
            && let Some(v) = code.strip_prefix("default").map(str::trim_start).and_then(|r| r.strip_prefix('='))
            && let Some(name) = &current
            && let Expr::Literal(value) = value_expr(v.trim(), "")
        {
            out.push((format!("var.{name}"), value, i as u32 + 1));
        }
        for c in code.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
        }
        if depth <= 0 && code.contains('}') {
            current = None;
        }
    }
    out
}

/// A `module "NAME" { source = "./path" ... }` block: its name, `source`, line, and the
/// arguments it sets to literals (`container_runtime = "docker"`, with their lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleCall {
    /// The module block's label.
    pub name: String,
    /// Its `source` as written.
    pub source: String,
    /// The block's 1-based line.
    pub line: u32,
    /// Arguments set to literals: (name, value, 1-based line).
    pub args: Vec<(String, String, u32)>,
}

/// The module calls of one HCL file (see [`ModuleCall`]).
pub fn module_calls(text: &str) -> Vec<ModuleCall> {
    let mut out = Vec::new();
    let mut current: Option<ModuleCall> = None;
    let mut depth = 0i32;
    for (i, line) in text.lines().enumerate() {
        let code = strip_comment(line).trim();
        if current.is_none() {
            match code.strip_prefix("module").and_then(first_string) {
                Some((name, after)) if after.trim_start().starts_with('{') => {
                    depth = 0;
                    current = Some(ModuleCall { name, source: String::new(), line: i as u32 + 1, args: Vec::new() });
                }
                _ => continue,
            }
        }
        if depth == 1
            && let Some(call) = current.as_mut()
            && let Some((k, v)) = code.split_once('=')
            && !v.starts_with('=')
        {
            let k = k.trim();
            let named = k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') && !k.is_empty();
            if named && let Expr::Literal(value) = value_expr(v.trim(), "") {
                if k == "source" {
                    call.source = value;
                } else {
                    call.args.push((k.to_string(), value, i as u32 + 1));
                }
            }
        }
        for c in code.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
        }
        if depth <= 0 && code.contains('}') {
            out.extend(current.take());
        }
    }
    out
}

/// The literal assignments of a `.tfvars` file: (`var.NAME`, value, 1-based line).
pub fn tfvars(text: &str) -> Vec<(String, String, u32)> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    for (i, line) in text.lines().enumerate() {
        let code = strip_comment(line).trim();
        if depth == 0
            && let Some((k, v)) = code.split_once('=')
            && let k = k.trim()
            && !k.is_empty()
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            && let Expr::Literal(value) = value_expr(v.trim(), "")
        {
            out.push((format!("var.{k}"), value, i as u32 + 1));
        }
        for c in code.chars() {
            match c {
                '{' | '[' => depth += 1,
                '}' | ']' => depth -= 1,
                _ => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Subject;
    use crate::parse::testutil::for_each_generated_text;

    fn rows(path: &str, kind: FileKind, text: &str) -> Vec<String> {
        let mut out = Evidence::default();
        let src = Source::file(path, kind, text);
        if kind == FileKind::Packer {
            analyze_packer_json(&src, &mut out);
        } else {
            analyze(&src, &mut out);
        }
        assert!(out.gaps.is_empty(), "{:?}", out.gaps);
        out.records
            .iter()
            .map(|r| {
                let what = match r.subject {
                    Subject::Command => r.str("text").to_string(),
                    Subject::KubeletFlag => format!("{}={}", r.str("name"), r.str("value")),
                    _ => format!("{}={}", r.str("key"), r.str("value")),
                };
                format!("{} {} {what}", r.location.line.unwrap_or(0), r.str("file_kind"))
            })
            .collect()
    }

    #[test]
    fn heredocs_and_inline_commands() {
        // See: issue 12 (Terraform user_data, Packer provisioners).
        let tf = "resource \"aws_launch_template\" \"workers\" {\n  name_prefix = \"workers-\"\n  user_data = base64encode(<<-EOF\n    #!/bin/bash\n    set -e\n    %{ if enable_docker ~}\n    systemctl enable --now docker\n    %{ endif ~}\n    kubeadm join ${var.endpoint} --cri-socket /var/run/dockershim.sock\n  EOF\n  )\n}\nresource \"google_compute_instance\" \"node\" {\n  metadata_startup_script = <<EOT\ndocker pull ${var.image}\nEOT\n}\nlocals {\n  motd = <<EOT\nrun docker ps to see containers\nEOT\n}\n";
        assert_eq!(
            rows("modules/workers/main.tf", FileKind::Terraform, tf),
            [
                "7 shell systemctl enable --now docker",
                "9 shell kubeadm join ${var.endpoint} --cri-socket /var/run/dockershim.sock",
                "9 shell cri-socket=/var/run/dockershim.sock",
                "15 shell docker pull ${var.image}",
            ]
        );
        let pkr = "build {\n  sources = [\"source.amazon-ebs.node\"]\n  provisioner \"shell\" {\n    inline = [\n      \"sudo apt-get install -y docker-ce=5:20.10.*\",\n      \"echo 'KUBELET_EXTRA_ARGS=--container-runtime=docker' | sudo tee /etc/default/kubelet\",\n      \"sudo docker pull k8s.gcr.io/pause:3.5\" # pre-pull\n    ]\n  }\n}\n";
        assert_eq!(
            rows("packer/node.pkr.hcl", FileKind::Terraform, pkr),
            [
                "5 shell sudo apt-get install -y docker-ce=5:20.10.*",
                "6 kubelet-env --container-runtime=docker",
                "7 shell sudo docker pull k8s.gcr.io/pause:3.5"
            ]
        );
        let json = "{\n  \"builders\": [{\"type\": \"amazon-ebs\"}],\n  \"provisioners\": [\n    {\n      \"type\": \"shell\",\n      \"inline\": [\n        \"sudo yum install -y docker\",\n        \"sudo systemctl enable docker\"\n      ]\n    }\n  ]\n}\n";
        assert_eq!(
            rows("packer/worker.pkr.json", FileKind::Packer, json),
            ["7 shell sudo yum install -y docker", "8 shell sudo systemctl enable docker"]
        );
    }

    #[test]
    fn templatefile_calls_and_variable_defaults() {
        // See: issue 12 (Terraform templatefile()).
        let tf = "locals {\n  unit = templatefile(\"${path.module}/templates/kubelet.service.tpl\", {\n    runtime = var.container_runtime # default docker\n    \"dns\" = \"10.0.0.10\",\n    pool = local.pool\n  })\n  other = templatefile(\"${var.dir}/x.tpl\", {})\n  # templatefile(\"commented.tpl\", {})\n  inline = templatefile(\"../shared/kubelet.env.tpl\", { runtime = \"docker\", n = 3 })\n}\n";
        let uses = template_uses("modules/workers/main.tf", tf);
        let summary: Vec<String> = uses
            .iter()
            .map(|u| {
                let vals: Vec<String> = u
                    .values
                    .iter()
                    .map(|(k, e)| match e {
                        Expr::Literal(v) => format!("{k}=\"{v}\""),
                        Expr::Ref { scope: Scope::Dir(d), name } => format!("{k}={d}:{name}"),
                        Expr::Ref { name, .. } => format!("{k}=?{name}"),
                    })
                    .collect();
                format!("{} {:?} {}", u.line, u.template, vals.join(" "))
            })
            .collect();
        assert_eq!(
            summary,
            [
                "2 Relative(\"templates/kubelet.service.tpl\") runtime=modules/workers:var.container_runtime dns=\"10.0.0.10\" pool=modules/workers:local.pool",
                "9 Relative(\"../shared/kubelet.env.tpl\") runtime=\"docker\" n=\"3\"",
            ]
        );
        let vars = "variable \"container_runtime\" {\n  type    = string\n  default = \"docker\" # the old default\n}\nvariable \"required\" {\n  type = string\n}\nvariable \"tags\" {\n  default = {\n    default = \"nested\"\n  }\n}\nvariable \"replicas\" {\n  default = 3\n}\n";
        assert_eq!(
            variable_defaults(vars),
            [
                ("var.container_runtime".to_string(), "docker".to_string(), 3),
                ("var.replicas".to_string(), "3".to_string(), 14)
            ]
        );
    }

    #[test]
    fn module_calls_and_tfvars_set_variables() {
        let root = "module \"workers\" {\n  source            = \"./modules/workers\"\n  container_runtime = \"docker\" # legacy pools\n  cluster_name      = var.name\n  tags = {\n    team = \"platform\"\n  }\n}\nmodule \"remote\" {\n  source = \"git::https://example.com/mod.git\"\n}\n";
        assert_eq!(
            module_calls(root),
            [
                ModuleCall {
                    name: "workers".into(),
                    source: "./modules/workers".into(),
                    line: 1,
                    args: vec![("container_runtime".into(), "docker".into(), 3)],
                },
                ModuleCall {
                    name: "remote".into(),
                    source: "git::https://example.com/mod.git".into(),
                    line: 9,
                    args: vec![]
                },
            ]
        );
        let vars = "# prod\ncontainer_runtime = \"docker\"\nzones = [\n  \"a\",\n]\nreplicas = 3\n";
        assert_eq!(
            tfvars(vars),
            [
                ("var.container_runtime".to_string(), "docker".to_string(), 2),
                ("var.replicas".to_string(), "3".to_string(), 6)
            ]
        );
    }

    #[test]
    fn generated_inputs_do_not_panic() {
        const PIECES: &[&str] = &[
            "user_data = <<-EOF\n",
            "EOF\n",
            "  content = <<EOT\n",
            "EOT\n",
            "inline = [\n",
            "\"docker ps\",\n",
            "\"a\\\"b\"",
            "]\n",
            "#!/bin/bash\n",
            "%{ if x ~}",
            "${var.x}",
            "docker ",
            "\n",
            "  ",
            "é",
            "<<",
            "-",
            "\\",
            "templatefile(",
            "\"${path.module}/t.tpl\", ",
            "{ a = var.b, ",
            "\"k\" = \"v\" }",
            ")",
            "variable \"x\" {\n",
            "default = \"docker\"\n",
            "}\n",
            "//",
        ];
        for_each_generated_text(0x7E44_AF04, 300, 30, PIECES, |text| {
            let mut out = Evidence::default();
            analyze(&Source::file("x.tf", FileKind::Terraform, text), &mut out);
            let _ = template_uses("m/x.tf", text);
            let _ = variable_defaults(text);
            let _ = module_calls(text);
            let _ = tfvars(text);
        });
    }
}
