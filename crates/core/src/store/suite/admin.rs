//! What the admin API keeps: organisation settings, the admin conversation list,
//! connectors and indexing runs.

use super::*;

pub async fn org_settings_round_trip(store: Arc<dyn Store>) {
    let org = OrgId::new(format!("org-{}", uuid::Uuid::new_v4()));
    assert_eq!(store.get_org_settings(&org).await.unwrap(), None);
    let settings = OrgSettings {
        org_id: org.clone(),
        persona: Some("Cheerful and brief.".into()),
        model: Some("m".into()),
        system_prompt: None,
        default_tools: vec!["knowledge_search".into()],
        updated_at: Some(Utc::now()),
    };
    store.put_org_settings(&settings).await.unwrap();
    let read = store.get_org_settings(&org).await.unwrap().unwrap();
    assert_eq!(read.persona, settings.persona);
    assert_eq!(read.default_tools, settings.default_tools);
}

pub async fn org_conversations_page_newest_first_by_creation(store: Arc<dyn Store>) {
    let org = format!("org-{}", uuid::Uuid::new_v4());
    let start = Utc::now() - Duration::minutes(10);
    let mut created = Vec::new();
    for i in 0..5 {
        let mut new = new_session(&org);
        let conversation = new.conversation.as_mut().expect("a new conversation");
        conversation.created_at = start + Duration::seconds(i);
        conversation.updated_at = conversation.created_at;
        if i % 2 == 0 {
            new.participants[0].external_id = Some("owner-1".into());
        }
        created.push(conversation_of(&new));
        store.create_session(new).await.unwrap();
    }
    store
        .create_session(new_session("another-org"))
        .await
        .unwrap();
    // Messages move `updated_at`, not the order.
    append_messages(&*store, &created[0], 1).await;
    let newest: Vec<ConversationId> = created.iter().rev().map(|c| c.id).collect();
    let page = |owner: Option<&str>, after, limit| {
        store.list_org_conversations(OrgConversationQuery {
            org_id: OrgId::new(&org),
            owner: owner.map(|o| Owner::new(OrgId::new(&org), o)),
            limit,
            after,
        })
    };
    let ids = |page: &ConversationPage| page.conversations.iter().map(|c| c.id).collect::<Vec<_>>();
    let first = page(None, None, 2).await.unwrap();
    assert_eq!(ids(&first), newest[..2]);
    assert_eq!(first.next.map(|c| c.id), Some(newest[1]));
    assert_eq!(first.conversations[0].name, "Session test");
    let second = page(None, first.next, 2).await.unwrap();
    assert_eq!(ids(&second), newest[2..4]);
    let last = page(None, second.next, 2).await.unwrap();
    assert_eq!(
        ids(&last),
        newest[4..],
        "empty conversations are listed too"
    );
    assert_eq!(last.next, None, "no cursor after the last page");
    let exact = page(None, None, 5).await.unwrap();
    assert_eq!(ids(&exact), newest);
    assert_eq!(exact.next, None);
    let owned = page(Some("owner-1"), None, 10).await.unwrap();
    assert_eq!(ids(&owned), [newest[0], newest[2], newest[4]]);
    assert!(
        page(Some("nobody"), None, 10)
            .await
            .unwrap()
            .conversations
            .is_empty()
    );
}

fn connector(org: &str, name: &str) -> Connector {
    let now = Utc::now();
    Connector {
        id: ConnectorId::random(),
        org_id: OrgId::new(org),
        name: name.into(),
        kind: ConnectorKind::File,
        config: serde_json::json!({"path": "/srv/docs", "sets": ["handbook"]}),
        enabled: true,
        created_at: now,
        updated_at: now,
    }
}

