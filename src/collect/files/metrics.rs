//! Metric references in PromQL: Prometheus rule groups (rule files and PrometheusRule objects) and
//! Grafana dashboards (files, or JSON held in a ConfigMap).
//!
//! Place in the pipeline: a file analyser (one text in, `metric` records out). It only finds which
//! metric names a query uses and where; whether a name matters is the rules' business (the
//! `docker-metrics` data list). No I/O.

use serde_json::Value as Json;

use super::config::{JsonKey, json_keys, line_col};
use super::source::Source;
use crate::evidence::{Evidence, Record, Subject};
use crate::parse::yaml::{Pos, YamlDoc};

/// One metric name used by a PromQL expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricRef {
    /// The name as written (`kubelet_docker_operations_duration_seconds_bucket`).
    pub written: String,
    /// Byte offset of the name in the expression.
    pub offset: usize,
}

impl MetricRef {
    /// The name a data list knows: histogram and summary series (`_bucket`, `_sum`, `_count`) are
    /// reported under their base name.
    pub fn base_name(&self) -> &str {
        for suffix in ["_bucket", "_sum", "_count"] {
            if let Some(base) = self.written.strip_suffix(suffix)
                && !base.is_empty()
            {
                return base;
            }
        }
        &self.written
    }
}

/// Words that are PromQL syntax, not metric names, when not followed by `(`.
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "offset",
    "bool",
    "inf",
    "nan",
    "atan2",
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
    "start",
    "end",
];

/// Keywords followed by a parenthesised list of label names.
const LABEL_LIST_KEYWORDS: &[&str] = &["by", "without", "on", "ignoring", "group_left", "group_right"];

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':'
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b':'
}

/// The end (exclusive) of the quoted string starting at `start` (which holds the quote).
fn skip_string(b: &[u8], start: usize) -> usize {
    let quote = b[start];
    let mut i = start + 1;
    while i < b.len() {
        if b[i] == b'\\' && quote != b'`' {
            i += 2;
            continue;
        }
        if b[i] == quote {
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

/// The end (exclusive) of the bracketed group opening at `start`, honouring nesting and strings.
fn skip_group(b: &[u8], start: usize, open: u8, close: u8) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' | b'`' => {
                i = skip_string(b, i);
                continue;
            }
            c if c == open => depth += 1,
            c if c == close => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    b.len()
}

fn next_non_space(b: &[u8], mut i: usize) -> Option<(usize, u8)> {
    while i < b.len() {
        if !b[i].is_ascii_whitespace() {
            return Some((i, b[i]));
        }
        i += 1;
    }
    None
}

/// The metric names a PromQL expression selects, in order of appearance. Label names in matchers
/// and in `by`/`without`/`on`/`ignoring`/`group_*` lists, strings, durations, numbers, function
/// names, keywords and Grafana variables (`$var`, `${var}`, `[[var]]`) are skipped; a
/// `{__name__="x"}` matcher counts as a use of `x`.
pub fn metric_names(expr: &str) -> Vec<MetricRef> {
    let b = expr.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'"' | b'\'' | b'`' => i = skip_string(b, i),
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'{' => {
                let end = skip_group(b, i, b'{', b'}');
                name_matchers(expr, i, end, &mut out);
                i = end;
            }
            b'[' => i = skip_group(b, i, b'[', b']'),
            b'$' => {
                i += 1;
                if i < b.len() && b[i] == b'{' {
                    i = skip_group(b, i, b'{', b'}');
                } else {
                    while i < b.len() && is_ident_char(b[i]) {
                        i += 1;
                    }
                }
            }
            b'0'..=b'9' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.' || b[i] == b'_') {
                    i += 1;
                }
            }
            b'.' if i + 1 < b.len() && b[i + 1].is_ascii_digit() => {
                i += 1;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                    i += 1;
                }
            }
            c if is_ident_start(c) => {
                let start = i;
                while i < b.len() && is_ident_char(b[i]) {
                    i += 1;
                }
                let word = &expr[start..i];
                let lower = word.to_ascii_lowercase();
                let next = next_non_space(b, i);
                if LABEL_LIST_KEYWORDS.contains(&lower.as_str()) {
                    if let Some((j, b'(')) = next {
                        i = skip_group(b, j, b'(', b')');
                    }
                    continue;
                }
                if matches!(next, Some((_, b'('))) || KEYWORDS.contains(&lower.as_str()) {
                    continue;
                }
                out.push(MetricRef { written: word.to_string(), offset: start });
            }
            _ => i += 1,
        }
    }
    out
}

