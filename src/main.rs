//! The `dockershim-audit` binary: a thin wrapper over [`dockershim_audit::main_with_args`].

/// mimalloc instead of the system allocator: a scan allocates and frees millions of small strings and
/// JSON values across threads, where glibc malloc spent a fifth of the run (bench/RESULTS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    no_transparent_huge_pages();
    dockershim_audit::process_ends_with_exit();
    let status = dockershim_audit::exit_status(std::env::args_os());
    exit_now(status)
}

/// Ends the process as soon as the run is done. By then everything the run writes is written and
/// closed (reports renamed into place, collector pods deleted, the terminal restored); what is
/// left is freeing the audit's memory object by object (a one-cluster audit leaves its snapshot
/// unfreed, see `process_ends_with_exit`) and the allocator's clean-up at exit, ≈ 18 ms of a
/// 15k-pod audit's 330 ms that the kernel does at once when the process ends (issue 16). Standard output is
/// flushed first; as at a normal exit, a failed flush does not change the status.
#[cfg(unix)]
fn exit_now(status: u8) -> std::process::ExitCode {
    use std::io::Write as _;
    let _ = std::io::stdout().lock().flush();
    let _ = std::io::stderr().lock().flush();
    // SAFETY: `_exit` ends the process without running atexit handlers or destructors. Every
    // output of the run was written and closed before `exit_status` returned, and standard
    // output and error are flushed above; no other thread writes anything the run needs.
    unsafe { libc::_exit(i32::from(status)) }
}

#[cfg(not(unix))]
fn exit_now(status: u8) -> std::process::ExitCode {
    std::process::ExitCode::from(status)
}

/// Turns transparent huge pages off for this process (Linux). mimalloc asks for them on its arenas
/// (`MADV_HUGEPAGE`), so with THP at `madvise` (Debian's and Ubuntu's default) or `always`, every
/// first touch of a 2 MiB region faults in and zeroes a whole huge page: a cluster audit at 15k pods
/// spent a third of its CPU in the kernel's `clear_page_erms`, ≈ 0.4 s of system time for 0.7 s of
/// user time, and peaked 35 MB higher (bench/RESULTS.md, issue 16). A short-lived process gains
/// nothing from huge pages' fewer TLB misses. This is what `MIMALLOC_ALLOW_THP=0` does at mimalloc's
/// start-up; the allocator is already running before `main`, so the flag is set here (it applies to
/// every later page fault of the process). Failure (an old kernel) changes nothing but speed.
#[cfg(target_os = "linux")]
fn no_transparent_huge_pages() {
    // SAFETY: prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) reads no memory of ours and only sets a flag
    // on this process; its result is ignored on purpose.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[cfg(not(target_os = "linux"))]
fn no_transparent_huge_pages() {}
