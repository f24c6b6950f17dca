//! `copy` as a real process: trees with symlinks, modes, dotfiles and
//! binary files compared byte for byte; templating, strictness, dry runs,
//! ownership, atomic replacement, exit codes and exec after `--`.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output};

fn copy_cmd() -> Command {
    let mut c = Command::new(common::conlink_bin());
    c.arg("copy").env_remove("VERBOSE");
    c
}

fn run(args: &[&str]) -> Output {
    copy_cmd().args(args).output().expect("run copy")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

/// A source tree with every kind of entry copy must handle.
fn sample_tree(src: &Path) {
    fs::create_dir_all(src.join("etc/app/conf.d")).unwrap();
    fs::create_dir_all(src.join(".hidden")).unwrap();
    fs::write(src.join(".env"), "DOT=1\n").unwrap();
    fs::write(src.join(".hidden/inner"), "x").unwrap();
    fs::write(src.join("etc/app/run.sh"), "#!/bin/sh\necho {{GREETING}}\n").unwrap();
    fs::set_permissions(
        src.join("etc/app/run.sh"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    fs::write(src.join("etc/app/secret"), "s3cret").unwrap();
    fs::set_permissions(
        src.join("etc/app/secret"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    fs::write(src.join("etc/app/readonly"), "ro").unwrap();
    fs::set_permissions(
        src.join("etc/app/readonly"),
        fs::Permissions::from_mode(0o444),
    )
    .unwrap();
    // Binary with NUL bytes and a token-like sequence; non-UTF-8 text too.
    let mut bin: Vec<u8> = (0u8..=255).collect();
    bin.extend_from_slice(b"{{GREETING}}\0\0");
    fs::write(src.join("etc/app/blob.bin"), &bin).unwrap();
    fs::write(src.join("etc/app/latin1.txt"), b"caf\xe9 {{GREETING}}\n").unwrap();
    fs::write(src.join("etc/app/empty"), "").unwrap();
    std::os::unix::fs::symlink("run.sh", src.join("etc/app/relative-link")).unwrap();
    std::os::unix::fs::symlink("/etc", src.join("etc/app/dir-link-outside")).unwrap();
    std::os::unix::fs::symlink("does/not/exist", src.join("dangling")).unwrap();
}

/// Every entry of `src` exists in `dst` identically (content, kind, mode,
/// symlink target).
fn assert_same_tree(src: &Path, dst: &Path) {
    for e in walkdir::WalkDir::new(src).min_depth(1) {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(src).unwrap();
        let d = dst.join(rel);
        let (sm, dm) = (
            fs::symlink_metadata(e.path()).unwrap(),
            fs::symlink_metadata(&d).unwrap(),
        );
        assert_eq!(sm.file_type(), dm.file_type(), "{rel:?}");
        if sm.file_type().is_symlink() {
            assert_eq!(
                fs::read_link(e.path()).unwrap(),
                fs::read_link(&d).unwrap(),
                "{rel:?}"
            );
        } else {
            assert_eq!(mode(e.path()), mode(&d), "mode of {rel:?}");
            if sm.is_file() {
                assert_eq!(
                    fs::read(e.path()).unwrap(),
                    fs::read(&d).unwrap(),
                    "content of {rel:?}"
                );
            }
        }
    }
}

#[test]
fn plain_copy_reproduces_the_tree_exactly() {
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    sample_tree(src.path());
    let o = run(&[s(src.path()), s(dst.path())]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_same_tree(src.path(), dst.path());
    // The symlink to a directory outside SRC was copied, not followed.
    assert!(
        fs::symlink_metadata(dst.path().join("etc/app/dir-link-outside"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    // 8 files: nothing under /etc was copied through the link.
    assert_eq!(
        stderr(&o).trim(),
        "copy: copied 8 files, 3 symlinks, 4 new directories"
    );
}

#[test]
fn template_mode_replaces_set_variables_only_in_text_files() {
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    sample_tree(src.path());
    fs::write(
        src.path().join("t.conf"),
        "a={{GREETING}} b={{UNSET_VAR_XYZ}} c={{UNSET_VAR_XYZ:-dflt}} d={{{GREETING}}}\n",
    )
    .unwrap();
    let o = copy_cmd()
        .env("GREETING", "héllo & /slashes\\")
        .env_remove("UNSET_VAR_XYZ")
        .args(["-T", s(src.path()), s(dst.path())])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(dst.path().join("t.conf")).unwrap(),
        "a=héllo & /slashes\\ b={{UNSET_VAR_XYZ}} c=dflt d={héllo & /slashes\\}\n"
    );
    assert_eq!(
        fs::read_to_string(dst.path().join("etc/app/run.sh")).unwrap(),
        "#!/bin/sh\necho héllo & /slashes\\\n"
    );
    assert_eq!(
        mode(&dst.path().join("etc/app/run.sh")),
        0o755,
        "templated files keep their mode"
    );
    // Binary and non-UTF-8 files: byte for byte, tokens untouched.
    for f in ["etc/app/blob.bin", "etc/app/latin1.txt"] {
        assert_eq!(
            fs::read(src.path().join(f)).unwrap(),
            fs::read(dst.path().join(f)).unwrap(),
            "{f}"
        );
    }
    assert!(
        stderr(&o).contains("copied 9 files, templated 2 (4 replacements)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn strict_fails_listing_every_unset_token_and_writes_nothing() {
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    fs::write(src.path().join("a"), "ok {{HOME}}\n\n{{MISSING_ONE_XYZ}}\n").unwrap();
    fs::write(
        src.path().join("b"),
        "{{MISSING_TWO_XYZ}} {{MISSING_TWO_XYZ:-fine}}",
    )
    .unwrap();
    let o = copy_cmd()
        .args(["-T", "--strict", s(src.path()), s(dst.path()), "--", "true"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "{}:3: {{{{MISSING_ONE_XYZ}}}} is not set",
            src.path().join("a").display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{}:1: {{{{MISSING_TWO_XYZ}}}} is not set",
            src.path().join("b").display()
        )),
        "{err}"
    );
    assert_eq!(
        fs::read_dir(dst.path()).unwrap().count(),
        0,
        "nothing may be written"
    );
}

#[test]
fn dry_run_lists_writes_and_tokens_and_changes_nothing() {
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    fs::create_dir(src.path().join("d")).unwrap();
    fs::write(src.path().join("d/t"), "{{DRY_VAR}} {{NOPE_XYZ:-x}}").unwrap();
    std::os::unix::fs::symlink("t", src.path().join("d/l")).unwrap();
    let o = copy_cmd()
        .env("DRY_VAR", "v")
        .args([
            "-T",
            "--dry-run",
            s(src.path()),
            s(dst.path()),
            "--",
            "false",
        ])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "dry run must not exec the command: {}",
        stderr(&o)
    );
    let out = String::from_utf8_lossy(&o.stdout);
    let d = dst.path().display();
    assert!(out.contains(&format!("mkdir {d}/d\n")), "{out}");
    assert!(
        out.contains(&format!(
            "write {d}/d/t (templated, 2 replacements: DRY_VAR, NOPE_XYZ (default))"
        )),
        "{out}"
    );
    assert!(out.contains(&format!("symlink {d}/d/l -> t")), "{out}");
    assert!(out.contains("would exec: false"), "{out}");
    assert_eq!(fs::read_dir(dst.path()).unwrap().count(), 0);
}

#[test]
fn verbose_lists_each_entry_and_quiet_prints_nothing() {
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    sample_tree(src.path());
    let o = run(&["-v", s(src.path()), s(dst.path())]);
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "copy: copied {}/etc/app/secret",
            dst.path().display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "copy: symlink {}/dangling -> does/not/exist",
            dst.path().display()
        )),
        "{err}"
    );
    let o = run(&["-q", s(src.path()), s(dst.path())]);
    assert_eq!((o.status.code(), stderr(&o)), (Some(0), String::new()));
}

#[test]
fn tera_mode_renders_env_loops_and_includes() {
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    fs::create_dir(src.path().join("inc")).unwrap();
    fs::write(src.path().join("inc/head"), "# {{ env.TERA_NAME | upper }}").unwrap();
    fs::write(
        src.path().join("app.conf"),
        "{% include \"inc/head\" %}\n{% for p in env.TERA_PORTS | split(pat=\",\") %}port {{ p }}\n{% endfor %}{% if env.TERA_NAME == \"web\" %}web{% endif %}",
    )
    .unwrap();
    fs::write(src.path().join("plain"), "no {tags} here").unwrap();
    fs::write(src.path().join("bin"), b"\0{{ env.TERA_NAME }}").unwrap();
    let o = copy_cmd()
        .env("TERA_NAME", "web")
        .env("TERA_PORTS", "80,443")
        .args(["--tera", s(src.path()), s(dst.path())])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(dst.path().join("app.conf")).unwrap(),
        "# WEB\nport 80\nport 443\nweb"
    );
    assert_eq!(
        fs::read(dst.path().join("bin")).unwrap(),
        b"\0{{ env.TERA_NAME }}"
    );
    assert_eq!(
        fs::read_to_string(dst.path().join("plain")).unwrap(),
        "no {tags} here"
    );
}

#[test]
fn tera_errors_name_the_file_and_line_and_write_nothing() {
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    fs::write(src.path().join("good"), "fine").unwrap();
    fs::write(
        src.path().join("bad.conf"),
        "one\ntwo {{ env.NOT_SET_TERA_XYZ }}\n",
    )
    .unwrap();
    let o = copy_cmd()
        .env_remove("NOT_SET_TERA_XYZ")
        .args(["--tera", s(src.path()), s(dst.path())])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("bad.conf:2:"), "{}", stderr(&o));
    assert_eq!(fs::read_dir(dst.path()).unwrap().count(), 0);
}

#[test]
fn existing_files_are_replaced_by_rename_not_rewritten_in_place() {
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    fs::write(src.path().join("f"), "new").unwrap();
    fs::write(dst.path().join("f"), "old").unwrap();
    // A hard link to the old file keeps the old inode: if copy wrote in
    // place, the link would show the new content.
    fs::hard_link(dst.path().join("f"), dst.path().join("old-link")).unwrap();
    fs::create_dir(dst.path().join("keep")).unwrap();
    let o = run(&[s(src.path()), s(dst.path())]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(dst.path().join("f")).unwrap(), "new");
    assert_eq!(
        fs::read_to_string(dst.path().join("old-link")).unwrap(),
        "old"
    );
    let names: Vec<_> = fs::read_dir(dst.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 3, "no temporary files left: {names:?}");
}

#[test]
fn a_reader_never_sees_half_a_file() {
    let (src_a, src_b, dst) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let (a, b) = (vec![b'a'; 1 << 20], vec![b'b'; 1 << 20]);
    fs::write(src_a.path().join("big"), &a).unwrap();
    fs::write(src_b.path().join("big"), &b).unwrap();
    fs::write(dst.path().join("big"), &a).unwrap();
    let target = dst.path().join("big");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (stop, target) = (stop.clone(), target.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let got = fs::read(&target).unwrap();
                assert_eq!(got.len(), 1 << 20, "short read");
                assert!(got.iter().all(|c| *c == got[0]), "mixed content");
                reads += 1;
            }
            reads
        })
    };
    for i in 0..20 {
        let src = if i % 2 == 0 {
            src_b.path()
        } else {
            src_a.path()
        };
        assert_eq!(run(&["-q", s(src), s(dst.path())]).status.code(), Some(0));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(reader.join().expect("reader saw a partial file") > 0);
}

#[test]
fn a_symlinked_directory_in_dst_is_written_through() {
    // Overlaying onto / where /lib -> usr/lib must land in usr/lib.
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    fs::create_dir(src.path().join("lib")).unwrap();
    fs::write(src.path().join("lib/x.so"), "so").unwrap();
    fs::create_dir_all(dst.path().join("usr/lib")).unwrap();
    std::os::unix::fs::symlink("usr/lib", dst.path().join("lib")).unwrap();
    let o = run(&[s(src.path()), s(dst.path())]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(dst.path().join("usr/lib/x.so")).unwrap(),
        "so"
    );
    assert!(
        fs::symlink_metadata(dst.path().join("lib"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn a_file_never_replaces_a_directory() {
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    fs::write(src.path().join("conf"), "x").unwrap();
    fs::create_dir(dst.path().join("conf")).unwrap();
    let o = run(&[s(src.path()), s(dst.path())]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(&format!("{}", dst.path().join("conf").display())),
        "{}",
        stderr(&o)
    );
    assert!(dst.path().join("conf").is_dir());
}

#[test]
fn chmod_sets_file_bits_octal_or_symbolic() {
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    fs::write(src.path().join("ro"), "").unwrap();
    fs::set_permissions(src.path().join("ro"), fs::Permissions::from_mode(0o444)).unwrap();
    fs::write(src.path().join("x"), "").unwrap();
    fs::set_permissions(src.path().join("x"), fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(
        run(&["--chmod", "u+w,go-rwx", s(src.path()), s(dst.path())])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        (mode(&dst.path().join("ro")), mode(&dst.path().join("x"))),
        (0o600, 0o700)
    );
    assert_eq!(
        run(&["--chmod", "0640", s(src.path()), s(dst.path())])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        (mode(&dst.path().join("ro")), mode(&dst.path().join("x"))),
        (0o640, 0o640)
    );
}

#[test]
fn owner_is_preserved_as_root_and_set_by_chown() {
    if !common::require_root("owner_is_preserved_as_root_and_set_by_chown") {
        return;
    }
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    fs::create_dir(src.path().join("d")).unwrap();
    fs::write(src.path().join("d/f"), "").unwrap();
    std::os::unix::fs::symlink("f", src.path().join("d/l")).unwrap();
    for p in ["d", "d/f"] {
        std::os::unix::fs::chown(src.path().join(p), Some(4321), Some(4322)).unwrap();
    }
    std::os::unix::fs::lchown(src.path().join("d/l"), Some(4321), Some(4322)).unwrap();
    assert_eq!(run(&[s(src.path()), s(dst.path())]).status.code(), Some(0));
    for p in ["d", "d/f", "d/l"] {
        let m = fs::symlink_metadata(dst.path().join(p)).unwrap();
        assert_eq!((m.uid(), m.gid()), (4321, 4322), "{p}");
    }
    let dst2 = tempfile::tempdir().unwrap();
    assert_eq!(
        run(&["--chown", "1234:5678", s(src.path()), s(dst2.path())])
            .status
            .code(),
        Some(0)
    );
    for p in ["d", "d/f", "d/l"] {
        let m = fs::symlink_metadata(dst2.path().join(p)).unwrap();
        assert_eq!((m.uid(), m.gid()), (1234, 5678), "{p}");
    }
}

#[test]
fn not_a_directory_and_bad_options_exit_2_naming_the_path() {
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("file");
    fs::write(&file, "").unwrap();
    let o = run(&[s(&file), s(d.path())]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(&format!("not a directory: {}", file.display())),
        "{}",
        stderr(&o)
    );
    let o = run(&[s(d.path()), "/nonexistent-dst-xyz"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent-dst-xyz"));
    for args in [
        &["--bogus", "a", "b"][..],
        &["only-one"],
        &["--chown", "x:y:z:nobody-xyz", "a", "b"],
        &["--strict", "a", "b"],
    ] {
        assert_eq!(run(args).status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn exec_after_copy_passes_the_exit_code_and_127_or_126() {
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    fs::write(src.path().join("f"), "").unwrap();
    let o = run(&[
        "-q",
        s(src.path()),
        s(dst.path()),
        "--",
        "sh",
        "-c",
        "test -e f && exit 5",
    ]);
    // The command runs in copy's working dir, not DST; f is not there.
    assert_eq!(o.status.code(), Some(1));
    let o = copy_cmd()
        .current_dir(dst.path())
        .args([
            "-q",
            s(src.path()),
            s(dst.path()),
            "--",
            "sh",
            "-c",
            "test -e f && exit 5",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(5));
    let o = run(&[
        "-q",
        s(src.path()),
        s(dst.path()),
        "--",
        "no-such-cmd-after-copy",
    ]);
    assert_eq!(o.status.code(), Some(127));
    assert_eq!(
        stderr(&o),
        "copy: command not found: no-such-cmd-after-copy\n"
    );
    // A file that is there but not executable: 126, saying so.
    let o = run(&[
        "-q",
        s(src.path()),
        s(dst.path()),
        "--",
        s(&dst.path().join("f")),
    ]);
    assert_eq!(o.status.code(), Some(126));
    assert_eq!(
        stderr(&o),
        format!(
            "copy: cannot execute {}: permission denied: not executable\n",
            dst.path().join("f").display()
        )
    );
    // 2.x also accepted the command without `--`.
    let o = run(&["-q", s(src.path()), s(dst.path()), "sh", "-c", "exit 4"]);
    assert_eq!(o.status.code(), Some(4));
}

#[test]
fn chained_copy_then_wait_then_command() {
    // The 2.x pattern: copy -T /files / -- wait -f … -- cmd
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    fs::write(src.path().join("ready"), "{{CHAIN_VAL}}").unwrap();
    let bin = common::conlink_bin();
    let target = dst.path().join("ready");
    let o = copy_cmd()
        .env("CHAIN_VAL", "42")
        .args(["-T", "-q", s(src.path()), s(dst.path()), "--"])
        .arg(&bin)
        .args([
            "wait",
            "-q",
            "--timeout",
            "5",
            "-f",
            s(&target),
            "--",
            "cat",
            s(&target),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "42");
}

/// Every entry under `dir` with its kind, mode and content or link target,
/// in name order: equal snapshots mean an unchanged tree.
fn snapshot(dir: &Path) -> Vec<String> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .map(|e| {
            let e = e.unwrap();
            let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
            let m = fs::symlink_metadata(e.path()).unwrap();
            let what = if m.file_type().is_symlink() {
                format!("-> {}", fs::read_link(e.path()).unwrap().display())
            } else if m.is_dir() {
                "dir".to_string()
            } else {
                format!(
                    "{:?}",
                    String::from_utf8_lossy(&fs::read(e.path()).unwrap())
                )
            };
            format!("{rel} {:o} {what}", m.permissions().mode() & 0o7777)
        })
        .collect()
}

/// Run copy as `nobody` when we are root (root reads and writes through
/// any permission bits, so the failures below need an ordinary user), after
/// making SRC readable and DST writable for it; as ourselves otherwise.
fn run_unprivileged(src: &Path, dst: &Path) -> Output {
    let mut cmd = copy_cmd();
    if common::is_root() {
        use std::os::unix::process::CommandExt;
        for e in walkdir::WalkDir::new(src) {
            let e = e.unwrap();
            let m = fs::symlink_metadata(e.path()).unwrap();
            if m.is_dir() {
                fs::set_permissions(e.path(), fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
        for e in walkdir::WalkDir::new(dst) {
            std::os::unix::fs::lchown(e.unwrap().path(), Some(65534), Some(65534)).unwrap();
        }
        cmd.uid(65534).gid(65534);
    }
    cmd.args([s(src), s(dst)]).output().expect("run copy")
}

/// A source tree whose first entries would land before the failing one:
/// an existing file to replace, a new directory, a new top-level file.
fn tree_before_the_failure(src: &Path, dst: &Path) {
    fs::create_dir_all(src.join("a")).unwrap();
    fs::write(src.join("a/one"), "new one").unwrap();
    fs::create_dir_all(src.join("b/deeper")).unwrap();
    fs::write(src.join("b/deeper/two"), "two").unwrap();
    std::os::unix::fs::symlink("deeper/two", src.join("b/link")).unwrap();
    fs::write(src.join("c.txt"), "c").unwrap();
    fs::create_dir_all(dst.join("a")).unwrap();
    fs::write(dst.join("a/one"), "old one").unwrap();
    fs::write(dst.join("keep"), "kept").unwrap();
    std::os::unix::fs::symlink("a", dst.join("l")).unwrap();
}

#[track_caller]
fn assert_failed_unchanged(o: &Output, before: &[String], dst: &Path, msg: &str) {
    assert_eq!(o.status.code(), Some(1), "{}", stderr(o));
    assert!(
        stderr(o).contains(msg),
        "expected {msg:?} in {:?}",
        stderr(o)
    );
    assert_eq!(snapshot(dst), before, "DST changed: {}", stderr(o));
}

#[test]
fn a_file_where_a_directory_should_be_leaves_dst_as_it_was() {
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    tree_before_the_failure(src.path(), dst.path());
    fs::create_dir_all(src.path().join("z/sub")).unwrap();
    fs::write(src.path().join("z/sub/file"), "x").unwrap();
    fs::create_dir(dst.path().join("z")).unwrap();
    fs::write(dst.path().join("z/sub"), "a file, not a directory").unwrap();
    let before = snapshot(dst.path());
    let o = run(&[s(src.path()), s(dst.path())]);
    assert_failed_unchanged(
        &o,
        &before,
        dst.path(),
        &format!(
            "copy: writing {}: exists and is not a directory",
            dst.path().join("z/sub").display()
        ),
    );
    // With the obstacle gone the same copy goes through.
    fs::remove_file(dst.path().join("z/sub")).unwrap();
    let o = run(&["-q", s(src.path()), s(dst.path())]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_same_tree(src.path(), dst.path());
}

#[test]
fn an_unreadable_source_file_leaves_dst_as_it_was() {
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    tree_before_the_failure(src.path(), dst.path());
    fs::write(src.path().join("zz-secret"), "no").unwrap();
    fs::set_permissions(
        src.path().join("zz-secret"),
        fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    let before = snapshot(dst.path());
    let o = run_unprivileged(src.path(), dst.path());
    assert_failed_unchanged(
        &o,
        &before,
        dst.path(),
        &format!(
            "copy: reading {}: Permission denied",
            src.path().join("zz-secret").display()
        ),
    );
}

#[test]
fn a_read_only_directory_in_dst_leaves_dst_as_it_was() {
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    tree_before_the_failure(src.path(), dst.path());
    fs::create_dir(src.path().join("ro")).unwrap();
    fs::write(src.path().join("ro/new"), "x").unwrap();
    fs::write(src.path().join("zz-after"), "after").unwrap();
    fs::create_dir(dst.path().join("ro")).unwrap();
    fs::write(dst.path().join("ro/old"), "old").unwrap();
    fs::set_permissions(dst.path().join("ro"), fs::Permissions::from_mode(0o555)).unwrap();
    let before = snapshot(dst.path());
    let o = run_unprivileged(src.path(), dst.path());
    assert_failed_unchanged(
        &o,
        &before,
        dst.path(),
        &format!(
            "copy: writing {}: Permission denied",
            dst.path().join("ro/new").display()
        ),
    );
    fs::set_permissions(dst.path().join("ro"), fs::Permissions::from_mode(0o755)).unwrap();
}

/// `--tera` with SRC holding these files; DST must stay empty on failure.
fn tera_fails(files: &[(&str, &str)], extra: &[&str], env: &[(&str, &str)]) -> (Output, String) {
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for (name, text) in files {
        let path = src.path().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    fs::write(src.path().join("plain"), "copied only when all is well").unwrap();
    let o = copy_cmd()
        .env_remove("COPY_MAX_RENDER_SIZE")
        .envs(env.iter().copied())
        .arg("--tera")
        .args(extra)
        .args([s(src.path()), s(dst.path())])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(fs::read_dir(dst.path()).unwrap().count(), 0, "DST written");
    let err = stderr(&o).replace(&format!("{}/", src.path().display()), "SRC/");
    (o, err)
}

#[test]
fn tera_include_cycles_are_an_error_not_a_crash() {
    let (_, err) = tera_fails(&[("self.conf", "a{% include \"self.conf\" %}")], &[], &[]);
    assert_eq!(
        err,
        "copy: SRC/self.conf: includes itself (through include, import or extends): self.conf -> self.conf\n\
         copy: 1 template problem(s); nothing was written\n"
    );
    let (_, err) = tera_fails(
        &[
            ("a.conf", "{% include \"inc/b\" %}"),
            ("inc/b", "{% if true %}{% include \"a.conf\" %}{% endif %}"),
        ],
        &[],
        &[],
    );
    assert!(
        err.starts_with(
            "copy: SRC/a.conf: includes itself (through include, import or extends): a.conf -> inc/b -> a.conf\n"
        ),
        "{err}"
    );
}

/// The case: 100 KB of template that renders to 1.6 GB stops at
/// the limit (64 MiB by default) instead of building it all.
#[test]
fn rendered_size_is_bounded_by_default_and_configurably() {
    let big = format!(
        "{{% for i in range(end=16000) %}}{}{{% endfor %}}",
        "x".repeat(100_000)
    );
    let (_, err) = tera_fails(&[("big.conf", &big)], &[], &[]);
    assert!(
        err.starts_with(
            "copy: SRC/big.conf: renders to more than 64 MiB, the limit per file (--max-render-size, COPY_MAX_RENDER_SIZE)\n"
        ),
        "{err}"
    );
    let (_, err) = tera_fails(&[("big.conf", &big)], &["--max-render-size", "100k"], &[]);
    assert!(err.contains("renders to more than 100 KiB"), "{err}");
    let (_, err) = tera_fails(
        &[("big.conf", &big)],
        &[],
        &[("COPY_MAX_RENDER_SIZE", "1M")],
    );
    assert!(err.contains("renders to more than 1 MiB"), "{err}");

    // -T too: many tokens naming one long variable.
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    fs::write(src.path().join("t"), "{{LONG_VAR_XYZ}}".repeat(100)).unwrap();
    let o = copy_cmd()
        .env("LONG_VAR_XYZ", "v".repeat(10_000))
        .args([
            "-T",
            "--max-render-size",
            "1M",
            s(src.path()),
            s(dst.path()),
        ])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "1 MB is under 1 MiB: {}",
        stderr(&o)
    );
    let dst2 = tempfile::tempdir().unwrap();
    let o = copy_cmd()
        .env("LONG_VAR_XYZ", "v".repeat(10_000))
        .args([
            "-T",
            "--max-render-size",
            "900k",
            s(src.path()),
            s(dst2.path()),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "copy: {}: renders to more than 900 KiB",
            src.path().join("t").display()
        )),
        "{}",
        stderr(&o)
    );
    assert_eq!(fs::read_dir(dst2.path()).unwrap().count(), 0);

    for bad in ["0", "lots", "1.5M"] {
        let o = run(&["--max-render-size", bad, s(src.path()), s(dst.path())]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", stderr(&o));
    }
}

/// What Tera builds in memory before anything is written (a macro's
/// output, strings doubled with `~`) and macros that call themselves for
/// ever end the rendering child, not copy: exit 1 naming the template.
#[test]
fn tera_blowups_end_the_renderer_not_copy() {
    let macro_blowup = format!(
        "{{% macro m() %}}{{% for i in range(end=16000) %}}{}{{% endfor %}}{{% endmacro m %}}{{{{ self::m() }}}}",
        "x".repeat(100_000)
    );
    let (_, err) = tera_fails(
        &[("m.conf", &macro_blowup)],
        &["--max-render-size", "1M"],
        &[],
    );
    assert!(
        err.starts_with("copy: SRC/m.conf: rendering failed: the renderer was killed by signal 6 (SIGABRT) (memory allocation of "),
        "{err}"
    );
    assert!(
        err.contains("The renderer may use 261 MiB of memory"),
        "{err}"
    );

    let doubling = "{% set_global s = \"xxxxxxxx\" %}{% for i in range(end=60) %}{% set_global s = s ~ s %}{% endfor %}{{ s }}";
    let (_, err) = tera_fails(&[("d.conf", doubling)], &["--max-render-size", "1M"], &[]);
    assert!(
        err.starts_with("copy: SRC/d.conf: rendering failed: "),
        "{err}"
    );

    let forever = "{% macro f(n) %}{{ self::f(n=n+1) }}{% endmacro f %}{{ self::f(n=0) }}";
    let (_, err) = tera_fails(&[("f.conf", forever)], &[], &[]);
    assert!(
        err.starts_with("copy: SRC/f.conf: rendering failed: the renderer was killed by signal"),
        "{err}"
    );
}
