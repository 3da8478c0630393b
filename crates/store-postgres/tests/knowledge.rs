//! The knowledge base on a real PostgreSQL server with pgvector (127.0.0.1:5432).
//!
//! The behaviour every knowledge base shares is checked once, by functions taking
//! `Arc<dyn KnowledgeBase>`, and run against the in-memory index and PostgreSQL
//! with either fusion. Then what only the database has: the embedder recorded in the
//! schema, replicas ingesting together, and filtered vector search on the index.

#[allow(dead_code)] // The store tests' helpers; this binary uses a few.
mod common;

use common::{SERVER, TestDatabase, pool_options};
use sqlx::{Connection, PgConnection, PgPool};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use switchboard_knowledge::embed::{EmbedError, EmbedderSignature};
use switchboard_knowledge::{
    Access, Acl, Document, Embedder, HashingEmbedder, KnowledgeBase, KnowledgeError,
    KnowledgeIndex, SearchMode, demo_documents,
};
use switchboard_store_postgres::{Fusion, KnowledgeOptions, PostgresKnowledge, PostgresStore};

const MODES: [SearchMode; 3] = [SearchMode::Hybrid, SearchMode::Lexical, SearchMode::Vector];

// The database ----------------------------------------------------------------

/// This process's database, with pgvector in `public`, created on first use and
/// dropped at exit. Each test works in a schema of its own inside it.
async fn database() -> &'static str {
    static NAME: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    NAME.get_or_init(|| async {
        let database = TestDatabase::create().await;
        let mut connection = PgConnection::connect(&database.url()).await.unwrap();
        if let Err(error) = sqlx::query("CREATE EXTENSION IF NOT EXISTS vector SCHEMA public")
            .execute(&mut connection)
            .await
        {
            panic!(
                "pgvector is not available on the PostgreSQL server at {SERVER} ({error}). \
                 These tests need it: run ./scripts/ensure-postgres, which builds and \
                 installs it."
            );
        }
        let _ = connection.close().await;
        unsafe extern "C" {
            fn atexit(callback: extern "C" fn()) -> std::ffi::c_int;
        }
        extern "C" fn drop_database() {
            if let Some(name) = NAME.get() {
                drop(TestDatabase { name: name.clone() });
            }
        }
        // SAFETY: registers a function without arguments with the C runtime, which
        // calls it once when the test harness exits.
        unsafe { atexit(drop_database) };
        std::mem::ManuallyDrop::new(database).name.clone()
    })
    .await
}

/// A migrated, empty schema of this process's database; `options` are more URL
/// parameters (`&options[name]=value`) for its connections.
async fn fresh_pool(options: &str) -> PgPool {
    let database = database().await;
    let schema = format!("kb_{}", uuid::Uuid::new_v4().simple());
    let mut connection = PgConnection::connect(&format!("{SERVER}/{database}"))
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
        .execute(&mut connection)
        .await
        .unwrap();
    let _ = connection.close().await;
    let url = format!("{SERVER}/{database}?options[search_path]={schema},public{options}");
    let store = PostgresStore::connect(&url, pool_options())
        .await
        .expect("connect and migrate");
    store.pool().clone()
}

async fn postgres(
    pool: PgPool,
    embedder: Arc<dyn Embedder>,
    fusion: Fusion,
) -> Arc<PostgresKnowledge> {
    let options = KnowledgeOptions {
        fusion,
        ..KnowledgeOptions::default()
    };
    let knowledge = PostgresKnowledge::connect(pool, embedder, options).await;
    Arc::new(knowledge.expect("knowledge on a migrated schema"))
}

// Embedders -------------------------------------------------------------------

/// The hashing embedder (with its floor and fusion weight), counting texts.
struct Counting {
    inner: HashingEmbedder,
    texts: AtomicUsize,
}

impl Counting {
    fn new(dimension: usize) -> Arc<Self> {
        Arc::new(Self {
            inner: HashingEmbedder::new(dimension),
            texts: AtomicUsize::new(0),
        })
    }

