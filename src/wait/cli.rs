//! wait's command line: the conditions, kept in the order they were given,
//! and the command to exec after `--`.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser};

use super::condition::{Condition, IfName};
use super::tcp::TcpTarget;

/// wait: block until files, interfaces, addresses, TCP ports or commands are
/// ready, then exec a command.
///
/// Conditions are checked one after another in the order given; each is
/// waited for until it holds. Files and interfaces are watched through kernel
/// events (inotify, netlink), so they are seen as soon as they appear; TCP and
/// command checks are retried every --sleep interval. When all hold, the
/// command after `--` replaces wait (same PID, its own exit code).
#[derive(Debug, Parser)]
#[command(name = "wait", version, max_term_width = 100, after_help = EXAMPLES)]
pub struct Args {
    /// Wait until PATH exists (any kind of file; symlinks are followed)
    #[arg(short = 'f', long = "file", value_name = "PATH")]
    pub files: Vec<PathBuf>,

    /// Wait until the network interface NAME exists
    #[arg(short = 'i', long = "if", visible_alias = "intf", value_name = "NAME")]
    pub interfaces: Vec<IfName>,

    /// Wait until interface NAME exists, is up and has a usable IPv4 or IPv6
    /// address (not link-local, not tentative)
    #[arg(short = 'I', long = "ip", value_name = "NAME")]
    pub addresses: Vec<IfName>,

    /// Wait until HOST:PORT accepts a TCP connection ([v6addr]:PORT for IPv6;
    /// names are resolved again on every try)
    #[arg(short = 't', long = "tcp", value_name = "HOST:PORT")]
    pub tcp: Vec<TcpTarget>,

    /// Wait until CMD exits 0 (run with `sh -c` when a shell exists, else
    /// split into words and run directly)
    #[arg(
        short = 'c',
        long = "cmd",
        visible_alias = "command",
        value_name = "CMD"
    )]
    pub commands: Vec<String>,

    /// Umask (octal, e.g. 022) for the command run after `--`
    #[arg(short = 'u', long = "umask", value_name = "MASK", value_parser = parse_umask)]
    pub umask: Option<u32>,

    /// Retry interval for TCP and command checks, in seconds (fractions allowed)
    #[arg(
        short = 's',
        long = "sleep",
        value_name = "SECS",
        env = "WAIT_SLEEP",
        default_value = "1",
        value_parser = parse_interval
    )]
    pub sleep: Duration,

    /// Give up after SECS seconds for all conditions together (exit 124)
    #[arg(long, value_name = "SECS", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,

    /// No progress lines (errors and the timeout message are still printed)
    #[arg(short, long)]
    pub quiet: bool,

    /// Command to exec once every condition holds
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

const EXAMPLES: &str = "\
Examples:
  wait -i eth0 -- my-server --port 80          exec my-server once eth0 exists
  wait -I eth1 -t db:5432 --timeout 30 -- app  eth1 addressed, then db reachable
  wait -f /run/ready -c 'test -s /data/db' -s 0.5
  copy -T /files / -- wait -i eth0 -- cmd args chained with copy

Exit status: 0 when all conditions hold (and no command), the command's own
status after `--`, 124 on --timeout, 127 when the command is not found,
126 when it is found but cannot be run, 2 for usage errors, 1 for other
errors.";

/// The parsed command line, conditions in command-line order.
#[derive(Debug)]
pub struct Invocation {
    pub conditions: Vec<Condition>,
    pub umask: Option<u32>,
    pub sleep: Duration,
    pub timeout: Option<Duration>,
    pub quiet: bool,
    pub command: Vec<OsString>,
}

