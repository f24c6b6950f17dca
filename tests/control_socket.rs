//! The control socket's HTTP layer and the `conlink` client subcommands,
//! without the daemon: the real server (`conlink::control::server`) serves
//! a `Contract` — a stand-in for the daemon's state that only answers the
//! API's calls, so what is under test is the HTTP contract (routes, JSON,
//! errors, streams) and the client. Capture is real all the way: two
//! namespaces joined by a veth, real pings, a pcap file read back.

mod common;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::netns::{Netns, icmp_ping, in_netns};
use conlink::control::api::{
    CapturePoint, Changed, Control, ControlError, Direction, Event, EventKind, LinkState,
    LinkStatus, NetemReset, NetemSet, NetemStatus, Status,
};
use conlink::control::client::{Client, ClientError};
use conlink::control::pcap;
use conlink::control::server::Server;
use conlink::net::NsTarget;
use http_body_util::BodyExt;
use tokio::sync::broadcast;

/// The answers of a daemon, fixed by the test; the requests it got are
/// recorded so the test can check what the client encoded.
struct Contract {
    status: Status,
    points: Vec<CapturePoint>,
    events: broadcast::Sender<Event>,
    calls: Mutex<Vec<String>>,
}

impl Contract {
    fn new(links: Vec<CapturePoint>, events_capacity: usize) -> Arc<Contract> {
        let status = Status {
            milestone: true,
            links: links
                .iter()
                .map(|p| LinkStatus {
                    id: p.id.clone(),
                    target: p.id.split(':').next().unwrap().to_string(),
                    service: None,
                    dev: p.ifname.clone(),
                    kind: "veth".into(),
                    outer: None,
                    bridge: None,
                    state: LinkState::Up,
                    addresses: vec!["10.213.0.1/24".into()],
                    mac: None,
                    mtu: Some(1500),
                    netem: NetemStatus {
                        config: Some("delay 1ms".into()),
                        ..Default::default()
                    },
                    counters: None,
                    last_change: 0.0,
                })
                .collect(),
            ..Default::default()
        };
        Arc::new(Contract {
            status,
            points: links,
            events: broadcast::channel(events_capacity).0,
            calls: Mutex::new(Vec::new()),
        })
    }

    fn find(&self, ids: &[String]) -> Result<Vec<String>, ControlError> {
        let known: Vec<String> = self.points.iter().map(|p| p.id.clone()).collect();
        for id in ids {
            if !known.contains(id) {
                return Err(ControlError::NotFound {
                    id: id.clone(),
                    near: known.clone(),
                });
            }
        }
        Ok(ids.to_vec())
    }

