//! mdc end to end: the real binary against modes dirs built in temp dirs,
//! checking the exact env file, the files tree, `--resolve` output,
//! `--dry-run`, exit statuses and that errors leave earlier results alone.
//! The compose call goes to a stub script that records its arguments (the
//! real compose run is covered by the docker examples).

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A project dir with a modes tree and a compose stub.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        let p = Project {
            dir: tempfile::tempdir().unwrap(),
        };
        // The stub records its args and the env file it was handed, then
        // exits 7 so the test can see the status pass through.
        p.write(
            "compose-stub",
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > stub-args\ncp \"$2\" stub-env\nexit 7\n",
        );
        fs::set_permissions(p.path("compose-stub"), fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    /// The canonical project dir (what COMPOSE_DIR shows).
    fn root(&self) -> PathBuf {
        self.dir.path().canonicalize().unwrap()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, content: &str) {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    fn exists(&self, rel: &str) -> bool {
        fs::symlink_metadata(self.path(rel)).is_ok()
    }

    /// The modes graph of the issue's examples, with a few files.
    fn basic(&self) {
        for m in ["a", "b", "c", "d", "e", "f"] {
            fs::create_dir_all(self.path(&format!("modes/{m}"))).unwrap();
        }
        self.write("modes/b/deps", "a\n");
        self.write("modes/c/deps", "a b\n");
        self.write("modes/d/deps", "a # comment\nb\n");
        self.write("modes/e/deps", "a d|c\n");
        self.write("modes/f/deps", "a,b,c|d\n");
        self.write("modes/a/compose.yaml", "services: {}\n");
        self.write("modes/c/docker-compose.yml", "services: {}\n");
        self.write("modes/c/compose.yml", "services: {}\n");
        self.write("modes/a/env", "A=1\nSHARED=from-a\n");
        self.write("modes/c/.env", "C='c c'\nSHARED=${A}-c");
    }

    /// Run `conlink mdc ARGS…` in the project dir with a clean mdc
    /// environment and the compose stub.
    fn mdc(&self, args: &[&str]) -> Output {
        self.mdc_env(args, &[])
    }

    fn mdc_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(common::conlink_bin());
        cmd.arg("mdc").args(args).current_dir(self.dir.path());
        for var in [
            "MODES_DIR",
            "ENV_FILE",
            "MDC_FILES_DIR",
            "VERBOSE",
            "RUST_LOG",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("DOCKER_COMPOSE", self.path("compose-stub"));
        cmd.envs(env.iter().copied());
        cmd.output().unwrap()
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
fn assert_status(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        stdout(o),
        stderr(o)
    );
}

#[test]
fn writes_the_exact_env_file() {
    let p = Project::new();
    p.basic();
    let out = p.mdc(&["e,c"]);
    assert_status(&out, 0);
    assert_eq!(stderr(&out), "MODES: a b c e\n");
    assert_eq!(
        p.read(".env"),
        format!(
            "\
### mdc command line: mdc e,c
MDC_MODE_a=enabled
MDC_MODE_b=enabled
MDC_MODE_c=enabled
MDC_MODE_e=enabled
### mdc begin mode a (./modes/a/env)
A=1
SHARED=from-a
### mdc end mode a (./modes/a/env)
### mdc begin mode c (./modes/c/.env)
C='c c'
SHARED=${{A}}-c
### mdc end mode c (./modes/c/.env)
COMPOSE_FILE=./.compose-empty.yaml:./modes/a/compose.yaml:./modes/c/compose.yml
COMPOSE_DIR={}
COMPOSE_PROFILES=MODE_a,MODE_b,MODE_c,MODE_e
MDC_MODE_DIRS=\"./modes/a,./modes/b,./modes/c,./modes/e\"
",
            p.root().display()
        )
    );
    assert_eq!(
        p.read(".compose-empty.yaml"),
        "services: {}\nnetworks: {default: {}}\n"
    );
    assert!(p.path(".files").is_dir());
    // Nothing staged is left behind.
    let leftovers: Vec<String> = fs::read_dir(p.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("mdc-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn issue_examples_through_the_binary() {
    let p = Project::new();
    p.basic();
    for (o, deps) in [("o1", "+o3"), ("o2", "+o3"), ("o3", "o4 o5"), ("o4", "+o5")] {
        p.write(&format!("modes/{o}/deps"), deps);
    }
    for (req, want) in [
        ("a", "a"),
        ("b", "a b"),
        ("e", "a b d e"),
        ("e c", "a b c e"),
        ("e c a", "a b c e"),
        ("f", "a b c f"),
        ("d|c", "a b d"),
        ("o1", "o1"),
        ("o3", "o5 o4 o3"),
        ("o1 o3", "o5 o4 o3 o1"),
    ] {
        let out = p.mdc(&["--resolve", req]);
        assert_status(&out, 0);
        assert_eq!(stdout(&out), format!("{want}\n"), "request {req:?}");
    }
    // resolve-deps style: several arguments form one request.
    let out = p.mdc(&["--resolve", "e", "c"]);
    assert_eq!(stdout(&out), "a b c e\n");
}

#[test]
fn resolve_formats_and_writes_nothing() {
    let p = Project::new();
    p.basic();
    let out = p.mdc(&["--resolve", "--format", "paths", "e,c,z"]);
    assert_status(&out, 0);
    assert_eq!(
        stdout(&out),
        "a=./modes/a\nb=./modes/b\nc=./modes/c\ne=./modes/e\nz=\n"
    );
    let out = p.mdc(&["--resolve", "--format", "json", "e z"]);
    assert_status(&out, 0);
    assert_eq!(
        stdout(&out),
        concat!(
            r#"[{"node":"a","path":"./modes/a","dep-str":"","deps":[]},"#,
            r#"{"node":"b","path":"./modes/b","dep-str":"a\n","deps":["a"]},"#,
            r#"{"node":"d","path":"./modes/d","dep-str":"a # comment\nb\n","deps":["a","b"]},"#,
            r#"{"node":"e","path":"./modes/e","dep-str":"a d|c\n","deps":["a",{"or":["d","c"]}]},"#,
            r#"{"node":"z","path":null,"dep-str":null,"deps":[]}]"#,
            "\n"
        )
    );
    assert!(!p.exists(".env") && !p.exists(".files") && !p.exists(".compose-empty.yaml"));
}

#[test]
fn dry_run_prints_and_writes_nothing() {
    let p = Project::new();
    p.basic();
    p.write("modes/a/web/files/index.html", "a");
    let out = p.mdc(&["--dry-run", "c", "up", "-d"]);
    assert_status(&out, 0);
    let text = stdout(&out);
    let stub = p.path("compose-stub");
    assert!(
        text.starts_with(
            "MODES: a b c\nENV_FILE: .env\n### mdc command line: mdc --dry-run c up -d\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("\nCOMPOSE_PROFILES=MODE_a,MODE_b,MODE_c\n"),
        "{text}"
    );
    assert!(
        text.contains("\nFILES: web/ <- ./modes/a/web/files/\n"),
        "{text}"
    );
    assert!(
        text.ends_with(&format!(
            "COMMAND: {} --env-file .env up -d\n",
            stub.display()
        )),
        "{text}"
    );
    for written in [".env", ".files", ".compose-empty.yaml", "stub-args"] {
        assert!(!p.exists(written), "{written} was written");
    }
}

#[test]
fn compose_runs_with_the_env_file_and_its_status_passes_through() {
    let p = Project::new();
    p.basic();
    let out = p.mdc(&["b", "up", "--build", "-v", "svc"]);
    assert_status(&out, 7);
    assert_eq!(
        p.read("stub-args"),
        "--env-file\n.env\nup\n--build\n-v\nsvc\n"
    );
    // The env file was complete before compose started.
    assert_eq!(p.read("stub-env"), p.read(".env"));
    assert!(p.read(".env").contains("COMPOSE_PROFILES=MODE_a,MODE_b\n"));

    // --compose-command wins over DOCKER_COMPOSE; a missing program is 127.
    let out = p.mdc(&["--compose-command", "/nonexistent/compose x", "a", "ps"]);
    assert_status(&out, 127);
    assert!(
        stderr(&out).contains("cannot run /nonexistent/compose"),
        "{}",
        stderr(&out)
    );

    // Without compose args mdc only writes.
    fs::remove_file(p.path("stub-args")).unwrap();
    assert_status(&p.mdc(&["a"]), 0);
    assert!(!p.exists("stub-args"));
}

#[test]
fn files_tree_overlays_in_mode_order() {
    let p = Project::new();
    for m in ["a", "b"] {
        fs::create_dir_all(p.path(&format!("modes/{m}"))).unwrap();
    }
    p.write("modes/b/deps", "a");
    p.write("modes/a/svc1/files/etc/conf", "from a");
    p.write("modes/a/svc1/files/etc/only-a", "a");
    p.write("modes/a/svc1/files/.hidden/.rc", "dot");
    p.write("modes/a/svc1/files/swap/inner", "a was a dir here");
    p.write("modes/a/svc2/files/run.sh", "#!/bin/sh\n");
    p.write("modes/a/svc1/not-files/x", "ignored");
    p.write("modes/b/svc1/files/etc/conf", "from b");
    p.write("modes/b/svc1/files/swap", "b made it a file");
    fs::set_permissions(
        p.path("modes/a/svc2/files/run.sh"),
        fs::Permissions::from_mode(0o750),
    )
    .unwrap();
    std::os::unix::fs::symlink("etc/conf", p.path("modes/b/svc1/files/link")).unwrap();
    fs::create_dir_all(p.path("modes/b/svc1/files/ro")).unwrap();
    p.write("modes/b/svc1/files/ro/f", "in a read-only dir");
    fs::set_permissions(
        p.path("modes/b/svc1/files/ro"),
        fs::Permissions::from_mode(0o555),
    )
    .unwrap();
    // Left from an earlier run: must be gone after a rebuild.
    p.write(".files/stale/file", "old");

    let out = p.mdc(&["b"]);
    assert_status(&out, 0);
    assert_eq!(p.read(".files/svc1/etc/conf"), "from b");
    assert_eq!(p.read(".files/svc1/etc/only-a"), "a");
    assert_eq!(p.read(".files/svc1/.hidden/.rc"), "dot");
    assert_eq!(p.read(".files/svc1/swap"), "b made it a file");
    assert_eq!(p.read(".files/svc1/ro/f"), "in a read-only dir");
    let mode = |rel: &str| fs::metadata(p.path(rel)).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(".files/svc2/run.sh"), 0o750);
    assert_eq!(mode(".files/svc1/ro"), 0o555);
    assert_eq!(
        fs::read_link(p.path(".files/svc1/link")).unwrap(),
        Path::new("etc/conf")
    );
    assert_eq!(p.read(".files/svc1/link"), "from b");
    assert!(!p.exists(".files/stale"));
    assert!(!p.exists(".files/svc1/not-files"));
    let mtime = |path: PathBuf| fs::metadata(path).unwrap().modified().unwrap();
    assert_eq!(
        mtime(p.path(".files/svc1/etc/only-a")),
        mtime(p.path("modes/a/svc1/files/etc/only-a"))
    );

    // A second run replaces the tree (read-only dirs included).
    assert_status(&p.mdc(&["a"]), 0);
    assert_eq!(p.read(".files/svc1/etc/conf"), "from a");
    assert!(!p.exists(".files/svc1/ro"));
    assert_eq!(p.read(".files/svc1/swap/inner"), "a was a dir here");
}

#[test]
fn settings_come_from_2x_environment_variables() {
    let p = Project::new();
    fs::create_dir_all(p.path("m1/base")).unwrap();
    p.write("m1/base/svc/files/f", "x");
    p.write(
        "deps.json",
        r#"{"top": ["base", {"after": "late"}], "late": null}"#,
    );
    fs::create_dir_all(p.path("out")).unwrap();
    let out = p.mdc_env(
        &["top"],
        &[
            ("MODES_DIR", "./m1:deps.json"),
            ("ENV_FILE", "out/my.env"),
            ("MDC_FILES_DIR", "out/files"),
        ],
    );
    assert_status(&out, 0);
    let env = p.read("out/my.env");
    assert!(
        env.contains("MDC_MODE_base=enabled\nMDC_MODE_top=enabled\n"),
        "{env}"
    );
    assert!(
        env.contains(&format!("COMPOSE_DIR={}\n", p.root().join("out").display())),
        "{env}"
    );
    // `top` comes from a JSON file: a mode without a directory.
    assert!(env.ends_with("MDC_MODE_DIRS=\"./m1/base\"\n"), "{env}");
    assert_eq!(p.read("out/files/svc/f"), "x");
    assert!(!p.exists(".env") && !p.exists(".files"));

    // Options win over the environment; VERBOSE turns on debug logs.
    let out = p.mdc_env(
        &["--modes-dir", "m1", "--env-file", "e2", "base"],
        &[("MODES_DIR", "nope"), ("VERBOSE", "1")],
    );
    assert_status(&out, 0);
    assert!(p.exists("e2"));
    assert!(stderr(&out).contains("DEBUG"), "{}", stderr(&out));
}

#[test]
fn works_when_invoked_as_mdc() {
    let p = Project::new();
    p.basic();
    let link = p.path("mdc");
    std::os::unix::fs::symlink(common::conlink_bin(), &link).unwrap();
    let out = Command::new(&link)
        .args(["--resolve", "f"])
        .current_dir(p.dir.path())
        .env_remove("MODES_DIR")
        .output()
        .unwrap();
    assert_status(&out, 0);
    assert_eq!(stdout(&out), "a b c f\n");
}

/// Run a failing case against a project that already holds results of an
/// earlier run, and check they are untouched.
#[track_caller]
fn fails_cleanly(p: &Project, args: &[&str], env: &[(&str, &str)], code: i32, msg: &str) {
    p.write(".env", "OLD=1\n");
    p.write(".files/keep", "old");
    let out = p.mdc_env(args, env);
    assert_status(&out, code);
    let err = stderr(&out);
    assert!(err.contains(msg), "{args:?}: expected {msg:?} in {err:?}");
    assert!(
        err.lines().filter(|l| l.starts_with("mdc:")).count() <= 1,
        "{err}"
    );
    assert_eq!(p.read(".env"), "OLD=1\n", "{args:?} changed .env");
    assert_eq!(p.read(".files/keep"), "old", "{args:?} changed .files");
    assert!(!p.exists("stub-args"), "{args:?} ran compose");
    let names: Vec<String> = fs::read_dir(p.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.contains("mdc-")), "{names:?}");
}

#[test]
fn bad_input_exits_2_naming_the_culprit_and_changes_nothing() {
    let p = Project::new();
    p.basic();
    fails_cleanly(&p, &["--bogus", "a"], &[], 2, "--bogus");
    fails_cleanly(&p, &["-x", "a"], &[], 2, "-x");
    fails_cleanly(&p, &[" , "], &[], 2, "mdc: MODES is empty");
    fails_cleanly(
        &p,
        &["a||b"],
        &[],
        2,
        "mdc: MODES `a||b`: line 1: empty mode name",
    );
    fails_cleanly(
        &p,
        &["--modes-dir", "missing", "a"],
        &[],
        2,
        "mdc: missing: modes dir not found",
    );

    p.write("modes/bad/deps", "a\nb|\n");
    fails_cleanly(
        &p,
        &["a"],
        &[],
        2,
        "mdc: ./modes/bad/deps: line 2: empty mode name in `b|`",
    );
    fs::remove_file(p.path("modes/bad/deps")).unwrap();
    fs::create_dir(p.path("modes/bad/deps")).unwrap();
    fails_cleanly(&p, &["a"], &[], 2, "mdc: ./modes/bad/deps: ");
    fs::remove_dir_all(p.path("modes/bad")).unwrap();

    fs::create_dir_all(p.path("more/b")).unwrap();
    fails_cleanly(
        &p,
        &["a"],
        &[("MODES_DIR", "./modes,./more")],
        2,
        "mdc: mode `b` is defined twice: ./modes/b and ./more/b",
    );

    p.write("modes/f/env", "OK=1\nnot an assignment\n");
    fails_cleanly(
        &p,
        &["f", "up"],
        &[],
        2,
        "mdc: ./modes/f/env:2: not a valid env file",
    );
    fs::remove_file(p.path("modes/f/env")).unwrap();

    for bad in [".", "..", "/", "../elsewhere", "modes", "modes/a/svc"] {
        fails_cleanly(
            &p,
            &["--files-dir", bad, "a", "up"],
            &[],
            2,
            &format!("mdc: files dir {bad}: refusing"),
        );
    }
    fails_cleanly(
        &p,
        &["--env-file", "no/such/dir/.env", "a"],
        &[],
        2,
        "mdc: no/such/dir: ",
    );
}

#[test]
fn cycles_exit_1_and_change_nothing() {
    let p = Project::new();
    p.basic();
    p.write("modes/x/deps", "y");
    p.write("modes/y/deps", "a +x");
    fails_cleanly(
        &p,
        &["x", "up"],
        &[],
        1,
        "mdc: dependency graph contains a cycle: x -> y -> x",
    );
}

#[test]
fn help_and_version() {
    let p = Project::new();
    let out = p.mdc(&["--help"]);
    assert_status(&out, 0);
    let help = stdout(&out);
    for needle in [
        "MODES",
        "COMPOSE-ARGS",
        "--modes-dir",
        "MODES_DIR",
        "ENV_FILE",
        "MDC_FILES_DIR",
        "DOCKER_COMPOSE",
        "--resolve",
        "--dry-run",
    ] {
        assert!(help.contains(needle), "help lacks {needle}:\n{help}");
    }
    assert_status(&p.mdc(&["--version"]), 0);
    assert_status(&p.mdc(&[]), 2);
}

/// Only a regular file (or a new one) is replaced by the env file: a FIFO,
/// socket or device at `--env-file` is exit 2, left as it was, and nothing
/// else is written either.
#[test]
fn env_file_that_is_not_a_regular_file_is_refused() {
    use std::os::unix::fs::FileTypeExt;
    let p = Project::new();
    p.basic();
    let fifo = p.path("fifo.env");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let _socket = std::os::unix::net::UnixListener::bind(p.path("sock.env")).unwrap();
    let mut cases = vec![("fifo.env", "a FIFO"), ("sock.env", "a socket")];
    if common::is_root() {
        // The same device as /dev/null, made here so a regression cannot
        // replace the machine's /dev/null.
        nix::sys::stat::mknod(
            &p.path("null.env"),
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::from_bits_truncate(0o666),
            nix::sys::stat::makedev(1, 3),
        )
        .unwrap();
        cases.push(("null.env", "a character device"));
    } else {
        common::skip(
            "env_file_that_is_not_a_regular_file_is_refused (char device)",
            "needs root for mknod",
        );
    }
    for (name, kind) in cases {
        let out = p.mdc(&["--env-file", name, "a", "up"]);
        assert_status(&out, 2);
        let want =
            format!("\nmdc: {name}: is {kind}; mdc writes only to a regular file or a new one\n");
        assert!(stderr(&out).ends_with(&want), "{}", stderr(&out));
        let ft = fs::symlink_metadata(p.path(name)).unwrap().file_type();
        assert!(
            ft.is_fifo() || ft.is_socket() || ft.is_char_device(),
            "{name} was replaced"
        );
        assert!(!p.exists("stub-args"), "compose ran");
        assert!(!p.exists(".files"), "the files dir was written");
        assert!(!p.exists(".compose-empty.yaml"), "the anchor was written");
    }
    // --dry-run checks the same, so a dry run that passes also runs.
    let out = p.mdc(&["--dry-run", "--env-file", "fifo.env", "a", "up"]);
    assert_status(&out, 2);
}

/// A symlinked env file is written through: the link stays a link, the
/// file at its end gets the content (created when the link dangles), and
/// a link to something that is not a regular file is refused like the
/// thing itself, naming both.
#[test]
fn env_file_symlinks_are_followed() {
    let p = Project::new();
    p.basic();
    p.write("envs/dev.env", "OLD=1\n");
    std::os::unix::fs::symlink("envs/dev.env", p.path(".env")).unwrap();
    let out = p.mdc(&["a", "up"]);
    assert_status(&out, 7);
    assert!(
        fs::symlink_metadata(p.path(".env"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let written = p.read("envs/dev.env");
    assert!(written.contains("MDC_MODE_a=enabled\n"), "{written}");
    assert_eq!(p.read("stub-env"), written);
    let names: Vec<String> = fs::read_dir(p.path("envs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["dev.env"], "temporary files left behind");

    // A dangling link creates its target.
    fs::remove_file(p.path(".env")).unwrap();
    std::os::unix::fs::symlink(p.path("envs/new.env"), p.path(".env")).unwrap();
    assert_status(&p.mdc(&["a"]), 0);
    assert!(p.read("envs/new.env").contains("MDC_MODE_a=enabled\n"));

    // A link to a FIFO is refused, naming the link and where it ends.
    nix::unistd::mkfifo(&p.path("envs/fifo"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    fs::remove_file(p.path(".env")).unwrap();
    std::os::unix::fs::symlink("envs/fifo", p.path(".env")).unwrap();
    let out = p.mdc(&["a"]);
    assert_status(&out, 2);
    assert!(
        stderr(&out).ends_with(
            "\nmdc: .env (-> envs/fifo): is a FIFO; mdc writes only to a regular file or a new one\n"
        ),
        "{}",
        stderr(&out)
    );
    // … and so is a link to a directory.
    fs::remove_file(p.path(".env")).unwrap();
    std::os::unix::fs::symlink("envs", p.path(".env")).unwrap();
    assert_status(&p.mdc(&["a"]), 2);
}

#[test]
fn modes_mapping_to_one_variable_are_an_error() {
    let p = Project::new();
    p.basic();
    fs::create_dir_all(p.path("modes/x;y")).unwrap();
    fs::create_dir_all(p.path("modes/x=y")).unwrap();
    // Each alone is fine …
    assert_status(&p.mdc(&["x;y"]), 0);
    assert!(p.read(".env").contains("MDC_MODE_x_y=enabled\n"));
    // … both at once are not.
    fails_cleanly(
        &p,
        &["x;y,x=y", "up"],
        &[],
        2,
        "mdc: modes `x;y` and `x=y` would both set MDC_MODE_x_y; rename one of them",
    );
    fails_cleanly(
        &p,
        &["x_y,x=y", "up"],
        &[],
        2,
        "mdc: modes `x_y` and `x=y` would both set MDC_MODE_x_y",
    );
}
