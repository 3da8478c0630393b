//! One message and everything it sets off: the streamed answer, approvals, Rich
//! Interactions and one-time codes, until the turn's terminal event.

use super::input::Input;
use super::{ChatError, describe_error, print_now};
use serde_json::{Value, json};
use switchboard_client::Client;

/// How a turn ended.
enum End {
    Answered { code_sent: bool },
    Failed,
    Stopped,
}

pub struct Turn<'a> {
    client: &'a mut Client,
    input: &'a mut Input,
    session: &'a str,
    interactive: bool,
    request_id: String,
    /// Whether any of the answer was printed while streaming.
    streamed: bool,
    /// The card being answered, kept to ask again after `interaction_invalid`.
    card: Option<Value>,
}

impl<'a> Turn<'a> {
    pub fn new(
        client: &'a mut Client,
        input: &'a mut Input,
        session: &'a str,
        interactive: bool,
    ) -> Self {
        Self {
            client,
            input,
            session,
            interactive,
            request_id: String::new(),
            streamed: false,
            card: None,
        }
    }

    /// Sends `message` and follows the turn; `Ok(true)` when it was answered. A
    /// turn that asked for a one-time code is sent again once the code is verified.
    pub async fn run(&mut self, message: &str) -> Result<bool, ChatError> {
        loop {
            self.request_id = self.client.request_id();
            self.streamed = false;
            self.client
                .send(
                    &json!({"action": "send_message", "requestId": self.request_id,
                              "sessionId": self.session, "message": message}),
                )
                .await?;
            match self.follow().await? {
                End::Answered { code_sent: false } => return Ok(true),
                End::Answered { code_sent: true } => {
                    if !self.verify_code().await? {
                        return Ok(false);
                    }
                }
                End::Failed => return Ok(false),
                End::Stopped => return Ok(true),
            }
        }
    }

    async fn follow(&mut self) -> Result<End, ChatError> {
        let mut code_sent = false;
        loop {
            let event = tokio::select! {
                event = self.client.next_event() => event?,
                _ = tokio::signal::ctrl_c(), if self.interactive => {
                    self.client
                        .send(&json!({"action": "cancel", "sessionId": self.session}))
                        .await?;
                    continue;
                }
            };
            match event["type"].as_str().unwrap_or_default() {
                "stream_token" if self.interactive => {
                    print_now(event["token"].as_str().unwrap_or_default());
                    self.streamed = true;
                }
                "stream_chunk" if self.interactive => {
                    let call = &event["data"]["state"]["rawResponse"]["toolCall"];
                    if let Some(name) = call["name"].as_str() {
                        eprintln!("  [using {name}]");
                    }
                }
                "write_confirmation_required" => self.confirm(&event).await?,
                "interaction_required" => {
                    self.card = Some(event["data"]["data"].clone());
                    self.answer_card(None).await?;
                }
                "interaction_invalid" => {
                    let errors = event["data"]["data"].clone();
                    self.answer_card(Some(&errors)).await?;
                }
                "otp_verification_required" => {
                    let what = &event["data"]["data"];
                    println!(
                        "{} needs you to prove who you are: {}",
                        what["toolId"].as_str().unwrap_or("This action"),
                        what["actionDescription"].as_str().unwrap_or_default()
                    );
                }
                "otp_sent" => {
                    let sent = &event["data"]["data"];
                    println!(
                        "A code was sent by {} to {}.",
                        sent["channel"].as_str().unwrap_or("message"),
                        sent["maskedDestination"].as_str().unwrap_or("you")
                    );
                    code_sent = true;
                }
                "eventual_response" if self.mine(&event) => {
                    self.print_answer(&event["data"]["data"]);
                    return Ok(End::Answered { code_sent });
                }
                "error" if self.mine(&event) => {
                    if self.streamed {
                        println!();
                    }
                    eprintln!("error: {}", describe_error(&event));
                    return Ok(End::Failed);
                }
                "cancelled" if self.mine(&event) => {
                    println!("\n(stopped)");
                    return Ok(End::Stopped);
                }
                _ => {}
            }
        }
    }

