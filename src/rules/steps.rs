//! The migration plan as data: `rules/steps.yaml` (embedded), or the `steps.yaml` of a
//! `--rules DIR`, says which steps exist, which findings each deals with, what must come before
//! what, and what each step says to do. It is loaded and validated with the rules
//! ([`super::Catalogue`]); the readiness report (`report::readiness`) only groups findings by the
//! step this module gives them, fills in places and placeholders, and renders.
//!
//! The schema types only describe and deserialize (unknown keys are errors); [`Steps::parse`]
//! checks every reference (rule ids, step ids, signal names, placeholders) and the `after` graph,
//! and fixes the plan order once. Pure: no I/O. The `///` docs on the schema are the user
//! reference in `docs/rules.md` ("The migration plan"), which `tests/it/rules_doc.rs` holds to them.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::Deserialize;

use super::nearest::did_you_mean;
use super::schema::OneOrMany;
use crate::finding::{Finding, Severity};
use crate::parse::yaml_error;

/// A whole `steps.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepsFile {
    /// The steps. The plan shows them in this order, except that a step comes after every step its
    /// `after` names; a finding goes to the first step in this order whose `takes` selects it.
    pub steps: Vec<StepSpec>,
    /// Findings that call for no step at all (Docker-in-Docker keeps its own daemon). Tried before
    /// every step.
    #[serde(default)]
    pub no_step: Selector,
}

/// One step of the migration plan.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// Stable kebab-case id. The HTML report's `data-step` key (`ID:POOL` for a `per_pool` step).
    pub id: String,
    /// Title; backticks mark code. Placeholders: `{target}`; in `per_pool` steps `{who}` (`Node pool
    /// `POOL``, `Node `NAME``, or `Nodes without a pool label`); `{parts}`, the `title_parts` shown,
    /// joined by `, `.
    pub title: String,
    /// Ids of steps that must come before this one when both are in the plan (and, through them,
    /// the steps those name).
    #[serde(default)]
    pub after: Vec<String>,
    /// The findings this step deals with: a finding is taken when one of these selectors selects it.
    /// The step is in the plan when it takes a warning or an error (notes ride along).
    #[serde(default)]
    pub takes: Vec<Selector>,
    /// The step is also in the plan, with no findings of its own, when one of these steps takes a
    /// warning or an error that comes from where `called_by` allows.
    #[serde(default)]
    pub called_by: Option<CalledBy>,
    /// One step per node pool (findings without a pool go to the step of the nodes without a pool
    /// label); it lists the nodes, not objects and files.
    #[serde(default)]
    pub per_pool: bool,
    /// Named conditions on the step's findings, for the `when` and `unless` of `title_parts` and
    /// `actions`: a signal is on when it selects one of the findings the step took.
    #[serde(default)]
    pub signals: BTreeMap<String, Selector>,
    /// The parts of the title that `{parts}` joins, in order, each shown under its conditions.
    #[serde(default)]
    pub title_parts: Vec<Line>,
    /// What to do, in order, each shown under its conditions.
    pub actions: Vec<Line>,
}

/// Which findings of other steps call for a step that takes none itself (backing up etcd).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalledBy {
    /// Step ids whose warnings and errors call for this step.
    pub steps: Vec<String>,
    /// Whether findings in repository files (a path and no node) count. Default: `true`. `false`
    /// keeps a step that touches the cluster out of a report of repositories alone.
    #[serde(default = "yes")]
    pub from_repositories: bool,
}

fn yes() -> bool {
    true
}

