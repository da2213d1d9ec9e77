//! Ansible role variables behind package tasks (issue 12): a task of `roles/R/tasks/*.yml` that
//! installs `name: "{{ docker_packages }}"` (or loops over `with_items: "{{ docker_packages }}"`)
//! whose list its own file does not set installs the list the role sets in
//! `roles/R/vars/main.yml` or `roles/R/defaults/main.yml`. After a repository root is analysed,
//! each such install record is replaced by one at the list entry's line in that file, naming the
//! task as related location, so the install rule reads the real package names.
//!
//! Bounded and confined: only `vars/main.y*ml` and `defaults/main.y*ml` of roles (at most
//! [`MAX_ROLES`]) and the task files of those roles whose variables pass the rules' prefilter (at
//! most 64 each), all found by the walker in the scanned tree and read under the size cap; a list
//! nothing resolves leaves the record as it was.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use serde_json::Value as Json;

use crate::bounded_read as read;
use crate::evidence::{Evidence, Location, Record, Related, Subject};
use crate::parse::yaml;

/// Where a role sets its variables, strongest first (`vars/` overrides `defaults/`).
const VAR_FILES: &[&str] = &["vars/main.yml", "vars/main.yaml", "defaults/main.yml", "defaults/main.yaml"];

/// The variable an unresolved package install record names (`install {{ docker_packages }}`)
/// and the role directory of its task file (`roles/docker`).
fn unresolved(r: &Record) -> Option<(&str, &str)> {
    if r.subject != Subject::Command || r.str("program") != "package" {
        return None;
    }
    let var = r.str("args").strip_prefix("install ")?.trim().strip_prefix("{{")?.strip_suffix("}}")?.trim();
    if var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let path = r.location.path.as_deref()?;
    let role = ["/tasks/", "/handlers/"].iter().find_map(|d| path.find(d).map(|i| &path[..i]))?;
    let parent = role.rsplit_once('/').map_or("", |(p, _)| p);
    (parent == "roles" || parent.ends_with("/roles")).then_some((var, role))
}

/// Most roles whose variables are read in one scan, and task files read per role.
pub const MAX_ROLES: usize = 500;
const MAX_TASK_FILES: usize = 64;

/// Analyses an Ansible task file as YAML whatever the rules' literal prefilter says of it:
/// (repository path, text) -> its records.
pub type AnalyzeTasks<'f> = dyn Fn(&str, &str) -> Evidence + 'f;

/// Resolves the package lists of the unresolved install records of `ev` (see the module header).
/// `files` maps the repository path of every file the walker found to where it is on disk;
/// `may_match` is the rules' literal prefilter for YAML. A role whose variables files pass it has
/// its task files analysed again when the prefilter skipped them (a task file naming only
/// `{{ docker_packages }}` holds no literal any rule looks for), and only their resolved install
/// records are kept.
pub fn apply(
    ev: &mut Evidence,
    files: &BTreeMap<String, PathBuf>,
    max_file_size: u64,
    may_match: &dyn Fn(&str) -> bool,
    analyze_tasks: &AnalyzeTasks<'_>,
) {
    let mut texts: HashMap<String, Option<String>> = HashMap::new();
    let mut read_text = |rel: &str| -> Option<String> {
        texts
            .entry(rel.to_string())
            .or_insert_with(|| {
                files
                    .get(rel)
                    .and_then(|abs| read::walked_regular(abs, max_file_size).ok())
                    .filter(|b| !read::looks_binary(b))
                    .map(read::decode_text)
            })
            .clone()
    };
    // Each role with a variables file, and that file's texts.
    let mut roles: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for rel in files.keys() {
        let Some(role) = VAR_FILES.iter().find_map(|f| rel.strip_suffix(&format!("/{f}"))) else { continue };
        let parent = role.rsplit_once('/').map_or("", |(p, _)| p);
        if !(parent == "roles" || parent.ends_with("/roles")) || roles.len() >= MAX_ROLES {
            continue;
        }
        if let Some(text) = read_text(rel) {
            let entry = roles.entry(role.to_string()).or_default();
            entry.push((rel.clone(), text));
            entry.sort_by_key(|(f, _)| VAR_FILES.iter().position(|v| f.ends_with(v)).unwrap_or(usize::MAX));
        }
    }
    if roles.is_empty() {
        return;
    }
    let with_records: std::collections::HashSet<String> =
        ev.records.iter().filter_map(|r| r.location.path.clone()).collect();
    // Task files the prefilter skipped, of roles whose variables may matter.
    let mut extra = Vec::new();
    for (role, vars) in &roles {
        if !vars.iter().any(|(_, t)| may_match(t)) {
            continue;
        }
        let prefix = format!("{role}/");
        let tasks: Vec<&String> = files
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k)
            .filter(|k| {
                let rest = &k[prefix.len()..];
                (rest.starts_with("tasks/") || rest.starts_with("handlers/"))
                    && (k.ends_with(".yml") || k.ends_with(".yaml"))
            })
            .take(MAX_TASK_FILES)
            .collect();
        for t in tasks {
            if with_records.contains(t.as_str()) {
                continue;
            }
            let Some(text) = read_text(t) else { continue };
            let sub = analyze_tasks(t, &text);
            extra.extend(sub.records.into_iter().filter(|r| unresolved(r).is_some()));
        }
    }
    let mut resolved_extra = Vec::new();
    for (r, is_extra) in ev.records.iter_mut().map(|r| (r, false)).chain(extra.iter_mut().map(|r| (r, true))) {
        let Some((var, role)) = unresolved(r) else { continue };
        let (var, role) = (var.to_string(), role.to_string());
        let Some(vars) = roles.get(&role) else { continue };
        if let Some(resolved) = vars.iter().find_map(|(rel, text)| resolve(r, &var, rel, text)) {
            if is_extra {
                resolved_extra.push(resolved);
            } else {
                *r = resolved;
            }
        }
    }
    ev.records.extend(resolved_extra);
}

