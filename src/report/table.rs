//! `--format table`: findings grouped by severity, then by file or object, for people at a
//! terminal. Colour only when asked (the caller checks for a terminal and `NO_COLOR`). Every
//! piece of scanned text (paths, objects, messages, reasons) goes through [`terminal::visible`]:
//! no escape sequence from a hostile file or object reaches the reader's terminal (issue 14).

use std::fmt::Write as _;

use comfy_table::{Cell, ColumnConstraint, ContentArrangement, Table, Width, presets::UTF8_FULL_CONDENSED};

use super::Report;
use crate::finding::Severity;
use crate::terminal::{self, visible};

/// Renders the table, the summary line and the coverage section.
pub fn render(r: &Report, color: bool) -> String {
    let mut out = String::new();
    for sev in [Severity::Error, Severity::Warning, Severity::Note] {
        let group: Vec<_> = r.findings.iter().filter(|f| f.severity == sev).collect();
        if group.is_empty() {
            continue;
        }
        let heading =
            format!("{} {}{}", group.len(), sev.name().to_uppercase(), if group.len() == 1 { "" } else { "S" });
        let _ = writeln!(out, "{}", if color { paint(&heading, sev) } else { heading });
        let mut t = Table::new();
        t.load_style(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
        // The terminal's width when there is one; 140 columns in pipes and CI logs.
        if !color || t.width().is_none_or(|w| w < 40) {
            t.set_width(140);
        }
        let total = t.width().unwrap_or(140);
        if !color {
            t.force_no_tty();
        }
        t.set_header(vec!["Location · rule", "Finding"]);
        let mut last_place = String::new();
        for f in group {
            let place = f
                .location
                .path
                .clone()
                .or_else(|| f.location.object.as_ref().map(|o| o.to_string()))
                .or_else(|| f.location.node.clone())
                .unwrap_or_default();
            // One part per line (`node`, `path:line:col`, object), so a path is never broken
            // inside its line number.
            let mut loc = f.location.describe_lines().iter().map(|l| visible(l)).collect::<Vec<_>>().join("\n");
            if place == last_place {
                // Same file or object as the row above: show only what differs.
                loc = match (f.location.line, &f.location.node) {
                    (Some(l), _) => format!("  :{l}"),
                    _ => loc,
                };
            }
            last_place = place;
            if let Some(next) = f.also_at.first() {
                let more = f.also_at.len() - 1;
                loc.push_str(&format!("\nand {}", visible(&next.describe())));
                if more > 0 {
                    loc.push_str(&format!("\nand {more} more"));
                }
            }
            let rule_id = visible(&f.rule_id);
            let rule = if color { paint(&rule_id, sev) } else { rule_id.into_owned() };
            t.add_row(vec![
                Cell::new(format!("{loc}\n{rule}")),
                Cell::new(format!(
                    "{}\n→ {}",
                    terminal::visible_lines(&f.message),
                    terminal::visible_lines(first_sentence(&f.remediation))
                )),
            ]);
        }
        // The location column does not wrap where that can be avoided (up to 64 columns): the
        // finding text takes what is left.
        let widest = t.column_max_content_widths().first().copied().unwrap_or(0).min(64).min(total * 2 / 5);
        if let Some(c) = t.column_mut(0) {
            c.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(widest)));
        }
        let _ = writeln!(out, "{t}\n");
    }
    if let Some(h) = &r.horizon {
        let _ = writeln!(out, "upgrade horizon ({}):", h.start());
        for row in &h.rows {
            let _ = writeln!(
                out,
                "  {:<14} {:<8} {:>3} error(s) {:>3} warning(s)  new: {}",
                row.label(),
                row.verdict,
                row.errors,
                row.warnings,
                visible(&row.newly_summary(4))
            );
        }
        out.push('\n');
    }
    if let Some(d) = &r.due_later {
        let _ = writeln!(
            out,
            "due after the target, not counted in this verdict (--horizon shows every release to {}):",
            d.through
        );
        for release in &d.releases {
            let _ = writeln!(out, "  breaks at {:<6} {}", release.version, visible(&release.summary(4)));
        }
        out.push('\n');
    }
    let o = r.scores.overall;
    let _ = writeln!(
        out,
        "target Kubernetes {} — {} (score {}/100): {} error(s), {} warning(s), {} note(s){}{}",
        visible(&r.target.to_string()),
        r.verdict_text(),
        o.score,
        o.errors,
        o.warnings,
        o.notes,
        if r.suppressed.is_empty() { String::new() } else { format!(", {} suppressed", r.suppressed.len()) },
        r.baseline
            .as_ref()
            .map(|b| format!("; baseline: {} new, {} unchanged, {} fixed", b.new, b.unchanged, b.fixed))
            .unwrap_or_default(),
    );
    let counts: Vec<String> =
        r.counts.iter().filter(|(_, v)| **v > 0).map(|(k, v)| format!("{} {v}", k.replace('_', " "))).collect();
    if !counts.is_empty() {
        let _ = writeln!(out, "scanned: {}", counts.join(", "));
    }
    if !r.gaps.is_empty() {
        let head =
            format!("INCOMPLETE: {} source(s) could not be read — the scan did not see everything:", r.gaps.len());
        let _ = writeln!(out, "{}", if color { paint(&head, Severity::Warning) } else { head });
        for g in &r.gaps {
            let perm = g
                .missing_permission
                .as_ref()
                .map(|p| format!(" (missing permission: {})", visible(p)))
                .unwrap_or_default();
            let _ = writeln!(out, "  - {}: {}{perm}", visible(&g.source), visible(&g.reason));
        }
    }
    if !r.skipped.is_empty() {
        let _ = writeln!(out, "skipped on purpose: {}", r.skipped.len());
        for g in r.skipped.iter().take(20) {
            let _ = writeln!(out, "  - {}: {}", visible(&g.source), visible(&g.reason));
        }
        if r.skipped.len() > 20 {
            let _ = writeln!(out, "  ... and {} more (see --format json)", r.skipped.len() - 20);
        }
    }
    for p in &r.ignore_problems {
        let _ = writeln!(out, "ignore: {}: {}", visible(&p.at), visible(&p.problem));
    }
    for o in &r.rule_overrides {
        let _ = writeln!(out, "rules: built-in {} `{}` replaced by {}", o.kind, visible(&o.id), visible(&o.origin));
    }
    // Belt and braces: without colour nothing of ours is a control sequence, so the whole text
    // can be checked once more (what a field above missed, the target's reason, counters).
    if color { out } else { terminal::visible_lines(&out).into_owned() }
}

fn paint(s: &str, sev: Severity) -> String {
    let code = match sev {
        Severity::Error => "31",
        Severity::Warning => "33",
        Severity::Note => "36",
    };
    format!("\x1b[1;{code}m{s}\x1b[0m")
}

fn first_sentence(s: &str) -> &str {
    match s.find(". ") {
        Some(i) => &s[..=i],
        None => s,
    }
}
