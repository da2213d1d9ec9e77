//! `--format sarif`: SARIF 2.1.0 for code scanning (GitHub, Azure DevOps, any SARIF viewer), built
//! with `serde-sarif`'s types so the document follows the schema by construction.
//!
//! Every rule of the run goes into `driver.rules`; each result carries `ruleId`, `ruleIndex`, an
//! explicit level, the exact region, a repository-relative URI under `%SRCROOT%`, the finding's
//! stable fingerprint in `partialFingerprints`, and `logicalLocations` for Kubernetes objects and
//! nodes. Findings that have no file (live cluster objects, nodes) get a stable pseudo-artifact
//! (`cluster/<context>/<kind>/<namespace>/<name>`) because GitHub rejects results without a
//! physical location. Coverage gaps become tool-execution notifications, never silence.
//!
//! Must not: decide anything (levels come from the findings), read files, or print.

use std::collections::BTreeMap;

use serde_json::json;
use serde_sarif::sarif;

use super::{Report, RuleInfo};
use crate::evidence::{Location, ObjectRef};
use crate::finding::Finding;
use crate::finding::Severity;
use crate::percent;

/// The value of SARIF's `version`: the format's version, never the tool's.
pub const SARIF_VERSION: &str = "2.1.0";
/// The SARIF 2.1.0 JSON schema.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The `uriBaseId` that repository paths are relative to (the checkout root).
pub const SRCROOT: &str = "%SRCROOT%";
/// Key of our fingerprint in `partialFingerprints`; the `/v1` changes if the hash ever does.
pub const FINGERPRINT_KEY: &str = "dockershimAudit/v1";
/// Repository of the tool (the SARIF `informationUri`).
pub const INFORMATION_URI: &str = env!("CARGO_PKG_REPOSITORY");

/// `security-severity` (GitHub's 0.0-10.0 scale) for a severity: error is high, warning medium,
/// note low.
pub fn security_severity(sev: Severity) -> &'static str {
    match sev {
        Severity::Error => "7.5",
        Severity::Warning => "5.0",
        Severity::Note => "2.0",
    }
}

/// The SARIF level of a severity. Written out so a new severity cannot map silently.
pub fn level(sev: Severity) -> sarif::ResultLevel {
    match sev {
        Severity::Error => sarif::ResultLevel::Error,
        Severity::Warning => sarif::ResultLevel::Warning,
        Severity::Note => sarif::ResultLevel::Note,
    }
}

/// GitHub's `problem.severity` for a severity (used when a rule is not a security rule).
fn problem_severity(sev: Severity) -> &'static str {
    match sev {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "recommendation",
    }
}

/// Renders the SARIF log as pretty JSON with a trailing newline.
pub fn render(r: &Report) -> anyhow::Result<String> {
    let mut s = serde_json::to_string_pretty(&document(r))?;
    s.push('\n');
    Ok(s)
}

/// Builds the SARIF log of a report.
pub fn document(r: &Report) -> sarif::Sarif {
    let rules = RuleTable::new(r);
    let place = Placer::new(r);
    let mut results: Vec<sarif::Result> =
        r.findings.iter().map(|f| result(f, &rules, &place, r.baseline.is_some())).collect();
    for s in &r.suppressed {
        let mut res = result(&s.finding, &rules, &place, false);
        let kind = if s.by.starts_with("config") { "external" } else { "inSource" };
        res.suppressions = Some(vec![
            sarif::Suppression::builder()
                .kind(json!(kind))
                .status(json!("accepted"))
                .justification(format!("{} ({})", s.reason, s.by))
                .build(),
        ]);
        results.push(res);
    }

    let driver = sarif::ToolComponent::builder()
        .name("dockershim-audit")
        .full_name(format!("dockershim-audit {}", env!("CARGO_PKG_VERSION")))
        .version(env!("CARGO_PKG_VERSION"))
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .information_uri(INFORMATION_URI)
        .short_description(text("Finds dependencies on Docker Engine and dockershim before a Kubernetes upgrade."))
        .rules(rules.descriptors)
        .notifications(notification_descriptors())
        .build();

    let mut srcroot = sarif::ArtifactLocation::builder()
        .description(sarif::Message::from("The root of the scanned repository (the checkout)."))
        .build();
    // An absolute `file://` URI ending in `/`, so every relative artifact URI resolves against it.
    srcroot.uri = r.source_root.as_deref().map(|root| format!("{}/", file_uri(root).trim_end_matches('/')));
    let run = sarif::Run::builder()
        .tool(sarif::Tool::builder().driver(driver).build())
        .original_uri_base_ids(BTreeMap::from([(SRCROOT.to_string(), srcroot)]))
        .column_kind(json!("unicodeCodePoints"))
        .invocations(vec![invocation(r)])
        .results(results)
        .properties(run_properties(r))
        .build();

    sarif::Sarif::builder().schema(SCHEMA_URI).version(json!(SARIF_VERSION)).runs(vec![run]).build()
}

