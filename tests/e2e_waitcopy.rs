//! wait and copy inside containers: examples/waitcopy end to end (the 2.x
//! test11 chain in conlink-test-node and in the FROM-scratch conlink image),
//! plus the tools run in an image with nothing else in it (no shell, no
//! libc), copied out of the conlink image as 2.x's `extract-utils` did.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::compose::{Compose, repo_root, require_docker};
use common::docker::{EmptyImage, docker, docker_ok, extract_utils};

fn image(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

fn conlink_image() -> String {
    image("CONLINK_IMAGE", "conlink:latest")
}

fn node_image() -> String {
    image("NODE_IMAGE", "conlink-test-node:latest")
}

fn text(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// Run a command in a service until it succeeds; its stdout, or the last
/// failure's output in the panic.
fn exec_until_ok(c: &Compose, service: &str, args: &[&str], timeout: Duration) -> String {
    let start = Instant::now();
    loop {
        let out = c.exec(service, 1, args);
        if out.status.success() {
            return String::from_utf8_lossy(&out.stdout).into_owned();
        }
        assert!(
            start.elapsed() < timeout,
            "{service}: {args:?} kept failing: {}",
            text(&out)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// "STATUS EXITCODE" of a container, once it is no longer running.
fn wait_exited(id: &str, timeout: Duration) -> (String, i64) {
    let start = Instant::now();
    loop {
        let state = docker_ok(&["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", id]);
        let (status, code) = state.split_once(' ').expect("status and exit code");
        if status == "exited" || status == "dead" {
            return (status.to_owned(), code.parse().expect("numeric exit code"));
        }
        assert!(
            start.elapsed() < timeout,
            "container {id} still {status} after {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn waitcopy_example_chains_in_busybox_and_scratch_nodes() {
    let (conlink, node) = (conlink_image(), node_image());
    if !require_docker(
        "waitcopy_example_chains_in_busybox_and_scratch_nodes",
        &[&conlink, &node],
    ) {
        return;
    }
    let c = Compose::new(
        "cwc",
        repo_root().join("examples/waitcopy"),
        &["compose.yaml"],
    )
    .env("CONLINK_IMAGE", &conlink)
    .env("NODE_IMAGE", &node);
    c.up();
    assert!(
        c.wait_for_log("network", "All links connected", Duration::from_secs(60)),
        "no 'All links connected':\n{}",
        c.logs("network")
    );

    // copy -T filled the template from web's environment: set variable,
    // default, and an unset one left as it was.
    let page = exec_until_ok(
        &c,
        "web",
        &["cat", "/www/index.html"],
        Duration::from_secs(10),
    );
    let expected = "<h1>hello over conlink</h1>\n\
                    <p>port 8080; left alone because unset: {{NOT_SET}}</p>\n";
    assert_eq!(page, expected);

    // The command after wait found eth0 already holding its address.
    let at_start = exec_until_ok(
        &c,
        "web",
        &["cat", "/www/eth0-at-start.txt"],
        Duration::from_secs(10),
    );
    assert!(
        at_start.contains("inet 192.168.100.10/24"),
        "eth0 when web's command started:\n{at_start}"
    );

    // client's first fetch, made as soon as wait let it run, got the page
    // over the conlink link; and the page is still served there.
    let first = exec_until_ok(
        &c,
        "client",
        &["cat", "/tmp/first-fetch.html"],
        Duration::from_secs(30),
    );
    assert_eq!(first, expected);
    let again = c.exec(
        "client",
        1,
        &["wget", "-q", "-O", "-", "http://192.168.100.10:8080/"],
    );
    assert!(again.status.success(), "wget from client: {}", text(&again));
    assert_eq!(String::from_utf8_lossy(&again.stdout), expected);

    // The shell-less node: wait -I, wait -t across the link, then copy -T,
    // then exit 0.
    let scratch = c.ok(&["ps", "-q", "scratch"]).trim().to_owned();
    assert!(!scratch.is_empty(), "no scratch container");
    let (status, code) = wait_exited(&scratch, Duration::from_secs(60));
    let logs = c.logs("scratch");
    assert_eq!(
        (status.as_str(), code),
        ("exited", 0),
        "scratch logs:\n{logs}"
    );
    assert!(
        logs.contains("copied 1 file"),
        "no copy summary in:\n{logs}"
    );
    let out = tempfile::tempdir().expect("temp dir");
    docker_ok(&[
        "cp",
        &format!("{scratch}:/tmp/report.txt"),
        out.path().to_str().expect("utf-8 temp path"),
    ]);
    let report = std::fs::read_to_string(out.path().join("report.txt")).expect("report.txt");
    assert_eq!(report, "reached 192.168.100.10:8080 after eth0 came up\n");
}

/// An image holding nothing but the tools at /utils.
struct Scratch {
    image: EmptyImage,
    utils: tempfile::TempDir,
}

impl Scratch {
    fn new(conlink: &str) -> Scratch {
        let utils = tempfile::tempdir().expect("temp dir");
        let out = extract_utils(conlink, utils.path(), "0:0");
        assert!(out.status.success(), "extract utils: {}", text(&out));
        Scratch {
            image: EmptyImage::build(),
            utils,
        }
    }

    /// `docker run --rm ARGS…` of the empty image with /utils and the given
    /// mounts.
    fn run(&self, mounts: &[(&Path, &str)], env: &[&str], args: &[&str]) -> std::process::Output {
        run_scratch(&self.image.name, self.utils.path(), mounts, env, args)
    }
}

fn run_scratch(
    image: &str,
    utils: &Path,
    mounts: &[(&Path, &str)],
    env: &[&str],
    args: &[&str],
) -> std::process::Output {
    let mut cmd: Vec<String> = vec![
        "run".into(),
        "--rm".into(),
        "--network".into(),
        "none".into(),
        "-v".into(),
        format!("{}:/utils:ro", utils.display()),
    ];
    for (host, inside) in mounts {
        cmd.push("-v".into());
        cmd.push(format!("{}:{inside}", host.display()));
    }
    for e in env {
        cmd.push("-e".into());
        cmd.push((*e).into());
    }
    cmd.push(image.to_owned());
    cmd.extend(args.iter().map(|a| (*a).to_owned()));
    let refs: Vec<&str> = cmd.iter().map(String::as_str).collect();
    docker(&refs)
}

#[test]
fn wait_and_copy_without_a_shell() {
    let conlink = conlink_image();
    if !require_docker("wait_and_copy_without_a_shell", &[&conlink]) {
        return;
    }
    let scratch = Scratch::new(&conlink);
    let dir = tempfile::tempdir().expect("temp dir");
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    std::fs::create_dir_all(src.join("etc/app")).unwrap();
    std::fs::create_dir_all(&dst).unwrap();
    std::fs::write(
        src.join("etc/app/app.conf"),
        "name={{NAME}} port={{PORT:-80}}\n",
    )
    .unwrap();
    let binary: Vec<u8> = (0..=255u8).chain([0, 0, b'{', b'{']).collect();
    std::fs::write(src.join("etc/app/blob.bin"), &binary).unwrap();

    // copy -T into a mounted dir, then wait for what copy wrote, then a
    // second copy: three tools exec'd in a row by PID 1, no shell involved.
    let out = scratch.run(
        &[(&src, "/src:ro"), (&dst, "/dst")],
        &["NAME=scratch"],
        &[
            "/utils/copy",
            "-T",
            "/src",
            "/dst",
            "--",
            "/utils/wait",
            "--timeout",
            "10",
            "-f",
            "/dst/etc/app/app.conf",
            "--",
            "/utils/copy",
            "/dst/etc",
            "/tmp",
        ],
    );
    assert!(out.status.success(), "chain failed: {}", text(&out));
    assert_eq!(
        std::fs::read_to_string(dst.join("etc/app/app.conf")).unwrap(),
        "name=scratch port=80\n"
    );
    assert_eq!(std::fs::read(dst.join("etc/app/blob.bin")).unwrap(), binary);

    // Exit codes survive the lack of a shell: a timeout is 124 and names the
    // condition, a missing command 127, a -c that needs a shell 2.
    let out = scratch.run(
        &[],
        &[],
        &["/utils/wait", "--timeout", "0.5", "-i", "nosuch0"],
    );
    assert_eq!(out.status.code(), Some(124), "{}", text(&out));
    assert!(
        text(&out).contains("waiting for interface nosuch0"),
        "{}",
        text(&out)
    );
    // 127 is also Docker's own code for an entrypoint it cannot find: the
    // message shows it is wait's.
    let out = scratch.run(&[], &[], &["/utils/wait", "--", "/no/such/program"]);
    assert_eq!(out.status.code(), Some(127), "{}", text(&out));
    assert!(
        text(&out).contains("wait: command not found: /no/such/program"),
        "{}",
        text(&out)
    );
    let out = scratch.run(
        &[],
        &[],
        &["/utils/wait", "--timeout", "10", "-c", "test -e /x && true"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("no shell"), "{}", text(&out));
}
