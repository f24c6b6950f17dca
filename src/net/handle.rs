//! One namespace's rtnetlink socket, driven directly: a request is written
//! to the socket in the calling task and the kernel (which handles
//! rtnetlink requests inside `sendmsg`) has its answer queued before the
//! call returns, so the answer is read at once and kept until its
//! [`Pending`] is awaited. Several requests can be in flight, in order, on
//! one socket, and their acknowledgements collected together; there is no
//! connection task, no channel and no thread hop per request (with
//! rtnetlink's connection task every request crossed threads twice, the
//! main source of futex calls in `strace -c` of a start-up). Dumps; link
//! lookups by name.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Mutex, MutexGuard};

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_ECHO, NLM_F_EXCL, NLM_F_REQUEST,
    NetlinkBuffer, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::nsid::{NsidAttribute, NsidMessage};
use tokio::io::unix::AsyncFd;
use tokio::sync::Notify;

use super::errors::{NetError, Result};

/// Flags of a request that creates something and must not replace it.
pub const CREATE: u16 = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
/// Flags of a request that changes or deletes something.
pub const CHANGE: u16 = NLM_F_REQUEST | NLM_F_ACK;
/// How often an interrupted dump is tried before giving up.
const DUMP_TRIES: usize = 5;
/// Receive buffer: dumps of many links come back in one burst, and many
/// pipelined requests' answers wait in it until they are read.
const RCVBUF: usize = 4 << 20;
/// Largest datagram read at once (the kernel's dump parts are ≤ 32 KiB).
const READ_BUF: usize = 64 << 10;

thread_local! {
    /// One read buffer per thread, not per socket: a read is copied out
    /// before anything else runs, and 1,000 namespaces' sockets each
    /// keeping 64 KiB was most of the sidecar's memory (46 MB idle at 500
    /// namespaces).
    static READ: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; READ_BUF]);
}
/// Part of a multipart answer (linux/netlink.h).
const NLM_F_MULTI: u16 = 2;

type Msg = NetlinkMessage<RouteNetlinkMessage>;

/// rtnetlink socket of one namespace (cheap to clone).
#[derive(Clone)]
pub struct Rt {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Rt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rt")
            .field("fd", &self.inner.fd.as_raw_fd())
            .finish()
    }
}

struct Inner {
    /// Registered with tokio's reactor only once an answer was not there
    /// at once (never, in practice, for rtnetlink): registered, every
    /// answer would also wake a reactor thread. Declared before `fd` so it
    /// is deregistered before the socket closes.
    reactor: std::sync::OnceLock<AsyncFd<RawFd>>,
    fd: OwnedFd,
    state: Mutex<State>,
    /// Woken when some request's answer is complete.
    done: Notify,
}

#[derive(Default)]
struct State {
    next_seq: u32,
    /// Requests sent and not yet collected, by sequence number.
    open: HashMap<u32, Answer>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ends {
    /// With NLM_F_ACK: at the NLMSG_ERROR (an error or the ack).
    Ack,
    /// A dump: at NLMSG_DONE (or an error).
    Dump,
    /// Neither: at the first message that is not part of a multipart one.
    Single,
}

struct Answer {
    ends: Ends,
    msgs: Vec<Msg>,
    complete: bool,
    /// The socket failed (overrun, closed) before the answer was complete.
    failed: Option<String>,
}

/// A request already on its way to the kernel; await [`Pending::ack`].
pub struct Pending {
    op: String,
    sent: std::result::Result<(Rt, u32), NetError>,
}

impl Pending {
    /// The kernel's answer to the request (every message, the final
    /// ack or error included).
    async fn replies(mut self) -> Result<(String, Vec<Msg>)> {
        let op = std::mem::take(&mut self.op);
        // Taken out, so `Drop` leaves the answer to `collect`.
        let sent = std::mem::replace(&mut self.sent, Err(NetError::Invalid(String::new())));
        let (rt, seq) = sent?;
        let msgs = rt.collect(&op, seq).await?;
        Ok((op, msgs))
    }