/// Which findings: by rule id, else by tags. A rule named in any step's `takes` (or in `no_step`)
/// goes only where it is named; tags select only findings of rules that no `takes` names.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selector {
    /// Rule ids this selects.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Tag sets: a finding of an unnamed rule is selected when its rule carries every tag of one
    /// set. A plain string is a set of one tag (`[ci, [node, readiness]]`).
    #[serde(default)]
    pub tags: Vec<OneOrMany>,
    /// `true`: only findings on a node; `false`: only findings on no node. Omitted: both.
    #[serde(default)]
    pub on_node: Option<bool>,
    /// In `takes`: tried only after the tags of every other selector of every step (a catch-all
    /// for a broad tag such as `workload`).
    #[serde(default)]
    pub fallback: bool,
    /// In `takes`: also every finding that nothing else selects. At most one step may say it.
    #[serde(default)]
    pub rest: bool,
}

/// A title part or an action.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    /// The text; backticks mark code. Placeholders: `{target}`; in `per_pool` steps `{node}` (the
    /// node's name, or `NODE` when the pool has several) and `{each}` (a note to go one node at a
    /// time when there are several, else nothing).
    pub text: String,
    /// Shown only when every signal named here is on. Omitted: always.
    #[serde(default)]
    pub when: Option<OneOrMany>,
    /// Not shown when any signal named here is on.
    #[serde(default)]
    pub unless: Option<OneOrMany>,
}

/// The checked plan policy of a run.
#[derive(Debug, Clone)]
pub struct Steps {
    /// Where it was loaded from (`rules/steps.yaml` or a path).
    pub origin: String,
    /// The steps as written, in file order.
    pub specs: Vec<StepSpec>,
    no_step: Selector,
    /// Indices of `specs` in plan order.
    order: Vec<usize>,
    /// Rule ids some `takes` or `no_step` names.
    named: HashSet<String>,
}

/// The placeholders each text may hold.
const TITLE_PLACEHOLDERS: &[&str] = &["target"];
const POOL_TITLE_PLACEHOLDERS: &[&str] = &["target", "who", "parts"];
const LINE_PLACEHOLDERS: &[&str] = &["target"];
const POOL_LINE_PLACEHOLDERS: &[&str] = &["target", "node", "each"];

impl Steps {
    /// Parses and checks a `steps.yaml`; `rules` are the ids of the run's rules. Every problem is
    /// reported, each naming `origin`.
    pub fn parse(origin: &str, text: &str, rules: &BTreeSet<String>) -> Result<Steps, Vec<String>> {
        let file: StepsFile = serde_saphyr::from_str(text).map_err(|e| vec![yaml_error::describe(origin, &e)])?;
        Steps::check(origin, file, rules)
    }

