//! Fleet audits (`cluster --context A --context B`, `cluster --all-contexts`): one finished
//! [`Report`] per cluster, or why the cluster could not be read, and the one result that holds
//! them all: a fleet section (one row per cluster, worst first) followed by each cluster's own
//! report, in table, Markdown, HTML and JSON.
//!
//! Place in the pipeline: renderers. The per-cluster reports come from the same single-cluster
//! path as `cluster --context A`; nothing is decided here except the order of the rows.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::Report;
use super::format::Format;
use super::json::{JsonReport, JsonTarget, SCHEMA, Tool};
use crate::finding::Severity;
use crate::score::Verdict;

/// The verdict shown for a cluster that could not be audited at all.
pub const UNREACHABLE: &str = "UNREACHABLE";

/// One cluster of a fleet audit.
#[derive(Debug)]
pub struct Member {
    /// The kubeconfig context.
    pub context: String,
    /// The API server's version (`/version`), when it answered.
    pub server_version: Option<String>,
    /// The cluster's report, or why it could not be audited (an unreachable cluster is a gap of
    /// the fleet, not an abort).
    pub outcome: Result<Report, String>,
    /// The cluster's own exit code (as a single-context run would have returned it).
    pub exit_code: u8,
}

impl Member {
    /// Nodes whose container runtime is Docker Engine (`docker://`).
    pub fn docker_nodes(&self) -> usize {
        self.outcome.as_ref().map_or(0, |r| r.nodes.iter().filter(|n| n.runtime.starts_with("docker://")).count())
    }

    /// Distinct workloads (objects other than nodes) named by an error finding: what blocks the upgrade.
    pub fn blocking_workloads(&self) -> usize {
        let Ok(r) = &self.outcome else { return 0 };
        let mut seen = BTreeSet::new();
        for f in r.findings.iter().filter(|f| f.severity == Severity::Error) {
            for loc in std::iter::once(&f.location).chain(&f.also_at) {
                if let Some(o) = loc.object.as_ref().filter(|o| o.kind != "Node") {
                    seen.insert(o.clone());
                }
            }
        }
        seen.len()
    }

    /// Whether everything in this cluster was read (an unreachable cluster is not complete).
    pub fn complete(&self) -> bool {
        self.outcome.as_ref().is_ok_and(Report::complete)
    }

    /// The verdict label, or [`UNREACHABLE`].
    pub fn verdict(&self) -> &'static str {
        self.outcome.as_ref().map_or(UNREACHABLE, |r| r.scores.overall.verdict.label())
    }

    /// The readiness score; `None` when the cluster could not be audited.
    pub fn score(&self) -> Option<u32> {
        self.outcome.as_ref().ok().map(|r| r.scores.overall.score)
    }

    /// Worst first: blocked, then unreachable, at risk, ready; incomplete before complete; then
    /// the lower score; then the context name.
    fn rank(&self) -> (u8, bool, u32, String) {
        let verdict = match &self.outcome {
            Ok(r) => match r.scores.overall.verdict {
                Verdict::Blocked => 0,
                Verdict::AtRisk => 2,
                Verdict::Ready => 3,
            },
            Err(_) => 1,
        };
        (verdict, self.complete(), self.score().unwrap_or(0), self.context.clone())
    }

    fn anchor(&self) -> String {
        let slug: String = self
            .context
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
            .collect();
        format!("cluster-{slug}")
    }

    fn target(&self) -> String {
        self.outcome.as_ref().map_or_else(|_| "-".into(), |r| r.target.version.to_string())
    }
}

/// Sorts the members worst first (see the README's "Auditing many clusters").
pub fn sort_worst_first(members: &mut [Member]) {
    members.sort_by_key(Member::rank);
}

