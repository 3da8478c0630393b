//! Knowledge on the table: stored with its access lists, searched through each
//! replica's mirror, filtered by organisation and access list before ranking.

mod common;

use common::{open, unique_table};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use switchboard_knowledge::embed::EmbedError;
use switchboard_knowledge::{
    Access, Acl, Document, Embedder, HashingEmbedder, KnowledgeBase, KnowledgeError, SearchMode,
};
use switchboard_store_dynamodb::DynamoKnowledge;

/// Counts the texts it embeds.
#[derive(Default)]
struct Counting {
    inner: HashingEmbedder,
    texts: AtomicUsize,
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
}

async fn replica(table: &str, embedder: Arc<dyn Embedder>) -> DynamoKnowledge {
    DynamoKnowledge::new(open(table).await, embedder).with_freshness(Duration::ZERO)
}

fn owned(id: &str, org: &str, content: &str) -> Document {
    Document {
        org: Some(org.into()),
        ..Document::public(id, content)
    }
}

fn documents() -> Vec<Document> {
    let mut secret = owned(
        "acme/bonus.md",
        "acme",
        "The return bonus for staff is 500 euros.",
    );
    secret.acl = Acl::Restricted {
        users: vec![],
        groups: vec!["hr".into()],
    };
    vec![
        owned(
            "acme/returns.md",
            "acme",
            "Acme accepts returns within 30 days.",
        ),
        owned(
            "globex/returns.md",
            "globex",
            "Globex accepts returns within 90 days.",
        ),
        secret,
        Document::public(
            "shared/hours.md",
            "Support answers returns questions 9 to 5.",
        ),
    ]
}

fn ids(hits: &[switchboard_knowledge::Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.document_id.as_str()).collect()
}

#[tokio::test]
async fn retrieval_sees_only_the_organisation_and_access_list_of_the_asker() {
    let table = unique_table("know");
    let kb = replica(&table, Arc::new(HashingEmbedder::default())).await;
    let report = kb.ingest_source("docs", documents()).await.unwrap();
    assert_eq!((report.indexed, report.unchanged), (4, 0));
    for mode in [SearchMode::Hybrid, SearchMode::Lexical, SearchMode::Vector] {
        let hits = kb
            .search_with("returns bonus days", &Access::anonymous("acme"), 10, mode)
            .await
            .unwrap();
        let found = ids(&hits);
        assert!(found.contains(&"acme/returns.md"), "{mode:?}: {found:?}");
        assert!(
            found
                .iter()
                .all(|id| *id == "acme/returns.md" || *id == "shared/hours.md"),
            "{mode:?}: another organisation's or a restricted document came back: {found:?}"
        );
    }
    let hr = Access {
        groups: vec!["hr".into()],
        ..Access::anonymous("acme")
    };
    let hits = kb
        .search_with("return bonus staff", &hr, 3, SearchMode::Hybrid)
        .await
        .unwrap();
    assert_eq!(hits[0].document_id, "acme/bonus.md");
    assert!(hits[0].text.contains("500 euros"));
    let globex = kb
        .search_with(
            "returns",
            &Access::anonymous("globex"),
            10,
            SearchMode::Hybrid,
        )
        .await
        .unwrap();
    assert!(ids(&globex).contains(&"globex/returns.md"));
    assert!(!ids(&globex).iter().any(|id| id.starts_with("acme/")));
}

#[tokio::test]
async fn listings_signature_and_term_rarity_come_from_the_table() {
    let table = unique_table("know");
    let kb = replica(&table, Arc::new(HashingEmbedder::default())).await;
    assert_eq!(kb.signature().await.unwrap(), None);
    assert_eq!(kb.document_count().await.unwrap(), 0);
    kb.ingest_source("docs", documents()).await.unwrap();
    kb.ingest_source("more", vec![owned("acme/faq.md", "acme", "Questions.")])
        .await
        .unwrap();
    assert_eq!(kb.document_count().await.unwrap(), 5);
    assert_eq!(
        kb.sources().await.unwrap(),
        [("docs".to_owned(), 4), ("more".to_owned(), 1)]
    );
    let listed = kb.org_documents("acme").await.unwrap();
    let keys: Vec<(&str, &str)> = listed
        .iter()
        .map(|d| (d.source_key.as_str(), d.id.as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            ("docs", "acme/bonus.md"),
            ("docs", "acme/returns.md"),
            ("more", "acme/faq.md")
        ]
    );
    assert!(matches!(listed[0].acl, Acl::Restricted { .. }));
    assert_eq!(listed[1].chunks, 1);
    let signature = kb.signature().await.unwrap().expect("vectors are stored");
    assert_eq!(signature.name, HashingEmbedder::default().name());
    let idf = kb
        .idf(&["returns".into(), "bonus".into(), "zebra".into()])
        .await
        .unwrap();
    assert!(idf["bonus"] > idf["returns"], "{idf:?}");
    assert_eq!(idf["zebra"], 0.0);
}