    fn mine(&self, event: &Value) -> bool {
        event["requestId"].as_str() == Some(self.request_id.as_str())
    }

    /// The answer (unless it was streamed already) and its sources.
    fn print_answer(&self, data: &Value) {
        if self.streamed {
            println!();
        } else {
            let parts = data["response"]["responseParts"].as_array();
            let text: Vec<&str> = parts
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            println!("{}", text.join("\n"));
        }
        let citations = data["citations"].as_array().into_iter().flatten();
        for (n, citation) in citations.enumerate() {
            if n == 0 {
                println!("Sources:");
            }
            let title = citation["title"]
                .as_str()
                .or(citation["id"].as_str())
                .unwrap_or("a document");
            match citation["url"].as_str() {
                Some(url) => println!("  [{}] {title} <{url}>", n + 1),
                None => println!("  [{}] {title}", n + 1),
            }
        }
    }

    /// Asks whether the parked tool call may run; end of input denies it.
    async fn confirm(&mut self, event: &Value) -> Result<(), ChatError> {
        let what = &event["data"]["data"];
        if self.streamed {
            println!();
        }
        println!(
            "The agent wants to run {}: {}",
            what["toolId"].as_str().unwrap_or("a tool"),
            what["actionDescription"].as_str().unwrap_or_default()
        );
        let answer = self
            .input
            .line("Allow it? [y/N] ")
            .await
            .unwrap_or_default();
        let approved = matches!(answer.trim().to_lowercase().as_str(), "y" | "yes");
        println!("{}", if approved { "Approved." } else { "Denied." });
        self.client
            .send(
                &json!({"action": "confirm_tool_action", "requestId": self.request_id,
                          "sessionId": self.session, "approved": approved}),
            )
            .await?;
        Ok(())
    }

    /// Answers the parked card, showing the server's errors first when it refused
    /// the last answer; end of input declines it.
    async fn answer_card(&mut self, errors: Option<&Value>) -> Result<(), ChatError> {
        let Some(card) = self.card.clone() else {
            return Ok(());
        };
        if let Some(errors) = errors {
            println!(
                "{}",
                errors["message"].as_str().unwrap_or("Please check that.")
            );
            for (field, problem) in errors["errors"].as_object().into_iter().flatten() {
                println!("  {field}: {}", problem.as_str().unwrap_or_default());
            }
        }
        if let Some(reason) = card["reason"].as_str() {
            println!("{reason}");
        }
        let values = match card["kind"].as_str() {
            Some("choices") => self.ask_choices(&card["spec"]).await,
            Some("identity_intake") => self.ask_identity(&card["spec"]).await,
            _ => None,
        };
        let mut frame = json!({"action": "submit_interaction", "requestId": self.request_id,
                               "sessionId": self.session,
                               "interactionId": card["interactionId"], "kind": card["kind"]});
        match values {
            Some(values) => frame["values"] = values,
            None => frame["declined"] = json!(true),
        }
        self.client.send(&frame).await?;
        Ok(())
    }

    async fn ask_choices(&mut self, spec: &Value) -> Option<Value> {
        let mut answers = Vec::new();
        for question in spec["questions"].as_array().into_iter().flatten() {
            println!("{}", question["question"].as_str().unwrap_or_default());
            let options: Vec<&str> = question["options"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|o| o["label"].as_str())
                .collect();
            for (n, label) in options.iter().enumerate() {
                println!("  {}. {label}", n + 1);
            }
            let line = self.input.line("Your choice (number or text): ").await?;
            answers.push(choice_answer(question, &options, line.trim()));
        }
        Some(json!({"answers": answers}))
    }

