//! The gate: the exit code contract. 0 nothing at or above `--fail-on`; 1 the gate tripped; 2 the
//! tool could not run; 3 the scan was incomplete and nothing else tripped.

use crate::finding::Severity;
use crate::report::Report;

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
