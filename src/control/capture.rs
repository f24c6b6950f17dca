//! Capturing one link's packets for `GET /v1/capture`: an AF_PACKET raw
//! socket bound to the link's interface, read on a thread of its own (never
//! a tokio worker: it blocks, and it may have to `setns()` into the
//! interface's namespace), handing pcap records to the HTTP body in
//! batches through a bounded channel.
//!
//! A capture ends when COUNT packets are taken, when the client goes away,
//! when the interface goes away, or when the client does not keep up (the
//! queue is full): it is then stopped rather than buffered without bound.

use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use hyper::body::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::api::{CapturePoint, ControlError, Direction};
use super::packet_socket::{Meta, enter, kernel_drops, open_socket, recv, wait_readable};
use super::pcap;

/// Largest snaplen accepted (tcpdump's default).
pub const MAX_SNAPLEN: u32 = 262_144;
/// A batch handed to the HTTP body is closed once it holds this much.
const BATCH_BYTES: usize = 64 * 1024;
/// Batches queued for the client before it counts as not keeping up
/// (at most about 64 × (64 KiB + one packet) per capture).
const QUEUE_BATCHES: usize = 64;
/// How often a capture with no traffic checks whether its client is gone.
const POLL: Duration = Duration::from_millis(200);
/// How long packets wait on this thread to be handed over with later ones.
const FLUSH_AFTER: Duration = Duration::from_millis(20);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureOpts {
    /// Stop after this many packets (0: no limit).
    pub count: u64,
    /// Which packets, seen from the container.
    pub direction: Direction,
    pub snaplen: u32,
}

/// Why a capture ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndReason {
    Count,
    ClientGone,
    InterfaceGone,
    /// The client did not read fast enough; the capture was stopped.
    ClientSlow,
    Error(String),
}

impl EndReason {
    /// The token of the `conlink-capture-end` trailer.
    pub fn token(&self) -> &'static str {
        match self {
            EndReason::Count => "count",
            EndReason::ClientGone => "client-gone",
            EndReason::InterfaceGone => "interface-gone",
            EndReason::ClientSlow => "client-slow",
            EndReason::Error(_) => "error",
        }
    }
}

impl std::fmt::Display for EndReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EndReason::Count => f.write_str("count reached"),
            EndReason::ClientGone => f.write_str("client went away"),
            EndReason::InterfaceGone => f.write_str("the interface went away"),
            EndReason::ClientSlow => f.write_str("stopped: the reader fell behind"),
            EndReason::Error(e) => write!(f, "error: {e}"),
        }
    }
}

/// How a capture ended, for the stream's trailer and the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureEnd {
    pub reason: EndReason,
    /// Packets written to the stream.
    pub packets: u64,
    /// Packets the kernel dropped because the socket's buffer was full.
    pub kernel_drops: u64,
}

/// A running capture: batches of pcap records (the file header is not
/// among them: see [`pcap::file_header`]), then the end report.
pub struct Capture {
    pub data: mpsc::Receiver<Bytes>,
    pub end: oneshot::Receiver<CaptureEnd>,
}

/// Open the capture socket on `point` and start reading. Errors (namespace
/// or interface missing, no permission) come back before any byte is sent.
pub async fn start(point: CapturePoint, opts: CaptureOpts) -> Result<Capture, ControlError> {
    let (ready_tx, ready_rx) = oneshot::channel();
    let (data_tx, data_rx) = mpsc::channel(QUEUE_BATCHES);
    let (end_tx, end_rx) = oneshot::channel();
    std::thread::Builder::new()
        .name("conlink-capture".into())
        .spawn(move || {
            let opened = enter(&point.ns)
                .and_then(|()| open_socket(&point.ifname))
                .map_err(|e| ControlError::Failed {
                    message: format!(
                        "capture {}: interface {} in {}: {e}",
                        point.id, point.ifname, point.ns
                    ),
                });
            let (fd, ifindex) = match opened {
                Ok(x) => x,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let _ = ready_tx.send(Ok(()));
            let reader = Reader {
                fd: fd.as_raw_fd(),
                ifname: &point.ifname,
                ifindex,
                outer: point.outer,
                opts,
            };
            let end = reader.run(&data_tx);
            tracing::info!(
                "capture of {} on {} in {}: {} packets, {}{}",
                point.id,
                point.ifname,
                point.ns,
                end.packets,
                end.reason,
                if end.kernel_drops > 0 {
                    format!(", {} dropped by the kernel", end.kernel_drops)
                } else {
                    String::new()
                }
            );
            // The report first, then the end of the data: the body reads
            // the report once the data channel closes.
            let _ = end_tx.send(end);
            drop(data_tx);
        })
        .map_err(|e| ControlError::Failed {
            message: format!("cannot start a capture thread: {e}"),
        })?;
    ready_rx.await.map_err(|_| ControlError::Failed {
        message: "the capture thread ended before it started".into(),
    })??;
    Ok(Capture {
        data: data_rx,
        end: end_rx,
    })
}

struct Reader<'a> {
    fd: RawFd,
    ifname: &'a str,
    ifindex: u32,
    outer: bool,
    opts: CaptureOpts,
}

