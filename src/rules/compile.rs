//! Validates parsed rule files and compiles them into matchers, once per run: regexes are built
//! here and never again, data lists are indexed here, and every record field a condition names is
//! checked against the subject's fields (`evidence::fields`). Pure: no I/O.

use std::collections::HashMap;
use std::sync::Arc;

use regex::Regex;

use super::data::DataList;
use super::nearest::did_you_mean;
use super::schema::{Condition, DataRef, RuleFile};
use crate::evidence::file_kind::{self, FileKind};
use crate::evidence::{Record, Subject, fields};
use crate::finding::Severity;
use crate::version::Version;

/// A rule ready to run.
#[derive(Debug)]
pub struct Rule {
    /// Stable id (the file stem).
    pub id: String,
    /// Where it was loaded from (`builtin:rules/x.yaml` or a path).
    pub origin: String,
    /// The rule as written.
    pub spec: RuleFile,
    /// Compiled `match`.
    pub matcher: Matcher,
    /// Compiled `severity_when`.
    pub severity_when: Vec<(Matcher, Severity)>,
    /// Parsed `since`.
    pub since: Option<Version>,
}

/// A compiled condition.
#[derive(Debug)]
pub enum Matcher {
    /// Every one.
    All(Vec<Matcher>),
    /// At least one.
    Any(Vec<Matcher>),
    /// Not.
    Not(Box<Matcher>),
    /// A test on one field.
    Test {
        /// The field.
        field: String,
        /// The test.
        test: Test,
    },
}

/// A compiled field test.
#[derive(Debug)]
pub enum Test {
    /// Regex match.
    Regex(Regex),
    /// Equality with any of the strings.
    Equals(Vec<String>),
    /// Key of a data list.
    In(ListIndex),
    /// One of a data list's regexes matches.
    MatchesList {
        /// The list.
        list: Arc<DataList>,
        /// Compiled regex per row (rows with an empty pattern are skipped).
        patterns: Vec<(usize, Regex)>,
        /// Version column gating rows.
        row_since: Option<usize>,
    },
    /// Version below.
    VersionBelow(VersionRef),
    /// Version at or above.
    VersionAtLeast(VersionRef),
    /// Presence.
    Exists(bool),
    /// Both present and different.
    DiffersFrom(String),
}

/// An indexed data-list lookup.
#[derive(Debug)]
pub struct ListIndex {
    list: Arc<DataList>,
    index: HashMap<String, Vec<usize>>,
    row_since: Option<usize>,
    ignore_case: bool,
}

/// A version to compare with.
#[derive(Debug)]
pub enum VersionRef {
    /// A literal.
    Literal(Version),
    /// The target version.
    Target,
    /// A column of the row matched earlier in the same rule.
    Data(String),
}

/// The data row an `in` or `matches_list` test matched, for messages and later version tests.
#[derive(Debug, Clone)]
pub struct Row {
    /// The list.
    pub list: Arc<DataList>,
    /// Row index.
    pub row: usize,
}

/// Evaluation state for one record.
pub struct Ctx<'a> {
    /// Target Kubernetes version.
    pub target: &'a Version,
    /// Matched data row, if any.
    pub row: Option<Row>,
}

impl Rule {
    /// Validates and compiles a parsed rule file.
    pub fn compile(
        id: &str,
        origin: &str,
        spec: RuleFile,
        lists: &HashMap<String, Arc<DataList>>,
    ) -> Result<Rule, String> {
        let err = |what: String| format!("{origin}: rule `{id}`: {what}");
        if !is_kebab(id) {
            return Err(err("the id (file stem) must be kebab-case: lowercase letters, digits and dashes".into()));
        }
        if spec.message.contains('\n') || spec.message.trim().is_empty() {
            return Err(err("`message` must be one non-empty line".into()));
        }
        if spec.title.trim().is_empty() || spec.remediation.trim().is_empty() {
            return Err(err("`title` and `remediation` must not be empty".into()));
        }
        let matcher = compile_condition(&spec.matcher, "match", spec.on, lists).map_err(&err)?;
        let mut severity_when = Vec::new();
        for (i, sw) in spec.severity_when.iter().enumerate() {
            severity_when.push((
                compile_condition(&sw.when, &format!("severity_when[{i}].when"), spec.on, lists).map_err(&err)?,
                sw.severity,
            ));
        }
        let since = match &spec.since {
            Some(s) => Some(Version::parse(s).ok_or_else(|| err(format!("`since: {s}` is not a version")))?),
            None => None,
        };
        for kind in &spec.kinds {
            if FileKind::from_name(kind).is_none() {
                return Err(err(format!("unknown kind `{kind}` in `kinds` (known: {})", file_kind::known_names())));
            }
        }
        for kind in spec.prefilter_for.keys() {
            if FileKind::from_name(kind).is_none() {
                return Err(err(format!(
                    "unknown kind `{kind}` in `prefilter_for` (known: {})",
                    file_kind::known_names()
                )));
            }
        }
        if spec.prefilter.is_empty() && !spec.prefilter_for.is_empty() {
            return Err(
                err("`prefilter_for` adds to `prefilter`, which is empty (every file is examined)".to_string()),
            );
        }
        Ok(Rule { id: id.to_string(), origin: origin.to_string(), spec, matcher, severity_when, since })
    }

