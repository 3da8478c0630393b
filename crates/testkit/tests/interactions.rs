//! The Rich Interaction kinds against `spec/interactions/*.schema.json` and the
//! `interaction-*` conformance scenarios: every spec, canonical value set and tool
//! result they produce must validate, and garbage input must never panic.

use jsonschema::Validator;
use serde_json::{Map, Value, json};
use switchboard_agent::interactions::{
    Kind, Raise, declined_result, fallback_result, no_response_result, submit_tool_call,
    submit_tool_spec, submitted_result,
};
use switchboard_testkit::spec_dir;

/// The `Spec`, `Values` and `Payload` validators of one kind.
struct KindSchemas {
    spec: Validator,
    values: Validator,
    payload: Validator,
}

fn read(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn schemas(kind: Kind) -> KindSchemas {
    let file = match kind {
        Kind::IdentityIntake => "identity-intake",
        Kind::Choices => "choices",
    };
    let document = read(&spec_dir().join(format!("interactions/{file}.schema.json")));
    // Validate against one `$defs` entry, keeping `$defs` for its refs.
    let def = |name: &str| {
        let mut schema = document.clone();
        let object = schema.as_object_mut().expect("schema object");
        object.remove("oneOf");
        object.insert("$ref".into(), Value::from(format!("#/$defs/{name}")));
        jsonschema::options()
            .build(&schema)
            .unwrap_or_else(|e| panic!("{file} {name}: invalid schema: {e}"))
    };
    KindSchemas {
        spec: def("Spec"),
        values: def("Values"),
        payload: def("Payload"),
    }
}

#[track_caller]
fn assert_valid(validator: &Validator, instance: &Value, what: &str) {
    let problems: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("  at '{}': {e}", e.instance_path()))
        .collect();
    assert!(
        problems.is_empty(),
        "{what} violates its schema:\n{}\n{instance}",
        problems.join("\n")
    );
}

fn object(value: Value) -> Map<String, Value> {
    value.as_object().expect("a JSON object").clone()
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("tool results are JSON")
}

/// Follows a scenario path such as `spec.questions.0.options.1.label`.
fn at<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(value, |v, step| match step.parse::<usize>() {
            Ok(index) => v.get(index),
            Err(_) => v.get(step),
        })
}

fn scenarios() -> Vec<Value> {
    let dir = spec_dir().join("conformance/scenarios");
    let mut found: Vec<Value> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| {
            let name = path.file_name().and_then(|f| f.to_str()).unwrap_or("");
            name.starts_with("interaction-") && name.ends_with(".json")
        })
        .map(|path| read(&path))
        .collect();
    found.sort_by_key(|s| s["name"].as_str().unwrap_or("").to_owned());
    found
}

/// The scenario's raise: its kind and what `parse_raise` makes of the mock's arguments.
fn scenario_raise(scenario: &Value) -> (Kind, Raise, Value) {
    let script = scenario["mockLlmScript"].as_array().expect("mockLlmScript");
    let call = script
        .iter()
        .find(|s| s["kind"] == "toolCall")
        .expect("a raise tool call");
    let kind = Kind::from_raise_tool(call["name"].as_str().unwrap()).expect("a raise tool");
    let arguments = parse(call["arguments"].as_str().expect("arguments text"));
    let raise = kind
        .parse_raise(&arguments)
        .unwrap_or_else(|e| panic!("{}: {e}", scenario["name"]));
    (kind, raise, arguments)
}

#[test]
fn scenario_raises_give_the_asserted_specs() {
    let all = scenarios();
    assert_eq!(all.len(), 4, "the interaction-* scenarios");
    let mut asserted = 0;
    for scenario in &all {
        let name = scenario["name"].as_str().unwrap();
        let (kind, raise, arguments) = scenario_raise(scenario);
        let schemas = schemas(kind);
        assert_valid(&schemas.spec, &Value::Object(raise.spec.clone()), name);
        let required = json!({
            "interactionId": "id",
            "kind": kind.name(),
            "spec": raise.spec,
            "reason": raise.reason,
        });
        let expectations = scenario["steps"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|step| step["expect"].as_array().unwrap());
        for expectation in expectations.filter(|e| e["type"] == "interaction_required") {
            for (path, expected) in expectation["assert"].as_object().unwrap() {
                let Some(path) = path.strip_prefix("data.data.") else {
                    continue;
                };
                assert_eq!(at(&required, path), Some(expected), "{name}: {path}");
                asserted += 1;
            }
        }
        // The model-facing parameters accept the arguments the scenario's model sent.
        let (_, parameters) = kind.raise_spec();
        let parameters = jsonschema::options().build(&parameters).expect("schema");
        assert_valid(&parameters, &arguments, "scenario raise arguments");
    }
    assert!(asserted >= 12, "only {asserted} spec assertions checked");
}