impl Reader<'_> {
    fn run(&self, tx: &mpsc::Sender<Bytes>) -> CaptureEnd {
        let mut buf = vec![0u8; self.opts.snaplen as usize];
        let mut batch: Vec<u8> = Vec::with_capacity(BATCH_BYTES + 4096);
        let mut packets = 0u64;
        // Set while the interface is down: is it only down, or gone?
        let mut down = false;
        let reason = 'capture: loop {
            // Wait (up to POLL) for a first packet, then gather more for up
            // to FLUSH_AFTER or until the batch is full: a busy link costs
            // one hand-over to the HTTP body per batch, not one per packet,
            // and a quiet one still shows each packet within FLUSH_AFTER.
            let mut end = None;
            let mut flush_at: Option<Instant> = None;
            loop {
                match recv(self.fd, &mut buf) {
                    Ok(Some(meta)) => {
                        down = false;
                        if !self.wanted(meta.pkttype) {
                            continue;
                        }
                        push_packet(&mut batch, &buf, meta, self.opts.snaplen);
                        packets += 1;
                        flush_at.get_or_insert_with(|| Instant::now() + FLUSH_AFTER);
                        if self.opts.count > 0 && packets >= self.opts.count {
                            end = Some(EndReason::Count);
                            break;
                        }
                        if batch.len() >= BATCH_BYTES {
                            break;
                        }
                    }
                    Ok(None) => {
                        let timeout = match flush_at {
                            None => POLL,
                            Some(t) => t.saturating_duration_since(Instant::now()),
                        };
                        match wait_readable(self.fd, timeout) {
                            Ok(true) => {}
                            Ok(false) => break,
                            Err(e) => {
                                end = Some(EndReason::Error(format!("poll: {e}")));
                                break;
                            }
                        }
                    }
                    Err(e) => match e.raw_os_error() {
                        Some(libc::EINTR) => {}
                        // Down (admin) or on its way out: a link taken down
                        // and up again goes on being captured.
                        Some(libc::ENETDOWN) => {
                            down = true;
                            break;
                        }
                        Some(libc::ENXIO) | Some(libc::ENODEV) => {
                            end = Some(EndReason::InterfaceGone);
                            break;
                        }
                        _ => {
                            end = Some(EndReason::Error(e.to_string()));
                            break;
                        }
                    },
                }
            }
            if !batch.is_empty() {
                match tx.try_send(Bytes::from(std::mem::take(&mut batch))) {
                    Ok(()) => batch.reserve(BATCH_BYTES + 4096),
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        break 'capture EndReason::ClientSlow;
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => {
                        break 'capture EndReason::ClientGone;
                    }
                }
            }
            if let Some(r) = end {
                break r;
            }
            if tx.is_closed() {
                break EndReason::ClientGone;
            }
            if down && !self.still_there() {
                break EndReason::InterfaceGone;
            }
            if down {
                // No packets come while down: don't spin on the check.
                std::thread::sleep(POLL);
            }
        };
        CaptureEnd {
            reason,
            packets,
            kernel_drops: kernel_drops(self.fd),
        }
    }

    /// Whether a packet of this type is in the asked direction. Egress of
    /// the inner end leaves the container; egress of the outer end arrives
    /// at it.
    fn wanted(&self, pkttype: u8) -> bool {
        let egress = pkttype == libc::PACKET_OUTGOING;
        let leaves_container = egress != self.outer;
        if leaves_container {
            self.opts.direction.includes_out()
        } else {
            self.opts.direction.includes_in()
        }
    }

    /// The same interface (name and index) still exists in the namespace.
    fn still_there(&self) -> bool {
        nix::net::if_::if_nametoindex(self.ifname).is_ok_and(|i| i == self.ifindex)
    }
}

