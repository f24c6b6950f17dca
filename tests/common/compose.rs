//! Docker Compose projects for end-to-end tests: unique project names, run
//! through `tools/compose` (the one place that picks `docker compose` or
//! `docker-compose`), torn down with `down -v --remove-orphans` on drop.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The repository root (tests run with the package dir as cwd, but be explicit).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// True when a Docker engine answers.
pub fn docker_available() -> bool {
    Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// True when the test may use Docker and the given local images exist;
/// prints why it skips otherwise (and fails under CONLINK_TEST_REQUIRE_ALL).
pub fn require_docker(test: &str, images: &[&str]) -> bool {
    if !super::is_root() {
        super::skip(test, "needs root");
        return false;
    }
    if !docker_available() {
        super::skip(test, "no Docker engine answers");
        return false;
    }
    for image in images {
        let ok = Command::new("docker")
            .args(["image", "inspect", image])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            super::skip(
                test,
                &format!("image {image} is missing: run tools/build-images"),
            );
            return false;
        }
    }
    true
}

/// A compose project with a unique name; `down` on drop.
pub struct Compose {
    pub project: String,
    pub dir: PathBuf,
    files: Vec<PathBuf>,
    env: Vec<(String, String)>,
}

impl Compose {
    /// `files` are relative to `dir`, which is also the working directory.
    pub fn new(prefix: &str, dir: impl AsRef<Path>, files: &[&str]) -> Compose {
        let dir = dir.as_ref().to_path_buf();
        Compose {
            project: super::unique(prefix),
            files: files.iter().map(|f| dir.join(f)).collect(),
            dir,
            env: Vec::new(),
        }
    }

    /// Set an environment variable for every compose call.
    pub fn env(mut self, key: &str, value: &str) -> Compose {
        self.env.push((key.into(), value.into()));
        self
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(repo_root().join("tools/compose"));
        cmd.current_dir(&self.dir).arg("-p").arg(&self.project);
        for f in &self.files {
            cmd.arg("-f").arg(f);
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Run `compose ARGS…` and return its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command()
            .args(args)
            .output()
            .expect("run tools/compose")
    }

    /// Run `compose ARGS…`, panicking with its stderr when it fails.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "compose {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn up(&self) {
        self.ok(&["up", "-d"]);
    }

    /// All log output of one service so far.
    pub fn logs(&self, service: &str) -> String {
        let out = self.run(&["logs", "--no-color", service]);
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    }

    /// Poll the service's logs until `needle` appears; false on timeout.
    pub fn wait_for_log(&self, service: &str, needle: &str, timeout: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if self.logs(service).contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        false
    }

    /// `exec -T --index N SERVICE ARGS…` (replica numbers start at 1).
    pub fn exec(&self, service: &str, index: u32, args: &[&str]) -> Output {
        let index = index.to_string();
        let mut full = vec!["exec", "-T", "--index", &index, service];
        full.extend_from_slice(args);
        self.run(&full)
    }
}

impl Drop for Compose {
    fn drop(&mut self) {
        let _ = self
            .command()
            .args(["down", "-v", "--remove-orphans", "-t", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
