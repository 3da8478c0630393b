//! A web site: the pages its sitemap lists and those its pages link to, within the
//! start URL's folder on the same origin, up to a page budget, honouring
//! robots.txt.
//!
//! Configured as a web source with `crawl`: `{"url": "https://docs.example.com/",
//! "crawl": {"maxPages": 200}}`. One page is fetched at a time.

use super::markup::xml_reference;
use super::web::{AGENT, fetch_page, http_reason, read_capped};
use super::{Source, SourceConfig, SourceError, stamp};
use crate::Document;
use async_trait::async_trait;
use quick_xml::events::Event;
use reqwest::header::USER_AGENT;
use reqwest::{Client, Url};
use robotstxt::{DefaultMatcher, RobotsParseHandler, parse_robotstxt};
use serde::Deserialize;
use std::collections::{HashSet, VecDeque};
use std::time::Duration;

/// Pages fetched when `maxPages` is not given.
pub const DEFAULT_MAX_PAGES: usize = 100;
/// The most pages one crawl may fetch.
pub const MAX_PAGES: usize = 5000;
/// robots.txt and sitemaps larger than this are refused.
const MAX_META_BYTES: usize = 2 * 1024 * 1024;
/// The most sitemap files read (an index and the sitemaps it lists).
const MAX_SITEMAPS: usize = 20;
const META_TIMEOUT: Duration = Duration::from_secs(15);

/// `crawl` in a web source's configuration.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CrawlConfig {
    /// The page budget (default 100, at most 5000).
    pub max_pages: Option<usize>,
}

/// What one crawl did, for the log.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CrawlReport {
    pub fetched: usize,
    pub failed: usize,
    pub refused_by_robots: usize,
    /// Pages found but left out because the budget was spent.
    pub over_budget: usize,
}

/// A site crawled from a start URL.
#[derive(Debug)]
pub struct SiteSource {
    config: SourceConfig,
    key: String,
    start: Url,
    max_pages: usize,
    http: Client,
}

impl SiteSource {
    /// Fails when the URL is not http(s) or the budget is 0 or over [`MAX_PAGES`].
    pub fn new(config: SourceConfig, http: Client) -> Result<Self, SourceError> {
        let raw = config
            .url
            .as_deref()
            .map(str::trim)
            .ok_or_else(|| SourceError::Config("a crawled source needs a 'url'".into()))?
            .to_owned();
        let mut start = Url::parse(&raw)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
            .ok_or_else(|| {
                SourceError::Config(format!("source url {raw} is not an http(s) URL"))
            })?;
        start.set_fragment(None);
        let max_pages = config
            .crawl
            .as_ref()
            .and_then(|c| c.max_pages)
            .unwrap_or(DEFAULT_MAX_PAGES);
        if max_pages == 0 || max_pages > MAX_PAGES {
            return Err(SourceError::Config(format!(
                "crawl.maxPages must be between 1 and {MAX_PAGES}, not {max_pages}"
            )));
        }
        let key = config.name.clone().unwrap_or_else(|| raw.clone());
        Ok(Self {
            config,
            key,
            start,
            max_pages,
            http,
        })
    }

    /// Whether `url` belongs to the crawl: same origin, under the start's folder.
    fn in_scope(&self, url: &Url) -> bool {
        let folder = match self.start.path().rfind('/') {
            Some(i) => &self.start.path()[..=i],
            None => "/",
        };
        url.origin() == self.start.origin() && url.path().starts_with(folder)
    }

