//! The rule engine: records in, findings out. Pure and deterministic: it never prints, never reads
//! files, and gives the same findings in the same order for the same evidence.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;

use super::catalogue::Catalogue;
use super::compile::Rule;
use crate::evidence::{Location, Record, Subject};
use crate::finding::{Finding, Severity, cause_fingerprint, fingerprint};
use crate::version::Version;

/// What a run asks of the engine beyond the catalogue.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Keep findings about commands on a build machine (`context: build-machine`), which are
    /// dropped by default: they never touch a cluster (`repo --include-build-scripts`).
    pub include_build_scripts: bool,
}

/// Runs every active rule of the catalogue over the records, with the default [`Options`].
pub fn evaluate(catalogue: &Catalogue, target: &Version, records: &[Record]) -> Vec<Finding> {
    evaluate_with(catalogue, target, records, &Options::default()).0
}

/// Runs every active rule of the catalogue over the records; also returns how many findings were
/// dropped because their commands run on a build machine.
pub fn evaluate_with<R: std::borrow::Borrow<Record> + Sync>(
    catalogue: &Catalogue,
    target: &Version,
    records: &[R],
    opts: &Options,
) -> (Vec<Finding>, usize) {
    let mut by_subject: HashMap<Subject, Vec<&Rule>> = HashMap::new();
    for rule in catalogue.rules.iter().filter(|r| r.active_for(target)) {
        by_subject.entry(rule.subject()).or_default().push(rule);
    }
    // Each record is scored on its own: on every core, the findings kept in record order (a
    // 15k-pod cluster gives 10k records, a 150k-pod one 100k; issue 16).
    let per_record: Vec<Vec<Finding>> = records
        .par_iter()
        .map(|record| {
            let record: &Record = record.borrow();
            let mut findings = Vec::new();
            let Some(rules) = by_subject.get(&record.subject) else { return findings };
            let kind = record.str("file_kind");
            for rule in rules.iter().filter(|r| r.applies_to_kind(kind)) {
                if let Some((severity, row)) = rule.evaluate(record, target) {
                    findings.push(Finding {
                        rule_id: rule.id.clone(),
                        title: rule.spec.title.clone(),
                        severity,
                        // Every text of a finding passes through the redactor here, once for all formats.
                        message: redact(with_provenance(
                            rule.render(&rule.spec.message, record, row.as_ref(), target),
                            record,
                        )),
                        remediation: redact(
                            rule.render(&rule.spec.remediation, record, row.as_ref(), target).trim().to_string(),
                        ),
                        docs: rule.spec.docs.clone(),
                        tags: rule.spec.tags.clone(),
                        location: record.location.clone(),
                        snippet: redact(record.snippet.clone()),
                        related: record
                            .related
                            .iter()
                            .map(|r| crate::evidence::Related { message: redact(r.message.clone()), ..r.clone() })
                            .collect(),
                        fingerprint: String::new(),
                        context: Some(record.str("context")).filter(|c| !c.is_empty()).map(str::to_string),
                        also_at: Vec::new(),
                        place_fingerprints: Vec::new(),
                    });
                }
            }
            findings
        })
        .collect();
    let findings: Vec<Finding> = per_record.into_iter().flatten().collect();
    let findings = drop_superseded(catalogue, findings);
    let before = findings.len();
    let findings: Vec<Finding> = findings
        .into_iter()
        .filter(|f| opts.include_build_scripts || f.context.as_deref() != Some("build-machine"))
        .collect();
    let hidden = before - findings.len();
    (finish(findings), hidden)
}

/// `text` with credential values replaced ([`crate::redact::secrets`]).
fn redact(text: String) -> String {
    match crate::redact::secrets(&text) {
        std::borrow::Cow::Owned(r) => r,
        std::borrow::Cow::Borrowed(_) => text,
    }
}

/// The message, followed by where the evidence came from when the record says so (a body
/// written by another file, a value set by a shell variable): `... (written to
/// /etc/systemd/system/kubelet.service by the heredoc at line 2)`.
fn with_provenance(message: String, record: &Record) -> String {
    match record.get("provenance").map(|v| v.display()) {
        Some(p) if !p.is_empty() => format!("{message} ({p})"),
        _ => message,
    }
}

/// Sorts, removes exact duplicates, and assigns fingerprints.
pub fn finish(mut findings: Vec<Finding>) -> Vec<Finding> {
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings.dedup_by(|a, b| a.rule_id == b.rule_id && a.location == b.location && a.message == b.message);
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for f in &mut findings {
        let key = (
            f.rule_id.clone(),
            format!("{:?}{:?}{:?}|{}", f.location.node, f.location.path, f.location.object, f.snippet),
        );
        let n = seen.entry(key).or_default();
        f.fingerprint = fingerprint(&f.rule_id, &f.location, &f.snippet, *n);
        *n += 1;
    }
    findings
}

/// Where a finding is, for `superseded_by`: the file line when there is one (a record moved to a
/// values.yaml line keeps its object), else the object or node.
type Place = (Option<String>, Option<String>, Option<u32>, Option<String>);

fn place(f: &Finding) -> Place {
    place_of(&f.location)
}

fn place_of(l: &Location) -> Place {
    let object = if l.path.is_some() { None } else { l.object.as_ref().map(|o| o.to_string()) };
    (l.node.clone(), l.path.clone(), l.line, object)
}

/// What breaks only after a target, found without rendering a finding ([`breaking_after`]).
pub struct LaterBreaks<'a> {
    /// The records behind it, with every record at the same place.
    pub records: Vec<&'a Record>,
    /// The releases where something of it first breaks (or gets more severe), oldest first.
    pub releases: Vec<Version>,
}

