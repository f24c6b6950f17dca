//! `ethtool:` strings (ethtool arguments without the device, e.g.
//! `"--offload rx off tx off"` or `"-K tso off"`) → [`Offload`] settings.
//! Only offload switching is supported; anything else is an error rather
//! than silently ignored.

use crate::net::ethtool::{Offload, OffloadFeature};

fn feature(name: &str) -> Option<OffloadFeature> {
    Some(match name {
        "rx" | "rx-checksumming" | "rx-checksum" => OffloadFeature::Rx,
        "tx" | "tx-checksumming" | "tx-checksum" => OffloadFeature::Tx,
        "sg" | "scatter-gather" => OffloadFeature::Sg,
        "tso" | "tcp-segmentation-offload" => OffloadFeature::Tso,
        "gso" | "generic-segmentation-offload" => OffloadFeature::Gso,
        "gro" | "generic-receive-offload" => OffloadFeature::Gro,
        _ => return None,
    })
}

/// Parse one ethtool argument string into its settings, in order.
pub fn parse_ethtool(s: &str) -> Result<Vec<Offload>, String> {
    let mut words = s.split_whitespace().peekable();
    let mut out = vec![];
    let Some(first) = words.next() else {
        return Err("empty ethtool arguments (like \"--offload tx off\")".into());
    };
    let mut cmd = first;
    loop {
        if !matches!(cmd, "-K" | "--offload" | "--features") {
            return Err(format!(
                "unsupported ethtool option `{cmd}` (conlink supports --offload/-K/--features FEATURE on|off)"
            ));
        }
        let mut any = false;
        while let Some(&name) = words.peek() {
            if name.starts_with('-') {
                break;
            }
            words.next();
            let f = feature(name).ok_or_else(|| {
                format!("unknown offload feature `{name}` (rx, tx, sg, tso, gso, gro or their long names)")
            })?;
            let enabled = match words.next() {
                Some("on") => true,
                Some("off") => false,
                Some(v) => {
                    return Err(format!("`{name}` must be followed by on or off, not `{v}`"));
                }
                None => return Err(format!("`{name}` must be followed by on or off")),
            };
            out.push(Offload {
                feature: f,
                enabled,
            });
            any = true;
        }
        if !any {
            return Err(format!("`{cmd}` needs FEATURE on|off"));
        }
        match words.next() {
            Some(next) => cmd = next,
            None => return Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_short_and_long_names() {
        assert_eq!(
            parse_ethtool("--offload rx off tx-checksumming on -K generic-receive-offload off"),
            Ok(vec![
                Offload {
                    feature: OffloadFeature::Rx,
                    enabled: false
                },
                Offload {
                    feature: OffloadFeature::Tx,
                    enabled: true
                },
                Offload {
                    feature: OffloadFeature::Gro,
                    enabled: false
                },
            ])
        );
        assert_eq!(parse_ethtool("-K sg off tso off gso off").unwrap().len(), 3);
    }

    #[test]
    fn rejects_what_it_cannot_do() {
        for (s, want) in [
            ("", "empty"),
            ("-s speed 100", "unsupported ethtool option `-s`"),
            ("--offload lro off", "unknown offload feature `lro`"),
            ("--offload tx", "must be followed by on or off"),
            ("--offload tx maybe", "not `maybe`"),
            ("--offload", "needs FEATURE on|off"),
            (
                "-K tx off --coalesce rx-usecs 5",
                "unsupported ethtool option `--coalesce`",
            ),
        ] {
            let e = parse_ethtool(s).unwrap_err();
            assert!(e.contains(want), "{s}: {e}");
        }
    }
}