/// `driver.rules` and the index of each rule id in it.
struct RuleTable {
    descriptors: Vec<sarif::ReportingDescriptor>,
    index: BTreeMap<String, i64>,
}

impl RuleTable {
    fn new(r: &Report) -> RuleTable {
        let mut t = RuleTable { descriptors: Vec::new(), index: BTreeMap::new() };
        for rule in &r.rules {
            t.add(rule);
        }
        // A finding of a rule the run did not list (a severity override, an ignore of a rule that
        // is inactive now) still needs a descriptor for its ruleIndex.
        for f in r.findings.iter().chain(r.suppressed.iter().map(|s| &s.finding)) {
            if !t.index.contains_key(&f.rule_id) {
                t.add(&RuleInfo::from_finding(f));
            }
        }
        t
    }

    fn add(&mut self, rule: &RuleInfo) {
        if self.index.contains_key(&rule.id) {
            return;
        }
        self.index.insert(rule.id.clone(), self.descriptors.len() as i64);
        self.descriptors.push(descriptor(rule));
    }
}

fn text(s: impl Into<String>) -> sarif::MultiformatMessageString {
    sarif::MultiformatMessageString::builder().text(s).build()
}

/// Ends a sentence with a period (SARIF viewers show the first sentence of messages).
fn sentence(s: &str) -> String {
    let s = s.trim();
    if s.is_empty() || s.ends_with(['.', '!', '?']) { s.to_string() } else { format!("{s}.") }
}

