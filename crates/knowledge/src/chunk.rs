//! Splitting documents into retrievable chunks.
//!
//! Markdown is cut at its headings first, so a chunk never mixes two sections, and
//! each chunk starts with the trail of headings above it ("Returns > Refunds"): a
//! passage keeps the context that makes it findable and quotable. Sections longer
//! than the size limit are packed from paragraphs (long paragraphs split between
//! words) with a small overlap between consecutive chunks.

/// Chunk size limits, in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkOptions {
    pub max_chars: usize,
    /// Characters of a chunk's end repeated at the start of the next chunk of the
    /// same section (whole words), so a sentence cut in two is found in both.
    pub overlap_chars: usize,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        Self {
            max_chars: 1000,
            overlap_chars: 150,
        }
    }
}

/// One chunk: its heading trail and text (the trail included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub headings: Vec<String>,
    pub text: String,
}

/// Chunks `text`, treating it as Markdown (plain text simply has no headings).
pub fn chunk_text(text: &str, options: ChunkOptions) -> Vec<Chunk> {
    let max = options.max_chars.max(40);
    let overlap = options.overlap_chars.min(max / 2);
    let mut chunks = Vec::new();
    for (headings, body) in sections(text) {
        let trail = headings.join(" > ");
        // Room for the body once the trail is prefixed.
        let room = max.saturating_sub(trail.chars().count() + 2).max(max / 2);
        for body in pack(&body, room, overlap) {
            let text = if trail.is_empty() {
                body
            } else {
                format!("{trail}\n\n{body}")
            };
            chunks.push(Chunk {
                headings: headings.clone(),
                text,
            });
        }
    }
    chunks
}

/// The document's sections: (heading trail, body). Headings inside fenced code
/// blocks are not headings.
fn sections(text: &str) -> Vec<(Vec<String>, String)> {
    let mut out = Vec::new();
    let mut trail: Vec<(usize, String)> = Vec::new();
    let mut body = String::new();
    let mut in_fence = false;
    let flush =
        |trail: &[(usize, String)], body: &mut String, out: &mut Vec<(Vec<String>, String)>| {
            if !body.trim().is_empty() {
                out.push((
                    trail.iter().map(|(_, h)| h.clone()).collect(),
                    body.trim().to_owned(),
                ));
            }
            body.clear();
        };
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
        }
        match heading(line).filter(|_| !in_fence) {
            Some((level, title)) => {
                flush(&trail, &mut body, &mut out);
                trail.retain(|(l, _)| *l < level);
                trail.push((level, title));
            }
            None => {
                body.push_str(line);
                body.push('\n');
            }
        }
    }
    flush(&trail, &mut body, &mut out);
    out
}

/// `(level, title)` of an ATX heading line (`#` to `######`).
fn heading(line: &str) -> Option<(usize, String)> {
    let line = line.trim_end();
    let hashes = line.chars().take_while(|c| *c == '#').count();
    if !(1..=6).contains(&hashes) {
        return None;
    }
    let rest = &line[hashes..];
    if !rest.is_empty() && !rest.starts_with(' ') {
        return None;
    }
    let title = rest.trim().trim_end_matches('#').trim();
    (!title.is_empty()).then(|| (hashes, title.to_owned()))
}

/// Packs the words of `body` into pieces of at most `max` characters, keeping
/// paragraph breaks, each piece starting with the last `overlap` characters (whole
/// words) of the previous one. A single word longer than `max` stands alone.
fn pack(body: &str, max: usize, overlap: usize) -> Vec<String> {
    // (starts a paragraph, word)
    let words: Vec<(bool, &str)> = body
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .enumerate()
        .flat_map(|(p, paragraph)| {
            paragraph
                .split_whitespace()
                .enumerate()
                .map(move |(w, word)| (p > 0 && w == 0, word))
        })
        .collect();
    let width = |w: &str| w.chars().count();
    let mut pieces = Vec::new();
    let mut start = 0;
    while start < words.len() {
        let mut end = start;
        let mut len = 0;
        while end < words.len() {
            let separator = match (end == start, words[end].0) {
                (true, _) => 0,
                (false, true) => 2,
                (false, false) => 1,
            };
            let add = separator + width(words[end].1);
            if end > start && len + add > max {
                break;
            }
            len += add;
            end += 1;
        }
        pieces.push(render(&words[start..end]));
        if end == words.len() {
            break;
        }
        // Back off into this piece for the overlap, always moving forward.
        let mut next = end;
        let mut carried = 0;
        while next > start + 1 && carried + width(words[next - 1].1) < overlap {
            carried += width(words[next - 1].1) + 1;
            next -= 1;
        }
        start = next;
    }
    pieces
}

