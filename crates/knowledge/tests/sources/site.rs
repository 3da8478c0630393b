//! `SiteSource` against a local site with a robots.txt, a sitemap and links.

use super::helpers::{config, http};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use std::sync::{Arc, Mutex};
use switchboard_knowledge::source::{SiteSource, SourceError};

/// Every path the site was asked for, in order.
type Log = Arc<Mutex<Vec<String>>>;

#[derive(Clone)]
struct Site {
    base: String,
    log: Log,
    robots: StatusCode,
}

/// A help centre under /help/: the sitemap lists two pages (and a private one
/// robots.txt forbids), the pages link to more, and out of the folder.
async fn site(robots: StatusCode) -> (String, Log) {
    super::helpers::init();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = Site {
        base: base.clone(),
        log: Log::default(),
        robots,
    };
    let log = state.log.clone();
    let app = Router::new()
        .route(
            "/robots.txt",
            get(|State(site): State<Site>| async move {
                site.log.lock().unwrap().push("/robots.txt".into());
                let body = format!(
                    "User-agent: *\nDisallow: /help/private/\nSitemap: {}/sitemap.xml\n",
                    site.base
                );
                (site.robots, body).into_response()
            }),
        )
        .route(
            "/sitemap.xml",
            get(|State(site): State<Site>| async move {
                site.log.lock().unwrap().push("/sitemap.xml".into());
                let b = &site.base;
                let xml = format!(
                    "<urlset><url><loc>{b}/help/returns</loc></url>\
                     <url><loc>{b}/help/private/salaries</loc></url>\
                     <url><loc>{b}/help/shipping</loc></url>\
                     <url><loc>https://elsewhere.test/help/x</loc></url></urlset>"
                );
                ([(CONTENT_TYPE, "application/xml")], xml).into_response()
            }),
        )
        .route("/help/{page}", get(page))
        .route("/help/private/{page}", get(private))
        .route("/shop", get(shop))
        .with_state(state);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, log)
}

async fn page(State(site): State<Site>, Path(name): Path<String>) -> Response {
    site.log.lock().unwrap().push(format!("/help/{name}"));
    let body = match name.as_str() {
        "index" => "<h1>Help centre</h1><p>Start here.</p><a href='/shop'>Shop</a>",
        "returns" => "<h1>Returns</h1><p>Within 17 days.</p><a href='warranty#top'>Warranty</a>",
        "shipping" => "<h1>Shipping</h1><p>Five days.</p><a href='/help/returns'>Returns</a>",
        "warranty" => "<h1>Warranty</h1><p>Two years.</p><a href='extra'>More</a>",
        "extra" => "<h1>Extra</h1><p>Beyond the budget in the small crawl.</p>",
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    Html(body).into_response()
}

async fn private(State(site): State<Site>, Path(name): Path<String>) -> Response {
    site.log
        .lock()
        .unwrap()
        .push(format!("/help/private/{name}"));
    Html("<h1>Private</h1><p>Salaries.</p>").into_response()
}

async fn shop(State(site): State<Site>) -> Response {
    site.log.lock().unwrap().push("/shop".into());
    Html("<h1>Shop</h1>").into_response()
}

async fn crawl(start: &str, max_pages: usize) -> Result<Vec<(String, String)>, SourceError> {
    let source = SiteSource::new(
        config(json!({"url": start, "crawl": {"maxPages": max_pages}})),
        http(),
    )
    .unwrap();
    let (documents, _) = source.crawl().await?;
    Ok(documents
        .into_iter()
        .map(|d| {
            (
                d.id,
                d.content.lines().next().unwrap_or_default().to_owned(),
            )
        })
        .collect())
}

#[tokio::test]
async fn the_sitemap_and_links_are_followed_within_the_folder_honouring_robots() {
    let (base, log) = site(StatusCode::OK).await;
    let documents = crawl(&format!("{base}/help/index"), 10).await.unwrap();
    let ids: Vec<String> = documents
        .iter()
        .map(|(id, _)| id.trim_start_matches(&base).to_owned())
        .collect();
    assert_eq!(
        ids,
        [
            "/help/index",
            "/help/returns",
            "/help/shipping",
            "/help/warranty",
            "/help/extra"
        ],
        "start page, sitemap pages, then linked pages"
    );
    assert_eq!(documents[1].1, "# Returns");
    let asked = log.lock().unwrap().clone();
    assert!(
        !asked.iter().any(|p| p.contains("private")),
        "robots.txt forbids /help/private/: {asked:?}"
    );
    assert!(
        !asked.contains(&"/shop".to_owned()),
        "outside the start URL's folder: {asked:?}"
    );
}

#[tokio::test]
async fn the_page_budget_cuts_the_crawl() {
    let (base, log) = site(StatusCode::OK).await;
    let documents = crawl(&format!("{base}/help/index"), 3).await.unwrap();
    assert_eq!(documents.len(), 3, "{documents:?}");
    let pages = log
        .lock()
        .unwrap()
        .iter()
        .filter(|p| p.starts_with("/help/"))
        .count();
    assert_eq!(pages, 3, "no page fetched past the budget");
}

#[tokio::test]
async fn without_robots_txt_everything_in_scope_is_crawled_but_a_failing_one_stops_it() {
    let (base, _) = site(StatusCode::NOT_FOUND).await;
    let documents = crawl(&format!("{base}/help/index"), 10).await.unwrap();
    assert!(
        documents
            .iter()
            .any(|(id, _)| id.ends_with("/help/private/salaries")),
        "no robots.txt: nothing is forbidden"
    );

    let (base, log) = site(StatusCode::SERVICE_UNAVAILABLE).await;
    let err = crawl(&format!("{base}/help/index"), 10).await.unwrap_err();
    assert!(err.to_string().contains("robots.txt"), "{err}");
    assert_eq!(*log.lock().unwrap(), ["/robots.txt"], "no page fetched");
}

#[test]
fn the_budget_is_bounded() {
    for pages in [0, 5001] {
        let err = SiteSource::new(
            config(json!({"url": "http://127.0.0.1:9/", "crawl": {"maxPages": pages}})),
            http(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("maxPages"), "{err}");
    }
}
