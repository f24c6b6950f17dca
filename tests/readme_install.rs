//! The README's install lines, run as written: the shell block between
//! `<!-- install:begin -->` and `<!-- install:end -->`, with HOME set to a
//! temporary directory and the working directory a stand-in repository
//! whose `target/release/conlink` is the binary under test. Afterwards the
//! four tools must answer by name from `~/.local/bin` and the completions
//! must be in place. Also checks that the README names everything
//! `tools/test` installs system-wide.

mod common;

use std::path::Path;
use std::process::Command;

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("read README.md")
}

/// The fenced shell code between the install markers.
fn install_block(readme: &str) -> String {
    let (_, rest) = readme
        .split_once("<!-- install:begin -->")
        .expect("README.md has no <!-- install:begin --> marker");
    let (block, _) = rest
        .split_once("<!-- install:end -->")
        .expect("README.md has no <!-- install:end --> marker");
    let code = block
        .split_once("```sh\n")
        .and_then(|(_, c)| c.split_once("```"))
        .map(|(c, _)| c)
        .expect("no ```sh block between the install markers");
    assert!(!code.trim().is_empty(), "empty install block");
    code.to_owned()
}

#[test]
fn readme_install_lines_work_in_a_temporary_home() {
    let code = install_block(&readme());
    let tmp = tempfile::tempdir().unwrap();
    let (home, repo) = (tmp.path().join("home"), tmp.path().join("repo"));
    std::fs::create_dir_all(repo.join("target/release")).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    std::fs::copy(common::conlink_bin(), repo.join("target/release/conlink")).unwrap();

    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &code])
        .current_dir(&repo)
        .env("HOME", &home)
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "the README's install lines failed:\n{code}\n--- stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Each tool by its bare name, found on PATH as a user would run it.
    let bin = home.join(".local/bin");
    for tool in ["conlink", "mdc", "wait", "copy"] {
        let out = Command::new(tool)
            .arg("--version")
            .env("PATH", &bin)
            .output()
            .unwrap_or_else(|e| panic!("{tool} is not on PATH after the install: {e}"));
        assert!(out.status.success(), "{tool} --version");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("{tool} {}", env!("CARGO_PKG_VERSION")),
            "{tool} did not answer as itself"
        );
        let completion = home
            .join(".local/share/bash-completion/completions")
            .join(tool);
        let text = std::fs::read_to_string(&completion)
            .unwrap_or_else(|e| panic!("{}: {e}", completion.display()));
        assert!(
            text.contains(&format!("complete -F _{tool}")),
            "{tool}'s completion file is not a bash completion for it"
        );
    }
}

#[test]
fn readme_says_where_the_binary_is_and_what_tools_test_installs() {
    let readme = readme();
    for path in [
        "target/release/conlink",
        "target/x86_64-unknown-linux-gnu/release/conlink",
    ] {
        assert!(readme.contains(path), "README.md does not mention {path}");
    }
    let script =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/test")).unwrap();
    let packages = script
        .lines()
        .find_map(|l| l.strip_prefix("SYSTEM_PACKAGES=\""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("tools/test defines SYSTEM_PACKAGES=\"…\"");
    for package in packages
        .split_whitespace()
        .chain(["docker.io", "docker-compose"])
    {
        assert!(
            readme.contains(package),
            "tools/test installs {package} but README.md does not say so"
        );
    }
}
