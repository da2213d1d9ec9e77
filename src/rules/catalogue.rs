//! The rule catalogue: the embedded built-in rules, data lists and migration plan
//! (`rules/steps.yaml`), plus a user's `--rules DIR`, loaded by one code path, validated and
//! compiled once per run.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use super::compile::Rule;
use super::data::DataList;
use super::schema::RuleFile;
use super::steps::Steps;
use crate::evidence::NodeFile;
use crate::evidence::file_kind::{self, FileKind};
use crate::parse::yaml_error;
use crate::version::Version;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_rules.rs"));
}

/// Every rule of the run, compiled, with the data lists they use.
#[derive(Debug)]
pub struct Catalogue {
    /// Rules sorted by id.
    pub rules: Vec<Rule>,
    /// Data lists by name.
    pub lists: HashMap<String, Arc<DataList>>,
    /// The node files to read (`data/node-files.csv`), for `node` and `cluster --node-files`.
    pub node_files: Vec<NodeFile>,
    /// The migration plan's steps (`steps.yaml`), checked against the rules.
    pub steps: Arc<Steps>,
    /// Built-in rules and data lists replaced by extra rules (every report lists them).
    pub overrides: Vec<RuleOverride>,
}

/// A built-in rule or data list replaced by a file of the same name in `--rules` or the config's
/// `rules:` directory.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleOverride {
    /// `rule` or `data list`.
    pub kind: String,
    /// The rule id or data list name.
    pub id: String,
    /// The file that replaced the built-in one.
    pub origin: String,
}

/// Largest rule file read (the built-in ones are a few KiB).
const MAX_RULE_FILE: u64 = 1024 * 1024;
/// Largest data list read.
const MAX_DATA_FILE: u64 = 16 * 1024 * 1024;

/// Errors found while loading rules: every problem, each naming its file (and line where known).
#[derive(Debug)]
pub struct CatalogueError(pub Vec<String>);

impl std::fmt::Display for CatalogueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} problem(s) in the rules:", self.0.len())?;
        for e in &self.0 {
            write!(f, "\n  {}", e.replace('\n', "\n  "))?;
        }
        Ok(())
    }
}

impl std::error::Error for CatalogueError {}

/// The stem of the migration plan's file, in `rules/` and in a `--rules DIR`: not a rule id.
pub const STEPS_STEM: &str = "steps";

/// The embedded `rules/steps.yaml`.
pub fn embedded_steps_file() -> &'static str {
    embedded::STEPS_FILE
}

/// The embedded rule files, as (file name, text).
pub fn embedded_rule_files() -> &'static [(&'static str, &'static str)] {
    embedded::RULE_FILES
}

/// The embedded data lists, as (file name, text).
pub fn embedded_data_files() -> &'static [(&'static str, &'static str)] {
    embedded::DATA_FILES
}

impl Catalogue {
    /// The built-in catalogue.
    pub fn builtin() -> Result<Catalogue, CatalogueError> {
        Catalogue::load(None)
    }

    /// Built-in rules plus the rules and data lists of `extra` (`DIR/*.yaml`, `DIR/data/*.csv`).
    /// A user rule or list with a built-in's name replaces it (and is listed in `overrides`);
    /// `DIR/steps.yaml` (not a rule) replaces the built-in migration plan.
    pub fn load(extra: Option<&Path>) -> Result<Catalogue, CatalogueError> {
        Catalogue::load_confined(extra, None)
    }

    /// [`Catalogue::load`] where every extra file must lie inside `inside` once links are resolved
    /// (the `rules:` directory of a config file found in a scanned repository).
    pub fn load_confined(extra: Option<&Path>, inside: Option<&Path>) -> Result<Catalogue, CatalogueError> {
        let mut rule_sources: BTreeMap<String, (String, String)> = BTreeMap::new();
        let mut data_sources: BTreeMap<String, (String, String)> = BTreeMap::new();
        for (file, text) in embedded::RULE_FILES {
            rule_sources.insert(stem(file), (format!("rules/{file}"), text.to_string()));
        }
        for (file, text) in embedded::DATA_FILES {
            data_sources.insert(stem(file), (format!("rules/data/{file}"), text.to_string()));
        }
        let mut errors = Vec::new();
        let mut overrides = Vec::new();
        if let Some(dir) = extra {
            let inside = inside.map(|p| p.canonicalize().unwrap_or_else(|_| p.to_path_buf()));
            let confine = inside.as_deref();
            match std::fs::metadata(dir) {
                Ok(m) if m.is_dir() => {
                    let builtin: Vec<String> = rule_sources.keys().cloned().collect();
                    let mut extra_rules = BTreeMap::new();
                    read_dir_into(dir, &["yaml", "yml"], MAX_RULE_FILE, confine, &mut extra_rules, &mut errors);
                    for (id, (origin, text)) in extra_rules {
                        if builtin.contains(&id) {
                            overrides.push(RuleOverride {
                                kind: "rule".into(),
                                id: id.clone(),
                                origin: origin.clone(),
                            });
                        }
                        rule_sources.insert(id, (origin, text));
                    }
                    let data = dir.join("data");
                    if data.is_dir() {
                        let mut extra_data = BTreeMap::new();
                        read_dir_into(&data, &["csv"], MAX_DATA_FILE, confine, &mut extra_data, &mut errors);
                        for (id, (origin, text)) in extra_data {
                            if data_sources.contains_key(&id) {
                                overrides.push(RuleOverride {
                                    kind: "data list".into(),
                                    id: id.clone(),
                                    origin: origin.clone(),
                                });
                            }
                            data_sources.insert(id, (origin, text));
                        }
                    }
                }
                Ok(_) => errors.push(format!("{}: not a directory", dir.display())),
                Err(e) => errors.push(format!("{}: {e}", dir.display())),
            }
        }
        let steps = rule_sources
            .remove(STEPS_STEM)
            .unwrap_or_else(|| (format!("rules/{STEPS_STEM}.yaml"), embedded::STEPS_FILE.to_string()));
        let mut c = Catalogue::from_sources(rule_sources, data_sources, steps, errors)?;
        c.overrides = overrides;
        Ok(c)
    }

