//! `GitHubSource` against an axum stand-in for the GitHub REST API.

use super::helpers::{EMPTY_ENV, TOKEN, TOKEN_ENV, UNSET_ENV, config, http, serve};
use axum::extract::{Path, Query, State};
use axum::http::header::{ACCEPT, AUTHORIZATION};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchboard_knowledge::Document;
use switchboard_knowledge::source::{GitHubSource, Source, SourceError};

/// The files of `acme/handbook` (branch `trunk`, also tag `v1`).
fn files() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = [
        ("README.md", "# Handbook\n\nWelcome."),
        ("docs/guide.md", "Intro\n\n# Guide\n\nSteps."),
        ("docs/with space.md", "A spaced file."),
        ("docs/faq.rst", "FAQ\n===\n\nAnswers."),
        ("docs/page.html", "<title>Page</title><p>Html body</p>"),
        ("docs/empty.md", "  \n"),
        ("docs/diagram.png", "not text"),
        ("src/main.rs", "fn main() {}"),
        ("node_modules/x/README.md", "vendored"),
        ("vendor/lib/notes.txt", "vendored"),
        (".github/CONTRIBUTING.md", "meta"),
    ]
    .into_iter()
    .map(|(path, text)| (path.to_string(), text.to_string()))
    .collect();
    files.extend((0..12).map(|i| (format!("docs/more/n{i:02}.txt"), format!("Note {i}."))));
    files
}

/// What the stand-in saw.
#[derive(Default)]
struct Seen {
    requests: Vec<String>,
    authorization: Vec<Option<String>>,
    in_flight: usize,
    max_in_flight: usize,
}

type Shared = Arc<Mutex<Seen>>;

fn record(seen: &Shared, request: String, headers: &HeaderMap) {
    let auth = headers
        .get(AUTHORIZATION)
        .map(|v| v.to_str().unwrap().to_string());
    let mut seen = seen.lock().unwrap();
    seen.requests.push(request);
    seen.authorization.push(auth);
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"message": "Not Found"}))).into_response()
}

async fn repository(
    State(seen): State<Shared>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    record(&seen, format!("repo {owner}/{repo}"), &headers);
    match (owner.as_str(), repo.as_str()) {
        ("acme", "handbook") => {
            Json(json!({"full_name": "acme/handbook", "default_branch": "trunk"})).into_response()
        }
        ("busy", _) => (
            StatusCode::FORBIDDEN,
            [("x-ratelimit-remaining", "0")],
            "limit",
        )
            .into_response(),
        _ => not_found(),
    }
}

