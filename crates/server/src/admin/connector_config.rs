//! A connector's `config`, per kind: validated before it is stored, and turned into
//! a knowledge source when the connector is indexed.
//!
//! The config holds names of secrets (`auth_ref`), never secrets: the token is read
//! from the environment at index time and goes only to GitHub.

use super::AdminError;
use super::documents::clean_sets;
use crate::config::Config;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Component, Path, PathBuf};
use switchboard_core::{ConnectorKind, OrgId};
use switchboard_knowledge::Acl;
use switchboard_knowledge::source::{GitHubConfig, Source, SourceConfig};

/// What an administrator may name in `auth_ref`: only variables meant for GitHub
/// tokens, so a connector cannot send the server's other secrets anywhere.
const AUTH_REF_PREFIXES: [&str; 2] = ["GITHUB_", "GH_"];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    /// A folder (walked recursively) or a single file, under one of the server's
    /// `SMOOTH_AGENT_CONNECTOR_FILE_ROOTS`.
    path: String,
    /// Who may see the documents (default: everyone in the organisation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    acl: Option<Acl>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    sets: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebSettings {
    url: String,
    /// Who may see the documents (default: everyone in the organisation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    acl: Option<Acl>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    sets: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GithubSettings {
    owner: String,
    repo: String,
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    reference: Option<String>,
    /// Only files under this folder of the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    visibility: Option<Visibility>,
    /// The name of an environment variable holding a token.
    #[serde(alias = "authRef", default, skip_serializing_if = "Option::is_none")]
    auth_ref: Option<String>,
    /// Who may see the documents (default: everyone in the organisation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    acl: Option<Acl>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    sets: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Visibility {
    Public,
    Private,
}

/// `kind` as a request names it (any case).
pub fn parse_kind(kind: &str) -> Result<ConnectorKind, AdminError> {
    match kind.trim().to_ascii_lowercase().as_str() {
        "github" => Ok(ConnectorKind::Github),
        "web" => Ok(ConnectorKind::Web),
        "file" => Ok(ConnectorKind::File),
        _ => Err(AdminError::Validation(format!(
            "unknown connector kind '{kind}' (expected: github | web | file)"
        ))),
    }
}

fn kind_name(kind: ConnectorKind) -> &'static str {
    match kind {
        ConnectorKind::Github => "github",
        ConnectorKind::Web => "web",
        ConnectorKind::File => "file",
    }
}

/// Checks `config` for `kind` and returns it as it will be stored.
pub fn validate(config: &Config, kind: ConnectorKind, raw: Value) -> Result<Value, AdminError> {
    let Value::Object(object) = &raw else {
        return Err(AdminError::Validation(
            "'config' must be a JSON object".into(),
        ));
    };
    let required: &[&str] = match kind {
        ConnectorKind::Github => &["owner", "repo"],
        ConnectorKind::Web => &["url"],
        ConnectorKind::File => &["path"],
    };
    for field in required {
        let given = object.get(*field).and_then(Value::as_str);
        if given.is_none_or(|v| v.trim().is_empty()) {
            return Err(AdminError::Validation(format!(
                "{} connector config requires a '{field}' field",
                kind_name(kind)
            )));
        }
    }
    let stored = match kind {
        ConnectorKind::File => {
            let mut s: FileSettings = parse(kind, raw)?;
            s.sets = clean(s.sets)?;
            s.path = s.path.trim().to_owned();
            within_roots(config, Path::new(&s.path), false)?;
            serde_json::to_value(s)
        }
        ConnectorKind::Web => {
            let mut s: WebSettings = parse(kind, raw)?;
            s.sets = clean(s.sets)?;
            s.url = s.url.trim().to_owned();
            if !(s.url.starts_with("https://") || s.url.starts_with("http://")) {
                return Err(AdminError::Validation(
                    "web connector 'url' must be an http:// or https:// URL".into(),
                ));
            }
            serde_json::to_value(s)
        }
        ConnectorKind::Github => {
            let mut s: GithubSettings = parse(kind, raw)?;
            s.sets = clean(s.sets)?;
            s.owner = s.owner.trim().to_owned();
            s.repo = s.repo.trim().to_owned();
            if s.owner.contains('/') || s.repo.contains('/') {
                return Err(AdminError::Validation(
                    "github connector 'owner' and 'repo' are names, without '/'".into(),
                ));
            }
            if let Some(name) = &s.auth_ref {
                check_auth_ref(name)?;
            }
            serde_json::to_value(s)
        }
    };
    stored.map_err(|e| AdminError::Internal(format!("connector config: {e}")))
}

