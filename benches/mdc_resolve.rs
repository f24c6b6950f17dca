//! mdc resolver benchmark (DESIGN.md §5: 200 modes with 20 alternative
//! groups resolve in ≤ 50 ms). Prints figures and ratios; asserts nothing
//! about time. Run with `tools/bench-mdc` (or `cargo bench --bench mdc_resolve`).
//!
//! The 2.x resolver (resolve-deps) enumerated every cover of the graph and
//! kept the smallest; for comparison this counts the covers that approach
//! walks through on the same graphs, enumerating them for small group
//! counts and giving the lower bound (the product of the group sizes,
//! since every group here is reached on every path) for large ones.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use conlink::mdc::deps::Dep;
use conlink::mdc::modes::Catalog;
use conlink::mdc::resolve::{Stats, resolve_with_stats};

const MODES: usize = 200;
const GROUPS: usize = 20;
const ALTERNATIVES: usize = 3;
const TARGET: Duration = Duration::from_millis(50);

/// xorshift64*: a fixed pseudo-random graph, the same on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// `MODES` modes `m0…`, each with 0–3 plain deps on lower-numbered modes
/// and now and then an order-only one; the `GROUPS` group owners `g0…`
/// each need one of `ALTERNATIVES` modes (alternatives overlap in what
/// they pull in, so the search has real choices); `top` needs the first
/// `groups` owners.
fn graph(groups: usize) -> HashMap<String, Vec<Dep>> {
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let mut g = HashMap::new();
    let plain = MODES - GROUPS - 1;
    for i in 0..plain {
        let mut deps = Vec::new();
        if i > 0 {
            for _ in 0..rng.below(4) {
                deps.push(Dep::Mode(format!("m{}", rng.below(i))));
            }
            if rng.below(5) == 0 {
                deps.push(Dep::After(format!("m{}", rng.below(i))));
            }
        }
        g.insert(format!("m{i}"), deps);
    }
    for k in 0..GROUPS {
        let alts = (0..ALTERNATIVES)
            .map(|_| format!("m{}", plain / 2 + rng.below(plain / 2)))
            .collect();
        g.insert(
            format!("g{k}"),
            vec![
                Dep::Mode(format!("m{}", rng.below(plain))),
                Dep::any_of(alts),
            ],
        );
    }
    g.insert(
        "top".into(),
        (0..groups).map(|k| Dep::Mode(format!("g{k}"))).collect(),
    );
    g
}

fn time_resolve(g: &HashMap<String, Vec<Dep>>) -> (Duration, usize, Stats) {
    let request = [Dep::Mode("top".into())];
    let deps_of = |n: &str| g.get(n).map(Vec::as_slice).unwrap_or(&[]);
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..21 {
        let start = Instant::now();
        let (order, stats) = resolve_with_stats(&request, deps_of).expect("bench graph is acyclic");
        times.push(start.elapsed());
        last = Some((order.len(), stats));
    }
    times.sort();
    let (len, stats) = last.unwrap_or_default();
    (times[times.len() / 2], len, stats)
}

/// Walk the covers the way resolve-deps did (a work list; a group branches
/// on every alternative; a node's groups are queued again whenever the
/// node is taken off the list), counting leaves up to `cap`.
fn count_covers(g: &HashMap<String, Vec<Dep>>, cap: u64) -> u64 {
    enum Item<'a> {
        Node(&'a str),
        Group(&'a [String]),
    }
    fn walk<'a>(
        g: &'a HashMap<String, Vec<Dep>>,
        visited: &mut HashSet<&'a str>,
        pending: &mut Vec<Item<'a>>,
        count: &mut u64,
        cap: u64,
    ) {
        if *count >= cap {
            return;
        }
        let Some(item) = pending.pop() else {
            *count += 1;
            return;
        };
        match item {
            Item::Group(alts) => {
                for alt in alts {
                    let added = visited.insert(alt.as_str());
                    pending.push(Item::Node(alt));
                    walk(g, visited, pending, count, cap);
                    pending.pop();
                    if added {
                        visited.remove(alt.as_str());
                    }
                }
                pending.push(Item::Group(alts));
            }
            Item::Node(n) => {
                let added = visited.insert(n);
                let mut pushed = 0;
                for dep in g.get(n).map(Vec::as_slice).unwrap_or(&[]) {
                    match dep {
                        Dep::Mode(m) if !visited.contains(m.as_str()) => {
                            pending.insert(0, Item::Node(m));
                            pushed += 1;
                        }
                        Dep::AnyOf(alts) => {
                            pending.insert(0, Item::Group(alts));
                            pushed += 1;
                        }
                        _ => {}
                    }
                }
                walk(g, visited, pending, count, cap);
                pending.drain(..pushed);
                if added {
                    visited.remove(n);
                }
                pending.push(Item::Node(n));
            }
        }
    }
    let mut count = 0;
    let mut pending = vec![Item::Node("top")];
    walk(g, &mut HashSet::new(), &mut pending, &mut count, cap);
    count
}

