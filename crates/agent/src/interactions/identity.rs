//! `identity_intake`: name, email and phone capture.

use super::{FieldError, field_error, non_blank};
use serde_json::{Map, Value, json};

/// The fields this kind collects, in the order errors are reported.
const KEYS: [&str; 3] = ["name", "email", "phone"];

pub(super) const DEFAULT_REASON: &str = "to help you better";

pub(super) const FALLBACK_INSTRUCTIONS: &str = "The visitor's app cannot show a form, so ask for \
    these details in the conversation instead. Ask only for the fields in `spec`, briefly \
    mentioning `reason`, and do not insist on fields marked required:false. When you have \
    the answers, call the `submit_interaction` tool with kind \"identity_intake\" and values \
    {\"name\"?, \"email\"?, \"phone\"?} exactly as the visitor gave them. If the tool reports a \
    validation error, re-ask for just those fields. If the visitor does not want to share \
    them, call `submit_interaction` with declined=true and carry on helping.";

const EMAIL_INVALID: &str = "must be a valid email address";
const PHONE_INVALID: &str =
    "must be a valid phone number (include your country code, e.g. +1 201 555 0123)";

pub(super) fn raise_spec() -> (String, Value) {
    let description = "Ask the visitor for their contact details (name, email and/or phone) \
        when you need them, for example to send a quote or to follow up. Request only the \
        fields you need and say why. The visitor may get a form card, or you will be told to \
        ask conversationally.";
    let parameters = json!({
        "type": "object",
        "properties": {
            "fields": {
                "type": "array",
                "minItems": 1,
                "description": "The fields to collect, in display order. A bare key means a required field.",
                "items": {
                    "anyOf": [
                        {"type": "string", "enum": KEYS},
                        {
                            "type": "object",
                            "properties": {
                                "key": {"type": "string", "enum": KEYS},
                                "required": {
                                    "type": "boolean",
                                    "default": true,
                                    "description": "Whether the visitor must provide this field.",
                                },
                                "label": {
                                    "type": "string",
                                    "description": "A display label replacing the default one.",
                                },
                            },
                            "required": ["key"],
                        },
                    ],
                },
            },
            "reason": {
                "type": "string",
                "description": "Why you are asking, shown to the visitor, e.g. \"to send you the quote\".",
            },
        },
        "required": ["fields"],
    });
    (description.to_owned(), parameters)
}

/// Normalizes the raise arguments into `{fields: [{key, required, label?}]}`. A key
/// listed twice keeps its first entry.
pub(super) fn parse_spec(arguments: &Map<String, Value>) -> Result<Map<String, Value>, String> {
    let items = match arguments.get("fields") {
        Some(Value::Array(items)) if !items.is_empty() => items,
        _ => return Err("'fields' must list at least one of name, email, phone".into()),
    };
    let mut fields = Vec::new();
    let mut seen = Vec::new();
    for item in items {
        let field = parse_field(item)?;
        let key = field["key"].clone();
        if !seen.contains(&key) {
            seen.push(key);
            fields.push(field);
        }
    }
    let mut spec = Map::new();
    spec.insert("fields".into(), Value::Array(fields));
    Ok(spec)
}

fn parse_field(item: &Value) -> Result<Value, String> {
    let (key, required, label) = match item {
        Value::String(key) => (known_key(key)?, true, None),
        Value::Object(field) => {
            let key = field
                .get("key")
                .and_then(Value::as_str)
                .ok_or("each field needs a 'key': name, email or phone")?;
            let key = known_key(key)?;
            let required = match field.get("required") {
                None | Some(Value::Null) => true,
                Some(Value::Bool(required)) => *required,
                Some(_) => return Err(format!("field '{key}': 'required' must be true or false")),
            };
            let label = match field.get("label") {
                None | Some(Value::Null) => None,
                Some(Value::String(label)) => non_blank(label),
                Some(_) => return Err(format!("field '{key}': 'label' must be a string")),
            };
            (key, required, label)
        }
        _ => {
            return Err(
                "each field must be a key (name, email or phone) or {key, required?, label?}"
                    .into(),
            );
        }
    };
    let mut field = json!({"key": key, "required": required});
    if let Some(label) = label {
        field["label"] = Value::from(label);
    }
    Ok(field)
}