    /// The crawl itself, with its report.
    pub async fn crawl(&self) -> Result<(Vec<Document>, CrawlReport), SourceError> {
        let robots = self.robots().await?;
        let allowed = |url: &Url| {
            robots.as_deref().is_none_or(|txt| {
                DefaultMatcher::default().one_agent_allowed_by_robots(txt, AGENT, url.as_str())
            })
        };
        let mut queue: VecDeque<Url> = VecDeque::from([self.start.clone()]);
        let mut seen: HashSet<Url> = HashSet::from([self.start.clone()]);
        // Bounds what is remembered, whatever the site links to.
        let remember = self.max_pages * 10;
        for url in self.sitemap_pages(robots.as_deref()).await {
            if seen.len() < remember && self.in_scope(&url) && seen.insert(url.clone()) {
                queue.push_back(url);
            }
        }

        let mut report = CrawlReport::default();
        let mut documents = Vec::new();
        let mut ids = HashSet::new();
        while let Some(url) = queue.pop_front() {
            if !allowed(&url) {
                report.refused_by_robots += 1;
                continue;
            }
            if report.fetched + report.failed >= self.max_pages {
                report.over_budget = 1 + queue.iter().filter(|u| allowed(u)).count();
                break;
            }
            let page = match fetch_page(&self.http, &url).await {
                Ok(page) => page,
                Err(reason) if url == self.start => {
                    return Err(SourceError::Fetch {
                        url: url.to_string(),
                        reason,
                    });
                }
                Err(reason) => {
                    tracing::warn!(%url, %reason, "skipping a page that cannot be fetched");
                    report.failed += 1;
                    continue;
                }
            };
            report.fetched += 1;
            for link in &page.links {
                if seen.len() < remember && self.in_scope(link) && seen.insert(link.clone()) {
                    queue.push_back(link.clone());
                }
            }
            // A redirect may land outside the crawl, or on a page already taken.
            let mut id = page.url.clone();
            id.set_fragment(None);
            if !self.in_scope(&id) || !allowed(&id) || !ids.insert(id.clone()) {
                continue;
            }
            if page.content.trim().is_empty() {
                continue;
            }
            let document = Document {
                id: id.to_string(),
                source: id.to_string(),
                title: page.title,
                url: Some(id.to_string()),
                content: page.content,
                org: None,
                acl: Default::default(),
                sets: Vec::new(),
            };
            documents.push(stamp(document, &self.config));
        }
        tracing::info!(
            site = %self.start,
            pages = report.fetched,
            failed = report.failed,
            refused_by_robots = report.refused_by_robots,
            over_budget = report.over_budget,
            "site crawled"
        );
        Ok((documents, report))
    }

    /// The site's robots.txt: `None` when it has none (4xx). A server error or an
    /// unreachable server stops the crawl: nothing is fetched against the site's
    /// wishes, and the source keeps what it held.
    async fn robots(&self) -> Result<Option<String>, SourceError> {
        let url = self
            .start
            .join("/robots.txt")
            .map_err(|e| SourceError::Config(e.to_string()))?;
        let failed = |reason: String| SourceError::Fetch {
            url: url.to_string(),
            reason: format!("{reason}; not crawling without the site's robots.txt"),
        };
        let response = self
            .http
            .get(url.clone())
            .timeout(META_TIMEOUT)
            .header(USER_AGENT, AGENT)
            .send()
            .await
            .map_err(|e| failed(http_reason(&e)))?;
        let status = response.status();
        if status.is_client_error() {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(failed(format!("HTTP {status}")));
        }
        let body = read_capped(response, MAX_META_BYTES)
            .await
            .map_err(failed)?;
        Ok(Some(String::from_utf8_lossy(&body).into_owned()))
    }

    /// Page URLs from the sitemaps robots.txt names (or `/sitemap.xml`), following
    /// sitemap indexes; unreadable sitemaps are logged and skipped.
    async fn sitemap_pages(&self, robots: Option<&str>) -> Vec<Url> {
        let mut sitemaps: VecDeque<Url> = robots
            .map(sitemaps_in)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|s| Url::parse(&s).ok())
            .filter(|u| u.origin() == self.start.origin())
            .collect();
        if sitemaps.is_empty()
            && let Ok(default) = self.start.join("/sitemap.xml")
        {
            sitemaps.push_back(default);
        }
        let mut pages = Vec::new();
        let mut read = 0;
        while let Some(sitemap) = sitemaps.pop_front() {
            if read == MAX_SITEMAPS {
                tracing::warn!(site = %self.start, "more than {MAX_SITEMAPS} sitemaps; reading no more");
                break;
            }
            read += 1;
            let Some(xml) = self.sitemap(&sitemap).await else {
                continue;
            };
            let (locations, nested) = sitemap_locations(&xml);
            pages.extend(locations.iter().filter_map(|l| Url::parse(l).ok()));
            sitemaps.extend(
                nested
                    .iter()
                    .filter_map(|l| Url::parse(l).ok())
                    .filter(|u| u.origin() == self.start.origin()),
            );
            if pages.len() >= self.max_pages * 10 {
                break;
            }
        }
        pages
    }

    async fn sitemap(&self, url: &Url) -> Option<String> {
        let response = self
            .http
            .get(url.clone())
            .timeout(META_TIMEOUT)
            .header(USER_AGENT, AGENT)
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        match read_capped(response, MAX_META_BYTES).await {
            Ok(body) => Some(String::from_utf8_lossy(&body).into_owned()),
            Err(reason) => {
                tracing::warn!(%url, %reason, "skipping a sitemap");
                None
            }
        }
    }
}

