//! Exact mode resolution: the smallest set of modes that holds the request
//! and satisfies every dep (each `a|b` group by at least one member), then
//! ordered so every mode comes after its deps (order-only ones included).
//!
//! Choosing the set is a minimum hitting set problem, NP-hard in general;
//! mode graphs are small and shallow, so a branch-and-bound search is exact
//! and fast in practice: take the closure of hard deps first, branch only on
//! the first unsatisfied group (in a fixed discovery order), try its members
//! in listed order, prune by a lower bound, and never expand the same set
//! twice. Only a strictly smaller set replaces the best one found, which is
//! what makes the first-listed alternative win ties.

use std::collections::{HashMap, HashSet};

use super::deps::Dep;

/// Why no order exists for the chosen modes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The modes' deps (order-only ones included) loop; the list starts and
    /// ends with the same mode.
    #[error("dependency graph contains a cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
}

/// How much work a resolution took (for the benchmark).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Modes reachable from the request.
    pub reachable: usize,
    /// Alternative groups among them.
    pub groups: usize,
    /// Distinct mode sets the search expanded.
    pub states: usize,
}

/// Resolve `request` (the parsed MODES string) against the deps that
/// `deps_of` gives for each mode name (unknown names have no deps).
pub fn resolve<'a, F>(request: &[Dep], deps_of: F) -> Result<Vec<String>, ResolveError>
where
    F: Fn(&str) -> &'a [Dep],
{
    resolve_with_stats(request, deps_of).map(|(order, _)| order)
}

/// [`resolve`], also reporting how much searching it took.
pub fn resolve_with_stats<'a, F>(
    request: &[Dep],
    deps_of: F,
) -> Result<(Vec<String>, Stats), ResolveError>
where
    F: Fn(&str) -> &'a [Dep],
{
    let graph = Graph::build(request, deps_of);
    let mut search = Search::new(&graph);
    let start = search.closure(ROOT).clone();
    search.run(start);
    let chosen = search.best.take().unwrap_or_else(|| Bits::new(graph.len()));
    let stats = Stats {
        reachable: graph.len() - 1,
        groups: graph.groups.len(),
        states: search.seen.len(),
    };
    let order = graph.order(&chosen)?;
    Ok((
        order
            .into_iter()
            .map(|i| graph.names[i as usize].clone())
            .collect(),
        stats,
    ))
}

/// Index of the virtual node whose deps are the request.
const ROOT: u32 = 0;

struct Group {
    owner: u32,
    members: Vec<u32>,
}

/// The part of the mode graph reachable from the request, numbered in
/// depth-first discovery order (requested order, then declaration order):
/// that numbering is the fixed order in which groups are branched on.
struct Graph {
    names: Vec<String>,
    /// Plain deps of each node.
    hard: Vec<Vec<u32>>,
    /// Every mode each node must follow when both are chosen (plain deps,
    /// group members, order-only deps), in declaration order.
    edges: Vec<Vec<u32>>,
    groups: Vec<Group>,
}

impl Graph {
    fn build<'a, F>(request: &[Dep], deps_of: F) -> Graph
    where
        F: Fn(&str) -> &'a [Dep],
    {
        let mut names: Vec<String> = vec![String::new()];
        let mut index: HashMap<String, u32> = HashMap::new();
        let mut raw: Vec<&[Dep]> = vec![request];
        // Pre-order DFS over plain deps and group members (order-only deps
        // never pull a mode in); the stack holds (node, dep, name in dep).
        let mut stack: Vec<(u32, usize, usize)> = vec![(ROOT, 0, 0)];
        while let Some(top) = stack.last_mut() {
            let (node, dep_pos, name_pos) = *top;
            let Some(dep) = raw[node as usize].get(dep_pos) else {
                stack.pop();
                continue;
            };
            let pulls: &[String] = match dep {
                Dep::Mode(n) => std::slice::from_ref(n),
                Dep::AnyOf(ns) => ns,
                Dep::After(_) => &[],
            };
            let Some(name) = pulls.get(name_pos) else {
                *top = (node, dep_pos + 1, 0);
                continue;
            };
            *top = (node, dep_pos, name_pos + 1);
            if !index.contains_key(name) {
                let id = names.len() as u32;
                index.insert(name.clone(), id);
                names.push(name.clone());
                raw.push(deps_of(name));
                stack.push((id, 0, 0));
            }
        }

        let mut hard = Vec::with_capacity(names.len());
        let mut edges = Vec::with_capacity(names.len());
        let mut groups = Vec::new();
        for (node, deps) in raw.iter().enumerate() {
            let mut node_hard = Vec::new();
            let mut node_edges = Vec::new();
            for dep in deps.iter() {
                match dep {
                    Dep::Mode(n) => {
                        node_hard.push(index[n]);
                        node_edges.push(index[n]);
                    }
                    Dep::AnyOf(ns) => {
                        let members: Vec<u32> = ns.iter().map(|n| index[n]).collect();
                        node_edges.extend(&members);
                        groups.push(Group {
                            owner: node as u32,
                            members,
                        });
                    }
                    // Not reachable means never chosen: no edge needed.
                    Dep::After(n) => node_edges.extend(index.get(n)),
                }
            }
            hard.push(node_hard);
            edges.push(node_edges);
        }
        Graph {
            names,
            hard,
            edges,
            groups,
        }
    }

