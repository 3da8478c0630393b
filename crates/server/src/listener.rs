//! The accept loop: every TCP connection is counted against its address's caps from
//! the moment it is accepted and served by hyper with a header-read timeout, and
//! shutdown waits for no connection longer than the drain time.
//!
//! `axum::serve` has neither a header timeout nor a bound on its graceful shutdown,
//! so a client holding a half-sent request could pin descriptors and keep the
//! process from exiting.

use crate::state::AppState;
use crate::ws::{AtCapacity, IpSlot};
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long the accept loop pauses after an accept error (typically out of
/// descriptors), so it does not spin while connections close.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The connection's place under `SMOOTH_AGENT_MAX_CONNECTIONS_PER_IP`, taken at
/// accept. A WebSocket upgrade takes it out and keeps it for the socket's life;
/// otherwise it is given back when the HTTP connection closes.
#[derive(Clone, Debug, Default)]
pub struct AcceptedSlot(Arc<Mutex<Option<IpSlot>>>);

impl AcceptedSlot {
    fn new(slot: IpSlot) -> Self {
        Self(Arc::new(Mutex::new(Some(slot))))
    }

    /// The slot, once: `None` when it was taken already or never counted (the
    /// address comes from `X-Forwarded-For`, or the router runs without [`run`]).
    pub fn take(&self) -> Option<IpSlot> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// What a newly accepted connection may do.
struct Admission {
    /// Its place under the pending cap, held until the HTTP connection ends (an
    /// upgraded WebSocket no longer counts as pending).
    pending: IpSlot,
    /// Its place under the per-address cap, or the cap it is over: then every
    /// request on it is answered 429.
    place: Result<AcceptedSlot, AtCapacity>,
}

/// Accepts connections until shutdown, then waits (at most the drain time plus a
/// second) for the open HTTP connections to finish, dropping what remains.
pub(crate) async fn run(listener: TcpListener, state: AppState) {
    let token = state.shutdown_token();
    let router = crate::app(state.clone());
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(state.config().header_timeout);
    let builder = Arc::new(builder);
    let tracker = TaskTracker::new();
    loop {
        let (tcp, peer) = tokio::select! {
            biased;
            () = token.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        let Some(admission) = admit(&state, peer) else {
            continue;
        };
        // Small frames must not wait for Nagle's algorithm (~40 ms per event otherwise).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "could not set TCP_NODELAY");
        }
        let connection = Served {
            builder: builder.clone(),
            router: router.clone(),
            token: token.clone(),
            drain: state.config().drain_timeout,
        };
        tracker.spawn(connection.run(tcp, peer, admission));
    }
    drop(listener);
    tracker.close();
    let limit = state.config().drain_timeout + Duration::from_secs(1);
    if tokio::time::timeout(limit, tracker.wait()).await.is_err() {
        tracing::warn!(
            open = tracker.len(),
            "HTTP connections still open after the drain deadline"
        );
    }
}

/// Counts a new connection under its address's caps; `None` (the socket is dropped
/// unanswered) when the address has as many pending connections as allowed. Behind
/// a trusted proxy nothing is counted here: every connection is the proxy's, and
/// the upgrade counts the forwarded address instead.
fn admit(state: &AppState, peer: SocketAddr) -> Option<Admission> {
    if state.config().trust_forwarded_for {
        return Some(Admission {
            pending: state.pending_slots().acquire(None).ok()?,
            place: Ok(AcceptedSlot::default()),
        });
    }
    let ip = peer.ip().to_canonical();
    let pending = match state.pending_slots().acquire(Some(ip)) {
        Ok(slot) => slot,
        Err(AtCapacity { max }) => {
            state.metrics().refused("SMOOTH_AGENT_MAX_PENDING_PER_IP");
            tracing::warn!(
                limit = "SMOOTH_AGENT_MAX_PENDING_PER_IP",
                max,
                %ip,
                "closing a new connection: too many unfinished requests from this address"
            );
            return None;
        }
    };
    let place = state
        .ip_slots()
        .acquire(Some(ip))
        .map(AcceptedSlot::new)
        .inspect_err(|AtCapacity { max }| {
            state
                .metrics()
                .refused("SMOOTH_AGENT_MAX_CONNECTIONS_PER_IP");
            tracing::warn!(
                limit = "SMOOTH_AGENT_MAX_CONNECTIONS_PER_IP",
                max,
                %ip,
                "refusing a connection: too many connections from this address"
            );
        });
    Some(Admission { pending, place })
}

/// What serving one connection needs.
struct Served {
    builder: Arc<http1::Builder>,
    router: Router,
    token: CancellationToken,
    drain: Duration,
}

impl Served {
    /// Serves HTTP/1 on `tcp` (upgrades included) until it closes; from shutdown on,
    /// lets the request in progress finish within the drain time, then drops it.
    async fn run(self, tcp: TcpStream, peer: SocketAddr, admission: Admission) {
        let Admission { pending, place } = admission;
        let router = self.router;
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            let router = router.clone();
            let place = place.clone();
            async move {
                let slot = match place {
                    Ok(slot) => slot,
                    Err(AtCapacity { max }) => return Ok(too_many(max)),
                };
                request.extensions_mut().insert(ConnectInfo(peer));
                request.extensions_mut().insert(slot);
                tower_service::Service::call(&mut router.clone(), request).await
            }
        });
        let connection = self
            .builder
            .serve_connection(TokioIo::new(tcp), service)
            .with_upgrades();
        tokio::pin!(connection);
        let outcome = tokio::select! {
            outcome = connection.as_mut() => outcome,
            () = self.token.cancelled() => {
                connection.as_mut().graceful_shutdown();
                match tokio::time::timeout(self.drain, connection.as_mut()).await {
                    Ok(outcome) => outcome,
                    Err(_) => {
                        tracing::debug!(%peer, "dropping an HTTP connection at the drain deadline");
                        return;
                    }
                }
            }
        };
        if let Err(e) = outcome {
            tracing::debug!(%peer, error = %e, "HTTP connection ended with an error");
        }
        drop(pending);
    }
}

/// The answer to every request on a connection over the per-address cap.
fn too_many(max: usize) -> Response<Body> {
    let mut response = Response::new(Body::from(format!(
        "too many connections from this address (at most {max})"
    )));
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
