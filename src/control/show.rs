//! Text forms of the control API's answers for people: the `status`
//! table, `netem show`, event lines. Pure functions of the JSON types.

use std::fmt::Write as _;

use super::api::{Counters, Direction, Event, LinkState, LinkStatus, NetemStatus, Status};

/// Columns given up, in this order, when the table is wider than the
/// terminal (indices into the header): MTU, MAC, SINCE, KIND, OUTER, BRIDGE.
const DROP_ORDER: [usize; 6] = [7, 6, 11, 1, 3, 4];

/// The `conlink status` table: one line per link (a failed link's reason on
/// the line below it), then bridges, tunnels, commands and the milestone.
/// Columns that are empty for every link are left out, and when the table
/// would be wider than `max_width` (a terminal's), the least needed ones
/// (a note names them; `--json` has everything).
pub fn status_table(s: &Status, now: f64, max_width: Option<usize>) -> String {
    let mut out = String::new();
    if s.links.is_empty() {
        out.push_str("no links\n");
    } else {
        let header = [
            "LINK",
            "KIND",
            "STATE",
            "OUTER",
            "BRIDGE",
            "ADDRESSES",
            "MAC",
            "MTU",
            "NETEM",
            "RX",
            "TX",
            "SINCE",
        ];
        let rows: Vec<[String; 12]> = s.links.iter().map(|l| link_row(l, now)).collect();
        // LINK and STATE always show; others only when some link has a value.
        let shown: Vec<usize> = (0..header.len())
            .filter(|&c| c == 0 || c == 2 || rows.iter().any(|r| r[c] != "-"))
            .collect();
        let width = |c: usize| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([header[c].len()])
                .max()
                .unwrap_or(0)
        };
        let mut shown = shown;
        let mut hidden = Vec::new();
        let total = |shown: &[usize]| shown.iter().map(|&c| width(c) + 2).sum::<usize>() - 2;
        for c in DROP_ORDER {
            if max_width.is_none_or(|w| total(&shown) <= w) {
                break;
            }
            if let Some(i) = shown.iter().position(|&x| x == c) {
                shown.remove(i);
                hidden.push(header[c]);
            }
        }
        let widths: Vec<usize> = shown.iter().map(|&c| width(c)).collect();
        let line = |cells: &dyn Fn(usize) -> String| {
            let mut l = String::new();
            for (i, &c) in shown.iter().enumerate() {
                let cell = cells(c);
                if i + 1 == shown.len() {
                    l.push_str(&cell);
                } else {
                    let pad = widths[i] - cell.chars().count();
                    let _ = write!(l, "{cell}{}  ", " ".repeat(pad));
                }
            }
            l.trim_end().to_string()
        };
        out.push_str(&line(&|c| header[c].to_string()));
        out.push('\n');
        for (l, r) in s.links.iter().zip(&rows) {
            out.push_str(&line(&|c| r[c].clone()));
            out.push('\n');
            if let LinkState::Failed { reason } = &l.state {
                let _ = writeln!(out, "  └ {reason}");
            }
        }
        if s.links
            .iter()
            .any(|l| l.netem.runtime_in.is_some() || l.netem.runtime_out.is_some())
        {
            out.push_str(
                "  (* netem set at run time; `conlink netem reset ID` goes back to the config)\n",
            );
        }
        if !hidden.is_empty() {
            let _ = writeln!(
                out,
                "  ({} left out to fit the terminal; --json shows all)",
                hidden.join(", ")
            );
        }
    }
    out.push('\n');
    if !s.bridges.is_empty() {
        let list: Vec<String> = s
            .bridges
            .iter()
            .map(|b| {
                format!(
                    "{} ({}, {})",
                    b.name,
                    b.mode,
                    if b.owned {
                        "created by conlink"
                    } else {
                        "existed"
                    }
                )
            })
            .collect();
        let _ = writeln!(out, "bridges:  {}", list.join(", "));
    }
    for t in &s.tunnels {
        let _ = writeln!(
            out,
            "tunnel:   {} to {} on {}: {}",
            t.name, t.remote, t.bridge, t.state
        );
    }
    for c in &s.commands {
        let _ = writeln!(
            out,
            "command:  {}: {}: {}",
            c.target,
            shorten(&c.command.join(" "), 60),
            c.result
        );
    }
    let up = s.links.iter().filter(|l| l.state == LinkState::Up).count();
    let mut counts = vec![format!("{up} up")];
    for (what, n) in [
        (
            "down",
            s.links
                .iter()
                .filter(|l| l.state == LinkState::Down)
                .count(),
        ),
        (
            "missing",
            s.links
                .iter()
                .filter(|l| l.state == LinkState::Missing)
                .count(),
        ),
        (
            "failed",
            s.links
                .iter()
                .filter(|l| matches!(l.state, LinkState::Failed { .. }))
                .count(),
        ),
    ] {
        if n > 0 {
            counts.push(format!("{n} {what}"));
        }
    }
    let _ = writeln!(
        out,
        "links:    {} ({}); {}",
        s.links.len(),
        counts.join(", "),
        if s.milestone {
            "All links connected"
        } else {
            "not all links connected yet"
        }
    );
    out
}

