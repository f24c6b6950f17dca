//! The control socket in the stock image, as a user reaches it:
//! `docker compose exec network /conlink status`, a replica's link taken
//! down, held down across that replica's restart, and brought back up.

mod common;
mod e2e;

use std::time::{Duration, Instant};

use e2e::Example;

fn conlink(ex: &Example, args: &[&str]) -> std::process::Output {
    let mut argv = vec!["/conlink"];
    argv.extend_from_slice(args);
    ex.compose.exec("network", 1, &argv)
}

fn status(ex: &Example) -> serde_json::Value {
    let out = conlink(ex, &["status", "--json"]);
    assert!(
        out.status.success(),
        "status: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("status --json")
}

/// The link of replica `index` of `service`, by its compose identity.
fn link_of(s: &serde_json::Value, service: &str, dev: &str, n: usize) -> serde_json::Value {
    let mut ls: Vec<&serde_json::Value> = s["links"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["service"] == service && l["dev"] == dev)
        .collect();
    ls.sort_by_key(|l| l["target"].as_str().unwrap_or("").to_owned());
    ls.get(n - 1)
        .copied()
        .cloned()
        .unwrap_or_else(|| panic!("no replica {n} of {service}:{dev} in {s:#}"))
}

#[test]
fn status_and_a_link_held_down_across_a_restart() {
    let test = "status_and_a_link_held_down_across_a_restart";
    let Some(ex) = Example::new(test, "e2ectl", "quickstart", &["compose.yaml"]) else {
        return;
    };
    ex.up();

    let table = conlink(&ex, &["status"]);
    assert!(
        table.status.success(),
        "{}",
        String::from_utf8_lossy(&table.stderr)
    );
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.contains("All links connected"), "{table}");
    let s = status(&ex);
    // h1, h2, r0 (two links), node ×2.
    assert_eq!(s["links"].as_array().unwrap().len(), 6, "{s:#}");
    assert!(
        s["links"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["state"] == "up"),
        "{s:#}"
    );

    // Replica 2 down: node_1 cannot reach it.
    let node2 = link_of(&s, "node", "eth0", 2);
    let id = node2["id"].as_str().unwrap().to_owned();
    assert_eq!(node2["addresses"][0], "10.0.2.12/24");
    let out = conlink(&ex, &["link", "down", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ex.assert_no_ping("node", 1, "10.0.2.12");

    // Restarted while down: it comes back down.
    ex.compose.ok(&["restart", "-t", "1", "node"]);
    let start = Instant::now();
    while !ex.logs().contains(&format!("{id}: held down")) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no re-wiring of {id} held down:\n{}",
            ex.logs()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    ex.wait_for_addr("node", 2, "eth0", "10.0.2.12/24");
    ex.wait_for_addr("node", 1, "eth0", "10.0.2.11/24");
    assert_eq!(link_of(&status(&ex), "node", "eth0", 2)["state"], "down");
    ex.assert_no_ping("node", 1, "10.0.2.12");

    // Up: traffic again.
    let out = conlink(&ex, &["link", "up", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ex.assert_ping("node", 1, "10.0.2.12");
    ex.assert_ping("h1", 1, "10.0.2.12");
    ex.assert_no_errors();
    ex.stop_and_check_cleanup(&[("h1", 1), ("h2", 1), ("r0", 1), ("node", 1), ("node", 2)]);
}
