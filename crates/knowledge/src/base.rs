//! The knowledge seam: where chunks and vectors live. The in-memory index and the
//! PostgreSQL store implement it; retrieval, reranking and turns only see this.

use crate::embed::EmbedderSignature;
use crate::{
    Access, Document, DocumentInfo, Hit, IngestReport, KnowledgeError, KnowledgeIndex, SearchMode,
};
use async_trait::async_trait;
use std::collections::HashMap;

#[async_trait]
pub trait KnowledgeBase: Send + Sync + 'static {
    /// Replaces everything `source` held with `documents`.
    async fn ingest_source(
        &self,
        source: &str,
        documents: Vec<Document>,
    ) -> Result<IngestReport, KnowledgeError>;

    /// Removes a source and its documents; returns how many documents went.
    async fn remove_source(&self, source: &str) -> Result<usize, KnowledgeError>;

    /// The best `limit` chunks for `query` among those `access` may see.
    async fn search_with(
        &self,
        query: &str,
        access: &Access,
        limit: usize,
        mode: SearchMode,
    ) -> Result<Vec<Hit>, KnowledgeError>;

    async fn document_count(&self) -> Result<usize, KnowledgeError>;

    /// Whether there are no documents at all. Asked on every turn: stores where
    /// counting costs a scan answer it without counting.
    async fn is_empty(&self) -> Result<bool, KnowledgeError> {
        Ok(self.document_count().await? == 0)
    }

    /// Source keys and how many documents each holds, sorted by key.
    async fn sources(&self) -> Result<Vec<(String, usize)>, KnowledgeError>;

    /// The documents that belong to `org` (ingested with `org == Some(org)`;
    /// documents of every organisation are left out), without their text, sorted by
    /// source key, then id. For administration, not for retrieval: no access list
    /// applies.
    async fn org_documents(&self, org: &str) -> Result<Vec<DocumentInfo>, KnowledgeError>;

    /// The embedder that built the stored vectors, once there are any.
    async fn signature(&self) -> Result<Option<EmbedderSignature>, KnowledgeError>;

    /// How rare each term is among the stored chunks (BM25's IDF), for reranking.
    async fn idf(&self, terms: &[String]) -> Result<HashMap<String, f32>, KnowledgeError>;
}

#[async_trait]
impl KnowledgeBase for KnowledgeIndex {
    async fn ingest_source(
        &self,
        source: &str,
        documents: Vec<Document>,
    ) -> Result<IngestReport, KnowledgeError> {
        KnowledgeIndex::ingest_source(self, source, documents).await
    }

    async fn remove_source(&self, source: &str) -> Result<usize, KnowledgeError> {
        Ok(KnowledgeIndex::remove_source(self, source).await)
    }

    async fn search_with(
        &self,
        query: &str,
        access: &Access,
        limit: usize,
        mode: SearchMode,
    ) -> Result<Vec<Hit>, KnowledgeError> {
        Ok(KnowledgeIndex::search_with(self, query, access, limit, mode).await)
    }

    async fn document_count(&self) -> Result<usize, KnowledgeError> {
        Ok(KnowledgeIndex::document_count(self))
    }

    async fn sources(&self) -> Result<Vec<(String, usize)>, KnowledgeError> {
        Ok(KnowledgeIndex::sources(self))
    }

    async fn org_documents(&self, org: &str) -> Result<Vec<DocumentInfo>, KnowledgeError> {
        Ok(KnowledgeIndex::org_documents(self, org))
    }

    async fn signature(&self) -> Result<Option<EmbedderSignature>, KnowledgeError> {
        Ok(KnowledgeIndex::signature(self))
    }

    async fn idf(&self, terms: &[String]) -> Result<HashMap<String, f32>, KnowledgeError> {
        Ok(terms
            .iter()
            .map(|t| (t.clone(), KnowledgeIndex::idf(self, t)))
            .collect())
    }
}
