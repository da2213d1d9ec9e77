//! The rule file format, exactly as written in `rules/*.yaml` and in a user's `--rules DIR`.
//!
//! These types only describe and deserialize; [`super::compile`] validates them and builds the
//! matchers. Unknown keys are errors (with the file and line); record field names (`field:`,
//! `differs_from:`) are checked there against the subject's fields (`evidence::fields`), so a
//! misspelt one is an error naming the nearest known field. The `///` docs on each field are the source of the
//! user reference, `docs/rules.md`, which is written by hand from them and from the collectors;
//! `tests/it/rules_doc.rs` fails when a key here is missing from it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::evidence::Subject;
use crate::finding::Severity;

/// One rule. The file stem is its id (`hostpath-docker-socket.yaml` -> `hostpath-docker-socket`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// Short title in sentence case, no trailing period.
    pub title: String,
    /// `error` blocks the upgrade to the target version; `warning` will likely break or needs a
    /// change; `note` is informative.
    pub severity: Severity,
    /// The evidence subject the rule matches (`volume`, `container`, `node`, `kubelet-flag`,
    /// `feature-gate`, `setting`, `command`, `line`, `metric`, `file`).
    pub on: Subject,
    /// File kinds the rule applies to (`jenkinsfile`, `shell`, `k8s-manifest`, ... or `cluster` for
    /// live objects and `node` for node files). Omitted: every source of the subject.
    #[serde(default)]
    pub kinds: Vec<String>,
    /// The Kubernetes minor from which the rule matters: with `--target-version` below it the rule
    /// does not run. Omitted: always.
    #[serde(default)]
    pub since: Option<String>,
    /// The match expression over the record's fields.
    #[serde(rename = "match")]
    pub matcher: Condition,
    /// Severity changes for some matches; the first entry whose `when` matches wins.
    #[serde(default)]
    pub severity_when: Vec<SeverityWhen>,
    /// One-line message; `{field}` is replaced by the record's field, `{data.column}` by the
    /// matched data row, `{target}` by the target version.
    pub message: String,
    /// What to do about it, in the new runtime's terms. Ends with a period.
    pub remediation: String,
    /// Documentation links; the first is the SARIF `helpUri`.
    #[serde(default)]
    pub docs: Vec<String>,
    /// Free-form tags (`workload`, `node`, `ci`, `logging`, ...), shown in SARIF and `rules list`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Literal strings (case-insensitive) of which a file must contain at least one for the rule to
    /// be able to fire on it; lets a scan skip files early. Omitted: the file is always examined.
    #[serde(default)]
    pub prefilter: Vec<String>,
    /// Extra prefilter literals for some file kinds only, added to `prefilter` for files of that
    /// kind (`{systemd-unit: ["--"]}`): for kinds where the rule can fire on text that never holds
    /// the general literals, without weakening the prefilter of every other kind.
    #[serde(default)]
    pub prefilter_for: BTreeMap<String, Vec<String>>,
    /// Rules whose finding at the same place makes this one redundant (it is then dropped).
    #[serde(default)]
    pub superseded_by: Vec<String>,
}

/// A severity change that applies when `when` matches.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeverityWhen {
    /// The condition.
    pub when: Condition,
    /// The severity to use instead.
    pub severity: Severity,
}

/// A match expression: exactly one of `all`, `any`, `not`, or a `field` with one test.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// Matches when every condition matches.
    pub all: Option<Vec<Condition>>,
    /// Matches when at least one condition matches.
    pub any: Option<Vec<Condition>>,
    /// Matches when the condition does not.
    pub not: Option<Box<Condition>>,
    /// The record field to test. A missing field never matches a test (so `not` of it does).
    pub field: Option<String>,
    /// Test: the field (any of its strings) matches this regular expression (Rust `regex` syntax).
    pub regex: Option<String>,
    /// Test: the field equals this string, or one of these strings.
    pub equals: Option<OneOrMany>,
    /// Test: the field is a key of a data list under `rules/data/`.
    #[serde(rename = "in")]
    pub in_list: Option<DataRef>,
    /// Test: one of the data list's regexes (in `column`) matches the field.
    pub matches_list: Option<DataRef>,
    /// Test: the field is a version below this one (a literal such as `1.24`, `target`, or
    /// `data.column` of the row matched by an earlier `in`/`matches_list`).
    pub version_below: Option<String>,
    /// Test: the field is a version at or above this one (same forms as `version_below`).
    pub version_at_least: Option<String>,
    /// Test: the field is present (`true`) or absent (`false`).
    pub exists: Option<bool>,
    /// Test: the field and this other field are both present and differ (for example the
    /// containerd cgroup driver and the kubelet's).
    pub differs_from: Option<String>,
}

/// A string or a list of strings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One.
    One(String),
    /// Many.
    Many(Vec<String>),
}

impl OneOrMany {
    /// The strings.
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// A reference to a data list (a CSV file under `rules/data/`, or `data/` of a `--rules DIR`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataRef {
    /// The list's file stem, for example `removed-feature-gates`.
    pub list: String,
    /// The column to compare with (or holding the regexes, for `matches_list`). Default: the first.
    #[serde(default)]
    pub column: Option<String>,
    /// A column holding a Kubernetes version: the row only counts when the target version is at or
    /// above it (for example `removed_in`).
    #[serde(default)]
    pub row_since: Option<String>,
    /// Compare ignoring ASCII case.
    #[serde(default)]
    pub ignore_case: bool,
}