pub async fn connectors_are_org_scoped_and_uniquely_named(store: Arc<dyn Store>) {
    let (org, other) = (OrgId::new("org-a"), OrgId::new("org-b"));
    let docs = connector("org-a", "docs");
    let blog = connector("org-a", "blog");
    store.create_connector(&docs).await.unwrap();
    store.create_connector(&blog).await.unwrap();
    assert_eq!(
        store.get_connector(&org, docs.id).await.unwrap(),
        Some(docs.clone())
    );
    assert_eq!(store.get_connector(&other, docs.id).await.unwrap(), None);
    let names = |list: Vec<Connector>| list.into_iter().map(|c| c.name).collect::<Vec<_>>();
    assert_eq!(
        names(store.list_connectors(&org).await.unwrap()),
        ["blog", "docs"]
    );
    assert!(store.list_connectors(&other).await.unwrap().is_empty());
    // Names are unique within an organisation, not across them.
    assert!(matches!(
        store.create_connector(&connector("org-a", "docs")).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.create_connector(&docs).await,
        Err(StoreError::Conflict(_))
    ));
    store
        .create_connector(&connector("org-b", "docs"))
        .await
        .unwrap();

    let mut renamed = docs.clone();
    renamed.name = "handbook".into();
    renamed.kind = ConnectorKind::Web;
    renamed.config = serde_json::json!({"url": "https://example.com/handbook"});
    renamed.enabled = false;
    renamed.created_at = Utc::now() + Duration::days(1);
    renamed.updated_at = Utc::now() + Duration::seconds(1);
    let updated = store
        .update_connector(&renamed)
        .await
        .unwrap()
        .expect("exists");
    assert_eq!(updated.created_at, docs.created_at, "creation is kept");
    assert_eq!(updated.updated_at, renamed.updated_at);
    assert_eq!(
        (updated.name.as_str(), updated.kind, updated.enabled),
        ("handbook", ConnectorKind::Web, false)
    );
    assert_eq!(updated.config, renamed.config);
    assert_eq!(
        store.get_connector(&org, docs.id).await.unwrap(),
        Some(updated)
    );
    let mut clash = blog.clone();
    clash.name = "handbook".into();
    assert!(matches!(
        store.update_connector(&clash).await,
        Err(StoreError::Conflict(_))
    ));
    let mut foreign = renamed.clone();
    foreign.org_id = other.clone();
    assert_eq!(store.update_connector(&foreign).await.unwrap(), None);

    assert!(!store.delete_connector(&other, docs.id).await.unwrap());
    assert!(store.delete_connector(&org, docs.id).await.unwrap());
    assert!(!store.delete_connector(&org, docs.id).await.unwrap());
    assert_eq!(store.get_connector(&org, docs.id).await.unwrap(), None);
    assert_eq!(names(store.list_connectors(&org).await.unwrap()), ["blog"]);
}

fn run(org: &str, connector: ConnectorId, started_at: chrono::DateTime<Utc>) -> IndexingRun {
    IndexingRun {
        id: IndexingRunId::random(),
        org_id: OrgId::new(org),
        connector_id: connector,
        connector_name: "docs".into(),
        status: RunStatus::Running,
        started_at,
        finished_at: None,
        documents_seen: 0,
        chunks_indexed: 0,
        documents_skipped: 0,
        documents_removed: 0,
        error: None,
    }
}

pub async fn indexing_runs_are_replaced_by_id_and_listed_oldest_first(store: Arc<dyn Store>) {
    let org = format!("org-{}", uuid::Uuid::new_v4());
    let (docs, blog) = (ConnectorId::random(), ConnectorId::random());
    let start = Utc::now() - Duration::minutes(5);
    let first = run(&org, docs, start);
    store.put_indexing_run(&first).await.unwrap();
    let finished = IndexingRun {
        status: RunStatus::Succeeded,
        finished_at: Some(start + Duration::seconds(2)),
        documents_seen: 3,
        chunks_indexed: 7,
        documents_skipped: 1,
        documents_removed: 2,
        ..first.clone()
    };
    store.put_indexing_run(&finished).await.unwrap();
    let failed = IndexingRun {
        status: RunStatus::Failed,
        finished_at: Some(start + Duration::seconds(11)),
        error: Some("cannot read /srv/docs".into()),
        ..run(&org, blog, start + Duration::seconds(10))
    };
    store.put_indexing_run(&failed).await.unwrap();
    let third = run(&org, docs, start + Duration::seconds(20));
    store.put_indexing_run(&third).await.unwrap();
    store
        .put_indexing_run(&run("another-org", docs, start))
        .await
        .unwrap();
    // A run id of another organisation cannot be overwritten.
    let hijack = IndexingRun {
        org_id: OrgId::new("another-org"),
        ..third.clone()
    };
    assert!(store.put_indexing_run(&hijack).await.is_err());

    let list = |connector, limit| {
        store.list_indexing_runs(IndexingRunQuery {
            org_id: OrgId::new(&org),
            connector,
            limit,
        })
    };
    let all = list(None, 10).await.unwrap();
    assert_eq!(all, vec![finished.clone(), failed.clone(), third.clone()]);
    assert_eq!(
        list(None, 2).await.unwrap(),
        vec![failed.clone(), third.clone()],
        "the most recent runs, oldest first"
    );
    assert_eq!(list(Some(docs), 10).await.unwrap(), vec![finished, third]);
}
