//! The `dockershim-audit` binary: a thin wrapper over [`dockershim_audit::main_with_args`].

/// mimalloc instead of the system allocator: a scan allocates and frees millions of small strings and
/// JSON values across threads, where glibc malloc spent a fifth of the run (bench/RESULTS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    dockershim_audit::main_with_args(std::env::args_os())
}