fn link_row(l: &LinkStatus, now: f64) -> [String; 12] {
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let state = match &l.state {
        LinkState::Failed { .. } => "failed".to_string(),
        s => s.to_string(),
    };
    let (rx, tx) = match &l.counters {
        Some(c) => traffic(c),
        None => ("-".into(), "-".into()),
    };
    [
        l.id.clone(),
        l.kind.clone(),
        state,
        opt(&l.outer),
        opt(&l.bridge),
        if l.addresses.is_empty() {
            "-".into()
        } else {
            l.addresses.join(",")
        },
        opt(&l.mac),
        l.mtu.map_or_else(|| "-".into(), |m| m.to_string()),
        netem_cell(&l.netem),
        rx,
        tx,
        if l.last_change > 0.0 {
            age(now - l.last_change)
        } else {
            "-".into()
        },
    ]
}

/// Effective netem in one cell: the outgoing one (runtime or config), and
/// the incoming one when set; `*` marks what was set at run time.
fn netem_cell(n: &NetemStatus) -> String {
    let out = match (&n.runtime_out, &n.config) {
        (Some(r), _) => Some(format!("{r}*")),
        (None, Some(c)) => Some(c.clone()),
        (None, None) => None,
    };
    let inn = n.runtime_in.as_ref().map(|r| format!("{r}*"));
    match (out, inn) {
        (None, None) => "-".into(),
        (Some(o), None) => o,
        (None, Some(i)) => format!("in: {i}"),
        (Some(o), Some(i)) => format!("out: {o}; in: {i}"),
    }
}

/// `12 pkt 1.2 KiB` for each direction, plus errors and drops when any.
fn traffic(c: &Counters) -> (String, String) {
    let one = |pkts: u64, bytes: u64, errs: u64, drops: u64| {
        let mut s = format!("{} pkt {}", count(pkts), bytes_text(bytes));
        if errs > 0 {
            let _ = write!(s, " {} err", count(errs));
        }
        if drops > 0 {
            let _ = write!(s, " {} drop", count(drops));
        }
        s
    };
    (
        one(c.rx_packets, c.rx_bytes, c.rx_errors, c.rx_dropped),
        one(c.tx_packets, c.tx_bytes, c.tx_errors, c.tx_dropped),
    )
}

/// `999`, `12.3k`, `4.5M`, `6.7G`.
pub fn count(n: u64) -> String {
    let f = n as f64;
    match n {
        0..=999 => n.to_string(),
        1_000..=999_999 => trim_unit(f / 1e3, "k"),
        1_000_000..=999_999_999 => trim_unit(f / 1e6, "M"),
        _ => trim_unit(f / 1e9, "G"),
    }
}

fn trim_unit(v: f64, unit: &str) -> String {
    if v < 100.0 {
        format!("{v:.1}{unit}")
    } else {
        format!("{v:.0}{unit}")
    }
}

/// `512 B`, `1.2 KiB`, `34 MiB`.
pub fn bytes_text(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if v < 10.0 {
        format!("{v:.1} {}", UNITS[u])
    } else {
        format!("{v:.0} {}", UNITS[u])
    }
}

