//! Typed tc-netem options (`netem:` in config, tc-netem syntax such as
//! `"delay 40ms 10ms 25% loss 0.3% rate 10mbit"`). The config parser builds
//! a [`Netem`]; the link engine encodes it as a root `netem` qdisc
//! (`tc_netem_qopt` plus TCA_NETEM_* attributes).

use std::time::Duration;

use serde::Serialize;

/// A percentage in 0–100, as tc writes it (`0.3%`).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
pub struct Percent(f64);

impl Percent {
    pub fn new(p: f64) -> Option<Self> {
        (p.is_finite() && (0.0..=100.0).contains(&p)).then_some(Self(p))
    }
    pub fn value(self) -> f64 {
        self.0
    }
}

/// `PERCENT [CORRELATION]` as used by loss random, duplicate, corrupt, reorder.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Chance {
    pub percent: Percent,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation: Option<Percent>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Distribution {
    Uniform,
    Normal,
    Pareto,
    Paretonormal,
}

/// `delay TIME [JITTER [CORRELATION]]`
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Delay {
    pub latency: Duration,
    pub jitter: Duration,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation: Option<Percent>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Loss {
    /// `loss [random] PERCENT [CORRELATION]`
    Random(Chance),
    /// `loss state P13 [P31 [P32 [P23 [P14]]]]` (4-state Markov model);
    /// omitted values take tc's defaults (p31 = 100 − p13, others 0 / 100).
    State {
        p13: Percent,
        p31: Percent,
        p32: Percent,
        p23: Percent,
        p14: Percent,
    },
    /// `loss gemodel P [R [1-H [1-K]]]` (Gilbert–Elliott); omitted values take
    /// tc's defaults (r = 100 − p, 1-h = 100, 1-k = 0).
    Gemodel {
        p: Percent,
        r: Percent,
        h: Percent,
        k1: Percent,
    },
}

/// `reorder PERCENT [CORRELATION] [gap DISTANCE]` (needs a delay to act).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Reorder {
    pub chance: Chance,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gap: Option<u32>,
}

/// `rate RATE [PACKETOVERHEAD [CELLSIZE [CELLOVERHEAD]]]`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rate {
    pub bytes_per_sec: u64,
    pub packet_overhead: i32,
    pub cell_size: u32,
    pub cell_overhead: i32,
}

/// `slot MIN_DELAY [MAX_DELAY] [packets N] [bytes N]` or
/// `slot distribution DIST DELAY JITTER [packets N] [bytes N]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Slot {
    pub kind: SlotKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_packets: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SlotKind {
    Range {
        min_delay: Duration,
        max_delay: Duration,
    },
    Distribution {
        distribution: Distribution,
        delay: Duration,
        jitter: Duration,
    },
}

/// Every netem option conlink accepts. All absent = a plain netem qdisc.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Netem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay: Option<Delay>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distribution: Option<Distribution>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loss: Option<Loss>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<Chance>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corrupt: Option<Chance>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reorder: Option<Reorder>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<Rate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slot: Option<Slot>,
}
