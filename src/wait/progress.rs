//! Time keeping for one condition: the shared deadline, how long to sleep
//! before the next look, and the progress lines on stderr.

use std::time::{Duration, Instant};

/// Progress lines are printed at most this often per condition, and at
/// least as far apart as the retry interval.
const MIN_PROGRESS_INTERVAL: Duration = Duration::from_secs(1);

/// Paces the wait for one condition.
pub struct Pacer<'a> {
    label: &'a str,
    started: Instant,
    deadline: Option<Instant>,
    retry: Duration,
    progress_every: Duration,
    next_progress: Instant,
    quiet: bool,
}

impl<'a> Pacer<'a> {
    pub fn new(label: &'a str, deadline: Option<Instant>, retry: Duration, quiet: bool) -> Self {
        let started = Instant::now();
        let progress_every = retry.max(MIN_PROGRESS_INTERVAL);
        Pacer {
            label,
            started,
            deadline,
            retry,
            progress_every,
            next_progress: started + progress_every,
            quiet,
        }
    }

    /// The retry interval (`--sleep`) for checks that must poll.
    pub fn retry(&self) -> Duration {
        self.retry
    }

    /// True once the overall deadline has passed.
    pub fn expired(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Time left before the deadline (None: no deadline).
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// How long to block before looking again: until the deadline, the next
    /// progress line, or `poll` (for checks that also poll), whichever is first.
    pub fn next_wake(&self, poll: Option<Duration>) -> Duration {
        let now = Instant::now();
        let mut wake = now
            + poll
                .unwrap_or(Duration::MAX / 4)
                .min(Duration::from_secs(86_400));
        if !self.quiet {
            wake = wake.min(self.next_progress);
        }
        if let Some(d) = self.deadline {
            wake = wake.min(d);
        }
        wake.saturating_duration_since(now)
    }

    /// Sleep one retry interval, printing progress on the way; false when
    /// the deadline passes first.
    pub fn sleep_retry(&mut self) -> bool {
        let until = Instant::now() + self.retry;
        loop {
            if self.expired() {
                return false;
            }
            let now = Instant::now();
            if now >= until {
                return true;
            }
            std::thread::sleep(self.next_wake(Some(until - now)));
            self.tick();
        }
    }

    /// Print a progress line if one is due.
    pub fn tick(&mut self) {
        let now = Instant::now();
        if self.quiet || now < self.next_progress {
            return;
        }
        eprintln!(
            "wait: waiting for {} ({} s)",
            self.label,
            now.duration_since(self.started).as_secs()
        );
        while self.next_progress <= now {
            self.next_progress += self.progress_every;
        }
    }

    /// Print the line that says the condition holds, e.g.
    /// `wait: interface eth0 exists (0.004 s)`.
    pub fn held(&self, what: &str) {
        if !self.quiet {
            eprintln!(
                "wait: {what} ({:.3} s)",
                self.started.elapsed().as_secs_f64()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_wake_is_bounded_by_deadline_and_poll() {
        let p = Pacer::new(
            "x",
            Some(Instant::now() + Duration::from_millis(50)),
            Duration::from_secs(1),
            true,
        );
        assert!(p.next_wake(None) <= Duration::from_millis(50));
        assert!(p.next_wake(Some(Duration::from_millis(5))) <= Duration::from_millis(5));
        assert!(!p.expired());
        let gone = Pacer::new("x", Some(Instant::now()), Duration::from_secs(1), true);
        assert!(gone.expired());
        assert_eq!(gone.next_wake(None), Duration::ZERO);
    }

    #[test]
    fn progress_lines_bound_the_wake_time_unless_quiet() {
        let loud = Pacer::new("x", None, Duration::from_millis(10), false);
        assert!(loud.next_wake(None) <= MIN_PROGRESS_INTERVAL);
        let quiet = Pacer::new("x", None, Duration::from_millis(10), true);
        assert!(quiet.next_wake(None) > Duration::from_secs(3600));
    }
}
