//! Where documents come from: a folder or file, a web page, a GitHub repository.
//!
//! A source is ingested as a whole: re-ingesting it replaces all of its documents
//! (files deleted since disappear from the index), and removing it removes them.

mod files;
mod github;
mod html;
mod markup;
mod office;
mod site;
mod web;

pub use files::FileSource;
pub use github::GitHubSource;
pub use html::html_to_text;
pub use office::{docx_to_text, pdf_to_text};
pub use site::{CrawlConfig, CrawlReport, DEFAULT_MAX_PAGES, MAX_PAGES, SiteSource};
pub use web::WebSource;

use crate::{Acl, Document};
use async_trait::async_trait;
use serde::Deserialize;

/// What an operator configures for a source (in the agent configuration file's
/// `sources` list). Exactly one of `path`, `url` or `github` is set.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceConfig {
    /// A name for the source; documents' ids start with it. Defaults to the path,
    /// URL or `owner/repo`.
    pub name: Option<String>,
    /// A folder (walked recursively: `.md`, `.markdown`, `.mdx`, `.txt`, `.text`,
    /// `.html`, `.htm`) or a single file (read whatever its extension).
    pub path: Option<String>,
    /// A web page (HTML is converted to text); with `crawl`, a whole site from it.
    pub url: Option<String>,
    /// Crawl the site from `url`: its sitemap and same-site links within the URL's
    /// folder, up to `maxPages`, honouring robots.txt.
    pub crawl: Option<CrawlConfig>,
    pub github: Option<GitHubConfig>,
    /// The owning organisation; omitted means every organisation.
    pub org: Option<String>,
    /// Who may see the documents; omitted means everyone in the organisation.
    #[serde(default)]
    pub acl: Acl,
    #[serde(default)]
    pub sets: Vec<String>,
    /// Re-ingest every this many seconds (omitted: only at start-up).
    pub refresh_secs: Option<u64>,
}

/// A GitHub repository, read through the REST contents API.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GitHubConfig {
    pub owner: String,
    pub repo: String,
    /// Branch, tag or commit; omitted means the default branch.
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    /// Only files under this folder of the repository.
    pub path: Option<String>,
    /// The name of an environment variable holding a token (for private
    /// repositories and higher rate limits). The token itself is never stored.
    pub token_env: Option<String>,
    /// API base URL (default `https://api.github.com`; GitHub Enterprise or tests).
    pub api_url: Option<String>,
}

/// Why a source could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{0}")]
    Config(String),
    #[error("cannot read {path}: {reason}")]
    Io { path: String, reason: String },
    #[error("cannot fetch {url}: {reason}")]
    Fetch { url: String, reason: String },
}

/// Something that produces documents.
#[async_trait]
pub trait Source: Send + Sync {
    /// The source's stable key: re-ingesting the same key replaces its documents.
    fn key(&self) -> &str;

    /// Every document the source holds now.
    async fn fetch(&self) -> Result<Vec<Document>, SourceError>;
}

/// Stamps a source's organisation, access list and sets on its documents.
pub(crate) fn stamp(mut document: Document, config: &SourceConfig) -> Document {
    document.org = config.org.clone();
    document.acl = config.acl.clone();
    document.sets = config.sets.clone();
    document
}

impl SourceConfig {
    /// Builds the source this configuration describes.
    pub fn build(&self, http: reqwest::Client) -> Result<Box<dyn Source>, SourceError> {
        if self.crawl.is_some() && self.url.is_none() {
            return Err(SourceError::Config(
                "'crawl' goes with a 'url' (the site's start page)".into(),
            ));
        }
        match (&self.path, &self.url, &self.github) {
            (Some(_), None, None) => Ok(Box::new(FileSource::new(self.clone())?)),
            (None, Some(_), None) if self.crawl.is_some() => {
                Ok(Box::new(SiteSource::new(self.clone(), http)?))
            }
            (None, Some(_), None) => Ok(Box::new(WebSource::new(self.clone(), http)?)),
            (None, None, Some(_)) => Ok(Box::new(GitHubSource::new(self.clone(), http)?)),
            _ => Err(SourceError::Config(
                "a source needs exactly one of 'path', 'url' or 'github'".into(),
            )),
        }
    }
}
