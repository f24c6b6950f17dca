//! The two streaming answers of the control API: `/v1/events`
//! (newline-delimited JSON, one line per event) and `/v1/capture` (pcap).
//! Both are fed through bounded queues and end at server shutdown.

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::{BodyExt, StreamBody};
use hyper::Response;
use hyper::body::{Bytes, Frame};
use hyper::header::{self, HeaderMap, HeaderValue};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast, watch};

use super::api::{ControlError, Direction, Event};
use super::capture::{self, Capture, CaptureOpts, MAX_SNAPLEN};
use super::http::{Body, bad, stopped};
use super::pcap;
use super::server::CAPTURE_END_TRAILER;

/// At most this many captures run at once.
pub const MAX_CAPTURES: usize = 8;

/// `id=ID&count=N&direction=in|out|both&snaplen=N` of `/v1/capture`.
pub(super) fn capture_query(query: &str) -> Result<(String, CaptureOpts), ControlError> {
    let mut id = None;
    let mut opts = CaptureOpts {
        count: 0,
        direction: Direction::Both,
        snaplen: MAX_SNAPLEN,
    };
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match &*k {
            "id" if id.is_none() => id = Some(v.into_owned()),
            "id" => return Err(bad("capture takes exactly one id".into())),
            "count" => {
                opts.count = v
                    .parse()
                    .map_err(|_| bad(format!("count must be a number ≥ 0, got {v:?}")))?
            }
            "direction" => {
                opts.direction = match &*v {
                    "in" => Direction::In,
                    "out" => Direction::Out,
                    "both" => Direction::Both,
                    _ => return Err(bad(format!("direction must be in, out or both, got {v:?}"))),
                }
            }
            "snaplen" => {
                opts.snaplen = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_SNAPLEN).contains(n))
                    .ok_or_else(|| bad(format!("snaplen must be 1–{MAX_SNAPLEN}, got {v:?}")))?
            }
            _ => {
                return Err(bad(format!(
                    "unknown query parameter {k:?} (capture takes id, count, direction, snaplen)"
                )));
            }
        }
    }
    let id = id.ok_or_else(|| bad("capture needs id=LINK".into()))?;
    Ok((id, opts))
}

/// How events are written on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// One JSON object per line (`application/x-ndjson`): `conlink events`.
    Ndjson,
    /// Server-sent events (`text/event-stream`): `data: {…}` and a blank
    /// line per event, for a browser's `EventSource` (the web page).
    Sse,
}

impl Framing {
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Framing::Ndjson => "application/x-ndjson",
            Framing::Sse => "text/event-stream",
        }
    }

    fn frame(self, json: Vec<u8>) -> Bytes {
        match self {
            Framing::Ndjson => {
                let mut line = json;
                line.push(b'\n');
                Bytes::from(line)
            }
            Framing::Sse => {
                // serde_json never writes a raw newline, so one `data:` line
                // holds the whole event.
                let mut frame = Vec::with_capacity(json.len() + 8);
                frame.extend_from_slice(b"data: ");
                frame.extend_from_slice(&json);
                frame.extend_from_slice(b"\n\n");
                Bytes::from(frame)
            }
        }
    }
}

/// The events stream as NDJSON (the control socket's `/v1/events`).
pub(super) fn events_response(
    rx: broadcast::Receiver<Event>,
    shutdown: watch::Receiver<bool>,
) -> Response<Body> {
    event_stream(rx, shutdown, Framing::Ndjson)
}

