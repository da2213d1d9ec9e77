//! Ansible task lists and playbooks: the shell text of `shell`, `command` and `raw` tasks (short or
//! `ansible.builtin.` names, free-form or `cmd:`), analysed like a shell script at the task's line.
//! Reached from the YAML analyser for documents whose root is a list of tasks or plays.

use serde_json::Value as Json;

use super::source::Source;
use crate::evidence::Evidence;
use crate::evidence::context::Context;
use crate::evidence::file_kind::FileKind;
use crate::parse::yaml::{YamlDoc, pointer_token};

/// Task keys whose value is shell text.
const COMMAND_MODULES: &[&str] = &[
    "shell",
    "command",
    "raw",
    "ansible.builtin.shell",
    "ansible.builtin.command",
    "ansible.builtin.raw",
    "ansible.legacy.shell",
    "ansible.legacy.command",
];

/// Task keys that write a file's content: `(module, content argument)`.
const FILE_MODULES: &[(&str, &str)] = &[
    ("copy", "content"),
    ("ansible.builtin.copy", "content"),
    ("blockinfile", "block"),
    ("ansible.builtin.blockinfile", "block"),
    ("lineinfile", "line"),
    ("ansible.builtin.lineinfile", "line"),
];

/// Task keys installing packages (`name`/`pkg`: one, a list, or comma-separated).
const PACKAGE_MODULES: &[&str] = &[
    "apt",
    "yum",
    "dnf",
    "package",
    "zypper",
    "apk",
    "ansible.builtin.apt",
    "ansible.builtin.yum",
    "ansible.builtin.dnf",
    "ansible.builtin.package",
    "ansible.legacy.apt",
    "ansible.legacy.yum",
    "ansible.legacy.dnf",
    "ansible.legacy.package",
    "community.general.zypper",
    "community.general.apk",
];

/// Task keys installing a cron job whose `job` is a command.
const CRON_MODULES: &[&str] = &["cron", "ansible.builtin.cron"];

/// Keys of a play or block holding more tasks.
const TASK_LISTS: &[&str] = &["tasks", "pre_tasks", "post_tasks", "handlers", "block", "rescue", "always"];

/// Whether a YAML document looks like Ansible: a list whose items are plays (`hosts` with tasks)
/// or tasks (a command module, or a `name` with a `block`).
pub fn is_ansible(value: &Json) -> bool {
    let Some(items) = value.as_array() else { return false };
    items.iter().filter_map(Json::as_object).any(|m| {
        (m.contains_key("hosts") && TASK_LISTS.iter().any(|k| m.contains_key(*k)))
            || COMMAND_MODULES.iter().any(|k| m.contains_key(*k))
            || FILE_MODULES.iter().any(|(k, _)| m.get(*k).is_some_and(Json::is_object))
            || CRON_MODULES.iter().any(|k| m.get(*k).is_some_and(|c| c.get("job").is_some()))
            || PACKAGE_MODULES.iter().any(|k| m.get(*k).is_some_and(|p| p.get("name").is_some() || p.is_string()))
            || TASK_LISTS.iter().any(|k| m.get(*k).is_some_and(Json::is_array))
    })
}

/// `command` records (through the shell analyser) for every command task of the list at `ptr`,
/// descending into plays and blocks.
pub fn analyze_tasks(src: &Source<'_>, doc: &YamlDoc, value: &Json, ptr: &str, out: &mut Evidence) {
    tasks_in(src, doc, value, ptr, &Scope::default(), out);
}

/// The variables a task sees in its own file: `vars:` of its plays and blocks and its own, with
/// their JSON pointers (innermost last).
#[derive(Default, Clone)]
struct Scope<'a> {
    vars: Vec<(&'a str, &'a Json, String)>,
}

