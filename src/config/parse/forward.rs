//! `forward:` strings `"CPORT:PORT/tcp|udp"` → [`Forward`]: traffic to
//! conlink's CPORT goes to the link's ip on PORT.

use crate::net::spec::{Forward, Protocol};

fn port(s: &str) -> Result<u16, String> {
    s.parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("`{s}` is not a port (1–65535)"))
}

pub fn parse_forward(s: &str) -> Result<Forward, String> {
    let shape = || format!("`{s}` is not a forward (like \"8080:80/tcp\")");
    let (ports, proto) = s.trim().split_once('/').ok_or_else(shape)?;
    let (cport, p) = ports.split_once(':').ok_or_else(shape)?;
    let proto = match proto {
        "tcp" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        _ => return Err(format!("protocol `{proto}` is not tcp or udp")),
    };
    Ok(Forward {
        conlink_port: port(cport)?,
        port: port(p)?,
        proto,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!(
            parse_forward("8080:80/tcp"),
            Ok(Forward {
                conlink_port: 8080,
                port: 80,
                proto: Protocol::Tcp
            })
        );
        assert_eq!(parse_forward("53:5353/udp").unwrap().proto, Protocol::Udp);
        for (s, want) in [
            ("8080:80", "not a forward"),
            ("8080/tcp", "not a forward"),
            ("0:80/tcp", "`0` is not a port"),
            ("80:65536/tcp", "`65536` is not a port"),
            ("80:80/sctp", "protocol `sctp`"),
        ] {
            let e = parse_forward(s).unwrap_err();
            assert!(e.contains(want), "{s}: {e}");
        }
    }
}