    fn check(origin: &str, file: StepsFile, rules: &BTreeSet<String>) -> Result<Steps, Vec<String>> {
        let mut errors = Vec::new();
        let ids: Vec<&str> = file.steps.iter().map(|s| s.id.as_str()).collect();
        let known_rule = |id: &str, at: &str, errors: &mut Vec<String>| {
            if !rules.contains(id) {
                errors.push(format!(
                    "{origin}: {at}: unknown rule `{id}`{}",
                    did_you_mean(id, rules.iter().map(String::as_str))
                ));
            }
        };
        let known_step = |id: &str, at: &str, errors: &mut Vec<String>| {
            if !ids.contains(&id) {
                errors.push(format!("{origin}: {at}: unknown step `{id}`{}", did_you_mean(id, ids.iter().copied())));
            }
        };
        let check_selector = |sel: &Selector, at: &str, in_takes: bool, errors: &mut Vec<String>| {
            for r in &sel.rules {
                known_rule(r, at, errors);
            }
            for set in &sel.tags {
                let tags = set.to_vec();
                if tags.is_empty() || tags.iter().any(|t| t.trim().is_empty()) {
                    errors.push(format!("{origin}: {at}: a tag set must hold non-empty tags"));
                }
            }
            if !in_takes && (sel.fallback || sel.rest) {
                errors.push(format!("{origin}: {at}: `fallback` and `rest` only mean something in `takes`"));
            }
            if sel.rules.is_empty() && sel.tags.is_empty() && !sel.rest {
                errors.push(format!("{origin}: {at}: selects nothing (give `rules`, `tags` or `rest`)"));
            }
        };
        if !file.no_step.rules.is_empty() || !file.no_step.tags.is_empty() {
            check_selector(&file.no_step, "no_step", false, &mut errors);
        }
        let mut seen = BTreeSet::new();
        let mut rest_steps = Vec::new();
        for step in &file.steps {
            let at = format!("step `{}`", step.id);
            if !is_kebab(&step.id) {
                errors.push(format!("{origin}: {at}: the id must be kebab-case"));
            }
            if !seen.insert(step.id.as_str()) {
                errors.push(format!("{origin}: {at}: defined twice"));
            }
            if step.title.trim().is_empty() {
                errors.push(format!("{origin}: {at}: `title` must not be empty"));
            }
            if step.actions.is_empty() {
                errors.push(format!("{origin}: {at}: `actions` must not be empty"));
            }
            for a in &step.after {
                if a == &step.id {
                    errors.push(format!("{origin}: {at}: `after` names the step itself"));
                } else {
                    known_step(a, &format!("{at}: after"), &mut errors);
                }
            }
            if let Some(c) = &step.called_by {
                for s in &c.steps {
                    known_step(s, &format!("{at}: called_by"), &mut errors);
                }
            }
            if step.per_pool && step.called_by.is_some() {
                errors.push(format!("{origin}: {at}: a `per_pool` step cannot be `called_by` (it would have no pool)"));
            }
            if step.takes.is_empty() && step.called_by.is_none() {
                errors.push(format!("{origin}: {at}: has neither `takes` nor `called_by`, so it is never in the plan"));
            }
            for (i, sel) in step.takes.iter().enumerate() {
                check_selector(sel, &format!("{at}: takes[{i}]"), true, &mut errors);
                if sel.rest {
                    rest_steps.push(step.id.clone());
                }
            }
            for (name, sel) in &step.signals {
                check_selector(sel, &format!("{at}: signal `{name}`"), false, &mut errors);
            }
            let signal_names: Vec<&str> = step.signals.keys().map(String::as_str).collect();
            let (title_ok, line_ok) = if step.per_pool {
                (POOL_TITLE_PLACEHOLDERS, POOL_LINE_PLACEHOLDERS)
            } else {
                (TITLE_PLACEHOLDERS, LINE_PLACEHOLDERS)
            };
            check_placeholders(&step.title, title_ok, &format!("{origin}: {at}: title"), &mut errors);
            let has_parts = placeholders(&step.title).iter().any(|p| p == "parts");
            if has_parts == step.title_parts.is_empty() {
                errors.push(format!("{origin}: {at}: `{{parts}}` in the title and `title_parts` go together"));
            }
            for (what, lines) in [("title_parts", &step.title_parts), ("actions", &step.actions)] {
                for (i, line) in lines.iter().enumerate() {
                    let here = format!("{origin}: {at}: {what}[{i}]");
                    if line.text.trim().is_empty() {
                        errors.push(format!("{here}: `text` must not be empty"));
                    }
                    check_placeholders(&line.text, line_ok, &here, &mut errors);
                    for name in line.when.iter().chain(&line.unless).flat_map(OneOrMany::to_vec) {
                        if !step.signals.contains_key(&name) {
                            errors.push(format!(
                                "{here}: unknown signal `{name}`{}",
                                did_you_mean(&name, signal_names.iter().copied())
                            ));
                        }
                    }
                }
            }
        }
        if rest_steps.len() > 1 {
            errors.push(format!("{origin}: more than one step takes the `rest`: {}", rest_steps.join(", ")));
        }
        let order = match topological(&file.steps) {
            Ok(order) => order,
            Err(cycle) => {
                errors.push(format!("{origin}: the steps' `after` form a cycle: {}", cycle.join(" → ")));
                Vec::new()
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let named =
            file.no_step.rules.iter().chain(file.steps.iter().flat_map(|s| s.takes.iter().flat_map(|t| &t.rules)));
        let named = named.cloned().collect();
        Ok(Steps { origin: origin.to_string(), specs: file.steps, no_step: file.no_step, order, named })
    }

    /// Indices of [`Steps::specs`] in plan order: dependencies first, else file order.
    pub fn plan_order(&self) -> &[usize] {
        &self.order
    }

    /// Whether some `takes` (or `no_step`) names the rule.
    pub fn names_rule(&self, id: &str) -> bool {
        self.named.contains(id)
    }

    /// The step (index into [`Steps::specs`]) that deals with a finding, or `None` when it calls for
    /// no step.
    pub fn step_of(&self, f: &Finding) -> Option<usize> {
        let id = f.rule_id.as_str();
        let fits = |sel: &Selector| sel.on_node.is_none_or(|want| want == f.location.node.is_some());
        if self.named.contains(id) {
            if self.no_step.rules.iter().any(|r| r == id) {
                return None;
            }
            for (i, step) in self.specs.iter().enumerate() {
                if step.takes.iter().any(|sel| fits(sel) && sel.rules.iter().any(|r| r == id)) {
                    return Some(i);
                }
            }
        } else {
            if tags_match(&self.no_step, f) {
                return None;
            }
            for fallback in [false, true] {
                for (i, step) in self.specs.iter().enumerate() {
                    if step.takes.iter().any(|sel| sel.fallback == fallback && fits(sel) && tags_match(sel, f)) {
                        return Some(i);
                    }
                }
            }
        }
        self.specs.iter().position(|s| s.takes.iter().any(|sel| sel.rest))
    }

    /// Whether the selector selects the finding (rule ids, or tags for unnamed rules; `on_node`).
    pub fn selects(&self, sel: &Selector, f: &Finding) -> bool {
        if sel.on_node.is_some_and(|want| want != f.location.node.is_some()) {
            return false;
        }
        if sel.rules.contains(&f.rule_id) {
            return true;
        }
        !self.named.contains(&f.rule_id) && tags_match(sel, f)
    }

    /// Whether a line of step `step` is shown, given the findings the step took.
    pub fn shows(&self, step: usize, line: &Line, findings: &[&Finding]) -> bool {
        let on = |name: &str| {
            self.specs[step].signals.get(name).is_some_and(|sel| findings.iter().any(|f| self.selects(sel, f)))
        };
        line.when.iter().flat_map(OneOrMany::to_vec).all(|n| on(&n))
            && !line.unless.iter().flat_map(OneOrMany::to_vec).any(|n| on(&n))
    }

    /// Whether the finding, taken by step `taken_by`, calls for step `step` through its `called_by`.
    pub fn calls_for(&self, step: usize, taken_by: usize, f: &Finding) -> bool {
        let Some(c) = &self.specs[step].called_by else { return false };
        let in_repository = f.location.path.is_some() && f.location.node.is_none();
        f.severity >= Severity::Warning
            && c.steps.iter().any(|s| *s == self.specs[taken_by].id)
            && (c.from_repositories || !in_repository)
    }
}

fn tags_match(sel: &Selector, f: &Finding) -> bool {
    sel.tags.iter().any(|set| {
        let set = set.to_vec();
        !set.is_empty() && set.iter().all(|t| f.tags.contains(t))
    })
}

/// Kahn's algorithm, taking the earliest step in file order whenever several are free. On a cycle,
/// the ids of one.
fn topological(steps: &[StepSpec]) -> Result<Vec<usize>, Vec<String>> {
    let index = |id: &str| steps.iter().position(|s| s.id == id);
    let deps: Vec<Vec<usize>> = steps.iter().map(|s| s.after.iter().filter_map(|a| index(a)).collect()).collect();
    let mut done = vec![false; steps.len()];
    let mut order = Vec::with_capacity(steps.len());
    while order.len() < steps.len() {
        match (0..steps.len()).find(|&i| !done[i] && deps[i].iter().all(|&d| done[d])) {
            Some(i) => {
                done[i] = true;
                order.push(i);
            }
            None => {
                // Walk from a blocked step along blocked dependencies until a step repeats.
                let mut path: Vec<usize> = Vec::new();
                let mut at = (0..steps.len()).find(|&i| !done[i]).unwrap_or(0);
                while !path.contains(&at) {
                    path.push(at);
                    at = deps[at].iter().copied().find(|&d| !done[d]).unwrap_or(at);
                }
                let start = path.iter().position(|&p| p == at).unwrap_or(0);
                let mut cycle: Vec<String> = path[start..].iter().map(|&i| steps[i].id.clone()).collect();
                cycle.push(steps[at].id.clone());
                return Err(cycle);
            }
        }
    }
    Ok(order)
}

/// The `{name}` placeholders of a text: braces around a name of letters, digits, `_` and `-`
/// (other braced text, such as `agent { docker … }`, is text).
fn placeholders(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            out.push(name.to_string());
        }
        rest = &after[end + 1..];
    }
    out
}

