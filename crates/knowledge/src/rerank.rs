//! Reranking the best candidates of a search (`SMOOTH_AGENT_RERANK`).

use crate::Hit;
use crate::retry::{Failure, RetryPolicy};
use crate::text::terms;
use serde::Deserialize;
use std::collections::HashSet;
use std::time::Duration;

/// How candidates are re-ordered after retrieval.
pub enum Reranker {
    /// Prefers passages that contain more of the question's distinct terms, close
    /// together. Free and deterministic.
    Lexical,
    /// A cross-encoder behind the gateway's `/rerank` endpoint (Cohere/Jina style).
    Gateway(GatewayReranker),
}

pub struct GatewayReranker {
    client: reqwest::Client,
    endpoint: String,
    key: Option<String>,
    model: String,
    retry: RetryPolicy,
}

/// Reranking happens while a visitor waits, and failing only costs ordering: one
/// quick retry, never a long wait.
const RERANK_RETRY: RetryPolicy = RetryPolicy {
    max_retries: 1,
    base: Duration::from_millis(200),
    cap: Duration::from_secs(2),
};

#[derive(Deserialize)]
struct RerankResponse {
    results: Vec<RerankResult>,
}

#[derive(Deserialize)]
struct RerankResult {
    index: usize,
    relevance_score: f64,
}

impl GatewayReranker {
    pub fn new(client: reqwest::Client, url: &str, key: Option<String>, model: String) -> Self {
        Self {
            client,
            endpoint: format!("{}/rerank", url.trim_end_matches('/')),
            key,
            model,
            retry: RERANK_RETRY,
        }
    }

    /// The same reranker under another retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    async fn scores(&self, query: &str, hits: &[Hit]) -> Result<Vec<(usize, f64)>, String> {
        self.retry.run("rerank", || self.attempt(query, hits)).await
    }

    /// One request.
    async fn attempt(
        &self,
        query: &str,
        hits: &[Hit],
    ) -> Result<Vec<(usize, f64)>, Failure<String>> {
        let documents: Vec<&str> = hits.iter().map(|h| h.text.as_str()).collect();
        let mut request = self
            .client
            .post(&self.endpoint)
            .timeout(Duration::from_secs(10))
            .json(&serde_json::json!({
                "model": self.model, "query": query, "documents": documents, "top_n": hits.len()
            }));
        if let Some(key) = &self.key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(|e| {
            if e.is_builder() {
                Failure::fatal(e.to_string())
            } else {
                Failure::transient(e.to_string())
            }
        })?;
        let status = response.status().as_u16();
        if !response.status().is_success() {
            return Err(Failure::from_response(
                format!("HTTP {status}"),
                status,
                response.headers(),
            ));
        }
        let parsed: RerankResponse = response
            .json()
            .await
            .map_err(|e| Failure::fatal(e.to_string()))?;
        Ok(parsed
            .results
            .into_iter()
            .filter(|r| r.index < hits.len())
            .map(|r| (r.index, r.relevance_score))
            .collect())
    }
}

impl Reranker {
    /// `hits` re-ordered for `query`, cut to `limit`; `idf` weighs the question's
    /// terms by rarity. A failing gateway leaves the retrieval order (logged):
    /// reranking refines, it never loses results.
    pub async fn rerank(
        &self,
        query: &str,
        hits: Vec<Hit>,
        limit: usize,
        idf: &(dyn Fn(&str) -> f32 + Sync),
    ) -> Vec<Hit> {
        let mut ranked = match self {
            Self::Lexical => lexical(query, hits, idf),
            Self::Gateway(gateway) => match gateway.scores(query, &hits).await {
                Ok(scores) => {
                    let mut scored: Vec<(f64, Hit)> = scores
                        .into_iter()
                        .map(|(i, score)| (score, hits[i].clone()))
                        .collect();
                    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
                    scored.into_iter().map(|(_, h)| h).collect()
                }
                Err(e) => {
                    tracing::warn!(error = %e, "rerank failed; keeping the retrieval order");
                    hits
                }
            },
        };
        ranked.truncate(limit);
        ranked
    }
}

