//! Flags of the control subcommands (`status`, `link`, `netem`, `capture`,
//! `events`), turned into plain [`Command`]s for [`crate::control`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};

use crate::control::api::Direction;
use crate::control::client::{DEFAULT_SOCKET, SOCKET_ENV};
use crate::control::commands::{self, Command};

#[derive(Debug, Clone, Args)]
pub struct SocketArg {
    /// The running sidecar's control socket
    #[arg(long, value_name = "PATH", env = SOCKET_ENV, default_value = DEFAULT_SOCKET)]
    pub socket: PathBuf,
}

/// Which traffic, seen from the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DirectionArg {
    /// Leaving the container
    Out,
    /// Arriving at the container
    In,
    /// Both ways
    Both,
}

impl From<DirectionArg> for Direction {
    fn from(d: DirectionArg) -> Direction {
        match d {
            DirectionArg::Out => Direction::Out,
            DirectionArg::In => Direction::In,
            DirectionArg::Both => Direction::Both,
        }
    }
}

const IDS_HELP: &str =
    "Link ids as in the log: node_1:eth0, node:eth0 (every replica), node_1 (all its links)";

#[derive(Debug, Subcommand)]
pub enum ControlSub {
    /// Show the running sidecar's links (state, addresses, netem, traffic),
    /// bridges, tunnels and milestone
    Status {
        #[arg(value_name = "ID", help = IDS_HELP)]
        ids: Vec<String>,
        /// Print the status as JSON (schema: docs/control.md)
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Take links administratively down, or up again (held across container restarts)
    Link {
        #[command(subcommand)]
        action: LinkAction,
    },
    /// Impair links with netem at run time (per direction; held across
    /// container restarts until reset)
    Netem {
        #[command(subcommand)]
        action: NetemAction,
    },
    /// Capture a link's packets as pcap (for tcpdump, tshark, Wireshark)
    #[command(after_help = "Examples:\n  \
        conlink capture node_1:eth0 -c 10 -w ping.pcap\n  \
        conlink capture node_1:eth0 | tcpdump -n -r -\n  \
        docker compose exec -T network /conlink capture node_1:eth0 | wireshark -k -i -")]
    Capture {
        /// The link: one exact id, e.g. node_1:eth0
        #[arg(value_name = "ID")]
        id: String,
        /// Write the pcap to FILE (`-`: standard output, the default when it is not a terminal)
        #[arg(short = 'w', long = "write", value_name = "FILE")]
        write: Option<PathBuf>,
        /// Stop after COUNT packets (default: until Ctrl-C or the link goes away)
        #[arg(short = 'c', long, value_name = "COUNT", value_parser = clap::value_parser!(u64).range(1..))]
        count: Option<u64>,
        /// Which packets, seen from the container
        #[arg(long, value_enum, default_value = "both")]
        direction: DirectionArg,
        /// Bytes kept of each packet [default and maximum: 262144]
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=262_144))]
        snaplen: Option<u32>,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Follow what conlink does, one line per event as it happens
    Events {
        /// One JSON object per line (schema: docs/control.md)
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        socket: SocketArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum LinkAction {
    /// Set links administratively down (the peer end loses carrier)
    Down {
        #[arg(value_name = "ID", required = true, help = IDS_HELP)]
        ids: Vec<String>,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Bring links taken down with `link down` up again
    Up {
        #[arg(value_name = "ID", required = true, help = IDS_HELP)]
        ids: Vec<String>,
        #[command(flatten)]
        socket: SocketArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum NetemAction {
    /// Set netem on links: IDs, then `--`, then options in the config's
    /// netem grammar
    #[command(after_help = "Examples:\n  \
        conlink netem set node_1:eth0 -- delay 40ms loss 1%\n  \
        conlink netem set node:eth0 --direction both -- delay 20ms 5ms\n  \
        conlink netem set node_1 --direction in -- rate 1mbit")]
    Set {
        #[arg(value_name = "ID", required = true, help = IDS_HELP)]
        ids: Vec<String>,
        /// Which traffic: out = leaving the container (as the config's
        /// netem), in = arriving at it, both = each way
        #[arg(long, value_enum, default_value = "out")]
        direction: DirectionArg,
        /// netem options after `--`, e.g. `delay 40ms 10ms loss 1%`
        #[arg(value_name = "NETEM", last = true, required = true)]
        options: Vec<String>,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Show links' netem: from the config and set at run time, per direction
    Show {
        #[arg(value_name = "ID", help = IDS_HELP)]
        ids: Vec<String>,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Drop netem set at run time: back to the config's netem
    Reset {
        #[arg(value_name = "ID", required = true, help = IDS_HELP)]
        ids: Vec<String>,
        /// Which direction to reset
        #[arg(long, value_enum, default_value = "both")]
        direction: DirectionArg,
        #[command(flatten)]
        socket: SocketArg,
    },
}

impl ControlSub {
    /// The socket and the plain request.
    pub fn into_request(self) -> (PathBuf, Command) {
        match self {
            ControlSub::Status { ids, json, socket } => {
                (socket.socket, Command::Status { ids, json })
            }
            ControlSub::Link { action } => match action {
                LinkAction::Down { ids, socket } => {
                    (socket.socket, Command::Link { up: false, ids })
                }
                LinkAction::Up { ids, socket } => (socket.socket, Command::Link { up: true, ids }),
            },
            ControlSub::Netem { action } => match action {
                NetemAction::Set {
                    ids,
                    direction,
                    options,
                    socket,
                } => (
                    socket.socket,
                    Command::NetemSet {
                        ids,
                        options,
                        direction: direction.into(),
                    },
                ),
                NetemAction::Show { ids, socket } => (socket.socket, Command::NetemShow { ids }),
                NetemAction::Reset {
                    ids,
                    direction,
                    socket,
                } => (
                    socket.socket,
                    Command::NetemReset {
                        ids,
                        direction: direction.into(),
                    },
                ),
            },
            ControlSub::Capture {
                id,
                write,
                count,
                direction,
                snaplen,
                socket,
            } => (
                socket.socket,
                Command::Capture {
                    id,
                    write,
                    count: count.unwrap_or(0),
                    direction: direction.into(),
                    snaplen,
                },
            ),
            ControlSub::Events { json, socket } => (socket.socket, Command::Events { json }),
        }
    }
}

pub fn run(sub: ControlSub) -> ExitCode {
    let (socket, cmd) = sub.into_request();
    commands::run(&socket, cmd)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Sub};

    fn parse(args: &[&str]) -> Result<(PathBuf, Command), clap::Error> {
        let cli = Cli::try_parse_from(std::iter::once("conlink").chain(args.iter().copied()))?;
        match cli.command {
            Some(Sub::Control(c)) => Ok(c.into_request()),
            other => panic!("not a control command: {other:?}"),
        }
    }

    #[test]
    fn netem_set_takes_ids_then_options_after_the_double_dash() {
        let (sock, cmd) = parse(&[
            "netem",
            "set",
            "node_1:eth0",
            "node_2",
            "--direction",
            "in",
            "--socket",
            "/tmp/s",
            "--",
            "delay",
            "40ms",
            "loss",
            "1%",
        ])
        .unwrap();
        assert_eq!(sock, PathBuf::from("/tmp/s"));
        assert_eq!(
            cmd,
            Command::NetemSet {
                ids: vec!["node_1:eth0".into(), "node_2".into()],
                options: vec!["delay".into(), "40ms".into(), "loss".into(), "1%".into()],
                direction: Direction::In,
            }
        );
        // Default direction: out, as the config's netem.
        let (_, cmd) = parse(&["netem", "set", "n_1", "--", "delay", "1ms"]).unwrap();
        assert!(matches!(
            cmd,
            Command::NetemSet {
                direction: Direction::Out,
                ..
            }
        ));
        // Without `--` the options would be taken for ids: a usage error.
        let e = parse(&["netem", "set", "n_1", "delay", "1ms"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        // Reset defaults to both directions.
        let (_, cmd) = parse(&["netem", "reset", "n_1"]).unwrap();
        assert_eq!(
            cmd,
            Command::NetemReset {
                ids: vec!["n_1".into()],
                direction: Direction::Both
            }
        );
    }

    #[test]
    fn capture_and_link_flags() {
        let (_, cmd) = parse(&[
            "capture",
            "n_1:eth0",
            "-c",
            "3",
            "-w",
            "x.pcap",
            "--snaplen",
            "96",
        ])
        .unwrap();
        assert_eq!(
            cmd,
            Command::Capture {
                id: "n_1:eth0".into(),
                write: Some("x.pcap".into()),
                count: 3,
                direction: Direction::Both,
                snaplen: Some(96),
            }
        );
        assert!(parse(&["capture", "n_1:eth0", "-c", "0"]).is_err());
        assert!(parse(&["capture", "n_1:eth0", "--snaplen", "262145"]).is_err());
        assert!(parse(&["capture"]).is_err());
        assert!(parse(&["link", "down"]).is_err());
        let (_, cmd) = parse(&["link", "up", "a", "b"]).unwrap();
        assert_eq!(
            cmd,
            Command::Link {
                up: true,
                ids: vec!["a".into(), "b".into()]
            }
        );
    }
}
