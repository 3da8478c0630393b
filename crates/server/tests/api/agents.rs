//! Per-agent behaviour from the agent configuration file: instructions,
//! personality, greeting, per-organisation persona, skills, workflows.

use serde_json::{Value, json};
use switchboard_testkit::events::terminal;
use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};
use switchboard_testkit::{config_for, spawn_app_with_agent};

const AGENT: &str = "44444444-4444-4444-4444-444444444444";

fn system_prompt(request: &Value) -> String {
    request["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn chatty() -> MockGateway {
    MockGateway::builder()
        .script(vec![ScriptedReply::Text("Sure.".into())])
        .repeat_last(true)
        .start()
        .await
}

#[tokio::test]
async fn instructions_personality_and_a_first_turn_greeting_compose_the_prompt() {
    let gateway = chatty().await;
    let app = spawn_app_with_agent(
        config_for(&gateway),
        json!({"agents": [{"id": AGENT, "name": "Ada", "instructions": "You sell bikes.",
                           "personality": "Warm and brief.", "greeting": "Hi, I'm Ada!"}]}),
    )
    .await;
    let mut client = app.client().await;
    let (session, _) = client.create_session_with(json!({"agentId": AGENT})).await;
    let info = client
        .request("g", json!({"action": "get_session", "sessionId": session}))
        .await;
    assert_eq!(info["data"]["agentName"], "Ada");
    client.turn("r1", &session, "hello").await;
    client
        .turn("r2", &session, "do you sell gravel bikes?")
        .await;
    let first = system_prompt(&gateway.requests()[0]);
    assert!(first.starts_with("You sell bikes."));
    assert!(first.contains("<Personality>\nWarm and brief.\n</Personality>"));
    assert!(first.contains("<GreetingAwareness>") && first.contains("Hi, I'm Ada!"));
    let second = system_prompt(&gateway.requests()[1]);
    assert!(
        !second.contains("<GreetingAwareness>"),
        "only on the first turn"
    );
}

#[tokio::test]
async fn an_organisations_persona_overrides_the_agents_personality() {
    let gateway = chatty().await;
    let app = spawn_app_with_agent(
        config_for(&gateway),
        json!({
            "agents": [{"id": AGENT, "personality": "Formal."}],
            "organizations": [{"id": "reference-org", "persona": "Pirate-themed, always."}]
        }),
    )
    .await;
    let mut client = app.client().await;
    let (session, _) = client.create_session_with(json!({"agentId": AGENT})).await;
    client.turn("r1", &session, "hello").await;
    let prompt = system_prompt(&gateway.requests()[0]);
    assert!(
        prompt.contains("Pirate-themed, always.") && !prompt.contains("Formal."),
        "{prompt}"
    );
}

#[tokio::test]
async fn a_named_skill_joins_the_prompt_for_that_turn_only() {
    let dir = std::env::temp_dir().join(format!("sb-skills-api-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("refund-policy")).unwrap();
    std::fs::write(
        dir.join("refund-policy/SKILL.md"),
        "---\nname: refund-policy\n---\nAlways quote the 30-day rule.\n",
    )
    .unwrap();
    let gateway = chatty().await;
    let mut config = config_for(&gateway);
    config.skills_dirs = vec![dir.clone()];
    let app = spawn_app_with_agent(config, json!({})).await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    client
        .send(json!({"action": "send_message", "requestId": "r1", "sessionId": session, "message": "can I return it?", "skill": "refund-policy"}))
        .await;
    client.until_terminal("r1").await;
    client.turn("r2", &session, "and then?").await;
    let first = system_prompt(&gateway.requests()[0]);
    assert!(
        first.contains("## Skill: refund-policy")
            && first.contains("Always quote the 30-day rule.")
    );
    assert!(!system_prompt(&gateway.requests()[1]).contains("## Skill"));
    // The stored user message is what the user typed.
    let page = client
        .request(
            "m",
            json!({"action": "get_conversation_messages", "sessionId": session}),
        )
        .await;
    assert_eq!(
        page["data"]["messages"][3]["content"]["text"],
        "can I return it?"
    );

    for name in ["missing", "../refund-policy"] {
        let e = client
            .request("r3", json!({"action": "send_message", "sessionId": session, "message": "x", "skill": name}))
            .await;
        assert_eq!(e["type"], "error", "no 202 first");
        assert_eq!(e["error"]["code"], "SKILL_NOT_FOUND");
    }
    let page = client
        .request(
            "m",
            json!({"action": "get_conversation_messages", "sessionId": session}),
        )
        .await;
    assert_eq!(
        page["data"]["messages"].as_array().unwrap().len(),
        4,
        "nothing stored for refused turns"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

fn workflow_agent() -> Value {
    json!({"agents": [{"id": AGENT, "workflow": {
        "goal": "Book a demo",
        "steps": [
            {"id": "need", "intent": "Learn what they need", "criteria": "The need is known", "suggestedReplies": ["Sales", "Support"]},
            {"id": "contact", "intent": "Get an email", "criteria": "An email is given"}
        ]
    }}]})
}

async fn step_of(app: &switchboard_testkit::TestApp, conversation: &str) -> (Value, Value) {
    let id = switchboard_core::ConversationId::parse(conversation).unwrap();
    let stored = app
        .state
        .store()
        .get_conversation(id)
        .await
        .unwrap()
        .unwrap();
    (
        stored
            .metadata
            .get("workflowCurrentStepId")
            .cloned()
            .unwrap_or_default(),
        stored
            .metadata
            .get("workflowStepAttempts")
            .cloned()
            .unwrap_or_default(),
    )
}

#[tokio::test]
async fn a_workflow_step_advances_when_the_judge_says_yes() {
    let gateway = MockGateway::builder()
        .script(vec![ScriptedReply::Text("What do you need?".into())])
        .repeat_last(true)
        .side_reply("Yes.")
        .start()
        .await;
    let app = spawn_app_with_agent(config_for(&gateway), workflow_agent()).await;
    let mut client = app.client().await;
    let (session, conversation) = client.create_session_with(json!({"agentId": AGENT})).await;
    let events = client.turn("r1", &session, "I need a sales demo").await;
    let response = &terminal(&events)["data"]["data"]["response"];
    assert_eq!(
        response["suggestedNextActions"],
        json!(["Sales", "Support"]),
        "the step's chips"
    );
    assert!(system_prompt(&gateway.requests()[0]).contains("CURRENT STEP (1/2): need"));
    let judge = gateway
        .requests()
        .into_iter()
        .find(|r| r["stream"] != true)
        .expect("a judge call");
    assert_eq!(judge["model"], "claude-haiku-4-5");
    assert_eq!(step_of(&app, &conversation).await.0, "contact");

    client.turn("r2", &session, "it's me@example.com").await;
    let prompts: Vec<String> = gateway
        .requests()
        .iter()
        .filter(|r| r["stream"] == true)
        .map(system_prompt)
        .collect();
    assert!(prompts[1].contains("CURRENT STEP (2/2): contact"));
}

#[tokio::test]
async fn an_undecided_judge_moves_on_after_three_turns() {
    let gateway = chatty().await; // side calls answer "OK": neither yes nor no
    let app = spawn_app_with_agent(config_for(&gateway), workflow_agent()).await;
    let mut client = app.client().await;
    let (session, conversation) = client.create_session_with(json!({"agentId": AGENT})).await;
    for (i, expected) in [(1, json!(1)), (2, json!(2))] {
        client.turn(&format!("r{i}"), &session, "hmm").await;
        assert_eq!(
            step_of(&app, &conversation).await,
            (json!("need"), expected)
        );
    }
    client.turn("r3", &session, "hmm").await;
    assert_eq!(
        step_of(&app, &conversation).await,
        (json!("contact"), json!(0))
    );
}
