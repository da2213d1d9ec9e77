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
    /// For a config file found in a scanned repository: that repository's directory, which its
    /// `rules:` directory and rule files must not leave (not a config key).
    #[serde(skip)]
    pub confine: Option<PathBuf>,
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

fn one_line(s: &str) -> String {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}
