//! Busybox-style dispatch: the basename of argv[0] selects the tool, and
//! `conlink <tool> …` does the same through the first argument
//! (`conlink help <tool>` is `<tool> --help`).

use std::ffi::{OsStr, OsString};
use std::io::Write as _;
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;
use std::process::ExitCode;

/// The four tools this binary contains, and `echo` for 2.x's `/utils/echo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Conlink,
    Mdc,
    Wait,
    Copy,
    Echo,
}

impl Tool {
    pub const ALL: [Tool; 5] = [Tool::Conlink, Tool::Mdc, Tool::Wait, Tool::Copy, Tool::Echo];

    pub fn name(self) -> &'static str {
        match self {
            Tool::Conlink => "conlink",
            Tool::Mdc => "mdc",
            Tool::Wait => "wait",
            Tool::Copy => "copy",
            Tool::Echo => "echo",
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
            let named = Tool::from_name(&argv[2]);
            if let Some(sub) = named.filter(|t| !matches!(t, Tool::Conlink | Tool::Echo)) {
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
        Tool::Echo => echo(&args[1..]),
    }
}

/// conlink 2.x shipped a static `/utils/echo` so that FROM-scratch images,
/// which have no echo, can print after `wait` (its test-utils runs
/// `/utils/wait … -- /utils/echo 'wait finished'`). The image links
/// `/utils/echo` here: the arguments separated by spaces, then a newline.
/// No options: every argument is printed as given.
fn echo(args: &[OsString]) -> ExitCode {
    let mut line = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            line.push(b' ');
        }
        line.extend_from_slice(arg.as_bytes());
    }
    line.push(b'\n');
    let mut out = std::io::stdout().lock();
    match out.write_all(&line).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("echo: {e}");
            ExitCode::FAILURE
        }
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
    fn echo_answers_to_its_name() {
        assert_eq!(
            sel(&["/utils/echo", "wait finished"]),
            (Tool::Echo, vec!["echo".into(), "wait finished".into()])
        );
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
