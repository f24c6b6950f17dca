//! The read-only web listener of a real sidecar wiring named namespaces
//! (`--http-listen` on the loopback of its own namespace): the topology
//! page in a real headless Chromium (every node and link drawn, a link
//! taken down with `conlink link down` turning down within 2 s through the
//! event stream, rates from real traffic, a click showing a link's
//! details, a screenshot), the static page of `conlink graph --format
//! html`, `/metrics` read by a Prometheus text parser with counters that
//! grow with real pings, and every method but GET and HEAD refused.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::browser::{self, Browser};
use common::netns::{Netns, in_netns};
use common::sidecar::{Conlink, write};

struct Lab {
    home: Netns,
    a: Netns,
    b: Netns,
    c: Netns,
    /// Configured, never created: its link stays missing.
    ghost: String,
    cl: Conlink,
    addr: SocketAddr,
    dir: tempfile::TempDir,
    config: String,
}

fn lab(prefix: &str, subnet: u8) -> Option<Lab> {
    if !common::require_root(prefix) {
        return None;
    }
    let p = common::unique(prefix);
    let home = Netns::new(&format!("{p}h"));
    let a = Netns::new(&format!("{p}a"));
    let b = Netns::new(&format!("{p}b"));
    let c = Netns::new(&format!("{p}c"));
    let ghost = format!("{p}g");
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "net.yaml",
        &format!(
            "bridges:\n  - {{bridge: s1, mode: linux}}\n  - {{bridge: s2, mode: linux}}\n\
             links:\n\
             \x20 - {{netns: {a}, bridge: s1, ip: 10.67.{subnet}.1/24}}\n\
             \x20 - {{netns: {b}, bridge: s1, ip: 10.67.{subnet}.2/24}}\n\
             \x20 - {{netns: {b}, dev: eth1, bridge: s2, ip: 10.68.{subnet}.2/24}}\n\
             \x20 - {{netns: {c}, bridge: s2, ip: 10.68.{subnet}.3/24}}\n\
             \x20 - {{netns: {ghost}, bridge: s2, ip: 10.68.{subnet}.9/24}}\n",
            a = a.name,
            b = b.name,
            c = c.name,
        ),
    );
    // Port 0: the kernel picks a free one, which the log names.
    let cl = Conlink::start(
        &home,
        &["--network-file", &config, "--http-listen", "127.0.0.1:0"],
    );
    let needle = "HTTP listener (read-only): http://";
    assert!(cl.wait_for(needle, Duration::from_secs(10)), "{}", cl.log());
    let log = cl.log();
    let at = log.find(needle).unwrap() + needle.len();
    let addr: SocketAddr = log[at..].split('/').next().unwrap().parse().unwrap();
    assert!(addr.ip().is_loopback() && addr.port() != 0, "{addr}");
    // Everything that can exist does (the ghost's namespace never will).
    let start = Instant::now();
    loop {
        let s = cl.ctl(&["status", "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&s.stdout).unwrap_or_default();
        let up = v["links"]
            .as_array()
            .map_or(0, |l| l.iter().filter(|l| l["state"] == "up").count());
        if up == 4 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "links not up: {v:#}\n{}",
            cl.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(Lab {
        home,
        a,
        b,
        c,
        ghost,
        cl,
        addr,
        dir,
        config,
    })
}

/// One HTTP/1.1 exchange from inside `ns`: status, headers (lower-case
/// names), body.
fn http(
    ns: &str,
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let raw = in_netns(ns, move || {
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(req.as_bytes()).unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        out
    });
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP head");
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = unchunk(&body);
    }
    (status, headers, body)
}

fn unchunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let n = usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 4 + n..];
    }
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// `/metrics`, parsed by a Prometheus text parser, after checking each
/// line against the exposition format's grammar.
fn scrape(lab: &Lab) -> prometheus_parse::Scrape {
    let (status, headers, body) = http(&lab.home.name, lab.addr, "GET", "/metrics", "");
    assert_eq!(status, 200);
    assert!(
        header(&headers, "content-type")
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{headers:?}"
    );
    let text = String::from_utf8(body).unwrap();
    for line in text.lines() {
        assert!(exposition_line(line), "not exposition format: {line:?}");
    }
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap()
}