    fn len(&self) -> usize {
        self.names.len()
    }

    /// Depth-first post-order over the chosen modes, following every edge in
    /// declaration order: each mode lands after all of its chosen deps, and
    /// ties keep requested order, then declaration order.
    fn order(&self, chosen: &Bits) -> Result<Vec<u32>, ResolveError> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Open,
            Done,
        }
        let mut mark = vec![Mark::New; self.len()];
        let mut out = Vec::with_capacity(chosen.count());
        // (node, next edge) — explicit, so deep graphs cannot overflow the stack.
        let mut stack: Vec<(u32, usize)> = vec![(ROOT, 0)];
        mark[ROOT as usize] = Mark::Open;
        while let Some(top) = stack.last_mut() {
            let (node, pos) = *top;
            let Some(&dep) = self.edges[node as usize].get(pos) else {
                stack.pop();
                mark[node as usize] = Mark::Done;
                if node != ROOT {
                    out.push(node);
                }
                continue;
            };
            top.1 += 1;
            if !chosen.has(dep) {
                continue;
            }
            match mark[dep as usize] {
                Mark::Done => {}
                Mark::Open => {
                    let from = stack.iter().position(|(n, _)| *n == dep).unwrap_or(0);
                    let mut cycle: Vec<String> = stack[from..]
                        .iter()
                        .map(|(n, _)| self.names[*n as usize].clone())
                        .collect();
                    cycle.push(self.names[dep as usize].clone());
                    return Err(ResolveError::Cycle(cycle));
                }
                Mark::New => {
                    mark[dep as usize] = Mark::Open;
                    stack.push((dep, 0));
                }
            }
        }
        Ok(out)
    }
}

/// A set of node indices.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(len: usize) -> Bits {
        Bits(vec![0; len.div_ceil(64)])
    }
    fn has(&self, i: u32) -> bool {
        self.0[(i / 64) as usize] & (1 << (i % 64)) != 0
    }
    fn insert(&mut self, i: u32) -> bool {
        let word = &mut self.0[(i / 64) as usize];
        let bit = 1 << (i % 64);
        let new = *word & bit == 0;
        *word |= bit;
        new
    }
    fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }
    fn union(&self, other: &Bits) -> Bits {
        Bits(self.0.iter().zip(&other.0).map(|(a, b)| a | b).collect())
    }
    /// How many of `self` are not in `other`.
    fn count_missing_from(&self, other: &Bits) -> usize {
        self.0
            .iter()
            .zip(&other.0)
            .map(|(a, b)| (a & !b).count_ones() as usize)
            .sum()
    }
}

struct Search<'g> {
    graph: &'g Graph,
    /// Hard-dep closure of each node, computed when first needed.
    closures: Vec<Option<Bits>>,
    seen: HashSet<Bits>,
    best: Option<Bits>,
    best_len: usize,
}

