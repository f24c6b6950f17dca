//! The link engine's public face: the daemon hands it resolved specs
//! (`LinkSpec`, `BridgeSpec`, `TunnelSpec`) and target namespaces; it makes
//! them real over netlink and ioctl and can take them down again.
//!
//! What it made is recorded in its ledger ([`super::ledger`]); a name found
//! taken is judged in `clash.rs`, and deleting happens in
//! `teardown.rs`, which removes only what carries this instance's mark.

use std::collections::HashMap;
use std::sync::{Arc, MutexGuard};

use futures::future::join_all;
use netlink_packet_route::RouteNetlinkMessage;
use rtnetlink::LinkUnspec;
use tokio::sync::Mutex;

use super::addr::IfName;
use super::errors::{NetError, Result};
use super::handle::{CHANGE, CREATE, LinkMessageExt, Pending, Rt};
use super::ledger::{Ledger, Owned};
use super::link::{self, Mark, dummy, stacked, veth};
use super::netns::{Netns, NsCache, NsTarget};
use super::ovs::{Ovs, OvsPaths};
use super::spec::{BridgeSpec, LinkKind, LinkSpec, ResolvedBridgeMode, TunnelSpec};
use super::teardown::delete_index;
use super::{addr_apply, bridge, offload, patch, route_apply, tunnel};
use crate::net::ethtool::{Offload, OffloadFeature};

/// How the engine is set up once per run.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Names this run's marks (`conlink:<instance>`), e.g. the compose
    /// project; a later run with the same instance cleans up leftovers.
    pub instance: String,
    /// Namespace holding the parents of macvlan/ipvlan/vlan links (the
    /// host's, PID 1, in production; a test namespace in tests).
    pub host: NsTarget,
    /// conlink's own namespace, where outer ends, bridges, tunnels and the
    /// forward table live: the current one in production, a test namespace
    /// in tests.
    pub home: NsTarget,
    /// Leave tx checksum offload on for veths (`--keep-veth-offload`).
    pub keep_veth_offload: bool,
    /// Where Open vSwitch lives (OVS's environment variables by default).
    pub ovs: OvsPaths,
}

impl EngineConfig {
    pub fn new(instance: &str) -> EngineConfig {
        EngineConfig {
            instance: instance.to_owned(),
            host: NsTarget::Pid(1),
            home: NsTarget::Current,
            keep_veth_offload: false,
            ovs: OvsPaths::from_env(),
        }
    }
}

/// What `create_link` made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedLink {
    /// Name inside the target namespace.
    pub dev: IfName,
    /// Index inside the target namespace.
    pub index: u32,
    /// veth: the outer end in conlink's namespace.
    pub outer: Option<IfName>,
}

#[derive(Debug)]
pub(super) enum BridgeState {
    Linux { index: u32, mac_pinned: bool },
    Patch { ports: Vec<String> },
    Ovs,
}

/// Links of one patch, once both ends exist.
type PatchPair = Option<(String, String)>;

pub struct Engine {
    cfg: EngineConfig,
    pub(super) mark: Mark,
    ns: NsCache,
    pub(super) home: Arc<Netns>,
    pub(super) bridges: Mutex<HashMap<String, BridgeState>>,
    /// What this run created in conlink's namespace (a std mutex: never
    /// held across an await).
    ledger: std::sync::Mutex<Ledger>,
    /// This instance's nftables table for port forwards.
    pub(super) forward_table: String,
    pub(super) ovs: Ovs,
}

impl Engine {
    /// Open conlink's own namespace. Must run inside a tokio runtime.
    pub fn new(cfg: EngineConfig) -> Result<Engine> {
        // Every open namespace holds fds: make room for many.
        if let Err(e) = super::fd_limits::raise_fd_limit() {
            tracing::debug!("cannot raise the open file limit: {e}");
        }
        let ns = NsCache::default();
        let home = ns.get(&cfg.home)?;
        Ok(Engine {
            mark: Mark::new(&cfg.instance),
            ovs: Ovs::new(cfg.ovs.clone(), &cfg.instance),
            forward_table: super::nft::forward::table_name(&cfg.instance),
            cfg,
            ns,
            home,
            bridges: Mutex::new(HashMap::new()),
            ledger: std::sync::Mutex::new(Ledger::default()),
        })
    }

    pub fn mark(&self) -> &Mark {
        &self.mark
    }

