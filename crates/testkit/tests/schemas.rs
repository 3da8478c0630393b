//! The protocol crate's events against the JSON Schemas, and the validator itself.

use serde_json::{Value, json};
use switchboard_protocol::*;
use switchboard_testkit::{schemas, spec_dir};

fn value(event: &Event) -> Value {
    serde_json::from_str(&event.to_json()).unwrap()
}

/// One of every event the server can emit, with optional fields filled in.
fn samples() -> Vec<(Event, Option<&'static str>)> {
    let outcome = TurnOutcome {
        message_id: "7f1c2a8e-0d4b-4b7e-9a57-2f7d1f0c9a11".into(),
        response: AgentResponse::reply("Hello".into(), vec!["More".into()]),
        needs_escalation: false,
        escalation_reason: None,
        usage: Some(Usage {
            cost_usd: Some(0.001),
            prompt_tokens: 10,
            completion_tokens: 5,
        }),
        citations: vec![Citation {
            id: "returns.md".into(),
            title: "returns.md".into(),
            url: Some("https://example.com/returns".into()),
            snippet: "Returns within 30 days.".into(),
            score: 0.8,
        }],
        directive: Some(json!({"type": "send_file", "files": []})),
    };
    let uuid = "2b9d5f0e-8c1a-4f4e-9d61-0d5e3c2b1a00".to_owned();
    vec![
        (Event::pong(Some("p".into())), None),
        (Event::pong(None), None),
        (
            Event::error(
                Some("r".into()),
                ErrorCode::SessionNotFound,
                "session 'x' not found",
            ),
            None,
        ),
        (
            Event::error(None, ErrorCode::ValidationError, "invalid JSON frame"),
            None,
        ),
        (
            Event::ack(
                Some("r".into()),
                202,
                "Processing your request...",
                Ack::Empty(Empty {}),
            ),
            Some("send_message"),
        ),
        (
            Event::ack(
                Some("c".into()),
                200,
                "Session created",
                Ack::SessionCreated(SessionCreated {
                    session_id: uuid.clone(),
                    conversation_id: uuid.clone(),
                    agent_id: uuid.clone(),
                    agent_name: "smooth-agent".into(),
                    user_participant_id: uuid.clone(),
                    agent_participant_id: uuid.clone(),
                }),
            ),
            Some("create_conversation_session"),
        ),
        (
            Event::ack(
                Some("g".into()),
                200,
                "Session",
                Ack::Session(SessionInfo {
                    ids: SessionCreated {
                        session_id: uuid.clone(),
                        conversation_id: uuid.clone(),
                        agent_id: uuid.clone(),
                        agent_name: "smooth-agent".into(),
                        user_participant_id: uuid.clone(),
                        agent_participant_id: uuid.clone(),
                    },
                    thread_id: uuid.clone(),
                    status: SessionStatus::Active,
                }),
            ),
            Some("get_session"),
        ),
        (
            Event::ack(
                Some("m".into()),
                200,
                "ConversationMessages",
                Ack::Messages(MessagesPage {
                    messages: vec![WireMessage {
                        id: uuid.clone(),
                        direction: Direction::Inbound,
                        content: WireContent { text: "hi".into() },
                        from: None,
                        created_at: "2026-11-21T06:00:00.000Z".into(),
                    }],
                    next_cursor: Some(uuid.clone()),
                    has_more: true,
                }),
            ),
            Some("get_conversation_messages"),
        ),
        (
            Event::ack(
                Some("l".into()),
                200,
                "Conversations",
                Ack::Conversations(ConversationList {
                    conversations: vec![ConversationRow {
                        conversation_id: uuid.clone(),
                        title: "Where is my refund?".into(),
                        updated_at: "2026-11-21T06:00:00.000Z".into(),
                        message_count: 2,
                    }],
                    next_cursor: Some("opaque".into()),
                    has_more: true,
                }),
            ),
            Some("list_conversations"),
        ),
        (
            Event::ack(
                Some("n".into()),
                200,
                "Conversation renamed",
                Ack::ConversationRenamed(ConversationRenamed {
                    conversation_id: uuid.clone(),
                    title: "Billing".into(),
                }),
            ),
            Some("rename_conversation"),
        ),
        (Event::token("r", "Hel"), None),
        (Event::reasoning("r", "thinking"), None),
        (Event::preamble("r", "Looking that up."), None),
        (
            Event::chunk(
                "r",
                RawResponse::ToolCall(ToolCallInfo {
                    name: "lookup".into(),
                    arguments: "{}".into(),
                }),
            ),
            None,
        ),
        (
            Event::chunk(
                "r",
                RawResponse::ToolResult(ToolResultInfo {
                    name: "lookup".into(),
                    is_error: false,
                    result: "ok".into(),
                }),
            ),
            None,
        ),
        (Event::eventual("r", outcome), None),
        (
            Event::write_confirmation(
                "r",
                WriteConfirmation {
                    tool_id: "delete_record".into(),
                    action_description: "Allow?".into(),
                },
            ),
            None,
        ),
        (
            Event::otp_verification_required(
                "r",
                OtpVerificationRequired {
                    tool_id: "refund".into(),
                    action_description: "Verify".into(),
                    available_channels: vec![OtpChannel::Email, OtpChannel::Sms],
                    auth_level: "end_user".into(),
                },
            ),
            None,
        ),
        (
            Event::otp_sent(
                "r",
                OtpSent {
                    channel: OtpChannel::Email,
                    masked_destination: "a***@x.com".into(),
                },
            ),
            None,
        ),
        (
            Event::otp_verified("r", "Identity verified successfully."),
            None,
        ),
        (
            Event::otp_invalid(
                "r",
                OtpInvalid {
                    error: Some(OtpFailure::InvalidCode),
                    attempts_remaining: 2,
                    message: "Wrong code".into(),
                },
            ),
            None,
        ),
        (
            Event::interaction_required(
                "r",
                InteractionRequired {
                    interaction_id: uuid.clone(),
                    kind: "choices".into(),
                    spec: json!({"questions": []}).as_object().unwrap().clone(),
                    reason: "to help".into(),
                },
            ),
            None,
        ),
        (
            Event::interaction_invalid(
                "r",
                InteractionInvalid {
                    interaction_id: uuid.clone(),
                    kind: "identity_intake".into(),
                    errors: vec![FieldError {
                        field: "email".into(),
                        message: "must be a valid email address".into(),
                    }],
                    message: "Some fields need attention.".into(),
                },
            ),
            None,
        ),
        (Event::keepalive("r".into()), None),
        (Event::cancelled(Some("r".into())), None),
        (Event::cancelled(None), None),
    ]
}

