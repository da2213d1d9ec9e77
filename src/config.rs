//! `.dockershim-audit.yaml`: project settings (target version, gate threshold, ignores with
//! reasons, severity overrides, extra rules). Strict: unknown keys are errors with the line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::finding::Severity;
use crate::parse::yaml_error;
use crate::rules::nearest;
use crate::suppress::ConfigIgnore;

/// The configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    /// Default `--target-version`.
    #[serde(default)]
    pub target_version: Option<String>,
    /// Default `--fail-on` (`error`, `warning`, `note`).
    #[serde(default)]
    pub fail_on: Option<Severity>,
    /// Ignores by rule and path/namespace/name, each with a reason and an optional expiry date.
    #[serde(default)]
    pub ignore: Vec<ConfigIgnore>,
    /// Severity overrides by rule id.
    #[serde(default)]
    pub severity: BTreeMap<String, Severity>,
    /// Extra rules directory, relative to the config file.
    #[serde(default)]
    pub rules: Option<PathBuf>,
    /// For a config file found in a scanned repository: that repository's directory, which its
    /// `rules:` directory and rule files must not leave (not a config key).
    #[serde(skip)]
    pub confine: Option<PathBuf>,
    /// The file it was read from and where it names rule ids, for [`Config::check_rule_ids`]
    /// (not a config key).
    #[serde(skip)]
    pub named: Option<NamedRules>,
}

/// Where a config file names rule ids: its path as given, and the line of each severity
/// override and of each ignore's `rule`.
#[derive(Debug, Default)]
pub struct NamedRules {
    path: String,
    severity: BTreeMap<String, usize>,
    ignore: Vec<usize>,
}

/// A second, lenient read of the config text that keeps only where rule ids stand.
#[derive(Deserialize)]
struct RuleIdSpans {
    #[serde(default)]
    severity: BTreeMap<String, serde_saphyr::Spanned<serde::de::IgnoredAny>>,
    #[serde(default)]
    ignore: Vec<IgnoreRuleSpan>,
}

#[derive(Deserialize)]
struct IgnoreRuleSpan {
    rule: serde_saphyr::Spanned<serde::de::IgnoredAny>,
}

/// Largest config file read.
const MAX_CONFIG: u64 = 1024 * 1024;

/// The file name looked for when `--config` is not given.
pub const FILE_NAME: &str = ".dockershim-audit.yaml";

