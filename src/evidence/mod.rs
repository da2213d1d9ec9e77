//! Evidence: normalised facts with a precise origin, the only thing the rule engine sees.
//!
//! Collectors turn cluster objects, node files and repository files into [`Record`]s; the engine
//! matches rules against their fields. A record never holds secrets or env values other than
//! `DOCKER_HOST`. What could not be collected is a [`Gap`], never a silent omission.

pub mod context;
pub mod fields;
pub mod file_kind;
pub mod inline_ignore;
mod tekton_params;
pub mod template_use;
pub(crate) mod workload;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// What a record is about; a rule names the one subject it applies to (`on:` in the rule file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Subject {
    /// A hostPath volume of a pod spec, with what the pod does with it.
    Volume,
    /// One container of a pod spec (image, env, command, privileges).
    Container,
    /// A cluster node (kubelet version, runtime, annotations).
    Node,
    /// A kubelet command-line flag, wherever it is set.
    KubeletFlag,
    /// A feature gate set for a component, wherever it is set.
    FeatureGate,
    /// One key and value of a structured configuration file or object.
    Setting,
    /// A command a script, pipeline step, cron job or unit would run.
    Command,
    /// One line of a line-oriented configuration (log collector configs, pipeline DSL).
    Line,
    /// A metric name used by a query, alert, recording rule or dashboard.
    Metric,
    /// A whole file or object recognised by its shape (for example an RKE1 `cluster.yml`).
    File,
}

impl Subject {
    /// Every subject, in documentation order.
    pub const ALL: [Subject; 10] = [
        Subject::Volume,
        Subject::Container,
        Subject::Node,
        Subject::KubeletFlag,
        Subject::FeatureGate,
        Subject::Setting,
        Subject::Command,
        Subject::Line,
        Subject::Metric,
        Subject::File,
    ];

    /// The kebab-case name used in rule files.
    pub fn name(self) -> &'static str {
        match self {
            Subject::Volume => "volume",
            Subject::Container => "container",
            Subject::Node => "node",
            Subject::KubeletFlag => "kubelet-flag",
            Subject::FeatureGate => "feature-gate",
            Subject::Setting => "setting",
            Subject::Command => "command",
            Subject::Line => "line",
            Subject::Metric => "metric",
            Subject::File => "file",
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The value of one field of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A single string.
    Str(String),
    /// Several strings; a test on the field matches when it matches any of them.
    List(Vec<String>),
    /// A flag, matched as the strings `true` and `false`.
    Bool(bool),
}

impl Value {
    /// Each string the value holds.
    pub fn strings(&self) -> Vec<&str> {
        match self {
            Value::Str(s) => vec![s.as_str()],
            Value::List(items) => items.iter().map(String::as_str).collect(),
            Value::Bool(true) => vec!["true"],
            Value::Bool(false) => vec!["false"],
        }
    }

    /// The value as message text (lists joined with `, `).
    pub fn display(&self) -> String {
        self.strings().join(", ")
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_string())
    }
}
impl From<file_kind::FileKind> for Value {
    fn from(k: file_kind::FileKind) -> Self {
        Value::Str(k.name().to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<Vec<String>> for Value {
    fn from(v: Vec<String>) -> Self {
        Value::List(v)
    }
}

/// A Kubernetes object a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct ObjectRef {
    /// Kind, for example `Deployment` or `Node`.
    pub kind: String,
    /// Namespace; empty for cluster-scoped objects and for manifests that set none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Object name.
    pub name: String,
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// Where a record (and so a finding) comes from. Any combination of parts may be set: a static pod
/// manifest on a node has a node, a file, a line and an object.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Location {
    /// File path, relative to the scanned root where there is one, with `/` separators.
    pub path: Option<String>,
    /// 1-based line in `path`.
    pub line: Option<u32>,
    /// 1-based column in `path`.
    pub column: Option<u32>,
    /// The Kubernetes object, for cluster findings and for manifests.
    pub object: Option<ObjectRef>,
    /// The node, for node findings.
    pub node: Option<String>,
    /// The node pool of `node`, when a well-known pool label says it.
    pub pool: Option<String>,
    /// Number of pods the object stands for (owner-chain aggregation in the cluster).
    pub pods: Option<u32>,
}

impl Location {
    /// A location in a file.
    pub fn file(path: &str, line: u32, column: u32) -> Location {
        Location { path: Some(path.to_string()), line: Some(line), column: Some(column), ..Location::default() }
    }

    /// One-line human form: `path:line:col`, `Kind/ns/name`, `node N`, joined.
    pub fn describe(&self) -> String {
        self.describe_lines().join(" ")
    }

    /// The parts of [`Location::describe`]: `node N`, `path:line:col`, the object (with its pod
    /// count), each present one in that order.
    pub fn describe_lines(&self) -> Vec<String> {
        let mut parts = Vec::new();
        if let Some(node) = &self.node {
            parts.push(format!("node {node}"));
        }
        if let Some(path) = &self.path {
            let mut s = path.clone();
            if let Some(line) = self.line {
                s.push_str(&format!(":{line}"));
                if let Some(col) = self.column {
                    s.push_str(&format!(":{col}"));
                }
            }
            parts.push(s);
        }
        if let Some(object) = &self.object {
            let mut s = object.to_string();
            if let Some(pods) = self.pods {
                s.push_str(&format!(" ({pods} pod{})", if pods == 1 { "" } else { "s" }));
            }
            parts.push(s);
        }
        parts
    }
}

/// One fact a rule can match: a subject, named fields and an origin.
#[derive(Debug, Clone)]
pub struct Record {
    /// What the record is about.
    pub subject: Subject,
    /// Named values; rules test these and messages quote them as `{name}`.
    pub fields: BTreeMap<&'static str, Value>,
    /// Where it comes from.
    pub location: Location,
    /// The source text behind the record (a line, or a short rendering of the object field).
    pub snippet: String,
    /// A second place that explains the first, for example the template that mounts a value set in `values.yaml`.
    pub related: Vec<Related>,
}

/// A secondary location shown with a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    /// Where.
    pub location: Location,
    /// Why it is related.
    pub message: String,
}

impl Record {
    /// A record with no fields yet.
    pub fn new(subject: Subject, location: Location, snippet: impl Into<String>) -> Record {
        Record { subject, fields: BTreeMap::new(), location, snippet: snippet.into(), related: Vec::new() }
    }

