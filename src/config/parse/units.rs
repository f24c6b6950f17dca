//! tc's units: times (`us`, `ms`, `s`, …), rates (`bit`, `kbit`, `mbps`,
//! `kibit`, …) and percents, with tc's defaults for bare numbers (time in
//! microseconds, rate in bits per second).

use std::time::Duration;

use crate::net::netem::Percent;

/// Split `"12.5ms"` into the number and the unit.
fn split_number(s: &str) -> Option<(f64, &str)> {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (n, unit) = s.split_at(end);
    if n.is_empty() || n == "." {
        return None;
    }
    let v: f64 = n.parse().ok()?;
    v.is_finite().then_some((v, unit))
}

/// A tc time: `10ms`, `1.5s`, `200us`, `100ns`; a bare number is µs (as in tc).
pub fn parse_time(s: &str) -> Result<Duration, String> {
    let bad = || format!("`{s}` is not a time (like 10ms, 1.5s, 200us)");
    let (v, unit) = split_number(s).ok_or_else(bad)?;
    let nanos_per = match unit {
        "s" | "sec" | "secs" => 1e9,
        "ms" | "msec" | "msecs" => 1e6,
        "" | "us" | "usec" | "usecs" => 1e3,
        "ns" | "nsec" | "nsecs" => 1.0,
        _ => return Err(bad()),
    };
    let nanos = v * nanos_per;
    // netem keeps times as 64-bit nanoseconds in the kernel.
    if nanos > i64::MAX as f64 {
        return Err(format!("`{s}` is too long a time"));
    }
    Ok(Duration::from_nanos(nanos.round() as u64))
}

/// A tc rate in bytes per second: `10mbit`, `1gbit`, `500kbps`, `2mibit`;
/// a bare number is bits per second (as in tc).
pub fn parse_rate(s: &str) -> Result<u64, String> {
    let bad = || format!("`{s}` is not a rate (like 10mbit, 1gbit, 500kbps)");
    let (v, unit) = split_number(s).ok_or_else(bad)?;
    let lower = unit.to_ascii_lowercase();
    // (prefix multiplier, bits per unit)
    let (prefix, rest) = match lower.as_str() {
        u if u.starts_with("ki") => (1024f64, &u[2..]),
        u if u.starts_with("mi") => (1024f64.powi(2), &u[2..]),
        u if u.starts_with("gi") => (1024f64.powi(3), &u[2..]),
        u if u.starts_with("ti") => (1024f64.powi(4), &u[2..]),
        u if u.starts_with('k') => (1e3, &u[1..]),
        u if u.starts_with('m') => (1e6, &u[1..]),
        u if u.starts_with('g') => (1e9, &u[1..]),
        u if u.starts_with('t') => (1e12, &u[1..]),
        u => (1.0, u),
    };
    let bits_per = match rest {
        "" if prefix == 1.0 => 1.0,
        "bit" => 1.0,
        "bps" => 8.0,
        _ => return Err(bad()),
    };
    let bytes = v * prefix * bits_per / 8.0;
    if bytes > u64::MAX as f64 {
        return Err(format!("`{s}` is too large a rate"));
    }
    Ok(bytes.round() as u64)
}

/// A percent `0.3%` or `0.3` (tc accepts both), 0–100.
pub fn parse_percent(s: &str) -> Result<Percent, String> {
    let bad = || format!("`{s}` is not a percentage between 0 and 100 (like 0.5%)");
    let (v, unit) = split_number(s).ok_or_else(bad)?;
    if !(unit.is_empty() || unit == "%") {
        return Err(bad());
    }
    Percent::new(v).ok_or_else(bad)
}

/// A whole number (also for negative overheads).
pub fn parse_int<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String> {
    s.parse()
        .map_err(|_| format!("`{s}` is not a valid {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("10ms"), Ok(Duration::from_millis(10)));
        assert_eq!(parse_time("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_time("200us"), Ok(Duration::from_micros(200)));
        assert_eq!(parse_time("200"), Ok(Duration::from_micros(200)));
        assert_eq!(parse_time("7usecs"), Ok(Duration::from_micros(7)));
        assert_eq!(parse_time("100ns"), Ok(Duration::from_nanos(100)));
        for bad in ["", "ms", "10m", "-1ms", "1e3ms", "."] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rates_follow_tc() {
        assert_eq!(parse_rate("8bit"), Ok(1));
        assert_eq!(parse_rate("8"), Ok(1));
        assert_eq!(parse_rate("10mbit"), Ok(1_250_000));
        assert_eq!(parse_rate("1gbit"), Ok(125_000_000));
        assert_eq!(parse_rate("1Gbit"), Ok(125_000_000));
        assert_eq!(parse_rate("500kbps"), Ok(500_000));
        assert_eq!(parse_rate("1bps"), Ok(1));
        assert_eq!(parse_rate("1mibit"), Ok(131_072));
        assert_eq!(parse_rate("1kibps"), Ok(1024));
        assert_eq!(parse_rate("2tbit"), Ok(250_000_000_000));
        for bad in ["", "mbit", "10mb", "10k", "10%", "1xbit"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn percents() {
        assert_eq!(parse_percent("0.3%").unwrap().value(), 0.3);
        assert_eq!(parse_percent("25").unwrap().value(), 25.0);
        for bad in ["101%", "x", "5%%", "-1%"] {
            assert!(parse_percent(bad).is_err(), "{bad}");
        }
    }
}
