//! What only the database has: the embedder recorded in the schema, replicas
//! ingesting together, filtered vector search on the index, common terms.

use super::*;

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

/// Fingerprints stored by an older version (std's `DefaultHasher` as a BIGINT,
/// kept as text by migration 0004) are upgraded at the next ingestion without
/// embedding anything again; a document whose text changed meanwhile is embedded.
#[tokio::test]
async fn old_fingerprints_are_upgraded_without_embedding_again() {
    let pool = fresh_pool("").await;
    let embedder = Counting::new(384);
    let knowledge = postgres(pool.clone(), embedder.clone(), Fusion::Score).await;
    let documents = demo_documents();
    knowledge
        .ingest_source("demo", documents.clone())
        .await
        .unwrap();
    let before = search(&*knowledge, "return window", &anyone(), SearchMode::Hybrid).await;
    let embedded = embedder.texts();
    sqlx::query("UPDATE knowledge_documents SET fingerprint = '-5003213375487411190'")
        .execute(&pool)
        .await
        .unwrap();

    let report = knowledge
        .ingest_source("demo", documents.clone())
        .await
        .unwrap();

    assert_eq!(embedder.texts(), embedded, "nothing embedded again");
    assert_eq!((report.indexed, report.unchanged), (0, documents.len()));
    let stored: Vec<String> = sqlx::query_scalar("SELECT fingerprint FROM knowledge_documents")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), documents.len());
    assert!(
        stored.iter().all(|f| f.starts_with("sha256:")),
        "{stored:?}"
    );
    assert_eq!(
        search(&*knowledge, "return window", &anyone(), SearchMode::Hybrid).await,
        before
    );
    let again = knowledge
        .ingest_source("demo", documents.clone())
        .await
        .unwrap();
    assert_eq!((again.indexed, again.unchanged), (0, documents.len()));

    // An old fingerprint on a document whose text changed: embedded as usual.
    sqlx::query("UPDATE knowledge_documents SET fingerprint = '42'")
        .execute(&pool)
        .await
        .unwrap();
    let mut edited = documents.clone();
    edited[0].content.push_str(" Gift wrapping is free.");
    let report = knowledge.ingest_source("demo", edited).await.unwrap();
    assert_eq!((report.indexed, report.unchanged), (1, documents.len() - 1));
    assert!(embedder.texts() > embedded);
}
