//! Named network namespaces for tests, made and removed with iproute2 (test
//! scaffolding only; the code under test never runs `ip`).

use std::process::{Command, Output};

/// A named namespace (`/run/netns/NAME`), deleted with everything in it on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(name: &str) -> Netns {
        let out = ip(&["netns", "add", name]);
        assert!(
            out.status.success(),
            "ip netns add {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ns = Netns {
            name: name.to_owned(),
        };
        ns.ok(&["link", "set", "lo", "up"]);
        ns
    }

    /// `ip netns exec NAME ARGS…`, its output.
    pub fn exec(&self, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args)
            .output()
            .expect("run ip netns exec")
    }

    /// `ip -n NAME ARGS…`, asserting success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let mut full = vec!["-n", &self.name];
        full.extend_from_slice(args);
        let out = ip(&full);
        assert!(
            out.status.success(),
            "ip {full:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Ping `addr` from inside this namespace (3 tries, short timeout).
    pub fn ping(&self, addr: &str) -> bool {
        self.exec(&["ping", "-c", "1", "-W", "1", "-w", "3", addr])
            .status
            .success()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace removes every interface inside it (and the
        // peers of its veths); pids left in it would keep it alive, so kill them.
        let _ = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
            .map(|o| {
                for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-9", pid]).status();
                }
            });
        let _ = ip(&["netns", "del", &self.name]);
    }
}

pub fn ip(args: &[&str]) -> Output {
    Command::new("ip").args(args).output().expect("run ip")
}

/// Run `f` on a fresh thread that has entered namespace `name` (the test
/// process itself never changes namespace).
pub fn in_netns<T: Send + 'static>(name: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{name}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).expect("open netns file");
        nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        f()
    })
    .join()
    .expect("netns thread panicked")
}

/// Like [`in_netns`] but returns at once; join the handle for the result.
pub fn spawn_in_netns<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    let path = format!("/run/netns/{name}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).expect("open netns file");
        nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        f()
    })
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    for c in data.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from(c[0]) << 8
        };
        sum += u32::from(w);
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// ICMP echo to `addr` from inside namespace `ns` with a raw socket (no
/// ping binary needed): true when a reply from `addr` arrives within
/// `tries` seconds.
pub fn icmp_ping(ns: &str, addr: std::net::Ipv4Addr, tries: u32) -> bool {
    in_netns(ns, move || unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_ICMP);
        assert!(fd >= 0, "raw socket: {}", std::io::Error::last_os_error());
        let tv = libc::timeval {
            tv_sec: 1,
            tv_usec: 0,
        };
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as u32,
        );
        let id = (std::process::id() & 0xffff) as u16;
        let mut sa: libc::sockaddr_in = std::mem::zeroed();
        sa.sin_family = libc::AF_INET as u16;
        sa.sin_addr.s_addr = u32::from(addr).to_be();
        let mut ok = false;
        'outer: for seq in 0..tries as u16 {
            let mut pkt = vec![8u8, 0, 0, 0];
            pkt.extend_from_slice(&id.to_be_bytes());
            pkt.extend_from_slice(&seq.to_be_bytes());
            pkt.extend_from_slice(b"conlink-test-payload");
            let c = checksum(&pkt);
            pkt[2..4].copy_from_slice(&c.to_be_bytes());
            libc::sendto(
                fd,
                pkt.as_ptr().cast(),
                pkt.len(),
                0,
                (&sa as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as u32,
            );
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
            while std::time::Instant::now() < deadline {
                let mut buf = [0u8; 1500];
                let n = libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0);
                if n < 28 {
                    break;
                }
                let ihl = usize::from(buf[0] & 0x0f) * 4;
                let src = std::net::Ipv4Addr::new(buf[12], buf[13], buf[14], buf[15]);
                let icmp = &buf[ihl..n as usize];
                if src == addr && icmp[0] == 0 && icmp[4..6] == id.to_be_bytes() {
                    ok = true;
                    break 'outer;
                }
            }
        }
        libc::close(fd);
        ok
    })
}

impl Netns {
    /// ICMP echo from this namespace (raw socket; see [`icmp_ping`]).
    pub fn ping_ip(&self, addr: &str) -> bool {
        icmp_ping(&self.name, addr.parse().expect("ipv4 address"), 3)
    }

    /// `ip -j -n NAME ARGS…` parsed as JSON.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut full = vec!["-j", "-d", "-n", &self.name];
        full.extend_from_slice(args);
        let out = ip(&full);
        assert!(
            out.status.success(),
            "ip {full:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("ip -j output is JSON")
    }

