//! One nftables transaction: BATCH_BEGIN, the messages, BATCH_END, all in
//! one datagram (the kernel applies it atomically), then the acks.

use std::os::fd::AsRawFd;

use netlink_packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload};
use netlink_packet_netfilter::nftables::{
    ChainAttribute, ChainMessage, Hook, InetHookNumber, NfTablesMessage, RuleAttribute,
    RuleMessage, TableAttribute, TableMessage,
};
use netlink_packet_netfilter::none::ControlMessage;
use netlink_packet_netfilter::{NetfilterHeader, NetfilterMessage, NetfilterProtoFamily};
use netlink_sys::Socket;

use super::expr::Expr;
use crate::net::errors::{NetError, Result};

const NFNL_SUBSYS_NFTABLES: u16 = 10;

/// Messages of one transaction, in order, for tables of one family
/// (`ip` unless made with [`Batch::ip6`]).
pub struct Batch {
    msgs: Vec<NetlinkMessage<NetfilterMessage>>,
    family: NetfilterProtoFamily,
}

impl Default for Batch {
    fn default() -> Self {
        Batch {
            msgs: vec![],
            family: NetfilterProtoFamily::IPv4,
        }
    }
}

fn nft_msg(
    family: NetfilterProtoFamily,
    m: NfTablesMessage,
    flags: u16,
) -> NetlinkMessage<NetfilterMessage> {
    let mut msg =
        NetlinkMessage::from(NetfilterMessage::new(NetfilterHeader::new(family, 0, 0), m));
    msg.header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    msg
}

fn control(m: ControlMessage) -> NetlinkMessage<NetfilterMessage> {
    let mut msg = NetlinkMessage::from(NetfilterMessage::new(
        NetfilterHeader::new(NetfilterProtoFamily::Unspec, 0, NFNL_SUBSYS_NFTABLES),
        m,
    ));
    msg.header.flags = NLM_F_REQUEST;
    msg
}

impl Batch {
    /// A batch for `ip6` tables (the table names live apart from `ip`'s).
    pub fn ip6() -> Self {
        Batch {
            msgs: vec![],
            family: NetfilterProtoFamily::IPv6,
        }
    }

    /// A batch for `ip` or `ip6` tables.
    pub fn for_v6(v6: bool) -> Self {
        if v6 { Self::ip6() } else { Self::default() }
    }
    /// `add table ip NAME` (no error when it exists).
    pub fn add_table(&mut self, table: &str) -> &mut Self {
        self.msgs.push(nft_msg(
            self.family,
            NfTablesMessage::NewTable(TableMessage {
                attributes: vec![TableAttribute::Name(table.into())],
            }),
            NLM_F_CREATE,
        ));
        self
    }

    /// `delete table ip NAME`.
    pub fn delete_table(&mut self, table: &str) -> &mut Self {
        self.msgs.push(nft_msg(
            self.family,
            NfTablesMessage::DeleteTable(TableMessage {
                attributes: vec![TableAttribute::Name(table.into())],
            }),
            0,
        ));
        self
    }

    /// A base chain: `add chain ip TABLE NAME { type TYPE hook HOOK priority P; }`.
    pub fn add_base_chain(
        &mut self,
        table: &str,
        name: &str,
        kind: &str,
        hook: u32,
        prio: i32,
    ) -> &mut Self {
        self.msgs.push(nft_msg(
            self.family,
            NfTablesMessage::NewChain(ChainMessage {
                attributes: vec![
                    ChainAttribute::Table(table.into()),
                    ChainAttribute::Name(name.into()),
                    ChainAttribute::Hook(vec![
                        Hook::Number(InetHookNumber::from(hook).into()),
                        Hook::Priority(prio as u32),
                    ]),
                    ChainAttribute::Policy(1), // accept
                    ChainAttribute::Type(kind.into()),
                ],
            }),
            NLM_F_CREATE,
        ));
        self
    }

