//! Rich Interactions: the kinds a turn can park on (`identity_intake`, `choices`),
//! how the model raises them, how submitted values are validated, and the tool
//! results the model gets back. Pure shaping and validation; the turn machinery
//! that parks, stashes and resumes lives elsewhere.

mod choices;
mod identity;

use crate::tools::ToolError;
use serde_json::{Map, Value, json};
pub use switchboard_protocol::FieldError;

/// The name of the generic tool the model calls on the conversational fallback path.
pub const SUBMIT_TOOL: &str = "submit_interaction";

/// An interaction kind the server hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    IdentityIntake,
    Choices,
}

/// A parsed raise: the normalized spec sent on `interaction_required`, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Raise {
    pub spec: Map<String, Value>,
    pub reason: String,
}

/// Submitted values after validation, in canonical form (trimmed, the email
/// domain lowercased, the phone in E.164, only known keys).
#[derive(Debug, Clone, PartialEq)]
pub struct Canonical {
    pub values: Map<String, Value>,
}

impl Kind {
    pub const ALL: [Kind; 2] = [Kind::IdentityIntake, Kind::Choices];

    pub fn name(self) -> &'static str {
        match self {
            Kind::IdentityIntake => "identity_intake",
            Kind::Choices => "choices",
        }
    }

    /// The `supports` entry that makes a session render this kind as a card.
    pub fn capability(self) -> &'static str {
        match self {
            Kind::IdentityIntake => "identity_form",
            Kind::Choices => "choice_chips",
        }
    }

    pub fn raise_tool(self) -> &'static str {
        match self {
            Kind::IdentityIntake => "request_identity_intake",
            Kind::Choices => "request_choices",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    pub fn from_raise_tool(tool: &str) -> Option<Kind> {
        Self::ALL.into_iter().find(|k| k.raise_tool() == tool)
    }

    /// Whether a session declaring `supports` gets the card (the rich path)
    /// rather than the conversational fallback.
    pub fn is_rich(self, supports: &[String]) -> bool {
        supports.iter().any(|s| s == self.capability())
    }

    /// The raise tool's description and JSON Schema parameters, offered to the model.
    pub fn raise_spec(self) -> (String, Value) {
        match self {
            Kind::IdentityIntake => identity::raise_spec(),
            Kind::Choices => choices::raise_spec(),
        }
    }

    /// Parses the model's raise arguments; the error is the tool error text.
    pub fn parse_raise(self, arguments: &Value) -> Result<Raise, ToolError> {
        let Some(arguments) = arguments.as_object() else {
            return Err(ToolError(format!(
                "{} expects a JSON object of arguments",
                self.raise_tool()
            )));
        };
        let spec = match self {
            Kind::IdentityIntake => identity::parse_spec(arguments),
            Kind::Choices => choices::parse_spec(arguments),
        }
        .map_err(ToolError)?;
        let reason = match arguments.get("reason") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.trim()).filter(|s| !s.is_empty()),
            Some(_) => return Err(ToolError("'reason' must be a string".into())),
        };
        let reason = reason.map_or_else(|| self.default_reason().to_owned(), str::to_owned);
        Ok(Raise { spec, reason })
    }

    fn default_reason(self) -> &'static str {
        match self {
            Kind::IdentityIntake => identity::DEFAULT_REASON,
            Kind::Choices => choices::DEFAULT_REASON,
        }
    }

    /// Validates submitted values against the raise's spec, or checks their format
    /// only when `spec` is `None` (a spec from an earlier turn). Every error is
    /// reported, not just the first.
    pub fn validate(
        self,
        spec: Option<&Map<String, Value>>,
        values: &Map<String, Value>,
    ) -> Result<Canonical, Vec<FieldError>> {
        let values = match self {
            Kind::IdentityIntake => identity::validate(spec, values),
            Kind::Choices => choices::validate(spec, values),
        }?;
        Ok(Canonical { values })
    }

    /// The session metadata a successful submission writes: `userName`,
    /// `contactEmail`, `contactPhone` for identity (only those provided); nothing
    /// for the other kinds.
    pub fn session_metadata(self, canonical: &Canonical) -> Map<String, Value> {
        match self {
            Kind::IdentityIntake => identity::session_metadata(&canonical.values),
            Kind::Choices => Map::new(),
        }
    }

    /// What the model is told to do when the client cannot render the card.
    pub fn fallback_instructions(self) -> &'static str {
        match self {
            Kind::IdentityIntake => identity::FALLBACK_INSTRUCTIONS,
            Kind::Choices => choices::FALLBACK_INSTRUCTIONS,
        }
    }
}

