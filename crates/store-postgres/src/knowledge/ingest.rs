//! Replacing a source's documents in one transaction.
//!
//! Documents are chunked and embedded before the transaction (that may take a
//! model's time), only those whose fingerprint differs from the stored one. In the
//! transaction, which holds the write lock, the documents kept as unchanged are
//! checked again: if another replica changed one meanwhile, the ingestion starts
//! over rather than keep a stale decision.

use super::embedder::{self, WRITE_LOCK};
use super::{PostgresKnowledge, backend, readers};
use pgvector::Vector;
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor, PgPool};
use std::collections::{HashMap, HashSet};
use switchboard_knowledge::embed::EmbedderSignature;
use switchboard_knowledge::ingest::{
    Prepared, chunk_texts, fingerprint, is_current_fingerprint, prepare,
};
use switchboard_knowledge::{Acl, Document, IngestReport, KnowledgeError};

/// How many times an ingestion starts over when other writers keep changing its
/// documents under it.
const ATTEMPTS: usize = 3;
/// Chunks per INSERT statement (a statement carries all their vectors).
const CHUNK_BATCH: usize = 1000;

pub(super) async fn ingest_source(
    knowledge: &PostgresKnowledge,
    source: &str,
    documents: Vec<Document>,
) -> Result<IngestReport, KnowledgeError> {
    let source = &*switchboard_knowledge::text::without_nul(source);
    let documents = last_of_each_id(documents.into_iter().map(Document::without_nul).collect());
    let ids: Vec<String> = documents.iter().map(|d| d.id.clone()).collect();
    for _ in 0..ATTEMPTS {
        let stored = fingerprints(&knowledge.pool, &ids).await?;
        let (mut unchanged, mut changed, mut legacy) = (Vec::new(), Vec::new(), Vec::new());
        for d in &documents {
            let current = fingerprint(d);
            match stored.get(&d.id) {
                Some(s) if *s == current => unchanged.push((d.id.clone(), current)),
                Some(s) if !is_current_fingerprint(s) => legacy.push(d),
                _ => changed.push(d.clone()),
            }
        }
        let (upgraded, differ) = reuse_vectors(knowledge, legacy).await?;
        changed.extend(differ);
        let prepared = prepare(&*knowledge.embedder, knowledge.options.chunking, changed).await?;
        let keeps = !unchanged.is_empty() || !upgraded.is_empty();
        let offered = offered(knowledge, &prepared, keeps).await?;

        let mut tx = knowledge.pool.begin().await.map_err(backend)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(WRITE_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        embedder::settle(&mut tx, offered.as_ref()).await?;
        if !still_unchanged(&mut tx, &unchanged).await? {
            continue; // dropping `tx` rolls it back
        }
        let report = write(&mut tx, source, &ids, prepared, upgraded, &unchanged).await?;
        tx.commit().await.map_err(backend)?;
        analyze_if_much_changed(&knowledge.pool, report.chunks).await;
        return Ok(report);
    }
    Err(KnowledgeError::Backend(format!(
        "the documents of source {source:?} kept changing during ingestion"
    )))
}

/// Refreshes the statistics that the planner and the full-text query rely on once
/// a tenth of the chunks changed since they were taken, as autovacuum would, but
/// before the next question rather than within a minute. `written` counts this
/// ingestion's chunks, which the server's counters may not show yet. A failure
/// costs only speed, so it is logged.
async fn analyze_if_much_changed(pool: &PgPool, written: usize) {
    let due: Result<Option<bool>, sqlx::Error> = sqlx::query_scalar(
        "SELECT greatest(s.n_mod_since_analyze, $1) \
             >= greatest(1000, 0.1 * greatest(c.reltuples, 0)) \
         FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid \
         WHERE s.relid = 'knowledge_chunks'::regclass",
    )
    .bind(written as i64)
    .fetch_optional(pool)
    .await;
    let analyzed = match due {
        Ok(Some(true)) => sqlx::query("ANALYZE knowledge_chunks")
            .execute(pool)
            .await
            .map(drop),
        Ok(_) => Ok(()),
        Err(error) => Err(error),
    };
    if let Err(error) = analyzed {
        tracing::warn!(%error, "cannot refresh the knowledge chunks' statistics");
    }
}

/// The vectors' embedder. When documents are kept unchanged, with nothing new to
/// embed, it is this instance's embedder all the same (found by a probe if need
/// be), so that an instance configured with another model fails at ingestion, at
/// start-up, rather than at its first question.
async fn offered(
    knowledge: &PostgresKnowledge,
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

async fn fingerprints(
    connection: impl PgExecutor<'_>,
    ids: &[String],
) -> Result<HashMap<String, String>, KnowledgeError> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT id, fingerprint FROM knowledge_documents WHERE id = ANY($1)")
            .bind(ids)
            .fetch_all(connection)
            .await
            .map_err(backend)?;
    Ok(rows.into_iter().collect())
}

/// Documents stored with a fingerprint of an older version: those whose chunks'
/// texts are the stored ones come back ready to write with the stored vectors and
/// a current fingerprint (nothing to embed); the others, to be embedded.
async fn reuse_vectors(
    knowledge: &PostgresKnowledge,
    legacy: Vec<&Document>,
) -> Result<(Vec<Prepared>, Vec<Document>), KnowledgeError> {
    if legacy.is_empty() || knowledge.recorded().await?.is_none() {
        return Ok((Vec::new(), legacy.into_iter().cloned().collect()));
    }
    let ids: Vec<&str> = legacy.iter().map(|d| d.id.as_str()).collect();
    let rows: Vec<(String, String, Vector)> = sqlx::query_as(
        "SELECT document_id, text, embedding FROM knowledge_chunks \
         WHERE document_id = ANY($1) ORDER BY document_id, ordinal",
    )
    .bind(&ids)
    .fetch_all(&knowledge.pool)
    .await
    .map_err(backend)?;
    let mut chunks: HashMap<String, Vec<(String, Vec<f32>)>> = HashMap::new();
    for (id, text, vector) in rows {
        chunks.entry(id).or_default().push((text, vector.to_vec()));
    }
    let (mut upgraded, mut differ) = (Vec::new(), Vec::new());
    for document in legacy {
        let stored = chunks.remove(&document.id).unwrap_or_default();
        let texts = chunk_texts(document, knowledge.options.chunking);
        if stored.iter().map(|(text, _)| text).eq(texts.iter()) {
            upgraded.push(Prepared {
                document: document.clone(),
                fingerprint: fingerprint(document),
                chunks: stored,
            });
        } else {
            differ.push(document.clone());
        }
    }
    Ok((upgraded, differ))
}

/// Whether the documents judged unchanged still are, locking them until commit.
async fn still_unchanged(
    tx: &mut PgConnection,
    unchanged: &[(String, String)],
) -> Result<bool, KnowledgeError> {
    if unchanged.is_empty() {
        return Ok(true);
    }
    let ids: Vec<&str> = unchanged.iter().map(|(id, _)| id.as_str()).collect();
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, fingerprint FROM knowledge_documents WHERE id = ANY($1) FOR UPDATE",
    )
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await
    .map_err(backend)?;
    let now: HashMap<String, String> = rows.into_iter().collect();
    Ok(unchanged.iter().all(|(id, f)| now.get(id) == Some(f)))
}

