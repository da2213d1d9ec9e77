//! Output formats: the closed list of what a report can be rendered as, and the one dispatch from
//! a format to its renderer.

use super::Report;
use super::{html, json, junit, markdown, readiness, sarif, table};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable table.
    Table,
    /// Versioned JSON document.
    Json,
    /// SARIF 2.1.0 for code scanning.
    Sarif,
    /// Markdown (pull-request comments, step summaries, readiness report).
    Markdown,
    /// Self-contained HTML readiness report.
    Html,
    /// JUnit XML for CI test reports.
    Junit,
}

/// Renders a report in a format. `color` applies to the table only.
pub fn render(report: &Report, format: Format, color: bool) -> anyhow::Result<String> {
    match format {
        Format::Table => Ok(table::render(report, color)),
        Format::Json => json::render(report),
        Format::Html => Ok(html::render(report)),
        Format::Sarif => sarif::render(report),
        // The readiness report for clusters, nodes and merged results; the pull-request summary for repos.
        Format::Markdown if matches!(report.command.as_str(), "cluster" | "node" | "report") => {
            Ok(readiness::markdown(report))
        }
        Format::Markdown => Ok(markdown::render(report)),
        Format::Junit => Ok(junit::render(report)),
    }
}