impl<'g> Search<'g> {
    fn new(graph: &'g Graph) -> Search<'g> {
        Search {
            graph,
            closures: vec![None; graph.len()],
            seen: HashSet::new(),
            best: None,
            best_len: usize::MAX,
        }
    }

    /// The node and everything it needs through plain (non-alternative) deps.
    fn closure(&mut self, node: u32) -> &Bits {
        if self.closures[node as usize].is_none() {
            let mut set = Bits::new(self.graph.len());
            set.insert(node);
            let mut todo = vec![node];
            while let Some(n) = todo.pop() {
                for &m in &self.graph.hard[n as usize] {
                    if set.insert(m) {
                        todo.push(m);
                    }
                }
            }
            self.closures[node as usize] = Some(set);
        }
        self.closures[node as usize]
            .as_ref()
            .unwrap_or_else(|| unreachable!("closure was just computed"))
    }

    /// Groups whose owner is in `set` and which no member of `set` satisfies,
    /// in the fixed group order.
    fn unsatisfied(&self, set: &Bits) -> Vec<usize> {
        (self.graph.groups.iter().enumerate())
            .filter(|(_, g)| set.has(g.owner) && !g.members.iter().any(|m| set.has(*m)))
            .map(|(i, _)| i)
            .collect()
    }

    /// How many modes any valid superset of `set` must still add: at least
    /// the cheapest way to satisfy the costliest open group, and at least
    /// one distinct new mode per open group in a set of pairwise disjoint
    /// groups.
    fn lower_bound(&mut self, set: &Bits, open: &[usize]) -> usize {
        let mut costliest = 0;
        let mut used = Bits::new(self.graph.len());
        let mut disjoint = 0;
        for &g in open {
            let members = &self.graph.groups[g].members;
            let mut cheapest = usize::MAX;
            for &m in members {
                cheapest = cheapest.min(self.closure(m).count_missing_from(set));
            }
            costliest = costliest.max(cheapest);
            if members.iter().all(|m| !used.has(*m)) {
                disjoint += 1;
                for &m in members {
                    used.insert(m);
                }
            }
        }
        costliest.max(disjoint)
    }

    /// Depth-first branch and bound from `start`, members in listed order.
    /// The stack is explicit so that long chains of groups cannot overflow
    /// the thread's stack.
    fn run(&mut self, start: Bits) {
        let mut stack: Vec<Branch> = Vec::new();
        self.enter(start, &mut stack);
        let graph = self.graph;
        while let Some(top) = stack.last_mut() {
            let members = &graph.groups[top.group].members;
            let Some(&m) = members.get(top.next) else {
                stack.pop();
                continue;
            };
            top.next += 1;
            let next = top.set.union(self.closure(m));
            self.enter(next, &mut stack);
        }
    }

    /// Look at a new set: record it if it is a better solution, else queue
    /// its first open group for branching unless the bound rules it out.
    fn enter(&mut self, set: Bits, stack: &mut Vec<Branch>) {
        if !self.seen.insert(set.clone()) {
            return;
        }
        let size = set.count();
        if size >= self.best_len {
            return;
        }
        let open = self.unsatisfied(&set);
        let Some(&group) = open.first() else {
            self.best_len = size;
            self.best = Some(set);
            return;
        };
        if size + self.lower_bound(&set, &open) >= self.best_len {
            return;
        }
        stack.push(Branch {
            set,
            group,
            next: 0,
        });
    }
}

/// A set being extended by each member of one of its open groups in turn.
struct Branch {
    set: Bits,
    group: usize,
    next: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mdc::deps::parse;

    /// A graph given as `name: deps` lines.
    fn graph(spec: &str) -> HashMap<String, Vec<Dep>> {
        spec.lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(n, d)| (n.trim().to_owned(), parse(d).unwrap()))
            .collect()
    }

    fn run(g: &HashMap<String, Vec<Dep>>, request: &str) -> Result<String, ResolveError> {
        resolve(&parse(request).unwrap(), |n| {
            g.get(n).map(Vec::as_slice).unwrap_or(&[])
        })
        .map(|v| v.join(" "))
    }

    const BASIC: &str = "b: a\nc: a b\nd: a b\ne: a d|c\nf: a b c|d";
    const ORDER: &str = "o1: +o3\no2: +o3\no3: o4 o5\no4: +o5";

    #[test]
    fn issue_examples_basic() {
        let g = graph(BASIC);
        for (req, want) in [
            ("a", "a"),
            ("z", "z"),
            ("b", "a b"),
            ("c", "a b c"),
            ("e", "a b d e"),
            ("e c", "a b c e"),
            ("e c a", "a b c e"),
            ("e,c,a", "a b c e"),
            ("f", "a b c f"),
            ("d|c", "a b d"),
            ("c|d", "a b c"),
            ("e c z", "a b c e z"),
            ("e c d", "a b d c e"),
        ] {
            assert_eq!(run(&g, req).unwrap(), want, "request {req:?}");
        }
    }

