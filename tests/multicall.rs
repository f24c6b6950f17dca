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
    // 2.x's /utils/echo, for images without one: arguments as given.
    let echo = dir.path().join("echo");
    std::os::unix::fs::symlink(common::conlink_bin(), &echo).unwrap();
    let out = Command::new(&echo)
        .args(["'wait finished'", "-n", "--help", ""])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, b"'wait finished' -n --help \n");
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

#[test]
fn conlink_help_names_the_tools_and_hands_help_to_them() {
    let (code, help) = run(Command::new(common::conlink_bin()).arg("--help"));
    assert_eq!(code, 0);
    let commands = help
        .split("Commands:")
        .nth(1)
        .and_then(|rest| rest.split("Options:").next())
        .unwrap_or_else(|| panic!("no Commands list: {help}"));
    for tool in ["graph", "completions", "mdc", "wait", "copy"] {
        assert!(
            commands.lines().any(|l| l.trim_start().starts_with(tool)),
            "{tool} missing from the Commands list:\n{commands}"
        );
    }
    // `conlink help TOOL` is the tool's own help, not a placeholder's.
    for tool in ["mdc", "wait", "copy"] {
        let (code, via_help) = run(Command::new(common::conlink_bin()).args(["help", tool]));
        let (_, direct) = run(Command::new(common::conlink_bin()).args([tool, "--help"]));
        assert_eq!(code, 0, "help {tool}: {via_help}");
        assert_eq!(via_help, direct, "conlink help {tool}");
    }
    let (code, graph) = run(Command::new(common::conlink_bin()).args(["help", "graph"]));
    assert_eq!(code, 0);
    assert!(graph.contains("Usage: conlink graph"), "{graph}");
    // Options before a tool's name would be lost: refused, not ignored.
    let (code, text) = run(Command::new(common::conlink_bin()).args(["-v", "wait", "-i", "x"]));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("conlink wait"), "{text}");
}

#[test]
fn help_texts_show_examples_and_only_options_that_apply() {
    let help = |args: &[&str]| {
        let (code, text) = run(Command::new(common::conlink_bin()).args(args));
        assert_eq!(code, 0, "{args:?}: {text}");
        text
    };
    for args in [
        &["mdc", "--help"][..],
        &["graph", "--help"],
        &["completions", "--help"],
        &["--help"],
    ] {
        assert!(help(args).contains("Examples:"), "{args:?} has no examples");
    }
    // graph: the inputs and what is drawn, nothing that only the daemon uses.
    let graph = help(&["graph", "--help"]);
    for shown in [
        "--compose-file",
        "--network-file",
        "--default-bridge-mode",
        "--format",
        "--output",
    ] {
        assert!(
            graph.contains(shown),
            "graph --help lacks {shown}:\n{graph}"
        );
    }
    for hidden in [
        "--default-mtu",
        "--keep-veth-offload",
        "--verbose",
        "--docker-socket",
    ] {
        assert!(
            !graph.contains(hidden),
            "graph --help lists {hidden}:\n{graph}"
        );
    }
    let completions = help(&["completions", "--help"]);
    for hidden in [
        "--compose-file",
        "--network-file",
        "--default-bridge-mode",
        "--default-mtu",
        "--verbose",
    ] {
        assert!(
            !completions.contains(hidden),
            "completions --help lists {hidden}:\n{completions}"
        );
    }
}

#[test]
fn graph_takes_config_options_before_or_after_its_name() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/config/embedded/compose.yaml"
    );
    for args in [
        vec![
            "graph",
            "--compose-file",
            fixture,
            "--default-bridge-mode",
            "linux",
        ],
        vec![
            "--compose-file",
            fixture,
            "--default-bridge-mode",
            "linux",
            "graph",
        ],
    ] {
        let out = Command::new(common::conlink_bin())
            .args(&args)
            .env_remove("CONLINK_BRIDGE_MODE")
            .output()
            .unwrap();
        let dot = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(dot.starts_with("graph conlink {"), "{args:?}: {dot}");
        assert!(
            dot.contains("(linux)"),
            "{args:?}: bridge mode not drawn:\n{dot}"
        );
    }
}
