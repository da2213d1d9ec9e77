//! The gate: the exit code contract. 0 nothing at or above `--fail-on`; 1 the gate tripped; 2 the
//! tool could not run; 3 the scan was incomplete and nothing else tripped; 130 interrupted. Every
//! exit code the tool returns is defined here, and so is the one error type a run ends with.

use crate::collect::cluster::collector::Interrupted;
use crate::config::Config;
use crate::finding::Severity;
use crate::report::Report;
use crate::rules::catalogue::CatalogueError;

/// Nothing at or above the threshold, and the scan saw everything.
pub const EXIT_OK: u8 = 0;
/// A finding at or above the threshold.
pub const EXIT_FINDINGS: u8 = 1;
/// Bad flags, bad rules or config, cluster unreachable.
pub const EXIT_USAGE: u8 = 2;
/// Something could not be read, and nothing else tripped: a scan that could not see must never look clean.
pub const EXIT_INCOMPLETE: u8 = 3;
/// The run was interrupted (Ctrl-C) and cleaned up after itself (128 + SIGINT).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Why a run could not finish: each cause carries its exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Ctrl-C, after the collector cleaned up (exit 130).
    #[error("{0}")]
    Interrupted(Interrupted),
    /// The rules (built-in or `--rules DIR`) or their data lists do not load (exit 2).
    #[error("{0}")]
    Rules(#[from] CatalogueError),
    /// Flags that cannot be used together, or a value the tool cannot use (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Anything else that stopped the run: config file, cluster unreachable, files unwritable (exit 2).
    #[error("{0:#}")]
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Self {
        match e.downcast::<Interrupted>() {
            Ok(i) => Error::Interrupted(i),
            Err(e) => Error::Other(e),
        }
    }
}

impl Error {
    /// The exit code of a run that ended with this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            // 128 + the signal, as a shell reports a process the signal ended.
            Error::Interrupted(i) => u8::try_from(128 + i.signal.clamp(1, 127)).unwrap_or(EXIT_INTERRUPTED),
            Error::Rules(_) | Error::Usage(_) | Error::Other(_) => EXIT_USAGE,
        }
    }
}

/// The gate's threshold, the same for every command: `--fail-on`, else the config file's
/// `failOn`, else `error`.
pub fn fail_on(flag: Option<Severity>, config: &Config) -> Severity {
    flag.or(config.fail_on).unwrap_or(Severity::Error)
}

/// The exit code for a finished report.
pub fn exit_code(report: &Report, fail_on: Severity) -> u8 {
    if report.findings.iter().any(|f| f.severity >= fail_on) {
        EXIT_FINDINGS
    } else if !report.complete() {
        EXIT_INCOMPLETE
    } else {
        EXIT_OK
    }
}

/// The exit code of a fleet audit from its clusters' own: 1 if any tripped the gate, else 3 if
/// any was incomplete or could not be audited, else 0. A cluster that could not be reached counts
/// as incomplete (pass [`EXIT_INCOMPLETE`] for it): a fleet with a blind spot never looks clean.
pub fn fleet_exit_code(clusters: &[u8]) -> u8 {
    if clusters.contains(&EXIT_FINDINGS) {
        EXIT_FINDINGS
    } else if clusters.iter().any(|c| *c != EXIT_OK) {
        EXIT_INCOMPLETE
    } else {
        EXIT_OK
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_fleet_exits_with_its_worst_cluster() {
        assert_eq!(fleet_exit_code(&[EXIT_OK, EXIT_INCOMPLETE, EXIT_FINDINGS]), EXIT_FINDINGS);
        assert_eq!(fleet_exit_code(&[EXIT_OK, EXIT_INCOMPLETE]), EXIT_INCOMPLETE);
        assert_eq!(fleet_exit_code(&[EXIT_OK, EXIT_OK]), EXIT_OK);
        assert_eq!(fleet_exit_code(&[]), EXIT_OK);
    }

    use super::*;

    #[test]
    fn every_error_has_its_exit_code() {
        let interrupted =
            Interrupted { signal: 2, deleted: 1, left_behind: Vec::new(), namespace: "ns".into(), run_id: "r".into() };
        assert_eq!(Error::from(anyhow::Error::new(interrupted)).exit_code(), EXIT_INTERRUPTED);
        assert_eq!(Error::from(anyhow::anyhow!("cluster unreachable")).exit_code(), EXIT_USAGE);
        assert_eq!(Error::Rules(CatalogueError(vec!["x".into()])).exit_code(), EXIT_USAGE);
        assert_eq!(Error::Usage("bad flags".into()).exit_code(), EXIT_USAGE);
    }

    #[test]
    fn fail_on_is_the_flag_then_the_config_then_error() {
        let warning = Config { fail_on: Some(Severity::Warning), ..Config::default() };
        assert_eq!(fail_on(None, &Config::default()), Severity::Error);
        assert_eq!(fail_on(None, &warning), Severity::Warning);
        assert_eq!(fail_on(Some(Severity::Note), &warning), Severity::Note);
    }
}