    async fn ask_identity(&mut self, spec: &Value) -> Option<Value> {
        let mut values = serde_json::Map::new();
        for field in spec["fields"].as_array().into_iter().flatten() {
            let Some(key) = field["key"].as_str() else {
                continue;
            };
            let label = field["label"].as_str().unwrap_or(key);
            let mark = if field["required"] == true {
                ""
            } else {
                " (optional)"
            };
            let line = self.input.line(&format!("{label}{mark}: ")).await?;
            if !line.trim().is_empty() {
                values.insert(key.to_owned(), json!(line.trim()));
            }
        }
        Some(Value::Object(values))
    }

    /// Asks for the code that was sent and checks it; `Ok(true)` once verified.
    async fn verify_code(&mut self) -> Result<bool, ChatError> {
        loop {
            let Some(code) = self.input.line("Code: ").await else {
                return Ok(false);
            };
            self.client
                .send(
                    &json!({"action": "verify_otp", "requestId": self.request_id,
                              "sessionId": self.session, "code": code.trim()}),
                )
                .await?;
            loop {
                let event = self.client.next_event().await?;
                match event["type"].as_str().unwrap_or_default() {
                    "otp_verified" => {
                        println!("Verified.");
                        return Ok(true);
                    }
                    "otp_invalid" => {
                        println!("{}", describe_otp_invalid(&event));
                        if event["data"]["data"]["attemptsRemaining"].as_u64() == Some(0) {
                            return Ok(false);
                        }
                        break;
                    }
                    "error" if self.mine(&event) => {
                        eprintln!("error: {}", describe_error(&event));
                        return Ok(false);
                    }
                    _ => {}
                }
            }
        }
    }
}

/// The answer to one choices question: an option by number or label, several
/// comma-separated for a multi-select, anything else as free text.
fn choice_answer(question: &Value, options: &[&str], line: &str) -> Value {
    let header = &question["header"];
    let pick = |part: &str| -> Option<String> {
        let part = part.trim();
        match part.parse::<usize>() {
            Ok(n) if (1..=options.len()).contains(&n) => Some(options[n - 1].to_owned()),
            _ => options
                .iter()
                .find(|o| o.eq_ignore_ascii_case(part))
                .map(|o| (*o).to_owned()),
        }
    };
    let parts: Vec<&str> = if question["multiSelect"] == true {
        line.split(',').collect()
    } else {
        vec![line]
    };
    let picked: Option<Vec<String>> = parts.iter().map(|p| pick(p)).collect();
    match picked {
        Some(picked) if !picked.is_empty() => json!({"header": header, "options": picked}),
        _ => json!({"header": header, "options": [], "other": line}),
    }
}

fn describe_otp_invalid(event: &Value) -> String {
    let data = &event["data"]["data"];
    let reason = data["message"]
        .as_str()
        .or(event["data"]["error"]["message"].as_str())
        .unwrap_or("That code is not right.");
    match data["attemptsRemaining"].as_u64() {
        Some(left) => format!("{reason} ({left} attempts left)"),
        None => reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_are_read_by_number_label_or_as_free_text() {
        let question =
            json!({"header": "Size", "options": [{"label": "Small"}, {"label": "Large"}]});
        let options = ["Small", "Large"];
        assert_eq!(
            choice_answer(&question, &options, "2"),
            json!({"header": "Size", "options": ["Large"]})
        );
        assert_eq!(
            choice_answer(&question, &options, "small"),
            json!({"header": "Size", "options": ["Small"]})
        );
        assert_eq!(
            choice_answer(&question, &options, "medium please"),
            json!({"header": "Size", "options": [], "other": "medium please"})
        );
        let multi = json!({"header": "Extras", "multiSelect": true,
                           "options": [{"label": "A"}, {"label": "B"}]});
        assert_eq!(
            choice_answer(&multi, &["A", "B"], "1, 2"),
            json!({"header": "Extras", "options": ["A", "B"]})
        );
    }
}
