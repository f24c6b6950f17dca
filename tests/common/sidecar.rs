//! The real `conlink` binary run as a sidecar in a namespace of its own
//! (as in its container), with its log captured for the test to read.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::netns::Netns;

/// A running conlink whose stderr goes to a file; killed on drop. Each has
/// its own control socket in a temporary directory.
pub struct Conlink {
    child: Child,
    log: tempfile::NamedTempFile,
    dir: tempfile::TempDir,
}

impl Conlink {
    pub fn start(home: &Netns, args: &[&str]) -> Conlink {
        let log = tempfile::NamedTempFile::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &home.name])
            .arg(super::conlink_bin())
            .arg("--control-socket")
            .arg(dir.path().join("control.sock"))
            .args(args)
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(log.reopen().unwrap())
            .spawn()
            .expect("start conlink");
        Conlink { child, log, dir }
    }

    /// This sidecar's control socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("control.sock")
    }

    /// Run the control client (`conlink ARGS…`) against it (the socket
    /// given by its environment variable, so ARGS may end in `-- …`).
    pub fn ctl(&self, args: &[&str]) -> Output {
        Command::new(super::conlink_bin())
            .args(args)
            .env("CONLINK_CONTROL_SOCKET", self.socket())
            .env("NO_COLOR", "1")
            .output()
            .expect("run the conlink client")
    }

    pub fn log(&self) -> String {
        let mut s = String::new();
        let _ = self.log.reopen().unwrap().read_to_string(&mut s);
        s
    }

    pub fn wait_for(&self, needle: &str, timeout: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if self.log().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    pub fn signal(&self, sig: &str) {
        let pid = self.child.id().to_string();
        // `ip netns exec` execs conlink, so the pid is conlink's.
        assert!(
            Command::new("kill")
                .args([sig, &pid])
                .status()
                .unwrap()
                .success()
        );
    }

    /// Wait for the process to end; its exit code.
    pub fn wait(&mut self, timeout: Duration) -> Option<i32> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Conlink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Interface names in `ns`.
pub fn links(ns: &Netns) -> Vec<String> {
    ns.json(&["link", "show"])
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["ifname"].as_str().unwrap().to_owned())
        .collect()
}

/// Write a config file into `dir`; its path as a string for the command line.
pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}
