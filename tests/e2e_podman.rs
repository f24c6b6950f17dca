//! conlink against Podman (2.x test3, second half): `podman system service`
//! on a temporary socket, two Podman containers linked by name onto one
//! bridge, the real `conlink` binary run on the host (not in a container),
//! traffic between the containers, a command run through Podman's exec API,
//! and cleanup on SIGTERM.
//!
//! conlink runs in a network namespace of the test's own, as it would in its
//! container: in the host namespace Docker's `FORWARD` policy `DROP` (with
//! `bridge-nf-call-iptables=1`) drops the traffic bridged between the two
//! containers, and the test would have to change the host's firewall.
//!
//! Podman 4.3 here runs containers only with `--runtime runc` and explicit
//! (lowered) ulimits: crun rejects this VM's cgroups, and runc cannot raise
//! the limits Podman asks for by default. If Podman is missing or cannot
//! start a container, the test says why and skips — the issue allows that
//! on machines without a working Podman, so it never fails CI for it.

mod common;

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use common::docker::TestImage;
use common::netns::Netns;

const TEST: &str = "podman_containers_are_linked_by_name";

/// Podman runs only with these here (see the module comment).
const RUN_FLAGS: [&str; 6] = [
    "--runtime",
    "runc",
    "--ulimit",
    "nofile=1024:1024",
    "--ulimit",
    "nproc=1024:1024",
];

/// Podman 4 leaves NET_RAW out of its default capabilities (Docker keeps
/// it); busybox ping needs it.
const CAPS: [&str; 2] = ["--cap-add", "NET_RAW"];

/// A skip that is allowed even where CI requires every suite to run
/// (`common::skip` panics then): Podman support is optional on a machine.
fn skip_unsupported(test: &str, why: &str) {
    eprintln!("SKIPPED {test}: {why}");
}

fn podman(args: &[&str]) -> Output {
    Command::new("podman")
        .args(args)
        .output()
        .expect("run the podman CLI")
}

fn podman_installed() -> bool {
    Command::new("podman")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `docker save IMAGE | podman load`; returns Podman's name for it.
fn load_into_podman(image: &str) -> Result<String, String> {
    let mut save = Command::new("docker")
        .args(["save", image])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("docker save: {e}"))?;
    let tar = save.stdout.take().expect("piped stdout");
    let load = Command::new("podman")
        .args(["load", "-q"])
        .stdin(tar)
        .output()
        .map_err(|e| format!("podman load: {e}"))?;
    let saved = save.wait().map_err(|e| format!("docker save: {e}"))?;
    if !saved.success() || !load.status.success() {
        return Err(format!(
            "docker save {image} | podman load failed: {}",
            String::from_utf8_lossy(&load.stderr).trim()
        ));
    }
    // "Loaded image: localhost/NAME:TAG" (or "Loaded image(s): …").
    let out = String::from_utf8_lossy(&load.stdout);
    out.lines()
        .find_map(|l| l.split_once(": ").map(|(_, name)| name.trim().to_owned()))
        .filter(|n| !n.is_empty())
        .ok_or_else(|| format!("podman load printed no image name: {out}"))
}

/// An image loaded into Podman's store; removed on drop when it is a copy
/// of an image built for this test run only (the shared one stays, as it
/// does in Docker).
struct PodmanImage {
    name: String,
    owned: bool,
}

impl Drop for PodmanImage {
    fn drop(&mut self) {
        if self.owned {
            let _ = podman(&["rmi", "-f", &self.name]);
        }
    }
}

/// A Podman container, force-removed on drop.
struct PodmanContainer {
    name: String,
}

impl PodmanContainer {
    /// `podman --runtime runc run -d --network none … IMAGE sleep 3600`, or
    /// Podman's error when it cannot start containers here.
    fn sleeper(image: &str, name: &str) -> Result<PodmanContainer, String> {
        // The guard exists before the run: a half-created container is removed too.
        let c = PodmanContainer {
            name: name.to_owned(),
        };
        let mut args = vec!["run", "-d", "--network", "none", "--name", name];
        args.splice(0..0, RUN_FLAGS[..2].iter().copied());
        args.extend_from_slice(&RUN_FLAGS[2..]);
        args.extend_from_slice(&CAPS);
        args.extend_from_slice(&[image, "sleep", "3600"]);
        let out = podman(&args);
        if out.status.success() {
            Ok(c)
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
        }
    }

