//! `--format html`: the readiness report as one self-contained page — inline CSS, inline SVG charts
//! and a few lines of inline JavaScript (sortable tables, open folded sections on print or when a
//! link points into them). No network, no external assets: a Content-Security-Policy forbids them.
//! Every piece of text from the scan is escaped.

use std::fmt::Write as _;

use super::Report;
use super::readiness::{
    NO_POOL, NODE_ROWS_UNFOLDED, NodeRow, Readiness, RuleGroup, first_sentences, node_verdicts, place, slug,
};
use crate::finding::Severity;
use crate::score::{FORMULA, Score, Verdict};

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Text whose backtick spans are code.
fn inline(s: &str) -> String {
    s.split('`')
        .enumerate()
        .map(|(i, p)| if i % 2 == 1 { format!("<code>{}</code>", esc(p)) } else { esc(p) })
        .collect()
}

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Blocked => "blocked",
        Verdict::AtRisk => "at-risk",
        Verdict::Ready => "ready",
    }
}

fn verdict_rank(v: Verdict) -> u8 {
    match v {
        Verdict::Blocked => 2,
        Verdict::AtRisk => 1,
        Verdict::Ready => 0,
    }
}

fn verdict_cell(s: &Score) -> String {
    let incomplete = if s.complete {
        ""
    } else {
        " <span class=\"incomplete\" title=\"not everything could be read\">incomplete</span>"
    };
    format!(
        "<td data-sort=\"{}\"><span class=\"pill {}\">{}</span>{incomplete}</td><td class=\"num\">{}</td>",
        verdict_rank(s.verdict),
        verdict_class(s.verdict),
        s.verdict.label(),
        s.score
    )
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn link(href: &str) -> String {
    if href.starts_with("https://") || href.starts_with("http://") {
        format!("<a href=\"{}\" rel=\"noreferrer\">{}</a>", esc(href), esc(href))
    } else {
        esc(href)
    }
}

const COLOURS: [&str; 3] = ["#c62828", "#ef6c00", "#1565c0"];

/// A horizontal stacked bar chart (errors, warnings, notes per row) as inline SVG.
fn bar_chart(title: &str, rows: &[(String, [u32; 3])]) -> String {
    let mut out = String::new();
    let _ = write!(out, "<figure class=\"chart\"><figcaption>{}</figcaption>", esc(title));
    if rows.is_empty() {
        out.push_str("<p class=\"muted\">Nothing to chart.</p></figure>");
        return out;
    }
    let max = rows.iter().map(|(_, c)| c.iter().sum::<u32>()).max().unwrap_or(0).max(1);
    let (label_w, bar_w, row_h) = (170u32, 280u32, 24u32);
    let height = row_h * rows.len() as u32 + 8;
    let width = label_w + bar_w + 50;
    let _ = write!(
        out,
        "<svg role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" \
xmlns=\"http://www.w3.org/2000/svg\">",
        esc(title)
    );
    for (i, (label, counts)) in rows.iter().enumerate() {
        let y = i as u32 * row_h + 4;
        let short: String =
            if label.chars().count() > 24 { label.chars().take(23).chain(['…']).collect() } else { label.clone() };
        let _ = write!(
            out,
            "<g><title>{}: {} error(s), {} warning(s), {} note(s)</title><text x=\"{}\" y=\"{}\" text-anchor=\"end\" \
class=\"lbl\">{}</text>",
            esc(label),
            counts[0],
            counts[1],
            counts[2],
            label_w - 8,
            y + 15,
            esc(&short)
        );
        let mut x = label_w;
        for (k, c) in counts.iter().enumerate() {
            if *c == 0 {
                continue;
            }
            let w = (u64::from(*c) * u64::from(bar_w) / u64::from(max)).max(3) as u32;
            let _ = write!(
                out,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{}\" fill=\"{}\"/>",
                row_h - 8,
                COLOURS[k]
            );
            x += w;
        }
        let total: u32 = counts.iter().sum();
        let _ = write!(out, "<text x=\"{}\" y=\"{}\" class=\"val\">{total}</text></g>", x + 6, y + 15);
    }
    out.push_str("</svg></figure>");
    out
}

fn legend() -> String {
    format!(
        "<p class=\"legend\"><span style=\"background:{}\"></span>error (blocks) <span style=\"background:{}\"></span>warning \
<span style=\"background:{}\"></span>note</p>",
        COLOURS[0], COLOURS[1], COLOURS[2]
    )
}

fn rule_links(r: &Readiness<'_>, ids: &[String]) -> String {
    if ids.is_empty() {
        return "<span class=\"muted\">—</span>".into();
    }
    ids.iter()
        .map(|id| {
            let anchor = format!("error-{}", slug(id));
            if r.groups.iter().any(|g| g.anchor == anchor) {
                format!("<a href=\"#{anchor}\"><code>{}</code></a>", esc(id))
            } else {
                format!("<code>{}</code>", esc(id))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn or_dash(s: &str) -> String {
    if s.is_empty() { "<span class=\"muted\">—</span>".into() } else { esc(s) }
}

const CSS: &str = r#"
:root{--err:#c62828;--warn:#ef6c00;--note:#1565c0;--ok:#2e7d32;--fg:#1d2125;--muted:#5f6b76;--line:#d8dee4;--bg:#fff;--soft:#f5f7f9}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1180px;padding:24px 28px 48px;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:24px;margin:0 0 4px}h2{font-size:20px;margin:32px 0 10px;padding-bottom:4px;border-bottom:2px solid var(--line)}h3{font-size:16px;margin:0}
code{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--soft);padding:1px 4px;border-radius:3px;overflow-wrap:anywhere}
a{color:#0b5cad}
.muted{color:var(--muted)}
.hero{display:flex;gap:24px;align-items:center;border:1px solid var(--line);border-left:10px solid var(--c);border-radius:8px;padding:18px 22px;background:var(--soft)}
.hero.blocked{--c:var(--err)}.hero.at-risk{--c:var(--warn)}.hero.ready{--c:var(--ok)}
.verdict{font-size:34px;font-weight:800;letter-spacing:.04em;color:var(--c);white-space:nowrap}
.score{font-size:40px;font-weight:700;line-height:1;text-align:center;min-width:110px}.score small{display:block;font-size:13px;font-weight:400;color:var(--muted)}
.formula{font-size:13px;color:var(--muted);margin:6px 0 0}
.meta{margin:2px 0}
.alert{border:2px solid var(--warn);background:#fff4e5;border-radius:8px;padding:12px 18px;margin:18px 0}
.alert h2{border:0;margin:0 0 6px;color:#8a3b00;font-size:18px}
nav.toc{margin:14px 0;font-size:14px}nav.toc a{margin-right:14px}
.charts{display:flex;flex-wrap:wrap;gap:18px}
.chart{margin:0;border:1px solid var(--line);border-radius:6px;padding:8px 12px}.chart figcaption{font-weight:600;font-size:14px;margin-bottom:4px}
.chart .lbl{font-size:12px;fill:var(--fg)}.chart .val{font-size:12px;fill:var(--muted)}
.legend{font-size:13px;color:var(--muted)}.legend span{display:inline-block;width:11px;height:11px;margin:0 4px 0 10px;border-radius:2px;vertical-align:-1px}
table{border-collapse:collapse;width:100%;margin:8px 0 16px;font-size:14px}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600;white-space:nowrap}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th::after{content:" \2195";color:#9aa5b1;font-weight:400}
table.sortable th[aria-sort=ascending]::after{content:" \2191";color:var(--fg)}
table.sortable th[aria-sort=descending]::after{content:" \2193";color:var(--fg)}
td.num{text-align:right}
table.findings{table-layout:fixed}col.c-where{width:30%}col.c-node{width:15%}
td{overflow-wrap:anywhere}
@media screen and (min-width:1000px){#nodes table:not(#pools-table) td:nth-child(4){white-space:nowrap}}
.pill,.sev{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:700;color:#fff;white-space:nowrap}
.incomplete{font-size:11px;color:var(--warn);font-weight:600;margin-left:4px}
.pill.blocked,.sev.error{background:var(--err)}.pill.at-risk,.sev.warning{background:var(--warn)}.pill.ready{background:var(--ok)}.sev.note{background:var(--note)}
ol.plan{padding-left:0;list-style:none;counter-reset:step}
ol.plan>li{border:1px solid var(--line);border-radius:8px;padding:10px 16px 6px 56px;margin:0 0 10px;position:relative}
ol.plan>li::before{counter-increment:step;content:counter(step);position:absolute;left:14px;top:10px;width:28px;height:28px;border-radius:50%;background:var(--fg);color:#fff;text-align:center;font-weight:700;line-height:28px}
ol.plan ol{margin:6px 0;padding-left:20px}
ol.plan h3 .before{font-size:.75em;font-weight:600;border:1px solid var(--line);border-radius:10px;padding:1px 8px;margin-left:8px;white-space:nowrap;vertical-align:middle}
.links,.who{font-size:14px;margin:4px 0}
details{border:1px solid var(--line);border-radius:6px;margin:0 0 10px;padding:0 12px}
details>summary{cursor:pointer;padding:8px 0;font-weight:600}
details[open]>summary{border-bottom:1px solid var(--line);margin-bottom:6px}
.fix{font-size:14px}
td pre{margin:4px 0 0;white-space:pre-wrap;font-size:12px}
footer{margin-top:36px;font-size:12px;color:var(--muted)}
:target{outline:3px solid #ffd54f;outline-offset:2px}
@media print{
 body{max-width:none;padding:0;font-size:11pt}
 nav.toc,.noprint{display:none}
 a{color:inherit;text-decoration:none}
 .hero,.alert,ol.plan>li,tr,.chart,details>summary{break-inside:avoid}
 h2{break-after:avoid}
 table.sortable th::after{content:""}
 details{border:0;padding:0}
 .pill,.sev,ol.plan>li::before,.legend span,.hero{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"#;

const JS: &str = r#"(function(){
function val(c){var v=c.getAttribute('data-sort');return v===null?c.textContent.trim():v;}
function cmp(a,b){return a.localeCompare(b,undefined,{numeric:true,sensitivity:'base'});}
Array.prototype.forEach.call(document.querySelectorAll('table.sortable'),function(t){
 var hs=t.tHead?t.tHead.rows[0].cells:[];
 Array.prototype.forEach.call(hs,function(th,i){
  th.tabIndex=0;
  function go(){var asc=th.getAttribute('aria-sort')!=='ascending';
   Array.prototype.forEach.call(hs,function(h){h.removeAttribute('aria-sort');});
   th.setAttribute('aria-sort',asc?'ascending':'descending');
   var b=t.tBodies[0],rows=Array.prototype.slice.call(b.rows);
   rows.sort(function(x,y){var d=cmp(val(x.cells[i]),val(y.cells[i]));return asc?d:-d;});
   rows.forEach(function(r){b.appendChild(r);});}
  th.addEventListener('click',go);
  th.addEventListener('keydown',function(e){if(e.key==='Enter'||e.key===' '){e.preventDefault();go();}});
 });
});
function reveal(){var id=location.hash.slice(1);if(!id)return;var el=document.getElementById(decodeURIComponent(id));
 for(var p=el;p;p=p.parentElement){if(p.tagName==='DETAILS')p.open=true;}if(el)el.scrollIntoView();}
window.addEventListener('hashchange',reveal);reveal();
window.addEventListener('beforeprint',function(){Array.prototype.forEach.call(document.querySelectorAll('details'),function(d){d.setAttribute('data-was',d.open?'1':'0');d.open=true;});});
window.addEventListener('afterprint',function(){Array.prototype.forEach.call(document.querySelectorAll('details[data-was="0"]'),function(d){d.open=false;});});
document.documentElement.setAttribute('data-ready','1');
})();"#;

/// Renders the self-contained HTML readiness report.
pub fn render(report: &Report) -> String {
    let r = Readiness::of(report);
    let o = r.overall;
    let mut out = String::with_capacity(64 * 1024);
    let title = format!("Dockershim readiness: {} for Kubernetes {}", o.verdict.label(), report.target.version);
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n\
<meta name=\"generator\" content=\"dockershim-audit {}\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>",
        env!("CARGO_PKG_VERSION"),
        esc(&title)
    );

    // Header: target, verdict, score and how it is computed.
    let _ = writeln!(
        out,
        "<header class=\"hero {cls}\" id=\"top\">\n<div class=\"verdict\" id=\"verdict\">{verdict}</div>\n\
<div class=\"score\" id=\"score\">{score}<small>of 100</small></div>\n<div>\n<h1>Dockershim readiness report</h1>\n\
<p class=\"meta\">Target Kubernetes <strong id=\"target\">{target}</strong> <span class=\"muted\" id=\"target-source\">({why})</span> · {counts}{supp}</p>",
        cls = verdict_class(o.verdict),
        verdict = o.verdict.label(),
        score = o.score,
        target = esc(&report.target.version.to_string()),
        why = esc(&report.target.reason()),
        counts = esc(&format!(
            "{}, {}, {}",
            plural(o.errors as usize, "blocker", "blockers"),
            plural(o.warnings as usize, "warning", "warnings"),
            plural(o.notes as usize, "note", "notes")
        )),
        supp = if report.suppressed.is_empty() {
            String::new()
        } else {
            format!(", {} suppressed", report.suppressed.len())
        },
    );
    let verdict_text = report.verdict_text();
    if verdict_text != o.verdict.label() {
        let _ = writeln!(out, "<p class=\"meta\" id=\"verdict-text\"><strong>{}</strong></p>", esc(&verdict_text));
    }
    if !report.scanned.is_empty() {
        let shown: Vec<String> = report.scanned.iter().take(12).map(|s| format!("<code>{}</code>", esc(s))).collect();
        let more =
            if report.scanned.len() > 12 { format!(" and {} more", report.scanned.len() - 12) } else { String::new() };
        let _ = writeln!(out, "<p class=\"meta\">Scanned ({}): {}{more}</p>", esc(&report.command), shown.join(", "));
    }
    let _ = writeln!(out, "<p class=\"formula\" id=\"formula\">{}</p>\n</div>\n</header>", esc(FORMULA));

    // Coverage, prominently, when the scan was incomplete.
    if !r.complete {
        let _ = writeln!(
            out,
            "<section class=\"alert\" id=\"coverage-alert\" role=\"alert\">\n<h2>Incomplete scan: {} could not be read</h2>\n\
<p>The verdict covers only what the scan could see; a scan that could not see must not be read as clean. \
The score is capped at 89 until every source is read.</p>\n<ul>",
            esc(&plural(report.gaps.len(), "source", "sources"))
        );
        for g in &report.gaps {
            let _ = writeln!(out, "<li><code>{}</code>: {}{}</li>", esc(&g.source), esc(&g.reason), perm(g));
        }
        out.push_str("</ul>\n</section>\n");
    }

    let has_nodes = !r.nodes.is_empty();
    out.push_str("<nav class=\"toc\">");
    out.push_str("<a href=\"#summary\">Summary</a>");
    if has_nodes {
        out.push_str("<a href=\"#nodes\">Nodes</a>");
    }
    out.push_str("<a href=\"#plan\">Migration plan</a>");
    for (sev, id, label) in SECTIONS {
        if r.count_at(sev) > 0 {
            let _ = write!(out, "<a href=\"#{id}\">{label} ({})</a>", r.count_at(sev));
        }
    }
    out.push_str("<a href=\"#coverage\">Coverage</a></nav>\n");

    // Charts.
    out.push_str("<section id=\"summary\">\n<h2>Summary</h2>\n<div class=\"charts\">\n");
    let sev_rows = vec![
        ("Errors (blockers)".to_string(), [o.errors, 0, 0]),
        ("Warnings".to_string(), [0, o.warnings, 0]),
        ("Notes".to_string(), [0, 0, o.notes]),
    ];
    out.push_str(&bar_chart("Findings by severity", &sev_rows));
    let mut ns = r.namespace_counts();
    if ns.len() > 12 {
        let rest: [u32; 3] = ns[11..].iter().fold([0, 0, 0], |a, (_, c)| [a[0] + c[0], a[1] + c[1], a[2] + c[2]]);
        let n = ns.len() - 11;
        ns.truncate(11);
        ns.push((format!("{n} other namespaces"), rest));
    }
    if !ns.is_empty() {
        out.push_str(&bar_chart("Findings by namespace", &ns));
    }
    let pools = r.pool_counts();
    if !pools.is_empty() {
        out.push_str(&bar_chart("Findings by node pool", &pools));
    }
    out.push_str("</div>\n");
    out.push_str(&legend());
    out.push_str("\n</section>\n");

    if has_nodes {
        nodes_section(&mut out, &r);
    }
    plan_section(&mut out, &r);
    if let Some(h) = &report.horizon {
        horizon_section(&mut out, h);
    }
    if let Some(d) = &report.due_later {
        due_later_section(&mut out, d);
    }
    for (sev, id, label) in SECTIONS {
        if r.count_at(sev) == 0 {
            continue;
        }
        let _ = writeln!(
            out,
            "<section id=\"{id}\">\n<h2>{label} ({})</h2>",
            plural(r.count_at(sev), "finding", "findings")
        );
        if sev == Severity::Error {
            out.push_str("<p class=\"muted\">Each of these stops the upgrade to the target version. Grouped by rule, with every affected object, node, file and line.</p>\n");
        }
        for g in r.groups_at(sev) {
            group(&mut out, &r, g, sev != Severity::Note);
        }
        out.push_str("</section>\n");
    }
    coverage_section(&mut out, report, &r);
    let _ = writeln!(
        out,
        "<footer>Generated by dockershim-audit {} from a read-only scan. Severities, verdicts and scores come from the \
rule engine; <code>dockershim-audit rules explain RULE</code> tells more about each rule.</footer>\n<script>{JS}</script>\n</body>\n</html>",
        env!("CARGO_PKG_VERSION")
    );
    out
}

const SECTIONS: [(Severity, &str, &str); 3] = [
    (Severity::Error, "blockers", "Blockers"),
    (Severity::Warning, "risks", "At risk"),
    (Severity::Note, "notes", "Notes"),
];

fn perm(g: &crate::evidence::Gap) -> String {
    g.missing_permission
        .as_ref()
        .map(|p| format!(" <span class=\"muted\">(missing permission: {})</span>", esc(p)))
        .unwrap_or_default()
}

fn nodes_section(out: &mut String, r: &Readiness<'_>) {
    out.push_str("<section id=\"nodes\">\n<h2>Node pools and nodes</h2>\n");
    if r.pools.iter().any(|p| p.name != NO_POOL) {
        out.push_str(
            "<table class=\"sortable\" id=\"pools-table\"><thead><tr><th>Pool</th><th>Nodes</th><th>Kubelet</th><th>Runtime</th>\
<th>Verdict</th><th>Score</th><th>Blockers</th></tr></thead><tbody>\n",
        );
        for p in &r.pools {
            let _ = writeln!(
                out,
                "<tr id=\"pool-{}\"><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td>{}<td>{}</td></tr>",
                slug(&p.name),
                esc(&p.name),
                p.nodes.len(),
                or_dash(&p.kubelet_versions.join(", ")),
                or_dash(&p.runtimes.join(", ")),
                verdict_cell(&p.score),
                rule_links(r, &p.blockers)
            );
        }
        out.push_str("</tbody></table>\n");
    }
    let node_table = |out: &mut String, id: &str, nodes: &[&NodeRow]| {
        let _ = writeln!(
            out,
            "<table class=\"sortable\" id=\"{id}\"><thead><tr><th>Node</th><th>Pool</th><th>Kubelet</th><th>Runtime</th>\
<th>OS image</th><th>Verdict</th><th>Score</th><th>Blockers</th></tr></thead><tbody>"
        );
        for n in nodes {
            let _ = writeln!(
                out,
                "<tr id=\"node-{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{}<td>{}</td></tr>",
                slug(&n.name),
                esc(&n.name),
                or_dash(n.pool.as_deref().unwrap_or("")),
                or_dash(&n.kubelet_version),
                or_dash(&n.runtime),
                or_dash(&n.os_image),
                verdict_cell(&n.score),
                rule_links(r, &n.blockers)
            );
        }
        out.push_str("</tbody></table>\n");
    };
    match r.folded_nodes() {
        None => node_table(out, "nodes-table", &r.nodes.iter().collect::<Vec<_>>()),
        Some(pools) => {
            let _ = writeln!(
                out,
                "<p class=\"muted\" id=\"nodes-folded\">{} nodes, folded under their pool (more than {NODE_ROWS_UNFOLDED}): \
open a pool to see its nodes. A link to a node opens its pool.</p>",
                r.nodes.len()
            );
            for (pool, nodes) in pools {
                let id = format!("pool-nodes-{}", slug(&pool.name));
                let _ = writeln!(
                    out,
                    "<details class=\"pool-nodes\" id=\"{id}\"><summary>Pool <code>{}</code> · {}</summary>",
                    esc(&pool.name),
                    esc(&node_verdicts(&nodes))
                );
                node_table(out, &format!("{id}-table"), &nodes);
                out.push_str("</details>\n");
            }
        }
    }
    out.push_str("</section>\n");
}

fn horizon_section(out: &mut String, h: &crate::score::horizon::Horizon) {
    let _ = writeln!(
        out,
        "<section id=\"horizon\">\n<h2>Upgrade horizon</h2>\n<p class=\"muted\">The same findings scored at every release, {}: \
what newly breaks at each, and the verdict there.</p>",
        esc(&h.start())
    );
    out.push_str(
        "<table id=\"horizon-table\"><thead><tr><th>Release</th><th>Verdict</th><th>Errors</th><th>Warnings</th>\
<th>Newly breaking</th></tr></thead><tbody>\n",
    );
    for row in &h.rows {
        let _ = writeln!(
            out,
            "<tr{}><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            if row.is_target { " class=\"target\"" } else { "" },
            esc(&row.label()),
            esc(&row.verdict),
            row.errors,
            row.warnings,
            esc(&row.newly_summary(8))
        );
    }
    out.push_str("</tbody></table>\n</section>\n");
}

fn due_later_section(out: &mut String, d: &crate::score::horizon::DueLater) {
    let _ = writeln!(
        out,
        "<section id=\"due-later\">\n<h2>Due after the target</h2>\n<p class=\"muted\">Not counted in this verdict, \
which is for {}: these become warnings or errors at a later release (<code>--horizon</code> shows every release to {}).</p>\n<ul>",
        esc(&d.after),
        esc(&d.through)
    );
    for release in &d.releases {
        let _ = writeln!(out, "<li><strong>{}</strong>: {}</li>", esc(&release.version), esc(&release.summary(8)));
    }
    out.push_str("</ul>\n</section>\n");
}

fn plan_section(out: &mut String, r: &Readiness<'_>) {
    out.push_str("<section id=\"plan\">\n<h2>Migration plan</h2>\n");
    if r.plan.is_empty() {
        out.push_str("<p>Nothing in this scan calls for a migration step.</p>\n</section>\n");
        return;
    }
    out.push_str("<p class=\"muted\">In order, and only the steps this scan's findings call for; each links to its findings.</p>\n");
    let by_release = super::readiness::plan_by_release(&r.plan);
    if !by_release.is_empty() {
        let parts: Vec<String> = by_release
            .iter()
            .map(|(v, numbers)| {
                let links: Vec<String> = numbers.iter().map(|n| format!("<a href=\"#step-{n}\">{n}</a>")).collect();
                format!(
                    "<strong>before {v}</strong>: {} {}",
                    if numbers.len() == 1 { "step" } else { "steps" },
                    links.join(", ")
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "<p id=\"plan-by-release\">By release (each step before the first release where what it fixes breaks): {}.</p>",
            parts.join("; ")
        );
    }
    out.push_str("<ol class=\"plan\">\n");
    for s in &r.plan {
        let before =
            s.before.as_ref().map(|v| format!(" <span class=\"before\">before {v}</span>")).unwrap_or_default();
        let _ = writeln!(
            out,
            "<li id=\"{}\" data-step=\"{}\">\n<h3>{}{before}</h3>",
            s.anchor,
            esc(&s.key),
            inline(&s.title)
        );
        if !s.nodes.is_empty() {
            let known: Vec<String> = s
                .nodes
                .iter()
                .map(|n| {
                    if r.nodes.iter().any(|x| &x.name == n) {
                        format!("<a href=\"#node-{}\"><code>{}</code></a>", slug(n), esc(n))
                    } else {
                        format!("<code>{}</code>", esc(n))
                    }
                })
                .collect();
            let _ = writeln!(out, "<p class=\"who\">Nodes: {}</p>", known.join(", "));
        }
        if !s.places.is_empty() {
            let shown: Vec<String> = s.places.iter().take(12).map(|p| format!("<code>{}</code>", esc(p))).collect();
            let more = if s.places.len() > 12 { format!(" and {} more", s.places.len() - 12) } else { String::new() };
            let _ = writeln!(out, "<p class=\"who\">Affects: {}{more}</p>", shown.join(", "));
        }
        out.push_str("<ol>\n");
        for a in &s.actions {
            let _ = writeln!(out, "<li>{}</li>", inline(a));
        }
        out.push_str("</ol>\n");
        if !s.links.is_empty() {
            let links: Vec<String> = s
                .links
                .iter()
                .map(|l| {
                    format!(
                        "<a href=\"#{}\"><code>{}</code></a> <span class=\"sev {}\">{}</span>",
                        l.anchor,
                        esc(&l.rule_id),
                        l.severity.name(),
                        l.count_text()
                    )
                })
                .collect();
            let _ = writeln!(out, "<p class=\"links\">Findings: {}</p>", links.join(" · "));
        }
        out.push_str("</li>\n");
    }
    out.push_str("</ol>\n</section>\n");
}

fn group(out: &mut String, r: &Readiness<'_>, g: &RuleGroup<'_>, open: bool) {
    let steps: Vec<String> = g.steps.iter().map(|n| format!("<a href=\"#step-{n}\">step {n}</a>")).collect();
    let _ = writeln!(
        out,
        "<details id=\"{}\"{}>\n<summary><span class=\"sev {}\">{}</span> <code>{}</code> — {} <span class=\"muted\">({})</span></summary>",
        g.anchor,
        if open { " open" } else { "" },
        g.severity.name(),
        g.severity.name(),
        esc(&g.rule_id),
        esc(&g.title),
        g.findings.len()
    );
    if !steps.is_empty() {
        let _ = writeln!(out, "<p class=\"links\">Migration plan: {}</p>", steps.join(", "));
    }
    out.push_str(
        "<table class=\"sortable findings\"><colgroup><col class=\"c-where\"><col class=\"c-node\"><col></colgroup>\
<thead><tr><th>Object / file</th><th>Node</th><th>Finding</th></tr></thead><tbody>\n",
    );
    for a in &g.findings {
        let f = a.finding;
        let where_ = place(f);
        let snippet = f.snippet.trim();
        let snippet: String = if snippet.chars().count() > 400 {
            snippet.chars().take(399).chain(['…']).collect()
        } else {
            snippet.to_string()
        };
        let mut related = String::new();
        for rel in &f.related {
            let _ = write!(
                related,
                "<br><span class=\"muted\">related: <code>{}</code> — {}</span>",
                esc(&rel.location.describe()),
                esc(&rel.message)
            );
        }
        let _ = writeln!(
            out,
            "<tr id=\"{}\"><td>{}</td><td>{}</td><td>{}{}{}</td></tr>",
            a.anchor,
            if where_.is_empty() {
                "<span class=\"muted\">—</span>".to_string()
            } else {
                format!("<code>{}</code>", esc(&where_))
            },
            match &f.location.node {
                Some(n) if r.nodes.iter().any(|x| &x.name == n) => {
                    format!("<a href=\"#node-{}\">{}</a>", slug(n), esc(n))
                }
                Some(n) => esc(n),
                None => "<span class=\"muted\">—</span>".to_string(),
            },
            esc(&f.message),
            if snippet.is_empty() { String::new() } else { format!("<pre><code>{}</code></pre>", esc(&snippet)) },
            related
        );
    }
    out.push_str("</tbody></table>\n");
    let fix = first_sentences(&g.remediation);
    if !fix.is_empty() {
        let _ = writeln!(out, "<p class=\"fix\"><strong>Fix:</strong> {}</p>", esc(&fix));
    }
    if !g.docs.is_empty() {
        let docs: Vec<String> = g.docs.iter().map(|d| link(d)).collect();
        let _ = writeln!(out, "<p class=\"links\">Docs: {}</p>", docs.join(" · "));
    }
    out.push_str("</details>\n");
}

fn coverage_section(out: &mut String, report: &Report, r: &Readiness<'_>) {
    out.push_str("<section id=\"coverage\">\n<h2>Coverage</h2>\n");
    if r.complete && report.skipped.is_empty() {
        out.push_str("<p>Every source the scan looked for was read.</p>\n");
    } else if r.complete {
        out.push_str(
            "<p>Everything the scan read was read in full; what it did not read, and why, is listed below.</p>\n",
        );
    } else {
        let _ = writeln!(
            out,
            "<p><strong>Incomplete:</strong> {} could not be read (see <a href=\"#coverage-alert\">above</a>).</p>",
            esc(&plural(report.gaps.len(), "source", "sources"))
        );
    }
    let counts: Vec<String> = report
        .counts
        .iter()
        .filter(|(_, v)| **v > 0)
        .map(|(k, v)| format!("{} {v}", esc(&k.replace('_', " "))))
        .collect();
    if !counts.is_empty() {
        let _ = writeln!(out, "<p class=\"muted\">Read: {}.</p>", counts.join(", "));
    }
    if !report.skipped.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>{} skipped on purpose</summary>\n<ul>",
            esc(&plural(report.skipped.len(), "source", "sources"))
        );
        for g in &report.skipped {
            let _ = writeln!(out, "<li><code>{}</code>: {}</li>", esc(&g.source), esc(&g.reason));
        }
        out.push_str("</ul>\n</details>\n");
    }
    if !report.suppressed.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>{} suppressed by ignores</summary>\n<table class=\"sortable\"><thead><tr><th>Rule</th><th>Where</th>\
<th>Ignored by</th><th>Reason</th></tr></thead><tbody>",
            esc(&plural(report.suppressed.len(), "finding", "findings"))
        );
        for s in &report.suppressed {
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>",
                esc(&s.finding.rule_id),
                esc(&s.finding.location.describe()),
                esc(&s.by),
                esc(&s.reason)
            );
        }
        out.push_str("</tbody></table>\n</details>\n");
    }
    for o in &report.rule_overrides {
        let _ = writeln!(
            out,
            "<p>Built-in {} <code>{}</code> replaced by <code>{}</code>.</p>",
            esc(&o.kind),
            esc(&o.id),
            esc(&o.origin)
        );
    }
    if !report.ignore_problems.is_empty() {
        out.push_str("<p><strong>Ignores to fix:</strong></p>\n<ul>\n");
        for p in &report.ignore_problems {
            let _ = writeln!(out, "<li><code>{}</code>: {}</li>", esc(&p.at), esc(&p.problem));
        }
        out.push_str("</ul>\n");
    }
    if let Some(b) = &report.baseline {
        let _ = writeln!(
            out,
            "<p>Baseline <code>{}</code>: {} new, {} unchanged, {} fixed.</p>",
            esc(&b.file),
            b.new,
            b.unchanged,
            b.fixed
        );
    }
    out.push_str("</section>\n");
}