/// Words back into text: spaces within paragraphs, blank lines between them.
fn render(words: &[(bool, &str)]) -> String {
    let mut out = String::new();
    for (i, (new_paragraph, word)) in words.iter().enumerate() {
        if i > 0 {
            out.push_str(if *new_paragraph { "\n\n" } else { " " });
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(max: usize, overlap: usize) -> ChunkOptions {
        ChunkOptions {
            max_chars: max,
            overlap_chars: overlap,
        }
    }

    #[test]
    fn headings_split_sections_and_prefix_their_trail() {
        let text = "# Policies\n\nIntro text.\n\n## Returns\n\nReturns take 17 days.\n\n### Refunds\n\nRefunds in 5 days.\n\n## Shipping\n\nShips in 2 days.\n";
        let chunks = chunk_text(text, ChunkOptions::default());
        let texts: Vec<&str> = chunks.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "Policies\n\nIntro text.",
                "Policies > Returns\n\nReturns take 17 days.",
                "Policies > Returns > Refunds\n\nRefunds in 5 days.",
                "Policies > Shipping\n\nShips in 2 days.",
            ]
        );
        assert_eq!(chunks[2].headings, ["Policies", "Returns", "Refunds"]);
    }

    #[test]
    fn plain_text_without_headings_is_kept_as_is() {
        let text = "SmooAI returns are accepted within 30 days of delivery for a full refund.";
        let chunks = chunk_text(text, ChunkOptions::default());
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].text, text);
        assert!(chunk_text("  \n\n ", ChunkOptions::default()).is_empty());
    }

    #[test]
    fn hashes_in_code_blocks_and_hashtags_are_not_headings() {
        let text = "# Setup\n\n```sh\n# install it\nmake\n```\n\n#notaheading here";
        let chunks = chunk_text(text, ChunkOptions::default());
        assert_eq!(chunks.len(), 1);
        assert!(chunks[0].text.contains("# install it"));
        assert!(chunks[0].text.contains("#notaheading"));
    }

    #[test]
    fn long_sections_respect_the_limit_and_overlap() {
        let sentences: Vec<String> = (0..60)
            .map(|i| format!("Sentence number {i} is here."))
            .collect();
        let text = format!("# Long\n\n{}", sentences.join(" "));
        let chunks = chunk_text(&text, opts(200, 40));
        assert!(chunks.len() > 5);
        for chunk in &chunks {
            assert!(chunk.text.chars().count() <= 200, "{}", chunk.text);
            assert!(chunk.text.starts_with("Long\n\n"));
        }
        // Consecutive chunks share words; nothing is lost.
        for pair in chunks.windows(2) {
            let tail: Vec<&str> = pair[0].text.split_whitespace().rev().take(2).collect();
            assert!(
                pair[1].text.contains(tail[0]),
                "overlap between {:?} and {:?}",
                pair[0].text,
                pair[1].text
            );
        }
        for i in 0..60 {
            assert!(
                chunks
                    .iter()
                    .any(|c| c.text.contains(&format!("number {i} "))),
                "{i} lost"
            );
        }
    }

    #[test]
    fn never_panics_on_odd_input() {
        for text in [
            "#",
            "######",
            "####### seven",
            "# \n#",
            "é".repeat(3000).as_str(),
            "```\n# a",
        ] {
            let chunks = chunk_text(text, opts(50, 10));
            assert!(
                chunks
                    .iter()
                    .all(|c| c.text.chars().count() <= 50 || !c.text.contains(' '))
            );
        }
    }
}
