//! Load + validate + enrich 1,000 links spread over 5 files (2 compose, 3
//! network files). Prints the median and best time and the ratio to the
//! 50 ms target of DESIGN.md; never asserts a time.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use conlink::config::{FileKind, Settings, load_with};

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut files = vec![];
    let mut n = 0u32;
    for f in 0..5u32 {
        let compose = f < 2;
        let mut y = String::new();
        if compose {
            y.push_str("services:\n");
            for s in 0..20 {
                writeln!(
                    y,
                    "  svc{f}x{s}:\n    image: node\n    x-network:\n      links:"
                )
                .ok();
                for d in 0..10 {
                    n += 1;
                    writeln!(y, "        - {{dev: eth{d}, bridge: b{d}, ip: 10.{f}.{s}.{}/16, route: default via 10.{f}.0.254, netem: delay 1ms 1ms loss 0.1%}}", d + 1).ok();
                }
            }
        } else {
            y.push_str("links:\n");
            for i in 0..200 {
                n += 1;
                writeln!(y, "  - {{container: c{f}x{i}, bridge: b{}, ip: 10.{f}.{}.{}/16, mac: c2:00:00:{f:02x}:{:02x}:{:02x}, ethtool: --offload rx off, forward: \"{}:80/tcp\"}}",
                    i % 10, i / 200, i % 200 + 1, i / 256, i % 256, 10000 + f * 1000 + i).ok();
            }
        }
        let path = dir.path().join(format!("f{f}.yaml"));
        std::fs::write(&path, y).expect("write");
        files.push((
            path,
            if compose {
                FileKind::Compose
            } else {
                FileKind::Network
            },
        ));
    }
    let env: HashMap<String, String> = HashMap::new();
    let settings = Settings::default();
    let mut times: Vec<Duration> = (0..30)
        .map(|_| {
            let t = Instant::now();
            let net = load_with(&files, &settings, &env).expect("valid config");
            let d = t.elapsed();
            assert_eq!(net.links.len(), n as usize);
            d
        })
        .collect();
    times.sort();
    let median = times[times.len() / 2];
    let ms = median.as_secs_f64() * 1e3;
    println!("config load: {n} links in 5 files");
    println!(
        "  median {ms:.2} ms, best {:.2} ms, worst {:.2} ms (30 runs)",
        times[0].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3
    );
    println!(
        "  target 50 ms: median is {:.2}x the target ({})",
        ms / 50.0,
        if ms <= 50.0 { "within" } else { "OVER" }
    );
}
