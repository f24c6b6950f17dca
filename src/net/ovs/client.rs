//! ovsdb-server's JSON-RPC (RFC 7047) over its unix socket, instead of
//! spawning ovs-vsctl: the `transact` requests conlink needs (init, add and
//! delete bridges and ports), built as values so tests can check them, and a
//! small client that sends them.

use std::path::Path;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use crate::net::errors::{NetError, Result};

const DB: &str = "Open_vSwitch";

/// The `external_ids` key that marks the bridges a conlink instance made,
/// like the ifalias mark on its Linux links.
pub const MARK_KEY: &str = "conlink";

fn named(n: &str) -> Value {
    json!(["named-uuid", n])
}

/// `ovs-vsctl add-br NAME -- set Bridge NAME external_ids:conlink=INSTANCE`
/// as one transaction: an internal interface and port named like the
/// bridge, the bridge with conlink's mark, and its entry in the root table.
/// [`Client::add_bridge`] checks for an existing bridge first.
pub fn add_bridge_request(id: u64, bridge: &str, instance: &str) -> Value {
    json!({
        "method": "transact",
        "id": id,
        "params": [DB,
            {"op": "insert", "table": "Interface", "uuid-name": "iface",
             "row": {"name": bridge, "type": "internal"}},
            {"op": "insert", "table": "Port", "uuid-name": "port",
             "row": {"name": bridge, "interfaces": named("iface")}},
            {"op": "insert", "table": "Bridge", "uuid-name": "bridge",
             "row": {"name": bridge, "ports": named("port"),
                     "external_ids": ["map", [[MARK_KEY, instance]]]}},
            {"op": "mutate", "table": "Open_vSwitch", "where": [],
             "mutations": [["bridges", "insert", ["set", [named("bridge")]]]]}
        ]
    })
}

/// `ovs-vsctl add-port BRIDGE PORT`.
pub fn add_port_request(id: u64, bridge: &str, port: &str) -> Value {
    json!({
        "method": "transact",
        "id": id,
        "params": [DB,
            {"op": "insert", "table": "Interface", "uuid-name": "iface",
             "row": {"name": port}},
            {"op": "insert", "table": "Port", "uuid-name": "port",
             "row": {"name": port, "interfaces": named("iface")}},
            {"op": "mutate", "table": "Bridge", "where": [["name", "==", bridge]],
             "mutations": [["ports", "insert", ["set", [named("port")]]]]}
        ]
    })
}

/// `ovs-vsctl init`: the root row every bridge hangs off. A fresh database
/// has none, and a bridge added without it is garbage-collected at once.
pub fn init_request(id: u64) -> Value {
    json!({
        "method": "transact",
        "id": id,
        "params": [DB,
            {"op": "select", "table": "Open_vSwitch", "where": [], "columns": ["_uuid"]}
        ]
    })
}

pub fn insert_root_request(id: u64) -> Value {
    json!({
        "method": "transact",
        "id": id,
        "params": [DB, {"op": "insert", "table": "Open_vSwitch", "row": {}}]
    })
}

/// The bridges that carry `instance`'s mark.
pub fn marked_bridges_request(id: u64, instance: &str) -> Value {
    json!({
        "method": "transact",
        "id": id,
        "params": [DB,
            {"op": "select", "table": "Bridge",
             "where": [["external_ids", "includes", ["map", [[MARK_KEY, instance]]]]],
             "columns": ["_uuid", "name"]}
        ]
    })
}

/// Find the row uuid of a bridge or port by name.
pub fn select_uuid_request(id: u64, table: &str, name: &str) -> Value {
    json!({
        "method": "transact",
        "id": id,
        "params": [DB,
            {"op": "select", "table": table, "where": [["name", "==", name]],
             "columns": ["_uuid"]}
        ]
    })
}

/// `ovs-vsctl del-br BRIDGE` once the bridge's uuid is known.
pub fn del_bridge_request(id: u64, bridge_uuid: &str) -> Value {
    json!({
        "method": "transact",
        "id": id,
        "params": [DB,
            {"op": "mutate", "table": "Open_vSwitch", "where": [],
             "mutations": [["bridges", "delete", ["set", [["uuid", bridge_uuid]]]]]}
        ]
    })
}

/// The first `_uuid` of a select reply, if any.
pub fn uuid_from_select(reply: &Value) -> Option<String> {
    reply["result"][0]["rows"][0]["_uuid"][1]
        .as_str()
        .map(str::to_owned)
}

