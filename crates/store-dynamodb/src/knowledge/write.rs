//! Ingestion into the table: one replica at a time per source (a lease item),
//! chunks written before the document item that points at them, so a reader never
//! sees a document without its chunks.

use super::mirror::encode;
use super::*;
use crate::error::{backend, condition_failed};
use crate::item::{Item, Read, json, key, n, s, with_body};
use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};
use std::collections::HashSet;
use switchboard_knowledge::ingest::{
    Prepared, chunk_texts, fingerprint, is_current_fingerprint, prepare,
};

/// How long a lease holds if its holder dies without releasing it.
const LEASE: Duration = Duration::from_secs(600);
/// How long an ingestion waits for another replica's lease on the same source.
const LEASE_WAIT: Duration = Duration::from_secs(60);

/// A stored document's version: where its chunks are.
struct Stored {
    fingerprint: String,
    version: String,
    chunks: usize,
}

fn millis(at: std::time::SystemTime) -> u128 {
    at.duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
}

impl DynamoKnowledge {
    pub(super) async fn write_source(
        &self,
        source: &str,
        documents: Vec<Document>,
    ) -> Result<IngestReport, KnowledgeError> {
        let lease = self.lease(source).await?;
        let written = self.replace_source(source, documents).await;
        self.release(source, &lease).await;
        written
    }

    pub(super) async fn delete_source(&self, source: &str) -> Result<usize, KnowledgeError> {
        let lease = self.lease(source).await?;
        let removed = self.clear_source(source).await;
        self.release(source, &lease).await;
        removed
    }

    async fn replace_source(
        &self,
        source: &str,
        documents: Vec<Document>,
    ) -> Result<IngestReport, KnowledgeError> {
        let stored = self.stored_documents(source).await?;
        let mut report = IngestReport::default();
        let mut incoming: HashMap<String, Document> = HashMap::new();
        for document in documents {
            incoming.insert(document.id.clone(), document);
        }
        let changed: Vec<Document> = incoming
            .values()
            .filter(|d| {
                let same = stored
                    .get(&d.id)
                    .is_some_and(|s| s.fingerprint == fingerprint(d));
                report.unchanged += usize::from(same);
                !same
            })
            .cloned()
            .collect();
        let (upgraded, changed) = self.reuse_vectors(source, &stored, changed).await?;
        report.unchanged += upgraded.len();
        let prepared = prepare(&*self.embedder, self.chunking, changed).await?;
        self.check_signature(&prepared).await?;
        report.indexed += prepared.len();
        report.chunks += prepared.iter().map(|p| p.chunks.len()).sum::<usize>();
        let rewritten = prepared.len() + upgraded.len();
        for p in prepared.into_iter().chain(upgraded) {
            let previous = stored.get(&p.document.id);
            self.write_document(source, p).await?;
            if let Some(previous) = previous {
                self.delete_chunks(source, previous).await?;
            }
        }
        let ids: HashSet<&String> = incoming.keys().collect();
        for (id, previous) in stored.iter().filter(|(id, _)| !ids.contains(id)) {
            self.delete_items(vec![key(source_partition(source), document(id))])
                .await?;
            self.delete_chunks(source, previous).await?;
            report.removed += 1;
        }
        if rewritten + report.removed > 0 {
            self.publish(source, incoming.len()).await?;
        }
        Ok(report)
    }

    async fn clear_source(&self, source: &str) -> Result<usize, KnowledgeError> {
        let items = crate::pages::query_prefix(&self.store, source_partition(source), "")
            .await
            .map_err(failed)?;
        let documents = items
            .iter()
            .filter(|i| i.string("sk").is_ok_and(|sk| sk.starts_with("DOC#")))
            .count();
        let keys = items
            .iter()
            .filter_map(|i| Some(key(i.string("pk").ok()?, i.string("sk").ok()?)))
            .collect();
        self.delete_items(keys).await?;
        if !items.is_empty() {
            self.publish(source, 0).await?;
        }
        Ok(documents)
    }

    async fn stored_documents(
        &self,
        source: &str,
    ) -> Result<HashMap<String, Stored>, KnowledgeError> {
        let items = crate::pages::query_prefix(&self.store, source_partition(source), "DOC#")
            .await
            .map_err(failed)?;
        items
            .iter()
            .map(|item| {
                let id = item.string("id").map_err(failed)?.to_owned();
                let stored = Stored {
                    fingerprint: item.string("fp").map_err(failed)?.to_owned(),
                    version: item.string("ver").map_err(failed)?.to_owned(),
                    chunks: usize::try_from(item.number("chunks").map_err(failed)?).unwrap_or(0),
                };
                Ok((id, stored))
            })
            .collect()
    }

