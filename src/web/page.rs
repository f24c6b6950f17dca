//! The topology page: one HTML document with its style and script inlined
//! (all three embedded in the binary; no CDN, no build step). Served live
//! by the listener, where the script fetches `/v1/topology` and follows
//! `/v1/events`; or written by `conlink graph --format html` with the
//! topology embedded as JSON, where it only draws.

use std::sync::OnceLock;

use super::topology::Topology;

const TEMPLATE: &str = include_str!("page/index.html");
const STYLE: &str = include_str!("page/style.css");
const SCRIPT: &str = include_str!("page/app.js");

/// Where the style, the script and the embedded data go in the template.
const STYLE_AT: &str = "/*@STYLE@*/";
const SCRIPT_AT: &str = "/*@SCRIPT@*/";
const DATA_AT: &str = "<!--@DATA@-->";

fn assemble(data: &str) -> String {
    TEMPLATE
        .replacen(STYLE_AT, STYLE, 1)
        .replacen(SCRIPT_AT, SCRIPT, 1)
        .replacen(DATA_AT, data, 1)
}

/// The page served by the listener (assembled once).
pub fn live() -> &'static str {
    static PAGE: OnceLock<String> = OnceLock::new();
    PAGE.get_or_init(|| assemble(""))
}

/// The page with `topology` embedded: a static file that needs no daemon.
pub fn with_topology(topology: &Topology) -> String {
    // `<` only occurs inside JSON strings, where `\u003c` means the same:
    // so no `</script>` in a name can end the element early.
    let json = serde_json::to_string(topology)
        .unwrap_or_else(|_| "null".into())
        .replace('<', "\\u003c");
    assemble(&format!(
        "<script type=\"application/json\" id=\"conlink-topology\">{json}</script>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::topology::{Origin, TargetNode};

    #[test]
    fn the_page_is_one_self_contained_document() {
        let page = live();
        assert!(page.starts_with("<!DOCTYPE html>"), "{}", &page[..40]);
        for marker in [STYLE_AT, SCRIPT_AT, DATA_AT] {
            assert!(!page.contains(marker), "{marker} left in the page");
        }
        assert!(page.contains(SCRIPT.trim()) && page.contains(STYLE.trim()));
        // Nothing is loaded from elsewhere: no external scripts, styles,
        // fonts or images (the SVG namespace is a name, not a fetch).
        for outside in ["<script src", "<link", "@import", "url(http", "src=\"http"] {
            assert!(!page.contains(outside), "the page refers to {outside}");
        }
        for asset in [STYLE, SCRIPT] {
            assert!(!asset.contains("</script") && !asset.contains("</style"));
        }
        assert!(!page.contains("id=\"conlink-topology\""));
    }

    #[test]
    fn an_embedded_topology_cannot_end_its_script_element() {
        let t = Topology {
            origin: Origin::Config,
            version: "x".into(),
            milestone: false,
            targets: vec![TargetNode {
                name: "</script><b>x".into(),
                kind: "container".into(),
                service: None,
            }],
            links: vec![],
            bridges: vec![],
            tunnels: vec![],
            commands: vec![],
        };
        let page = with_topology(&t);
        let start = page.find("id=\"conlink-topology\">").unwrap() + 22;
        let end = start + page[start..].find("</script>").unwrap();
        let back: Topology = serde_json::from_str(&page[start..end]).unwrap();
        assert_eq!(back, t);
    }
}
