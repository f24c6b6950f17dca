//! The engine's container event stream as typed events, ending in one
//! `Disconnected` item so the daemon knows to reconnect and re-list.

use std::collections::HashMap;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use bollard::models::EventMessage;
use bollard::query_parameters::EventsOptions;
use futures::Stream;

use super::client::Engine;
use super::container::ContainerId;

/// A container lifecycle event the daemon acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerEvent {
    /// The container started (also after a restart): inspect it and wire it.
    /// Docker puts the container's name and all its labels (beside `image`)
    /// in `attributes`, which can spare the inspect.
    Start {
        id: ContainerId,
        attributes: HashMap<String, String>,
    },
    /// The container's process ended; its namespace is gone.
    Die {
        id: ContainerId,
        exit_code: Option<i64>,
    },
    /// The container was removed; forget anything cached about it.
    Destroy { id: ContainerId },
}

impl ContainerEvent {
    pub fn id(&self) -> &ContainerId {
        match self {
            ContainerEvent::Start { id, .. }
            | ContainerEvent::Die { id, .. }
            | ContainerEvent::Destroy { id } => id,
        }
    }
}

/// One item of an [`EventStream`].
#[derive(Debug)]
pub enum EngineEvent {
    Container(ContainerEvent),
    /// The stream broke or the engine closed it; nothing follows. Events may
    /// have been missed: reconnect (with [`super::Backoff`]) and re-list.
    Disconnected {
        reason: String,
    },
}

/// Server-side filter: container events only. The action is deliberately
/// *not* filtered server-side: Podman 4.3 reports `die` but only matches a
/// `died` filter, so an `event=die` filter would silently drop its deaths.
fn container_filter() -> HashMap<String, Vec<String>> {
    HashMap::from([("type".to_owned(), vec!["container".to_owned()])])
}

/// Turn an engine event message into a typed event, if it is one we use.
pub fn classify(msg: &EventMessage) -> Option<ContainerEvent> {
    // Some engines send the type only in the legacy fields; a message with a
    // type must be a container's (the filter should ensure it anyway).
    if let Some(typ) = &msg.typ
        && typ.as_ref() != "container"
    {
        return None;
    }
    let actor = msg.actor.as_ref()?;
    let id = ContainerId::new(actor.id.as_deref().filter(|id| !id.is_empty())?);
    // Actions may carry details after a colon (`exec_start: sh -c …`,
    // `health_status: healthy`); the verb is what comes before it.
    let action = msg.action.as_deref()?;
    let verb = action.split(':').next().unwrap_or_default().trim();
    match verb {
        "start" => Some(ContainerEvent::Start {
            id,
            attributes: actor.attributes.clone().unwrap_or_default(),
        }),
        // Podman has used both spellings across versions.
        "die" | "died" => {
            let exit_code = actor
                .attributes
                .as_ref()
                .and_then(|a| a.get("exitCode").or_else(|| a.get("containerExitCode")))
                .and_then(|c| c.parse().ok());
            Some(ContainerEvent::Die { id, exit_code })
        }
        "destroy" | "remove" => Some(ContainerEvent::Destroy { id }),
        _ => None,
    }
}

/// Container events from one engine. Ends after yielding exactly one
/// [`EngineEvent::Disconnected`].
pub struct EventStream {
    inner: Pin<Box<dyn Stream<Item = Result<EventMessage, bollard::errors::Error>> + Send>>,
    done: bool,
}

impl Stream for EventStream {
    type Item = EngineEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<EngineEvent>> {
        if self.done {
            return Poll::Ready(None);
        }
        loop {
            let reason = match self.inner.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(msg))) => match classify(&msg) {
                    Some(event) => return Poll::Ready(Some(EngineEvent::Container(event))),
                    None => continue,
                },
                Poll::Ready(Some(Err(e))) => e.to_string(),
                Poll::Ready(None) => "the engine closed the event stream".to_owned(),
            };
            self.done = true;
            return Poll::Ready(Some(EngineEvent::Disconnected { reason }));
        }
    }
}

