//! The listener: HTTP/1.1 over TCP with the control socket's plumbing
//! (`control::http`: bounded connections, header limits, a shutdown that
//! ends streams), answering GET and HEAD only. Any other method is 405 on
//! every path, so nothing here can change the network.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::control::api::{ControlError, PREFIX};
use crate::control::http::{
    Body, Connections, bad, control_error_response, error_response, full, json_response, status_ids,
};
use crate::control::streams::{Framing, event_stream};

use super::{Source, metrics, page, topology};

/// The methods answered.
const ALLOW: &str = "GET, HEAD";

/// A bound listener, ready to serve.
pub struct Server {
    listener: std::net::TcpListener,
}

impl Server {
    /// Bind `addr` (early, so a port in use is a start-up error before any
    /// wiring). Needs no async runtime.
    pub fn bind(addr: SocketAddr) -> io::Result<Server> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Ok(Server { listener })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serve until `stop` completes; then close the port, end the event
    /// streams and let open requests finish for up to 2 s.
    pub async fn run<S: Source>(
        self,
        source: Arc<S>,
        stop: impl Future<Output = ()>,
    ) -> io::Result<()> {
        let listener = TcpListener::from_std(self.listener)?;
        let mut conns = Connections::new();
        let ctx = Arc::new(Ctx {
            source,
            shutdown: conns.shutdown(),
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
                        tracing::warn!("http listener: accept: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            // Small answers and event lines go out at once.
            let _ = stream.set_nodelay(true);
            let ctx = ctx.clone();
            conns.spawn(stream, permit, "http", move |req| {
                let ctx = ctx.clone();
                async move { handle(&ctx, req).await }
            });
        }
        drop(listener);
        conns.finish().await;
        Ok(())
    }
}

/// `GET /v1/links`: the links of the status alone.
#[derive(serde::Serialize)]
struct Links<'a> {
    links: &'a [crate::control::api::LinkStatus],
}

struct Ctx<S> {
    source: Arc<S>,
    shutdown: watch::Receiver<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Page,
    Status,
    Links,
    Topology,
    Events,
    Metrics,
}

/// Map method and path to a route: any method but GET and HEAD is 405
/// (whatever the path), an unknown path 404.
fn route(method: &Method, path: &str) -> Result<Route, (StatusCode, ControlError)> {
    if method != Method::GET && method != Method::HEAD {
        return Err((
            StatusCode::METHOD_NOT_ALLOWED,
            bad(format!(
                "{method} {path}: method not allowed: this listener is read-only ({ALLOW})"
            )),
        ));
    }
    let api = path.strip_prefix(PREFIX).unwrap_or("");
    Ok(match (path, api) {
        ("/" | "/index.html", _) => Route::Page,
        ("/metrics", _) => Route::Metrics,
        (_, "/status") => Route::Status,
        (_, "/links") => Route::Links,
        (_, "/topology") => Route::Topology,
        (_, "/events") => Route::Events,
        _ => {
            return Err((
                StatusCode::NOT_FOUND,
                bad(format!(
                    "unknown path {path} (this listener serves /, /metrics and {PREFIX}/status, links, topology, events: see docs/observability.md)"
                )),
            ));
        }
    })
}

async fn handle<S: Source>(ctx: &Ctx<S>, req: Request<Incoming>) -> Response<Body> {
    let r = match route(req.method(), req.uri().path()) {
        Ok(r) => r,
        Err((status, e)) => {
            let mut resp = error_response(status, &e);
            if status == StatusCode::METHOD_NOT_ALLOWED {
                resp.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(ALLOW));
            }
            return resp;
        }
    };
    let head = req.method() == Method::HEAD;
    let query = req.uri().query().unwrap_or("");
    let s = &ctx.source;
    let result = match r {
        Route::Page => Ok(with_type(full(page::live()), "text/html; charset=utf-8")),
        Route::Status => match status_ids(query) {
            Ok(ids) => s.status(&ids).await.map(|st| json_response(&st)),
            Err(e) => Err(e),
        },
        Route::Links => match status_ids(query) {
            Ok(ids) => s
                .status(&ids)
                .await
                .map(|st| json_response(&Links { links: &st.links })),
            Err(e) => Err(e),
        },
        Route::Topology => s
            .status(&[])
            .await
            .map(|st| json_response(&topology::live(st, s.network()))),
        Route::Metrics => s.status(&[]).await.map(|st| {
            with_type(
                full(metrics::encode(st, s.counters())),
                metrics::CONTENT_TYPE,
            )
        }),
        Route::Events => {
            let framing = framing_for(req.headers());
            if head {
                // Headers only: no subscription for a stream never read.
                Ok(with_type(full(""), framing.content_type()))
            } else {
                let mut resp = event_stream(s.events(), ctx.shutdown.clone(), framing);
                resp.headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                Ok(resp)
            }
        }
    };
    // hyper writes no body for HEAD, keeping the headers (and length).
    result.unwrap_or_else(|e| control_error_response(&e))
}

fn with_type(body: Body, content_type: &'static str) -> Response<Body> {
    let mut resp = Response::new(body);
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// Server-sent events for browsers; the control socket's NDJSON lines for
/// a client that asks for them (`Accept: application/x-ndjson`).
fn framing_for(headers: &HeaderMap) -> Framing {
    let ndjson = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/x-ndjson"));
    if ndjson {
        Framing::Ndjson
    } else {
        Framing::Sse
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_get_and_head_are_answered_on_any_path() {
        for m in [Method::GET, Method::HEAD] {
            assert_eq!(route(&m, "/").unwrap(), Route::Page);
            assert_eq!(route(&m, "/index.html").unwrap(), Route::Page);
            assert_eq!(route(&m, "/metrics").unwrap(), Route::Metrics);
            assert_eq!(route(&m, "/v1/status").unwrap(), Route::Status);
            assert_eq!(route(&m, "/v1/links").unwrap(), Route::Links);
            assert_eq!(route(&m, "/v1/topology").unwrap(), Route::Topology);
            assert_eq!(route(&m, "/v1/events").unwrap(), Route::Events);
        }
        for m in [
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::PATCH,
            Method::OPTIONS,
            Method::TRACE,
            Method::CONNECT,
        ] {
            for p in ["/", "/v1/links/down", "/v1/netem/set", "/nope"] {
                let (st, e) = route(&m, p).unwrap_err();
                assert_eq!(st, StatusCode::METHOD_NOT_ALLOWED, "{m} {p}");
                assert!(e.to_string().contains("read-only"), "{e}");
            }
        }
        for p in [
            "/v1/links/down",
            "/v1/capture",
            "/v2/links",
            "/status",
            "/metrics/",
        ] {
            let (st, e) = route(&Method::GET, p).unwrap_err();
            assert_eq!(st, StatusCode::NOT_FOUND, "{p}");
            assert!(e.to_string().contains(p), "{e}");
        }
    }

    #[test]
    fn events_are_sse_unless_ndjson_is_asked_for() {
        let mut h = HeaderMap::new();
        assert_eq!(framing_for(&h), Framing::Sse);
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/event-stream"),
        );
        assert_eq!(framing_for(&h), Framing::Sse);
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/x-ndjson"),
        );
        assert_eq!(framing_for(&h), Framing::Ndjson);
    }
}
