//! Loading the in-memory mirror from the table.

use super::*;
use crate::item::{Item, Read};
use aws_sdk_dynamodb::types::AttributeValue;
use switchboard_knowledge::ingest::Prepared;

/// A chunk as read: its place in the document, text and vector.
type StoredChunk = (u64, String, Vec<f32>);

impl DynamoKnowledge {
    /// Reloads the sources that changed since the mirror last looked, unless it
    /// looked within `freshness`.
    pub(super) async fn sync(&self) -> Result<(), KnowledgeError> {
        let mut synced = self.synced.lock().await;
        if synced
            .checked_at
            .is_some_and(|at| at.elapsed() < self.freshness)
        {
            return Ok(());
        }
        let generation = match self
            .store
            .get(KNOW.into(), GENERATION)
            .await
            .map_err(failed)?
        {
            Some(item) => item.number("gen").map_err(failed)?,
            None => 0,
        };
        if synced.generation != Some(generation) {
            let entries = crate::pages::query_prefix(&self.store, KNOW.into(), "SRC#")
                .await
                .map_err(failed)?;
            let mut current = HashMap::new();
            for entry in &entries {
                let source = entry.string("source").map_err(failed)?;
                let revision = entry.string("rev").map_err(failed)?;
                current.insert(source.to_owned(), revision.to_owned());
            }
            let gone: Vec<String> = synced
                .revisions
                .keys()
                .filter(|s| !current.contains_key(*s))
                .cloned()
                .collect();
            for source in gone {
                self.mirror.remove_source(&source).await;
                synced.revisions.remove(&source);
            }
            for (source, revision) in current {
                if synced.revisions.get(&source) == Some(&revision) {
                    continue;
                }
                let documents = self.read_source(&source).await?;
                self.mirror.load_source(&source, documents).await?;
                synced.revisions.insert(source, revision);
            }
            synced.generation = Some(generation);
        }
        synced.checked_at = Some(Instant::now());
        Ok(())
    }

    /// A source's documents with their chunks and vectors, as stored. Chunks of
    /// versions no document points at (an ingestion that died midway) are skipped.
    pub(super) async fn read_source(&self, source: &str) -> Result<Vec<Prepared>, KnowledgeError> {
        let items = crate::pages::query_prefix(&self.store, source_partition(source), "")
            .await
            .map_err(failed)?;
        let mut chunks: HashMap<&str, Vec<StoredChunk>> = HashMap::new();
        let mut documents = Vec::new();
        for item in &items {
            let sk = item.string("sk").map_err(failed)?;
            if sk.starts_with("CHUNK#") {
                let version = item.string("ver").map_err(failed)?;
                chunks.entry(version).or_default().push((
                    item.number("n").map_err(failed)?,
                    item.string("text").map_err(failed)?.to_owned(),
                    vector(item)?,
                ));
            } else if sk.starts_with("DOC#") {
                documents.push(item);
            }
        }
        documents
            .into_iter()
            .map(|item| {
                let document: Document = item.body().map_err(failed)?;
                let fingerprint = item.string("fp").map_err(failed)?.to_owned();
                let mut own = chunks
                    .remove(item.string("ver").map_err(failed)?)
                    .unwrap_or_default();
                own.sort_by_key(|(n, _, _)| *n);
                Ok(Prepared {
                    document,
                    fingerprint,
                    chunks: own.into_iter().map(|(_, text, v)| (text, v)).collect(),
                })
            })
            .collect()
    }

    /// The embedder whose vectors the table holds, once it holds any.
    pub(super) async fn stored_signature(
        &self,
    ) -> Result<Option<EmbedderSignature>, KnowledgeError> {
        self.store
            .get(KNOW.into(), SIGNATURE)
            .await
            .map_err(failed)?
            .map(|item| item.body().map_err(failed))
            .transpose()
    }
}

/// A vector stored as little-endian `f32`s.
pub(super) fn encode(vector: &[f32]) -> AttributeValue {
    let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
    AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(bytes))
}

fn vector(item: &Item) -> Result<Vec<f32>, KnowledgeError> {
    match item.get("vec") {
        Some(AttributeValue::B(blob)) => Ok(blob
            .as_ref()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()),
        _ => Err(KnowledgeError::Backend("a chunk without its vector".into())),
    }
}
