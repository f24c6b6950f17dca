//! The netem root qdisc, encoded here because rtnetlink has no netem
//! options: TCA_OPTIONS holds `struct tc_netem_qopt` followed directly by
//! TCA_NETEM_* attributes, in the order iproute2 sends them (checked byte
//! for byte against captured `tc` requests in tests/fixtures/netlink).
//! Distribution tables come from [`super::netem_dist`].

use netlink_packet_core::DefaultNla;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::tc::{TcAttribute, TcHandle, TcHeader, TcMessage};

use crate::net::errors::{NetError, Result};
use crate::net::handle::Rt;
use crate::net::netem::{Loss, Netem, Percent, SlotKind};
use crate::net::tc::netem_dist;

const TCA_OPTIONS: u16 = 2;
const TCA_NETEM_CORR: u16 = 1;
const TCA_NETEM_DELAY_DIST: u16 = 2;
const TCA_NETEM_REORDER: u16 = 3;
const TCA_NETEM_CORRUPT: u16 = 4;
const TCA_NETEM_LOSS: u16 = 5;
const TCA_NETEM_RATE: u16 = 6;
const TCA_NETEM_RATE64: u16 = 8;
const TCA_NETEM_SLOT: u16 = 12;
const TCA_NETEM_SLOT_DIST: u16 = 13;
const NETEM_LOSS_GI: u16 = 1;
const NETEM_LOSS_GE: u16 = 2;
const NLA_F_NESTED: u16 = 0x8000;
/// tc's default queue limit in packets.
const DEFAULT_LIMIT: u32 = 1000;
/// psched ticks per microsecond: the kernel reports t2us=1000, us2t=64 in
/// /proc/net/psched (fixed since PSCHED_SHIFT 6), so 1000/64.
const TICKS_PER_US: f64 = 15.625;

/// A probability as the kernel wants it: a fraction of u32::MAX, rounded
/// the way iproute2's rint() does (ties to even).
fn prob(p: Percent) -> u32 {
    (p.value() / 100.0 * f64::from(u32::MAX)).round_ties_even() as u32
}

fn opt_prob(p: Option<Percent>) -> u32 {
    p.map(prob).unwrap_or(0)
}

fn ticks(d: std::time::Duration, what: &str) -> Result<u32> {
    let t = (d.as_micros() as f64 * TICKS_PER_US) as u64;
    u32::try_from(t).map_err(|_| NetError::Invalid(format!("netem {what} {d:?} is too long")))
}

