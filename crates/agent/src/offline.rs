//! The offline responder: answers without any LLM by quoting the knowledge base.
//!
//! It composes a short extractive answer from the passages retrieved for the
//! question, names their sources, and says plainly when nothing relevant is known.
//! It is what a fresh install with no credentials runs on.

use crate::llm::{
    ChatMessage, ChatRequest, Grounding, LlmError, LlmProvider, LlmStream, StreamEvent,
};
use async_trait::async_trait;
use switchboard_knowledge::text::{sentences, terms};

/// Sentences quoted at most.
const MAX_SENTENCES: usize = 3;

pub const NOTHING_KNOWN: &str = "I couldn't find anything about that in this organisation's documents, so I can't answer it reliably. Try asking in other words, or ask a member of the team.";

pub const GREETING: &str =
    "Hello! I answer questions from this organisation's documents. What would you like to know?";

#[derive(Debug, Clone, Copy, Default)]
pub struct OfflineResponder;

#[async_trait]
impl LlmProvider for OfflineResponder {
    async fn stream(&self, request: ChatRequest) -> Result<LlmStream, LlmError> {
        let question = request
            .messages
            .iter()
            .rev()
            .find_map(|m| match m {
                ChatMessage::User { content, .. } => Some(content.as_str()),
                _ => None,
            })
            .unwrap_or_default();
        let answer = compose(question, &request.grounding);
        let events: Vec<Result<StreamEvent, LlmError>> = words(&answer)
            .map(|w| Ok(StreamEvent::Text(w.to_owned())))
            .collect();
        Ok(Box::pin(futures_util::stream::iter(events)))
    }

    fn label(&self) -> String {
        "offline".into()
    }
}

/// The answer to `question` from `passages` (best first): the sentences that share
/// the most terms with the question, quoted in document order, each line naming its
/// source.
pub fn compose(question: &str, passages: &[Grounding]) -> String {
    let wanted = terms(question);
    // (overlap, passage, sentence index, text)
    let mut picked: Vec<(usize, usize, usize, &str)> = Vec::new();
    for (p, passage) in passages.iter().enumerate() {
        for (s, sentence) in sentences(&passage.text).into_iter().enumerate() {
            let have = terms(sentence);
            let overlap = wanted.iter().filter(|w| have.contains(w)).count();
            if overlap > 0 {
                picked.push((overlap, p, s, sentence));
            }
        }
    }
    if picked.is_empty() {
        return if is_greeting(&wanted, question) {
            GREETING
        } else {
            NOTHING_KNOWN
        }
        .to_owned();
    }
    picked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    picked.truncate(MAX_SENTENCES);
    picked.sort_by(|a, b| a.1.cmp(&b.1).then(a.2.cmp(&b.2)));
    let mut lines: Vec<(usize, String)> = Vec::new();
    for (_, p, _, sentence) in picked {
        match lines.last_mut() {
            Some((source, line)) if *source == p => {
                line.push(' ');
                line.push_str(sentence);
            }
            _ => lines.push((p, sentence.to_owned())),
        }
    }
    lines
        .into_iter()
        .map(|(p, line)| format!("{line} (Source: {})", passages[p].title))
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_greeting(wanted: &[String], question: &str) -> bool {
    let q = question.trim().to_lowercase();
    wanted.len() <= 2
        && [
            "hi",
            "hello",
            "hey",
            "thanks",
            "thank you",
            "good morning",
            "good afternoon",
            "good evening",
        ]
        .iter()
        .any(|g| q.starts_with(g))
}

/// Splits text into streamable pieces that concatenate back to it exactly.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split_inclusive(' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passage(title: &str, text: &str) -> Grounding {
        Grounding {
            title: title.into(),
            text: text.into(),
        }
    }

    #[test]
    fn quotes_the_relevant_sentences_with_their_source() {
        let passages = [
            passage(
                "policies/returns.md",
                "SmooAI's return window is exactly 17 days from delivery. Returns after 17 days are not accepted.",
            ),
            passage(
                "policies/shipping.md",
                "Standard shipping takes 5 to 7 business days.",
            ),
        ];
        let answer = compose("How long is the return window?", &passages);
        assert!(
            answer.starts_with("SmooAI's return window is exactly 17 days from delivery."),
            "{answer}"
        );
        assert!(
            answer.ends_with("(Source: policies/returns.md)"),
            "{answer}"
        );
        assert!(!answer.contains("shipping"));
    }

    #[test]
    fn says_plainly_when_nothing_is_known() {
        assert_eq!(compose("What is the meaning of life?", &[]), NOTHING_KNOWN);
        assert_eq!(compose("hello!", &[]), GREETING);
    }

    #[tokio::test]
    async fn streams_text_that_concatenates_to_the_answer() {
        use futures_util::StreamExt;
        let request = ChatRequest {
            model: "offline".into(),
            messages: vec![ChatMessage::user("return window?")],
            tools: vec![],
            max_tokens: 100,
            temperature: None,
            grounding: vec![passage("r.md", "The return window is 17 days.")],
        };
        let events: Vec<_> = OfflineResponder
            .stream(request)
            .await
            .unwrap()
            .collect()
            .await;
        assert!(events.len() > 3, "streamed in pieces");
        let text: String = events
            .into_iter()
            .map(|e| match e.unwrap() {
                StreamEvent::Text(t) => t,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(text, "The return window is 17 days. (Source: r.md)");
    }
}
