//! Docker scaffolding for engine tests: a tiny local image (no registry is
//! reachable, so nothing is pulled) and containers removed on drop. Uses the
//! docker CLI; the code under test talks to the engine through its API.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The image tools/build-images makes (FROM scratch + static busybox).
pub const SHARED_IMAGE: &str = "conlink-test-node:latest";

pub const DOCKER_SOCKET: &str = "/var/run/docker.sock";

/// `docker ARGS…`, its output (panics only if the CLI cannot be run).
pub fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .expect("run the docker CLI")
}

/// `docker ARGS…`, asserting success; returns trimmed stdout.
pub fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// True when a Docker engine answers; prints the skip otherwise.
pub fn require_docker(test: &str) -> bool {
    let answers = Path::new(DOCKER_SOCKET).exists()
        && Command::new("docker")
            .args(["version", "--format", "{{.Server.Version}}"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
    if !answers {
        super::skip(test, "no Docker engine answers on /var/run/docker.sock");
    }
    answers
}

/// A busybox image to run test containers from: the shared one if it has
/// been built, else one built here under a unique tag that is removed on drop.
pub struct TestImage {
    pub name: String,
    owned: bool,
}

impl TestImage {
    pub fn get() -> TestImage {
        if docker(&["image", "inspect", SHARED_IMAGE]).status.success() {
            return TestImage {
                name: SHARED_IMAGE.to_owned(),
                owned: false,
            };
        }
        TestImage::build()
    }

    /// Build our own image even if the shared one exists.
    pub fn build() -> TestImage {
        let name = format!("conlink-engine-test:{}", super::unique("t"));
        let context = tempfile::tempdir().expect("temp dir");
        let rootfs = context.path().join("rootfs");
        std::fs::create_dir_all(rootfs.join("bin")).unwrap();
        let busybox = rootfs.join("bin/busybox");
        std::fs::copy(busybox_binary(), &busybox).expect("copy busybox");
        // One symlink per applet, so `sh`, `sleep`, `cat`… exist in the image.
        let list = Command::new(&busybox)
            .arg("--list")
            .output()
            .expect("busybox --list");
        for applet in String::from_utf8_lossy(&list.stdout).lines() {
            if !applet.is_empty() && applet != "busybox" {
                let _ = std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet));
            }
        }
        std::fs::write(
            context.path().join("Dockerfile"),
            "FROM scratch\nCOPY rootfs/ /\nENV PATH=/bin\nCMD [\"sh\"]\n",
        )
        .unwrap();
        let image = TestImage { name, owned: true };
        let out = Command::new("docker")
            .args(["build", "-q", "-t", &image.name])
            .arg(context.path())
            .env("DOCKER_BUILDKIT", "0")
            .output()
            .expect("docker build");
        assert!(
            out.status.success(),
            "docker build: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        image
    }
}

impl Drop for TestImage {
    fn drop(&mut self) {
        if self.owned {
            let _ = docker(&["rmi", "-f", &self.name]);
        }
    }
}

/// An image with nothing in it but an empty `/tmp` — no shell, no libc —
/// made with `docker import` (no registry, no build); removed on drop. Tools
/// that must work in FROM-scratch images are run here, with what they need
/// mounted in.
pub struct EmptyImage {
    pub name: String,
}

impl EmptyImage {
    pub fn build() -> EmptyImage {
        let name = format!("conlink-empty-test:{}", super::unique("e"));
        let root = tempfile::tempdir().expect("temp dir");
        let tmp = root.path().join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o1777))
            .unwrap();
        let tar = Command::new("tar")
            .arg("-C")
            .arg(root.path())
            .args(["-cf", "-", "."])
            .output()
            .expect("run tar");
        assert!(tar.status.success(), "tar of an empty tree failed");
        let mut import = Command::new("docker")
            .args(["import", "-", &name])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("docker import");
        std::io::Write::write_all(import.stdin.as_mut().unwrap(), &tar.stdout)
            .expect("feed docker import");
        drop(import.stdin.take());
        assert!(import.wait().unwrap().success(), "docker import failed");
        EmptyImage { name }
    }
}

