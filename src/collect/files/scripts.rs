//! Shell scripts, cron tables, systemd units and kubelet environment files; CI job scripts.

use super::Source;
use crate::evidence::Evidence;

/// Shell, cron, systemd units, kubelet env files.
pub fn analyze(_src: &Source<'_>, _out: &mut Evidence) {}

/// GitLab CI and GitHub Actions workflows.
pub fn analyze_ci(_src: &Source<'_>, _out: &mut Evidence) {}
