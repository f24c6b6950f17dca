//! Network namespaces as link targets: opened by PID, by name or as the
//! current one, each with its own sockets.
//!
//! A socket belongs to the namespace it was created in, so the sockets of a
//! namespace are made by one long-lived thread, `conlink-netns`, that
//! enters it, makes them and goes back to conlink's namespace (so it holds
//! none alive); no tokio worker ever changes namespace. A thread spawned
//! per namespace cost more than the sockets themselves (clone, stack
//! set-up, about twenty system calls per namespace in `strace -f`). The
//! namespace file is opened once per target and cached with its sockets.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use netlink_sys::Socket;
use netlink_sys::protocols::{NETLINK_NETFILTER, NETLINK_ROUTE};
use nix::sched::{CloneFlags, setns};

use super::errors::{NetError, Result};
use super::handle::Rt;

/// Which namespace a link goes into.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NsTarget {
    /// conlink's own namespace.
    Current,
    /// The namespace of a process (a container's init), `/proc/PID/ns/net`.
    Pid(u32),
    /// A named namespace, `/run/netns/NAME` (`ip netns add NAME`).
    Name(String),
}

impl NsTarget {
    fn path(&self) -> PathBuf {
        match self {
            NsTarget::Current => PathBuf::from("/proc/self/ns/net"),
            NsTarget::Pid(pid) => PathBuf::from(format!("/proc/{pid}/ns/net")),
            NsTarget::Name(name) => PathBuf::from(format!("/run/netns/{name}")),
        }
    }
}

impl fmt::Display for NsTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NsTarget::Current => f.write_str("conlink's namespace"),
            NsTarget::Pid(pid) => write!(f, "pid {pid}"),
            NsTarget::Name(name) => write!(f, "netns {name}"),
        }
    }
}

/// One open namespace: its fd (to move links into it) and its sockets.
pub struct Netns {
    label: String,
    id: NsId,
    fd: OwnedFd,
    rt: Rt,
    /// AF_INET datagram socket for ioctls (SIOCETHTOOL) in this namespace.
    ioctl: OwnedFd,
    /// NETLINK_NETFILTER socket (nftables), used synchronously.
    nft: Mutex<Socket>,
}

impl fmt::Debug for Netns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Netns").field("label", &self.label).finish()
    }
}

/// Identity of a namespace: device and inode of its nsfs file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NsId {
    dev: u64,
    ino: u64,
}

impl Netns {
    pub fn label(&self) -> &str {
        &self.label
    }
    pub fn id(&self) -> NsId {
        self.id
    }
    pub fn rt(&self) -> &Rt {
        &self.rt
    }
    /// For IFLA_NET_NS_FD: valid as long as this `Netns` lives.
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
    pub(crate) fn ioctl_fd(&self) -> RawFd {
        self.ioctl.as_raw_fd()
    }
    pub(crate) fn nft_socket(&self) -> std::sync::MutexGuard<'_, Socket> {
        // A poisoned lock only means another batch panicked mid-way; the
        // socket itself is still usable.
        self.nft.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Write `value` to `/proc/sys/<key>` as seen from this namespace
    /// (net.* sysctls are per namespace and resolved at open time, so the
    /// file is opened on a thread inside the namespace).
    pub fn set_sysctl(&self, key: &str, value: &str) -> Result<()> {
        let path = format!("/proc/sys/{key}");
        let value = value.to_owned();
        let fd = self
            .fd
            .try_clone()
            .map_err(|e| NetError::io(format!("duplicate fd of {}", self.label), e))?;
        let p = path.clone();
        std::thread::Builder::new()
            .name("conlink-sysctl".into())
            .spawn(move || {
                setns(fd.as_fd(), CloneFlags::CLONE_NEWNET).map_err(std::io::Error::from)?;
                // Containers get /proc/sys read-only: a value already set
                // (e.g. by compose `sysctls:`) must not need a write.
                if std::fs::read_to_string(&p).is_ok_and(|v| v.trim() == value) {
                    return Ok(());
                }
                std::fs::write(&p, value)
            })
            .map_err(|e| NetError::io("spawn namespace thread", e))?
            .join()
            .map_err(|_| NetError::Netlink {
                op: format!("write {path}"),
                detail: "namespace thread panicked".into(),
            })?
            .map_err(|e| NetError::io(format!("write {path} in {}", self.label), e))
    }

    /// Open `target` and make its sockets. Must run inside a tokio runtime.
    pub fn open(target: &NsTarget) -> Result<Netns> {
        let (file, id) = open_ns_file(target)?;
        Netns::from_file(target, file, id)
    }

    /// Make the sockets of the namespace open as `file`.
    fn from_file(target: &NsTarget, file: File, id: NsId) -> Result<Netns> {
        let label = target.to_string();
        let fd: OwnedFd = file.into();
        let sockets = if *target == NsTarget::Current {
            make_sockets()
        } else {
            sockets_in(&fd)
        }
        .map_err(|e| NetError::io(format!("open sockets in {label}"), e))?;

        let (route, ioctl, nft) = sockets;
        let rt = Rt::new(route).map_err(|e| NetError::io(format!("open sockets in {label}"), e))?;
        Ok(Netns {
            label,
            id,
            fd,
            rt,
            ioctl,
            nft: Mutex::new(nft),
        })
    }
}

