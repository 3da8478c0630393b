//! `switchboard chat`: a terminal client of a running server, over the same
//! WebSocket protocol as every other client.
//!
//! On a terminal it streams each answer as it arrives, lists the citations, asks
//! y/n before a tool runs, prompts for choices, contact details and one-time codes,
//! and Ctrl-C stops the running answer. When standard input is not a terminal it
//! reads one message per line, prints each answer when it ends, answers approvals
//! and prompts from the next input lines, and exits non-zero if any turn failed.

mod input;
mod turn;

use input::Input;
use serde_json::{Value, json};
use std::io::{IsTerminal, Write};
use switchboard_client::Client;

/// The agent a configuration without agents answers as.
pub const DEFAULT_AGENT: &str = "11111111-1111-1111-1111-111111111111";

#[derive(Debug, clap::Args)]
pub struct ChatArgs {
    /// The server's WebSocket endpoint.
    #[arg(long, default_value = "ws://127.0.0.1:8787/ws")]
    pub url: String,
    /// The agent to talk to: its UUID, or the slug the configuration file gives it.
    #[arg(long, default_value = DEFAULT_AGENT)]
    pub agent: String,
    /// A token proving who you are (see `switchboard token`), sent as `?token=`.
    #[arg(long)]
    pub token: Option<String>,
}

/// Why the chat could not go on.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("cannot reach {url}: {source}")]
    Connect {
        url: String,
        source: switchboard_client::ClientError,
    },
    #[error("the connection failed: {0}")]
    Connection(#[from] switchboard_client::ClientError),
    #[error("the server refused to open a session: {0}")]
    Session(String),
}

/// Chats until the input ends; `Ok(true)` when every turn answered.
pub async fn run(args: ChatArgs) -> Result<bool, ChatError> {
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let url = match &args.token {
        Some(token) => format!(
            "{}{}token={token}",
            args.url,
            if args.url.contains('?') { '&' } else { '?' }
        ),
        None => args.url.clone(),
    };
    let mut client = Client::connect(&url)
        .await
        .map_err(|source| ChatError::Connect {
            url: args.url.clone(),
            source,
        })?;
    // Cards need a terminal to answer them; from a pipe the agent asks in words.
    let supports = if interactive {
        json!(["choice_chips", "identity_form"])
    } else {
        json!([])
    };
    let ack = client
        .request(json!({"action": "create_conversation_session",
                        "agentId": args.agent, "supports": supports}))
        .await?;
    let Some(session) = ack["data"]["sessionId"].as_str().map(str::to_owned) else {
        return Err(ChatError::Session(describe_error(&ack)));
    };
    let mut input = Input::start(interactive);
    if interactive {
        println!(
            "Connected to {} (Ctrl-D to leave, Ctrl-C stops an answer).",
            args.url
        );
    }
    let mut all_answered = true;
    while let Some(line) = input.line("you> ").await {
        let message = line.trim();
        if message.is_empty() {
            continue;
        }
        let mut chat = turn::Turn::new(&mut client, &mut input, &session, interactive);
        all_answered &= chat.run(message).await?;
    }
    let _ = client.close().await;
    Ok(all_answered)
}

/// An `error` event as a person reads it.
fn describe_error(event: &Value) -> String {
    let error = &event["error"];
    match (error["message"].as_str(), error["code"].as_str()) {
        (Some(message), Some(code)) => format!("{message} ({code})"),
        _ => event.to_string(),
    }
}

/// Writes `text` to standard output at once (answers stream token by token).
fn print_now(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}
