//! The index on its own: ranking, access filtering, re-ingestion, embedders.

use super::*;
use crate::embed::{EmbedError, HashingEmbedder};
use crate::{Acl, demo_documents};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts texts embedded; optionally fails or changes dimension.
struct Probe {
    inner: HashingEmbedder,
    embedded: AtomicUsize,
    fail: bool,
}

#[async_trait::async_trait]
impl Embedder for Probe {
    fn name(&self) -> String {
        "probe".into()
    }
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if self.fail {
            return Err(EmbedError::Unavailable("down".into()));
        }
        self.embedded.fetch_add(texts.len(), Ordering::SeqCst);
        self.inner.embed(texts).await
    }
}

fn probe(fail: bool) -> Arc<Probe> {
    Arc::new(Probe {
        inner: HashingEmbedder::default(),
        embedded: AtomicUsize::new(0),
        fail,
    })
}

async fn demo() -> KnowledgeIndex {
    let index = KnowledgeIndex::new(Arc::new(HashingEmbedder::default()));
    index.ingest_source("demo", demo_documents()).await.unwrap();
    index
}

fn anyone() -> Access {
    Access::anonymous("o")
}

#[tokio::test]
async fn every_mode_ranks_the_relevant_document_first() {
    let index = demo().await;
    for mode in [SearchMode::Hybrid, SearchMode::Lexical, SearchMode::Vector] {
        let hits = index
            .search_with("How long is the return window?", &anyone(), 3, mode)
            .await;
        assert_eq!(hits[0].document_id, "policies/returns.md", "{mode:?}");
    }
    let hits = index
        .search("what is the return policy?", &anyone(), 3)
        .await;
    assert_eq!(hits[0].title, "policies/returns.md");
    assert!(index.search("   ", &anyone(), 3).await.is_empty());
}

#[tokio::test]
async fn org_documents_lists_only_that_organisations_documents() {
    let index = demo().await;
    let owned = |id: &str, org: &str| Document {
        org: Some(org.into()),
        title: Some(format!("Title of {id}")),
        sets: vec!["faq".into()],
        ..Document::public(id, "Some content worth a chunk.")
    };
    index
        .ingest_source("b-source", vec![owned("b1", "acme"), owned("a1", "acme")])
        .await
        .unwrap();
    index
        .ingest_source("a-source", vec![owned("x", "globex")])
        .await
        .unwrap();
    let listed = index.org_documents("acme");
    let keys: Vec<(&str, &str)> = listed
        .iter()
        .map(|d| (d.source_key.as_str(), d.id.as_str()))
        .collect();
    assert_eq!(keys, [("b-source", "a1"), ("b-source", "b1")]);
    assert_eq!(listed[0].title.as_deref(), Some("Title of a1"));
    assert_eq!(listed[0].sets, ["faq"]);
    assert_eq!(listed[0].chunks, 1);
    assert_eq!(index.org_documents("globex").len(), 1);
    assert!(
        index.org_documents("reference-org").is_empty(),
        "documents of every organisation belong to none"
    );
}