    fn texts(&self) -> usize {
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

// The shared behaviour ----------------------------------------------------------

/// Runs each check against every knowledge base: a test per check and backend.
macro_rules! shared_checks {
    ($($check:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test]
            async fn $check() {
                let embedder = super::Counting::new(384);
                let index = super::KnowledgeIndex::new(embedder.clone());
                super::$check(std::sync::Arc::new(index), embedder).await;
            })*
        }
        mod postgres_score_fusion {
            $(#[tokio::test]
            async fn $check() {
                let embedder = super::Counting::new(384);
                let pool = super::fresh_pool("").await;
                let base = super::postgres(pool, embedder.clone(), super::Fusion::Score).await;
                super::$check(base, embedder).await;
            })*
        }
        mod postgres_rank_fusion {
            $(#[tokio::test]
            async fn $check() {
                let embedder = super::Counting::new(384);
                let pool = super::fresh_pool("").await;
                let fusion = super::Fusion::ReciprocalRank;
                super::$check(super::postgres(pool, embedder.clone(), fusion).await, embedder)
                    .await;
            })*
        }
    };
}

shared_checks!(
    every_mode_ranks_the_relevant_document_first,
    reingesting_a_source_replaces_it_and_skips_unchanged_documents,
    restricted_and_foreign_documents_never_come_back,
    sources_are_counted_and_removed,
    idf_counts_the_chunks_holding_a_term,
    any_text_survives_as_written,
    nul_characters_are_dropped_the_same_everywhere,
);

fn anyone() -> Access {
    Access::anonymous("o")
}

async fn search(
    base: &dyn KnowledgeBase,
    query: &str,
    access: &Access,
    mode: SearchMode,
) -> Vec<String> {
    let hits = base.search_with(query, access, 10, mode).await.unwrap();
    hits.into_iter().map(|h| h.document_id).collect()
}