    /// Builds a catalogue from (id -> (origin, text)) maps and the (origin, text) of `steps.yaml`.
    pub fn from_sources(
        rule_sources: BTreeMap<String, (String, String)>,
        data_sources: BTreeMap<String, (String, String)>,
        steps_source: (String, String),
        mut errors: Vec<String>,
    ) -> Result<Catalogue, CatalogueError> {
        let mut lists = HashMap::new();
        let mut node_files = Vec::new();
        for (name, (origin, text)) in data_sources {
            match DataList::parse(&name, &origin, &text) {
                Ok(list) => {
                    if name == NODE_FILES {
                        node_files = node_files_of(&list, &origin, &mut errors);
                    }
                    lists.insert(name, Arc::new(list));
                }
                Err(e) => errors.push(e),
            }
        }
        if !lists.contains_key(NODE_FILES) && errors.is_empty() {
            errors.push(format!("rules/data/{NODE_FILES}.csv: missing (the node files to read)"));
        }
        let rule_sources_ids: Vec<String> = rule_sources.keys().cloned().collect();
        let mut rules = Vec::new();
        for (id, (origin, text)) in rule_sources {
            let parsed: Result<RuleFile, _> = serde_saphyr::from_str(&text);
            match parsed {
                Ok(spec) => match Rule::compile(&id, &origin, spec, &lists) {
                    Ok(rule) => rules.push(rule),
                    Err(e) => errors.push(e),
                },
                Err(e) => errors.push(yaml_error::describe(&origin, &e)),
            }
        }
        let ids: std::collections::HashSet<&str> = rules.iter().map(|r| r.id.as_str()).collect();
        for rule in &rules {
            for other in &rule.spec.superseded_by {
                if !ids.contains(other.as_str()) {
                    errors.push(format!(
                        "{}: rule `{}`: superseded_by names unknown rule `{other}`",
                        rule.origin, rule.id
                    ));
                }
            }
        }
        // Rules that failed to load count as known here, so that their one error is not repeated.
        let all_ids = rule_sources_ids.into_iter().collect();
        let steps = match Steps::parse(&steps_source.0, &steps_source.1, &all_ids) {
            Ok(s) => Some(s),
            Err(e) => {
                errors.extend(e);
                None
            }
        };
        match steps {
            Some(steps) if errors.is_empty() => {
                Ok(Catalogue { rules, lists, node_files, steps: Arc::new(steps), overrides: Vec::new() })
            }
            _ => Err(CatalogueError(errors)),
        }
    }

    /// A rule by id.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The Kubernetes minor releases the data lists (any status), for validating target versions.
    pub fn known_versions(&self) -> crate::target::Known {
        let listed = self
            .lists
            .get("kubernetes-releases")
            .map(|l| {
                l.rows.iter().filter_map(|r| r.first().and_then(|c| Version::parse(c))).map(|v| v.minor()).collect()
            })
            .unwrap_or_default();
        crate::target::Known::new(listed, self.newest_release())
    }

    /// The newest release with status `released` in `kubernetes-releases` (1.24 when the list is missing).
    pub fn newest_release(&self) -> Version {
        self.lists
            .get("kubernetes-releases")
            .and_then(|l| {
                l.rows
                    .iter()
                    .filter(|r| l.cell_in(r, "status") == "released")
                    .filter_map(|r| Version::parse(&r[0]))
                    .max()
            })
            .unwrap_or_else(|| Version::parse("1.24").expect("literal"))
    }
}

impl DataList {
    fn cell_in<'a>(&self, row: &'a [String], column: &str) -> &'a str {
        self.columns.iter().position(|c| c == column).and_then(|i| row.get(i)).map_or("", |s| s.as_str())
    }
}

