//! tc-netem options (`netem:` on links and tunnels) → [`Netem`], with tc's
//! grammar: `limit N`, `delay|latency TIME [JITTER [CORR]]`, `distribution
//! uniform|normal|pareto|paretonormal`, `loss|drop [random] P [CORR]`,
//! `loss state P13 [P31 [P32 [P23 [P14]]]]`, `loss gemodel P [R [1-H
//! [1-K]]]`, `duplicate P [CORR]`, `corrupt P [CORR]`, `reorder P [CORR]`
//! with `gap N`, `rate RATE [OVERHEAD [CELLSIZE [CELLOVERHEAD]]]`, `slot MIN
//! [MAX] [packets N] [bytes N]` or `slot distribution DIST DELAY JITTER …`.
//! As in tc, an optional positional value is taken when the next word starts
//! with a digit. `ecn` and `seed` are not supported and say so.

use std::time::Duration;

use crate::net::netem::{
    Chance, Delay, Distribution, Loss, Netem, Percent, Rate, Reorder, Slot, SlotKind,
};

use super::units::{parse_int, parse_percent, parse_rate, parse_time};

struct Words<'a> {
    words: Vec<&'a str>,
    pos: usize,
}

impl<'a> Words<'a> {
    fn next(&mut self) -> Option<&'a str> {
        let w = self.words.get(self.pos).copied();
        self.pos += 1;
        w
    }
    fn need(&mut self, what: &str, after: &str) -> Result<&'a str, String> {
        self.next().ok_or_else(|| format!("`{after}` needs {what}"))
    }
    /// The next word if it starts with a digit (tc's NEXT_IS_NUMBER).
    fn number(&mut self) -> Option<&'a str> {
        let w = self.words.get(self.pos)?;
        w.starts_with(|c: char| c.is_ascii_digit()).then(|| {
            self.pos += 1;
            *w
        })
    }
    /// Like [`Words::number`] but also `-N` (overheads may be negative).
    fn signed(&mut self) -> Option<&'a str> {
        let w = self.words.get(self.pos)?;
        let digits = w.strip_prefix('-').unwrap_or(w);
        digits.starts_with(|c: char| c.is_ascii_digit()).then(|| {
            self.pos += 1;
            *w
        })
    }
    fn peek(&self) -> Option<&'a str> {
        self.words.get(self.pos).copied()
    }
}

fn distribution(s: &str) -> Result<Distribution, String> {
    Ok(match s {
        "uniform" => Distribution::Uniform,
        "normal" => Distribution::Normal,
        "pareto" => Distribution::Pareto,
        "paretonormal" => Distribution::Paretonormal,
        _ => {
            return Err(format!(
                "unknown distribution `{s}` (uniform, normal, pareto, paretonormal)"
            ));
        }
    })
}

/// A derived default such as `100 - p` (always finite, clamped into range).
fn pct(p: f64) -> Percent {
    match Percent::new(p.clamp(0.0, 100.0)) {
        Some(p) => p,
        None => unreachable!("finite values clamped to 0..=100 are valid percents"),
    }
}

fn chance(w: &mut Words<'_>, after: &str) -> Result<Chance, String> {
    let percent = parse_percent(w.need("a percentage", after)?)?;
    let correlation = w.number().map(parse_percent).transpose()?;
    Ok(Chance {
        percent,
        correlation,
    })
}

fn set<T>(slot: &mut Option<T>, v: T, name: &str) -> Result<(), String> {
    if slot.is_some() {
        return Err(format!("`{name}` is given more than once"));
    }
    *slot = Some(v);
    Ok(())
}

/// Parse one netem option string, including tc's cross-option rules.
pub fn parse_netem(s: &str) -> Result<Netem, String> {
    let n = parse_options(s)?;
    check(&n)?;
    Ok(n)
}

/// Parse a link's list of netem strings into one qdisc's options; the error
/// carries the index of the string at fault.
pub fn parse_netem_list<'a>(
    items: impl IntoIterator<Item = &'a str>,
) -> Result<Netem, (usize, String)> {
    let mut n = Netem::default();
    let mut last = 0;
    for (i, s) in items.into_iter().enumerate() {
        let one = parse_options(s).map_err(|e| (i, e))?;
        combine(&mut n, one).map_err(|e| (i, e))?;
        last = i;
    }
    check(&n).map_err(|e| (last, e))?;
    Ok(n)
}