    fn record(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

impl Control for Contract {
    async fn status(&self, ids: &[String]) -> Result<Status, ControlError> {
        self.find(ids)?;
        let mut s = self.status.clone();
        if !ids.is_empty() {
            s.links.retain(|l| ids.contains(&l.id));
        }
        Ok(s)
    }
    async fn set_admin(&self, ids: &[String], up: bool) -> Result<Changed, ControlError> {
        let ids = self.find(ids)?;
        self.record(format!("set_admin {ids:?} {up}"));
        Ok(Changed { ids })
    }
    async fn netem_set(&self, req: NetemSet) -> Result<Changed, ControlError> {
        self.record(format!("netem_set {req:?}"));
        Ok(Changed {
            ids: self.find(&req.ids)?,
        })
    }
    async fn netem_reset(&self, req: NetemReset) -> Result<Changed, ControlError> {
        self.record(format!("netem_reset {req:?}"));
        Err(ControlError::KernelLacks {
            message: "netem needs the sch_netem kernel module".into(),
        })
    }
    fn events(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }
    fn capture_point(&self, id: &str) -> Result<CapturePoint, ControlError> {
        self.find(&[id.to_string()])?;
        Ok(self.points.iter().find(|p| p.id == id).unwrap().clone())
    }
}

/// The real server on its own runtime thread; stopped (and joined) on drop.
struct Running {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn serve(path: &Path, control: Arc<Contract>) -> Running {
    let server = Server::bind(path).expect("bind the control socket");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(server.run(control, async {
            let _ = rx.await;
        }))
        .unwrap();
    });
    Running {
        stop: Some(tx),
        thread: Some(thread),
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn conlink(args: &[&str]) -> Command {
    let mut c = Command::new(common::conlink_bin());
    c.args(args).env_remove("CONLINK_CONTROL_SOCKET");
    c
}

fn run(args: &[&str]) -> Output {
    conlink(args).output().expect("run conlink")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Two namespaces joined by a veth (`eth0` in each), IPv6 off so the only
/// traffic is what the test sends, static neighbours so there is no ARP.
struct Pair {
    a: Netns,
    b: Netns,
}

const A_IP: &str = "10.213.0.1";
const B_IP: &str = "10.213.0.2";

fn pair() -> Pair {
    let a = Netns::new(&common::unique("csa"));
    let b = Netns::new(&common::unique("csb"));
    for ns in [&a, &b] {
        let out = ns.exec(&[
            "sysctl",
            "-q",
            "-w",
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
        ]);
        assert!(out.status.success(), "sysctl: {}", text(&out.stderr));
    }
    let out = common::netns::ip(&[
        "link", "add", "eth0", "netns", &a.name, "type", "veth", "peer", "name", "eth0", "netns",
        &b.name,
    ]);
    assert!(out.status.success(), "ip link add: {}", text(&out.stderr));
    for (ns, ip) in [(&a, A_IP), (&b, B_IP)] {
        ns.ok(&["addr", "add", &format!("{ip}/24"), "dev", "eth0"]);
        ns.ok(&["link", "set", "eth0", "up"]);
    }
    let mac = |ns: &Netns| ns.link("eth0")["address"].as_str().unwrap().to_string();
    let (ma, mb) = (mac(&a), mac(&b));
    a.ok(&[
        "neigh",
        "replace",
        B_IP,
        "lladdr",
        &mb,
        "dev",
        "eth0",
        "nud",
        "permanent",
    ]);
    b.ok(&[
        "neigh",
        "replace",
        A_IP,
        "lladdr",
        &ma,
        "dev",
        "eth0",
        "nud",
        "permanent",
    ]);
    Pair { a, b }
}

fn points(p: &Pair) -> Vec<CapturePoint> {
    vec![
        // The container's own end.
        CapturePoint {
            id: format!("{}:eth0", p.a.name),
            ns: NsTarget::Name(p.a.name.clone()),
            ifname: "eth0".into(),
            outer: false,
        },
        // B's end stands in for A's outer end (conlink's side).
        CapturePoint {
            id: format!("{}:outer", p.a.name),
            ns: NsTarget::Name(p.b.name.clone()),
            ifname: "eth0".into(),
            outer: true,
        },
    ]
}

/// ICMP (IPv4 proto 1) type of an Ethernet frame, with its source address.
fn icmp_of(frame: &[u8]) -> Option<(u8, std::net::Ipv4Addr)> {
    if frame.len() < 34 || frame[12..14] != [0x08, 0x00] || frame[23] != 1 {
        return None;
    }
    let ihl = usize::from(frame[14] & 0x0f) * 4;
    let src = std::net::Ipv4Addr::new(frame[26], frame[27], frame[28], frame[29]);
    Some((*frame.get(14 + ihl)?, src))
}

/// Ping from A while `child` runs (at most `max` pings); its output.
fn ping_until_done(a: &str, mut child: std::process::Child, max: u32) -> Output {
    for _ in 0..max {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        icmp_ping(a, B_IP.parse().unwrap(), 1);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    child.wait_with_output().unwrap()
}

#[test]
fn capture_writes_a_pcap_of_real_pings_per_direction() {
    if !common::require_root("capture_writes_a_pcap_of_real_pings_per_direction") {
        return;
    }
    let p = pair();
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("control.sock");
    let _srv = serve(&sock, Contract::new(points(&p), 16));
    let s = sock.to_str().unwrap();

    // Inner end, out: the echo requests A sends (3, then the count ends it).
    let file = dir.path().join("out.pcap");
    let id = format!("{}:eth0", p.a.name);
    let child = conlink(&[
        "capture",
        &id,
        "-c",
        "3",
        "-w",
        file.to_str().unwrap(),
        "--direction",
        "out",
        "--socket",
        s,
    ])
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // The capture socket is bound before the answer's first byte; give the
    // client a moment to get that far.
    std::thread::sleep(Duration::from_millis(300));
    let out = ping_until_done(&p.a.name, child, 20);
    assert!(out.status.success(), "capture: {}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr).trim(),
        "conlink capture: 3 packets (count reached)"
    );
    let bytes = std::fs::read(&file).unwrap();
    let (snaplen, recs) = pcap::parse(&bytes).expect("a whole pcap file");
    assert_eq!(snaplen, 262_144);
    assert_eq!(recs.len(), 3);
    for r in &recs {
        assert_eq!(
            icmp_of(&r.data),
            Some((8, A_IP.parse().unwrap())),
            "not an echo request from A: {:02x?}",
            r.data
        );
        assert_eq!(r.orig_len as usize, r.data.len());
    }
    // Timestamps are real and in order.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32;
    assert!(recs.iter().all(|r| r.sec + 60 > now && r.sec <= now));
    assert!(
        recs.windows(2)
            .all(|w| (w[0].sec, w[0].nsec) <= (w[1].sec, w[1].nsec))
    );
    // tcpdump reads it the same way, where it is installed.
    if let Ok(o) = Command::new("tcpdump")
        .args(["-n", "-r"])
        .arg(&file)
        .output()
    {
        let t = text(&o.stdout);
        assert_eq!(t.lines().count(), 3, "{t}{}", text(&o.stderr));
        assert_eq!(t.matches("ICMP echo request").count(), 3, "{t}");
    }

    // Outer end, in (= its egress): the replies arriving at A, to stdout,
    // cut at a snaplen of 40.
    let id = format!("{}:outer", p.a.name);
    let child = conlink(&[
        "capture",
        &id,
        "-c",
        "2",
        "--direction",
        "in",
        "--snaplen",
        "40",
        "--socket",
        s,
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let out = ping_until_done(&p.a.name, child, 20);
    assert!(out.status.success(), "capture: {}", text(&out.stderr));
    let (snaplen, recs) = pcap::parse(&out.stdout).expect("a whole pcap on stdout");
    assert_eq!(snaplen, 40);
    assert_eq!(recs.len(), 2);
    for r in &recs {
        assert_eq!(r.data.len(), 40);
        // Ethernet 14 + IPv4 20 + ICMP 8 + the 20-byte payload of icmp_ping.
        assert_eq!(r.orig_len, 62);
        assert_eq!(icmp_of(&r.data), Some((0, B_IP.parse().unwrap())));
    }
}

/// Read a capture stream to its end (or `limit`): records and the trailer.
async fn read_capture(
    body: &mut hyper::body::Incoming,
    limit: Duration,
) -> (Vec<pcap::Record>, Option<String>) {
    let mut bytes = Vec::new();
    let mut trailer = None;
    let deadline = tokio::time::Instant::now() + limit;
    while let Ok(Some(f)) = tokio::time::timeout_at(deadline, body.frame()).await {
        let f = f.expect("capture stream");
        if let Some(d) = f.data_ref() {
            bytes.extend_from_slice(d);
        } else if let Some(t) = f.trailers_ref() {
            trailer = t
                .get("conlink-capture-end")
                .map(|v| v.to_str().unwrap().to_string());
        }
    }
    let (_, recs) = pcap::parse(&bytes).expect("whole records");
    (recs, trailer)
}

#[test]
fn capture_survives_down_up_and_ends_when_the_interface_goes() {
    if !common::require_root("capture_survives_down_up_and_ends_when_the_interface_goes") {
        return;
    }
    let p = pair();
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("control.sock");
    let _srv = serve(&sock, Contract::new(points(&p), 16));
    let id = format!("{}:eth0", p.a.name);
    rt().block_on(async {
        let client = Client::new(&sock);
        let mut body = client.capture(&id, 0, Direction::Out, None).await.unwrap();
        p.a.ok(&["link", "set", "eth0", "down"]);
        p.a.ok(&["link", "set", "eth0", "up"]);
        p.a.ok(&[
            "neigh",
            "replace",
            B_IP,
            "lladdr",
            "02:00:00:00:00:02",
            "dev",
            "eth0",
            "nud",
            "permanent",
        ]);
        let a = p.a.name.clone();
        tokio::task::spawn_blocking(move || icmp_ping(&a, B_IP.parse().unwrap(), 1))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        common::netns::ip(&["-n", &p.a.name, "link", "del", "eth0"]);
        let (recs, trailer) = read_capture(&mut body, Duration::from_secs(5)).await;
        assert!(
            recs.iter()
                .any(|r| icmp_of(&r.data).is_some_and(|(t, _)| t == 8)),
            "the ping after down/up was not captured: {recs:?}"
        );
        let trailer = trailer.expect("the stream ended with its report");
        assert!(trailer.starts_with("interface-gone packets="), "{trailer}");
    });
}

#[test]
fn a_capture_nobody_reads_is_stopped_not_buffered() {
    if !common::require_root("a_capture_nobody_reads_is_stopped_not_buffered") {
        return;
    }
    let p = pair();
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("control.sock");
    let _srv = serve(&sock, Contract::new(points(&p), 16));
    let id = format!("{}:eth0", p.a.name);
    rt().block_on(async {
        let client = Client::new(&sock);
        let mut body = client.capture(&id, 0, Direction::Out, None).await.unwrap();
        // ~45 MB out of A while nobody reads: far more than the queue (64
        // batches of 64 KiB) plus the socket buffers hold.
        let a = p.a.name.clone();
        tokio::task::spawn_blocking(move || flood(&a, "eth0", 30_000))
            .await
            .unwrap();
        let (recs, trailer) = read_capture(&mut body, Duration::from_secs(10)).await;
        let trailer = trailer.expect("the stream ended with its report");
        assert!(trailer.starts_with("client-slow "), "{trailer}");
        assert!(!recs.is_empty() && recs.len() < 30_000, "{}", recs.len());
    });
}

/// Send `n` 1500-byte frames out of `dev` in `ns` as fast as possible.
fn flood(ns: &str, dev: &str, n: usize) {
    let dev = std::ffi::CString::new(dev).unwrap();
    in_netns(ns, move || unsafe {
        let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0);
        assert!(fd >= 0);
        let mut sll: libc::sockaddr_ll = std::mem::zeroed();
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_ifindex = libc::if_nametoindex(dev.as_ptr()) as i32;
        sll.sll_halen = 6;
        let mut frame = vec![0u8; 1500];
        frame[..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x99]);
        frame[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x98]);
        frame[12..14].copy_from_slice(&[0x88, 0xb5]); // local experimental
        for _ in 0..n {
            libc::sendto(
                fd,
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            );
        }
        libc::close(fd);
    })
}

#[test]
fn client_commands_speak_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("run/conlink/control.sock");
    let pt = |id: &str| CapturePoint {
        id: id.into(),
        ns: NsTarget::Current,
        ifname: "lo".into(),
        outer: false,
    };
    let contract = Contract::new(vec![pt("node_1:eth0"), pt("node_2:eth0")], 16);
    let srv = serve(&sock, contract.clone());
    let s = sock.to_str().unwrap();
    // The socket is 0600, its directories (made here) 0700.
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&sock), 0o600);
    assert_eq!(mode(sock.parent().unwrap()), 0o700);

    // status --json is the server's JSON.
    let out = run(&["status", "--json", "--socket", s]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let got: Status = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got, contract.status);
    // The env var names the socket too; ids select.
    let out = conlink(&["status", "node_2:eth0"])
        .env("CONLINK_CONTROL_SOCKET", s)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    assert!(
        t.starts_with("LINK         KIND  STATE  ADDRESSES      MTU   NETEM\n"),
        "{t}"
    );
    assert!(
        t.contains("\nnode_2:eth0  veth  up     10.213.0.1/24  1500  delay 1ms\n"),
        "{t}"
    );
    assert!(!t.contains("node_1"), "{t}");
    assert!(
        t.ends_with("links:    1 (1 up); All links connected\n"),
        "{t}"
    );

    // Unknown id: the server's message with near matches, exit 1.
    let out = run(&["link", "down", "node_3:eth0", "--socket", s]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "conlink link down: no link matches node_3:eth0 (did you mean: node_1:eth0, node_2:eth0?)\n"
    );
    let out = run(&["link", "down", "node_1:eth0", "node_2:eth0", "--socket", s]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "node_1:eth0: down\nnode_2:eth0: down\n");

    // netem set: ids, --, options; encoded as the contract says.
    let out = run(&[
        "netem",
        "set",
        "node_1:eth0",
        "--direction",
        "in",
        "--socket",
        s,
        "--",
        "delay",
        "40ms",
        "loss",
        "1%",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "node_1:eth0: netem in: delay 40ms loss 1%\n"
    );
    // Options the config would reject never reach the server: exit 2.
    let out = run(&[
        "netem",
        "set",
        "node_1:eth0",
        "--socket",
        s,
        "--",
        "delay",
        "soon",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).starts_with("conlink netem set: netem options \"delay soon\": "));
    // A kernel without sch_netem: the server's message, exit 1.
    let out = run(&["netem", "reset", "node_1:eth0", "--socket", s]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "conlink netem reset: netem needs the sch_netem kernel module\n"
    );
    assert_eq!(
        contract.calls(),
        vec![
            "set_admin [\"node_1:eth0\", \"node_2:eth0\"] false".to_string(),
            "netem_set NetemSet { ids: [\"node_1:eth0\"], options: \"delay 40ms loss 1%\", direction: In }".into(),
            "netem_reset NetemReset { ids: [\"node_1:eth0\"], direction: Both }".into(),
        ]
    );
    // netem show: config and runtime apart.
    let out = run(&["netem", "show", "node_1:eth0", "--socket", s]);
    assert_eq!(
        text(&out.stdout),
        "LINK         OUT (leaving the container)  IN (arriving at it)\n\
         node_1:eth0  delay 1ms (config)           -\n"
    );
    // Usage errors exit 2 before any request.
    let out = run(&["capture", "node_1:eth0", "-c", "0", "--socket", s]);
    assert_eq!(out.status.code(), Some(2));

    // HTTP errors: unknown path 404, wrong method 405, body too large.
    rt().block_on(async {
        let client = Client::new(&sock);
        let e = client
            .send(hyper::Method::GET, "/v1/nope", None, false)
            .await
            .unwrap_err();
        assert!(
            matches!(&e, ClientError::Server(ControlError::BadRequest { message }) if message.starts_with("unknown path /v1/nope")),
            "{e}"
        );
        let e = client
            .send(hyper::Method::GET, "/v1/links/down", None, false)
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "GET /v1/links/down: method not allowed (use POST)"
        );
        let big = format!("{{\"ids\":[\"{}\"]}}", "x".repeat(100 * 1024));
        let e = client
            .send(hyper::Method::POST, "/v1/links/down", Some(big.into_bytes()), false)
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "request body larger than 64 KiB");
        let e = client
            .send(hyper::Method::POST, "/v1/links/up", Some(b"{\"id\":[]}".to_vec()), false)
            .await
            .unwrap_err();
        assert!(e.to_string().starts_with("request body: missing field `ids`"), "{e}");
    });