fn known_key(key: &str) -> Result<&'static str, String> {
    let lowered = key.trim().to_ascii_lowercase();
    KEYS.into_iter()
        .find(|k| *k == lowered)
        .ok_or_else(|| format!("unknown field '{key}'; expected name, email or phone"))
}

/// The keys a spec marks required, read as leniently as a raise: a bare key or an
/// entry without `required` counts as required.
fn required_keys(spec: &Map<String, Value>) -> Vec<&str> {
    let fields = spec.get("fields").and_then(Value::as_array);
    fields
        .into_iter()
        .flatten()
        .filter(|f| f.get("required").and_then(Value::as_bool) != Some(false))
        .filter_map(|f| f.get("key").unwrap_or(f).as_str())
        .map(str::trim)
        .collect()
}

pub(super) fn validate(
    spec: Option<&Map<String, Value>>,
    values: &Map<String, Value>,
) -> Result<Map<String, Value>, Vec<FieldError>> {
    let required = spec.map(required_keys).unwrap_or_default();
    let mut errors = Vec::new();
    let provided = |v: &Value| match v {
        Value::Null => false,
        Value::String(s) => non_blank(s).is_some(),
        _ => true,
    };
    if !KEYS.iter().any(|k| values.get(*k).is_some_and(provided)) {
        errors.push(field_error(
            "values",
            "provide at least one of name/email/phone, or declined=true",
        ));
    }
    let mut canonical = Map::new();
    for key in KEYS {
        let text = match values.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => non_blank(text),
            Some(_) => {
                errors.push(field_error(key, "must be text"));
                continue;
            }
        };
        let Some(text) = text else {
            if required.contains(&key) {
                errors.push(field_error(key, "this field is required"));
            }
            continue;
        };
        let value = match key {
            "email" => email(text).ok_or(EMAIL_INVALID),
            "phone" => phone(text).ok_or(PHONE_INVALID),
            _ => Ok(text.to_owned()),
        };
        match value {
            Ok(value) => {
                canonical.insert(key.to_owned(), Value::String(value));
            }
            Err(message) => errors.push(field_error(key, message)),
        }
    }
    if errors.is_empty() {
        Ok(canonical)
    } else {
        Err(errors)
    }
}

/// One `@`, a non-empty local part, a dotted domain without empty labels, no
/// whitespace or control characters. The domain is lowercased.
fn email(text: &str) -> Option<String> {
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let (local, domain) = text.split_once('@')?;
    let labels: Vec<&str> = domain.split('.').collect();
    let valid = !local.is_empty()
        && !domain.contains('@')
        && labels.len() >= 2
        && labels.iter().all(|l| !l.is_empty());
    valid.then(|| format!("{local}@{}", domain.to_lowercase()))
}

/// E.164 by libphonenumber's rules; a national number is read in the
/// deployment's default region (see [`crate::phone`]).
fn phone(text: &str) -> Option<String> {
    crate::phone::to_e164(text)
}

