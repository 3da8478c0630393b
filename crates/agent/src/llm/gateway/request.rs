//! The request body in the OpenAI chat completions wire format, borrowed from a
//! [`ChatRequest`] so nothing is copied before serialization.

use crate::llm::{ChatMessage, ChatRequest};
use serde::Serialize;

/// The request body in the OpenAI chat completions format.
#[derive(Serialize)]
pub(super) struct WireRequest<'a> {
    model: &'a str,
    messages: Vec<WireMessage<'a>>,
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<WireTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<&'static str>,
}

impl<'a> WireRequest<'a> {
    /// The grounding is not sent separately: the turn has already rendered it into
    /// the messages.
    pub(super) fn new(request: &'a ChatRequest) -> Self {
        let tools: Vec<_> = request
            .tools
            .iter()
            .map(|tool| WireTool {
                kind: "function",
                function: WireFunction {
                    name: &tool.name,
                    description: &tool.description,
                    parameters: &tool.parameters,
                },
            })
            .collect();
        Self {
            model: &request.model,
            messages: request.messages.iter().map(WireMessage::new).collect(),
            stream: true,
            stream_options: Some(StreamOptions {
                include_usage: true,
            }),
            max_tokens: request.max_tokens,
            temperature: request.temperature,
            tool_choice: (!tools.is_empty()).then_some("auto"),
            tools,
        }
    }
}

impl<'a> WireRequest<'a> {
    /// The same request, answered in one piece (`stream: false`), for short side
    /// calls such as a workflow judge.
    pub(super) fn one_shot(request: &'a ChatRequest) -> Self {
        Self {
            stream: false,
            stream_options: None,
            ..Self::new(request)
        }
    }
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Serialize)]
#[serde(tag = "role", rename_all = "lowercase")]
enum WireMessage<'a> {
    System {
        content: &'a str,
    },
    User {
        content: UserContent<'a>,
    },
    Assistant {
        content: Option<&'a str>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<WireToolCall<'a>>,
    },
    Tool {
        tool_call_id: &'a str,
        content: &'a str,
    },
}

impl<'a> WireMessage<'a> {
    fn new(message: &'a ChatMessage) -> Self {
        match message {
            ChatMessage::System { content } => Self::System { content },
            ChatMessage::User { content, images } if images.is_empty() => Self::User {
                content: UserContent::Text(content),
            },
            ChatMessage::User { content, images } => {
                let text = std::iter::once(ContentPart::Text { text: content });
                let images = images.iter().map(|image| ContentPart::ImageUrl {
                    image_url: ImageUrl {
                        url: &image.url,
                        detail: image.detail.as_deref(),
                    },
                });
                Self::User {
                    content: UserContent::Parts(text.chain(images).collect()),
                }
            }
            ChatMessage::Assistant {
                content,
                tool_calls,
            } => Self::Assistant {
                content: content.as_deref(),
                tool_calls: tool_calls
                    .iter()
                    .map(|call| WireToolCall {
                        id: &call.id,
                        kind: "function",
                        function: WireFunctionCall {
                            name: &call.name,
                            arguments: &call.arguments,
                        },
                    })
                    .collect(),
            },
            ChatMessage::Tool {
                tool_call_id,
                content,
            } => Self::Tool {
                tool_call_id,
                content,
            },
        }
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum UserContent<'a> {
    Text(&'a str),
    Parts(Vec<ContentPart<'a>>),
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ContentPart<'a> {
    Text { text: &'a str },
    ImageUrl { image_url: ImageUrl<'a> },
}

#[derive(Serialize)]
struct ImageUrl<'a> {
    url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
}

#[derive(Serialize)]
struct WireToolCall<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireFunctionCall<'a>,
}

#[derive(Serialize)]
struct WireFunctionCall<'a> {
    name: &'a str,
    arguments: &'a str,
}

#[derive(Serialize)]
struct WireTool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireFunction<'a>,
}

#[derive(Serialize)]
struct WireFunction<'a> {
    name: &'a str,
    description: &'a str,
    parameters: &'a serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{ImageRef, ToolCall, ToolSpec};
    use serde_json::json;

    fn wire(request: &ChatRequest) -> serde_json::Value {
        serde_json::to_value(WireRequest::new(request)).unwrap()
    }

    fn request(messages: Vec<ChatMessage>) -> ChatRequest {
        ChatRequest {
            model: "m".into(),
            messages,
            tools: Vec::new(),
            max_tokens: 256,
            temperature: None,
            grounding: Vec::new(),
        }
    }

    #[test]
    fn messages_take_the_openai_shapes() {
        let messages = vec![
            ChatMessage::system("Be brief."),
            ChatMessage::user("Hi"),
            ChatMessage::User {
                content: "What is this?".into(),
                images: vec![
                    ImageRef {
                        url: "data:image/png;base64,AAAA".into(),
                        detail: Some("low".into()),
                    },
                    ImageRef {
                        url: "https://example.com/a.jpg".into(),
                        detail: None,
                    },
                ],
            },
            ChatMessage::Assistant {
                content: None,
                tool_calls: vec![ToolCall {
                    id: "call_1".into(),
                    name: "search".into(),
                    arguments: r#"{"q":"x"}"#.into(),
                }],
            },
            ChatMessage::Tool {
                tool_call_id: "call_1".into(),
                content: "found".into(),
            },
            ChatMessage::assistant("Done."),
        ];
        assert_eq!(
            wire(&request(messages))["messages"],
            json!([
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "user", "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}},
                ]},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "search", "arguments": "{\"q\":\"x\"}"}},
                ]},
                {"role": "tool", "tool_call_id": "call_1", "content": "found"},
                {"role": "assistant", "content": "Done."},
            ])
        );
    }

    #[test]
    fn optional_fields_are_left_out_when_unset() {
        let body = wire(&request(vec![ChatMessage::user("Hi")]));
        let object = body.as_object().unwrap();
        for absent in ["temperature", "tools", "tool_choice"] {
            assert!(!object.contains_key(absent), "{absent} in {body}");
        }
        assert_eq!(body["stream"], json!(true));
        assert_eq!(body["stream_options"], json!({"include_usage": true}));
        assert_eq!(body["max_tokens"], json!(256));
    }

    #[test]
    fn tools_and_temperature_are_sent_when_set() {
        let mut request = request(vec![ChatMessage::user("Hi")]);
        request.temperature = Some(0.5);
        request.tools = vec![ToolSpec {
            name: "search".into(),
            description: "Search the docs.".into(),
            parameters: json!({"type": "object", "properties": {}}),
        }];
        let body = wire(&request);
        assert_eq!(body["temperature"], json!(0.5));
        assert_eq!(body["tool_choice"], json!("auto"));
        assert_eq!(
            body["tools"],
            json!([{"type": "function", "function": {
                "name": "search",
                "description": "Search the docs.",
                "parameters": {"type": "object", "properties": {}},
            }}])
        );
    }
}