    pub(super) fn ledger(&self) -> MutexGuard<'_, Ledger> {
        // A panic while holding this lock cannot leave the ledger half
        // updated (every change is one map operation), so poison is moot.
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Who holds `name` in conlink's namespace, if this run created it
    /// (veth outer ends, bridges, tunnels). `None` for anything else,
    /// including a bridge that existed before conlink and is only used.
    pub fn owned(&self, name: &str) -> Option<Owned> {
        self.ledger().holder(name)
    }

    /// The open namespace of `target` (opened and cached on first use).
    pub fn netns(&self, target: &NsTarget) -> Result<Arc<Netns>> {
        self.ns.get(target)
    }

    /// conlink's own namespace.
    pub fn home(&self) -> &Arc<Netns> {
        &self.home
    }

    /// Drop the cached sockets of a namespace (they keep it alive): call when
    /// its container died.
    pub fn forget(&self, target: &NsTarget) {
        self.ns.forget(target);
    }

    // ----- bridges --------------------------------------------------------

    /// Make a bridge ready for ports: create/adopt a Linux bridge, check OVS,
    /// or open a patch. Idempotent.
    pub async fn ensure_bridge(&self, spec: &BridgeSpec) -> Result<()> {
        let mut bridges = self.bridges.lock().await;
        if bridges.contains_key(&spec.name) {
            return Ok(());
        }
        let state = match spec.mode {
            ResolvedBridgeMode::Linux => {
                check_ifname(&spec.name, "bridge")?;
                if let Some(h @ (Owned::Link(_) | Owned::Tunnel)) = self.owned(&spec.name) {
                    return Err(NetError::NameTaken {
                        holder: h.describe(&spec.name),
                        name: spec.name.clone(),
                    });
                }
                let (index, origin) =
                    bridge::ensure(self.home.rt(), &spec.name, &self.mark).await?;
                if origin.ours() {
                    self.ledger().add_bridge(&spec.name);
                }
                BridgeState::Linux {
                    index,
                    mac_pinned: false,
                }
            }
            ResolvedBridgeMode::Patch => BridgeState::Patch { ports: Vec::new() },
            ResolvedBridgeMode::Ovs => {
                if !super::ovs::kernel_has_openvswitch() {
                    return Err(NetError::KernelLacks {
                        module: "openvswitch",
                        needed_for: format!("ovs bridge {}", spec.name),
                    });
                }
                self.ovs.add_bridge(&spec.name).await?;
                BridgeState::Ovs
            }
        };
        bridges.insert(spec.name.clone(), state);
        Ok(())
    }

    /// The Linux bridge index to put in a create request, if `bridge` is one.
    async fn master_for(&self, bridge: Option<&str>) -> Result<Option<u32>> {
        let Some(name) = bridge else { return Ok(None) };
        match self.bridges.lock().await.get(name) {
            Some(BridgeState::Linux { index, .. }) => Ok(Some(*index)),
            Some(_) => Ok(None),
            None => Err(NetError::Invalid(format!(
                "bridge {name} is not set up (ensure_bridge first)"
            ))),
        }
    }

    /// After a port joined `bridge`: pin a Linux bridge's MAC once, join a
    /// patch once it has both ends, add an OVS port.
    async fn after_port_joined(&self, bridge: &str, port: &str) -> Result<()> {
        let pair: PatchPair = {
            let mut bridges = self.bridges.lock().await;
            match bridges.get_mut(bridge) {
                Some(BridgeState::Linux { mac_pinned, .. }) => {
                    if !*mac_pinned {
                        bridge::pin_mac(self.home.rt(), bridge).await?;
                        *mac_pinned = true;
                    }
                    None
                }
                Some(BridgeState::Patch { ports }) => {
                    if !ports.iter().any(|p| p == port) {
                        if ports.len() >= 2 {
                            return Err(NetError::Invalid(format!(
                                "patch {bridge} joins exactly two links; {} and {} are already in it, {port} is a third",
                                ports[0], ports[1]
                            )));
                        }
                        ports.push(port.to_owned());
                    }
                    (ports.len() == 2).then(|| (ports[0].clone(), ports[1].clone()))
                }
                Some(BridgeState::Ovs) => {
                    drop(bridges);
                    self.ovs.add_port(bridge, port).await?;
                    None
                }
                None => None,
            }
        };
        if let Some((a, b)) = pair {
            let rt = self.home.rt();
            let ia = rt.index_of(&a).await?;
            let ib = rt.index_of(&b).await?;
            patch::join(rt, (&a, ia), (&b, ib)).await?;
        }
        Ok(())
    }

