//! The netlink side of `-i` and `-I`: a route-netlink socket subscribed to
//! link and address notifications (RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR,
//! RTNLGRP_IPV6_IFADDR), read on a dedicated thread. Subscribing first and
//! dumping afterwards on the same socket means nothing that happens in
//! between is missed; dump replies and notifications update one table.

use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_REQUEST, NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::LinkMessage;
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};
use rtnetlink::constants::{RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR, RTMGRP_LINK};

use super::link_table::LinkTable;
use super::progress::Pacer;
use super::{WaitError, Waited};

/// Large enough for any single netlink datagram the kernel sends.
const RECV_BUF: usize = 1 << 17;
/// Consecutive failed dump requests after which we give up.
const MAX_DUMP_ERRORS: u32 = 10;

#[derive(Default)]
struct State {
    table: LinkTable,
    failed: Option<String>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running monitor of this network namespace's links and addresses.
pub struct Monitor {
    shared: Arc<Shared>,
}

impl Monitor {
    /// Open the socket, subscribe, ask for the first dump and start the thread.
    pub fn start() -> io::Result<Monitor> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind(&SocketAddr::new(
            0,
            RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
        ))?;
        // A bigger buffer makes lost notifications (ENOBUFS) unlikely when
        // many links appear at once; a refusal is harmless.
        let _ = socket.set_rx_buf_sz(1usize << 20);
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        });
        let mut reader = Reader {
            socket,
            shared: shared.clone(),
            seq: 0,
            phase: Phase::Live,
            resync: false,
            errors: 0,
        };
        reader.start_dump(DumpKind::Links)?;
        std::thread::Builder::new()
            .name("netlink-monitor".into())
            .spawn(move || reader.run())?;
        Ok(Monitor { shared })
    }

    /// Block until `check` answers Some for the current table, or the
    /// deadline passes (Ok(TimedOut)).
    pub fn wait_until(
        &self,
        pacer: &mut Pacer,
        check: impl Fn(&LinkTable) -> Option<String>,
    ) -> Result<Waited, WaitError> {
        let mut state = self.shared.lock();
        loop {
            if let Some(held) = check(&state.table) {
                return Ok(Waited::Held(held));
            }
            if let Some(e) = &state.failed {
                return Err(WaitError::Netlink(e.clone()));
            }
            if pacer.expired() {
                return Ok(Waited::TimedOut);
            }
            let timeout = pacer.next_wake(None);
            state = match self.shared.changed.wait_timeout(state, timeout) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
            pacer.tick();
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DumpKind {
    Links,
    Addresses,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// A dump is running; its replies carry this sequence number.
    Dumping(DumpKind, u32),
    /// Initial state complete; only notifications arrive.
    Live,
}

struct Reader {
    socket: Socket,
    shared: Arc<Shared>,
    seq: u32,
    phase: Phase,
    /// Notifications were lost during a dump: start over when it ends.
    resync: bool,
    errors: u32,
}

impl Reader {
    fn start_dump(&mut self, kind: DumpKind) -> io::Result<()> {
        self.seq = self.seq.wrapping_add(1);
        let request = match kind {
            DumpKind::Links => RouteNetlinkMessage::GetLink(LinkMessage::default()),
            // Family AF_UNSPEC: IPv4 and IPv6 addresses in one dump.
            DumpKind::Addresses => RouteNetlinkMessage::GetAddress(AddressMessage::default()),
        };
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        header.sequence_number = self.seq;
        let mut msg = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(request));
        msg.finalize();
        let mut bytes = vec![0u8; msg.buffer_len()];
        msg.serialize(&mut bytes);
        self.socket.send_to(&bytes, &SocketAddr::new(0, 0), 0)?;
        self.phase = Phase::Dumping(kind, self.seq);
        Ok(())
    }

    fn run(mut self) {
        let mut buf: Vec<u8> = Vec::with_capacity(RECV_BUF);
        loop {
            buf.clear();
            if let Err(e) = self.socket.recv(&mut buf, 0) {
                match e.raw_os_error() {
                    Some(libc::EINTR) => continue,
                    Some(libc::ENOBUFS) => {
                        tracing::debug!("netlink notifications lost; dumping again");
                        if let Err(e) = self.resync() {
                            return self.fail(format!("netlink dump request: {e}"));
                        }
                        continue;
                    }
                    _ => return self.fail(format!("reading netlink notifications: {e}")),
                }
            }
            let shared = self.shared.clone();
            let mut state = shared.lock();
            let mut next: Result<(), String> = Ok(());
            for msg in parse_datagram(&buf) {
                if let Err(e) = self.handle(&mut state.table, msg) {
                    next = Err(e);
                    break;
                }
            }
            drop(state);
            if let Err(e) = next {
                return self.fail(e);
            }
            self.shared.changed.notify_all();
        }
    }

    fn resync(&mut self) -> io::Result<()> {
        match self.phase {
            Phase::Live => {
                self.shared.lock().table.clear();
                self.start_dump(DumpKind::Links)
            }
            Phase::Dumping(..) => {
                self.resync = true;
                Ok(())
            }
        }
    }

    fn handle(
        &mut self,
        table: &mut LinkTable,
        msg: NetlinkMessage<RouteNetlinkMessage>,
    ) -> Result<(), String> {
        let seq = msg.header.sequence_number;
        let dumping = match self.phase {
            Phase::Dumping(kind, s) if s == seq => Some(kind),
            _ => None,
        };
        match (msg.payload, dumping) {
            (NetlinkPayload::InnerMessage(m), _) => table.apply(&m),
            (NetlinkPayload::Done(_), Some(kind)) => {
                self.errors = 0;
                let next = match (kind, self.resync) {
                    (_, true) => {
                        self.resync = false;
                        table.clear();
                        Some(DumpKind::Links)
                    }
                    (DumpKind::Links, false) => Some(DumpKind::Addresses),
                    (DumpKind::Addresses, false) => None,
                };
                match next {
                    Some(k) => self
                        .start_dump(k)
                        .map_err(|e| format!("netlink dump request: {e}"))?,
                    None => self.phase = Phase::Live,
                }
            }
            (NetlinkPayload::Error(e), Some(kind)) => {
                // e.g. EBUSY or an interrupted dump: ask again, within reason.
                self.errors += 1;
                if self.errors > MAX_DUMP_ERRORS {
                    return Err(format!("netlink dump keeps failing: {e}"));
                }
                tracing::debug!("netlink dump error {e}; retrying");
                self.start_dump(kind)
                    .map_err(|e| format!("netlink dump request: {e}"))?;
            }
            _ => {}
        }
        Ok(())
    }

    fn fail(self, why: String) {
        self.shared.lock().failed = Some(why);
        self.shared.changed.notify_all();
    }
}

/// The netlink messages in one datagram; undecodable ones are skipped
/// (a kernel newer than our parser may send attributes we do not know).
fn parse_datagram(buf: &[u8]) -> Vec<NetlinkMessage<RouteNetlinkMessage>> {
    let mut out = Vec::new();
    let mut offset = 0;
    while offset < buf.len() {
        let rest = &buf[offset..];
        let Ok(b) = NetlinkBuffer::new_checked(rest) else {
            break;
        };
        let len = b.length() as usize;
        if len == 0 || len > rest.len() {
            break;
        }
        match NetlinkMessage::<RouteNetlinkMessage>::deserialize(&rest[..len]) {
            Ok(m) => out.push(m),
            Err(e) => tracing::debug!("skipping undecodable netlink message: {e}"),
        }
        offset += (len + 3) & !3;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_truncated_datagrams_do_not_panic() {
        assert!(parse_datagram(&[]).is_empty());
        assert!(parse_datagram(&[1, 2, 3]).is_empty());
        // Header claims 100 bytes but only 16 are there.
        let mut b = vec![0u8; 16];
        b[0] = 100;
        assert!(parse_datagram(&b).is_empty());
    }

    #[test]
    fn a_serialized_dump_request_parses_back() {
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        header.sequence_number = 7;
        let mut msg = NetlinkMessage::new(
            header,
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::GetLink(LinkMessage::default())),
        );
        msg.finalize();
        let mut bytes = vec![0u8; msg.buffer_len()];
        msg.serialize(&mut bytes);
        let back = parse_datagram(&bytes);
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].header.sequence_number, 7);
    }

    #[test]
    fn monitor_sees_loopback_in_the_initial_dump() {
        // Every network namespace has `lo`, so the dump alone must find it.
        let m = Monitor::start().expect("netlink socket");
        let mut pacer = Pacer::new(
            "lo",
            Some(std::time::Instant::now() + std::time::Duration::from_secs(5)),
            std::time::Duration::from_secs(1),
            true,
        );
        let got = m
            .wait_until(&mut pacer, |t| t.has_link("lo").then(|| "lo".to_string()))
            .unwrap();
        assert!(matches!(got, Waited::Held(_)));
    }
}