impl Config {
    /// Reads and validates a config file the user named (`--config`): links are followed, but it
    /// must be a regular file (a FIFO is an error, not a hang) of at most 1 MiB.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let real = path.canonicalize().map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Config::parse(path, &real)
    }

    fn parse(path: &Path, real: &Path) -> anyhow::Result<Config> {
        let bytes =
            crate::bounded_read::regular(real, MAX_CONFIG).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let text = String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{}: not UTF-8 text", path.display()))?;
        let origin = path.display().to_string();
        let mut cfg: Config =
            serde_saphyr::from_str(&text).map_err(|e| anyhow::anyhow!(yaml_error::describe(&origin, &e)))?;
        if let Ok(spans) = serde_saphyr::from_str::<RuleIdSpans>(&text) {
            cfg.named = Some(NamedRules {
                path: origin,
                severity: spans.severity.into_iter().map(|(id, v)| (id, v.referenced.line() as usize)).collect(),
                ignore: spans.ignore.iter().map(|i| i.rule.referenced.line() as usize).collect(),
            });
        }
        for (i, ig) in cfg.ignore.iter().enumerate() {
            if ig.reason.trim().is_empty() {
                anyhow::bail!("{}: ignore[{i}] (rule {}) needs a `reason`", path.display(), ig.rule);
            }
            if let Some(e) = &ig.expires
                && !is_date(e)
            {
                anyhow::bail!("{}: ignore[{i}]: `expires: {e}` is not a YYYY-MM-DD date", path.display());
            }
        }
        if let Some(r) = &cfg.rules
            && r.is_relative()
        {
            cfg.rules = Some(path.parent().unwrap_or(Path::new(".")).join(r));
        }
        Ok(cfg)
    }

    /// Every rule id the file names (a severity override, an ignore's `rule`) must be one of
    /// `known` (`all` too, for an ignore): an unknown one is an error naming the file, the line,
    /// the id and the nearest known id, since an override or ignore that matches nothing would
    /// silently do nothing.
    pub fn check_rule_ids<'a>(&self, known: impl IntoIterator<Item = &'a str> + Clone) -> anyhow::Result<()> {
        let named = self.named.as_ref();
        let at = |line: Option<usize>| {
            let path = named.map_or("the config file", |n| n.path.as_str());
            match line.filter(|l| *l > 0) {
                Some(l) => format!("{path}:{l}"),
                None => path.to_string(),
            }
        };
        let is_known = |id: &str| known.clone().into_iter().any(|k| k == id);
        let mut problems = Vec::new();
        for id in self.severity.keys().filter(|id| !is_known(id)) {
            let line = named.and_then(|n| n.severity.get(id).copied());
            problems.push(format!(
                "{}: `severity` names unknown rule `{id}`{}",
                at(line),
                nearest::did_you_mean(id, known.clone())
            ));
        }
        for (i, ig) in self.ignore.iter().enumerate().filter(|(_, ig)| ig.rule != "all" && !is_known(&ig.rule)) {
            let line = named.and_then(|n| n.ignore.get(i).copied());
            problems.push(format!(
                "{}: ignore[{i}] names unknown rule `{}`{}",
                at(line),
                ig.rule,
                nearest::did_you_mean(&ig.rule, known.clone())
            ));
        }
        if problems.is_empty() {
            return Ok(());
        }
        let hint = "`dockershim-audit rules list` shows every rule id";
        match problems.as_slice() {
            [one] => anyhow::bail!("{one}\n  ({hint})"),
            many => {
                anyhow::bail!(
                    "{} unknown rule ids in the config file:\n  {}\n  ({hint})",
                    many.len(),
                    many.join("\n  ")
                )
            }
        }
    }

    /// A config file found by name in `dir` (a scanned repository or the current directory): read
    /// only when it is a regular file inside `dir` once links are resolved — one linked elsewhere
    /// is an error that never quotes what it points to — and its `rules:` directory must stay
    /// inside `dir` too.
    fn load_found(candidate: &Path, dir: &Path) -> anyhow::Result<Config> {
        let outside = || {
            anyhow::anyhow!(
                "{}: a link to a file outside {} (not read; give it with --config to use it)",
                candidate.display(),
                dir.display()
            )
        };
        let root = dir.canonicalize().map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
        let real = candidate.canonicalize().map_err(|e| anyhow::anyhow!("{}: {e}", candidate.display()))?;
        if !real.starts_with(&root) {
            return Err(outside());
        }
        let mut cfg = Config::parse(candidate, &real)?;
        if let Some(rules) = &cfg.rules {
            let inside = rules.canonicalize().map(|r| r.starts_with(&root)).unwrap_or(true);
            if !inside {
                anyhow::bail!(
                    "{}: `rules: {}` leads outside {} (not read; give such rules with --rules)",
                    candidate.display(),
                    rules.display(),
                    dir.display()
                );
            }
        }
        cfg.confine = Some(root);
        Ok(cfg)
    }

    /// `--config`, else `.dockershim-audit.yaml` in `near` (first scanned path) or the current directory.
    pub fn discover(explicit: Option<&Path>, near: Option<&Path>) -> anyhow::Result<Config> {
        if let Some(p) = explicit {
            return Config::load(p);
        }
        let mut candidates = Vec::new();
        if let Some(n) = near {
            let dir = if n.is_dir() {
                n.to_path_buf()
            } else {
                n.parent().filter(|p| !p.as_os_str().is_empty()).map(Path::to_path_buf).unwrap_or_else(|| ".".into())
            };
            candidates.push(dir);
        }
        candidates.push(PathBuf::from("."));
        for dir in candidates {
            let c = dir.join(FILE_NAME);
            if std::fs::symlink_metadata(&c).is_ok() {
                return Config::load_found(&c, &dir);
            }
        }
        Ok(Config::default())
    }
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && s.chars().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}
