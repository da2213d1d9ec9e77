//! Fleet audits (`cluster --context A --context B`, `cluster --all-contexts`): one finished
//! [`Report`] per cluster, or why the cluster could not be read, and the one result that holds
//! them all: a fleet section (one row per cluster, worst first) followed by each cluster's own
//! report, in table, Markdown, HTML and JSON. The organisation-wide report (`report` over fleet
//! results and many repositories' results, see `merge`) is the same document with a row per
//! repository or cluster.
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

/// What a row stands for: a cluster (of a fleet audit, or a saved cluster result), a repository,
/// a node scanned alone, or a merged report read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A cluster.
    Cluster,
    /// A repository (one `repo` result).
    Repository,
    /// A node scanned with `node --root` whose cluster is not among the inputs.
    Node,
    /// A merged `report` result read back.
    Report,
}

impl Kind {
    /// `cluster`, `repository`, `node`, `report`: the JSON `kind` and the row label.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Cluster => "cluster",
            Kind::Repository => "repository",
            Kind::Node => "node",
            Kind::Report => "report",
        }
    }

    /// The `kind` of an organisation document's group, read back.
    pub fn parse(s: &str) -> Option<Kind> {
        [Kind::Cluster, Kind::Repository, Kind::Node, Kind::Report].into_iter().find(|k| k.name() == s)
    }

    fn title(self) -> &'static str {
        match self {
            Kind::Cluster => "Cluster",
            Kind::Repository => "Repository",
            Kind::Node => "Node",
            Kind::Report => "Report",
        }
    }
}

/// Which document the rows make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// A fleet audit: one row per cluster (`cluster --all-contexts`).
    Fleet,
    /// An organisation-wide report: one row per repository or cluster (`report FILE.json...`).
    Organisation,
}

/// One cluster of a fleet audit, or one repository or cluster of an organisation report.
#[derive(Debug)]
pub struct Member {
    /// What the row stands for.
    pub kind: Kind,
    /// The kubeconfig context of a cluster; the repository's (or node's) name.
    pub context: String,
    /// The result files it was read from (`report`); empty for a live fleet audit.
    pub inputs: Vec<String>,
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

    /// The verdict label ([`Report::verdict_label`]: `INCOMPLETE` for a READY that could not see
    /// everything), or [`UNREACHABLE`].
    pub fn verdict(&self) -> &'static str {
        self.outcome.as_ref().map_or(UNREACHABLE, |r| r.verdict_label())
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
        format!("{}-{slug}", self.kind.name())
    }

    /// `Repository `web`` / `Cluster `prod``: the section heading's words, for a document.
    fn heading(&self) -> String {
        format!("{} {}", self.kind.title(), self.context)
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
    /// `READY`, `AT RISK`, `BLOCKED`, `INCOMPLETE` (nothing blocks in what was read, but a source
    /// could not be read), or `UNREACHABLE` when the cluster could not be audited.
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

/// The organisation-wide JSON document (`report` over many results, schema
/// `dockershim-audit/v1`, `command` `report`, with `groups` instead of `findings`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonOrganisation {
    /// Always `dockershim-audit/v1`.
    pub schema: String,
    /// The tool that wrote it.
    pub tool: Tool,
    /// Always `report`.
    pub command: String,
    /// The target version every input was scored at (`major.minor`).
    pub target_version: String,
    /// The worst of the groups: 1 if any tripped the gate (`--fail-on` of this `report` run), else
    /// 3 if any was incomplete or could not be audited, else 0.
    pub exit_code: u8,
    /// One entry per repository or cluster, worst first.
    pub groups: Vec<JsonGroup>,
}

/// One repository or cluster of the organisation-wide JSON document.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonGroup {
    /// `cluster`, `repository`, `node` (a node scan whose cluster is not among the inputs) or
    /// `report` (a merged report read back).
    pub kind: String,
    /// The cluster's kubeconfig context; the repository's name (its scanned directory, or the
    /// result file's name when it scanned `.`).
    pub name: String,
    /// The result files this group was read from (a fleet file is named once per cluster).
    pub inputs: Vec<String>,
    /// The API server's `gitVersion`, when a fleet result recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// `READY`, `AT RISK`, `BLOCKED`, `INCOMPLETE` (nothing blocks in what was read, but a source
    /// could not be read), or `UNREACHABLE` for a cluster the fleet could not audit.
    pub verdict: String,
    /// Readiness score 0-100; absent for an unreachable cluster.
    pub score: Option<u32>,
    /// Nodes whose container runtime is Docker Engine (`docker://`).
    pub docker_nodes: usize,
    /// Distinct workloads (objects other than nodes) named by an error finding.
    pub blocking_workloads: usize,
    /// Whether everything in this group was read.
    pub complete: bool,
    /// This group's exit code under this run's `--fail-on`.
    pub exit_code: u8,
    /// Why the cluster could not be audited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The group's merged result (the document `report` writes for its files alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<JsonReport>,
}

