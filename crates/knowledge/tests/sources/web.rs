//! `WebSource` against a local axum server.

use super::helpers::{config, http, serve};
use axum::Router;
use axum::http::HeaderMap;
use axum::http::header::{CONTENT_TYPE, USER_AGENT};
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::get;
use serde_json::json;
use switchboard_knowledge::Document;
use switchboard_knowledge::source::{Source, SourceError, WebSource};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PAGE: &str = r#"<!doctype html>
<html><head><title>Returns | Acme</title><script>var secret = 1;</script></head>
<body><nav>Home</nav><h1>Returns</h1><p>Within <b>17</b> days.</p>
<h2>Exceptions</h2><ul><li>Gift cards</li><li>Software</li></ul></body></html>"#;

const OVER_LIMIT: usize = 5 * 1024 * 1024 + 1;

async fn site() -> String {
    let app = Router::new()
        .route("/page", get(|| async { Html(PAGE) }))
        .route(
            "/latin1",
            get(|| async {
                (
                    [(CONTENT_TYPE, "text/html; charset=windows-1252")],
                    &b"<p>Caf\xe9 cr\xe8me \x97 3 \x80</p>"[..],
                )
            }),
        )
        .route(
            "/meta-latin1",
            get(|| async {
                (
                    [(CONTENT_TYPE, "text/html")],
                    &b"<html><head><meta charset=iso-8859-1></head><body>\xe9t\xe9</body></html>"[..],
                )
            }),
        )
        .route("/old", get(|| async { Redirect::permanent("/page") }))
        .route(
            "/notes.md",
            get(|| async {
                (
                    [(CONTENT_TYPE, "text/markdown; charset=utf-8")],
                    "# Notes\n\nPlain *markdown*.",
                )
            }),
        )
        .route(
            "/sniffed",
            get(|| async {
                (
                    [(CONTENT_TYPE, "application/octet-stream")],
                    "<!DOCTYPE html><title>Sniffed</title><p>Body</p>",
                )
            }),
        )
        .route(
            "/image",
            get(|| async {
                (
                    [(CONTENT_TYPE, "image/png")],
                    vec![0x89u8, b'P', b'N', b'G'],
                )
            }),
        )
        .route("/huge", get(|| async { "x".repeat(OVER_LIMIT) }))
        .route(
            "/scripts-only",
            get(|| async { Html("<script>x()</script>") }),
        )
        .route(
            "/agent",
            get(|headers: HeaderMap| async move {
                let agent = headers.get(USER_AGENT).and_then(|v| v.to_str().ok());
                agent.unwrap_or("none").to_string().into_response()
            }),
        );
    serve(app).await
}

async fn fetch(url: &str) -> Result<Vec<Document>, SourceError> {
    WebSource::new(config(json!({"url": url})), http())
        .unwrap()
        .fetch()
        .await
}

#[tokio::test]
async fn an_html_page_becomes_text_with_headings_and_its_title() {
    let base = site().await;
    let url = format!("{base}/page");

    let documents = fetch(&url).await.unwrap();

    assert_eq!(documents.len(), 1);
    let page = &documents[0];
    assert_eq!(
        (page.id.as_str(), page.source.as_str()),
        (url.as_str(), url.as_str())
    );
    assert_eq!(page.url.as_deref(), Some(url.as_str()));
    assert_eq!(page.title.as_deref(), Some("Returns | Acme"));
    assert_eq!(
        page.content, "# Returns\n\nWithin 17 days.\n\n## Exceptions\n\n- Gift cards\n- Software",
        "the navigation is dropped"
    );
}

#[tokio::test]
async fn a_page_in_another_charset_is_decoded() {
    let base = site().await;
    let documents = fetch(&format!("{base}/latin1")).await.unwrap();
    assert_eq!(
        documents[0].content,
        "Caf\u{e9} cr\u{e8}me \u{2014} 3 \u{20ac}"
    );
    let documents = fetch(&format!("{base}/meta-latin1")).await.unwrap();
    assert_eq!(documents[0].content, "\u{e9}t\u{e9}");
}

#[tokio::test]
async fn a_redirect_is_followed() {
    let base = site().await;
    let url = format!("{base}/old");

    let documents = fetch(&url).await.unwrap();

    assert_eq!(documents[0].id, url);
    assert_eq!(documents[0].url, Some(format!("{base}/page")));
    assert!(documents[0].content.contains("# Returns"));
}

#[tokio::test]
async fn markdown_and_sniffed_html_are_accepted() {
    let base = site().await;

    let notes = fetch(&format!("{base}/notes.md")).await.unwrap();
    assert_eq!(notes[0].content, "# Notes\n\nPlain *markdown*.");
    assert_eq!(notes[0].title.as_deref(), Some("Notes"));

    let sniffed = fetch(&format!("{base}/sniffed")).await.unwrap();
    assert_eq!(sniffed[0].title.as_deref(), Some("Sniffed"));
    assert_eq!(sniffed[0].content, "Body");
}

#[tokio::test]
async fn requests_name_the_client() {
    let base = site().await;
    let documents = fetch(&format!("{base}/agent")).await.unwrap();
    assert_eq!(documents[0].content, "switchboard-knowledge");
}

#[tokio::test]
async fn a_page_without_text_yields_no_document() {
    let base = site().await;
    assert_eq!(fetch(&format!("{base}/scripts-only")).await.unwrap(), []);
}

#[tokio::test]
async fn a_missing_page_is_a_fetch_error() {
    let base = site().await;
    let err = fetch(&format!("{base}/missing")).await.unwrap_err();
    assert!(
        matches!(&err, SourceError::Fetch { reason, .. } if reason.contains("404")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_binary_content_type_is_a_fetch_error() {
    let base = site().await;
    let err = fetch(&format!("{base}/image")).await.unwrap_err();
    assert!(
        matches!(&err, SourceError::Fetch { reason, .. } if reason.contains("image/png")),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    let base = site().await;
    let err = fetch(&format!("{base}/huge")).await.unwrap_err();
    assert!(
        matches!(&err, SourceError::Fetch { reason, .. } if reason.contains("too large")),
        "{err:?}"
    );
}

/// A body with no length announced is cut off once it passes the limit.
#[tokio::test]
async fn an_oversized_streamed_body_is_refused() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        while !request.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            socket.read_exact(&mut byte).await.unwrap();
            request.push(byte[0]);
        }
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n";
        socket.write_all(head.as_bytes()).await.unwrap();
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..(OVER_LIMIT / chunk.len() + 2) {
            if socket.write_all(&chunk).await.is_err() {
                return; // The client hung up: what the test wants.
            }
        }
    });

    let err = fetch(&format!("http://{address}/stream"))
        .await
        .unwrap_err();

    assert!(
        matches!(&err, SourceError::Fetch { reason, .. } if reason.contains("too large")),
        "{err:?}"
    );
}

#[tokio::test]
async fn only_http_urls_are_accepted() {
    for url in [
        "ftp://example.com/file.txt",
        "not a url",
        "file:///etc/hosts",
    ] {
        let err = WebSource::new(config(json!({"url": url})), http()).unwrap_err();
        assert!(matches!(err, SourceError::Config(_)), "{url}: {err:?}");
    }
}
