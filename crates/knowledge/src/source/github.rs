//! A GitHub repository's documentation files, read through the REST API: one tree
//! listing, then each file's raw content.

use super::files::convert;
use super::web::{AGENT, http_reason, read_capped};
use super::{Source, SourceConfig, SourceError, stamp};
use crate::Document;
use async_trait::async_trait;
use reqwest::header::{ACCEPT, USER_AGENT};
use reqwest::{Client, Response, StatusCode, Url};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

const DEFAULT_API: &str = "https://api.github.com";
const DEFAULT_WEB: &str = "https://github.com";
const JSON: &str = "application/vnd.github+json";
const RAW: &str = "application/vnd.github.raw";

/// Extensions of the files taken (compared lowercased); `README*` files are too.
const EXTENSIONS: [&str; 8] = ["md", "markdown", "mdx", "txt", "text", "rst", "html", "htm"];
/// Folders never taken, at any depth.
const SKIPPED_DIRS: [&str; 3] = ["node_modules", "vendor", ".github"];
const MAX_FILE_BYTES: u64 = 1024 * 1024;
const MAX_FILES: usize = 2000;
/// Content requests in flight at once (GitHub frowns on bursts).
const CONCURRENCY: usize = 4;
const TIMEOUT: Duration = Duration::from_secs(30);

/// A repository (optionally one folder of it) at a branch, tag or commit.
#[derive(Debug)]
pub struct GitHubSource {
    config: SourceConfig,
    key: String,
    owner: String,
    repo: String,
    reference: Option<String>,
    /// The folder files must be under, without surrounding `/`.
    prefix: Option<String>,
    /// Where `blob` links point (github.com, or the Enterprise host).
    web: Url,
    api: Api,
}

impl GitHubSource {
    /// Fails when the configuration has no `github` block, the API URL is not
    /// http(s), or `tokenEnv` names an unset or empty variable.
    pub fn new(config: SourceConfig, http: Client) -> Result<Self, SourceError> {
        let github = config
            .github
            .clone()
            .ok_or_else(|| SourceError::Config("a GitHub source needs 'github'".into()))?;
        let valid_name = |name: &str| !name.is_empty() && !name.contains('/');
        if !valid_name(&github.owner) || !valid_name(&github.repo) {
            return Err(SourceError::Config(
                "a GitHub source needs an 'owner' and a 'repo' (without '/')".into(),
            ));
        }
        let api_url = github.api_url.as_deref().unwrap_or(DEFAULT_API);
        let api_url = api_url.trim().trim_end_matches('/');
        let base = parse_http(api_url)?;
        // GitHub Enterprise serves the API under `/api/v3` of the web host.
        let web = match api_url.strip_suffix("/api/v3") {
            _ if base.host_str() == Some("api.github.com") => parse_http(DEFAULT_WEB)?,
            Some(host) => parse_http(host)?,
            None => base.clone(),
        };
        let token = match &github.token_env {
            None => None,
            Some(var) => match std::env::var(var) {
                Ok(value) if !value.trim().is_empty() => Some(Token(value.trim().into())),
                _ => {
                    return Err(SourceError::Config(format!(
                        "the GitHub source's tokenEnv names {var}, which is not set or empty"
                    )));
                }
            },
        };
        let prefix = github
            .path
            .as_deref()
            .map(|path| path.trim_matches('/').to_string())
            .filter(|path| !path.is_empty());
        let mut key = format!("{}/{}", github.owner, github.repo);
        if let Some(prefix) = &prefix {
            key = format!("{key}/{prefix}");
        }
        Ok(Self {
            key: config.name.clone().unwrap_or(key),
            owner: github.owner,
            repo: github.repo,
            reference: github.reference.filter(|r| !r.trim().is_empty()),
            prefix,
            web,
            api: Api {
                http,
                base,
                token,
                token_env: github.token_env,
            },
            config,
        })
    }

    async fn default_branch(&self) -> Result<String, SourceError> {
        #[derive(Deserialize)]
        struct Repository {
            default_branch: String,
        }
        let url = self.api.url(["repos", &self.owner, &self.repo]);
        let repository: Repository = self.api.get_json(url).await?;
        Ok(repository.default_branch)
    }