    #[test]
    fn issue_examples_order_only() {
        let g = graph(ORDER);
        for (req, want) in [
            ("o1", "o1"),
            ("o4", "o4"),
            ("o3", "o5 o4 o3"),
            ("o1 o3", "o5 o4 o3 o1"),
            ("o2 o3", "o5 o4 o3 o2"),
            ("o1 o2", "o1 o2"),
            ("o2 o1", "o2 o1"),
            ("+o3 o4", "o4"),
        ] {
            assert_eq!(run(&g, req).unwrap(), want, "request {req:?}");
        }
    }

    #[test]
    fn resolve_deps_readme_example4() {
        let g = graph("b: a +d\nc: a b\nd: a\ne: a d|c");
        assert_eq!(run(&g, "d b").unwrap(), "a d b");
        assert_eq!(run(&g, "b").unwrap(), "a b");
        assert_eq!(run(&g, "e").unwrap(), "a d e");
        assert_eq!(run(&g, "e c d").unwrap(), "a d b c e");
    }

    #[test]
    fn smaller_later_alternative_beats_first_listed() {
        // p drags in two more modes, q none: minimality first, then order.
        let g = graph("x: p|q\np: p1 p2");
        assert_eq!(run(&g, "x").unwrap(), "q x");
    }

    #[test]
    fn cycles_are_reported_with_their_path() {
        let g = graph("a: b\nb: c\nc: a");
        assert_eq!(
            run(&g, "a").unwrap_err(),
            ResolveError::Cycle(vec!["a".into(), "b".into(), "c".into(), "a".into()])
        );
        assert_eq!(
            run(&g, "a").unwrap_err().to_string(),
            "dependency graph contains a cycle: a -> b -> c -> a"
        );
        // An order-only dep closes a cycle too, but only when both are in.
        let g = graph("a: b\nb: +a");
        assert!(run(&g, "a").is_err());
        let g = graph("a: +b\nb: +a");
        assert_eq!(run(&g, "a").unwrap(), "a");
        // Self-dependency.
        assert!(run(&graph("a: a"), "a").is_err());
        // A cycle among modes that are not chosen does not matter.
        let g = graph("x: p|q\nq: r\nr: q");
        assert_eq!(run(&g, "x").unwrap(), "p x");
    }

    #[test]
    fn same_input_same_output() {
        let g = graph(BASIC);
        let first = run(&g, "f e").unwrap();
        for _ in 0..5 {
            assert_eq!(run(&g, "f e").unwrap(), first);
        }
    }

    /// xorshift64*: deterministic pseudo-random numbers without a dependency.
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

    fn random_graph(rng: &mut Rng, n: usize, acyclic: bool) -> HashMap<String, Vec<Dep>> {
        let name = |i: usize| format!("m{i}");
        let mut g = HashMap::new();
        for i in 0..n {
            let mut deps = Vec::new();
            // Acyclic graphs only point to lower numbers.
            let span = if acyclic { i } else { n };
            if span > 0 {
                for _ in 0..rng.below(4) {
                    let target = name(rng.below(span));
                    deps.push(match rng.below(6) {
                        0 | 1 => Dep::Mode(target),
                        2 => Dep::After(target),
                        _ => {
                            let mut ns = vec![target];
                            for _ in 0..1 + rng.below(2) {
                                ns.push(name(rng.below(span)));
                            }
                            Dep::any_of(ns)
                        }
                    });
                }
            }
            g.insert(name(i), deps);
        }
        g
    }

    /// Does `set` satisfy every hard dep and group of its members?
    fn valid(g: &HashMap<String, Vec<Dep>>, request: &[Dep], set: &HashSet<String>) -> bool {
        let satisfied = |deps: &[Dep]| {
            deps.iter().all(|d| match d {
                Dep::Mode(m) => set.contains(m),
                Dep::AnyOf(ms) => ms.iter().any(|m| set.contains(m)),
                Dep::After(_) => true,
            })
        };
        satisfied(request) && set.iter().all(|m| satisfied(&g[m]))
    }

