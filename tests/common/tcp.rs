//! One TCP exchange across namespaces: a server that greets one connection
//! and a client that reads the greeting. Addresses are `ip:port` text, IPv4
//! (`10.0.0.1:80`) or IPv6 (`[fd00::1]:80`).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::netns::spawn_in_netns;

/// What the server of [`serve_once`] writes to the connection it accepts.
pub const GREETING: &str = "hello-from-service";

/// A TCP server in `ns` on `bind`, listening when this returns: answers one
/// connection with [`GREETING`] and returns (its local address, the peer
/// address) it saw, or `None` when no connection came within 8 s (so a
/// failing test does not hang).
pub fn serve_once(ns: &str, bind: &str) -> JoinHandle<Option<(String, String)>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let bind = bind.to_owned();
    let h = spawn_in_netns(ns, move || {
        let l = TcpListener::bind(&bind).expect("bind");
        l.set_nonblocking(true).unwrap();
        tx.send(()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(8);
        while Instant::now() < deadline {
            match l.accept() {
                Ok((mut s, peer)) => {
                    let local = s.local_addr().unwrap();
                    s.write_all(GREETING.as_bytes()).unwrap();
                    return Some((local.to_string(), peer.ip().to_string()));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        None
    });
    rx.recv().unwrap();
    h
}

/// Connect from `ns` to `to` (up to 5 s) and read what the server sends
/// (up to 3 s); `None` when either fails.
pub fn connect_from(ns: &str, to: &str) -> Option<String> {
    let to: SocketAddr = to.parse().unwrap();
    spawn_in_netns(ns, move || {
        let mut s = TcpStream::connect_timeout(&to, Duration::from_secs(5)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut buf = String::new();
        s.read_to_string(&mut buf).ok()?;
        Some(buf)
    })
    .join()
    .unwrap()
}