/// Lexical rerank: how much of the question's weight (rare terms weigh more) a
/// passage covers, how close together those terms are, and the retrieval order as a
/// prior, so it refines rather than overturns retrieval.
fn lexical(query: &str, hits: Vec<Hit>, idf: &(dyn Fn(&str) -> f32 + Sync)) -> Vec<Hit> {
    let wanted: HashSet<String> = terms(query).into_iter().collect();
    let total: f64 = wanted.iter().map(|t| f64::from(idf(t))).sum();
    if wanted.is_empty() || total <= 0.0 {
        return hits;
    }
    let mut scored: Vec<(f64, usize, Hit)> = hits
        .into_iter()
        .enumerate()
        .map(|(rank, hit)| {
            let words = terms(&hit.text);
            let present: HashSet<&String> = words.iter().filter(|w| wanted.contains(*w)).collect();
            let coverage = present.iter().map(|t| f64::from(idf(t))).sum::<f64>() / total;
            let proximity = match window(&words, &present) {
                Some(span) if present.len() > 1 => {
                    1.0 / (1.0 + (span.saturating_sub(present.len())) as f64 / 5.0)
                }
                _ => 0.0,
            };
            let prior = 1.0 / (1.0 + rank as f64);
            (2.0 * coverage + 0.5 * proximity + prior, rank, hit)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().map(|(_, _, h)| h).collect()
}

/// The length of the shortest run of `words` containing every term of `present`.
fn window(words: &[String], present: &HashSet<&String>) -> Option<usize> {
    if present.is_empty() {
        return None;
    }
    let mut counts: std::collections::HashMap<&String, usize> = Default::default();
    let (mut best, mut left, mut covered) = (usize::MAX, 0, 0);
    for (right, word) in words.iter().enumerate() {
        if present.contains(word) {
            let c = counts.entry(word).or_default();
            *c += 1;
            if *c == 1 {
                covered += 1;
            }
        }
        while covered == present.len() {
            best = best.min(right - left + 1);
            if let Some(c) = counts.get_mut(&words[left]) {
                *c -= 1;
                if *c == 0 {
                    covered -= 1;
                }
            }
            left += 1;
        }
    }
    (best != usize::MAX).then_some(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(id: &str, text: &str) -> Hit {
        Hit {
            document_id: id.into(),
            source: id.into(),
            title: id.into(),
            url: None,
            text: text.into(),
            score: 0.0,
        }
    }

    #[tokio::test]
    async fn lexical_rerank_prefers_passages_covering_the_rare_terms() {
        let hits = vec![
            hit("desks", "Refund desks open at nine."),
            hit("window", "The refund window is 30 days."),
            hit("none", "Nothing relevant here."),
        ];
        // "window" is rare, "refund" common: covering "window" matters more.
        let idf = |t: &str| if t == "window" { 3.0 } else { 0.5 };
        let ranked = Reranker::Lexical
            .rerank("refund window", hits.clone(), 2, &idf)
            .await;
        let ids: Vec<&str> = ranked.iter().map(|h| h.document_id.as_str()).collect();
        assert_eq!(ids, ["window", "desks"]);
        // With nothing to weigh, retrieval order stands.
        let ranked = Reranker::Lexical.rerank("the a", hits, 3, &idf).await;
        assert_eq!(ranked[0].document_id, "desks");
    }

    #[tokio::test]
    async fn a_429_is_retried_under_the_gateway_policy() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let _ = rustls::crypto::ring::default_provider().install_default();
        let calls = std::sync::Arc::new(AtomicUsize::new(0));
        let seen = calls.clone();
        let app = axum::Router::new().route(
            "/v1/rerank",
            axum::routing::post(move || {
                let n = seen.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n == 0 {
                        let busy = axum::http::StatusCode::TOO_MANY_REQUESTS;
                        return (busy, [("retry-after", "0")], String::new());
                    }
                    let ranked = r#"{"results":[{"index":1,"relevance_score":0.9},{"index":0,"relevance_score":0.1}]}"#;
                    (axum::http::StatusCode::OK, [("content-type", "application/json")], ranked.to_owned())
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let gateway = GatewayReranker::new(reqwest::Client::new(), &url, None, "m".into());
        let hits = vec![hit("a", "x"), hit("b", "y")];
        let ranked = Reranker::Gateway(gateway)
            .rerank("q", hits, 5, &|_| 1.0)
            .await;
        let ids: Vec<&str> = ranked.iter().map(|h| h.document_id.as_str()).collect();
        assert_eq!(ids, ["b", "a"], "the gateway's order, after one retry");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failing_gateway_keeps_the_order() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let gateway = GatewayReranker::new(
            reqwest::Client::new(),
            "http://127.0.0.1:9/v1",
            None,
            "m".into(),
        );
        let hits = vec![hit("a", "x"), hit("b", "y")];
        let ranked = Reranker::Gateway(gateway)
            .rerank("q", hits, 5, &|_| 1.0)
            .await;
        assert_eq!(ranked.len(), 2);
        assert_eq!(ranked[0].document_id, "a");
    }
}
