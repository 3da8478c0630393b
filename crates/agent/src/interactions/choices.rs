//! `choices`: one to four short multiple-choice questions, each with an implicit
//! free-text `other` answer.

use super::{FieldError, field_error, non_blank};
use serde_json::{Map, Value, json};

const MAX_HEADER_CHARS: usize = 12;

pub(super) const DEFAULT_REASON: &str = "to help you better";

pub(super) const FALLBACK_INSTRUCTIONS: &str = "The visitor's app cannot show choice buttons, \
    so ask these questions in the conversation instead. For each question in `spec`, ask it \
    in plain words and list its options by label; the visitor may also answer in their own \
    words. Map each reply to the offered labels (more than one only when multiSelect is \
    true), then call the `submit_interaction` tool with kind \"choices\" and values \
    {\"answers\": [{\"header\": <the question's header>, \"options\": [<labels>]}]}, putting \
    an answer that fits no option in \"other\" instead. If the tool reports a validation \
    error, re-ask just those questions. If the visitor does not want to answer, call \
    `submit_interaction` with declined=true and carry on helping.";

pub(super) fn raise_spec() -> (String, Value) {
    let description = "Ask the visitor one to four short multiple-choice questions when \
        their answer decides what you do next, such as which plan or which product. Each \
        question has 2 to 4 options; the visitor can always answer in their own words \
        instead. The visitor may get clickable choices, or you will be told to ask \
        conversationally.";
    let option = json!({
        "anyOf": [
            {"type": "string"},
            {
                "type": "object",
                "properties": {
                    "label": {"type": "string", "description": "The option's short label."},
                    "description": {"type": "string", "description": "A short explanation of the option."},
                },
                "required": ["label"],
            },
        ],
    });
    let parameters = json!({
        "type": "object",
        "properties": {
            "questions": {
                "type": "array",
                "minItems": 1,
                "maxItems": 4,
                "items": {
                    "type": "object",
                    "properties": {
                        "question": {"type": "string", "description": "The question, as shown to the visitor."},
                        "header": {
                            "type": "string",
                            "maxLength": MAX_HEADER_CHARS,
                            "description": "A short caption, at most 12 characters and unique among the questions, e.g. \"Plan\".",
                        },
                        "options": {"type": "array", "minItems": 2, "maxItems": 4, "items": option},
                        "multiSelect": {
                            "type": "boolean",
                            "default": false,
                            "description": "Whether the visitor may pick more than one option.",
                        },
                    },
                    "required": ["question", "header", "options"],
                },
            },
            "reason": {
                "type": "string",
                "description": "Why you are asking, shown to the visitor, e.g. \"to route you to the right quote\".",
            },
        },
        "required": ["questions"],
    });
    (description.to_owned(), parameters)
}

/// Normalizes the raise arguments into `{questions: [{question, header, options:
/// [{label, description?}], multiSelect}]}`.
pub(super) fn parse_spec(arguments: &Map<String, Value>) -> Result<Map<String, Value>, String> {
    let questions = match arguments.get("questions") {
        Some(Value::Array(questions)) if (1..=4).contains(&questions.len()) => questions,
        _ => return Err("'questions' must list 1 to 4 questions".into()),
    };
    let mut parsed = Vec::new();
    let mut headers = Vec::new();
    for (index, question) in questions.iter().enumerate() {
        let question = parse_question(index + 1, question)?;
        let header = question["header"].clone();
        if headers.contains(&header) {
            return Err(format!(
                "question {}: the header {header} is already used; headers must be unique",
                index + 1
            ));
        }
        headers.push(header);
        parsed.push(question);
    }
    let mut spec = Map::new();
    spec.insert("questions".into(), Value::Array(parsed));
    Ok(spec)
}