#[test]
fn scenario_submissions_validate_as_asserted() {
    for scenario in scenarios() {
        let name = scenario["name"].as_str().unwrap();
        let (kind, raise, _) = scenario_raise(&scenario);
        let schemas = schemas(kind);
        for step in scenario["steps"].as_array().unwrap() {
            if step["send"]["action"] != "submit_interaction" {
                continue;
            }
            let values = object(step["send"]["values"].clone());
            let result = kind.validate(Some(&raise.spec), &values);
            let invalid = step["expect"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["type"] == "interaction_invalid");
            match (invalid, result) {
                (Some(expected), Err(errors)) => {
                    let data = json!({"kind": kind.name(), "errors": errors});
                    for (path, value) in expected["assert"].as_object().unwrap() {
                        let Some(path) = path.strip_prefix("data.data.") else {
                            continue;
                        };
                        if path != "message" {
                            assert_eq!(at(&data, path), Some(value), "{name}: {path}");
                        }
                    }
                }
                (None, Ok(canonical)) => {
                    let values = Value::Object(canonical.values.clone());
                    assert_valid(&schemas.values, &values, name);
                    let payload = parse(&submitted_result(&canonical.values));
                    assert_valid(&schemas.payload, &payload, name);
                }
                (expected, got) => panic!("{name}: expected {expected:?}, got {got:?}"),
            }
        }
    }
}

#[test]
fn tool_results_match_the_payload_schemas() {
    for kind in Kind::ALL {
        let schemas = schemas(kind);
        assert_valid(&schemas.payload, &parse(&declined_result()), "declined");
        assert_valid(
            &schemas.payload,
            &parse(&no_response_result()),
            "no_response",
        );
    }
}

#[test]
fn fallback_results_carry_a_valid_spec() {
    for scenario in scenarios() {
        let (kind, raise, _) = scenario_raise(&scenario);
        let result = parse(&fallback_result(kind, &raise));
        assert_eq!(result["mode"], "conversational");
        assert_valid(&schemas(kind).spec, &result["spec"], "fallback spec");
    }
}

#[test]
fn submit_tool_results_match_the_payload_schemas() {
    let (_, parameters) = submit_tool_spec(&Kind::ALL);
    jsonschema::options()
        .build(&parameters)
        .expect("submit_interaction parameters are a schema");
    let calls = [
        json!({"kind": "identity_intake", "values": {"email": "A@B.CO", "phone": "(201) 555-0123"}}),
        json!({"kind": "choices", "values": {"answers": [{"header": "Plan", "other": "Team"}]}}),
        json!({"kind": "choices", "declined": true}),
    ];
    for call in calls {
        let (kind, _, text) = submit_tool_call(&call, &|_| None).expect("accepted");
        let payload = parse(&text);
        if payload["status"] == "submitted" {
            assert_valid(
                &schemas(kind).payload,
                &payload,
                "submit_interaction result",
            );
        }
    }
}

#[test]
fn varied_raises_normalize_to_valid_specs() {
    let identity = [
        json!({"fields": ["name", "email", "phone"]}),
        json!({"fields": [{"key": "phone", "required": false, "label": "Mobile"}, "email", "email"]}),
        json!({"fields": [{"key": "name", "label": "Your name"}], "reason": "to say hi"}),
    ];
    let choices = [
        json!({"questions": [{"question": "Size?", "header": "Size", "options": ["S", "M", "L", "XL"], "multiSelect": true}]}),
        json!({"questions": [
            {"question": "Plan?", "header": "Plan", "options": [{"label": "Starter", "description": "For one"}, {"label": "Pro", "description": " "}]},
            {"question": "When?", "header": "Start date 1", "options": ["Now", "Later"], "multiSelect": false},
        ], "reason": "to quote"}),
    ];
    for (kind, raises) in [
        (Kind::IdentityIntake, &identity[..]),
        (Kind::Choices, &choices[..]),
    ] {
        let schemas = schemas(kind);
        let (_, parameters) = kind.raise_spec();
        let parameters = jsonschema::options().build(&parameters).expect("schema");
        for arguments in raises {
            assert_valid(&parameters, arguments, "raise arguments");
            let raise = kind.parse_raise(arguments).expect("a valid raise");
            assert_valid(&schemas.spec, &Value::Object(raise.spec), "spec");
        }
    }
}

/// A small deterministic xorshift generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const KEYS: &[&str] = &[
    "fields",
    "key",
    "required",
    "label",
    "reason",
    "questions",
    "question",
    "header",
    "options",
    "multiSelect",
    "description",
    "answers",
    "other",
    "name",
    "email",
    "phone",
    "kind",
    "values",
    "declined",
    "",
];