    /// Sets a field (builder style).
    pub fn with(mut self, name: &'static str, value: impl Into<Value>) -> Record {
        self.fields.insert(name, value.into());
        self
    }

    /// Sets a field.
    pub fn set(&mut self, name: &'static str, value: impl Into<Value>) {
        self.fields.insert(name, value.into());
    }

    /// A field's value.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }

    /// A string field, or `""`.
    pub fn str(&self, name: &str) -> &str {
        match self.fields.get(name) {
            Some(Value::Str(s)) => s,
            _ => "",
        }
    }
}

/// Something that could not be read or was deliberately not read.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Gap {
    /// What could not be read: a file path, `pods`, `node worker-3`, `configz of node worker-3`.
    pub source: String,
    /// Why, in one line (the parse error with its line, the HTTP status and missing permission, ...).
    pub reason: String,
    /// The RBAC permission that would have allowed it, in kubectl words (`list pods at cluster scope`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_permission: Option<String>,
    /// The node whose evidence is incomplete because of this gap (its files, or its live kubelet
    /// configuration); that node's own score is then capped like an incomplete scan's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

/// Everything a collector gathered: records plus what it could not see.
#[derive(Debug, Default)]
pub struct Evidence {
    /// The facts.
    pub records: Vec<Record>,
    /// Sources that could not be read: they make the scan incomplete (exit 3 when nothing else trips).
    pub gaps: Vec<Gap>,
    /// Sources left out on purpose (binary, too large, ignored, not permitted by choice): counted, not a failure.
    pub skipped: Vec<Gap>,
    /// Counters for the summary (files seen, files scanned, objects read...).
    pub counts: BTreeMap<String, u64>,
    /// Inline suppressions found in files, keyed by path.
    pub inline_ignores: Vec<inline_ignore::InlineIgnore>,
    /// Kubernetes versions the material declares (kubeadm `kubernetesVersion`, control-plane
    /// kubelets, installer configs), each with what declares it: a source of the target version.
    pub declared_versions: Vec<(crate::version::Version, String)>,
    /// Scripts that files call, with the caller's context: the repository collector passes each
    /// caller's context on to the script's own commands.
    pub calls: Vec<context::ScriptCall>,
    /// Template files that files render with values (Terraform `templatefile()`, Salt
    /// `file.managed` with `template: jinja`): the repository collector analyses each rendering.
    pub template_uses: Vec<template_use::TemplateUse>,
}

impl Evidence {
    /// Adds `n` to a summary counter.
    pub fn count(&mut self, name: &str, n: u64) {
        *self.counts.entry(name.to_string()).or_default() += n;
    }

    /// Moves everything from `other` into `self`.
    pub fn merge(&mut self, other: Evidence) {
        self.records.extend(other.records);
        self.gaps.extend(other.gaps);
        self.skipped.extend(other.skipped);
        for (k, v) in other.counts {
            *self.counts.entry(k).or_default() += v;
        }
        self.inline_ignores.extend(other.inline_ignores);
        self.declared_versions.extend(other.declared_versions);
        self.calls.extend(other.calls);
        self.template_uses.extend(other.template_uses);
    }
}

/// What the scan knows of one node.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    /// Node name.
    pub name: String,
    /// Node pool.
    pub pool: Option<String>,
    /// Kubelet version.
    pub kubelet_version: String,
    /// `containerRuntimeVersion`.
    pub runtime: String,
    /// OS image.
    pub os_image: String,
}

/// One entry of the node file list (`rules/data/node-files.csv`, or a `--rules DIR` override):
/// loaded with the rules and handed to the node scanner and the node collector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeFile {
    /// Absolute path on the node; a trailing `/*` means every file of that directory.
    pub path: String,
    /// The file kind its analyser reads it as.
    pub kind: file_kind::FileKind,
}
