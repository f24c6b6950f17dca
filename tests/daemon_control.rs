//! The control socket of a real sidecar wiring named namespaces: status
//! with real counters, link down/up with real traffic, a capture of real
//! pings, the event stream, netem up to what the kernel has, errors for
//! unknown ids and dead sockets, and a link held down across its target's
//! re-creation.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::netns::Netns;
use common::sidecar::{Conlink, links, write};

struct Lab {
    _home: Netns,
    a: Netns,
    b: Netns,
    cl: Conlink,
    _dir: tempfile::TempDir,
}

fn lab(prefix: &str, subnet: u8) -> Option<Lab> {
    if !common::require_root(prefix) {
        return None;
    }
    let p = common::unique(prefix);
    let home = Netns::new(&format!("{p}c"));
    let a = Netns::new(&format!("{p}a"));
    let b = Netns::new(&format!("{p}b"));
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "net.yaml",
        &format!(
            "links:\n  - {{netns: {}, bridge: s1, ip: 10.66.{subnet}.1/24}}\n  - {{netns: {}, bridge: s1, ip: 10.66.{subnet}.2/24}}\n",
            a.name, b.name
        ),
    );
    let cl = Conlink::start(&home, &["--network-file", &file]);
    assert!(
        cl.wait_for("All links connected", Duration::from_secs(10)),
        "{}",
        cl.log()
    );
    Some(Lab {
        _home: home,
        a,
        b,
        cl,
        _dir: dir,
    })
}

fn status(cl: &Conlink) -> serde_json::Value {
    let out = cl.ctl(&["status", "--json"]);
    assert!(
        out.status.success(),
        "status: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("status --json is JSON")
}

fn link<'a>(s: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    s["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {s:#}"))
}

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn status_down_up_and_events_on_a_real_topology() {
    let Some(lab) = lab("dc", 1) else { return };
    let (a, b, cl) = (&lab.a, &lab.b, &lab.cl);
    let a_id = format!("{}:eth0", a.name);
    let b_id = format!("{}:eth0", b.name);

    // Every link up, with its address; counters grow with traffic.
    let s = status(cl);
    assert_eq!(s["milestone"], true);
    assert_eq!(link(&s, &a_id)["state"], "up");
    assert_eq!(link(&s, &a_id)["addresses"][0], "10.66.1.1/24");
    assert_eq!(link(&s, &b_id)["bridge"], "s1");
    let before = link(&s, &a_id)["counters"]["tx_packets"].as_u64().unwrap();
    assert!(a.ping("10.66.1.2"));
    let s = status(cl);
    let after = link(&s, &a_id)["counters"]["tx_packets"].as_u64().unwrap();
    assert!(after > before, "tx_packets {before} -> {after}");
    // The table names each link and its state.
    let table = ok(&cl.ctl(&["status"]));
    assert!(table.contains(&a_id) && table.contains("up"), "{table}");

    // Events, streamed while we act.
    let mut events = Command::new(common::conlink_bin())
        .args(["events", "--json", "--socket"])
        .arg(cl.socket())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));

    // Down: no traffic, status says so; up: traffic again.
    ok(&cl.ctl(&["link", "down", &a_id]));
    assert_eq!(link(&status(cl), &a_id)["state"], "down");
    assert!(!a.ping("10.66.1.2"), "ping crossed a link that is down");
    let a_link = a.link("eth0");
    assert!(
        a_link["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "NO-CARRIER"),
        "the container's end has no carrier: {a_link}"
    );
    ok(&cl.ctl(&["link", "up", &a_id]));
    assert_eq!(link(&status(cl), &a_id)["state"], "up");
    let start = Instant::now();
    while !a.ping("10.66.1.2") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no ping after up"
        );
    }

    let stdout = events.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        let Some(Ok(line)) = lines.next() else { break };
        let v: serde_json::Value = serde_json::from_str(&line).expect("one JSON event a line");
        seen.push(v.clone());
        if v["event"] == "link-up" {
            break;
        }
    }
    let _ = events.kill();
    let _ = events.wait();
    assert!(
        seen.iter()
            .any(|e| e["event"] == "link-down" && e["id"] == a_id.as_str()),
        "{seen:?}"
    );
    assert!(seen.iter().any(|e| e["event"] == "link-up"), "{seen:?}");

    // Unknown ids name the near ones; a bare target means all its links.
    let bad = cl.ctl(&["link", "down", &format!("{}x:eth0", a.name)]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("no link matches") && err.contains(&a_id),
        "{err}"
    );
    let s = ok(&cl.ctl(&["status", &b.name, "--json"]));
    let v: serde_json::Value = serde_json::from_str(&s).unwrap();
    assert_eq!(v["links"].as_array().unwrap().len(), 1, "{v:#}");
}

