//! Makefiles (`Makefile`, `GNUmakefile`, `*.mk`): their recipe lines are shell. Place in the
//! pipeline: an analyser that turns one Makefile into the records of its recipes' commands; no I/O
//! and no rule logic.
//!
//! The recipes are cut out at their own lines (rule lines, variable assignments, directives and
//! `define` blocks blanked), their `@`/`-`/`+` prefixes dropped, the Makefile's simple variables
//! expanded where a recipe uses them (`DOCKER ?= docker` makes `$(DOCKER) build` a docker
//! command; `$$` is the shell's `$`), and the result read by the shell analyser.
//!
//! Where the commands run: a Makefile is run on a developer's machine or a CI runner to build and
//! publish images (`docker build`/`push` in image targets), so its commands are in the
//! `build-machine` context — silent unless `--include-build-scripts` — unless its path says it
//! provisions nodes (`roles/`, `bootstrap/`, ...). Scripts a recipe runs (`./hack/build.sh`) get
//! that context through the call graph.

use std::collections::HashMap;

use super::source::Source;
use crate::evidence::Evidence;
use crate::evidence::context::{self, Context};
use crate::evidence::file_kind::FileKind;

/// Deepest chain of variables whose values name other variables that is followed.
const MAX_DEPTH: usize = 4;

/// Analyses one Makefile.
pub fn analyze(src: &Source<'_>, out: &mut Evidence) {
    let recipes = recipe_text(src.text);
    if recipes.trim().is_empty() {
        return;
    }
    let context = src.context.or_else(|| context::from_path(src.path)).unwrap_or(Context::BuildMachine);
    let mut sub = Evidence::default();
    src.embedded(FileKind::Shell, &recipes, 0).in_context(context).analyze(&mut sub);
    for r in &mut sub.records {
        if r.str("file_kind") == FileKind::Shell.name() {
            r.set("file_kind", FileKind::Makefile.name());
        }
        // Snippets show the Makefile as written.
        if let Some(line) = r.location.line.and_then(|l| l.checked_sub(src.line_offset)) {
            r.snippet = src.line(line).trim().to_string();
        }
    }
    out.merge(sub);
}

/// The Makefile with only its recipes left, as shell, line for line.
fn recipe_text(text: &str) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let vars = variables(&lines);
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut in_rule = false;
    let mut in_define = false;
    let mut continued = false; // the previous line ended with `\`
    let mut continued_recipe = false;
    for line in &lines {
        let was_continued = continued;
        continued = line.ends_with('\\');
        let trimmed = line.trim_start();
        if in_define {
            in_define = trimmed.trim_end() != "endef";
            out.push(String::new());
            continue;
        }
        if was_continued {
            // The rest of a logical line: a recipe's continuation is shell too.
            out.push(if continued_recipe { expand(line, &vars, 0) } else { String::new() });
            continue;
        }
        continued_recipe = false;
        if let Some(recipe) = line.strip_prefix('\t').filter(|_| in_rule) {
            let body = recipe.trim_start_matches(['@', '-', '+', ' ', '\t']);
            let lead = line.len() - body.len();
            out.push(format!("{}{}", " ".repeat(lead), expand(body, &vars, 0)));
            continued_recipe = true;
            continue;
        }
        out.push(String::new());
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let word = trimmed.split_whitespace().next().unwrap_or("");
        if matches!(
            word,
            "ifeq" | "ifneq" | "ifdef" | "ifndef" | "else" | "endif" | "include" | "-include" | "sinclude"
        ) {
            continue;
        }
        if word == "define" || trimmed.starts_with("define ") {
            in_define = true;
            continue;
        }
        in_rule = is_rule_line(trimmed);
    }
    out.join("\n")
}

/// `targets: prerequisites` (also `a b:: c`, `%.o: %.c`), not an assignment (`A := b`, `A = b:c`).
fn is_rule_line(line: &str) -> bool {
    let Some(colon) = line.find(':') else { return false };
    let before = &line[..colon];
    let after = &line[colon + 1..];
    !before.contains('=') && !after.starts_with('=') && !before.trim().is_empty()
}