/// The parked raise tool's result when the visitor submitted valid values.
pub fn submitted_result(values: &Map<String, Value>) -> String {
    json!({"status": "submitted", "values": values}).to_string()
}

/// The parked raise tool's result when the visitor declined the card.
pub fn declined_result() -> String {
    json!({
        "status": "declined",
        "message": "The visitor declined. Continue helping them without this and do not ask again this conversation.",
    })
    .to_string()
}

/// The parked raise tool's result when the card timed out or the connection closed.
pub fn no_response_result() -> String {
    json!({
        "status": "no_response",
        "message": "The visitor did not respond to the card. Continue without it; you may offer again later if it becomes relevant.",
    })
    .to_string()
}

/// The raise tool's immediate result on the conversational fallback path.
pub fn fallback_result(kind: Kind, raise: &Raise) -> String {
    json!({
        "mode": "conversational",
        "kind": kind.name(),
        "spec": raise.spec,
        "reason": raise.reason,
        "instructions": kind.fallback_instructions(),
    })
    .to_string()
}

/// The `submit_interaction` tool's description and parameters, for the kinds on
/// the fallback path.
pub fn submit_tool_spec(kinds: &[Kind]) -> (String, Value) {
    let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
    let description = "Submit what the visitor told you in a conversational interaction \
        (after a request_* tool answered with mode \"conversational\"), or record that \
        they declined. Values are validated; on a validation error, re-ask the visitor \
        for the fields it names and call this tool again.";
    let parameters = json!({
        "type": "object",
        "properties": {
            "kind": {
                "type": "string",
                "enum": names,
                "description": "The interaction kind, as given by the request_* tool result.",
            },
            "values": {
                "type": "object",
                "description": "The collected values, shaped as the instructions of the request_* tool result describe.",
            },
            "declined": {
                "type": "boolean",
                "description": "true when the visitor declined to answer.",
            },
        },
        "required": ["kind"],
    });
    (description.to_owned(), parameters)
}

/// Handles a `submit_interaction` tool call. `stashed` yields the spec raised for a
/// kind earlier in this turn; without one the values are checked for format only.
/// Returns the kind, the canonical values (`None` when declined) and the result
/// text; the caller runs the kind's effect on the canonical values.
pub fn submit_tool_call(
    arguments: &Value,
    stashed: &dyn Fn(Kind) -> Option<Map<String, Value>>,
) -> Result<(Kind, Option<Canonical>, String), ToolError> {
    let kind_name = arguments.get("kind").and_then(Value::as_str).unwrap_or("");
    let Some(kind) = Kind::from_name(kind_name.trim()) else {
        let known: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
        return Err(ToolError(format!(
            "unknown interaction kind '{kind_name}'; expected one of: {}",
            known.join(", ")
        )));
    };
    if arguments.get("declined").and_then(Value::as_bool) == Some(true) {
        let text = json!({
            "status": "declined",
            "message": "Noted. The visitor declined. Continue helping them without this and do not ask again this conversation.",
        });
        return Ok((kind, None, text.to_string()));
    }
    let Some(values) = values_of(arguments.get("values")) else {
        return Err(ToolError(
            "submit_interaction requires 'values' (or 'declined': true)".into(),
        ));
    };
    match kind.validate(stashed(kind).as_ref(), &values) {
        Ok(canonical) => {
            let text = submitted_result(&canonical.values);
            Ok((kind, Some(canonical), text))
        }
        Err(errors) => Err(ToolError(validation_failed(&errors))),
    }
}

/// The values object, also when the model sent it as a JSON string.
fn values_of(values: Option<&Value>) -> Option<Map<String, Value>> {
    match values? {
        Value::Object(map) => Some(map.clone()),
        Value::String(text) => match serde_json::from_str(text) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        },
        _ => None,
    }
}

