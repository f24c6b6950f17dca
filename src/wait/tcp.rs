//! `-t HOST:PORT`: the target's syntax and one connection attempt.

use std::fmt;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::str::FromStr;
use std::time::Duration;

/// A TCP endpoint as written on the command line; the host is resolved again
/// on every attempt so a name that appears in DNS later is picked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpTarget {
    host: String,
    port: u16,
}

impl FromStr for TcpTarget {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("'{s}': {why} (expected HOST:PORT or [IPv6]:PORT)");
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (h, p) = rest
                .split_once("]:")
                .ok_or_else(|| bad("no ']:' after the IPv6 address"))?;
            h.parse::<std::net::Ipv6Addr>()
                .map_err(|_| bad("not an IPv6 address in brackets"))?;
            (h, p)
        } else {
            let (h, p) = s.rsplit_once(':').ok_or_else(|| bad("no port"))?;
            if h.contains(':') {
                return Err(bad("IPv6 addresses need brackets"));
            }
            (h, p)
        };
        if host.is_empty() {
            return Err(bad("empty host"));
        }
        let port: u16 = match port.parse() {
            Ok(p) if p > 0 => p,
            _ => return Err(bad("port must be 1 to 65535")),
        };
        Ok(TcpTarget {
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for TcpTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl TcpTarget {
    /// The addresses the host stands for right now. Literal addresses need
    /// no resolver (nor /etc files, which a FROM-scratch image lacks).
    fn addresses(&self) -> Vec<SocketAddr> {
        if let Ok(ip) = self.host.parse::<IpAddr>() {
            return vec![SocketAddr::new(ip, self.port)];
        }
        match (self.host.as_str(), self.port).to_socket_addrs() {
            Ok(addrs) => addrs.collect(),
            Err(e) => {
                tracing::debug!("resolving {}: {e}", self.host);
                Vec::new()
            }
        }
    }

    /// Try each address once; the address that accepted, if any.
    pub fn try_connect(&self, timeout: Duration) -> Option<SocketAddr> {
        let timeout = timeout.max(Duration::from_millis(10));
        self.addresses()
            .into_iter()
            .find(|a| match TcpStream::connect_timeout(a, timeout) {
                Ok(_) => true,
                Err(e) => {
                    tracing::debug!("connect {a}: {e}");
                    false
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_host_port_and_bracketed_ipv6() {
        let t: TcpTarget = "db.local:5432".parse().unwrap();
        assert_eq!((t.host.as_str(), t.port), ("db.local", 5432));
        let t: TcpTarget = "[::1]:80".parse().unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 80));
        assert_eq!(t.to_string(), "[::1]:80");
        assert_eq!(
            "10.0.0.1:1".parse::<TcpTarget>().unwrap().to_string(),
            "10.0.0.1:1"
        );
    }

    #[test]
    fn rejects_what_cannot_be_a_target() {
        for bad in [
            "host",
            ":80",
            "h:",
            "h:0",
            "h:65536",
            "h:x",
            "::1:80",
            "[::1]80",
            "[nope]:80",
        ] {
            let e = bad.parse::<TcpTarget>().unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn connects_to_a_loopback_listener_and_not_to_a_closed_port() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let t: TcpTarget = format!("127.0.0.1:{port}").parse().unwrap();
        assert!(t.try_connect(Duration::from_secs(1)).is_some());
        drop(l);
        assert!(t.try_connect(Duration::from_secs(1)).is_none());
    }
}