/// `hostpath-docker-socket` -> `HostpathDockerSocket`, SARIF's style for a rule's friendly name.
fn pascal(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut cs = p.chars();
            match cs.next() {
                Some(c) => c.to_ascii_uppercase().to_string() + cs.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// Keeps text literal in Markdown: a `<registry>` placeholder must not become an HTML tag.
fn md_text(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn descriptor(rule: &RuleInfo) -> sarif::ReportingDescriptor {
    let mut full = sentence(&rule.title);
    if !rule.subject.is_empty() {
        full.push_str(&format!(" Checked on {} evidence", rule.subject));
        match &rule.since {
            Some(since) => full.push_str(&format!(" when the target is Kubernetes {since} or later.")),
            None => full.push('.'),
        }
    }
    let mut help_text = format!("{}\n\nRemediation: {}", full, sentence(&rule.remediation));
    let mut help_md = format!("{}\n\n**Remediation:** {}", md_text(&full), md_text(&sentence(&rule.remediation)));
    if !rule.docs.is_empty() {
        help_text.push_str("\n\nDocumentation:");
        help_md.push_str("\n\n**Documentation:**\n");
        for d in &rule.docs {
            help_text.push_str(&format!("\n- {d}"));
            help_md.push_str(&format!("\n- <{d}>"));
        }
    }
    let mut tags = rule.tags.clone();
    for t in ["kubernetes", "dockershim"] {
        if !tags.iter().any(|x| x == t) {
            tags.push(t.to_string());
        }
    }
    let properties = sarif::PropertyBag::builder()
        .tags(tags)
        .additional_properties(BTreeMap::from([
            ("precision".to_string(), json!("high")),
            ("problem.severity".to_string(), json!(problem_severity(rule.severity))),
            ("security-severity".to_string(), json!(security_severity(rule.severity))),
        ]))
        .build();
    let mut b = sarif::ReportingDescriptor::builder()
        .id(rule.id.clone())
        .name(pascal(&rule.id))
        .short_description(text(sentence(&rule.title)))
        .full_description(text(full))
        .help(sarif::MultiformatMessageString::builder().text(help_text).markdown(help_md).build())
        .default_configuration(sarif::ReportingConfiguration::builder().level(json!(level(rule.severity))).build())
        .properties(properties)
        .build();
    b.help_uri = rule.docs.first().cloned();
    b
}

/// Ids of the notifications the tool emits, declared in `driver.notifications`.
const NOTE_GAP: &str = "coverage-gap";
const NOTE_SKIPPED: &str = "skipped-source";
const NOTE_IGNORE: &str = "ignore-problem";
const NOTE_OVERRIDE: &str = "rule-override";

fn notification_descriptors() -> Vec<sarif::ReportingDescriptor> {
    [
        (
            NOTE_GAP,
            "CoverageGap",
            "A source could not be read, so the scan is incomplete.",
            "Grant the missing permission or make the source readable, then run again: until then the result does not cover it.",
        ),
        (
            NOTE_SKIPPED,
            "SkippedSource",
            "A source was left out on purpose (binary, too large, ignored, or not read by choice).",
            "Skipped sources are counted, not failures; `--max-file-size` and `--no-ignore` include more files.",
        ),
        (
            NOTE_IGNORE,
            "IgnoreProblem",
            "An ignore is unused, expired or has no reason.",
            "Delete unused ignores, give every ignore a reason, and renew or remove expired ones.",
        ),
        (
            NOTE_OVERRIDE,
            "RuleOverride",
            "A built-in rule or data list was replaced by a file of the same name in the extra rules.",
            "Check that the replacement is intended: a repository's own rules can weaken what the built-in rule detects.",
        ),
    ]
    .into_iter()
    .map(|(id, name, desc, help)| {
        sarif::ReportingDescriptor::builder()
            .id(id)
            .name(name)
            .short_description(text(desc))
            .full_description(text(desc))
            .help(text(help))
            .build()
    })
    .collect()
}

fn notification(id: &str, index: i64, lvl: &str, message: String) -> sarif::Notification {
    sarif::Notification::builder()
        .descriptor(sarif::ReportingDescriptorReference::builder().id(id).index(index).build())
        .level(json!(lvl))
        .message(sarif::Message::builder().text(message).build())
        .build()
}

fn invocation(r: &Report) -> sarif::Invocation {
    let mut notes = Vec::new();
    for g in &r.gaps {
        let perm = g.missing_permission.as_ref().map(|p| format!(" Missing permission: {p}.")).unwrap_or_default();
        notes.push(notification(
            NOTE_GAP,
            0,
            "warning",
            format!("Could not read {}: {}{perm} The scan is incomplete.", g.source, sentence(&g.reason)),
        ));
    }
    for g in &r.skipped {
        notes.push(notification(NOTE_SKIPPED, 1, "note", format!("Skipped {}: {}", g.source, sentence(&g.reason))));
    }
    let mut config_notes: Vec<sarif::Notification> = r
        .ignore_problems
        .iter()
        .map(|p| notification(NOTE_IGNORE, 2, "warning", format!("Ignore at {}: {}", p.at, sentence(&p.problem))))
        .collect();
    config_notes.extend(r.rule_overrides.iter().map(|o| {
        notification(NOTE_OVERRIDE, 3, "warning", format!("Built-in {} {} replaced by {}.", o.kind, o.id, o.origin))
    }));
    let mut b = sarif::Invocation::builder().execution_successful(true).build();
    if !notes.is_empty() {
        b.tool_execution_notifications = Some(notes);
    }
    if !config_notes.is_empty() {
        b.tool_configuration_notifications = Some(config_notes);
    }
    b
}

fn run_properties(r: &Report) -> sarif::PropertyBag {
    let o = r.scores.overall;
    let mut props = BTreeMap::from([
        ("command".to_string(), json!(r.command)),
        ("targetVersion".to_string(), json!(r.target.version.to_string())),
        ("targetSource".to_string(), json!(r.target.source.key())),
        ("targetReason".to_string(), json!(r.target.reason())),
        ("verdict".to_string(), json!(o.verdict.label())),
        ("score".to_string(), json!(o.score)),
        ("scoreFormula".to_string(), json!(crate::score::FORMULA)),
        ("errors".to_string(), json!(o.errors)),
        ("warnings".to_string(), json!(o.warnings)),
        ("notes".to_string(), json!(o.notes)),
        ("suppressed".to_string(), json!(r.suppressed.len())),
        ("complete".to_string(), json!(r.complete())),
    ]);
    if let Some(b) = &r.baseline {
        props.insert("baseline".into(), json!({ "new": b.new, "unchanged": b.unchanged, "fixed": b.fixed }));
    }
    sarif::PropertyBag::builder().additional_properties(props).build()
}

/// Turns finding locations into SARIF locations.
struct Placer {
    /// First path segment of cluster pseudo-artifacts: the kube context, or `cluster`.
    cluster: String,
    /// True when the findings come from a cluster (objects and nodes seen through the API).
    in_cluster: bool,
}

impl Placer {
    fn new(r: &Report) -> Placer {
        // `scanned` holds the context for live clusters and the file for snapshots; a file name is
        // not a stable identity of the cluster, so it falls back to `cluster`.
        let cluster = match (r.command.as_str(), r.scanned.first()) {
            ("cluster", Some(s)) if !s.is_empty() && !looks_like_file(s) => s.clone(),
            _ => "cluster".to_string(),
        };
        Placer { cluster, in_cluster: r.command == "cluster" }
    }

    /// The artifact URI, its base id, and whether it is a real file (with real lines).
    fn artifact(&self, l: &Location) -> (String, Option<&'static str>, bool) {
        if let Some(path) = &l.path {
            if let Some(node) = &l.node {
                // A file on a node: not in the repository, so under a stable `node/<name>/` prefix.
                let rel = path.trim_start_matches('/');
                return (format!("node/{}/{}", percent::encode(node), encode_path(rel)), Some(SRCROOT), true);
            }
            let clean = path.trim_start_matches("./");
            if is_absolute(clean) {
                return (file_uri(clean), None, true);
            }
            return (encode_path(clean), Some(SRCROOT), true);
        }
        if let (None, Some(n), false) = (&l.object, &l.node, self.in_cluster) {
            // A fact about a node from its files (`node --root`): the node itself is the artifact.
            return (format!("node/{}", percent::encode(n)), Some(SRCROOT), false);
        }
        let mut segs = vec!["cluster".to_string(), percent::encode(&self.cluster)];
        match (&l.object, &l.node) {
            (Some(o), _) => {
                segs.push(percent::encode(&o.kind.to_ascii_lowercase()));
                if !o.namespace.is_empty() {
                    segs.push(percent::encode(&o.namespace));
                }
                segs.push(percent::encode(&o.name));
            }
            (None, Some(n)) => {
                segs.push("node".into());
                segs.push(percent::encode(n));
            }
            (None, None) => segs.push("unknown".into()),
        }
        (segs.join("/"), Some(SRCROOT), false)
    }

    fn physical(&self, l: &Location, snippet: &str) -> sarif::PhysicalLocation {
        let (uri, base, real_file) = self.artifact(l);
        let mut art = sarif::ArtifactLocation::builder().uri(uri).build();
        art.uri_base_id = base.map(str::to_string);
        let (region, context) = if real_file { file_region(l, snippet) } else { (object_region(snippet), None) };
        let mut physical = sarif::PhysicalLocation::builder().artifact_location(art).region(region).build();
        physical.context_region = context;
        physical
    }

    fn location(&self, l: &Location, snippet: &str) -> sarif::Location {
        let mut loc = sarif::Location::builder().physical_location(self.physical(l, snippet)).build();
        let logical = logical_locations(l);
        if !logical.is_empty() {
            loc.logical_locations = Some(logical);
        }
        loc
    }
}

fn looks_like_file(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    [".json", ".yaml", ".yml"].iter().any(|e| lower.ends_with(e))
}

fn is_absolute(p: &str) -> bool {
    p.starts_with('/')
        || p.starts_with('\\')
        || (p.len() > 2 && p.as_bytes()[1] == b':' && p.as_bytes()[0].is_ascii_alphabetic())
}

fn file_uri(p: &str) -> String {
    let p = p.replace('\\', "/");
    if p.starts_with('/') { format!("file://{}", encode_path(&p)) } else { format!("file:///{}", encode_path(&p)) }
}

/// Percent-encodes a relative path, keeping `/` as the separator (RFC 3986 unreserved characters
/// stay as they are).
pub fn encode_path(p: &str) -> String {
    p.replace('\\', "/").split('/').map(percent::encode).collect::<Vec<_>>().join("/")
}

/// The region of a finding in a file: its line and column, ending where the evidence snippet's
/// first line ends (or one column later when there is no snippet). Snippets are the trimmed source
/// line, so the whole line also goes into `contextRegion`, which viewers show around the region.
fn file_region(l: &Location, snippet: &str) -> (sarif::Region, Option<sarif::Region>) {
    let line = i64::from(l.line.unwrap_or(1).max(1));
    let col = i64::from(l.column.unwrap_or(1).max(1));
    let first = snippet.lines().next().unwrap_or("").trim();
    let width = first.chars().count() as i64;
    let region = sarif::Region::builder()
        .start_line(line)
        .start_column(col)
        .end_line(line)
        .end_column(col + width.max(1))
        .build();
    let context = (!first.is_empty()).then(|| {
        sarif::Region::builder()
            .start_line(line)
            .end_line(line)
            .snippet(sarif::ArtifactContent::builder().text(first.to_string()).build())
            .build()
    });
    (region, context)
}

/// The region of a finding on a pseudo-artifact (cluster object or node): line 1, whose text is
/// the evidence (a rendering of the object's field).
fn object_region(snippet: &str) -> sarif::Region {
    let first = snippet.lines().next().unwrap_or("").trim();
    let width = first.chars().count() as i64;
    let mut region =
        sarif::Region::builder().start_line(1).start_column(1).end_line(1).end_column(1 + width.max(1)).build();
    if !first.is_empty() {
        region.snippet = Some(sarif::ArtifactContent::builder().text(first.to_string()).build());
    }
    region
}

fn logical_locations(l: &Location) -> Vec<sarif::LogicalLocation> {
    let mut out = Vec::new();
    if let Some(o) = &l.object {
        out.push(object_logical(o));
    }
    if let Some(n) = &l.node {
        // A Node object is already the first entry.
        if l.object.as_ref().is_none_or(|o| !(o.kind == "Node" && &o.name == n)) {
            out.push(
                sarif::LogicalLocation::builder().kind("node").name(n.clone()).fully_qualified_name(n.clone()).build(),
            );
        }
    }
    out
}

fn object_logical(o: &ObjectRef) -> sarif::LogicalLocation {
    let fqn = if o.namespace.is_empty() { o.name.clone() } else { format!("{}/{}", o.namespace, o.name) };
    sarif::LogicalLocation::builder()
        .kind(o.kind.to_ascii_lowercase())
        .name(o.name.clone())
        .fully_qualified_name(fqn)
        .build()
}

fn result(f: &Finding, rules: &RuleTable, place: &Placer, baseline: bool) -> sarif::Result {
    let mut props = BTreeMap::from([("severity".to_string(), json!(f.severity.name()))]);
    if let Some(pods) = f.location.pods {
        props.insert("pods".into(), json!(pods));
    }
    if let Some(pool) = &f.location.pool {
        props.insert("nodePool".into(), json!(pool));
    }
    if let Some(context) = &f.context {
        props.insert("context".into(), json!(context));
    }
    if !f.also_at.is_empty() {
        props.insert("places".into(), json!(f.also_at.len() + 1));
    }
    let mut res = sarif::Result::builder()
        .rule_id(f.rule_id.clone())
        .level(level(f.severity))
        .message(sarif::Message::builder().text(sentence(&f.message)).build())
        .locations(vec![place.location(&f.location, &f.snippet)])
        .partial_fingerprints(BTreeMap::from([(FINGERPRINT_KEY.to_string(), f.fingerprint.clone())]))
        .properties(sarif::PropertyBag::builder().additional_properties(props).build())
        .build();
    res.rule_index = rules.index.get(&f.rule_id).copied();
    // Secondary places: what explains the finding, then the other places with the same cause.
    let same_cause = f.also_at.iter().map(|l| (l, "Same finding here".to_string()));
    let related: Vec<sarif::Location> = f
        .related
        .iter()
        .map(|rel| (&rel.location, sentence(&rel.message)))
        .chain(same_cause)
        .enumerate()
        .map(|(i, (at, message))| {
            let mut loc = place.location(at, "");
            loc.id = Some(i as i64 + 1);
            loc.message = Some(sarif::Message::builder().text(message).build());
            loc
        })
        .collect();
    if !related.is_empty() {
        res.related_locations = Some(related);
    }
    if baseline {
        res.baseline_state = Some(json!("new"));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_percent_encoded_with_forward_slashes() {
        assert_eq!(encode_path("charts/my app/values.yaml"), "charts/my%20app/values.yaml");
        assert_eq!(encode_path("a\\b#c.sh"), "a/b%23c.sh");
        assert_eq!(percent::encode("ns/name"), "ns%2Fname");
        assert_eq!(file_uri("/tmp/x y"), "file:///tmp/x%20y");
    }

    #[test]
    fn rule_names_are_pascal_case() {
        assert_eq!(pascal("hostpath-docker-socket"), "HostpathDockerSocket");
    }

    #[test]
    fn region_ends_at_the_end_of_the_snippet_line() {
        let l = Location::file("a.yaml", 3, 5);
        let (r, context) = file_region(&l, "path: /var/run/docker.sock\nmore");
        assert_eq!((r.start_line, r.start_column, r.end_line, r.end_column), (Some(3), Some(5), Some(3), Some(31)));
        assert_eq!(context.and_then(|c| c.snippet).and_then(|s| s.text).as_deref(), Some("path: /var/run/docker.sock"));
        let (r, context) = file_region(&l, "");
        assert_eq!(r.end_column, Some(6));
        assert!(context.is_none());
    }
}
