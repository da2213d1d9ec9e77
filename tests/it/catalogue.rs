//! Meta-tests over the rule catalogue: the embedded list equals `rules/`, ids are unique and
//! kebab-case, messages are one line without a trailing period, every rule has a remediation that
//! ends with a period and at least one documentation link, and every data list names its sources.

use std::collections::BTreeSet;
use std::path::Path;

use dockershim_audit::rules::Catalogue;
use dockershim_audit::rules::catalogue::{embedded_data_files, embedded_rule_files};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &str, ext: &str) -> BTreeSet<String> {
    std::fs::read_dir(root().join(dir))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(ext))
        .collect()
}

#[test]
fn embedded_rules_equal_the_rules_folder() {
    let embedded: BTreeSet<String> = embedded_rule_files().iter().map(|(n, _)| n.to_string()).collect();
    let mut rule_files = files("rules", ".yaml");
    assert!(rule_files.remove("steps.yaml"), "rules/steps.yaml (the migration plan) is missing");
    assert_eq!(embedded, rule_files);
    let steps = std::fs::read_to_string(root().join("rules/steps.yaml")).unwrap();
    assert_eq!(dockershim_audit::rules::catalogue::embedded_steps_file(), steps);
    let data: BTreeSet<String> = embedded_data_files().iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(data, files("rules/data", ".csv"));
}

#[test]
fn catalogue_conventions() {
    let c = Catalogue::builtin().unwrap_or_else(|e| panic!("{e}"));
    assert!(c.rules.len() >= 25, "catalogue unexpectedly small: {}", c.rules.len());
    let mut ids = BTreeSet::new();
    for r in &c.rules {
        assert!(ids.insert(r.id.clone()), "duplicate id {}", r.id);
        assert!(!r.spec.message.contains('\n'), "{}: message must be one line", r.id);
        assert!(!r.spec.message.trim_end().ends_with('.'), "{}: message must not end with a period", r.id);
        assert!(!r.spec.title.ends_with('.'), "{}: title must not end with a period", r.id);
        assert!(r.spec.remediation.trim_end().ends_with('.'), "{}: remediation must end with a period", r.id);
        assert!(!r.spec.docs.is_empty(), "{}: needs at least one docs link", r.id);
        assert!(r.spec.docs.iter().all(|d| d.starts_with("https://")), "{}: docs must be https links", r.id);
    }
}

#[test]
fn daemon_json_prefilter_covers_every_listed_key() {
    // The rule matches only keys of its data list, so its prefilter is those keys: a row added to
    // the list without its literal would never be examined in a repository scan.
    let c = Catalogue::builtin().unwrap_or_else(|e| panic!("{e}"));
    let rule = c.get("docker-daemon-setting").expect("rule");
    let list = &c.lists["daemon-json-settings"];
    let name = list.column(Some("name")).expect("name column");
    for row in &list.rows {
        let key = row[name].to_ascii_lowercase();
        assert!(
            rule.spec.prefilter.iter().any(|l| key.contains(&l.to_ascii_lowercase())),
            "daemon.json key {key} has no prefilter literal in rules/docker-daemon-setting.yaml"
        );
    }
}

#[test]
fn prefilter_for_names_known_kinds_and_needs_a_prefilter() {
    let load = |body: &str| {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "title: T\nseverity: note\non: line\nmatch:\n  field: value\n  regex: x\nmessage: m\nremediation: r.\ndocs: [https://x]\n{body}"
        );
        std::fs::write(dir.path().join("my-rule.yaml"), text).unwrap();
        Catalogue::load(Some(dir.path())).err().map(|e| e.to_string())
    };
    assert_eq!(load("prefilter: [x]\nprefilter_for:\n  shell: [y]\n"), None);
    let unknown = load("prefilter: [x]\nprefilter_for:\n  shel: [y]\n").expect("unknown kind is an error");
    assert!(
        unknown.contains("my-rule.yaml") && unknown.contains("unknown kind `shel` in `prefilter_for`"),
        "{unknown}"
    );
    let empty = load("prefilter_for:\n  shell: [y]\n").expect("prefilter_for without prefilter is an error");
    assert!(empty.contains("my-rule.yaml") && empty.contains("`prefilter_for` adds to `prefilter`"), "{empty}");
}

#[test]
fn every_data_list_names_its_sources() {
    for (name, text) in embedded_data_files() {
        let header: Vec<&str> = text.lines().take_while(|l| l.starts_with('#')).collect();
        assert!(header.iter().any(|l| l.contains("Source")), "rules/data/{name}: needs a '# Sources:' comment");
    }
}

#[test]
fn unknown_keys_are_errors_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("my-rule.yaml"),
        "title: T\nseverity: error\non: volume\nmatch:\n  field: host_path\n  regexp: x\nmessage: m\nremediation: r.\n",
    )
    .unwrap();
    let err = Catalogue::load(Some(dir.path())).unwrap_err().to_string();
    assert!(err.contains("my-rule.yaml"), "{err}");
    assert!(err.contains("regexp"), "{err}");
    assert!(err.contains("line 6") || err.contains(":6:") || err.contains("6:"), "no line in: {err}");
}