/// Parse argv (argv[0] is the tool name); errors are clap's (exit 2).
pub fn parse(argv: Vec<OsString>) -> Result<Invocation, clap::Error> {
    let matches = Args::command().try_get_matches_from(argv)?;
    let args = Args::from_arg_matches(&matches)?;
    let mut ordered: Vec<(usize, Condition)> = Vec::new();
    let mut take = |id: &str, make: &mut dyn Iterator<Item = Condition>| {
        ordered.extend(indices(&matches, id).zip(make));
    };
    take("files", &mut args.files.into_iter().map(Condition::File));
    take(
        "interfaces",
        &mut args.interfaces.into_iter().map(Condition::Interface),
    );
    take(
        "addresses",
        &mut args.addresses.into_iter().map(Condition::Address),
    );
    take("tcp", &mut args.tcp.into_iter().map(Condition::Tcp));
    take(
        "commands",
        &mut args.commands.into_iter().map(Condition::Command),
    );
    ordered.sort_by_key(|(i, _)| *i);
    Ok(Invocation {
        conditions: ordered.into_iter().map(|(_, c)| c).collect(),
        umask: args.umask,
        sleep: args.sleep,
        timeout: args.timeout,
        quiet: args.quiet,
        command: args.command,
    })
}

fn indices<'a>(m: &'a ArgMatches, id: &str) -> impl Iterator<Item = usize> + 'a {
    m.indices_of(id).into_iter().flatten()
}

fn parse_seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number of seconds"))?;
    Duration::try_from_secs_f64(secs)
        .map_err(|_| format!("'{s}' is not a usable number of seconds"))
}

fn parse_interval(s: &str) -> Result<Duration, String> {
    let d = parse_seconds(s)?;
    if d < Duration::from_millis(1) {
        return Err(format!(
            "'{s}': the retry interval must be at least 0.001 s"
        ));
    }
    Ok(d)
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    parse_seconds(s)
}

fn parse_umask(s: &str) -> Result<u32, String> {
    let digits = s.strip_prefix("0o").unwrap_or(s);
    match u32::from_str_radix(digits, 8) {
        Ok(m) if m <= 0o777 && !digits.is_empty() => Ok(m),
        _ => Err(format!("'{s}' is not an octal umask (000 to 777)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Invocation, clap::Error> {
        parse(
            std::iter::once("wait")
                .chain(args.iter().copied())
                .map(OsString::from)
                .collect(),
        )
    }

    #[test]
    fn conditions_keep_command_line_order_across_kinds() {
        let inv = p(&[
            "-t", "h:1", "-f", "/a", "--if", "eth0", "-c", "true", "-f", "/b", "-I", "e1",
        ])
        .unwrap();
        let got: Vec<String> = inv.conditions.iter().map(|c| c.to_string()).collect();
        assert_eq!(
            got,
            [
                "tcp h:1",
                "file /a",
                "interface eth0",
                "command `true`",
                "file /b",
                "address on e1"
            ]
        );
    }

    #[test]
    fn aliases_and_command_after_double_dash() {
        let inv = p(&["--intf", "x", "--command", "true", "--", "cmd", "-f", "arg"]).unwrap();
        assert_eq!(inv.conditions.len(), 2);
        assert_eq!(inv.command, ["cmd", "-f", "arg"]);
    }

    #[test]
    fn seconds_umask_and_timeout_parse() {
        let inv = p(&["-s", "0.25", "-u", "027", "--timeout", "1.5"]).unwrap();
        assert_eq!(inv.sleep, Duration::from_millis(250));
        assert_eq!(inv.umask, Some(0o027));
        assert_eq!(inv.timeout, Some(Duration::from_millis(1500)));
        assert_eq!(p(&[]).unwrap().timeout, None);
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for bad in [
            &["-s", "abc"][..],
            &["-s", "0"],
            &["-s", "-1"],
            &["--timeout", "NaN"],
            &["-u", "999"],
            &["-u", "8"],
            &["-t", "nohost"],
            &["-t", "h:0"],
            &["-i", "this-name-is-too-long"],
            &["-i", "a/b"],
            &["--bogus"],
            &["cmd-without-dashes"],
            &["-f"],
        ] {
            let e = p(bad).err().unwrap_or_else(|| panic!("{bad:?} parsed"));
            assert_eq!(e.exit_code(), 2, "{bad:?}");
        }
    }
}