#[test]
fn every_protocol_event_matches_its_schema() {
    for (event, action) in samples() {
        if let Err(violation) = schemas().check_event(&value(&event), action) {
            panic!("{violation}");
        }
    }
}

#[test]
fn every_schema_event_type_has_a_protocol_event() {
    let mut built: Vec<&str> = samples().iter().map(|(e, _)| e.kind()).collect();
    built.sort();
    built.dedup();
    assert_eq!(
        built,
        schemas().event_types(),
        "Event must cover every schema in spec/events"
    );
}

#[test]
fn the_validator_rejects_fields_the_schema_does_not_allow() {
    // The reference server adds `conversationId` to the messages page; strict
    // clients drop such frames, and so must our check.
    let page = json!({
        "type": "immediate_response", "requestId": "m", "status": 200,
        "message": "ConversationMessages", "timestamp": 1,
        "data": {"messages": [], "nextCursor": null, "hasMore": false, "conversationId": "x"}
    });
    assert!(
        schemas()
            .check_event(&page, Some("get_conversation_messages"))
            .is_err()
    );
    let pong = json!({"type": "pong", "timestamp": 1, "data": {"timestamp": 1}, "extra": true});
    assert!(schemas().check_event(&pong, None).is_err());
    let unknown = json!({"type": "surprise"});
    assert!(schemas().check_event(&unknown, None).is_err());
}

