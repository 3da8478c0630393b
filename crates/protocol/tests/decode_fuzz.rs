//! The frame decoder takes whatever a socket delivers: it must answer every input
//! with a frame or a `VALIDATION_ERROR`, and never panic or overflow its stack.
//!
//! Inputs: arbitrary strings, arbitrary JSON values, and the spec's valid request
//! fixtures with random mutations (fields removed, types swapped, huge numbers,
//! deep nesting, truncation). Case counts stay moderate so the suite stays fast.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use switchboard_protocol::{ErrorCode, decode_frame, peek_request_id};

/// Every action request the spec ships a fixture for, plus frames for the actions
/// it has none for, so mutations start from each action's valid shape.
fn seeds() -> Vec<Value> {
    let fixtures: Value =
        serde_json::from_str(include_str!("../../../spec/conformance/fixtures.json"))
            .expect("the spec's fixtures are JSON");
    let mut seeds: Vec<Value> = fixtures
        .as_object()
        .expect("fixtures are an object")
        .values()
        .filter(|f| {
            f["$schema_ref"]
                .as_str()
                .is_some_and(|r| r.starts_with("actions/") && r.ends_with("/Request"))
        })
        .map(|f| f["instance"].clone())
        .collect();
    assert!(seeds.len() >= 5, "the spec has request fixtures");
    let session = "22222222-2222-2222-2222-222222222222";
    seeds.extend([
        json!({"action": "ping", "requestId": "p-1"}),
        json!({"action": "get_session", "requestId": "g-1", "sessionId": session}),
        json!({"action": "get_conversation_messages", "requestId": "m-1", "sessionId": session, "limit": 20, "before": "x"}),
        json!({"action": "list_conversations", "requestId": "l-1", "limit": 10}),
        json!({"action": "rename_conversation", "requestId": "n-1", "conversationId": session, "title": "Orders"}),
        json!({"action": "confirm_tool_action", "requestId": "c-1", "sessionId": session, "approved": true}),
    ]);
    seeds
}

/// Checks the decoder's contract for one input.
fn check(text: &str) {
    let parsed = serde_json::from_str::<Value>(text).ok();
    let expected_id = match &parsed {
        Some(Value::Object(map)) => map
            .get("requestId")
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => None,
    };
    // The cheap peek used for refused frames agrees with the decoder on every text
    // that is JSON; on other text it must merely not panic.
    let peeked = peek_request_id(text);
    if parsed.is_some() {
        assert_eq!(peeked, expected_id, "peek disagrees for {text:?}");
    }
    match decode_frame(text) {
        Ok(frame) => assert_eq!(frame.request_id, expected_id, "requestId of {text:?}"),
        Err(e) => {
            assert_eq!(e.code, ErrorCode::ValidationError, "{text:?}: {e}");
            assert!(!e.message.is_empty());
            // An error echoes the id whenever the frame had a readable one.
            if e.request_id.is_some() {
                assert_eq!(e.request_id, expected_id);
            }
        }
    }
}

/// Arbitrary JSON: every kind of value, nested a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        // Field names and values the decoder looks for.
        prop::sample::select(vec![
            "ping",
            "send_message",
            "cancel",
            "requestId",
            "",
            "  "
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((field_name(), inner), 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// Names of real fields (so mutations hit what the decoder reads) or anything.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "action",
            "requestId",
            "sessionId",
            "agentId",
            "message",
            "limit",
            "approved",
            "interactionId",
            "kind",
            "values",
            "code",
            "metadata",
            "images",
            "stream",
        ])
        .prop_map(str::to_owned),
        any::<String>(),
    ]
}

/// One way to damage a valid frame.
#[derive(Debug, Clone)]
enum Mutation {
    Remove(usize),
    Replace(usize, Value),
    Insert(String, Value),
    Huge(usize, usize),
    Nest(usize, usize),
    Rename(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Remove),
        (any::<usize>(), json_value()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        (field_name(), json_value()).prop_map(|(k, v)| Mutation::Insert(k, v)),
        (any::<usize>(), any::<usize>()).prop_map(|(i, h)| Mutation::Huge(i, h)),
        (any::<usize>(), 1usize..200).prop_map(|(i, d)| Mutation::Nest(i, d)),
        any::<usize>().prop_map(Mutation::Rename),
    ]
}

/// Numbers at and beyond every integer and float boundary.
fn huge(pick: usize) -> Value {
    let numbers = [
        json!(u64::MAX),
        json!(i64::MIN),
        json!(f64::MAX),
        json!(-0.0),
        json!(1e-300),
        json!(4294967296u64),
        json!(-1),
    ];
    numbers[pick % numbers.len()].clone()
}

