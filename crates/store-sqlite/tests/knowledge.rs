//! The knowledge base in a SQLite file: the checks every knowledge base passes
//! (`switchboard_knowledge::suite`), then what only a file has: the embedder
//! recorded in it, unchanged documents kept across a restart, two processes on one
//! file, visibility decided before the limit, CJK text.

use std::path::PathBuf;
use std::sync::Arc;
use switchboard_knowledge::suite::{Counting, MODES, anyone, search};
use switchboard_knowledge::{
    Access, Acl, Document, KnowledgeBase, KnowledgeError, SearchMode, demo_documents,
    knowledge_suite,
};
use switchboard_store_sqlite::knowledge::open_pool;
use switchboard_store_sqlite::{KnowledgeOptions, SqliteKnowledge};

/// A path for a new database file in a folder of its own under the system's
/// temporary folder (removed when `Scratch` drops).
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "switchboard-sqlite-knowledge-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn file(&self) -> PathBuf {
        self.0.join("switchboard.db")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn open(path: &std::path::Path, embedder: Arc<Counting>) -> Arc<SqliteKnowledge> {
    let pool = open_pool(path).await.unwrap();
    let knowledge = SqliteKnowledge::connect(pool, embedder, KnowledgeOptions::default());
    Arc::new(knowledge.await.unwrap())
}

/// A knowledge base in a new file, which lives as long as the test process (the
/// suite's checks own the base; the folder is left in the temporary folder).
async fn fresh(embedder: Arc<Counting>) -> Arc<SqliteKnowledge> {
    let scratch = std::mem::ManuallyDrop::new(Scratch::new());
    open(&scratch.file(), embedder).await
}

knowledge_suite!(sqlite, |embedder| super::fresh(embedder.clone()).await);

#[tokio::test]
async fn the_embedder_is_recorded_in_the_file_and_another_refused() {
    let scratch = Scratch::new();
    let first = open(&scratch.file(), Counting::new(384)).await;
    first.ingest_source("demo", demo_documents()).await.unwrap();
    first.pool().close().await;

    // Another process with an embedder of other vectors, after a restart.
    let other = open(&scratch.file(), Counting::new(16)).await;
    let refused = other.ingest_source("demo", demo_documents()).await;
    let Err(error @ KnowledgeError::EmbedderMismatch { .. }) = refused else {
        panic!("another embedder was accepted: {refused:?}");
    };
    let message = error.to_string();
    assert!(
        message.contains("384 dimensions") && message.contains("16 dimensions"),
        "{message}"
    );
    for mode in [SearchMode::Hybrid, SearchMode::Vector] {
        let refused = other.search_with("return", &anyone(), 3, mode).await;
        assert!(
            matches!(refused, Err(KnowledgeError::EmbedderMismatch { .. })),
            "{mode:?}: {refused:?}"
        );
    }
    // Terms alone need no vectors: lexical search still answers.
    let ids = search(&*other, "return window", &anyone(), SearchMode::Lexical).await;
    assert_eq!(ids.first().map(String::as_str), Some("policies/returns.md"));
    // A new document is refused too: the file keeps the first embedder's vectors.
    let refused = other
        .ingest_source("more", vec![Document::public("x.md", "Something new.")])
        .await;
    assert!(matches!(
        refused,
        Err(KnowledgeError::EmbedderMismatch { .. })
    ));
    assert_eq!(other.document_count().await.unwrap(), 2);
}

#[tokio::test]
async fn after_a_restart_only_changed_documents_are_embedded() {
    let scratch = Scratch::new();
    let docs = |returns: &str| {
        let mut docs = demo_documents();
        docs[0].content = returns.to_owned();
        docs.push(Document::public("faq/hours.md", "We answer every day."));
        docs
    };
    let before = Counting::new(384);
    let first = open(&scratch.file(), before.clone()).await;
    let report = first
        .ingest_source("docs", docs("Returns within 17 days."))
        .await
        .unwrap();
    assert_eq!((report.indexed, report.chunks), (3, 3));
    assert_eq!(before.texts(), 3);
    first.pool().close().await;

    // The same documents after a restart: nothing embedded (one probe checks the
    // embedder is the recorded one).
    let after = Counting::new(384);
    let second = open(&scratch.file(), after.clone()).await;
    let report = second
        .ingest_source("docs", docs("Returns within 17 days."))
        .await
        .unwrap();
    assert_eq!((report.indexed, report.unchanged), (0, 3));
    assert_eq!(after.texts(), 1, "only the probe");
    second.pool().close().await;

    // One edited: only it is embedded.
    let edited = Counting::new(384);
    let third = open(&scratch.file(), edited.clone()).await;
    let report = third
        .ingest_source("docs", docs("Returns within 30 days."))
        .await
        .unwrap();
    assert_eq!((report.indexed, report.unchanged), (1, 2));
    assert_eq!(edited.texts(), 1);
    let hits = third
        .search_with("returns days", &anyone(), 3, SearchMode::Hybrid)
        .await
        .unwrap();
    assert!(hits[0].text.contains("30 days"), "{hits:?}");
    assert_eq!(third.document_count().await.unwrap(), 3);
}

