//! The rule engine: records in, findings out. Pure and deterministic: it never prints, never reads
//! files, and gives the same findings in the same order for the same evidence.

use std::collections::{HashMap, HashSet};

use super::catalogue::Catalogue;
use super::compile::Rule;
use crate::evidence::{Record, Subject};
use crate::finding::{Finding, fingerprint};
use crate::version::Version;

/// Runs every active rule of the catalogue over the records.
pub fn evaluate(catalogue: &Catalogue, target: &Version, records: &[Record]) -> Vec<Finding> {
    let mut by_subject: HashMap<Subject, Vec<&Rule>> = HashMap::new();
    for rule in catalogue.rules.iter().filter(|r| r.active_for(target)) {
        by_subject.entry(rule.subject()).or_default().push(rule);
    }
    let mut findings = Vec::new();
    for record in records {
        let Some(rules) = by_subject.get(&record.subject) else { continue };
        let kind = record.str("file_kind");
        for rule in rules.iter().filter(|r| r.applies_to_kind(kind)) {
            if let Some((severity, row)) = rule.evaluate(record, target) {
                findings.push(Finding {
                    rule_id: rule.id.clone(),
                    title: rule.spec.title.clone(),
                    severity,
                    message: with_provenance(rule.render(&rule.spec.message, record, row.as_ref(), target), record),
                    remediation: rule.render(&rule.spec.remediation, record, row.as_ref(), target).trim().to_string(),
                    docs: rule.spec.docs.clone(),
                    tags: rule.spec.tags.clone(),
                    location: record.location.clone(),
                    snippet: record.snippet.clone(),
                    related: record.related.clone(),
                    fingerprint: String::new(),
                });
            }
        }
    }
    let findings = drop_superseded(catalogue, findings);
    finish(findings)
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
    let object = if f.location.path.is_some() { None } else { f.location.object.as_ref().map(|o| o.to_string()) };
    (f.location.node.clone(), f.location.path.clone(), f.location.line, object)
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
