//! The protocol's JSON Schemas, loaded once, and checks of events against them.

use jsonschema::Validator;
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The `spec/` directory: `SWITCHBOARD_SPEC_DIR`, else the copy in this repository.
pub fn spec_dir() -> PathBuf {
    match std::env::var_os("SWITCHBOARD_SPEC_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../spec"),
    }
}

/// Validators for every event schema and for the acknowledgement payloads whose
/// shape an action schema pins.
pub struct Schemas {
    events: HashMap<String, Validator>,
    ack_data: HashMap<&'static str, Validator>,
}

/// The process-wide schema set.
pub fn schemas() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(Schemas::load)
}

/// Actions whose `immediate_response.data` has a `Response` schema.
const ACK_SCHEMAS: &[(&str, &str)] = &[
    ("create_conversation_session", "create-conversation-session"),
    ("get_session", "get-session"),
    ("get_conversation_messages", "get-messages"),
    ("list_conversations", "list-conversations"),
    ("rename_conversation", "rename-conversation"),
];

impl Schemas {
    fn load() -> Self {
        let dir = spec_dir();
        let mut events = HashMap::new();
        let event_dir = dir.join("events");
        for entry in std::fs::read_dir(&event_dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", event_dir.display()))
        {
            let path = entry.expect("directory entry").path();
            let Some(file) = path.file_name().and_then(|f| f.to_str()) else {
                continue;
            };
            let Some(stem) = file.strip_suffix(".schema.json") else {
                continue;
            };
            events.insert(stem.replace('-', "_"), compile(&read(&path)));
        }
        let ack_data = ACK_SCHEMAS
            .iter()
            .map(|(action, file)| {
                let mut doc = read(&dir.join(format!("actions/{file}.schema.json")));
                // Validate against `$defs.Response`, keeping `$defs` for its refs.
                let object = doc.as_object_mut().expect("schema object");
                object.remove("oneOf");
                object.insert("$ref".into(), Value::from("#/$defs/Response"));
                (*action, compile(&doc))
            })
            .collect();
        Self { events, ack_data }
    }

    /// Checks one event. `action` is the action the event answers, when known, so an
    /// acknowledgement's payload is checked against that action's `Response` schema.
    pub fn check_event(&self, event: &Value, action: Option<&str>) -> Result<(), String> {
        let kind = event["type"]
            .as_str()
            .ok_or_else(|| format!("event without a string 'type': {event}"))?;
        let validator = self
            .events
            .get(kind)
            .ok_or_else(|| format!("event type '{kind}' has no schema in spec/events: {event}"))?;
        errors(validator, event, &format!("spec/events ({kind})"))?;
        if kind == "immediate_response"
            && let Some(validator) = action.and_then(|a| self.ack_data.get(a))
        {
            errors(
                validator,
                &event["data"],
                &format!("{} Response", action.unwrap_or("")),
            )?;
        }
        Ok(())
    }

    /// The event types the spec defines.
    pub fn event_types(&self) -> Vec<String> {
        let mut types: Vec<String> = self.events.keys().cloned().collect();
        types.sort();
        types
    }
}

fn read(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn compile(schema: &Value) -> Validator {
    jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
        .unwrap_or_else(|e| panic!("invalid schema: {e}"))
}

fn errors(validator: &Validator, instance: &Value, label: &str) -> Result<(), String> {
    let problems: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("  at '{}': {e}", e.instance_path()))
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "frame violates {label}:\n{}\nframe: {instance}",
            problems.join("\n")
        ))
    }
}