    // ----- links ------------------------------------------------------------

    /// Create one link in `target` with all its properties. On failure the
    /// link is removed again and the error carries `context` (`container:dev`).
    pub async fn create_link(
        &self,
        target: &NsTarget,
        context: &str,
        spec: &LinkSpec,
    ) -> Result<CreatedLink> {
        let ns = self.ns.get(target).map_err(|e| e.in_link(context))?;
        let mut made = Made::default();
        match self.create_link_in(&ns, context, spec, &mut made).await {
            Ok(c) => Ok(c),
            Err(e) => {
                self.rollback(&made, &ns).await;
                Err(e.in_link(context))
            }
        }
    }

    async fn create_link_in(
        &self,
        ns: &Netns,
        id: &str,
        spec: &LinkSpec,
        made: &mut Made,
    ) -> Result<CreatedLink> {
        let dev = spec.dev.as_str();
        let what = format!("{} link {dev}", spec.kind.name());
        let lacks = |e: NetError| lacks_kind(e, spec.kind, &what);
        let mut pending_outer: Option<Pending> = None;
        let mut pending_no_ipv6: Option<Pending> = None;
        let index = match spec.kind {
            LinkKind::Veth => {
                let outer = spec
                    .outer_dev
                    .as_ref()
                    .ok_or_else(|| NetError::Invalid(format!("{what}: veth needs an outer-dev")))?;
                let master = self.master_for(spec.bridge.as_deref()).await?;
                let echoed = self
                    .create_veth(ns, id, spec, outer.as_str())
                    .await
                    .map_err(lacks)?;
                made.outer = Some(outer.to_string());
                let no_ipv6 = master.map(|_| {
                    self.home.rt().send(
                        format!("turn off IPv6 addresses of bridge port {outer}"),
                        RouteNetlinkMessage::SetLink(veth::outer_no_ipv6_message(outer.as_str())),
                        CHANGE,
                    )
                });
                let outer_up = self.home.rt().send(
                    format!("attach and set up {outer}"),
                    RouteNetlinkMessage::SetLink(veth::outer_message(
                        outer.as_str(),
                        master,
                        &self.mark.alias,
                    )),
                    CHANGE,
                );
                let index = match echoed.filter(|l| l.name() == Some(dev)) {
                    Some(l) => l.header.index,
                    None => ns.rt().index_of(dev).await?,
                };
                // The outer end's requests run on conlink's socket while the
                // inner end is configured on the target's.
                pending_no_ipv6 = no_ipv6;
                pending_outer = Some(outer_up);
                index
            }
            LinkKind::Dummy => {
                let rt = ns.rt();
                rt.ack(
                    format!("create dummy {dev}"),
                    RouteNetlinkMessage::NewLink(dummy::message(dev, spec.mtu, spec.mac)),
                    CREATE,
                )
                .await
                .map_err(lacks)?;
                made.inner = Some(dev.to_owned());
                let index = rt.index_of(dev).await?;
                rt.ack(
                    format!("set {dev} up"),
                    RouteNetlinkMessage::SetLink(LinkUnspec::new_with_index(index).up().build()),
                    CHANGE,
                )
                .await?;
                index
            }
            _ => self.create_stacked(ns, spec, &what, made).await?,
        };
        made.inner = Some(dev.to_owned());

        let configured = self.configure(ns, spec, index).await;
        if let Some(p) = pending_no_ipv6 {
            match p.ack().await {
                // No IPv6 in conlink's namespace: nothing to turn off.
                Err(e) if e.errno() == Some(libc::EAFNOSUPPORT) => {}
                r => r?,
            }
        }
        if let Some(p) = pending_outer {
            p.ack().await?;
        }
        configured?;

        if let (LinkKind::Veth, Some(b), Some(outer)) = (spec.kind, &spec.bridge, &spec.outer_dev) {
            self.after_port_joined(b, outer.as_str()).await?;
        }
        Ok(CreatedLink {
            dev: spec.dev.clone(),
            index,
            outer: spec
                .outer_dev
                .clone()
                .filter(|_| spec.kind == LinkKind::Veth),
        })
    }

