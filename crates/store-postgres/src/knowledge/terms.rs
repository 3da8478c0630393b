//! The lexical side: from a question to a full-text query, and how rare terms are.
//!
//! Any of the question's terms may match, as with BM25 (`plainto_tsquery` and
//! `websearch_to_tsquery` require all of them, which misses "How long is the return
//! window?" in a text without "long"). But ranking costs a read of each matching
//! chunk's text vector, and a term found in most chunks would make every
//! query rank most of the table; BM25 gives such a term almost no weight anyway.
//! So, by the planner's statistics, terms in more than [`COMMON_TERM_CHUNKS`]
//! chunks are left out while rarer ones remain; when none remains the common terms
//! must all match, and terms in more than half of the chunks (BM25 weight below
//! ln 2) are treated as stop words: a question of nothing else has no lexical match.

use super::backend;
use sqlx::PgPool;
use std::collections::HashMap;
use switchboard_knowledge::KnowledgeError;

/// A term in more chunks than this is left out of the full-text query when the
/// question has rarer ones; it bounds the chunks a query ranks.
pub(super) const COMMON_TERM_CHUNKS: f64 = 2000.0;
/// A term in more than this share of the chunks is treated as a stop word.
const STOP_WORD_SHARE: f64 = 0.5;

/// `(lexeme, share, chunks)`: the most common lexemes of the chunks, the share of
/// chunks holding each and their estimated number, from the statistics ANALYZE
/// keeps; rarer lexemes are absent.
macro_rules! common_lexemes {
    () => {
        concat!(
            "(SELECT e.lexeme, e.share, e.share * greatest(c.reltuples, 0) AS chunks ",
            "FROM pg_stats p ",
            "JOIN pg_class c ON c.oid = 'knowledge_chunks'::regclass ",
            "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = p.schemaname ",
            "CROSS JOIN unnest(p.most_common_elems::text::text[], p.most_common_elem_freqs) ",
            "AS e(lexeme, share) ",
            "WHERE p.tablename = 'knowledge_chunks' AND p.attname = 'tsv')"
        )
    };
}

/// A lexeme of the question and how common it is (0 when rarer than any the
/// statistics list).
#[derive(Debug)]
struct Term {
    lexeme: String,
    share: f64,
    chunks: f64,
}

/// The question as a `tsquery` (text), or `None` when it has no searchable term.
pub(super) async fn full_text_query(
    pool: &PgPool,
    question: &str,
) -> Result<Option<String>, KnowledgeError> {
    let rows: Vec<(String, f64, f64)> = sqlx::query_as(concat!(
        "SELECT t.lexeme, coalesce(s.share, 0)::float8 AS share, ",
        "coalesce(s.chunks, 0)::float8 AS chunks ",
        "FROM unnest(tsvector_to_array(to_tsvector('english', $1))) AS t(lexeme) ",
        "LEFT JOIN ",
        common_lexemes!(),
        " AS s ON s.lexeme = t.lexeme"
    ))
    .bind(question)
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    let terms: Vec<Term> = rows
        .into_iter()
        .map(|(lexeme, share, chunks)| Term {
            lexeme,
            share,
            chunks,
        })
        .collect();
    Ok(tsquery(&terms))
}

/// Any of the selective terms; or, when every term is common, all of those that
/// are not stop words.
fn tsquery(terms: &[Term]) -> Option<String> {
    // A lexeme in quotes, with quotes doubled and backslashes escaped.
    let quoted = |t: &Term| format!("'{}'", t.lexeme.replace('\\', "\\\\").replace('\'', "''"));
    let selective: Vec<String> = terms
        .iter()
        .filter(|t| t.chunks <= COMMON_TERM_CHUNKS)
        .map(quoted)
        .collect();
    if !selective.is_empty() {
        return Some(selective.join(" | "));
    }
    let informative: Vec<String> = terms
        .iter()
        .filter(|t| t.share <= STOP_WORD_SHARE)
        .map(quoted)
        .collect();
    (!informative.is_empty()).then(|| informative.join(" & "))
}

/// BM25's IDF of each term, `ln((n - df + 0.5) / (df + 0.5) + 1)`, with PostgreSQL's
/// stemming deciding which chunks hold a term; 0 for a term no chunk holds, as in
/// memory. Document frequencies are counted on the full-text index, or, for common
/// terms, where counting would read much of the table, taken from the statistics.
pub(super) async fn idf(
    pool: &PgPool,
    terms: &[String],
) -> Result<HashMap<String, f32>, KnowledgeError> {
    if terms.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(concat!(
        "SELECT t.term, (SELECT count(*) FROM knowledge_chunks), ",
        "CASE WHEN s.chunks > $2 THEN s.chunks::int8 ELSE ",
        "(SELECT count(*) FROM knowledge_chunks c ",
        "WHERE c.tsv @@ plainto_tsquery('english', t.term)) END ",
        "FROM unnest($1::text[]) AS t(term) LEFT JOIN ",
        common_lexemes!(),
        " AS s ON s.lexeme = ",
        "(SELECT string_agg(l, ' ') FROM unnest(tsvector_to_array(to_tsvector('english', t.term))) AS l)"
    ))
    .bind(terms)
    .bind(COMMON_TERM_CHUNKS)
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    Ok(rows
        .into_iter()
        .map(|(term, n, df)| {
            let idf = if df == 0 {
                0.0
            } else {
                let (n, df) = (n.max(1) as f32, df as f32);
                ((n - df + 0.5) / (df + 0.5) + 1.0).ln()
            };
            (term, idf)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(lexeme: &str, share: f64) -> Term {
        let chunks = share * 100_000.0;
        Term {
            lexeme: lexeme.into(),
            share,
            chunks,
        }
    }

    #[test]
    fn common_terms_give_way_to_selective_ones() {
        let terms = [
            term("return", 0.1),
            term("window", 0.001),
            term("zanzibar", 0.0),
        ];
        assert_eq!(tsquery(&terms).as_deref(), Some("'window' | 'zanzibar'"));
        let common = [term("return", 0.1), term("day", 0.3), term("the", 0.9)];
        assert_eq!(tsquery(&common).as_deref(), Some("'return' & 'day'"));
        assert_eq!(tsquery(&[term("the", 0.9)]), None);
        assert_eq!(tsquery(&[]), None);
    }

    #[test]
    fn lexemes_are_quoted_whatever_they_hold() {
        let odd = [term(r"o'br\ien | !x", 0.0)];
        assert_eq!(tsquery(&odd).as_deref(), Some(r"'o''br\\ien | !x'"));
    }
}
