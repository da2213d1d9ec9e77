//! Findings: what the engine concluded, as plain data between the engine and the renderers.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::evidence::{Location, Related};

/// How bad a finding is for the target version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informative.
    Note,
    /// Will likely break, or needs a change.
    Warning,
    /// Blocks the upgrade to the target version.
    Error,
}

impl Severity {
    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "note" => Ok(Severity::Note),
            "warning" => Ok(Severity::Warning),
            "error" => Ok(Severity::Error),
            _ => Err(format!("`{s}` is not a severity (error, warning, note)")),
        }
    }
}

/// One matched rule at one place.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Rule id.
    pub rule_id: String,
    /// Rule title.
    pub title: String,
    /// Severity after `severity_when` and overrides.
    pub severity: Severity,
    /// The rendered one-line message.
    pub message: String,
    /// The rendered remediation.
    pub remediation: String,
    /// Documentation links of the rule.
    pub docs: Vec<String>,
    /// Rule tags.
    pub tags: Vec<String>,
    /// Where.
    pub location: Location,
    /// The source text behind it.
    pub snippet: String,
    /// Secondary places.
    pub related: Vec<Related>,
    /// Stable identity across runs (see [`fingerprint`]; a finding with several places is
    /// fingerprinted on its cause, see [`cause_fingerprint`]).
    pub fingerprint: String,
    /// Where the command behind it runs (`node`, `workload`, `ci-on-kubernetes`, `build-machine`,
    /// `unknown`), for findings about commands and containers; see [`crate::evidence::context`].
    pub context: Option<String>,
    /// Further places with the same cause (the same rule and message: one config copied into many
    /// image variants, several containers of one workload), after grouping by
    /// [`crate::rules::engine::group`]. `location` is the first of them.
    pub also_at: Vec<Location>,
    /// The fingerprints of each place of a grouped finding (its own first), so a baseline written
    /// before grouping still knows it. Not part of the JSON output.
    pub place_fingerprints: Vec<String>,
}

impl Finding {
    /// The location in one line, with how many more places share the cause (`a.sh:3 and 59 more`).
    pub fn places(&self) -> String {
        let here = self.location.describe();
        match self.also_at.len() {
            0 => here,
            n => format!("{here} and {n} more"),
        }
    }

    /// The key used for sorting and de-duplication.
    pub fn sort_key(&self) -> impl Ord + '_ {
        (
            std::cmp::Reverse(self.severity),
            self.location.node.clone(),
            self.location.path.clone(),
            self.location.line,
            self.location.object.clone(),
            self.rule_id.clone(),
            self.message.clone(),
        )
    }
}

/// A fingerprint that survives unrelated edits: it hashes the rule, the file or object, and the
/// whitespace-normalised evidence text, but not the line number, so lines inserted above a finding
/// leave it unchanged. `occurrence` separates identical evidence repeated in one file.
pub fn fingerprint(rule_id: &str, location: &Location, snippet: &str, occurrence: usize) -> String {
    let mut h = Sha256::new();
    h.update(rule_id.as_bytes());
    h.update([0]);
    if let Some(node) = &location.node {
        h.update(b"node:");
        h.update(node.as_bytes());
    }
    h.update([0]);
    if let Some(path) = &location.path {
        h.update(path.as_bytes());
    }
    h.update([0]);
    if let Some(o) = &location.object {
        h.update(o.to_string().as_bytes());
    }
    h.update([0]);
    let normalised: Vec<&str> = snippet.split_whitespace().collect();
    h.update(normalised.join(" ").as_bytes());
    h.update([0]);
    h.update(occurrence.to_le_bytes());
    let digest = h.finalize();
    digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// The fingerprint of a finding that stands for several places: the rule, the message and the
/// node or object it is about, not the files, so adding or removing a copy keeps it.
pub fn cause_fingerprint(rule_id: &str, message: &str, location: &Location) -> String {
    let mut h = Sha256::new();
    h.update(b"cause\0");
    h.update(rule_id.as_bytes());
    h.update([0]);
    let normalised: Vec<&str> = message.split_whitespace().collect();
    h.update(normalised.join(" ").as_bytes());
    h.update([0]);
    if let Some(node) = &location.node {
        h.update(node.as_bytes());
    }
    h.update([0]);
    if let Some(o) = &location.object {
        h.update(o.to_string().as_bytes());
    }
    let digest = h.finalize();
    digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
}