/// The session metadata keys the OTP contact seam reads.
pub(super) fn session_metadata(values: &Map<String, Value>) -> Map<String, Value> {
    [
        ("name", "userName"),
        ("email", "contactEmail"),
        ("phone", "contactPhone"),
    ]
    .into_iter()
    .filter_map(|(key, meta)| Some((meta.to_owned(), values.get(key)?.clone())))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::super::Kind;
    use super::*;

    fn raise(arguments: &str) -> Result<Map<String, Value>, String> {
        let arguments: Value = serde_json::from_str(arguments).unwrap();
        Kind::IdentityIntake
            .parse_raise(&arguments)
            .map(|r| r.spec)
            .map_err(|e| e.0)
    }

    fn check(spec: Option<Value>, values: Value) -> Result<Value, Vec<(String, String)>> {
        let spec = spec.map(|s| s.as_object().unwrap().clone());
        validate(spec.as_ref(), values.as_object().unwrap())
            .map(Value::Object)
            .map_err(|errors| errors.into_iter().map(|e| (e.field, e.message)).collect())
    }

    fn errors(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(f, m)| (f.to_string(), m.to_string()))
            .collect()
    }

    #[test]
    fn park_resume_scenario_raise() {
        let spec = raise(r#"{"fields": [{"key": "name", "required": false}, {"key": "email", "required": true}], "reason": "to send you the quote"}"#).unwrap();
        assert_eq!(spec["fields"][0], json!({"key": "name", "required": false}));
        assert_eq!(spec["fields"][1], json!({"key": "email", "required": true}));
        assert_eq!(spec.len(), 1);
    }

    #[test]
    fn fallback_and_retryable_scenario_raise() {
        let arguments: Value = serde_json::from_str(r#"{"fields": [{"key": "email", "required": true}], "reason": "to send you the quote"}"#).unwrap();
        let raised = Kind::IdentityIntake.parse_raise(&arguments).unwrap();
        assert_eq!(
            raised.spec["fields"],
            json!([{"key": "email", "required": true}])
        );
        assert_eq!(raised.reason, "to send you the quote");
    }

    #[test]
    fn shorthand_and_object_fields_default_to_required() {
        let spec = raise(r#"{"fields": ["phone", {"key": " Email ", "label": " Work email "}, {"key": "name", "label": "  "}]}"#).unwrap();
        assert_eq!(
            spec["fields"],
            json!([
                {"key": "phone", "required": true},
                {"key": "email", "required": true, "label": "Work email"},
                {"key": "name", "required": true},
            ])
        );
    }

    #[test]
    fn a_repeated_key_keeps_its_first_entry() {
        let spec = raise(r#"{"fields": [{"key": "email", "required": false}, "email"]}"#).unwrap();
        assert_eq!(spec["fields"], json!([{"key": "email", "required": false}]));
    }

    #[test]
    fn bad_raises_are_tool_errors() {
        let cases = [
            (
                r#"{}"#,
                "'fields' must list at least one of name, email, phone",
            ),
            (
                r#"{"fields": []}"#,
                "'fields' must list at least one of name, email, phone",
            ),
            (
                r#"{"fields": "email"}"#,
                "'fields' must list at least one of name, email, phone",
            ),
            (
                r#"{"fields": ["address"]}"#,
                "unknown field 'address'; expected name, email or phone",
            ),
            (
                r#"{"fields": [{"required": true}]}"#,
                "each field needs a 'key': name, email or phone",
            ),
            (
                r#"{"fields": [{"key": "email", "required": "yes"}]}"#,
                "field 'email': 'required' must be true or false",
            ),
            (
                r#"{"fields": [{"key": "email", "label": 4}]}"#,
                "field 'email': 'label' must be a string",
            ),
            (
                r#"{"fields": [7]}"#,
                "each field must be a key (name, email or phone) or {key, required?, label?}",
            ),
        ];
        for (arguments, message) in cases {
            assert_eq!(raise(arguments).unwrap_err(), message, "{arguments}");
        }
    }

    #[test]
    fn invalid_retryable_scenario_values() {
        let spec = Some(json!({"fields": [{"key": "email", "required": true}]}));
        for bad in ["not-an-email", "still bad@"] {
            assert_eq!(
                check(spec.clone(), json!({"email": bad})).unwrap_err(),
                errors(&[("email", "must be a valid email address")])
            );
        }
        assert_eq!(
            check(spec, json!({"email": "alice@example.com"})).unwrap(),
            json!({"email": "alice@example.com"})
        );
    }

    #[test]
    fn email_shapes() {
        let good = [
            ("alice@example.com", "alice@example.com"),
            (
                "Alice.B+tag@Mail.Example.CO.uk",
                "Alice.B+tag@mail.example.co.uk",
            ),
            ("a@b.c", "a@b.c"),
        ];
        for (input, canonical) in good {
            assert_eq!(email(input).as_deref(), Some(canonical), "{input}");
        }
        let bad = [
            "plain",
            "@example.com",
            "a@",
            "a@example",
            "a@.example.com",
            "a@example.com.",
            "a@exa..mple.com",
            "a@b@example.com",
            "a b@example.com",
            "a@exam ple.com",
            "a\u{0}@example.com",
            "a@example\t.com",
        ];
        for input in bad {
            assert_eq!(email(input), None, "{input}");
        }
        assert_eq!(
            check(None, json!({"email": "  Bob@EXAMPLE.com\n"})).unwrap(),
            json!({"email": "Bob@example.com"})
        );
    }

    #[test]
    fn phone_shapes() {
        let good = [
            ("+1 201 555 0123", "+12015550123"),
            ("+44 (20) 7946-0958", "+442079460958"),
            ("+91 98765 43210", "+919876543210"),
            ("(201) 555-0123", "+12015550123"),
            ("201.555.0123", "+12015550123"),
            ("1 201 555 0123", "+12015550123"),
        ];
        for (input, canonical) in good {
            assert_eq!(phone(input).as_deref(), Some(canonical), "{input}");
        }
        let bad = [
            "+1234567",
            "+1234567890123456",
            "+0123456789",
            "+",
            "12345",
            "25551234567",
            "555-CALL-NOW",
            "+1 201 555 0123 ext 2",
            "98765 43210",
            "++12015550123",
            "+١٢٣٤٥٦٧٨٩",
        ];
        for input in bad {
            assert_eq!(phone(input), None, "{input}");
        }
        assert_eq!(
            check(None, json!({"phone": "12"})).unwrap_err(),
            errors(&[("phone", PHONE_INVALID)])
        );
        assert_eq!(
            PHONE_INVALID,
            "must be a valid phone number (include your country code, e.g. +1 201 555 0123)"
        );
    }

    #[test]
    fn at_least_one_field_is_needed() {
        let expected = errors(&[(
            "values",
            "provide at least one of name/email/phone, or declined=true",
        )]);
        for values in [
            json!({}),
            json!({"name": "  ", "email": null}),
            json!({"company": "Acme"}),
        ] {
            assert_eq!(check(None, values).unwrap_err(), expected);
        }
    }

    #[test]
    fn required_fields_must_be_present_and_not_blank() {
        let spec = json!({"fields": [{"key": "name", "required": true}, {"key": "email", "required": false}, {"key": "phone"}]});
        assert_eq!(
            check(Some(spec), json!({"name": "  ", "email": "a@example.com"})).unwrap_err(),
            errors(&[
                ("name", "this field is required"),
                ("phone", "this field is required")
            ])
        );
    }

    #[test]
    fn every_error_is_reported_together() {
        let spec = json!({"fields": ["name", "email", "phone"]});
        assert_eq!(
            check(Some(spec), json!({"email": "nope", "phone": "123"})).unwrap_err(),
            errors(&[
                ("name", "this field is required"),
                ("email", EMAIL_INVALID),
                ("phone", PHONE_INVALID),
            ])
        );
    }

    #[test]
    fn unrequested_fields_are_validated_and_kept_unknown_keys_dropped() {
        let spec = Some(json!({"fields": [{"key": "email", "required": true}]}));
        assert_eq!(
            check(spec.clone(), json!({"email": "a@Example.com", "name": " Ann ", "phone": "+1 (201) 555-0123", "company": "Acme"})).unwrap(),
            json!({"name": "Ann", "email": "a@example.com", "phone": "+12015550123"})
        );
        assert_eq!(
            check(spec, json!({"email": "a@example.com", "phone": "call me"})).unwrap_err(),
            errors(&[("phone", PHONE_INVALID)])
        );
    }

    #[test]
    fn optional_blank_fields_are_left_out() {
        let spec = Some(
            json!({"fields": [{"key": "name", "required": false}, {"key": "email", "required": true}]}),
        );
        assert_eq!(
            check(spec, json!({"name": "", "email": "a@example.com"})).unwrap(),
            json!({"email": "a@example.com"})
        );
    }

    #[test]
    fn format_only_mode_skips_required_checks() {
        assert_eq!(
            check(None, json!({"name": "Ann"})).unwrap(),
            json!({"name": "Ann"})
        );
    }

    #[test]
    fn non_text_values_are_errors() {
        assert_eq!(
            check(
                None,
                json!({"name": 42, "email": {"a": 1}, "phone": ["555"]})
            )
            .unwrap_err(),
            errors(&[
                ("name", "must be text"),
                ("email", "must be text"),
                ("phone", "must be text")
            ])
        );
    }

    #[test]
    fn metadata_keys() {
        let values = json!({"name": "Ann", "email": "a@example.com", "phone": "+12015550123"});
        assert_eq!(
            Value::Object(session_metadata(values.as_object().unwrap())),
            json!({"userName": "Ann", "contactEmail": "a@example.com", "contactPhone": "+12015550123"})
        );
    }
}
