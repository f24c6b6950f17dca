//! `-f PATH`: wait for a path to exist by watching, with inotify, the nearest
//! ancestor directory that already exists. Each event re-evaluates from the
//! top, so `a/b/c` is seen when `a`, then `b`, then `c` appear, and a file
//! renamed into place (write-then-rename) counts like one created there.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::fcntl::{FcntlArg, FdFlag, fcntl};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};

use super::progress::Pacer;
use super::{WaitError, Waited};

/// Like `test -e`: symlinks are followed; anything we cannot see does not exist.
pub fn exists(path: &Path) -> bool {
    std::fs::metadata(path).is_ok()
}

/// The deepest existing directory above `path` (`.` for relative paths with
/// no existing parent).
pub fn nearest_existing_ancestor(path: &Path) -> PathBuf {
    let mut cur = path.parent();
    while let Some(dir) = cur {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if std::fs::metadata(dir).is_ok_and(|m| m.is_dir()) {
            return dir.to_path_buf();
        }
        cur = dir.parent();
    }
    PathBuf::from(if path.is_absolute() { "/" } else { "." })
}

/// Events on the watched directory that may bring `path` closer to existing.
fn watch_flags() -> AddWatchFlags {
    AddWatchFlags::IN_CREATE
        | AddWatchFlags::IN_MOVED_TO
        | AddWatchFlags::IN_ATTRIB
        | AddWatchFlags::IN_DELETE_SELF
        | AddWatchFlags::IN_MOVE_SELF
        | AddWatchFlags::IN_ONLYDIR
}

/// One inotify instance for the whole run, watching one directory at a time.
///
/// Closing an inotify fd that had watches waits for the kernel to retire
/// them (an SRCU grace period, 10–25 ms on this VM), which would sit between
/// the event and our reaction. So the fd is never closed while waiting:
/// watches are moved and removed instead, and [`FileWatcher::keep_across_exec`]
/// hands the idle fd to the command rather than closing it in exec.
#[derive(Default)]
pub struct FileWatcher {
    inotify: Option<Inotify>,
    watching: Option<(PathBuf, WatchDescriptor)>,
}

impl FileWatcher {
    /// Watch `dir` (and stop watching the previous directory).
    fn watch(&mut self, dir: &Path) -> nix::Result<()> {
        if self.watching.as_ref().is_some_and(|(d, _)| d == dir) {
            return Ok(());
        }
        self.unwatch();
        let inotify = match &self.inotify {
            Some(i) => i,
            None => self.inotify.insert(Inotify::init(
                InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC,
            )?),
        };
        let wd = inotify.add_watch(dir, watch_flags())?;
        self.watching = Some((dir.to_path_buf(), wd));
        Ok(())
    }

    /// Remove the current watch (cheap: the kernel retires it in the background).
    fn unwatch(&mut self) {
        if let (Some(inotify), Some((_, wd))) = (&self.inotify, self.watching.take()) {
            let _ = inotify.rm_watch(wd);
        }
    }

    /// Block until an event arrives or `timeout` passes; drain the events.
    fn wait(&self, timeout: Duration) {
        let Some(inotify) = &self.inotify else {
            std::thread::sleep(timeout);
            return;
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        let mut fds = [PollFd::new(inotify.as_fd(), PollFlags::POLLIN)];
        let timeout = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
        if let Ok(n) = poll(&mut fds, timeout) {
            if n > 0 {
                // Contents do not matter: every event means "look again".
                let _ = inotify.read_events();
            }
        }
    }

    /// Before exec: leave the (watch-less) inotify fd open in the command
    /// instead of letting exec close it and wait for the kernel.
    pub fn keep_across_exec(mut self) {
        self.unwatch();
        if let Some(inotify) = self.inotify.take() {
            let fd = OwnedFd::from(inotify);
            let _ = fcntl(&fd, FcntlArg::F_SETFD(FdFlag::empty()));
            std::mem::forget(fd);
        }
    }
}

/// Wait until `path` exists or the deadline passes.
pub fn wait_for_file(
    path: &Path,
    watcher: &mut FileWatcher,
    pacer: &mut Pacer,
) -> Result<Waited, WaitError> {
    loop {
        if exists(path) {
            watcher.unwatch();
            return Ok(Waited::Held(format!("file {} exists", path.display())));
        }
        if pacer.expired() {
            watcher.unwatch();
            return Ok(Waited::TimedOut);
        }
        let dir = nearest_existing_ancestor(path);
        match watcher.watch(&dir) {
            Ok(()) => {
                // Re-check after arming the watch: the path may have appeared
                // between the first check and the watch.
                if exists(path) {
                    continue;
                }
                // Rare cases inotify cannot report (a symlink's target
                // appearing elsewhere, an ancestor being a file) are caught by
                // also looking again every retry interval.
                watcher.wait(pacer.next_wake(Some(pacer.retry())));
            }
            Err(e) => {
                tracing::debug!("inotify on {}: {e}; polling instead", dir.display());
                std::thread::sleep(pacer.next_wake(Some(pacer.retry())));
            }
        }
        pacer.tick();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_ancestor_walks_up_to_an_existing_dir() {
        let d = tempfile::tempdir().unwrap();
        let deep = d.path().join("a/b/c");
        assert_eq!(nearest_existing_ancestor(&deep), d.path());
        std::fs::create_dir_all(d.path().join("a/b")).unwrap();
        assert_eq!(nearest_existing_ancestor(&deep), d.path().join("a/b"));
        assert_eq!(
            nearest_existing_ancestor(Path::new("nope/x")),
            Path::new(".")
        );
        assert_eq!(nearest_existing_ancestor(Path::new("x")), Path::new("."));
        assert_eq!(nearest_existing_ancestor(Path::new("/")), Path::new("/"));
    }

    #[test]
    fn a_file_in_the_way_is_not_an_ancestor_dir() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("f"), "").unwrap();
        assert_eq!(nearest_existing_ancestor(&d.path().join("f/x")), d.path());
    }
}
