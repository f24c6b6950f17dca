//! The shell completions in completions/ must match what the CLI generates.
//! Regenerate with: UPDATE_COMPLETIONS=1 cargo test --test completions

use std::path::PathBuf;

use clap_complete::Shell;
use conlink::cli::{ToolName, completions};

fn file_name(shell: Shell, tool: &str) -> String {
    match shell {
        Shell::Bash => format!("{tool}.bash"),
        Shell::Zsh => format!("_{tool}"),
        Shell::Fish => format!("{tool}.fish"),
        _ => unreachable!("only bash, zsh and fish are shipped"),
    }
}

#[test]
fn completions_are_fresh() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("completions");
    let update = std::env::var_os("UPDATE_COMPLETIONS").is_some();
    let mut stale = Vec::new();
    for (tool, name) in [
        (ToolName::Conlink, "conlink"),
        (ToolName::Mdc, "mdc"),
        (ToolName::Wait, "wait"),
        (ToolName::Copy, "copy"),
    ] {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let path = dir.join(file_name(shell, name));
            let fresh = completions(shell, tool);
            if update {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &fresh).unwrap();
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(fresh.as_str()) {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale completions (run UPDATE_COMPLETIONS=1 cargo test --test completions): {stale:?}"
    );
}