    /// Append a rule to a chain.
    pub fn add_rule(&mut self, table: &str, chain: &str, exprs: Vec<Expr>) -> &mut Self {
        self.msgs.push(nft_msg(
            self.family,
            NfTablesMessage::NewRule(RuleMessage {
                attributes: vec![
                    RuleAttribute::Table(table.into()),
                    RuleAttribute::Chain(chain.into()),
                    RuleAttribute::Expressions(exprs),
                ],
            }),
            NLM_F_CREATE | netlink_packet_core::NLM_F_APPEND,
        ));
        self
    }

    /// The datagram: begin, messages with sequence numbers from `seq`, end.
    pub fn encode(&self, seq: u32) -> Vec<u8> {
        let mut all = Vec::with_capacity(self.msgs.len() + 2);
        all.push(control(ControlMessage::BatchBegin));
        all.extend(self.msgs.iter().cloned());
        all.push(control(ControlMessage::BatchEnd));
        let mut out = Vec::new();
        for (i, mut m) in all.into_iter().enumerate() {
            m.header.sequence_number = seq.wrapping_add(i as u32);
            m.finalize();
            let start = out.len();
            out.resize(start + m.buffer_len(), 0);
            m.serialize(&mut out[start..]);
        }
        out
    }

    /// Send as one transaction on `sock` and wait for every ack; the first
    /// error the kernel reports fails the whole batch (nothing applied).
    pub fn commit(&self, sock: &Socket, what: &str) -> Result<()> {
        static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
        let n = self.msgs.len() as u32 + 2;
        let seq = SEQ.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        let buf = self.encode(seq);
        let kernel = netlink_sys::SocketAddr::new(0, 0);
        sock.send_to(&buf, &kernel, 0)
            .map_err(|e| NetError::io(format!("{what}: send nftables batch"), e))?;
        // Acks come for the messages between begin and end.
        let want = seq + 1..seq + n - 1;
        let mut acked = 0usize;
        let mut first_err = None;
        set_timeout(sock, 2);
        while acked < want.len() {
            let (data, _) = match sock.recv_from_full() {
                Ok(d) => d,
                Err(e) if first_err.is_some() => {
                    let _ = e;
                    break;
                }
                Err(e) => return Err(NetError::io(format!("{what}: read nftables acks"), e)),
            };
            let mut off = 0;
            while off + 16 <= data.len() {
                let len =
                    u32::from_ne_bytes([data[off], data[off + 1], data[off + 2], data[off + 3]])
                        as usize;
                if len < 16 || off + len > data.len() {
                    break;
                }
                let raw = &data[off..off + len];
                off += (len + 3) & !3;
                let Ok(msg) = NetlinkMessage::<NetfilterMessage>::deserialize(raw) else {
                    continue;
                };
                if !want.contains(&msg.header.sequence_number) {
                    continue;
                }
                if let NetlinkPayload::Error(e) = msg.payload {
                    acked += 1;
                    if let (Some(code), None) = (e.code, &first_err) {
                        first_err = Some(-code.get());
                    }
                }
            }
            if first_err.is_some() {
                // The kernel aborts the whole batch; remaining acks are moot.
                break;
            }
        }
        drain(sock);
        match first_err {
            Some(errno) => Err(NetError::kernel(what.to_owned(), errno)),
            None => Ok(()),
        }
    }
}

fn set_timeout(sock: &Socket, secs: i64) {
    let tv = libc::timeval {
        tv_sec: secs,
        tv_usec: 0,
    };
    // SAFETY: plain setsockopt with a timeval that outlives the call.
    unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as u32,
        );
    }
}

/// Read away anything left (acks of an aborted batch) without blocking.
fn drain(sock: &Socket) {
    let mut buf = [0u8; 8192];
    loop {
        // SAFETY: recv into a local buffer of the given size.
        let n = unsafe {
            libc::recv(
                sock.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if n <= 0 {
            break;
        }
    }
}