/// The schemas are vendored in `spec/`; when the shared copy is beside the
/// repository, they must not have drifted apart.
#[test]
fn vendored_spec_matches_the_shared_spec() {
    // Files this repository extends (issue 16: list_conversations paging and search,
    // `before`): each is checked to keep everything the shared one has instead.
    const EXTENDED: [&str; 4] = [
        "README.md",
        "actions/get-messages.schema.json",
        "conformance/fixtures.json",
        "envelope.schema.json",
    ];
    let shared = spec_dir().join("../../shared/spec");
    if !shared.exists() {
        eprintln!("no shared spec at {}; nothing to compare", shared.display());
        return;
    }
    let mut stack = vec![shared.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let relative = path.strip_prefix(&shared).unwrap();
            let ours = std::fs::read(spec_dir().join(relative)).unwrap_or_else(|_| {
                panic!("spec/{} is missing from the repository", relative.display())
            });
            let theirs = std::fs::read(&path).unwrap();
            if EXTENDED.iter().any(|e| relative == std::path::Path::new(e)) {
                assert_extends(&theirs, &ours, relative);
                continue;
            }
            assert!(
                ours == theirs,
                "spec/{} differs from the shared spec",
                relative.display()
            );
        }
    }
}

/// Each fixture of `spec/conformance/fixtures.json` is a valid instance of the
/// schema it names, so the examples a client author copies are right.
#[test]
fn every_fixture_matches_the_schema_it_names() {
    let read = |path: std::path::PathBuf| -> Value {
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    };
    let fixtures = read(spec_dir().join("conformance/fixtures.json"));
    let mut checked = 0;
    for (name, fixture) in fixtures.as_object().unwrap() {
        let Some(reference) = fixture["$schema_ref"].as_str() else {
            continue;
        };
        let (file, pointer) = reference.split_once('#').unwrap_or((reference, ""));
        let mut schema = read(spec_dir().join(file));
        if !pointer.is_empty() {
            let object = schema.as_object_mut().unwrap();
            object.remove("oneOf");
            object.insert("$ref".into(), Value::from(format!("#{pointer}")));
        }
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap();
        let problems: Vec<String> = validator
            .iter_errors(&fixture["instance"])
            .map(|e| format!("at '{}': {e}", e.instance_path()))
            .collect();
        assert!(
            problems.is_empty(),
            "fixture '{name}' ({reference}): {problems:?}"
        );
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} fixtures name a schema");
}

/// An extended JSON spec file keeps what the shared one says: every key and array
/// element of the shared one (recursively; arrays may grow; descriptions may
/// change).
fn assert_extends(theirs: &[u8], ours: &[u8], relative: &std::path::Path) {
    fn contains(theirs: &serde_json::Value, ours: &serde_json::Value) -> bool {
        use serde_json::Value;
        match (theirs, ours) {
            // Descriptions may say more (what the extension does).
            (Value::Object(t), Value::Object(o)) => t
                .iter()
                .all(|(k, v)| k == "description" || o.get(k).is_some_and(|ov| contains(v, ov))),
            (Value::Array(t), Value::Array(o)) => {
                t.iter().all(|v| o.iter().any(|ov| contains(v, ov)))
            }
            _ => theirs == ours,
        }
    }
    if relative.extension().is_some_and(|e| e == "json") {
        let theirs: serde_json::Value = serde_json::from_slice(theirs).unwrap();
        let ours: serde_json::Value = serde_json::from_slice(ours).unwrap();
        assert!(
            contains(&theirs, &ours),
            "spec/{} drops something the shared spec has",
            relative.display()
        );
    }
    // A text file (the README) says what the extensions are; it only has to exist.
}
