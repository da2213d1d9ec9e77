//! `.dockershim-audit.yaml`: project settings (target version, gate threshold, ignores with
//! reasons, severity overrides, extra rules). Strict: unknown keys are errors with the line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::finding::Severity;
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
}

/// The file name looked for when `--config` is not given.
pub const FILE_NAME: &str = ".dockershim-audit.yaml";

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let mut cfg: Config = serde_saphyr::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), one_line(&e.to_string())))?;
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

    /// `--config`, else `.dockershim-audit.yaml` in `near` (first scanned path) or the current directory.
    pub fn discover(explicit: Option<&Path>, near: Option<&Path>) -> anyhow::Result<Config> {
        if let Some(p) = explicit {
            return Config::load(p);
        }
        let mut candidates = Vec::new();
        if let Some(n) = near {
            let dir = if n.is_file() { n.parent().map(Path::to_path_buf).unwrap_or_default() } else { n.to_path_buf() };
            candidates.push(dir.join(FILE_NAME));
        }
        candidates.push(PathBuf::from(FILE_NAME));
        for c in candidates {
            if c.is_file() {
                return Config::load(&c);
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

fn one_line(s: &str) -> String {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}