/// Adds `x` for each `__name__="x"` matcher inside the `{...}` at `start..end`.
fn name_matchers(expr: &str, start: usize, end: usize, out: &mut Vec<MetricRef>) {
    let b = expr.as_bytes();
    let mut i = start + 1;
    while i < end {
        if b[i] == b'"' || b[i] == b'\'' || b[i] == b'`' {
            i = skip_string(b, i);
            continue;
        }
        if b.get(i..end).is_some_and(|s| s.starts_with(b"__name__")) && (i == 0 || !is_ident_char(b[i - 1])) {
            let mut j = i + "__name__".len();
            while j < end && b[j].is_ascii_whitespace() {
                j += 1;
            }
            // Only an equality matcher names one metric; `=~` and `!=` do not.
            if j < end && b[j] == b'=' && b.get(j + 1).is_some_and(|n| *n != b'~') {
                j += 1;
                while j < end && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                if j < end && (b[j] == b'"' || b[j] == b'\'') {
                    let close = skip_string(b, j);
                    let inner_start = j + 1;
                    let inner_end = close.saturating_sub(1).max(inner_start);
                    let name = expr.get(inner_start..inner_end.min(end)).unwrap_or("");
                    if !name.is_empty() && name.bytes().all(is_ident_char) {
                        out.push(MetricRef { written: name.to_string(), offset: inner_start });
                    }
                    i = close;
                    continue;
                }
            }
            i = j;
            continue;
        }
        i += 1;
    }
}

