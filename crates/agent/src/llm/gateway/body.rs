//! Reading a successful response's event stream: bytes to SSE events (bounded, see
//! [`SseDecoder`]), events to [`StreamEvent`]s, with a limit on every silence.

use super::describe;
use crate::llm::sse::ChunkParser;
use crate::llm::sse_lines::SseDecoder;
use crate::llm::{LlmError, StreamEvent};
use futures_util::{Stream, StreamExt};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::timeout;

/// A response body as it arrives.
pub(super) trait Body:
    Stream<Item = Result<Self::Piece, reqwest::Error>> + Send + Unpin + 'static
{
    type Piece: AsRef<[u8]>;
}

impl<S, P> Body for S
where
    S: Stream<Item = Result<P, reqwest::Error>> + Send + Unpin + 'static,
    P: AsRef<[u8]>,
{
    type Piece = P;
}

/// Reads one completion's body. Any bytes restart the silence clock, including SSE
/// comments that gateways send as keep-alives while a model thinks; the limit is the
/// first-byte timeout until the first event, the idle timeout after.
pub(super) struct BodyReader<B> {
    /// `None` once the body has ended, failed or said `[DONE]`.
    body: Option<B>,
    decoder: SseDecoder,
    parser: ChunkParser,
    pending: VecDeque<StreamEvent>,
    /// Reported once `pending` is empty.
    failure: Option<LlmError>,
    seen_event: bool,
    first_byte_timeout: Duration,
    idle_timeout: Duration,
}

impl<B: Body> BodyReader<B> {
    pub(super) fn new(
        body: B,
        header_cost: Option<f64>,
        first_byte_timeout: Duration,
        idle_timeout: Duration,
    ) -> Self {
        Self {
            body: Some(body),
            decoder: SseDecoder::default(),
            parser: ChunkParser::new(header_cost),
            pending: VecDeque::new(),
            failure: None,
            seen_event: false,
            first_byte_timeout,
            idle_timeout,
        }
    }

    pub(super) async fn next(&mut self) -> Option<Result<StreamEvent, LlmError>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(Ok(event));
            }
            if let Some(failure) = self.failure.take() {
                return Some(Err(failure));
            }
            let body = self.body.as_mut()?;
            let (limit, waiting_for) = if self.seen_event {
                (self.idle_timeout, "silence between chunks")
            } else {
                (self.first_byte_timeout, "first byte")
            };
            let result = match timeout(limit, body.next()).await {
                Err(_) => Err(LlmError::Timeout(waiting_for)),
                Ok(None) => {
                    self.body = None;
                    self.decoder
                        .finish()
                        .and_then(|data| self.parse(data))
                        .and_then(|()| self.parser.finish())
                        .map(|events| self.pending.extend(events))
                }
                // The connection broke: the gateway or its provider went away.
                Ok(Some(Err(e))) => Err(LlmError::Interrupted(format!(
                    "the stream broke off: {}",
                    describe(&e)
                ))),
                Ok(Some(Ok(bytes))) => self
                    .decoder
                    .push(bytes.as_ref())
                    .and_then(|d| self.parse(d)),
            };
            if let Err(error) = result {
                self.body = None;
                self.failure = Some(error);
            }
            if self.parser.is_done()
                && let Some(rest) = self.body.take()
            {
                drain_in_background(rest, self.idle_timeout);
            }
        }
    }

    /// Parses events' data into `pending`, up to `[DONE]`.
    fn parse(&mut self, data: Vec<String>) -> Result<(), LlmError> {
        for data in data {
            if self.parser.is_done() {
                break;
            }
            self.seen_event = true;
            self.pending.extend(self.parser.push(&data)?);
        }
        Ok(())
    }
}

/// Reads what follows `[DONE]` (usually just the end of the chunked body) so the
/// connection goes back to the pool instead of being closed.
fn drain_in_background(mut rest: impl Body, limit: Duration) {
    tokio::spawn(async move {
        let _ = timeout(limit, async { while rest.next().await.is_some() {} }).await;
    });
}
