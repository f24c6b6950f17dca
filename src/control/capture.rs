//! Capturing one link's packets for `GET /v1/capture`: an AF_PACKET raw
//! socket bound to the link's interface, read on a thread of its own (never
//! a tokio worker: it blocks, and it may have to `setns()` into the
//! interface's namespace), handing pcap records to the HTTP body in
//! batches through a bounded channel.
//!
//! A capture ends when COUNT packets are taken, when the client goes away,
//! when the interface goes away, or when the client does not keep up (the
//! queue is full): it is then stopped rather than buffered without bound.

use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hyper::body::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::api::{CapturePoint, ControlError, Direction};
use super::pcap;
use crate::net::NsTarget;

/// Largest snaplen accepted (tcpdump's default).
pub const MAX_SNAPLEN: u32 = 262_144;
/// A batch handed to the HTTP body is closed once it holds this much.
const BATCH_BYTES: usize = 64 * 1024;
/// Batches queued for the client before it counts as not keeping up
/// (at most about 64 × (64 KiB + one packet) per capture).
const QUEUE_BATCHES: usize = 64;
/// How often a capture with no traffic checks whether its client is gone.
const POLL: Duration = Duration::from_millis(200);
/// How long packets wait on this thread to be handed over with later ones.
const FLUSH_AFTER: Duration = Duration::from_millis(20);
/// Kernel receive buffer: bursts at 10k packets/s must not overflow it
/// while the thread hands a batch over.
const RCVBUF: libc::c_int = 4 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureOpts {
    /// Stop after this many packets (0: no limit).
    pub count: u64,
    /// Which packets, seen from the container.
    pub direction: Direction,
    pub snaplen: u32,
}

/// Why a capture ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndReason {
    Count,
    ClientGone,
    InterfaceGone,
    /// The client did not read fast enough; the capture was stopped.
    ClientSlow,
    Error(String),
}

impl EndReason {
    /// The token of the `conlink-capture-end` trailer.
    pub fn token(&self) -> &'static str {
        match self {
            EndReason::Count => "count",
            EndReason::ClientGone => "client-gone",
            EndReason::InterfaceGone => "interface-gone",
            EndReason::ClientSlow => "client-slow",
            EndReason::Error(_) => "error",
        }
    }
}

impl std::fmt::Display for EndReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EndReason::Count => f.write_str("count reached"),
            EndReason::ClientGone => f.write_str("client went away"),
            EndReason::InterfaceGone => f.write_str("the interface went away"),
            EndReason::ClientSlow => f.write_str("stopped: the reader fell behind"),
            EndReason::Error(e) => write!(f, "error: {e}"),
        }
    }
}

/// How a capture ended, for the stream's trailer and the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureEnd {
    pub reason: EndReason,
    /// Packets written to the stream.
    pub packets: u64,
    /// Packets the kernel dropped because the socket's buffer was full.
    pub kernel_drops: u64,
}

/// A running capture: batches of pcap records (the file header is not
/// among them: see [`pcap::file_header`]), then the end report.
pub struct Capture {
    pub data: mpsc::Receiver<Bytes>,
    pub end: oneshot::Receiver<CaptureEnd>,
}

