//! The sidecar's life cycle with named-namespace targets (no engine): stop
//! signals at several moments of a 100-namespace start-up, and namespaces
//! that are missing at start, deleted and re-created while it runs.

mod common;

use std::time::{Duration, Instant};

use common::netns::Netns;
use common::sidecar::{Conlink, links, write};

/// How long a step that conlink reacts to at once may take on a loaded
/// machine before the test gives up on it.
const STEP: Duration = Duration::from_secs(30);

/// Poll the log tightly until `needle` occurs `times` times.
fn wait_count(cl: &Conlink, needle: &str, times: usize, timeout: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if cl.log().matches(needle).count() >= times {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

/// SIGTERM, SIGINT, SIGHUP and SIGQUIT at four moments of building 100
/// links: before anything is made, after the bridge, part-way through the
/// links. Each time conlink stops cleanly (exit 0) and nothing it made is
/// left, in its namespace or in any target.
#[test]
fn a_stop_signal_during_startup_tears_down_what_was_made() {
    if !common::require_root("a_stop_signal_during_startup_tears_down_what_was_made") {
        return;
    }
    let p = common::unique("ds");
    let home = Netns::new(&format!("{p}c"));
    let targets: Vec<Netns> = (0..100).map(|i| Netns::new(&format!("{p}n{i}"))).collect();
    let dir = tempfile::tempdir().unwrap();
    let mut yaml = String::from("links:\n");
    for (i, t) in targets.iter().enumerate() {
        yaml += &format!(
            "  - {{netns: {}, bridge: s1, ip: 10.64.{}.{}/16}}\n",
            t.name,
            i / 200,
            i % 200 + 1
        );
    }
    let file = write(dir.path(), "net.yaml", &yaml);

    let moments: [(&str, &str, usize); 4] = [
        ("-TERM", "not connecting to a container engine", 1),
        ("-INT", "Creating bridge s1", 1),
        ("-HUP", "Creating veth link", 20),
        ("-QUIT", "Creating veth link", 70),
    ];
    let mut mid_build = 0;
    for (sig, needle, times) in moments {
        let mut cl = Conlink::start(&home, &["--network-file", &file]);
        assert!(
            wait_count(&cl, needle, times, Duration::from_secs(20)),
            "{sig}: never saw {needle} ×{times}:\n{}",
            cl.log()
        );
        cl.signal(sig);
        let before = cl.log();
        eprintln!(
            "{sig}: milestone before signal: {}; veth lines {}",
            before.contains("All links connected"),
            before.matches("Creating veth").count()
        );
        if !before.contains("All links connected") {
            mid_build += 1;
        }
        assert_eq!(
            cl.wait(Duration::from_secs(20)),
            Some(0),
            "{sig} after {needle} ×{times}:\n{}",
            cl.log()
        );
        assert!(cl.log().contains("stopping"), "{}", cl.log());
        assert_eq!(
            links(&home),
            vec!["lo"],
            "{sig}: left in conlink's namespace"
        );
        for t in &targets {
            assert_eq!(links(t), vec!["lo"], "{sig}: left in {}", t.name);
        }
    }
    // The first two moments come before any link: they must have cut a
    // start-up short, or this test tested nothing.
    assert!(
        mid_build >= 2,
        "only {mid_build} signals arrived during start-up"
    );
}

/// A namespace missing at start is waited for (no milestone until it is
/// there), one deleted while conlink runs is let go (its links vanish with
/// it), and one re-created is wired again.
#[test]
fn netns_targets_that_come_and_go_are_followed() {
    if !common::require_root("netns_targets_that_come_and_go_are_followed") {
        return;
    }
    let p = common::unique("dg");
    let home = Netns::new(&format!("{p}c"));
    let a = Netns::new(&format!("{p}a"));
    let b_name = format!("{p}b");
    let c_name = format!("{p}c1");
    let c = Netns::new(&c_name);
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "net.yaml",
        &format!(
            "links:\n  - {{netns: {}, bridge: s1, ip: 10.65.0.1/24}}\n  - {{netns: {b_name}, bridge: s1, ip: 10.65.0.2/24}}\n  - {{netns: {c_name}, bridge: s1, ip: 10.65.0.3/24}}\n",
            a.name
        ),
    );
    // -v: on a failure, the log shows each namespace event and each wiring.
    let mut cl = Conlink::start(&home, &["-v", "--network-file", &file]);
    assert!(
        cl.wait_for(
            &format!("netns {b_name} does not exist yet: waiting for it"),
            STEP
        ),
        "{}",
        cl.log()
    );
    assert!(
        cl.wait_for(&format!("missing: netns {b_name}"), STEP),
        "{}",
        cl.log()
    );
    assert!(!cl.log().contains("All links connected"), "{}", cl.log());

    // Late appearance.
    let b = Netns::new(&b_name);
    assert!(cl.wait_for("All links connected", STEP), "{}", cl.log());
    assert!(a.ping("10.65.0.2"), "a -> late b\n{}", cl.log());
    assert!(a.ping("10.65.0.3"), "a -> c");

    // Deleted: conlink lets go of it, so the kernel frees it and the outer
    // end in conlink's namespace goes with it.
    let c_outer = format!("{c_name}-eth0");
    assert!(links(&home).contains(&c_outer));
    drop(c);
    assert!(
        cl.wait_for(&format!("netns {c_name} deleted"), STEP),
        "{}",
        cl.log()
    );
    let start = Instant::now();
    while links(&home).contains(&c_outer) && start.elapsed() < STEP {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !links(&home).contains(&c_outer),
        "{c_outer} outlived its namespace: conlink still holds it\n{}",
        cl.log()
    );
    assert!(!a.ping("10.65.0.3"), "c's address still answers");

    // Re-created: wired again.
    let c = Netns::new(&c_name);
    assert!(
        cl.wait_for(&format!("netns {c_name} appeared: wiring it"), STEP),
        "{}",
        cl.log()
    );
    let start = Instant::now();
    while !links(&c).contains(&"eth0".to_owned()) && start.elapsed() < STEP {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(a.ping("10.65.0.3"), "a -> re-created c\n{}", cl.log());

    cl.signal("-TERM");
    assert_eq!(cl.wait(STEP), Some(0), "{}", cl.log());
    assert_eq!(links(&home), vec!["lo"], "{}", cl.log());
    for ns in [&a, &b, &c] {
        assert_eq!(links(ns), vec!["lo"], "{}", ns.name);
    }
}

/// `/run/netns/NAME` bind-mounted onto a file that was already there:
/// the mount raises no inotify event, so conlink must keep looking at a
/// file that is not a namespace yet, also one made before it started.
#[test]
fn a_namespace_file_mounted_after_it_was_made_is_wired() {
    if !common::require_root("a_namespace_file_mounted_after_it_was_made_is_wired") {
        return;
    }
    let p = common::unique("dm");
    let home = Netns::new(&format!("{p}h"));
    let a = Netns::new(&format!("{p}a"));
    // The namespace to appear, under a second name made by hand.
    let real = Netns::new(&format!("{p}r"));
    let late = format!("{p}l");
    let file = std::path::PathBuf::from(format!("/run/netns/{late}"));
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
            let _ = std::fs::remove_file(&self.0);
        }
    }
    std::fs::File::create(&file).unwrap();
    let _cleanup = Unmount(file.clone());
    let dir = tempfile::tempdir().unwrap();
    let net = write(
        dir.path(),
        "net.yaml",
        &format!(
            "links:\n  - {{netns: {}, bridge: s1, ip: 10.66.0.1/24}}\n  - {{netns: {late}, bridge: s1, ip: 10.66.0.2/24}}\n",
            a.name
        ),
    );
    let mut cl = Conlink::start(&home, &["-v", "--network-file", &net]);
    assert!(
        cl.wait_for(&format!("missing: netns {late}"), STEP),
        "{}",
        cl.log()
    );
    // Long enough that conlink has looked at the bare file more than once.
    std::thread::sleep(Duration::from_millis(300));
    let mounted = std::process::Command::new("mount")
        .args(["--bind", &format!("/run/netns/{}", real.name)])
        .arg(&file)
        .status()
        .unwrap();
    assert!(mounted.success());
    assert!(cl.wait_for("All links connected", STEP), "{}", cl.log());
    assert!(a.ping("10.66.0.2"), "a -> late\n{}", cl.log());
    cl.signal("-TERM");
    assert_eq!(cl.wait(STEP), Some(0), "{}", cl.log());
    assert_eq!(links(&real), vec!["lo"]);
}