#[tokio::test]
async fn reingesting_embeds_only_what_changed_and_removes_what_went() {
    let table = unique_table("know");
    let embedder = Arc::new(Counting::default());
    let kb = replica(&table, embedder.clone()).await;
    kb.ingest_source("docs", documents()).await.unwrap();
    let first = embedder.texts.load(Ordering::SeqCst);

    let report = kb.ingest_source("docs", documents()).await.unwrap();
    assert_eq!(
        (report.indexed, report.unchanged, report.removed),
        (0, 4, 0)
    );
    assert_eq!(embedder.texts.load(Ordering::SeqCst), first);

    let mut edited = documents();
    edited.truncate(2);
    edited[0].content = "Acme now accepts returns within 45 days.".into();
    let report = kb.ingest_source("docs", edited).await.unwrap();
    assert_eq!(
        (report.indexed, report.unchanged, report.removed),
        (1, 1, 2)
    );
    let hits = kb
        .search_with(
            "returns days",
            &Access::anonymous("acme"),
            10,
            SearchMode::Lexical,
        )
        .await
        .unwrap();
    assert_eq!(ids(&hits), ["acme/returns.md"]);
    assert!(hits[0].text.contains("45 days"), "the old version is gone");

    assert_eq!(kb.remove_source("docs").await.unwrap(), 2);
    assert_eq!(kb.document_count().await.unwrap(), 0);
}

#[tokio::test]
async fn another_replica_sees_ingestions_and_loads_vectors_without_embedding() {
    let table = unique_table("know");
    let writer = replica(&table, Arc::new(HashingEmbedder::default())).await;
    let embedder = Arc::new(Counting::default());
    let reader = replica(&table, embedder.clone()).await;
    assert_eq!(reader.document_count().await.unwrap(), 0);

    writer.ingest_source("docs", documents()).await.unwrap();
    let hits = reader
        .search_with(
            "returns",
            &Access::anonymous("acme"),
            5,
            SearchMode::Lexical,
        )
        .await
        .unwrap();
    assert!(ids(&hits).contains(&"acme/returns.md"));
    assert_eq!(
        embedder.texts.load(Ordering::SeqCst),
        0,
        "the mirror loads stored vectors; it embeds nothing"
    );

    writer.remove_source("docs").await.unwrap();
    let hits = reader
        .search_with(
            "returns",
            &Access::anonymous("acme"),
            5,
            SearchMode::Lexical,
        )
        .await
        .unwrap();
    assert!(hits.is_empty(), "{hits:?}");
}

#[tokio::test]
async fn vectors_of_another_embedder_are_refused() {
    let table = unique_table("know");
    let first = replica(&table, Arc::new(HashingEmbedder::default())).await;
    first.ingest_source("docs", documents()).await.unwrap();
    let other = replica(&table, Arc::new(HashingEmbedder::new(16))).await;
    let refused = other
        .ingest_source("more", vec![Document::public("x.md", "Something else.")])
        .await;
    assert!(
        matches!(refused, Err(KnowledgeError::EmbedderMismatch { .. })),
        "{refused:?}"
    );
}

#[tokio::test]
async fn nul_characters_are_dropped_as_on_the_other_stores() {
    let table = unique_table("kb-nul");
    let base = replica(&table, Arc::new(HashingEmbedder::default())).await;
    let mut odd = Document::public("nul\0.md", "Zanzi\0bar ferries leave at dawn.");
    odd.title = Some("Fer\0ries".into());
    base.ingest_source("nul\0source", vec![odd]).await.unwrap();
    let hits = base
        .search_with(
            "zanzibar ferries",
            &Access::default(),
            3,
            SearchMode::Hybrid,
        )
        .await
        .unwrap();
    assert_eq!(
        hits.iter()
            .map(|h| (h.document_id.as_str(), h.title.as_str(), h.text.as_str()))
            .collect::<Vec<_>>(),
        [("nul.md", "Ferries", "Zanzibar ferries leave at dawn.")]
    );
    assert_eq!(base.sources().await.unwrap(), [("nulsource".to_owned(), 1)]);
    assert_eq!(base.remove_source("nul\0source").await.unwrap(), 1);
}

/// Fingerprints stored by an older version (std's `DefaultHasher`, a decimal
/// number) are upgraded at the next ingestion without embedding anything again.
#[tokio::test]
async fn old_fingerprints_are_upgraded_without_embedding_again() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let table = unique_table("know");
    let embedder = Arc::new(Counting::default());
    let kb = replica(&table, embedder.clone()).await;
    kb.ingest_source("docs", documents()).await.unwrap();
    let first = embedder.texts.load(Ordering::SeqCst);
    let store = open(&table).await;
    let key = |id: &str| {
        std::collections::HashMap::from([
            ("pk".to_owned(), AttributeValue::S("KSRC#docs".into())),
            ("sk".to_owned(), AttributeValue::S(format!("DOC#{id}"))),
        ])
    };
    for document in documents() {
        store
            .client()
            .update_item()
            .table_name(store.table())
            .set_key(Some(key(&document.id)))
            .update_expression("SET fp = :old")
            .expression_attribute_values(":old", AttributeValue::S("-5003213375487411190".into()))
            .send()
            .await
            .unwrap();
    }

    let report = kb.ingest_source("docs", documents()).await.unwrap();

    assert_eq!(
        (report.indexed, report.unchanged, report.removed),
        (0, 4, 0)
    );
    assert_eq!(
        embedder.texts.load(Ordering::SeqCst),
        first,
        "nothing embedded again"
    );
    for document in documents() {
        let item = store
            .client()
            .get_item()
            .table_name(store.table())
            .set_key(Some(key(&document.id)))
            .send()
            .await
            .unwrap()
            .item
            .unwrap();
        let fp = item["fp"].as_s().unwrap();
        assert!(fp.starts_with("sha256:"), "{fp}");
    }
    let hits = kb
        .search_with(
            "returns days",
            &Access::anonymous("acme"),
            10,
            SearchMode::Hybrid,
        )
        .await
        .unwrap();
    assert!(ids(&hits).contains(&"acme/returns.md"), "{hits:?}");
    assert_eq!(
        kb.ingest_source("docs", documents())
            .await
            .unwrap()
            .unchanged,
        4
    );
}
