//! `GET /admin/model-costs`: the gateway's price list, for consoles that show what
//! conversations cost. Fetched from `{gateway}/model/info` once per process; any
//! failure answers `{}` (and is retried on the next request).

use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

/// What the admin API keeps for the life of the process.
pub struct Cache {
    /// The gateway's models, once fetched: model name → costs.
    model_costs: tokio::sync::OnceCell<Map<String, Value>>,
    /// The client connectors fetch with (public addresses only).
    pub(super) egress: reqwest::Client,
}

impl Cache {
    /// Builds after the server's main HTTP client (which installs TLS).
    pub fn new() -> Result<Self, String> {
        Ok(Self {
            model_costs: tokio::sync::OnceCell::new(),
            egress: super::egress::client()?,
        })
    }
}

/// No token needed: prices are not secret.
pub async fn get(State(state): State<AppState>) -> Json<Value> {
    let cache = &state.admin_cache().model_costs;
    match cache.get_or_try_init(|| fetch(&state)).await {
        Ok(costs) => Json(Value::Object(costs.clone())),
        Err(reason) => {
            tracing::warn!(%reason, "model costs unavailable");
            Json(json!({}))
        }
    }
}

#[derive(Deserialize)]
struct ModelInfoPage {
    #[serde(default)]
    data: Vec<ModelEntry>,
}

/// One model; its `model_info` is read leniently (gateways differ in what they fill).
#[derive(Deserialize)]
struct ModelEntry {
    model_name: String,
    #[serde(default)]
    model_info: Value,
}

async fn fetch(state: &AppState) -> Result<Map<String, Value>, String> {
    let Some(gateway) = &state.config().gateway else {
        return Ok(Map::new());
    };
    let mut request = state
        .http()
        .get(format!("{}/model/info", gateway.url))
        .timeout(TIMEOUT);
    if let Some(key) = &gateway.key {
        request = request.bearer_auth(key.expose_secret());
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("the gateway answered {}", response.status()));
    }
    let page: ModelInfoPage = response.json().await.map_err(|e| e.to_string())?;
    Ok(page
        .data
        .into_iter()
        .map(|entry| {
            let info = &entry.model_info;
            let use_cases: Vec<&str> = info["use_cases"]
                .as_array()
                .map(|cases| cases.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let costs = json!({
                "inputCostPerToken": info["input_cost_per_token"].as_f64(),
                "outputCostPerToken": info["output_cost_per_token"].as_f64(),
                "tier": info["tier"].as_str(),
                "useCases": use_cases,
                "maxOutputTokens": info["max_output_tokens"].as_u64(),
            });
            (entry.model_name, costs)
        })
        .collect())
}