fn parse_question(n: usize, question: &Value) -> Result<Value, String> {
    let question = question
        .as_object()
        .ok_or_else(|| format!("question {n} must be an object {{question, header, options}}"))?;
    let text =
        member(question, "question").ok_or_else(|| format!("question {n} needs a 'question'"))?;
    let header =
        member(question, "header").ok_or_else(|| format!("question {n} needs a 'header'"))?;
    if header.chars().count() > MAX_HEADER_CHARS {
        return Err(format!(
            "question {n}: the header '{header}' is longer than {MAX_HEADER_CHARS} characters"
        ));
    }
    let options = match question.get("options") {
        Some(Value::Array(options)) if (2..=4).contains(&options.len()) => options,
        _ => return Err(format!("question {n}: 'options' must list 2 to 4 options")),
    };
    let mut parsed: Vec<Value> = Vec::new();
    for option in options {
        let option = parse_option(n, option)?;
        if parsed.iter().any(|o| o["label"] == option["label"]) {
            return Err(format!(
                "question {n}: the option {} is listed twice",
                option["label"]
            ));
        }
        parsed.push(option);
    }
    let multi_select = match question.get("multiSelect") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(multi)) => *multi,
        Some(_) => return Err(format!("question {n}: 'multiSelect' must be true or false")),
    };
    Ok(json!({"question": text, "header": header, "options": parsed, "multiSelect": multi_select}))
}

fn parse_option(n: usize, option: &Value) -> Result<Value, String> {
    let (label, description) = match option {
        Value::String(label) => (non_blank(label), None),
        Value::Object(option) => (member(option, "label"), member(option, "description")),
        _ => {
            return Err(format!(
                "question {n}: each option must be a label or {{label, description?}}"
            ));
        }
    };
    let label = label.ok_or_else(|| format!("question {n}: each option needs a 'label'"))?;
    let mut option = json!({"label": label});
    if let Some(description) = description {
        option["description"] = Value::from(description);
    }
    Ok(option)
}

/// A trimmed non-blank string member.
fn member<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    object.get(key).and_then(Value::as_str).and_then(non_blank)
}

/// A question as validation needs it, read leniently from a stored spec.
struct Question<'a> {
    header: &'a str,
    labels: Vec<&'a str>,
    multi_select: bool,
}

fn questions(spec: &Map<String, Value>) -> Vec<Question<'_>> {
    let questions = spec.get("questions").and_then(Value::as_array);
    questions
        .into_iter()
        .flatten()
        .filter_map(question)
        .collect()
}

fn question(question: &Value) -> Option<Question<'_>> {
    let options = question.get("options").and_then(Value::as_array);
    Some(Question {
        header: question.get("header").and_then(Value::as_str)?.trim(),
        labels: options
            .into_iter()
            .flatten()
            .filter_map(|o| o.get("label").or(Some(o)).and_then(Value::as_str))
            .map(str::trim)
            .collect(),
        multi_select: question.get("multiSelect").and_then(Value::as_bool) == Some(true),
    })
}

/// A submitted answer, trimmed: blank labels dropped, repeats removed.
struct Answer {
    header: String,
    options: Vec<String>,
    other: Option<String>,
}

impl Answer {
    fn to_json(&self) -> Value {
        let mut answer = json!({"header": self.header, "options": self.options});
        if let Some(other) = &self.other {
            answer["other"] = Value::from(other.as_str());
        }
        answer
    }
}

/// Reads `answers`, recording shape errors; malformed entries are skipped.
fn answers(items: &[Value], errors: &mut Vec<FieldError>) -> Vec<Answer> {
    let mut answers: Vec<Answer> = Vec::new();
    for item in items {
        let header = item
            .get("header")
            .and_then(Value::as_str)
            .and_then(non_blank);
        let Some(header) = header else {
            errors.push(field_error(
                "answers",
                "each answer needs the 'header' of its question",
            ));
            continue;
        };
        let options = match item.get("options") {
            None | Some(Value::Null) => Some(Vec::new()),
            Some(Value::String(label)) => Some(vec![label.as_str()]),
            Some(Value::Array(labels)) => labels.iter().map(Value::as_str).collect(),
            Some(_) => None,
        };
        let Some(options) = options else {
            errors.push(field_error(
                header,
                "'options' must be a list of option labels",
            ));
            continue;
        };
        let other = match item.get("other") {
            None | Some(Value::Null) => None,
            Some(Value::String(other)) => non_blank(other),
            Some(_) => {
                errors.push(field_error(header, "'other' must be text"));
                continue;
            }
        };
        if answers.iter().any(|a| a.header == header) {
            errors.push(field_error(
                header,
                "this question is answered more than once",
            ));
            continue;
        }
        answers.push(Answer {
            header: header.to_owned(),
            options: distinct(options.into_iter().filter_map(non_blank)),
            other: other.map(str::to_owned),
        });
    }
    answers
}