/// `4s`, `3m`, `5h`, `2d` (ago).
pub fn age(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// `conlink netem show`: per link, each direction with where it comes from.
pub fn netem_table(s: &Status) -> String {
    let rows: Vec<[String; 3]> = s
        .links
        .iter()
        .map(|l| {
            let n = &l.netem;
            let out = match (&n.runtime_out, &n.config) {
                (Some(r), Some(c)) => format!("{r} (set; config: {c})"),
                (Some(r), None) => format!("{r} (set)"),
                (None, Some(c)) => format!("{c} (config)"),
                (None, None) => "-".into(),
            };
            let inn = n
                .runtime_in
                .as_ref()
                .map_or_else(|| "-".into(), |r| format!("{r} (set)"));
            [l.id.clone(), out, inn]
        })
        .collect();
    let header = ["LINK", "OUT (leaving the container)", "IN (arriving at it)"];
    let w0 = rows
        .iter()
        .map(|r| r[0].chars().count())
        .chain([header[0].len()])
        .max()
        .unwrap_or(0);
    let w1 = rows
        .iter()
        .map(|r| r[1].chars().count())
        .chain([header[1].len()])
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for r in std::iter::once(header.map(String::from)).chain(rows) {
        let _ = writeln!(
            out,
            "{}{}  {}{}  {}",
            r[0],
            " ".repeat(w0 - r[0].chars().count()),
            r[1],
            " ".repeat(w1 - r[1].chars().count()),
            r[2]
        );
    }
    out
}

pub fn direction_text(d: Direction) -> &'static str {
    match d {
        Direction::Out => "out",
        Direction::In => "in",
        Direction::Both => "both",
    }
}

/// One line of `conlink events`: UTC time, then the event's text form.
pub fn event_line(e: &Event) -> String {
    format!("{} {e}", utc(e.time))
}

