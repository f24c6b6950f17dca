//! End-to-end scaffolding for the `examples/` compose projects: bring one up
//! with locally built images, look inside its nodes, restart parts of it,
//! and check that conlink leaves nothing behind.
//!
//! Every `tests/e2e_*.rs` file includes this module with `mod e2e;` (next
//! to `mod common;`). One example runs one `up` per test function, and the
//! checks share it, because each compose call costs about a second here.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::common::compose::{Compose, repo_root, require_docker};

/// What conlink logs once every configured link exists.
pub const CONNECTED: &str = "All links connected";

/// How long conlink may take from `up` to its milestone (slow shared CI).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(90);

/// Image tags: tools/test builds the `:latest` ones; a parallel run can
/// build its own and point CONLINK_IMAGE / NODE_IMAGE at them.
pub fn conlink_image() -> String {
    std::env::var("CONLINK_IMAGE").unwrap_or_else(|_| "conlink:latest".into())
}

pub fn node_image() -> String {
    std::env::var("NODE_IMAGE").unwrap_or_else(|_| "conlink-test-node:latest".into())
}

/// One running example project.
pub struct Example {
    pub compose: Compose,
}

impl Example {
    /// A compose project over `examples/NAME` with the test's images; `None`
    /// (and a printed skip) when Docker or the images are missing.
    pub fn new(test: &str, prefix: &str, name: &str, files: &[&str]) -> Option<Example> {
        let (conlink, node) = (conlink_image(), node_image());
        if !require_docker(test, &[&conlink, &node]) {
            return None;
        }
        let dir = repo_root().join("examples").join(name);
        let compose = Compose::new(prefix, dir, files)
            .env("CONLINK_IMAGE", &conlink)
            .env("NODE_IMAGE", &node);
        Some(Example { compose })
    }

    pub fn env(mut self, key: &str, value: &str) -> Example {
        self.compose = self.compose.env(key, value);
        self
    }

    /// `up -d`, then wait for conlink's milestone.
    pub fn up(&self) {
        self.compose.up();
        self.wait_connected(1);
    }

