//! The HTTP plumbing shared by the control socket ([`super::server`]) and
//! the read-only web listener (`crate::web`): bounded connections served by
//! hyper with header and body limits, a shutdown that ends streams at once
//! and gives open requests a short grace, and the JSON answer helpers.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;

use super::api::ControlError;

/// Largest request body (and header buffer) accepted.
pub const MAX_BODY: usize = 64 * 1024;
/// Connections served at once; more wait in the listen backlog.
pub(crate) const MAX_CONNECTIONS: usize = 64;
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long open requests may finish after `stop` before they are cut.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

pub(crate) type Body = UnsyncBoxBody<Bytes, Infallible>;

/// Completes once shutdown is signalled (or its sender is gone). The
/// watch guard is dropped inside, so callers' futures stay `Send`.
pub(crate) async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

/// The connections of one listener: at most [`MAX_CONNECTIONS`] at once,
/// each told when the listener stops.
pub(crate) struct Connections {
    slots: Arc<Semaphore>,
    conns: JoinSet<()>,
    shut_tx: watch::Sender<bool>,
    shut_rx: watch::Receiver<bool>,
}

impl Connections {
    pub fn new() -> Connections {
        let (shut_tx, shut_rx) = watch::channel(false);
        Connections {
            slots: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
            conns: JoinSet::new(),
            shut_tx,
            shut_rx,
        }
    }

    /// Turns true when the listener stops: streams end on it.
    pub fn shutdown(&self) -> watch::Receiver<bool> {
        self.shut_rx.clone()
    }

    /// A free connection slot, or `None` once `stop` completes.
    pub async fn slot(
        &mut self,
        stop: &mut Pin<&mut impl Future<Output = ()>>,
    ) -> Option<OwnedSemaphorePermit> {
        while self.conns.try_join_next().is_some() {}
        tokio::select! {
            _ = stop.as_mut() => None,
            p = self.slots.clone().acquire_owned() => p.ok(),
        }
    }

    /// Serve HTTP/1.1 on `io` with `handle`, holding `slot` until it ends.
    pub fn spawn<I, H, F>(
        &mut self,
        io: I,
        slot: OwnedSemaphorePermit,
        what: &'static str,
        handle: H,
    ) where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
        F: Future<Output = Response<Body>> + Send + 'static,
    {
        let mut shutdown = self.shut_rx.clone();
        self.conns.spawn(async move {
            let _slot = slot;
            let handle = Arc::new(handle);
            let svc = service_fn(move |req| {
                let handle = handle.clone();
                async move { Ok::<_, Infallible>(handle(req).await) }
            });
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(READ_TIMEOUT)
                .max_buf_size(MAX_BODY);
            let conn = builder.serve_connection(TokioIo::new(io), svc);
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!("{what} connection: {e}");
                    }
                }
                _ = stopped(&mut shutdown) => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }

    /// Tell every connection to stop (streams end at once), let open
    /// requests finish for up to 2 s, then cut the rest.
    pub async fn finish(mut self) {
        let _ = self.shut_tx.send(true);
        let drained = async { while self.conns.join_next().await.is_some() {} };
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, drained).await;
        self.conns.abort_all();
    }
}

pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed_unsync()
}

pub(crate) fn json_response<T: Serialize>(value: &T) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(mut v) => {
            v.push(b'\n');
            let mut resp = Response::new(full(v));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            resp
        }
        Err(e) => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &ControlError::Failed {
                message: format!("cannot encode the answer: {e}"),
            },
        ),
    }
}

/// A [`ControlError`] as JSON (`{"error": "not-found", …}`) with `status`.
pub(crate) fn error_response(status: StatusCode, e: &ControlError) -> Response<Body> {
    let mut body = serde_json::to_vec(e).unwrap_or_else(|_| b"{\"error\":\"failed\"}".to_vec());
    body.push(b'\n');
    let mut resp = Response::new(full(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// A control error answered with the HTTP status it maps to.
pub(crate) fn control_error_response(e: &ControlError) -> Response<Body> {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    error_response(status, e)
}

pub(crate) fn bad(message: String) -> ControlError {
    ControlError::BadRequest { message }
}

/// `id=A&id=B` (and nothing else) from a query string.
pub(crate) fn status_ids(query: &str) -> Result<Vec<String>, ControlError> {
    let mut ids = Vec::new();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match &*k {
            "id" => ids.push(v.into_owned()),
            _ => {
                return Err(bad(format!(
                    "unknown query parameter {k:?} (status takes id=…)"
                )));
            }
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_query_takes_repeated_percent_encoded_ids_only() {
        assert_eq!(status_ids("").unwrap(), Vec::<String>::new());
        assert_eq!(
            status_ids("id=node_1%3Aeth0&id=node_2").unwrap(),
            vec!["node_1:eth0", "node_2"]
        );
        assert!(
            status_ids("ids=x")
                .unwrap_err()
                .to_string()
                .contains("\"ids\"")
        );
    }

    #[tokio::test]
    async fn errors_are_json_control_errors_with_their_status() {
        let e = ControlError::NotFound {
            id: "n_3:eth0".into(),
            near: vec!["n_1:eth0".into()],
        };
        let resp = control_error_response(&e);
        assert_eq!(resp.status(), 404);
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/json");
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        let back: ControlError = serde_json::from_slice(&body).unwrap();
        assert_eq!(back, e);
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
            serde_json::json!({"error": "not-found", "id": "n_3:eth0", "near": ["n_1:eth0"]})
        );
    }
}
