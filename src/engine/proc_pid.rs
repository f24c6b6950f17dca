//! Finding a container's process through /proc instead of asking the
//! engine. Right after a `start` event the engine answers inspect only once
//! it has finished the start (it holds the container's lock while it saves
//! its state), which under a burst of starts was most of the time from
//! event to wired links. The kernel knows sooner: every process of a
//! container sits in a cgroup whose path carries the full container id
//! (`/docker/<id>`, `/system.slice/docker-<id>.scope`, and relative to a
//! private cgroup namespace `/../docker-<id>.scope`).
//!
//! Any process of that cgroup is not good enough: a container whose main
//! process keeps spawning short-lived children has pids that are gone by
//! the time the daemon opens `/proc/<pid>/ns/net`. The one to take is what
//! inspect reports as `State.Pid`, the container's init, and the kernel
//! names it too: it is pid 1 of a pid namespace that is a direct child of
//! the one /proc shows (`NSpid: <pid> 1` in `/proc/<pid>/status`), and its
//! parent (the engine's shim) is outside the container. The parent check
//! keeps out a pid namespace that a `pid: host` container makes for itself
//! (`unshare -pf …`), whose pid 1 has its parent inside the container.
//!
//! This sees host processes only when conlink shares the host's PID
//! namespace (`pid: host`), which it needs anyway to open
//! `/proc/<pid>/ns/net`. Finding nothing is not an error: the caller falls
//! back to inspect. That is the case for containers without a pid namespace
//! of their own (`pid: host`, `pid: container:…`), and whenever a read
//! leaves doubt (a process that vanished between two reads).

use std::path::Path;

use super::container::ContainerId;

/// The init process of container `id` under `proc_root` (normally
/// `/proc`): the pid inspect would report as `State.Pid`, or `None` when
/// /proc does not show it beyond doubt. Pids are tried newest first: a
/// container that just started holds some of the highest pids, so the
/// search usually ends after a few reads. Processes that exit during the
/// scan (reads failing with ENOENT or ESRCH) are skipped.
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
    pids.into_iter()
        .find(|&pid| in_container(proc_root, pid, id) && is_init(proc_root, pid, id))
}

/// Whether process `pid` (still there) is in container `id`'s cgroup.
fn in_container(proc_root: &Path, pid: u32, id: &ContainerId) -> bool {
    std::fs::read_to_string(proc_root.join(pid.to_string()).join("cgroup"))
        .is_ok_and(|text| cgroup_names(&text, id))
}

/// Whether `/proc/<pid>/cgroup` text puts the process in container `id`:
/// cgroup v1 has a line per hierarchy, v2 a single `0::` line.
fn cgroup_names(cgroup: &str, id: &ContainerId) -> bool {
    cgroup.lines().any(|line| {
        line.splitn(3, ':')
            .nth(2)
            .is_some_and(|path| path.contains(id.as_str()))
    })
}

/// Whether `pid`, already known to be in container `id`, is the
/// container's init: pid 1 one pid namespace down, with its parent outside
/// the container.
fn is_init(proc_root: &Path, pid: u32, id: &ContainerId) -> bool {
    let Ok(status) = std::fs::read_to_string(proc_root.join(pid.to_string()).join("status")) else {
        return false;
    };
    let Some((nspid, ppid)) = parse_status(&status) else {
        return false;
    };
    // One field: the container shares our pid namespace (`pid: host`).
    // Three or more: a namespace nested inside the container's.
    if nspid != [pid, 1] {
        return false;
    }
    // A parent /proc does not show (0) cannot be a process of the
    // container; a parent that vanished since leaves doubt: not taken.
    ppid == 0
        || std::fs::read_to_string(proc_root.join(ppid.to_string()).join("cgroup"))
            .is_ok_and(|text| !cgroup_names(&text, id))
}