/// Builds the fleet JSON document; `members` are already sorted.
pub fn document(members: &[Member], exit_code: u8) -> JsonFleet {
    JsonFleet {
        schema: SCHEMA.into(),
        tool: tool(),
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

/// Builds the organisation JSON document; `members` are already sorted.
pub fn organisation_document(members: &[Member], exit_code: u8) -> JsonOrganisation {
    let target_version = members.iter().find_map(|m| m.outcome.as_ref().ok()).map(|r| r.target.version.to_string());
    JsonOrganisation {
        schema: SCHEMA.into(),
        tool: tool(),
        command: "report".into(),
        target_version: target_version.unwrap_or_default(),
        exit_code,
        groups: members
            .iter()
            .map(|m| JsonGroup {
                kind: m.kind.name().into(),
                name: m.context.clone(),
                inputs: m.inputs.clone(),
                server_version: m.server_version.clone(),
                verdict: m.verdict().into(),
                score: m.score(),
                docker_nodes: m.docker_nodes(),
                blocking_workloads: m.blocking_workloads(),
                complete: m.complete(),
                exit_code: m.exit_code,
                error: m.outcome.as_ref().err().cloned(),
                report: m.outcome.as_ref().ok().map(super::json::document),
            })
            .collect(),
    }
}

fn tool() -> Tool {
    Tool { name: "dockershim-audit".into(), version: env!("CARGO_PKG_VERSION").into() }
}

/// Renders a fleet or an organisation report in a format; `members` are already sorted. SARIF
/// and JUnit describe one scan each and are refused (write one per cluster or repository).
pub fn render(members: &[Member], exit_code: u8, format: Format, doc: Document) -> anyhow::Result<String> {
    match format {
        Format::Json => {
            let mut s = match doc {
                Document::Fleet => serde_json::to_string_pretty(&document(members, exit_code))?,
                Document::Organisation => serde_json::to_string_pretty(&organisation_document(members, exit_code))?,
            };
            s.push('\n');
            Ok(s)
        }
        Format::Table => Ok(table(members, doc)),
        Format::Markdown => Ok(markdown(members, doc)),
        Format::Html => Ok(html(members, doc)),
        Format::Sarif | Format::Junit => anyhow::bail!(
            "--format {} describes one scan; {} writes table, json, markdown or html ({})",
            if format == Format::Sarif { "sarif" } else { "junit" },
            match doc {
                Document::Fleet => "a fleet audit",
                Document::Organisation => "a report over several repositories or clusters",
            },
            match doc {
                Document::Fleet => "audit each cluster with its own --context for SARIF or JUnit",
                Document::Organisation => "write SARIF or JUnit from each scan itself",
            }
        ),
    }
}

/// The fleet section's columns, one row per cluster (per repository or cluster).
fn rows(members: &[Member], doc: Document) -> Vec<[String; 8]> {
    members
        .iter()
        .map(|m| {
            let repo = m.kind == Kind::Repository;
            [
                match doc {
                    Document::Fleet => m.context.clone(),
                    Document::Organisation => format!("{} {}", m.kind.name(), m.context),
                },
                m.server_version.clone().unwrap_or_else(|| "-".into()),
                m.target(),
                m.verdict().into(),
                m.score().map_or_else(|| "-".into(), |s| s.to_string()),
                if repo { "-".into() } else { m.docker_nodes().to_string() },
                m.blocking_workloads().to_string(),
                if m.complete() { "no".into() } else { "INCOMPLETE".into() },
            ]
        })
        .collect()
}

fn headers(doc: Document) -> [&'static str; 8] {
    [
        match doc {
            Document::Fleet => "Cluster",
            Document::Organisation => "Repository / cluster",
        },
        "Server",
        "Target",
        "Verdict",
        "Score",
        "Docker nodes",
        "Blocking workloads",
        "Incomplete?",
    ]
}

/// `FLEET: 3 cluster(s)` / `ORGANISATION: 2 repositories, 3 clusters`.
fn count_line(members: &[Member], doc: Document) -> String {
    match doc {
        Document::Fleet => format!("{} cluster(s)", members.len()),
        Document::Organisation => {
            let mut parts = Vec::new();
            for (kind, one, many) in [
                (Kind::Repository, "repository", "repositories"),
                (Kind::Cluster, "cluster", "clusters"),
                (Kind::Node, "node", "nodes"),
                (Kind::Report, "merged report", "merged reports"),
            ] {
                let n = members.iter().filter(|m| m.kind == kind).count();
                if n > 0 {
                    parts.push(format!("{n} {}", if n == 1 { one } else { many }));
                }
            }
            parts.join(", ")
        }
    }
}

fn title(doc: Document) -> &'static str {
    match doc {
        Document::Fleet => "Fleet readiness",
        Document::Organisation => "Organisation readiness",
    }
}

fn table(members: &[Member], doc: Document) -> String {
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::UTF8_FULL_CONDENSED).force_no_tty().set_header(headers(doc));
    for r in rows(members, doc) {
        t.add_row(r);
    }
    let label = match doc {
        Document::Fleet => "FLEET",
        Document::Organisation => "ORGANISATION",
    };
    let mut out = format!("{label}: {}, worst first\n{t}\n", count_line(members, doc));
    for m in members {
        let _ = writeln!(out, "\n== {} ==", crate::terminal::visible(&m.heading()));
        if !m.inputs.is_empty() {
            let _ = writeln!(out, "from {}", m.inputs.join(", "));
        }
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

fn markdown(members: &[Member], doc: Document) -> String {
    let mut out = format!("# {}\n\n{}, worst first.\n\n", title(doc), count_line(members, doc));
    let heads = headers(doc);
    let _ = writeln!(out, "| {} |", heads.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(heads.len()));
    for (m, r) in members.iter().zip(rows(members, doc)) {
        let mut cells: Vec<String> = r.iter().map(|c| md_cell(c)).collect();
        cells[0] = format!("[{}](#{})", cells[0], m.anchor());
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    for m in members {
        let _ = write!(
            out,
            "\n<a id=\"{}\"></a>\n\n## {} {}\n\n",
            m.anchor(),
            m.kind.title(),
            super::md::code(&m.context, false)
        );
        if !m.inputs.is_empty() {
            let files: Vec<String> = m.inputs.iter().map(|i| super::md::code(i, false)).collect();
            let _ = writeln!(out, "From {}.\n", files.join(", "));
        }
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

/// The page's style: every table inside the page width (fixed layouts, long paths and messages
/// wrap anywhere), as on a printed page.
const CSS: &str = "body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}\
table{border-collapse:collapse;width:100%;table-layout:fixed;margin:.5em 0 1em}\
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top;overflow-wrap:anywhere}\
th{background:#f4f6f8}col.c-sev{width:6.5em}col.c-rule{width:22%}col.c-where{width:30%}\
ul{overflow-wrap:anywhere}.muted{color:#5b6673}@media print{body{margin:0;max-width:none}}";

fn html(members: &[Member], doc: Document) -> String {
    let mut out = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <title>{title}</title>\n<style>{CSS}</style></head><body>\n<h1>{title}</h1>\n<p class=\"muted\">{}, worst first.</p>\n\
         <table id=\"summary\">\n<tr>",
        esc(&count_line(members, doc)),
        title = title(doc)
    );
    for h in headers(doc) {
        let _ = write!(out, "<th>{h}</th>");
    }
    out.push_str("</tr>\n");
    for (m, r) in members.iter().zip(rows(members, doc)) {
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
        let _ = writeln!(out, "<section id=\"{}\"><h2>{}</h2>", m.anchor(), esc(&m.heading()));
        if !m.inputs.is_empty() {
            let files: Vec<String> = m.inputs.iter().map(|i| format!("<code>{}</code>", esc(i))).collect();
            let _ = writeln!(out, "<p class=\"muted\">From {}.</p>", files.join(", "));
        }
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
                    out.push_str(
                        "<table class=\"findings\"><colgroup><col class=\"c-sev\"><col class=\"c-rule\"><col class=\"c-where\"><col></colgroup>\
                         <tr><th>Severity</th><th>Rule</th><th>Where</th><th>Finding</th></tr>\n",
                    );
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