/// Open the capture socket on `point` and start reading. Errors (namespace
/// or interface missing, no permission) come back before any byte is sent.
pub async fn start(point: CapturePoint, opts: CaptureOpts) -> Result<Capture, ControlError> {
    let (ready_tx, ready_rx) = oneshot::channel();
    let (data_tx, data_rx) = mpsc::channel(QUEUE_BATCHES);
    let (end_tx, end_rx) = oneshot::channel();
    std::thread::Builder::new()
        .name("conlink-capture".into())
        .spawn(move || {
            let opened = enter(&point.ns)
                .and_then(|()| open_socket(&point.ifname))
                .map_err(|e| ControlError::Failed {
                    message: format!(
                        "capture {}: interface {} in {}: {e}",
                        point.id, point.ifname, point.ns
                    ),
                });
            let (fd, ifindex) = match opened {
                Ok(x) => x,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let _ = ready_tx.send(Ok(()));
            let reader = Reader {
                fd: fd.as_raw_fd(),
                ifname: &point.ifname,
                ifindex,
                outer: point.outer,
                opts,
            };
            let end = reader.run(&data_tx);
            tracing::info!(
                "capture of {} on {} in {}: {} packets, {}{}",
                point.id,
                point.ifname,
                point.ns,
                end.packets,
                end.reason,
                if end.kernel_drops > 0 {
                    format!(", {} dropped by the kernel", end.kernel_drops)
                } else {
                    String::new()
                }
            );
            // The report first, then the end of the data: the body reads
            // the report once the data channel closes.
            let _ = end_tx.send(end);
            drop(data_tx);
        })
        .map_err(|e| ControlError::Failed {
            message: format!("cannot start a capture thread: {e}"),
        })?;
    ready_rx.await.map_err(|_| ControlError::Failed {
        message: "the capture thread ended before it started".into(),
    })??;
    Ok(Capture {
        data: data_rx,
        end: end_rx,
    })
}

fn ns_path(ns: &NsTarget) -> Option<PathBuf> {
    match ns {
        NsTarget::Current => None,
        NsTarget::Pid(pid) => Some(PathBuf::from(format!("/proc/{pid}/ns/net"))),
        NsTarget::Name(name) => Some(PathBuf::from(format!("/run/netns/{name}"))),
    }
}

/// Move the calling (capture) thread into `ns`; sockets made afterwards
/// belong to it.
fn enter(ns: &NsTarget) -> io::Result<()> {
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
fn open_socket(ifname: &str) -> io::Result<(OwnedFd, u32)> {
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
struct Meta {
    /// Length on the wire (MSG_TRUNC), before any VLAN tag is put back.
    len: usize,
    pkttype: u8,
    sec: u32,
    nsec: u32,
    /// (TPID, TCI) of a tag the kernel took off (VLAN offload).
    vlan: Option<(u16, u16)>,
}

struct Reader<'a> {
    fd: RawFd,
    ifname: &'a str,
    ifindex: u32,
    outer: bool,
    opts: CaptureOpts,
}

impl Reader<'_> {
    fn run(&self, tx: &mpsc::Sender<Bytes>) -> CaptureEnd {
        let mut buf = vec![0u8; self.opts.snaplen as usize];
        let mut batch: Vec<u8> = Vec::with_capacity(BATCH_BYTES + 4096);
        let mut packets = 0u64;
        // Set while the interface is down: is it only down, or gone?
        let mut down = false;
        let reason = 'capture: loop {
            // Wait (up to POLL) for a first packet, then gather more for up
            // to FLUSH_AFTER or until the batch is full: a busy link costs
            // one hand-over to the HTTP body per batch, not one per packet,
            // and a quiet one still shows each packet within FLUSH_AFTER.
            let mut end = None;
            let mut flush_at: Option<Instant> = None;
            loop {
                match recv(self.fd, &mut buf) {
                    Ok(Some(meta)) => {
                        down = false;
                        if !self.wanted(meta.pkttype) {
                            continue;
                        }
                        push_packet(&mut batch, &buf, meta, self.opts.snaplen);
                        packets += 1;
                        flush_at.get_or_insert_with(|| Instant::now() + FLUSH_AFTER);
                        if self.opts.count > 0 && packets >= self.opts.count {
                            end = Some(EndReason::Count);
                            break;
                        }
                        if batch.len() >= BATCH_BYTES {
                            break;
                        }
                    }
                    Ok(None) => {
                        let timeout = match flush_at {
                            None => POLL,
                            Some(t) => t.saturating_duration_since(Instant::now()),
                        };
                        match wait_readable(self.fd, timeout) {
                            Ok(true) => {}
                            Ok(false) => break,
                            Err(e) => {
                                end = Some(EndReason::Error(format!("poll: {e}")));
                                break;
                            }
                        }
                    }
                    Err(e) => match e.raw_os_error() {
                        Some(libc::EINTR) => {}
                        // Down (admin) or on its way out: a link taken down
                        // and up again goes on being captured.
                        Some(libc::ENETDOWN) => {
                            down = true;
                            break;
                        }
                        Some(libc::ENXIO) | Some(libc::ENODEV) => {
                            end = Some(EndReason::InterfaceGone);
                            break;
                        }
                        _ => {
                            end = Some(EndReason::Error(e.to_string()));
                            break;
                        }
                    },
                }
            }
            if !batch.is_empty() {
                match tx.try_send(Bytes::from(std::mem::take(&mut batch))) {
                    Ok(()) => batch.reserve(BATCH_BYTES + 4096),
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        break 'capture EndReason::ClientSlow;
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => {
                        break 'capture EndReason::ClientGone;
                    }
                }
            }
            if let Some(r) = end {
                break r;
            }
            if tx.is_closed() {
                break EndReason::ClientGone;
            }
            if down && !self.still_there() {
                break EndReason::InterfaceGone;
            }
            if down {
                // No packets come while down: don't spin on the check.
                std::thread::sleep(POLL);
            }
        };
        CaptureEnd {
            reason,
            packets,
            kernel_drops: kernel_drops(self.fd),
        }
    }

    /// Whether a packet of this type is in the asked direction. Egress of
    /// the inner end leaves the container; egress of the outer end arrives
    /// at it.
    fn wanted(&self, pkttype: u8) -> bool {
        let egress = pkttype == libc::PACKET_OUTGOING;
        let leaves_container = egress != self.outer;
        if leaves_container {
            self.opts.direction.includes_out()
        } else {
            self.opts.direction.includes_in()
        }
    }

    /// The same interface (name and index) still exists in the namespace.
    fn still_there(&self) -> bool {
        nix::net::if_::if_nametoindex(self.ifname).is_ok_and(|i| i == self.ifindex)
    }
}

