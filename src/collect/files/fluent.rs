//! Log collector configuration: fluent-bit (classic and YAML formats), fluentd, and the YAML log
//! shippers promtail and filebeat.
//!
//! Place in the pipeline: file analysers (one text in, `line` records out; no I/O, no rule logic).
//! Each setting becomes one record with `collector`, `section`, `key` and `value` (plus the
//! fluent-bit `plugin` and the fluentd `source_path`/`source_type` of the enclosing `<source>`),
//! at the exact line of the key, so rules can say "this tail input parses Docker JSON".

use serde_json::Value as Json;

use super::source::Source;
use crate::evidence::file_kind::FileKind;
use crate::evidence::{Evidence, Record, Subject};
use crate::parse::yaml::{self, YamlDoc};

fn indent_of(line: &str) -> usize {
    line.chars().take_while(|c| c.is_whitespace()).count()
}

/// Splits `Key Value` / `key value` at the first run of whitespace.
fn split_key_value(trimmed: &str) -> (&str, &str) {
    match trimmed.find(char::is_whitespace) {
        Some(i) => (&trimmed[..i], trimmed[i..].trim()),
        None => (trimmed, ""),
    }
}

fn strip_quotes(v: &str) -> &str {
    let v = v.trim();
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

/// Whether a fluent-bit text is the YAML format (`service:`/`pipeline:` at the top level) rather
/// than the classic `[SECTION]` format.
fn is_fluent_bit_yaml(text: &str) -> bool {
    let mut yaml_keys = false;
    for line in text.lines() {
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if t.starts_with('[') {
            return false;
        }
        if indent_of(line) == 0 {
            let key = t.split(':').next().unwrap_or("");
            if t.contains(':')
                && matches!(
                    key,
                    "service"
                        | "pipeline"
                        | "parsers"
                        | "multiline_parsers"
                        | "includes"
                        | "env"
                        | "customs"
                        | "plugins"
                )
            {
                yaml_keys = true;
            }
        }
    }
    yaml_keys
}

struct BitEntry {
    line: u32,
    column: u32,
    key: String,
    value: String,
}

/// fluent-bit configuration: one `line` record per `Key Value` of every section, with `section`
/// (upper case), `plugin` (the section's `Name`, lower case, wherever it is written in the
/// section), `key`, `value` and `collector` = `fluent-bit`. `@INCLUDE`/`@SET` lines are skipped.
/// The YAML format (`pipeline: inputs: ...`) is recognised and read the same way.
pub fn analyze_fluent_bit(src: &Source<'_>, out: &mut Evidence) {
    if is_fluent_bit_yaml(src.text) {
        for doc in &src.yaml_documents(out).unwrap_or_default() {
            fluent_bit_yaml(src, doc, &doc.value, "", out);
        }
        return;
    }
    let mut sections: Vec<(String, Vec<BitEntry>)> = Vec::new();
    for (idx, raw) in src.text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('@') {
            continue;
        }
        if trimmed.starts_with('[') && trimmed.ends_with(']') {
            sections.push((trimmed[1..trimmed.len() - 1].trim().to_ascii_uppercase(), Vec::new()));
            continue;
        }
        let Some((_, entries)) = sections.last_mut() else { continue };
        let (key, value) = split_key_value(trimmed);
        entries.push(BitEntry {
            line: idx as u32 + 1,
            column: indent_of(raw) as u32 + 1,
            key: key.to_string(),
            value: value.to_string(),
        });
    }
    for (section, entries) in &sections {
        let plugin = entries
            .iter()
            .find(|e| e.key.eq_ignore_ascii_case("name"))
            .map(|e| e.value.to_ascii_lowercase())
            .unwrap_or_default();
        for e in entries {
            out.records.push(
                src.record(Subject::Line, e.line, e.column)
                    .with("collector", "fluent-bit")
                    .with("section", section.clone())
                    .with("plugin", plugin.clone())
                    .with("key", e.key.clone())
                    .with("value", e.value.clone()),
            );
        }
    }
}

