//! The AF_PACKET side of a capture: a raw packet socket bound to one
//! interface (made in the interface's namespace), and reading a packet off
//! it with its metadata: direction (`sll_pkttype`), kernel timestamp, and
//! a VLAN tag the kernel took off.

use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::net::NsTarget;

/// Kernel receive buffer: bursts at 10k packets/s must not overflow it
/// while the reading thread hands a batch over.
const RCVBUF: libc::c_int = 4 << 20;

fn ns_path(ns: &NsTarget) -> Option<PathBuf> {
    match ns {
        NsTarget::Current => None,
        NsTarget::Pid(pid) => Some(PathBuf::from(format!("/proc/{pid}/ns/net"))),
        NsTarget::Name(name) => Some(PathBuf::from(format!("/run/netns/{name}"))),
    }
}

/// Move the calling (capture) thread into `ns`; sockets made afterwards
/// belong to it.
pub(super) fn enter(ns: &NsTarget) -> io::Result<()> {
    let Some(path) = ns_path(ns) else {
        return Ok(());
    };
    let file = std::fs::File::open(&path)
        .map_err(|e| io::Error::new(e.kind(), format!("open {}: {e}", path.display())))?;
    nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| io::Error::other(format!("setns {}: {e}", path.display())))
}

fn setsockopt_int(
    fd: RawFd,
    level: libc::c_int,
    opt: libc::c_int,
    v: libc::c_int,
) -> io::Result<()> {
    // SAFETY: a valid fd and a c_int option value of the right size.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            opt,
            (&v as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A raw packet socket bound to `ifname` in the calling thread's namespace,
/// with timestamps and VLAN aux data. Made with protocol
/// 0 and bound with ETH_P_ALL (as libpcap does), so it never sees packets of
/// other interfaces in between.
pub(super) fn open_socket(ifname: &str) -> io::Result<(OwnedFd, u32)> {
    let ifindex = nix::net::if_::if_nametoindex(ifname)
        .map_err(|e| io::Error::new(io::Error::from(e).kind(), "not found"))?;
    // SAFETY: plain socket(2); the fd is owned right away.
    let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: raw is a fresh fd nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let s = fd.as_raw_fd();
    // Root (CAP_NET_ADMIN) may go past rmem_max; else take what is allowed.
    if setsockopt_int(s, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, RCVBUF).is_err() {
        let _ = setsockopt_int(s, libc::SOL_SOCKET, libc::SO_RCVBUF, RCVBUF);
    }
    setsockopt_int(s, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1)?;
    setsockopt_int(s, libc::SOL_PACKET, libc::PACKET_AUXDATA, 1)?;
    // SAFETY: zeroed sockaddr_ll is a valid value; we fill in the fields.
    let mut sll: libc::sockaddr_ll = unsafe { zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
    sll.sll_ifindex = ifindex as i32;
    // SAFETY: sll is a sockaddr_ll of the size passed.
    let r = unsafe {
        libc::bind(
            s,
            (&sll as *const libc::sockaddr_ll).cast(),
            size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((fd, ifindex))
}

/// One received packet's metadata (its bytes are in the caller's buffer).
#[derive(Debug, Clone, Copy)]
pub(super) struct Meta {
    /// Length on the wire (MSG_TRUNC), before any VLAN tag is put back.
    pub len: usize,
    pub pkttype: u8,
    pub sec: u32,
    pub nsec: u32,
    /// (TPID, TCI) of a tag the kernel took off (VLAN offload).
    pub vlan: Option<(u16, u16)>,
}

/// Wait until `fd` has something to read (or an error to report), at most
/// `timeout`: false when the time ran out.
pub(super) fn wait_readable(fd: RawFd, timeout: Duration) -> io::Result<bool> {
    if timeout.is_zero() {
        return Ok(false);
    }
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // Round up: a 0 ms poll would spin until the flush time.
    let ms = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int;
    // SAFETY: one valid pollfd.
    match unsafe { libc::poll(&mut p, 1, ms) } {
        n if n > 0 => Ok(true),
        0 => Ok(false),
        _ => {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                Ok(true)
            } else {
                Err(e)
            }
        }
    }
}

/// One recvmsg without waiting: `Ok(None)` when nothing is queued.
pub(super) fn recv(fd: RawFd, buf: &mut [u8]) -> io::Result<Option<Meta>> {
    // SAFETY: all-zero is a valid sockaddr_ll and msghdr.
    let mut sll: libc::sockaddr_ll = unsafe { zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // u64s keep the control buffer aligned for cmsghdr.
    let mut control = [0u64; 32];
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_name = (&mut sll as *mut libc::sockaddr_ll).cast();
    msg.msg_namelen = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = size_of::<[u64; 32]>() as _;
    let flags = libc::MSG_TRUNC | libc::MSG_DONTWAIT;
    // SAFETY: msg points at live buffers of the sizes given.
    let n = unsafe { libc::recvmsg(fd, &mut msg, flags) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::EAGAIN) => Ok(None),
            _ => Err(e),
        };
    }
    let mut meta = Meta {
        len: n as usize,
        pkttype: sll.sll_pkttype,
        sec: 0,
        nsec: 0,
        vlan: None,
    };
    let mut stamped = false;
    // SAFETY: the CMSG_* walk stays within msg_controllen, which the kernel
    // set; data is read unaligned.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            let data = libc::CMSG_DATA(c);
            match ((*c).cmsg_level, (*c).cmsg_type) {
                (libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS) => {
                    let ts: libc::timespec = std::ptr::read_unaligned(data.cast());
                    meta.sec = ts.tv_sec as u32;
                    meta.nsec = ts.tv_nsec as u32;
                    stamped = true;
                }
                (libc::SOL_PACKET, libc::PACKET_AUXDATA) => {
                    let aux: libc::tpacket_auxdata = std::ptr::read_unaligned(data.cast());
                    if aux.tp_status & libc::TP_STATUS_VLAN_VALID != 0 {
                        let tpid = if aux.tp_status & libc::TP_STATUS_VLAN_TPID_VALID != 0 {
                            aux.tp_vlan_tpid
                        } else {
                            libc::ETH_P_8021Q as u16
                        };
                        meta.vlan = Some((tpid, aux.tp_vlan_tci));
                    }
                }
                _ => {}
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    if !stamped {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        meta.sec = now.as_secs() as u32;
        meta.nsec = now.subsec_nanos();
    }
    Ok(Some(meta))
}

/// Packets the kernel dropped on this socket (PACKET_STATISTICS).
pub(super) fn kernel_drops(fd: RawFd) -> u64 {
    // SAFETY: tpacket_stats is plain data; len is its size.
    let mut st: libc::tpacket_stats = unsafe { zeroed() };
    let mut len = size_of::<libc::tpacket_stats>() as libc::socklen_t;
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_PACKET,
            libc::PACKET_STATISTICS,
            (&mut st as *mut libc::tpacket_stats).cast(),
            &mut len,
        )
    };
    if r == 0 { u64::from(st.tp_drops) } else { 0 }
}
