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

use std::future::Future;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde::de::DeserializeOwned;
use tokio::net::UnixListener;
use tokio::sync::{Semaphore, watch};

use super::api::{Control, ControlError, NetemReset, NetemSet, PREFIX, Select};
use super::http::{
    Body, Connections, READ_TIMEOUT, bad, control_error_response, error_response, json_response,
    status_ids,
};
use super::socket_file::{self, SocketFile};
use super::streams::{self, MAX_CAPTURES};

pub use super::http::MAX_BODY;

/// Trailer at the end of a capture stream (sent when the request has
/// `TE: trailers`): `<reason> packets=N dropped=M`.
pub const CAPTURE_END_TRAILER: &str = "conlink-capture-end";

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
        let mut conns = Connections::new();
        let ctx = Arc::new(Ctx {
            control,
            shutdown: conns.shutdown(),
            captures: Arc::new(Semaphore::new(MAX_CAPTURES)),
        });
        tokio::pin!(stop);
        loop {
            let Some(permit) = conns.slot(&mut stop).await else {
                break;
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
            let ctx = ctx.clone();
            conns.spawn(stream, permit, "control", move |req| {
                let ctx = ctx.clone();
                async move { handle(&ctx, req).await }
            });
        }
        // The path goes first, so no new client reaches a closing server.
        drop(file);
        drop(listener);
        conns.finish().await;
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

struct Ctx<C> {
    control: Arc<C>,
    shutdown: watch::Receiver<bool>,
    captures: Arc<Semaphore>,
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
    result.unwrap_or_else(|e| control_error_response(&e))
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
}
