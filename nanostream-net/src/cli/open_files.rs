//! Raising the open-file limit, so that as many clients as configured can connect (as Redis
//! does at start-up): each connection is a file descriptor, and many systems start processes
//! with a soft limit of 1,024.

/// Raises the soft `RLIMIT_NOFILE` towards `wanted` (never above the hard limit, never
/// lowering it); returns the soft limit in force afterwards.
// `rlim_t` is `u64` on Linux but not on every platform, hence the casts.
#[allow(clippy::unnecessary_cast)]
pub fn raise_open_file_limit(wanted: u64) -> std::io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable `rlimit` for the duration of the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let target = (wanted as libc::rlim_t).min(limit.rlim_max);
    if limit.rlim_cur < target {
        limit.rlim_cur = target;
        // SAFETY: `limit` is a valid `rlimit` read from the kernel, its soft limit raised to at
        // most its hard limit.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(limit.rlim_cur as u64)
}
