//! A single web page.

use super::files::markdown_title;
use super::html::{content_type_charset, decode_html, html_links};
use super::{Source, SourceConfig, SourceError, html_to_text, stamp};
use crate::Document;
use async_trait::async_trait;
use reqwest::header::{CONTENT_TYPE, USER_AGENT};
use reqwest::{Client, Response, Url};
use std::time::Duration;

/// Sent with every request sources make.
pub(super) const AGENT: &str = "switchboard-knowledge";

/// Bodies larger than this are refused rather than indexed in part.
pub(super) const MAX_BODY_BYTES: usize = 5 * 1024 * 1024;

pub(super) const TIMEOUT: Duration = Duration::from_secs(15);

/// A web page, fetched whole on every ingest.
#[derive(Debug)]
pub struct WebSource {
    config: SourceConfig,
    key: String,
    /// The URL as configured: the document's stable id.
    id: String,
    url: Url,
    http: Client,
}

impl WebSource {
    /// Fails when the configuration has no `url` or it is not an http(s) URL.
    pub fn new(config: SourceConfig, http: Client) -> Result<Self, SourceError> {
        let id = config
            .url
            .as_deref()
            .map(str::trim)
            .ok_or_else(|| SourceError::Config("a web source needs a 'url'".into()))?
            .to_string();
        let url = Url::parse(&id)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https"))
            .ok_or_else(|| SourceError::Config(format!("source url {id} is not an http(s) URL")))?;
        let key = config.name.clone().unwrap_or_else(|| id.clone());
        Ok(Self {
            config,
            key,
            id,
            url,
            http,
        })
    }
}

#[async_trait]
impl Source for WebSource {
    fn key(&self) -> &str {
        &self.key
    }

    async fn fetch(&self) -> Result<Vec<Document>, SourceError> {
        let page =
            fetch_page(&self.http, &self.url)
                .await
                .map_err(|reason| SourceError::Fetch {
                    url: self.url.to_string(),
                    reason,
                })?;
        if page.content.trim().is_empty() {
            return Ok(Vec::new());
        }
        let document = Document {
            id: self.id.clone(),
            source: self.id.clone(),
            title: page.title,
            url: Some(page.url.to_string()),
            content: page.content,
            org: None,
            acl: Default::default(),
            sets: Vec::new(),
        };
        Ok(vec![stamp(document, &self.config)])
    }
}

/// A fetched page as text.
pub(super) struct Page {
    /// Where it was found, after redirects.
    pub url: Url,
    pub title: Option<String>,
    /// Markdown text.
    pub content: String,
    /// Its links (absolute, without fragments), when it was HTML.
    pub links: Vec<Url>,
}

/// Fetches one page: HTML (in its charset), Markdown or plain text, at most 5 MiB;
/// anything else, or a status other than 2xx, is an error saying which.
pub(super) async fn fetch_page(http: &Client, url: &Url) -> Result<Page, String> {
    let response = http
        .get(url.clone())
        .timeout(TIMEOUT)
        .header(USER_AGENT, AGENT)
        .send()
        .await
        .map_err(|err| http_reason(&err))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("HTTP {status}"));
    }
    let final_url = response.url().clone();
    let header = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let content_type = header
        .split(';')
        .next()
        .map(|value| value.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let bytes = read_capped(response, MAX_BODY_BYTES).await?;
    let charset = content_type_charset(&header);
    let body = String::from_utf8_lossy(&bytes);
    let is_html = matches!(content_type.as_str(), "text/html" | "application/xhtml+xml")
        || (!matches!(
            content_type.as_str(),
            "text/markdown" | "text/x-markdown" | "text/plain"
        ) && looks_like_html(&body));
    if is_html {
        let html = decode_html(&bytes, charset);
        let (title, content) = html_to_text(&html);
        let links = html_links(&html, &final_url);
        return Ok(Page {
            url: final_url,
            title,
            content,
            links,
        });
    }
    let (title, content) = match content_type.as_str() {
        "text/markdown" | "text/x-markdown" => (markdown_title(&body), body.into_owned()),
        "text/plain" => (None, body.into_owned()),
        "" => return Err("no content type".into()),
        other => return Err(format!("unsupported content type {other}")),
    };
    Ok(Page {
        url: final_url,
        title,
        content,
        links: Vec::new(),
    })
}

fn looks_like_html(body: &str) -> bool {
    let start = body.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    let head = start.get(..9).unwrap_or(start).to_ascii_lowercase();
    head.starts_with("<!doctype") || head.starts_with("<html")
}

/// Reads a response body, refusing one over `limit` bytes without reading on.
pub(super) async fn read_capped(mut response: Response, limit: usize) -> Result<Vec<u8>, String> {
    let too_large = || format!("too large (over {} KiB)", limit / 1024);
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|err| http_reason(&err))? {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A transport error with its causes ("error sending request" alone says little).
pub(super) fn http_reason(err: &reqwest::Error) -> String {
    let mut reason = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "cannot connect"
    } else if err.is_redirect() {
        "too many redirects"
    } else if err.is_body() || err.is_decode() {
        "broken response body"
    } else {
        "request failed"
    }
    .to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
        source = cause.source();
    }
    reason
}
