//! Retrieval: each arm ranks only the chunks the asker may see, decided in SQL,
//! and the arms are fused as every other store fuses them
//! (`switchboard_knowledge::fusion::fuse_scores`).
//!
//! Everything is read in one transaction, so in one snapshot of the file: the
//! lexical arm, the visible documents, the vectors' generation and the hits.
//!
//! The lexical arm is FTS5's `bm25()` over the chunks' terms, with the visibility
//! condition in the same statement's WHERE clause, so a chunk the asker may not see
//! never takes one of the `LIMIT` places. FTS5's BM25 is the in-memory index's
//! (k1 = 1.2, b = 0.75) except for the IDF of terms in more than half of the
//! chunks, which FTS5 counts as almost nothing where memory gives them a little.

use super::{SqliteKnowledge, backend, readers, terms};
use sqlx::{Row, SqliteConnection};
use std::collections::HashMap;
use switchboard_knowledge::fusion::fuse_scores;
use switchboard_knowledge::{Access, Hit, KnowledgeError, SearchMode};

/// Documents `d` that the asker may see: `?1` the asker's organisation (NULL for
/// none), `?2` their readers as a JSON array.
macro_rules! visible {
    () => {
        "(d.org_id IS NULL OR d.org_id = ?1) AND (d.restricted = 0 OR EXISTS (\
             SELECT 1 FROM knowledge_readers r \
             WHERE r.document = d.key AND r.reader IN (SELECT value FROM json_each(?2))))"
    };
}

/// The best `?4` visible chunks matching the FTS5 query `?3`: (id, BM25).
const LEXICAL: &str = concat!(
    "SELECT f.rowid, -bm25(knowledge_chunks_fts) AS score FROM knowledge_chunks_fts f ",
    "JOIN knowledge_chunks c ON c.id = f.rowid ",
    "JOIN knowledge_documents d ON d.key = c.document ",
    "WHERE knowledge_chunks_fts MATCH ?3 AND ",
    visible!(),
    " ORDER BY bm25(knowledge_chunks_fts), f.rowid LIMIT ?4"
);

/// The keys of the visible documents, sorted.
const VISIBLE_DOCUMENTS: &str = concat!(
    "SELECT d.key FROM knowledge_documents d WHERE ",
    visible!(),
    " ORDER BY d.key"
);

/// The hits for the chunk ids in `?3` (a JSON array), visible ones only.
const HITS: &str = concat!(
    "SELECT c.id, d.id, d.source, COALESCE(d.title, d.source), d.url, c.text ",
    "FROM knowledge_chunks c JOIN knowledge_documents d ON d.key = c.document ",
    "WHERE c.id IN (SELECT value FROM json_each(?3)) AND ",
    visible!()
);

/// The best `limit` chunks `access` may see, in `mode`. In hybrid mode a missing
/// `vector` leaves the lexical arm alone, fused as usual, as in memory.
pub(super) async fn search(
    knowledge: &SqliteKnowledge,
    question: &str,
    vector: Option<Vec<f32>>,
    access: &Access,
    limit: usize,
    mode: SearchMode,
) -> Result<Vec<Hit>, KnowledgeError> {
    let question = &*switchboard_knowledge::text::without_nul(question);
    let pool = match mode {
        SearchMode::Hybrid => (limit * 4).max(20),
        _ => limit,
    };
    let org = access.org.as_deref();
    let readers = serde_json::to_string(&readers(access.user_id.iter(), access.groups.iter()))
        .map_err(|e| KnowledgeError::Backend(e.to_string()))?;
    let mut tx = knowledge.pool.begin().await.map_err(backend)?;
    let full_text = match mode {
        SearchMode::Vector => None,
        _ => terms::selective_query(&mut tx, question).await?,
    };
    if full_text.is_none() && vector.is_none() {
        return Ok(Vec::new());
    }
    let lexical = match &full_text {
        Some(full_text) => {
            let rows = sqlx::query(LEXICAL)
                .bind(org)
                .bind(&readers)
                .bind(full_text)
                .bind(pool as i64)
                .fetch_all(&mut *tx)
                .await
                .map_err(backend)?;
            rows.iter()
                .map(|row| Ok((row.try_get(0)?, row.try_get::<f64, _>(1)? as f32)))
                .collect::<Result<Vec<(i64, f32)>, sqlx::Error>>()
                .map_err(backend)?
        }
        None => Vec::new(),
    };
    let nearest = match &vector {
        Some(vector) => {
            let floor = match mode {
                SearchMode::Hybrid => knowledge.embedder.relevance_floor(),
                _ => f32::MIN,
            };
            nearest(knowledge, &mut tx, vector, org, &readers, pool, floor).await?
        }
        None => Vec::new(),
    };
    let ranked = match mode {
        SearchMode::Lexical => lexical,
        SearchMode::Vector => nearest,
        SearchMode::Hybrid => {
            let weight = knowledge.embedder.fusion_weight();
            fuse_scores(&lexical, &nearest, weight)
        }
    };
    let ranked: Vec<(i64, f32)> = ranked.into_iter().take(limit).collect();
    let hits = hits(&mut tx, &ranked, org, &readers).await?;
    tx.commit().await.map_err(backend)?;
    Ok(hits)
}

/// The vector arm, in the caller's transaction.
async fn nearest(
    knowledge: &SqliteKnowledge,
    tx: &mut SqliteConnection,
    vector: &[f32],
    org: Option<&str>,
    readers: &str,
    pool: usize,
    floor: f32,
) -> Result<Vec<(i64, f32)>, KnowledgeError> {
    let generation: i64 = sqlx::query_scalar("SELECT generation FROM knowledge_state")
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
    let visible: Vec<i64> = sqlx::query_scalar(VISIBLE_DOCUMENTS)
        .bind(org)
        .bind(readers)
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
    let vectors = knowledge.vectors.at(tx, generation).await?;
    Ok(vectors.nearest(vector, &visible, pool, floor))
}

/// The ranked chunks as hits, in rank order.
async fn hits(
    tx: &mut SqliteConnection,
    ranked: &[(i64, f32)],
    org: Option<&str>,
    readers: &str,
) -> Result<Vec<Hit>, KnowledgeError> {
    if ranked.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = ranked.iter().map(|(id, _)| *id).collect();
    let ids = serde_json::to_string(&ids).map_err(|e| KnowledgeError::Backend(e.to_string()))?;
    let rows = sqlx::query(HITS)
        .bind(org)
        .bind(readers)
        .bind(ids)
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
    let mut found: HashMap<i64, Hit> = HashMap::with_capacity(rows.len());
    for row in rows {
        let read = || -> Result<(i64, Hit), sqlx::Error> {
            Ok((
                row.try_get(0)?,
                Hit {
                    document_id: row.try_get(1)?,
                    source: row.try_get(2)?,
                    title: row.try_get(3)?,
                    url: row.try_get(4)?,
                    text: row.try_get(5)?,
                    score: 0.0,
                },
            ))
        };
        let (id, hit) = read().map_err(backend)?;
        found.insert(id, hit);
    }
    Ok(ranked
        .iter()
        .filter_map(|(id, score)| {
            let mut hit = found.remove(id)?;
            hit.score = f64::from(*score);
            Some(hit)
        })
        .collect())
}