    // Stopping the server removes the socket; then the client says so.
    drop(srv);
    assert!(!sock.exists());
    let out = run(&["status", "--socket", s]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "conlink status: cannot reach the control socket {s}: no such socket"
        )),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn dead_socket_errors_and_stale_one_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("control.sock");
    let s = sock.to_str().unwrap();
    // A killed run leaves its socket file behind: nothing answers.
    drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
    let out = run(&["events", "--socket", s]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "conlink events: cannot reach the control socket {s}: connection refused \
             (nothing listens: the conlink that made it is gone)\n"
        )
    );
    // A new server replaces it…
    let contract = Contract::new(vec![], 16);
    let srv = serve(&sock, contract);
    let out = run(&["status", "--socket", s]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("no links\n"));
    // …while a live one is not taken over.
    let e = Server::bind(&sock).err().expect("a live socket is refused");
    assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse);
    drop(srv);
}

#[test]
fn events_stream_lines_as_they_happen_and_tell_a_lagging_client() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("control.sock");
    let contract = Contract::new(vec![], 4);
    let _srv = serve(&sock, contract.clone());
    let s = sock.to_str().unwrap();

    // The CLI, as text and as JSON: each line arrives while the stream is open.
    for json in [false, true] {
        let mut args = vec!["events", "--socket", s];
        if json {
            args.push("--json");
        }
        let mut child = conlink(&args).stdout(Stdio::piped()).spawn().unwrap();
        // Wait until the client is subscribed.
        let deadline = Instant::now() + Duration::from_secs(5);
        while contract.events.receiver_count() == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let ev = Event {
            time: 1_700_000_000.25,
            what: EventKind::LinkDown {
                id: "node_1:eth0".into(),
            },
        };
        contract.events.send(ev.clone()).unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while stdout.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
            line.push(byte[0]);
        }
        let _ = child.kill();
        let _ = child.wait();
        let line = text(&line);
        if json {
            let back: Event = serde_json::from_str(&line).unwrap();
            assert_eq!(back, ev);
        } else {
            assert_eq!(line, "2023-11-14T22:13:20.250Z link-down node_1:eth0");
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while contract.events.receiver_count() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    // A client that does not read while 20,000 events go by (channel of 4; ~800 KB,
    // more than the socket and hyper buffer):
    // what it gets plus what it is told it missed is everything.
    rt().block_on(async {
        let mut body = Client::new(&sock).events().await.unwrap();
        for i in 0..20_000 {
            let _ = contract.events.send(Event {
                time: f64::from(i),
                what: EventKind::Milestone,
            });
        }
        let mut got = 0u64;
        let mut missed = 0u64;
        let mut pending = Vec::new();
        while got + missed < 20_000 {
            let f = tokio::time::timeout(Duration::from_secs(5), body.frame())
                .await
                .expect("events keep coming")
                .unwrap()
                .unwrap();
            pending.extend_from_slice(f.data_ref().unwrap());
            while let Some(nl) = pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = pending.drain(..=nl).collect();
                let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
                match v["event"].as_str().unwrap() {
                    "lagged" => missed += v["missed"].as_u64().unwrap(),
                    "milestone" => got += 1,
                    other => panic!("unexpected event {other}"),
                }
            }
        }
        assert_eq!(got + missed, 20_000);
        assert!(missed > 0, "a channel of 4 kept up with 20,000 events");
    });
}

#[test]
fn ctrl_c_ends_a_capture_with_a_whole_file() {
    if !common::require_root("ctrl_c_ends_a_capture_with_a_whole_file") {
        return;
    }
    let p = pair();
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("control.sock");
    let _srv = serve(&sock, Contract::new(points(&p), 16));
    let file = dir.path().join("c.pcap");
    let id = format!("{}:eth0", p.a.name);
    let child = conlink(&[
        "capture",
        &id,
        "-w",
        file.to_str().unwrap(),
        "--socket",
        sock.to_str().unwrap(),
    ])
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // The file header is written once the capture socket is bound.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::metadata(&file).map_or(0, |m| m.len()) < 24 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    icmp_ping(&p.a.name, B_IP.parse().unwrap(), 1);
    std::thread::sleep(Duration::from_millis(100));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        "conlink capture: 2 packets (interrupted)\n"
    );
    let (_, recs) = pcap::parse(&std::fs::read(&file).unwrap()).expect("a whole file");
    let kinds: Vec<u8> = recs
        .iter()
        .filter_map(|r| icmp_of(&r.data))
        .map(|(t, _)| t)
        .collect();
    assert_eq!(kinds, vec![8, 0]);
}
