//! What conlink 2.x users did inside the sidecar keeps working with our
//! image: a shell and iproute2's `tc` (2.x's test9 checks a patch with `tc
//! filter show … | grep "action order 1: mirred"`), `tcpdump` in the
//! `conlink:debug` image (2.x's examples guide), and the `extract-utils`
//! service copying `/utils/{wait,wait.sh,copy,copy.sh,echo}` out, whose
//! copies then work in images without a shell (echo, wait, copy) and with
//! one (wait.sh, copy.sh).

mod common;
mod e2e;

use std::os::unix::fs::PermissionsExt as _;
use std::process::Output;
use std::time::{Duration, Instant};

use common::compose::require_docker;
use common::docker::{EmptyImage, docker, extract_utils};
use e2e::Example;

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// The debug tag tools/build-images makes next to CONLINK_IMAGE.
fn debug_image() -> String {
    std::env::var("CONLINK_DEBUG_IMAGE").unwrap_or_else(|_| {
        let conlink = e2e::conlink_image();
        let name = conlink
            .rsplit_once(':')
            .map_or(conlink.as_str(), |(n, _)| n);
        format!("{name}:debug")
    })
}

#[test]
fn shell_and_tc_in_the_sidecar_show_a_patch() {
    let test = "shell_and_tc_in_the_sidecar_show_a_patch";
    let Some(ex) = Example::new(test, "e2est", "bridge-modes", &["compose.yaml"]) else {
        return;
    };
    let ex = ex.env("BRIDGE_MODE", "patch");
    ex.up();
    ex.assert_ping("n1", 1, "10.0.9.2");
    let outers = ex.outer_ends();
    assert_eq!(outers.len(), 2, "{outers:?}");
    for outer in &outers {
        // 2.x's test9, as its run-tests ran it inside the sidecar.
        let filters = ex.sh(
            "network",
            1,
            &format!("tc filter show dev {outer} parent ffff: | grep 'action order 1: mirred'"),
        );
        assert!(
            filters.contains("Egress Redirect to device"),
            "{outer}: {filters}"
        );
        // And without a shell, as `compose exec network tc …` runs it.
        let out = ex.compose.exec(
            "network",
            1,
            &["tc", "filter", "show", "dev", outer, "parent", "ffff:"],
        );
        assert!(out.status.success(), "tc: {}", text(&out));
        assert!(text(&out).contains("mirred"), "{}", text(&out));
    }
    // busybox's ip sees the outer ends in the sidecar's namespace.
    let links = e2e::link_names(&ex.sh("network", 1, "ip -o link"));
    assert!(outers.is_subset(&links), "{outers:?} not in {links:?}");
    ex.stop_and_check_cleanup(&[("n1", 1), ("n2", 1)]);
}

#[test]
fn tcpdump_in_the_debug_image_sees_a_ping() {
    let test = "tcpdump_in_the_debug_image_sees_a_ping";
    let debug = debug_image();
    if !require_docker(test, &[&debug]) {
        return;
    }
    let Some(ex) = Example::new(test, "e2etd", "bridge-modes", &["compose.yaml"]) else {
        return;
    };
    let ex = ex.env("BRIDGE_MODE", "linux").env("CONLINK_IMAGE", &debug);
    ex.up();
    let outer = "n2_1-eth0";
    assert!(ex.outer_ends().contains(outer), "{:?}", ex.outer_ends());
    // 2.x's guide: `exec network tcpdump -nli router_1-es1 icmp`. In the
    // background, one packet, then read what it printed.
    ex.sh(
        "network",
        1,
        &format!("(timeout 30 tcpdump -nli {outer} -c 1 icmp > /tmp/cap 2>&1 &); sleep 1"),
    );
    let start = Instant::now();
    let capture = loop {
        ex.ping("n1", 1, "10.0.9.2");
        let cap = ex.sh("network", 1, "cat /tmp/cap");
        if cap.contains("ICMP echo") || start.elapsed() > Duration::from_secs(20) {
            break cap;
        }
    };
    assert!(
        capture.contains("10.0.9.1 > 10.0.9.2: ICMP echo request"),
        "tcpdump on {outer} saw no ping:\n{capture}"
    );
    // iproute2's own ip, which busybox's is not (`-d` shows the kind).
    let detail = ex.sh("network", 1, &format!("ip -d link show dev {outer}"));
    assert!(detail.contains("veth"), "{detail}");
    ex.stop_and_check_cleanup(&[("n1", 1), ("n2", 1)]);
}

#[test]
fn extract_utils_copies_tools_that_run_anywhere() {
    let test = "extract_utils_copies_tools_that_run_anywhere";
    let (conlink, node) = (e2e::conlink_image(), e2e::node_image());
    if !require_docker(test, &[&conlink, &node]) {
        return;
    }
    // 2.x's service runs as USER_ID:GROUP_ID into a directory of theirs.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = extract_utils(&conlink, dir.path(), "1000:1000");
    assert!(out.status.success(), "extract-utils: {}", text(&out));
    for name in ["wait", "wait.sh", "copy", "copy.sh", "echo"] {
        let path = dir.path().join(name);
        let meta = std::fs::symlink_metadata(&path)
            .unwrap_or_else(|e| panic!("{name} did not arrive: {e}"));
        assert!(meta.is_file(), "{name} is not a regular file");
        assert!(
            meta.permissions().mode() & 0o111 != 0,
            "{name} not executable"
        );
    }

    // In an image with nothing else: echo, and wait then echo (2.x's
    // test-utils `wait-empty` service).
    let empty = EmptyImage::build();
    let utils = format!("{}:/utils:ro", dir.path().display());
    let run = |image: &str, args: &[&str]| {
        let mut full = vec!["run", "--rm", "--network", "none", "-v", &utils, image];
        full.extend_from_slice(args);
        docker(&full)
    };
    let out = run(&empty.name, &["/utils/echo", "hi"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");
    let out = run(
        &empty.name,
        &[
            "/utils/wait",
            "--timeout",
            "10",
            "-f",
            "/utils/echo",
            "--",
            "/utils/echo",
            "'wait finished'",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "'wait finished'\n");

    // wait.sh and copy.sh in an image with a shell: the same options as
    // 2.x's scripts, carried out by the binaries next to them.
    let out = run(
        &node,
        &[
            "/utils/wait.sh",
            "--timeout",
            "10",
            "-f",
            "/utils/wait",
            "--",
            "echo",
            "via wait.sh",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("via wait.sh"), "{}", text(&out));
    let out = run(
        &node,
        &[
            "sh",
            "-c",
            "mkdir -p /tmp/src/d /tmp/dst && echo 'v={{V2}}' > /tmp/src/d/f \
             && V2=val2 /utils/copy.sh -T /tmp/src /tmp/dst && cat /tmp/dst/d/f",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).ends_with("v=val2\n"),
        "{}",
        text(&out)
    );
}