impl<'a> Scope<'a> {
    /// This scope with the `vars:` mapping of the play, block or task at `ptr` added.
    fn with_vars_of(&self, item: &'a serde_json::Map<String, Json>, ptr: &str) -> Scope<'a> {
        let mut scope = self.clone();
        if let Some(vars) = item.get("vars").and_then(Json::as_object) {
            for (k, v) in vars {
                scope.vars.push((k.as_str(), v, format!("{ptr}/vars/{}", pointer_token(k))));
            }
        }
        scope
    }

    /// The innermost definition of `name`.
    fn get(&self, name: &str) -> Option<(&'a Json, &str)> {
        self.vars.iter().rev().find(|(k, _, _)| *k == name).map(|(_, v, p)| (*v, p.as_str()))
    }
}

fn tasks_in<'a>(src: &Source<'_>, doc: &YamlDoc, value: &'a Json, ptr: &str, scope: &Scope<'a>, out: &mut Evidence) {
    let Some(items) = value.as_array() else { return };
    for (i, item) in items.iter().enumerate() {
        let Some(task) = item.as_object() else { continue };
        let item_ptr = format!("{ptr}/{i}");
        let scope = scope.with_vars_of(task, &item_ptr);
        for key in TASK_LISTS {
            if let Some(list) = task.get(*key).filter(|v| v.is_array()) {
                tasks_in(src, doc, list, &format!("{item_ptr}/{key}"), &scope, out);
            }
        }
        for module in COMMAND_MODULES {
            let Some(arg) = task.get(*module) else { continue };
            let (text, text_ptr) = match arg {
                Json::String(s) => (s.as_str(), format!("{item_ptr}/{}", pointer_token(module))),
                Json::Object(o) => match o.get("cmd").and_then(Json::as_str) {
                    Some(s) => (s, format!("{item_ptr}/{}/cmd", pointer_token(module))),
                    None => continue,
                },
                _ => continue,
            };
            command_text(src, doc, text, &text_ptr, out);
        }
        for (module, arg) in FILE_MODULES {
            let Some(args) = task.get(*module).and_then(Json::as_object) else { continue };
            let Some(body) = args.get(*arg).and_then(Json::as_str) else { continue };
            let dest = args.get("dest").or_else(|| args.get("path")).and_then(Json::as_str);
            let ptr = format!("{item_ptr}/{}/{arg}", pointer_token(module));
            let how = format!("Ansible {}", module.rsplit('.').next().unwrap_or(module));
            let b = super::embedded::Body { text: body, target: dest, line_offset: 0, how: &how };
            super::embedded::analyze_scalar(src, doc, &ptr, b, None, out);
        }
        for module in PACKAGE_MODULES {
            if let Some(args) = task.get(*module) {
                let place = Place { task, task_ptr: &item_ptr, scope: &scope };
                package_task(src, doc, args, &format!("{item_ptr}/{}", pointer_token(module)), module, &place, out);
            }
        }
        for module in CRON_MODULES {
            let Some(job) = task.get(*module).and_then(|c| c.get("job")).and_then(Json::as_str) else { continue };
            let ptr = format!("{item_ptr}/{}/job", pointer_token(module));
            let mut sub = Evidence::default();
            command_text(src, doc, job, &ptr, &mut sub);
            for r in &mut sub.records {
                if r.str("source") == "script" {
                    r.set("source", "cron");
                }
            }
            out.merge(sub);
        }
    }
}

/// Where a package task sits: the task itself (its loop) and the variables it sees.
struct Place<'a, 'b> {
    task: &'a serde_json::Map<String, Json>,
    task_ptr: &'b str,
    scope: &'b Scope<'a>,
}

/// Keys of a task that loop over items (`{{ item }}`).
const LOOP_KEYS: &[&str] = &["loop", "with_items", "with_list"];

/// A package task (`apt: {name: [docker-ce], state: present}`, or free-form
/// `apt: name=docker-ce state=present`): one install record at the first Docker-looking name (the
/// first name otherwise), unless the task removes the packages. A name that is a template of the
/// task's loop item (`name: "{{ item }}"` with `loop:`/`with_items:`) or of a list variable of
/// the same file (`name: "{{ docker_packages }}"` with `vars:`) is that list, reported at the
/// list entry's line.
fn package_task(
    src: &Source<'_>,
    doc: &YamlDoc,
    args: &Json,
    ptr: &str,
    module: &str,
    place: &Place<'_, '_>,
    out: &mut Evidence,
) {
    let (names, state, name_ptr) = match args {
        Json::Object(o) => {
            let key = if o.contains_key("name") { "name" } else { "pkg" };
            let Some(v) = o.get(key) else { return };
            (super::packages::names(v), o.get("state").and_then(Json::as_str).map(String::from), format!("{ptr}/{key}"))
        }
        Json::String(free) => {
            let mut names = Vec::new();
            let mut state = None;
            for word in free.split_whitespace() {
                match word.split_once('=') {
                    Some(("name" | "pkg", v)) => names = super::packages::names(&Json::String(v.to_string())),
                    Some(("state", v)) => state = Some(v.to_string()),
                    _ => {}
                }
            }
            (names, state, ptr.to_string())
        }
        _ => return,
    };
    if names.is_empty() || super::packages::removes(state.as_deref()) {
        return;
    }
    // The names and the pointer of each, when they come from a loop or a variable.
    let (names, name_ptrs) = match resolve_names(&names, place) {
        Some(resolved) => resolved,
        None => {
            let ptrs = match doc.value.pointer(&name_ptr) {
                Some(Json::Array(_)) => (0..names.len()).map(|i| format!("{name_ptr}/{i}")).collect(),
                _ => vec![name_ptr.clone(); names.len()],
            };
            (names, ptrs)
        }
    };
    if names.is_empty() {
        return;
    }
    let item = names.iter().position(|n| n.starts_with("docker") || n.starts_with("moby")).unwrap_or(0);
    let at = doc.pos(&name_ptrs[item]);
    let short = module.rsplit('.').next().unwrap_or(module);
    let context = src.context.unwrap_or(Context::Node);
    let how = format!("an Ansible {short} task");
    let r = super::packages::install_record(src, (at.line, at.column), ("package", short), &names, &how, context);
    out.records.push(r);
}

