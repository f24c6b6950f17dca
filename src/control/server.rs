//! The control API served over HTTP/1.1 on a Unix socket (hyper): routes
//! `/v1/…` to the [`Control`] the sidecar implements and back to JSON.
//!
//! Entry points: [`Server::bind`] makes the socket (early, so a live
//! socket of another conlink is an error before any wiring) and
//! [`Server::run`] serves until `stop` completes; [`serve`] does both.
//!
//! Everything is bounded so a client can never slow the daemon: request
//! bodies (64 KiB, read within 10 s), headers (10 s), connections (64 at
//! once; more wait in the listen backlog), captures (8 at once). Streams
//! (`/v1/events`, `/v1/capture`) are fed through bounded queues: an events
//! client that falls behind gets a `lagged` line telling how many events it
//! missed; a capture whose client falls behind is stopped.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;

use super::api::{Control, ControlError, NetemReset, NetemSet, PREFIX, Select};
use super::socket_file::{self, SocketFile};
use super::streams::{self, MAX_CAPTURES};

/// Largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;
const MAX_CONNECTIONS: usize = 64;
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long open requests may finish after `stop` before they are cut.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// Trailer at the end of a capture stream (sent when the request has
/// `TE: trailers`): `<reason> packets=N dropped=M`.
pub const CAPTURE_END_TRAILER: &str = "conlink-capture-end";

pub(super) type Body = UnsyncBoxBody<Bytes, Infallible>;

/// A bound control socket, ready to serve.
pub struct Server {
    listener: std::os::unix::net::UnixListener,
    file: SocketFile,
}

