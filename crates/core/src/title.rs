//! Conversation titles: sanitizing a requested title and choosing a sidebar label.

/// The longest title kept, in characters.
pub const MAX_TITLE_CHARS: usize = 60;

/// The prefix of the name a conversation gets before anyone titles it.
pub const DEFAULT_NAME_PREFIX: &str = "Session ";

/// Cleans a title: whitespace runs become one space, wrapping quotes, asterisks,
/// backticks and hashes are trimmed, and the result is capped at
/// [`MAX_TITLE_CHARS`]. `None` when nothing is left.
pub fn sanitize_title(raw: &str) -> Option<String> {
    let collapsed = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let trimmed = collapsed.trim_matches(|c: char| matches!(c, '"' | '\'' | '*' | '`' | '#' | ' '));
    let capped: String = trimmed.chars().take(MAX_TITLE_CHARS).collect();
    let capped = capped.trim_end().to_owned();
    (!capped.is_empty()).then_some(capped)
}

/// Whether `name` is one someone gave the conversation (a rename or auto-title),
/// not the default placeholder.
pub fn is_meaningful_name(name: &str) -> bool {
    !name.starts_with(DEFAULT_NAME_PREFIX) && !name.trim().is_empty()
}

/// The label a sidebar shows: a real name when the conversation has one, otherwise
/// the first thing the user said, otherwise the default name.
pub fn sidebar_title(name: &str, first_user_text: Option<&str>) -> String {
    if is_meaningful_name(name) {
        return ellipsize(name.trim());
    }
    match first_user_text.map(str::trim).filter(|t| !t.is_empty()) {
        Some(text) => ellipsize(&text.split_whitespace().collect::<Vec<_>>().join(" ")),
        None => name.to_owned(),
    }
}

fn ellipsize(text: &str) -> String {
    if text.chars().count() <= MAX_TITLE_CHARS {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(MAX_TITLE_CHARS).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes_like_a_person_would_expect() {
        assert_eq!(
            sanitize_title("  **Billing**  ").as_deref(),
            Some("Billing")
        );
        assert_eq!(
            sanitize_title("\"Refund\n\trequest\"").as_deref(),
            Some("Refund request")
        );
        assert_eq!(sanitize_title(" ## ` ' "), None);
        assert_eq!(
            sanitize_title(&"x".repeat(100)).unwrap().chars().count(),
            60
        );
    }

    #[test]
    fn sidebar_prefers_real_names_then_first_user_text() {
        assert_eq!(sidebar_title("Billing", Some("hi")), "Billing");
        assert_eq!(
            sidebar_title("Session abc", Some("where is my order")),
            "where is my order"
        );
        let long = "a".repeat(70);
        assert_eq!(
            sidebar_title("Session abc", Some(&long)),
            format!("{}…", "a".repeat(60))
        );
        assert_eq!(sidebar_title("Session abc", None), "Session abc");
    }
}