fn parse<T: serde::de::DeserializeOwned>(kind: ConnectorKind, raw: Value) -> Result<T, AdminError> {
    serde_json::from_value(raw).map_err(|e| {
        AdminError::Validation(format!("invalid {} connector config: {e}", kind_name(kind)))
    })
}

fn clean(sets: Vec<String>) -> Result<Vec<String>, AdminError> {
    clean_sets(sets).map_err(|p| AdminError::Validation(format!("connector config: {p}")))
}

fn check_auth_ref(name: &str) -> Result<(), AdminError> {
    let well_formed = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !well_formed || !AUTH_REF_PREFIXES.iter().any(|p| name.starts_with(p)) {
        return Err(AdminError::Validation(format!(
            "'auth_ref' must name an environment variable (A-Z, 0-9, _) starting with {}",
            AUTH_REF_PREFIXES.join(" or ")
        )));
    }
    Ok(())
}

/// Refuses a file path outside every configured root. Lexically when the connector
/// is saved; with links resolved (`resolve`) when it is indexed.
fn within_roots(config: &Config, path: &Path, resolve: bool) -> Result<PathBuf, AdminError> {
    if config.connector_file_roots.is_empty() {
        return Err(AdminError::Validation(
            "file connectors are disabled on this server (its operator can allow folders \
             with SMOOTH_AGENT_CONNECTOR_FILE_ROOTS)"
                .into(),
        ));
    }
    let outside = || {
        AdminError::Validation(format!(
            "file connector path '{}' is not an absolute path inside the folders this server \
             allows",
            path.display()
        ))
    };
    if !path.is_absolute() || path.components().any(|c| c == Component::ParentDir) {
        return Err(outside());
    }
    let (path, roots): (PathBuf, Vec<PathBuf>) = if resolve {
        let path = path.canonicalize().map_err(|e| {
            AdminError::Validation(format!("cannot read '{}': {e}", path.display()))
        })?;
        let roots = config
            .connector_file_roots
            .iter()
            .filter_map(|r| r.canonicalize().ok())
            .collect();
        (path, roots)
    } else {
        (path.to_owned(), config.connector_file_roots.clone())
    };
    if roots.iter().any(|root| path.starts_with(root)) {
        Ok(path)
    } else {
        Err(outside())
    }
}

/// The knowledge source a stored connector describes, keyed `key` and owned by
/// `org`, fetching with `http` (which must reach public addresses only). Refuses
/// (400) what must not be indexed: a path outside the allowed folders, a URL naming
/// a private address, a private repository without a token, a token that does not
/// resolve.
pub fn source(
    config: &Config,
    http: &reqwest::Client,
    org: &OrgId,
    key: &str,
    kind: ConnectorKind,
    stored: &Value,
) -> Result<Box<dyn Source>, AdminError> {
    let mut source = SourceConfig {
        name: Some(key.to_owned()),
        path: None,
        url: None,
        crawl: None,
        github: None,
        org: Some(org.as_str().to_owned()),
        acl: Acl::Org,
        sets: Vec::new(),
        refresh_secs: None,
    };
    let (acl, sets) = match kind {
        ConnectorKind::File => {
            let s: FileSettings = parse(kind, stored.clone())?;
            let path = within_roots(config, Path::new(&s.path), true)?;
            source.path = Some(path.display().to_string());
            (s.acl, s.sets)
        }
        ConnectorKind::Web => {
            let s: WebSettings = parse(kind, stored.clone())?;
            let url = reqwest::Url::parse(&s.url).map_err(|e| {
                AdminError::Validation(format!("web connector 'url' is not a URL: {e}"))
            })?;
            super::egress::check_url(&url).map_err(|reason| {
                AdminError::Validation(format!("cannot index this connector: {reason}"))
            })?;
            source.url = Some(s.url);
            (s.acl, s.sets)
        }
        ConnectorKind::Github => {
            let s: GithubSettings = parse(kind, stored.clone())?;
            github(&mut source, &s)?;
            (s.acl, s.sets)
        }
    };
    if let Some(acl) = acl {
        source.acl = acl;
    }
    source.sets = sets;
    source
        .build(http.clone())
        .map_err(|e| AdminError::Validation(format!("cannot index this connector: {e}")))
}

