//! `wait` as a real process: usage errors, exec after `--`, timeouts, and
//! the conditions that need no network namespace (file, TCP, command).

mod common;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn wait_cmd() -> Command {
    let mut c = Command::new(common::conlink_bin());
    c.arg("wait");
    c
}

fn run(args: &[&str]) -> Output {
    wait_cmd().args(args).output().expect("run wait")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Kills the child if the test fails before it exits.
struct Running(Option<Child>);

impl Running {
    fn spawn(cmd: &mut Command) -> Running {
        Running(Some(
            cmd.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn"),
        ))
    }

    fn still_running(&mut self) -> bool {
        self.0
            .as_mut()
            .is_some_and(|c| c.try_wait().expect("try_wait").is_none())
    }

    /// Wait for exit (a generous cap only against hangs; wait's own
    /// --timeout is what the tests rely on).
    fn finish(mut self) -> Output {
        let mut child = self.0.take().unwrap();
        let cap = Instant::now() + Duration::from_secs(60);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > cap {
                let _ = child.kill();
                panic!("wait did not exit");
            }
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

fn pause() {
    std::thread::sleep(Duration::from_millis(300));
}

#[test]
fn bad_options_exit_2_never_0() {
    for args in [
        &["--bogus"][..],
        &["-s", "soon"],
        &["-t", "no-port"],
        &["--timeout", "-1"],
        &["-u", "9"],
        &["-i", "much-too-long-ifname"],
        &["some-command-without-dashes"],
        &["-f"],
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn bad_options_exit_2_when_invoked_by_the_name_wait() {
    let d = tempfile::tempdir().unwrap();
    let link = d.path().join("wait");
    std::os::unix::fs::symlink(common::conlink_bin(), &link).unwrap();
    let o = Command::new(&link).arg("--bogus").output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = Command::new(&link)
        .args(["-f", "/", "--", "sh", "-c", "exit 3"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
}

#[test]
fn exec_keeps_the_pid_and_passes_the_exit_code_through() {
    let o = run(&["--", "sh", "-c", "exit 7"]);
    assert_eq!(o.status.code(), Some(7));
    let child = wait_cmd()
        .args(["--", "sh", "-c", "echo $$"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        pid.to_string(),
        "the command must replace wait"
    );
}

#[test]
fn a_command_that_cannot_be_found_exits_127() {
    let o = run(&["--", "no-such-command-for-wait"]);
    assert_eq!(o.status.code(), Some(127));
    assert_eq!(
        stderr(&o),
        "wait: command not found: no-such-command-for-wait\n"
    );
}

/// Found but not runnable is the shell's 126 and says why, rather than
/// claiming the file is not there.
#[test]
fn a_command_that_is_not_executable_exits_126() {
    let o = run(&["--", "/etc/passwd"]);
    assert_eq!(o.status.code(), Some(126), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "wait: cannot execute /etc/passwd: permission denied: not executable\n"
    );
    let o = run(&["--", "/etc"]);
    assert_eq!(o.status.code(), Some(126), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "wait: cannot execute /etc: permission denied: is a directory\n"
    );
    // Found on PATH but not executable: named by its full path.
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("tool-xyz"), "#!/bin/sh\n").unwrap();
    let o = wait_cmd()
        .env("PATH", d.path())
        .args(["--", "tool-xyz"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(126), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("{}/tool-xyz", d.path().display())),
        "{}",
        stderr(&o)
    );
    // Executable but exec refuses it (its interpreter is missing): 126 too.
    let script = d.path().join("bad-interp");
    std::fs::write(&script, "#!/no/such/interpreter\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let o = run(&["--", script.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(126), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with(&format!("wait: cannot execute {}: ", script.display())),
        "{}",
        stderr(&o)
    );
}

#[test]
fn no_conditions_and_no_command_succeeds() {
    assert_eq!(run(&[]).status.code(), Some(0));
}

#[test]
fn umask_applies_to_the_command() {
    let o = run(&["-u", "027", "--", "sh", "-c", "umask"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "0027");
}

#[test]
fn timeout_exits_124_and_names_the_condition() {
    let o = run(&["--timeout", "0.3", "-f", "/nonexistent-dir/x"]);
    assert_eq!(o.status.code(), Some(124));
    assert!(
        stderr(&o).contains("timed out after 0.3 s waiting for file /nonexistent-dir/x"),
        "{}",
        stderr(&o)
    );

    // The first condition holds; the message names the second one.
    let port = free_port();
    let o = run(&[
        "--timeout",
        "0.5",
        "-s",
        "0.1",
        "-f",
        "/",
        "-t",
        &format!("127.0.0.1:{port}"),
        "--",
        "true",
    ]);
    assert_eq!(o.status.code(), Some(124));
    assert!(
        stderr(&o).contains(&format!("waiting for tcp 127.0.0.1:{port}")),
        "{}",
        stderr(&o)
    );
}

#[test]
fn progress_lines_while_waiting_and_quiet_silences_them() {
    let o = run(&["--timeout", "1.6", "-f", "/nonexistent-dir/y"]);
    assert!(
        stderr(&o).contains("wait: waiting for file /nonexistent-dir/y (1 s)"),
        "{}",
        stderr(&o)
    );
    let o = run(&["-q", "--timeout", "1.2", "-f", "/nonexistent-dir/y"]);
    assert_eq!(o.status.code(), Some(124));
    assert!(!stderr(&o).contains("wait: waiting for"), "{}", stderr(&o));
    let o = run(&["-q", "-f", "/"]);
    assert_eq!((o.status.code(), stderr(&o)), (Some(0), String::new()));
}

#[test]
fn conditions_are_checked_in_the_order_given() {
    let d = tempfile::tempdir().unwrap();
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    std::fs::write(&a, "").unwrap();
    std::fs::write(&b, "").unwrap();
    let o = run(&["-f", b.to_str().unwrap(), "-f", a.to_str().unwrap()]);
    let err = stderr(&o);
    let (pa, pb) = (
        err.find("/a exists").unwrap(),
        err.find("/b exists").unwrap(),
    );
    assert!(pb < pa, "{err}");
}

#[test]
fn file_created_later_in_a_directory_created_later_by_rename() {
    let d = tempfile::tempdir().unwrap();
    let target = d.path().join("x/y/ready");
    // A 60 s retry interval: only inotify can make this succeed within the
    // 10 s timeout.
    let mut w = Running::spawn(wait_cmd().args([
        "--timeout",
        "10",
        "-s",
        "60",
        "-f",
        target.to_str().unwrap(),
    ]));
    pause();
    std::fs::create_dir(d.path().join("x")).unwrap();
    pause();
    std::fs::create_dir(d.path().join("x/y")).unwrap();
    pause();
    assert!(w.still_running(), "wait returned before the file existed");
    let tmp = d.path().join("x/y/.ready.tmp");
    std::fs::write(&tmp, "done").unwrap();
    std::fs::rename(&tmp, &target).unwrap();
    let o = w.finish();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("ready exists"), "{}", stderr(&o));
}

#[test]
fn relative_file_path_is_watched_from_the_working_dir() {
    let d = tempfile::tempdir().unwrap();
    let w = Running::spawn(wait_cmd().current_dir(d.path()).args([
        "--timeout",
        "10",
        "-s",
        "60",
        "-f",
        "sub/f",
    ]));
    pause();
    std::fs::create_dir(d.path().join("sub")).unwrap();
    std::fs::write(d.path().join("sub/f"), "").unwrap();
    assert_eq!(w.finish().status.code(), Some(0));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn tcp_listener_opened_later() {
    let port = free_port();
    let mut w = Running::spawn(wait_cmd().args([
        "--timeout",
        "10",
        "-s",
        "0.1",
        "-t",
        &format!("127.0.0.1:{port}"),
    ]));
    pause();
    assert!(w.still_running());
    let _listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let o = w.finish();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains(&format!("tcp 127.0.0.1:{port} accepts connections")));
}

#[test]
fn tcp_ipv6_loopback_in_brackets() {
    let Ok(l) = std::net::TcpListener::bind("[::1]:0") else {
        return common::skip("tcp_ipv6_loopback_in_brackets", "no IPv6 loopback here");
    };
    let port = l.local_addr().unwrap().port();
    let o = run(&["--timeout", "5", "-t", &format!("[::1]:{port}")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn command_that_starts_succeeding() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("flag");
    let cmd = format!("test -e {}", f.display());
    let mut w = Running::spawn(wait_cmd().args(["--timeout", "10", "-s", "0.1", "-c", &cmd]));
    pause();
    assert!(w.still_running());
    std::fs::write(&f, "").unwrap();
    let o = w.finish();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("succeeded"));
}

/// PATH holding only `test`: no shell, as in a FROM-scratch image.
fn shell_less_path(d: &Path) -> std::path::PathBuf {
    let bin = d.join("bin");
    std::fs::create_dir(&bin).unwrap();
    let test = ["/usr/bin/test", "/bin/test"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap();
    std::os::unix::fs::symlink(test, bin.join("test")).unwrap();
    bin
}

#[test]
fn without_a_shell_commands_run_directly_and_shell_syntax_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let bin = shell_less_path(d.path());
    let f = d.path().join("flag file");
    std::fs::write(&f, "").unwrap();
    let o = wait_cmd()
        .env("PATH", &bin)
        .args([
            "--timeout",
            "5",
            "-c",
            &format!("test -e '{}'", f.display()),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = wait_cmd()
        .env("PATH", &bin)
        .args(["-c", "test -e /x && echo hi"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no shell"), "{}", stderr(&o));
}
