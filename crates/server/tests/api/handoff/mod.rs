//! Human handoff through real WebSockets and the admin API: the agent escalates
//! (by tool, by the visitor's request, by too many unanswered questions, or an
//! operator takes over), stays silent while a person owns the conversation, and
//! answers again with the whole history once the operator hands it back.

mod escalation;
mod notify;
mod operators;
mod python;
mod replicas;

use crate::admin::{Admin, jwt_config, token};
use serde_json::{Value, json};
use switchboard_testkit::TestClient;
use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};

pub(crate) const AGENT: &str = "11111111-1111-1111-1111-111111111111";
pub(crate) const ORG: &str = "acme";

/// The agent file of these tests: one agent that hands over by tool and when asked.
pub(crate) fn agent_file(policy: Value) -> Value {
    json!({"agents": [{"id": AGENT, "name": "Support", "handoff": policy}]})
}

/// An admin-API server over a scripted gateway, with `policy` for the agent.
pub(crate) async fn start(script: Vec<ScriptedReply>, policy: Value) -> (Admin, MockGateway) {
    let gateway = MockGateway::builder()
        .script(script)
        .side_reply("A title")
        .start()
        .await;
    let config = jwt_config(switchboard_testkit::config_for(&gateway));
    let app = switchboard_testkit::spawn_app_with_agent(config, agent_file(policy)).await;
    (Admin::over(app), gateway)
}

/// A visitor of `ORG` (a verified basic user) with a session on the agent.
pub(crate) async fn visitor(admin: &Admin, sub: &str) -> (TestClient, String, String) {
    let mut client = admin.ws(&token(sub, ORG, "basic")).await;
    let (session, conversation) = client.create_session_with(json!({"agentId": AGENT})).await;
    (client, session, conversation)
}

/// A curator of `org`: an operator.
pub(crate) fn operator(sub: &str, org: &str) -> String {
    crate::admin::signed(
        json!({"sub": sub, "org": org, "role": "curator", "name": format!("Operator {sub}")}),
    )
}

/// The terminal event of a turn.
pub(crate) fn outcome(events: &[Value]) -> &Value {
    &switchboard_testkit::events::terminal(events)["data"]["data"]
}

/// The streamed chat requests the gateway has answered.
pub(crate) fn model_calls(gateway: &MockGateway) -> usize {
    gateway.streamed_requests()
}

/// The next unsolicited operator message the visitor's socket receives.
pub(crate) async fn operator_message(client: &mut TestClient) -> Value {
    loop {
        let event = client.next().await;
        if event["type"] == "eventual_response"
            && event["requestId"]
                .as_str()
                .is_some_and(|r| r.starts_with("handoff-"))
        {
            return event;
        }
    }
}