#[tokio::test]
async fn unrelated_questions_find_nothing_in_hybrid_mode() {
    let index = demo().await;
    assert!(
        index
            .search("who painted the mona lisa", &anyone(), 3)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn reingesting_a_source_replaces_it_and_skips_unchanged_documents() {
    let embedder = probe(false);
    let index = KnowledgeIndex::new(embedder.clone());
    let report = index.ingest_source("demo", demo_documents()).await.unwrap();
    assert_eq!(
        (report.indexed, report.unchanged, report.removed),
        (2, 0, 0)
    );
    let first = embedder.embedded.load(Ordering::SeqCst);

    // Same documents: nothing is re-embedded.
    let report = index.ingest_source("demo", demo_documents()).await.unwrap();
    assert_eq!((report.indexed, report.unchanged), (0, 2));
    assert_eq!(embedder.embedded.load(Ordering::SeqCst), first);

    // One edited, one deleted.
    let mut returns = demo_documents().remove(0);
    returns.content = "Returns are now accepted for 30 days.".into();
    let report = index.ingest_source("demo", vec![returns]).await.unwrap();
    assert_eq!((report.indexed, report.removed), (1, 1));
    assert_eq!(index.document_count(), 1);
    let hits = index.search("return window days", &anyone(), 5).await;
    assert_eq!(hits.len(), 1);
    assert!(hits[0].text.contains("30 days"));
    assert!(index.search("shipping", &anyone(), 5).await.is_empty());

    assert_eq!(index.remove_source("demo").await, 1);
    assert_eq!(index.document_count(), 0);
    assert!(index.sources().is_empty());
}

#[tokio::test]
async fn restricted_and_foreign_documents_never_come_back() {
    let index = demo().await;
    let mut secret = Document::public("hr/bonus.md", "The return bonus is secret.");
    secret.acl = Acl::Restricted {
        users: vec![],
        groups: vec!["hr".into()],
    };
    let mut foreign = Document::public("acme/returns.md", "Acme return window is 90 days.");
    foreign.org = Some("acme".into());
    index
        .ingest_source("private", vec![secret, foreign])
        .await
        .unwrap();
    for mode in [SearchMode::Hybrid, SearchMode::Lexical, SearchMode::Vector] {
        let hits = index
            .search_with("return bonus window", &anyone(), 10, mode)
            .await;
        assert!(
            hits.iter().all(|h| h.document_id.starts_with("policies/")),
            "{mode:?}: {hits:?}"
        );
    }
    let hr = Access {
        groups: vec!["hr".into()],
        ..anyone()
    };
    let hits = index.search("return bonus", &hr, 10).await;
    assert_eq!(hits[0].document_id, "hr/bonus.md");
}

#[tokio::test]
async fn a_failing_query_embedder_falls_back_to_terms() {
    let index = demo().await;
    let failing = KnowledgeIndex::new(probe(true));
    assert!(
        failing
            .ingest_source("demo", demo_documents())
            .await
            .is_err()
    );
    assert_eq!(
        failing.document_count(),
        0,
        "a failed ingestion changes nothing"
    );
    // A working index whose embedder then fails at query time still answers.
    let hits = index
        .search_with("return window", &anyone(), 3, SearchMode::Lexical)
        .await;
    assert_eq!(hits[0].document_id, "policies/returns.md");
}

#[tokio::test]
async fn vectors_of_another_embedder_are_refused() {
    let index = demo().await;
    let mut inner = index.write();
    let other = Prepared {
        document: Document::public("x", "y"),
        fingerprint: String::new(),
        chunks: vec![("y".into(), vec![0.5; 12])],
    };
    let err = inner.accept("hashing-v1".into(), &[other]).unwrap_err();
    assert!(
        matches!(err, KnowledgeError::EmbedderMismatch { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("384"));
}

#[test]
fn a_strong_match_in_one_arm_beats_weak_agreement() {
    // Slot 1 is the best term match and absent from the vector arm; slot 2 is
    // middling in both. Rank fusion would prefer 2; score fusion keeps 1.
    let lexical = [(1, 9.0), (3, 4.0), (2, 3.0)];
    let vector = [(4, 0.6), (2, 0.3)];
    let fused = fuse_scores(&lexical, &vector, 0.2);
    assert_eq!(fused[0].0, 1);
    assert!((fused[0].1 - 0.8).abs() < 1e-6);
    // With only similarity weighted, the vector arm decides.
    assert_eq!(fuse_scores(&lexical, &vector, 1.0)[0].0, 4);
}

#[tokio::test]
async fn compaction_keeps_the_index_correct() {
    let index = KnowledgeIndex::new(Arc::new(HashingEmbedder::new(16)));
    let docs = |round: usize| {
        (0..1200)
            .map(|i| {
                Document::public(
                    format!("doc-{i}"),
                    format!("item {i} revision {round} widget"),
                )
            })
            .collect::<Vec<_>>()
    };
    index.ingest_source("bulk", docs(0)).await.unwrap();
    index.ingest_source("bulk", docs(1)).await.unwrap();
    index.ingest_source("bulk", docs(2)).await.unwrap();
    assert_eq!(index.chunk_count(), 1200);
    assert!(
        index.read().chunks.len() < 3600,
        "tombstones were compacted away"
    );
    let hits = index
        .search_with("item 77 revision", &anyone(), 1, SearchMode::Lexical)
        .await;
    assert_eq!(hits[0].document_id, "doc-77");
    assert!(hits[0].text.contains("revision 2"));
}

#[tokio::test]
async fn chinese_and_japanese_documents_are_found_by_queries_in_their_language() {
    let index = KnowledgeIndex::new(Arc::new(HashingEmbedder::default()));
    let mut documents = demo_documents();
    documents.extend([
        Document::public("zh-returns", "退货政策：商品在收货后三十天内可以退货。"),
        Document::public("zh-shipping", "配送时间：订单通常在五个工作日内送达。"),
        Document::public(
            "ja-returns",
            "返品について：商品到着後三十日以内であれば返品できます。",
        ),
    ]);
    index.ingest_source("docs", documents).await.unwrap();
    for (query, expected) in [
        ("退货期限是多久？", "zh-returns"),
        ("订单多久送达", "zh-shipping"),
        ("返品できますか", "ja-returns"),
    ] {
        let hits = index
            .search_with(query, &anyone(), 3, SearchMode::Lexical)
            .await;
        assert_eq!(
            hits.first().map(|h| h.document_id.as_str()),
            Some(expected),
            "{query}: {hits:?}"
        );
    }
}