fn scalar_text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        Json::Array(items) => {
            let parts: Option<Vec<String>> = items.iter().map(scalar_text).collect();
            parts.map(|p| p.join(", "))
        }
        _ => None,
    }
}

/// fluent-bit YAML format: `pipeline.inputs|filters|outputs[]` and `parsers[]` /
/// `multiline_parsers[]`, each item's scalar keys as records like the classic format's.
fn fluent_bit_yaml(src: &Source<'_>, doc: &YamlDoc, value: &Json, ptr: &str, out: &mut Evidence) {
    let s = src.embedded_kind(FileKind::FluentBit);
    let mut lists: Vec<(&str, String, &Vec<Json>)> = Vec::new();
    for (key, section) in [("inputs", "INPUT"), ("filters", "FILTER"), ("outputs", "OUTPUT")] {
        if let Some(items) = value.pointer(&format!("/pipeline/{key}")).and_then(Json::as_array) {
            lists.push((section, format!("{ptr}/pipeline/{key}"), items));
        }
    }
    for (key, section) in [("parsers", "PARSER"), ("multiline_parsers", "MULTILINE_PARSER")] {
        if let Some(items) = value.get(key).and_then(Json::as_array) {
            lists.push((section, format!("{ptr}/{key}"), items));
        }
    }
    for (section, list_ptr, items) in lists {
        for (i, item) in items.iter().enumerate() {
            let Some(map) = item.as_object() else { continue };
            let plugin = map.get("name").and_then(Json::as_str).unwrap_or("").to_ascii_lowercase();
            for (k, v) in map {
                let Some(text) = scalar_text(v) else { continue };
                let p = doc.pos(&format!("{list_ptr}/{i}/{}", yaml::pointer_token(k)));
                out.records.push(
                    s.record(Subject::Line, p.line, p.column)
                        .with("collector", "fluent-bit")
                        .with("section", section)
                        .with("plugin", plugin.clone())
                        .with("key", k.clone())
                        .with("value", text),
                );
            }
        }
    }
}

struct FdEntry {
    line: u32,
    column: u32,
    path: String,
    argument: String,
    source: Option<usize>,
    key: String,
    value: String,
    /// The environment variable that overrides `value` (`"#{ENV['X'] || 'default'}"`).
    env: Option<String>,
}

/// The variable and default of a fluentd embedded-Ruby value `#{ENV['NAME'] || 'default'}` or
/// `#{ENV.fetch('NAME', 'default')}`; `None` for anything else.
fn ruby_env_default(value: &str) -> Option<(&str, &str)> {
    fn unquote(s: &str) -> Option<&str> {
        let s = s.trim();
        let q = s.chars().next().filter(|c| *c == '\'' || *c == '"')?;
        s.strip_prefix(q)?.strip_suffix(q)
    }
    let inner = value.trim().strip_prefix("#{")?.strip_suffix('}')?.trim();
    let (name, default) = if let Some(rest) = inner.strip_prefix("ENV[") {
        let (name, rest) = rest.split_once(']')?;
        (name, rest.trim().strip_prefix("||")?)
    } else {
        let args = inner.strip_prefix("ENV.fetch(")?.strip_suffix(')')?;
        args.split_once(',')?
    };
    let name = unquote(name)?;
    let ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    ok.then_some((name, unquote(default)?))
}