fn github(source: &mut SourceConfig, s: &GithubSettings) -> Result<(), AdminError> {
    match &s.auth_ref {
        None if s.visibility == Some(Visibility::Private) => {
            return Err(AdminError::Validation(
                "a private repository needs 'auth_ref' (the name of an environment variable \
                 holding a token); refusing to index"
                    .into(),
            ));
        }
        Some(name) if !crate::config::secret_is_set(name) => {
            return Err(AdminError::Validation(format!(
                "'auth_ref' {name} did not resolve to a token on this server; refusing to index"
            )));
        }
        _ => {}
    }
    if s.visibility == Some(Visibility::Private) {
        source.acl = Acl::Restricted {
            users: Vec::new(),
            groups: vec![format!("github:{}/{}", s.owner, s.repo)],
        };
    }
    source.github = Some(GitHubConfig {
        owner: s.owner.clone(),
        repo: s.repo.clone(),
        reference: s.reference.clone(),
        path: s.path.clone(),
        token_env: s.auth_ref.clone(),
        api_url: None,
    });
    Ok(())
}

/// The id a connector's document has within its connector: the path of a file
/// (relative to the connector's folder), the page's URL, the repository file's
/// `owner/repo@ref:path`.
pub fn local_id(kind: ConnectorKind, document: &switchboard_knowledge::Document) -> String {
    match kind {
        ConnectorKind::File => document.source.clone(),
        ConnectorKind::Web | ConnectorKind::Github => document.id.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config_with_root(root: &str) -> Config {
        let mut config = Config::for_tests();
        config.connector_file_roots = vec![PathBuf::from(root)];
        config
    }

    #[test]
    fn required_fields_are_named() {
        let config = Config::for_tests();
        for (kind, field) in [
            (ConnectorKind::Github, "owner"),
            (ConnectorKind::Web, "url"),
            (ConnectorKind::File, "path"),
        ] {
            let err = validate(&config, kind, json!({})).unwrap_err().to_string();
            assert_eq!(
                err,
                format!(
                    "{} connector config requires a '{field}' field",
                    kind_name(kind)
                )
            );
        }
        let err = validate(
            &config,
            ConnectorKind::Web,
            json!({"url": "https://x", "depth": 2}),
        );
        assert!(
            err.unwrap_err()
                .to_string()
                .contains("unknown field `depth`")
        );
    }

    #[test]
    fn file_paths_stay_inside_the_allowed_folders() {
        let path = |p: &str| json!({"path": p});
        let disabled = validate(
            &Config::for_tests(),
            ConnectorKind::File,
            path("/srv/docs/a"),
        );
        assert!(
            disabled
                .unwrap_err()
                .to_string()
                .contains("SMOOTH_AGENT_CONNECTOR_FILE_ROOTS")
        );
        let config = config_with_root("/srv/docs");
        assert!(validate(&config, ConnectorKind::File, path("/srv/docs/guides")).is_ok());
        for outside in [
            "/etc",
            "/srv/docs/../secrets",
            "relative/docs",
            "/srv/docs2",
        ] {
            assert!(
                validate(&config, ConnectorKind::File, path(outside)).is_err(),
                "{outside}"
            );
        }
    }

    #[test]
    fn auth_ref_names_only_github_variables() {
        let config = Config::for_tests();
        let github = |auth_ref: &str| {
            validate(
                &config,
                ConnectorKind::Github,
                json!({"owner": "o", "repo": "r", "auth_ref": auth_ref}),
            )
        };
        assert_eq!(
            github("GITHUB_TOKEN_DOCS").unwrap()["auth_ref"],
            "GITHUB_TOKEN_DOCS"
        );
        for refused in [
            "SMOOAI_GATEWAY_KEY",
            "DATABASE_URL",
            "github_token",
            "GH_TOKEN;rm",
        ] {
            assert!(github(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn kinds_are_case_insensitive() {
        assert_eq!(parse_kind("GitHub").unwrap(), ConnectorKind::Github);
        assert_eq!(
            parse_kind("ftp").unwrap_err().to_string(),
            "unknown connector kind 'ftp' (expected: github | web | file)"
        );
    }
}