/// Append one packet as a pcap record, with a VLAN tag the kernel had taken
/// off put back in place (as libpcap does), cut at `snaplen`.
fn push_packet(batch: &mut Vec<u8>, buf: &[u8], meta: Meta, snaplen: u32) {
    let got = &buf[..meta.len.min(buf.len())];
    match meta.vlan {
        Some((tpid, tci)) if got.len() >= 12 => {
            let mut frame = Vec::with_capacity(got.len() + 4);
            frame.extend_from_slice(&got[..12]);
            frame.extend_from_slice(&tpid.to_be_bytes());
            frame.extend_from_slice(&tci.to_be_bytes());
            frame.extend_from_slice(&got[12..]);
            frame.truncate(snaplen as usize);
            pcap::push_record(batch, meta.sec, meta.nsec, &frame, (meta.len + 4) as u32);
        }
        _ => pcap::push_record(batch, meta.sec, meta.nsec, got, meta.len as u32),
    }
}

/// Wait until `fd` has something to read (or an error to report), at most
/// `timeout`: false when the time ran out.
fn wait_readable(fd: RawFd, timeout: Duration) -> io::Result<bool> {
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
fn recv(fd: RawFd, buf: &mut [u8]) -> io::Result<Option<Meta>> {
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
fn kernel_drops(fd: RawFd) -> u64 {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(outer: bool, direction: Direction) -> Reader<'static> {
        Reader {
            fd: -1,
            ifname: "x",
            ifindex: 0,
            outer,
            opts: CaptureOpts {
                count: 0,
                direction,
                snaplen: 100,
            },
        }
    }

    #[test]
    fn direction_is_seen_from_the_container_on_either_end() {
        let out = libc::PACKET_OUTGOING;
        let host = libc::PACKET_HOST;
        // Inner end: its egress leaves the container.
        assert!(reader(false, Direction::Out).wanted(out));
        assert!(!reader(false, Direction::Out).wanted(host));
        assert!(reader(false, Direction::In).wanted(host));
        // Outer end: its egress arrives at the container.
        assert!(reader(true, Direction::In).wanted(out));
        assert!(!reader(true, Direction::In).wanted(host));
        assert!(reader(true, Direction::Out).wanted(libc::PACKET_BROADCAST));
        assert!(reader(true, Direction::Both).wanted(out));
        assert!(reader(true, Direction::Both).wanted(host));
    }

    #[test]
    fn a_vlan_tag_taken_off_by_the_kernel_is_put_back_and_snaplen_holds() {
        let mut frame = vec![0xffu8; 6];
        frame.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x08, 0x00]);
        frame.extend_from_slice(&[0x45; 20]);
        let meta = Meta {
            len: frame.len(),
            pkttype: 0,
            sec: 1,
            nsec: 2,
            vlan: Some((0x8100, 42)),
        };
        let mut batch = Vec::new();
        push_packet(&mut batch, &frame, meta, 1000);
        let mut file = pcap::file_header(1000).to_vec();
        file.extend_from_slice(&batch);
        let (_, recs) = pcap::parse(&file).unwrap();
        let d = &recs[0].data;
        assert_eq!(d.len(), frame.len() + 4);
        assert_eq!(&d[12..16], &[0x81, 0x00, 0x00, 42]);
        assert_eq!(&d[16..18], &[0x08, 0x00]);
        assert_eq!(recs[0].orig_len as usize, frame.len() + 4);

        let mut batch = Vec::new();
        push_packet(&mut batch, &frame, meta, 14);
        let mut file = pcap::file_header(14).to_vec();
        file.extend_from_slice(&batch);
        let (_, recs) = pcap::parse(&file).unwrap();
        assert_eq!(recs[0].data.len(), 14);
        assert_eq!(recs[0].orig_len as usize, frame.len() + 4);
    }

    #[test]
    fn a_packet_longer_than_the_buffer_keeps_its_wire_length() {
        let buf = [7u8; 20];
        let meta = Meta {
            len: 1500,
            pkttype: 0,
            sec: 0,
            nsec: 0,
            vlan: None,
        };
        let mut batch = Vec::new();
        push_packet(&mut batch, &buf, meta, 20);
        let mut file = pcap::file_header(20).to_vec();
        file.extend_from_slice(&batch);
        let (_, recs) = pcap::parse(&file).unwrap();
        assert_eq!(recs[0].data.len(), 20);
        assert_eq!(recs[0].orig_len, 1500);
    }
}