fn one_line(expr: &str) -> String {
    expr.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Finds `word` as a whole identifier in `line` at or after byte `from`.
fn find_word(line: &str, word: &str, from: usize) -> Option<usize> {
    let b = line.as_bytes();
    let mut at = from.min(line.len());
    while let Some(found) = line.get(at..).and_then(|rest| rest.find(word)) {
        let s = at + found;
        let e = s + word.len();
        let before_ok = s == 0 || !is_ident_char(b[s - 1]);
        let after_ok = e >= b.len() || !is_ident_char(b[e]);
        if before_ok && after_ok {
            return Some(s);
        }
        at = s + word.len().max(1);
    }
    None
}

fn char_column(line: &str, byte: usize) -> u32 {
    let byte = byte.min(line.len());
    let mut b = byte;
    while b > 0 && !line.is_char_boundary(b) {
        b -= 1;
    }
    line[..b].chars().count() as u32 + 1
}

/// Where each metric of an `expr` YAML value sits in the text: searched in order from the value's
/// start through the lines of the value (a block scalar or a multi-line plain scalar ends at the
/// first non-blank line indented no deeper than its key).
fn yaml_positions(text: &str, key: Option<Pos>, value: Pos, refs: &[MetricRef]) -> Vec<(u32, u32)> {
    let lines: Vec<&str> = text.lines().collect();
    let key_indent = key.map_or(value.column, |k| k.column).saturating_sub(1) as usize;
    let first = value.line.max(1) as usize;
    let mut last = first;
    for (idx, l) in lines.iter().enumerate().skip(first) {
        let indent = l.len() - l.trim_start().len();
        if !l.trim().is_empty() && indent <= key_indent {
            break;
        }
        last = idx + 1;
    }
    let mut cursor_line = first;
    let mut cursor_byte = lines.get(first - 1).map_or(0, |l| {
        let col = value.column.saturating_sub(1) as usize;
        l.char_indices().nth(col).map_or(l.len(), |(b, _)| b)
    });
    let mut out = Vec::with_capacity(refs.len());
    for r in refs {
        let mut found = None;
        let mut ln = cursor_line;
        let mut from = cursor_byte;
        while ln <= last {
            if let Some(line) = lines.get(ln - 1)
                && let Some(s) = find_word(line, &r.written, from)
            {
                found = Some((ln, s, s + r.written.len()));
                break;
            }
            ln += 1;
            from = 0;
        }
        match found {
            Some((ln, s, e)) => {
                out.push((ln as u32, char_column(lines.get(ln - 1).copied().unwrap_or(""), s)));
                cursor_line = ln;
                cursor_byte = e;
            }
            None => out.push((value.line, value.column)),
        }
    }
    out
}

/// Prometheus rule `groups` (a rule file, or a PrometheusRule's spec): one `metric` record per
/// metric name in each rule's `expr`, at the name's line.
pub fn rule_groups(src: &Source<'_>, doc: &YamlDoc, value: &Json, ptr: &str, out: &mut Evidence) {
    let Some(groups) = value.get("groups").and_then(Json::as_array) else { return };
    for (gi, group) in groups.iter().enumerate() {
        let group_name = group.get("name").and_then(Json::as_str).unwrap_or("");
        let Some(rules) = group.get("rules").and_then(Json::as_array) else { continue };
        for (ri, rule) in rules.iter().enumerate() {
            let Some(expr) = rule.get("expr").and_then(Json::as_str) else { continue };
            let what = match (rule.get("alert").and_then(Json::as_str), rule.get("record").and_then(Json::as_str)) {
                (Some(a), _) => format!("alert {a}"),
                (None, Some(r)) => format!("recording rule {r}"),
                (None, None) => "rule".to_string(),
            };
            let context = if group_name.is_empty() { what } else { format!("{what} in group {group_name}") };
            let eptr = format!("{ptr}/groups/{gi}/rules/{ri}/expr");
            let refs = metric_names(expr);
            if refs.is_empty() {
                continue;
            }
            let positions = match doc.span(&eptr) {
                Some(span) => yaml_positions(src.text, span.key, span.value, &refs),
                None => {
                    let p = doc.pos(&eptr);
                    vec![(p.line, p.column); refs.len()]
                }
            };
            let flat = one_line(expr);
            for (r, (line, col)) in refs.iter().zip(positions) {
                out.records.push(metric_record(src, line, col, r, &flat, &context));
            }
        }
    }
}

fn metric_record(src: &Source<'_>, line: u32, col: u32, r: &MetricRef, expr: &str, context: &str) -> Record {
    let mut rec = src
        .record(Subject::Metric, line, col)
        .with("name", r.base_name().to_string())
        .with("expr", expr.to_string())
        .with("context", context.to_string());
    if r.base_name() != r.written {
        rec.set("written_name", r.written.clone());
    }
    rec
}

/// Each PromQL query of a dashboard in document order, with where it is used: the string-valued
/// `expr` of a panel target (`panel "Title"`), and the `query` of a templating variable of type
/// `query` (`variable "name"`; a plain string, or the newer `{"query": ...}` object).
fn dashboard_queries(value: &Json, panel: Option<&str>, out: &mut Vec<(String, Option<String>)>) {
    match value {
        Json::Object(map) => {
            let is_panel = map.contains_key("targets") || (map.contains_key("gridPos") && map.contains_key("type"));
            let title = if is_panel { map.get("title").and_then(Json::as_str).or(panel) } else { panel };
            for (k, v) in map {
                if k == "expr"
                    && let Some(s) = v.as_str()
                {
                    out.push((s.to_string(), title.map(|t| format!("panel \"{t}\""))));
                    continue;
                }
                if k == "templating" {
                    variable_queries(v, out);
                    continue;
                }
                dashboard_queries(v, title, out);
            }
        }
        Json::Array(items) => {
            for item in items {
                dashboard_queries(item, panel, out);
            }
        }
        _ => {}
    }
}

/// The queries of `templating.list[]` variables whose type is `query` (or not given).
fn variable_queries(templating: &Json, out: &mut Vec<(String, Option<String>)>) {
    let Some(list) = templating.get("list").and_then(Json::as_array) else { return };
    for var in list {
        if var.get("type").and_then(Json::as_str).is_some_and(|t| t != "query") {
            continue;
        }
        let query = match var.get("query") {
            Some(Json::String(q)) => Some(q.as_str()),
            Some(Json::Object(o)) => o.get("query").and_then(Json::as_str),
            _ => None,
        };
        if let Some(q) = query.filter(|q| !q.trim().is_empty()) {
            let name = var.get("name").and_then(Json::as_str).unwrap_or("?");
            out.push((q.to_string(), Some(format!("variable \"{name}\""))));
        }
    }
}

/// A Grafana dashboard JSON: one `metric` record per metric name in each panel query (`expr`) and
/// templating variable query, at the line of the query. Invalid JSON is a gap naming the line of
/// the error.
pub fn analyze_dashboard(src: &Source<'_>, out: &mut Evidence) {
    let value: Json = match serde_json::from_str(src.text) {
        Ok(v) => v,
        Err(_) if src.text.contains("{{") => {
            // A Helm/Go template (a chart's `dashboards/*.json`): the actions are blanked, keeping
            // every line and byte offset; if that is still not JSON, the query lines are read.
            let masked = super::text::mask_template_actions(src.text);
            out.count("dashboards_template", 1);
            match serde_json::from_str::<Json>(&masked) {
                Ok(_) => analyze_dashboard(&Source { text: &masked, ..src.clone() }, out),
                Err(_) => dashboard_query_lines(src, out),
            }
            return;
        }
        Err(e) => {
            out.gaps.push(src.gap(Some(e.line() as u32), format!("invalid JSON: {e}")));
            return;
        }
    };
    let mut queries = Vec::new();
    dashboard_queries(&value, None, &mut queries);
    // Where each query's literal is: the next `expr`/`query` string key with the same value, in
    // document order (the value walk above is in document order too).
    let keys: Vec<_> = json_keys(src.text)
        .into_iter()
        .filter(|k| matches!(k.key.as_str(), "expr" | "query") && k.string_value.is_some())
        .collect();
    let mut next_key = 0;
    for (expr, context) in &queries {
        let refs = metric_names(expr);
        if refs.is_empty() {
            continue;
        }
        let same = |k: &JsonKey| k.string_value.as_deref() == Some(expr.as_str());
        let key = match keys[next_key..].iter().position(same) {
            Some(i) => {
                next_key += i + 1;
                keys.get(next_key - 1)
            }
            None => keys.iter().find(|k| same(k)),
        };
        let context = context.clone().unwrap_or_else(|| "dashboard".to_string());
        let flat = one_line(expr);
        let Some(k) = key else {
            // Not found as written (should not happen): report at the top of the file.
            for r in &refs {
                out.records.push(metric_record(src, 1, 1, r, &flat, &context));
            }
            continue;
        };
        // Names are searched in the raw JSON literal (escapes never occur inside identifiers).
        let literal = src.text.get(k.value_start..k.value_end).unwrap_or("");
        let mut from = 0;
        for r in &refs {
            let at = match find_word(literal, &r.written, from) {
                Some(s) => {
                    from = s + r.written.len();
                    k.value_start + s
                }
                None => k.value_start,
            };
            let (line, col) = line_col(src.text, at);
            out.records.push(metric_record(src, line, col, r, &flat, &context));
        }
    }
}

/// For a templated dashboard that is not JSON even with its actions blanked: each line holding an
/// `"expr": "..."` string, its metric names at their columns.
fn dashboard_query_lines(src: &Source<'_>, out: &mut Evidence) {
    for (i, line) in src.text.lines().enumerate() {
        let Some(k) = line.find("\"expr\"") else { continue };
        let rest = line[k + 6..].trim_start();
        let Some(rest) = rest.strip_prefix(':') else { continue };
        let rest = rest.trim_start();
        if !rest.starts_with('"') {
            continue;
        }
        let value_start = line.len() - rest.len();
        let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<String>();
        let Some(Ok(expr)) = stream.next() else { continue };
        let literal = &rest[..stream.byte_offset()];
        let flat = one_line(&expr);
        let mut from = 0;
        for r in &metric_names(&expr) {
            let at = match find_word(literal, &r.written, from) {
                Some(s) => {
                    from = s + r.written.len();
                    value_start + s
                }
                None => value_start,
            };
            let col = char_column(line, at);
            out.records.push(metric_record(src, i as u32 + 1, col, r, &flat, "dashboard"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::file_kind::FileKind;
    use crate::parse::yaml::parse_documents;

    fn names(expr: &str) -> Vec<String> {
        metric_names(expr).into_iter().map(|m| m.written).collect()
    }

    #[test]
    fn tokenises_promql() {
        assert_eq!(
            names(
                r#"sum by (pod, namespace) (rate(container_fs_usage_bytes{namespace=~"prod-.*", container!=""}[5m])) > 0"#
            ),
            vec!["container_fs_usage_bytes"]
        );
        assert_eq!(
            names(
                "histogram_quantile(0.99, sum(rate(kubelet_docker_operations_duration_seconds_bucket[5m])) by (le, operation_type))"
            ),
            vec!["kubelet_docker_operations_duration_seconds_bucket"]
        );
        assert_eq!(
            names("a_total / on(instance) group_left(node) node:info offset 1h and ignoring(x) b unless c bool"),
            vec!["a_total", "node:info", "b", "c"]
        );
        assert_eq!(names(r#"{__name__="container_fs_inodes_free", job="k"}"#), vec!["container_fs_inodes_free"]);
        assert_eq!(names(r#"{__name__=~"container_fs_.*"}"#), Vec::<String>::new());
        assert_eq!(names("rate(x[$__rate_interval]) * ${factor} + y{instance=\"$node\"} + 1e3 + Inf"), vec!["x", "y"]);
        assert_eq!(names("sum without (le) (z) # container_fs_usage_bytes"), vec!["z"]);
        assert_eq!(names("label_replace(up, \"a\", \"$1\", \"b\", \"(.*)\")"), vec!["up"]);
        assert_eq!(names("sum(rate(q[5m:1m])) by(job)"), vec!["q"]);
        assert_eq!(names("unterminated{a=\"x"), vec!["unterminated"]);
        assert_eq!(names("\"\\"), Vec::<String>::new());
        assert_eq!(names("{é__name__=\"é"), Vec::<String>::new());
    }

    #[test]
    fn strips_histogram_suffixes() {
        let m = MetricRef { written: "kubelet_docker_operations_duration_seconds_bucket".into(), offset: 0 };
        assert_eq!(m.base_name(), "kubelet_docker_operations_duration_seconds");
        let m = MetricRef { written: "_count".into(), offset: 0 };
        assert_eq!(m.base_name(), "_count");
    }

    fn run_rules(text: &str) -> Evidence {
        let src = Source::file("monitoring/rules.yaml", FileKind::PrometheusRule, text);
        let docs = parse_documents(text).expect("yaml");
        let mut ev = Evidence::default();
        for d in &docs {
            rule_groups(&src, d, &d.value, "", &mut ev);
        }
        ev
    }

    #[test]
    fn rule_groups_place_metrics_on_their_lines() {
        let text = "groups:\n- name: node\n  rules:\n  - alert: DiskFull\n    expr: container_fs_usage_bytes / container_fs_limit_bytes > 0.9\n    for: 5m\n  - record: job:docker_ops:rate5m\n    expr: |\n      sum by (job) (\n        rate(kubelet_docker_operations_total[5m])\n      )\n  - alert: Folded\n    expr: >-\n      rate(kubelet_docker_operations_errors_total[5m])\n      > 0\n";
        let ev = run_rules(text);
        let got: Vec<(String, u32, u32, String)> = ev
            .records
            .iter()
            .map(|r| {
                (
                    r.str("name").to_string(),
                    r.location.line.unwrap_or(0),
                    r.location.column.unwrap_or(0),
                    r.str("context").to_string(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("container_fs_usage_bytes".into(), 5, 11, "alert DiskFull in group node".into()),
                ("container_fs_limit_bytes".into(), 5, 38, "alert DiskFull in group node".into()),
                (
                    "kubelet_docker_operations_total".into(),
                    10,
                    14,
                    "recording rule job:docker_ops:rate5m in group node".into()
                ),
                ("kubelet_docker_operations_errors_total".into(), 14, 12, "alert Folded in group node".into()),
            ]
        );
        assert_eq!(ev.records[2].str("expr"), "sum by (job) ( rate(kubelet_docker_operations_total[5m]) )");
        assert_eq!(ev.records[0].str("file_kind"), "prometheus-rule");
    }

    #[test]
    fn rule_groups_tolerate_odd_shapes() {
        let ev = run_rules(
            "groups:\n- name: x\n  rules:\n  - alert: A\n    expr: 1\n  - alert: B\n  - 7\n- rules: nope\n- 3\n",
        );
        assert!(ev.records.is_empty());
        let ev = run_rules("groups: {}\n");
        assert!(ev.records.is_empty());
    }

    #[test]
    fn dashboard_pretty_and_minified() {
        let pretty = "{\n  \"title\": \"Nodes\",\n  \"panels\": [\n    {\n      \"title\": \"Disk\",\n      \"type\": \"graph\",\n      \"targets\": [\n        {\n          \"expr\": \"sum(container_fs_usage_bytes{job=\\\"kubelet\\\"}) by (node)\",\n          \"refId\": \"A\"\n        }\n      ]\n    }\n  ]\n}\n";
        let src = Source::file("dashboards/nodes.json", FileKind::GrafanaDashboard, pretty);
        let mut ev = Evidence::default();
        analyze_dashboard(&src, &mut ev);
        assert!(ev.gaps.is_empty());
        assert_eq!(ev.records.len(), 1);
        let r = &ev.records[0];
        assert_eq!(r.str("name"), "container_fs_usage_bytes");
        assert_eq!(r.str("context"), "panel \"Disk\"");
        assert_eq!(r.location.line, Some(9));
        assert_eq!(r.location.column, Some(24));

        let mini = r#"{"panels":[{"title":"A","targets":[{"expr":"up"}]},{"title":"B","targets":[{"expr":"rate(kubelet_docker_operations_errors_total[5m])"}]}]}"#;
        let src = Source::file("d.json", FileKind::GrafanaDashboard, mini);
        let mut ev = Evidence::default();
        analyze_dashboard(&src, &mut ev);
        let got: Vec<_> = ev
            .records
            .iter()
            .map(|r| (r.str("name").to_string(), r.str("context").to_string(), r.location.line))
            .collect();
        assert_eq!(
            got,
            vec![
                ("up".into(), "panel \"A\"".into(), Some(1)),
                ("kubelet_docker_operations_errors_total".into(), "panel \"B\"".into(), Some(1))
            ]
        );
    }

    #[test]
    fn dashboard_variable_queries() {
        // Old (string) and new (object) variable query forms; a custom variable is not PromQL; the
        // same query text in a panel and a variable is located at each place in turn.
        let text = r#"{
  "panels": [
    {"title": "Disk", "type": "timeseries", "targets": [{"expr": "container_fs_usage_bytes"}]}
  ],
  "templating": {
    "list": [
      {"name": "node", "type": "query", "query": "label_values(kubelet_docker_operations_total, node)"},
      {"name": "pod", "type": "query",
       "query": {"query": "label_values(container_fs_usage_bytes{node=~\"$node\"}, pod)", "refId": "V"}},
      {"name": "again", "query": "container_fs_usage_bytes"},
      {"name": "window", "type": "custom", "query": "container_fs_usage_bytes"}
    ]
  }
}
"#;
        let mut ev = Evidence::default();
        analyze_dashboard(&Source::file("d.json", FileKind::GrafanaDashboard, text), &mut ev);
        assert!(ev.gaps.is_empty());
        let got: Vec<_> = ev
            .records
            .iter()
            .filter(|r| r.str("name") != "node" && r.str("name") != "pod")
            .map(|r| {
                format!(
                    "{}:{} {} {}",
                    r.location.line.unwrap(),
                    r.location.column.unwrap(),
                    r.str("name"),
                    r.str("context")
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                "3:67 container_fs_usage_bytes panel \"Disk\"",
                "7:64 kubelet_docker_operations_total variable \"node\"",
                "9:41 container_fs_usage_bytes variable \"pod\"",
                "10:35 container_fs_usage_bytes variable \"again\"",
            ]
        );
    }

    #[test]
    fn dashboard_invalid_json_is_a_gap() {
        let src = Source::file("d.json", FileKind::GrafanaDashboard, "{\n  \"panels\": [\n    {\"expr\": }\n");
        let mut ev = Evidence::default();
        analyze_dashboard(&src, &mut ev);
        assert!(ev.records.is_empty());
        assert_eq!(ev.gaps.len(), 1);
        assert!(ev.gaps[0].source.starts_with("d.json:3"), "{:?}", ev.gaps);
    }

    #[test]
    fn templated_dashboards_are_read_not_gaps() {
        // Actions inside strings: blanked, then read as JSON.
        let text = "{\n  \"panels\": [\n    {\"title\": \"{{ .Values.title }}\",\n     \"targets\": [{\"expr\": \"sum(container_fs_usage_bytes{job=\\\"{{ include \"x.fullname\" . }}\\\"})\"}]}\n  ],\n  \"templating\": {\"list\": [{\"name\": \"ns\", \"query\": \"{{ include \"x.fullname\" . }}\"}]}\n}\n";
        let src = Source::file("charts/x/dashboards/d.json", FileKind::GrafanaDashboard, text);
        let mut ev = Evidence::default();
        analyze_dashboard(&src, &mut ev);
        assert!(ev.gaps.is_empty(), "{:?}", ev.gaps);
        let got: Vec<(Option<u32>, String)> =
            ev.records.iter().map(|r| (r.location.line, r.str("name").to_string())).collect();
        assert_eq!(got, vec![(Some(4), "container_fs_usage_bytes".to_string())]);
        assert_eq!(ev.records[0].location.column, Some(32));
        // Actions outside strings: the `"expr"` lines are read.
        let text = "{\n  \"editable\": {{ .Values.editable }},\n  \"panels\": [{\"targets\": [\n    {\"expr\": \"rate(container_cpu_usage_seconds_total[5m]) / container_fs_reads_total\"}\n  ]}]\n}\n";
        let mut ev = Evidence::default();
        analyze_dashboard(&Source::file("d.json", FileKind::GrafanaDashboard, text), &mut ev);
        assert!(ev.gaps.is_empty());
        let got: Vec<(Option<u32>, Option<u32>, String)> =
            ev.records.iter().map(|r| (r.location.line, r.location.column, r.str("name").to_string())).collect();
        assert_eq!(
            got,
            vec![
                (Some(4), Some(20), "container_cpu_usage_seconds_total".to_string()),
                (Some(4), Some(61), "container_fs_reads_total".to_string()),
            ]
        );
        assert_eq!(ev.counts.get("dashboards_template"), Some(&1));
        assert_eq!(crate::collect::files::text::mask_template_actions("a{{ é\n}}b{{"), "a     \n  b{{");
    }

    #[test]
    fn every_truncation_is_handled() {
        let expr = "sum by (le) (rate(kubelet_docker_operations_duration_seconds_bucket{__name__=\"é\", a=~\"$x\"}[5m:1m])) / on(i) group_left() ${v} é";
        let dash = "{\"panels\": [{\"title\": \"é\", \"targets\": [{\"expr\": \"sum(container_fs_usage_bytes{a=\\\"é\\\"})\"}]}]}";
        let rules = "groups:\n- name: g\n  rules:\n  - alert: é\n    expr: |\n      container_fs_usage_bytes{a=\"é\"}\n       > 0\n";
        for (i, _) in expr.char_indices() {
            let _ = metric_names(&expr[..i]);
            let _ = metric_names(&expr[i..]);
        }
        for (i, _) in dash.char_indices() {
            let mut ev = Evidence::default();
            analyze_dashboard(&Source::file("d.json", FileKind::GrafanaDashboard, &dash[..i]), &mut ev);
        }
        for (i, _) in rules.char_indices() {
            if let Ok(docs) = parse_documents(&rules[..i]) {
                let src = Source::file("r.yaml", FileKind::PrometheusRule, &rules[..i]);
                let mut ev = Evidence::default();
                for d in &docs {
                    rule_groups(&src, d, &d.value, "", &mut ev);
                }
            }
        }
    }
}
