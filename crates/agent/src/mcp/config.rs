//! An agent's `mcpServers` entries: what the configuration file says, checked when
//! the file loads, and resolved (environment variables filled in) at start-up.

use crate::tools::AuthLevel;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

/// The most MCP servers one agent may name.
pub const MAX_SERVERS_PER_AGENT: usize = 16;

/// The longest a tool call may be given (`timeoutMs`), and its default.
const MAX_CALL_TIMEOUT_MS: u64 = 600_000;
const DEFAULT_CALL_TIMEOUT_MS: u64 = 30_000;

/// One MCP server of an agent: streamable HTTP at `url`, or a child process
/// `command` spoken to over stdio.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct McpServerConfig {
    /// Names the server in logs and error messages (1-64 letters, digits, `_`, `-`).
    pub name: String,
    /// Streamable HTTP: the server's endpoint, e.g. `https://example.com/mcp`.
    pub url: Option<String>,
    /// Streamable HTTP: request headers. A value may name environment variables as
    /// `${NAME}`, filled in at start-up, so the file need not hold the secret.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Stdio: the program to start (looked up on `PATH` when it has no `/`).
    pub command: Option<String>,
    #[serde(default)]
    pub args: Vec<String>,
    /// Stdio: the child's environment beyond the few variables it inherits
    /// (`PATH`, `HOME`, `LANG`, …); values may use `${NAME}` like headers.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// How long one tool call may take (default 30 s, at most 10 min).
    pub timeout_ms: Option<u64>,
    /// The identity every tool of this server needs (like a tool's `authLevel`).
    #[serde(default)]
    pub auth_level: AuthLevel,
}

impl std::fmt::Debug for McpServerConfig {
    /// Header and environment values may be secrets: only their names print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServerConfig")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("command", &self.command)
            .field("args", &self.args)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("timeout_ms", &self.timeout_ms)
            .field("auth_level", &self.auth_level)
            .finish()
    }
}

/// How to reach a server, with environment variables filled in.
#[derive(Clone)]
pub enum Endpoint {
    Http {
        url: String,
        headers: Vec<(String, String)>,
    },
    Stdio {
        command: String,
        args: Vec<String>,
        env: Vec<(String, String)>,
    },
}

impl McpServerConfig {
    pub fn call_timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.unwrap_or(DEFAULT_CALL_TIMEOUT_MS))
    }

    /// What serde cannot check: a usable name, exactly one way to reach it, and
    /// options that belong to that way.
    pub fn check(&self) -> Result<(), String> {
        let name = &self.name;
        if !crate::config::valid_tool_name(name) {
            return Err(format!(
                "MCP server name '{name}' must be 1-64 letters, digits, '_' or '-'"
            ));
        }
        match (&self.url, &self.command) {
            (Some(url), None) => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(format!("MCP server '{name}': url '{url}' is not http(s)"));
                }
                if !self.args.is_empty() || !self.env.is_empty() {
                    return Err(format!(
                        "MCP server '{name}': 'args' and 'env' are for a 'command', not a 'url'"
                    ));
                }
                for (header, value) in &self.headers {
                    if reqwest::header::HeaderName::from_bytes(header.as_bytes()).is_err() {
                        return Err(format!(
                            "MCP server '{name}': '{header}' is not a header name"
                        ));
                    }
                    variables(value).map_err(|e| format!("MCP server '{name}': {e}"))?;
                }
            }
            (None, Some(command)) => {
                if command.trim().is_empty() {
                    return Err(format!("MCP server '{name}': 'command' is blank"));
                }
                if !self.headers.is_empty() {
                    return Err(format!(
                        "MCP server '{name}': 'headers' are for a 'url', not a 'command'"
                    ));
                }
                for value in self.env.values() {
                    variables(value).map_err(|e| format!("MCP server '{name}': {e}"))?;
                }
            }
            _ => {
                return Err(format!(
                    "MCP server '{name}' needs exactly one of 'url' or 'command'"
                ));
            }
        }
        if let Some(ms) = self.timeout_ms
            && !(1..=MAX_CALL_TIMEOUT_MS).contains(&ms)
        {
            return Err(format!(
                "MCP server '{name}': timeoutMs must be 1-{MAX_CALL_TIMEOUT_MS}"
            ));
        }
        Ok(())
    }

    /// The endpoint with every `${NAME}` replaced by `lookup(NAME)`; a variable
    /// that is not set is an error naming it.
    pub fn endpoint(&self, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Endpoint, String> {
        let fill = |value: &str| {
            fill_variables(value, lookup).map_err(|var| {
                format!(
                    "MCP server '{}': environment variable {var} is not set",
                    self.name
                )
            })
        };
        Ok(match (&self.url, &self.command) {
            (Some(url), _) => Endpoint::Http {
                url: url.clone(),
                headers: self
                    .headers
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), fill(v)?)))
                    .collect::<Result<_, String>>()?,
            },
            (None, Some(command)) => Endpoint::Stdio {
                command: command.clone(),
                args: self.args.clone(),
                env: self
                    .env
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), fill(v)?)))
                    .collect::<Result<_, String>>()?,
            },
            (None, None) => return Err(format!("MCP server '{}' has no endpoint", self.name)),
        })
    }
}