/// The options of one string, without the cross-option rules (which apply
/// to the combined list).
fn parse_options(s: &str) -> Result<Netem, String> {
    let mut w = Words {
        words: s.split_whitespace().collect(),
        pos: 0,
    };
    let mut n = Netem::default();
    let mut gap: Option<u32> = None;
    while let Some(word) = w.next() {
        match word {
            "limit" => {
                let v = parse_int(w.need("a packet count", word)?, "packet count")?;
                set(&mut n.limit, v, word)?;
            }
            "delay" | "latency" => {
                let latency = parse_time(w.need("a time", word)?)?;
                let jitter = w.number().map(parse_time).transpose()?;
                let correlation = match jitter {
                    Some(_) => w.number().map(parse_percent).transpose()?,
                    None => None,
                };
                let d = Delay {
                    latency,
                    jitter: jitter.unwrap_or(Duration::ZERO),
                    correlation,
                };
                set(&mut n.delay, d, "delay")?;
            }
            "distribution" => {
                let d = distribution(w.need("a distribution name", word)?)?;
                set(&mut n.distribution, d, word)?;
            }
            "loss" | "drop" => {
                let loss = match w.peek() {
                    Some("random") => {
                        w.next();
                        Loss::Random(chance(&mut w, "loss random")?)
                    }
                    Some("state") => {
                        w.next();
                        let p13 = parse_percent(w.need("a percentage", "loss state")?)?;
                        let mut rest = [None; 4];
                        for r in &mut rest {
                            match w.number() {
                                Some(x) => *r = Some(parse_percent(x)?),
                                None => break,
                            }
                        }
                        Loss::State {
                            p13,
                            p31: rest[0].unwrap_or(pct(100.0 - p13.value())),
                            p32: rest[1].unwrap_or(pct(0.0)),
                            p23: rest[2].unwrap_or(pct(100.0)),
                            p14: rest[3].unwrap_or(pct(0.0)),
                        }
                    }
                    Some("gemodel") => {
                        w.next();
                        let p = parse_percent(w.need("a percentage", "loss gemodel")?)?;
                        let mut rest = [None; 3];
                        for r in &mut rest {
                            match w.number() {
                                Some(x) => *r = Some(parse_percent(x)?),
                                None => break,
                            }
                        }
                        Loss::Gemodel {
                            p,
                            r: rest[0].unwrap_or(pct(100.0 - p.value())),
                            h: rest[1].unwrap_or(pct(100.0)),
                            k1: rest[2].unwrap_or(pct(0.0)),
                        }
                    }
                    _ => Loss::Random(chance(&mut w, word)?),
                };
                set(&mut n.loss, loss, "loss")?;
            }
            "duplicate" => {
                let c = chance(&mut w, word)?;
                set(&mut n.duplicate, c, word)?;
            }
            "corrupt" => {
                let c = chance(&mut w, word)?;
                set(&mut n.corrupt, c, word)?;
            }
            "reorder" => {
                let c = chance(&mut w, word)?;
                set(
                    &mut n.reorder,
                    Reorder {
                        chance: c,
                        gap: None,
                    },
                    word,
                )?;
            }
            "gap" => {
                let g = parse_int(w.need("a packet distance", word)?, "gap distance")?;
                set(&mut gap, g, word)?;
            }
            "rate" => {
                let bytes_per_sec = parse_rate(w.need("a rate", word)?)?;
                let packet_overhead = w
                    .signed()
                    .map(|x| parse_int(x, "packet overhead"))
                    .transpose()?;
                let cell_size = match packet_overhead {
                    Some(_) => w.number().map(|x| parse_int(x, "cell size")).transpose()?,
                    None => None,
                };
                let cell_overhead = match cell_size {
                    Some(_) => w
                        .signed()
                        .map(|x| parse_int(x, "cell overhead"))
                        .transpose()?,
                    None => None,
                };
                let r = Rate {
                    bytes_per_sec,
                    packet_overhead: packet_overhead.unwrap_or(0),
                    cell_size: cell_size.unwrap_or(0),
                    cell_overhead: cell_overhead.unwrap_or(0),
                };
                set(&mut n.rate, r, word)?;
            }
            "slot" => {
                let kind = if w.peek() == Some("distribution") {
                    w.next();
                    let distribution =
                        distribution(w.need("a distribution name", "slot distribution")?)?;
                    let delay = parse_time(w.need("a delay", "slot distribution")?)?;
                    let jitter = parse_time(w.need("a jitter", "slot distribution")?)?;
                    SlotKind::Distribution {
                        distribution,
                        delay,
                        jitter,
                    }
                } else {
                    let min_delay = parse_time(w.need("a minimum delay", word)?)?;
                    let max_delay = w.number().map(parse_time).transpose()?.unwrap_or(min_delay);
                    if max_delay < min_delay {
                        return Err("`slot` maximum delay is below its minimum".into());
                    }
                    SlotKind::Range {
                        min_delay,
                        max_delay,
                    }
                };
                let mut slot = Slot {
                    kind,
                    max_packets: None,
                    max_bytes: None,
                };
                loop {
                    match w.peek() {
                        Some("packets") => {
                            w.next();
                            let v = parse_int(w.need("a count", "slot packets")?, "packet count")?;
                            set(&mut slot.max_packets, v, "slot packets")?;
                        }
                        Some("bytes") => {
                            w.next();
                            let v = parse_int(w.need("a count", "slot bytes")?, "byte count")?;
                            set(&mut slot.max_bytes, v, "slot bytes")?;
                        }
                        _ => break,
                    }
                }
                set(&mut n.slot, slot, word)?;
            }
            "ecn" | "seed" => {
                return Err(format!("netem option `{word}` is not supported by conlink"));
            }
            other => return Err(format!("unknown netem option `{other}`")),
        }
    }
    if let Some(g) = gap {
        match &mut n.reorder {
            Some(r) => r.gap = Some(g),
            None => return Err("`gap` needs `reorder`".into()),
        }
    }
    Ok(n)
}