/// `{{ name }}` (spaces optional) to `name`; `None` for any other text.
fn template_var(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?.trim();
    inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.').then_some(inner).filter(|v| !v.is_empty())
}

/// The package names a task's single templated name stands for: the entries of its loop
/// (`{{ item }}`, `{{ item.name }}`, or the `loop_control.loop_var` name) or of a list variable in scope (`{{ docker_packages }}`),
/// each with its JSON pointer. `None` when the name is not such a template or nothing resolves it.
fn resolve_names(names: &[String], place: &Place<'_, '_>) -> Option<(Vec<String>, Vec<String>)> {
    let [name] = names else { return None };
    let var = template_var(name)?;
    // `loop_control: {loop_var: pkg}` renames `item`.
    let item = place.task.get("loop_control").and_then(|c| c.get("loop_var")).and_then(Json::as_str).unwrap_or("item");
    let (list, list_ptr, field) = if var == item {
        let (value, ptr) = loop_list(place)?;
        (value, ptr, None)
    } else if let Some(field) = var.strip_prefix(item).and_then(|f| f.strip_prefix('.')) {
        let (value, ptr) = loop_list(place)?;
        (value, ptr, Some(field))
    } else {
        let (value, ptr) = place.scope.get(var)?;
        (value, ptr.to_string(), None)
    };
    let entries: Vec<(String, String)> = match list {
        Json::Array(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                let v = match field {
                    Some(f) => v.get(f)?,
                    None => v,
                };
                let n = v.as_str()?;
                let ptr = match field {
                    Some(f) => format!("{list_ptr}/{i}/{}", pointer_token(f)),
                    None => format!("{list_ptr}/{i}"),
                };
                Some((expand_scalars(n, place.scope), ptr))
            })
            .collect(),
        Json::String(s) if field.is_none() => super::packages::names(&Json::String(expand_scalars(s, place.scope)))
            .into_iter()
            .map(|n| (n, list_ptr.clone()))
            .collect(),
        _ => return None,
    };
    (!entries.is_empty()).then(|| entries.into_iter().unzip())
}

/// The task's loop list and its pointer: an inline list, or a list variable in scope
/// (`with_items: "{{ docker_packages }}"`).
fn loop_list<'a>(place: &Place<'a, '_>) -> Option<(&'a Json, String)> {
    let key = LOOP_KEYS.iter().find(|k| place.task.contains_key(**k))?;
    let value = place.task.get(*key)?;
    let ptr = format!("{}/{}", place.task_ptr, key);
    match value {
        Json::Array(_) => Some((value, ptr)),
        // A list the file does not set stays `{{ var }}`: its role's vars may (`collect::role_vars`).
        Json::String(s) => {
            place.scope.get(template_var(s)?).map(|(value, ptr)| (value, ptr.to_string())).or(Some((value, ptr)))
        }
        _ => None,
    }
}

/// A package name with its simple `{{ var }}` parts replaced by string variables in scope
/// (`docker-{{ docker_edition }}`); a part nothing resolves stays as written
/// (`docker-ce-{{ docker_version }}`).
fn expand_scalars(text: &str, scope: &Scope<'_>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("{{") {
        let Some(len) = rest[i..].find("}}").map(|n| n + 2) else { break };
        let tag = &rest[i..i + len];
        let value = template_var(tag)
            .and_then(|v| scope.get(v))
            .and_then(|(v, _)| v.as_str())
            .filter(|v| !v.contains("{{"))
            .unwrap_or(tag);
        out.push_str(&rest[..i]);
        out.push_str(value);
        rest = &rest[i + len..];
    }
    out.push_str(rest);
    out
}