/// The source's new state: changed documents replaced, upgraded ones rewritten
/// with their own vectors, unchanged ones moved to it if they were elsewhere, the
/// ones it no longer has removed.
async fn write(
    tx: &mut PgConnection,
    source: &str,
    ids: &[String],
    mut prepared: Vec<Prepared>,
    upgraded: Vec<Prepared>,
    unchanged: &[(String, String)],
) -> Result<IngestReport, KnowledgeError> {
    let mut report = IngestReport {
        indexed: prepared.len(),
        unchanged: unchanged.len() + upgraded.len(),
        chunks: prepared.iter().map(|p| p.chunks.len()).sum(),
        ..IngestReport::default()
    };
    prepared.extend(upgraded);
    let replaced: Vec<&str> = prepared.iter().map(|p| p.document.id.as_str()).collect();
    sqlx::query("DELETE FROM knowledge_documents WHERE id = ANY($1)")
        .bind(&replaced)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    insert_documents(tx, source, &prepared).await?;
    insert_chunks(tx, prepared).await?;
    let kept: Vec<&str> = unchanged.iter().map(|(id, _)| id.as_str()).collect();
    sqlx::query(
        "UPDATE knowledge_documents SET source_key = $1 \
         WHERE id = ANY($2) AND source_key <> $1",
    )
    .bind(source)
    .bind(&kept)
    .execute(&mut *tx)
    .await
    .map_err(backend)?;
    let removed =
        sqlx::query("DELETE FROM knowledge_documents WHERE source_key = $1 AND id <> ALL($2)")
            .bind(source)
            .bind(ids)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
    report.removed = removed.rows_affected() as usize;
    Ok(report)
}