/// The events stream: one JSON object per event, written as it happens.
/// A client that falls behind the (bounded) channel gets
/// `{"time":…,"event":"lagged","missed":N}` and then the events after the gap.
pub(crate) fn event_stream(
    rx: broadcast::Receiver<Event>,
    shutdown: watch::Receiver<bool>,
    framing: Framing,
) -> Response<Body> {
    let events =
        futures::stream::unfold((rx, shutdown), move |(mut rx, mut shutdown)| async move {
            let json = tokio::select! {
                _ = stopped(&mut shutdown) => return None,
                r = rx.recv() => match r {
                    Ok(ev) => serde_json::to_vec(&ev).ok()?,
                    Err(broadcast::error::RecvError::Lagged(missed)) => serde_json::to_vec(
                        &serde_json::json!({"time": now(), "event": "lagged", "missed": missed}),
                    ).ok()?,
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
            };
            Some((
                Ok::<_, Infallible>(Frame::data(framing.frame(json))),
                (rx, shutdown),
            ))
        });
    let mut resp = Response::new(StreamBody::new(events).boxed_unsync());
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(framing.content_type()),
    );
    resp
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

struct CaptureBody {
    header: Option<Bytes>,
    cap: Capture,
    shutdown: watch::Receiver<bool>,
    trailers: bool,
    done: bool,
    _permit: OwnedSemaphorePermit,
}

pub(super) async fn capture_response(
    point: Result<super::api::CapturePoint, ControlError>,
    opts: CaptureOpts,
    captures: &Arc<Semaphore>,
    shutdown: watch::Receiver<bool>,
    trailers: bool,
) -> Result<Response<Body>, ControlError> {
    let point = point?;
    let permit = captures
        .clone()
        .try_acquire_owned()
        .map_err(|_| ControlError::Failed {
            message: format!("{MAX_CAPTURES} captures are running already; end one first"),
        })?;
    let cap = capture::start(point, opts).await?;
    let state = CaptureBody {
        header: Some(Bytes::copy_from_slice(&pcap::file_header(opts.snaplen))),
        cap,
        shutdown,
        trailers,
        done: false,
        _permit: permit,
    };
    // Dropping the stream (client gone, shutdown) drops the receiver, which
    // the capture thread notices within its poll interval and stops.
    let frames = futures::stream::unfold(state, |mut st| async move {
        if let Some(h) = st.header.take() {
            return Some((Ok::<_, Infallible>(Frame::data(h)), st));
        }
        if st.done {
            return None;
        }
        let batch = tokio::select! {
            _ = stopped(&mut st.shutdown) => return None,
            b = st.cap.data.recv() => b,
        };
        match batch {
            Some(b) => Some((Ok(Frame::data(b)), st)),
            None => {
                st.done = true;
                let end = st.cap.end.try_recv().ok()?;
                if !st.trailers {
                    return None;
                }
                let value = format!(
                    "{} packets={} dropped={}",
                    end.reason.token(),
                    end.packets,
                    end.kernel_drops
                );
                let mut map = HeaderMap::new();
                map.insert(CAPTURE_END_TRAILER, HeaderValue::from_str(&value).ok()?);
                Some((Ok(Frame::trailers(map)), st))
            }
        }
    });
    let mut resp = Response::new(StreamBody::new(frames).boxed_unsync());
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.tcpdump.pcap"),
    );
    h.insert(
        header::TRAILER,
        HeaderValue::from_static(CAPTURE_END_TRAILER),
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_framed_as_ndjson_lines_or_sse_data() {
        let json = br#"{"event":"link-down","id":"a:eth0"}"#.to_vec();
        assert_eq!(
            &Framing::Ndjson.frame(json.clone())[..],
            b"{\"event\":\"link-down\",\"id\":\"a:eth0\"}\n"
        );
        assert_eq!(
            &Framing::Sse.frame(json)[..],
            b"data: {\"event\":\"link-down\",\"id\":\"a:eth0\"}\n\n"
        );
    }

    #[test]
    fn capture_query_defaults_and_checks_each_value() {
        let (id, o) = capture_query("id=n%3Aeth0").unwrap();
        assert_eq!(id, "n:eth0");
        assert_eq!(
            o,
            CaptureOpts {
                count: 0,
                direction: Direction::Both,
                snaplen: MAX_SNAPLEN
            }
        );
        let (_, o) = capture_query("id=x&count=3&direction=in&snaplen=96").unwrap();
        assert_eq!((o.count, o.direction, o.snaplen), (3, Direction::In, 96));
        for (q, want) in [
            ("count=3", "needs id"),
            ("id=a&id=b", "exactly one id"),
            ("id=a&count=-1", "count must be"),
            ("id=a&direction=up", "direction must be"),
            ("id=a&snaplen=0", "snaplen must be"),
            ("id=a&snaplen=262145", "snaplen must be"),
            ("id=a&cnt=3", "unknown query parameter"),
        ] {
            let e = capture_query(q).unwrap_err();
            assert!(matches!(e, ControlError::BadRequest { .. }), "{q}");
            assert!(e.to_string().contains(want), "{q}: {e}");
        }
    }
}
