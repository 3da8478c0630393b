//! What every knowledge base does (`switchboard_knowledge::suite`), run against the
//! in-memory index and PostgreSQL with either fusion.

use switchboard_knowledge::knowledge_suite;

knowledge_suite!(memory, |embedder| {
    std::sync::Arc::new(crate::KnowledgeIndex::new(embedder.clone()))
});

knowledge_suite!(postgres_score_fusion, |embedder| {
    let pool = crate::fresh_pool("").await;
    crate::postgres(pool, embedder.clone(), crate::Fusion::Score).await
});

knowledge_suite!(postgres_rank_fusion, |embedder| {
    let pool = crate::fresh_pool("").await;
    let fusion = crate::Fusion::ReciprocalRank;
    crate::postgres(pool, embedder.clone(), fusion).await
});
