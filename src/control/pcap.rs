//! The classic pcap file format (what tcpdump -w writes and every reader
//! reads): a 24-byte file header, then a 16-byte header per packet. Written
//! little-endian with nanosecond timestamps (magic 0xa1b23c4d), link type
//! Ethernet.
//!
//! Its own small module rather than the `pcap-file` crate: that crate's
//! stable line (2.0.0) pulls thiserror 1 and a proc-macro crate for what is
//! two fixed headers here, and its 3.0 line is a release candidate.

/// LINKTYPE_ETHERNET (DLT_EN10MB).
pub const LINKTYPE_ETHERNET: u32 = 1;
/// Magic of a nanosecond-resolution pcap file.
pub const MAGIC_NANOS: u32 = 0xa1b2_3c4d;
pub const FILE_HEADER_LEN: usize = 24;
pub const RECORD_HEADER_LEN: usize = 16;

/// The file header for packets cut at `snaplen` bytes.
pub fn file_header(snaplen: u32) -> [u8; FILE_HEADER_LEN] {
    let mut h = [0u8; FILE_HEADER_LEN];
    h[0..4].copy_from_slice(&MAGIC_NANOS.to_le_bytes());
    h[4..6].copy_from_slice(&2u16.to_le_bytes()); // version 2.4
    h[6..8].copy_from_slice(&4u16.to_le_bytes());
    // thiszone and sigfigs stay 0.
    h[16..20].copy_from_slice(&snaplen.to_le_bytes());
    h[20..24].copy_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
    h
}

/// Append one packet: `data` is what was captured (at most snaplen bytes),
/// `orig_len` the packet's length on the wire.
pub fn push_record(out: &mut Vec<u8>, sec: u32, nsec: u32, data: &[u8], orig_len: u32) {
    out.extend_from_slice(&sec.to_le_bytes());
    out.extend_from_slice(&nsec.to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&orig_len.to_le_bytes());
    out.extend_from_slice(data);
}

/// One record read back (tests and tools).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub sec: u32,
    pub nsec: u32,
    pub orig_len: u32,
    pub data: Vec<u8>,
}

/// Parse a whole little-endian nanosecond pcap file as this module writes
/// it: its snaplen and records. `None` when it is not one, or is cut short.
pub fn parse(bytes: &[u8]) -> Option<(u32, Vec<Record>)> {
    let u32_at = |b: &[u8], i: usize| -> Option<u32> {
        Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
    };
    if u32_at(bytes, 0)? != MAGIC_NANOS || u32_at(bytes, 20)? != LINKTYPE_ETHERNET {
        return None;
    }
    let snaplen = u32_at(bytes, 16)?;
    let mut records = Vec::new();
    let mut i = FILE_HEADER_LEN;
    while i < bytes.len() {
        let incl = u32_at(bytes, i + 8)? as usize;
        let data = bytes.get(i + RECORD_HEADER_LEN..i + RECORD_HEADER_LEN + incl)?;
        records.push(Record {
            sec: u32_at(bytes, i)?,
            nsec: u32_at(bytes, i + 4)?,
            orig_len: u32_at(bytes, i + 12)?,
            data: data.to_vec(),
        });
        i += RECORD_HEADER_LEN + incl;
    }
    Some((snaplen, records))
}

/// Counts the records of a pcap stream fed in pieces of any size (the
/// client's count of what it wrote).
#[derive(Debug, Clone)]
pub struct RecordCounter {
    /// File header bytes still to skip.
    header_left: usize,
    /// The current record header, while incomplete.
    pending: Vec<u8>,
    /// Packet bytes of the current record still to skip.
    skip: usize,
    pub records: u64,
}

impl Default for RecordCounter {
    fn default() -> Self {
        RecordCounter {
            header_left: FILE_HEADER_LEN,
            pending: Vec::with_capacity(RECORD_HEADER_LEN),
            skip: 0,
            records: 0,
        }
    }
}

impl RecordCounter {
    pub fn feed(&mut self, mut b: &[u8]) {
        while !b.is_empty() {
            if self.header_left > 0 || self.skip > 0 {
                let left = if self.header_left > 0 {
                    &mut self.header_left
                } else {
                    &mut self.skip
                };
                let n = (*left).min(b.len());
                *left -= n;
                b = &b[n..];
                continue;
            }
            let n = (RECORD_HEADER_LEN - self.pending.len()).min(b.len());
            self.pending.extend_from_slice(&b[..n]);
            b = &b[n..];
            if self.pending.len() == RECORD_HEADER_LEN {
                let incl = u32::from_le_bytes([
                    self.pending[8],
                    self.pending[9],
                    self.pending[10],
                    self.pending[11],
                ]);
                self.skip = incl as usize;
                self.records += 1;
                self.pending.clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_matches_the_format_byte_for_byte() {
        // What libpcap writes for a nanosecond Ethernet capture, snaplen
        // 262144, on a little-endian machine.
        let want: [u8; 24] = [
            0x4d, 0x3c, 0xb2, 0xa1, 0x02, 0x00, 0x04, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00,
            0x04, 0x00, 0x01, 0x00, 0x00, 0x00,
        ];
        assert_eq!(file_header(262_144), want);
    }

    #[test]
    fn records_round_trip_and_keep_the_wire_length() {
        let mut f = file_header(64).to_vec();
        push_record(&mut f, 1_700_000_000, 999_999_999, &[0xaa; 64], 1514);
        push_record(&mut f, 1_700_000_001, 5, b"short", 5);
        assert_eq!(f.len(), 24 + 16 + 64 + 16 + 5);
        let (snap, recs) = parse(&f).unwrap();
        assert_eq!(snap, 64);
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].orig_len, 1514);
        assert_eq!(recs[0].data.len(), 64);
        assert_eq!(recs[0].nsec, 999_999_999);
        assert_eq!(recs[1].data, b"short");
        // A file cut inside a record is not taken for a whole one.
        assert!(parse(&f[..f.len() - 1]).is_none());
    }

    #[test]
    fn record_counter_counts_across_any_split() {
        let mut f = file_header(64).to_vec();
        for i in 0..5u8 {
            push_record(&mut f, 1, 2, &vec![i; usize::from(i) * 7], 100);
        }
        for piece in [1, 3, 16, 17, 1000] {
            let mut c = RecordCounter::default();
            for chunk in f.chunks(piece) {
                c.feed(chunk);
            }
            assert_eq!(c.records, 5, "pieces of {piece}");
        }
    }
}
