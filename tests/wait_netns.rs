//! `wait -i` / `-I` against the real kernel: the wait binary runs inside a
//! namespace the test made (`ip netns exec`), and the interface, its state
//! or its address appear there later. wait never polls for these (the retry
//! interval is set to 60 s and the timeout to 10 s), so success means the
//! netlink notification was seen.

mod common;

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::netns::Netns;

struct Running(Option<Child>);

impl Running {
    fn wait_in(ns: &Netns, args: &[&str]) -> Running {
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.name])
            .arg(common::conlink_bin())
            .args(["wait", "--timeout", "10", "-s", "60"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ip netns exec");
        // Let it subscribe and dump before the change happens.
        std::thread::sleep(Duration::from_millis(300));
        Running(Some(child))
    }

    fn still_running(&mut self) -> bool {
        self.0
            .as_mut()
            .is_some_and(|c| c.try_wait().unwrap().is_none())
    }

    fn finish(mut self) -> Output {
        let mut child = self.0.take().unwrap();
        let cap = Instant::now() + Duration::from_secs(60);
        while child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < cap, "wait did not exit");
            std::thread::sleep(Duration::from_millis(5));
        }
        child.wait_with_output().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn pause() {
    std::thread::sleep(Duration::from_millis(300));
}

#[test]
fn interface_created_later() {
    if !common::require_root("interface_created_later") {
        return;
    }
    let ns = Netns::new(&common::unique("cwi"));
    let dev = common::unique("wv");
    let w = Running::wait_in(&ns, &["-i", &dev, "--", "true"]);
    ns.ok(&[
        "link",
        "add",
        &dev,
        "type",
        "veth",
        "peer",
        "name",
        &common::unique("wp"),
    ]);
    let o = w.finish();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("interface {dev} exists")),
        "{}",
        stderr(&o)
    );
}

#[test]
fn interface_moved_in_from_another_namespace() {
    // How conlink delivers interfaces: made elsewhere, then moved in.
    if !common::require_root("interface_moved_in_from_another_namespace") {
        return;
    }
    let target = Netns::new(&common::unique("cwt"));
    let other = Netns::new(&common::unique("cwo"));
    let dev = common::unique("mv");
    other.ok(&[
        "link",
        "add",
        &dev,
        "type",
        "veth",
        "peer",
        "name",
        &common::unique("mp"),
    ]);
    let mut w = Running::wait_in(&target, &["-i", &dev]);
    pause();
    assert!(
        w.still_running(),
        "an interface in another namespace must not count"
    );
    other.ok(&["link", "set", &dev, "netns", &target.name]);
    let o = w.finish();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn renamed_interface_counts_under_its_new_name() {
    if !common::require_root("renamed_interface_counts_under_its_new_name") {
        return;
    }
    let ns = Netns::new(&common::unique("cwr"));
    let (tmp, dev) = (common::unique("tm"), common::unique("eth"));
    ns.ok(&[
        "link",
        "add",
        &tmp,
        "type",
        "veth",
        "peer",
        "name",
        &common::unique("rp"),
    ]);
    let mut w = Running::wait_in(&ns, &["-i", &dev]);
    pause();
    assert!(w.still_running());
    ns.ok(&["link", "set", &tmp, "name", &dev]);
    assert_eq!(w.finish().status.code(), Some(0));
}

/// A veth pair in `ns`, both ends up (so IPv6 DAD can run), addressless.
fn veth_up(ns: &Netns) -> String {
    let (dev, peer) = (common::unique("av"), common::unique("ap"));
    ns.ok(&["link", "add", &dev, "type", "veth", "peer", "name", &peer]);
    ns.ok(&["link", "set", &peer, "up"]);
    ns.ok(&["link", "set", &dev, "up"]);
    dev
}

#[test]
fn ipv4_address_added_later() {
    if !common::require_root("ipv4_address_added_later") {
        return;
    }
    let ns = Netns::new(&common::unique("cw4"));
    let dev = veth_up(&ns);
    let mut w = Running::wait_in(&ns, &["-I", &dev]);
    pause();
    assert!(
        w.still_running(),
        "an interface without an address (only fe80::) must not count"
    );
    ns.ok(&["addr", "add", "10.213.7.1/24", "dev", &dev]);
    let o = w.finish();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("interface {dev} is up with address 10.213.7.1/24")),
        "{}",
        stderr(&o)
    );
}

/// A fresh namespace for an IPv6 test, or `None` (skip said) without root
/// or with IPv6 disabled in new namespaces.
fn ipv6_netns(test: &str, prefix: &str) -> Option<Netns> {
    if !common::require_root(test) {
        return None;
    }
    let ns = Netns::new(&common::unique(prefix));
    let o = ns.exec(&["sysctl", "-n", "net.ipv6.conf.all.disable_ipv6"]);
    if o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "0" {
        Some(ns)
    } else {
        common::skip(test, "IPv6 is disabled in new namespaces here");
        None
    }
}

#[test]
fn ipv6_address_added_later() {
    let Some(ns) = ipv6_netns("ipv6_address_added_later", "cw6") else {
        return;
    };
    let dev = veth_up(&ns);
    let w = Running::wait_in(&ns, &["-I", &dev]);
    ns.ok(&["addr", "add", "fd42:7::1/64", "dev", &dev, "nodad"]);
    let o = w.finish();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("address fd42:7::1/64"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn ipv6_address_counts_once_duplicate_detection_finishes() {
    let Some(ns) = ipv6_netns(
        "ipv6_address_counts_once_duplicate_detection_finishes",
        "cwd",
    ) else {
        return;
    };
    let dev = veth_up(&ns);
    let w = Running::wait_in(&ns, &["-I", &dev]);
    // Without nodad the address starts tentative; wait must hold on until
    // the kernel announces it usable, and then report it.
    ns.ok(&["addr", "add", "fd42:8::1/64", "dev", &dev]);
    let o = w.finish();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Only the global address: the link-local one runs its own DAD, which
    // wait ignores and may still be running (it failed CI once).
    let addrs = ns.ok(&["-6", "addr", "show", "dev", &dev]);
    let line = addrs
        .lines()
        .find(|l| l.contains("fd42:8::1/64"))
        .unwrap_or_else(|| panic!("fd42:8::1 missing: {addrs}"));
    assert!(
        !line.contains("tentative"),
        "still tentative after wait returned: {addrs}"
    );
}

#[test]
fn address_counts_only_once_the_link_is_up() {
    if !common::require_root("address_counts_only_once_the_link_is_up") {
        return;
    }
    let ns = Netns::new(&common::unique("cwu"));
    let dev = common::unique("uv");
    ns.ok(&[
        "link",
        "add",
        &dev,
        "type",
        "veth",
        "peer",
        "name",
        &common::unique("up"),
    ]);
    ns.ok(&["addr", "add", "10.213.8.1/24", "dev", &dev]);
    let mut w = Running::wait_in(&ns, &["-I", &dev]);
    pause();
    assert!(w.still_running(), "a down interface must not count");
    ns.ok(&["link", "set", &dev, "up"]);
    let o = w.finish();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn missing_interface_times_out_with_124() {
    if !common::require_root("missing_interface_times_out_with_124") {
        return;
    }
    let ns = Netns::new(&common::unique("cwx"));
    let o = ns.exec(&[
        common::conlink_bin().to_str().unwrap(),
        "wait",
        "--timeout",
        "0.5",
        "-i",
        "nothere0",
    ]);
    assert_eq!(o.status.code(), Some(124));
    assert!(
        stderr(&o).contains("waiting for interface nothere0"),
        "{}",
        stderr(&o)
    );
}