impl Drop for EmptyImage {
    fn drop(&mut self) {
        let _ = docker(&["rmi", "-f", &self.name]);
    }
}

/// conlink 2.x's `extract-utils` service, as its docs give it: the conlink
/// image copies its tools into a mounted directory with busybox `cp`, which
/// follows the links, so `dir` gets real files. Runs as `user` (2.x used
/// `USER_ID:GROUP_ID`). Returns `docker run`'s output.
pub fn extract_utils(conlink_image: &str, dir: &Path, user: &str) -> Output {
    let volume = format!("{}:/conlink_utils", dir.display());
    docker(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--user",
        user,
        "-v",
        &volume,
        conlink_image,
        "cp",
        "/utils/wait",
        "/utils/wait.sh",
        "/utils/copy",
        "/utils/copy.sh",
        "/utils/echo",
        "/conlink_utils/",
    ])
}

/// The static busybox from Debian's busybox-static package, downloaded and
/// unpacked once into cargo's scratch dir for tests (kept between runs).
fn busybox_binary() -> PathBuf {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("busybox-static");
    let binary = cache.join("bin/busybox");
    if binary.exists() {
        return binary;
    }
    let work = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let run = |cmd: &mut Command| {
        let out = cmd
            .current_dir(work.path())
            .output()
            .expect("run apt-get/dpkg-deb");
        assert!(
            out.status.success(),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(Command::new("apt-get").args(["download", "busybox-static"]));
    let deb = std::fs::read_dir(work.path())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .expect("apt-get download left no .deb");
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg("x"));
    let unpacked = work.path().join("x");
    // Atomic publish: parallel test binaries may race; the loser's rename fails
    // and it uses the winner's copy.
    let staged = work.path().join("busybox-static");
    std::fs::create_dir_all(staged.join("bin")).unwrap();
    std::fs::copy(unpacked.join("bin/busybox"), staged.join("bin/busybox"))
        .expect("busybox in .deb");
    let _ = std::fs::rename(&staged, &cache);
    assert!(binary.exists(), "busybox not at {}", binary.display());
    binary
}

/// A running container, force-removed on drop.
pub struct Container {
    pub name: String,
    pub id: String,
}

impl Container {
    /// `docker run -d --name NAME [--label K=V…] IMAGE ARGS…`.
    pub fn run(image: &TestImage, name: &str, labels: &[(&str, &str)], args: &[&str]) -> Container {
        let mut cmd = vec!["run".to_owned(), "-d".into(), "--name".into(), name.into()];
        for (k, v) in labels {
            cmd.push("--label".into());
            cmd.push(format!("{k}={v}"));
        }
        cmd.push(image.name.clone());
        cmd.extend(args.iter().map(|a| a.to_string()));
        let refs: Vec<&str> = cmd.iter().map(String::as_str).collect();
        let id = docker_ok(&refs);
        Container {
            name: name.to_owned(),
            id,
        }
    }

    /// A container that just sleeps (until killed).
    pub fn sleeper(image: &TestImage, name: &str, labels: &[(&str, &str)]) -> Container {
        Container::run(image, name, labels, &["sleep", "3600"])
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", &self.name]);
    }
}

/// A unix-socket relay in front of the engine socket, so a test can cut the
/// connection (as an engine restart or a dropped socket would) without
/// touching the engine. Must be started inside a tokio runtime.
pub struct SocketProxy {
    pub path: PathBuf,
    tasks: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl SocketProxy {
    pub fn start(path: &Path, target: &Path) -> SocketProxy {
        let _ = std::fs::remove_file(path);
        let listener = tokio::net::UnixListener::bind(path).expect("bind proxy socket");
        let tasks = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let target = target.to_owned();
        let conns = tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let target = target.clone();
                let relay = tokio::spawn(async move {
                    if let Ok(mut upstream) = tokio::net::UnixStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                });
                conns.lock().unwrap().push(relay.abort_handle());
            }
        });
        tasks.lock().unwrap().push(accept.abort_handle());
        SocketProxy {
            path: path.to_owned(),
            tasks,
        }
    }

    /// Drop every relayed connection and stop listening.
    pub fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for SocketProxy {
    fn drop(&mut self) {
        self.cut();
    }
}
