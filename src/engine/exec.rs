//! Running a config `command` inside a container through the engine's exec
//! API, its output delivered line by line, its exit code returned.

use std::time::Duration;

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecResults};
use futures::StreamExt;

use super::client::Engine;
use super::error::EngineError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputStream {
    Stdout,
    Stderr,
}

/// One line of a command's output, without its line ending (invalid UTF-8
/// is replaced, never an error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    pub stream: OutputStream,
    pub text: String,
}

/// Cuts a byte stream that arrives in arbitrary chunks into lines.
#[derive(Debug, Default)]
struct LineSplitter {
    pending: Vec<u8>,
}

impl LineSplitter {
    fn push(&mut self, bytes: &[u8], mut emit: impl FnMut(String)) {
        self.pending.extend_from_slice(bytes);
        while let Some(nl) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=nl).collect();
            emit(to_text(&line[..nl]));
        }
    }

    /// The last line when the output did not end with a newline.
    fn finish(&mut self, mut emit: impl FnMut(String)) {
        if !self.pending.is_empty() {
            emit(to_text(&self.pending));
            self.pending.clear();
        }
    }
}

fn to_text(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(line).into_owned()
}

/// How long to wait for the engine to record the exit code after the output
/// stream closed (the two are not ordered in every engine).
const EXIT_CODE_WAIT: Duration = Duration::from_secs(5);

impl Engine {
    /// Run `argv` in `container` (id or name) as is — a config's string
    /// command arrives here already spelled `sh -c …` — calling `on_line`
    /// for every output line as it arrives, and return the exit code.
    pub async fn exec(
        &self,
        container: &str,
        argv: &[String],
        mut on_line: impl FnMut(OutputLine) + Send,
    ) -> Result<i64, EngineError> {
        let argv = argv.to_vec();
        if argv.is_empty() || argv[0].is_empty() {
            return Err(EngineError::BadExec {
                container: container.to_owned(),
                what: "empty command".into(),
            });
        }
        let options = CreateExecOptions {
            cmd: Some(argv),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let created = match self.docker.create_exec(container, options).await {
            Ok(c) => c,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {
                return Err(EngineError::NotFound {
                    id: container.to_owned(),
                });
            }
            Err(e) => return Err(self.api_error(format!("create exec in {container}"), e)),
        };
        let started = self
            .docker
            .start_exec(&created.id, None)
            .await
            .map_err(|e| self.api_error(format!("start exec in {container}"), e))?;
        let StartExecResults::Attached { mut output, .. } = started else {
            return Err(EngineError::BadReply {
                socket: self.socket().to_owned(),
                what: format!("exec in {container} started detached"),
            });
        };
        let mut out = LineSplitter::default();
        let mut err = LineSplitter::default();
        while let Some(chunk) = output.next().await {
            let chunk =
                chunk.map_err(|e| self.api_error(format!("exec output from {container}"), e))?;
            let (splitter, stream, bytes) = match &chunk {
                LogOutput::StdErr { message } => (&mut err, OutputStream::Stderr, message),
                LogOutput::StdOut { message } | LogOutput::Console { message } => {
                    (&mut out, OutputStream::Stdout, message)
                }
                LogOutput::StdIn { .. } => continue,
            };
            splitter.push(bytes, |text| on_line(OutputLine { stream, text }));
        }
        out.finish(|text| {
            on_line(OutputLine {
                stream: OutputStream::Stdout,
                text,
            })
        });
        err.finish(|text| {
            on_line(OutputLine {
                stream: OutputStream::Stderr,
                text,
            })
        });
        self.exit_code(container, &created.id).await
    }

    async fn exit_code(&self, container: &str, exec_id: &str) -> Result<i64, EngineError> {
        let deadline = tokio::time::Instant::now() + EXIT_CODE_WAIT;
        loop {
            let inspect = self
                .docker
                .inspect_exec(exec_id)
                .await
                .map_err(|e| self.api_error(format!("inspect exec in {container}"), e))?;
            match (inspect.running, inspect.exit_code) {
                (Some(false), Some(code)) => return Ok(code),
                _ if tokio::time::Instant::now() >= deadline => {
                    return Err(EngineError::BadReply {
                        socket: self.socket().to_owned(),
                        what: format!("exec in {container}: no exit code after the output ended"),
                    });
                }
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_cut_into_lines_whatever_their_boundaries() {
        let mut s = LineSplitter::default();
        let mut lines = Vec::new();
        for chunk in [&b"one\ntw"[..], b"o\r\n", b"", b"\nthr", b"ee"] {
            s.push(chunk, |l| lines.push(l));
        }
        s.finish(|l| lines.push(l));
        assert_eq!(lines, ["one", "two", "", "three"]);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_an_error() {
        let mut s = LineSplitter::default();
        let mut lines = Vec::new();
        s.push(b"a\xffb\n", |l| lines.push(l));
        assert_eq!(lines, ["a\u{fffd}b"]);
    }
}
