//! Terraform and Packer (HCL) files: the bodies they hand to machines. Place in the pipeline: an
//! analyser of one text; each body goes through [`super::embedded`] at the lines of the `.tf` file.
//!
//! - Heredocs (`user_data = <<-EOF`, `content = <<EOT`, `base64encode(<<EOF`): the body is a
//!   script, cloud-init user data, a unit... by its content; a body of a startup-script attribute
//!   (`user_data`, `custom_data`, `metadata_startup_script`, `startup_script`) without a shebang is
//!   a script. Terraform's `%{ }` directives are blanked; `${ }` interpolations are left as text.
//! - Packer `inline = ["...", ...]` provisioner commands: each string is a shell command line.
//!
//! `templatefile("kubelet.service.tpl", ...)` needs nothing here: the template file itself is read
//! as the file its name (or content) says.

use super::embedded::{self, Body};
use super::source::Source;
use super::text::mask_template_directives;
use crate::evidence::Evidence;
use crate::evidence::context;
use crate::evidence::file_kind::FileKind;

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
        ];
        for_each_generated_text(0x7E44_AF04, 300, 30, PIECES, |text| {
            let mut out = Evidence::default();
            analyze(&Source::file("x.tf", FileKind::Terraform, text), &mut out);
        });
    }
}