/// Rules tc enforces across options.
fn check(n: &Netem) -> Result<(), String> {
    if n.distribution.is_some() && n.delay.is_none_or(|d| d.jitter.is_zero()) {
        return Err("`distribution` needs `delay` with a jitter".into());
    }
    if n.reorder.is_some() && n.delay.is_none_or(|d| d.latency.is_zero()) {
        return Err(
            "`reorder` needs a `delay` (reordering works by delaying the other packets)".into(),
        );
    }
    Ok(())
}

/// Combine the options of several `netem` strings of one link (a list in
/// config, or definitions merged from several files); an option given in
/// two of them is an error.
fn combine(into: &mut Netem, other: Netem) -> Result<(), String> {
    fn take<T>(a: &mut Option<T>, b: Option<T>, name: &str) -> Result<(), String> {
        match b {
            Some(v) => set(a, v, name),
            None => Ok(()),
        }
    }
    take(&mut into.limit, other.limit, "limit")?;
    take(&mut into.delay, other.delay, "delay")?;
    take(&mut into.distribution, other.distribution, "distribution")?;
    take(&mut into.loss, other.loss, "loss")?;
    take(&mut into.duplicate, other.duplicate, "duplicate")?;
    take(&mut into.corrupt, other.corrupt, "corrupt")?;
    take(&mut into.reorder, other.reorder, "reorder")?;
    take(&mut into.rate, other.rate, "rate")?;
    take(&mut into.slot, other.slot, "slot")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: f64) -> Percent {
        Percent::new(v).unwrap()
    }
    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn delay_forms() {
        let n = parse_netem("delay 40ms 10ms 25%").unwrap();
        assert_eq!(
            n.delay,
            Some(Delay {
                latency: ms(40),
                jitter: ms(10),
                correlation: Some(p(25.0))
            })
        );
        let n = parse_netem("latency 1s").unwrap();
        assert_eq!(
            n.delay,
            Some(Delay {
                latency: ms(1000),
                jitter: Duration::ZERO,
                correlation: None
            })
        );
        let n = parse_netem("delay 100ms 20ms distribution normal").unwrap();
        assert_eq!(n.distribution, Some(Distribution::Normal));
        // tc: a number right after the delay must be a time
        assert!(
            parse_netem("delay 100ms 25%")
                .unwrap_err()
                .contains("not a time")
        );
    }

    #[test]
    fn loss_models() {
        let n = parse_netem("loss 0.3%").unwrap();
        assert_eq!(
            n.loss,
            Some(Loss::Random(Chance {
                percent: p(0.3),
                correlation: None
            }))
        );
        let n = parse_netem("drop random 1% 25%").unwrap();
        assert_eq!(
            n.loss,
            Some(Loss::Random(Chance {
                percent: p(1.0),
                correlation: Some(p(25.0))
            }))
        );
        let n = parse_netem("loss state 1%").unwrap();
        assert_eq!(
            n.loss,
            Some(Loss::State {
                p13: p(1.0),
                p31: p(99.0),
                p32: p(0.0),
                p23: p(100.0),
                p14: p(0.0)
            })
        );
        let n = parse_netem("loss state 1% 2% 3% 4% 5%").unwrap();
        assert_eq!(
            n.loss,
            Some(Loss::State {
                p13: p(1.0),
                p31: p(2.0),
                p32: p(3.0),
                p23: p(4.0),
                p14: p(5.0)
            })
        );
        let n = parse_netem("loss gemodel 5% 20%").unwrap();
        assert_eq!(
            n.loss,
            Some(Loss::Gemodel {
                p: p(5.0),
                r: p(20.0),
                h: p(100.0),
                k1: p(0.0)
            })
        );
        let n = parse_netem("loss gemodel 5%").unwrap();
        assert_eq!(
            n.loss,
            Some(Loss::Gemodel {
                p: p(5.0),
                r: p(95.0),
                h: p(100.0),
                k1: p(0.0)
            })
        );
    }

    #[test]
    fn other_options() {
        let n = parse_netem(
            "limit 1000 delay 10ms reorder 25% 50% gap 5 duplicate 1% corrupt 0.1% 10% rate 10mbit -4 48 5 slot 1ms 2ms packets 5 bytes 1500",
        )
        .unwrap();
        assert_eq!(n.limit, Some(1000));
        assert_eq!(
            n.reorder,
            Some(Reorder {
                chance: Chance {
                    percent: p(25.0),
                    correlation: Some(p(50.0))
                },
                gap: Some(5)
            })
        );
        assert_eq!(
            n.duplicate,
            Some(Chance {
                percent: p(1.0),
                correlation: None
            })
        );
        assert_eq!(
            n.corrupt,
            Some(Chance {
                percent: p(0.1),
                correlation: Some(p(10.0))
            })
        );
        assert_eq!(
            n.rate,
            Some(Rate {
                bytes_per_sec: 1_250_000,
                packet_overhead: -4,
                cell_size: 48,
                cell_overhead: 5
            })
        );
        assert_eq!(
            n.slot,
            Some(Slot {
                kind: SlotKind::Range {
                    min_delay: ms(1),
                    max_delay: ms(2)
                },
                max_packets: Some(5),
                max_bytes: Some(1500)
            })
        );
        let n = parse_netem("slot distribution pareto 10ms 2ms").unwrap();
        assert_eq!(
            n.slot,
            Some(Slot {
                kind: SlotKind::Distribution {
                    distribution: Distribution::Pareto,
                    delay: ms(10),
                    jitter: ms(2)
                },
                max_packets: None,
                max_bytes: None
            })
        );
        assert_eq!(parse_netem("").unwrap(), Netem::default());
    }

    #[test]
    fn errors_are_clear() {
        let cases = [
            ("delay", "`delay` needs a time"),
            ("jitter 5ms", "unknown netem option `jitter`"),
            ("loss 101%", "not a percentage"),
            ("delay 1ms delay 2ms", "`delay` is given more than once"),
            (
                "distribution normal",
                "`distribution` needs `delay` with a jitter",
            ),
            ("reorder 5%", "`reorder` needs a `delay`"),
            ("delay 1ms gap 5", "`gap` needs `reorder`"),
            ("rate 10 furlongs", "unknown netem option `furlongs`"),
            ("rate fast", "not a rate"),
            ("distribution weird", "unknown distribution"),
            ("ecn", "not supported"),
            ("limit -1", "not a valid packet count"),
            ("slot 2ms 1ms", "below its minimum"),
        ];
        for (s, want) in cases {
            let e = parse_netem(s).unwrap_err();
            assert!(e.contains(want), "{s}: {e}");
        }
    }

    #[test]
    fn combining_lists() {
        let n = parse_netem_list(["delay 10ms 1ms", "loss 1%", "distribution normal"]).unwrap();
        assert!(n.loss.is_some() && n.distribution.is_some());
        let (i, e) = parse_netem_list(["loss 1%", "delay 1ms", "loss 2%"]).unwrap_err();
        assert_eq!(i, 2);
        assert!(e.contains("`loss` is given more than once"));
        let (i, e) = parse_netem_list(["delay 1ms", "bogus"]).unwrap_err();
        assert_eq!((i, e.as_str()), (1, "unknown netem option `bogus`"));
        assert!(
            parse_netem_list(["distribution normal"])
                .unwrap_err()
                .1
                .contains("jitter")
        );
    }
}