/// Append one packet as a pcap record, with a VLAN tag the kernel had taken
/// off put back in place (as libpcap does), cut at `snaplen`.
fn push_packet(batch: &mut Vec<u8>, buf: &[u8], meta: Meta, snaplen: u32) {
    let got = &buf[..meta.len.min(buf.len())];
    match meta.vlan {
        Some((tpid, tci)) if got.len() >= 12 => {
            let mut frame = Vec::with_capacity(got.len() + 4);
            frame.extend_from_slice(&got[..12]);
            frame.extend_from_slice(&tpid.to_be_bytes());
            frame.extend_from_slice(&tci.to_be_bytes());
            frame.extend_from_slice(&got[12..]);
            frame.truncate(snaplen as usize);
            pcap::push_record(batch, meta.sec, meta.nsec, &frame, (meta.len + 4) as u32);
        }
        _ => pcap::push_record(batch, meta.sec, meta.nsec, got, meta.len as u32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(outer: bool, direction: Direction) -> Reader<'static> {
        Reader {
            fd: -1,
            ifname: "x",
            ifindex: 0,
            outer,
            opts: CaptureOpts {
                count: 0,
                direction,
                snaplen: 100,
            },
        }
    }

    #[test]
    fn direction_is_seen_from_the_container_on_either_end() {
        let out = libc::PACKET_OUTGOING;
        let host = libc::PACKET_HOST;
        // Inner end: its egress leaves the container.
        assert!(reader(false, Direction::Out).wanted(out));
        assert!(!reader(false, Direction::Out).wanted(host));
        assert!(reader(false, Direction::In).wanted(host));
        // Outer end: its egress arrives at the container.
        assert!(reader(true, Direction::In).wanted(out));
        assert!(!reader(true, Direction::In).wanted(host));
        assert!(reader(true, Direction::Out).wanted(libc::PACKET_BROADCAST));
        assert!(reader(true, Direction::Both).wanted(out));
        assert!(reader(true, Direction::Both).wanted(host));
    }

    #[test]
    fn a_vlan_tag_taken_off_by_the_kernel_is_put_back_and_snaplen_holds() {
        let mut frame = vec![0xffu8; 6];
        frame.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x08, 0x00]);
        frame.extend_from_slice(&[0x45; 20]);
        let meta = Meta {
            len: frame.len(),
            pkttype: 0,
            sec: 1,
            nsec: 2,
            vlan: Some((0x8100, 42)),
        };
        let mut batch = Vec::new();
        push_packet(&mut batch, &frame, meta, 1000);
        let mut file = pcap::file_header(1000).to_vec();
        file.extend_from_slice(&batch);
        let (_, recs) = pcap::parse(&file).unwrap();
        let d = &recs[0].data;
        assert_eq!(d.len(), frame.len() + 4);
        assert_eq!(&d[12..16], &[0x81, 0x00, 0x00, 42]);
        assert_eq!(&d[16..18], &[0x08, 0x00]);
        assert_eq!(recs[0].orig_len as usize, frame.len() + 4);

        let mut batch = Vec::new();
        push_packet(&mut batch, &frame, meta, 14);
        let mut file = pcap::file_header(14).to_vec();
        file.extend_from_slice(&batch);
        let (_, recs) = pcap::parse(&file).unwrap();
        assert_eq!(recs[0].data.len(), 14);
        assert_eq!(recs[0].orig_len as usize, frame.len() + 4);
    }

    #[test]
    fn a_packet_longer_than_the_buffer_keeps_its_wire_length() {
        let buf = [7u8; 20];
        let meta = Meta {
            len: 1500,
            pkttype: 0,
            sec: 0,
            nsec: 0,
            vlan: None,
        };
        let mut batch = Vec::new();
        push_packet(&mut batch, &buf, meta, 20);
        let mut file = pcap::file_header(20).to_vec();
        file.extend_from_slice(&batch);
        let (_, recs) = pcap::parse(&file).unwrap();
        assert_eq!(recs[0].data.len(), 20);
        assert_eq!(recs[0].orig_len, 1500);
    }
}
