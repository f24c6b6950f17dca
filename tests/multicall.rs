//! The one binary answers as four tools: by argv[0] (a link named like the
//! tool) or by its first argument.

mod common;

use std::process::Command;

fn run(cmd: &mut Command) -> (i32, String) {
    let out = cmd.output().expect("run conlink");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn each_tool_prints_its_own_help_and_version() {
    for tool in ["mdc", "wait", "copy"] {
        let (code, help) = run(Command::new(common::conlink_bin()).args([tool, "--help"]));
        assert_eq!(code, 0, "{tool} --help: {help}");
        assert!(
            help.contains(&format!("Usage: {tool}")),
            "{tool} --help: {help}"
        );
        let (code, version) = run(Command::new(common::conlink_bin()).args([tool, "--version"]));
        assert_eq!(code, 0);
        assert_eq!(
            version.trim(),
            format!("{tool} {}", env!("CARGO_PKG_VERSION"))
        );
    }
    let (code, help) = run(Command::new(common::conlink_bin()).arg("--help"));
    assert_eq!(code, 0);
    assert!(help.contains("Usage: conlink"), "{help}");
}

#[test]
fn a_link_named_like_a_tool_dispatches_to_it() {
    let dir = tempfile::tempdir().unwrap();
    for tool in ["wait", "copy", "mdc"] {
        let link = dir.path().join(tool);
        std::os::unix::fs::symlink(common::conlink_bin(), &link).unwrap();
        let (code, help) = run(Command::new(&link).arg("--help"));
        assert_eq!(code, 0, "{help}");
        assert!(help.contains(&format!("Usage: {tool}")), "{tool}: {help}");
    }
    // 2.x compose files run /app/build/conlink.js: unknown names are conlink.
    let legacy = dir.path().join("conlink.js");
    std::os::unix::fs::symlink(common::conlink_bin(), &legacy).unwrap();
    let (code, help) = run(Command::new(&legacy).arg("--help"));
    assert_eq!(code, 0);
    assert!(help.contains("Usage: conlink"), "{help}");
}

#[test]
fn bad_options_exit_2_for_every_tool() {
    for tool in ["conlink", "mdc", "wait", "copy"] {
        let (code, text) =
            run(Command::new(common::conlink_bin()).args([tool, "--no-such-option"]));
        assert_eq!(code, 2, "{tool}: {text}");
    }
}
