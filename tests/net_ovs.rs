//! Open vSwitch against the real daemons from Debian's openvswitch-switch:
//! conlink starts ovsdb-server and ovs-vswitchd when nothing answers, adds
//! marked bridges and ports over JSON-RPC, removes only its own bridges and
//! stops only the daemons it started. `ovs-vsctl` reads the state back
//! independently. This kernel has no openvswitch module, so no packet
//! crosses these bridges here (ovs-vswitchd logs that it cannot create the
//! datapath); everything up to the datapath is real.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use conlink::net::ovs::{Ovs, OvsPaths};

const SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";

fn installed(program: &str) -> bool {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .any(|d| d.join(program).is_file())
}

fn require_ovs(test: &str) -> bool {
    if ["ovsdb-server", "ovs-vswitchd", "ovsdb-tool", "ovs-vsctl"]
        .iter()
        .all(|p| installed(p))
        && Path::new(SCHEMA).exists()
    {
        true
    } else {
        common::skip(
            test,
            "Open vSwitch is not installed (apt-get install openvswitch-switch; tools/test does)",
        );
        false
    }
}

fn paths(dir: &Path) -> OvsPaths {
    OvsPaths {
        rundir: dir.join("run"),
        dbdir: dir.join("db"),
        logdir: dir.join("log"),
        schema: PathBuf::from(SCHEMA),
        search_path: std::env::var_os("PATH").unwrap(),
    }
}

/// `ovs-vsctl --no-wait …` against the test's socket; its stdout lines.
fn vsctl(p: &OvsPaths, args: &[&str]) -> Vec<String> {
    let out = Command::new("ovs-vsctl")
        .arg(format!("--db=unix:{}", p.socket().display()))
        .args(["--no-wait", "--timeout=10"])
        .args(args)
        .output()
        .expect("run ovs-vsctl");
    assert!(
        out.status.success(),
        "ovs-vsctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn alive(pid: u32) -> bool {
    // A zombie still has /proc/PID; its state letter is Z.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

#[tokio::test]
async fn starts_the_daemons_adds_marked_bridges_and_ports_and_stops_what_it_started() {
    let test = "starts_the_daemons_adds_marked_bridges_and_ports_and_stops_what_it_started";
    if !require_ovs(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let bridge = common::unique("cbr");
    let port = common::unique("cpt");
    // Dropping `ovs` (also on a failed assert) kills the daemons it started.
    let ovs = Ovs::new(p.clone(), "proj1");

    ovs.add_bridge(&bridge).await.expect("add bridge");
    let pids = ovs.started_pids().await;
    let names: Vec<&str> = pids.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["ovsdb-server", "ovs-vswitchd"]);
    assert!(pids.iter().all(|(_, pid)| alive(*pid)), "{pids:?}");
    assert!(p.dbdir.join("conf.db").exists(), "database created");

    assert_eq!(vsctl(&p, &["list-br"]), [bridge.as_str()]);
    assert_eq!(
        vsctl(&p, &["get", "Bridge", &bridge, "external_ids:conlink"]),
        ["proj1"]
    );
    ovs.add_port(&bridge, &port).await.expect("add port");
    // Both are idempotent: a port or bridge that comes back is not doubled.
    ovs.add_port(&bridge, &port).await.expect("add port again");
    ovs.add_bridge(&bridge).await.expect("add bridge again");
    assert_eq!(vsctl(&p, &["list-br"]), [bridge.as_str()]);
    assert_eq!(vsctl(&p, &["list-ports", &bridge]), [port.as_str()]);
    assert_eq!(ovs.started_pids().await, pids, "started once");

    // A bridge someone else made survives conlink's cleanup.
    let foreign = common::unique("obr");
    vsctl(&p, &["add-br", &foreign]);
    assert_eq!(
        ovs.remove_marked_bridges().await.unwrap(),
        [bridge.as_str()]
    );
    assert_eq!(vsctl(&p, &["list-br"]), [foreign.as_str()]);

    ovs.stop_daemons().await;
    for (name, pid) in &pids {
        assert!(!alive(*pid), "{name} ({pid}) still runs after stop");
    }
    assert!(
        std::os::unix::net::UnixStream::connect(p.socket()).is_err(),
        "nothing answers after stop"
    );
}

/// An ovsdb-server started by the test, killed on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_running_ovsdb_server_is_used_and_left_running() {
    let test = "a_running_ovsdb_server_is_used_and_left_running";
    if !require_ovs(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    for d in [&p.rundir, &p.dbdir, &p.logdir] {
        std::fs::create_dir_all(d).unwrap();
    }
    let db = p.dbdir.join("conf.db");
    let status = Command::new("ovsdb-tool")
        .arg("create")
        .arg(&db)
        .arg(SCHEMA)
        .status()
        .unwrap();
    assert!(status.success());
    let server = Server(
        Command::new("ovsdb-server")
            .arg(&db)
            .arg(format!("--remote=punix:{}", p.socket().display()))
            .arg(format!("--unixctl={}", p.rundir.join("t.ctl").display()))
            .arg("-vconsole:off")
            .spawn()
            .unwrap(),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::os::unix::net::UnixStream::connect(p.socket()).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "test's ovsdb-server did not come up"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }

    let ovs = Ovs::new(p.clone(), "proj2");
    let bridge = common::unique("cbr");
    ovs.add_bridge(&bridge).await.expect("add bridge");
    assert!(ovs.started_pids().await.is_empty(), "started nothing");
    assert_eq!(vsctl(&p, &["list-br"]), [bridge.as_str()]);
    ovs.stop_daemons().await;
    assert!(
        alive(server.0.id()),
        "the server conlink found keeps running"
    );
    assert_eq!(ovs.remove_marked_bridges().await.unwrap(), [bridge]);
}

#[tokio::test]
async fn cleanup_without_any_ovsdb_server_starts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ovs = Ovs::new(paths(dir.path()), "proj3");
    assert!(ovs.remove_marked_bridges().await.unwrap().is_empty());
    assert!(ovs.started_pids().await.is_empty());
    assert!(!dir.path().join("run").exists());
}
