//! The lexical side: what FTS5 indexes, the query it runs, and how rare terms are.
//!
//! FTS5 indexes the chunk's *terms* as the in-memory index makes them
//! (`switchboard_knowledge::terms`: lowercased, stop words out, plurals stemmed),
//! not its raw text, so both stores match the same words, and the `idf` the
//! reranker asks for counts the same chunks. A run of CJK characters (written
//! without spaces) is one "term" to that splitter; here it is cut into overlapping
//! pairs of characters (bigrams, single characters alone), so a question matches
//! a chunk that shares a word with it rather than only one with the same whole run.

use super::backend;
use sqlx::SqliteConnection;
use std::collections::{HashMap, HashSet};
use switchboard_knowledge::KnowledgeError;

/// Whether `c` is written without spaces between words (Han, kana, Hangul).
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF       // Hiragana, Katakana
        | 0x3400..=0x4DBF     // CJK Extension A
        | 0x4E00..=0x9FFF     // CJK Unified Ideographs
        | 0xAC00..=0xD7AF     // Hangul syllables
        | 0xF900..=0xFAFF     // CJK Compatibility Ideographs
        | 0x20000..=0x2FFFF) // CJK Extensions B to F
}

/// The tokens one term of `switchboard_knowledge::terms` is indexed as.
fn tokens_of(term: &str, out: &mut Vec<String>) {
    if !term.chars().any(is_cjk) {
        out.push(term.to_owned());
        return;
    }
    let mut run: Vec<char> = Vec::new();
    let mut other = String::new();
    let flush_run = |run: &mut Vec<char>, out: &mut Vec<String>| {
        match run.len() {
            0 => {}
            1 => out.push(run[0].to_string()),
            _ => out.extend(run.windows(2).map(|w| w.iter().collect::<String>())),
        }
        run.clear();
    };
    for c in term.chars() {
        if is_cjk(c) {
            if !other.is_empty() {
                out.push(std::mem::take(&mut other));
            }
            run.push(c);
        } else {
            flush_run(&mut run, out);
            other.push(c);
        }
    }
    flush_run(&mut run, out);
    if !other.is_empty() {
        out.push(other);
    }
}

/// The text FTS5 indexes for a chunk: its tokens, separated by spaces.
pub(super) fn indexed(text: &str) -> String {
    let mut tokens = Vec::new();
    for term in switchboard_knowledge::terms(text) {
        tokens_of(&term, &mut tokens);
    }
    tokens.join(" ")
}

/// A token as an FTS5 string (a phrase of whatever FTS5's tokenizer makes of it):
/// in double quotes, inner quotes doubled, so no character of a question is FTS5
/// syntax.
fn quoted(token: &str) -> String {
    format!("\"{}\"", token.replace('"', "\"\""))
}

/// A token in more chunks than this is left out of the query when the question
/// has rarer ones: ranking costs a look at every matching chunk, and BM25 gives
/// such a token little weight anyway (as on PostgreSQL).
const COMMON_TOKEN_CHUNKS: i64 = 2000;

/// The question's distinct tokens.
fn question_tokens(question: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    for term in switchboard_knowledge::terms(question) {
        tokens_of(&term, &mut tokens);
    }
    let mut seen = HashSet::new();
    tokens.retain(|t| seen.insert(t.clone()));
    tokens
}

/// The question as an FTS5 query: any of its tokens (as BM25 in memory, any term
/// may match); `None` when it has none.
pub(super) fn match_query(question: &str) -> Option<String> {
    let phrases: Vec<String> = question_tokens(question)
        .iter()
        .map(|t| quoted(t))
        .collect();
    (!phrases.is_empty()).then(|| phrases.join(" OR "))
}

/// [`match_query`] without the tokens in more than [`COMMON_TOKEN_CHUNKS`] chunks
/// when rarer ones remain; when none does, all the common tokens held by at most
/// half of the chunks must match (a token in more has a BM25 weight of about 0:
/// a stop word), and a question of nothing else has no lexical match.
pub(super) async fn selective_query(
    connection: &mut SqliteConnection,
    question: &str,
) -> Result<Option<String>, KnowledgeError> {
    let tokens = question_tokens(question);
    if tokens.is_empty() {
        return Ok(None);
    }
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM knowledge_chunks")
        .fetch_one(&mut *connection)
        .await
        .map_err(backend)?;
    if n <= COMMON_TOKEN_CHUNKS {
        return Ok(match_query(question));
    }
    let (mut selective, mut common) = (Vec::new(), Vec::new());
    for token in &tokens {
        // The vocabulary holds tokens as FTS5's tokenizer made them; a token it
        // splits further is looked up whole, found in no row, and kept.
        let df: Option<i64> =
            sqlx::query_scalar("SELECT doc FROM knowledge_chunks_vocab WHERE term = ?1")
                .bind(token)
                .fetch_optional(&mut *connection)
                .await
                .map_err(backend)?;
        match df.unwrap_or(0) {
            df if df <= COMMON_TOKEN_CHUNKS => selective.push(quoted(token)),
            df if df * 2 <= n => common.push(quoted(token)),
            _ => {}
        }
    }
    Ok(if !selective.is_empty() {
        Some(selective.join(" OR "))
    } else if !common.is_empty() {
        Some(common.join(" AND "))
    } else {
        None
    })
}

/// BM25's IDF of each term, `ln((n - df + 0.5) / (df + 0.5) + 1)`, as in memory:
/// `df` counts the chunks holding the term (all of its tokens, in order, for a
/// CJK run), 0 for a term no chunk holds.
pub(super) async fn idf(
    connection: &mut SqliteConnection,
    terms: &[String],
) -> Result<HashMap<String, f32>, KnowledgeError> {
    let mut out = HashMap::with_capacity(terms.len());
    if terms.is_empty() {
        return Ok(out);
    }
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM knowledge_chunks")
        .fetch_one(&mut *connection)
        .await
        .map_err(backend)?;
    for term in terms {
        let mut tokens = Vec::new();
        tokens_of(&switchboard_knowledge::text::without_nul(term), &mut tokens);
        let phrase: Vec<String> = tokens.iter().map(|t| quoted(t)).collect();
        let df: i64 = if phrase.is_empty() || term.trim().is_empty() {
            0
        } else {
            sqlx::query_scalar(
                "SELECT count(*) FROM knowledge_chunks_fts WHERE knowledge_chunks_fts MATCH ?1",
            )
            .bind(phrase.join(" + "))
            .fetch_one(&mut *connection)
            .await
            .map_err(backend)?
        };
        let idf = if df == 0 {
            0.0
        } else {
            let (n, df) = (n.max(1) as f32, df as f32);
            ((n - df + 0.5) / (df + 0.5) + 1.0).ln()
        };
        out.insert(term.clone(), idf);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_indexed_as_their_terms() {
        assert_eq!(indexed("What are the Returns policies?"), "return policy");
        assert_eq!(
            match_query("zanzibar \"ferries\" & | ! ( ) : * NEAR AND"),
            Some("\"zanzibar\" OR \"ferry\" OR \"near\"".into())
        );
        assert_eq!(match_query("the and of ? !"), None);
        assert_eq!(indexed("O'Brien's"), "o'brien");
    }

    #[test]
    fn cjk_runs_become_bigrams() {
        assert_eq!(indexed("返品は17日以内"), "返品 品は 17 日以 以内");
        assert_eq!(indexed("ABC返"), "abc 返");
        assert_eq!(
            match_query("返品 返品"),
            Some("\"返品\"".into()),
            "repeated tokens are asked once"
        );
    }
}