async fn every_mode_ranks_the_relevant_document_first(
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

async fn reingesting_a_source_replaces_it_and_skips_unchanged_documents(
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

async fn restricted_and_foreign_documents_never_come_back(
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

async fn sources_are_counted_and_removed(base: Arc<dyn KnowledgeBase>, _: Arc<Counting>) {
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

async fn idf_counts_the_chunks_holding_a_term(base: Arc<dyn KnowledgeBase>, _: Arc<Counting>) {
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

async fn any_text_survives_as_written(base: Arc<dyn KnowledgeBase>, _: Arc<Counting>) {
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

async fn nul_characters_are_dropped_the_same_everywhere(
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

// Only in PostgreSQL -------------------------------------------------------------

#[tokio::test]
async fn vector_scores_match_the_memory_index() {
    let mut documents = demo_documents();
    documents.push(Document::public(
        "faq.md",
        "# Returns\n\nRefunds reach your card in 5 days.",
    ));
    let memory = KnowledgeIndex::new(Arc::new(HashingEmbedder::default()));
    memory
        .ingest_source("docs", documents.clone())
        .await
        .unwrap();
    let pool = fresh_pool("").await;
    let embedder = Arc::new(HashingEmbedder::default());
    let postgres = postgres(pool, embedder, Fusion::Score).await;
    postgres.ingest_source("docs", documents).await.unwrap();
    for query in ["return window", "how fast is shipping", "refund to my card"] {
        let expected = memory
            .search_with(query, &anyone(), 5, SearchMode::Vector)
            .await;
        let found = postgres
            .search_with(query, &anyone(), 5, SearchMode::Vector)
            .await
            .unwrap();
        assert_eq!(found.len(), expected.len(), "{query}");
        for (found, expected) in found.iter().zip(&expected) {
            assert_eq!(found.document_id, expected.document_id, "{query}");
            assert_eq!(found.text, expected.text, "{query}");
            assert!(
                (found.score - expected.score).abs() < 1e-5,
                "{query}: {found:?} {expected:?}"
            );
        }
    }
}

#[tokio::test]
async fn another_embedder_is_refused_for_ingestion_and_search() {
    let pool = fresh_pool("").await;
    let first = postgres(pool.clone(), Counting::new(384), Fusion::Score).await;
    first.ingest_source("demo", demo_documents()).await.unwrap();

    let smaller = postgres(pool.clone(), Counting::new(16), Fusion::Score).await;
    let new_document = vec![Document::public("new.md", "Gift cards never expire.")];
    let refusals = [
        // Unchanged documents need no embedding, yet the embedder is checked.
        smaller.ingest_source("demo", demo_documents()).await.err(),
        smaller
            .ingest_source("new", new_document.clone())
            .await
            .err(),
        smaller
            .search_with("return window", &anyone(), 3, SearchMode::Hybrid)
            .await
            .err(),
        smaller
            .search_with("return window", &anyone(), 3, SearchMode::Vector)
            .await
            .err(),
    ];
    for refusal in refusals {
        let Some(error @ KnowledgeError::EmbedderMismatch { .. }) = refusal else {
            panic!("expected a refusal, got {refusal:?}");
        };
        let message = error.to_string();
        assert!(message.contains("hashing-v1 (384 dimensions)"), "{message}");
        assert!(message.contains("hashing-v1 (16 dimensions)"), "{message}");
    }

    // Same dimension, another model: refused too.
    let renamed = postgres(pool.clone(), Arc::new(Renamed), Fusion::Score).await;
    let refused = renamed.ingest_source("new", new_document).await;
    assert!(
        matches!(refused, Err(KnowledgeError::EmbedderMismatch { .. })),
        "{refused:?}"
    );
    let refused = renamed
        .search_with("return window", &anyone(), 3, SearchMode::Hybrid)
        .await;
    assert!(
        matches!(refused, Err(KnowledgeError::EmbedderMismatch { .. })),
        "{refused:?}"
    );

    // Nothing of theirs was stored; the first embedder's vectors still serve.
    assert_eq!(first.sources().await.unwrap(), [("demo".to_owned(), 2)]);
    let ids = search(&*first, "return window", &anyone(), SearchMode::Hybrid).await;
    assert_eq!(ids.first().map(String::as_str), Some("policies/returns.md"));
    let recorded = smaller.signature().await.unwrap().unwrap();
    assert_eq!(
        (recorded.name.as_str(), recorded.dimension),
        ("hashing-v1", 384)
    );
}

/// 384 dimensions like the hashing embedder, but another model.
struct Renamed;

#[async_trait::async_trait]
impl Embedder for Renamed {
    fn name(&self) -> String {
        "gateway:other-model".into()
    }
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        HashingEmbedder::default().embed(texts).await
    }
}

/// The hashing embedder whose first call waits until every replica has made its
/// own, so that all of them reach their first write at once.
struct Rendezvous {
    inner: HashingEmbedder,
    barrier: Arc<tokio::sync::Barrier>,
    waited: AtomicBool,
}

#[async_trait::async_trait]
impl Embedder for Rendezvous {
    fn name(&self) -> String {
        self.inner.name()
    }
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if !self.waited.swap(true, Ordering::SeqCst) {
            self.barrier.wait().await;
        }
        self.inner.embed(texts).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_ingesting_first_together_create_the_embedding_column_once() {
    const REPLICAS: usize = 4;
    let pool = fresh_pool("").await;
    let barrier = Arc::new(tokio::sync::Barrier::new(REPLICAS));
    let mut ingestions = tokio::task::JoinSet::new();
    for replica in 0..REPLICAS {
        let embedder = Arc::new(Rendezvous {
            inner: HashingEmbedder::new(16),
            barrier: barrier.clone(),
            waited: AtomicBool::new(false),
        });
        let knowledge = postgres(pool.clone(), embedder, Fusion::Score).await;
        ingestions.spawn(async move {
            let page =
                Document::public(format!("r{replica}.md"), format!("replica {replica} page"));
            knowledge
                .ingest_source(&format!("replica-{replica}"), vec![page])
                .await
        });
    }
    while let Some(outcome) = ingestions.join_next().await {
        outcome
            .unwrap()
            .expect("every replica's first ingestion succeeds");
    }
    let column: Vec<String> = sqlx::query_scalar(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute \
         WHERE attrelid = 'knowledge_chunks'::regclass AND attname = 'embedding'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        column,
        ["vector(16)"],
        "the column follows the embedder's dimension"
    );
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT indexdef FROM pg_indexes \
         WHERE schemaname = current_schema() AND indexdef LIKE '%USING hnsw%'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(indexes.len(), 1, "{indexes:?}");
    assert!(indexes[0].contains("vector_cosine_ops"), "{indexes:?}");
    let recorded: Vec<(String, i32)> =
        sqlx::query_as("SELECT name, dimension FROM knowledge_embedder")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(recorded, [("hashing-v1".to_owned(), 16)]);
    let chunks: i64 = sqlx::query_scalar("SELECT count(*) FROM knowledge_chunks")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(chunks, REPLICAS as i64);
}

/// 2,000 chunks restricted to another group are nearer to the question than the 10
/// the asker may see. A plain HNSW scan returns its `ef_search` (40) nearest and
/// then filters, leaving nothing; the iterative scan goes on until it has enough.
#[tokio::test]
async fn a_filtered_vector_search_still_finds_the_visible_chunks() {
    // Sequential scans off, so the small table is searched on the HNSW index as a
    // large one would be.
    let pool = fresh_pool("&options[enable_seqscan]=off").await;
    let knowledge = postgres(
        pool.clone(),
        Arc::new(HashingEmbedder::default()),
        Fusion::Score,
    )
    .await;
    let question = "quarterly warehouse inventory report";
    let mut documents: Vec<Document> = (0..2000)
        .map(|i| {
            let mut d = Document::public(format!("hidden/{i}"), format!("{question} number {i}"));
            d.acl = Acl::Restricted {
                users: Vec::new(),
                groups: vec!["finance".into()],
            };
            d
        })
        .collect();
    documents.extend((0..10).map(|i| {
        Document::public(
            format!("visible/{i}"),
            format!("inventory of dock {i} and its forklifts"),
        )
    }));
    knowledge.ingest_source("bulk", documents).await.unwrap();
    let asker = Access {
        groups: vec!["staff".into()],
        ..anyone()
    };

    let mut found = knowledge
        .search_with(question, &asker, 10, SearchMode::Vector)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.document_id)
        .collect::<Vec<_>>();
    found.sort();
    let visible: Vec<String> = (0..10).map(|i| format!("visible/{i}")).collect();
    assert_eq!(found, visible);
    let hybrid = knowledge
        .search_with(question, &asker, 10, SearchMode::Hybrid)
        .await
        .unwrap();
    assert_eq!(hybrid.len(), 10, "{hybrid:?}");
    assert!(
        hybrid.iter().all(|h| h.document_id.starts_with("visible/")),
        "{hybrid:?}"
    );

    // The same filtered query without the iterative scan comes back short.
    let plain = nearest_visible(&pool, question, "off").await;
    let iterative = nearest_visible(&pool, question, "relaxed_order").await;
    eprintln!("visible chunks found: {plain} without the iterative scan, {iterative} with it");
    assert!(
        plain < 10,
        "the index scan found {plain}: this test would not catch a regression"
    );
    assert_eq!(iterative, 10);
}

/// How many of the 10 chunks nearest to `question` that the asker of the test above
/// may see a filtered HNSW scan finds, with `hnsw.iterative_scan` set to `mode`.
async fn nearest_visible(pool: &PgPool, question: &str, mode: &str) -> i64 {
    let vector = HashingEmbedder::default().vector(question);
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SELECT set_config('hnsw.iterative_scan', $1, true)")
        .bind(mode)
        .execute(&mut *tx)
        .await
        .unwrap();
    let plan: Vec<String> = sqlx::query_scalar(
        "EXPLAIN SELECT id FROM knowledge_chunks \
         WHERE NOT restricted OR readers && '{group:staff}' \
         ORDER BY embedding <=> $1::real[]::vector LIMIT 10",
    )
    .bind(&vector)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    assert!(
        plan.join("\n").contains("knowledge_chunks_embedding"),
        "{plan:?}"
    );
    sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT id FROM knowledge_chunks \
         WHERE NOT restricted OR readers && '{group:staff}' \
         ORDER BY embedding <=> $1::real[]::vector LIMIT 10) AS nearest",
    )
    .bind(&vector)
    .fetch_one(&mut *tx)
    .await
    .unwrap()
}

/// On a large corpus a term in most chunks no longer makes every query rank most of
/// the table: a question with rarer terms is matched on those (BM25 would give the
/// common term almost no weight), and one without is not matched by terms.
#[tokio::test]
async fn common_terms_give_way_to_rarer_ones_on_a_large_corpus() {
    let pool = fresh_pool("").await;
    let knowledge = postgres(pool, Arc::new(HashingEmbedder::new(16)), Fusion::Score).await;
    let mut documents: Vec<Document> = (0..2100)
        .map(|i| Document::public(format!("report/{i}"), format!("widget report {i}")))
        .collect();
    documents.push(Document::public("ferry.md", "widget ferries to zanzibar"));
    knowledge.ingest_source("bulk", documents).await.unwrap();

    let lexical =
        async |question| search(&*knowledge, question, &anyone(), SearchMode::Lexical).await;
    assert_eq!(lexical("widget zanzibar").await, ["ferry.md"]);
    assert_eq!(lexical("widget report 17").await, ["report/17"]);
    // Terms in most chunks are stop words: alone, they match nothing by terms.
    assert_eq!(lexical("widget report").await, Vec::<String>::new());
}
