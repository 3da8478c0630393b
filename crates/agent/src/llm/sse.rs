//! Turns the `data:` payloads of an OpenAI-style chat completion stream into
//! [`StreamEvent`]s. Pure and synchronous, so every quirk of the wire format is
//! tested here without a server.

use super::{LlmError, StreamEvent, TokenUsage, ToolCall};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The state of one completion's stream: tool calls half-assembled from deltas, and
/// whether the completion has said it is finished.
#[derive(Debug, Default)]
pub(crate) struct ChunkParser {
    /// Tool calls being assembled, by their `index` in the stream.
    calls: BTreeMap<u32, PartialCall>,
    /// Cost the gateway announced in a response header, used when the usage chunk
    /// carries none.
    header_cost: Option<f64>,
    /// A `finish_reason` arrived.
    finished: bool,
    /// `[DONE]` arrived; nothing after it matters.
    done: bool,
}

#[derive(Debug, Default)]
struct PartialCall {
    id: Option<String>,
    name: Option<String>,
    arguments: String,
}

impl ChunkParser {
    pub(crate) fn new(header_cost: Option<f64>) -> Self {
        Self {
            header_cost,
            ..Self::default()
        }
    }

    /// `[DONE]` arrived: the caller should stop reading.
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// Consumes one event's `data` and returns what it completed, in order.
    pub(crate) fn push(&mut self, data: &str) -> Result<Vec<StreamEvent>, LlmError> {
        let data = data.trim();
        if self.done || data.is_empty() {
            return Ok(Vec::new());
        }
        if data == "[DONE]" {
            self.done = true;
            return self.flush_calls();
        }
        let chunk: Chunk = serde_json::from_str(data)
            .map_err(|e| LlmError::Protocol(format!("a chunk is not valid JSON ({e})")))?;
        if let Some(error) = chunk.error.filter(|e| !e.is_null()) {
            return Err(stream_error(&error));
        }

        let mut events = Vec::new();
        // We ask for one choice; anything else a gateway sends is not ours.
        for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
            if let Some(delta) = choice.delta {
                self.apply_delta(delta, &mut events);
            }
            if choice.finish_reason.is_some() {
                self.finished = true;
                events.extend(self.flush_calls()?);
            }
        }
        if let Some(usage) = chunk.usage {
            events.push(StreamEvent::Usage(TokenUsage {
                prompt_tokens: usage.prompt_tokens.unwrap_or(0),
                completion_tokens: usage.completion_tokens.unwrap_or(0),
                cost_usd: usage
                    .cost
                    .as_ref()
                    .and_then(|c| c.as_f64())
                    .or(self.header_cost),
            }));
        }
        Ok(events)
    }

    /// The body ended. Returns the tool calls still pending, or an error when the
    /// completion never said it was finished (the stream was cut short: the gateway
    /// or its provider went away, which another attempt may not meet).
    pub(crate) fn finish(&mut self) -> Result<Vec<StreamEvent>, LlmError> {
        if !self.done && !self.finished {
            return Err(LlmError::Interrupted(
                "the stream ended before the completion finished".into(),
            ));
        }
        self.flush_calls()
    }

    fn apply_delta(&mut self, delta: Delta, events: &mut Vec<StreamEvent>) {
        // Some servers send the same text under both names; one is enough.
        let reasoning = [delta.reasoning_content, delta.reasoning]
            .into_iter()
            .flatten()
            .find(|r| !r.is_empty());
        if let Some(reasoning) = reasoning {
            events.push(StreamEvent::Reasoning(reasoning));
        }
        if let Some(text) = delta.content.filter(|t| !t.is_empty()) {
            events.push(StreamEvent::Text(text));
        }
        for call in delta.tool_calls.into_iter().flatten() {
            let index = self.index_for(&call);
            let partial = self.calls.entry(index).or_default();
            if partial.id.is_none() {
                partial.id = call.id.filter(|id| !id.is_empty());
            }
            if let Some(function) = call.function {
                if partial.name.is_none() {
                    partial.name = function.name.filter(|n| !n.is_empty());
                }
                partial
                    .arguments
                    .push_str(function.arguments.as_deref().unwrap_or(""));
            }
        }
    }

    /// Where a delta belongs. Deltas without an `index` (some OpenAI-compatible
    /// servers omit it) start a new call when they carry a new id, and otherwise
    /// continue the latest one.
    fn index_for(&self, call: &ToolCallDelta) -> u32 {
        if let Some(index) = call.index {
            return index;
        }
        let last = self.calls.last_key_value();
        let is_new = match (last, call.id.as_deref()) {
            (None, _) => true,
            (Some((_, partial)), Some(id)) => partial.id.as_deref().is_some_and(|p| p != id),
            (Some(_), None) => false,
        };
        match last {
            Some((&index, _)) if is_new => index + 1,
            Some((&index, _)) => index,
            None => 0,
        }
    }

    /// Emits the assembled tool calls in index order and forgets them.
    fn flush_calls(&mut self) -> Result<Vec<StreamEvent>, LlmError> {
        std::mem::take(&mut self.calls)
            .into_iter()
            .map(|(index, call)| {
                let name = call.name.ok_or_else(|| {
                    LlmError::Protocol(format!("tool call {index} has no function name"))
                })?;
                let arguments = if call.arguments.trim().is_empty() {
                    "{}".to_string()
                } else {
                    call.arguments
                };
                Ok(StreamEvent::ToolCall(ToolCall {
                    id: call.id.unwrap_or_else(|| format!("call_{index}")),
                    name,
                    arguments,
                }))
            })
            .collect()
    }
}