    /// Wait until conlink has logged `All links connected` at least `runs`
    /// times (once per run of its container; `logs` shows every run).
    pub fn wait_connected(&self, runs: usize) {
        let start = Instant::now();
        loop {
            let logs = self.logs();
            if logs.matches(CONNECTED).count() >= runs {
                return;
            }
            if start.elapsed() > CONNECT_TIMEOUT {
                panic!(
                    "{}: no {CONNECTED:?} (run {runs}) within {CONNECT_TIMEOUT:?}; conlink logs:\n{logs}",
                    self.compose.project
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The conlink service's logs, every run so far.
    pub fn logs(&self) -> String {
        self.compose.logs("network")
    }

    /// Panics with the log when conlink logged an error.
    pub fn assert_no_errors(&self) {
        let logs = self.logs();
        let errors: Vec<&str> = logs.lines().filter(|l| l.contains("ERROR")).collect();
        assert!(
            errors.is_empty(),
            "{}: conlink logged errors:\n{}\n--- full log:\n{logs}",
            self.compose.project,
            errors.join("\n")
        );
    }

    /// `sh -c CMD` in replica `index` of `service`; panics on failure.
    pub fn sh(&self, service: &str, index: u32, cmd: &str) -> String {
        let out = self.compose.exec(service, index, &["sh", "-c", cmd]);
        assert!(
            out.status.success(),
            "{service}_{index}: `{cmd}` failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `sh -c CMD` in a node, its raw output (for commands expected to fail).
    pub fn try_sh(&self, service: &str, index: u32, cmd: &str) -> Output {
        self.compose.exec(service, index, &["sh", "-c", cmd])
    }

    /// An interface inside a node as `ip addr show dev DEV` reports it.
    pub fn iface(&self, service: &str, index: u32, dev: &str) -> Iface {
        let text = self.sh(service, index, &format!("ip addr show dev {dev}"));
        Iface::parse(&text).unwrap_or_else(|| {
            panic!("{service}_{index}: cannot read {dev} from `ip addr`:\n{text}")
        })
    }

    /// Wait until conlink has given `dev` in a node the address `cidr`
    /// (after a restart or a scale-up, which have no log milestone).
    pub fn wait_for_addr(&self, service: &str, index: u32, dev: &str, cidr: &str) {
        let start = Instant::now();
        while start.elapsed() < CONNECT_TIMEOUT {
            let out = self.try_sh(service, index, &format!("ip addr show dev {dev}"));
            if Iface::parse(&String::from_utf8_lossy(&out.stdout))
                .is_some_and(|i| i.ipv4.iter().any(|a| a == cidr))
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        panic!(
            "{service}_{index} did not get {cidr} on {dev}; conlink logs:\n{}",
            self.logs()
        );
    }

    /// Interface names inside a node (busybox `ip -o link`).
    pub fn links(&self, service: &str, index: u32) -> BTreeSet<String> {
        link_names(&self.sh(service, index, "ip -o link"))
    }

    /// Ping from a node; a few tries, since the first packets after a
    /// (re)wiring may race the bridge's port becoming forwarding.
    pub fn ping(&self, service: &str, index: u32, ip: &str) -> bool {
        for _ in 0..5 {
            let out = self.try_sh(service, index, &format!("ping -c1 -W1 {ip}"));
            if out.status.success() {
                return true;
            }
        }
        false
    }

    pub fn assert_ping(&self, service: &str, index: u32, ip: &str) {
        assert!(
            self.ping(service, index, ip),
            "{service}_{index} cannot ping {ip}; conlink logs:\n{}",
            self.logs()
        );
    }

    /// One ping that must NOT get an answer (a removed or isolated address).
    pub fn assert_no_ping(&self, service: &str, index: u32, ip: &str) {
        let out = self.try_sh(service, index, &format!("ping -c1 -W1 {ip}"));
        assert!(
            !out.status.success(),
            "{service}_{index} still reaches {ip}"
        );
    }

    /// An address that must stop answering within `timeout`: a removed
    /// replica's namespace lives until conlink has handled its die event
    /// (it holds the namespace open until then) and the kernel has torn it
    /// down, both asynchronous, so the first ping after `compose` returns
    /// may still get through.
    pub fn assert_stops_answering(&self, service: &str, index: u32, ip: &str, timeout: Duration) {
        let start = Instant::now();
        loop {
            let out = self.try_sh(service, index, &format!("ping -c1 -W1 {ip}"));
            if !out.status.success() {
                return;
            }
            assert!(
                start.elapsed() < timeout,
                "{service}_{index} still reaches {ip} after {timeout:?}; conlink logs:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `restart network`: conlink gets SIGTERM, removes what it made, and
    /// its next run wires everything again.
    pub fn restart_conlink(&self) {
        let runs = self.logs().matches(CONNECTED).count();
        self.compose.ok(&["restart", "-t", "10", "network"]);
        self.wait_connected(runs + 1);
    }

    /// SIGKILL conlink (no cleanup at all), then `up -d network`: the next
    /// run must adopt the leftovers and wire everything again.
    pub fn kill_and_restart_conlink(&self) {
        let runs = self.logs().matches(CONNECTED).count();
        self.compose.ok(&["kill", "-s", "SIGKILL", "network"]);
        self.compose.ok(&["up", "-d", "network"]);
        self.wait_connected(runs + 1);
    }

    /// The outer-end names conlink logged (`… <-> NAME (bridge …)`).
    pub fn outer_ends(&self) -> BTreeSet<String> {
        outer_ends(&self.logs())
    }

    /// The container id of replica `index` of `service`.
    pub fn container_id(&self, service: &str, index: u32) -> String {
        let idx = index.to_string();
        let ids = self.compose.ok(&["ps", "-q", service]);
        // `ps -q` lists every replica; pick ours by its compose number.
        for id in ids.split_whitespace() {
            let n = docker(&[
                "inspect",
                "-f",
                "{{index .Config.Labels \"com.docker.compose.container-number\"}}",
                id,
            ]);
            if n.trim() == idx {
                return id.to_owned();
            }
        }
        panic!("no {service}_{index} in {}", self.compose.project);
    }

    /// Run a host tool (`ip`, `tc`, `ethtool`) inside conlink's namespace,
    /// where its bridges and outer ends live.
    pub fn in_conlink_ns(&self, args: &[&str]) -> String {
        let id = self.container_id("network", 1);
        in_netns_of(&id, args)
    }

    /// Stop conlink with SIGTERM and check that it logged its cleanup;
    /// returns the outer ends it had logged, for [`Example::down_and_check`].
    pub fn stop_conlink(&self) -> BTreeSet<String> {
        let outer = self.outer_ends();
        assert!(!outer.is_empty(), "no links were logged:\n{}", self.logs());
        self.compose.ok(&["stop", "-t", "20", "network"]);
        let logs = self.logs();
        assert!(
            logs.contains("Got SIGTERM") && logs.contains("Removing"),
            "conlink did not log its cleanup:\n{logs}"
        );
        self.assert_no_errors();
        outer
    }

    /// Stop conlink with SIGTERM and check that it removed every link it
    /// made: `services` (with replica numbers) keep only `lo`. Then `down`,
    /// and check what is left on the host.
    pub fn stop_and_check_cleanup(self, services: &[(&str, u32)]) {
        let outer = self.stop_conlink();
        for (service, index) in services {
            assert_only_lo(&self.links(service, *index), &format!("{service}_{index}"));
        }
        self.down_and_check(&outer);
    }

    /// `down`, then check that nothing of the project is left on the host:
    /// no container, no interface named like one of conlink's outer ends, no
    /// conlink nft table. (conlink's own namespace, with its bridges, goes
    /// with its container.)
    pub fn down_and_check(self, outer: &BTreeSet<String>) {
        let project = self.compose.project.clone();
        drop(self); // down -v --remove-orphans
        let ids = docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label=com.docker.compose.project={project}"),
        ]);
        assert!(ids.trim().is_empty(), "containers of {project} left: {ids}");
        let host = link_names(&run("ip", &["-o", "link"]));
        let stale: Vec<&String> = outer.intersection(&host).collect();
        assert!(stale.is_empty(), "host still has interfaces {stale:?}");
        let tables = run("nft", &["list", "tables"]);
        assert!(
            // `conlink-<project>`: one forward table per instance.
            !tables
                .lines()
                .any(|l| l.trim().starts_with("table ip conlink")),
            "the host has a conlink nft table:\n{tables}"
        );
    }
}

/// Panics unless `names` is just the loopback interface.
pub fn assert_only_lo(names: &BTreeSet<String>, who: &str) {
    let left: Vec<&String> = names.iter().filter(|n| *n != "lo").collect();
    assert!(
        left.is_empty(),
        "{who} still has {left:?} after conlink stopped"
    );
}

/// Run a host tool inside the network namespace of a container.
pub fn in_netns_of(container: &str, args: &[&str]) -> String {
    let pid = docker(&["inspect", "-f", "{{.State.Pid}}", container]);
    let pid = pid.trim();
    let mut full = vec!["-t", pid, "-n"];
    full.extend_from_slice(args);
    run("nsenter", &full)
}

/// One interface as `ip addr show` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iface {
    pub name: String,
    pub up: bool,
    pub mtu: u32,
    pub mac: String,
    /// `a.b.c.d/len`, in the order listed.
    pub ipv4: Vec<String>,
}

impl Iface {
    /// Parse the first interface of `ip addr show` output.
    pub fn parse(text: &str) -> Option<Iface> {
        let mut lines = text.lines();
        let head = lines.next()?;
        // "2: eth0@if7: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 65535 qdisc …"
        let mut parts = head.splitn(3, ": ");
        parts.next()?;
        let name = parts.next()?.split('@').next()?.to_owned();
        let rest = parts.next()?;
        let flags = rest.strip_prefix('<')?.split('>').next()?;
        let up = flags.split(',').any(|f| f == "UP");
        let mtu = word_after(rest, "mtu")?.parse().ok()?;
        let mut mac = String::new();
        let mut ipv4 = Vec::new();
        for line in lines {
            if let Some(m) = word_after(line, "link/ether") {
                mac = m.to_owned();
            }
            if let Some(a) = word_after(line, "inet") {
                ipv4.push(a.to_owned());
            }
        }
        Some(Iface {
            name,
            up,
            mtu,
            mac,
            ipv4,
        })
    }
}

fn word_after<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let mut words = line.split_whitespace();
    words.find(|w| *w == key)?;
    words.next()
}

/// Interface names from `ip -o link` (lines `N: NAME[@PEER]: <…> …`).
pub fn link_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.split(": ").nth(1))
        .filter_map(|n| n.split('@').next())
        .map(str::to_owned)
        .collect()
}

/// Outer-end names from conlink's `Creating veth link … <-> NAME (bridge …)`.
pub fn outer_ends(logs: &str) -> BTreeSet<String> {
    logs.lines()
        .filter_map(|l| l.split(" <-> ").nth(1))
        .filter_map(|r| r.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// `docker ARGS…` stdout, asserting success.
pub fn docker(args: &[&str]) -> String {
    run("docker", args)
}

pub fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port")
}

/// HTTP GET from the host (plain std TCP: no client needed); the body, or
/// `None` when nothing answers with a 200 within `timeout`.
pub fn http_get(port: u16, timeout: Duration) -> Option<String> {
    use std::io::{Read, Write};
    let start = Instant::now();
    while start.elapsed() < timeout {
        let attempt = || -> std::io::Result<String> {
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
            s.set_read_timeout(Some(Duration::from_secs(3)))?;
            s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
            let mut buf = String::new();
            s.read_to_string(&mut buf)?;
            Ok(buf)
        };
        if let Ok(reply) = attempt() {
            if reply.starts_with("HTTP/1.") && reply.contains(" 200 ") {
                if let Some((_, body)) = reply.split_once("\r\n\r\n") {
                    return Some(body.to_owned());
                }
            }
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_busybox_ip_addr() {
        let text = "2: eth0@if7: <BROADCAST,MULTICAST,UP,LOWER_UP,M-DOWN> mtu 4000 qdisc noqueue qlen 1000\n    link/ether c2:00:00:08:00:01 brd ff:ff:ff:ff:ff:ff\n    inet 10.0.8.1/24 brd 10.0.8.255 scope global eth0\n       valid_lft forever preferred_lft forever\n";
        let i = Iface::parse(text).unwrap();
        assert_eq!(i.name, "eth0");
        assert!(i.up);
        assert_eq!(i.mtu, 4000);
        assert_eq!(i.mac, "c2:00:00:08:00:01");
        assert_eq!(i.ipv4, vec!["10.0.8.1/24".to_owned()]);
    }

    #[test]
    fn reads_names_and_outer_ends() {
        let links = "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue qlen 1000\\    link/loopback 00:00:00:00:00:00\n2: eth0@if7: <BROADCAST> mtu 1500\n";
        let names: Vec<String> = link_names(links).into_iter().collect();
        assert_eq!(names, vec!["eth0".to_owned(), "lo".to_owned()]);
        let log =
            "2026 INFO Creating veth link p_h1_1:eth0 (IP 10.0.1.1/24) <-> h1_1-eth0 (bridge s1)\n";
        assert!(outer_ends(log).contains("h1_1-eth0"));
    }
}