    /// Of the `changed` documents, those stored with a fingerprint of an older
    /// version whose chunks' texts are the stored ones come back ready to write
    /// with the stored vectors and a current fingerprint (nothing to embed); the
    /// rest, to be embedded.
    async fn reuse_vectors(
        &self,
        source: &str,
        stored: &HashMap<String, Stored>,
        mut changed: Vec<Document>,
    ) -> Result<(Vec<Prepared>, Vec<Document>), KnowledgeError> {
        let legacy: HashSet<String> = changed
            .iter()
            .filter(|d| {
                stored
                    .get(&d.id)
                    .is_some_and(|s| !is_current_fingerprint(&s.fingerprint))
            })
            .map(|d| d.id.clone())
            .collect();
        if legacy.is_empty() {
            return Ok((Vec::new(), changed));
        }
        let mut kept: HashMap<String, Prepared> = self
            .read_source(source)
            .await?
            .into_iter()
            .filter(|p| legacy.contains(&p.document.id))
            .map(|p| (p.document.id.clone(), p))
            .collect();
        let mut upgraded = Vec::new();
        changed.retain(|d| {
            let texts = chunk_texts(d, self.chunking);
            let same = kept
                .get(&d.id)
                .is_some_and(|p| p.chunks.iter().map(|(text, _)| text).eq(texts.iter()));
            if let Some(p) = kept.remove(&d.id).filter(|_| same) {
                upgraded.push(Prepared {
                    document: d.clone(),
                    fingerprint: fingerprint(d),
                    chunks: p.chunks,
                });
            }
            !same
        });
        Ok((upgraded, changed))
    }

    /// The chunks under a new version, then the document item that points at them.
    async fn write_document(&self, source: &str, p: Prepared) -> Result<(), KnowledgeError> {
        let version = uuid::Uuid::new_v4().simple().to_string();
        let partition = source_partition(source);
        let org = p.document.org.clone();
        let acl = json(&p.document.acl).map_err(failed)?;
        let mut items = Vec::with_capacity(p.chunks.len());
        for (i, (text, vector)) in p.chunks.iter().enumerate() {
            let mut item = key(partition.clone(), chunk(&version, i));
            item.insert("doc".into(), s(&p.document.id));
            item.insert("ver".into(), s(&version));
            item.insert("n".into(), n(i));
            item.insert("text".into(), s(text));
            item.insert("vec".into(), encode(vector));
            item.insert("acl".into(), acl.clone());
            if let Some(org) = &org {
                item.insert("org".into(), s(org));
            }
            items.push(item);
        }
        self.put_items(items).await?;
        // The text lives in the chunks; the document item keeps what lists need.
        let document = Document {
            content: String::new(),
            ..p.document
        };
        let mut item =
            with_body(partition, self::document(&document.id), &document).map_err(failed)?;
        item.insert("id".into(), s(&document.id));
        item.insert("fp".into(), s(&p.fingerprint));
        item.insert("ver".into(), s(&version));
        item.insert("chunks".into(), n(p.chunks.len()));
        item.insert("acl".into(), acl);
        if let Some(org) = &org {
            item.insert("org".into(), s(org));
        }
        self.store.put_item(item).await.map_err(failed)
    }

    async fn delete_chunks(&self, source: &str, stored: &Stored) -> Result<(), KnowledgeError> {
        let keys = (0..stored.chunks)
            .map(|i| key(source_partition(source), chunk(&stored.version, i)))
            .collect();
        self.delete_items(keys).await
    }

    /// Marks the source changed: a new revision, and the generation moves on so
    /// every replica's mirror reloads it.
    async fn publish(&self, source: &str, documents: usize) -> Result<(), KnowledgeError> {
        let entry = key(KNOW, source_entry(source));
        if documents == 0 {
            self.delete_items(vec![entry]).await?;
        } else {
            let mut item = entry;
            item.insert("source".into(), s(source));
            item.insert("rev".into(), s(uuid::Uuid::new_v4().to_string()));
            item.insert("docs".into(), n(documents));
            self.store.put_item(item).await.map_err(failed)?;
        }
        self.store
            .client
            .update_item()
            .table_name(&self.store.table)
            .set_key(Some(key(KNOW, GENERATION)))
            .update_expression("ADD gen :one")
            .expression_attribute_values(":one", n(1))
            .send()
            .await
            .map_err(|e| failed(backend(e)))?;
        Ok(())
    }