/// The fleet JSON document (schema `dockershim-audit/v1`, `command` `fleet`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonFleet {
    /// Always `dockershim-audit/v1`.
    pub schema: String,
    /// The tool that wrote it.
    pub tool: Tool,
    /// Always `fleet`.
    pub command: String,
    /// The fleet's exit code: 1 if any cluster tripped the gate, else 3 if any was incomplete or
    /// unreachable, else 0.
    pub exit_code: u8,
    /// One entry per cluster, worst first.
    pub fleet: Vec<JsonMember>,
}

/// One cluster of the fleet JSON document.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonMember {
    /// The kubeconfig context.
    pub context: String,
    /// The API server's `gitVersion`, when it answered (`v1.23.17`).
    pub server_version: Option<String>,
    /// The version this cluster was scored against and where it came from (each cluster resolves
    /// its own: the next minor of its server, unless `--target-version` or the config file says).
    /// Absent for an unreachable cluster.
    pub target: Option<JsonTarget>,
    /// `READY`, `AT RISK`, `BLOCKED`, or `UNREACHABLE` when the cluster could not be audited.
    pub verdict: String,
    /// Readiness score 0-100; absent for an unreachable cluster.
    pub score: Option<u32>,
    /// Nodes whose container runtime is Docker Engine (`docker://`).
    pub docker_nodes: usize,
    /// Distinct workloads (objects other than nodes) named by an error finding.
    pub blocking_workloads: usize,
    /// Whether everything in this cluster was read; `false` for an unreachable cluster.
    pub complete: bool,
    /// This cluster's own exit code (as `cluster --context` alone would have returned).
    pub exit_code: u8,
    /// Why the cluster could not be audited (unreachable, unknown context, unauthorised...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The cluster's full result, the same document `cluster --context` writes alone (findings,
    /// coverage, nodes...); absent for an unreachable cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<JsonReport>,
}

/// Builds the fleet JSON document; `members` are already sorted.
pub fn document(members: &[Member], exit_code: u8) -> JsonFleet {
    JsonFleet {
        schema: SCHEMA.into(),
        tool: Tool { name: "dockershim-audit".into(), version: env!("CARGO_PKG_VERSION").into() },
        command: "fleet".into(),
        exit_code,
        fleet: members
            .iter()
            .map(|m| {
                let report = m.outcome.as_ref().ok().map(super::json::document);
                JsonMember {
                    context: m.context.clone(),
                    server_version: m.server_version.clone(),
                    target: report.as_ref().and_then(|r| r.target.clone()),
                    verdict: m.verdict().into(),
                    score: m.score(),
                    docker_nodes: m.docker_nodes(),
                    blocking_workloads: m.blocking_workloads(),
                    complete: m.complete(),
                    exit_code: m.exit_code,
                    error: m.outcome.as_ref().err().cloned(),
                    report,
                }
            })
            .collect(),
    }
}

/// Renders the fleet in a format; `members` are already sorted. SARIF and JUnit describe one
/// scan each and are refused (write one per cluster with `--context`).
pub fn render(members: &[Member], exit_code: u8, format: Format) -> anyhow::Result<String> {
    match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&document(members, exit_code))?;
            s.push('\n');
            Ok(s)
        }
        Format::Table => Ok(table(members)),
        Format::Markdown => Ok(markdown(members)),
        Format::Html => Ok(html(members)),
        Format::Sarif | Format::Junit => anyhow::bail!(
            "--format {} describes one scan; a fleet audit writes table, json, markdown or html (audit each \
             cluster with its own --context for SARIF or JUnit)",
            if format == Format::Sarif { "sarif" } else { "junit" }
        ),
    }
}

/// The fleet section's columns, one row per cluster.
fn rows(members: &[Member]) -> Vec<[String; 8]> {
    members
        .iter()
        .map(|m| {
            [
                m.context.clone(),
                m.server_version.clone().unwrap_or_else(|| "-".into()),
                m.target(),
                m.verdict().into(),
                m.score().map_or_else(|| "-".into(), |s| s.to_string()),
                m.docker_nodes().to_string(),
                m.blocking_workloads().to_string(),
                if m.complete() { "no".into() } else { "INCOMPLETE".into() },
            ]
        })
        .collect()
}