    fn exec(&self, args: &[&str]) -> Output {
        let mut all = vec!["exec", self.name.as_str()];
        all.extend_from_slice(args);
        podman(&all)
    }
}

impl Drop for PodmanContainer {
    fn drop(&mut self) {
        let _ = podman(&["rm", "-f", "-t", "0", &self.name]);
    }
}

/// `podman system service` on a socket of its own, killed on drop.
struct PodmanService {
    child: Child,
    socket: PathBuf,
}

impl PodmanService {
    fn start(socket: &Path) -> PodmanService {
        let _ = std::fs::remove_file(socket);
        let child = Command::new("podman")
            .args(&RUN_FLAGS[..2])
            .args(["system", "service", "--time=0"])
            .arg(format!("unix://{}", socket.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn podman system service");
        let service = PodmanService {
            child,
            socket: socket.to_owned(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while UnixStream::connect(socket).is_err() {
            assert!(
                Instant::now() < deadline,
                "podman system service did not listen on {} within 30 s",
                socket.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        service
    }
}

impl Drop for PodmanService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// The conlink daemon as a child process logging to a file; SIGTERM (then
/// SIGKILL) on drop if the test did not stop it.
struct Conlink {
    child: Child,
    log: PathBuf,
}

impl Conlink {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Wait until the log contains `needle`; false on timeout or exit.
    fn wait_for(&mut self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.log().contains(needle) {
                return true;
            }
            if Instant::now() >= deadline || self.child.try_wait().ok().flatten().is_some() {
                return self.log().contains(needle);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM and wait up to `timeout`; `None` if it did not exit.
    fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Conlink {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none()
            && self.terminate(Duration::from_secs(10)).is_none()
        {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn podman_containers_are_linked_by_name() {
    if !common::require_root(TEST) {
        return;
    }
    if !podman_installed() {
        skip_unsupported(TEST, "podman is not installed");
        return;
    }
    if !common::docker::require_docker(TEST) {
        return;
    }
    // Docker provides the busybox image (nothing is pulled from a registry).
    let docker_image = TestImage::get();
    let image = match load_into_podman(&docker_image.name) {
        Ok(name) => PodmanImage {
            name,
            owned: docker_image.name != common::docker::SHARED_IMAGE,
        },
        Err(e) => {
            skip_unsupported(TEST, &e);
            return;
        }
    };

    let bridge = common::unique("cpb");
    let (name_a, name_b) = (common::unique("cpa"), common::unique("cpa"));
    // Outer ends are `<container>-eth0` (≤ 15 chars with these names).
    let outer_a = format!("{name_a}-eth0");
    let outer_b = format!("{name_b}-eth0");
    assert!(outer_a.len() <= 15 && outer_b.len() <= 15);
    // A /24 of 10.0.0.0/8 per test process; only inside the two containers.
    let net = format!(
        "10.{}.{}",
        200 + std::process::id() % 50,
        std::process::id() % 250
    );
    let (ip_a, ip_b) = (format!("{net}.1"), format!("{net}.2"));

    let dir = tempfile::tempdir().unwrap();
    // conlink's own namespace: its bridge and outer ends go there, and the
    // guard removes them with it if the test fails before conlink does.
    let home = Netns::new(&common::unique("cpn"));
    let socket = PathBuf::from(format!("/tmp/{}.sock", common::unique("conlink-podman-")));
    let _service = PodmanService::start(&socket);

    // One container runs before conlink (found by listing), one starts after
    // (found by its event).
    let a = match PodmanContainer::sleeper(&image.name, &name_a) {
        Ok(c) => c,
        Err(e) => {
            skip_unsupported(TEST, &format!("podman cannot start a container here: {e}"));
            return;
        }
    };

    let network_file = dir.path().join("network.yaml");
    let mut f = std::fs::File::create(&network_file).unwrap();
    write!(
        f,
        "bridges:\n  - {{bridge: {bridge}, mode: linux}}\n\
         links:\n  - {{container: \"${{NODE_NAME_1}}\", bridge: {bridge}, ip: {ip_a}/24}}\n\
         \x20 - {{container: \"${{NODE_NAME_2}}\", bridge: {bridge}, ip: {ip_b}/24}}\n\
         commands:\n  - {{container: \"${{NODE_NAME_1}}\", command: \"echo linked > /tmp/linked\"}}\n"
    )
    .unwrap();
    drop(f);

    let log = dir.path().join("conlink.log");
    let log_file = std::fs::File::create(&log).unwrap();
    let child = Command::new("ip")
        .args(["netns", "exec", &home.name])
        .arg(common::conlink_bin())
        .arg("-v")
        .arg("--podman-socket")
        .arg(&socket)
        .args(["--docker-socket", "/nonexistent/docker.sock"])
        .arg("--network-file")
        .arg(&network_file)
        .env("NODE_NAME_1", &name_a)
        .env("NODE_NAME_2", &name_b)
        .env_remove("RUST_LOG")
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .spawn()
        .expect("spawn conlink");
    let mut conlink = Conlink { child, log };

    // conlink subscribes to events before it lists containers: once it has
    // found the first container, the second can only come through an event.
    assert!(
        conlink.wait_for(&format!("Event: start {name_a}"), Duration::from_secs(20)),
        "conlink did not find {name_a} through Podman:\n{}",
        conlink.log()
    );
    let b = PodmanContainer::sleeper(&image.name, &name_b).expect("second podman container");
    assert!(
        conlink.wait_for("All links connected", Duration::from_secs(30)),
        "no 'All links connected':\n{}",
        conlink.log()
    );

    // Addresses inside, outer ends on the bridge in conlink's namespace.
    for (c, ip) in [(&a, &ip_a), (&b, &ip_b)] {
        let out = c.exec(&["ip", "-o", "-4", "addr", "show", "dev", "eth0"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(&format!("{ip}/24")), "{}: {text}", c.name);
    }
    let ports = common::netns::ip(&["-n", &home.name, "-o", "link", "show", "master", &bridge]);
    let ports = String::from_utf8_lossy(&ports.stdout);
    for outer in [&outer_a, &outer_b] {
        assert!(
            ports.contains(&format!(" {outer}@")),
            "{outer} not on {bridge}: {ports}"
        );
    }

    // Traffic between the two containers, over the bridge.
    let mut last = String::new();
    let pinged = (0..5).any(|_| {
        let out = a.exec(&["ping", "-c", "1", "-W", "2", &ip_b]);
        last = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out.status.success()
    });
    assert!(
        pinged,
        "{} cannot ping {ip_b}: {last}\n{}",
        a.name,
        conlink.log()
    );

    // The command ran through Podman's exec API once the links were up.
    let deadline = Instant::now() + Duration::from_secs(10);
    let ran = loop {
        let out = a.exec(&["cat", "/tmp/linked"]);
        if String::from_utf8_lossy(&out.stdout).trim() == "linked" {
            break true;
        }
        if Instant::now() >= deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(ran, "command did not run in {}:\n{}", a.name, conlink.log());

    // SIGTERM: conlink removes its bridge and links and exits 0.
    let status = conlink.terminate(Duration::from_secs(15));
    assert!(
        status.is_some_and(|s| s.success()),
        "conlink did not exit 0 on SIGTERM ({status:?}):\n{}",
        conlink.log()
    );
    for name in [&bridge, &outer_a, &outer_b] {
        assert!(!home.has_link(name), "{name} left in conlink's namespace");
    }
    for c in [&a, &b] {
        assert!(
            !c.exec(&["ip", "link", "show", "dev", "eth0"])
                .status
                .success(),
            "eth0 left in {}",
            c.name
        );
    }
    // The second container was wired from Podman's start event.
    assert!(
        conlink.log().contains(&format!("Event: start {name_b}")),
        "{}",
        conlink.log()
    );
}
