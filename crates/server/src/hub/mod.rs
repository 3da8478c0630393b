//! Where published events find their sockets, on this replica and on the others.
//!
//! Each connection registers its outbound queue and the targets it belongs to (its
//! own id, the sessions it opened and their agents). [`Hub::publish`] delivers an
//! event to the matching sockets here and, when a [`Bus`] joins the replicas, sends
//! it to the others, which deliver it to theirs. Agent turns travel their own way:
//! their events go to the connection that asked and, numbered, to every replica's
//! [`TurnStreams`], from which sockets that reopen the conversation are served.
//!
//! Order: one task publishes this replica's messages in the order they were
//! published (what queued up while it waited on the broker goes out as one batch),
//! and one task delivers what arrives, in the bus's order; each socket's queue keeps
//! that order. A slow broker makes publishers wait, never drops what they publish.
//! A slow client cannot hold anyone up: a socket whose queue is full misses the
//! event (best-effort, as on the existing servers), and it is logged.

use crate::replay::{CancelTurn, TurnMessage, TurnStreams};
use crate::ws::Outbound;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use switchboard_agent::turn::Parking;
use switchboard_core::{Bus, OrgId, SessionId, Target};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Messages waiting to be published to the bus. When it is full, publishers wait
/// (up to [`PUBLISH_WAIT`]) instead of losing what they publish.
const PUBLISH_QUEUE: usize = 4096;
/// The most messages sent to the broker at once (one Redis pipeline).
const PUBLISH_BATCH: usize = 256;
/// How long a publisher waits for room in a full queue before it is refused.
const PUBLISH_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The broker does not keep up: the event was not sent to the other replicas.
#[derive(Debug, thiserror::Error)]
#[error("the {0} backplane is not keeping up; the event was not sent to the other replicas")]
pub struct Backlogged(&'static str);

/// A connection's id in the hub.
pub type ConnectionId = Uuid;

/// What replicas tell each other.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    /// The replica that sent it, which ignores its own messages.
    origin: Uuid,
    /// An event for every socket of `target` (the existing servers' envelope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target: Option<Target>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    event: Option<serde_json::Value>,
    /// Deliver only to sockets with a session in this organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    org: Option<OrgId>,
    /// A parked turn was taken here: a live turn waiting on it elsewhere stops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    park_taken: Option<ParkTaken>,
    /// An event of a turn running there, or its end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    turn: Option<TurnMessage>,
    /// A socket there cancels a conversation's turn, wherever it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cancel_turn: Option<CancelTurn>,
    /// Something happened to a handoff there, for the operators here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    handoff: Option<crate::handoff::Notice>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct ParkTaken {
    session: SessionId,
    park: Uuid,
}

pub struct Hub {
    origin: Uuid,
    local: Mutex<Registry>,
    /// The other replicas, when there are any.
    bus: Option<BusLink>,
    parking: Parking,
    streams: Arc<TurnStreams>,
    /// What happens to handoffs, on every replica, for operators' live views.
    handoffs: tokio::sync::broadcast::Sender<Arc<crate::handoff::Notice>>,
}

/// Handoff notices an operator's view may fall behind by before it is told to
/// read everything again.
const HANDOFF_FEED: usize = 1024;

struct BusLink {
    label: &'static str,
    queue: mpsc::Sender<Vec<u8>>,
    /// The bus itself, for readiness probes.
    bus: Arc<dyn Bus>,
}

#[derive(Default)]
struct Registry {
    sinks: HashMap<ConnectionId, Outbound>,
    members: HashMap<Target, HashSet<ConnectionId>>,
    joined: HashMap<ConnectionId, Vec<Target>>,
    /// The organisations of each connection's sessions and verified user.
    orgs: HashMap<ConnectionId, HashSet<OrgId>>,
}

impl Hub {
    /// A hub for this replica alone.
    pub fn local(parking: Parking, streams: Arc<TurnStreams>) -> Arc<Self> {
        Arc::new(Self {
            origin: Uuid::new_v4(),
            local: Mutex::default(),
            bus: None,
            parking,
            streams,
            handoffs: tokio::sync::broadcast::channel(HANDOFF_FEED).0,
        })
    }