/// What breaks only after `target`: the records a rule matches with a warning or an error at one
/// of `releases` (the releases after the target, oldest first), more severe than at the release
/// before (the target first: not at all, a note, or a warning that becomes an error), and those
/// releases. `configured` gives a rule's severity as the run's config sets it (`severity:`
/// overrides). Every record at the same place is taken too (the file line, else the object or the
/// node, as superseding rules compare places), so that scoring only these records gives the same
/// findings at those places as scoring them all. Nothing is rendered here: the due-later summary
/// (`lib.rs`) then scores just these records, at the target and at just these releases.
pub fn breaking_after<'a>(
    catalogue: &Catalogue,
    target: &Version,
    releases: &[Version],
    records: &'a [Record],
    configured: &(dyn Fn(&str, Severity) -> Severity + Sync),
) -> LaterBreaks<'a> {
    // Rules are active from their `since` on, so the newest release runs every rule that runs at any.
    let newest = releases.iter().max();
    let mut by_subject: HashMap<Subject, Vec<(&Rule, bool)>> = HashMap::new();
    for rule in catalogue.rules.iter().filter(|r| newest.is_some_and(|v| r.active_for(v))) {
        by_subject.entry(rule.subject()).or_default().push((rule, rule.reads_target()));
    }
    let severity_at = |rule: &Rule, record: &Record, v: &Version| {
        if !rule.active_for(v) {
            return None;
        }
        rule.evaluate(record, v).map(|(s, _)| configured(&rule.id, s))
    };
    // Per record: the indexes (in `releases`) where one of its findings breaks.
    let breaks_of = |record: &Record| -> Vec<usize> {
        let mut at = Vec::new();
        let Some(rules) = by_subject.get(&record.subject) else { return at };
        let kind = record.str("file_kind");
        for &(rule, reads_target) in rules.iter().filter(|(r, _)| r.applies_to_kind(kind)) {
            if !reads_target {
                // Same match and severity at every release it runs at: it can only break later by
                // starting after the target (`since`), at the first release it runs at.
                let later = newest.and_then(|v| severity_at(rule, record, v));
                if !rule.active_for(target) && later.is_some_and(|s| s >= Severity::Warning) {
                    at.extend(releases.iter().position(|v| rule.active_for(v)));
                }
                continue;
            }
            let mut before = severity_at(rule, record, target);
            for (i, v) in releases.iter().enumerate() {
                let now = severity_at(rule, record, v);
                if now.is_some_and(|s| s >= Severity::Warning) && now > before {
                    at.push(i);
                }
                before = now;
            }
        }
        at
    };
    let found: Vec<(Place, Vec<usize>)> = records
        .par_iter()
        .filter_map(|record| {
            let at = breaks_of(record);
            (!at.is_empty()).then(|| (place_of(&record.location), at))
        })
        .collect();
    let mut at: Vec<usize> = found.iter().flat_map(|(_, at)| at.iter().copied()).collect();
    at.sort_unstable();
    at.dedup();
    let places: HashSet<Place> = found.into_iter().map(|(place, _)| place).collect();
    LaterBreaks {
        records: records.iter().filter(|r| places.contains(&place_of(&r.location))).collect(),
        releases: at.into_iter().map(|i| releases[i].clone()).collect(),
    }
}

fn drop_superseded(catalogue: &Catalogue, findings: Vec<Finding>) -> Vec<Finding> {
    let present: HashSet<(String, Place)> = findings.iter().map(|f| (f.rule_id.clone(), place(f))).collect();
    findings
        .into_iter()
        .filter(|f| {
            let Some(rule) = catalogue.get(&f.rule_id) else { return true };
            !rule.spec.superseded_by.iter().any(|other| present.contains(&(other.clone(), place(f))))
        })
        .collect()
}

/// One finding per cause (issue 12, noise 3): findings of the same rule, severity and message about
/// the same node and object (or about no object) become one finding whose `also_at` lists the
/// other places, in order. A grouped finding is fingerprinted on its cause; a finding alone keeps
/// its own fingerprint. Run it after ignores, which work place by place; a baseline knows a
/// grouped finding by its cause or by any of its places' fingerprints.
pub fn group(findings: Vec<Finding>) -> Vec<Finding> {
    type Cause = (String, crate::finding::Severity, String, Option<String>, Option<String>);
    let mut index: HashMap<Cause, usize> = HashMap::new();
    let mut out: Vec<Finding> = Vec::with_capacity(findings.len());
    for f in findings {
        let cause: Cause = (
            f.rule_id.clone(),
            f.severity,
            f.message.clone(),
            f.location.node.clone(),
            f.location.object.as_ref().map(|o| o.to_string()),
        );
        match index.get(&cause) {
            Some(&i) => {
                let first = &mut out[i];
                first.place_fingerprints.push(f.fingerprint);
                first.also_at.push(f.location);
                first.also_at.extend(f.also_at);
                for r in f.related {
                    if !first.related.contains(&r) {
                        first.related.push(r);
                    }
                }
            }
            None => {
                index.insert(cause, out.len());
                let mut f = f;
                f.place_fingerprints.push(f.fingerprint.clone());
                out.push(f);
            }
        }
    }
    for f in &mut out {
        if !f.also_at.is_empty() {
            f.fingerprint = cause_fingerprint(&f.rule_id, &f.message, &f.location);
        }
    }
    out
}