    /// Wait for the kernel's answer; an error reply becomes [`NetError::Kernel`].
    pub async fn ack(self) -> Result<()> {
        let (op, msgs) = self.replies().await?;
        for msg in msgs {
            if let NetlinkPayload::Error(e) = msg.payload {
                if let Some(code) = e.code {
                    return Err(NetError::kernel(op, -code.get()));
                }
            }
        }
        Ok(())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        // An answer nobody will collect must not stay in the table.
        if let Ok((rt, seq)) = &self.sent {
            rt.lock().open.remove(seq);
        }
    }
}

impl Rt {
    /// Take over a netlink route socket (made non-blocking here). Must run
    /// inside a tokio runtime.
    pub fn new(fd: OwnedFd) -> std::io::Result<Rt> {
        set_nonblocking(fd.as_raw_fd())?;
        let size = RCVBUF as libc::c_int;
        // SAFETY: setsockopt reads an int of the given size. RCVBUFFORCE
        // needs CAP_NET_ADMIN (conlink has it); fall back to the capped one.
        unsafe {
            if libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUFFORCE,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            ) != 0
            {
                libc::setsockopt(
                    fd.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_RCVBUF,
                    (&size as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                );
            }
        }
        Ok(Rt {
            inner: Arc::new(Inner {
                reactor: std::sync::OnceLock::new(),
                fd,
                state: Mutex::new(State {
                    next_seq: 1,
                    ..Default::default()
                }),
                done: Notify::new(),
            }),
        })
    }

