//! The real binary: `--show-config`, `--check` and `graph` on fixtures.

use std::path::PathBuf;
use std::process::{Command, Output};

mod common;

fn fixture(p: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(p)
        .display()
        .to_string()
}

fn conlink(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_conlink"))
        .args(args)
        .env_remove("CONLINK_BRIDGE_MODE")
        .env_remove("CONLINK_TEST_SURELY_UNSET")
        .output()
        .expect("run conlink")
}

#[test]
fn show_config_prints_the_2x_shape() {
    let out = conlink(&[
        "--show-config",
        "--compose-file",
        &fixture("embedded/compose.yaml"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let keys: Vec<_> = v["bridges"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["s1", "s2", "s3"]);
    assert_eq!(v["bridges"]["s3"]["mode"], "patch");
    let node2 = &v["services"]["node2"]["links"][0];
    assert_eq!(node2["ip"], "10.100.2.2/24");
    assert_eq!(node2["dev"], "eth0");
    assert_eq!(node2["type"], "veth");
    assert_eq!(node2["mtu"], 65535);
    assert_eq!(node2["bridge"]["bridge"], "s2");
    assert!(node2["mac"].as_str().unwrap().starts_with("c2:"));
    assert_eq!(v["services"]["r0"]["links"].as_array().unwrap().len(), 3);
    assert_eq!(
        v["services"]["r0"]["commands"][0]["command"],
        "sysctl -w net.ipv4.ip_forward=1"
    );
    assert_eq!(
        v["containers"]["standalone"]["commands"][0]["command"],
        "ip addr"
    );
    assert!(v["tunnels"].as_array().unwrap().is_empty());
}

/// 2.x's test7: a top-level and a service-level plain-string `netem` for
/// the same link merge as 2.x merges them (the later string wins), not as
/// two options that clash.
#[test]
fn show_config_merges_string_values_like_2x() {
    let out = conlink(&[
        "--show-config",
        "--compose-file",
        &fixture("test7/compose.yaml"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let links = v["services"]["node"]["links"].as_array().unwrap();
    assert_eq!(links.len(), 2);
    let eth0 = &links[0];
    assert_eq!(eth0["dev"], "eth0");
    assert_eq!(eth0["netem"], serde_json::json!(["rate 10mbit delay 40ms"]));
    assert_eq!(
        eth0["ethtool"],
        serde_json::json!(["--offload tx off", "--offload rx off"])
    );
    assert_eq!(eth0["mtu"], 4111);
    assert_eq!(eth0["mac"], "00:0a:0b:0c:0d:01");
    assert_eq!(eth0["bridge"]["bridge"], "s1");
    assert!(links[1].get("netem").is_none());
}

#[test]
fn show_config_takes_colon_lists_and_default_flags() {
    let files = format!(
        "{}:{}",
        fixture("scaling/network.yaml"),
        fixture("json/network.json")
    );
    let out = conlink(&[
        "--show-config",
        "--network-file",
        &files,
        "--default-mtu",
        "9000",
        "--keep-veth-offload",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let l = &v["services"]["node"]["links"][0];
    assert_eq!(l["mtu"], 9000);
    assert!(
        l.get("ethtool").is_none(),
        "no tx off with --keep-veth-offload"
    );
    assert_eq!(v["tunnels"][0]["dev"], "geneve-1001");
    assert_eq!(v["containers"]["jc"]["links"][0]["ip"], "10.8.0.1/24");
}

#[test]
fn check_prints_a_summary() {
    let out = conlink(&[
        "--check",
        "--compose-file",
        &fixture("embedded/compose.yaml"),
    ]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "6 links on 4 services/containers, 3 bridges, 0 tunnels, 2 commands"
    );
}

/// Each invalid fixture exits 2 and names every expected error (listed one
/// path per line in the `.errors` file beside it), and no other.
#[test]
fn check_reports_all_errors_of_invalid_fixtures() {
    for name in [
        "links",
        "values",
        "bridges-tunnels-commands",
        "compose",
        "syntax",
        "kernel",
    ] {
        let file = fixture(&format!("invalid/{name}.yaml"));
        let flag = if name == "compose" {
            "--compose-file"
        } else {
            "--network-file"
        };
        let out = conlink(&["--check", flag, &file]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(out.stdout.is_empty(), "{name}: nothing on stdout");
        let expected = std::fs::read_to_string(fixture(&format!("invalid/{name}.errors"))).unwrap();
        let expected: Vec<&str> = expected.lines().filter(|l| !l.is_empty()).collect();
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with(&format!("  {file}: ")))
            .collect();
        assert_eq!(lines.len(), expected.len(), "{name}:\n{stderr}");
        for path in &expected {
            let want = if *path == "(root)" {
                format!("  {file}: invalid YAML")
            } else {
                format!("  {file}: {path}: ")
            };
            assert!(
                lines.iter().any(|l| l.starts_with(&want)),
                "{name}: no error at {path}:\n{stderr}"
            );
        }
        let n = expected.len();
        assert!(
            stderr.contains(&format!("has {n} error")),
            "{name}: {stderr}"
        );
    }
}

/// A network file with this text in a temporary directory.
fn network_file(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net.yaml");
    std::fs::write(&path, text).unwrap();
    let p = path.display().to_string();
    (dir, p)
}

#[test]
fn check_summary_ends_its_line() {
    let out = conlink(&[
        "--check",
        "--compose-file",
        &fixture("embedded/compose.yaml"),
    ]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.ends_with("commands\n"), "{stdout:?}");
    assert_eq!(stdout.lines().count(), 1, "{stdout:?}");
}

#[test]
fn interpolation_nested_40000_deep_is_a_config_error() {
    let depth = 40_000;
    let value = format!("{}10.0.0.1/24{}", "${A:-".repeat(depth), "}".repeat(depth));
    let (_dir, file) = network_file(&format!(
        "links:\n  - {{netns: a, bridge: s1, ip: \"{value}\"}}\n"
    ));
    // Returns (no stack overflow, no quadratic scan): the depth bound stops
    // at level 65.
    let out = conlink(&["--check", "--network-file", &file]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "  {file}: links[0].ip: interpolation `${{…}}` nesting deeper than 64 levels (got \""
        )),
        "{stderr}"
    );
    // The 280 KB value is echoed clipped, with its size.
    assert!(
        stderr.contains(&format!("… ({} bytes))", value.len() + 2)),
        "{stderr}"
    );
    assert!(stderr.len() < 2_000, "{} bytes on stderr", stderr.len());
    // The same depth that fits is fine.
    let ok = format!("{}10.0.0.1/24{}", "${A:-".repeat(64), "}".repeat(64));
    let (_dir, file) = network_file(&format!(
        "links:\n  - {{netns: a, bridge: s1, ip: \"{ok}\"}}\n"
    ));
    let out = conlink(&["--show-config", "--network-file", &file]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["links"][0]["ip"], "10.0.0.1/24");
}

#[test]
fn huge_values_are_echoed_clipped() {
    let value = "9".repeat(10_000_000);
    let (_dir, file) = network_file(&format!(
        "links:\n  - {{netns: a, bridge: s1, ip: \"{value}\"}}\n"
    ));
    let out = conlink(&["--check", "--network-file", &file]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        &stderr[..stderr.len().min(500)]
    );
    assert!(stderr.len() < 1_000, "{} bytes on stderr", stderr.len());
    assert!(
        stderr.contains(&format!(
            "  {file}: links[0].ip: not an IPv4 address with prefix length (like 10.0.1.1/24) (got \"{}… (10000002 bytes))",
            "9".repeat(199)
        )),
        "{stderr}"
    );
}

#[test]
fn outer_names_that_collided_in_2x_pass_and_real_clashes_fail() {
    let (_dir, file) = network_file(
        "links:
  - {netns: verylongns-a, bridge: s1}
  - {netns: verylongns-b, bridge: s1}
  - {netns: verylongns-a, dev: ethernet1, bridge: s1}
  - {netns: verylongns-a, dev: ethernet2, bridge: s1}
",
    );
    let out = conlink(&["--check", "--network-file", &file]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_dir, file) = network_file(
        "bridges: [{bridge: br0, mode: linux}]
links:
  - {netns: a, bridge: br0}
  - {netns: b, bridge: br0, outer-dev: br0}
  - {netns: c, bridge: br0, outer-dev: a-eth0}
",
    );
    let out = conlink(&["--check", "--network-file", &file]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("has 2 errors"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "  {file}: links[1].outer-dev: outer-dev of netns b:eth0: interface name br0 is already taken by bridge br0 at {file}: bridges[0].bridge;"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "  {file}: links[2].outer-dev: outer-dev of netns c:eth0: interface name a-eth0 is already taken by outer end of netns a:eth0 at {file}: links[0];"
        )),
        "{stderr}"
    );
}

#[test]
fn missing_files_and_no_files_are_config_errors() {
    let out = conlink(&["--check", "--network-file", "/nonexistent/net.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("/nonexistent/net.yaml: cannot read file")
    );
    let out = conlink(&["--check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("give --compose-file or --network-file"));
}

#[test]
fn graph_writes_dot() {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("topo.dot");
    let out = conlink(&[
        "graph",
        "--compose-file",
        &fixture("embedded/compose.yaml"),
        "-o",
        out_file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dot = std::fs::read_to_string(&out_file).unwrap();
    assert!(dot.starts_with("graph conlink {"));
    assert!(dot.contains("\"service:node2:eth0\" -- \"bridge:s2\""));
    // node1 states `scale: 2`: one box with both addresses; r0 routes.
    assert!(dot.contains("label=\"service node1 ×2\""), "{dot}");
    assert!(dot.contains("10.100.1.2–3/24"), "{dot}");
    assert!(dot.contains("label=\"service r0 (router)\""), "{dot}");
    assert!(
        dot.contains("\"service:node1:eth0\" -- \"service:r0:e1\" [style=dotted"),
        "{dot}"
    );
}

#[test]
fn graph_renders_svg_when_dot_is_installed() {
    if which::which("dot").is_err() {
        common::skip(
            "graph_renders_svg_when_dot_is_installed",
            "Graphviz `dot` is not installed",
        );
        let out = conlink(&[
            "graph",
            "--format",
            "svg",
            "--compose-file",
            &fixture("embedded/compose.yaml"),
        ]);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("needs Graphviz's `dot`"));
        return;
    }
    let out = conlink(&[
        "graph",
        "--format",
        "svg",
        "--compose-file",
        &fixture("embedded/compose.yaml"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = String::from_utf8_lossy(&out.stdout);
    assert!(svg.contains("<svg"), "{svg}");
    assert!(svg.contains("10.100.2.2/24"));
}

#[test]
fn config_schema_prints_a_json_schema() {
    let out = conlink(&["--config-schema"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["$schema"], "https://json-schema.org/draft/2020-12/schema");
    let link = &v["$defs"]["link"]["properties"];
    for k in [
        "service", "bridge", "ip", "route", "netem", "ethtool", "forward",
    ] {
        assert!(link.get(k).is_some(), "link key {k} in {link}");
    }
    assert!(v["$defs"]["tunnel"]["properties"].get("port").is_some());
}

/// conlink 2.x took `--config-schema FILE` (the schema it validated
/// against); such a command line keeps working, the file is ignored.
#[test]
fn config_schema_with_a_2x_file_argument_is_accepted() {
    let out = conlink(&[
        "--config-schema",
        "/app/build/schema.yaml",
        "--compose-file",
        &fixture("embedded/compose.yaml"),
        "--check",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("links on"),
        "the check ran"
    );
    assert!(
        stderr.contains("--config-schema /app/build/schema.yaml: ignored"),
        "{stderr}"
    );
}

/// The `auto` → linux fallback is the normal case without openvswitch: one
/// info line for all bridges, with the reason and how to choose a mode.
#[test]
fn auto_bridge_mode_is_one_info_line() {
    let (_dir, file) = network_file(
        "links:
  - {netns: a, bridge: s1}
  - {netns: b, bridge: s2}
",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_conlink"))
        .args(["--check", "--network-file", &file])
        .env_remove("CONLINK_BRIDGE_MODE")
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<_> = stderr.lines().filter(|l| l.contains("mode auto")).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains(" INFO "), "{stderr}");
    assert!(
        lines[0].contains("bridges s1, s2 have mode auto"),
        "{stderr}"
    );
    assert!(lines[0].contains("--default-bridge-mode"), "{stderr}");
    assert!(lines[0].contains("CONLINK_BRIDGE_MODE"), "{stderr}");
    assert!(!stderr.contains("WARN"), "{stderr}");
}

/// 2.x read `.edn` network files; conlink says how to convert one instead
/// of misreading it as YAML.
#[test]
fn edn_network_files_are_a_config_error_with_the_conversion() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net.edn");
    std::fs::write(&path, "{:links [{:service \"node\" :bridge \"s1\"}]}").unwrap();
    let file = path.display().to_string();
    let out = conlink(&["--check", "--network-file", &file]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{file}: EDN network files are not supported (conlink 2.x read them)"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("clojure.edn/read-string"), "{stderr}");
}

/// examples/ipv6 through the binary: `--check` passes, `--show-config`
/// keeps a list as a list and a single IPv6 string as a string, and the
/// graph shows the replicas' IPv6 range.
#[test]
fn ipv6_example_checks_shows_and_draws() {
    let file = format!("{}/examples/ipv6/compose.yaml", env!("CARGO_MANIFEST_DIR"));
    let out = conlink(&["--check", "--compose-file", &file, "--compose-project", "p"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = conlink(&[
        "--show-config",
        "--compose-file",
        &file,
        "--compose-project",
        "p",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let links = &v["services"];
    assert_eq!(
        links["node"]["links"][0]["ip"],
        serde_json::json!(["10.0.6.1/24", "fd00:6::1/64"])
    );
    assert_eq!(links["r0"]["links"][1]["ip"], "fd00:7::64/64");
    assert_eq!(
        links["web"]["links"][0]["route"],
        serde_json::json!(["fd00:6::/64 via fd00:7::64"])
    );
    let out = conlink(&["graph", "--compose-file", &file]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dot = String::from_utf8_lossy(&out.stdout);
    assert!(
        dot.contains("10.0.6.1–3/24\\nfd00:6::1–3/64"),
        "replica ranges of both families:\n{dot}"
    );
}