fn apply(frame: &mut Map<String, Value>, mutation: Mutation, actions: &[&str]) {
    let keys: Vec<String> = frame.keys().cloned().collect();
    let key = |i: usize| keys.get(i % keys.len().max(1)).cloned();
    match mutation {
        Mutation::Remove(i) => {
            if let Some(k) = key(i) {
                frame.remove(&k);
            }
        }
        Mutation::Replace(i, v) => {
            if let Some(k) = key(i) {
                frame.insert(k, v);
            }
        }
        Mutation::Insert(k, v) => {
            frame.insert(k, v);
        }
        Mutation::Huge(i, h) => {
            if let Some(k) = key(i) {
                frame.insert(k, huge(h));
            }
        }
        Mutation::Nest(i, depth) => {
            if let Some(k) = key(i) {
                let mut v = frame[&k].clone();
                for _ in 0..depth {
                    v = json!([v]);
                }
                frame.insert(k, v);
            }
        }
        // Another action's name over this action's fields.
        Mutation::Rename(i) => {
            frame.insert("action".into(), Value::from(actions[i % actions.len()]));
        }
    }
}

const ACTIONS: &[&str] = &[
    "ping",
    "create_conversation_session",
    "get_session",
    "get_conversation_messages",
    "list_conversations",
    "rename_conversation",
    "send_message",
    "confirm_tool_action",
    "verify_otp",
    "submit_interaction",
    "cancel",
    "frobnicate",
];

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

#[test]
fn every_seed_decodes() {
    for seed in seeds() {
        let text = seed.to_string();
        assert!(decode_frame(&text).is_ok(), "{text}");
        assert_eq!(
            peek_request_id(&text).as_deref(),
            seed["requestId"].as_str()
        );
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_strings_never_panic(text in any::<String>()) {
        check(&text);
    }

    #[test]
    fn arbitrary_json_never_panics(value in json_value()) {
        check(&value.to_string());
    }

    #[test]
    fn arbitrary_fields_under_a_real_action_never_panic(
        action in prop::sample::select(ACTIONS),
        fields in prop::collection::vec((field_name(), json_value()), 0..8),
    ) {
        let mut frame: Map<String, Value> = fields.into_iter().collect();
        frame.insert("action".into(), Value::from(action));
        check(&Value::Object(frame).to_string());
    }

    #[test]
    fn mutated_fixtures_never_panic(
        pick in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 1..5),
    ) {
        let seeds = seeds();
        let Value::Object(mut frame) = seeds[pick % seeds.len()].clone() else {
            unreachable!("seeds are objects")
        };
        for m in mutations {
            apply(&mut frame, m, ACTIONS);
        }
        check(&Value::Object(frame).to_string());
    }

    #[test]
    fn damaged_fixture_text_never_panics(
        pick in any::<usize>(),
        cut in any::<usize>(),
        insert in any::<char>(),
    ) {
        let seeds = seeds();
        let text = seeds[pick % seeds.len()].to_string();
        let mut at = cut % (text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        check(&text[..at]);
        check(&format!("{}{insert}{}", &text[..at], &text[at..]));
    }
}

/// serde_json refuses nesting deeper than 128 levels, so hostile depth is an error,
/// not a stack overflow; the test runs on a small stack to prove it.
#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let run = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let depth = 100_000;
            let arrays = "[".repeat(depth);
            let objects = r#"{"a":"#.repeat(depth);
            let closed = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            let inside = format!(
                r#"{{"action":"ping","requestId":"deep","x":{}1{}}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            );
            for text in [&arrays, &objects, &closed, &inside] {
                let e = decode_frame(text).expect_err("too deep");
                assert_eq!(e.code, ErrorCode::ValidationError);
                assert!(e.message.contains("recursion limit"), "{}", e.message);
            }
            // The peek skips fields iteratively, so depth costs it no stack either.
            assert_eq!(peek_request_id(&inside).as_deref(), Some("deep"));
            assert_eq!(peek_request_id(&arrays), None);
            // Nesting within the limit still decodes, extra fields ignored.
            let fine = format!(
                r#"{{"action":"ping","requestId":"ok","x":{}1{}}}"#,
                "[".repeat(100),
                "]".repeat(100)
            );
            assert_eq!(
                decode_frame(&fine).unwrap().request_id.as_deref(),
                Some("ok")
            );
            assert_eq!(peek_request_id(&fine).as_deref(), Some("ok"));
        })
        .expect("spawn");
    run.join().expect("no panic and no stack overflow");
}

#[test]
fn out_of_range_numbers_are_errors() {
    for text in [
        r#"{"action":"list_conversations","limit":1e400}"#,
        r#"{"action":"list_conversations","limit":-1e400}"#,
        r#"{"action":"get_conversation_messages","sessionId":"s","limit":18446744073709551616}"#,
    ] {
        // serde_json reads 1e400 as an out-of-range error and big integers as floats.
        check(text);
        assert!(decode_frame(text).is_err(), "{text}");
    }
}