#[test]
fn invalid_regex_and_unknown_list_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad-re.yaml"), "title: T\nseverity: error\non: volume\nmatch:\n  field: host_path\n  regex: '(['\nmessage: m\nremediation: r.\ndocs: [https://x]\n").unwrap();
    std::fs::write(dir.path().join("bad-list.yaml"), "title: T\nseverity: note\non: node\nmatch:\n  field: name\n  in: {list: nope}\nmessage: m\nremediation: r.\ndocs: [https://x]\n").unwrap();
    let err = Catalogue::load(Some(dir.path())).unwrap_err().to_string();
    assert!(err.contains("bad-re.yaml") && err.contains("bad regex"), "{err}");
    assert!(err.contains("bad-list.yaml") && err.contains("no data list `nope`"), "{err}");
}

#[test]
fn user_rules_load_with_builtins_and_can_override() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/our-registries.csv"), "# Sources: internal\nname\nregistry.acme.io\n")
        .unwrap();
    std::fs::write(
        dir.path().join("acme-registry.yaml"),
        "title: Image from the old registry\nseverity: warning\non: container\nmatch:\n  field: image_name\n  regex: '^registry\\.acme\\.io/'\nmessage: \"{image}\"\nremediation: Move it.\ndocs: [https://wiki.acme.io]\n",
    )
    .unwrap();
    let c = Catalogue::load(Some(dir.path())).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.get("acme-registry").is_some());
    assert!(c.get("hostpath-docker-socket").is_some());
    assert!(c.lists.contains_key("our-registries"));
}

/// The README's rule table (`| rule | severity | what it finds |`) lists every rule of `rules/`
/// once, with its severity; `a → b` says the rule's `severity_when` can make it `b`.
#[test]
fn the_readme_rule_table_matches_the_catalogue() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let rows: Vec<&str> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| rule | severity |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert!(!rows.is_empty(), "README.md: no `| rule | severity | what it finds |` table");
    let catalogue = Catalogue::builtin().unwrap();
    let mut listed = BTreeSet::new();
    let mut problems = Vec::new();
    for row in rows {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let (id, severity) = (cells[1].trim_matches('`'), cells[2]);
        if !listed.insert(id.to_string()) {
            problems.push(format!("`{id}` is listed twice"));
        }
        let Some(rule) = catalogue.get(id) else {
            problems.push(format!("`{id}` is not a rule in rules/"));
            continue;
        };
        let (default, changed) = match severity.split_once('→') {
            Some((d, c)) => (d.trim(), Some(c.trim())),
            None => (severity, None),
        };
        if default != rule.spec.severity.name() {
            problems.push(format!("`{id}`: README says {default}, the rule says {}", rule.spec.severity));
        }
        let when: BTreeSet<&str> = rule.spec.severity_when.iter().map(|w| w.severity.name()).collect();
        match changed {
            Some(c) if !when.contains(c) => {
                problems.push(format!("`{id}`: README says it can become {c}; its severity_when gives {when:?}"))
            }
            None if !when.is_empty() => {
                problems.push(format!("`{id}`: its severity_when can make it {when:?}; README shows `{default}` only"))
            }
            _ => {}
        }
    }
    for r in &catalogue.rules {
        if !listed.contains(&r.id) {
            problems.push(format!("`{}` is missing from the README rule table", r.id));
        }
    }
    assert!(problems.is_empty(), "README.md rule table vs rules/:\n  {}", problems.join("\n  "));
}

#[test]
fn a_misspelt_field_is_an_error_naming_the_file_and_the_nearest_field() {
    // Issue 11 item 5: a misspelt `field:` used to load and silently never match.
    let load = |on: &str, matcher: &str| {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("title: T\nseverity: error\non: {on}\nmatch:\n{matcher}message: m\nremediation: r.\n");
        std::fs::write(dir.path().join("my-rule.yaml"), text).unwrap();
        Catalogue::load(Some(dir.path())).err().map(|e| e.to_string())
    };
    let err =
        load("volume", "  all:\n    - field: hostpath\n      regex: docker\n").expect("unknown field is an error");
    assert!(err.contains("my-rule.yaml: rule `my-rule`: match.all[0].field"), "{err}");
    assert!(err.contains("`volume` records have no field `hostpath` (did you mean `host_path`?)"), "{err}");
    // Checked per subject: `host_path` is a volume field, not a node one.
    let err = load("node", "  field: host_path\n  exists: true\n").expect("field of another subject");
    assert!(err.contains("`node` records have no field `host_path`"), "{err}");
    let err = load("node", "  field: kubelet_cgroup_driver\n  differs_from: containerd_cgroup_drvier\n")
        .expect("differs_from is checked too");
    assert!(err.contains("did you mean `containerd_cgroup_driver`?"), "{err}");
    // Fields every record has, and pod fields on containers, are known.
    assert_eq!(
        load(
            "container",
            "  all:\n    - {field: file_kind, equals: shell}\n    - {field: pod_privileged, equals: \"true\"}\n"
        ),
        None
    );
}