impl Server {
    /// Make the socket at `path`: 0600 from the start, its directory (0700)
    /// when missing; a stale socket of a killed run is replaced, a live one
    /// is an error. Needs no async runtime.
    pub fn bind(path: &Path) -> io::Result<Server> {
        let (listener, file) = socket_file::bind(path)?;
        Ok(Server { listener, file })
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Serve until `stop` completes; then remove the socket, let open
    /// requests finish (streams end at once) for up to 2 s, and return.
    pub async fn run<C: Control>(
        self,
        control: Arc<C>,
        stop: impl Future<Output = ()>,
    ) -> io::Result<()> {
        let Server { listener, file } = self;
        let listener = UnixListener::from_std(listener)?;
        let (shut_tx, shut_rx) = watch::channel(false);
        let ctx = Arc::new(Ctx {
            control,
            shutdown: shut_rx,
            captures: Arc::new(Semaphore::new(MAX_CAPTURES)),
        });
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let mut conns = JoinSet::new();
        tokio::pin!(stop);
        loop {
            while conns.try_join_next().is_some() {}
            let permit = tokio::select! {
                _ = &mut stop => break,
                p = slots.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            let stream = tokio::select! {
                _ = &mut stop => break,
                r = listener.accept() => match r {
                    Ok((s, _)) => s,
                    Err(e) => {
                        // EMFILE and the like: wait instead of spinning.
                        tracing::warn!("control socket {}: accept: {e}", file.path().display());
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            conns.spawn(serve_connection(stream, ctx.clone(), permit));
        }
        // The path goes first, so no new client reaches a closing server.
        drop(file);
        drop(listener);
        let _ = shut_tx.send(true);
        let drained = async { while conns.join_next().await.is_some() {} };
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, drained).await;
        conns.abort_all();
        Ok(())
    }
}

/// [`Server::bind`] then [`Server::run`].
pub async fn serve<C: Control>(
    control: Arc<C>,
    path: &Path,
    stop: impl Future<Output = ()>,
) -> io::Result<()> {
    Server::bind(path)?.run(control, stop).await
}

/// Completes once shutdown is signalled (or its sender is gone). The
/// watch guard is dropped inside, so callers' futures stay `Send`.
pub(super) async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

struct Ctx<C> {
    control: Arc<C>,
    shutdown: watch::Receiver<bool>,
    captures: Arc<Semaphore>,
}

async fn serve_connection<C: Control>(
    stream: UnixStream,
    ctx: Arc<Ctx<C>>,
    _slot: OwnedSemaphorePermit,
) {
    let mut shutdown = ctx.shutdown.clone();
    let svc = service_fn(move |req| {
        let ctx = ctx.clone();
        async move { Ok::<_, Infallible>(handle(&ctx, req).await) }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(READ_TIMEOUT)
        .max_buf_size(MAX_BODY);
    let conn = builder.serve_connection(TokioIo::new(stream), svc);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!("control connection: {e}");
            }
        }
        _ = stopped(&mut shutdown) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Status,
    LinksDown,
    LinksUp,
    NetemSet,
    NetemReset,
    Events,
    Capture,
}

/// Map method and path to a route; a wrong method gives 405 (with the
/// allowed one), an unknown path 404.
fn route(method: &Method, path: &str) -> Result<Route, (StatusCode, Option<Method>, ControlError)> {
    let found = path.strip_prefix(PREFIX).and_then(|p| {
        Some(match p {
            "/status" => (Route::Status, Method::GET),
            "/links/down" => (Route::LinksDown, Method::POST),
            "/links/up" => (Route::LinksUp, Method::POST),
            "/netem/set" => (Route::NetemSet, Method::POST),
            "/netem/reset" => (Route::NetemReset, Method::POST),
            "/events" => (Route::Events, Method::GET),
            "/capture" => (Route::Capture, Method::GET),
            _ => return None,
        })
    });
    match found {
        Some((r, m)) if m == method => Ok(r),
        Some((_, m)) => Err((
            StatusCode::METHOD_NOT_ALLOWED,
            Some(m.clone()),
            bad(format!("{method} {path}: method not allowed (use {m})")),
        )),
        None => Err((
            StatusCode::NOT_FOUND,
            None,
            bad(format!(
                "unknown path {path} (the API's paths are under {PREFIX}: see docs/control.md)"
            )),
        )),
    }
}

pub(super) fn bad(message: String) -> ControlError {
    ControlError::BadRequest { message }
}

async fn handle<C: Control>(ctx: &Ctx<C>, req: Request<Incoming>) -> Response<Body> {
    let r = match route(req.method(), req.uri().path()) {
        Ok(r) => r,
        Err((status, allow, e)) => {
            let mut resp = error_response(status, &e);
            if let Some(m) = allow.and_then(|m| HeaderValue::from_str(m.as_str()).ok()) {
                resp.headers_mut().insert(header::ALLOW, m);
            }
            return resp;
        }
    };
    let query = req.uri().query().unwrap_or("").to_owned();
    let c = &ctx.control;
    let result = match r {
        Route::Status => match status_ids(&query) {
            Ok(ids) => c.status(&ids).await.map(|s| json_response(&s)),
            Err(e) => Err(e),
        },
        Route::LinksDown | Route::LinksUp => match read_json::<Select>(req).await {
            Ok(sel) => c
                .set_admin(&sel.ids, r == Route::LinksUp)
                .await
                .map(|ch| json_response(&ch)),
            Err(e) => Err(e),
        },
        Route::NetemSet => match read_json::<NetemSet>(req).await {
            Ok(set) => c.netem_set(set).await.map(|ch| json_response(&ch)),
            Err(e) => Err(e),
        },
        Route::NetemReset => match read_json::<NetemReset>(req).await {
            Ok(reset) => c.netem_reset(reset).await.map(|ch| json_response(&ch)),
            Err(e) => Err(e),
        },
        Route::Events => Ok(streams::events_response(c.events(), ctx.shutdown.clone())),
        Route::Capture => {
            let trailers = req
                .headers()
                .get(header::TE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| {
                    v.split(',')
                        .any(|t| t.trim().eq_ignore_ascii_case("trailers"))
                });
            match streams::capture_query(&query) {
                Ok((id, opts)) => {
                    streams::capture_response(
                        c.capture_point(&id),
                        opts,
                        &ctx.captures,
                        ctx.shutdown.clone(),
                        trailers,
                    )
                    .await
                }
                Err(e) => Err(e),
            }
        }
    };
    result.unwrap_or_else(|e| {
        let status =
            StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        error_response(status, &e)
    })
}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed_unsync()
}

fn json_response<T: Serialize>(value: &T) -> Response<Body> {
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
fn error_response(status: StatusCode, e: &ControlError) -> Response<Body> {
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

/// The request body as JSON, at most [`MAX_BODY`] bytes, read within
/// [`READ_TIMEOUT`].
async fn read_json<T: DeserializeOwned>(req: Request<Incoming>) -> Result<T, ControlError> {
    let collected = tokio::time::timeout(
        READ_TIMEOUT,
        Limited::new(req.into_body(), MAX_BODY).collect(),
    )
    .await
    .map_err(|_| bad("timed out reading the request body".into()))?
    .map_err(|e| {
        if e.is::<http_body_util::LengthLimitError>() {
            bad(format!("request body larger than {} KiB", MAX_BODY / 1024))
        } else {
            bad(format!("reading the request body: {e}"))
        }
    })?;
    serde_json::from_slice(&collected.to_bytes()).map_err(|e| bad(format!("request body: {e}")))
}

/// `id=A&id=B` (and nothing else) from a query string.
fn status_ids(query: &str) -> Result<Vec<String>, ControlError> {
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
    fn routes_methods_and_unknown_paths() {
        assert_eq!(route(&Method::GET, "/v1/status").unwrap(), Route::Status);
        assert_eq!(
            route(&Method::POST, "/v1/links/down").unwrap(),
            Route::LinksDown
        );
        assert_eq!(
            route(&Method::POST, "/v1/links/up").unwrap(),
            Route::LinksUp
        );
        assert_eq!(
            route(&Method::POST, "/v1/netem/set").unwrap(),
            Route::NetemSet
        );
        assert_eq!(
            route(&Method::POST, "/v1/netem/reset").unwrap(),
            Route::NetemReset
        );
        assert_eq!(route(&Method::GET, "/v1/events").unwrap(), Route::Events);
        assert_eq!(route(&Method::GET, "/v1/capture").unwrap(), Route::Capture);

        let (st, allow, e) = route(&Method::POST, "/v1/status").unwrap_err();
        assert_eq!(st, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(allow, Some(Method::GET));
        assert_eq!(
            e.to_string(),
            "POST /v1/status: method not allowed (use GET)"
        );
        let (st, allow, _) = route(&Method::GET, "/v1/links/down").unwrap_err();
        assert_eq!(
            (st, allow),
            (StatusCode::METHOD_NOT_ALLOWED, Some(Method::POST))
        );

        for p in ["/status", "/v2/status", "/v1/status/", "/v1/links", "/"] {
            let (st, allow, e) = route(&Method::GET, p).unwrap_err();
            assert_eq!(st, StatusCode::NOT_FOUND, "{p}");
            assert_eq!(allow, None);
            assert!(e.to_string().contains(p), "{e}");
        }
    }

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
        let resp = error_response(StatusCode::NOT_FOUND, &e);
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