/// Checks an agent's list: each entry, distinct names, and not too many.
pub fn check_servers(agent: &str, servers: &[McpServerConfig]) -> Result<(), String> {
    if servers.len() > MAX_SERVERS_PER_AGENT {
        return Err(format!(
            "agent '{agent}': at most {MAX_SERVERS_PER_AGENT} mcpServers"
        ));
    }
    let mut names = HashSet::new();
    for server in servers {
        server
            .check()
            .map_err(|e| format!("agent '{agent}': {e}"))?;
        if !names.insert(server.name.as_str()) {
            return Err(format!(
                "agent '{agent}': MCP server '{}' is named twice",
                server.name
            ));
        }
    }
    Ok(())
}

/// The variable names `${NAME}` in `value` mentions; an unclosed `${` or a bad
/// name is an error.
fn variables(value: &str) -> Result<Vec<&str>, String> {
    let mut names = Vec::new();
    let mut rest = value;
    while let Some(at) = rest.find("${") {
        let after = &rest[at + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("an unclosed '${{' in '{}'", redact(value)))?;
        let name = &after[..end];
        let valid = !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!("'${{{name}}}' is not an environment variable name"));
        }
        names.push(name);
        rest = &after[end + 1..];
    }
    Ok(names)
}

/// `value` with each `${NAME}` replaced; `Err(NAME)` for the first one unset.
fn fill_variables(value: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let Some(end) = after.find('}') else {
            break;
        };
        let name = &after[..end];
        out.push_str(&lookup(name).ok_or_else(|| name.to_owned())?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A value for an error message: the first few characters only.
fn redact(value: &str) -> String {
    let shown: String = value.chars().take(8).collect();
    format!("{shown}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn server(value: serde_json::Value) -> McpServerConfig {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn header_values_name_environment_variables() {
        let config = server(json!({"name": "crm", "url": "https://crm.example/mcp",
            "headers": {"Authorization": "Bearer ${CRM_TOKEN}", "X-Plain": "v"}}));
        config.check().unwrap();
        let lookup = |name: &str| (name == "CRM_TOKEN").then(|| "s3cret".to_owned());
        let Endpoint::Http { headers, .. } = config.endpoint(&lookup).unwrap() else {
            panic!("http")
        };
        assert_eq!(
            headers,
            [
                ("Authorization".to_owned(), "Bearer s3cret".to_owned()),
                ("X-Plain".to_owned(), "v".to_owned())
            ]
        );
        let missing = config.endpoint(&|_| None).err().unwrap();
        assert!(missing.contains("CRM_TOKEN is not set"), "{missing}");
        assert!(!format!("{config:?}").contains("Bearer"));
    }

    #[test]
    fn mistakes_are_named() {
        for (value, expected) in [
            (json!({"name": "a b", "url": "http://x"}), "must be 1-64"),
            (json!({"name": "a"}), "exactly one of 'url' or 'command'"),
            (
                json!({"name": "a", "url": "http://x", "command": "c"}),
                "exactly one",
            ),
            (json!({"name": "a", "url": "ftp://x"}), "is not http(s)"),
            (
                json!({"name": "a", "url": "http://x", "args": ["1"]}),
                "'args' and 'env'",
            ),
            (
                json!({"name": "a", "command": "c", "headers": {"A": "b"}}),
                "'headers' are for a 'url'",
            ),
            (
                json!({"name": "a", "url": "http://x", "headers": {"A": "${1X}"}}),
                "is not an environment variable name",
            ),
            (
                json!({"name": "a", "url": "http://x", "headers": {"A": "${X"}}),
                "unclosed",
            ),
            (
                json!({"name": "a", "command": "c", "timeoutMs": 0}),
                "timeoutMs",
            ),
        ] {
            let e = server(value.clone()).check().unwrap_err();
            assert!(e.contains(expected), "{value}: {e}");
        }
        let twice = [
            server(json!({"name": "a", "command": "c"})),
            server(json!({"name": "a", "url": "http://x"})),
        ];
        assert!(
            check_servers("agent", &twice)
                .unwrap_err()
                .contains("named twice")
        );
    }
}
