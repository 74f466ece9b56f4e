//! Which cores this process may pin threads to.
//!
//! The disruptor crate asks `core_affinity::get_core_ids()`, which reads the *calling thread's*
//! mask: build a pipeline from a thread already pinned to core 0 and every other core looks
//! invalid (it panics). We read the cores the *process* may use instead (online CPUs, narrowed
//! by the cgroup's cpuset when there is one), and let the kernel have the last word: each
//! consumer thread pins itself and reports failure back to `build`.

use std::collections::BTreeSet;

/// The cores threads of this process may be pinned to.
pub(crate) fn allowed_cores() -> Vec<usize> {
    let online = std::fs::read_to_string("/sys/devices/system/cpu/online")
        .ok()
        .and_then(|s| parse_cpu_list(&s));
    let cpuset = cgroup_cpuset();
    let cores: Option<BTreeSet<usize>> = match (online, cpuset) {
        (Some(online), Some(cpuset)) => Some(online.intersection(&cpuset).copied().collect()),
        (Some(online), None) => Some(online),
        (None, Some(cpuset)) => Some(cpuset),
        (None, None) => None,
    };
    match cores {
        Some(cores) if !cores.is_empty() => cores.into_iter().collect(),
        _ => core_affinity::get_core_ids()
            .map(|ids| ids.into_iter().map(|c| c.id).collect())
            .unwrap_or_default(),
    }
}

/// The effective cpuset of this process's cgroup (cgroup v2), if readable.
fn cgroup_cpuset() -> Option<BTreeSet<usize>> {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = cgroup.lines().find_map(|l| l.strip_prefix("0::"))?;
    let file = format!(
        "/sys/fs/cgroup{}/cpuset.cpus.effective",
        path.trim_end_matches('/')
    );
    parse_cpu_list(&std::fs::read_to_string(file).ok()?)
}

/// Parses a kernel CPU list such as `0-3,6,8-9`.
pub(crate) fn parse_cpu_list(text: &str) -> Option<BTreeSet<usize>> {
    let mut cpus = BTreeSet::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                cpus.extend(a..=b);
            }
            None => {
                cpus.insert(part.trim().parse().ok()?);
            }
        }
    }
    Some(cpus)
}

/// Pins the calling thread to `core`; returns whether the kernel accepted it.
pub(crate) fn pin_current_thread(core: usize) -> bool {
    core_affinity::set_for_current(core_affinity::CoreId { id: core })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpu_lists() {
        assert_eq!(
            parse_cpu_list("0-3,6\n").unwrap().into_iter().collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 6]
        );
        assert_eq!(
            parse_cpu_list("1").unwrap().into_iter().collect::<Vec<_>>(),
            vec![1]
        );
        assert!(parse_cpu_list("x").is_none());
    }

    #[test]
    fn this_machine_has_cores() {
        assert!(!allowed_cores().is_empty());
    }
}