impl Engine {
    /// Subscribe to container events. With `since`, the engine first replays
    /// what happened from that moment: take the time *before* listing
    /// running containers, so a container that starts between the list and
    /// the subscription is still seen (a start may then arrive twice — the
    /// daemon treats a start of a container it already wired as a no-op).
    ///
    /// The request is sent when the stream is first polled.
    pub fn events(&self, since: Option<SystemTime>) -> EventStream {
        let since = since.map(|t| {
            let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
            format!("{}.{:09}", d.as_secs(), d.subsec_nanos())
        });
        let options = EventsOptions {
            since,
            until: None,
            filters: Some(container_filter()),
        };
        EventStream {
            inner: Box::pin(self.docker.events(Some(options))),
            done: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{EventActor, EventMessageTypeEnum};

    fn msg(
        typ: Option<EventMessageTypeEnum>,
        action: &str,
        attrs: &[(&str, &str)],
    ) -> EventMessage {
        EventMessage {
            typ,
            action: Some(action.into()),
            actor: Some(EventActor {
                id: Some("f00d".into()),
                attributes: Some(
                    attrs
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
            }),
            ..Default::default()
        }
    }

    const C: Option<EventMessageTypeEnum> = Some(EventMessageTypeEnum::CONTAINER);

    #[test]
    fn start_die_and_destroy_are_recognised() {
        let id = ContainerId::new("f00d");
        assert_eq!(
            classify(&msg(
                C,
                "start",
                &[("name", "web_1"), ("com.docker.compose.service", "web")]
            )),
            Some(ContainerEvent::Start {
                id: id.clone(),
                attributes: HashMap::from([
                    ("name".to_owned(), "web_1".to_owned()),
                    ("com.docker.compose.service".to_owned(), "web".to_owned())
                ])
            })
        );
        assert_eq!(
            classify(&msg(C, "die", &[("exitCode", "137")])),
            Some(ContainerEvent::Die {
                id: id.clone(),
                exit_code: Some(137)
            })
        );
        assert_eq!(
            classify(&msg(C, "died", &[])),
            Some(ContainerEvent::Die {
                id: id.clone(),
                exit_code: None
            })
        );
        assert_eq!(
            classify(&msg(C, "destroy", &[])),
            Some(ContainerEvent::Destroy { id })
        );
    }

    #[test]
    fn other_actions_and_types_are_ignored() {
        for action in [
            "create",
            "kill",
            "stop",
            "exec_start: sh -c true",
            "health_status: healthy",
        ] {
            assert_eq!(classify(&msg(C, action, &[])), None, "{action}");
        }
        assert_eq!(
            classify(&msg(Some(EventMessageTypeEnum::NETWORK), "start", &[])),
            None
        );
        let mut no_id = msg(C, "start", &[]);
        no_id.actor = None;
        assert_eq!(classify(&no_id), None);
    }

    #[test]
    fn a_message_without_type_is_taken_as_a_container_event() {
        let m = msg(None, "start", &[]);
        assert!(matches!(classify(&m), Some(ContainerEvent::Start { .. })));
    }

    #[tokio::test]
    async fn a_broken_stream_ends_in_one_disconnected_item() {
        use futures::StreamExt;
        let items: Vec<Result<EventMessage, bollard::errors::Error>> = vec![
            Ok(msg(C, "create", &[])),
            Ok(msg(C, "start", &[])),
            Err(bollard::errors::Error::RequestTimeoutError),
            Ok(msg(C, "start", &[])),
        ];
        let stream = EventStream {
            inner: Box::pin(futures::stream::iter(items)),
            done: false,
        };
        let got: Vec<EngineEvent> = stream.collect().await;
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(matches!(
            got[0],
            EngineEvent::Container(ContainerEvent::Start { .. })
        ));
        assert!(matches!(got[1], EngineEvent::Disconnected { .. }));

        let stream = EventStream {
            inner: Box::pin(futures::stream::empty()),
            done: false,
        };
        let got: Vec<EngineEvent> = stream.collect().await;
        assert!(
            matches!(got.as_slice(), [EngineEvent::Disconnected { .. }]),
            "{got:?}"
        );
    }
}
