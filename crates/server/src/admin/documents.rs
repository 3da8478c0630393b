//! The organisation's documents and document sets: `GET`, `POST /admin/documents`,
//! `DELETE /admin/documents/{id}` and `GET /admin/document-sets`.
//!
//! Ingested documents belong to the caller's organisation (their `org` is set, so
//! turns of other organisations never retrieve them) and are stored under names
//! that embed it (see `namespace.rs`).

use super::extract::{Body, PathId};
use super::namespace::{self, Origin};
use super::{AdminError, Caller};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use switchboard_core::ConnectorId;
use switchboard_knowledge::{Acl, Document, DocumentInfo};

/// Documents per `POST`, at most.
const MAX_DOCUMENTS: usize = 100;
const MAX_ID_CHARS: usize = 256;
const MAX_LABEL_CHARS: usize = 500;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestRequest {
    documents: Vec<NewDocument>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewDocument {
    /// Defaults to a fresh UUID; re-sending an id replaces that document.
    id: Option<String>,
    source: String,
    title: Option<String>,
    content: String,
    url: Option<String>,
    #[serde(default)]
    acl: Acl,
    #[serde(default)]
    sets: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestReply {
    /// The ingested documents' ids, in request order.
    ids: Vec<String>,
    /// Documents added or changed.
    indexed: usize,
    /// Documents sent again unchanged (left as they were).
    unchanged: usize,
    /// Chunks of the indexed documents.
    chunks: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentList {
    documents: Vec<DocumentRow>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DocumentRow {
    id: String,
    source: String,
    title: Option<String>,
    url: Option<String>,
    sets: Vec<String>,
    /// `org` (everyone in the organisation) or `restricted`.
    visibility: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    users: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    groups: Vec<String>,
    chunks: usize,
    /// `api` (ingested here, deletable here), `connector` or `config` (the server's
    /// configuration gives it to the organisation).
    origin: &'static str,
    /// The connector that indexed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    connector_id: Option<ConnectorId>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SetList {
    document_sets: Vec<SetRow>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SetRow {
    name: String,
    document_count: usize,
}

/// `GET /admin/documents`: the organisation's documents (ingested here, by its
/// connectors, or given to it by the server's configuration), without their text.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<DocumentList>, AdminError> {
    let org = caller.org();
    let documents = state
        .knowledge()
        .org_documents(org.as_str())
        .await?
        .into_iter()
        .map(|info| document_row(namespace::origin(&org, &info.id), info))
        .collect();
    Ok(Json(DocumentList { documents }))
}

/// `POST /admin/documents`: adds or replaces documents of the organisation.
pub async fn ingest(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<IngestRequest>,
) -> Result<Json<IngestReply>, AdminError> {
    let org = caller.org();
    let documents = validate(request.documents)?;
    let mut reply = IngestReply {
        ids: Vec::with_capacity(documents.len()),
        indexed: 0,
        unchanged: 0,
        chunks: 0,
    };
    for (id, new) in documents {
        let key = namespace::upload(&org, &id);
        let document = Document {
            id: key.clone(),
            source: new.source,
            title: new.title,
            url: new.url,
            content: new.content,
            org: Some(org.as_str().to_owned()),
            acl: new.acl,
            sets: new.sets,
        };
        let report = state
            .knowledge()
            .ingest_source(&key, vec![document])
            .await?;
        reply.indexed += report.indexed;
        reply.unchanged += report.unchanged;
        reply.chunks += report.chunks;
        reply.ids.push(id);
    }
    Ok(Json(reply))
}

/// `DELETE /admin/documents/{id}`: removes a document ingested here. (A
/// connector's documents go with the connector, or with its next index.)
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<StatusCode, AdminError> {
    let key = namespace::upload(&caller.org(), &id);
    match state.knowledge().remove_source(&key).await? {
        0 => Err(AdminError::NotFound(format!("document '{id}' not found"))),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}

/// `GET /admin/document-sets`: each set the organisation's documents belong to,
/// with how many do, sorted by name.
pub async fn sets(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<SetList>, AdminError> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for info in state
        .knowledge()
        .org_documents(caller.org().as_str())
        .await?
    {
        for set in info.sets {
            *counts.entry(set).or_default() += 1;
        }
    }
    Ok(Json(SetList {
        document_sets: counts
            .into_iter()
            .map(|(name, document_count)| SetRow {
                name,
                document_count,
            })
            .collect(),
    }))
}

fn document_row(origin: Option<Origin>, info: DocumentInfo) -> DocumentRow {
    let (id, origin, connector_id) = match origin {
        Some(Origin::Upload { id }) => (id, "api", None),
        Some(Origin::Connector { connector, id }) => (id, "connector", Some(connector)),
        None => (info.id, "config", None),
    };
    let (visibility, users, groups) = match info.acl {
        Acl::Org => ("org", Vec::new(), Vec::new()),
        Acl::Restricted { users, groups } => ("restricted", users, groups),
    };
    DocumentRow {
        id,
        source: info.source,
        title: info.title,
        url: info.url,
        sets: info.sets,
        visibility,
        users,
        groups,
        chunks: info.chunks,
        origin,
        connector_id,
    }
}

/// Checks every document before any is ingested, and gives each its id.
fn validate(documents: Vec<NewDocument>) -> Result<Vec<(String, NewDocument)>, AdminError> {
    let invalid =
        |i: usize, problem: &str| AdminError::Validation(format!("documents[{i}]: {problem}"));
    if documents.is_empty() || documents.len() > MAX_DOCUMENTS {
        return Err(AdminError::Validation(format!(
            "'documents' must hold 1 to {MAX_DOCUMENTS} documents"
        )));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(documents.len());
    for (i, mut document) in documents.into_iter().enumerate() {
        let id = match document.id.take() {
            Some(id) => id.trim().to_owned(),
            None => uuid::Uuid::new_v4().to_string(),
        };
        if id.is_empty() || id.chars().count() > MAX_ID_CHARS || id.chars().any(char::is_control) {
            return Err(invalid(
                i,
                &format!("'id' must be 1 to {MAX_ID_CHARS} characters, without control characters"),
            ));
        }
        if !seen.insert(id.clone()) {
            return Err(invalid(i, &format!("id '{id}' appears twice")));
        }
        document.source = document.source.trim().to_owned();
        if document.source.is_empty() || document.source.chars().count() > MAX_LABEL_CHARS {
            return Err(invalid(
                i,
                &format!("'source' must be 1 to {MAX_LABEL_CHARS} characters"),
            ));
        }
        if document.content.trim().is_empty() {
            return Err(invalid(i, "'content' must not be blank"));
        }
        document.title = document
            .title
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty());
        if let Some(url) = &document.url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(invalid(i, "'url' must be an http:// or https:// URL"));
        }
        document.sets =
            clean_sets(std::mem::take(&mut document.sets)).map_err(|p| invalid(i, &p))?;
        out.push((id, document));
    }
    Ok(out)
}

/// Set names trimmed, deduplicated and sorted; a blank name is refused.
pub(super) fn clean_sets(sets: Vec<String>) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::with_capacity(sets.len());
    for set in sets {
        let set = set.trim().to_owned();
        if set.is_empty() || set.chars().count() > MAX_ID_CHARS {
            return Err(format!(
                "each of 'sets' must be 1 to {MAX_ID_CHARS} characters"
            ));
        }
        out.push(set);
    }
    out.sort();
    out.dedup();
    Ok(out)
}