/// `# HELP name text`, `# TYPE name type`, or `name{label="value",…} number`
/// with escaped label values (`\\`, `\"`, `\n`).
fn exposition_line(line: &str) -> bool {
    let name_ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            && !s.starts_with(|c: char| c.is_ascii_digit())
    };
    if let Some(rest) = line.strip_prefix("# HELP ") {
        return rest.split_once(' ').is_some_and(|(n, _)| name_ok(n));
    }
    if let Some(rest) = line.strip_prefix("# TYPE ") {
        return rest.split_once(' ').is_some_and(|(n, t)| {
            name_ok(n) && ["counter", "gauge", "histogram", "summary", "untyped"].contains(&t)
        });
    }
    let (series, value) = match line.rsplit_once(' ') {
        Some(x) => x,
        None => return false,
    };
    let value_ok = value.parse::<f64>().is_ok() || ["+Inf", "-Inf", "NaN"].contains(&value);
    let Some(open) = series.find('{') else {
        return name_ok(series) && value_ok;
    };
    if !name_ok(&series[..open]) || !series.ends_with('}') {
        return false;
    }
    // label="value" pairs, values with only escaped quotes inside.
    let mut rest = &series[open + 1..series.len() - 1];
    while !rest.is_empty() {
        let Some(eq) = rest.find("=\"") else {
            return false;
        };
        if !name_ok(&rest[..eq]) {
            return false;
        }
        let v = &rest[eq + 2..];
        let mut i = 0;
        let bytes = v.as_bytes();
        loop {
            match bytes.get(i) {
                None => return false,
                Some(b'\\') => {
                    if !matches!(bytes.get(i + 1), Some(b'\\' | b'"' | b'n')) {
                        return false;
                    }
                    i += 2;
                }
                Some(b'"') => break,
                Some(_) => i += 1,
            }
        }
        rest = &v[i + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
    value_ok
}

fn value(s: &prometheus_parse::Scrape, metric: &str, id: Option<&str>) -> f64 {
    let found = s
        .samples
        .iter()
        .find(|x| x.metric == metric && id.is_none_or(|id| x.labels.get("id") == Some(id)))
        .unwrap_or_else(|| panic!("no {metric} {id:?}"));
    match &found.value {
        prometheus_parse::Value::Counter(v)
        | prometheus_parse::Value::Gauge(v)
        | prometheus_parse::Value::Untyped(v) => *v,
        v => panic!("{metric}: {v:?}"),
    }
}

fn link_state(s: &prometheus_parse::Scrape, id: &str) -> String {
    let ones: Vec<&str> = s
        .samples
        .iter()
        .filter(|x| x.metric == "conlink_link_state" && x.labels.get("id") == Some(id))
        .filter(|x| matches!(x.value, prometheus_parse::Value::Gauge(v) if v == 1.0))
        .filter_map(|x| x.labels.get("state"))
        .collect();
    assert_eq!(ones.len(), 1, "{id}: states set to 1: {ones:?}");
    ones[0].to_owned()
}

#[test]
fn metrics_grow_with_traffic_and_the_listener_is_read_only() {
    let Some(lab) = lab("wm", 1) else { return };
    let a_id = format!("{}:eth0", lab.a.name);
    let b_id = format!("{}:eth0", lab.b.name);
    let ghost_id = format!("{}:eth0", lab.ghost);

    let before = scrape(&lab);
    let tx0 = value(&before, "conlink_link_tx_packets_total", Some(&a_id));
    let rx0 = value(&before, "conlink_link_rx_bytes_total", Some(&b_id));
    assert_eq!(link_state(&before, &a_id), "up");
    assert_eq!(link_state(&before, &ghost_id), "missing");
    assert_eq!(
        value(&before, "conlink_link_netem_active", Some(&a_id)),
        0.0
    );
    // 4 links made (in 3 namespaces; the ghost's never appeared).
    assert_eq!(value(&before, "conlink_links_created_total", None), 4.0);
    assert_eq!(value(&before, "conlink_links_failed_total", None), 0.0);
    assert_eq!(value(&before, "conlink_all_links_connected", None), 0.0);
    let wiring = before
        .samples
        .iter()
        .find(|x| x.metric == "conlink_wiring_latency_seconds")
        .expect("the wiring latency histogram");
    let prometheus_parse::Value::Histogram(buckets) = &wiring.value else {
        panic!("{wiring:?}")
    };
    let total = buckets.iter().find(|b| b.less_than.is_infinite()).unwrap();
    assert_eq!(total.count, 3.0, "one wiring per namespace: {buckets:?}");
    assert!(buckets.windows(2).all(|w| w[0].count <= w[1].count));
    let build = before
        .samples
        .iter()
        .find(|x| x.metric == "conlink_build_info")
        .unwrap();
    assert!(build.labels.get("version").is_some_and(|v| !v.is_empty()));
    // No link without counters has counter series: the ghost has none.
    assert!(!before.samples.iter().any(
        |x| x.metric == "conlink_link_rx_bytes_total" && x.labels.get("id") == Some(&ghost_id)
    ));

    assert!(lab.a.ping("10.67.1.2"));
    let after = scrape(&lab);
    let tx1 = value(&after, "conlink_link_tx_packets_total", Some(&a_id));
    let rx1 = value(&after, "conlink_link_rx_bytes_total", Some(&b_id));
    assert!(tx1 > tx0, "a's tx_packets {tx0} -> {tx1}");
    assert!(
        rx1 >= rx0 + 84.0,
        "b's rx_bytes {rx0} -> {rx1}: a ping is 98 bytes"
    );

    // Read-only: every method but GET and HEAD is refused, on every path,
    // and changes nothing.
    let body = format!("{{\"ids\":[\"{a_id}\"]}}");
    for (method, path) in [
        ("POST", "/v1/links/down"),
        ("POST", "/v1/netem/set"),
        ("PUT", "/"),
        ("DELETE", "/metrics"),
        ("PATCH", "/v1/topology"),
        ("OPTIONS", "/v1/status"),
        ("POST", "/nowhere"),
    ] {
        let (status, headers, body) = http(&lab.home.name, lab.addr, method, path, &body);
        assert_eq!(status, 405, "{method} {path}");
        assert_eq!(
            header(&headers, "allow"),
            Some("GET, HEAD"),
            "{method} {path}"
        );
        let e: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(e["message"].as_str().unwrap().contains("read-only"), "{e}");
    }
    assert!(
        lab.a.ping("10.67.1.2"),
        "a POST over HTTP must not take a link down"
    );
    assert_eq!(link_state(&scrape(&lab), &a_id), "up");
    // HEAD: the headers of GET, no body.
    let (status, headers, body) = http(&lab.home.name, lab.addr, "HEAD", "/", "");
    assert_eq!(status, 200);
    assert!(
        header(&headers, "content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        header(&headers, "content-length")
            .unwrap()
            .parse::<usize>()
            .unwrap()
            > 1000
    );
    assert!(body.is_empty());
    let (status, _, _) = http(&lab.home.name, lab.addr, "HEAD", "/v1/events", "");
    assert_eq!(status, 200);
    let (status, _, _) = http(&lab.home.name, lab.addr, "GET", "/v1/capture?id=x", "");
    assert_eq!(status, 404, "capture is not served here");

    // The JSON read side: links as status has them; topology with targets.
    let (_, _, body) = http(
        &lab.home.name,
        lab.addr,
        "GET",
        &format!("/v1/links?id={a_id}"),
        "",
    );
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["links"].as_array().unwrap().len(), 1, "{v:#}");
    assert_eq!(v["links"][0]["id"], a_id.as_str());
    assert!(v["links"][0]["counters"]["tx_packets"].as_u64().unwrap() > 0);
    let (_, _, body) = http(&lab.home.name, lab.addr, "GET", "/v1/topology", "");
    let t: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(t["origin"], "live");
    assert_eq!(t["links"].as_array().unwrap().len(), 5);
    assert!(
        t["targets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["kind"] == "netns"),
        "{t:#}"
    );
    assert_eq!(t["bridges"].as_array().unwrap().len(), 2);
}

/// `document.querySelector(sel).dataset.state`, as a JS expression.
fn state_js(sel: &str) -> String {
    format!("(document.querySelector({sel:?}) || {{dataset: {{}}}}).dataset.state")
}

#[test]
fn the_page_draws_the_live_topology_and_follows_it() {
    let Some(chromium) = browser::chromium() else {
        common::skip(
            "the_page_draws_the_live_topology_and_follows_it",
            "chromium is not installed (tools/test installs it)",
        );
        return;
    };
    let Some(lab) = lab("wp", 2) else { return };
    let (a, b, c) = (&lab.a, &lab.b, &lab.c);
    let a_id = format!("{}:eth0", a.name);
    let links = [
        a_id.clone(),
        format!("{}:eth0", b.name),
        format!("{}:eth1", b.name),
        format!("{}:eth0", c.name),
        format!("{}:eth0", lab.ghost),
    ];
    let targets = [&a.name, &b.name, &c.name, &lab.ghost];

    let mut br = Browser::start(&chromium, Some(&lab.home.name), 1280, 800);
    br.navigate(&format!("http://{}/", lab.addr));
    assert!(
        br.wait_for(
            "document.body.dataset.ready === '1' && document.body.dataset.events === 'open'",
            Duration::from_secs(15)
        ),
        "the page did not load its topology and open the event stream: {}",
        br.eval("document.body.outerHTML.slice(0, 2000)")
    );
    // Every node and every link is drawn, each link with its state.
    for t in targets {
        let sel = format!("[data-node-id=\"t:{t}\"]");
        assert_eq!(
            br.eval(&format!("!!document.querySelector({sel:?})")),
            true,
            "{sel}"
        );
    }
    for bridge in ["s1", "s2"] {
        let sel = format!("[data-node-id=\"b:{bridge}\"]");
        assert_eq!(
            br.eval(&format!("!!document.querySelector({sel:?})")),
            true,
            "{sel}"
        );
    }
    assert_eq!(
        br.eval("document.querySelectorAll('g.link[data-link-id]').length"),
        5
    );
    for id in &links {
        let want = if id.starts_with(&lab.ghost) {
            "missing"
        } else {
            "up"
        };
        for sel in [
            format!("g.link[data-link-id=\"{id}\"]"),
            format!("[data-port-id=\"{id}\"]"),
        ] {
            assert_eq!(br.eval(&state_js(&sel)), want, "{sel}");
        }
        // Each edge is a real line between two different points.
        let sel = format!("g.link[data-link-id=\"{id}\"] line.wire");
        let len = br.eval(&format!(
            "(l => Math.hypot(l.x2.baseVal.value - l.x1.baseVal.value, l.y2.baseVal.value - l.y1.baseVal.value))(document.querySelector({sel:?}))"
        ));
        assert!(len.as_f64().unwrap() > 5.0, "{sel}: {len}");
    }
    let text = br.eval("document.querySelector('#graph').textContent");
    assert!(text.as_str().unwrap().contains("10.67.2.1/24"), "{text}");
    assert_eq!(
        br.eval("document.querySelector('#summary').textContent"),
        "4 targets · 5 links: 4 up, 1 missing"
    );

    // Taken down from the CLI: down on the page within 2 s, by the event.
    let out = lab.cl.ctl(&["link", "down", &a_id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let asked = Instant::now();
    let sel = format!("g.link[data-link-id=\"{a_id}\"]");
    assert!(
        br.wait_for(
            &format!("{} === 'down'", state_js(&sel)),
            Duration::from_secs(2)
        ),
        "still {} after 2 s",
        br.eval(&state_js(&sel))
    );
    eprintln!("link down shown after {:?}", asked.elapsed());
    assert_eq!(
        br.eval("document.body.dataset.lastEvent"),
        format!("link-down {a_id}")
    );
    assert_eq!(
        br.eval(&state_js(&format!("[data-port-id=\"{a_id}\"]"))),
        "down"
    );

    // Traffic between b and c: a rate appears on their links.
    let mut pinger = Command::new("ip")
        .args([
            "netns",
            "exec",
            &b.name,
            "ping",
            "-i",
            "0.05",
            "-s",
            "1000",
            "-c",
            "200",
            "10.68.2.3",
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let rate_sel = format!("[data-rate-for=\"{}:eth0\"]", c.name);
    let rated = br.wait_for(
        &format!("!!document.querySelector({rate_sel:?})"),
        Duration::from_secs(10),
    );
    let rate = br.eval(&format!(
        "(document.querySelector({rate_sel:?}) || {{}}).textContent"
    ));
    assert!(rated, "no rate shown on {rate_sel}");
    assert!(rate.as_str().unwrap().contains("kB/s"), "{rate}");

    // A click on a link shows its status fields.
    let port = format!("[data-port-id=\"{a_id}\"] text");
    let at = br.eval(&format!(
        "(r => [r.x + r.width / 2, r.y + r.height / 2])(document.querySelector({port:?}).getBoundingClientRect())"
    ));
    br.click(at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
    assert!(br.wait_for(
        "!document.querySelector('#details').hidden",
        Duration::from_secs(2)
    ));
    assert_eq!(
        br.eval("document.querySelector('#details-title').textContent"),
        format!("link {a_id}")
    );
    let details = br.eval("document.querySelector('#details-table').textContent");
    let details = details.as_str().unwrap();
    for want in ["down", "10.67.2.1/24", "s1", "veth", "tx"] {
        assert!(details.contains(want), "{want} not in {details}");
    }

    let png = br.screenshot();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    let shot = lab.dir.path().join("web-page.png");
    std::fs::write(&shot, &png).unwrap();
    if let Some(dir) = std::env::var_os("CONLINK_TEST_ARTIFACTS") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(&shot, std::path::Path::new(&dir).join("web-page.png")).unwrap();
    }
    let _ = pinger.kill();
    let _ = pinger.wait();

    // Up again, again within 2 s.
    let out = lab.cl.ctl(&["link", "up", &a_id]);
    assert!(out.status.success());
    assert!(br.wait_for(
        &format!("{} === 'up'", state_js(&sel)),
        Duration::from_secs(2)
    ));

    // The static page of the same config, from the config alone.
    let html = lab.dir.path().join("topology.html");
    let out = Command::new(common::conlink_bin())
        .args([
            "graph",
            "--network-file",
            &lab.config,
            "--format",
            "html",
            "-o",
        ])
        .arg(&html)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    br.navigate(&format!("file://{}", html.display()));
    assert!(br.wait_for(
        "document.body.dataset.ready === '1'",
        Duration::from_secs(10)
    ));
    assert_eq!(br.eval("document.body.dataset.origin"), "config");
    assert_eq!(
        br.eval("document.querySelectorAll('g.link[data-link-id]').length"),
        5
    );
    for id in &links {
        assert_eq!(
            br.eval(&state_js(&format!("g.link[data-link-id=\"{id}\"]"))),
            "configured"
        );
    }
    for t in targets {
        let sel = format!("[data-node-id=\"t:{t}\"]");
        assert_eq!(
            br.eval(&format!("!!document.querySelector({sel:?})")),
            true,
            "{sel}"
        );
    }
}

/// 40 namespaces and 10 bridges (50 nodes) joined by 100 links: 10
/// routers in a ring of bridges, 30 hosts on 2 or 3 bridges each, picked
/// by a fixed pseudo-random sequence.
fn big_config(dir: &std::path::Path) -> String {
    let mut seed: u64 = 7;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    let mut y = String::from("bridges:\n");
    for i in 0..10 {
        y += &format!("  - {{bridge: s{i}, mode: linux}}\n");
    }
    y += "links:\n";
    for i in 0..10 {
        y += &format!("  - {{netns: r{i}, dev: eth0, bridge: s{i}, ip: 10.{i}.0.1/24}}\n");
        y += &format!(
            "  - {{netns: r{i}, dev: eth1, bridge: s{}, ip: 10.{}.0.2/24}}\n",
            (i + 1) % 10,
            (i + 1) % 10
        );
    }
    for h in 0..30 {
        let mut on: Vec<u64> = Vec::new();
        while on.len() < if h < 20 { 3 } else { 2 } {
            let b = next(10);
            if !on.contains(&b) {
                on.push(b);
            }
        }
        for (d, b) in on.iter().enumerate() {
            y += &format!(
                "  - {{netns: h{h}, dev: eth{d}, bridge: s{b}, ip: 10.{b}.1.{}/24}}\n",
                h + 1
            );
        }
    }
    write(dir, "big.yaml", &y)
}

/// Readable at 50 nodes and 100 links: all drawn, no two boxes overlap,
/// all inside the window, text no smaller than 7 px on screen.
#[test]
fn the_static_page_stays_readable_with_50_nodes_and_100_links() {
    let Some(chromium) = browser::chromium() else {
        common::skip(
            "the_static_page_stays_readable_with_50_nodes_and_100_links",
            "chromium is not installed (tools/test installs it)",
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = big_config(dir.path());
    let html = dir.path().join("big.html");
    let out = Command::new(common::conlink_bin())
        .args(["graph", "--network-file", &config, "--format", "html", "-o"])
        .arg(&html)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut br = Browser::start(&chromium, None, 1600, 1000);
    let t0 = Instant::now();
    br.navigate(&format!("file://{}", html.display()));
    assert!(br.wait_for(
        "document.body.dataset.ready === '1'",
        Duration::from_secs(20)
    ));
    eprintln!("loaded and laid out in {:?}", t0.elapsed());
    assert_eq!(
        br.eval("document.querySelectorAll('[data-node-id]').length"),
        50
    );
    assert_eq!(
        br.eval("document.querySelectorAll('g.link[data-link-id] line.wire').length"),
        100
    );
    let overlaps = br.eval(
        "(() => {
            const r = [...document.querySelectorAll('[data-node-id]')].map(n => [n.dataset.nodeId, n.getBoundingClientRect()]);
            const out = [];
            for (let i = 0; i < r.length; i++) for (let j = i + 1; j < r.length; j++) {
                const a = r[i][1], b = r[j][1];
                if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) out.push(r[i][0] + ' ' + r[j][0]);
            }
            return out;
        })()",
    );
    assert_eq!(overlaps, serde_json::json!([]), "boxes overlap");
    let outside = br.eval(
        "(() => { const s = document.querySelector('#graph').getBoundingClientRect();
            return [...document.querySelectorAll('[data-node-id]')].filter(n => { const b = n.getBoundingClientRect();
                return b.left < s.left || b.top < s.top || b.right > s.right || b.bottom > s.bottom; }).map(n => n.dataset.nodeId); })()",
    );
    assert_eq!(outside, serde_json::json!([]), "nodes outside the window");
    let smallest = br.eval(
        "Math.min(...[...document.querySelectorAll('.porttext')].map(t => t.getBoundingClientRect().height))",
    );
    eprintln!("smallest text {smallest} px high");
    assert!(smallest.as_f64().unwrap() >= 7.0, "text {smallest} px high");
    let png = br.screenshot();
    assert!(png.starts_with(b"\x89PNG"));
    std::fs::write(dir.path().join("big.png"), &png).unwrap();
    if let Some(art) = std::env::var_os("CONLINK_TEST_ARTIFACTS") {
        std::fs::create_dir_all(&art).unwrap();
        std::fs::write(std::path::Path::new(&art).join("web-page-big.png"), &png).unwrap();
    }
}

/// The listener is bound before anything is wired: a port in use stops
/// start-up (nothing made), and a host name is refused as a usage error.
#[test]
fn a_taken_port_stops_start_up_before_any_wiring() {
    if !common::require_root("a_taken_port_stops_start_up_before_any_wiring") {
        return;
    }
    let p = common::unique("wt");
    let home = Netns::new(&format!("{p}h"));
    let a = Netns::new(&format!("{p}a"));
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "net.yaml",
        &format!(
            "links:\n  - {{netns: {}, bridge: s1, ip: 10.69.0.1/24}}\n",
            a.name
        ),
    );
    // Something else holds the port in the sidecar's namespace.
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let holder = common::netns::spawn_in_netns(&home.name, move || {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        port_tx.send(l.local_addr().unwrap()).unwrap();
        let _ = done_rx.recv();
    });
    let taken = port_rx.recv().unwrap().to_string();
    let mut cl = Conlink::start(&home, &["--network-file", &config, "--http-listen", &taken]);
    let code = cl.wait(Duration::from_secs(10));
    let _ = done_tx.send(());
    holder.join().unwrap();
    assert_eq!(code, Some(1), "{}", cl.log());
    let log = cl.log();
    assert!(
        log.contains(&format!("--http-listen {taken}")) && log.contains("in use"),
        "{log}"
    );
    assert!(!log.contains("Creating"), "nothing is wired: {log}");
    assert!(!common::sidecar::links(&a).contains(&"eth0".to_owned()));

    let out = Command::new(common::conlink_bin())
        .args([
            "--check",
            "--network-file",
            &config,
            "--http-listen",
            "localhost:8080",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("expected IP:PORT"), "{err}");
}
