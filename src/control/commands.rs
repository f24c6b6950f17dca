//! The control subcommands of `conlink` (`status`, `link`, `netem`,
//! `capture`, `events`) as plain requests: the CLI fills them in, [`run`]
//! sends them to the socket and prints the answers.
//!
//! Exit status: 0 done; 1 the socket could not be reached or the server
//! said no (its message, with near matches, on one line); 2 usage errors
//! (bad netem options, pcap to a terminal).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use http_body_util::BodyExt;

use super::api::{Direction, Event, NetemReset, NetemSet, Status};
use super::client::{Client, ClientError};
use super::pcap::RecordCounter;
use super::server::CAPTURE_END_TRAILER;
use super::show;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Status {
        ids: Vec<String>,
        json: bool,
    },
    Link {
        up: bool,
        ids: Vec<String>,
    },
    NetemSet {
        ids: Vec<String>,
        options: Vec<String>,
        direction: Direction,
    },
    NetemShow {
        ids: Vec<String>,
    },
    NetemReset {
        ids: Vec<String>,
        direction: Direction,
    },
    Capture {
        id: String,
        /// `None` or `-`: standard output.
        write: Option<PathBuf>,
        count: u64,
        direction: Direction,
        snaplen: Option<u32>,
    },
    Events {
        json: bool,
    },
}

impl Command {
    fn name(&self) -> &'static str {
        match self {
            Command::Status { .. } => "status",
            Command::Link { up: false, .. } => "link down",
            Command::Link { up: true, .. } => "link up",
            Command::NetemSet { .. } => "netem set",
            Command::NetemShow { .. } => "netem show",
            Command::NetemReset { .. } => "netem reset",
            Command::Capture { .. } => "capture",
            Command::Events { .. } => "events",
        }
    }
}

enum Failure {
    Usage(String),
    Client(ClientError),
    Other(String),
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        Failure::Client(e)
    }
}

/// Run `cmd` against the control socket at `socket`.
pub fn run(socket: &Path, cmd: Command) -> ExitCode {
    let name = cmd.name();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("conlink {name}: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run_async(&Client::new(socket), cmd)) {
        Ok(code) => code,
        Err(Failure::Usage(m)) => {
            eprintln!("conlink {name}: {m}");
            ExitCode::from(crate::EXIT_USAGE)
        }
        Err(Failure::Client(e)) => {
            eprintln!("conlink {name}: {e}");
            ExitCode::FAILURE
        }
        Err(Failure::Other(m)) => {
            eprintln!("conlink {name}: {m}");
            ExitCode::FAILURE
        }
    }
}

async fn run_async(client: &Client, cmd: Command) -> Result<ExitCode, Failure> {
    match cmd {
        Command::Status { ids, json: true } => {
            let v = client.status_json(&ids).await?;
            let text =
                serde_json::to_string_pretty(&v).map_err(|e| Failure::Other(e.to_string()))?;
            print_out(&format!("{text}\n"));
        }
        Command::Status { ids, json: false } => {
            let s = client.status(&ids).await?;
            print_out(&show::status_table(&s, now(), terminal_width()));
        }
        Command::Link { up, ids } => {
            let changed = client.set_admin(&ids, up).await?;
            let word = if up { "up" } else { "down" };
            print_out(&changed_lines(&changed.ids, word));
        }
        Command::NetemSet {
            ids,
            options,
            direction,
        } => {
            let options = options.join(" ");
            // The config's parser: what it rejects here it would reject in
            // the config, with the same message.
            crate::config::parse::netem::parse_netem(&options)
                .map_err(|e| Failure::Usage(format!("netem options {options:?}: {e}")))?;
            let req = NetemSet {
                ids,
                options: options.clone(),
                direction,
            };
            let changed = client.netem_set(&req).await?;
            let what = format!("netem {}: {options}", show::direction_text(direction));
            print_out(&changed_lines(&changed.ids, &what));
        }
        Command::NetemShow { ids } => {
            let s: Status = client.status(&ids).await?;
            print_out(&show::netem_table(&s));
        }
        Command::NetemReset { ids, direction } => {
            let changed = client.netem_reset(&NetemReset { ids, direction }).await?;
            let what = format!(
                "netem {}: back to the config",
                show::direction_text(direction)
            );
            print_out(&changed_lines(&changed.ids, &what));
        }
        Command::Capture {
            id,
            write,
            count,
            direction,
            snaplen,
        } => {
            return capture(client, &id, write, count, direction, snaplen).await;
        }
        Command::Events { json } => return events(client, json).await,
    }
    Ok(ExitCode::SUCCESS)
}

fn changed_lines(ids: &[String], what: &str) -> String {
    if ids.is_empty() {
        return "no link changed\n".into();
    }
    ids.iter().map(|id| format!("{id}: {what}\n")).collect()
}

/// Print to stdout; a closed pipe (`| head`) is not an error.
fn print_out(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes()).and_then(|()| out.flush());
}