/// The `NSpid` fields and `PPid` of a `/proc/<pid>/status` text, or `None`
/// if either is missing (kernels before 4.1 have no `NSpid`).
fn parse_status(status: &str) -> Option<(Vec<u32>, u32)> {
    let mut nspid = None;
    let mut ppid = None;
    for line in status.lines() {
        if let Some(rest) = line.strip_prefix("NSpid:") {
            nspid = rest
                .split_whitespace()
                .map(|f| f.parse().ok())
                .collect::<Option<Vec<u32>>>();
        } else if let Some(rest) = line.strip_prefix("PPid:") {
            ppid = rest.trim().parse().ok();
        }
    }
    Some((nspid?, ppid?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4f1c9d2a7be34c8e9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f";

    /// A process as /proc shows it: pid, cgroup text, `NSpid` fields and
    /// `PPid`. `None` for a file leaves it out, as if the process exited
    /// between listing /proc and reading that file.
    struct Proc<'a> {
        pid: &'a str,
        cgroup: Option<String>,
        status: Option<(&'a str, u32)>,
    }

    fn p<'a>(pid: &'a str, cgroup: &str, nspid: &'a str, ppid: u32) -> Proc<'a> {
        Proc {
            pid,
            cgroup: Some(cgroup.to_owned()),
            status: Some((nspid, ppid)),
        }
    }

    fn fake_proc(procs: &[Proc]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for proc in procs {
            let d = dir.path().join(proc.pid);
            std::fs::create_dir(&d).unwrap();
            if let Some(cgroup) = &proc.cgroup {
                std::fs::write(d.join("cgroup"), cgroup).unwrap();
            }
            if let Some((nspid, ppid)) = proc.status {
                // The shape of the real file, fields tab-separated.
                let nspid = nspid.split(' ').collect::<Vec<_>>().join("\t");
                let text = format!(
                    "Name:\tsh\nState:\tS (sleeping)\nTgid:\t{0}\nNgid:\t0\nPid:\t{0}\n\
                     PPid:\t{ppid}\nTracerPid:\t0\nNStgid:\t{nspid}\nNSpid:\t{nspid}\n\
                     NSpgid:\t{nspid}\nNSsid:\t{nspid}\n",
                    proc.pid
                );
                std::fs::write(d.join("status"), text).unwrap();
            }
        }
        dir
    }

    fn v1(id: &str) -> String {
        format!("12:pids:/docker/{id}\n4:memory:/docker/{id}\n1:name=systemd:/docker/{id}\n0::/\n")
    }

    fn find_id(proc: &tempfile::TempDir, id: &str) -> Option<u32> {
        find(proc.path(), &ContainerId::new(id))
    }

    #[test]
    fn init_is_found_below_its_children_with_higher_pids() {
        let shim = p("300", "0::/system.slice/containerd.service\n", "300", 1);
        let proc = fake_proc(&[
            p("1", "0::/init.scope\n", "1", 0),
            shim,
            p("310", &v1(ID), "310 1", 300),
            p("320", &v1(ID), "320 7", 310),
            p("333", &v1(ID), "333 9", 310),
            // Another process of the host, newer than all of them.
            p("400", "0::/user.slice\n", "400", 1),
        ]);
        assert_eq!(find_id(&proc, ID), Some(310));
    }

    #[test]
    fn children_that_exit_mid_scan_are_skipped() {
        let gone_before_cgroup = Proc {
            pid: "350",
            cgroup: None,
            status: None,
        };
        let gone_before_status = Proc {
            pid: "340",
            cgroup: Some(v1(ID)),
            status: None,
        };
        let proc = fake_proc(&[
            p("300", "0::/system.slice/containerd.service\n", "300", 1),
            p("310", &v1(ID), "310 1", 300),
            gone_before_status,
            gone_before_cgroup,
        ]);
        assert_eq!(find_id(&proc, ID), Some(310));
    }

    #[test]
    fn a_container_in_the_hosts_pid_namespace_is_left_to_inspect() {
        let proc = fake_proc(&[
            p("300", "0::/system.slice/containerd.service\n", "300", 1),
            p("310", &v1(ID), "310", 300),
            p("320", &v1(ID), "320", 310),
        ]);
        assert_eq!(find_id(&proc, ID), None);
    }

    #[test]
    fn a_pid_namespace_made_inside_a_pid_host_container_is_not_its_init() {
        // `unshare -pf` in a `pid: host` container: pid 1 of a child
        // namespace, but its parent is a process of the container.
        let proc = fake_proc(&[
            p("300", "0::/system.slice/containerd.service\n", "300", 1),
            p("310", &v1(ID), "310", 300),
            p("320", &v1(ID), "320 1", 310),
        ]);
        assert_eq!(find_id(&proc, ID), None);
    }

    #[test]
    fn a_shared_pid_namespace_or_a_nested_one_gives_nothing() {
        // `pid: container:…`: this container's processes are not pid 1, and
        // pid 1 of a namespace nested in it is two levels down.
        let other = ID.replace('4', "5");
        let proc = fake_proc(&[
            p("300", "0::/system.slice/containerd.service\n", "300", 1),
            p("310", &v1(&other), "310 1", 300),
            p("320", &v1(ID), "320 5", 300),
            p("330", &v1(ID), "330 6 1", 320),
        ]);
        assert_eq!(find_id(&proc, ID), None);
        assert_eq!(find_id(&proc, &other), Some(310));
    }

    #[test]
    fn a_parent_that_vanished_leaves_doubt() {
        let proc = fake_proc(&[p("310", &v1(ID), "310 1", 300)]);
        assert_eq!(find_id(&proc, ID), None);
        // A parent in another pid namespace shows as 0: outside.
        let proc = fake_proc(&[p("310", &v1(ID), "310 1", 0)]);
        assert_eq!(find_id(&proc, ID), Some(310));
    }

    #[test]
    fn cgroup_v1_and_v2_paths_and_private_cgroup_namespaces_match() {
        let other = ID.replace('4', "5");
        let third = ID.replace('4', "6");
        let proc = fake_proc(&[
            p("1", "0::/init.scope\n", "1", 0),
            p("300", "0::/system.slice/containerd.service\n", "300", 1),
            // cgroup v1 with the cgroupfs driver.
            p("310", &v1(ID), "310 1", 300),
            // cgroup v2 with the systemd driver.
            p(
                "320",
                &format!("0::/system.slice/docker-{other}.scope\n"),
                "320 1",
                300,
            ),
            // cgroup v2 seen from a private cgroup namespace.
            p(
                "330",
                &format!("0::/../docker-{third}.scope\n"),
                "330 1",
                300,
            ),
        ]);
        assert_eq!(find_id(&proc, ID), Some(310));
        assert_eq!(find_id(&proc, &other), Some(320));
        assert_eq!(find_id(&proc, &third), Some(330));
    }

    #[test]
    fn short_ids_unknown_containers_and_odd_files_find_nothing() {
        let proc = fake_proc(&[
            p("300", "0::/system.slice/containerd.service\n", "300", 1),
            p("310", &format!("0::/docker/{ID}\n"), "310 1", 300),
        ]);
        assert_eq!(find_id(&proc, &ID[..12]), None);
        assert_eq!(find_id(&proc, &"e".repeat(64)), None);
        assert_eq!(find(Path::new("/nonexistent"), &ContainerId::new(ID)), None);
        // A status without NSpid (kernel before 4.1), or with junk in it.
        assert_eq!(parse_status("PPid:\t1\n"), None);
        assert_eq!(parse_status("PPid:\t1\nNSpid:\t5\tx\n"), None);
        assert_eq!(
            parse_status("PPid:\t1\nNSpid:\t5\t1\n"),
            Some((vec![5, 1], 1))
        );
    }
}