/// fluentd configuration: one `line` record per `key value` inside a directive, with `section`
/// the slash-joined directive path (`source/parse`), `key`, `value`, `collector` = `fluentd`, and,
/// inside a `<source>`, that source's `path` (`source_path`) and `@type` (`source_type`), wherever
/// in the block they are written. A value written as embedded Ruby reading an environment variable
/// with a default is recorded as the default, with the variable in `env`.
pub fn analyze_fluentd(src: &Source<'_>, out: &mut Evidence) {
    let mut stack: Vec<(String, String, Option<usize>)> = Vec::new(); // name, argument, source block id
    let mut sources: Vec<(Option<String>, Option<String>)> = Vec::new(); // path, @type
    let mut entries: Vec<FdEntry> = Vec::new();
    for (idx, raw) in src.text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some(inner) = trimmed.strip_prefix("</") {
            let name = inner.trim_end_matches('>').trim().to_ascii_lowercase();
            if let Some(at) = stack.iter().rposition(|(n, _, _)| *n == name) {
                stack.truncate(at);
            }
            continue;
        }
        if trimmed.starts_with('<') && trimmed.ends_with('>') {
            let inner = trimmed[1..trimmed.len() - 1].trim();
            let (name, arg) = split_key_value(inner);
            let name = name.to_ascii_lowercase();
            let parent_source = stack.last().and_then(|(_, _, s)| *s);
            let source = if name == "source" {
                sources.push((None, None));
                Some(sources.len() - 1)
            } else {
                parent_source
            };
            stack.push((name, arg.to_string(), source));
            continue;
        }
        if trimmed.get(..8).is_some_and(|p| p.eq_ignore_ascii_case("@include")) {
            continue;
        }
        let Some((name, arg, source)) = stack.last() else { continue };
        let (key, value) = split_key_value(trimmed);
        let value = strip_quotes(value);
        // `"#{ENV['FLUENT_CONTAINER_TAIL_PARSER_TYPE'] || 'json'}"`: what runs unless the variable
        // is set (the official fluentd-kubernetes-daemonset images are configured this way).
        let (value, env) = match ruby_env_default(value) {
            Some((env, default)) => (default.to_string(), Some(env.to_string())),
            None => (value.to_string(), None),
        };
        if let Some(id) = source {
            // Only the source's own keys describe what it reads.
            if name == "source"
                && let Some(slot) = sources.get_mut(*id)
            {
                match key {
                    "path" => slot.0 = Some(value.clone()),
                    "@type" => slot.1 = Some(value.clone()),
                    _ => {}
                }
            }
        }
        entries.push(FdEntry {
            line: idx as u32 + 1,
            column: indent_of(raw) as u32 + 1,
            path: stack.iter().map(|(n, _, _)| n.as_str()).collect::<Vec<_>>().join("/"),
            argument: arg.clone(),
            source: *source,
            key: key.to_string(),
            value,
            env,
        });
    }
    for e in entries {
        let mut r = src
            .record(Subject::Line, e.line, e.column)
            .with("collector", "fluentd")
            .with("section", e.path)
            .with("key", e.key)
            .with("value", e.value);
        if !e.argument.is_empty() {
            r.set("argument", e.argument);
        }
        if let Some(env) = e.env {
            r.set("env", env);
        }
        if let Some((path, kind)) = e.source.and_then(|id| sources.get(id)) {
            r.set("source_path", path.clone().unwrap_or_default());
            r.set("source_type", kind.clone().unwrap_or_default());
        }
        out.records.push(r);
    }
}

fn line_record(
    src: &Source<'_>,
    doc: &YamlDoc,
    ptr: &str,
    collector: &'static str,
    section: String,
    key: &str,
    value: String,
) -> Record {
    let p = doc.pos(ptr);
    src.record(Subject::Line, p.line, p.column)
        .with("collector", collector)
        .with("section", section)
        .with("key", key.to_string())
        .with("value", value)
}

