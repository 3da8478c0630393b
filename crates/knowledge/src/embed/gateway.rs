//! Embeddings from the LLM gateway's OpenAI-compatible `/embeddings` endpoint,
//! in batches, each retried under the gateway [`RetryPolicy`].

use super::{EmbedError, Embedder, normalize};
use crate::retry::{Failure, RetryPolicy};
use async_trait::async_trait;
use serde::Deserialize;
use std::time::Duration;

/// Texts sent per request.
const BATCH: usize = 64;

pub struct GatewayEmbedder {
    client: reqwest::Client,
    endpoint: String,
    key: Option<String>,
    model: String,
    retry: RetryPolicy,
}

#[derive(Deserialize)]
struct Response {
    data: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    embedding: Vec<f32>,
    #[serde(default)]
    index: Option<usize>,
}

impl GatewayEmbedder {
    /// `url` is the gateway's base URL (including `/v1`).
    pub fn new(client: reqwest::Client, url: &str, key: Option<String>, model: String) -> Self {
        Self {
            client,
            endpoint: format!("{}/embeddings", url.trim_end_matches('/')),
            key,
            model,
            retry: RetryPolicy::default(),
        }
    }

    /// The same embedder under another retry policy (tests use short waits).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    async fn batch(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.retry.run("embeddings", || self.attempt(texts)).await
    }

    /// One request for one batch.
    async fn attempt(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, Failure<EmbedError>> {
        let mut request = self
            .client
            .post(&self.endpoint)
            .timeout(Duration::from_secs(60))
            .json(&serde_json::json!({"model": self.model, "input": texts}));
        if let Some(key) = &self.key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(|e| {
            let error = EmbedError::Unavailable(format!("{}: {e}", self.endpoint));
            if e.is_builder() {
                Failure::fatal(error)
            } else {
                Failure::transient(error)
            }
        })?;
        let status = response.status();
        if !status.is_success() {
            let headers = response.headers().clone();
            let body = response.text().await.unwrap_or_default();
            let excerpt: String = body.chars().take(200).collect();
            let error = EmbedError::Unavailable(format!(
                "{} answered HTTP {}: {excerpt}",
                self.endpoint,
                status.as_u16()
            ));
            return Err(Failure::from_response(error, status.as_u16(), &headers));
        }
        let parsed: Response = response
            .json()
            .await
            .map_err(|e| Failure::fatal(EmbedError::Protocol(e.to_string())))?;
        vectors(parsed, texts.len()).map_err(Failure::fatal)
    }
}

/// The vectors of a response, in input order and normalized, once checked.
fn vectors(mut parsed: Response, asked: usize) -> Result<Vec<Vec<f32>>, EmbedError> {
    if parsed.data.len() != asked {
        return Err(EmbedError::Protocol(format!(
            "asked for {asked} embeddings, got {}",
            parsed.data.len()
        )));
    }
    if parsed.data.iter().all(|i| i.index.is_some()) {
        parsed.data.sort_by_key(|i| i.index);
    }
    let mut vectors: Vec<Vec<f32>> = parsed.data.into_iter().map(|i| i.embedding).collect();
    let dimension = vectors.first().map_or(0, Vec::len);
    if dimension == 0 || vectors.iter().any(|v| v.len() != dimension) {
        return Err(EmbedError::Protocol(
            "embeddings of differing or zero dimension".into(),
        ));
    }
    vectors.iter_mut().for_each(|v| normalize(v));
    Ok(vectors)
}

#[async_trait]
impl Embedder for GatewayEmbedder {
    fn name(&self) -> String {
        format!("gateway:{}", self.model)
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(BATCH) {
            out.extend(self.batch(batch).await?);
        }
        Ok(out)
    }

    fn relevance_floor(&self) -> f32 {
        0.2
    }
}
