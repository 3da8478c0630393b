//! The LLM gateway (`SMOOAI_GATEWAY_*`) and what uses it besides chat: embeddings
//! and reranking.

use super::ConfigError;
use super::env::Env;
use secrecy::SecretString;
use std::time::Duration;

/// The gateway URL used when only a key is given.
pub const DEFAULT_GATEWAY_URL: &str = "https://llm.smoo.ai/v1";

/// The embedder that builds the knowledge index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmbeddingsConfig {
    /// The built-in hashing embedder: no model, no download.
    Offline,
    /// The gateway's `/embeddings` endpoint with this model.
    Gateway { model: String },
}

/// How retrieved passages are re-ordered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RerankConfig {
    Off,
    Lexical,
    /// The gateway's `/rerank` endpoint with this model.
    Gateway {
        model: String,
    },
}

/// An OpenAI-compatible gateway.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Base URL including any `/v1`; requests go to `{url}/chat/completions`.
    pub url: String,
    /// Bearer key; local gateways often need none.
    pub key: Option<SecretString>,
    /// `SMOOTH_AGENT_LLM_TIMEOUT_SECS`: the longest wait for the first byte of a
    /// reply, and the longest silence between chunks.
    pub timeout: Duration,
}

impl GatewayConfig {
    /// The start-up warning for a key given without a URL: the reference contract
    /// sends it, and every conversation, to the vendor's hosted gateway, which an
    /// operator holding an OpenAI or other provider key may not expect.
    pub fn hosted_default_warning(&self) -> Option<String> {
        (self.url == DEFAULT_GATEWAY_URL && self.key.is_some()).then(|| {
            format!(
                "SMOOAI_GATEWAY_KEY is set without SMOOAI_GATEWAY_URL: the key and every \
                 conversation go to the hosted gateway {DEFAULT_GATEWAY_URL}. If the key \
                 belongs to another provider (OpenAI, Anthropic, a LiteLLM proxy), set \
                 SMOOAI_GATEWAY_URL to that provider's OpenAI-compatible URL."
            )
        })
    }
}

pub(super) fn embeddings<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<EmbeddingsConfig, ConfigError> {
    let model = env
        .get("SMOOTH_AGENT_EMBEDDING_MODEL")
        .unwrap_or_else(|| "text-embedding-3-small".into());
    let gateway_configured =
        env.get("SMOOAI_GATEWAY_URL").is_some() || env.get("SMOOAI_GATEWAY_KEY").is_some();
    match env
        .get("SMOOTH_AGENT_EMBEDDINGS")
        .map(|v| v.to_ascii_lowercase())
        .as_deref()
    {
        None if gateway_configured => Ok(EmbeddingsConfig::Gateway { model }),
        None | Some("offline") => Ok(EmbeddingsConfig::Offline),
        Some("gateway") if gateway_configured => Ok(EmbeddingsConfig::Gateway { model }),
        Some("gateway") => Err(ConfigError {
            var: "SMOOTH_AGENT_EMBEDDINGS",
            problem: "'gateway' needs SMOOAI_GATEWAY_URL or SMOOAI_GATEWAY_KEY".into(),
        }),
        Some(other) => Err(ConfigError {
            var: "SMOOTH_AGENT_EMBEDDINGS",
            problem: format!("unknown embeddings '{other}' (expected: gateway | offline)"),
        }),
    }
}

pub(super) fn rerank<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<RerankConfig, ConfigError> {
    let model = env
        .get("SMOOTH_AGENT_RERANK_MODEL")
        .unwrap_or_else(|| "rerank-english-v3.0".into());
    let gateway_configured =
        env.get("SMOOAI_GATEWAY_URL").is_some() || env.get("SMOOAI_GATEWAY_KEY").is_some();
    match env
        .get("SMOOTH_AGENT_RERANK")
        .map(|v| v.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("off" | "none" | "0" | "false") => Ok(RerankConfig::Off),
        Some("lexical") => Ok(RerankConfig::Lexical),
        Some("gateway" | "on" | "1" | "true") if gateway_configured => {
            Ok(RerankConfig::Gateway { model })
        }
        Some("gateway" | "on" | "1" | "true") => Err(ConfigError {
            var: "SMOOTH_AGENT_RERANK",
            problem: "'gateway' needs SMOOAI_GATEWAY_URL or SMOOAI_GATEWAY_KEY (or use 'lexical')"
                .into(),
        }),
        Some(other) => Err(ConfigError {
            var: "SMOOTH_AGENT_RERANK",
            problem: format!("unknown rerank '{other}' (expected: off | lexical | gateway)"),
        }),
    }
}

pub(super) fn gateway<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<Option<GatewayConfig>, ConfigError> {
    let key = env.get("SMOOAI_GATEWAY_KEY").map(SecretString::from);
    let url = match env.get("SMOOAI_GATEWAY_URL") {
        Some(url) => url,
        None if key.is_some() => DEFAULT_GATEWAY_URL.to_owned(),
        None => return Ok(None),
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ConfigError {
            var: "SMOOAI_GATEWAY_URL",
            problem: format!("'{url}' is not an http:// or https:// URL"),
        });
    }
    Ok(Some(GatewayConfig {
        url: url.trim_end_matches('/').to_owned(),
        key,
        timeout: Duration::from_secs(u64::from(
            env.positive("SMOOTH_AGENT_LLM_TIMEOUT_SECS", 60)?,
        )),
    }))
}
