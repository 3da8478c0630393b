//! `GET /admin/settings` and `PUT /admin/settings`: the organisation's agent
//! settings. Only `persona` changes chat turns today; `model`, `systemPrompt` and
//! `defaultTools` are kept for the console.

use super::extract::Body;
use super::{AdminError, Caller};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use switchboard_core::OrgSettings;

pub const DEFAULT_MODEL: &str = "gpt-4o-mini";
pub const DEFAULT_SYSTEM_PROMPT: &str = "You are a helpful support assistant. Answer using the \
provided knowledge; cite sources and say you don't know when the knowledge doesn't cover the \
question.";

const MAX_MODEL_CHARS: usize = 200;
const MAX_TEXT_CHARS: usize = 20_000;
const MAX_TOOLS: usize = 100;

/// The body of `PUT`: the whole settings (an omitted `persona` clears it).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingsRequest {
    model: String,
    system_prompt: String,
    persona: Option<String>,
    #[serde(default)]
    default_tools: Vec<String>,
}

#[derive(Serialize)]
pub struct Reply {
    settings: SettingsJson,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SettingsJson {
    org_id: String,
    model: String,
    system_prompt: String,
    persona: Option<String>,
    default_tools: Vec<String>,
    /// Null until the settings are first saved.
    updated_at: Option<String>,
}

impl SettingsJson {
    /// What is stored, with the defaults where nothing is.
    fn of(org: String, stored: Option<OrgSettings>) -> Self {
        let stored = stored.unwrap_or_default();
        Self {
            org_id: org,
            model: stored.model.unwrap_or_else(|| DEFAULT_MODEL.into()),
            system_prompt: stored
                .system_prompt
                .unwrap_or_else(|| DEFAULT_SYSTEM_PROMPT.into()),
            persona: stored.persona,
            default_tools: stored.default_tools,
            updated_at: stored
                .updated_at
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        }
    }
}

/// `GET /admin/settings`.
pub async fn get(State(state): State<AppState>, caller: Caller) -> Result<Json<Reply>, AdminError> {
    let stored = state.store().get_org_settings(&caller.org()).await?;
    Ok(Json(Reply {
        settings: SettingsJson::of(caller.0.org_id, stored),
    }))
}

/// `PUT /admin/settings`: replaces the settings and answers with them.
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<SettingsRequest>,
) -> Result<Json<Reply>, AdminError> {
    let settings = checked(caller.org(), request)?;
    state.store().put_org_settings(&settings).await?;
    Ok(Json(Reply {
        settings: SettingsJson::of(caller.0.org_id, Some(settings)),
    }))
}

fn checked(
    org: switchboard_core::OrgId,
    request: SettingsRequest,
) -> Result<OrgSettings, AdminError> {
    let invalid = |problem: String| Err(AdminError::Validation(problem));
    let model = request.model.trim().to_owned();
    if model.is_empty() || model.chars().count() > MAX_MODEL_CHARS {
        return invalid(format!("'model' must be 1 to {MAX_MODEL_CHARS} characters"));
    }
    let system_prompt = request.system_prompt.trim().to_owned();
    if system_prompt.is_empty() || system_prompt.chars().count() > MAX_TEXT_CHARS {
        return invalid(format!(
            "'systemPrompt' must be 1 to {MAX_TEXT_CHARS} characters"
        ));
    }
    let persona = request
        .persona
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty());
    if persona
        .as_ref()
        .is_some_and(|p| p.chars().count() > MAX_TEXT_CHARS)
    {
        return invalid(format!(
            "'persona' must be at most {MAX_TEXT_CHARS} characters"
        ));
    }
    let mut default_tools = Vec::with_capacity(request.default_tools.len());
    for tool in request.default_tools {
        let tool = tool.trim().to_owned();
        if tool.is_empty() || tool.chars().count() > MAX_MODEL_CHARS {
            return invalid(format!(
                "each of 'defaultTools' must be a tool name of 1 to {MAX_MODEL_CHARS} characters"
            ));
        }
        if !default_tools.contains(&tool) {
            default_tools.push(tool);
        }
    }
    if default_tools.len() > MAX_TOOLS {
        return invalid(format!("'defaultTools' holds at most {MAX_TOOLS} tools"));
    }
    Ok(OrgSettings {
        org_id: org,
        persona,
        model: Some(model),
        system_prompt: Some(system_prompt),
        default_tools,
        updated_at: Some(Utc::now()),
    })
}