fn strings() -> Vec<String> {
    let mut pool: Vec<String> = [
        "",
        " ",
        "name",
        "email",
        "phone",
        "Plan",
        "Pro",
        "Starter",
        " pro ",
        "Other",
        "alice@example.com",
        "A@B.CO",
        "still bad@",
        "a@b",
        "+1 555 123 4567",
        "5551234567",
        "15551234567",
        "+0123",
        "identity_intake",
        "choices",
        "Größenwahl…!",
        "日本語のヘッダー",
        "🙂🙂🙂",
        "\u{0}\u{7f}\n\t",
        "@@",
        "..",
        "Thirteen chr!",
        "+١٢٣٤٥٦٧٨٩",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    pool.push("x".repeat(100_000));
    pool.push(format!("{}@{}.com", "é".repeat(5_000), "ü".repeat(5_000)));
    pool.push("9".repeat(5_000));
    pool
}

fn garbage(rng: &mut Rng, pool: &[String], depth: usize) -> Value {
    let leaf_only = depth == 0;
    match rng.below(if leaf_only { 5 } else { 7 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 0),
        2 => json!(rng.next() as i64),
        3 => json!(f64::from(rng.below(1000) as u32) / 7.0),
        4 => Value::String(rng.pick(pool).clone()),
        5 => Value::Array(
            (0..rng.below(6))
                .map(|_| garbage(rng, pool, depth - 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.below(6))
                .map(|_| (rng.pick(KEYS).to_string(), garbage(rng, pool, depth - 1)))
                .collect(),
        ),
    }
}

/// Replaces one random node of `value` with garbage, so most of a valid input survives.
fn mutate(rng: &mut Rng, pool: &[String], value: &mut Value) {
    let children = match value {
        Value::Array(items) if !items.is_empty() => items.len(),
        Value::Object(map) if !map.is_empty() => map.len(),
        _ => 0,
    };
    if children == 0 || rng.below(4) == 0 {
        *value = garbage(rng, pool, 2);
        return;
    }
    let index = rng.below(children);
    let child = match value {
        Value::Array(items) => &mut items[index],
        Value::Object(map) => map.values_mut().nth(index).expect("in range"),
        _ => unreachable!(),
    };
    mutate(rng, pool, child);
}

fn seeds(kind: Kind) -> (Value, Value) {
    match kind {
        Kind::IdentityIntake => (
            json!({"fields": [{"key": "name", "required": false}, {"key": "email", "required": true}, "phone"], "reason": "r"}),
            json!({"name": "Alice", "email": "alice@example.com", "phone": "+1 201 555 0123"}),
        ),
        Kind::Choices => (
            json!({"questions": [
                {"question": "Plan?", "header": "Plan", "options": [{"label": "Starter"}, {"label": "Pro"}]},
                {"question": "Add-ons?", "header": "Add-ons", "options": ["SSO", "Audit", "Support"], "multiSelect": true},
            ], "reason": "r"}),
            json!({"answers": [{"header": "Plan", "options": ["Pro"]}, {"header": "Add-ons", "options": ["SSO"], "other": "x"}]}),
        ),
    }
}

#[test]
fn garbage_never_panics_and_anything_accepted_is_schema_valid() {
    let pool = strings();
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let mut accepted = [0usize; 2];
    for kind in Kind::ALL {
        let schemas = schemas(kind);
        let (raise_seed, values_seed) = seeds(kind);
        let seeded_spec = kind.parse_raise(&raise_seed).expect("seed raise").spec;
        for round in 0..1_500 {
            let mut arguments = raise_seed.clone();
            let mut values = values_seed.clone();
            if round % 3 == 0 {
                arguments = garbage(&mut rng, &pool, 4);
                values = garbage(&mut rng, &pool, 4);
            } else {
                mutate(&mut rng, &pool, &mut arguments);
                mutate(&mut rng, &pool, &mut values);
            }
            let spec = match kind.parse_raise(&arguments) {
                Ok(raise) => {
                    assert_valid(&schemas.spec, &Value::Object(raise.spec.clone()), "spec");
                    let fallback = parse(&fallback_result(kind, &raise));
                    assert_valid(&schemas.spec, &fallback["spec"], "fallback spec");
                    raise.spec
                }
                Err(error) => {
                    assert!(!error.0.is_empty());
                    seeded_spec.clone()
                }
            };
            let Value::Object(values) = values else {
                continue;
            };
            for spec in [Some(&spec), None] {
                match kind.validate(spec, &values) {
                    Ok(canonical) => {
                        accepted[kind as usize] += 1;
                        let shown = Value::Object(canonical.values.clone());
                        assert_valid(&schemas.values, &shown, "canonical values");
                        let payload = parse(&submitted_result(&canonical.values));
                        assert_valid(&schemas.payload, &payload, "payload");
                        // Canonical values are a fixed point of validation.
                        let again = kind.validate(spec, &canonical.values).expect("revalidates");
                        assert_eq!(again, canonical);
                    }
                    Err(errors) => assert!(!errors.is_empty()),
                }
            }
            let call = json!({"kind": kind.name(), "values": values, "declined": garbage(&mut rng, &pool, 0)});
            let _ = submit_tool_call(&call, &|_| Some(spec.clone()));
        }
    }
    assert!(
        accepted.iter().all(|n| *n > 100),
        "too few accepted inputs to mean much: {accepted:?}"
    );
}