/// The data list naming the node files.
const NODE_FILES: &str = "node-files";

/// The rows of `node-files.csv` (`path,kind,why`): each path absolute (a trailing `/*` for every
/// file of a directory), each kind a file kind. A bad row is an error naming the file and row.
fn node_files_of(list: &DataList, origin: &str, errors: &mut Vec<String>) -> Vec<NodeFile> {
    let (Ok(path_col), Ok(kind_col)) = (list.column(Some("path")), list.column(Some("kind"))) else {
        errors.push(format!("{origin}: needs the columns `path` and `kind` (has: {})", list.columns.join(", ")));
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, row) in list.rows.iter().enumerate() {
        let (path, kind) = (&row[path_col], &row[kind_col]);
        let Some(kind) = FileKind::from_name(kind) else {
            errors.push(format!(
                "{origin}: data row {}: unknown kind `{kind}` (known: {})",
                i + 1,
                file_kind::known_names()
            ));
            continue;
        };
        if !path.starts_with('/') {
            errors.push(format!("{origin}: data row {}: path `{path}` is not absolute", i + 1));
            continue;
        }
        out.push(NodeFile { path: path.clone(), kind });
    }
    out
}

fn stem(file: &str) -> String {
    file.rsplit_once('.').map_or(file, |(s, _)| s).to_string()
}

/// Reads `DIR/*.EXT` into `into` by file stem: each a regular file of at most `cap` bytes (a
/// FIFO or device is an error, never a hang) and, with `inside`, lying inside it once links are
/// resolved; a file outside is an error that never quotes it.
fn read_dir_into(
    dir: &Path,
    exts: &[&str],
    cap: u64,
    inside: Option<&Path>,
    into: &mut BTreeMap<String, (String, String)>,
    errors: &mut Vec<String>,
) {
    use crate::bounded_read as read;
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(format!("{}: {e}", dir.display()));
            return;
        }
    };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths.into_iter().filter(|p| p.extension().is_some_and(|e| exts.iter().any(|x| e == *x))) {
        let real = match path.canonicalize() {
            Ok(p) => p,
            Err(e) => {
                errors.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        if let Some(root) = inside
            && !real.starts_with(root)
        {
            errors.push(format!(
                "{}: a link to a file outside the scanned repository (not read; give such rules with --rules)",
                path.display()
            ));
            continue;
        }
        match read::regular(&real, cap) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => {
                    let name = path.file_name().map(|f| stem(&f.to_string_lossy())).unwrap_or_default();
                    into.insert(name, (path.display().to_string(), text));
                }
                Err(_) => errors.push(format!("{}: not UTF-8 text", path.display())),
            },
            Err(e) => errors.push(format!("{}: {e}", path.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_node_files(csv: &str) -> Result<Catalogue, CatalogueError> {
        let mut data = BTreeMap::new();
        for (file, text) in embedded::DATA_FILES {
            data.insert(stem(file), (format!("rules/data/{file}"), text.to_string()));
        }
        data.insert("node-files".into(), ("mine/data/node-files.csv".into(), csv.into()));
        let rules =
            embedded::RULE_FILES.iter().map(|(f, t)| (stem(f), (format!("rules/{f}"), t.to_string()))).collect();
        let steps = ("rules/steps.yaml".to_string(), embedded::STEPS_FILE.to_string());
        Catalogue::from_sources(rules, data, steps, Vec::new())
    }

    #[test]
    fn the_node_file_list_comes_from_the_catalogue_and_can_be_replaced() {
        let builtin = Catalogue::builtin().expect("built-in catalogue");
        assert!(builtin.node_files.iter().any(|f| f.path == "/var/lib/kubelet/kubeadm-flags.env"));
        let mine = with_node_files("path,kind,why\n/opt/acme/kubelet.env,kubelet-env,our own\n").expect("loads");
        assert_eq!(
            mine.node_files,
            vec![NodeFile { path: "/opt/acme/kubelet.env".into(), kind: FileKind::KubeletEnv }]
        );
    }

    #[test]
    fn a_bad_node_file_list_is_an_error_naming_file_and_row() {
        let e = with_node_files("path,kind,why\n/etc/a.conf,kubelet-envv,typo\netc/b.conf,shell,relative\n")
            .expect_err("bad rows");
        assert!(
            e.0.iter().any(|m| m.starts_with("mine/data/node-files.csv: data row 1: unknown kind `kubelet-envv`")),
            "{e}"
        );
        assert!(e.0.iter().any(|m| m.contains("data row 2: path `etc/b.conf` is not absolute")), "{e}");
        let e = with_node_files("file,why\n/etc/a.conf,x\n").expect_err("wrong columns");
        assert!(e.to_string().contains("needs the columns `path` and `kind`"), "{e}");
    }
}
