//! Conversation workflows: an agent pursues goal steps one at a time; after each
//! turn a cheap judge call decides whether the current step's criteria were met.
//! The position is kept in the conversation's metadata, so it survives
//! reconnects, restarts and replica hops.

use crate::llm::{ChatMessage, ChatRequest, LlmProvider};
use serde::Deserialize;
use serde_json::{Map, Value};

pub const CURRENT_STEP_KEY: &str = "workflowCurrentStepId";
pub const ATTEMPTS_KEY: &str = "workflowStepAttempts";

/// Turns spent on one step before the workflow moves on regardless.
pub const MAX_ATTEMPTS: u64 = 3;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Workflow {
    pub goal: String,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Step {
    pub id: String,
    pub intent: String,
    pub criteria: String,
    /// The step after this one when its criteria are met (default: the next).
    pub next: Option<String>,
    /// Quick replies offered while on this step.
    #[serde(default)]
    pub suggested_replies: Vec<String>,
}

/// Where a conversation is in its workflow.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct Position {
    pub step: String,
    pub attempts: u64,
}

/// The judge's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Yes,
    No,
    Maybe,
}

impl Workflow {
    /// The conversation's position: the stored step if it still exists, else the
    /// first step.
    pub fn position(&self, metadata: &Map<String, Value>) -> Option<Position> {
        let first = self.steps.first()?;
        let stored = metadata.get(CURRENT_STEP_KEY).and_then(Value::as_str);
        let step = stored
            .filter(|id| self.steps.iter().any(|s| s.id == *id))
            .unwrap_or(&first.id);
        let attempts = if stored == Some(step) {
            metadata
                .get(ATTEMPTS_KEY)
                .and_then(Value::as_u64)
                .unwrap_or(0)
        } else {
            0
        };
        Some(Position {
            step: step.to_owned(),
            attempts,
        })
    }

    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// The system prompt section for the current step.
    pub fn prompt_section(&self, position: &Position) -> String {
        let index = self
            .steps
            .iter()
            .position(|s| s.id == position.step)
            .unwrap_or(0);
        let step = &self.steps[index];
        format!(
            "<ConversationWorkflow>\nGOAL: {}\nCURRENT STEP ({}/{}): {}\nINTENT: {}\nCRITERIA: {}\nPursue this step directly and naturally: steer the conversation toward meeting its criteria without announcing the workflow.\n</ConversationWorkflow>",
            self.goal,
            index + 1,
            self.steps.len(),
            step.id,
            step.intent,
            step.criteria
        )
    }

    /// The position after the judge's verdict: a met step moves on (to `next`,
    /// else the following step, else stays on the last); otherwise the attempt
    /// count grows, and after [`MAX_ATTEMPTS`] the workflow moves on anyway.
    pub fn advance(&self, position: &Position, verdict: Verdict) -> Position {
        let Some(index) = self.steps.iter().position(|s| s.id == position.step) else {
            return position.clone();
        };
        let step = &self.steps[index];
        let following = || {
            step.next
                .as_deref()
                .filter(|n| self.step(n).is_some())
                .map(str::to_owned)
                .or_else(|| self.steps.get(index + 1).map(|s| s.id.clone()))
        };
        let attempts = position.attempts + 1;
        match (verdict, following()) {
            (Verdict::Yes, Some(next)) => Position {
                step: next,
                attempts: 0,
            },
            (_, Some(next)) if attempts >= MAX_ATTEMPTS => Position {
                step: next,
                attempts: 0,
            },
            (Verdict::Yes, None) => Position {
                step: step.id.clone(),
                attempts: 0,
            },
            _ => Position {
                step: step.id.clone(),
                attempts,
            },
        }
    }

    /// Writes `position` into conversation metadata.
    pub fn store(position: &Position, metadata: &mut Map<String, Value>) {
        metadata.insert(
            CURRENT_STEP_KEY.into(),
            Value::String(position.step.clone()),
        );
        metadata.insert(ATTEMPTS_KEY.into(), Value::from(position.attempts));
    }
}