    /// The `ip -j -d link show DEV` object of one link.
    pub fn link(&self, dev: &str) -> serde_json::Value {
        self.json(&["link", "show", "dev", dev])[0].clone()
    }

    /// A veth `dev` here whose peer `peer_dev` is in `peer`, each end with
    /// its address (`a.b.c.d/n` or an IPv6 one, which skips duplicate
    /// address detection so it works at once) and up.
    pub fn veth_to(&self, dev: &str, addr: &str, peer: &Netns, peer_dev: &str, peer_addr: &str) {
        self.ok(&[
            "link", "add", dev, "type", "veth", "peer", "name", peer_dev, "netns", &peer.name,
        ]);
        for (ns, dev, addr) in [(self, dev, addr), (peer, peer_dev, peer_addr)] {
            let mut args = vec!["addr", "add", addr, "dev", dev];
            if addr.contains(':') {
                args.push("nodad");
            }
            ns.ok(&args);
            ns.ok(&["link", "set", dev, "up"]);
        }
    }

    /// Whether nftables table `table` of `family` (`ip`, `ip6`) exists in
    /// this namespace (`nft list table`).
    pub fn has_nft_table(&self, family: &str, table: &str) -> bool {
        self.exec(&["nft", "list", "table", family, table])
            .status
            .success()
    }

    /// Whether a link named `dev` exists in this namespace.
    pub fn has_link(&self, dev: &str) -> bool {
        ip(&["-n", &self.name, "link", "show", "dev", dev])
            .status
            .success()
    }
}

/// Send one raw Ethernet frame out of `dev` in namespace `ns`.
pub fn send_frame(ns: &str, dev: &str, frame: Vec<u8>) {
    let dev = std::ffi::CString::new(dev).unwrap();
    in_netns(ns, move || unsafe {
        let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0);
        assert!(
            fd >= 0,
            "packet socket: {}",
            std::io::Error::last_os_error()
        );
        let mut sll: libc::sockaddr_ll = std::mem::zeroed();
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_ifindex = libc::if_nametoindex(dev.as_ptr()) as i32;
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(&frame[..6]);
        let n = libc::sendto(
            fd,
            frame.as_ptr().cast(),
            frame.len(),
            0,
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        );
        assert_eq!(
            n as usize,
            frame.len(),
            "send frame: {}",
            std::io::Error::last_os_error()
        );
        libc::close(fd);
    })
}

/// Start capturing on `dev` in `ns`; the handle yields whether a frame
/// containing `marker` arrived within `secs` seconds. Returns once the
/// capture socket is bound, so a frame sent afterwards is seen.
pub fn capture(
    ns: &str,
    dev: &str,
    marker: &'static [u8],
    secs: u64,
) -> std::thread::JoinHandle<bool> {
    let dev = std::ffi::CString::new(dev).unwrap();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let h = spawn_in_netns(ns, move || unsafe {
        let fd = libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW,
            (libc::ETH_P_ALL as u16).to_be() as i32,
        );
        assert!(
            fd >= 0,
            "packet socket: {}",
            std::io::Error::last_os_error()
        );
        let mut sll: libc::sockaddr_ll = std::mem::zeroed();
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        sll.sll_ifindex = libc::if_nametoindex(dev.as_ptr()) as i32;
        assert!(
            libc::bind(
                fd,
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32
            ) == 0
        );
        let tv = libc::timeval {
            tv_sec: 0,
            tv_usec: 200_000,
        };
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as u32,
        );
        ready_tx.send(()).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        let mut seen = false;
        while std::time::Instant::now() < deadline && !seen {
            let mut buf = [0u8; 2048];
            let n = libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0);
            if n > 0 {
                seen = buf[..n as usize].windows(marker.len()).any(|w| w == marker);
            }
        }
        libc::close(fd);
        seen
    });
    ready_rx.recv().expect("capture thread ready");
    h
}

/// An LLDP frame (to 01:80:c2:00:00:0e, which a Linux bridge never
/// forwards) carrying `marker` as its payload.
pub fn lldp_frame(src_mac: [u8; 6], marker: &[u8]) -> Vec<u8> {
    let mut f = vec![0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e];
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&[0x88, 0xcc]);
    f.extend_from_slice(marker);
    while f.len() < 60 {
        f.push(0);
    }
    f
}