#[async_trait]
impl Source for SiteSource {
    fn key(&self) -> &str {
        &self.key
    }

    async fn fetch(&self) -> Result<Vec<Document>, SourceError> {
        Ok(self.crawl().await?.0)
    }
}

/// The `Sitemap:` lines of a robots.txt.
fn sitemaps_in(robots: &str) -> Vec<String> {
    struct Sitemaps(Vec<String>);
    impl RobotsParseHandler for Sitemaps {
        fn handle_robots_start(&mut self) {}
        fn handle_robots_end(&mut self) {}
        fn handle_user_agent(&mut self, _: u32, _: &str) {}
        fn handle_allow(&mut self, _: u32, _: &str) {}
        fn handle_disallow(&mut self, _: u32, _: &str) {}
        fn handle_sitemap(&mut self, _: u32, value: &str) {
            self.0.push(value.trim().to_owned());
        }
        fn handle_unknown_action(&mut self, _: u32, _: &str, _: &str) {}
    }
    let mut found = Sitemaps(Vec::new());
    parse_robotstxt(robots, &mut found);
    found.0
}

/// The `<loc>`s of a sitemap: pages (`<url>`) and nested sitemaps (`<sitemap>`,
/// in a sitemap index). Malformed XML yields what was read before the fault.
fn sitemap_locations(xml: &str) -> (Vec<String>, Vec<String>) {
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut pages, mut nested) = (Vec::new(), Vec::new());
    let mut in_sitemap = false;
    // The text of the `<loc>` being read.
    let mut loc: Option<String> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => match e.local_name().as_ref() {
                b"sitemap" => in_sitemap = true,
                b"url" => in_sitemap = false,
                b"loc" => loc = Some(String::new()),
                _ => {}
            },
            Ok(Event::Text(text)) => {
                if let (Some(loc), Ok(text)) = (loc.as_mut(), text.decode()) {
                    loc.push_str(&text);
                }
            }
            // `&amp;` and friends arrive on their own.
            Ok(Event::GeneralRef(reference)) => {
                if let Some(loc) = loc.as_mut() {
                    loc.extend(xml_reference(&reference));
                }
            }
            Ok(Event::End(e)) if e.local_name().as_ref() == b"loc" => {
                let text = loc.take().unwrap_or_default().trim().to_owned();
                if !text.is_empty() {
                    if in_sitemap { &mut nested } else { &mut pages }.push(text);
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    (pages, nested)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sitemaps_and_indexes_are_read() {
        let (pages, nested) = sitemap_locations(
            r#"<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
              <url><loc> https://d.test/a?x=1&amp;y=2 </loc></url><url><loc>https://d.test/b</loc></url></urlset>"#,
        );
        assert_eq!(pages, ["https://d.test/a?x=1&y=2", "https://d.test/b"]);
        assert!(nested.is_empty());
        let (pages, nested) = sitemap_locations(
            "<sitemapindex><sitemap><loc>https://d.test/s1.xml</loc></sitemap></sitemapindex>",
        );
        assert!(pages.is_empty());
        assert_eq!(nested, ["https://d.test/s1.xml"]);
        assert_eq!(
            sitemap_locations("<urlset><url><loc>x").0,
            Vec::<String>::new()
        );
    }

    #[test]
    fn robots_names_its_sitemaps() {
        assert_eq!(
            sitemaps_in("User-agent: *\nDisallow: /x\nSitemap: https://d.test/map.xml\n"),
            ["https://d.test/map.xml"]
        );
    }
}