/// Reads the judge's reply leniently: "maybe" anywhere wins, then "yes", then "no".
pub fn parse_verdict(reply: &str) -> Verdict {
    let reply = reply.to_lowercase();
    if reply.contains("maybe") {
        Verdict::Maybe
    } else if reply.contains("yes") {
        Verdict::Yes
    } else if reply.contains("no") {
        Verdict::No
    } else {
        Verdict::Maybe
    }
}

const JUDGE_PROMPT: &str = "You judge whether one step of a customer conversation is complete. Answer with exactly one word: yes, no, or maybe.";

/// Asks `llm` whether the step's criteria were met by this exchange, and what
/// asking cost. Any failure is "maybe": a broken judge never moves a conversation.
pub async fn judge(
    llm: &dyn LlmProvider,
    model: &str,
    workflow: &Workflow,
    step: &Step,
    user: &str,
    agent: &str,
) -> (Verdict, Option<crate::llm::TokenUsage>) {
    let question = format!(
        "GOAL: {}\nSTEP: {} — {}\nCRITERIA: {}\n\nThe visitor said: {user}\nThe agent replied: {agent}\n\nAre the step's criteria met now?",
        workflow.goal, step.id, step.intent, step.criteria
    );
    let request = ChatRequest {
        model: model.to_owned(),
        messages: vec![
            ChatMessage::system(JUDGE_PROMPT),
            ChatMessage::user(question),
        ],
        tools: Vec::new(),
        max_tokens: 16,
        temperature: None,
        grounding: Vec::new(),
    };
    match llm.complete(request).await {
        Ok(reply) => (parse_verdict(&reply.text), reply.usage),
        Err(e) => {
            tracing::warn!(error = %e, "workflow judge failed");
            (Verdict::Maybe, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn workflow() -> Workflow {
        serde_json::from_value(json!({
            "goal": "Book a demo",
            "steps": [
                {"id": "need", "intent": "Learn the need", "criteria": "The need is known", "suggestedReplies": ["Sales", "Support"]},
                {"id": "contact", "intent": "Get an email", "criteria": "An email is given", "next": "book"},
                {"id": "skip", "intent": "Never", "criteria": "Never"},
                {"id": "book", "intent": "Book", "criteria": "A slot is chosen"}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn verdicts_are_read_leniently() {
        assert_eq!(parse_verdict("Yes."), Verdict::Yes);
        assert_eq!(parse_verdict("no"), Verdict::No);
        assert_eq!(parse_verdict("Maybe, yes"), Verdict::Maybe);
        assert_eq!(parse_verdict("unclear"), Verdict::Maybe);
    }

    #[test]
    fn steps_advance_on_yes_follow_next_and_give_up_after_three_tries() {
        let w = workflow();
        let start = w.position(&Map::new()).unwrap();
        assert_eq!(
            start,
            Position {
                step: "need".into(),
                attempts: 0
            }
        );
        let contact = w.advance(&start, Verdict::Yes);
        assert_eq!(contact.step, "contact");
        assert_eq!(
            w.advance(&contact, Verdict::Yes).step,
            "book",
            "next skips 'skip'"
        );
        let mut p = contact.clone();
        for expected in [1, 2] {
            p = w.advance(&p, Verdict::No);
            assert_eq!((p.step.as_str(), p.attempts), ("contact", expected));
        }
        assert_eq!(
            w.advance(&p, Verdict::Maybe).step,
            "book",
            "moved on after 3 tries"
        );
        let last = Position {
            step: "book".into(),
            attempts: 0,
        };
        assert_eq!(
            w.advance(&last, Verdict::Yes).step,
            "book",
            "the last step stays"
        );
    }

    #[test]
    fn position_survives_in_metadata_and_resets_for_unknown_steps() {
        let w = workflow();
        let mut metadata = Map::new();
        Workflow::store(
            &Position {
                step: "contact".into(),
                attempts: 2,
            },
            &mut metadata,
        );
        assert_eq!(
            w.position(&metadata).unwrap(),
            Position {
                step: "contact".into(),
                attempts: 2
            }
        );
        metadata.insert(CURRENT_STEP_KEY.into(), json!("gone"));
        assert_eq!(w.position(&metadata).unwrap().step, "need");
        assert!(
            w.prompt_section(&w.position(&Map::new()).unwrap())
                .contains("CURRENT STEP (1/4): need")
        );
    }
}
