//! Patch "bridges": exactly two links joined by tc, no bridge in between.
//! Each end gets an ingress qdisc and a u32 match-all filter whose mirred
//! action redirects every frame out of the other end, so frames a Linux
//! bridge would swallow (STP BPDUs, LLDP, 802.1X) pass too.

use super::errors::{NetError, Result};
use super::handle::Rt;

/// ETH_P_ALL, as tc wants it: in network byte order.
const ETH_P_ALL_BE: u16 = (libc::ETH_P_ALL as u16).to_be();
const FILTER_PRIO: u16 = 1;
/// `parent ffff:` — the ingress qdisc.
const INGRESS_PARENT: u32 = 0xffff_0000;

/// Redirect everything arriving on `from` to egress of `to`. Idempotent:
/// an existing ingress qdisc is kept, an old filter (which may point at a
/// previous incarnation of `to`) is replaced.
pub async fn redirect(rt: &Rt, from: (&str, u32), to: (&str, u32)) -> Result<()> {
    let (from_name, from_idx) = from;
    let (to_name, to_idx) = to;
    let h = rt.handle().clone();
    match h.qdisc().add(from_idx as i32).ingress().execute().await {
        Ok(()) => {}
        Err(e) => {
            let e = NetError::from_rtnl(format!("add ingress qdisc on {from_name}"), e);
            if e.errno() == Some(libc::ENOENT) {
                return Err(NetError::KernelLacks {
                    module: "sch_ingress",
                    needed_for: format!("patch {from_name}-{to_name}"),
                });
            }
            if e.errno() != Some(libc::EEXIST) {
                return Err(e);
            }
        }
    }
    // Remove earlier filters of ours (ENOENT when there are none).
    let del = h
        .traffic_filter(from_idx as i32)
        .del()
        .parent(INGRESS_PARENT)
        .execute()
        .await;
    if let Err(e) = del {
        let e = NetError::from_rtnl(format!("clear filters of {from_name}"), e);
        if !matches!(e.errno(), Some(libc::ENOENT) | Some(libc::EINVAL)) {
            return Err(e);
        }
    }
    h.traffic_filter(from_idx as i32)
        .add()
        .parent(INGRESS_PARENT)
        .priority(FILTER_PRIO)
        .protocol(ETH_P_ALL_BE)
        .redirect(to_idx)
        .map_err(|e| NetError::from_rtnl("build redirect filter", e))?
        .execute()
        .await
        .map_err(|e| {
            let e = NetError::from_rtnl(format!("redirect {from_name} to {to_name}"), e);
            if e.errno() == Some(libc::ENOENT) || e.errno() == Some(libc::EOPNOTSUPP) {
                NetError::KernelLacks {
                    module: "cls_u32/act_mirred",
                    needed_for: format!("patch {from_name}-{to_name}"),
                }
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
