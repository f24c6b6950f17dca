//! `-c CMD`: run a command until it exits 0. With a shell on PATH the text
//! goes to `sh -c` (as users expect from a compose file); in a shell-less
//! image it is split into words and run directly, and text that needs a
//! shell is refused up front instead of failing forever.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::progress::Pacer;
use super::{WaitError, Waited};

/// How a `-c` command is started.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Runner {
    Shell(PathBuf),
    Direct(Vec<String>),
}

/// A checked, ready-to-run `-c` command.
#[derive(Debug, Clone)]
pub struct CommandCheck {
    text: String,
    runner: Runner,
}

impl CommandCheck {
    /// Decide how to run `text`; an error (a usage error) when there is no
    /// shell and the text uses shell syntax or cannot be split.
    pub fn new(text: &str) -> Result<CommandCheck, String> {
        let runner = match crate::exec::resolve("sh".as_ref()) {
            Ok(sh) => Runner::Shell(sh),
            Err(_) => Runner::Direct(
                split_words(text)
                    .map_err(|why| format!("-c '{text}': no shell (sh) on PATH, and {why}"))?,
            ),
        };
        Ok(CommandCheck {
            text: text.to_owned(),
            runner,
        })
    }

    fn command(&self) -> Command {
        match &self.runner {
            Runner::Shell(sh) => {
                let mut c = Command::new(sh);
                c.arg("-c").arg(&self.text);
                c
            }
            Runner::Direct(words) => {
                let mut c = Command::new(&words[0]);
                c.args(&words[1..]);
                c
            }
        }
    }

    /// Run once; Some(success), or None when the deadline passed while it ran
    /// (it is killed then).
    fn run_once(&self, pacer: &mut Pacer, quiet: bool) -> Option<bool> {
        let mut cmd = self.command();
        cmd.stdin(Stdio::null());
        if quiet {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!("starting `{}`: {e}", self.text);
                return Some(false);
            }
        };
        // Short polls first: most checks (`test -e f`) end within a few ms.
        let mut nap = Duration::from_millis(1);
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Some(status.success()),
                Ok(None) => {}
                Err(_) => return Some(false),
            }
            if pacer.expired() {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(pacer.next_wake(Some(nap)));
            nap = (nap * 2).min(Duration::from_millis(50));
            pacer.tick();
        }
    }
}

/// Run `check` every retry interval until it exits 0.
pub fn wait_for_command(
    check: &CommandCheck,
    pacer: &mut Pacer,
    quiet: bool,
) -> Result<Waited, WaitError> {
    loop {
        match check.run_once(pacer, quiet) {
            Some(true) => {
                return Ok(Waited::Held(format!("command `{}` succeeded", check.text)));
            }
            None => return Ok(Waited::TimedOut),
            Some(false) => {}
        }
        if !pacer.sleep_retry() {
            return Ok(Waited::TimedOut);
        }
    }
}

/// Split like a POSIX shell does for a simple command: blanks separate words,
/// quotes and backslashes protect. Anything that would need a real shell
/// (pipes, redirections, variables, globs, …) is an error.
pub fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => word.push(x),
                        None => return Err("it has an unterminated ' quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x @ ('"' | '\\' | '$' | '`')) => word.push(x),
                            Some(x) => {
                                word.push('\\');
                                word.push(x);
                            }
                            None => return Err("it has an unterminated \" quote".into()),
                        },
                        Some(x @ ('$' | '`')) => return Err(format!("it uses shell syntax ({x})")),
                        Some(x) => word.push(x),
                        None => return Err("it has an unterminated \" quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(x) => word.push(x),
                    None => return Err("it ends with a lone backslash".into()),
                }
            }
            '|' | '&' | ';' | '<' | '>' | '(' | ')' | '$' | '`' | '*' | '?' | '\n' => {
                return Err(format!("it uses shell syntax ({})", c.escape_default()));
            }
            '~' | '#' if !in_word => return Err(format!("it uses shell syntax ({c})")),
            _ => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    if words.is_empty() {
        return Err("it is empty".into());
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn w(s: &str) -> Vec<String> {
        split_words(s).unwrap()
    }

    #[test]
    fn splits_on_blanks_and_honours_quotes() {
        assert_eq!(w("test -e /tmp/x"), ["test", "-e", "/tmp/x"]);
        assert_eq!(
            w("  a   'b c'  \"d \\\"e\\\"\" f\\ g"),
            ["a", "b c", "d \"e\"", "f g"]
        );
        assert_eq!(w("x '' y"), ["x", "", "y"]);
        assert_eq!(w("[ -e /a ]"), ["[", "-e", "/a", "]"]);
        assert_eq!(w("a#b c~"), ["a#b", "c~"]);
    }

    #[test]
    fn refuses_what_needs_a_shell() {
        for s in [
            "a | b",
            "a && b",
            "a; b",
            "a > f",
            "echo $HOME",
            "ls *",
            "~/x",
            "# c",
            "'open",
            "\"open",
            "x \\",
            "",
            "  ",
            "echo \"$X\"",
            "(a)",
        ] {
            assert!(split_words(s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn runs_through_a_shell_when_there_is_one() {
        let c = CommandCheck::new("exit 3").unwrap();
        assert!(matches!(c.runner, Runner::Shell(_)));
        let mut pacer = Pacer::new("c", None, Duration::from_millis(10), true);
        assert_eq!(c.run_once(&mut pacer, true), Some(false));
        let ok = CommandCheck::new("true && test 1 = 1").unwrap();
        assert_eq!(ok.run_once(&mut pacer, true), Some(true));
    }

    #[test]
    fn a_hanging_command_is_killed_at_the_deadline() {
        let c = CommandCheck::new("sleep 30").unwrap();
        let mut pacer = Pacer::new(
            "c",
            Some(Instant::now() + Duration::from_millis(100)),
            Duration::from_millis(10),
            true,
        );
        let t = Instant::now();
        assert_eq!(c.run_once(&mut pacer, true), None);
        assert!(t.elapsed() < Duration::from_secs(10));
    }
}