async fn tree(
    State(seen): State<Shared>,
    Path((owner, repo, reference)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    record(&seen, format!("tree {reference}"), &headers);
    let known = (owner.as_str(), repo.as_str()) == ("acme", "handbook");
    if !known
        || !["trunk", "v1"].contains(&reference.as_str())
        || query.get("recursive").map(String::as_str) != Some("1")
    {
        return not_found();
    }
    let mut entries: Vec<Value> = files()
        .into_iter()
        .map(|(path, text)| json!({"path": path, "type": "blob", "size": text.len()}))
        .collect();
    entries.push(json!({"path": "docs", "type": "tree"}));
    entries.push(json!({"path": "docs/submodule.md", "type": "commit"}));
    entries.push(json!({"path": "docs/large.md", "type": "blob", "size": 2_000_000}));
    Json(json!({"sha": "abc", "tree": entries, "truncated": false})).into_response()
}

async fn contents(
    State(seen): State<Shared>,
    Path((_owner, _repo, path)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let reference = query.get("ref").cloned().unwrap_or_default();
    record(&seen, format!("contents {path}@{reference}"), &headers);
    if headers.get(ACCEPT).map(|v| v.as_bytes()) != Some(b"application/vnd.github.raw") {
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, "raw content only").into_response();
    }
    {
        let mut seen = seen.lock().unwrap();
        seen.in_flight += 1;
        seen.max_in_flight = seen.max_in_flight.max(seen.in_flight);
    }
    tokio::time::sleep(Duration::from_millis(40)).await;
    seen.lock().unwrap().in_flight -= 1;
    match files().into_iter().find(|(p, _)| *p == path) {
        Some((_, text)) if ["trunk", "v1"].contains(&reference.as_str()) => text.into_response(),
        _ => not_found(),
    }
}

/// The stand-in API's base URL and what it records.
async fn github() -> (String, Shared) {
    let seen = Shared::default();
    let app = Router::new()
        .route("/repos/{owner}/{repo}", get(repository))
        .route("/repos/{owner}/{repo}/git/trees/{*reference}", get(tree))
        .route("/repos/{owner}/{repo}/contents/{*path}", get(contents))
        .with_state(seen.clone());
    (serve(app).await, seen)
}

fn source(api: &str, extra: Value) -> Result<GitHubSource, SourceError> {
    let mut github = json!({"owner": "acme", "repo": "handbook", "apiUrl": api});
    github
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    GitHubSource::new(config(json!({"github": github})), http())
}

fn summary(documents: &[Document]) -> Vec<(&str, &str, Option<&str>)> {
    documents
        .iter()
        .map(|d| (d.id.as_str(), d.source.as_str(), d.title.as_deref()))
        .collect()
}

#[tokio::test]
async fn the_default_branch_documentation_files_become_documents() {
    let (api, seen) = github().await;
    let source = source(&format!("{api}/"), json!({})).unwrap();
    assert_eq!(source.key(), "acme/handbook");

    let documents = source.fetch().await.unwrap();

    let mut expected = vec![
        (
            "acme/handbook@trunk:README.md".to_string(),
            "README.md",
            Some("Handbook"),
        ),
        (
            "acme/handbook@trunk:docs/faq.rst".into(),
            "docs/faq.rst",
            None,
        ),
        (
            "acme/handbook@trunk:docs/guide.md".into(),
            "docs/guide.md",
            Some("Guide"),
        ),
    ];
    let notes: Vec<String> = (0..12).map(|i| format!("docs/more/n{i:02}.txt")).collect();
    for note in &notes {
        expected.push((format!("acme/handbook@trunk:{note}"), note, None));
    }
    expected.push((
        "acme/handbook@trunk:docs/page.html".into(),
        "docs/page.html",
        Some("Page"),
    ));
    expected.push((
        "acme/handbook@trunk:docs/with space.md".into(),
        "docs/with space.md",
        None,
    ));
    let expected: Vec<_> = expected
        .iter()
        .map(|(id, s, t)| (id.as_str(), *s, *t))
        .collect();
    assert_eq!(summary(&documents), expected);

    let by_source = |source: &str| documents.iter().find(|d| d.source == source).unwrap();
    assert_eq!(by_source("docs/page.html").content, "Html body");
    assert_eq!(by_source("docs/faq.rst").content, "FAQ\n===\n\nAnswers.");
    let guide_url = by_source("docs/guide.md").url.as_deref().unwrap();
    assert!(
        guide_url.ends_with("/acme/handbook/blob/trunk/docs/guide.md"),
        "{guide_url}"
    );
    let spaced_url = by_source("docs/with space.md").url.as_deref().unwrap();
    assert!(
        spaced_url.ends_with("/docs/with%20space.md"),
        "{spaced_url}"
    );

    let seen = seen.lock().unwrap();
    assert_eq!(seen.requests[..2], ["repo acme/handbook", "tree trunk"]);
    assert!(
        !seen
            .requests
            .iter()
            .any(|r| r.contains("large.md") || r.contains(".png") || r.contains("vendor")),
        "{:?}",
        seen.requests
    );
    assert!(
        (2..=4).contains(&seen.max_in_flight),
        "content downloads in flight at once: {}",
        seen.max_in_flight
    );
    assert!(seen.authorization.iter().all(Option::is_none));
}

#[tokio::test]
async fn a_ref_and_path_prefix_narrow_the_files() {
    let (api, seen) = github().await;
    let source = source(&api, json!({"ref": "v1", "path": "/docs/more/"})).unwrap();
    assert_eq!(source.key(), "acme/handbook/docs/more");

    let documents = source.fetch().await.unwrap();

    assert_eq!(documents.len(), 12);
    assert_eq!(documents[0].id, "acme/handbook@v1:docs/more/n00.txt");
    assert!(documents.iter().all(|d| d.source.starts_with("docs/more/")));
    assert!(
        !seen
            .lock()
            .unwrap()
            .requests
            .iter()
            .any(|r| r.starts_with("repo "))
    );

    let partial = source_with_prefix(&api, "docs/mo").fetch().await.unwrap();
    assert_eq!(partial, [], "a prefix matches whole folder names only");
}

fn source_with_prefix(api: &str, prefix: &str) -> GitHubSource {
    source(api, json!({"ref": "v1", "path": prefix})).unwrap()
}

#[tokio::test]
async fn the_token_is_sent_when_configured() {
    let (api, seen) = github().await;
    let source = source(&api, json!({"tokenEnv": TOKEN_ENV})).unwrap();

    assert!(!source.fetch().await.unwrap().is_empty());

    let seen = seen.lock().unwrap();
    let bearer = format!("Bearer {TOKEN}");
    assert!(seen.authorization.len() > 2);
    assert!(
        seen.authorization
            .iter()
            .all(|a| a.as_deref() == Some(bearer.as_str()))
    );
}

#[tokio::test]
async fn an_unset_or_empty_token_variable_fails_at_start_up() {
    let (api, _) = github().await;
    for var in [UNSET_ENV, EMPTY_ENV] {
        let err = source(&api, json!({"tokenEnv": var})).unwrap_err();
        assert!(
            matches!(&err, SourceError::Config(message) if message.contains(var)),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn a_missing_repository_is_a_clear_fetch_error() {
    let (api, _) = github().await;
    let missing = |extra: Value| {
        let mut github = json!({"owner": "ghost", "repo": "nothing", "apiUrl": api});
        github
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        GitHubSource::new(config(json!({"github": github})), http()).unwrap()
    };

    let err = missing(json!({})).fetch().await.unwrap_err();
    let SourceError::Fetch { reason, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(
        reason.contains("not found or private") && reason.contains("tokenEnv"),
        "{reason}"
    );

    let err = missing(json!({"tokenEnv": TOKEN_ENV}))
        .fetch()
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(TOKEN_ENV) && !message.contains(TOKEN),
        "{message}"
    );
}

#[tokio::test]
async fn a_rate_limit_is_named() {
    let (api, _) = github().await;
    let github = json!({"owner": "busy", "repo": "handbook", "apiUrl": api});
    let source = GitHubSource::new(config(json!({"github": github})), http()).unwrap();

    let err = source.fetch().await.unwrap_err();

    assert!(
        matches!(&err, SourceError::Fetch { reason, .. } if reason.contains("rate limited")),
        "{err:?}"
    );
}
