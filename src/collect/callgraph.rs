//! Who runs a script decides where it runs (issue 12, noise 1). After a repository is analysed,
//! the scripts that units, cron tables, pipelines, Dockerfiles, pod commands and other scripts
//! call pass their caller's context on to the script's `command` records, which then name the
//! call as a related location. A script nobody calls keeps the context its path gives.
//!
//! Bounded: calls are resolved by path suffix or, failing that, by file name within the scanned
//! repository, and contexts travel at most [`MAX_DEPTH`] calls deep. Pure: works on evidence.

use std::collections::{BTreeMap, BTreeSet};

use crate::evidence::context::{Context, ScriptCall};
use crate::evidence::{Evidence, Location, Related, Subject, Value};

/// How many calls deep a caller's context travels (`unit -> a.sh -> b.sh -> c.sh`).
pub const MAX_DEPTH: usize = 4;

/// Passes callers' contexts to the scripts they call (see the module header). `extra` holds calls
/// found outside the analysers (Dockerfile `ENTRYPOINT`/`CMD`/`RUN`).
pub fn apply(ev: &mut Evidence, extra: Vec<ScriptCall>) {
    let mut calls: Vec<ScriptCall> = std::mem::take(&mut ev.calls);
    calls.extend(extra);
    // Container commands that run a script are calls from a workload.
    for r in ev.records.iter().filter(|r| r.subject == Subject::Container) {
        let Some(Value::List(scripts)) = r.get("scripts") else { continue };
        let context = Context::parse(r.str("context")).unwrap_or(Context::Workload);
        for target in scripts {
            calls.push(ScriptCall {
                from: r.location.path.clone().unwrap_or_default(),
                line: r.location.line.unwrap_or(0),
                target: target.clone(),
                context,
                caller_is_script: false,
            });
        }
    }
    if calls.is_empty() {
        ev.calls = calls;
        return;
    }

    // The scripts: files whose commands were recorded as `script`, and scripts that call others.
    let mut own: BTreeMap<String, Context> = BTreeMap::new();
    for r in &ev.records {
        if r.subject == Subject::Command
            && r.str("source") == "script"
            && let (Some(p), Some(c)) = (&r.location.path, Context::parse(r.str("context")))
        {
            own.entry(p.clone()).or_insert(c);
        }
    }
    for c in calls.iter().filter(|c| c.caller_is_script) {
        own.entry(c.from.clone()).or_insert(c.context);
    }
    let scripts: Vec<&String> = own.keys().collect();
    let resolved: Vec<Vec<String>> = calls.iter().map(|c| resolve(&c.target, &c.from, &scripts)).collect();

    // Iterate to a fixed point (bounded): a script's context is its strongest caller's, when a
    // caller says anything, else its own.
    let mut current = own.clone();
    let mut caller_of: BTreeMap<String, (Context, String, u32)> = BTreeMap::new();
    for _ in 0..MAX_DEPTH {
        let mut best: BTreeMap<String, (Context, String, u32)> = BTreeMap::new();
        for (call, targets) in calls.iter().zip(&resolved) {
            let from_ctx = if call.caller_is_script {
                current.get(&call.from).copied().unwrap_or(call.context)
            } else {
                call.context
            };
            if from_ctx == Context::Unknown {
                continue;
            }
            for t in targets {
                let better = best.get(t).is_none_or(|(c, _, _)| from_ctx.rank() > c.rank());
                if better {
                    best.insert(t.clone(), (from_ctx, call.from.clone(), call.line));
                }
            }
        }
        let mut next = own.clone();
        for (t, (c, _, _)) in &best {
            next.insert(t.clone(), *c);
        }
        let stable = next == current;
        current = next;
        caller_of = best;
        if stable {
            break;
        }
    }

    for r in &mut ev.records {
        if r.subject != Subject::Command || r.str("source") != "script" {
            continue;
        }
        let Some(path) = r.location.path.clone() else { continue };
        let Some((context, from, line)) = caller_of.get(&path) else { continue };
        if Context::parse(r.str("context")) == Some(*context) && from == &path {
            continue;
        }
        r.set("context", context.name());
        r.set("called_from", format!("{from}:{line}"));
        r.related.push(Related {
            location: Location::file(from, *line, 1),
            message: format!("runs this script ({})", context.name()),
        });
    }
    ev.calls = calls;
}

/// The scripts a call can mean: those whose path ends with the called path (after `./` and a
/// leading `/`), else those with the same file name. A script never calls itself here.
fn resolve(target: &str, from: &str, scripts: &[&String]) -> Vec<String> {
    let t = target.trim_start_matches("./").trim_start_matches('/');
    if t.is_empty() {
        return Vec::new();
    }
    // Relative to the caller's directory first (`./build.sh` next to the Jenkinsfile).
    let dir = from.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    let joined = if dir.is_empty() { t.to_string() } else { format!("{dir}/{t}") };
    let by_suffix: Vec<String> = scripts
        .iter()
        .filter(|s| s.as_str() != from && (***s == joined || **s == t || s.ends_with(&format!("/{t}"))))
        .map(|s| s.to_string())
        .collect();
    if !by_suffix.is_empty() {
        return by_suffix;
    }
    let name = t.rsplit('/').next().unwrap_or(t);
    let same_name: BTreeSet<String> = scripts
        .iter()
        .filter(|s| s.as_str() != from && s.rsplit('/').next() == Some(name))
        .map(|s| s.to_string())
        .collect();
    same_name.into_iter().collect()
}

