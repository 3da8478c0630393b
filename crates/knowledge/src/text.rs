//! Tokenization for lexical retrieval.

use unicode_segmentation::UnicodeSegmentation;

/// Words that carry no retrieval signal.
const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "how",
    "i", "if", "in", "is", "it", "its", "me", "my", "of", "on", "or", "our", "so", "that", "the",
    "their", "there", "this", "to", "was", "we", "what", "when", "where", "which", "who", "why",
    "will", "with", "you", "your",
];

/// Lowercased, stemmed terms of `text`, stopwords removed.
///
/// Words are found by Unicode's word boundaries (UAX #29), so every script is
/// split where its readers split it: Latin, Cyrillic or Greek at spaces and
/// punctuation ("3.5" and "don't" stay whole), Chinese and Japanese ideographs one
/// by one. Ideographs written without spaces also yield each adjacent pair
/// ("退货" from "退" and "货"), so a query's words outrank its single characters.
pub fn terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    // The previous ideograph and where it ended, while a run of them lasts.
    let mut previous: Option<(&str, usize)> = None;
    for (at, word) in text.unicode_word_indices() {
        if is_ideograph(word) {
            // A pair only of ideographs written side by side (no space between).
            if let Some((before, end)) = previous
                && end == at
            {
                out.push(format!("{before}{word}"));
            }
            out.push(word.to_owned());
            previous = Some((word, at + word.len()));
            continue;
        }
        previous = None;
        let word = word.to_lowercase();
        let word = word
            .strip_suffix("'s")
            .or_else(|| word.strip_suffix("\u{2019}s"))
            .unwrap_or(&word);
        let word = word.trim_matches(|c| c == '\'' || c == '\u{2019}');
        if !word.is_empty() && !STOPWORDS.contains(&word) {
            out.push(stem(word));
        }
    }
    out
}

/// Whether `word` is a single character of a script written without spaces
/// between words (Han, Hiragana, Katakana, Hangul syllables), as UAX #29 yields
/// them.
fn is_ideograph(word: &str) -> bool {
    let mut chars = word.chars();
    let (Some(c), None) = (chars.next(), chars.next()) else {
        return false;
    };
    matches!(c as u32,
        0x3040..=0x30FF        // Hiragana, Katakana
        | 0x3400..=0x4DBF      // CJK Extension A
        | 0x4E00..=0x9FFF      // CJK Unified Ideographs
        | 0xF900..=0xFAFF      // CJK Compatibility Ideographs
        | 0x20000..=0x3134F    // CJK Extensions B–G
    )
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

    #[test]
    fn words_follow_unicode_boundaries_in_every_script() {
        assert_eq!(
            terms("Version 3.5 doesn’t ship"),
            ["version", "3.5", "doesn’t", "ship"]
        );
        assert_eq!(terms("Возврат товара"), ["возврат", "товара"]);
        // Ideographs one by one, and each adjacent pair.
        assert_eq!(
            terms("退货期限"),
            ["退", "退货", "货", "货期", "期", "期限", "限"]
        );
        // A pair never spans a space or a word of another script.
        assert_eq!(terms("退 ok 货"), ["退", "ok", "货"]);
        assert_eq!(terms("返品 返品"), ["返", "返品", "品", "返", "返品", "品"]);
        assert!(terms("返品はできますか").contains(&"返品".to_owned()));
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
