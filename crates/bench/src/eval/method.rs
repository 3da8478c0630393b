//! The retrieval methods compared: each arm alone, the production hybrid, and the
//! hybrid followed by the lexical reranker as `SMOOTH_AGENT_RERANK=lexical` runs it.

use super::metrics::K;
use switchboard_knowledge::{Access, Retriever, SearchMode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Lexical,
    Vector,
    Hybrid,
    HybridReranked,
}

impl Method {
    pub const ALL: [Method; 4] = [
        Method::Lexical,
        Method::Vector,
        Method::Hybrid,
        Method::HybridReranked,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Method::Lexical => "BM25 only",
            Method::Vector => "vectors only",
            Method::Hybrid => "hybrid (score fusion)",
            Method::HybridReranked => "hybrid + lexical rerank",
        }
    }

    /// The document ids of the top `K` hits for `query`, best first. `retriever`
    /// must hold the lexical reranker.
    pub async fn ranked(self, retriever: &Retriever, query: &str) -> Vec<String> {
        let access = Access::anonymous("eval");
        let index = retriever.base();
        let hits = match self {
            Method::Lexical => index
                .search_with(query, &access, K, SearchMode::Lexical)
                .await
                .unwrap_or_default(),
            Method::Vector => index
                .search_with(query, &access, K, SearchMode::Vector)
                .await
                .unwrap_or_default(),
            Method::Hybrid => index
                .search_with(query, &access, K, SearchMode::Hybrid)
                .await
                .unwrap_or_default(),
            Method::HybridReranked => retriever.retrieve(query, &access, K).await,
        };
        hits.into_iter().map(|hit| hit.document_id).collect()
    }
}