    /// A hub joined to the other replicas through `bus`. Its tasks stop with `stop`.
    pub async fn joined(
        bus: Arc<dyn Bus>,
        parking: Parking,
        streams: Arc<TurnStreams>,
        stop: CancellationToken,
    ) -> Result<Arc<Self>, switchboard_core::BusError> {
        let mut inbox = bus.subscribe().await?;
        let (queue, mut outbox) = mpsc::channel::<Vec<u8>>(PUBLISH_QUEUE);
        let hub = Arc::new(Self {
            origin: Uuid::new_v4(),
            local: Mutex::default(),
            bus: Some(BusLink {
                label: bus.label(),
                queue,
                bus: bus.clone(),
            }),
            parking,
            streams,
            handoffs: tokio::sync::broadcast::channel(HANDOFF_FEED).0,
        });
        // One publisher, so this replica's messages leave in order; what queued up
        // while it waited on the broker leaves together.
        tokio::spawn({
            let stop = stop.clone();
            async move {
                let mut batch = Vec::with_capacity(PUBLISH_BATCH);
                loop {
                    let received = tokio::select! {
                        () = stop.cancelled() => return,
                        received = outbox.recv_many(&mut batch, PUBLISH_BATCH) => received,
                    };
                    if received == 0 {
                        return;
                    }
                    let messages = std::mem::replace(&mut batch, Vec::with_capacity(PUBLISH_BATCH));
                    if let Err(error) = bus.publish_all(messages).await {
                        tracing::warn!(%error, count = received, "backplane publish failed; the events are lost");
                    }
                }
            }
        });
        // One receiver, so what arrives is delivered in the bus's order.
        tokio::spawn({
            let hub = Arc::downgrade(&hub);
            async move {
                loop {
                    let message = tokio::select! {
                        () = stop.cancelled() => return,
                        message = inbox.recv() => match message {
                            Some(message) => message,
                            None => return,
                        },
                    };
                    let Some(hub) = hub.upgrade() else { return };
                    hub.receive(&message);
                }
            }
        });
        Ok(hub)
    }

    /// The turns this replica runs and hears of, for replay.
    pub fn streams(&self) -> &Arc<TurnStreams> {
        &self.streams
    }

    /// Sends an event (or the end) of a turn running here to the other replicas.
    pub async fn publish_turn(&self, message: TurnMessage) -> Result<(), Backlogged> {
        self.broadcast(Envelope {
            turn: Some(message),
            ..self.envelope()
        })
        .await
    }

    /// Cancels the running turns of `conversation`, here and on the other replicas.
    pub async fn cancel_turn(&self, org: &OrgId, conversation: switchboard_core::ConversationId) {
        self.streams.cancel(org, conversation);
        let sent = self
            .broadcast(Envelope {
                cancel_turn: Some(CancelTurn {
                    org: org.clone(),
                    conversation,
                }),
                ..self.envelope()
            })
            .await;
        if let Err(error) = sent {
            tracing::warn!(%error, "a cancel was not sent to the other replicas");
        }
    }

    /// An envelope from this replica carrying nothing yet.
    fn envelope(&self) -> Envelope {
        Envelope {
            origin: self.origin,
            target: None,
            event: None,
            org: None,
            park_taken: None,
            turn: None,
            cancel_turn: None,
            handoff: None,
        }
    }

    /// Tells every replica's operators (this one's included) what happened to a
    /// handoff.
    pub async fn publish_handoff(&self, notice: crate::handoff::Notice) {
        let sent = self
            .broadcast(Envelope {
                handoff: Some(notice.clone()),
                ..self.envelope()
            })
            .await;
        if let Err(error) = sent {
            tracing::warn!(%error, "a handoff notice was not sent to the other replicas");
        }
        let _ = self.handoffs.send(Arc::new(notice));
    }

    /// A new subscription to every replica's handoff notices.
    pub fn handoff_feed(&self) -> tokio::sync::broadcast::Receiver<Arc<crate::handoff::Notice>> {
        self.handoffs.subscribe()
    }

    /// Whether the broker takes a message now: publishes one that every replica
    /// ignores. A single replica has no broker and is always ready.
    pub async fn probe(&self) -> Result<(), switchboard_core::BusError> {
        let Some(link) = &self.bus else { return Ok(()) };
        let probe = self.envelope();
        let message = serde_json::to_vec(&probe).unwrap_or_default();
        link.bus.publish(message).await
    }

