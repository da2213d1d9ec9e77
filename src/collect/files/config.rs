//! Structured node and CI configuration: GitLab Runner and containerd TOML, Docker's daemon.json,
//! kernel modules and sysctl files.

use super::Source;
use crate::evidence::Evidence;

/// GitLab Runner `config.toml` or containerd `config.toml`.
pub fn analyze_toml(_src: &Source<'_>, _out: &mut Evidence) {}

/// `/etc/docker/daemon.json`.
pub fn analyze_daemon_json(_src: &Source<'_>, _out: &mut Evidence) {}

/// `/etc/modules-load.d/*.conf` and `/etc/sysctl.d/*.conf`.
pub fn analyze_node_settings(_src: &Source<'_>, _out: &mut Evidence) {}