    /// Whether what the rule finds, and at which severity, can depend on the target version
    /// beyond [`Rule::active_for`] ([`Matcher::reads_target`] of its match and `severity_when`).
    pub fn reads_target(&self) -> bool {
        self.matcher.reads_target() || self.severity_when.iter().any(|(m, _)| m.reads_target())
    }

    /// Whether the rule runs at all for this target.
    pub fn active_for(&self, target: &Version) -> bool {
        self.since.as_ref().is_none_or(|s| target >= s)
    }

    /// Whether the rule can see records of this file kind.
    pub fn applies_to_kind(&self, kind: &str) -> bool {
        self.spec.kinds.is_empty() || self.spec.kinds.iter().any(|k| k == kind)
    }

    /// Matches a record; on success returns the severity to report and the matched data row.
    pub fn evaluate(&self, record: &Record, target: &Version) -> Option<(Severity, Option<Row>)> {
        if record.subject != self.spec.on {
            return None;
        }
        let mut ctx = Ctx { target, row: None };
        if !self.matcher.eval(record, &mut ctx) {
            return None;
        }
        let mut severity = self.spec.severity;
        for (m, s) in &self.severity_when {
            let mut inner = Ctx { target, row: ctx.row.clone() };
            if m.eval(record, &mut inner) {
                severity = *s;
                break;
            }
        }
        Some((severity, ctx.row))
    }

    /// Fills the message template.
    pub fn render(&self, template: &str, record: &Record, row: Option<&Row>, target: &Version) -> String {
        render(template, record, row, target)
    }

    /// The subject this rule matches.
    pub fn subject(&self) -> Subject {
        self.spec.on
    }
}

/// A template as a reader sees it without a record (`rules explain`, SARIF rule help): `{{` and
/// `}}` become `{` and `}`, placeholders stay as written.
pub fn unescape(template: &str) -> String {
    template.replace("{{", "\u{0}").replace("}}", "}").replace('\u{0}', "{")
}