fn main() {
    println!("mdc resolver: {MODES} modes, up to {GROUPS} groups of {ALTERNATIVES} alternatives");
    println!(
        "{:>6} {:>12} {:>8} {:>8} {:>14} {:>14} {:>12}",
        "groups", "resolve", "modes", "states", "2.x covers", "2.x time", "speed-up"
    );
    const CAP: u64 = 100_000;
    let mut per_cover = None;
    for groups in [2, 4, 6, 8, 10, 12, 16, 20] {
        let g = graph(groups);
        let (took, len, stats) = time_resolve(&g);
        let product = (ALTERNATIVES as f64).powi(groups as i32);
        let (covers, old_time) = if product <= CAP as f64 {
            let start = Instant::now();
            let n = count_covers(&g, CAP);
            let t = start.elapsed();
            per_cover = Some(t.as_secs_f64() / n.max(1) as f64);
            let shown = if n >= CAP {
                format!("≥ {n}")
            } else {
                n.to_string()
            };
            (shown, t.as_secs_f64())
        } else {
            // Too many to walk: at least the product, at the measured rate.
            let rate = per_cover.unwrap_or(1e-6);
            (format!("≥ {product:.2e}"), product * rate)
        };
        println!(
            "{groups:>6} {:>9.3} ms {len:>8} {:>8} {covers:>14} {:>11.3e} s {:>11.0}x",
            took.as_secs_f64() * 1e3,
            stats.states,
            old_time,
            old_time / took.as_secs_f64().max(1e-9),
        );
        if groups == GROUPS {
            println!(
                "target: {GROUPS} groups in ≤ {} ms — measured {:.3} ms, {:.0}x under the target",
                TARGET.as_millis(),
                took.as_secs_f64() * 1e3,
                TARGET.as_secs_f64() / took.as_secs_f64().max(1e-9)
            );
        }
    }

    // The whole `mdc --resolve` path: read 200 deps files, then resolve.
    let g = graph(GROUPS);
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, deps) in &g {
        let mode = dir.path().join(name);
        std::fs::create_dir(&mode).expect("mode dir");
        let text: Vec<String> = deps
            .iter()
            .map(|d| match d {
                Dep::Mode(m) => m.clone(),
                Dep::After(m) => format!("+{m}"),
                Dep::AnyOf(ms) => ms.join("|"),
            })
            .collect();
        std::fs::write(mode.join("deps"), text.join(" ")).expect("deps file");
    }
    let mut times = Vec::new();
    for _ in 0..11 {
        let start = Instant::now();
        let catalog = Catalog::load(&[dir.path().to_owned()]).expect("catalog");
        let request = [Dep::Mode("top".into())];
        resolve_with_stats(&request, |n| catalog.deps(n)).expect("resolves");
        times.push(start.elapsed());
    }
    times.sort();
    let took = times[times.len() / 2];
    println!(
        "load {} deps files + resolve: {:.3} ms ({:.0}x under the {} ms target)",
        g.len(),
        took.as_secs_f64() * 1e3,
        TARGET.as_secs_f64() / took.as_secs_f64().max(1e-9),
        TARGET.as_millis()
    );
}
