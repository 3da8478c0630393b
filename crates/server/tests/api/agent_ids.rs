//! `agentId` on the wire is a UUID: a client may send a configured agent's slug,
//! every acknowledgement carries the UUID, and anything else is refused.

use serde_json::{Value, json};
use switchboard_core::{AgentId, NewSession};
use switchboard_server::Config;
use switchboard_testkit::{TestApp, spawn_app_with_agent};

const SUPPORT: &str = "0f1e2d3c-4b5a-4968-8776-655443322110";

async fn app() -> TestApp {
    spawn_app_with_agent(
        Config::for_tests(),
        json!({"agents": [
            {"id": SUPPORT, "slug": "support", "name": "Support"},
            {"id": "sales", "name": "Sales"},
        ]}),
    )
    .await
}

fn create(agent: &str) -> Value {
    json!({"action": "create_conversation_session", "agentId": agent})
}

#[tokio::test]
async fn a_slug_opens_a_session_and_every_ack_carries_the_uuid() {
    let app = app().await;
    let mut client = app.client().await;
    for sent in ["support", SUPPORT, &SUPPORT.to_uppercase()] {
        let ack = client.request("c", create(sent)).await;
        assert_eq!(ack["data"]["agentId"], SUPPORT, "{sent}: {ack}");
        assert_eq!(ack["data"]["agentName"], "Support", "{sent}");
        let session = ack["data"]["sessionId"].as_str().unwrap();
        let got = client
            .request("g", json!({"action": "get_session", "sessionId": session}))
            .await;
        assert_eq!(got["data"]["agentId"], SUPPORT);
    }
    // A UUID the file does not name is an agent with the defaults.
    let stranger = "22222222-2222-4222-8222-222222222222";
    let ack = client.request("c", create(stranger)).await;
    assert_eq!(ack["data"]["agentId"], stranger);
    assert_eq!(ack["data"]["agentName"], "smooth-agent");
}

#[tokio::test]
async fn an_agent_id_that_is_neither_uuid_nor_slug_is_refused_naming_agent_id() {
    let app = app().await;
    let mut client = app.client().await;
    for sent in ["nobody", "Support", "a/b c", "../etc"] {
        let e = client.request("c", create(sent)).await;
        assert_eq!(e["type"], "error", "{sent}: {e}");
        assert_eq!(e["error"]["code"], "VALIDATION_ERROR");
        assert_eq!(
            e["error"]["message"],
            "'agentId' must be an agent's UUID or the slug of a configured agent"
        );
    }
    let list = client
        .request("l", json!({"action": "list_conversations"}))
        .await;
    assert_eq!(list["data"]["conversations"], json!([]), "nothing was made");
}

/// A file written before agents had UUIDs (`"id": "sales"`) keeps working: the
/// old id is the slug, and the UUID is derived from it, the same on every start.
#[tokio::test]
async fn a_legacy_file_id_is_a_slug_with_a_stable_derived_uuid() {
    let app = app().await;
    let sales = AgentId::from_slug("sales").to_string();
    let mut client = app.client().await;
    let ack = client.request("c", create("sales")).await;
    assert_eq!(ack["data"]["agentId"], sales.as_str());
    assert_eq!(ack["data"]["agentName"], "Sales");
    let conversation = ack["data"]["conversationId"].as_str().unwrap().to_owned();
    // The slug and the UUID are the same agent: the conversation resumes.
    let resumed = client
        .request(
            "r",
            json!({"action": "create_conversation_session", "agentId": sales,
                   "conversationId": conversation}),
        )
        .await;
    assert_eq!(resumed["data"]["conversationId"], conversation.as_str());
}

/// Sessions stored before agents had UUIDs hold the old text id; they read back,
/// and resume, with the agent's UUID.
#[tokio::test]
async fn a_session_stored_under_an_old_text_id_reads_back_with_the_uuid() {
    let app = app().await;
    let mut new: NewSession = switchboard_core::store::suite::new_session("reference-org");
    new.session.agent_id = AgentId::new("sales");
    new.participants[1].internal_id = Some("sales".into());
    let session = new.session.id.to_string();
    let conversation = new.session.conversation_id.to_string();
    app.state.store().create_session(new).await.unwrap();

    let mut client = app.client().await;
    let got = client
        .request("g", json!({"action": "get_session", "sessionId": session}))
        .await;
    assert_eq!(got["data"]["agentId"], AgentId::from_slug("sales").as_str());
    let resumed = client
        .request(
            "r",
            json!({"action": "create_conversation_session", "agentId": "sales",
                   "conversationId": conversation}),
        )
        .await;
    assert_eq!(resumed["data"]["conversationId"], conversation.as_str());
    assert_eq!(
        resumed["data"]["agentParticipantId"], got["data"]["agentParticipantId"],
        "the agent's participant is the old one"
    );
}

#[tokio::test]
async fn api_agents_lists_uuids_with_their_slugs() {
    let app = app().await;
    let agents: Value = reqwest::get(format!("http://{}/api/agents", app.addr))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        agents["agents"],
        json!([
            {"id": SUPPORT, "slug": "support", "name": "Support"},
            {"id": AgentId::from_slug("sales").as_str(), "slug": "sales", "name": "Sales"},
        ])
    );
}
