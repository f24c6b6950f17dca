//! Finding a container's process through /proc instead of asking the
//! engine. Right after a `start` event the engine answers inspect only once
//! it has finished the start (it holds the container's lock while it saves
//! its state), which under a burst of starts was most of the time from
//! event to wired links. The kernel knows sooner: every process of a
//! container sits in a cgroup whose path carries the full container id
//! (`/docker/<id>`, `/system.slice/docker-<id>.scope`, and relative to a
//! private cgroup namespace `/../docker-<id>.scope`).
//!
//! This sees host processes only when conlink shares the host's PID
//! namespace (`pid: host`), which it needs anyway to open
//! `/proc/<pid>/ns/net`. Finding nothing is not an error: the caller falls
//! back to inspect.

use std::path::Path;

use super::container::ContainerId;

/// A process of container `id` under `proc_root` (normally `/proc`), newest
/// first: a container that just started holds some of the highest pids, so
/// the search usually ends after a few reads.
pub fn find(proc_root: &Path, id: &ContainerId) -> Option<u32> {
    // A short id could match inside another id; only full ids are trusted.
    if id.as_str().len() != 64 {
        return None;
    }
    let own = std::process::id();
    let mut pids: Vec<u32> = std::fs::read_dir(proc_root)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|pid| *pid != own)
        .collect();
    pids.sort_unstable_by(|a, b| b.cmp(a));
    pids.into_iter().find(|pid| {
        std::fs::read_to_string(proc_root.join(pid.to_string()).join("cgroup"))
            .is_ok_and(|text| in_container(&text, id))
    })
}

/// Whether `/proc/<pid>/cgroup` text puts the process in container `id`.
fn in_container(cgroup: &str, id: &ContainerId) -> bool {
    cgroup.lines().any(|line| {
        line.splitn(3, ':')
            .nth(2)
            .is_some_and(|path| path.contains(id.as_str()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4f1c9d2a7be34c8e9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f";

    fn fake_proc(entries: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (pid, cgroup) in entries {
            let p = dir.path().join(pid);
            std::fs::create_dir(&p).unwrap();
            std::fs::write(p.join("cgroup"), cgroup).unwrap();
        }
        dir
    }

    #[test]
    fn finds_the_process_whose_cgroup_names_the_container() {
        let other = ID.replace('4', "5");
        let proc = fake_proc(&[
            ("1", "0::/init.scope\n"),
            // cgroup v1 with the cgroupfs driver.
            (
                "310",
                &format!("12:pids:/docker/{ID}\n1:name=systemd:/docker/{ID}\n"),
            ),
            ("400", &format!("0::/../docker-{other}.scope\n")),
            ("self", "0::/\n"),
        ]);
        let id = ContainerId::new(ID);
        assert_eq!(find(proc.path(), &id), Some(310));
        assert_eq!(find(proc.path(), &ContainerId::new(other)), Some(400));
    }

    #[test]
    fn newest_pid_wins_and_private_namespaces_and_systemd_paths_match() {
        let proc = fake_proc(&[
            ("90", &format!("0::/system.slice/docker-{ID}.scope\n")),
            ("2000", &format!("0::/../docker-{ID}.scope\n")),
        ]);
        assert_eq!(find(proc.path(), &ContainerId::new(ID)), Some(2000));
    }

    #[test]
    fn short_ids_and_unknown_containers_find_nothing() {
        let proc = fake_proc(&[("10", &format!("0::/docker/{ID}\n"))]);
        assert_eq!(find(proc.path(), &ContainerId::new(&ID[..12])), None);
        assert_eq!(find(proc.path(), &ContainerId::new("e".repeat(64))), None);
        assert_eq!(find(Path::new("/nonexistent"), &ContainerId::new(ID)), None);
    }
}