    /// Size of the smallest valid set, by trying every subset.
    fn brute_force_min(g: &HashMap<String, Vec<Dep>>, n: usize, request: &[Dep]) -> usize {
        (0u32..1 << n)
            .filter_map(|mask| {
                let set: HashSet<String> = (0..n)
                    .filter(|i| mask & (1 << i) != 0)
                    .map(|i| format!("m{i}"))
                    .collect();
                valid(g, request, &set).then_some(set.len())
            })
            .min()
            .unwrap_or_else(|| unreachable!("the full set is always valid"))
    }

    fn order_edges(deps: &[Dep]) -> Vec<&str> {
        deps.iter().flat_map(Dep::names).collect()
    }

    #[test]
    fn random_graphs_match_brute_force() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut checked_cycles = 0;
        for round in 0..3000 {
            let n = 1 + rng.below(9);
            let acyclic = round % 3 != 0;
            let g = random_graph(&mut rng, n, acyclic);
            let mut request = Vec::new();
            for _ in 0..1 + rng.below(3) {
                let a = format!("m{}", rng.below(n));
                request.push(if rng.below(4) == 0 {
                    Dep::any_of(vec![a, format!("m{}", rng.below(n))])
                } else {
                    Dep::Mode(a)
                });
            }
            let deps_of = |m: &str| g.get(m).map(Vec::as_slice).unwrap_or(&[]);
            match resolve(&request, deps_of) {
                Ok(order) => {
                    let set: HashSet<String> = order.iter().cloned().collect();
                    assert_eq!(set.len(), order.len(), "duplicates in {order:?}");
                    assert!(valid(&g, &request, &set), "{g:?} {request:?} -> {order:?}");
                    assert_eq!(
                        order.len(),
                        brute_force_min(&g, n, &request),
                        "not minimal: {g:?} {request:?} -> {order:?}"
                    );
                    for (pos, m) in order.iter().enumerate() {
                        for dep in order_edges(&g[m]) {
                            if let Some(dpos) = order.iter().position(|x| x == dep) {
                                assert!(dpos < pos, "{dep} after {m} in {order:?}");
                            }
                        }
                    }
                    let again = resolve(&request, deps_of).unwrap();
                    assert_eq!(again, order, "not deterministic");
                }
                Err(ResolveError::Cycle(cycle)) => {
                    assert!(!acyclic, "cycle in an acyclic graph: {g:?} {cycle:?}");
                    assert_eq!(cycle.first(), cycle.last());
                    for pair in cycle.windows(2) {
                        assert!(
                            order_edges(&g[&pair[0]]).contains(&pair[1].as_str()),
                            "{} -> {} is no edge of {g:?}",
                            pair[0],
                            pair[1]
                        );
                    }
                    checked_cycles += 1;
                }
            }
        }
        assert!(
            checked_cycles > 10,
            "too few cyclic cases: {checked_cycles}"
        );
    }

    #[test]
    fn long_chains_of_groups_need_no_deep_stack() {
        // m_i needs m_{i+1}|x_i: the search first dives the whole chain.
        let n = 4000;
        let g: HashMap<String, Vec<Dep>> = (0..n)
            .map(|i| {
                let alts = vec![format!("m{}", i + 1), format!("x{i}")];
                (format!("m{i}"), vec![Dep::AnyOf(alts)])
            })
            .collect();
        let order = std::thread::Builder::new()
            .stack_size(128 * 1024)
            .spawn(move || run(&g, "m0"))
            .unwrap()
            .join()
            .expect("no stack overflow");
        assert_eq!(order.unwrap(), "x0 m0");
    }

    #[test]
    fn wide_graph_resolves_without_exploding() {
        // 20 independent three-way groups: 3^20 covers, one minimum.
        let mut g = HashMap::new();
        let mut top = Vec::new();
        for i in 0..20 {
            g.insert(
                format!("g{i}"),
                vec![Dep::AnyOf(vec![
                    format!("a{i}"),
                    format!("b{i}"),
                    format!("c{i}"),
                ])],
            );
            g.insert(format!("b{i}"), vec![Dep::Mode(format!("x{i}"))]);
            top.push(Dep::Mode(format!("g{i}")));
        }
        g.insert("top".into(), top);
        let (order, stats) = resolve_with_stats(&[Dep::Mode("top".into())], |n| {
            g.get(n).map(Vec::as_slice).unwrap_or(&[])
        })
        .unwrap();
        assert_eq!(order.len(), 41);
        assert!(order.contains(&"a7".to_owned()));
        assert!(stats.states < 1000, "{stats:?}");
    }
}