/// YAML log shippers: promtail (`scrape_configs[].pipeline_stages[]` stages, `__path__` labels
/// and relabelings), filebeat (`filebeat.inputs[]` types and paths, autodiscover templates), and
/// the fluent-bit YAML format (`pipeline:`).
pub fn log_shipper_yaml(src: &Source<'_>, doc: &YamlDoc, value: &Json, ptr: &str, out: &mut Evidence) {
    if let Some(scrapes) = value.get("scrape_configs").and_then(Json::as_array) {
        promtail(&src.embedded_kind(FileKind::Promtail), doc, scrapes, &format!("{ptr}/scrape_configs"), out);
    }
    let fb = src.embedded_kind(FileKind::Filebeat);
    if let Some(inputs) = value.get("filebeat.inputs").and_then(Json::as_array) {
        filebeat_inputs(&fb, doc, inputs, &format!("{ptr}/filebeat.inputs"), "filebeat.inputs", out);
    }
    if let Some(inputs) = value.pointer("/filebeat/inputs").and_then(Json::as_array) {
        filebeat_inputs(&fb, doc, inputs, &format!("{ptr}/filebeat/inputs"), "filebeat.inputs", out);
    }
    for (auto, auto_ptr) in [
        (value.get("filebeat.autodiscover"), format!("{ptr}/filebeat.autodiscover")),
        (value.pointer("/filebeat/autodiscover"), format!("{ptr}/filebeat/autodiscover")),
    ] {
        let Some(providers) = auto.and_then(|a| a.get("providers")).and_then(Json::as_array) else { continue };
        for (pi, provider) in providers.iter().enumerate() {
            for (ti, template) in provider.get("templates").and_then(Json::as_array).into_iter().flatten().enumerate() {
                let Some(config) = template.get("config").and_then(Json::as_array) else { continue };
                let cptr = format!("{auto_ptr}/providers/{pi}/templates/{ti}/config");
                filebeat_inputs(&fb, doc, config, &cptr, "filebeat.autodiscover", out);
            }
        }
    }
    if value.pointer("/pipeline").is_some_and(Json::is_object) {
        fluent_bit_yaml(src, doc, value, ptr, out);
    }
}

