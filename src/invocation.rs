//! How the tool is invoked and documented outside a run: the name it answers to (its own, or
//! `kubectl dockershim-audit` when installed as the kubectl plugin `kubectl-dockershim_audit`),
//! shell completion scripts and the manual page. Only `lib.rs` calls it, before anything is
//! collected; it reads nothing but its own command-line definition.

use std::ffi::OsStr;
use std::io::{self, Write};
use std::path::Path;

use clap::{Command, CommandFactory};

use crate::cli::Cli;

/// The file name kubectl looks for on PATH to run `kubectl dockershim-audit` (a `-` in a plugin's
/// command name is written `_` in its file name).
pub const KUBECTL_PLUGIN_FILE: &str = "kubectl-dockershim_audit";

/// How usage lines and completions name the tool when it was started as `argv0`:
/// `kubectl dockershim-audit` for the kubectl plugin file (with or without `.exe`), else `None`
/// (clap's own name).
pub fn plugin_bin_name(argv0: &OsStr) -> Option<&'static str> {
    let file = Path::new(argv0).file_name()?.to_str()?;
    let stem = file.strip_suffix(".exe").unwrap_or(file);
    (stem == KUBECTL_PLUGIN_FILE).then_some("kubectl dockershim-audit")
}

/// The command definition, named as the user invoked it.
pub fn command(bin_name: Option<&str>) -> Command {
    let cmd = Cli::command();
    match bin_name {
        Some(name) => cmd.bin_name(name.to_string()),
        None => cmd,
    }
}

/// Writes the completion script for `shell`. Completions are for the standalone name: shells
/// complete `kubectl` plugins through kubectl's own completion.
pub fn write_completions(shell: clap_complete::Shell, out: &mut dyn Write) {
    let mut cmd = Cli::command();
    let name = cmd.get_name().to_string();
    clap_complete::generate(shell, &mut cmd, name, out);
}

/// Writes the manual page (section 1, roff).
pub fn write_man(out: &mut dyn Write) -> io::Result<()> {
    clap_mangen::Man::new(Cli::command()).render(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_to_the_kubectl_plugin_file_name() {
        assert_eq!(
            plugin_bin_name(OsStr::new("/usr/local/bin/kubectl-dockershim_audit")),
            Some("kubectl dockershim-audit")
        );
        assert_eq!(plugin_bin_name(OsStr::new("kubectl-dockershim_audit.exe")), Some("kubectl dockershim-audit"));
        assert_eq!(plugin_bin_name(OsStr::new("/usr/bin/dockershim-audit")), None);
        // A similarly named plugin is not this one.
        assert_eq!(plugin_bin_name(OsStr::new("kubectl-dockershim_audit_old")), None);
    }

    #[test]
    fn plugin_usage_names_kubectl() {
        let mut cmd = command(plugin_bin_name(OsStr::new("kubectl-dockershim_audit")));
        let usage = cmd.render_usage().to_string();
        assert!(usage.contains("kubectl dockershim-audit"), "{usage}");
    }
}
