//! Patch "bridges": exactly two links joined by tc, no bridge in between.
//! Each end gets an ingress qdisc and a u32 match-all filter whose mirred
//! action redirects every frame out of the other end, so frames a Linux
//! bridge would swallow (STP BPDUs, LLDP, 802.1X) pass too.

use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::tc::{
    TcAction, TcActionAttribute, TcActionGeneric, TcActionMirror, TcActionMirrorOption,
    TcActionOption, TcActionType, TcAttribute, TcFilterU32, TcFilterU32Option, TcHandle, TcMessage,
    TcMirror, TcMirrorActionType, TcOption, TcU32Key, TcU32Selector, TcU32SelectorFlags,
};

use super::errors::{NetError, Result};
use super::handle::{CHANGE, CREATE, Rt};

/// ETH_P_ALL, as tc wants it: in network byte order.
const ETH_P_ALL_BE: u16 = (libc::ETH_P_ALL as u16).to_be();
const FILTER_PRIO: u16 = 1;
/// `parent ffff:` — the ingress qdisc.
const INGRESS_PARENT: u32 = 0xffff_0000;

/// `tc qdisc add dev INDEX ingress`.
fn ingress_qdisc(index: u32) -> TcMessage {
    let mut m = TcMessage::with_index(index as i32);
    m.header.parent = TcHandle::INGRESS;
    m.header.handle = TcHandle::from(0xffff_0000);
    m.attributes.push(TcAttribute::Kind("ingress".to_string()));
    m
}

/// `tc filter add dev FROM parent ffff: protocol all prio 1 u32 match u8 0
/// 0 action mirred egress redirect dev TO`.
fn redirect_filter(from: u32, to: u32) -> TcMessage {
    let mut m = TcMessage::with_index(from as i32);
    m.header.parent = INGRESS_PARENT.into();
    m.header.info = u32::from(TcHandle {
        major: FILTER_PRIO,
        minor: ETH_P_ALL_BE,
    });
    let mut sel = TcU32Selector::default();
    sel.flags = TcU32SelectorFlags::Terminal;
    sel.nkeys = 1;
    sel.keys = vec![TcU32Key::default()];
    let mut mirred = TcMirror::default();
    mirred.generic = TcActionGeneric::default();
    mirred.generic.action = TcActionType::Stolen;
    mirred.eaction = TcMirrorActionType::EgressRedir;
    mirred.ifindex = to;
    let mut action = TcAction::default();
    action.attributes = vec![
        TcActionAttribute::Kind(TcActionMirror::KIND.to_string()),
        TcActionAttribute::Options(vec![TcActionOption::Mirror(TcActionMirrorOption::Parms(
            mirred,
        ))]),
    ];
    m.attributes
        .push(TcAttribute::Kind(TcFilterU32::KIND.to_string()));
    m.attributes.push(TcAttribute::Options(vec![
        TcOption::U32(TcFilterU32Option::Selector(sel)),
        TcOption::U32(TcFilterU32Option::Action(vec![action])),
    ]));
    m
}

/// Redirect everything arriving on `from` to egress of `to`. Idempotent:
/// an existing ingress qdisc is kept, an old filter (which may point at a
/// previous incarnation of `to`) is replaced.
pub async fn redirect(rt: &Rt, from: (&str, u32), to: (&str, u32)) -> Result<()> {
    let (from_name, from_idx) = from;
    let (to_name, to_idx) = to;
    let lacks = |module: &'static str| NetError::KernelLacks {
        module,
        needed_for: format!("patch {from_name}-{to_name}"),
    };
    match rt
        .ack(
            format!("add ingress qdisc on {from_name}"),
            RouteNetlinkMessage::NewQueueDiscipline(ingress_qdisc(from_idx)),
            CREATE,
        )
        .await
    {
        Ok(()) => {}
        Err(e) if e.errno() == Some(libc::ENOENT) => return Err(lacks("sch_ingress")),
        Err(e) if e.errno() == Some(libc::EEXIST) => {}
        Err(e) => return Err(e),
    }
    // Remove earlier filters of ours (ENOENT when there are none).
    let mut del = TcMessage::with_index(from_idx as i32);
    del.header.parent = INGRESS_PARENT.into();
    match rt
        .ack(
            format!("clear filters of {from_name}"),
            RouteNetlinkMessage::DelTrafficFilter(del),
            CHANGE,
        )
        .await
    {
        Err(e) if !matches!(e.errno(), Some(libc::ENOENT) | Some(libc::EINVAL)) => return Err(e),
        _ => {}
    }
    rt.ack(
        format!("redirect {from_name} to {to_name}"),
        RouteNetlinkMessage::NewTrafficFilter(redirect_filter(from_idx, to_idx)),
        CREATE,
    )
    .await
    .map_err(|e| {
        if e.errno() == Some(libc::ENOENT) || e.errno() == Some(libc::EOPNOTSUPP) {
            lacks("cls_u32/act_mirred")
        } else {
            e
        }
    })
}

/// Join two links both ways.
pub async fn join(rt: &Rt, a: (&str, u32), b: (&str, u32)) -> Result<()> {
    redirect(rt, a, b).await?;
    redirect(rt, b, a).await
}
