//! Tokenization for lexical retrieval.

/// Words that carry no retrieval signal.
const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "how",
    "i", "if", "in", "is", "it", "its", "me", "my", "of", "on", "or", "our", "so", "that", "the",
    "their", "there", "this", "to", "was", "we", "what", "when", "where", "which", "who", "why",
    "will", "with", "you", "your",
];

/// Lowercased, stemmed terms of `text`, stopwords removed.
pub fn terms(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .map(|w| w.trim_matches('\'').to_lowercase())
        .map(|w| w.strip_suffix("'s").map(str::to_owned).unwrap_or(w))
        .filter(|w| !w.is_empty() && !STOPWORDS.contains(&w.as_str()))
        .map(|w| stem(&w))
        .collect()
}

/// A light English stemmer: plural and possessive endings only, so "returns",
/// "return" and "policies"/"policy" meet without mangling other words.
fn stem(word: &str) -> String {
    if word.chars().count() <= 3 || word.chars().any(|c| c.is_ascii_digit()) {
        return word.to_owned();
    }
    if let Some(base) = word.strip_suffix("ies") {
        return format!("{base}y");
    }
    if word.ends_with("sses") {
        return word[..word.len() - 2].to_owned();
    }
    if word.ends_with('s')
        && !word.ends_with("ss")
        && !word.ends_with("us")
        && !word.ends_with("is")
    {
        return word[..word.len() - 1].to_owned();
    }
    word.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_normalised() {
        assert_eq!(terms("What is the Return window?"), ["return", "window"]);
        assert_eq!(
            terms("SmooAI's returns policies"),
            ["smooai", "return", "policy"]
        );
        assert_eq!(
            terms("address status 17 days"),
            ["address", "status", "17", "day"]
        );
    }
}

/// The sentences of `text`, split after `.`, `!` or `?` and at line breaks.
pub fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for (i, c) in text.char_indices() {
        let end = match c {
            '\n' => Some(i),
            '.' | '!' | '?' if bytes.get(i + 1).is_none_or(|b| b.is_ascii_whitespace()) => {
                Some(i + 1)
            }
            _ => None,
        };
        if let Some(end) = end {
            let sentence = text[start..end].trim();
            if !sentence.is_empty() {
                out.push(sentence);
            }
            start = end;
        }
    }
    let rest = text[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

#[cfg(test)]
mod sentence_tests {
    use super::sentences;

    #[test]
    fn splits_on_terminal_punctuation_and_lines() {
        assert_eq!(
            sentences("Returns take 17 days. Version 1.5 is out!\n# Heading\nLast one"),
            [
                "Returns take 17 days.",
                "Version 1.5 is out!",
                "# Heading",
                "Last one"
            ]
        );
    }
}

/// `text` without U+0000, which no store keeps in text (see
/// [`Document::without_nul`](crate::Document::without_nul)).
pub fn without_nul(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') {
        std::borrow::Cow::Owned(text.replace('\0', ""))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}
