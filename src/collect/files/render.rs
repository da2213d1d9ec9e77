//! Renders a template with the values its caller passes (issue 12): Terraform `${name}` or Jinja
//! `{{ name }}` places whose name has a resolved value are replaced by it; everything else (other
//! interpolations, `%{ }`/`{% %}` directives, names without a value) stays as written, so the
//! analyser of the template's kind reads it as it reads the unrendered file. Lines never move: a
//! value holding a line break is not substituted. Place in the pipeline: between the repository
//! collector, which resolves the values, and the analysers. Pure.

use crate::evidence::template_use::TemplateSyntax;

/// The rendered text and, for each 1-based line where a value went in, the names substituted there.
pub fn render(text: &str, syntax: TemplateSyntax, values: &[(String, String)]) -> (String, Vec<(u32, Vec<String>)>) {
    let (open, close) = match syntax {
        TemplateSyntax::Terraform => ("${", "}"),
        TemplateSyntax::Jinja => ("{{", "}}"),
    };
    let mut out = String::with_capacity(text.len());
    let mut lines: Vec<(u32, Vec<String>)> = Vec::new();
    let mut line = 1u32;
    let mut rest = text;
    while let Some(i) = rest.find(open) {
        let before = &rest[..i];
        line += before.matches('\n').count() as u32;
        out.push_str(before);
        let after = &rest[i + open.len()..];
        // `$${` is Terraform's escape for a literal `${`.
        let escaped = syntax == TemplateSyntax::Terraform && before.ends_with('$');
        let Some(len) = after.find(close).filter(|_| !escaped) else {
            out.push_str(open);
            rest = after;
            continue;
        };
        let inner = &after[..len];
        let name = inner.trim_matches(|c: char| c == '-' || c == '~' || c.is_whitespace());
        let name = match syntax {
            TemplateSyntax::Jinja => name.split('|').next().unwrap_or(name).trim(),
            TemplateSyntax::Terraform => name,
        };
        match values.iter().find(|(k, v)| k == name && !v.contains('\n')).filter(|_| !inner.contains('\n')) {
            Some((k, v)) => {
                out.push_str(v);
                match lines.last_mut() {
                    Some((l, names)) if *l == line => names.push(k.clone()),
                    _ => lines.push((line, vec![k.clone()])),
                }
            }
            None => {
                out.push_str(open);
                out.push_str(inner);
                out.push_str(close);
                line += inner.matches('\n').count() as u32;
            }
        }
        rest = &after[len + close.len()..];
    }
    out.push_str(rest);
    (out, lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vals(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn terraform_places_with_values_are_filled_and_lines_stay() {
        let tpl = "ExecStart=/usr/bin/kubelet \\\n  --container-runtime=${runtime} \\\n  --cluster-dns=${ cluster_dns }\n%{ if x ~}\n$${runtime} ${unknown}\n";
        let (text, lines) =
            render(tpl, TemplateSyntax::Terraform, &vals(&[("runtime", "docker"), ("cluster_dns", "10.0.0.10")]));
        assert_eq!(
            text,
            "ExecStart=/usr/bin/kubelet \\\n  --container-runtime=docker \\\n  --cluster-dns=10.0.0.10\n%{ if x ~}\n$${runtime} ${unknown}\n"
        );
        assert_eq!(lines, [(2, vec!["runtime".to_string()]), (3, vec!["cluster_dns".to_string()])]);
    }

    #[test]
    fn jinja_places_with_filters_and_values_with_line_breaks() {
        let tpl = "A={{ runtime }} B={{- kube.runtime | default('x') -}}\nC={{ multi }}\nD={{ unclosed\n";
        let (text, lines) = render(
            tpl,
            TemplateSyntax::Jinja,
            &vals(&[("runtime", "docker"), ("kube.runtime", "cri"), ("multi", "a\nb")]),
        );
        assert_eq!(text, "A=docker B=cri\nC={{ multi }}\nD={{ unclosed\n");
        assert_eq!(lines, [(1, vec!["runtime".to_string(), "kube.runtime".to_string()])]);
    }
}
