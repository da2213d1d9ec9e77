//! Package installs declared by configuration management rather than typed in a shell: Ansible
//! `apt`/`yum`/`dnf`/`package`/`zypper`/`apk` tasks and Salt `pkg.installed`. Each becomes one
//! `command` record shaped like the shell command it stands for (`program` `package` or `pkg`,
//! `args` `install NAME...`), so the same install rule reads both. Reached from the Ansible and
//! Salt analysers; reads nothing itself.

use serde_json::Value as Json;

use super::source::Source;
use crate::evidence::context::Context;
use crate::evidence::{Record, Subject};

/// States that remove a package rather than install it.
const REMOVING: &[&str] = &["absent", "removed", "purged"];

/// The package names of an argument: a string (comma-separated, as Ansible accepts), a list of
/// strings, or a list of one-key mappings (Salt's `pkgs: [{docker-ce: version}]`).
pub fn names(v: &Json) -> Vec<String> {
    match v {
        Json::String(s) => s.split(',').map(str::trim).filter(|n| !n.is_empty()).map(String::from).collect(),
        Json::Array(items) => items
            .iter()
            .flat_map(|i| match i {
                Json::String(s) => vec![s.trim().to_string()],
                Json::Object(m) => m.keys().cloned().collect(),
                _ => Vec::new(),
            })
            .filter(|n| !n.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether a `state` value removes the package.
pub fn removes(state: Option<&str>) -> bool {
    state.is_some_and(|s| REMOVING.contains(&s.trim()))
}

/// A `command` record for installing `packages` with `program` (`package` for Ansible, `pkg` for
/// Salt), at a place of `src`. `module` is the task's module (`apt`, `pkg.installed`), shown as
/// the command (`apt install docker-ce`); `how` names the place (`an Ansible apt task`).
pub fn install_record(
    src: &Source<'_>,
    (line, column): (u32, u32),
    (program, module): (&str, &str),
    packages: &[String],
    how: &str,
    context: Context,
) -> Record {
    let args = format!("install {}", packages.join(" "));
    let mut r = src
        .record(Subject::Command, line, column)
        .with("source", "script")
        .with("program", program.to_string())
        .with("subcommand", "install")
        .with("text", format!("{module} {args}"))
        .with("args", args)
        .with("context", context.name());
    super::embedded::add_provenance(&mut r, &format!("in {how}"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_in_every_spelling() {
        assert_eq!(names(&json!("docker-ce, docker-ce-cli")), ["docker-ce", "docker-ce-cli"]);
        assert_eq!(names(&json!(["docker.io", 3])), ["docker.io"]);
        assert_eq!(names(&json!([{"docker-ce": "5:20.10.17"}, "containerd.io"])), ["docker-ce", "containerd.io"]);
        assert!(names(&json!({"a": 1})).is_empty());
        assert!(removes(Some("absent")) && !removes(Some("present")) && !removes(None));
    }
}
