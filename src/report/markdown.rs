//! `--format markdown`: a GitHub-flavoured Markdown summary for pull-request comments and
//! `$GITHUB_STEP_SUMMARY`: a summary line, counts by severity, a findings table, one collapsible
//! `<details>` per rule with its remediation, and a coverage section when the scan was incomplete.
//!
//! GitHub rejects comments over 65 535 characters, so the findings table and the details are cut
//! to fit, with a note saying how many were left out; the summary and coverage always stay.
//!
//! Must not: decide anything (verdict and score come from the report), or read anything.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::Report;
use super::md::{code, escape, html, inline};
use crate::finding::Finding;
use crate::finding::Severity;

/// GitHub's limit for a pull-request comment body, in characters.
pub const GITHUB_COMMENT_LIMIT: usize = 65_535;

/// Locations listed per rule inside its `<details>` block before "and N more".
const LOCATIONS_PER_RULE: usize = 50;

/// Renders the summary within GitHub's comment limit.
pub fn render(r: &Report) -> String {
    render_within(r, GITHUB_COMMENT_LIMIT)
}

/// Renders the summary in at most `limit` characters (whole sections are dropped, never cut in
/// the middle; the header, counts and coverage are always kept).
pub fn render_within(r: &Report, limit: usize) -> String {
    let head = header(r);
    let coverage = coverage(r);
    let footer = footer();
    // Room for the truncation note, whatever it says.
    let reserve = 400;
    let budget = limit.saturating_sub(chars(&head) + chars(&coverage) + chars(&footer) + reserve);

    let mut body = String::new();
    let mut used = 0usize;
    let mut rows_shown = 0usize;
    if !r.findings.is_empty() {
        let table_head = "### Findings\n\n| Severity | Location | Rule | Finding |\n|---|---|---|---|\n";
        used += chars(table_head);
        body.push_str(table_head);
        for f in &r.findings {
            let row = finding_row(f);
            if used + chars(&row) > budget {
                break;
            }
            used += chars(&row);
            body.push_str(&row);
            rows_shown += 1;
        }
        body.push('\n');
        used += 1;
    }

    let groups = by_rule(&r.findings);
    let mut rules_shown = 0usize;
    if !groups.is_empty() {
        let details_head = "### What to do\n\n";
        let mut details = String::new();
        let mut details_used = chars(details_head);
        for (rule_id, fs) in &groups {
            let block = rule_details(rule_id, fs);
            if used + details_used + chars(&block) > budget {
                break;
            }
            details_used += chars(&block);
            details.push_str(&block);
            rules_shown += 1;
        }
        if rules_shown > 0 {
            body.push_str(details_head);
            body.push_str(&details);
        }
    }

    let mut out = head;
    out.push_str(&body);
    if rows_shown < r.findings.len() || rules_shown < groups.len() {
        let _ = writeln!(
            out,
            "> [!NOTE]\n> Truncated to fit GitHub's {GITHUB_COMMENT_LIMIT}-character limit: {} of {} finding(s) and {} of {} rule(s) shown. \
             The SARIF or JSON output has everything.\n",
            rows_shown,
            r.findings.len(),
            rules_shown,
            groups.len()
        );
    }
    out.push_str(&coverage);
    out.push_str(&footer);
    out
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn header(r: &Report) -> String {
    let o = r.scores.overall;
    let mut out = String::new();
    let _ = writeln!(out, "## dockershim-audit: {} (score {}/100)\n", r.verdict_text(), o.score);
    let mut line = format!(
        "**Target Kubernetes {}** ({}) · {} · {} · {}",
        r.target.version,
        r.target.reason(),
        plural(o.errors as usize, "error"),
        plural(o.warnings as usize, "warning"),
        plural(o.notes as usize, "note")
    );
    if !r.suppressed.is_empty() {
        line.push_str(&format!(" · {} suppressed", r.suppressed.len()));
    }
    if let Some(b) = &r.baseline {
        line.push_str(&format!(" · baseline: {} new, {} unchanged, {} fixed", b.new, b.unchanged, b.fixed));
    }
    if !r.complete() {
        line.push_str(" · **scan incomplete**");
    }
    let _ = writeln!(out, "{line}\n");
    let _ = writeln!(out, "{}\n", escape(crate::score::FORMULA));
    let _ = writeln!(out, "| Severity | Findings | Meaning |\n|---|---:|---|");
    for (sev, n, meaning) in [
        (Severity::Error, o.errors, "blocks the upgrade to the target version"),
        (Severity::Warning, o.warnings, "will likely break or needs a change"),
        (Severity::Note, o.notes, "informative"),
    ] {
        let _ = writeln!(out, "| {} | {n} | {meaning} |", sev.name());
    }
    out.push('\n');
    if r.findings.is_empty() {
        let _ = writeln!(out, "No findings at any severity.\n");
    }
    if let Some(h) = &r.horizon {
        out.push_str(&horizon_table(h));
    }
    if let Some(d) = &r.due_later {
        out.push_str(&due_later_list(d));
    }
    out
}

/// What breaks only after the target, as a short Markdown section (also used by the readiness
/// report).
pub(crate) fn due_later_list(d: &crate::score::horizon::DueLater) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### Due after the target\n");
    let _ = writeln!(
        out,
        "Not counted in this verdict, which is for {}: these become warnings or errors at a later release \
         (`--horizon` shows every release to {}).\n",
        escape(&d.after),
        escape(&d.through)
    );
    for release in &d.releases {
        let _ = writeln!(out, "- **{}**: {}", escape(&release.version), inline(&release.summary(6), true));
    }
    out.push('\n');
    out
}