fn promtail(src: &Source<'_>, doc: &YamlDoc, scrapes: &[Json], ptr: &str, out: &mut Evidence) {
    for (si, scrape) in scrapes.iter().enumerate() {
        let job = scrape.get("job_name").and_then(Json::as_str).unwrap_or("");
        let sptr = format!("{ptr}/{si}");
        let section = |part: &str| {
            if job.is_empty() {
                format!("scrape_configs[{si}].{part}")
            } else {
                format!("scrape_configs[{job}].{part}")
            }
        };
        for (i, stage) in scrape.get("pipeline_stages").and_then(Json::as_array).into_iter().flatten().enumerate() {
            let Some(map) = stage.as_object() else { continue };
            for (name, cfg) in map {
                let v = match cfg {
                    Json::Null => "{}".to_string(),
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let p = format!("{sptr}/pipeline_stages/{i}/{}", yaml::pointer_token(name));
                out.records.push(line_record(src, doc, &p, "promtail", section("pipeline_stages"), name, v));
            }
        }
        for (i, sc) in scrape.get("static_configs").and_then(Json::as_array).into_iter().flatten().enumerate() {
            if let Some(path) = sc.pointer("/labels/__path__").and_then(Json::as_str) {
                let p = format!("{sptr}/static_configs/{i}/labels/__path__");
                out.records.push(line_record(
                    src,
                    doc,
                    &p,
                    "promtail",
                    section("static_configs"),
                    "__path__",
                    path.to_string(),
                ));
            }
        }
        for (i, rc) in scrape.get("relabel_configs").and_then(Json::as_array).into_iter().flatten().enumerate() {
            if rc.get("target_label").and_then(Json::as_str) != Some("__path__") {
                continue;
            }
            if let Some(rep) = rc.get("replacement").and_then(Json::as_str) {
                let p = format!("{sptr}/relabel_configs/{i}/replacement");
                out.records.push(line_record(
                    src,
                    doc,
                    &p,
                    "promtail",
                    section("relabel_configs"),
                    "__path__",
                    rep.to_string(),
                ));
            }
        }
    }
}

fn filebeat_inputs(src: &Source<'_>, doc: &YamlDoc, inputs: &[Json], ptr: &str, section: &str, out: &mut Evidence) {
    for (i, input) in inputs.iter().enumerate() {
        let iptr = format!("{ptr}/{i}");
        let sec = format!("{section}[{i}]");
        if let Some(t) = input.get("type").and_then(Json::as_str) {
            out.records.push(line_record(
                src,
                doc,
                &format!("{iptr}/type"),
                "filebeat",
                sec.clone(),
                "type",
                t.to_string(),
            ));
        }
        for (j, path) in input.get("paths").and_then(Json::as_array).into_iter().flatten().enumerate() {
            if let Some(p) = path.as_str() {
                out.records.push(line_record(
                    src,
                    doc,
                    &format!("{iptr}/paths/{j}"),
                    "filebeat",
                    sec.clone(),
                    "path",
                    p.to_string(),
                ));
            }
        }
        if let Some(ids) = input.get("containers.ids").and_then(Json::as_array) {
            // The old `type: docker` input names containers, not paths.
            for (j, id) in ids.iter().enumerate() {
                if let Some(s) = id.as_str() {
                    out.records.push(line_record(
                        src,
                        doc,
                        &format!("{iptr}/containers.ids/{j}"),
                        "filebeat",
                        sec.clone(),
                        "containers.ids",
                        s.to_string(),
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::yaml::parse_documents;

    fn rows(ev: &Evidence, fields: &[&str]) -> Vec<String> {
        ev.records
            .iter()
            .map(|r| {
                let mut s = format!("{}", r.location.line.unwrap_or(0));
                for f in fields {
                    s.push('|');
                    s.push_str(&r.get(f).map(|v| v.display()).unwrap_or_else(|| "-".into()));
                }
                s
            })
            .collect()
    }

    #[test]
    fn fluent_bit_classic() {
        let text = "@SET k=v\n[SERVICE]\n    Flush 1\n    Parsers_File parsers.conf\n\n@INCLUDE inputs.conf\n[INPUT]\n    # tail docker logs\n    Path /var/lib/docker/containers/*/*.log\n    Parser docker\n    Name  tail\n    Docker_Mode  On\n[input]\n    Name tail\n    multiline.parser docker, cri\n[PARSER]\n    Name docker\n    Format json\n";
        let src = Source::file("logging/fluent-bit.conf", FileKind::FluentBit, text);
        let mut ev = Evidence::default();
        analyze_fluent_bit(&src, &mut ev);
        assert_eq!(
            rows(&ev, &["section", "plugin", "key", "value", "collector"]),
            vec![
                "3|SERVICE||Flush|1|fluent-bit",
                "4|SERVICE||Parsers_File|parsers.conf|fluent-bit",
                "9|INPUT|tail|Path|/var/lib/docker/containers/*/*.log|fluent-bit",
                "10|INPUT|tail|Parser|docker|fluent-bit",
                "11|INPUT|tail|Name|tail|fluent-bit",
                "12|INPUT|tail|Docker_Mode|On|fluent-bit",
                "14|INPUT|tail|Name|tail|fluent-bit",
                "15|INPUT|tail|multiline.parser|docker, cri|fluent-bit",
                "17|PARSER|docker|Name|docker|fluent-bit",
                "18|PARSER|docker|Format|json|fluent-bit",
            ]
        );
        assert_eq!(ev.records[3].location.column, Some(5));
        assert_eq!(ev.records[3].snippet, "Parser docker");
    }

    #[test]
    fn fluent_bit_yaml_format() {
        let text = "service:\n  flush: 1\npipeline:\n  inputs:\n    - name: tail\n      path: /var/log/containers/*.log\n      parser: docker\n  outputs:\n    - name: stdout\n      match: '*'\n";
        let src = Source::file("fluent-bit.yaml", FileKind::FluentBit, text);
        let mut ev = Evidence::default();
        analyze_fluent_bit(&src, &mut ev);
        assert_eq!(
            rows(&ev, &["section", "plugin", "key", "value"]),
            vec![
                "5|INPUT|tail|name|tail",
                "6|INPUT|tail|path|/var/log/containers/*.log",
                "7|INPUT|tail|parser|docker",
                "9|OUTPUT|stdout|name|stdout",
                "10|OUTPUT|stdout|match|*",
            ]
        );
        let mut ev = Evidence::default();
        analyze_fluent_bit(&Source::file("f.yaml", FileKind::FluentBit, "pipeline:\n  inputs: [\n"), &mut ev);
        assert_eq!(ev.gaps.len(), 1);
    }

    #[test]
    fn fluentd_sections_and_sources() {
        let text = "@include conf.d/*.conf\n<source>\n  @type tail\n  <parse>\n    @type json\n    time_format %Y-%m-%dT%H:%M:%S.%NZ\n  </parse>\n  path \"/var/log/containers/*.log\"\n  pos_file /var/log/fluentd-containers.log.pos\n  tag kubernetes.*\n</source>\n<filter kubernetes.**>\n  @type kubernetes_metadata\n</filter>\n<match **>\n  @type elasticsearch\n  <buffer>\n    flush_interval 5s\n  </buffer>\n</match>\n";
        let src = Source::file("logging/fluent.conf", FileKind::Fluentd, text);
        let mut ev = Evidence::default();
        analyze_fluentd(&src, &mut ev);
        assert_eq!(
            rows(&ev, &["section", "key", "value", "source_path", "source_type"]),
            vec![
                "3|source|@type|tail|/var/log/containers/*.log|tail",
                "5|source/parse|@type|json|/var/log/containers/*.log|tail",
                "6|source/parse|time_format|%Y-%m-%dT%H:%M:%S.%NZ|/var/log/containers/*.log|tail",
                "8|source|path|/var/log/containers/*.log|/var/log/containers/*.log|tail",
                "9|source|pos_file|/var/log/fluentd-containers.log.pos|/var/log/containers/*.log|tail",
                "10|source|tag|kubernetes.*|/var/log/containers/*.log|tail",
                "13|filter|@type|kubernetes_metadata|-|-",
                "16|match|@type|elasticsearch|-|-",
                "18|match/buffer|flush_interval|5s|-|-",
            ]
        );
        assert_eq!(ev.records[6].str("argument"), "kubernetes.**");
        assert_eq!(ev.records[0].str("collector"), "fluentd");
    }

    #[test]
    fn fluentd_ruby_env_defaults() {
        assert_eq!(
            ruby_env_default("#{ENV['FLUENT_CONTAINER_TAIL_PARSER_TYPE'] || 'json'}"),
            Some(("FLUENT_CONTAINER_TAIL_PARSER_TYPE", "json"))
        );
        assert_eq!(ruby_env_default("#{ENV[\"X\"]||\"cri\"}"), Some(("X", "cri")));
        assert_eq!(ruby_env_default("#{ENV.fetch('FLUENT_POS_EXTRA_DIR', '')}"), Some(("FLUENT_POS_EXTRA_DIR", "")));
        assert_eq!(ruby_env_default("#{ENV['X'] || use_default}"), None);
        assert_eq!(ruby_env_default("#{File.join('/var/log/', ENV.fetch('A', ''))}"), None);
        assert_eq!(ruby_env_default("json"), None);
        let text = "<source>\n  @type tail\n  path \"#{ENV['P'] || '/var/log/containers/*.log'}\"\n  <parse>\n    @type \"#{ENV['T'] || 'json'}\"\n  </parse>\n</source>\n";
        let mut ev = Evidence::default();
        analyze_fluentd(&Source::file("containers.conf", FileKind::Fluentd, text), &mut ev);
        let parse = ev.records.iter().find(|r| r.str("section") == "source/parse").expect("parse record");
        assert_eq!(
            (parse.str("value"), parse.str("env"), parse.str("source_path")),
            ("json", "T", "/var/log/containers/*.log")
        );
    }

    #[test]
    fn fluentd_tolerates_unbalanced_tags() {
        let src = Source::file(
            "f.conf",
            FileKind::Fluentd,
            "</source>\n<source>\n  path /x\n<parse\n  @type json\n</nope>\nkey value\n",
        );
        let mut ev = Evidence::default();
        analyze_fluentd(&src, &mut ev);
        assert_eq!(
            rows(&ev, &["section", "key", "source_type"]),
            vec!["3|source|path|json", "4|source|<parse|json", "5|source|@type|json", "7|source|key|json"]
        );
    }

    fn shipper(text: &str) -> Evidence {
        let src = Source::file("deploy/shipper.yaml", FileKind::K8sManifest, text);
        let docs = parse_documents(text).expect("yaml");
        let mut ev = Evidence::default();
        for d in &docs {
            log_shipper_yaml(&src, d, &d.value, "", &mut ev);
        }
        ev
    }

    #[test]
    fn promtail_stages_and_paths() {
        let text = "server:\n  http_listen_port: 9080\nscrape_configs:\n  - job_name: kubernetes-pods\n    pipeline_stages:\n      - docker: {}\n      - cri: {}\n      - match:\n          selector: '{app=\"x\"}'\n    relabel_configs:\n      - source_labels: [__meta_kubernetes_pod_uid]\n        target_label: __path__\n        replacement: /var/log/pods/*$1/*.log\n  - job_name: docker\n    static_configs:\n      - targets: [localhost]\n        labels:\n          __path__: /var/lib/docker/containers/*/*log\n";
        let ev = shipper(text);
        assert_eq!(
            rows(&ev, &["collector", "section", "key", "value", "file_kind"]),
            vec![
                "6|promtail|scrape_configs[kubernetes-pods].pipeline_stages|docker|{}|promtail",
                "7|promtail|scrape_configs[kubernetes-pods].pipeline_stages|cri|{}|promtail",
                "8|promtail|scrape_configs[kubernetes-pods].pipeline_stages|match|{\"selector\":\"{app=\\\"x\\\"}\"}|promtail",
                "13|promtail|scrape_configs[kubernetes-pods].relabel_configs|__path__|/var/log/pods/*$1/*.log|promtail",
                "18|promtail|scrape_configs[docker].static_configs|__path__|/var/lib/docker/containers/*/*log|promtail",
            ]
        );
    }

    #[test]
    fn filebeat_inputs_and_autodiscover() {
        let text = "filebeat.inputs:\n  - type: docker\n    containers.ids:\n      - '*'\n  - type: container\n    paths:\n      - /var/log/containers/*.log\nfilebeat.autodiscover:\n  providers:\n    - type: kubernetes\n      templates:\n        - config:\n            - type: docker\n              containers.ids: ['${data.kubernetes.container.id}']\n";
        let ev = shipper(text);
        assert_eq!(
            rows(&ev, &["collector", "section", "key", "value", "file_kind"]),
            vec![
                "2|filebeat|filebeat.inputs[0]|type|docker|filebeat",
                "4|filebeat|filebeat.inputs[0]|containers.ids|*|filebeat",
                "5|filebeat|filebeat.inputs[1]|type|container|filebeat",
                "7|filebeat|filebeat.inputs[1]|path|/var/log/containers/*.log|filebeat",
                "13|filebeat|filebeat.autodiscover[0]|type|docker|filebeat",
                "14|filebeat|filebeat.autodiscover[0]|containers.ids|${data.kubernetes.container.id}|filebeat",
            ]
        );
        let ev = shipper("filebeat:\n  inputs:\n    - type: log\n      paths: [/var/lib/docker/containers/*/*.log]\n");
        assert_eq!(rows(&ev, &["key", "value"]), vec!["3|type|log", "4|path|/var/lib/docker/containers/*/*.log"]);
    }

    #[test]
    fn every_truncation_is_handled() {
        let bit = "[INPUT]\n    Name tail\n    Parser é\n[\n]\n[é]\n  @INCLUDE x\n";
        let fd = "<source>\n  path \"é\n  <parse>\n    @type json\n  </parse>\n</source>\n<é\n";
        let ship = "scrape_configs:\n  - job_name: é\n    pipeline_stages:\n      - docker: {}\nfilebeat.inputs:\n  - type: docker\n    paths: [é]\npipeline:\n  inputs:\n    - name: tail\n";
        for (i, _) in bit.char_indices() {
            analyze_fluent_bit(&Source::file("f.conf", FileKind::FluentBit, &bit[..i]), &mut Evidence::default());
        }
        for (i, _) in fd.char_indices() {
            analyze_fluentd(&Source::file("f.conf", FileKind::Fluentd, &fd[..i]), &mut Evidence::default());
        }
        for (i, _) in ship.char_indices() {
            analyze_fluent_bit(&Source::file("f.yaml", FileKind::FluentBit, &ship[..i]), &mut Evidence::default());
            if let Ok(docs) = parse_documents(&ship[..i]) {
                for d in &docs {
                    log_shipper_yaml(
                        &Source::file("s.yaml", FileKind::K8sManifest, &ship[..i]),
                        d,
                        &d.value,
                        "",
                        &mut Evidence::default(),
                    );
                }
            }
        }
    }
}