    async fn create_stacked(
        &self,
        ns: &Netns,
        spec: &LinkSpec,
        what: &str,
        made: &mut Made,
    ) -> Result<u32> {
        let parent_name = spec.outer_dev.as_ref().ok_or_else(|| {
            NetError::Invalid(format!("{what}: needs a parent interface (outer-dev)"))
        })?;
        let host = self.ns.get(&self.cfg.host)?;
        let parent = host
            .rt()
            .link_by_name(parent_name.as_str())
            .await?
            .ok_or_else(|| {
                NetError::Invalid(format!(
                    "{what}: parent interface {parent_name} not found in the host namespace"
                ))
            })?;
        if let (Some(mtu), Some(pmtu)) = (spec.mtu, parent.mtu()) {
            if mtu > pmtu {
                return Err(NetError::Invalid(format!(
                    "{what}: mtu {mtu} exceeds the mtu {pmtu} of its parent {parent_name}"
                )));
            }
        }
        let tmp = link::temp_name();
        let msg = stacked::message(&stacked::StackedRequest {
            kind: spec.kind,
            name: &tmp,
            parent_index: parent.header.index,
            target_fd: Some(ns.raw_fd()),
            mtu: spec.mtu,
            mac: spec.mac,
        })
        .ok_or_else(|| NetError::Invalid(format!("{what}: not a stacked kind")))?;
        host.rt()
            .ack(
                format!("create {what} on {parent_name}"),
                RouteNetlinkMessage::NewLink(msg),
                CREATE,
            )
            .await
            .map_err(|e| lacks_kind(e, spec.kind, what))?;
        made.inner = Some(tmp.clone());
        let index = ns.rt().index_of(&tmp).await?;
        ns.rt()
            .ack(
                format!("rename {tmp} to {}", spec.dev),
                RouteNetlinkMessage::SetLink(stacked::rename_up_message(index, spec.dev.as_str())),
                CHANGE,
            )
            .await?;
        Ok(index)
    }

    /// Address, routes, offloads, netem and NAT of a link that exists and is up.
    async fn configure(&self, ns: &Netns, spec: &LinkSpec, index: u32) -> Result<()> {
        let dev = spec.dev.as_str();
        let rt = ns.rt();
        // Route devices other than the link's own, looked up before anything
        // is sent so the address and routes go out back to back.
        let mut oifs = Vec::with_capacity(spec.routes.len());
        for r in &spec.routes {
            oifs.push(route_apply::devices(rt, r, &spec.dev, index).await?);
        }
        let mut pending: Vec<Pending> = Vec::new();
        for &ip in &spec.ip {
            pending.push(addr_apply::add(rt, index, ip, dev));
        }
        for (r, oif) in spec.routes.iter().zip(oifs) {
            pending.push(route_apply::add(rt, r, oif));
        }
        for res in join_all(pending.into_iter().map(Pending::ack)).await {
            res?;
        }

        if spec.kind == LinkKind::Veth && !self.cfg.keep_veth_offload {
            let off = Offload {
                feature: OffloadFeature::Tx,
                enabled: false,
            };
            offload::set(ns.ioctl_fd(), dev, off)?;
        }
        for o in &spec.offloads {
            offload::set(ns.ioctl_fd(), dev, *o)?;
        }
        if let Some(netem) = &spec.netem {
            super::tc::netem::apply(rt, index, dev, netem).await?;
        }
        // NAT pairs `nat` with the link's first address of its family.
        if let Some(nat) = spec.nat {
            if let Some(ip) = spec.ip.iter().find(|n| n.is_ipv6() == nat.is_ipv6()) {
                super::nft::nat::apply(ns, dev, ip.addr(), nat)?;
            }
        }
        Ok(())
    }

    // ----- tunnels ------------------------------------------------------------