    /// The paths of the files to take at `reference`, sorted.
    async fn list(&self, reference: &str) -> Result<Vec<String>, SourceError> {
        #[derive(Deserialize)]
        struct Tree {
            #[serde(default)]
            tree: Vec<Entry>,
            #[serde(default)]
            truncated: bool,
        }
        #[derive(Deserialize)]
        struct Entry {
            path: String,
            #[serde(rename = "type")]
            kind: String,
            size: Option<u64>,
        }
        let mut url = self
            .api
            .url(["repos", &self.owner, &self.repo, "git", "trees"]);
        push_path(&mut url, reference);
        url.query_pairs_mut().append_pair("recursive", "1");
        let tree: Tree = self.api.get_json(url).await?;
        if tree.truncated {
            let source = &self.key;
            tracing::warn!(%source, "GitHub truncated the file listing: some files are missing");
        }
        let mut paths: Vec<String> = tree
            .tree
            .into_iter()
            .filter(|entry| entry.kind == "blob" && self.wanted(&entry.path))
            .filter(|entry| {
                let small = entry.size.is_none_or(|size| size <= MAX_FILE_BYTES);
                if !small {
                    let (source, path) = (&self.key, &entry.path);
                    tracing::warn!(%source, %path, "skipping a file over 1 MiB");
                }
                small
            })
            .map(|entry| entry.path)
            .collect();
        paths.sort();
        if paths.len() > MAX_FILES {
            let (source, files) = (&self.key, paths.len());
            tracing::warn!(%source, files, "taking only the first {MAX_FILES} files");
            paths.truncate(MAX_FILES);
        }
        Ok(paths)
    }

    fn wanted(&self, path: &str) -> bool {
        let under_prefix = self.prefix.as_deref().is_none_or(|prefix| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        });
        under_prefix && is_documentation(path)
    }

    /// Each path's raw content (`None` when it is not UTF-8), sorted by path.
    async fn download(
        &self,
        reference: &str,
        paths: Vec<String>,
    ) -> Result<Vec<(String, Option<String>)>, SourceError> {
        let permits = Arc::new(Semaphore::new(CONCURRENCY));
        let mut tasks = JoinSet::new();
        for path in paths {
            let mut url = self.api.url(["repos", &self.owner, &self.repo, "contents"]);
            push_path(&mut url, &path);
            url.query_pairs_mut().append_pair("ref", reference);
            let api = self.api.clone();
            let permits = permits.clone();
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                let text = api.get_text(url).await?;
                Ok::<_, SourceError>((path, text))
            });
        }
        let mut files = Vec::with_capacity(tasks.len());
        while let Some(joined) = tasks.join_next().await {
            let file = joined.map_err(|err| SourceError::Fetch {
                url: self.key.clone(),
                reason: format!("download task failed: {err}"),
            })??;
            files.push(file);
        }
        files.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(files)
    }

    fn blob_url(&self, reference: &str, path: &str) -> String {
        let mut url = self.web.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments
                .pop_if_empty()
                .extend([&self.owner, &self.repo, "blob"]);
        }
        push_path(&mut url, reference);
        push_path(&mut url, path);
        url.to_string()
    }
}

#[async_trait]
impl Source for GitHubSource {
    fn key(&self) -> &str {
        &self.key
    }

    async fn fetch(&self) -> Result<Vec<Document>, SourceError> {
        let reference = match &self.reference {
            Some(reference) => reference.clone(),
            None => self.default_branch().await?,
        };
        let paths = self.list(&reference).await?;
        let files = self.download(&reference, paths).await?;
        let documents = files
            .into_iter()
            .filter_map(|(path, text)| {
                let Some(text) = text else {
                    let source = &self.key;
                    tracing::warn!(%source, %path, "skipping a file that is not UTF-8 text");
                    return None;
                };
                let (title, content) = convert(&path, text);
                if content.trim().is_empty() {
                    return None;
                }
                let document = Document {
                    id: format!("{}/{}@{reference}:{path}", self.owner, self.repo),
                    url: Some(self.blob_url(&reference, &path)),
                    source: path,
                    title,
                    content,
                    org: None,
                    acl: Default::default(),
                    sets: Vec::new(),
                };
                Some(stamp(document, &self.config))
            })
            .collect();
        Ok(documents)
    }
}

/// Whether a repository path looks like documentation worth indexing.
fn is_documentation(path: &str) -> bool {
    let mut parts: Vec<&str> = path.split('/').collect();
    let name = parts.pop().unwrap_or_default();
    if parts.iter().any(|dir| SKIPPED_DIRS.contains(dir)) {
        return false;
    }
    let extension = name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase());
    name.starts_with("README") || extension.is_some_and(|ext| EXTENSIONS.contains(&ext.as_str()))
}

