//! The checks every knowledge base passes, written once against
//! `Arc<dyn KnowledgeBase>` and run by each backend's tests through
//! [`knowledge_suite!`](crate::knowledge_suite): the in-memory index and PostgreSQL
//! (`crates/store-postgres/tests/knowledge`), SQLite (`crates/store-sqlite/tests`).
//! Compiled with the `test-suite` feature only.

use crate::embed::{EmbedError, EmbedderSignature};
use crate::{
    Access, Acl, Document, Embedder, HashingEmbedder, KnowledgeBase, SearchMode, demo_documents,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Every retrieval mode.
pub const MODES: [SearchMode; 3] = [SearchMode::Hybrid, SearchMode::Lexical, SearchMode::Vector];

/// Runs each check against one knowledge base: a `#[tokio::test]` per check in a
/// module `$backend`. `$make` builds the base (it may `.await`), with `$embedder`
/// (an `Arc<Counting>` of 384 dimensions) in scope.
#[macro_export]
macro_rules! knowledge_suite {
    ($backend:ident, |$embedder:ident| $make:expr) => {
        mod $backend {
            #[allow(unused_imports)]
            use super::*;
            $crate::knowledge_suite!(
                @checks $embedder, $make;
                every_mode_ranks_the_relevant_document_first,
                reingesting_a_source_replaces_it_and_skips_unchanged_documents,
                restricted_and_foreign_documents_never_come_back,
                sources_are_counted_and_removed,
                idf_counts_the_chunks_holding_a_term,
                any_text_survives_as_written,
                nul_characters_are_dropped_the_same_everywhere,
            );
        }
    };
    (@checks $embedder:ident, $make:expr; $($check:ident),* $(,)?) => {
        $(#[tokio::test]
        async fn $check() {
            let $embedder = $crate::suite::Counting::new(384);
            let base: std::sync::Arc<dyn $crate::KnowledgeBase> = $make;
            $crate::suite::$check(base, $embedder).await;
        })*
    };
}

// Embedders -------------------------------------------------------------------

/// The hashing embedder (with its floor and fusion weight), counting texts.
pub struct Counting {
    inner: HashingEmbedder,
    texts: AtomicUsize,
}

impl Counting {
    pub fn new(dimension: usize) -> Arc<Self> {
        Arc::new(Self {
            inner: HashingEmbedder::new(dimension),
            texts: AtomicUsize::new(0),
        })
    }

    /// How many texts it embedded.
    pub fn texts(&self) -> usize {
        self.texts.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl Embedder for Counting {
    fn name(&self) -> String {
        self.inner.name()
    }
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.texts.fetch_add(texts.len(), Ordering::SeqCst);
        self.inner.embed(texts).await
    }
    fn relevance_floor(&self) -> f32 {
        self.inner.relevance_floor()
    }
    fn fusion_weight(&self) -> f32 {
        self.inner.fusion_weight()
    }
}

/// An anonymous asker of organisation `o`.
pub fn anyone() -> Access {
    Access::anonymous("o")
}

/// The ids of the best 10 hits.
pub async fn search(
    base: &dyn KnowledgeBase,
    query: &str,
    access: &Access,
    mode: SearchMode,
) -> Vec<String> {
    let hits = base.search_with(query, access, 10, mode).await.unwrap();
    hits.into_iter().map(|h| h.document_id).collect()
}

// The checks --------------------------------------------------------------------

pub async fn every_mode_ranks_the_relevant_document_first(
    base: Arc<dyn KnowledgeBase>,
    _: Arc<Counting>,
) {
    base.ingest_source("demo", demo_documents()).await.unwrap();
    for mode in MODES {
        let hits = base
            .search_with("How long is the return window?", &anyone(), 3, mode)
            .await
            .unwrap();
        assert_eq!(hits[0].document_id, "policies/returns.md", "{mode:?}");
    }
    let hits = base
        .search_with(
            "what is the return policy?",
            &anyone(),
            3,
            SearchMode::Hybrid,
        )
        .await
        .unwrap();
    assert_eq!(hits[0].title, "policies/returns.md");
    assert!(hits[0].text.contains("17 days"), "{hits:?}");
    assert!(
        search(&*base, "   ", &anyone(), SearchMode::Hybrid)
            .await
            .is_empty()
    );
    let unrelated = search(
        &*base,
        "who painted the mona lisa",
        &anyone(),
        SearchMode::Hybrid,
    )
    .await;
    assert_eq!(unrelated, Vec::<String>::new());
}

pub async fn reingesting_a_source_replaces_it_and_skips_unchanged_documents(
    base: Arc<dyn KnowledgeBase>,
    embedder: Arc<Counting>,
) {
    let report = base.ingest_source("demo", demo_documents()).await.unwrap();
    assert_eq!(
        (
            report.indexed,
            report.unchanged,
            report.removed,
            report.chunks
        ),
        (2, 0, 0, 2)
    );
    let first = embedder.texts();

    // The same documents: nothing is embedded again.
    let report = base.ingest_source("demo", demo_documents()).await.unwrap();
    assert_eq!(
        (report.indexed, report.unchanged, report.removed),
        (0, 2, 0)
    );
    assert_eq!(
        embedder.texts(),
        first,
        "unchanged documents were re-embedded"
    );

    // One edited, one deleted: only the edited one is embedded.
    let mut returns = demo_documents().remove(0);
    returns.content = "Returns are now accepted for 30 days.".into();
    let report = base.ingest_source("demo", vec![returns]).await.unwrap();
    assert_eq!(
        (report.indexed, report.unchanged, report.removed),
        (1, 0, 1)
    );
    assert_eq!(embedder.texts(), first + 1);
    assert_eq!(base.document_count().await.unwrap(), 1);
    let hits = base
        .search_with("return window days", &anyone(), 5, SearchMode::Hybrid)
        .await
        .unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert!(hits[0].text.contains("30 days"), "{hits:?}");
    // Vector search has no floor: it ranks whatever is left.
    for mode in [SearchMode::Hybrid, SearchMode::Lexical] {
        let ids = search(&*base, "shipping", &anyone(), mode).await;
        assert_eq!(ids, Vec::<String>::new(), "{mode:?}");
    }

    assert_eq!(base.remove_source("demo").await.unwrap(), 1);
    assert_eq!(base.document_count().await.unwrap(), 0);
    assert!(base.sources().await.unwrap().is_empty());
}

pub async fn restricted_and_foreign_documents_never_come_back(
    base: Arc<dyn KnowledgeBase>,
    _: Arc<Counting>,
) {
    base.ingest_source("demo", demo_documents()).await.unwrap();
    let mut secret = Document::public("hr/bonus.md", "The return bonus is secret.");
    secret.acl = Acl::Restricted {
        users: vec!["ann".into()],
        groups: vec!["hr".into()],
    };
    let mut foreign = Document::public("acme/returns.md", "Acme return window is 90 days.");
    foreign.org = Some("acme".into());
    base.ingest_source("private", vec![secret, foreign])
        .await
        .unwrap();

    // A user named like the group is not in it.
    let hr_named_user = Access {
        user_id: Some("hr".into()),
        ..anyone()
    };
    for asker in [anyone(), hr_named_user] {
        for mode in MODES {
            let ids = search(&*base, "return bonus window secret acme", &asker, mode).await;
            assert!(
                ids.iter().all(|id| id.starts_with("policies/")),
                "{mode:?} {asker:?}: {ids:?}"
            );
        }
    }
    let hr = Access {
        groups: vec!["staff".into(), "hr".into()],
        ..anyone()
    };
    let ann = Access {
        user_id: Some("ann".into()),
        ..anyone()
    };
    for asker in [hr, ann] {
        for mode in MODES {
            let ids = search(&*base, "return bonus secret", &asker, mode).await;
            assert_eq!(
                ids.first().map(String::as_str),
                Some("hr/bonus.md"),
                "{mode:?} {asker:?}"
            );
            assert!(!ids.contains(&"acme/returns.md".to_owned()), "{mode:?}");
        }
    }
    // Acme's own asker sees Acme's document besides the shared ones.
    let acme = Access::anonymous("acme");
    for mode in MODES {
        let ids = search(&*base, "acme return window", &acme, mode).await;
        assert!(
            ids.contains(&"acme/returns.md".to_owned()),
            "{mode:?}: {ids:?}"
        );
        assert!(
            !ids.contains(&"hr/bonus.md".to_owned()),
            "{mode:?}: {ids:?}"
        );
    }
}

pub async fn sources_are_counted_and_removed(base: Arc<dyn KnowledgeBase>, _: Arc<Counting>) {
    assert_eq!(base.document_count().await.unwrap(), 0);
    assert!(base.is_empty().await.unwrap());
    assert_eq!(base.signature().await.unwrap(), None);
    let docs = |prefix: &str, n: usize| {
        (0..n)
            .map(|i| Document::public(format!("{prefix}/{i}.md"), format!("{prefix} page {i}")))
            .collect::<Vec<_>>()
    };
    base.ingest_source("wiki", docs("wiki", 3)).await.unwrap();
    base.ingest_source("Handbook", docs("handbook", 2))
        .await
        .unwrap();
    base.ingest_source("empty", Vec::new()).await.unwrap();
    assert_eq!(
        base.sources().await.unwrap(),
        [("Handbook".to_owned(), 2), ("wiki".to_owned(), 3)]
    );
    assert_eq!(base.document_count().await.unwrap(), 5);
    assert!(!base.is_empty().await.unwrap());
    assert_eq!(
        base.signature().await.unwrap(),
        Some(EmbedderSignature {
            name: "hashing-v1".into(),
            dimension: 384
        })
    );
    assert_eq!(base.remove_source("wiki").await.unwrap(), 3);
    assert_eq!(base.remove_source("wiki").await.unwrap(), 0);
    assert_eq!(base.sources().await.unwrap(), [("Handbook".to_owned(), 2)]);
    assert_eq!(base.document_count().await.unwrap(), 2);
    assert_eq!(base.remove_source("Handbook").await.unwrap(), 2);
    assert!(base.is_empty().await.unwrap());
}

pub async fn idf_counts_the_chunks_holding_a_term(base: Arc<dyn KnowledgeBase>, _: Arc<Counting>) {
    base.ingest_source("demo", demo_documents()).await.unwrap();
    let terms: Vec<String> = ["return", "shipping", "day", "zebra"]
        .map(String::from)
        .into();
    let idf = base.idf(&terms).await.unwrap();
    // Two chunks: a term in one has ln(1.5 / 1.5 + 1), in both ln(0.5 / 2.5 + 1).
    let expected = [
        ("return", 2f32.ln()),
        ("shipping", 2f32.ln()),
        ("day", 1.2f32.ln()),
    ];
    for (term, value) in expected {
        assert!((idf[term] - value).abs() < 1e-4, "{term}: {idf:?}");
    }
    assert_eq!(idf["zebra"], 0.0);
}

pub async fn any_text_survives_as_written(base: Arc<dyn KnowledgeBase>, _: Arc<Counting>) {
    let mut odd = Document::public(
        "o'brien \"quoted\" \\ ; DROP TABLE knowledge_chunks; --",
        "Zanzibar ferries leave at dawn.",
    );
    odd.source = "weird/s'ource $1 %s".into();
    odd.title = Some("Ferries – ünïcödé 🚢 'title'".into());
    odd.url = Some("https://example.com/?a=1&b='2'".into());
    let source = "it's a source; --";
    base.ingest_source(source, vec![odd.clone()]).await.unwrap();
    assert_eq!(base.sources().await.unwrap(), [(source.to_owned(), 1)]);
    for mode in MODES {
        let hits = base
            .search_with(
                "zanzibar ferries & | ! ( ) : * ' \\ <->",
                &anyone(),
                3,
                mode,
            )
            .await
            .unwrap();
        assert_eq!(hits.len(), 1, "{mode:?}");
        let hit = &hits[0];
        assert_eq!(
            (
                &hit.document_id,
                &hit.source,
                Some(&hit.title),
                &hit.url,
                hit.text.as_str()
            ),
            (
                &odd.id,
                &odd.source,
                odd.title.as_ref(),
                &odd.url,
                odd.content.as_str()
            ),
            "{mode:?}"
        );
    }
}

pub async fn nul_characters_are_dropped_the_same_everywhere(
    base: Arc<dyn KnowledgeBase>,
    _: Arc<Counting>,
) {
    let mut odd = Document::public("nul\0.md", "Zanzi\0bar ferries leave at dawn.");
    odd.title = Some("Fer\0ries".into());
    base.ingest_source("nul\0source", vec![odd]).await.unwrap();
    let hits = base
        .search_with("zanzibar\0 ferries", &anyone(), 3, SearchMode::Hybrid)
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(
        (
            hits[0].document_id.as_str(),
            hits[0].title.as_str(),
            hits[0].text.as_str()
        ),
        ("nul.md", "Ferries", "Zanzibar ferries leave at dawn.")
    );
    assert_eq!(base.sources().await.unwrap(), [("nulsource".to_owned(), 1)]);
    assert_eq!(base.remove_source("nul\0source").await.unwrap(), 1);
}