fn open_ns_file(target: &NsTarget) -> Result<(File, NsId)> {
    let path = target.path();
    let file = File::open(&path).map_err(|e| match e.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ESRCH) => NetError::Gone(target.to_string()),
        _ => NetError::io(format!("open {}", path.display()), e),
    })?;
    let meta = file
        .metadata()
        .map_err(|e| NetError::io(format!("stat {}", path.display()), e))?;
    Ok((
        file,
        NsId {
            dev: meta.dev(),
            ino: meta.ino(),
        },
    ))
}

/// The namespace id of `target` without opening sockets.
pub fn ns_id(target: &NsTarget) -> Result<NsId> {
    open_ns_file(target).map(|(_, id)| id)
}

type Sockets = (OwnedFd, OwnedFd, Socket);

/// Route netlink (non-blocking, for tokio), ioctl and netfilter sockets in
/// the calling thread's namespace.
fn make_sockets() -> std::io::Result<Sockets> {
    let route = Socket::new(NETLINK_ROUTE)?;
    // SAFETY: we own the socket's fd and hand its ownership to OwnedFd.
    let route = unsafe { OwnedFd::from_raw_fd(route.into_raw_fd()) };
    let ioctl = nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Inet,
        nix::sys::socket::SockType::Datagram,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(std::io::Error::from)?;
    let mut nft = Socket::new(NETLINK_NETFILTER)?;
    nft.bind_auto()?;
    nft.set_ext_ack(true).ok();
    Ok((route, ioctl, nft))
}

/// A request to the namespace thread: the namespace, and where to answer.
type SocketJob = (
    OwnedFd,
    std::sync::mpsc::SyncSender<std::io::Result<Sockets>>,
);

/// The sender of the `conlink-netns` thread, started on first use.
fn netns_thread() -> std::io::Result<std::sync::mpsc::Sender<SocketJob>> {
    static THREAD: std::sync::OnceLock<Mutex<std::sync::mpsc::Sender<SocketJob>>> =
        std::sync::OnceLock::new();
    if let Some(tx) = THREAD.get() {
        return Ok(tx.lock().unwrap_or_else(|p| p.into_inner()).clone());
    }
    // conlink's namespace, opened before the thread ever leaves it.
    let home = File::open("/proc/thread-self/ns/net")?;
    let (tx, rx) = std::sync::mpsc::channel::<SocketJob>();
    std::thread::Builder::new()
        .name("conlink-netns".into())
        .spawn(move || {
            for (ns, answer) in rx {
                let made = setns(ns.as_fd(), CloneFlags::CLONE_NEWNET)
                    .map_err(std::io::Error::from)
                    .and_then(|()| make_sockets());
                drop(ns);
                if let Err(e) = setns(home.as_fd(), CloneFlags::CLONE_NEWNET) {
                    // Staying would keep that namespace alive; the kernel
                    // cannot refuse one we were in.
                    panic!("cannot return to conlink's network namespace: {e}");
                }
                let _ = answer.send(made);
            }
        })?;
    Ok(THREAD
        .get_or_init(|| Mutex::new(tx))
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone())
}

/// Make the sockets of `ns` on the `conlink-netns` thread.
fn sockets_in(ns: &OwnedFd) -> std::io::Result<Sockets> {
    let (answer, result) = std::sync::mpsc::sync_channel(1);
    let gone = || std::io::Error::other("the namespace thread stopped");
    netns_thread()?
        .send((ns.try_clone()?, answer))
        .map_err(|_| gone())?;
    wait_off_worker(|| result.recv().map_err(|_| gone()))?
}

/// Waiting for the namespace thread on a multi-threaded runtime hands the
/// worker over first: with only two workers, a blocked one stalled every
/// other container's inspect and wiring when many started at once (seen
/// in tools/bench-daemon).
fn wait_off_worker<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    let multi_thread =
        Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread);
    if multi_thread {
        tokio::task::block_in_place(f)
    } else {
        f()
    }
}

/// Open namespaces by identity, so each one has one set of sockets.
#[derive(Default)]
pub struct NsCache {
    map: Mutex<HashMap<NsId, Arc<Netns>>>,
    /// Which namespace each target was opened as: once a container has died
    /// its `/proc/PID/ns/net` is gone, and only this still says which cached
    /// sockets were its.
    targets: Mutex<HashMap<NsTarget, NsId>>,
}

impl NsCache {
    /// The cached namespace of `target`, opening it on first use.
    pub fn get(&self, target: &NsTarget) -> Result<Arc<Netns>> {
        let (file, id) = open_ns_file(target)?;
        self.lock_targets().insert(target.clone(), id);
        if let Some(ns) = self.lock().get(&id) {
            return Ok(ns.clone());
        }
        let ns = Arc::new(Netns::from_file(target, file, id)?);
        Ok(self.lock().entry(ns.id()).or_insert(ns).clone())
    }

    /// Drop the cached sockets of `target`: they hold the namespace alive, so
    /// the daemon forgets a container's namespace when the container dies.
    pub fn forget(&self, target: &NsTarget) {
        let id = self.lock_targets().remove(target);
        if let Some(id) = id.or_else(|| ns_id(target).ok()) {
            self.lock().remove(&id);
        }
    }

    fn lock_targets(&self) -> std::sync::MutexGuard<'_, HashMap<NsTarget, NsId>> {
        self.targets.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<NsId, Arc<Netns>>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}