/// Replaces `{field}`, `{data.column}` and `{target}` in a template; `{{` and `}}` are a literal
/// `{` and `}`. Unknown names render as `?`.
pub fn render(template: &str, record: &Record, row: Option<&Row>, target: &Version) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(at) = rest.find(['{', '}']) {
        out.push_str(&rest[..at]);
        let brace = &rest[at..at + 1];
        let after = &rest[at + 1..];
        if let Some(next) = after.strip_prefix(brace) {
            out.push_str(brace);
            rest = next;
            continue;
        }
        if brace == "}" {
            out.push('}');
            rest = after;
            continue;
        }
        let Some(end) = after.find('}') else {
            out.push_str(&rest[at..]);
            return out;
        };
        let name = &after[..end];
        let value = if name == "target" {
            target.to_string()
        } else if let Some(col) = name.strip_prefix("data.") {
            row.map(|r| r.list.cell(r.row, col).to_string()).unwrap_or_default()
        } else {
            record.get(name).map(|v| v.display()).unwrap_or_else(|| "?".into())
        };
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

fn is_kebab(id: &str) -> bool {
    !id.is_empty()
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.starts_with('-')
        && !id.ends_with('-')
}

fn compile_condition(
    c: &Condition,
    at: &str,
    subject: Subject,
    lists: &HashMap<String, Arc<DataList>>,
) -> Result<Matcher, String> {
    let tests = [
        c.regex.is_some(),
        c.equals.is_some(),
        c.in_list.is_some(),
        c.matches_list.is_some(),
        c.version_below.is_some(),
        c.version_at_least.is_some(),
        c.exists.is_some(),
        c.differs_from.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    let combinators = [c.all.is_some(), c.any.is_some(), c.not.is_some()].iter().filter(|b| **b).count();
    match (combinators, c.field.is_some(), tests) {
        (1, false, 0) => {}
        (0, true, 1) => {}
        (0, true, 0) => {
            return Err(format!(
                "{at}: `field` needs one test (regex, equals, in, matches_list, version_below, version_at_least, exists, differs_from)"
            ));
        }
        (0, true, _) => return Err(format!("{at}: one condition holds exactly one test; wrap several in `all`")),
        (0, false, _) => return Err(format!("{at}: a condition needs `all`, `any`, `not`, or `field` with a test")),
        _ => {
            return Err(format!(
                "{at}: a condition holds one of `all`, `any`, `not`, or `field` with a test, not several"
            ));
        }
    }
    if let Some(all) = &c.all {
        return Ok(Matcher::All(compile_list(all, &format!("{at}.all"), subject, lists)?));
    }
    if let Some(any) = &c.any {
        return Ok(Matcher::Any(compile_list(any, &format!("{at}.any"), subject, lists)?));
    }
    if let Some(not) = &c.not {
        return Ok(Matcher::Not(Box::new(compile_condition(not, &format!("{at}.not"), subject, lists)?)));
    }
    let field = c.field.clone().unwrap_or_default();
    known_field(&field, subject, &format!("{at}.field"))?;
    if let Some(other) = &c.differs_from {
        known_field(other, subject, &format!("{at}.differs_from"))?;
    }
    let test = if let Some(re) = &c.regex {
        Test::Regex(Regex::new(re).map_err(|e| format!("{at}: bad regex: {e}"))?)
    } else if let Some(eq) = &c.equals {
        Test::Equals(eq.to_vec())
    } else if let Some(r) = &c.in_list {
        let list = lookup(lists, r, at)?;
        let column = list.column(r.column.as_deref()).map_err(|e| format!("{at}: {e}"))?;
        let row_since = row_since(&list, r, at)?;
        Test::In(ListIndex { index: list.index(column, r.ignore_case), list, row_since, ignore_case: r.ignore_case })
    } else if let Some(r) = &c.matches_list {
        let list = lookup(lists, r, at)?;
        let column = list.column(r.column.as_deref()).map_err(|e| format!("{at}: {e}"))?;
        let mut patterns = Vec::new();
        for (i, row) in list.rows.iter().enumerate() {
            if row[column].is_empty() {
                continue;
            }
            let pattern = if r.ignore_case { format!("(?i){}", row[column]) } else { row[column].clone() };
            let re = Regex::new(&pattern)
                .map_err(|e| format!("{at}: data list `{}` row {}: bad regex: {e}", list.name, i + 1))?;
            patterns.push((i, re));
        }
        let row_since = row_since(&list, r, at)?;
        Test::MatchesList { list, patterns, row_since }
    } else if let Some(v) = &c.version_below {
        Test::VersionBelow(version_ref(v, at)?)
    } else if let Some(v) = &c.version_at_least {
        Test::VersionAtLeast(version_ref(v, at)?)
    } else if let Some(other) = &c.differs_from {
        Test::DiffersFrom(other.clone())
    } else {
        Test::Exists(c.exists.unwrap_or(true))
    };
    Ok(Matcher::Test { field, test })
}

/// A field the subject's records never carry would never match: an error, with the nearest known
/// field (`evidence::fields` is the registry).
fn known_field(name: &str, subject: Subject, at: &str) -> Result<(), String> {
    if fields::is_known(subject, name) {
        return Ok(());
    }
    let known: Vec<&str> = fields::of(subject).map(|f| f.name).collect();
    Err(format!(
        "{at}: `{subject}` records have no field `{name}`{} (fields: {})",
        did_you_mean(name, known.iter().copied()),
        known.join(", ")
    ))
}

fn compile_list(
    items: &[Condition],
    at: &str,
    subject: Subject,
    lists: &HashMap<String, Arc<DataList>>,
) -> Result<Vec<Matcher>, String> {
    if items.is_empty() {
        return Err(format!("{at}: must not be empty"));
    }
    items.iter().enumerate().map(|(i, c)| compile_condition(c, &format!("{at}[{i}]"), subject, lists)).collect()
}

fn lookup(lists: &HashMap<String, Arc<DataList>>, r: &DataRef, at: &str) -> Result<Arc<DataList>, String> {
    lists.get(&r.list).cloned().ok_or_else(|| {
        let mut known: Vec<&str> = lists.keys().map(String::as_str).collect();
        known.sort();
        format!("{at}: no data list `{}` (known: {})", r.list, known.join(", "))
    })
}

fn row_since(list: &DataList, r: &DataRef, at: &str) -> Result<Option<usize>, String> {
    match &r.row_since {
        Some(c) => Ok(Some(list.column(Some(c)).map_err(|e| format!("{at}: {e}"))?)),
        None => Ok(None),
    }
}

fn version_ref(v: &str, at: &str) -> Result<VersionRef, String> {
    if v == "target" {
        Ok(VersionRef::Target)
    } else if let Some(col) = v.strip_prefix("data.") {
        Ok(VersionRef::Data(col.to_string()))
    } else {
        Version::parse(v)
            .map(VersionRef::Literal)
            .ok_or_else(|| format!("{at}: `{v}` is not a version, `target` or `data.column`"))
    }
}

fn row_active(list: &DataList, row: usize, row_since: Option<usize>, target: &Version) -> bool {
    match row_since {
        None => true,
        Some(c) => match Version::parse(&list.rows[row][c]) {
            Some(v) => *target >= v,
            None => false,
        },
    }
}

impl Matcher {
    /// Whether the outcome can depend on the target version: a data-list test whose rows are
    /// gated by a version column, or a version compared with `target`.
    pub fn reads_target(&self) -> bool {
        match self {
            Matcher::All(items) | Matcher::Any(items) => items.iter().any(Matcher::reads_target),
            Matcher::Not(inner) => inner.reads_target(),
            Matcher::Test { test, .. } => match test {
                Test::In(ix) => ix.row_since.is_some(),
                Test::MatchesList { row_since, .. } => row_since.is_some(),
                Test::VersionBelow(r) | Test::VersionAtLeast(r) => matches!(r, VersionRef::Target),
                Test::Regex(_) | Test::Equals(_) | Test::Exists(_) | Test::DiffersFrom(_) => false,
            },
        }
    }

    /// Evaluates against a record.
    pub fn eval(&self, record: &Record, ctx: &mut Ctx<'_>) -> bool {
        match self {
            Matcher::All(items) => items.iter().all(|m| m.eval(record, ctx)),
            Matcher::Any(items) => items.iter().any(|m| m.eval(record, ctx)),
            Matcher::Not(inner) => {
                let saved = ctx.row.clone();
                let result = !inner.eval(record, ctx);
                ctx.row = saved;
                result
            }
            Matcher::Test { field, test } => {
                let value = record.get(field);
                if let Test::Exists(want) = test {
                    return value.is_some() == *want;
                }
                if let Test::DiffersFrom(other) = test {
                    return match (value, record.get(other)) {
                        (Some(a), Some(b)) => a.display() != b.display(),
                        _ => false,
                    };
                }
                let Some(value) = value else { return false };
                value.strings().into_iter().any(|s| test.eval_one(s, ctx))
            }
        }
    }
}

impl Test {
    fn eval_one(&self, s: &str, ctx: &mut Ctx<'_>) -> bool {
        match self {
            Test::Regex(re) => re.is_match(s),
            Test::Equals(values) => values.iter().any(|v| v == s),
            Test::In(ix) => {
                let key = if ix.ignore_case { s.to_ascii_lowercase() } else { s.to_string() };
                let Some(rows) = ix.index.get(&key) else { return false };
                for &row in rows {
                    if row_active(&ix.list, row, ix.row_since, ctx.target) {
                        ctx.row = Some(Row { list: ix.list.clone(), row });
                        return true;
                    }
                }
                false
            }
            Test::MatchesList { list, patterns, row_since } => {
                for (row, re) in patterns {
                    if re.is_match(s) && row_active(list, *row, *row_since, ctx.target) {
                        ctx.row = Some(Row { list: list.clone(), row: *row });
                        return true;
                    }
                }
                false
            }
            Test::VersionBelow(r) | Test::VersionAtLeast(r) => {
                let Some(have) = Version::parse(s) else { return false };
                let want = match r {
                    VersionRef::Literal(v) => Some(v.clone()),
                    VersionRef::Target => Some(ctx.target.clone()),
                    VersionRef::Data(col) => {
                        ctx.row.as_ref().and_then(|row| Version::parse(row.list.cell(row.row, col)))
                    }
                };
                let Some(want) = want else { return false };
                if matches!(self, Test::VersionBelow(_)) { have < want } else { have >= want }
            }
            Test::Exists(_) | Test::DiffersFrom(_) => false, // decided in Matcher::eval
        }
    }
}