/// `(name, uuid)` of every row of a select reply for `_uuid` and `name`.
pub fn names_from_select(reply: &Value) -> Vec<(String, String)> {
    reply["result"][0]["rows"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .filter_map(|r| {
                    Some((
                        r["name"].as_str()?.to_owned(),
                        r["_uuid"][1].as_str()?.to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// An error in a transact reply: the top-level `error` or any op's.
pub fn reply_error(reply: &Value) -> Option<String> {
    if !reply["error"].is_null() {
        return Some(reply["error"].to_string());
    }
    reply["result"].as_array()?.iter().find_map(|r| {
        r.get("error").map(|e| {
            let details = r.get("details").and_then(Value::as_str).unwrap_or("");
            format!("{} {details}", e.as_str().unwrap_or("error"))
                .trim()
                .to_owned()
        })
    })
}

/// A connection to ovsdb-server.
pub struct Client {
    stream: UnixStream,
    next_id: u64,
    buf: Vec<u8>,
}

impl Client {
    pub async fn connect(path: &Path) -> std::io::Result<Client> {
        let stream = UnixStream::connect(path).await?;
        Ok(Client {
            stream,
            next_id: 1,
            buf: Vec::new(),
        })
    }

    async fn call(&mut self, make: impl FnOnce(u64) -> Value, what: &str) -> Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let req = make(id);
        let err = |e: std::io::Error| NetError::Ovs(format!("ovsdb {what}: {e}"));
        self.stream
            .write_all(req.to_string().as_bytes())
            .await
            .map_err(err)?;
        loop {
            // Replies are concatenated JSON texts; take complete ones.
            let mut it = serde_json::Deserializer::from_slice(&self.buf).into_iter::<Value>();
            if let Some(Ok(v)) = it.next() {
                let used = it.byte_offset();
                self.buf.drain(..used);
                if v["id"] == json!(id) {
                    if let Some(e) = reply_error(&v) {
                        return Err(NetError::Ovs(format!("ovsdb {what}: {e}")));
                    }
                    return Ok(v);
                }
                // An echo request or an unrelated reply: answer echo, skip rest.
                if v["method"] == "echo" {
                    let pong = json!({"id": v["id"], "result": v["params"], "error": null});
                    self.stream
                        .write_all(pong.to_string().as_bytes())
                        .await
                        .map_err(err)?;
                }
                continue;
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).await.map_err(err)?;
            if n == 0 {
                return Err(NetError::Ovs(format!(
                    "ovsdb {what}: server closed the connection"
                )));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// `ovs-vsctl init`: add the root row unless there is one.
    pub async fn init(&mut self) -> Result<()> {
        let r = self.call(init_request, "find root row").await?;
        if uuid_from_select(&r).is_none() {
            self.call(insert_root_request, "add root row").await?;
        }
        Ok(())
    }

    /// The row uuid of the `table` row named `name`, if there is one.
    async fn find(&mut self, table: &str, name: &str) -> Result<Option<String>> {
        let r = self
            .call(|id| select_uuid_request(id, table, name), "find row")
            .await?;
        Ok(uuid_from_select(&r))
    }

    /// Add the bridge, marked as `instance`'s, unless it exists.
    pub async fn add_bridge(&mut self, bridge: &str, instance: &str) -> Result<()> {
        if self.find("Bridge", bridge).await?.is_none() {
            self.call(|id| add_bridge_request(id, bridge, instance), "add bridge")
                .await?;
        }
        Ok(())
    }

    /// Add a port to the bridge unless the port exists.
    pub async fn add_port(&mut self, bridge: &str, port: &str) -> Result<()> {
        if self.find("Port", port).await?.is_none() {
            self.call(|id| add_port_request(id, bridge, port), "add port")
                .await?;
        }
        Ok(())
    }

    /// Names of the bridges that carry `instance`'s mark.
    pub async fn marked_bridges(&mut self, instance: &str) -> Result<Vec<(String, String)>> {
        let r = self
            .call(
                |id| marked_bridges_request(id, instance),
                "find marked bridges",
            )
            .await?;
        Ok(names_from_select(&r))
    }

    /// Delete a bridge by row uuid (its ports and interfaces go with it).
    pub async fn del_bridge_uuid(&mut self, uuid: &str) -> Result<()> {
        self.call(|id| del_bridge_request(id, uuid), "delete bridge")
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_bridge_is_one_transaction_linking_interface_port_bridge_root() {
        let r = add_bridge_request(7, "s1", "proj");
        assert_eq!(r["method"], "transact");
        assert_eq!(r["id"], 7);
        let p = r["params"].as_array().unwrap();
        assert_eq!(p[0], "Open_vSwitch");
        assert_eq!(p[1]["table"], "Interface");
        assert_eq!(p[1]["row"], json!({"name": "s1", "type": "internal"}));
        assert_eq!(p[2]["row"]["interfaces"], json!(["named-uuid", "iface"]));
        assert_eq!(
            p[3]["row"],
            json!({"name": "s1", "ports": ["named-uuid", "port"],
                   "external_ids": ["map", [["conlink", "proj"]]]})
        );
        assert_eq!(
            p[4]["mutations"],
            json!([["bridges", "insert", ["set", [["named-uuid", "bridge"]]]]])
        );
        assert_eq!(p[4]["where"], json!([]));
    }

    #[test]
    fn add_port_targets_the_named_bridge() {
        let r = add_port_request(1, "s1", "web_1-eth0");
        let p = r["params"].as_array().unwrap();
        assert_eq!(p[1]["row"], json!({"name": "web_1-eth0"}));
        assert_eq!(p[3]["where"], json!([["name", "==", "s1"]]));
        assert_eq!(
            p[3]["mutations"],
            json!([["ports", "insert", ["set", [["named-uuid", "port"]]]]])
        );
    }

    #[test]
    fn marked_bridges_are_selected_by_external_ids_and_read_back() {
        let r = marked_bridges_request(5, "proj");
        assert_eq!(
            r["params"][1]["where"],
            json!([["external_ids", "includes", ["map", [["conlink", "proj"]]]]])
        );
        let reply: Value = serde_json::from_str(
            r#"{"id":5,"result":[{"rows":[{"_uuid":["uuid","u1"],"name":"s1"},{"_uuid":["uuid","u2"],"name":"s2"}]}],"error":null}"#,
        )
        .unwrap();
        assert_eq!(
            names_from_select(&reply),
            vec![("s1".into(), "u1".into()), ("s2".into(), "u2".into())]
        );
    }

    #[test]
    fn replies_are_read_for_uuids_and_errors() {
        let ok: Value = serde_json::from_str(
            r#"{"id":3,"result":[{"rows":[{"_uuid":["uuid","a1b2"]}]}],"error":null}"#,
        )
        .unwrap();
        assert_eq!(uuid_from_select(&ok).as_deref(), Some("a1b2"));
        assert_eq!(reply_error(&ok), None);
        let empty: Value =
            serde_json::from_str(r#"{"id":3,"result":[{"rows":[]}],"error":null}"#).unwrap();
        assert_eq!(uuid_from_select(&empty), None);
        let bad: Value = serde_json::from_str(
            r#"{"id":4,"result":[{},{"error":"constraint violation","details":"duplicate name"}],"error":null}"#,
        )
        .unwrap();
        assert_eq!(
            reply_error(&bad).as_deref(),
            Some("constraint violation duplicate name")
        );
    }

    #[tokio::test]
    async fn client_speaks_json_rpc_over_a_unix_socket() {
        // A scripted peer on a socketpair checks what the client sends and
        // answers like ovsdb-server (including an echo in between).
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        b.set_nonblocking(true).unwrap();
        let mut client = Client {
            stream: UnixStream::from_std(a).unwrap(),
            next_id: 1,
            buf: Vec::new(),
        };
        let mut server = UnixStream::from_std(b).unwrap();
        let peer = tokio::spawn(async move {
            let mut seen = Vec::new();
            for (i, reply) in [
                r#"{"id":1,"result":[{"rows":[]}],"error":null}"#,
                r#"{"id":2,"result":[{"uuid":["uuid","i"]},{"uuid":["uuid","p"]},{"uuid":["uuid","b"]},{"count":1}],"error":null}"#,
            ]
            .into_iter()
            .enumerate()
            {
                // Read until a transact request arrives (the client's
                // answer to the echo may come in the same read).
                'read: loop {
                    let mut buf = vec![0u8; 8192];
                    let n = server.read(&mut buf).await.unwrap();
                    for v in serde_json::Deserializer::from_slice(&buf[..n]).into_iter::<Value>() {
                        let v = v.unwrap();
                        if v["method"] == "transact" {
                            seen.push(v);
                            break 'read;
                        }
                        assert_eq!(v["id"], "echo", "only echo replies besides requests");
                    }
                }
                if i == 0 {
                    server
                        .write_all(br#"{"id":"echo","method":"echo","params":[]}"#)
                        .await
                        .unwrap();
                }
                server.write_all(reply.as_bytes()).await.unwrap();
            }
            seen
        });
        client.add_bridge("s1", "proj").await.unwrap();
        let seen = peer.await.unwrap();
        assert_eq!(seen[0]["params"][1]["op"], "select");
        assert_eq!(seen[1], add_bridge_request(2, "s1", "proj"));
    }
}
