//! The unit of ingestion.

use crate::Acl;
use serde::{Deserialize, Serialize};

/// A document as ingested. Re-ingesting a document with the same `id` replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// Stable id; citations carry it.
    pub id: String,
    /// Where it came from (a path, a URL); shown as the citation title by default.
    pub source: String,
    pub title: Option<String>,
    /// A link for citations, when the document has one.
    pub url: Option<String>,
    pub content: String,
    /// The owning organisation; `None` belongs to every organisation.
    pub org: Option<String>,
    pub acl: Acl,
    /// Document sets this document belongs to (for scoping and administration).
    #[serde(default)]
    pub sets: Vec<String>,
}

impl Document {
    /// The document without U+0000 characters, which no store can keep in text
    /// (PostgreSQL refuses them) and no reader needs. Every index ingests documents
    /// through this, so they read the same on every store.
    pub fn without_nul(mut self) -> Self {
        fn scrub(text: &mut String) {
            if text.contains('\0') {
                text.retain(|c| c != '\0');
            }
        }
        for text in [&mut self.id, &mut self.source, &mut self.content] {
            scrub(text);
        }
        for text in [&mut self.title, &mut self.url, &mut self.org]
            .into_iter()
            .flatten()
        {
            scrub(text);
        }
        self.sets.iter_mut().for_each(scrub);
        if let crate::Acl::Restricted { users, groups } = &mut self.acl {
            users.iter_mut().chain(groups.iter_mut()).for_each(scrub);
        }
        self
    }

    /// A document whose id is its source, visible to every organisation.
    pub fn public(source: impl Into<String>, content: impl Into<String>) -> Self {
        let source = source.into();
        let url = (source.starts_with("http://") || source.starts_with("https://"))
            .then(|| source.clone());
        Self {
            id: source.clone(),
            source,
            title: None,
            url,
            content: content.into(),
            org: None,
            acl: Acl::Org,
            sets: Vec::new(),
        }
    }

    /// The label citations show.
    pub fn display_title(&self) -> &str {
        self.title.as_deref().unwrap_or(&self.source)
    }
}

/// What a knowledge base holds about one document, without its text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentInfo {
    /// The source the document was ingested under (see `ingest_source`).
    pub source_key: String,
    pub id: String,
    pub source: String,
    pub title: Option<String>,
    pub url: Option<String>,
    pub org: Option<String>,
    pub acl: Acl,
    pub sets: Vec<String>,
    /// How many chunks it was split into.
    pub chunks: usize,
}
