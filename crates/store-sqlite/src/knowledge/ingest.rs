//! Replacing a source's documents in one transaction.
//!
//! Documents are chunked and embedded before the transaction (that may take a
//! model's time), only those whose fingerprint differs from the stored one. The
//! transaction takes SQLite's write lock at once (`BEGIN IMMEDIATE`) and checks
//! the documents kept as unchanged again: if another process changed one
//! meanwhile, the ingestion starts over rather than keep a stale decision.

use super::embedder;
use super::vectors::to_bytes;
use super::{SqliteKnowledge, backend, readers, terms};
use sqlx::{AssertSqlSafe, SqliteConnection};
use std::collections::{HashMap, HashSet};
use switchboard_knowledge::embed::EmbedderSignature;
use switchboard_knowledge::ingest::{Prepared, fingerprint, prepare};
use switchboard_knowledge::{Acl, Document, IngestReport, KnowledgeError};

/// How many times an ingestion starts over when other writers keep changing its
/// documents under it.
const ATTEMPTS: usize = 3;

pub(super) async fn ingest_source(
    knowledge: &SqliteKnowledge,
    source: &str,
    documents: Vec<Document>,
) -> Result<IngestReport, KnowledgeError> {
    let source = &*switchboard_knowledge::text::without_nul(source);
    let documents = last_of_each_id(documents.into_iter().map(Document::without_nul).collect());
    let ids: Vec<String> = documents.iter().map(|d| d.id.clone()).collect();
    let ids_json = json(&ids)?;
    for _ in 0..ATTEMPTS {
        let mut connection = knowledge.pool.acquire().await.map_err(backend)?;
        let stored = fingerprints(&mut connection, &ids_json).await?;
        drop(connection);
        let (mut unchanged, mut changed) = (Vec::new(), Vec::new());
        for d in &documents {
            let current = fingerprint(d);
            match stored.get(&d.id) {
                Some(s) if *s == current => unchanged.push((d.id.clone(), current)),
                _ => changed.push(d.clone()),
            }
        }
        let prepared = prepare(&*knowledge.embedder, knowledge.options.chunking, changed).await?;
        let offered = offered(knowledge, &prepared, !unchanged.is_empty()).await?;

        let mut tx = knowledge
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(backend)?;
        embedder::settle(&mut tx, offered.as_ref()).await?;
        if !still_unchanged(&mut tx, &unchanged).await? {
            continue; // dropping `tx` rolls it back
        }
        let report = write(&mut tx, source, &ids_json, prepared, &unchanged).await?;
        tx.commit().await.map_err(backend)?;
        return Ok(report);
    }
    Err(KnowledgeError::Backend(format!(
        "the documents of source {source:?} kept changing during ingestion"
    )))
}

/// Removes a source and its documents; returns how many documents went.
pub(super) async fn remove_source(
    knowledge: &SqliteKnowledge,
    source: &str,
) -> Result<usize, KnowledgeError> {
    let source = &*switchboard_knowledge::text::without_nul(source);
    let mut tx = knowledge
        .pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(backend)?;
    let removed = delete_documents(&mut tx, "source_key = ?1", source, None).await?;
    if removed > 0 {
        advance(&mut tx).await?;
    }
    tx.commit().await.map_err(backend)?;
    Ok(removed)
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, KnowledgeError> {
    serde_json::to_string(value).map_err(|e| KnowledgeError::Backend(format!("sqlite: {e}")))
}

/// The vectors' embedder. When documents are kept unchanged, with nothing new to
/// embed, it is this instance's embedder all the same (found by a probe if need
/// be), so that an instance configured with another model fails at ingestion, at
/// start-up, rather than at its first question.
async fn offered(
    knowledge: &SqliteKnowledge,
    prepared: &[Prepared],
    keeps_documents: bool,
) -> Result<Option<EmbedderSignature>, KnowledgeError> {
    let mut dimensions = prepared
        .iter()
        .flat_map(|p| &p.chunks)
        .map(|(_, v)| v.len());
    let Some(dimension) = dimensions.next() else {
        if !keeps_documents || knowledge.recorded().await?.is_none() {
            return Ok(None);
        }
        return knowledge.offered_by_probe().await.map(Some);
    };
    let offered = knowledge.offered(dimension);
    if let Some(other) = dimensions.find(|&d| d != dimension) {
        // An embedder whose vectors disagree with each other is refused, as in memory.
        return Err(KnowledgeError::EmbedderMismatch {
            index: offered.clone(),
            offered: EmbedderSignature {
                dimension: other,
                ..offered
            },
        });
    }
    Ok(Some(offered))
}

/// Re-ingesting a document id replaces it, so within one batch the last one counts.
fn last_of_each_id(documents: Vec<Document>) -> Vec<Document> {
    let mut seen = HashSet::new();
    let mut kept: Vec<Document> = documents
        .into_iter()
        .rev()
        .filter(|d| seen.insert(d.id.clone()))
        .collect();
    kept.reverse();
    kept
}

/// The stored fingerprints of the documents whose ids are in `ids` (JSON).
async fn fingerprints(
    connection: &mut SqliteConnection,
    ids: &str,
) -> Result<HashMap<String, String>, KnowledgeError> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, fingerprint FROM knowledge_documents \
         WHERE id IN (SELECT value FROM json_each(?1))",
    )
    .bind(ids)
    .fetch_all(connection)
    .await
    .map_err(backend)?;
    Ok(rows.into_iter().collect())
}