#[tokio::test]
async fn two_processes_on_one_file_see_each_others_writes() {
    let scratch = Scratch::new();
    let writer = open(&scratch.file(), Counting::new(384)).await;
    let reader = open(&scratch.file(), Counting::new(384)).await;
    assert!(
        search(&*reader, "return window", &anyone(), SearchMode::Vector)
            .await
            .is_empty()
    );
    writer
        .ingest_source("demo", demo_documents())
        .await
        .unwrap();
    // The reader saw the file empty and takes it to stay so for up to two seconds
    // (an empty knowledge base is not asked about on every turn); then it looks.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while search(&*reader, "return window", &anyone(), SearchMode::Lexical)
        .await
        .is_empty()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the other process's documents never showed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for mode in MODES {
        let ids = search(&*reader, "How long is the return window?", &anyone(), mode).await;
        assert_eq!(ids.first().map(String::as_str), Some("policies/returns.md"));
    }
    writer.remove_source("demo").await.unwrap();
    for mode in MODES {
        let ids = search(&*reader, "return window", &anyone(), mode).await;
        assert_eq!(
            ids,
            Vec::<String>::new(),
            "{mode:?}: a removed chunk came back"
        );
    }
    // Both write, one after the other, without losing either's documents.
    let (a, b) = tokio::join!(
        writer.ingest_source("a", vec![Document::public("a.md", "Alpha ferries.")]),
        reader.ingest_source("b", vec![Document::public("b.md", "Beta ferries.")]),
    );
    a.unwrap();
    b.unwrap();
    assert_eq!(reader.document_count().await.unwrap(), 2);
    let ids = search(&*writer, "ferries", &anyone(), SearchMode::Vector).await;
    assert_eq!(ids.len(), 2, "{ids:?}");
}

/// Forty chunks the asker may not see match better than the one they may: were
/// visibility applied after the `LIMIT`, the visible one would be crowded out.
#[tokio::test]
async fn visibility_is_decided_before_the_limit() {
    let scratch = Scratch::new();
    let knowledge = open(&scratch.file(), Counting::new(384)).await;
    let strong = "Zanzibar ferries leave Zanzibar port at dawn; Zanzibar ferries return at dusk.";
    let mut hidden = Vec::new();
    for i in 0..20 {
        let mut foreign = Document::public(format!("acme/{i}.md"), strong);
        foreign.org = Some("acme".into());
        let mut secret = Document::public(format!("hr/{i}.md"), strong);
        secret.org = Some("o".into());
        secret.acl = Acl::Restricted {
            users: vec!["ann".into()],
            groups: vec!["hr".into()],
        };
        hidden.push(foreign);
        hidden.push(secret);
    }
    knowledge.ingest_source("hidden", hidden).await.unwrap();
    let mut visible = Document::public("public.md", "Ferries to Zanzibar run daily.");
    visible.org = Some("o".into());
    knowledge
        .ingest_source("public", vec![visible])
        .await
        .unwrap();
    let hr_named_user = Access {
        user_id: Some("hr".into()),
        ..anyone()
    };
    for asker in [anyone(), hr_named_user] {
        for mode in MODES {
            let hits = knowledge
                .search_with("zanzibar ferries dawn", &asker, 1, mode)
                .await
                .unwrap();
            let ids: Vec<&str> = hits.iter().map(|h| h.document_id.as_str()).collect();
            assert_eq!(ids, ["public.md"], "{mode:?} {asker:?}");
        }
    }
    // The organisation's members in the group see the restricted ones, never Acme's.
    let hr = Access {
        groups: vec!["hr".into()],
        ..anyone()
    };
    for mode in MODES {
        let ids = search(&*knowledge, "zanzibar ferries dawn", &hr, mode).await;
        assert!(ids.iter().any(|id| id.starts_with("hr/")), "{mode:?}");
        assert!(!ids.iter().any(|id| id.starts_with("acme/")), "{mode:?}");
    }
    let idf = knowledge.idf(&["zanzibar".into()]).await.unwrap();
    assert!(idf["zanzibar"] > 0.0);
}

#[tokio::test]
async fn cjk_questions_find_cjk_documents() {
    let scratch = Scratch::new();
    let knowledge = open(&scratch.file(), Counting::new(384)).await;
    let documents = vec![
        Document::public("ja/returns.md", "返品は配達から17日以内に受け付けます。"),
        Document::public("ja/shipping.md", "通常配送は5営業日かかります。"),
        Document::public("zh/returns.md", "退货期限为收货后十七天。"),
    ];
    knowledge.ingest_source("cjk", documents).await.unwrap();
    let cases = [
        ("返品できますか", "ja/returns.md"),
        ("配送は何日かかりますか", "ja/shipping.md"),
        ("退货期限是多久", "zh/returns.md"),
    ];
    for (question, expected) in cases {
        for mode in [SearchMode::Lexical, SearchMode::Hybrid] {
            let ids = search(&*knowledge, question, &anyone(), mode).await;
            assert_eq!(
                ids.first().map(String::as_str),
                Some(expected),
                "{question} {mode:?}: {ids:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_newer_knowledge_schema_is_refused() {
    let scratch = Scratch::new();
    let knowledge = open(&scratch.file(), Counting::new(384)).await;
    sqlx::query("UPDATE knowledge_schema_version SET version = 99")
        .execute(knowledge.pool())
        .await
        .unwrap();
    let pool = open_pool(&scratch.file()).await.unwrap();
    let refused = SqliteKnowledge::connect(pool, Counting::new(384), KnowledgeOptions::default())
        .await
        .err()
        .expect("a newer schema was accepted");
    assert!(
        refused.to_string().contains("schema version 99"),
        "{refused}"
    );
}