/// Columns of the terminal on stdout; `None` when stdout is not one (a
/// pipe or file gets the whole table).
fn terminal_width() -> Option<usize> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    // SAFETY: TIOCGWINSZ fills a winsize; stdout is a terminal.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) };
    (r == 0 && ws.ws_col > 0).then_some(usize::from(ws.ws_col))
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// Follow the event stream: one line per event, flushed as it comes.
async fn events(client: &Client, json: bool) -> Result<ExitCode, Failure> {
    let mut body = client.events().await?;
    let mut pending: Vec<u8> = Vec::new();
    let out = std::io::stdout();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Failure::Other(format!("the event stream broke: {e}")))?;
        let Some(data) = frame.data_ref() else {
            continue;
        };
        pending.extend_from_slice(data);
        while let Some(nl) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=nl).collect();
            let line = String::from_utf8_lossy(&line[..nl]).into_owned();
            let text = if json { Some(line) } else { event_text(&line) };
            if let Some(t) = text {
                let mut o = out.lock();
                if o.write_all(t.as_bytes())
                    .and_then(|()| o.write_all(b"\n"))
                    .and_then(|()| o.flush())
                    .is_err()
                {
                    // The reader went away (`| head`): done.
                    return Ok(ExitCode::SUCCESS);
                }
            }
        }
        // A line never grows without bound, even from a broken server.
        if pending.len() > 1 << 20 {
            return Err(Failure::Other("an event line longer than 1 MiB".into()));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The text form of one JSON event line; a `lagged` note goes to stderr.
/// An event this client does not know (a newer sidecar) shows as its JSON.
fn event_text(line: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    if v.get("event").and_then(|e| e.as_str()) == Some("lagged") {
        let missed = v.get("missed").and_then(|m| m.as_u64()).unwrap_or(0);
        eprintln!("conlink events: this client fell behind and missed {missed} events");
        return None;
    }
    match serde_json::from_value::<Event>(v) {
        Ok(e) => Some(show::event_line(&e)),
        Err(_) => Some(line.to_string()),
    }
}

/// Stream a capture into a file or stdout, flushed per piece (so
/// `| wireshark -k -i -` shows packets as they come); a summary on stderr.
async fn capture(
    client: &Client,
    id: &str,
    write: Option<PathBuf>,
    count: u64,
    direction: Direction,
    snaplen: Option<u32>,
) -> Result<ExitCode, Failure> {
    let file = write.filter(|p| p.as_os_str() != "-");
    if file.is_none() && std::io::stdout().is_terminal() {
        return Err(Failure::Usage(
            "not writing pcap to a terminal: give -w FILE, or pipe it (-w - | tcpdump -n -r -)"
                .into(),
        ));
    }
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(|e| Failure::Other(format!("cannot watch for Ctrl-C: {e}")))?;
    let mut body = client.capture(id, count, direction, snaplen).await?;
    let mut out: Box<dyn Write> = match &file {
        Some(p) => Box::new(
            std::fs::File::create(p)
                .map_err(|e| Failure::Other(format!("cannot write {}: {e}", p.display())))?,
        ),
        None => Box::new(std::io::stdout()),
    };
    let mut counter = RecordCounter::default();
    let mut trailer = None;
    let ended = loop {
        let frame = tokio::select! {
            f = body.frame() => f,
            _ = sigint.recv() => break "interrupted".to_string(),
        };
        let frame = match frame {
            None => break "the stream ended".to_string(),
            Some(Err(e)) => return Err(Failure::Other(format!("the capture stream broke: {e}"))),
            Some(Ok(f)) => f,
        };
        if let Some(d) = frame.data_ref() {
            counter.feed(d);
            if let Err(e) = out.write_all(d).and_then(|()| out.flush()) {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    break "the reader closed the pipe".to_string();
                }
                let to = file
                    .as_ref()
                    .map_or("stdout".into(), |p| p.display().to_string());
                return Err(Failure::Other(format!("cannot write {to}: {e}")));
            }
        } else if let Some(t) = frame.trailers_ref() {
            trailer = t
                .get(CAPTURE_END_TRAILER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
        }
    };
    drop(out);
    let (why, ok) = match trailer.as_deref().map(parse_end) {
        Some((reason, dropped)) => {
            let (text, ok) = match reason {
                "count" => ("count reached".to_string(), true),
                "interface-gone" => ("the interface went away".to_string(), true),
                "client-slow" => ("stopped: this reader fell behind".to_string(), false),
                other => (format!("ended: {other}"), false),
            };
            if dropped > 0 {
                (format!("{text}; {dropped} dropped by the kernel"), ok)
            } else {
                (text, ok)
            }
        }
        None => (ended, true),
    };
    let n = counter.records;
    eprintln!(
        "conlink capture: {n} packet{} ({why})",
        if n == 1 { "" } else { "s" }
    );
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `<reason> packets=N dropped=M` → (reason, M).
fn parse_end(v: &str) -> (&str, u64) {
    let mut words = v.split_whitespace();
    let reason = words.next().unwrap_or("");
    let dropped = words
        .find_map(|w| w.strip_prefix("dropped="))
        .and_then(|d| d.parse().ok())
        .unwrap_or(0);
    (reason, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_lines_in_text_and_unknown_events_pass_through() {
        assert_eq!(
            event_text(r#"{"time":0.0,"event":"link-up","id":"n_1:eth0"}"#).unwrap(),
            "1970-01-01T00:00:00.000Z link-up n_1:eth0"
        );
        assert_eq!(
            event_text(r#"{"time":0.0,"event":"lagged","missed":3}"#),
            None
        );
        let newer = r#"{"time":0.0,"event":"something-new","x":1}"#;
        assert_eq!(event_text(newer).unwrap(), newer);
    }

    #[test]
    fn capture_end_trailer_parses() {
        assert_eq!(parse_end("count packets=3 dropped=0"), ("count", 0));
        assert_eq!(
            parse_end("client-slow packets=9 dropped=12"),
            ("client-slow", 12)
        );
        assert_eq!(parse_end(""), ("", 0));
    }

    #[test]
    fn changed_ids_one_per_line() {
        assert_eq!(changed_lines(&[], "down"), "no link changed\n");
        assert_eq!(
            changed_lines(&["a:eth0".into(), "b:eth0".into()], "down"),
            "a:eth0: down\nb:eth0: down\n"
        );
    }
}