fn distinct<'a>(labels: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    for label in labels {
        if !kept.iter().any(|k| k == label) {
            kept.push(label.to_owned());
        }
    }
    kept
}

pub(super) fn validate(
    spec: Option<&Map<String, Value>>,
    values: &Map<String, Value>,
) -> Result<Map<String, Value>, Vec<FieldError>> {
    let Some(Value::Array(items)) = values.get("answers") else {
        let message = "must be a list of answers, one per question";
        return Err(vec![field_error("answers", message)]);
    };
    let mut errors = Vec::new();
    let answers = answers(items, &mut errors);
    let canonical: Vec<Value> = match spec {
        Some(spec) => questions(spec)
            .iter()
            .filter_map(|q| check_answer(q, &answers, &mut errors))
            .collect(),
        None if items.is_empty() => {
            let message = "answer at least one question, or declined=true";
            return Err(vec![field_error("answers", message)]);
        }
        None => format_only(&answers, &mut errors),
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut values = Map::new();
    values.insert("answers".into(), Value::Array(canonical));
    Ok(values)
}

/// Checks the answer to one question; labels resolve to the offered spelling,
/// matching case-insensitively when there is no exact match.
fn check_answer(
    question: &Question,
    answers: &[Answer],
    errors: &mut Vec<FieldError>,
) -> Option<Value> {
    let header = question.header;
    let Some(answer) = answers.iter().find(|a| a.header == header) else {
        errors.push(field_error(header, "this question must be answered"));
        return None;
    };
    if answer.options.is_empty() && answer.other.is_none() {
        errors.push(field_error(
            header,
            "select an option or provide an 'other' answer",
        ));
        return None;
    }
    let before = errors.len();
    let mut picked = Vec::new();
    for label in &answer.options {
        let offered = question
            .labels
            .iter()
            .find(|l| **l == label.as_str())
            .or_else(|| {
                let lowered = label.to_lowercase();
                question.labels.iter().find(|l| l.to_lowercase() == lowered)
            });
        match offered {
            Some(offered) => picked.push(*offered),
            None => errors.push(field_error(
                header,
                format!("'{label}' is not one of the offered options"),
            )),
        }
    }
    let picked = distinct(picked.into_iter());
    if !question.multi_select && picked.len() + usize::from(answer.other.is_some()) > 1 {
        errors.push(field_error(header, "this question takes a single answer"));
    }
    (errors.len() == before).then(|| {
        Answer {
            header: header.to_owned(),
            options: picked,
            other: answer.other.clone(),
        }
        .to_json()
    })
}

/// Without a spec: every answer needs a pick or an `other`; labels are not checked.
fn format_only(answers: &[Answer], errors: &mut Vec<FieldError>) -> Vec<Value> {
    let mut canonical = Vec::new();
    for answer in answers {
        if answer.options.is_empty() && answer.other.is_none() {
            errors.push(field_error(
                &answer.header,
                "select an option or provide an 'other' answer",
            ));
        } else {
            canonical.push(answer.to_json());
        }
    }
    canonical
}

#[cfg(test)]
mod tests {
    use super::super::Kind;
    use super::*;

    fn raise(arguments: Value) -> Result<Map<String, Value>, String> {
        Kind::Choices
            .parse_raise(&arguments)
            .map(|r| r.spec)
            .map_err(|e| e.0)
    }

    fn plan_spec(multi_select: bool) -> Value {
        json!({"questions": [
            {"question": "Which plan?", "header": "Plan", "options": [{"label": "Starter"}, {"label": "Pro"}], "multiSelect": false},
            {"question": "Which add-ons?", "header": "Add-ons", "options": [{"label": "Support"}, {"label": "SSO"}, {"label": "Audit"}], "multiSelect": multi_select},
        ]})
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
        let arguments: Value = serde_json::from_str(r#"{"questions": [{"question": "Which plan fits best?", "header": "Plan", "options": [{"label": "Starter"}, {"label": "Pro"}]}], "reason": "to route you to the right quote"}"#).unwrap();
        let raised = Kind::Choices.parse_raise(&arguments).unwrap();
        assert_eq!(raised.reason, "to route you to the right quote");
        assert_eq!(
            Value::Object(raised.spec),
            json!({"questions": [{
                "question": "Which plan fits best?",
                "header": "Plan",
                "options": [{"label": "Starter"}, {"label": "Pro"}],
                "multiSelect": false,
            }]})
        );
    }

    #[test]
    fn park_resume_scenario_values() {
        let spec = json!({"questions": [{"question": "Which plan fits best?", "header": "Plan", "options": [{"label": "Starter"}, {"label": "Pro"}]}]});
        assert_eq!(
            check(
                Some(spec),
                json!({"answers": [{"header": "Plan", "options": ["Pro"]}]})
            )
            .unwrap(),
            json!({"answers": [{"header": "Plan", "options": ["Pro"]}]})
        );
    }

    #[test]
    fn options_normalize_to_label_objects() {
        let spec = raise(json!({"questions": [{
            "question": " Size? ", "header": " Size ", "multiSelect": true,
            "options": ["S", {"label": " M ", "description": " Medium "}, {"label": "L", "description": " "}],
        }]}))
        .unwrap();
        assert_eq!(
            spec["questions"][0],
            json!({"question": "Size?", "header": "Size", "multiSelect": true,
                   "options": [{"label": "S"}, {"label": "M", "description": "Medium"}, {"label": "L"}]})
        );
    }

    #[test]
    fn bad_raises_are_tool_errors() {
        let q = |header: &str, options: Value| json!({"question": "Q?", "header": header, "options": options});
        let two = json!(["A", "B"]);
        let cases = [
            (json!({}), "'questions' must list 1 to 4 questions"),
            (
                json!({"questions": []}),
                "'questions' must list 1 to 4 questions",
            ),
            (
                json!({"questions": [q("a", two.clone()), q("b", two.clone()), q("c", two.clone()), q("d", two.clone()), q("e", two.clone())]}),
                "'questions' must list 1 to 4 questions",
            ),
            (
                json!({"questions": ["Plan?"]}),
                "question 1 must be an object {question, header, options}",
            ),
            (
                json!({"questions": [{"header": "H", "options": two}]}),
                "question 1 needs a 'question'",
            ),
            (
                json!({"questions": [{"question": "Q?", "header": " ", "options": two}]}),
                "question 1 needs a 'header'",
            ),
            (
                json!({"questions": [q("Thirteen chr!", two.clone())]}),
                "question 1: the header 'Thirteen chr!' is longer than 12 characters",
            ),
            (
                json!({"questions": [q("Plan", two.clone()), q(" Plan", two.clone())]}),
                "question 2: the header \"Plan\" is already used; headers must be unique",
            ),
            (
                json!({"questions": [q("Plan", json!(["Only"]))]}),
                "question 1: 'options' must list 2 to 4 options",
            ),
            (
                json!({"questions": [q("Plan", json!(["A", "B", "C", "D", "E"]))]}),
                "question 1: 'options' must list 2 to 4 options",
            ),
            (
                json!({"questions": [q("Plan", json!(["A", 2]))]}),
                "question 1: each option must be a label or {label, description?}",
            ),
            (
                json!({"questions": [q("Plan", json!(["A", {"description": "x"}]))]}),
                "question 1: each option needs a 'label'",
            ),
            (
                json!({"questions": [q("Plan", json!(["A", " A "]))]}),
                "question 1: the option \"A\" is listed twice",
            ),
            (
                json!({"questions": [{"question": "Q?", "header": "H", "options": two, "multiSelect": "yes"}]}),
                "question 1: 'multiSelect' must be true or false",
            ),
        ];
        for (arguments, message) in cases {
            assert_eq!(
                raise(arguments.clone()).unwrap_err(),
                message,
                "{arguments}"
            );
        }
    }

    #[test]
    fn a_twelve_character_unicode_header_fits() {
        let spec = raise(json!({"questions": [{"question": "Q?", "header": "Größenwahl…!", "options": ["A", "B"]}]})).unwrap();
        assert_eq!(spec["questions"][0]["header"], "Größenwahl…!");
    }

    #[test]
    fn every_question_must_be_answered() {
        assert_eq!(
            check(
                Some(plan_spec(true)),
                json!({"answers": [{"header": "Plan", "options": [" "], "other": "  "}]})
            )
            .unwrap_err(),
            errors(&[
                ("Plan", "select an option or provide an 'other' answer"),
                ("Add-ons", "this question must be answered"),
            ])
        );
    }

    #[test]
    fn labels_must_be_offered_and_single_select_takes_one() {
        let values = json!({"answers": [
            {"header": "Plan", "options": ["Starter", "Pro"]},
            {"header": "Add-ons", "options": ["SSO", "Gold", "Silver"]},
        ]});
        assert_eq!(
            check(Some(plan_spec(true)), values).unwrap_err(),
            errors(&[
                ("Plan", "this question takes a single answer"),
                ("Add-ons", "'Gold' is not one of the offered options"),
                ("Add-ons", "'Silver' is not one of the offered options"),
            ])
        );
        let values = json!({"answers": [{"header": "Plan", "options": ["Pro"], "other": "Enterprise"}, {"header": "Add-ons", "options": ["SSO", "Audit"]}]});
        assert_eq!(
            check(Some(plan_spec(false)), values).unwrap_err(),
            errors(&[
                ("Plan", "this question takes a single answer"),
                ("Add-ons", "this question takes a single answer")
            ])
        );
    }

    #[test]
    fn answers_are_trimmed_resolved_and_ordered_like_the_spec() {
        let values = json!({"answers": [
            {"header": " Add-ons ", "options": [" sso ", "Audit", "SSO", ""], "other": " Priority line "},
            {"header": "Plan", "options": [], "other": " Enterprise "},
            {"header": "Unasked", "options": ["x"]},
        ]});
        assert_eq!(
            check(Some(plan_spec(true)), values).unwrap(),
            json!({"answers": [
                {"header": "Plan", "options": [], "other": "Enterprise"},
                {"header": "Add-ons", "options": ["SSO", "Audit"], "other": "Priority line"},
            ]})
        );
    }

    #[test]
    fn malformed_answers_are_reported() {
        assert_eq!(
            check(Some(plan_spec(true)), json!({"answers": {"Plan": "Pro"}})).unwrap_err(),
            errors(&[("answers", "must be a list of answers, one per question")])
        );
        let values = json!({"answers": [
            "Pro",
            {"header": "Plan", "options": [1]},
            {"header": "Add-ons", "options": ["SSO"], "other": 5},
        ]});
        assert_eq!(
            check(Some(plan_spec(true)), values).unwrap_err(),
            errors(&[
                ("answers", "each answer needs the 'header' of its question"),
                ("Plan", "'options' must be a list of option labels"),
                ("Add-ons", "'other' must be text"),
                ("Plan", "this question must be answered"),
                ("Add-ons", "this question must be answered"),
            ])
        );
        let twice = json!({"answers": [{"header": "Plan", "options": ["Pro"]}, {"header": "Plan", "options": ["Starter"]}, {"header": "Add-ons", "options": "SSO"}]});
        assert_eq!(
            check(Some(plan_spec(true)), twice).unwrap_err(),
            errors(&[("Plan", "this question is answered more than once")])
        );
    }

    #[test]
    fn format_only_mode_checks_shape_but_not_labels() {
        assert_eq!(
            check(
                None,
                json!({"answers": [{"header": "Plan", "options": ["Anything", "Else"]}]})
            )
            .unwrap(),
            json!({"answers": [{"header": "Plan", "options": ["Anything", "Else"]}]})
        );
        assert_eq!(
            check(
                None,
                json!({"answers": [{"header": "Plan"}, {"header": "Size", "other": "XL"}]})
            )
            .unwrap_err(),
            errors(&[("Plan", "select an option or provide an 'other' answer")])
        );
        assert_eq!(
            check(None, json!({"answers": []})).unwrap_err(),
            errors(&[("answers", "answer at least one question, or declined=true")])
        );
        assert_eq!(
            check(None, json!({})).unwrap_err(),
            errors(&[("answers", "must be a list of answers, one per question")])
        );
    }
}