/// The record `r` installing the list `var` set in the role variables file `rel`.
fn resolve(r: &Record, var: &str, rel: &str, text: &str) -> Option<Record> {
    let docs = yaml::parse_documents(text).ok()?;
    let doc = docs.iter().find(|d| d.value.get(var).is_some())?;
    let scalars = doc.value.as_object()?;
    let expand = |s: &str| -> String {
        // `docker-{{ docker_edition }}` with a string variable of the same file.
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find("{{") {
            let Some(len) = rest[i..].find("}}").map(|n| n + 2) else { break };
            let tag = &rest[i..i + len];
            let name = tag[2..tag.len() - 2].trim();
            let value = scalars.get(name).and_then(Json::as_str).filter(|v| !v.contains("{{")).unwrap_or(tag);
            out.push_str(&rest[..i]);
            out.push_str(value);
            rest = &rest[i + len..];
        }
        out.push_str(rest);
        out
    };
    let ptr = format!("/{}", yaml::pointer_token(var));
    let (names, ptrs): (Vec<String>, Vec<String>) = match doc.value.pointer(&ptr)? {
        Json::Array(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| Some((expand(v.as_str()?.trim()), format!("{ptr}/{i}"))))
            .filter(|(n, _)| !n.is_empty())
            .unzip(),
        Json::String(s) => {
            let list: Vec<String> = s.split(',').map(str::trim).filter(|n| !n.is_empty()).map(&expand).collect();
            let ptrs = vec![ptr.clone(); list.len()];
            (list, ptrs)
        }
        _ => return None,
    };
    if names.is_empty() {
        return None;
    }
    let item = names.iter().position(|n| n.starts_with("docker") || n.starts_with("moby")).unwrap_or(0);
    let at = doc.pos(&ptrs[item]);
    let module = r.str("text").split_whitespace().next().unwrap_or("package").to_string();
    let args = format!("install {}", names.join(" "));
    let mut out = r.clone();
    out.location = Location::file(rel, at.line, at.column);
    out.snippet = text.lines().nth(at.line.saturating_sub(1) as usize).unwrap_or("").trim().to_string();
    out.set("text", format!("{module} {args}"));
    out.set("args", args);
    let task = r.location.describe();
    let provenance = match r.get("provenance").map(|v| v.display()) {
        Some(p) if !p.is_empty() => format!("{p} at {task}, list {var}"),
        _ => format!("installed by the task at {task}, list {var}"),
    };
    out.set("provenance", provenance);
    out.related.push(Related { location: r.location.clone(), message: format!("the task that installs {var}") });
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Location;

    fn task(path: &str, args: &str) -> Record {
        Record::new(Subject::Command, Location::file(path, 12, 7), "name: \"{{ docker_packages }}\"")
            .with("program", "package")
            .with("args", args)
            .with("text", format!("apt {args}"))
            .with("provenance", "in an Ansible apt task")
    }

    #[test]
    fn a_role_list_resolves_the_task_at_the_entry_line() {
        let r = task("ansible/roles/docker/tasks/main.yml", "install {{ docker_packages }}");
        assert_eq!(unresolved(&r), Some(("docker_packages", "ansible/roles/docker")));
        let defaults = "docker_edition: ce\ndocker_packages:\n  - \"docker-{{ docker_edition }}\"\n  - containerd.io\n";
        let got = resolve(&r, "docker_packages", "ansible/roles/docker/defaults/main.yml", defaults).expect("resolves");
        assert_eq!(got.location.line, Some(3));
        assert_eq!(got.str("args"), "install docker-ce containerd.io");
        assert_eq!(got.str("text"), "apt install docker-ce containerd.io");
        assert_eq!(got.related[0].location.line, Some(12));
        assert!(got.str("provenance").contains("list docker_packages"), "{}", got.str("provenance"));
    }

    #[test]
    fn only_tasks_of_a_role_and_only_lists() {
        assert_eq!(unresolved(&task("playbooks/site.yml", "install {{ pkgs }}")), None);
        assert_eq!(unresolved(&task("roles/x/tasks/main.yml", "install docker-ce")), None);
        assert_eq!(unresolved(&task("roles/x/tasks/main.yml", "install {{ a | default([]) }}")), None);
        let r = task("roles/x/tasks/main.yml", "install {{ pkgs }}");
        assert!(resolve(&r, "pkgs", "roles/x/defaults/main.yml", "pkgs: {a: 1}\n").is_none());
        assert!(resolve(&r, "pkgs", "roles/x/defaults/main.yml", "other: [docker-ce]\n").is_none());
    }
}
