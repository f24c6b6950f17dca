//! examples/modes end to end (2.x test4): the real `conlink mdc all up -d`
//! assembles the project from modes plus modules/conlink, and the network
//! config spread over the modes' compose files merges into one topology.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::compose::{Compose, repo_root, require_docker};

fn image(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

fn text(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// `cp -a FROM TO`, keeping the repository's relative layout.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
    let out = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .output()
        .expect("run cp");
    assert!(
        out.status.success(),
        "cp -a {from:?} {to:?}: {}",
        text(&out)
    );
}

/// Run in a service until it succeeds; its stdout.
fn exec_until_ok(
    c: &Compose,
    service: &str,
    index: u32,
    args: &[&str],
    timeout: Duration,
) -> String {
    let start = Instant::now();
    loop {
        let out = c.exec(service, index, args);
        if out.status.success() {
            return String::from_utf8_lossy(&out.stdout).into_owned();
        }
        assert!(
            start.elapsed() < timeout,
            "{service}_{index}: {args:?} kept failing: {}",
            text(&out)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn modes_merge_network_config_across_compose_files() {
    let conlink = image("CONLINK_IMAGE", "conlink:latest");
    let node = image("NODE_IMAGE", "conlink-test-node:latest");
    if !require_docker(
        "modes_merge_network_config_across_compose_files",
        &[&conlink, &node],
    ) {
        return;
    }
    // mdc writes .env, .compose-empty.yaml and .files into the project dir:
    // work on a copy laid out like the repository (the example reaches the
    // module as ../../modules). Declared first, so it outlives `down`.
    let tmp = tempfile::tempdir().expect("temp dir");
    let project_dir = tmp.path().join("examples/modes");
    copy_tree(&repo_root().join("examples/modes"), &project_dir);
    copy_tree(&repo_root().join("modules"), &tmp.path().join("modules"));

    // No -f: compose takes COMPOSE_FILE from the .env mdc writes, as a
    // person running `docker-compose ps` in that dir would.
    let c = Compose::new("cmd", &project_dir, &[])
        .env("CONLINK_IMAGE", &conlink)
        .env("NODE_IMAGE", &node);
    let compose = format!(
        "{} -p {}",
        repo_root().join("tools/compose").display(),
        c.project
    );
    let out = Command::new(common::conlink_bin())
        .current_dir(&project_dir)
        .args(["mdc", "--modes-dir", "./modes:../../modules"])
        .args(["--compose-command", &compose])
        .args(["all", "up", "-d"])
        .env("CONLINK_IMAGE", &conlink)
        .env("NODE_IMAGE", &node)
        .output()
        .expect("run conlink mdc");
    assert!(out.status.success(), "mdc all up -d: {}", text(&out));

    let env = std::fs::read_to_string(project_dir.join(".env")).expect(".env written by mdc");
    let compose_file = env
        .lines()
        .find_map(|l| l.strip_prefix("COMPOSE_FILE="))
        .unwrap_or_else(|| panic!("no COMPOSE_FILE in .env:\n{env}"));
    assert_eq!(
        compose_file,
        "./.compose-empty.yaml:../../modules/conlink/compose.yaml:./modes/base/compose.yaml:\
         ./modes/node1/compose.yaml:./modes/nodes2/compose.yaml:./modes/web/compose.yaml"
    );

    assert!(
        c.wait_for_log("network", "All links connected", Duration::from_secs(60)),
        "no 'All links connected':\n{}",
        c.logs("network")
    );

    // r0's three links come from three files: its own service (base) and
    // the top-level x-network of node1 and nodes2.
    let r0 = exec_until_ok(&c, "r0", 1, &["ip", "-4", "addr"], Duration::from_secs(5));
    for (dev, addr) in [
        ("e0", "10.0.0.100/24"),
        ("e1", "10.1.0.100/24"),
        ("e2", "10.2.0.100/24"),
    ] {
        assert!(
            r0.lines()
                .any(|l| l.contains(&format!("inet {addr}")) && l.ends_with(dev)),
            "r0 lacks {dev} {addr}:\n{r0}"
        );
    }
    // nodes2's replica offset: node2_2 has the next address.
    let n2 = exec_until_ok(
        &c,
        "node2",
        2,
        &["ip", "-4", "addr", "show", "eth0"],
        Duration::from_secs(5),
    );
    assert!(n2.contains("inet 10.2.0.2/16"), "node2_2:\n{n2}");

    // Across the router, from node1's switch to both replicas on s2.
    for target in ["10.2.0.1", "10.2.0.2"] {
        exec_until_ok(
            &c,
            "node1",
            1,
            &["ping", "-c", "1", "-W", "2", target],
            Duration::from_secs(20),
        );
    }
    // The web mode's command (run by conlink in r0) serves a page.
    let page = exec_until_ok(
        &c,
        "node1",
        1,
        &["wget", "-q", "-O", "-", "http://10.1.0.100/"],
        Duration::from_secs(20),
    );
    assert_eq!(page, "r0 web\n");
}