    /// Create `<type>-<vni>` in conlink's namespace and attach it to its
    /// bridge. An interface of that name that is not ours is never
    /// replaced ([`NetError::NameTaken`]); one carrying our alias that this
    /// run did not create (an earlier run's) is.
    pub async fn create_tunnel(&self, spec: &TunnelSpec) -> Result<IfName> {
        let name = spec.dev_name();
        let ifname: IfName = name
            .parse()
            .map_err(|e| NetError::Invalid(format!("tunnel name {name}: {e}")))?;
        let master = self.master_for(Some(&spec.bridge)).await?;
        let rt = self.home.rt();
        let what = format!("tunnel {name}");
        let mut removed = false;
        let index = loop {
            let created = rt
                .create_link_echo(
                    format!("create {what} to {}", spec.remote),
                    tunnel::create_message(spec, master, self.mark.group),
                )
                .await;
            match created {
                Ok(echoed) => {
                    self.ledger().add_tunnel(&name);
                    break echoed
                        .filter(|l| l.name() == Some(name.as_str()))
                        .map(|l| l.header.index);
                }
                Err(e) if e.errno() == Some(libc::EEXIST) && !removed => {
                    // An earlier run's is removed (once); anything else stays.
                    let Some(index) = self.tunnel_clash(&name).await? else {
                        // The name is free: the kernel allows one device per
                        // VNI and port, and another one has this VNI.
                        return Err(NetError::kernel(
                            format!(
                                "create {what}: another {} device in conlink's namespace already uses VNI {}",
                                tunnel::kernel_module(spec.kind),
                                spec.vni
                            ),
                            libc::EEXIST,
                        ));
                    };
                    tracing::debug!("removing stale {name} left by an earlier run");
                    delete_index(rt, index, &name).await?;
                    removed = true;
                }
                Err(e) if e.errno() == Some(libc::EOPNOTSUPP) => {
                    return Err(NetError::KernelLacks {
                        module: tunnel::kernel_module(spec.kind),
                        needed_for: what,
                    });
                }
                Err(e) => return Err(e),
            }
        };
        let rest = async {
            let index = match index {
                Some(i) => i,
                None => rt.index_of(&name).await?,
            };
            rt.ack(
                format!("mark {name}"),
                RouteNetlinkMessage::SetLink(
                    LinkUnspec::new_with_index(index)
                        .alias(self.mark.alias.clone())
                        .build(),
                ),
                CHANGE,
            )
            .await?;
            if let Some(netem) = &spec.netem {
                super::tc::netem::apply(rt, index, &name, netem).await?;
            }
            self.after_port_joined(&spec.bridge, &name).await
        };
        if let Err(e) = rest.await {
            let _ = delete_by_name(rt, &name).await;
            self.ledger().forget(&name);
            return Err(e.in_link(what));
        }
        Ok(ifname)
    }

    // ----- forwards -----------------------------------------------------------

    /// Port forward from `ext_dev` (conlink's docker-facing interface) on
    /// `fwd.conlink_port` to `ip:fwd.port`: a /32 route to `ip` over
    /// `bridge`, IPv4 forwarding on, DNAT in and masquerade out (the source
    /// becomes conlink's address on `ext_dev`; the target needs a route back
    /// to it, which the daemon adds as a link route).
    pub async fn add_forward(
        &self,
        ext_dev: &str,
        bridge: &str,
        ip: std::net::IpAddr,
        fwd: &super::spec::Forward,
    ) -> Result<()> {
        use super::addr::{IpNet, Ipv4Net, Ipv6Net};
        let rt = self.home.rt();
        let br = rt.index_of(bridge).await?;
        let host = match ip {
            std::net::IpAddr::V4(a) => Ipv4Net::new(a, 32).map(IpNet::V4),
            std::net::IpAddr::V6(a) => Ipv6Net::new(a, 128).map(IpNet::V6),
        };
        let host_route = super::route::Route {
            dst: super::route::RouteDst::Net(
                host.ok_or_else(|| NetError::Invalid(format!("forward to {ip}")))?,
            ),
            ..Default::default()
        };
        match route_apply::add(rt, &host_route, br).ack().await {
            Err(e) if e.errno() == Some(libc::EEXIST) => {}
            r => r?,
        }
        let (key, fam, sysctl) = if ip.is_ipv6() {
            (
                "net/ipv6/conf/all/forwarding",
                "IPv6",
                "net.ipv6.conf.all.forwarding",
            )
        } else {
            ("net/ipv4/ip_forward", "IPv4", "net.ipv4.ip_forward")
        };
        self.home
            .set_sysctl(key, "1")
            .map_err(|e| match e.errno() {
                Some(libc::EROFS) => NetError::Invalid(format!(
                    "forwarding needs {fam} forwarding in conlink's namespace and /proc/sys is read-only there: \
                     set `sysctls: {sysctl}: 1` on the conlink service ({e})"
                )),
                _ => e,
            })?;
        super::nft::forward::add(&self.home, &self.forward_table, ext_dev, bridge, ip, fwd)
    }