/// Appends a `/`-separated path to a URL, percent-encoding each segment.
fn push_path(url: &mut Url, path: &str) {
    if let Ok(mut segments) = url.path_segments_mut() {
        segments
            .pop_if_empty()
            .extend(path.split('/').filter(|part| !part.is_empty()));
    }
}

fn parse_http(url: &str) -> Result<Url, SourceError> {
    Url::parse(url)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .ok_or_else(|| SourceError::Config(format!("GitHub apiUrl {url} is not an http(s) URL")))
}

/// A token read from the environment; never printed.
#[derive(Clone)]
struct Token(Arc<str>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(redacted)")
    }
}

/// The REST API: base URL, headers, and what its error statuses mean.
#[derive(Debug, Clone)]
struct Api {
    http: Client,
    base: Url,
    token: Option<Token>,
    token_env: Option<String>,
}

impl Api {
    fn url<const N: usize>(&self, segments: [&str; N]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: Url) -> Result<T, SourceError> {
        let response = self.get(&url, JSON).await?;
        response.json().await.map_err(|err| SourceError::Fetch {
            url: url.to_string(),
            reason: format!("unexpected response: {}", http_reason(&err)),
        })
    }

    /// A file's raw content; `None` when it is not UTF-8.
    async fn get_text(&self, url: Url) -> Result<Option<String>, SourceError> {
        let response = self.get(&url, RAW).await?;
        let body = read_capped(response, MAX_FILE_BYTES as usize)
            .await
            .map_err(|reason| SourceError::Fetch {
                url: url.to_string(),
                reason,
            })?;
        Ok(String::from_utf8(body).ok())
    }

    async fn get(&self, url: &Url, accept: &str) -> Result<Response, SourceError> {
        let mut request = self
            .http
            .get(url.clone())
            .timeout(TIMEOUT)
            .header(ACCEPT, accept)
            .header(USER_AGENT, AGENT)
            .header("X-GitHub-Api-Version", "2022-11-28");
        if let Some(token) = &self.token {
            request = request.bearer_auth(&token.0);
        }
        let fetch_error = |reason: String| SourceError::Fetch {
            url: url.to_string(),
            reason,
        };
        let response = request
            .send()
            .await
            .map_err(|err| fetch_error(http_reason(&err)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let rate_limited = status == StatusCode::TOO_MANY_REQUESTS
            || (status == StatusCode::FORBIDDEN
                && response
                    .headers()
                    .get("x-ratelimit-remaining")
                    .is_some_and(|remaining| remaining == "0"));
        Err(fetch_error(self.explain(status, rate_limited)))
    }

    /// What an error status most likely means, in words an operator can act on.
    fn explain(&self, status: StatusCode, rate_limited: bool) -> String {
        let token = self.token_env.as_deref().filter(|_| self.token.is_some());
        match (status.as_u16(), token) {
            _ if rate_limited => match token {
                Some(_) => "rate limited by GitHub: try again later".into(),
                None => "rate limited by GitHub: set tokenEnv for a higher limit".into(),
            },
            (401, Some(var)) => format!("unauthorized: GitHub rejected the token in {var}"),
            (401, None) => "unauthorized: set tokenEnv to a valid token".into(),
            (403, Some(var)) => {
                format!("forbidden: the token in {var} cannot read this repository")
            }
            (403, None) => "forbidden: set tokenEnv to a token that can read it".into(),
            (404, Some(var)) => {
                format!(
                    "not found, or the token in {var} cannot read it (check owner, repo and ref)"
                )
            }
            (404, None) => {
                "not found or private: set tokenEnv (or check owner, repo and ref)".into()
            }
            _ => format!("HTTP {status}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documentation_paths() {
        for path in [
            "README",
            "docs/guide.MD",
            "a/b/notes.rst",
            "README.zh-CN",
            "x/page.htm",
        ] {
            assert!(is_documentation(path), "{path}");
        }
        for path in [
            "src/main.rs",
            "node_modules/pkg/README.md",
            "web/vendor/lib/doc.md",
            ".github/ISSUE_TEMPLATE.md",
            "docs/",
            "Makefile",
        ] {
            assert!(!is_documentation(path), "{path}");
        }
    }

    #[test]
    fn paths_are_percent_encoded_per_segment() {
        let mut url = Url::parse("https://api.github.com/repos/o/r/contents").unwrap();
        push_path(&mut url, "docs/with space/a#b?.md");
        assert_eq!(
            url.as_str(),
            "https://api.github.com/repos/o/r/contents/docs/with%20space/a%23b%3F.md"
        );
    }
}