/// The simple variable assignments of a Makefile (`NAME = v`, `:=`, `::=`, `?=`, with `export`
/// or `override` before), the last one of each name winning.
fn variables(lines: &[&str]) -> HashMap<String, String> {
    let mut vars = HashMap::new();
    for line in lines {
        if line.starts_with('\t') {
            continue;
        }
        let l = line.trim();
        let l = l.strip_prefix("export ").or_else(|| l.strip_prefix("override ")).unwrap_or(l).trim_start();
        let Some(eq) = l.find('=') else { continue };
        let (name, op) = {
            let head = &l[..eq];
            let name = head.trim_end_matches([':', '?', '+', '!']).trim();
            (name, &head[name.len()..])
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.') {
            continue;
        }
        let value = l[eq + 1..].trim().to_string();
        match op.trim() {
            "?" => {
                vars.entry(name.to_string()).or_insert(value);
            }
            "+" => {
                let v = vars.entry(name.to_string()).or_default();
                if !v.is_empty() {
                    v.push(' ');
                }
                v.push_str(&value);
            }
            "" | ":" | "::" => {
                vars.insert(name.to_string(), value);
            }
            _ => {}
        }
    }
    vars
}

/// A recipe line with `$(NAME)`/`${NAME}` of the Makefile's variables expanded and `$$` made `$`;
/// automatic variables and functions (`$@`, `$(shell …)`) stay as written.
fn expand(text: &str, vars: &HashMap<String, String>, depth: usize) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
            continue;
        }
        let close = match after.chars().next() {
            Some('(') => ')',
            Some('{') => '}',
            _ => {
                out.push('$');
                rest = after;
                continue;
            }
        };
        match after[1..].find(close) {
            Some(end) if depth < MAX_DEPTH && vars.contains_key(&after[1..1 + end]) => {
                out.push_str(&expand(&vars[&after[1..1 + end]], vars, depth + 1));
                rest = &after[end + 2..];
            }
            _ => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Subject;

    fn commands(path: &str, text: &str) -> Vec<String> {
        let src = Source::file(path, FileKind::Makefile, text);
        let mut ev = Evidence::default();
        analyze(&src, &mut ev);
        ev.records
            .iter()
            .filter(|r| r.subject == Subject::Command)
            .map(|r| {
                format!(
                    "{} {} {} {} {}",
                    r.location.line.unwrap(),
                    r.str("program"),
                    r.str("subcommand"),
                    r.str("context"),
                    r.str("file_kind")
                )
            })
            .collect()
    }

    #[test]
    fn recipes_are_shell_with_make_variables_expanded() {
        let text = "IMAGE ?= registry.acme.io/app\nDOCKER ?= docker\nTAG := $(shell git describe)\n\n.PHONY: image push\nimage: ## Build the image\n\t@$(DOCKER) build -t $(IMAGE):$(TAG) .\n\npush: image\n\t-$(DOCKER) push $(IMAGE):$(TAG) && \\\n\t  docker rmi $(IMAGE):$(TAG)\n\ndefine HELP\ndocker ps\nendef\nifeq ($(CI),true)\nall: image\nendif\nclean:\n\trm -rf bin/ # docker system prune\n\tfor c in $$(docker ps -q); do echo $$c; done\n";
        assert_eq!(
            commands("Makefile", text),
            [
                "7 docker build build-machine makefile",
                "10 docker push build-machine makefile",
                "11 docker rmi build-machine makefile",
                "21 docker ps build-machine makefile"
            ]
        );
    }

    #[test]
    fn a_makefile_that_provisions_nodes_is_in_their_context() {
        let text = "node:\n\tsystemctl enable --now docker\n";
        assert_eq!(commands("roles/node/files/Makefile", text), ["2 systemctl enable node makefile"]);
        assert_eq!(
            expand("$(A) $$B ${C} $(D)", &HashMap::from([("A".into(), "$(C)".into()), ("C".into(), "c".into())]), 0),
            "c $B c $(D)"
        );
    }
}