    /// `memory` for a single replica, else the bus's name.
    pub fn label(&self) -> &'static str {
        self.bus.as_ref().map_or("memory", |b| b.label)
    }

    /// Registers a connection's queue; it is reachable as `Target::Connection(id)`.
    pub fn attach(&self, outbound: Outbound) -> ConnectionId {
        let id = Uuid::new_v4();
        let mut local = self.lock();
        local.sinks.insert(id, outbound);
        local.join(id, Target::Connection(id.to_string()));
        id
    }

    /// Adds a connection to `target` (a session it opened, that session's agent).
    pub fn associate(&self, connection: ConnectionId, target: Target) {
        let mut local = self.lock();
        if local.sinks.contains_key(&connection) {
            local.join(connection, target);
        }
    }

    /// Notes that a connection acts in `org` (a session it opened, its verified
    /// user's organisation): events published for that organisation reach it.
    pub fn join_org(&self, connection: ConnectionId, org: &OrgId) {
        let mut local = self.lock();
        if local.sinks.contains_key(&connection) {
            local
                .orgs
                .entry(connection)
                .or_default()
                .insert(org.clone());
        }
    }

    /// Forgets a connection and everything it joined.
    pub fn detach(&self, connection: ConnectionId) {
        let mut local = self.lock();
        local.sinks.remove(&connection);
        local.orgs.remove(&connection);
        for target in local.joined.remove(&connection).unwrap_or_default() {
            if let Some(members) = local.members.get_mut(&target) {
                members.remove(&connection);
                if members.is_empty() {
                    local.members.remove(&target);
                }
            }
        }
    }

    /// How many connections this replica holds.
    pub fn connection_count(&self) -> usize {
        self.lock().sinks.len()
    }

    /// Sends `event` to every socket of `target`, on every replica; with `org`, only
    /// to sockets acting in that organisation (agents and users may span several).
    /// Returns how many sockets on this replica received it.
    ///
    /// Returns the deliveries on this replica. When the broker falls behind, waits
    /// for room in the queue to it, and gives up after a while with [`Backlogged`]
    /// (the local deliveries stand).
    pub async fn publish(
        &self,
        target: &Target,
        event: &serde_json::Value,
        org: Option<&OrgId>,
    ) -> Result<usize, Backlogged> {
        let delivered = self.deliver(target, &event.to_string(), org);
        self.broadcast(Envelope {
            target: Some(target.clone()),
            event: Some(event.clone()),
            org: org.cloned(),
            ..self.envelope()
        })
        .await?;
        Ok(delivered)
    }

    /// Tells the other replicas that park `park` of `session` was taken here, so a
    /// live turn still waiting on it there stops.
    pub async fn park_taken(&self, session: SessionId, park: Uuid) {
        let sent = self
            .broadcast(Envelope {
                park_taken: Some(ParkTaken { session, park }),
                ..self.envelope()
            })
            .await;
        if let Err(error) = sent {
            // The other replica's turn then waits until its park expires.
            tracing::warn!(%error, %session, "a taken parked turn was not announced");
        }
    }

    async fn broadcast(&self, envelope: Envelope) -> Result<(), Backlogged> {
        let Some(bus) = &self.bus else { return Ok(()) };
        let message = match serde_json::to_vec(&envelope) {
            Ok(message) => message,
            Err(error) => {
                tracing::error!(%error, "cannot encode a backplane message");
                return Ok(());
            }
        };
        match tokio::time::timeout(PUBLISH_WAIT, bus.queue.send(message)).await {
            Ok(Ok(())) => Ok(()),
            // The publisher stopped: the server is shutting down.
            Ok(Err(_)) => Ok(()),
            Err(_) => {
                tracing::warn!(
                    backplane = bus.label,
                    "backplane publish queue stayed full for {PUBLISH_WAIT:?}; an event was refused"
                );
                Err(Backlogged(bus.label))
            }
        }
    }

    /// Handles a message from the bus.
    fn receive(&self, message: &[u8]) {
        let envelope: Envelope = match serde_json::from_slice(message) {
            Ok(envelope) => envelope,
            Err(error) => {
                tracing::warn!(%error, "ignoring a malformed backplane message");
                return;
            }
        };
        if envelope.origin == self.origin {
            return;
        }
        if let (Some(target), Some(event)) = (&envelope.target, &envelope.event) {
            self.deliver(target, &event.to_string(), envelope.org.as_ref());
        }
        if let Some(taken) = envelope.park_taken {
            self.parking.forget(taken.session, taken.park);
        }
        if let Some(turn) = envelope.turn {
            self.streams.apply_remote(turn);
        }
        if let Some(cancel) = envelope.cancel_turn {
            self.streams.cancel(&cancel.org, cancel.conversation);
        }
        if let Some(notice) = envelope.handoff {
            let _ = self.handoffs.send(Arc::new(notice));
        }
    }

    /// Queues `frame` on every local socket of `target` (in `org`), never waiting.
    fn deliver(&self, target: &Target, frame: &str, org: Option<&OrgId>) -> usize {
        let local = self.lock();
        let Some(members) = local.members.get(target) else {
            return 0;
        };
        let in_org = |id: &ConnectionId| {
            org.is_none_or(|org| local.orgs.get(id).is_some_and(|orgs| orgs.contains(org)))
        };
        let mut delivered = 0;
        for id in members.iter().filter(|id| in_org(id)) {
            match local
                .sinks
                .get(id)
                .map(|sink| sink.try_send_frame(frame.to_owned()))
            {
                Some(Ok(())) => delivered += 1,
                Some(Err(_)) => {
                    tracing::warn!(connection = %id, "a slow client misses a published event")
                }
                None => {}
            }
        }
        delivered
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.local.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Registry {
    fn join(&mut self, connection: ConnectionId, target: Target) {
        let joined = self.joined.entry(connection).or_default();
        if joined.contains(&target) {
            return;
        }
        joined.push(target.clone());
        self.members.entry(target).or_default().insert(connection);
    }
}

#[cfg(test)]
mod tests;