async fn insert_documents(
    tx: &mut PgConnection,
    source: &str,
    prepared: &[Prepared],
) -> Result<(), KnowledgeError> {
    if prepared.is_empty() {
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = prepared
        .iter()
        .map(|p| {
            let d = &p.document;
            let (restricted, readers) = match &d.acl {
                Acl::Org => (false, Vec::new()),
                Acl::Restricted { users, groups } => (true, readers(users, groups)),
            };
            serde_json::json!({
                "id": d.id, "source": d.source, "title": d.title, "url": d.url,
                "org_id": d.org, "acl": d.acl, "restricted": restricted,
                "readers": readers, "sets": d.sets, "fingerprint": p.fingerprint,
            })
        })
        .collect();
    sqlx::query(
        "INSERT INTO knowledge_documents (id, source_key, source, title, url, org_id, acl, \
             restricted, readers, sets, fingerprint) \
         SELECT d.id, $1, d.source, d.title, d.url, d.org_id, d.acl, d.restricted, \
             d.readers, d.sets, d.fingerprint \
         FROM jsonb_to_recordset($2) AS d(id TEXT, source TEXT, title TEXT, url TEXT, \
             org_id TEXT, acl JSONB, restricted BOOLEAN, readers TEXT[], sets TEXT[], \
             fingerprint TEXT)",
    )
    .bind(source)
    .bind(Json(rows))
    .execute(&mut *tx)
    .await
    .map_err(backend)?;
    Ok(())
}

/// The chunks, in order, with their document's access columns.
async fn insert_chunks(
    tx: &mut PgConnection,
    prepared: Vec<Prepared>,
) -> Result<(), KnowledgeError> {
    let (mut ids, mut ordinals, mut texts, mut vectors) = (vec![], vec![], vec![], vec![]);
    for p in prepared {
        for (ordinal, (text, vector)) in p.chunks.into_iter().enumerate() {
            ids.push(p.document.id.clone());
            ordinals.push(ordinal as i32);
            texts.push(text);
            vectors.push(Vector::from(vector));
        }
    }
    for start in (0..ids.len()).step_by(CHUNK_BATCH) {
        let batch = start..(start + CHUNK_BATCH).min(ids.len());
        sqlx::query(
            "INSERT INTO knowledge_chunks (document_id, ordinal, text, org_id, restricted, \
                 readers, embedding) \
             SELECT u.document_id, u.ordinal, u.text, d.org_id, d.restricted, d.readers, \
                 u.embedding \
             FROM unnest($1::text[], $2::int4[], $3::text[], $4::vector[]) \
                 WITH ORDINALITY AS u(document_id, ordinal, text, embedding, n) \
             JOIN knowledge_documents d ON d.id = u.document_id \
             ORDER BY u.n",
        )
        .bind(&ids[batch.clone()])
        .bind(&ordinals[batch.clone()])
        .bind(&texts[batch.clone()])
        .bind(&vectors[batch])
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    }
    Ok(())
}
