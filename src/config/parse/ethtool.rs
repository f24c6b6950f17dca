//! `ethtool:` strings (ethtool arguments without the device, e.g.
//! `"--offload rx off tx off"` or `"-K rxvlan off tx-checksum-ip-generic off"`)
//! → [`Offload`] settings. Only offload switching is supported; anything
//! else is an error rather than silently ignored. Feature names are
//! `ethtool -K`'s: its classic names, or strings shaped like the kernel's
//! feature strings — whether the device has one is checked when the link
//! is made (the config cannot know the device).

use crate::net::ethtool::{Offload, OffloadFeature};

fn feature(name: &str) -> Option<OffloadFeature> {
    OffloadFeature::parse(name)
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
                format!(
                    "`{name}` is not an offload feature name: use ethtool -K's names \
                     (rx, tx, sg, tso, gso, gro, lro, rxvlan, txvlan, ntuple, rxhash, their long \
                     names, or a kernel feature as `ethtool -k` lists it, like tx-checksum-ip-generic)"
                )
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
    fn classic_aliases_and_kernel_names() {
        let got: Vec<_> = parse_ethtool(
            "-K lro off rxvlan off txvlan on ntuple off rxhash on rx-vlan-offload off \
             tx-checksum-ip-generic off rx-udp-gro-forwarding on",
        )
        .unwrap()
        .iter()
        .map(|o| (o.feature.name().to_owned(), o.enabled))
        .collect();
        let want: Vec<(String, bool)> = [
            ("lro", false),
            ("rxvlan", false),
            ("txvlan", true),
            ("ntuple", false),
            ("rxhash", true),
            ("rxvlan", false),
            ("tx-checksum-ip-generic", false),
            ("rx-udp-gro-forwarding", true),
        ]
        .iter()
        .map(|(n, e)| (n.to_string(), *e))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn rejects_what_it_cannot_do() {
        for (s, want) in [
            ("", "empty"),
            ("-s speed 100", "unsupported ethtool option `-s`"),
            ("--offload LRO off", "`LRO` is not an offload feature name"),
            ("-K tx.csum off", "`tx.csum` is not an offload feature name"),
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
