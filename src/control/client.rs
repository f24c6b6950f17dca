//! The control API's client: one HTTP/1.1 request per connection to the
//! sidecar's Unix socket (hyper's connection-level client over a tokio
//! `UnixStream`). Errors say which socket and why it could not be reached.

use std::path::{Path, PathBuf};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::api::{Changed, ControlError, Direction, NetemReset, NetemSet, Select, Status};
use super::show::direction_text;

/// Where the sidecar serves the API unless told otherwise.
pub const DEFAULT_SOCKET: &str = "/run/conlink/control.sock";
/// Environment variable naming the socket (client and sidecar).
pub const SOCKET_ENV: &str = "CONLINK_CONTROL_SOCKET";

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the control socket {}: {why}", path.display())]
    Unreachable { path: PathBuf, why: String },
    /// The server answered with an error.
    #[error("{0}")]
    Server(ControlError),
    #[error("control socket {}: {detail}", path.display())]
    Protocol { path: PathBuf, detail: String },
}

pub struct Client {
    path: PathBuf,
}

impl Client {
    pub fn new(path: impl Into<PathBuf>) -> Client {
        Client { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn protocol(&self, detail: impl std::fmt::Display) -> ClientError {
        ClientError::Protocol {
            path: self.path.clone(),
            detail: detail.to_string(),
        }
    }

    /// Send one request on a fresh connection; an error status comes back
    /// as [`ClientError::Server`] with the server's [`ControlError`].
    pub async fn send(
        &self,
        method: Method,
        uri: &str,
        body: Option<Vec<u8>>,
        trailers: bool,
    ) -> Result<Response<Incoming>, ClientError> {
        let stream = tokio::net::UnixStream::connect(&self.path)
            .await
            .map_err(|e| ClientError::Unreachable {
                path: self.path.clone(),
                why: unreachable_why(&e),
            })?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| self.protocol(e))?;
        // The connection lives as long as the response body is read.
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, "conlink");
        if trailers {
            req = req.header(header::TE, "trailers");
        }
        let req = match &body {
            Some(_) => req.header(header::CONTENT_TYPE, "application/json"),
            None => req,
        }
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| self.protocol(e))?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| self.protocol(e))?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| self.protocol(e))?
            .to_bytes();
        Err(match serde_json::from_slice::<ControlError>(&bytes) {
            Ok(e) => ClientError::Server(e),
            Err(_) => self.protocol(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&bytes).trim()
            )),
        })
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        uri: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, ClientError> {
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| self.protocol(e))?;
        let resp = self.send(method, uri, body, false).await?;
        let ok_json = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v == HeaderValue::from_static("application/json"));
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| self.protocol(e))?
            .to_bytes();
        if !ok_json {
            return Err(self.protocol("the answer is not JSON"));
        }
        serde_json::from_slice(&bytes).map_err(|e| self.protocol(format!("bad answer: {e}")))
    }

    /// `GET /v1/status[?id=…]`.
    pub async fn status(&self, ids: &[String]) -> Result<Status, ClientError> {
        serde_json::from_value(self.status_json(ids).await?)
            .map_err(|e| self.protocol(format!("bad answer: {e}")))
    }

    /// The status as the server sent it (fields this client does not know
    /// of included: `status --json` shows them).
    pub async fn status_json(&self, ids: &[String]) -> Result<serde_json::Value, ClientError> {
        let uri = with_query("/v1/status", ids.iter().map(|i| ("id", i.as_str())));
        self.json(Method::GET, &uri, None::<&()>).await
    }

    /// `POST /v1/links/down` or `/v1/links/up`.
    pub async fn set_admin(&self, ids: &[String], up: bool) -> Result<Changed, ClientError> {
        let uri = if up { "/v1/links/up" } else { "/v1/links/down" };
        let body = Select { ids: ids.to_vec() };
        self.json(Method::POST, uri, Some(&body)).await
    }

    pub async fn netem_set(&self, req: &NetemSet) -> Result<Changed, ClientError> {
        self.json(Method::POST, "/v1/netem/set", Some(req)).await
    }

    pub async fn netem_reset(&self, req: &NetemReset) -> Result<Changed, ClientError> {
        self.json(Method::POST, "/v1/netem/reset", Some(req)).await
    }

    /// `GET /v1/events`: the newline-delimited JSON stream.
    pub async fn events(&self) -> Result<Incoming, ClientError> {
        Ok(self
            .send(Method::GET, "/v1/events", None, false)
            .await?
            .into_body())
    }

    /// `GET /v1/capture`: the pcap stream (its end report in the
    /// `conlink-capture-end` trailer).
    pub async fn capture(
        &self,
        id: &str,
        count: u64,
        direction: Direction,
        snaplen: Option<u32>,
    ) -> Result<Incoming, ClientError> {
        let count = count.to_string();
        let snap = snaplen.map(|s| s.to_string());
        let mut q = vec![
            ("id", id),
            ("count", &count),
            ("direction", direction_text(direction)),
        ];
        if let Some(s) = &snap {
            q.push(("snaplen", s));
        }
        let uri = with_query("/v1/capture", q);
        Ok(self.send(Method::GET, &uri, None, true).await?.into_body())
    }
}

fn with_query<'a>(path: &str, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let q = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    if q.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{q}")
    }
}

fn unreachable_why(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ENOENT) => format!(
            "no such socket (is the conlink sidecar running? its socket is set by --control-socket; \
             here by --socket or {SOCKET_ENV})"
        ),
        Some(libc::ECONNREFUSED) => {
            "connection refused (nothing listens: the conlink that made it is gone)".into()
        }
        Some(libc::EACCES) | Some(libc::EPERM) => {
            "permission denied (the socket is 0600: run as its owner, e.g. root)".into()
        }
        Some(libc::ENOTSOCK) => "not a socket".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_percent_encoded() {
        assert_eq!(with_query("/v1/status", []), "/v1/status");
        assert_eq!(
            with_query("/v1/status", [("id", "node_1:eth0"), ("id", "a b&c")]),
            "/v1/status?id=node_1%3Aeth0&id=a+b%26c"
        );
    }

    #[tokio::test]
    async fn a_missing_socket_is_named_in_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nope.sock");
        let e = Client::new(&p).status(&[]).await.unwrap_err();
        let s = e.to_string();
        assert!(
            s.starts_with(&format!(
                "cannot reach the control socket {}: no such socket",
                p.display()
            )),
            "{s}"
        );
        assert!(!s.contains('\n'));
    }
}