/// Whether the documents judged unchanged still are (inside the write lock).
async fn still_unchanged(
    tx: &mut SqliteConnection,
    unchanged: &[(String, String)],
) -> Result<bool, KnowledgeError> {
    if unchanged.is_empty() {
        return Ok(true);
    }
    let ids: Vec<&str> = unchanged.iter().map(|(id, _)| id.as_str()).collect();
    let now = fingerprints(tx, &json(&ids)?).await?;
    Ok(unchanged.iter().all(|(id, f)| now.get(id) == Some(f)))
}

/// Deletes the documents matching `condition` (on `knowledge_documents`, with
/// `?1` and `?2` bound to `first` and `second`), their chunks (whose trigger
/// takes them out of the full-text index) and their readers; returns how many
/// documents went. Explicit rather than by cascade, so it holds whatever the
/// connection's `foreign_keys` setting.
async fn delete_documents(
    tx: &mut SqliteConnection,
    condition: &'static str,
    first: &str,
    second: Option<&str>,
) -> Result<usize, KnowledgeError> {
    let owned = format!("(SELECT key FROM knowledge_documents WHERE {condition})");
    for table in ["knowledge_chunks", "knowledge_readers"] {
        sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE document IN {owned}"
        )))
        .bind(first)
        .bind(second)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    }
    let removed = sqlx::query(AssertSqlSafe(format!(
        "DELETE FROM knowledge_documents WHERE {condition}"
    )))
    .bind(first)
    .bind(second)
    .execute(&mut *tx)
    .await
    .map_err(backend)?;
    Ok(removed.rows_affected() as usize)
}

/// Raises the generation, which tells every process its copy of the vectors is
/// stale.
async fn advance(tx: &mut SqliteConnection) -> Result<(), KnowledgeError> {
    sqlx::query("UPDATE knowledge_state SET generation = generation + 1")
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    Ok(())
}

/// The source's new state: changed documents replaced, unchanged ones moved to it
/// if they were elsewhere, the ones it no longer has removed.
async fn write(
    tx: &mut SqliteConnection,
    source: &str,
    ids: &str,
    prepared: Vec<Prepared>,
    unchanged: &[(String, String)],
) -> Result<IngestReport, KnowledgeError> {
    let mut report = IngestReport {
        indexed: prepared.len(),
        unchanged: unchanged.len(),
        chunks: prepared.iter().map(|p| p.chunks.len()).sum(),
        ..IngestReport::default()
    };
    let replaced: Vec<&str> = prepared.iter().map(|p| p.document.id.as_str()).collect();
    delete_documents(
        tx,
        "id IN (SELECT value FROM json_each(?1))",
        &json(&replaced)?,
        None,
    )
    .await?;
    for p in prepared {
        insert(tx, source, p).await?;
    }
    let kept: Vec<&str> = unchanged.iter().map(|(id, _)| id.as_str()).collect();
    sqlx::query(
        "UPDATE knowledge_documents SET source_key = ?1 \
         WHERE id IN (SELECT value FROM json_each(?2)) AND source_key <> ?1",
    )
    .bind(source)
    .bind(json(&kept)?)
    .execute(&mut *tx)
    .await
    .map_err(backend)?;
    report.removed = delete_documents(
        tx,
        "source_key = ?1 AND id NOT IN (SELECT value FROM json_each(?2))",
        source,
        Some(ids),
    )
    .await?;
    if report.indexed + report.removed > 0 {
        advance(tx).await?;
    }
    Ok(report)
}

/// One document, its readers, its chunks and their terms.
async fn insert(
    tx: &mut SqliteConnection,
    source: &str,
    prepared: Prepared,
) -> Result<(), KnowledgeError> {
    let d = &prepared.document;
    let (restricted, readers) = match &d.acl {
        Acl::Org => (false, Vec::new()),
        Acl::Restricted { users, groups } => (true, readers(users, groups)),
    };
    let key: i64 = sqlx::query_scalar(
        "INSERT INTO knowledge_documents (id, source_key, source, title, url, org_id, acl, \
             restricted, sets, fingerprint) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING key",
    )
    .bind(&d.id)
    .bind(source)
    .bind(&d.source)
    .bind(&d.title)
    .bind(&d.url)
    .bind(&d.org)
    .bind(json(&d.acl)?)
    .bind(restricted)
    .bind(json(&d.sets)?)
    .bind(&prepared.fingerprint)
    .fetch_one(&mut *tx)
    .await
    .map_err(backend)?;
    if !readers.is_empty() {
        sqlx::query(
            "INSERT OR IGNORE INTO knowledge_readers (document, reader) \
             SELECT ?1, value FROM json_each(?2)",
        )
        .bind(key)
        .bind(json(&readers)?)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    }
    for (ordinal, (text, vector)) in prepared.chunks.iter().enumerate() {
        let id = sqlx::query(
            "INSERT INTO knowledge_chunks (document, ordinal, text, embedding) \
             VALUES (?1, ?2, ?3, ?4)",
        )
        .bind(key)
        .bind(ordinal as i64)
        .bind(text)
        .bind(to_bytes(vector))
        .execute(&mut *tx)
        .await
        .map_err(backend)?
        .last_insert_rowid();
        sqlx::query("INSERT INTO knowledge_chunks_fts (rowid, terms) VALUES (?1, ?2)")
            .bind(id)
            .bind(terms::indexed(text))
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
    }
    Ok(())
}
