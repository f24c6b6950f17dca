//! Following `netns:` targets as they come and go. `ip netns add NAME`
//! creates `/run/netns/NAME` and then bind-mounts a namespace onto it;
//! `ip netns del` unmounts and unlinks it. inotify on the directory tells
//! us of both; the mount itself raises no inotify event, so after a create
//! the file is looked at again for a few seconds until it is a namespace.
//!
//! Each change goes to [`Daemon::netns_changed`], which compares the
//! namespace wired (device and inode of its file) with the one there now:
//! a deleted namespace is forgotten (its fd released, so the kernel can
//! free it), a new or re-created one is wired.

use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use super::Daemon;
use crate::net::NsTarget;
use crate::net::netns::NsId;

/// Where iproute2 keeps named namespaces.
pub const NETNS_DIR: &str = "/run/netns";
const PARENT_DIR: &str = "/run";
/// statfs type of a namespace file (`NSFS_MAGIC`).
const NSFS_MAGIC: i64 = 0x6e73_6673;
/// How long a created file may take to become a namespace (the bind mount
/// follows the create at once; a loaded host may take a while).
const MOUNT_GRACE: Duration = Duration::from_secs(5);
const MOUNT_CHECK_EVERY: Duration = Duration::from_millis(20);

/// Why a namespace is being looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    AtStart,
    Later,
}

/// Whether `/run/netns/NAME` exists (a namespace or not yet).
pub fn exists(name: &str) -> bool {
    Path::new(NETNS_DIR).join(name).exists()
}

/// The namespace `/run/netns/NAME` holds now, if it holds one.
pub fn identity(name: &str) -> Option<NsId> {
    let path = Path::new(NETNS_DIR).join(name);
    let fs = nix::sys::statfs::statfs(&path).ok()?;
    if fs.filesystem_type().0 as i64 != NSFS_MAGIC {
        // Created but not mounted yet (or not a namespace at all).
        return None;
    }
    crate::net::netns::ns_id(&NsTarget::Name(name.to_owned())).ok()
}

struct Fd(Inotify);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// The inotify instance and which directory it watches.
pub struct Watcher {
    fd: AsyncFd<Fd>,
    /// `Some` while /run/netns exists and is watched; else /run is, for
    /// /run/netns to appear.
    netns: Option<WatchDescriptor>,
}

fn netns_flags() -> AddWatchFlags {
    AddWatchFlags::IN_CREATE
        | AddWatchFlags::IN_DELETE
        | AddWatchFlags::IN_MOVED_TO
        | AddWatchFlags::IN_MOVED_FROM
        | AddWatchFlags::IN_DELETE_SELF
        | AddWatchFlags::IN_MOVE_SELF
        | AddWatchFlags::IN_ONLYDIR
}

impl Watcher {
    /// Must run inside a tokio runtime.
    pub fn new() -> std::io::Result<Watcher> {
        let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?;
        // SAFETY: the Inotify is owned by the AsyncFd for its whole life,
        // so its fd stays open and the same.
        let fd = unsafe { AsyncFd::register_with_interest(Fd(inotify), Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        let mut w = Watcher { fd, netns: None };
        w.rewatch()?;
        Ok(w)
    }

    /// Watch /run/netns if it exists, else /run for it to appear.
    fn rewatch(&mut self) -> std::io::Result<()> {
        let inotify = &self.fd.get_ref().0;
        match inotify.add_watch(NETNS_DIR, netns_flags()) {
            Ok(wd) => {
                self.netns = Some(wd);
                Ok(())
            }
            Err(nix::errno::Errno::ENOENT) => {
                self.netns = None;
                inotify.add_watch(
                    PARENT_DIR,
                    AddWatchFlags::IN_CREATE
                        | AddWatchFlags::IN_MOVED_TO
                        | AddWatchFlags::IN_ONLYDIR,
                )?;
                // It may have appeared between the two calls.
                if Path::new(NETNS_DIR).is_dir() {
                    return self.rewatch();
                }
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The next batch of names that changed; `None` for "look at all"
    /// (the directory itself came or went).
    async fn next(&mut self) -> std::io::Result<Option<Vec<String>>> {
        loop {
            let mut ready = self.fd.readable().await?;
            let events = match ready.get_inner().0.read_events() {
                Ok(ev) => ev,
                Err(nix::errno::Errno::EAGAIN) => {
                    ready.clear_ready();
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            drop(ready);
            let mut names = Vec::new();
            let mut all = false;
            for ev in events {
                let in_netns = Some(ev.wd) == self.netns;
                if ev.mask.intersects(
                    AddWatchFlags::IN_DELETE_SELF
                        | AddWatchFlags::IN_MOVE_SELF
                        | AddWatchFlags::IN_IGNORED,
                ) && in_netns
                {
                    all = true;
                    self.netns = None;
                    continue;
                }
                let Some(name) = ev.name.and_then(|n| n.into_string().ok()) else {
                    continue;
                };
                if in_netns {
                    names.push(name);
                } else if name == "netns" {
                    all = true;
                }
            }
            if all {
                self.rewatch()?;
                return Ok(None);
            }
            if !names.is_empty() {
                return Ok(Some(names));
            }
        }
    }
}

/// Follow /run/netns until the task is aborted.
pub async fn follow(daemon: Arc<Daemon>, mut watcher: Watcher) {
    let ours: std::collections::HashSet<String> =
        daemon.network.netns_names().map(str::to_owned).collect();
    loop {
        let changed = match watcher.next().await {
            Ok(Some(names)) => names,
            Ok(None) => ours.iter().cloned().collect(),
            Err(e) => {
                tracing::error!(
                    "watching {NETNS_DIR}: {e}; namespaces that come and go are no longer followed"
                );
                return;
            }
        };
        for name in changed {
            if !ours.contains(&name) {
                continue;
            }
            tracing::debug!("{NETNS_DIR}/{name} changed");
            daemon.metrics.event_processed();
            let daemon = daemon.clone();
            tokio::spawn(async move { settle(&daemon, &name).await });
        }
    }
}

/// React to a change of `name`; a file that exists but is not a namespace
/// yet is looked at again until its mount shows up. Each look acts on what
/// it saw, so a mount that lands between two looks is never missed.
pub(super) async fn settle(daemon: &Arc<Daemon>, name: &str) {
    let waited = std::time::Instant::now();
    loop {
        if daemon.netns_changed(name, Seen::Later).await {
            return;
        }
        // Gone again: its next create is another event.
        if !exists(name) {
            return;
        }
        if waited.elapsed() > MOUNT_GRACE {
            tracing::warn!(
                "{NETNS_DIR}/{name} exists but is not a network namespace after {MOUNT_GRACE:?}"
            );
            return;
        }
        tokio::time::sleep(MOUNT_CHECK_EVERY).await;
    }
}
