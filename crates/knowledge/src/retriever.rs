//! Retrieval as turns use it: hybrid search, then optional reranking.

use crate::rerank::Reranker;
use crate::{Access, Hit, KnowledgeIndex};
use std::sync::Arc;

/// Candidates fetched per result when reranking.
const RERANK_POOL: usize = 4;

#[derive(Clone)]
pub struct Retriever {
    index: Arc<KnowledgeIndex>,
    reranker: Option<Arc<Reranker>>,
}

impl Retriever {
    pub fn new(index: Arc<KnowledgeIndex>, reranker: Option<Reranker>) -> Self {
        Self {
            index,
            reranker: reranker.map(Arc::new),
        }
    }

    pub fn index(&self) -> &Arc<KnowledgeIndex> {
        &self.index
    }

    /// The best `limit` passages `access` may see.
    pub async fn retrieve(&self, query: &str, access: &Access, limit: usize) -> Vec<Hit> {
        match &self.reranker {
            None => self.index.search(query, access, limit).await,
            Some(reranker) => {
                let candidates = self.index.search(query, access, limit * RERANK_POOL).await;
                let index = self.index.clone();
                reranker
                    .rerank(query, candidates, limit, &move |term| index.idf(term))
                    .await
            }
        }
    }
}
