//! A thin layer over one namespace's rtnetlink connection: send a request at
//! once (so several can be in flight, in order, on one socket) and wait for
//! its acknowledgement later; dumps; link lookups by name.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_ECHO, NLM_F_EXCL, NLM_F_REQUEST,
    NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::nsid::{NsidAttribute, NsidMessage};

use super::errors::{NetError, Result};

/// Flags of a request that creates something and must not replace it.
pub const CREATE: u16 = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
/// Flags of a request that changes or deletes something.
pub const CHANGE: u16 = NLM_F_REQUEST | NLM_F_ACK;
/// How often an interrupted dump is tried before giving up.
const DUMP_TRIES: usize = 5;

type Replies = Pin<Box<dyn Stream<Item = NetlinkMessage<RouteNetlinkMessage>> + Send>>;

/// rtnetlink connection of one namespace (cheap to clone).
#[derive(Clone, Debug)]
pub struct Rt {
    handle: rtnetlink::Handle,
}

/// A request already on its way to the kernel; await [`Pending::ack`].
pub struct Pending {
    op: String,
    replies: Result<Replies>,
}

impl Pending {
    /// Wait for the kernel's answer; an error reply becomes [`NetError::Kernel`].
    pub async fn ack(self) -> Result<()> {
        let mut replies = self.replies?;
        while let Some(msg) = replies.next().await {
            if let NetlinkPayload::Error(e) = msg.payload {
                if let Some(code) = e.code {
                    return Err(NetError::kernel(self.op, -code.get()));
                }
            }
        }
        Ok(())
    }
}

impl Rt {
    pub fn new(handle: rtnetlink::Handle) -> Rt {
        Rt { handle }
    }

    pub fn handle(&self) -> &rtnetlink::Handle {
        &self.handle
    }

    /// Put a request on the socket now; requests sent this way reach the
    /// kernel in the order of the calls.
    pub fn send(&self, op: impl Into<String>, msg: RouteNetlinkMessage, flags: u16) -> Pending {
        let op = op.into();
        let mut req = NetlinkMessage::from(msg);
        req.header.flags = flags;
        let mut h = self.handle.clone();
        let replies = h
            .request(req)
            .map(|s| Box::pin(s) as Replies)
            .map_err(|e| NetError::from_rtnl(op.clone(), e));
        Pending { op, replies }
    }

    /// Create a link with NLM_F_ECHO: the kernel answers with the new link
    /// (index included), saving a look-up. `None` when it did not echo.
    pub async fn create_link_echo(
        &self,
        op: impl Into<String>,
        msg: LinkMessage,
    ) -> Result<Option<LinkMessage>> {
        let op = op.into();
        let mut replies = self
            .send(
                op.clone(),
                RouteNetlinkMessage::NewLink(msg),
                CREATE | NLM_F_ECHO,
            )
            .replies?;
        let mut made = None;
        while let Some(msg) = replies.next().await {
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
        let mut replies = self.send(op, msg, NLM_F_REQUEST | NLM_F_DUMP).replies?;
        let mut out = Vec::new();
        let mut interrupted = false;
        while let Some(msg) = replies.next().await {
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
        let mut replies = self
            .send(
                format!("look up {name}"),
                RouteNetlinkMessage::GetLink(msg),
                NLM_F_REQUEST,
            )
            .replies?;
        while let Some(msg) = replies.next().await {
            match msg.payload {
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)) => {
                    return Ok(Some(l));
                }
                NetlinkPayload::Error(e) => match e.code {
                    Some(c) if -c.get() == libc::ENODEV => return Ok(None),
                    Some(c) => return Err(NetError::kernel(format!("look up {name}"), -c.get())),
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
