//! The `dockershim-audit` binary: a thin wrapper over [`dockershim_audit::main_with_args`].

fn main() -> std::process::ExitCode {
    dockershim_audit::main_with_args(std::env::args_os())
}