#[test]
fn capture_writes_real_pings_as_pcap() {
    let Some(lab) = lab("dp", 2) else { return };
    let (a, cl) = (&lab.a, &lab.cl);
    let file = lab._dir.path().join("a.pcap");
    // Neighbours resolved first, so the packets captured are the pings.
    assert!(a.ping("10.66.2.2"));
    let capture = Command::new(common::conlink_bin())
        .args(["capture", &format!("{}:eth0", a.name), "-c", "10", "-w"])
        .arg(&file)
        .arg("--socket")
        .arg(cl.socket())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let pinger = Command::new("ip")
        .args([
            "netns",
            "exec",
            &a.name,
            "ping",
            "-c",
            "40",
            "-i",
            "0.1",
            "10.66.2.2",
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let out = capture.wait_with_output().unwrap();
    let mut pinger = pinger;
    let _ = pinger.kill();
    let _ = pinger.wait();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&file).unwrap();
    let (_, records) = conlink::control::pcap::parse(&bytes).expect("a pcap file");
    assert_eq!(records.len(), 10, "-c 10 gives 10 packets");
    // An independent reader agrees, when tcpdump is installed.
    if let Ok(o) = Command::new("tcpdump").args(["-nr"]).arg(&file).output() {
        let text = String::from_utf8_lossy(&o.stdout);
        assert_eq!(text.lines().count(), 10, "{text}");
        assert!(text.matches("ICMP echo").count() >= 3, "{text}");
    }
    // Ethernet + IPv4 (ethertype 0x0800) carrying ICMP (protocol 1): the
    // pings, among whatever else the new link says (IPv6 neighbour
    // discovery, MLD).
    let icmp = records
        .iter()
        .filter(|r| r.data.len() > 34 && r.data[12..14] == [0x08, 0x00] && r.data[23] == 1)
        .count();
    assert!(icmp >= 3, "only {icmp} ICMP packets of {}", records.len());
}

/// A link held down comes back down when its target is re-created; netem
/// works up to what the kernel has (a missing sch_netem is named).
#[test]
fn overrides_survive_a_recreated_target_and_netem_names_a_missing_module() {
    let Some(lab) = lab("do", 3) else { return };
    let Lab { a, b, cl, .. } = lab;
    let b_id = format!("{}:eth0", b.name);
    let b_name = b.name.clone();
    ok(&cl.ctl(&["link", "down", &b_id]));
    drop(b);
    assert!(
        cl.wait_for(&format!("netns {b_name} deleted"), Duration::from_secs(10)),
        "{}",
        cl.log()
    );
    let s = status(&cl);
    assert_eq!(link(&s, &b_id)["state"], "missing", "{s:#}");
    let b = Netns::new(&b_name);
    assert!(
        cl.wait_for(&format!("{b_id}: held down"), Duration::from_secs(10)),
        "{}",
        cl.log()
    );
    assert!(links(&b).contains(&"eth0".to_owned()));
    assert_eq!(link(&status(&cl), &b_id)["state"], "down");
    assert!(!a.ping("10.66.3.2"), "re-created link should still be down");
    ok(&cl.ctl(&["link", "up", &b_id]));
    let start = Instant::now();
    while !a.ping("10.66.3.2") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no ping after up"
        );
    }

    // netem: applied where the kernel has sch_netem, else a clear error.
    let out = cl.ctl(&["netem", "set", &b_id, "--", "delay", "20ms"]);
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        let s = status(&cl);
        assert_eq!(link(&s, &b_id)["netem"]["runtime_out"], "delay 20ms");
        let q = b.ok(&["-j", "qdisc", "show", "dev", "eth0"]);
        assert!(q.contains("netem"), "{q}");
        ok(&cl.ctl(&["netem", "reset", &b_id]));
    } else {
        assert!(err.contains("sch_netem"), "{err}");
        eprintln!("netem set: this kernel lacks sch_netem, so only the error path ran here: {err}");
    }
    drop(b);
}

#[test]
fn a_dead_socket_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("none.sock");
    let out = Command::new(common::conlink_bin())
        .args(["status", "--socket"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}