fn validation_failed(errors: &[FieldError]) -> String {
    let listed: Vec<String> = errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect();
    format!(
        "validation failed — {}. Re-ask the visitor for just these, then call submit_interaction again.",
        listed.join("; ")
    )
}

fn field_error(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// A trimmed, non-empty string, or `None`.
fn non_blank(value: &str) -> Option<&str> {
    Some(value.trim()).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn names_capabilities_and_tools_round_trip() {
        let expected = [
            (
                "identity_intake",
                "identity_form",
                "request_identity_intake",
            ),
            ("choices", "choice_chips", "request_choices"),
        ];
        for (kind, (name, capability, tool)) in Kind::ALL.into_iter().zip(expected) {
            assert_eq!(kind.name(), name);
            assert_eq!(kind.capability(), capability);
            assert_eq!(kind.raise_tool(), tool);
            assert_eq!(Kind::from_name(name), Some(kind));
            assert_eq!(Kind::from_raise_tool(tool), Some(kind));
        }
        assert_eq!(Kind::from_name("request_choices"), None);
        assert_eq!(Kind::from_raise_tool("choices"), None);
    }

    #[test]
    fn the_capability_gates_the_rich_path() {
        let supports = vec!["identity_form".to_owned()];
        assert!(Kind::IdentityIntake.is_rich(&supports));
        assert!(!Kind::Choices.is_rich(&supports));
        assert!(!Kind::IdentityIntake.is_rich(&[]));
    }

    #[test]
    fn raise_specs_are_object_schemas() {
        for kind in Kind::ALL {
            let (description, parameters) = kind.raise_spec();
            assert!(!description.is_empty());
            assert_eq!(parameters["type"], "object");
            assert!(parameters["properties"]["reason"].is_object());
        }
    }

    #[test]
    fn raise_arguments_must_be_an_object() {
        let err = Kind::Choices.parse_raise(&json!([1, 2])).unwrap_err();
        assert_eq!(err.0, "request_choices expects a JSON object of arguments");
    }

    #[test]
    fn reason_defaults_when_missing_or_blank_and_must_be_text() {
        let fields = json!({"fields": ["email"]});
        assert_eq!(
            Kind::IdentityIntake.parse_raise(&fields).unwrap().reason,
            "to help you better"
        );
        let blank = json!({"fields": ["email"], "reason": "   "});
        assert_eq!(
            Kind::IdentityIntake.parse_raise(&blank).unwrap().reason,
            "to help you better"
        );
        let padded = json!({"fields": ["email"], "reason": " to send the quote "});
        assert_eq!(
            Kind::IdentityIntake.parse_raise(&padded).unwrap().reason,
            "to send the quote"
        );
        let number = json!({"fields": ["email"], "reason": 3});
        assert_eq!(
            Kind::IdentityIntake.parse_raise(&number).unwrap_err().0,
            "'reason' must be a string"
        );
    }

    #[test]
    fn parked_tool_results() {
        let values = map(json!({"email": "a@example.com"}));
        assert_eq!(
            parse(&submitted_result(&values)),
            json!({"status": "submitted", "values": {"email": "a@example.com"}})
        );
        let declined = parse(&declined_result());
        assert_eq!(declined["status"], "declined");
        assert_eq!(
            declined["message"],
            "The visitor declined. Continue helping them without this and do not ask again this conversation."
        );
        let silent = parse(&no_response_result());
        assert_eq!(silent["status"], "no_response");
        assert_eq!(
            silent["message"],
            "The visitor did not respond to the card. Continue without it; you may offer again later if it becomes relevant."
        );
    }

    #[test]
    fn fallback_result_carries_spec_reason_and_instructions() {
        let raise = Kind::IdentityIntake
            .parse_raise(&json!({"fields": ["email"], "reason": "to send you the quote"}))
            .unwrap();
        let result = parse(&fallback_result(Kind::IdentityIntake, &raise));
        assert_eq!(result["mode"], "conversational");
        assert_eq!(result["kind"], "identity_intake");
        assert_eq!(
            result["spec"],
            json!({"fields": [{"key": "email", "required": true}]})
        );
        assert_eq!(result["reason"], "to send you the quote");
        assert_eq!(
            result["instructions"],
            Kind::IdentityIntake.fallback_instructions()
        );
    }

    #[test]
    fn submit_tool_spec_enumerates_the_given_kinds() {
        let (description, parameters) = submit_tool_spec(&[Kind::Choices]);
        assert!(description.contains("declined"));
        assert_eq!(parameters["properties"]["kind"]["enum"], json!(["choices"]));
        assert_eq!(parameters["required"], json!(["kind"]));
    }

    fn email_spec(kind: Kind) -> Option<Map<String, Value>> {
        (kind == Kind::IdentityIntake)
            .then(|| map(json!({"fields": [{"key": "email", "required": true}]})))
    }

    #[test]
    fn submit_tool_validates_against_the_stashed_spec() {
        let args = json!({"kind": "identity_intake", "values": {"name": "Alice"}});
        let err = submit_tool_call(&args, &email_spec).unwrap_err();
        assert_eq!(
            err.0,
            "validation failed — email: this field is required. Re-ask the visitor for just these, then call submit_interaction again."
        );
        // Without a stashed spec only the format is checked.
        let (kind, canonical, text) = submit_tool_call(&args, &|_| None).unwrap();
        assert_eq!(kind, Kind::IdentityIntake);
        assert_eq!(canonical.unwrap().values, map(json!({"name": "Alice"})));
        assert_eq!(
            parse(&text),
            json!({"status": "submitted", "values": {"name": "Alice"}})
        );
    }

    #[test]
    fn submit_tool_lists_every_error() {
        let args = json!({"kind": "identity_intake", "values": {"email": "x", "phone": "12"}});
        let err = submit_tool_call(&args, &email_spec).unwrap_err().0;
        assert!(err.starts_with("validation failed — email: must be a valid email address; phone: must be a valid phone number"), "{err}");
        assert!(err.contains("Re-ask"));
    }

    #[test]
    fn submit_tool_canonicalizes_and_accepts_stringified_values() {
        let args =
            json!({"kind": "identity_intake", "values": "{\"email\": \" Bob@Example.COM \"}"});
        let (_, canonical, text) = submit_tool_call(&args, &email_spec).unwrap();
        assert_eq!(
            canonical.unwrap().values,
            map(json!({"email": "Bob@example.com"}))
        );
        assert_eq!(parse(&text)["values"]["email"], "Bob@example.com");
    }

    #[test]
    fn submit_tool_declines_without_values() {
        let args = json!({"kind": "choices", "declined": true});
        let (kind, canonical, text) = submit_tool_call(&args, &|_| None).unwrap();
        assert_eq!((kind, canonical), (Kind::Choices, None));
        let text = parse(&text);
        assert_eq!(text["status"], "declined");
        assert!(text["message"].as_str().unwrap().starts_with("Noted. "));
    }

    #[test]
    fn submit_tool_rejects_unknown_kinds_and_missing_values() {
        let err =
            submit_tool_call(&json!({"kind": "survey", "values": {}}), &|_| None).unwrap_err();
        assert_eq!(
            err.0,
            "unknown interaction kind 'survey'; expected one of: identity_intake, choices"
        );
        assert!(submit_tool_call(&json!({"values": {}}), &|_| None).is_err());
        for values in [json!(null), json!(5), json!("not json"), json!([1])] {
            let args = json!({"kind": "choices", "values": values, "declined": false});
            assert_eq!(
                submit_tool_call(&args, &|_| None).unwrap_err().0,
                "submit_interaction requires 'values' (or 'declined': true)"
            );
        }
    }

    #[test]
    fn identity_session_metadata_maps_only_provided_fields() {
        let canonical = Kind::IdentityIntake
            .validate(None, &map(json!({"name": "Al", "phone": "201 555 0123"})))
            .unwrap();
        assert_eq!(
            Kind::IdentityIntake.session_metadata(&canonical),
            map(json!({"userName": "Al", "contactPhone": "+12015550123"}))
        );
        let answers = Canonical {
            values: map(json!({"answers": []})),
        };
        assert!(Kind::Choices.session_metadata(&answers).is_empty());
    }
}
