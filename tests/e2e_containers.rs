//! examples/containers end to end: links to containers named in the
//! config (`container:`, from `${NODE_NAME_1}` / `${NODE_NAME_2}`), started
//! with plain `docker run` outside any compose project, plus a command run
//! in one of them once its link is up.

mod common;
mod e2e;

use e2e::{Example, docker};

/// A `docker run` container, force-removed on drop.
struct Node(String);

impl Node {
    fn run(name: &str) -> Node {
        let image = e2e::node_image();
        docker(&[
            "run",
            "-d",
            "--name",
            name,
            "--network",
            "none",
            &image,
            "sleep",
            "864000",
        ]);
        Node(name.to_owned())
    }

    fn sh(&self, cmd: &str) -> std::process::Output {
        std::process::Command::new("docker")
            .args(["exec", &self.0, "sh", "-c", cmd])
            .output()
            .expect("docker exec")
    }

    fn ok(&self, cmd: &str) -> String {
        let out = self.sh(cmd);
        assert!(
            out.status.success(),
            "{}: `{cmd}`: {}",
            self.0,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn eth0(&self) -> Option<e2e::Iface> {
        e2e::Iface::parse(&String::from_utf8_lossy(
            &self.sh("ip addr show dev eth0").stdout,
        ))
    }

    fn wait_for_ip(&self, cidr: &str) {
        let start = std::time::Instant::now();
        while start.elapsed() < e2e::CONNECT_TIMEOUT {
            if self
                .eth0()
                .is_some_and(|i| i.ipv4.iter().any(|a| a == cidr))
            {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
        panic!("{} did not get {cidr}", self.0);
    }

    fn ping(&self, ip: &str) -> bool {
        (0..5).any(|_| self.sh(&format!("ping -c1 -W1 {ip}")).status.success())
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f", &self.0])
            .output();
    }
}

#[test]
fn containers_linked_by_name() {
    let test = "containers_linked_by_name";
    let Some(ex) = Example::new(test, "e2ect", "containers", &["compose.yaml"]) else {
        return;
    };
    let (name1, name2) = (common::unique("e2ecn"), common::unique("e2ecn"));
    let node1 = Node::run(&name1);
    let node2 = Node::run(&name2);
    let ex = ex.env("NODE_NAME_1", &name1).env("NODE_NAME_2", &name2);
    ex.up();

    let eth0 = node1.eth0().expect("node1 has eth0");
    assert_eq!(eth0.ipv4, ["10.0.7.1/24"]);
    assert_eq!(node2.eth0().expect("node2 has eth0").ipv4, ["10.0.7.2/24"]);
    assert!(node1.ping("10.0.7.2"), "node1 -> node2");
    // The config's command ran in node1 (through the engine's exec API).
    let start = std::time::Instant::now();
    while !node1.sh("test -f /tmp/linked").status.success() {
        assert!(
            start.elapsed() < e2e::CONNECT_TIMEOUT,
            "command did not run"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(node1.ok("cat /tmp/linked").trim(), "linked");
    assert!(
        ex.logs()
            .contains(&format!("Creating veth link {name1}:eth0")),
        "2.x-style link line:\n{}",
        ex.logs()
    );

    // A named container restarted outside compose is wired again.
    docker(&["restart", "-t", "1", &name2]);
    node2.wait_for_ip("10.0.7.2/24");
    assert!(node1.ping("10.0.7.2"), "node1 -> restarted node2");

    ex.restart_conlink();
    assert!(node2.ping("10.0.7.1"), "after conlink restarted");
    ex.assert_no_errors();

    let outer = ex.stop_conlink();
    for node in [&node1, &node2] {
        let names = e2e::link_names(&node.ok("ip -o link"));
        e2e::assert_only_lo(&names, &node.0);
    }
    ex.down_and_check(&outer);
}