fn nanos(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

fn push_attr(buf: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let len = 4 + value.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(value);
    buf.resize(buf.len() + ((4 - len % 4) % 4), 0);
}

fn words(ws: &[u32]) -> Vec<u8> {
    ws.iter().flat_map(|w| w.to_ne_bytes()).collect()
}

/// The TCA_OPTIONS payload for `n`.
pub fn options(n: &Netem) -> Result<Vec<u8>> {
    let latency = n
        .delay
        .map(|d| ticks(d.latency, "delay"))
        .transpose()?
        .unwrap_or(0);
    let jitter = n
        .delay
        .map(|d| ticks(d.jitter, "jitter"))
        .transpose()?
        .unwrap_or(0);
    // `uniform` needs no table: without one netem draws jitter uniformly.
    let delay_dist = n.distribution.and_then(netem_dist::table);
    if delay_dist.is_some() && (latency == 0 || jitter == 0) {
        // tc refuses this too ("distribution specified but no latency and
        // jitter values").
        return Err(NetError::Invalid(
            "netem distribution needs a delay and a jitter that are not zero".into(),
        ));
    }
    let loss = match n.loss {
        Some(Loss::Random(c)) => prob(c.percent),
        _ => 0,
    };
    let gap = match n.reorder {
        Some(r) if r.chance.percent.value() > 0.0 => {
            if latency == 0 {
                return Err(NetError::Invalid("netem reorder needs a delay".into()));
            }
            r.gap.unwrap_or(1)
        }
        Some(r) => r.gap.unwrap_or(0),
        None => 0,
    };
    // struct tc_netem_qopt { latency, limit, loss, gap, duplicate, jitter }
    let mut buf = words(&[
        latency,
        n.limit.unwrap_or(DEFAULT_LIMIT),
        loss,
        gap,
        n.duplicate.map(|c| prob(c.percent)).unwrap_or(0),
        jitter,
    ]);

    let delay_corr = n.delay.and_then(|d| d.correlation);
    let loss_corr = match n.loss {
        Some(Loss::Random(c)) => c.correlation,
        _ => None,
    };
    let dup_corr = n.duplicate.and_then(|c| c.correlation);
    if delay_corr.is_some() || loss_corr.is_some() || dup_corr.is_some() {
        push_attr(
            &mut buf,
            TCA_NETEM_CORR,
            &words(&[
                opt_prob(delay_corr),
                opt_prob(loss_corr),
                opt_prob(dup_corr),
            ]),
        );
    }
    if let Some(r) = n.reorder {
        push_attr(
            &mut buf,
            TCA_NETEM_REORDER,
            &words(&[prob(r.chance.percent), opt_prob(r.chance.correlation)]),
        );
    }
    if let Some(c) = n.corrupt {
        push_attr(
            &mut buf,
            TCA_NETEM_CORRUPT,
            &words(&[prob(c.percent), opt_prob(c.correlation)]),
        );
    }
    let mut slot_dist = None;
    if let Some(s) = n.slot {
        let t = slot_timing(s.kind)?;
        slot_dist = t.table;
        // struct tc_netem_slot { s64 min_delay, max_delay; s32 max_packets,
        // max_bytes; s64 dist_delay, dist_jitter }
        let mut v = Vec::with_capacity(40);
        v.extend_from_slice(&t.min_delay.to_ne_bytes());
        v.extend_from_slice(&t.max_delay.to_ne_bytes());
        v.extend_from_slice(&(s.max_packets.unwrap_or(0) as i32).to_ne_bytes());
        v.extend_from_slice(&(s.max_bytes.unwrap_or(0) as i32).to_ne_bytes());
        v.extend_from_slice(&t.dist_delay.to_ne_bytes());
        v.extend_from_slice(&t.dist_jitter.to_ne_bytes());
        push_attr(&mut buf, TCA_NETEM_SLOT, &v);
    }
    match n.loss {
        Some(Loss::State {
            p13,
            p31,
            p32,
            p23,
            p14,
        }) => {
            let mut inner = Vec::new();
            // struct tc_netem_gimodel { p13, p31, p32, p14, p23 }
            push_attr(
                &mut inner,
                NETEM_LOSS_GI,
                &words(&[prob(p13), prob(p31), prob(p32), prob(p14), prob(p23)]),
            );
            push_attr(&mut buf, TCA_NETEM_LOSS | NLA_F_NESTED, &inner);
        }
        Some(Loss::Gemodel { p, r, h, k1 }) => {
            let mut inner = Vec::new();
            // struct tc_netem_gemodel { p, r, h, k1 }: config gives "1-h"
            // (`h` here) like tc, the kernel wants h itself.
            push_attr(
                &mut inner,
                NETEM_LOSS_GE,
                &words(&[prob(p), prob(r), u32::MAX - prob(h), prob(k1)]),
            );
            push_attr(&mut buf, TCA_NETEM_LOSS | NLA_F_NESTED, &inner);
        }
        _ => {}
    }
    if let Some(r) = n.rate {
        let rate32 = match u32::try_from(r.bytes_per_sec) {
            Ok(v) => v,
            Err(_) => {
                push_attr(&mut buf, TCA_NETEM_RATE64, &r.bytes_per_sec.to_ne_bytes());
                u32::MAX
            }
        };
        // struct tc_netem_rate { u32 rate; s32 packet_overhead; u32
        // cell_size; s32 cell_overhead }
        let mut v = Vec::with_capacity(16);
        v.extend_from_slice(&rate32.to_ne_bytes());
        v.extend_from_slice(&r.packet_overhead.to_ne_bytes());
        v.extend_from_slice(&r.cell_size.to_ne_bytes());
        v.extend_from_slice(&r.cell_overhead.to_ne_bytes());
        push_attr(&mut buf, TCA_NETEM_RATE, &v);
    }
    // The tables go last, delay before slot, as tc sends them.
    if let Some(t) = delay_dist {
        push_attr(&mut buf, TCA_NETEM_DELAY_DIST, &netem_dist::payload(t));
    }
    if let Some(t) = slot_dist {
        push_attr(&mut buf, TCA_NETEM_SLOT_DIST, &netem_dist::payload(t));
    }
    Ok(buf)
}

/// The timing half of `struct tc_netem_slot` (all in ns) and the table
/// that goes with it: the kernel uses either the range or the table.
#[derive(Debug, Default, PartialEq)]
struct SlotTiming {
    min_delay: i64,
    max_delay: i64,
    dist_delay: i64,
    dist_jitter: i64,
    table: Option<&'static [i16]>,
}

fn slot_timing(kind: SlotKind) -> Result<SlotTiming> {
    let (distribution, delay, jitter) = match kind {
        SlotKind::Range {
            min_delay,
            max_delay,
        } => {
            return Ok(SlotTiming {
                min_delay: nanos(min_delay),
                max_delay: nanos(max_delay),
                ..Default::default()
            });
        }
        SlotKind::Distribution {
            distribution,
            delay,
            jitter,
        } => (distribution, nanos(delay), nanos(jitter)),
    };
    if jitter == 0 {
        // tc refuses it too ("Non-positive jitter").
        return Err(NetError::Invalid(
            "netem slot distribution needs a jitter that is not zero".into(),
        ));
    }
    Ok(match netem_dist::table(distribution) {
        // The kernel draws from the table with the jitter as an s32.
        Some(_) if jitter > i64::from(i32::MAX) => {
            return Err(NetError::Invalid(format!(
                "netem slot distribution jitter {jitter}ns is too long (at most 2.147s)"
            )));
        }
        Some(table) => SlotTiming {
            dist_delay: delay,
            dist_jitter: jitter,
            table: Some(table),
            ..Default::default()
        },
        // Without a table the kernel draws a slot uniformly only from the
        // [min, max) range, so `uniform` becomes delay ± jitter there
        // (what a table-less jitter means for packet delays too).
        None => SlotTiming {
            min_delay: delay.saturating_sub(jitter).max(0),
            max_delay: delay.saturating_add(jitter),
            ..Default::default()
        },
    })
}

/// RTM_NEWQDISC: netem as root qdisc of `index`.
pub fn message(index: u32, n: &Netem) -> Result<TcMessage> {
    let mut msg = TcMessage::default();
    msg.header = TcHeader::default();
    msg.header.index = index as i32;
    msg.header.parent = TcHandle::ROOT;
    msg.attributes.push(TcAttribute::Kind("netem".into()));
    msg.attributes.push(TcAttribute::Other(DefaultNla::new(
        TCA_OPTIONS,
        options(n)?,
    )));
    Ok(msg)
}

/// Install (or replace) netem as the root qdisc of `dev`.
pub async fn apply(rt: &Rt, index: u32, dev: &str, n: &Netem) -> Result<()> {
    use netlink_packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_REPLACE, NLM_F_REQUEST};
    let msg = message(index, n)?;
    rt.ack(
        format!("add netem qdisc on {dev}"),
        RouteNetlinkMessage::NewQueueDiscipline(msg),
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
    )
    .await
    .map_err(|e| {
        // "Specified qdisc kind is unknown."
        if e.errno() == Some(libc::ENOENT) {
            NetError::KernelLacks {
                module: "sch_netem",
                needed_for: format!("netem on {dev}"),
            }
        } else {
            e
        }
    })
}