/// The scripts a Dockerfile runs: `ENTRYPOINT`/`CMD` run in the container (a workload),
/// `RUN` while the image is built (a build machine). Exec (`["a", "b"]`) and shell forms;
/// `\` continuations joined.
pub fn dockerfile_calls(path: &str, text: &str) -> Vec<ScriptCall> {
    let mut out = Vec::new();
    let mut logical = String::new();
    let mut start = 0u32;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i as u32 + 1;
        if logical.is_empty() {
            start = line_no;
        }
        let trimmed = raw.trim_end();
        if let Some(cont) = trimmed.strip_suffix('\\') {
            logical.push_str(cont);
            logical.push(' ');
            continue;
        }
        logical.push_str(trimmed);
        let instruction = std::mem::take(&mut logical);
        let instruction = instruction.trim_start();
        let (word, rest) = instruction.split_once(char::is_whitespace).unwrap_or((instruction, ""));
        let context = match word.to_ascii_uppercase().as_str() {
            "ENTRYPOINT" | "CMD" => Context::Workload,
            "RUN" => Context::BuildMachine,
            _ => continue,
        };
        let rest = rest.trim();
        let argv: Vec<String> = if rest.starts_with('[') {
            serde_json::from_str::<Vec<String>>(rest).unwrap_or_default()
        } else {
            vec!["sh".into(), "-c".into(), rest.to_string()]
        };
        for cmd in crate::evidence::workload::argv_commands(&argv) {
            if let Some(target) = crate::evidence::context::called_script(&cmd.program, &cmd.args, &cmd.text) {
                out.push(ScriptCall { from: path.to_string(), line: start, target, context, caller_is_script: false });
            }
        }
    }
    out
}

/// Whether a file name is a Dockerfile (`Dockerfile`, `Dockerfile.alpine`, `app.dockerfile`).
pub fn is_dockerfile(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == "dockerfile" || lower.starts_with("dockerfile.") || lower.ends_with(".dockerfile")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Record;

    fn script_cmd(path: &str, line: u32, ctx: &str) -> Record {
        Record::new(Subject::Command, Location::file(path, line, 1), "docker system prune -af")
            .with("source", "script")
            .with("program", "docker")
            .with("context", ctx)
    }

    fn call(from: &str, line: u32, target: &str, context: Context, caller_is_script: bool) -> ScriptCall {
        ScriptCall { from: from.into(), line, target: target.into(), context, caller_is_script }
    }

    #[test]
    fn a_unit_makes_its_script_and_what_that_script_calls_node_scripts() {
        let mut ev = Evidence::default();
        ev.records.push(script_cmd("scripts/prune.sh", 3, "unknown"));
        ev.records.push(script_cmd("scripts/lib/clean.sh", 5, "unknown"));
        ev.records.push(script_cmd("hack/build.sh", 2, "build-machine"));
        ev.calls.push(call("systemd/prune.service", 6, "/opt/ops/prune.sh", Context::Node, false));
        ev.calls.push(call("scripts/prune.sh", 9, "./lib/clean.sh", Context::Unknown, true));
        apply(&mut ev, Vec::new());
        let ctx: Vec<(&str, &str)> =
            ev.records.iter().map(|r| (r.location.path.as_deref().unwrap(), r.str("context"))).collect();
        assert_eq!(
            ctx,
            [("scripts/prune.sh", "node"), ("scripts/lib/clean.sh", "node"), ("hack/build.sh", "build-machine")]
        );
        assert_eq!(ev.records[0].str("called_from"), "systemd/prune.service:6");
        assert_eq!(ev.records[1].str("called_from"), "scripts/prune.sh:9");
    }

    #[test]
    fn an_entrypoint_makes_a_hack_script_a_workload_script_and_unknown_callers_change_nothing() {
        let mut ev = Evidence::default();
        ev.records.push(script_cmd("hack/entry.sh", 3, "build-machine"));
        ev.records.push(script_cmd("tools/x.sh", 3, "unknown"));
        ev.calls.push(call("tools/y.sh", 2, "x.sh", Context::Unknown, true));
        let extra = dockerfile_calls(
            "images/agent/Dockerfile",
            "FROM alpine:3.19\nRUN ./tools/x-setup.sh && \\\n    echo ok\nCOPY hack/entry.sh /usr/local/bin/\nENTRYPOINT [\"/usr/local/bin/entry.sh\", \"--serve\"]\n",
        );
        assert_eq!(extra.len(), 2, "{extra:?}");
        assert_eq!((extra[1].line, extra[1].context), (5, Context::Workload));
        apply(&mut ev, extra);
        assert_eq!(ev.records[0].str("context"), "workload");
        assert_eq!(ev.records[1].str("context"), "unknown");
    }
}