/// Analyses one task's shell text. A block scalar maps line for line (its text starts after the
/// indicator line); a plain or quoted string is reported at the value's position.
fn command_text(src: &Source<'_>, doc: &YamlDoc, text: &str, ptr: &str, out: &mut Evidence) {
    let Some(span) = doc.span(ptr) else { return };
    let at = span.value;
    let block =
        src.line(at.line).chars().nth(at.column.saturating_sub(1) as usize).is_some_and(|c| c == '|' || c == '>');
    let mut sub = Evidence::default();
    // Ansible tasks provision hosts: a node, unless the enclosing place says otherwise.
    let context = src.context.unwrap_or(Context::Node);
    src.embedded(FileKind::Shell, text, if block { at.line } else { 0 }).in_context(context).analyze(&mut sub);
    if !block {
        for r in &mut sub.records {
            r.location = src.loc(at.line, at.column);
            r.snippet = src.line(at.line).trim().to_string();
        }
    }
    out.merge(sub);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Subject;
    use crate::parse::yaml::parse_documents;

    fn commands(text: &str) -> Vec<String> {
        let src = Source::file("roles/docker/tasks/main.yml", FileKind::K8sManifest, text);
        let mut ev = Evidence::default();
        for doc in parse_documents(text).expect("yaml") {
            assert!(is_ansible(&doc.value));
            analyze_tasks(&src, &doc, &doc.value, "", &mut ev);
        }
        ev.records
            .iter()
            .filter(|r| r.subject == Subject::Command)
            .map(|r| format!("{}:{} {}", r.location.line.unwrap_or(0), r.str("source"), r.str("text")))
            .collect()
    }

    #[test]
    fn tasks_plays_and_blocks() {
        let text = "- name: Prune images\n  command: docker image prune -af\n- name: Build\n  ansible.builtin.shell: |\n    cd /srv/app\n    docker build -t app .\n- hosts: nodes\n  tasks:\n    - block:\n        - name: Load\n          shell:\n            cmd: docker load -i /tmp/pause.tar\n            chdir: /tmp\n";
        let got = commands(text);
        assert!(got.contains(&"2:script docker image prune -af".to_string()), "{got:?}");
        assert!(got.contains(&"6:script docker build -t app .".to_string()), "{got:?}");
        assert!(got.iter().any(|c| c.starts_with("12:") && c.contains("docker load")), "{got:?}");
    }

    #[test]
    fn file_content_tasks_are_the_files_they_write() {
        // See: issue 12 (Ansible copy content, lineinfile, blockinfile, cron).
        let text = "- name: kubelet defaults\n  copy:\n    dest: /etc/default/kubelet\n    content: |\n      KUBELET_EXTRA_ARGS=--container-runtime=docker\n- name: flags\n  ansible.builtin.lineinfile:\n    path: /var/lib/kubelet/kubeadm-flags.env\n    regexp: '^KUBELET_KUBEADM_ARGS='\n    line: 'KUBELET_KUBEADM_ARGS=\"--network-plugin=cni\"'\n- name: unit\n  blockinfile:\n    path: /etc/systemd/system/kubelet.service\n    block: |\n      [Unit]\n      Requires=docker.service\n- name: prune\n  cron:\n    name: prune images\n    job: docker image prune -af\n- name: readme\n  copy: {dest: /srv/README.md, content: \"kubelet --container-runtime=docker\"}\n";
        let src = Source::file("roles/kubelet/tasks/main.yml", FileKind::K8sManifest, text);
        let mut ev = Evidence::default();
        for doc in parse_documents(text).expect("yaml") {
            assert!(is_ansible(&doc.value));
            analyze_tasks(&src, &doc, &doc.value, "", &mut ev);
        }
        let got: Vec<String> = ev
            .records
            .iter()
            .map(|r| {
                format!("{} {} {}{}", r.location.line.unwrap_or(0), r.str("file_kind"), r.str("name"), r.str("text"))
            })
            .collect();
        assert_eq!(
            got,
            [
                "5 kubelet-env --container-runtime",
                "10 kubelet-env --network-plugin",
                "16 systemd-unit ",
                "20 shell docker image prune -af"
            ]
        );
        assert_eq!(ev.records[3].str("source"), "cron");
        assert_eq!(ev.records[1].str("written_to"), "/var/lib/kubelet/kubeadm-flags.env");
    }

    #[test]
    fn other_lists_are_not_ansible() {
        let list = parse_documents("- name: a\n  image: nginx\n- b\n").unwrap();
        assert!(!is_ansible(&list[0].value));
        let map = parse_documents("shell: docker ps\n").unwrap();
        assert!(!is_ansible(&map[0].value));
    }
}