    /// Answer neighbour solicitations for `addr` (conlink's own IPv6
    /// address on its docker-facing interface) on `bridge`: the IPv6 form
    /// of what the kernel does by itself for IPv4 ARP. Forwarded IPv6
    /// traffic is masqueraded to that address, and the target's replies
    /// reach it over the bridge only if someone answers for it there.
    /// The entry goes with the bridge.
    pub async fn proxy_ndp(&self, bridge: &str, addr: std::net::Ipv6Addr) -> Result<()> {
        use netlink_packet_route::neighbour::{
            NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
        };
        let rt = self.home.rt();
        let br = rt.index_of(bridge).await?;
        // Per bridge, or for all interfaces (`all` is what a container can
        // get through compose `sysctls:`, its /proc/sys being read-only).
        if let Err(e) = self
            .home
            .set_sysctl(&format!("net/ipv6/conf/{bridge}/proxy_ndp"), "1")
        {
            self.home
                .set_sysctl("net/ipv6/conf/all/proxy_ndp", "1")
                .map_err(|_| match e.errno() {
                    Some(libc::EROFS) => NetError::Invalid(format!(
                        "IPv6 forwards need proxy NDP in conlink's namespace and /proc/sys is \
                         read-only there: set `sysctls: net.ipv6.conf.all.proxy_ndp: 1` on the \
                         conlink service ({e})"
                    )),
                    _ => e,
                })?;
        }
        let mut m = NeighbourMessage::default();
        m.header.family = netlink_packet_route::AddressFamily::Inet6;
        m.header.ifindex = br;
        m.header.state = NeighbourState::Permanent;
        m.header.flags = NeighbourFlags::Proxy;
        m.attributes
            .push(NeighbourAttribute::Destination(NeighbourAddress::Inet6(
                addr,
            )));
        match rt
            .ack(
                format!("proxy neighbour {addr} on {bridge}"),
                RouteNetlinkMessage::NewNeighbour(m),
                CREATE,
            )
            .await
        {
            Err(e) if e.errno() == Some(libc::EEXIST) => Ok(()),
            r => r,
        }
    }
}

/// What one `create_link` made so far, for rollback.
#[derive(Default)]
struct Made {
    /// veth outer end in conlink's namespace (deleting it takes the peer).
    outer: Option<String>,
    /// The link in the target namespace (dummy, stacked; name at the time).
    inner: Option<String>,
}

impl Engine {
    /// Undo a failed `create_link`.
    async fn rollback(&self, made: &Made, ns: &Netns) {
        if let Some(outer) = &made.outer {
            if let Err(e) = delete_by_name(self.home.rt(), outer).await {
                tracing::warn!("rollback: delete {outer}: {e}");
            }
            self.forget_outer(outer).await;
        } else if let Some(inner) = &made.inner {
            if let Err(e) = delete_by_name(ns.rt(), inner).await {
                tracing::warn!("rollback: delete {inner}: {e}");
            }
        }
    }
}

pub(super) async fn delete_by_name(rt: &Rt, name: &str) -> Result<()> {
    let msg = LinkUnspec::new_with_name(name).build();
    match rt
        .ack(
            format!("delete {name}"),
            RouteNetlinkMessage::DelLink(msg),
            CHANGE,
        )
        .await
    {
        Err(e) if e.errno() == Some(libc::ENODEV) => Ok(()),
        r => r,
    }
}

fn check_ifname(name: &str, what: &str) -> Result<()> {
    name.parse::<IfName>()
        .map(|_| ())
        .map_err(|e| NetError::Invalid(format!("{what} name {name}: {e}")))
}

/// The kernel module behind a link kind (what `modprobe` would load).
pub fn kind_module(kind: LinkKind) -> &'static str {
    match kind {
        LinkKind::Veth => "veth",
        LinkKind::Dummy => "dummy",
        LinkKind::Vlan { .. } => "8021q",
        LinkKind::Macvlan { .. } => "macvlan",
        LinkKind::Macvtap { .. } => "macvtap",
        LinkKind::Ipvlan { .. } => "ipvlan",
        LinkKind::Ipvtap { .. } => "ipvtap",
    }
}

/// RTM_NEWLINK answers EOPNOTSUPP ("Unknown device type") for a kind the
/// kernel has no driver for.
fn lacks_kind(e: NetError, kind: LinkKind, what: &str) -> NetError {
    if e.errno() == Some(libc::EOPNOTSUPP) {
        NetError::KernelLacks {
            module: kind_module(kind),
            needed_for: what.to_owned(),
        }
    } else {
        e
    }
}
