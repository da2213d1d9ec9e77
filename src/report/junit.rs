//! `--format junit`: JUnit XML for CI test reports (Jenkins `junit`, GitLab `artifacts:reports:junit`).
//!
//! One `<testsuite>` per rule. Every finding at or above the gate (`--fail-on`) is a failing
//! `<testcase>` named after its location, with the message, the remediation and the evidence in the
//! `<failure>`; a finding below the gate passes, with the same text in `<system-out>`, so Jenkins
//! and GitLab agree with the exit code; a rule that ran and found
//! nothing is one passing test case; suppressed findings are skipped test cases with the ignore's
//! reason. A last suite, `coverage`, holds one test case that errors when the scan was incomplete,
//! so an unreadable source shows up red in the CI, not as a clean run.
//!
//! Must not: decide anything (which findings trip the gate is the exit code's business), or read
//! anything.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::Report;
use crate::finding::Finding;
use crate::suppress::Suppressed;

/// Prefix of every `classname`, so CI tools group the test cases under the tool.
const CLASS_PREFIX: &str = "dockershim-audit";

/// One test case, before it is written.
struct Case {
    name: String,
    file: Option<String>,
    line: Option<u32>,
    outcome: Outcome,
}

enum Outcome {
    Pass,
    /// A finding below the gate: passes, its text in `<system-out>`.
    Info {
        body: String,
    },
    Failure {
        message: String,
        kind: String,
        body: String,
    },
    Error {
        message: String,
        kind: String,
        body: String,
    },
    Skipped {
        message: String,
    },
}

/// One suite, before it is written.
struct Suite {
    name: String,
    cases: Vec<Case>,
}

impl Suite {
    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.cases.iter().filter(|c| f(&c.outcome)).count()
    }
}

