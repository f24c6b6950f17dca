//! Run untrusted work — rendering `--tera` templates — in a forked child
//! with a memory budget, and get its results back as frames over a pipe.
//!
//! Why a process: some template blowups cannot be stopped from outside the
//! template engine. Tera builds the output of a macro call or a `{% filter
//! %}` section, and every string made with `~`, in memory before anything
//! sees it; a macro that calls itself without end, or a deeply nested
//! expression, overflows the stack. In-process, either aborts copy (an
//! allocation failure and a stack overflow are not errors Rust can catch).
//! In a child they only end the child: copy reports which template was being
//! rendered and why, and DST is untouched. The child's address space is
//! capped (RLIMIT_AS) at what it had at fork plus the budget, so a blowup
//! fails there instead of taking the machine's memory.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};

use nix::sys::signal::Signal;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork, pipe2};

/// Frames bigger than this are not ours: the pipe is garbled.
const MAX_FRAME: usize = 1 << 20;

/// How much of the child's stderr is kept for the report.
const MAX_STDERR: u64 = 16 << 10;

/// The child's end of the result pipe.
pub struct Frames {
    out: BufWriter<File>,
}

impl Frames {
    /// Send one frame: a tag byte the two sides agree on, and a payload.
    pub fn send(&mut self, tag: u8, payload: &[u8]) -> io::Result<()> {
        let len = u32::try_from(payload.len())
            .ok()
            .filter(|n| (*n as usize) <= MAX_FRAME)
            .ok_or_else(|| io::Error::other("frame too big"))?;
        self.out.write_all(&[tag])?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(payload)
    }

    /// Push buffered frames to the parent now (before work that may crash,
    /// so the parent knows what was being done).
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The child did not finish: how it ended and what it said on stderr
/// (Rust's own last words: `memory allocation of N bytes failed`, `thread
/// 'main' has overflowed its stack`).
#[derive(Debug)]
pub struct Crash {
    pub status: String,
    pub stderr: String,
}

impl std::fmt::Display for Crash {
    /// The status and the child's last words, without a backtrace (with
    /// RUST_BACKTRACE set, Rust prints one after the message) or hints.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let said: Vec<&str> = self
            .stderr
            .lines()
            .map(str::trim)
            .take_while(|l| !l.starts_with("stack backtrace:"))
            .filter(|l| !l.is_empty() && !l.starts_with("note: "))
            .collect();
        if said.is_empty() {
            write!(f, "{}", self.status)
        } else {
            write!(f, "{} ({})", self.status, said.join("; "))
        }
    }
}

/// Run `work` in a child process whose address space may grow by at most
/// `memory_budget` bytes, handing every frame it sends to `on_frame` as it
/// arrives. `Ok(Err(crash))` when the child died or failed; `Err` when no
/// child could be started.
///
/// Must be called while the process has a single thread (copy has; in
/// tests the others only run test code, and glibc keeps malloc usable in a
/// forked child).
pub fn run_in_child(
    memory_budget: u64,
    work: impl FnOnce(&mut Frames) -> io::Result<()>,
    mut on_frame: impl FnMut(u8, Vec<u8>),
) -> io::Result<Result<(), Crash>> {
    let cloexec = nix::fcntl::OFlag::O_CLOEXEC;
    let (result_r, result_w) = pipe2(cloexec)?;
    let (err_r, err_w) = pipe2(cloexec)?;
    // SAFETY: the child only runs `work` and then _exit()s; it never
    // returns into the caller's code.
    match unsafe { fork() }? {
        ForkResult::Child => {
            drop(result_r);
            drop(err_r);
            let code = child(memory_budget, File::from(result_w), err_w, work);
            // SAFETY: _exit ends the child without running the parent's
            // atexit handlers or flushing its stdio buffers a second time.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => {
            drop(result_w);
            drop(err_w);
            let garbled = read_frames(File::from(result_r), &mut on_frame).err();
            let mut stderr = String::new();
            let _ = File::from(err_r)
                .take(MAX_STDERR)
                .read_to_string(&mut stderr);
            let status = loop {
                match waitpid(child, None) {
                    Err(nix::errno::Errno::EINTR) => continue,
                    other => break other?,
                }
            };
            let status = match status {
                WaitStatus::Exited(_, 0) if garbled.is_none() => return Ok(Ok(())),
                WaitStatus::Exited(_, 0) => format!(
                    "the renderer's output was garbled ({})",
                    garbled.map(|e| e.to_string()).unwrap_or_default()
                ),
                WaitStatus::Exited(_, code) => format!("the renderer exited with status {code}"),
                WaitStatus::Signaled(_, sig, _) => {
                    format!("the renderer was killed by {}", signal_name(sig))
                }
                other => format!("the renderer ended unexpectedly ({other:?})"),
            };
            Ok(Err(Crash { status, stderr }))
        }
    }
}

fn signal_name(sig: Signal) -> String {
    format!("signal {} ({})", sig as i32, sig.as_str())
}