/// What an `error` object in the stream stands for, judged by its `code` (a number
/// or a numeric string, as LiteLLM sends it) or else its `type`. The request was
/// accepted, so without a code saying otherwise the fault is upstream.
fn stream_error(error: &serde_json::Value) -> LlmError {
    let body = format!("mid-stream error: {}", error_message(error));
    let status = match error.get("code") {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .and_then(|n| u16::try_from(n).ok())
    .filter(|n| (400..600).contains(n));
    let kind = [error.get("type"), error.get("code")]
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase();
    let refused = [
        "invalid_request",
        "authentication",
        "permission",
        "context_length",
    ]
    .iter()
    .any(|k| kind.contains(k));
    match status {
        Some(429) => LlmError::RateLimited,
        Some(status @ 400..=499) => LlmError::Rejected { status, body },
        Some(status) => LlmError::Upstream { status, body },
        None if kind.contains("rate_limit") => LlmError::RateLimited,
        None if refused => LlmError::Rejected { status: 400, body },
        None => LlmError::Upstream { status: 502, body },
    }
}

/// The readable part of an `error` object a gateway put in the stream.
fn error_message(error: &serde_json::Value) -> String {
    let text = match error.get("message").and_then(|m| m.as_str()) {
        Some(message) => message.to_string(),
        None => error.to_string(),
    };
    text.chars().take(500).collect()
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    index: u32,
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    reasoning_content: Option<String>,
    #[serde(default)]
    reasoning: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCallDelta>>,
}

#[derive(Deserialize)]
struct ToolCallDelta {
    #[serde(default)]
    index: Option<u32>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<FunctionDelta>,
}

#[derive(Deserialize)]
struct FunctionDelta {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
    /// Some gateways (OpenRouter, LiteLLM) report the price here.
    #[serde(default)]
    cost: Option<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> StreamEvent {
        StreamEvent::Text(s.into())
    }

    fn call(id: &str, name: &str, arguments: &str) -> StreamEvent {
        StreamEvent::ToolCall(ToolCall {
            id: id.into(),
            name: name.into(),
            arguments: arguments.into(),
        })
    }

    fn push_all(parser: &mut ChunkParser, chunks: &[&str]) -> Vec<StreamEvent> {
        let mut events = Vec::new();
        for chunk in chunks {
            events.extend(parser.push(chunk).expect("chunk parses"));
        }
        events
    }

    #[test]
    fn text_deltas_become_text_events_and_empty_ones_are_skipped() {
        let mut parser = ChunkParser::new(None);
        let events = push_all(
            &mut parser,
            &[
                r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#,
                r#"{"choices":[{"index":0,"delta":{"content":"Hel"}}]}"#,
                r#"{"choices":[{"index":0,"delta":{"content":null}}]}"#,
                r#"{"choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}"#,
                "[DONE]",
            ],
        );
        assert_eq!(events, vec![text("Hel"), text("lo")]);
        assert!(parser.is_done());
        assert_eq!(parser.finish(), Ok(vec![]));
    }

    #[test]
    fn tool_calls_split_across_chunks_with_interleaved_indexes_are_assembled_in_order() {
        let mut parser = ChunkParser::new(None);
        let events = push_all(
            &mut parser,
            &[
                r#"{"choices":[{"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"lookup","arguments":""}}]}}]}"#,
                r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_a","function":{"name":"search","arguments":"{\"q\":"}}]}}]}"#,
                r#"{"choices":[{"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"id\":7}"}}]}}]}"#,
                r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"rust\"}"}}]}}]}"#,
            ],
        );
        assert!(
            events.is_empty(),
            "calls wait for finish_reason: {events:?}"
        );
        let events = parser
            .push(r#"{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}"#)
            .unwrap();
        assert_eq!(
            events,
            vec![
                call("call_a", "search", r#"{"q":"rust"}"#),
                call("call_b", "lookup", r#"{"id":7}"#),
            ]
        );
        // Emitted once only.
        assert_eq!(parser.push("[DONE]"), Ok(vec![]));
        assert_eq!(parser.finish(), Ok(vec![]));
    }

    #[test]
    fn pending_tool_calls_are_emitted_at_done_without_finish_reason() {
        let mut parser = ChunkParser::new(None);
        push_all(
            &mut parser,
            &[
                r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"now","arguments":"{}"}}]}}]}"#,
            ],
        );
        assert_eq!(parser.push("[DONE]"), Ok(vec![call("c1", "now", "{}")]));
    }

    #[test]
    fn empty_or_blank_arguments_become_an_empty_object() {
        let mut parser = ChunkParser::new(None);
        let events = push_all(
            &mut parser,
            &[
                r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"now"}}]}}]}"#,
                r#"{"choices":[{"delta":{"tool_calls":[{"index":1,"id":"c2","function":{"name":"later","arguments":"  "}}]}}]}"#,
                r#"{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}"#,
            ],
        );
        assert_eq!(
            events,
            vec![call("c1", "now", "{}"), call("c2", "later", "{}")]
        );
    }

    #[test]
    fn deltas_without_index_are_grouped_by_id() {
        let mut parser = ChunkParser::new(None);
        let events = push_all(
            &mut parser,
            &[
                r#"{"choices":[{"delta":{"tool_calls":[{"id":"a","function":{"name":"one","arguments":"{\"x\""}}]}}]}"#,
                r#"{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":":1}"}}]}}]}"#,
                r#"{"choices":[{"delta":{"tool_calls":[{"id":"b","function":{"name":"two","arguments":"{}"}}]}}]}"#,
                r#"{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}"#,
            ],
        );
        assert_eq!(
            events,
            vec![call("a", "one", r#"{"x":1}"#), call("b", "two", "{}")]
        );
    }

    #[test]
    fn a_tool_call_without_a_name_is_a_protocol_error() {
        let mut parser = ChunkParser::new(None);
        push_all(
            &mut parser,
            &[
                r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"arguments":"{}"}}]}}]}"#,
            ],
        );
        let result = parser.push(r#"{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}"#);
        assert!(matches!(result, Err(LlmError::Protocol(_))), "{result:?}");
    }

    #[test]
    fn reasoning_comes_from_either_field_once() {
        let mut parser = ChunkParser::new(None);
        let events = push_all(
            &mut parser,
            &[
                r#"{"choices":[{"delta":{"reasoning_content":"Think"}}]}"#,
                r#"{"choices":[{"delta":{"reasoning":"ing"}}]}"#,
                r#"{"choices":[{"delta":{"reasoning_content":" twice","reasoning":" twice"}}]}"#,
                r#"{"choices":[{"delta":{"reasoning":"","content":"Answer"}}]}"#,
            ],
        );
        assert_eq!(
            events,
            vec![
                StreamEvent::Reasoning("Think".into()),
                StreamEvent::Reasoning("ing".into()),
                StreamEvent::Reasoning(" twice".into()),
                text("Answer"),
            ]
        );
    }

    #[test]
    fn a_usage_only_chunk_reports_usage_with_its_cost() {
        let mut parser = ChunkParser::new(Some(0.5));
        let events = parser
            .push(r#"{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15,"cost":0.0021}}"#)
            .unwrap();
        assert_eq!(
            events,
            vec![StreamEvent::Usage(TokenUsage {
                prompt_tokens: 12,
                completion_tokens: 3,
                cost_usd: Some(0.0021),
            })]
        );
    }

    #[test]
    fn usage_falls_back_to_the_header_cost_and_null_usage_is_ignored() {
        let mut parser = ChunkParser::new(Some(0.5));
        let events = push_all(
            &mut parser,
            &[
                r#"{"choices":[{"delta":{"content":"x"}}],"usage":null}"#,
                r#"{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"cost":"n/a"}}"#,
            ],
        );
        assert_eq!(
            events,
            vec![
                text("x"),
                StreamEvent::Usage(TokenUsage {
                    prompt_tokens: 1,
                    completion_tokens: 2,
                    cost_usd: Some(0.5),
                }),
            ]
        );
    }

    #[test]
    fn nothing_after_done_is_read() {
        let mut parser = ChunkParser::new(None);
        assert_eq!(parser.push(" [DONE] "), Ok(vec![]));
        assert_eq!(parser.push("not json"), Ok(vec![]));
        assert_eq!(parser.finish(), Ok(vec![]));
    }

    #[test]
    fn malformed_json_is_a_protocol_error() {
        let mut parser = ChunkParser::new(None);
        let result = parser.push(r#"{"choices":[{"delta":"#);
        assert!(matches!(result, Err(LlmError::Protocol(_))), "{result:?}");
    }

    #[test]
    fn an_error_object_in_the_stream_is_mapped_by_its_code_and_quoted() {
        let error = |chunk: &str| ChunkParser::new(None).push(chunk).unwrap_err();
        let upstream = error(r#"{"error":{"message":"model overloaded","code":502}}"#);
        let LlmError::Upstream { status: 502, body } = &upstream else {
            panic!("expected upstream 502, got {upstream:?}");
        };
        assert!(body.contains("model overloaded"), "{body}");
        assert!(matches!(
            error(r#"{"error":{"message":"x","type":"None","code":"500"}}"#),
            LlmError::Upstream { status: 500, .. }
        ));
        assert_eq!(error(r#"{"error":{"code":"429"}}"#), LlmError::RateLimited);
        assert_eq!(
            error(r#"{"error":{"type":"rate_limit_error"}}"#),
            LlmError::RateLimited
        );
        assert!(matches!(
            error(r#"{"error":{"code":401,"message":"bad key"}}"#),
            LlmError::Rejected { status: 401, .. }
        ));
        assert!(matches!(
            error(r#"{"error":{"type":"invalid_request_error"}}"#),
            LlmError::Rejected { status: 400, .. }
        ));
        assert!(matches!(
            error(r#"{"error":"something"}"#),
            LlmError::Upstream { status: 502, .. }
        ));
    }

    #[test]
    fn a_stream_cut_short_is_interrupted_but_one_that_finished_is_not() {
        let mut cut = ChunkParser::new(None);
        push_all(&mut cut, &[r#"{"choices":[{"delta":{"content":"Hal"}}]}"#]);
        assert!(matches!(cut.finish(), Err(LlmError::Interrupted(_))));

        let mut finished = ChunkParser::new(None);
        push_all(
            &mut finished,
            &[r#"{"choices":[{"delta":{"content":"Hi"},"finish_reason":"stop"}]}"#],
        );
        assert_eq!(finished.finish(), Ok(vec![]));
    }

    #[test]
    fn other_choices_and_unknown_fields_are_ignored() {
        let mut parser = ChunkParser::new(None);
        let events = push_all(
            &mut parser,
            &[
                r#"{"id":"x","object":"chat.completion.chunk","choices":[{"index":1,"delta":{"content":"no"}},{"index":0,"delta":{"content":"yes","refusal":null},"logprobs":null}],"system_fingerprint":"fp"}"#,
            ],
        );
        assert_eq!(events, vec![text("yes")]);
    }
}
