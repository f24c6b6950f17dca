//! How fast `wait` reacts: a file, an interface or an address appears at a
//! random moment while wait is blocked on it; we measure from the change to
//! the moment the command after `--` (`echo held`) has started and written
//! its line. 50 trials each; prints median and max. Not a test: nothing here
//! asserts a time. Interface/address trials need root (namespaces).
//!
//! Run: tools/bench-wait   (or cargo bench --bench wait_reaction)

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const TRIALS: usize = 50;
const TARGET_MS: f64 = 20.0;

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_conlink"))
}

/// Tiny xorshift so the bench needs no extra crate.
struct Rng(u64);
impl Rng {
    fn new() -> Rng {
        Rng(Instant::now().elapsed().as_nanos() as u64
            ^ u64::from(std::process::id())
            ^ 0x9E37_79B9_7F4A_7C15)
    }
    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        Duration::from_millis(lo + self.0 % (hi - lo))
    }
}

/// The instant the exec'd command's line arrives (Some(0) then), or the
/// exit status if wait ended without running it.
fn exit_time(mut child: Child) -> mpsc::Receiver<(Instant, Option<i32>)> {
    use std::io::Read;
    let (tx, rx) = mpsc::channel();
    let mut out = child.stdout.take().expect("piped stdout");
    std::thread::spawn(move || {
        let mut byte = [0u8; 1];
        let got = out.read(&mut byte).unwrap_or(0);
        let at = Instant::now();
        let status = child.wait().ok().and_then(|s| s.code());
        let _ = tx.send((
            at,
            if got == 1 {
                Some(0)
            } else {
                status.or(Some(-1))
            },
        ));
    });
    rx
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn report(what: &str, mut gaps: Vec<f64>, note: &str) {
    if gaps.is_empty() {
        println!("{what:<28} no successful trials");
        return;
    }
    gaps.sort_by(f64::total_cmp);
    let median = gaps[gaps.len() / 2];
    let max = gaps[gaps.len() - 1];
    println!(
        "{what:<28} median {median:7.3} ms   max {max:7.3} ms   ({} trials; target ≤ {TARGET_MS} ms: median is {:.1}× under){note}",
        gaps.len(),
        TARGET_MS / median.max(0.001)
    );
}

fn bench_file(rng: &mut Rng) {
    let mut gaps = Vec::new();
    for i in 0..TRIALS {
        let dir = std::env::temp_dir().join(format!("bench-wait-{}-{i}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        let target = dir.join("sub/ready");
        let child = Command::new(bin())
            .args(["wait", "-q", "-s", "60", "--timeout", "10", "-f"])
            .arg(&target)
            .args(["--", "echo", "held"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let done = exit_time(child);
        std::thread::sleep(rng.millis(50, 150));
        let t0 = Instant::now();
        std::fs::create_dir(dir.join("sub")).unwrap();
        std::fs::write(&target, "").unwrap();
        let (t1, code) = done.recv().unwrap();
        if code == Some(0) {
            gaps.push(ms(t1.saturating_duration_since(t0)));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    report("file (dir + file created)", gaps, "");
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Netlink trials: `change` runs `ip` in the namespace. Gaps are measured
/// from when `ip` returned (the kernel had applied and announced the change
/// by then; clamped at 0 if wait was even earlier) and, as an upper bound,
/// from just before `ip` was started.
fn bench_netlink(
    rng: &mut Rng,
    what: &str,
    wait_args: &dyn Fn(&str) -> Vec<String>,
    setup: &dyn Fn(&str, &str),
    change: &dyn Fn(&str, &str),
) {
    let ns = format!("bw{}", std::process::id());
    if !ip(&["netns", "add", &ns]) {
        println!("{what:<28} skipped: cannot create a network namespace (needs root)");
        return;
    }
    let (mut after, mut upper) = (Vec::new(), Vec::new());
    for i in 0..TRIALS {
        let dev = format!("bwv{i}");
        setup(&ns, &dev);
        let child = Command::new("ip")
            .args(["netns", "exec", &ns])
            .arg(bin())
            .args(["wait", "-q", "-s", "60", "--timeout", "10"])
            .args(wait_args(&dev))
            .args(["--", "echo", "held"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let done = exit_time(child);
        std::thread::sleep(rng.millis(80, 180));
        let t0 = Instant::now();
        change(&ns, &dev);
        let t_ip = Instant::now();
        let (t1, code) = done.recv().unwrap();
        if code == Some(0) {
            after.push(ms(t1.saturating_duration_since(t_ip)));
            upper.push(ms(t1.saturating_duration_since(t0)));
        }
        ip(&["-n", &ns, "link", "del", &dev]);
    }
    ip(&["netns", "del", &ns]);
    report(what, after, "");
    report(&format!("{what}, incl. ip start"), upper, "  [upper bound]");
}

fn main() {
    // `cargo bench` passes --bench; nothing to parse.
    let mut rng = Rng::new();
    println!(
        "wait reaction time, {TRIALS} trials each (binary: {})",
        bin().display()
    );
    bench_file(&mut rng);
    bench_netlink(
        &mut rng,
        "interface (veth created)",
        &|dev| vec!["-i".into(), dev.into()],
        &|_, _| {},
        &|ns, dev| {
            ip(&[
                "-n",
                ns,
                "link",
                "add",
                dev,
                "type",
                "veth",
                "peer",
                "name",
                &format!("{dev}p"),
            ]);
        },
    );
    bench_netlink(
        &mut rng,
        "address (IPv4 added)",
        &|dev| vec!["-I".into(), dev.into()],
        &|ns, dev| {
            ip(&[
                "-n",
                ns,
                "link",
                "add",
                dev,
                "type",
                "veth",
                "peer",
                "name",
                &format!("{dev}p"),
            ]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
        },
        &|ns, dev| {
            ip(&["-n", ns, "addr", "add", "10.213.99.1/24", "dev", dev]);
        },
    );
}