fn check_placeholders(text: &str, allowed: &[&str], at: &str, errors: &mut Vec<String>) {
    for p in placeholders(text) {
        if !allowed.contains(&p.as_str()) {
            errors.push(format!("{at}: unknown placeholder `{{{p}}}` (here: {})", allowed.join(", ")));
        }
    }
}

/// Replaces `{name}` placeholders with their values (every placeholder was checked at load).
pub fn fill(text: &str, values: &[(&str, &str)]) -> String {
    let mut out = text.to_string();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

fn is_kebab(id: &str) -> bool {
    !id.is_empty()
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.starts_with('-')
        && !id.ends_with('-')
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::Steps;

    fn rules() -> BTreeSet<String> {
        ["a", "b", "node-x"].iter().map(|s| s.to_string()).collect()
    }

    fn errors(text: &str) -> String {
        Steps::parse("my/steps.yaml", text, &rules()).unwrap_err().join("\n")
    }

    #[test]
    fn orders_by_after_then_file_order() {
        let text = "steps:\n\
  - {id: late, title: L, after: [first], takes: [{rules: [a]}], actions: [{text: x}]}\n\
  - {id: first, title: F, takes: [{rules: [b]}], actions: [{text: x}]}\n\
  - {id: free, title: R, takes: [{rest: true}], actions: [{text: x}]}\n";
        let steps = Steps::parse("s.yaml", text, &rules()).unwrap();
        let ids: Vec<&str> = steps.plan_order().iter().map(|&i| steps.specs[i].id.as_str()).collect();
        assert_eq!(ids, ["first", "late", "free"]);
    }

    #[test]
    fn rejects_unknown_references_and_cycles_naming_the_file() {
        let text = "steps:\n\
  - {id: one, title: O, after: [two], takes: [{rules: [aa]}], actions: [{text: '{nod}', when: sig}]}\n\
  - {id: two, title: T, after: [one, three], takes: [{tags: [x]}], actions: [{text: x}]}\n";
        let e = errors(text);
        assert!(e.contains("my/steps.yaml: step `one`: takes[0]: unknown rule `aa` (did you mean `a`?)"), "{e}");
        assert!(e.contains("my/steps.yaml: step `two`: after: unknown step `three`"), "{e}");
        assert!(e.contains("unknown placeholder `{nod}`"), "{e}");
        assert!(e.contains("unknown signal `sig`"), "{e}");
        assert!(e.contains("my/steps.yaml: the steps' `after` form a cycle: one → two → one"), "{e}");
        assert!(
            errors("steps:\n  - {id: s, title: S, takes: [{rules: [a]}], actions: [{text: x}], colour: red}\n")
                .contains("my/steps.yaml:")
        );
    }
}
