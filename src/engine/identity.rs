//! Which container conlink itself runs in, read from the kernel's view of
//! our own mounts (cgroups v2 hides the id from /proc/self/cgroup, but the
//! engine bind-mounts /etc/hostname etc. from the container's own directory).

use super::container::ContainerId;

/// Mount points the engines bind-mount from the container's directory
/// (`/var/lib/docker/containers/<id>/…`, Podman:
/// `…/overlay-containers/<id>/userdata/…`). Only these are trusted: other
/// mounts may come from anywhere (a volume could be another container's dir).
const ENGINE_MOUNTS: [&str; 3] = ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"];

/// The container id in `/proc/self/mountinfo` text, if we run in a container.
pub fn container_id_from_mountinfo(mountinfo: &str) -> Option<ContainerId> {
    mountinfo.lines().find_map(|line| {
        // Fields: id parent major:minor root mount-point options …
        let mut fields = line.split_ascii_whitespace();
        let root = fields.nth(3)?;
        let mount_point = fields.next()?;
        if !ENGINE_MOUNTS.contains(&mount_point) {
            return None;
        }
        id_after_containers_dir(root)
    })
}

/// `…/containers/<64 hex>/…` or `…/overlay-containers/<64 hex>/…`.
fn id_after_containers_dir(path: &str) -> Option<ContainerId> {
    let segments: Vec<&str> = path.split('/').collect();
    segments.windows(2).find_map(|pair| {
        (pair[0].ends_with("containers") && is_full_id(pair[1])).then(|| ContainerId::new(pair[1]))
    })
}

/// The container id in `/proc/self/cgroup` text (cgroups v1, or v2 when the
/// cgroup namespace is shared with the host): the last 64-hex word of a
/// path such as `/docker/<id>` or `/system.slice/docker-<id>.scope`.
pub fn container_id_from_cgroup(cgroup: &str) -> Option<ContainerId> {
    cgroup.lines().rev().find_map(|line| {
        let path = line.splitn(3, ':').nth(2)?;
        path.split(|c: char| !c.is_ascii_hexdigit())
            .rev()
            .find(|word| is_full_id(word))
            .map(ContainerId::new)
    })
}

fn is_full_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// conlink's own container id, or `None` when it does not run in one (or
/// the kernel files cannot be read).
pub fn own_container_id() -> Option<ContainerId> {
    let from_mounts = std::fs::read_to_string("/proc/self/mountinfo")
        .ok()
        .and_then(|text| container_id_from_mountinfo(&text));
    from_mounts.or_else(|| {
        std::fs::read_to_string("/proc/self/cgroup")
            .ok()
            .and_then(|text| container_id_from_cgroup(&text))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f4e8b1c2d5a6978a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718";

    fn docker_mountinfo() -> String {
        format!(
            "\
612 540 0:52 / / rw,relatime master:300 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/ABC
613 612 0:55 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
620 612 254:1 /var/lib/docker/volumes/data/_data /data rw,relatime - ext4 /dev/vda1 rw
621 612 254:1 /var/lib/docker/containers/{ID}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda1 rw
622 612 254:1 /var/lib/docker/containers/{ID}/hostname /etc/hostname rw,relatime - ext4 /dev/vda1 rw
623 612 254:1 /var/lib/docker/containers/{ID}/hosts /etc/hosts rw,relatime - ext4 /dev/vda1 rw
"
        )
    }

    #[test]
    fn docker_container_id_is_found_in_the_etc_bind_mounts() {
        assert_eq!(
            container_id_from_mountinfo(&docker_mountinfo()),
            Some(ContainerId::new(ID))
        );
    }

    #[test]
    fn podman_container_id_is_found_too() {
        let text = format!(
            "1 0 0:40 / / rw - overlay overlay rw\n\
             2 1 0:27 /containers/storage/overlay-containers/{ID}/userdata/hostname /etc/hostname rw,nosuid - tmpfs tmpfs rw\n"
        );
        assert_eq!(
            container_id_from_mountinfo(&text),
            Some(ContainerId::new(ID))
        );
    }

    #[test]
    fn other_mounts_of_container_dirs_do_not_count() {
        // On the host: the shm mount of some container (id in the mount
        // point, root is /), and a volume that happens to be a container dir.
        let text = format!(
            "30 25 0:60 / /var/lib/docker/containers/{ID}/mounts/shm rw - tmpfs shm rw\n\
             31 25 254:1 /var/lib/docker/containers/{ID} /data rw - ext4 /dev/vda1 rw\n\
             32 25 254:1 /etc/hostname /etc/hostname rw - ext4 /dev/vda1 rw\n"
        );
        assert_eq!(container_id_from_mountinfo(&text), None);
        assert_eq!(container_id_from_mountinfo(""), None);
        assert_eq!(container_id_from_mountinfo("garbage\n1 2\n"), None);
    }

    #[test]
    fn short_or_non_hex_ids_are_rejected() {
        let short = "/var/lib/docker/containers/3f4e8b1c/hostname /etc/hostname rw - ext4 x rw";
        assert_eq!(
            container_id_from_mountinfo(&format!("1 2 3:4 {short}")),
            None
        );
        let upper = ID.to_uppercase();
        let text = format!(
            "1 2 3:4 /var/lib/docker/containers/{upper}/hostname /etc/hostname rw - ext4 x rw"
        );
        assert_eq!(container_id_from_mountinfo(&text), None);
    }

    #[test]
    fn cgroup_v1_paths_give_the_id() {
        let v1 = format!("12:memory:/docker/{ID}\n11:cpu,cpuacct:/docker/{ID}\n");
        assert_eq!(container_id_from_cgroup(&v1), Some(ContainerId::new(ID)));
        let systemd = format!("0::/system.slice/docker-{ID}.scope\n");
        assert_eq!(
            container_id_from_cgroup(&systemd),
            Some(ContainerId::new(ID))
        );
        let podman = format!("0::/machine.slice/libpod-{ID}.scope/container\n");
        assert_eq!(
            container_id_from_cgroup(&podman),
            Some(ContainerId::new(ID))
        );
    }

    #[test]
    fn cgroup_v2_namespaced_or_host_paths_give_none() {
        assert_eq!(container_id_from_cgroup("0::/\n"), None);
        assert_eq!(
            container_id_from_cgroup("0::/user.slice/user-1000.slice/session-3.scope\n"),
            None
        );
        assert_eq!(container_id_from_cgroup("nonsense"), None);
    }
}
