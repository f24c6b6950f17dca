//! `--max-render-size`: a byte count as people write it (`64M`, `1G`,
//! `512k`, `100000`), and a writer that refuses to grow past it — the
//! bound on what one template may render to.

use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

/// A size in bytes; suffixes are binary (`k` = 1024).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl ByteSize {
    pub fn bytes(self) -> u64 {
        self.0
    }
}

impl FromStr for ByteSize {
    type Err = String;
    fn from_str(s: &str) -> Result<ByteSize, String> {
        let bad = || format!("'{s}' is not a size (a byte count such as 65536, 512K, 64M or 1G)");
        let t = s.trim();
        let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let n: u64 = t[..digits].parse().map_err(|_| bad())?;
        let unit = t[digits..].trim_start().to_ascii_lowercase();
        let shift = match unit.trim_end_matches('b').trim_end_matches('i') {
            "" => 0,
            "k" => 10,
            "m" => 20,
            "g" => 30,
            "t" => 40,
            _ => return Err(bad()),
        };
        // `b`/`ib` alone are not units: "64b" is fine, "64ib" is not.
        if unit.ends_with("ib") && shift == 0 {
            return Err(bad());
        }
        let bytes = n.checked_mul(1 << shift).ok_or_else(bad)?;
        if bytes == 0 {
            return Err(format!("'{s}': the size must be more than 0"));
        }
        Ok(ByteSize(bytes))
    }
}

impl fmt::Display for ByteSize {
    /// `64 MiB` when it is a whole number of a unit, else `1000 bytes`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] {
            if self.0 >= 1 << shift && self.0 % (1 << shift) == 0 {
                return write!(f, "{} {unit}", self.0 >> shift);
            }
        }
        write!(f, "{} bytes", self.0)
    }
}

/// Passes writes on to `inner` until `limit` bytes have gone through, then
/// fails every write: a renderer writing into it stops at the limit instead
/// of building the whole output. [`exceeded`](Limited::exceeded) tells that
/// failure from the inner writer's own.
pub struct Limited<W> {
    inner: W,
    left: u64,
    exceeded: bool,
}

impl<W: Write> Limited<W> {
    pub fn new(inner: W, limit: ByteSize) -> Limited<W> {
        Limited {
            inner,
            left: limit.bytes(),
            exceeded: false,
        }
    }

    pub fn exceeded(&self) -> bool {
        self.exceeded
    }

    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for Limited<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.len() as u64 > self.left {
            self.exceeded = true;
            return Err(io::Error::other("rendered output over the size limit"));
        }
        let n = self.inner.write(buf)?;
        self.left -= n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        for (s, n) in [
            ("65536", 65536),
            ("64M", 64 << 20),
            ("64m", 64 << 20),
            ("64MiB", 64 << 20),
            ("64 MB", 64 << 20),
            ("512k", 512 << 10),
            ("1G", 1 << 30),
            ("100b", 100),
        ] {
            assert_eq!(s.parse::<ByteSize>(), Ok(ByteSize(n)), "{s}");
        }
        for bad in ["", "M", "0", "-1", "1.5M", "12q", "64ib", "99999999999999T"] {
            assert!(bad.parse::<ByteSize>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sizes_display_in_the_largest_whole_unit() {
        assert_eq!(ByteSize(64 << 20).to_string(), "64 MiB");
        assert_eq!(ByteSize(1536).to_string(), "1536 bytes");
        assert_eq!(ByteSize(2048).to_string(), "2 KiB");
        assert_eq!(ByteSize(1 << 30).to_string(), "1 GiB");
    }

    #[test]
    fn the_writer_stops_at_the_limit() {
        let mut w = Limited::new(Vec::new(), ByteSize(10));
        w.write_all(b"12345").unwrap();
        w.write_all(b"67890").unwrap();
        assert!(!w.exceeded());
        assert!(w.write_all(b"x").is_err());
        assert!(w.exceeded());
        assert_eq!(w.into_inner(), b"1234567890");
    }
}