/// The upgrade horizon as a Markdown section (also used by the readiness report).
pub(crate) fn horizon_table(h: &crate::score::horizon::Horizon) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### Upgrade horizon ({})\n", escape(&h.start()));
    let _ = writeln!(out, "| Release | Verdict | Errors | Warnings | Newly breaking |\n|---|---|---:|---:|---|");
    for row in &h.rows {
        let release = if row.is_target { format!("**{}**", row.label()) } else { row.label() };
        let _ = writeln!(
            out,
            "| {release} | {} | {} | {} | {} |",
            row.verdict,
            row.errors,
            row.warnings,
            cell(&row.newly_summary(6))
        );
    }
    out.push('\n');
    out
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

fn finding_row(f: &Finding) -> String {
    format!(
        "| {} | {} | {} | {} |\n",
        f.severity.name(),
        code(&f.places(), true),
        code(&f.rule_id, true),
        inline(f.message.trim(), true)
    )
}

/// Findings grouped by rule, in the order rules first appear (most severe first).
fn by_rule(findings: &[Finding]) -> Vec<(String, Vec<&Finding>)> {
    let mut order: Vec<String> = Vec::new();
    let mut groups: BTreeMap<String, Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        if !groups.contains_key(&f.rule_id) {
            order.push(f.rule_id.clone());
        }
        groups.entry(f.rule_id.clone()).or_default().push(f);
    }
    order.into_iter().filter_map(|id| groups.remove(&id).map(|g| (id, g))).collect()
}

fn rule_details(rule_id: &str, fs: &[&Finding]) -> String {
    let Some(first) = fs.first() else {
        return String::new();
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<details>\n<summary><b>{}</b> ({}) — {}: {}</summary>\n",
        html(rule_id),
        first.severity.name(),
        html(&first.title),
        plural(fs.len(), "finding")
    );
    let _ = writeln!(out, "**Remediation:** {}\n", escape(&first.remediation));
    if !first.docs.is_empty() {
        let links: Vec<String> = first.docs.iter().map(|d| format!("<{d}>")).collect();
        let _ = writeln!(out, "**Docs:** {}\n", links.join(" · "));
    }
    for f in fs.iter().take(LOCATIONS_PER_RULE) {
        let _ = writeln!(out, "- {} — {}", code(&f.places(), false), inline(&f.message, false));
    }
    if fs.len() > LOCATIONS_PER_RULE {
        let _ = writeln!(out, "- … and {} more", fs.len() - LOCATIONS_PER_RULE);
    }
    out.push_str("\n</details>\n\n");
    out
}

fn coverage(r: &Report) -> String {
    let mut out = String::new();
    if !r.gaps.is_empty() {
        let _ = writeln!(
            out,
            "### Coverage: incomplete\n\n> [!WARNING]\n> {} could not be read, so this scan did not see everything; \
             a clean result here does not mean the upgrade is safe.\n",
            plural(r.gaps.len(), "source")
        );
        let _ = writeln!(out, "| Source | Why | Missing permission |\n|---|---|---|");
        for g in &r.gaps {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                code(&g.source, true),
                cell(&g.reason),
                g.missing_permission.as_deref().map(cell).unwrap_or_default()
            );
        }
        out.push('\n');
    }
    for o in &r.rule_overrides {
        let _ = writeln!(
            out,
            "Built-in {} {} replaced by {}.\n",
            escape(&o.kind),
            code(&o.id, false),
            code(&o.origin, false)
        );
    }
    if !r.skipped.is_empty() || !r.ignore_problems.is_empty() {
        let _ = writeln!(
            out,
            "<details>\n<summary>{} skipped on purpose, {}</summary>\n",
            plural(r.skipped.len(), "source"),
            plural(r.ignore_problems.len(), "ignore problem")
        );
        for g in r.skipped.iter().take(LOCATIONS_PER_RULE) {
            let _ = writeln!(out, "- {}: {}", code(&g.source, false), escape(&g.reason));
        }
        if r.skipped.len() > LOCATIONS_PER_RULE {
            let _ = writeln!(out, "- … and {} more", r.skipped.len() - LOCATIONS_PER_RULE);
        }
        for p in &r.ignore_problems {
            let _ = writeln!(out, "- ignore at {}: {}", code(&p.at, false), escape(&p.problem));
        }
        out.push_str("\n</details>\n\n");
    }
    out
}

fn footer() -> String {
    "<sub>dockershim-audit · `dockershim-audit rules explain RULE` for details</sub>\n".to_string()
}

/// Text for a table cell: one line, escaped.
fn cell(s: &str) -> String {
    escape(s.trim())
}
