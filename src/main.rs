//! The `faultline` binary: the CLI over the built-in protocols.
//!
//! Besides handing over to [`faultline::cli::main`], it sets one process
//! policy the library leaves to its user: how the allocator treats memory
//! that runs free ([`keep_freed_memory`]).

fn main() {
    keep_freed_memory();
    std::process::exit(faultline::cli::main());
}

/// Asks glibc's allocator to keep the memory a run frees for the next run
/// in the process, instead of handing it back to the kernel.
///
/// A sweep runs seed after seed in one process (and `bench` runs its
/// repeats so), and each run builds its logs, disks, tables and buffers
/// and drops them at its end. By default glibc serves large blocks with
/// their own mappings (above a threshold that adapts up to 32 MiB) and
/// unmaps them when freed, and trims the top of its heap, so the next run
/// takes a page fault (on this project's machine about 1.5 µs, a tenth of
/// a 20 s Raft seed's run time) for every 4 KiB it touches again. Kept,
/// that memory is reused warm. The peak a process uses is unchanged; it
/// just does not shrink between runs. Only the allocator's policy changes:
/// what a run computes does not depend on where its memory lies.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // Blocks up to 32 MiB (glibc's largest threshold) come from the heap,
    // whose free memory is kept however much of it there is. A refusal
    // (zero) just leaves glibc's defaults, so the results are not checked.
    // SAFETY: `mallopt` only sets the allocator's parameters; glibc takes
    // its own locks, and no allocation in flight depends on them.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX);
    }
}

/// Other platforms keep their allocator's defaults.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}
