//! The labelled question set: each question names the documents that answer it.

use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::Path;

/// What a question tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Names the term a document defines ("What does X mean?").
    Term,
    /// Paraphrases a definition without naming its term, so exact terms are not enough.
    Paraphrase,
    /// Asks about a fact stated inside a definition.
    Detail,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Term, Kind::Paraphrase, Kind::Detail];

    pub fn label(self) -> &'static str {
        match self {
            Kind::Term => "term",
            Kind::Paraphrase => "paraphrase",
            Kind::Detail => "detail",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub question: String,
    /// Document ids as the index reports them (`corpus/<file name>`).
    pub relevant: Vec<String>,
    pub kind: Kind,
}

/// Reads the question set, refusing a question without text or without answers.
pub fn load(path: &Path) -> Result<Vec<Question>, String> {
    let raw = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read the questions {}: {e} (run from the repository root or pass --questions)",
            path.display()
        )
    })?;
    let questions: Vec<Question> = serde_json::from_str(&raw)
        .map_err(|e| format!("{} is not a question set: {e}", path.display()))?;
    if questions.is_empty() {
        return Err(format!("{} holds no questions", path.display()));
    }
    if let Some(q) = questions
        .iter()
        .find(|q| q.question.trim().is_empty() || q.relevant.is_empty())
    {
        return Err(format!(
            "every question needs text and at least one relevant document: {q:?}"
        ));
    }
    Ok(questions)
}

/// Fails, naming every offender, when a question's relevant id is not a document
/// of the corpus: a mistyped label would otherwise silently count as a miss.
pub fn check(questions: &[Question], corpus: &BTreeSet<String>) -> Result<(), String> {
    let unknown: BTreeSet<&str> = questions
        .iter()
        .flat_map(|q| &q.relevant)
        .filter(|id| !corpus.contains(*id))
        .map(String::as_str)
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let sample: Vec<&str> = corpus.iter().take(3).map(String::as_str).collect();
    Err(format!(
        "{} relevant id(s) are not documents of the corpus: {} (corpus ids look like {})",
        unknown.len(),
        unknown.into_iter().collect::<Vec<_>>().join(", "),
        sample.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question(relevant: &[&str]) -> Question {
        Question {
            question: "q".into(),
            relevant: relevant.iter().map(|s| s.to_string()).collect(),
            kind: Kind::Term,
        }
    }

    #[test]
    fn unknown_relevant_ids_are_named() {
        let corpus: BTreeSet<String> = ["corpus/a.md".to_string()].into();
        assert!(check(&[question(&["corpus/a.md"])], &corpus).is_ok());
        let err = check(&[question(&["corpus/a.md", "corpus/b.md"])], &corpus).unwrap_err();
        assert!(err.contains("corpus/b.md"), "{err}");
        assert!(!err.contains("corpus/a.md,"), "{err}");
    }

    #[test]
    fn questions_without_answers_are_refused() {
        let dir = std::env::temp_dir().join(format!("bench-questions-{}", std::process::id()));
        std::fs::write(
            &dir,
            r#"[{"question": "q", "relevant": [], "kind": "term"}]"#,
        )
        .unwrap();
        let err = load(&dir).unwrap_err();
        std::fs::remove_file(&dir).unwrap();
        assert!(err.contains("at least one relevant"), "{err}");
    }
}