/// Renders the JUnit XML document.
pub fn render(r: &Report) -> String {
    let suites = suites(r);
    let total: usize = suites.iter().map(|s| s.cases.len()).sum();
    let failures: usize = suites.iter().map(|s| s.count(|o| matches!(o, Outcome::Failure { .. }))).sum();
    let errors: usize = suites.iter().map(|s| s.count(|o| matches!(o, Outcome::Error { .. }))).sum();
    let skipped: usize = suites.iter().map(|s| s.count(|o| matches!(o, Outcome::Skipped { .. }))).sum();

    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{total}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">",
        attr(&format!("dockershim-audit {} (target Kubernetes {})", r.command, r.target.version))
    );
    for s in &suites {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
            attr(&s.name),
            s.cases.len(),
            s.count(|o| matches!(o, Outcome::Failure { .. })),
            s.count(|o| matches!(o, Outcome::Error { .. })),
            s.count(|o| matches!(o, Outcome::Skipped { .. })),
        );
        for c in &s.cases {
            write_case(&mut out, &s.name, c);
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn write_case(out: &mut String, suite: &str, c: &Case) {
    let _ = write!(
        out,
        "    <testcase classname=\"{}\" name=\"{}\"",
        attr(&format!("{CLASS_PREFIX}.{suite}")),
        attr(&c.name)
    );
    if let Some(file) = &c.file {
        let _ = write!(out, " file=\"{}\"", attr(file));
    }
    if let Some(line) = c.line {
        let _ = write!(out, " line=\"{line}\"");
    }
    match &c.outcome {
        Outcome::Pass => out.push_str("/>\n"),
        Outcome::Info { body } => {
            let _ = writeln!(out, ">\n      <system-out>{}</system-out>\n    </testcase>", text(body));
        }
        Outcome::Failure { message, kind, body } => write_problem(out, "failure", message, kind, body),
        Outcome::Error { message, kind, body } => write_problem(out, "error", message, kind, body),
        Outcome::Skipped { message } => {
            let _ = writeln!(out, ">\n      <skipped message=\"{}\"/>\n    </testcase>", attr(message));
        }
    }
}

/// Ends an open `<testcase` with its `<failure>` or `<error>` element (`tag`) and closes it.
fn write_problem(out: &mut String, tag: &str, message: &str, kind: &str, body: &str) {
    let _ = writeln!(
        out,
        ">\n      <{tag} message=\"{}\" type=\"{}\">{}</{tag}>\n    </testcase>",
        attr(message),
        attr(kind),
        text(body)
    );
}

fn suites(r: &Report) -> Vec<Suite> {
    let mut findings: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &r.findings {
        findings.entry(f.rule_id.as_str()).or_default().push(f);
    }
    let mut suppressed: BTreeMap<&str, Vec<&Suppressed>> = BTreeMap::new();
    for s in &r.suppressed {
        suppressed.entry(s.finding.rule_id.as_str()).or_default().push(s);
    }
    // Rules of the run in catalogue order, then any rule only findings name.
    let mut order: Vec<&str> = r.rules.iter().map(|x| x.id.as_str()).collect();
    for id in findings.keys().chain(suppressed.keys()) {
        if !order.contains(id) {
            order.push(id);
        }
    }
    let mut out = Vec::new();
    for id in order {
        let mut cases: Vec<Case> = findings.get(id).into_iter().flatten().map(|f| finding_case(f, r.fail_on)).collect();
        cases.extend(suppressed.get(id).into_iter().flatten().map(|s| Case {
            name: s.finding.location.describe(),
            file: s.finding.location.path.clone(),
            line: s.finding.location.line,
            outcome: Outcome::Skipped { message: format!("suppressed by {}: {}", s.by, s.reason) },
        }));
        if cases.is_empty() {
            cases.push(Case { name: "no findings".into(), file: None, line: None, outcome: Outcome::Pass });
        }
        out.push(Suite { name: id.to_string(), cases });
    }
    out.push(coverage_suite(r));
    out
}

fn finding_case(f: &Finding, fail_on: crate::finding::Severity) -> Case {
    let mut body = format!(
        "{}\n\nRule: {} — {}\nSeverity: {}\nWhere: {}\n",
        f.message,
        f.rule_id,
        f.title,
        f.severity.name(),
        f.location.describe()
    );
    if !f.snippet.trim().is_empty() {
        let _ = writeln!(body, "Evidence: {}", f.snippet.trim());
    }
    let _ = writeln!(body, "\nRemediation: {}", f.remediation);
    for d in &f.docs {
        let _ = writeln!(body, "Docs: {d}");
    }
    for rel in &f.related {
        let _ = writeln!(body, "Related: {} — {}", rel.location.describe(), rel.message);
    }
    for at in &f.also_at {
        let _ = writeln!(body, "Also at: {}", at.describe());
    }
    let _ = writeln!(body, "Fingerprint: {}", f.fingerprint);
    Case {
        name: f.location.describe(),
        file: f.location.path.clone(),
        line: f.location.line,
        outcome: if f.severity >= fail_on {
            Outcome::Failure { message: f.message.clone(), kind: f.severity.name().to_string(), body }
        } else {
            Outcome::Info { body: format!("{}: {body}", f.severity.name()) }
        },
    }
}

fn coverage_suite(r: &Report) -> Suite {
    let outcome = if r.complete() {
        Outcome::Pass
    } else {
        let mut body = String::new();
        for g in &r.gaps {
            let perm = g.missing_permission.as_ref().map(|p| format!(" (missing permission: {p})")).unwrap_or_default();
            let _ = writeln!(body, "{}: {}{perm}", g.source, g.reason);
        }
        Outcome::Error {
            message: format!("scan incomplete: {} source(s) could not be read", r.gaps.len()),
            kind: "incomplete".into(),
            body,
        }
    };
    Suite { name: "coverage".into(), cases: vec![Case { name: "coverage".into(), file: None, line: None, outcome }] }
}

/// Drops characters XML 1.0 cannot carry at all (most C0 controls).
fn xml_chars(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars().filter(|&c| matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}'))
}

/// Escapes an attribute value (double-quoted); newlines become character references so they survive
/// attribute-value normalisation.
pub fn attr(s: &str) -> String {
    escape(s, true)
}

/// Escapes element text.
pub fn text(s: &str) -> String {
    escape(s, false)
}

/// `s` without the characters XML cannot carry and with `&`, `<` and `>` as references; in an
/// `attribute` value also quotes, newlines, carriage returns and tabs.
fn escape(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in xml_chars(s) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\'' if attribute => out.push_str("&apos;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\r' if attribute => out.push_str("&#13;"),
            '\t' if attribute => out.push_str("&#9;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_xml() {
        assert_eq!(attr("a<b & \"c\" 'd'\n\u{1}"), "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&#10;");
        assert_eq!(text("x]]>y & <z>"), "x]]&gt;y &amp; &lt;z&gt;");
    }
}
