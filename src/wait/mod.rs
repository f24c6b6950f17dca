//! wait: block until files, interfaces, addresses, TCP ports or commands are
//! ready, then exec a command.
//!
//! [`cli`] parses the ordered conditions; each kind has its waiter
//! ([`file_watch`], [`netlink_monitor`] over [`link_table`], [`tcp`],
//! [`command`]), all paced by [`progress::Pacer`] against one deadline.

pub mod cli;
pub mod command;
pub mod condition;
pub mod file_watch;
pub mod link_table;
pub mod netlink_monitor;
pub mod progress;
pub mod signals;
pub mod tcp;

use std::ffi::OsString;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use command::CommandCheck;
use condition::Condition;
use netlink_monitor::Monitor;
use progress::Pacer;

/// Exit status when --timeout passes first (as timeout(1)).
pub const EXIT_TIMEOUT: u8 = 124;

/// How waiting for one condition ended.
#[derive(Debug)]
pub enum Waited {
    /// It holds; the line to print ("interface eth0 exists").
    Held(String),
    TimedOut,
}

/// Failures that are not timeouts.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    #[error("netlink: {0}")]
    Netlink(String),
    #[error("cannot watch interfaces: {0}")]
    MonitorStart(std::io::Error),
}

/// The clap command, for help and completions.
pub fn command() -> clap::Command {
    <cli::Args as clap::CommandFactory>::command()
}

pub fn main(args: Vec<OsString>) -> ExitCode {
    let inv = match cli::parse(args) {
        Ok(inv) => inv,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
        }
    };
    crate::logging::init(u8::from(crate::logging::env_verbose()));
    // Decide how each -c runs before waiting, so a command that cannot run
    // here is a usage error now rather than a wait that never ends.
    let mut checks = Vec::new();
    for c in &inv.conditions {
        if let Condition::Command(text) = c {
            match CommandCheck::new(text) {
                Ok(check) => checks.push(check),
                Err(e) => {
                    eprintln!("wait: {e}");
                    return ExitCode::from(crate::EXIT_USAGE);
                }
            }
        }
    }
    signals::install_if_pid1();
    let deadline = inv.timeout.map(|t| Instant::now() + t);
    let mut watcher = file_watch::FileWatcher::default();
    match run(&inv, checks, deadline, &mut watcher) {
        Ok(None) => {
            if !inv.command.is_empty() {
                watcher.keep_across_exec();
            }
            crate::exec::exec_or_exit("wait", &inv.command, inv.umask)
        }
        Ok(Some(stuck)) => {
            let secs = inv.timeout.unwrap_or(Duration::ZERO).as_secs_f64();
            eprintln!("wait: timed out after {secs} s waiting for {stuck}");
            ExitCode::from(EXIT_TIMEOUT)
        }
        Err(e) => {
            eprintln!("wait: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Wait for every condition in turn; the first one that did not hold in
/// time, if any.
fn run(
    inv: &cli::Invocation,
    checks: Vec<CommandCheck>,
    deadline: Option<Instant>,
    watcher: &mut file_watch::FileWatcher,
) -> Result<Option<Condition>, WaitError> {
    // Started once, before the first condition, so links and addresses that
    // appear while we wait for something else are already known.
    let monitor = if inv.conditions.iter().any(Condition::needs_netlink) {
        Some(Monitor::start().map_err(WaitError::MonitorStart)?)
    } else {
        None
    };
    let mut checks = checks.into_iter();
    for cond in &inv.conditions {
        let label = cond.to_string();
        let mut pacer = Pacer::new(&label, deadline, inv.sleep, inv.quiet);
        let waited = match cond {
            Condition::File(path) => file_watch::wait_for_file(path, watcher, &mut pacer)?,
            Condition::Interface(name) => monitor_of(&monitor)?.wait_until(&mut pacer, |t| {
                t.has_link(name.as_str())
                    .then(|| format!("interface {name} exists"))
            })?,
            Condition::Address(name) => monitor_of(&monitor)?.wait_until(&mut pacer, |t| {
                t.usable_address(name.as_str())
                    .map(|(ip, len)| format!("interface {name} is up with address {ip}/{len}"))
            })?,
            Condition::Tcp(target) => wait_for_tcp(target, &mut pacer)?,
            Condition::Command(_) => {
                let check = checks
                    .next()
                    .ok_or_else(|| WaitError::Netlink("internal: -c check missing".into()))?;
                command::wait_for_command(&check, &mut pacer, inv.quiet)?
            }
        };
        match waited {
            Waited::Held(what) => pacer.held(&what),
            Waited::TimedOut => return Ok(Some(cond.clone())),
        }
    }
    Ok(None)
}

fn monitor_of(m: &Option<Monitor>) -> Result<&Monitor, WaitError> {
    m.as_ref()
        .ok_or_else(|| WaitError::Netlink("internal: monitor not started".into()))
}

fn wait_for_tcp(target: &tcp::TcpTarget, pacer: &mut Pacer) -> Result<Waited, WaitError> {
    loop {
        // Each attempt may take up to the retry interval (at least 1 s, so a
        // slow but live peer is not missed), never past the deadline.
        let mut per_try = pacer.retry().max(Duration::from_secs(1));
        if let Some(left) = pacer.remaining() {
            per_try = per_try.min(left);
        }
        if let Some(addr) = target.try_connect(per_try) {
            return Ok(Waited::Held(format!(
                "tcp {target} accepts connections ({addr})"
            )));
        }
        if !pacer.sleep_retry() {
            return Ok(Waited::TimedOut);
        }
    }
}
