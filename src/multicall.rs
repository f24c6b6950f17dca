//! Busybox-style dispatch: the basename of argv[0] selects the tool, and
//! `conlink <tool> …` does the same through the first argument
//! (`conlink help <tool>` is `<tool> --help`).

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::ExitCode;

/// The four tools this binary contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Conlink,
    Mdc,
    Wait,
    Copy,
}

impl Tool {
    pub const ALL: [Tool; 4] = [Tool::Conlink, Tool::Mdc, Tool::Wait, Tool::Copy];

    pub fn name(self) -> &'static str {
        match self {
            Tool::Conlink => "conlink",
            Tool::Mdc => "mdc",
            Tool::Wait => "wait",
            Tool::Copy => "copy",
        }
    }

    /// The tool a program name stands for; `None` for names that are not ours.
    fn from_name(name: &OsStr) -> Option<Tool> {
        Tool::ALL.into_iter().find(|t| OsStr::new(t.name()) == name)
    }
}

/// Decide which tool runs and with which argv (argv[0] becomes the tool name,
/// so clap's usage lines read `wait …` whichever way it was invoked).
///
/// Any program name we do not know (e.g. `/app/build/conlink.js` from 2.x
/// compose files, or a renamed binary) falls back to `conlink`.
pub fn select(mut argv: Vec<OsString>) -> (Tool, Vec<OsString>) {
    let invoked = argv
        .first()
        .and_then(|a0| Path::new(a0).file_name())
        .and_then(Tool::from_name)
        .unwrap_or(Tool::Conlink);
    if invoked == Tool::Conlink {
        if let Some(sub) = argv.get(1).and_then(|a| Tool::from_name(a)) {
            if sub != Tool::Conlink {
                argv.remove(0);
                return (sub, argv);
            }
        }
        // clap's own `help` knows only conlink's subcommands; the tools
        // parse their own command lines, so their help is theirs to print.
        if argv.len() == 3 && argv[1] == "help" {
            if let Some(sub) = Tool::from_name(&argv[2]).filter(|t| *t != Tool::Conlink) {
                return (sub, vec![OsString::from(sub.name()), "--help".into()]);
            }
        }
    }
    if argv.is_empty() {
        argv.push(OsString::from(invoked.name()));
    } else {
        argv[0] = OsString::from(invoked.name());
    }
    (invoked, argv)
}

/// Run a tool to completion and turn its outcome into the process exit code.
pub fn run(tool: Tool, args: Vec<OsString>) -> ExitCode {
    match tool {
        Tool::Conlink => crate::cli::main(args),
        Tool::Mdc => crate::mdc::main(args),
        Tool::Wait => crate::wait::main(args),
        Tool::Copy => crate::copy::main(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(args: &[&str]) -> (Tool, Vec<String>) {
        let (t, a) = select(args.iter().map(OsString::from).collect());
        (t, a.into_iter().map(|s| s.into_string().unwrap()).collect())
    }

    #[test]
    fn argv0_basename_selects_the_tool() {
        assert_eq!(
            sel(&["/utils/wait", "-f", "x"]),
            (Tool::Wait, vec!["wait".into(), "-f".into(), "x".into()])
        );
        assert_eq!(sel(&["copy"]).0, Tool::Copy);
        assert_eq!(sel(&["./mdc", "a"]).0, Tool::Mdc);
        assert_eq!(sel(&["/conlink"]).0, Tool::Conlink);
    }

    #[test]
    fn first_argument_selects_the_tool_for_conlink() {
        assert_eq!(
            sel(&["/conlink", "wait", "-i", "eth0"]),
            (Tool::Wait, vec!["wait".into(), "-i".into(), "eth0".into()])
        );
        assert_eq!(sel(&["conlink", "mdc", "--help"]).0, Tool::Mdc);
        // Only for conlink itself: `wait copy` waits for nothing named copy.
        assert_eq!(sel(&["wait", "copy"]).0, Tool::Wait);
    }

    #[test]
    fn help_names_a_tool() {
        assert_eq!(
            sel(&["/conlink", "help", "wait"]),
            (Tool::Wait, vec!["wait".into(), "--help".into()])
        );
        assert_eq!(sel(&["conlink", "help", "mdc"]).0, Tool::Mdc);
        // conlink's own subcommands and `help` alone stay with clap.
        assert_eq!(sel(&["conlink", "help", "graph"]).0, Tool::Conlink);
        assert_eq!(sel(&["conlink", "help", "conlink"]).0, Tool::Conlink);
        assert_eq!(sel(&["conlink", "help"]).0, Tool::Conlink);
        // Not conlink: `wait help copy` is wait's business.
        assert_eq!(sel(&["wait", "help", "copy"]).0, Tool::Wait);
    }

    #[test]
    fn unknown_names_fall_back_to_conlink() {
        assert_eq!(
            sel(&["/app/build/conlink.js", "--compose-file", "x"]).0,
            Tool::Conlink
        );
        assert_eq!(sel(&["node", "/app/build/conlink.js"]).0, Tool::Conlink);
        assert_eq!(sel(&[]), (Tool::Conlink, vec!["conlink".into()]));
    }
}
