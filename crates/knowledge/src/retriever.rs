//! Retrieval as turns use it: hybrid search, then optional reranking.

use crate::rerank::Reranker;
use crate::text::terms;
use crate::{Access, Hit, KnowledgeBase, SearchMode};
use std::sync::Arc;

/// Candidates fetched per result when reranking.
const RERANK_POOL: usize = 4;

#[derive(Clone)]
pub struct Retriever {
    base: Arc<dyn KnowledgeBase>,
    reranker: Option<Arc<Reranker>>,
}

impl Retriever {
    pub fn new(base: Arc<dyn KnowledgeBase>, reranker: Option<Reranker>) -> Self {
        Self {
            base,
            reranker: reranker.map(Arc::new),
        }
    }

    pub fn base(&self) -> &Arc<dyn KnowledgeBase> {
        &self.base
    }

    /// The best `limit` passages `access` may see. A failing store is logged and
    /// answers nothing: a turn goes on without knowledge rather than failing.
    pub async fn retrieve(&self, query: &str, access: &Access, limit: usize) -> Vec<Hit> {
        let pool = if self.reranker.is_some() {
            limit * RERANK_POOL
        } else {
            limit
        };
        let candidates = match self
            .base
            .search_with(query, access, pool, SearchMode::Hybrid)
            .await
        {
            Ok(hits) => hits,
            Err(e) => {
                tracing::error!(error = %e, "knowledge search failed");
                return Vec::new();
            }
        };
        let Some(reranker) = &self.reranker else {
            return candidates;
        };
        let idf = self.base.idf(&terms(query)).await.unwrap_or_default();
        reranker
            .rerank(query, candidates, limit, &move |term| {
                idf.get(term).copied().unwrap_or(0.0)
            })
            .await
    }

    /// Whether there is any knowledge at all.
    pub async fn is_empty(&self) -> bool {
        self.base.is_empty().await.unwrap_or(true)
    }
}