/// `2026-05-01T12:00:01.234Z` for seconds since the epoch.
pub fn utc(t: f64) -> String {
    let ms = (t.max(0.0) * 1000.0).round() as u64;
    let (secs, ms) = (ms / 1000, ms % 1000);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::api::{BridgeStatus, EventKind};

    fn link(id: &str, state: LinkState) -> LinkStatus {
        LinkStatus {
            id: id.into(),
            target: id.split(':').next().unwrap().into(),
            service: None,
            dev: "eth0".into(),
            kind: "veth".into(),
            outer: Some(format!("{}-eth0", id.split(':').next().unwrap())),
            bridge: Some("s1".into()),
            state,
            addresses: vec!["10.0.1.1/24".into()],
            mac: None,
            mtu: None,
            netem: NetemStatus::default(),
            counters: None,
            last_change: 1000.0,
        }
    }

    #[test]
    fn status_table_aligns_drops_empty_columns_and_explains_failures() {
        let mut a = link("node_1:eth0", LinkState::Up);
        a.counters = Some(Counters {
            rx_packets: 12,
            tx_packets: 1500,
            rx_bytes: 1176,
            tx_bytes: 3 << 20,
            rx_dropped: 2,
            ..Counters::default()
        });
        a.netem.config = Some("delay 40ms".into());
        let mut b = link(
            "node_2:eth0",
            LinkState::Failed {
                reason: "File exists".into(),
            },
        );
        b.netem.runtime_in = Some("loss 1%".into());
        let s = Status {
            milestone: false,
            links: vec![a, b],
            bridges: vec![BridgeStatus {
                name: "s1".into(),
                mode: "linux".into(),
                owned: true,
            }],
            tunnels: vec![],
            commands: vec![],
        };
        // MAC and MTU are empty for every link: left out.
        assert_eq!(
            status_table(&s, 1065.0, None),
            "\
LINK         KIND  STATE   OUTER        BRIDGE  ADDRESSES    NETEM         RX                     TX                SINCE
node_1:eth0  veth  up      node_1-eth0  s1      10.0.1.1/24  delay 40ms    12 pkt 1.1 KiB 2 drop  1.5k pkt 3.0 MiB  1m
node_2:eth0  veth  failed  node_2-eth0  s1      10.0.1.1/24  in: loss 1%*  -                      -                 1m
  └ File exists
  (* netem set at run time; `conlink netem reset ID` goes back to the config)

bridges:  s1 (linux, created by conlink)
links:    2 (1 up, 1 failed); not all links connected yet
"
        );
        assert_eq!(
            status_table(&Status::default(), 0.0, Some(10)),
            "no links\n\nlinks:    0 (0 up); not all links connected yet\n"
        );
    }

    #[test]
    fn a_narrow_terminal_loses_the_least_needed_columns_first() {
        let mut a = link("node_1:eth0", LinkState::Up);
        a.mtu = Some(1500);
        let s = Status {
            links: vec![a],
            ..Default::default()
        };
        let wide = status_table(&s, 1000.0, None);
        assert!(wide.starts_with(
            "LINK         KIND  STATE  OUTER        BRIDGE  ADDRESSES    MTU   SINCE\n"
        ));
        let first = wide.lines().next().unwrap().len();
        // Exactly as wide as the terminal: nothing is left out.
        assert_eq!(status_table(&s, 1000.0, Some(first)), wide);
        let t = status_table(&s, 1000.0, Some(first - 1));
        assert!(
            t.starts_with("LINK         KIND  STATE  OUTER        BRIDGE  ADDRESSES    SINCE\n"),
            "{t}"
        );
        assert!(
            t.contains("  (MTU left out to fit the terminal; --json shows all)\n"),
            "{t}"
        );
        let t = status_table(&s, 1000.0, Some(40));
        assert!(
            t.starts_with("LINK         STATE  BRIDGE  ADDRESSES\n"),
            "{t}"
        );
        assert!(t.contains("(MTU, SINCE, KIND, OUTER left out"), "{t}");
        let t = status_table(&s, 1000.0, Some(20));
        assert!(t.starts_with("LINK         STATE  ADDRESSES\n"), "{t}");
    }

    #[test]
    fn netem_cell_and_show_keep_config_and_runtime_apart() {
        let mut n = NetemStatus {
            config: Some("delay 40ms".into()),
            ..Default::default()
        };
        assert_eq!(netem_cell(&n), "delay 40ms");
        n.runtime_out = Some("delay 80ms".into());
        assert_eq!(netem_cell(&n), "delay 80ms*");
        n.runtime_in = Some("loss 1%".into());
        assert_eq!(netem_cell(&n), "out: delay 80ms*; in: loss 1%*");
        assert_eq!(netem_cell(&NetemStatus::default()), "-");

        let mut l = link("n_1:eth0", LinkState::Up);
        l.netem = n;
        let s = Status {
            links: vec![l, link("n_2:eth0", LinkState::Up)],
            ..Default::default()
        };
        assert_eq!(
            netem_table(&s),
            "\
LINK      OUT (leaving the container)           IN (arriving at it)
n_1:eth0  delay 80ms (set; config: delay 40ms)  loss 1% (set)
n_2:eth0  -                                     -
"
        );
    }

    #[test]
    fn human_numbers() {
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1.0k");
        assert_eq!(count(123_456), "123k");
        assert_eq!(count(4_500_000), "4.5M");
        assert_eq!(bytes_text(0), "0 B");
        assert_eq!(bytes_text(1023), "1023 B");
        assert_eq!(bytes_text(1536), "1.5 KiB");
        assert_eq!(bytes_text(50 << 20), "50 MiB");
        assert_eq!(age(59.9), "59s");
        assert_eq!(age(61.0), "1m");
        assert_eq!(age(7200.0), "2h");
        assert_eq!(age(-3.0), "0s");
    }

    #[test]
    fn event_lines_carry_utc_time() {
        assert_eq!(utc(0.0), "1970-01-01T00:00:00.000Z");
        // 2024-02-29T23:59:59.5Z: a leap day.
        assert_eq!(utc(1_709_251_199.5), "2024-02-29T23:59:59.500Z");
        assert_eq!(utc(951_782_400.0), "2000-02-29T00:00:00.000Z");
        let e = Event {
            time: 1_709_251_199.5,
            what: EventKind::LinkDown {
                id: "node_1:eth0".into(),
            },
        };
        assert_eq!(
            event_line(&e),
            "2024-02-29T23:59:59.500Z link-down node_1:eth0"
        );
    }
}
