//! The control socket's file: made 0600 from the start, its directory made
//! 0700 when missing, a stale file from a killed run replaced, a live one
//! (another conlink answering) refused, and removed again on exit.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use nix::sys::socket::{self, AddressFamily, Backlog, SockFlag, SockType, UnixAddr};

/// The socket's path while this value lives; dropping it removes the file
/// (only if it is still the one we made: a successor may have replaced it).
#[derive(Debug)]
pub struct SocketFile {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl SocketFile {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let ours = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|m| m.dev() == self.dev && m.ino() == self.ino);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Make the listening socket at `path` (see the module doc). The listener
/// is a non-blocking std one, so this can run before any async runtime.
pub fn bind(path: &Path) -> io::Result<(UnixListener, SocketFile)> {
    let named = |what: &str, e: io::Error| {
        io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| named("cannot create the directory of", e))?;
        }
    }
    remove_if_stale(path)?;
    let fd = bind_0600(path).map_err(|e| named("cannot listen on", e))?;
    // fchmod before bind already gave 0600 (minus umask bits); make it
    // exactly 0600 even under an odd umask such as 0277.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| named("cannot chmod", e))?;
    let meta = std::fs::symlink_metadata(path).map_err(|e| named("cannot stat", e))?;
    let listener = UnixListener::from(fd);
    listener.set_nonblocking(true)?;
    Ok((
        listener,
        SocketFile {
            path: path.to_owned(),
            dev: meta.dev(),
            ino: meta.ino(),
        },
    ))
}

/// A socket file left by a run that was killed answers connects with
/// ECONNREFUSED: remove it. One that accepts belongs to a live conlink.
fn remove_if_stale(path: &Path) -> io::Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(io::Error::new(
                e.kind(),
                format!("cannot stat {}: {e}", path.display()),
            ));
        }
    };
    if !meta.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} exists and is not a socket; not replacing it",
                path.display()
            ),
        ));
    }
    match UnixStream::connect(path) {
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!(
                "{} is in use: another conlink answers on it (give this one its own --control-socket)",
                path.display()
            ),
        )),
        Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => {
            tracing::info!("replacing stale control socket {}", path.display());
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io::Error::new(
                    e.kind(),
                    format!("cannot remove stale socket {}: {e}", path.display()),
                )),
                _ => Ok(()),
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("cannot check existing socket {}: {e}", path.display()),
        )),
    }
}

/// socket + fchmod(0600) + bind + listen. Linux creates a Unix socket's
/// file with the mode of the socket's inode (minus the umask), so the
/// fchmod before bind means the file is never wider than 0600, not even for
/// an instant, without touching the process-wide umask (other threads may
/// be creating files).
fn bind_0600(path: &Path) -> io::Result<OwnedFd> {
    let fd = socket::socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    nix::sys::stat::fchmod(&fd, nix::sys::stat::Mode::from_bits_truncate(0o600))?;
    let addr = UnixAddr::new(path)?;
    socket::bind(fd.as_raw_fd(), &addr)?;
    socket::listen(&fd, Backlog::new(128).unwrap_or(Backlog::MAXCONN))?;
    Ok(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn fchmod_before_bind_makes_the_file_0600_under_a_wide_umask() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.sock");
        // Without the fchmod, umask 022 would give 0755.
        let _fd = bind_0600(&p).unwrap();
        assert_eq!(mode(&p), 0o600);
    }

    #[test]
    fn stale_socket_is_replaced_live_one_refused_file_removed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/dir/control.sock");
        let (l, f) = bind(&p).unwrap();
        assert_eq!(mode(&p), 0o600);
        assert_eq!(mode(p.parent().unwrap()), 0o700);
        // Live: a second bind is refused and the first file stays.
        let e = bind(&p).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AddrInUse);
        assert!(e.to_string().contains("another conlink"), "{e}");
        // Killed run: the listener closes but the file stays (no drop of f).
        drop(l);
        std::mem::forget(f);
        assert!(p.exists());
        let (_l2, f2) = bind(&p).unwrap();
        drop(f2);
        assert!(!p.exists());
    }

    #[test]
    fn a_regular_file_in_the_way_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("control.sock");
        std::fs::write(&p, "keep me").unwrap();
        let e = bind(&p).unwrap_err();
        assert!(e.to_string().contains("not a socket"), "{e}");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "keep me");
    }

    #[test]
    fn drop_leaves_a_successors_socket_alone() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("control.sock");
        let (l, f) = bind(&p).unwrap();
        drop(l);
        // Another server's socket is moved into place over ours.
        let q = dir.path().join("other.sock");
        let (_l2, f2) = bind(&q).unwrap();
        std::fs::rename(&q, &p).unwrap();
        drop(f);
        assert!(
            p.exists(),
            "the first server's drop removed the second's socket"
        );
        drop(f2);
    }
}