const HEADERS: [&str; 8] =
    ["Cluster", "Server", "Target", "Verdict", "Score", "Docker nodes", "Blocking workloads", "Incomplete?"];

fn table(members: &[Member]) -> String {
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::UTF8_FULL_CONDENSED).force_no_tty().set_header(HEADERS);
    for r in rows(members) {
        t.add_row(r);
    }
    let mut out = format!("FLEET: {} cluster(s), worst first\n{t}\n", members.len());
    for m in members {
        let _ = writeln!(out, "\n== Cluster {} ==", crate::terminal::visible(&m.context));
        match &m.outcome {
            Ok(r) => out.push_str(&super::table::render(r, false)),
            Err(e) => {
                let _ = writeln!(out, "not audited: {e}");
            }
        }
    }
    // The table is never coloured: every control character in it came from a context or a report.
    crate::terminal::visible_lines(&out).into_owned()
}

fn md_cell(s: &str) -> String {
    super::md::escape(s)
}

fn markdown(members: &[Member]) -> String {
    let mut out = format!("# Fleet readiness\n\n{} cluster(s), worst first.\n\n", members.len());
    let _ = writeln!(out, "| {} |", HEADERS.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(HEADERS.len()));
    for (m, r) in members.iter().zip(rows(members)) {
        let mut cells: Vec<String> = r.iter().map(|c| md_cell(c)).collect();
        cells[0] = format!("[{}](#{})", cells[0], m.anchor());
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    for m in members {
        let _ = write!(out, "\n<a id=\"{}\"></a>\n\n## Cluster {}\n\n", m.anchor(), super::md::code(&m.context, false));
        match &m.outcome {
            Ok(r) => out.push_str(&super::readiness::markdown(r)),
            Err(e) => {
                let _ = writeln!(out, "Not audited: {}", md_cell(e));
            }
        }
    }
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn html(members: &[Member]) -> String {
    let mut out = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Fleet readiness</title>\n<style>\
         body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}\
         td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}</style></head><body>\n\
         <h1>Fleet readiness</h1>\n<table>\n<tr>",
    );
    for h in HEADERS {
        let _ = write!(out, "<th>{h}</th>");
    }
    out.push_str("</tr>\n");
    for (m, r) in members.iter().zip(rows(members)) {
        out.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            if i == 0 {
                let _ = write!(out, "<td><a href=\"#{}\">{}</a></td>", m.anchor(), esc(c));
            } else {
                let _ = write!(out, "<td>{}</td>", esc(c));
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    for m in members {
        let _ = writeln!(out, "<section id=\"{}\"><h2>Cluster {}</h2>", m.anchor(), esc(&m.context));
        match &m.outcome {
            Ok(r) => {
                let _ = writeln!(
                    out,
                    "<p>{} · score {} · target Kubernetes {} ({})</p>",
                    esc(&r.verdict_text()),
                    r.scores.overall.score,
                    r.target.version,
                    esc(&r.target.reason())
                );
                if !r.findings.is_empty() {
                    out.push_str("<table><tr><th>Severity</th><th>Rule</th><th>Where</th><th>Finding</th></tr>\n");
                    for f in &r.findings {
                        let _ = writeln!(
                            out,
                            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                            f.severity.name(),
                            esc(&f.rule_id),
                            esc(&f.places()),
                            esc(&f.message)
                        );
                    }
                    out.push_str("</table>\n");
                }
                if !r.gaps.is_empty() {
                    out.push_str("<p>Not read:</p><ul>\n");
                    for g in &r.gaps {
                        let _ = writeln!(out, "<li>{}: {}</li>", esc(&g.source), esc(&g.reason));
                    }
                    out.push_str("</ul>\n");
                }
            }
            Err(e) => {
                let _ = writeln!(out, "<p>Not audited: {}</p>", esc(e));
            }
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body></html>\n");
    out
}