    /// Records the embedder on first use; refuses vectors of any other.
    async fn check_signature(&self, prepared: &[Prepared]) -> Result<(), KnowledgeError> {
        let Some(dimension) = prepared
            .iter()
            .flat_map(|p| &p.chunks)
            .map(|(_, v)| v.len())
            .next()
        else {
            return Ok(());
        };
        let offered = EmbedderSignature {
            name: self.embedder.name(),
            dimension,
        };
        let stored = match self.stored_signature().await? {
            Some(stored) => stored,
            None => {
                let item = with_body(KNOW, SIGNATURE, &offered).map_err(failed)?;
                let put = self
                    .store
                    .client
                    .put_item()
                    .table_name(&self.store.table)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(pk)")
                    .send()
                    .await;
                match put {
                    Ok(_) => return Ok(()),
                    Err(e) if condition_failed(&e) => self
                        .stored_signature()
                        .await?
                        .unwrap_or_else(|| offered.clone()),
                    Err(e) => return Err(failed(backend(e))),
                }
            }
        };
        if stored != offered {
            return Err(KnowledgeError::EmbedderMismatch {
                index: stored,
                offered,
            });
        }
        Ok(())
    }

    async fn put_items(&self, items: Vec<Item>) -> Result<(), KnowledgeError> {
        let requests = items
            .into_iter()
            .map(|item| {
                PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map(|put| WriteRequest::builder().put_request(put).build())
                    .map_err(|e| failed(backend(e)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.batch_write(requests).await
    }

    async fn delete_items(&self, keys: Vec<Item>) -> Result<(), KnowledgeError> {
        let requests = keys
            .into_iter()
            .map(|key| {
                DeleteRequest::builder()
                    .set_key(Some(key))
                    .build()
                    .map(|delete| WriteRequest::builder().delete_request(delete).build())
                    .map_err(|e| failed(backend(e)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.batch_write(requests).await
    }

    /// Writes in batches of 25 (DynamoDB's limit), again for what was throttled.
    async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<(), KnowledgeError> {
        let table = self.store.table.clone();
        for batch in requests.chunks(25) {
            let mut pending = batch.to_vec();
            let mut attempt = 0u32;
            while !pending.is_empty() {
                let out = self
                    .store
                    .client
                    .batch_write_item()
                    .request_items(&table, pending)
                    .send()
                    .await
                    .map_err(|e| failed(backend(e)))?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut left| left.remove(&table))
                    .unwrap_or_default();
                if !pending.is_empty() {
                    attempt += 1;
                    if attempt > 10 {
                        return Err(KnowledgeError::Backend(
                            "dynamodb: writes kept being throttled".into(),
                        ));
                    }
                    tokio::time::sleep(Duration::from_millis(50 << attempt.min(5))).await;
                }
            }
        }
        Ok(())
    }

    /// Takes the source's lease, waiting for another replica's to end.
    async fn lease(&self, source: &str) -> Result<String, KnowledgeError> {
        let owner = uuid::Uuid::new_v4().to_string();
        let started = Instant::now();
        loop {
            let now = std::time::SystemTime::now();
            let mut item = key(KNOW, source_lock(source));
            item.insert("owner".into(), s(&owner));
            item.insert("until".into(), n(millis(now + LEASE)));
            let taken = self
                .store
                .client
                .put_item()
                .table_name(&self.store.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk) OR #until < :now")
                .expression_attribute_names("#until", "until")
                .expression_attribute_values(":now", n(millis(now)))
                .send()
                .await;
            match taken {
                Ok(_) => return Ok(owner),
                Err(e) if condition_failed(&e) && started.elapsed() < LEASE_WAIT => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) if condition_failed(&e) => {
                    return Err(KnowledgeError::Backend(format!(
                        "source '{source}' is being ingested elsewhere for more than {LEASE_WAIT:?}"
                    )));
                }
                Err(e) => return Err(failed(backend(e))),
            }
        }
    }

    async fn release(&self, source: &str, owner: &str) {
        let released = self
            .store
            .client
            .delete_item()
            .table_name(&self.store.table)
            .set_key(Some(key(KNOW, source_lock(source))))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await;
        if let Err(e) = released
            && !condition_failed(&e)
        {
            tracing::warn!(source, error = %backend(e), "cannot release a knowledge lease; it expires");
        }
    }
}
