//! Suppression: applies inline `dockershim-audit: ignore RULE -- reason` comments (found by the
//! collectors, see [`crate::evidence::inline_ignore`]) and ignores from the config file (by rule,
//! path, namespace, name; reason required; optional expiry), and reports ignores that matched
//! nothing. Applied once, after the engine, before the renderers.

use serde::{Deserialize, Serialize};

use crate::evidence::inline_ignore::InlineIgnore;
use crate::finding::Finding;

/// An ignore from the config file's `ignore:` list.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigIgnore {
    /// Rule id, or `all`.
    pub rule: String,
    /// Glob on the file path (`charts/legacy/**`).
    #[serde(default)]
    pub path: Option<String>,
    /// Namespace of a cluster object.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Name of a cluster object or node (glob).
    #[serde(default)]
    pub name: Option<String>,
    /// Why this is accepted (required).
    pub reason: String,
    /// Date (`YYYY-MM-DD`) after which the ignore no longer applies.
    #[serde(default)]
    pub expires: Option<String>,
}

/// A finding that an ignore removed, with the ignore that did it.
#[derive(Debug, Clone)]
pub struct Suppressed {
    /// The finding.
    pub finding: Finding,
    /// Where the ignore is (`path:line` or `config: rule`).
    pub by: String,
    /// Its reason.
    pub reason: String,
}

/// An ignore that matched nothing, or is malformed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IgnoreProblem {
    /// Where the ignore is.
    pub at: String,
    /// What is wrong (`unused`, `no reason`, `expired`).
    pub problem: String,
}

/// Result of applying ignores.
#[derive(Debug, Default)]
pub struct Applied {
    /// Findings still reported.
    pub findings: Vec<Finding>,
    /// Findings removed by an ignore.
    pub suppressed: Vec<Suppressed>,
    /// Unused, expired or malformed ignores.
    pub problems: Vec<IgnoreProblem>,
}

fn glob_match(pattern: &str, text: &str) -> bool {
    globset::Glob::new(pattern).map(|g| g.compile_matcher().is_match(text)).unwrap_or(pattern == text)
}

/// Applies inline and config ignores. `today` is `YYYY-MM-DD` (for expiry).
pub fn apply(findings: Vec<Finding>, inline: &[InlineIgnore], config: &[ConfigIgnore], today: &str) -> Applied {
    let mut applied = Applied::default();
    let mut inline_used = vec![false; inline.len()];
    let mut config_used = vec![false; config.len()];
    for (i, ig) in inline.iter().enumerate() {
        if ig.reason.is_empty() {
            applied.problems.push(IgnoreProblem {
                at: format!("{}:{}", ig.path, ig.line),
                problem: "inline ignore without a reason (`-- why`): not applied".into(),
            });
            inline_used[i] = true;
        }
        if ig.rules.is_empty() {
            applied.problems.push(IgnoreProblem {
                at: format!("{}:{}", ig.path, ig.line),
                problem: "inline ignore names no rule: not applied".into(),
            });
            inline_used[i] = true;
        }
    }
    let config_active: Vec<bool> =
        config.iter().map(|c| !c.reason.trim().is_empty() && c.expires.as_deref().is_none_or(|e| e >= today)).collect();
    for (i, c) in config.iter().enumerate() {
        if let Some(e) = c.expires.as_deref().filter(|e| *e < today) {
            applied.problems.push(IgnoreProblem {
                at: format!("config ignore {}", describe(c)),
                problem: format!("expired on {e}: no longer applied"),
            });
            config_used[i] = true;
        }
    }
    'findings: for f in findings {
        for (i, ig) in inline.iter().enumerate() {
            if ig.reason.is_empty() || ig.rules.is_empty() {
                continue;
            }
            let same_place =
                f.location.path.as_deref() == Some(ig.path.as_str()) && f.location.line == Some(ig.target_line);
            if same_place && ig.rules.iter().any(|r| r == &f.rule_id || r == "all") {
                inline_used[i] = true;
                applied.suppressed.push(Suppressed {
                    by: format!("{}:{}", ig.path, ig.line),
                    reason: ig.reason.clone(),
                    finding: f,
                });
                continue 'findings;
            }
        }
        for (i, c) in config.iter().enumerate() {
            if !config_active[i] || (c.rule != f.rule_id && c.rule != "all") {
                continue;
            }
            if let Some(p) = &c.path
                && !f.location.path.as_deref().is_some_and(|fp| glob_match(p, fp))
            {
                continue;
            }
            if let Some(ns) = &c.namespace
                && f.location.object.as_ref().map(|o| o.namespace.as_str()) != Some(ns.as_str())
            {
                continue;
            }
            if let Some(n) = &c.name {
                let name = f.location.object.as_ref().map(|o| o.name.as_str()).or(f.location.node.as_deref());
                if !name.is_some_and(|name| glob_match(n, name)) {
                    continue;
                }
            }
            config_used[i] = true;
            applied.suppressed.push(Suppressed {
                by: format!("config ignore {}", describe(c)),
                reason: c.reason.clone(),
                finding: f,
            });
            continue 'findings;
        }
        applied.findings.push(f);
    }
    for (i, ig) in inline.iter().enumerate() {
        if !inline_used[i] {
            applied.problems.push(IgnoreProblem {
                at: format!("{}:{}", ig.path, ig.line),
                problem: format!("unused ignore of {}", ig.rules.join(", ")),
            });
        }
    }
    for (i, c) in config.iter().enumerate() {
        if !config_used[i] {
            applied.problems.push(IgnoreProblem {
                at: format!("config ignore {}", describe(c)),
                problem: "unused ignore: matched no finding".into(),
            });
        }
    }
    applied
}

fn describe(c: &ConfigIgnore) -> String {
    let mut s = format!("rule={}", c.rule);
    for (k, v) in [("path", &c.path), ("namespace", &c.namespace), ("name", &c.name)] {
        if let Some(v) = v {
            s.push_str(&format!(" {k}={v}"));
        }
    }
    s
}