    /// The socket registered with tokio's reactor, for waiting.
    fn reactor(&self) -> Result<&AsyncFd<RawFd>> {
        if let Some(r) = self.inner.reactor.get() {
            return Ok(r);
        }
        // Under the lock: a second registration of the fd would fail.
        let _st = self.lock();
        if let Some(r) = self.inner.reactor.get() {
            return Ok(r);
        }
        let raw = self.inner.fd.as_raw_fd();
        // SAFETY: `raw` is `fd`'s, which stays open until after the
        // AsyncFd is dropped (field order in `Inner`).
        let r = unsafe { AsyncFd::register_with_interest(raw, tokio::io::Interest::READABLE) }
            .map_err(|e| NetError::io("wait for the kernel", e.into()))?;
        Ok(self.inner.reactor.get_or_init(|| r))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every change under this lock is complete before it is released.
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Put a request on the socket now; requests sent this way reach the
    /// kernel in the order of the calls.
    pub fn send(&self, op: impl Into<String>, msg: RouteNetlinkMessage, flags: u16) -> Pending {
        let op = op.into();
        let mut req = NetlinkMessage::from(msg);
        req.header.flags = flags;
        let ends = if flags & NLM_F_ACK != 0 {
            Ends::Ack
        } else if flags & NLM_F_DUMP == NLM_F_DUMP {
            Ends::Dump
        } else {
            Ends::Single
        };
        let mut st = self.lock();
        let seq = st.next_seq;
        st.next_seq = st.next_seq.wrapping_add(1).max(1);
        req.header.sequence_number = seq;
        req.finalize();
        let mut bytes = vec![0u8; req.buffer_len()];
        req.serialize(&mut bytes);
        st.open.insert(
            seq,
            Answer {
                ends,
                msgs: Vec::new(),
                complete: false,
                failed: None,
            },
        );
        let fd = self.inner.fd.as_raw_fd();
        if let Err(e) = send_all(fd, &bytes) {
            st.open.remove(&seq);
            return Pending {
                sent: Err(NetError::io(format!("{op}: send to the kernel"), e)),
                op,
            };
        }
        // The kernel has answered already (for all but the rest of a
        // dump): take it off the socket now, which also keeps the receive
        // buffer from overflowing when many requests are pipelined.
        if self.drain(&mut st) {
            self.inner.done.notify_waiters();
        }
        drop(st);
        Pending {
            op,
            sent: Ok((self.clone(), seq)),
        }
    }

    /// Read everything the socket holds into the answers; whether some
    /// answer became complete. Stops at EAGAIN.
    fn drain(&self, st: &mut State) -> bool {
        let fd = self.inner.fd.as_raw_fd();
        let mut completed = false;
        loop {
            let (n, data) = READ.with_borrow_mut(|buf| {
                // SAFETY: reading into the thread's buffer of READ_BUF bytes.
                let n = unsafe {
                    libc::recv(fd, buf.as_mut_ptr().cast(), READ_BUF, libc::MSG_DONTWAIT)
                };
                (n, (n > 0).then(|| buf[..n as usize].to_vec()))
            });
            if n < 0 {
                let e = std::io::Error::last_os_error();
                match e.raw_os_error() {
                    Some(libc::EAGAIN) => return completed,
                    Some(libc::EINTR) => continue,
                    _ => {
                        // ENOBUFS: the kernel dropped answers. Whatever is
                        // still open cannot be completed reliably.
                        for a in st.open.values_mut().filter(|a| !a.complete) {
                            a.failed = Some(format!("reading the answer: {e}"));
                            a.complete = true;
                        }
                        return true;
                    }
                }
            }
            let Some(data) = data else {
                return completed;
            };
            completed |= dispatch(&mut st.open, &data);
        }
    }

    /// Wait for the answer to `seq`, complete.
    async fn collect(&self, op: &str, seq: u32) -> Result<Vec<Msg>> {
        // A caller that stops waiting (a select that went the other way)
        // must not leave its answer in the table.
        struct Forget<'a>(&'a Rt, u32);
        impl Drop for Forget<'_> {
            fn drop(&mut self) {
                self.0.lock().open.remove(&self.1);
            }
        }
        let _forget = Forget(self, seq);
        loop {
            let notified = self.inner.done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut st = self.lock();
                if !st.open.get(&seq).is_some_and(|a| a.complete) && self.drain(&mut st) {
                    self.inner.done.notify_waiters();
                }
                match st.open.get(&seq) {
                    None => {
                        return Err(NetError::Netlink {
                            op: op.to_owned(),
                            detail: "answer lost".into(),
                        });
                    }
                    Some(a) if a.complete => {
                        let a = st.open.remove(&seq).expect("present");
                        if let Some(detail) = a.failed {
                            return Err(NetError::Netlink {
                                op: op.to_owned(),
                                detail,
                            });
                        }
                        return Ok(a.msgs);
                    }
                    Some(_) => {}
                }
            }
            tokio::select! {
                ready = self.reactor()?.readable() => {
                    let mut guard = ready.map_err(|e| NetError::io(format!("{op}: wait for the kernel"), e))?;
                    // Drained above until EAGAIN: the readiness seen then is
                    // stale, unless new data came since (tokio keeps it then).
                    let _ = guard.try_io(|_| {
                        let mut st = self.lock();
                        if self.drain(&mut st) {
                            self.inner.done.notify_waiters();
                        }
                        Err::<(), _>(std::io::Error::from(std::io::ErrorKind::WouldBlock))
                    });
                }
                _ = &mut notified => {}
            }
        }
    }

    /// Create a link with NLM_F_ECHO: the kernel answers with the new link
    /// (index included), saving a look-up. `None` when it did not echo.
    pub async fn create_link_echo(
        &self,
        op: impl Into<String>,
        msg: LinkMessage,
    ) -> Result<Option<LinkMessage>> {
        let (op, msgs) = self
            .send(op, RouteNetlinkMessage::NewLink(msg), CREATE | NLM_F_ECHO)
            .replies()
            .await?;
        let mut made = None;
        for msg in msgs {
            match msg.payload {
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)) => made = Some(l),
                NetlinkPayload::Error(e) => {
                    if let Some(code) = e.code {
                        return Err(NetError::kernel(op, -code.get()));
                    }
                }
                _ => {}
            }
        }
        Ok(made)
    }

    /// Send and wait for the acknowledgement.
    pub async fn ack(
        &self,
        op: impl Into<String>,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<()> {
        self.send(op, msg, flags).ack().await
    }

    /// A dump request: every reply message. A dump the kernel flags
    /// NLM_F_DUMP_INTR (the table changed while it was being read, so
    /// entries may be missing or repeated) is run again, as CNI's
    /// netlinksafe does: callers delete things based on what a dump shows.
    pub async fn dump(
        &self,
        op: &str,
        msg: RouteNetlinkMessage,
    ) -> Result<Vec<RouteNetlinkMessage>> {
        for _ in 0..DUMP_TRIES {
            if let Some(out) = self.dump_once(op, msg.clone()).await? {
                return Ok(out);
            }
        }
        // EINTR: transient, the caller may try again later.
        Err(NetError::kernel(
            format!("{op} (changed under the dump {DUMP_TRIES} times in a row)"),
            libc::EINTR,
        ))
    }

    /// One dump; `None` when the kernel flagged it interrupted.
    async fn dump_once(
        &self,
        op: &str,
        msg: RouteNetlinkMessage,
    ) -> Result<Option<Vec<RouteNetlinkMessage>>> {
        let (_, msgs) = self
            .send(op, msg, NLM_F_REQUEST | NLM_F_DUMP)
            .replies()
            .await?;
        let mut out = Vec::new();
        let mut interrupted = false;
        for msg in msgs {
            interrupted |= msg.header.flags & NLM_F_DUMP_INTR != 0;
            match msg.payload {
                NetlinkPayload::InnerMessage(m) => out.push(m),
                NetlinkPayload::Error(e) => {
                    if let Some(code) = e.code {
                        return Err(NetError::kernel(op, -code.get()));
                    }
                }
                _ => {}
            }
        }
        Ok((!interrupted).then_some(out))
    }

    /// All links of the namespace.
    pub async fn links(&self) -> Result<Vec<LinkMessage>> {
        let msgs = self
            .dump(
                "list links",
                RouteNetlinkMessage::GetLink(LinkMessage::default()),
            )
            .await?;
        Ok(msgs
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(l),
                _ => None,
            })
            .collect())
    }

    /// The link named `name`, or `None` when there is none.
    pub async fn link_by_name(&self, name: &str) -> Result<Option<LinkMessage>> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_owned()));
        let (op, msgs) = self
            .send(
                format!("look up {name}"),
                RouteNetlinkMessage::GetLink(msg),
                NLM_F_REQUEST,
            )
            .replies()
            .await?;
        for msg in msgs {
            match msg.payload {
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)) => {
                    return Ok(Some(l));
                }
                NetlinkPayload::Error(e) => match e.code {
                    Some(c) if -c.get() == libc::ENODEV => return Ok(None),
                    Some(c) => return Err(NetError::kernel(op, -c.get())),
                    None => {}
                },
                _ => {}
            }
        }
        Ok(None)
    }

    /// Whether the namespace this one knows as `nsid` (a veth peer's
    /// IFLA_LINK_NETNSID) is alive. The kernel resolves an id only for a
    /// namespace that still has users: once nobody holds it (it is being
    /// destroyed) the answer is ENOENT, and -1 once its ids are gone.
    pub async fn netns_id_alive(&self, nsid: i32) -> Result<bool> {
        if nsid < 0 {
            return Ok(false);
        }
        let mut msg = NsidMessage::default();
        msg.attributes.push(NsidAttribute::Id(nsid));
        match self
            .ack(
                format!("look up network namespace id {nsid}"),
                RouteNetlinkMessage::GetNsId(msg),
                CHANGE,
            )
            .await
        {
            Ok(()) => Ok(true),
            Err(e) if e.errno() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The index of the link named `name`; an error naming it when absent.
    pub async fn index_of(&self, name: &str) -> Result<u32> {
        match self.link_by_name(name).await? {
            Some(l) => Ok(l.header.index),
            None => Err(NetError::kernel(format!("look up {name}"), libc::ENODEV)),
        }
    }
}

/// Sort the messages of one datagram into the answers they belong to;
/// whether some answer became complete. Messages of no open request
/// (answers nobody waits for any more) are dropped.
fn dispatch(open: &mut HashMap<u32, Answer>, mut data: &[u8]) -> bool {
    const NLMSG_ERROR: u16 = 2;
    const NLMSG_DONE: u16 = 3;
    let mut completed = false;
    while !data.is_empty() {
        let Ok(buf) = NetlinkBuffer::new_checked(data) else {
            break;
        };
        let len = (buf.length() as usize).min(data.len());
        let (seq, kind, flags) = (buf.sequence_number(), buf.message_type(), buf.flags());
        let one = &data[..len];
        // Messages are 4-byte aligned within a datagram.
        data = &data[len.next_multiple_of(4).min(data.len())..];
        let Some(a) = open.get_mut(&seq) else {
            continue;
        };
        if a.complete {
            continue;
        }
        match Msg::deserialize(one) {
            Ok(m) => a.msgs.push(m),
            Err(e) => {
                if kind == NLMSG_ERROR || kind == NLMSG_DONE {
                    a.failed = Some(format!("cannot read the kernel's answer: {e}"));
                } else {
                    // One entry this crate cannot read (a newer kernel's
                    // attribute layout): skipped, like rtnetlink did.
                    tracing::debug!("skipping an rtnetlink message: {e}");
                }
            }
        }
        let last = match a.ends {
            Ends::Ack => kind == NLMSG_ERROR,
            Ends::Dump => kind == NLMSG_DONE || kind == NLMSG_ERROR,
            Ends::Single => kind == NLMSG_ERROR || kind == NLMSG_DONE || flags & NLM_F_MULTI == 0,
        };
        if last {
            a.complete = true;
            completed = true;
        }
    }
    completed
}

fn set_nonblocking(fd: RawFd) -> std::io::Result<()> {
    // SAFETY: plain fcntl calls on an fd we own.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Write one request datagram to the kernel (sockaddr_nl of pid 0).
fn send_all(fd: RawFd, bytes: &[u8]) -> std::io::Result<()> {
    // SAFETY: an all-zero sockaddr_nl is the kernel's address once the
    // family is set.
    let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    loop {
        // SAFETY: `bytes` and `addr` live across the call.
        let n = unsafe {
            libc::sendto(
                fd,
                bytes.as_ptr().cast(),
                bytes.len(),
                0,
                (&addr as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if n >= 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

/// Attribute accessors for link messages read back from the kernel.
pub trait LinkMessageExt {
    fn name(&self) -> Option<&str>;
    fn alias(&self) -> Option<&str>;
    fn mtu(&self) -> Option<u32>;
    fn mac(&self) -> Option<&[u8]>;
    fn controller(&self) -> Option<u32>;
    fn group(&self) -> Option<u32>;
    /// IFLA_LINK_NETNSID: the id of the namespace holding a veth's peer,
    /// absent when the peer is in the same namespace.
    fn link_netnsid(&self) -> Option<i32>;
}

impl LinkMessageExt for LinkMessage {
    fn name(&self) -> Option<&str> {
        self.attributes.iter().find_map(|a| match a {
            LinkAttribute::IfName(n) => Some(n.as_str()),
            _ => None,
        })
    }
    fn alias(&self) -> Option<&str> {
        self.attributes.iter().find_map(|a| match a {
            LinkAttribute::IfAlias(n) => Some(n.as_str()),
            _ => None,
        })
    }
    fn mtu(&self) -> Option<u32> {
        self.attributes.iter().find_map(|a| match a {
            LinkAttribute::Mtu(m) => Some(*m),
            _ => None,
        })
    }
    fn mac(&self) -> Option<&[u8]> {
        self.attributes.iter().find_map(|a| match a {
            LinkAttribute::Address(m) => Some(m.as_slice()),
            _ => None,
        })
    }
    fn controller(&self) -> Option<u32> {
        self.attributes.iter().find_map(|a| match a {
            LinkAttribute::Controller(m) => Some(*m),
            _ => None,
        })
    }
    fn group(&self) -> Option<u32> {
        self.attributes.iter().find_map(|a| match a {
            LinkAttribute::Group(m) => Some(*m),
            _ => None,
        })
    }
    fn link_netnsid(&self) -> Option<i32> {
        self.attributes.iter().find_map(|a| match a {
            LinkAttribute::LinkNetNsId(m) => Some(*m),
            _ => None,
        })
    }
}