/// The child's whole life: stderr to the pipe, the memory cap, the work.
fn child(
    memory_budget: u64,
    result_w: File,
    err_w: std::os::fd::OwnedFd,
    work: impl FnOnce(&mut Frames) -> io::Result<()>,
) -> i32 {
    if nix::unistd::dup2_stderr(&err_w).is_ok() {
        // Never block on a full stderr pipe the parent only reads at the end.
        // SAFETY: fcntl on our own fd 2.
        unsafe {
            let flags = libc::fcntl(2, libc::F_GETFL);
            libc::fcntl(2, libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
    }
    drop(err_w);
    cap_address_space(memory_budget);
    let mut frames = Frames {
        out: BufWriter::with_capacity(64 << 10, result_w),
    };
    // A panic must not unwind into the parent's code below fork().
    let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        work(&mut frames).and_then(|()| frames.out.flush())
    }));
    match done {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            let _ = writeln!(io::stderr(), "{e}");
            1
        }
        Err(_) => 101,
    }
}

/// RLIMIT_AS = the address space we have now + `budget`. Without /proc the
/// size is unknown and no cap is set (the output limit still applies).
fn cap_address_space(budget: u64) {
    let Ok(statm) = std::fs::read_to_string("/proc/self/statm") else {
        return;
    };
    let Some(pages) = statm
        .split_whitespace()
        .next()
        .and_then(|p| p.parse::<u64>().ok())
    else {
        return;
    };
    // SAFETY: sysconf and setrlimit with valid arguments.
    unsafe {
        let page = libc::sysconf(libc::_SC_PAGESIZE).max(4096) as u64;
        let cap = pages.saturating_mul(page).saturating_add(budget);
        let limit = libc::rlimit {
            rlim_cur: cap,
            rlim_max: cap,
        };
        libc::setrlimit(libc::RLIMIT_AS, &limit);
    }
}

/// Hand each frame to `on_frame` until the child closes the pipe.
fn read_frames(pipe: File, on_frame: &mut impl FnMut(u8, Vec<u8>)) -> io::Result<()> {
    let mut r = BufReader::with_capacity(64 << 10, pipe);
    loop {
        let mut head = [0u8; 5];
        match r.read(&mut head[..1])? {
            0 => return Ok(()),
            _ => r.read_exact(&mut head[1..])?,
        }
        let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
        if len > MAX_FRAME {
            return Err(io::Error::other(format!("a frame of {len} bytes")));
        }
        let mut payload = vec![0; len];
        r.read_exact(&mut payload)?;
        on_frame(head[0], payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Frame = (u8, Vec<u8>);

    fn collect(
        budget: u64,
        work: impl FnOnce(&mut Frames) -> io::Result<()>,
    ) -> (Vec<Frame>, Result<(), Crash>) {
        let mut got = Vec::new();
        let end = run_in_child(budget, work, |t, p| got.push((t, p))).unwrap();
        (got, end)
    }

    #[test]
    fn frames_arrive_in_order_and_a_clean_exit_is_ok() {
        let big = vec![7u8; MAX_FRAME];
        let (got, end) = collect(256 << 20, |f| {
            f.send(b'a', b"one")?;
            f.send(b'b', b"")?;
            f.send(b'c', &big)
        });
        assert!(end.is_ok(), "{end:?}");
        assert_eq!(got.len(), 3);
        assert_eq!((got[0].0, &got[0].1[..]), (b'a', &b"one"[..]));
        assert_eq!((got[1].0, got[1].1.len()), (b'b', 0));
        assert_eq!(got[2].1, big);
    }

    #[test]
    fn a_child_over_its_memory_budget_dies_alone_and_says_why() {
        let (got, end) = collect(64 << 20, |f| {
            f.send(b's', b"started")?;
            f.flush()?;
            // 1 GiB, far over the budget: the allocation fails in the child.
            let v: Vec<u8> = Vec::with_capacity(1 << 30);
            std::hint::black_box(&v);
            f.send(b'x', b"never")
        });
        assert_eq!(got, vec![(b's', b"started".to_vec())]);
        let crash = end.unwrap_err();
        assert!(crash.status.contains("SIGABRT"), "{crash}");
        assert!(
            crash
                .stderr
                .contains("memory allocation of 1073741824 bytes failed"),
            "{crash}"
        );
    }

    #[test]
    fn errors_and_panics_in_the_child_are_crashes_too() {
        let (_, end) = collect(256 << 20, |_| Err(io::Error::other("boom")));
        let crash = end.unwrap_err();
        assert_eq!(
            crash.to_string(),
            "the renderer exited with status 1 (boom)"
        );
        let (_, end) = collect(256 << 20, |_| panic!("oops"));
        // (The panic message goes to stderr, but the test harness captures
        // it before it gets there.)
        let crash = end.unwrap_err();
        assert!(crash.status.contains("status 101"), "{crash}");
    }
}
