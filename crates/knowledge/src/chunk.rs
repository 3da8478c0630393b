//! Splitting documents into retrievable chunks.

/// Chunk size limits, in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkOptions {
    pub max_chars: usize,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        Self { max_chars: 800 }
    }
}

/// Packs paragraphs (separated by blank lines) into chunks of at most
/// `max_chars`; a longer paragraph is split between words.
pub fn chunk_text(text: &str, options: ChunkOptions) -> Vec<String> {
    let max = options.max_chars.max(1);
    let mut chunks = Vec::new();
    let mut current = String::new();
    for paragraph in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        for piece in split_long(paragraph, max) {
            if !current.is_empty() && current.chars().count() + 2 + piece.chars().count() > max {
                chunks.push(std::mem::take(&mut current));
            }
            if !current.is_empty() {
                current.push_str("\n\n");
            }
            current.push_str(&piece);
        }
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

fn split_long(paragraph: &str, max: usize) -> Vec<String> {
    if paragraph.chars().count() <= max {
        return vec![paragraph.to_owned()];
    }
    let mut pieces = Vec::new();
    let mut current = String::new();
    for word in paragraph.split_whitespace() {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > max {
            pieces.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_paragraphs_and_splits_long_ones() {
        let text = format!("one\n\ntwo\n\n{}", "word ".repeat(50));
        let chunks = chunk_text(&text, ChunkOptions { max_chars: 60 });
        assert_eq!(chunks[0], "one\n\ntwo");
        assert!(chunks.iter().all(|c| c.chars().count() <= 60));
        assert_eq!(
            chunks
                .iter()
                .map(|c| c.matches("word").count())
                .sum::<usize>(),
            50
        );
        assert!(chunk_text("  \n\n ", ChunkOptions::default()).is_empty());
    }
}
